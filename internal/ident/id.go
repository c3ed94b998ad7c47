package ident

import (
	"fmt"
	"log/slog"
	"time"
)

// IDNumber is a validated, normalised 18-character citizen ID number (公民身份号码, GB 11643-1999),
// which is also the social security number (Social Insurance Law Art. 58 ¶3). A final X is upper
// case. It also holds the numbers of people without a resident ID card (see Kind); those follow
// the same layout and check rule, so one type and one column serve everybody.
type IDNumber string

// Gender is derived from the ID number, never typed in (SPEC 2).
type Gender string

const (
	Male   Gender = "male"
	Female Gender = "female"
)

// Kind says what issued the number; a number not from a resident identity card is thereby marked,
// as SPEC 2 requires.
type Kind string

const (
	// Resident: a resident identity card (居民身份证); the address code starts with a mainland
	// province code (GB/T 2260: 11–65).
	Resident Kind = "resident"
	// HKMacaoTaiwan: a residence permit for Hong Kong, Macao or Taiwan residents (港澳台居民居住证,
	// 2018); address code 810000, 820000 or 830000.
	HKMacaoTaiwan Kind = "hk_macao_taiwan"
	// ForeignPermanent: the 2023 foreigner's permanent residence ID card (外国人永久居留身份证):
	// 18 characters starting with 9 (but not 99), with the same date, sequence and check rules.
	ForeignPermanent Kind = "foreign_permanent"
	// SystemAssigned: assigned by shebao (AssignIDNumber) to a person who has none of the above;
	// address code "99" + 4 digits, a prefix no issuing authority uses.
	SystemAssigned Kind = "system_assigned"
)

const (
	idLen = 18
	// minBirthYear: GB 11643 numbers were first issued in 1999, to people then living; a year
	// before 1900 is a typo, not a person.
	minBirthYear = 1900
)

// idWeights are the ISO 7064 MOD 11-2 weights 2^(17−i) mod 11 for positions 1–17, and
// idCheckChars maps Σ mod 11 = 0..10 to the check character (GB 11643-1999; the same table as
// python-stdnum stdnum/cn/ric.py, which computes it as (1 − 2·N) mod 11 with N read in base 13).
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idCheckChars = "10X98765432"

// ParseIDNumber validates s as an ID number on the business date today. It accepts surrounding
// white space and a lower-case x. Only today's calendar date in its own location is used, so pass
// a time in Asia/Shanghai (or UTC midnight of the business date). A zero today refuses everything,
// because every birth date is after it: a missing clock fails closed.
//
// It refuses a wrong length, a non-digit in the first 17 characters, an 18th character that is not
// a digit or X, an impossible birth date or one before 1900, a birth date after today, an unknown
// address code, and a wrong check character (the message names the right one).
func ParseIDNumber(s string, today time.Time) (IDNumber, error) {
	v, err := prepare(s, idLen, checkIDChar)
	if err != nil {
		return "", err
	}
	birth, err := checkIDBody(v[:17])
	if err != nil {
		return "", err
	}
	if birth.After(dateOf(today)) {
		return "", fail(ErrBirthDate, "birth date is in the future")
	}
	// The check character comes last: when a digit of the date was mistyped, "birth date ... does
	// not exist" tells the person more than "check character should be 7".
	if want := IDCheckChar(v[:17]); v[17] != want {
		return "", fail(ErrCheck, "check character should be %c", want)
	}
	return IDNumber(v), nil
}

// MakeIDNumber builds a number from its first 17 characters by appending the check character. It
// refuses what ParseIDNumber refuses, except a future birth date (it has no today); demo data and
// tests use it.
func MakeIDNumber(first17 string) (IDNumber, error) {
	v, err := prepare(first17, 17, checkIDChar)
	if err != nil {
		return "", err
	}
	if _, err := checkIDBody(v); err != nil {
		return "", err
	}
	return IDNumber(v + string(IDCheckChar(v))), nil
}

// IDCheckChar returns the ISO 7064 MOD 11-2 check character ('0'–'9' or 'X') of first17, which must
// be exactly 17 ASCII digits; for anything else it returns 0.
func IDCheckChar(first17 string) byte {
	if len(first17) != 17 || !allDigits(first17) {
		return 0
	}
	sum := 0
	for i := range 17 {
		sum += int(first17[i]-'0') * idWeights[i]
	}
	return idCheckChars[sum%11]
}

// AssignIDNumber makes the number of a person who has no resident ID, residence permit or
// permanent residence ID. The rule, documented here because SPEC 2 requires one:
//
//	"99" + the last 4 digits of the 6-digit region code + birth date YYYYMMDD
//	+ a 3-digit sequence + the MOD 11-2 check character
//
// seq counts 1..499 and is mapped to 2·seq−1 for men and 2·seq for women, so that the sequence's
// parity carries the gender exactly as on a resident ID (odd male, even female) and 000 and 999
// are never used. Distinct seqs give distinct numbers.
//
// The province digits of the region are dropped, so regions that differ only there (110105 and
// 310105) share a number space: the caller picks seq so that the number is not yet in use, which
// the registry checks anyway (one person per ID number).
//
// The birth date is taken as the calendar date of birth in its own location; it must be from 1900
// on and not after today.
func AssignIDNumber(region string, birth time.Time, g Gender, seq int, today time.Time) (IDNumber, error) {
	if len(region) != 6 || !allDigits(region) || !isProvince(region[:2]) {
		return "", fail(ErrRegion, "region must be a 6-digit mainland region code")
	}
	if g != Male && g != Female {
		return "", fail(ErrArgument, "gender must be male or female")
	}
	if seq < 1 || seq > 499 {
		return "", fail(ErrArgument, "sequence must be 1 to 499")
	}
	b := dateOf(birth)
	if b.Year() < minBirthYear {
		return "", fail(ErrBirthDate, "birth year %04d is before %d", b.Year(), minBirthYear)
	}
	if b.After(dateOf(today)) {
		return "", fail(ErrBirthDate, "birth date is in the future")
	}
	code := 2 * seq
	if g == Male {
		code--
	}
	return MakeIDNumber(fmt.Sprintf("99%s%s%03d", region[2:], b.Format("20060102"), code))
}

func (n IDNumber) String() string { return string(n) }

// LogValue makes slog write the masked form, so that logging a person never writes their full ID
// number to a log file (Personal Information Protection Law: ID numbers are sensitive data).
func (n IDNumber) LogValue() slog.Value { return slog.StringValue(n.Masked()) }

// BirthDate returns midnight UTC of the birth date, or the zero time if n did not come from this
// package.
func (n IDNumber) BirthDate() time.Time {
	if len(n) != idLen {
		return time.Time{}
	}
	t, err := birthDate(string(n[6:14]))
	if err != nil {
		return time.Time{}
	}
	return t
}

// Gender is read from the 17th character, the last digit of the sequence: odd male, even female.
func (n IDNumber) Gender() Gender {
	if len(n) != idLen || n[16] < '0' || n[16] > '9' {
		return ""
	}
	if (n[16]-'0')%2 == 1 {
		return Male
	}
	return Female
}

// AddressCode returns the first 6 digits: the county of household registration at issue for a
// resident, or the fixed codes of the other kinds.
func (n IDNumber) AddressCode() string {
	if len(n) != idLen {
		return ""
	}
	return string(n[:6])
}

// Kind says what issued the number.
func (n IDNumber) Kind() Kind {
	if len(n) != idLen {
		return ""
	}
	k, _ := kindOf(string(n[:6]))
	return k
}

// Masked returns the form shown where the full number is not needed, e.g. "1101**********002X":
// it keeps the province and city and the last four, hides the county and the birth date.
func (n IDNumber) Masked() string {
	if len(n) != idLen {
		return ""
	}
	return string(n[:4]) + "**********" + string(n[14:])
}

func checkIDChar(pos int, c rune) error {
	if pos < idLen {
		if !isDigit(c) {
			return fail(ErrCharacter, "character %d must be a digit", pos)
		}
		return nil
	}
	if !isDigit(c) && c != 'X' {
		return fail(ErrCharacter, "character %d must be a digit or X", pos)
	}
	return nil
}

// checkIDBody checks the birth date and the address code of the first 17 digits and returns the
// birth date.
func checkIDBody(first17 string) (time.Time, error) {
	birth, err := birthDate(first17[6:14])
	if err != nil {
		return time.Time{}, err
	}
	if _, err := kindOf(first17[:6]); err != nil {
		return time.Time{}, err
	}
	return birth, nil
}

// birthDate parses an 8-digit YYYYMMDD and refuses a date that does not exist or is before 1900.
func birthDate(ymd string) (time.Time, error) {
	y, m, d := atoi(ymd[:4]), atoi(ymd[4:6]), atoi(ymd[6:8])
	if y < 0 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return time.Time{}, fail(ErrBirthDate, "birth date %s does not exist", ymd)
	}
	if y < minBirthYear {
		return time.Time{}, fail(ErrBirthDate, "birth year %04d is before %d", y, minBirthYear)
	}
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC), nil
}

// kindOf classifies a 6-digit address code.
func kindOf(addr string) (Kind, error) {
	switch {
	case addr == "810000" || addr == "820000" || addr == "830000":
		return HKMacaoTaiwan, nil
	case addr[0] == '9' && addr[1] == '9':
		return SystemAssigned, nil
	case addr[0] == '9':
		// Characters 2–3 are the issuing province and 4–6 the nationality; neither is checked,
		// because shebao carries no nationality table and refusing a real permit is worse than
		// accepting a typo that the check character did not catch.
		return ForeignPermanent, nil
	case isProvince(addr[:2]):
		// Only the province is checked, not the county: county codes change every year and an ID
		// keeps the code of the year it was issued, so a county table would refuse real people.
		return Resident, nil
	}
	return "", fail(ErrRegion, "address code %s is not a known region", addr)
}

// isProvince reports whether code is a province-level code of mainland China (GB/T 2260). The list
// has not changed since Chongqing (50) in 1997; Taiwan's 71 is not on resident IDs.
func isProvince(code string) bool {
	switch code {
	case "11", "12", "13", "14", "15",
		"21", "22", "23",
		"31", "32", "33", "34", "35", "36", "37",
		"41", "42", "43", "44", "45", "46",
		"50", "51", "52", "53", "54",
		"61", "62", "63", "64", "65":
		return true
	}
	return false
}

// dateOf returns midnight UTC of t's calendar date in t's own location.
func dateOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// daysIn returns the number of days in month m of year y (Gregorian: 1900 has no 29 February,
// 2000 has).
func daysIn(y, m int) int {
	return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// atoi reads a short run of ASCII digits, or returns -1.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return -1
		}
		n = n*10 + int(s[i]-'0')
	}
	return n
}
