package money

import "testing"

func TestParseYuan(t *testing.T) {
	ok := map[string]Fen{"8000": 800000, "8000.5": 800050, "8,000.50": 800050, "¥0.01": 1, " 12.30 ": 1230, "0": 0, "007.10": 710}
	for in, want := range ok {
		got, err := ParseYuan(in)
		if err != nil || got != want {
			t.Errorf("ParseYuan(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1.234", "1e5", "abc", ".5", "5.", "1.2.3", "99999999999999999999", "NaN", "12 000"} {
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

func FuzzParseYuan(f *testing.F) {
	for _, s := range []string{"8000", "8,000.50", "¥1.01", "-1", "1e9", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseYuan(s)
		if err != nil {
			return
		}
		if v < 0 || v > MaxFen {
			t.Fatalf("ParseYuan(%q) = %d out of range", s, v)
		}
		back, err := ParseYuan(v.String())
		if err != nil || back != v {
			t.Fatalf("round trip of %q: %d → %q → %d, %v", s, v, v.String(), back, err)
		}
	})
}
