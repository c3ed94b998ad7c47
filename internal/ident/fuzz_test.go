package ident_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/shebao/shebao/internal/ident"
)

// checkMessage holds every error message to what a form field can show: short, valid UTF-8, and
// not a copy of a long input.
func checkMessage(t *testing.T, in string, err error) {
	t.Helper()
	msg := err.Error()
	if msg == "" || len(msg) > 100 || !utf8.ValidString(msg) {
		t.Fatalf("bad message %q for input %q", msg, in)
	}
	if len(in) > 20 && strings.Contains(msg, in[:21]) {
		t.Fatalf("message %q quotes more than 20 characters of the input", msg)
	}
}

func FuzzParseIDNumber(f *testing.F) {
	for _, s := range []string{
		"11010519491231002X", "11010519491231002x", " 11010519491231002X ", "110105194912310021",
		"360426199101010071", "44011320141005001x", "990426199112010074", "810000199001010019",
		"911156198001010016", "110105200002290021", "110105190002290017", "110105199902300015",
		"360426199113010079", "110105202507010012", "160105199001010011", "T60426199101010078",
		"", "1", "110105491231002", "11010519491231002X0", "\xff10105194912310021", "号号号",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ident.ParseIDNumber(s, today)
		if err != nil {
			checkMessage(t, s, err)
			if n != "" {
				t.Fatalf("ParseIDNumber(%q) returned %q with an error", s, n)
			}
			return
		}
		again, err := ident.ParseIDNumber(n.String(), today)
		if err != nil || again != n {
			t.Fatalf("ParseIDNumber(%q) = %q, but parsing that again gives %q, %v", s, n, again, err)
		}
		if len(n) != 18 || strings.TrimSpace(strings.ToUpper(s)) != n.String() {
			t.Fatalf("ParseIDNumber(%q) = %q is not the trimmed, upper-cased input", s, n)
		}
		if b := n.BirthDate(); b.IsZero() || b.After(today) || b.Year() < 1900 {
			t.Fatalf("%s: BirthDate %v", n, b)
		}
		if g := n.Gender(); g != ident.Male && g != ident.Female {
			t.Fatalf("%s: Gender %q", n, g)
		}
		switch n.Kind() {
		case ident.Resident, ident.HKMacaoTaiwan, ident.ForeignPermanent, ident.SystemAssigned:
		default:
			t.Fatalf("%s: Kind %q", n, n.Kind())
		}
		if ident.IDCheckChar(string(n[:17])) != n[17] {
			t.Fatalf("%s: check character disagrees with IDCheckChar", n)
		}
		if m := n.Masked(); len(m) != 18 || m[:4] != string(n[:4]) || m[14:] != string(n[14:]) {
			t.Fatalf("%s: Masked %q", n, m)
		}
	})
}

func FuzzParseUSCC(f *testing.F) {
	for _, s := range append(realUSCCs,
		"91110000600037341l", " 91110000600037341L\t", "91110000600037341N", "A1110000600037341L",
		"9111000060003IOZSV", "9111A000600037341L", "91 110000 600037341L", "12345", "",
		"N2330100MA2H3K4L5F", "\xff1110000600037341L",
	) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ident.ParseUSCC(s)
		if err != nil {
			checkMessage(t, s, err)
			if c != "" {
				t.Fatalf("ParseUSCC(%q) returned %q with an error", s, c)
			}
			return
		}
		again, err := ident.ParseUSCC(c.String())
		if err != nil || again != c {
			t.Fatalf("ParseUSCC(%q) = %q, but parsing that again gives %q, %v", s, c, again, err)
		}
		if len(c) != 18 || strings.TrimSpace(strings.ToUpper(s)) != c.String() {
			t.Fatalf("ParseUSCC(%q) = %q is not the trimmed, upper-cased input", s, c)
		}
		if r := c.RegionCode(); len(r) != 6 || strings.Trim(r, "0123456789") != "" {
			t.Fatalf("%s: RegionCode %q", c, r)
		}
		if check, err := ident.USCCCheckChar(string(c[:17])); err != nil || check != c[17] {
			t.Fatalf("%s: USCCCheckChar = %q, %v", c, check, err)
		}
	})
}

func FuzzParseCardNumber(f *testing.F) {
	for _, s := range append(realCards,
		"b7k334774", " X00000019 ", "B7K334775", "18834708X", "B7K33477A", "B7K-34774",
		"B7K33477", "B7K3347740", "", "卡7K334774", "B7K33477\xff",
	) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ident.ParseCardNumber(s)
		if err != nil {
			checkMessage(t, s, err)
			if c != "" {
				t.Fatalf("ParseCardNumber(%q) returned %q with an error", s, c)
			}
			return
		}
		again, err := ident.ParseCardNumber(c.String())
		if err != nil || again != c {
			t.Fatalf("ParseCardNumber(%q) = %q, but parsing that again gives %q, %v", s, c, again, err)
		}
		if len(c) != 9 || strings.TrimSpace(strings.ToUpper(s)) != c.String() {
			t.Fatalf("ParseCardNumber(%q) = %q is not the trimmed, upper-cased input", s, c)
		}
		if check, err := ident.CardCheckChar(string(c[:8])); err != nil || check != c[8] {
			t.Fatalf("%s: CardCheckChar = %q, %v", c, check, err)
		}
	})
}
