package ident

import "strings"

// MaskIDNumbers returns s with every ID number in it masked as IDNumber.Masked does
// ("1101**********002X"), for text that is shown to someone not entitled to the whole number or
// written to a log: a resident's username is their ID number, so it turns up in audit entries
// ("user:11010519491231002x"), in a log line's user, in an error's cause.
//
// An ID number here is any 18 characters — 17 digits and a digit or X (either case) — that stand
// on their own (no letter or digit either side) and carry a birth date of the 1900s or 2000s in
// characters 7–14. The check character is not checked, so a mistyped number is masked too; the
// date and the boundaries keep longer digit strings (bank cards, hashes) and other 18-character
// codes whole.
func MaskIDNumbers(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i+idLen <= len(s); {
		if !looksLikeIDNumber(s, i) {
			i++
			continue
		}
		if b.Len() == 0 {
			b.Grow(len(s))
		}
		b.WriteString(s[last:i])
		b.WriteString(IDNumber(s[i : i+idLen]).Masked())
		i += idLen
		last = i
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// looksLikeIDNumber reports whether an ID number, as MaskIDNumbers defines it, starts at s[i].
func looksLikeIDNumber(s string, i int) bool {
	if i > 0 && isAlnum(s[i-1]) || i+idLen < len(s) && isAlnum(s[i+idLen]) {
		return false
	}
	n := s[i : i+idLen]
	if !allDigits(n[:17]) || !(isDigit(rune(n[17])) || n[17] == 'X' || n[17] == 'x') {
		return false
	}
	century, month, day := n[6:8], n[10:12], n[12:14]
	return (century == "19" || century == "20") && "01" <= month && month <= "12" && "01" <= day && day <= "31"
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
