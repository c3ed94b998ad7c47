// Package money is shebao's arithmetic of money: amounts in integer fen (分, 1/100 yuan), exact
// rates, and the one rounding rule. Floating point never touches money here or anywhere else.
//
// This package is pure: no I/O, no imports of shebao.
package money

import (
	"fmt"
	"strconv"
	"strings"
)

// Fen is an amount of money in fen.
type Fen int64

// MaxFen bounds amounts parsed from outside input: 10^13 fen (100 billion yuan) is beyond any
// social insurance amount and leaves room for sums without overflow.
const MaxFen Fen = 10_000_000_000_000

// Yuan renders the amount as yuan with two decimals, "-12.30" for negative amounts.
func (f Fen) String() string {
	sign := ""
	v := int64(f)
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// ParseYuan reads an amount in yuan written as plain digits with an optional point and one or two
// decimals: "8000", "8000.5", "8000.50". Anything else is refused rather than read a way the person
// may not have meant: thousands separators ("12,34" would otherwise be 1234), currency signs, signs
// (no caller takes a negative amount: bases, wages and payments are all above zero, and refunds and
// corrections are reversing postings, never typed negative amounts), exponents, more than two
// decimals (no silent rounding of what a person typed), and amounts above MaxFen. Surrounding
// white space is ignored.
func ParseYuan(s string) (Fen, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("an amount in yuan is required")
	}
	if len(t) > 20 {
		return 0, fmt.Errorf("amount is too long")
	}
	whole, frac, hasFrac := strings.Cut(t, ".")
	if !digits(whole) || hasFrac && !digits(frac) {
		return 0, fmt.Errorf("%q is not an amount in yuan: write digits with at most two decimals, like 8000 or 8000.50, without separators or a currency sign", clip(s))
	}
	if len(frac) > 2 {
		return 0, fmt.Errorf("at most two decimals (fen)")
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > int64(MaxFen/100) {
		return 0, fmt.Errorf("amount is too large")
	}
	frac += strings.Repeat("0", 2-len(frac))
	fv, _ := strconv.ParseInt(frac, 10, 64)
	v := Fen(w*100 + fv)
	if v > MaxFen {
		return 0, fmt.Errorf("amount is too large")
	}
	return v, nil
}

// digits reports whether s is one or more ASCII digits and nothing else.
func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}

// Grouped renders the amount as yuan with two decimals and a comma between each group of three
// digits, "12,345.67", for pages a person reads. ParseYuan refuses this form on purpose: what a
// person types stays plain digits, so "12,34" can never be read one way when meant another.
func (f Fen) Grouped() string {
	s := f.String()
	sign := ""
	if s[0] == '-' {
		sign, s = "-", s[1:]
	}
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	b.WriteString(sign)
	for i := 0; i < len(whole); i++ {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(whole[i])
	}
	b.WriteByte('.')
	b.WriteString(frac)
	return b.String()
}
