package ident_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/ident"
)

// Real codes published in python-stdnum tests/test_cn_uscc.doctest ("found online").
var realUSCCs = []string{
	"91110000600037341L", // the GB 32100 test vector used by python-stdnum's documentation
	"121200004013590816",
	"91110000710926094P",
	"91120224064012553U",
	"9115220107837757XE",
	"91310000631696382C",
	"91310115MA1K3BTP2B",
	"91340600MA2PBM9HXD",
	"91340603MA2UJXXCXF",
	"9144030071526726XG",
	"91620105L015101280",
	"92340602MA2PBMEM24",
	"92340621MA2UK3PJXE",
}

func TestParseUSCCValid(t *testing.T) {
	for _, s := range realUSCCs {
		t.Run(s, func(t *testing.T) {
			c, err := ident.ParseUSCC(s)
			if err != nil || c.String() != s {
				t.Fatalf("ParseUSCC(%q) = %q, %v", s, c, err)
			}
			if c.RegionCode() != s[2:8] {
				t.Errorf("RegionCode = %q, want %q", c.RegionCode(), s[2:8])
			}
			check, err := ident.USCCCheckChar(s[:17])
			if err != nil || check != s[17] {
				t.Errorf("USCCCheckChar(%q) = %q, %v; want %q", s[:17], check, err, s[17])
			}
		})
	}

	for _, tc := range []struct{ in, want string }{
		{"91110000600037341l", "91110000600037341L"},
		{"  91310115ma1k3btp2b\n", "91310115MA1K3BTP2B"},
		// Registration authorities with letter codes: python-stdnum refuses these, shebao does not.
		{"N2330100MA2H3K4L5F", "N2330100MA2H3K4L5F"},
		{"Y1330100MA2H3K4L5A", "Y1330100MA2H3K4L5A"},
	} {
		c, err := ident.ParseUSCC(tc.in)
		if err != nil || c.String() != tc.want {
			t.Errorf("ParseUSCC(%q) = %q, %v; want %q", tc.in, c, err, tc.want)
		}
	}
}

func TestParseUSCCInvalid(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		class error
		msg   string
	}{
		{"wrong check, stdnum", "91110000600037341N", ident.ErrCheck, "check character should be L"},
		{"wrong check, digit", "911100006000373410", ident.ErrCheck, "check character should be L"},
		// python-stdnum refuses this for the letter; here it fails on its check character.
		{"stdnum A111…", "A1110000600037341L", ident.ErrCheck, "check character should be K"},
		{"stdnum IOZSV", "9111000060003IOZSV", ident.ErrCharacter, "character 14 cannot be I: codes never use I, O, S, V or Z"},
		{"O", "91110000O00037341L", ident.ErrCharacter, "character 9 cannot be O: codes never use I, O, S, V or Z"},
		{"S", "S1110000600037341L", ident.ErrCharacter, "character 1 cannot be S: codes never use I, O, S, V or Z"},
		{"V", "91110000600037341V", ident.ErrCharacter, "character 18 cannot be V: codes never use I, O, S, V or Z"},
		{"lower-case z", "9111000060003734z1", ident.ErrCharacter, "character 17 cannot be Z: codes never use I, O, S, V or Z"},
		{"letter in region", "9111A000600037341L", ident.ErrCharacter, "character 5 must be a digit (characters 3–8 are the region code)"},
		{"dash", "91110000-60003734L", ident.ErrCharacter, "character 9 must be a digit or a letter"},
		{"full-width", "91110000６00037341L", ident.ErrCharacter, "character 9 must be a digit or a letter"},
		{"invalid UTF-8", "\xff1110000600037341L", ident.ErrCharacter, "character 1 must be a digit or a letter"},
		{"stdnum short", "12345", ident.ErrLength, "must be 18 characters, got 5"},
		{"stdnum inner spaces", "91 110000 600037341L", ident.ErrLength, "must be 18 characters, got 20"},
		{"empty", "", ident.ErrLength, "must not be empty"},
		{"huge", strings.Repeat("9", 1000), ident.ErrLength, "must be 18 characters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ident.ParseUSCC(tc.in)
			if err == nil {
				t.Fatalf("ParseUSCC accepted %q as %q", tc.in, c)
			}
			if err.Error() != tc.msg || !errors.Is(err, tc.class) {
				t.Errorf("error %q, want %q (%v)", err, tc.msg, tc.class)
			}
		})
	}
}

// Every single-character change of a real code is refused: the check character catches every
// substitution (MOD 31 with weights prime to 31).
func TestParseUSCCSingleChange(t *testing.T) {
	const alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	for _, s := range realUSCCs {
		for i := range len(s) {
			for _, c := range alphabet {
				if byte(c) == s[i] {
					continue
				}
				changed := s[:i] + string(c) + s[i+1:]
				if got, err := ident.ParseUSCC(changed); err == nil {
					t.Errorf("ParseUSCC(%q) accepted a change of %q as %q", changed, s, got)
				}
			}
		}
	}
}

// Every code MakeUSCC builds parses back to itself.
func TestMakeUSCCParses(t *testing.T) {
	const alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	bodies := []string{"91110000600037341", "N2330100MA2H3K4L5", "YY000000000000000", "00000000000000000"}
	for i := range 31 * 31 {
		// Vary the entity identifier through the whole alphabet at two positions.
		bodies = append(bodies, "91330106MA2"+string(alphabet[i%31])+"7"+string(alphabet[i/31])+"Q8K")
	}
	for _, b := range bodies {
		c, err := ident.MakeUSCC(b)
		if err != nil {
			t.Fatalf("MakeUSCC(%q): %v", b, err)
		}
		p, err := ident.ParseUSCC(c.String())
		if err != nil || p != c {
			t.Fatalf("ParseUSCC(%q) = %q, %v", c, p, err)
		}
	}
	if c, err := ident.MakeUSCC("9111000060003734"); err == nil {
		t.Errorf("MakeUSCC of 16 characters = %q", c)
	}
	if c, err := ident.MakeUSCC("9111000060003734I"); err == nil {
		t.Errorf("MakeUSCC with an I = %q", c)
	}
	if _, err := ident.USCCCheckChar("9111A000600037341"); err == nil {
		t.Error("USCCCheckChar accepted a letter in the region code")
	}
	if got := ident.USCC("").RegionCode(); got != "" {
		t.Errorf("zero USCC RegionCode = %q", got)
	}
}
