package ident

import "strings"

// USCC is a validated, upper-case unified social credit code (统一社会信用代码, GB 32100-2015), the
// identifier of an employer:
//
//	character 1     registration authority (9 market regulation, 5 civil affairs, 1 staffing, …)
//	character 2     entity category
//	characters 3–8  region code (GB/T 2260)
//	characters 9–17 entity identifier (the GB 11714 organisation code)
//	character 18    check character
type USCC string

const usccLen = 18

// usccCharset is the code's alphabet in value order 0–30: digits and capital letters without I, O,
// S, V and Z, which the standard leaves out so they cannot be mistaken for 1, 0, 5, U and 2
// (GB 32100-2015).
const usccCharset = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// usccWeights are 3^i mod 31 for positions 1–17 (GB 32100-2015; python-stdnum stdnum/cn/uscc.py).
var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// ParseUSCC validates s as a USCC. It accepts surrounding white space and lower case, and refuses a
// wrong length, a character outside the code's alphabet, a non-digit in the region code and a wrong
// check character.
//
// Unlike python-stdnum it accepts letters in characters 1–2: the table of registration authorities
// has letter codes (Y "other", and A and N added later), and refusing an employer's real code
// would block its enrolment.
func ParseUSCC(s string) (USCC, error) {
	v, err := prepare(s, usccLen, checkUSCCChar)
	if err != nil {
		return "", err
	}
	if want := usccCheck(v[:17]); v[17] != want {
		return "", fail(ErrCheck, "check character should be %c", want)
	}
	return USCC(v), nil
}

// MakeUSCC builds a code from its first 17 characters by appending the check character.
func MakeUSCC(first17 string) (USCC, error) {
	v, err := prepare(first17, 17, checkUSCCChar)
	if err != nil {
		return "", err
	}
	return USCC(v + string(usccCheck(v))), nil
}

// USCCCheckChar returns the check character of a code's first 17 characters, which are checked and
// normalised as ParseUSCC does.
func USCCCheckChar(first17 string) (byte, error) {
	v, err := prepare(first17, 17, checkUSCCChar)
	if err != nil {
		return 0, err
	}
	return usccCheck(v), nil
}

func (c USCC) String() string { return string(c) }

// RegionCode returns characters 3–8, the region where the employer was registered.
func (c USCC) RegionCode() string {
	if len(c) != usccLen {
		return ""
	}
	return string(c[2:8])
}

// usccCheck computes the check character of 17 characters already known to be in the alphabet:
// value = (31 − Σ mod 31) mod 31, mapped back through the alphabet.
func usccCheck(first17 string) byte {
	sum := 0
	for i := range 17 {
		sum += strings.IndexByte(usccCharset, first17[i]) * usccWeights[i]
	}
	return usccCharset[(31-sum%31)%31]
}

func checkUSCCChar(pos int, c rune) error {
	if 3 <= pos && pos <= 8 && !isDigit(c) {
		return fail(ErrCharacter, "character %d must be a digit (characters 3–8 are the region code)", pos)
	}
	switch c {
	case 'I', 'O', 'S', 'V', 'Z':
		return fail(ErrCharacter, "character %d cannot be %c: codes never use I, O, S, V or Z", pos, c)
	}
	if c >= 0x80 || !strings.ContainsRune(usccCharset, c) {
		return fail(ErrCharacter, "character %d must be a digit or a letter", pos)
	}
	return nil
}
