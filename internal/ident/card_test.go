package ident_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/ident"
)

// Real card numbers found in public card-reader code (reference/domain-facts.md 1.1).
var realCards = []string{"B7K334774", "X00000019", "188347080"}

func TestParseCardNumberValid(t *testing.T) {
	for _, s := range realCards {
		c, err := ident.ParseCardNumber(s)
		if err != nil || c.String() != s {
			t.Errorf("ParseCardNumber(%q) = %q, %v", s, c, err)
		}
		check, err := ident.CardCheckChar(s[:8])
		if err != nil || check != s[8] {
			t.Errorf("CardCheckChar(%q) = %q, %v; want %q", s[:8], check, err, s[8])
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"b7k334774", "B7K334774"},
		{" x00000019\t", "X00000019"},
	} {
		c, err := ident.ParseCardNumber(tc.in)
		if err != nil || c.String() != tc.want {
			t.Errorf("ParseCardNumber(%q) = %q, %v; want %q", tc.in, c, err, tc.want)
		}
	}
}

func TestParseCardNumberInvalid(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		class error
		msg   string
	}{
		{"wrong check", "B7K334775", ident.ErrCheck, "check character should be 4"},
		{"X for 0", "18834708X", ident.ErrCheck, "check character should be 0"},
		{"letter as check", "B7K33477A", ident.ErrCharacter, "character 9 must be a digit or X"},
		{"dash in body", "B7K-34774", ident.ErrCharacter, "character 4 must be a digit or a letter"},
		{"Chinese", "卡7K334774", ident.ErrCharacter, "character 1 must be a digit or a letter"},
		{"invalid UTF-8", "B7K33477\xff", ident.ErrCharacter, "character 9 must be a digit or X"},
		{"short", "B7K33477", ident.ErrLength, "must be 9 characters, got 8"},
		{"long", "B7K3347740", ident.ErrLength, "must be 9 characters, got 10"},
		{"empty", "\t", ident.ErrLength, "must not be empty"},
		{"huge", strings.Repeat("B", 10000), ident.ErrLength, "must be 9 characters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ident.ParseCardNumber(tc.in)
			if err == nil {
				t.Fatalf("ParseCardNumber accepted %q as %q", tc.in, c)
			}
			if err.Error() != tc.msg || !errors.Is(err, tc.class) {
				t.Errorf("error %q, want %q (%v)", err, tc.msg, tc.class)
			}
		})
	}
}

// Every single-character change of a real card number is refused, except the one kind no MOD 11
// rule can see: in the body, a letter swapped for a character whose value is equal mod 11 (0 and
// B = 11, 1 and C = 12, …), since 11 is prime and every weight is prime to it. Digits for digits
// and any change of the check character are always caught.
func TestParseCardNumberSingleChange(t *testing.T) {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	for _, s := range realCards {
		for i := range len(s) {
			for _, c := range alphabet {
				if byte(c) == s[i] || (i == 8 && !(c >= '0' && c <= '9' || c == 'X')) {
					continue
				}
				changed := s[:i] + string(c) + s[i+1:]
				got, err := ident.ParseCardNumber(changed)
				if err == nil && i < 8 && sameMod11(s[i], byte(c)) {
					continue // undetectable by a MOD 11 rule; see above
				}
				if err == nil {
					t.Errorf("ParseCardNumber(%q) accepted a change of %q as %q", changed, s, got)
				}
			}
		}
	}
}

func sameMod11(a, b byte) bool {
	v := func(c byte) int {
		if c <= '9' {
			return int(c - '0')
		}
		return int(c-'A') + 10
	}
	return v(a)%11 == v(b)%11
}

// Every card number MakeCardNumber builds parses back to itself.
func TestMakeCardNumberParses(t *testing.T) {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	for i := range 36 * 36 {
		body := string(alphabet[i%36]) + "00" + string(alphabet[i/36]) + "3477"
		c, err := ident.MakeCardNumber(body)
		if err != nil {
			t.Fatalf("MakeCardNumber(%q): %v", body, err)
		}
		p, err := ident.ParseCardNumber(c.String())
		if err != nil || p != c {
			t.Fatalf("ParseCardNumber(%q) = %q, %v", c, p, err)
		}
	}
	if c, err := ident.MakeCardNumber("B7K3347"); err == nil {
		t.Errorf("MakeCardNumber of 7 characters = %q", c)
	}
	if _, err := ident.CardCheckChar("B7K3347!"); err == nil {
		t.Error("CardCheckChar accepted '!'")
	}
}
