package money

import (
	"regexp"
	"strings"
	"testing"
)

func TestParseYuan(t *testing.T) {
	// "12.5" is 12.50: one decimal is unambiguous, and it is how people and spreadsheets write it.
	ok := map[string]Fen{"8000": 800000, "8000.5": 800050, "8000.50": 800050, "0.01": 1, " 12.30 ": 1230, "0": 0, "007.10": 710,
		"12.5": 1250, "100000000000": MaxFen}
	for in, want := range ok {
		got, err := ParseYuan(in)
		if err != nil || got != want {
			t.Errorf("ParseYuan(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	// The finding: "12,34" was read as 1234.00. Separators, signs and currency symbols are refused,
	// never stripped.
	for _, in := range []string{"", " ", "-1", "+1", "1.234", "1e5", "abc", ".5", "5.", "1.2.3", "99999999999999999999", "NaN", "12 000",
		"12,34", "8,000.50", "12,5", "¥0.01", "￥8000", "8000元", "1_000", "0x10", "１２", "12.5.0", "1.-5", "100000000000.01", "-0"} {
		if got, err := ParseYuan(in); err == nil {
			t.Errorf("ParseYuan(%q) = %d; want an error", in, got)
		}
	}
}

func TestString(t *testing.T) {
	for f, want := range map[Fen]string{0: "0.00", 5: "0.05", 1230: "12.30", -1230: "-12.30", 800000: "8000.00"} {
		if got := f.String(); got != want {
			t.Errorf("%d.String() = %q; want %q", f, got, want)
		}
	}
}

// plain is the only form ParseYuan accepts, checked here independently of its code.
var plain = regexp.MustCompile(`^[0-9]+(\.[0-9]{1,2})?$`)

// FuzzParseYuan: whatever the input, ParseYuan never panics; it accepts exactly the plain form
// (digits, an optional point and one or two decimals, within MaxFen) and reads it digit for digit.
func FuzzParseYuan(f *testing.F) {
	for _, s := range []string{"8000", "8000.50", "12.5", "12,34", "8,000.50", "¥1.01", "-1", "+1", "1e9", "", " 7 ", "0.00", "１２"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseYuan(s)
		t0 := strings.TrimSpace(s)
		if !plain.MatchString(t0) {
			if err == nil {
				t.Fatalf("ParseYuan(%q) = %d; want an error for anything but plain digits", s, v)
			}
			return
		}
		whole, frac, _ := strings.Cut(t0, ".")
		canonical := strings.TrimLeft(whole, "0")
		if canonical == "" {
			canonical = "0"
		}
		canonical += "." + frac + strings.Repeat("0", 2-len(frac))
		tooBig := len(t0) > 20 || len(canonical) > len(MaxFen.String()) || len(canonical) == len(MaxFen.String()) && canonical > MaxFen.String()
		if tooBig {
			if err == nil {
				t.Fatalf("ParseYuan(%q) = %d; want an error above MaxFen", s, v)
			}
			return
		}
		if err != nil {
			t.Fatalf("ParseYuan(%q): %v; want it read", s, err)
		}
		if v < 0 || v > MaxFen || v.String() != canonical {
			t.Fatalf("ParseYuan(%q) = %d (%s); want %s", s, v, v, canonical)
		}
	})
}

func TestGrouped(t *testing.T) {
	for _, c := range []struct {
		f    Fen
		want string
	}{
		{0, "0.00"}, {5, "0.05"}, {99999, "999.99"}, {100000, "1,000.00"}, {1234567, "12,345.67"},
		{123456789, "1,234,567.89"}, {-1234567, "-12,345.67"}, {-5, "-0.05"}, {MaxFen, "100,000,000,000.00"},
	} {
		if got := c.f.Grouped(); got != c.want {
			t.Errorf("Fen(%d).Grouped() = %q, want %q", c.f, got, c.want)
		}
	}
}
