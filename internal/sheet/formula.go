package sheet

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Formula injection (CSV injection): a spreadsheet that opens a file runs a
// cell starting with = + - or @ as a formula, so a name typed by one person
// ("=cmd|' /C calc'!A0", "=HYPERLINK(...)") becomes a command or a link on
// the desk of whoever opens the file next. Both writers pass every cell,
// headers included, through defuse, which follows OWASP's rule: a cell that
// could start a formula is written with a leading apostrophe, which makes
// every spreadsheet take it as text. Read undoes exactly that (undefuse), so
// a file shebao wrote reads back as the values it was given.
//
// What counts as "could start a formula", looking past leading spaces and
// apostrophes (which Excel skips, and which undefuse must see through too):
//   - = + - @ and their full-width forms ＝ ＋ － ＠, which Chinese input
//     methods type and some spreadsheets accept as formula starts;
//   - a tab, a carriage return or any other control character, which OWASP
//     lists because some spreadsheets and importers strip them first.
//
// A plain decimal number ("-12.50", "+3") is left alone, numbers written as
// numbers: it can hold no formula in any spreadsheet, and prefixing it would
// turn a negative amount into text that a reconciliation sheet can no longer
// sum. Anything more ("-1+2", "-Inf", "--5", "-2E3") is prefixed.

// defuse returns the cell as it must be written.
func defuse(c string) string {
	if formulaLike(c) {
		return "'" + c
	}
	return c
}

// undefuse returns the value a cell read from a file had before defuse, or
// the cell itself when defuse would not have changed it.
func undefuse(c string) string {
	if strings.HasPrefix(c, "'") && formulaLike(c) {
		return c[1:]
	}
	return c
}

// formulaLike reports whether defuse prefixes c. A cell that already starts
// with apostrophes before a formula start is prefixed once more, so that
// undefuse, which always takes one away, gives back exactly what was written.
func formulaLike(c string) bool {
	s := strings.TrimLeftFunc(c, func(r rune) bool { return r == '\'' || blank(r) })
	r, _ := utf8.DecodeRuneInString(s)
	switch {
	case strings.TrimRightFunc(s, unicode.IsSpace) == "":
		// Nothing but white space: no spreadsheet runs it, and Read trims it
		// away (a lone tab must not come back as an apostrophe).
		return false
	case strings.ContainsRune("=+-@＝＋－＠", r), unicode.IsControl(r):
		return !isDecimal(strings.TrimRightFunc(s, unicode.IsSpace))
	}
	return false
}

// blank is white space that is not a control character: what may stand
// before a formula start without being one itself. Byte order marks and
// zero-width spaces count, as trim removes them too.
func blank(r rune) bool {
	return (unicode.IsSpace(r) && !unicode.IsControl(r)) || r == '\ufeff' || r == '\u200b'
}

// isDecimal reports whether s is a plain decimal number such as "-12.50".
// strconv.ParseFloat is too generous here: Excel reads "-Inf" or "-0x1p3" as
// formulas.
func isDecimal(s string) bool {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	digits, dot := 0, false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] >= '0' && s[i] <= '9':
			digits++
		case s[i] == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}
