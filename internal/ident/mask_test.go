package ident

import (
	"strings"
	"testing"
)

func TestMaskIDNumbers(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"11010519491231002X", "1101**********002X"},
		{"user:11010519491231002x", "user:1101**********002x"},
		{`{"person":"110105194912310021","by":"330106198501010011"}`, `{"person":"1101**********0021","by":"3301**********0011"}`},
		{"110105194912310022 (wrong check character) is still masked", "1101**********0022 (wrong check character) is still masked"},
		{"u-resident", "u-resident"},
		{"", ""},
		// Not ID numbers: longer digit strings, a date that is none, letters around, 15 digits.
		{"6214830011010519491231002", "6214830011010519491231002"},
		{"a11010519491231002X", "a11010519491231002X"},
		{"11010519491231002Xb", "11010519491231002Xb"},
		{"110105184912310021", "110105184912310021"},
		{"110105194913310021", "110105194913310021"},
		{"110105194912320021", "110105194912320021"},
		{"110105491231002", "110105491231002"},
		{"91110000600037341L", "91110000600037341L"},
	} {
		if got := MaskIDNumbers(c.in); got != c.want {
			t.Errorf("MaskIDNumbers(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzMaskIDNumbers: masking keeps the text's length and every character outside the numbers it
// masks, leaves nothing an ID number, and changes nothing the second time.
func FuzzMaskIDNumbers(f *testing.F) {
	f.Add("user:11010519491231002x")
	f.Add("11010519491231002X11010519491231002X")
	f.Add("11010519491231002X 330106198501010011")
	f.Add("\xff110105194912310021\x00")
	f.Fuzz(func(t *testing.T, s string) {
		out := MaskIDNumbers(s)
		if len(out) != len(s) {
			t.Fatalf("length %d, was %d", len(out), len(s))
		}
		for i := range len(s) {
			if out[i] != s[i] && out[i] != '*' {
				t.Fatalf("byte %d changed from %q to %q", i, s[i], out[i])
			}
		}
		for i := 0; i+idLen <= len(out); i++ {
			if looksLikeIDNumber(out, i) {
				t.Fatalf("%q still holds an ID number at %d", out, i)
			}
		}
		if again := MaskIDNumbers(out); again != out {
			t.Fatalf("masking twice changed %q to %q", out, again)
		}
		if (strings.Count(out, "*")-strings.Count(s, "*"))%10 != 0 {
			t.Fatalf("masked %q to %q: not in whole numbers", s, out)
		}
	})
}
