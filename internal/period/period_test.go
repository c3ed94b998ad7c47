package period

import (
	"strings"
	"testing"
	"time"
)

func TestMonth(t *testing.T) {
	m, err := ParseMonth("202611")
	if err != nil || m != 202611 || m.String() != "202611" {
		t.Fatalf("ParseMonth = %v, %v", m, err)
	}
	if m2, _ := ParseMonth("2026-11"); m2 != m {
		t.Fatalf("YYYY-MM form = %v", m2)
	}
	for _, bad := range []string{"", "2026", "202613", "202600", "194912", "abcdef", "20261", "-20261",
		"-202612", "2026--12", "20-2612", "202-612", "+202612", "2026-1", "2026/12", "2026 12", "２０２６１２", "2026-12-"} {
		if _, err := ParseMonth(bad); err == nil {
			t.Errorf("ParseMonth(%q) accepted", bad)
		}
	}
	cases := []struct {
		m    Month
		n    int
		want Month
	}{{202611, 1, 202612}, {202612, 1, 202701}, {202601, -1, 202512}, {202611, -23, 202412}, {202611, 0, 202611}, {202611, 25, 202812}}
	for _, c := range cases {
		if got := c.m.Add(c.n); got != c.want {
			t.Errorf("%v.Add(%d) = %v; want %v", c.m, c.n, got, c.want)
		}
		if got := c.want.Since(c.m); got != c.n {
			t.Errorf("%v.Since(%v) = %d; want %d", c.want, c.m, got, c.n)
		}
	}
	// 16:30 UTC on 30 November is already 1 December in Shanghai.
	if got := MonthOf(time.Date(2026, 11, 30, 16, 30, 0, 0, time.UTC)); got != 202612 {
		t.Fatalf("MonthOf = %v; want 202612", got)
	}
	if got := Today(time.Date(2026, 11, 30, 16, 30, 0, 0, time.UTC)); got != time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) {
		t.Fatalf("Today = %v", got)
	}
}

// A month that parses was written YYYYMM or YYYY-MM (nothing else) and reads back the same.
func FuzzParseMonth(f *testing.F) {
	for _, s := range []string{"202611", "2026-11", "999999", "", "-0000", "-202612", "2026--1", "+20261"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMonth(s)
		if err != nil {
			return
		}
		if w := strings.TrimSpace(s); w != m.String() && w != m.String()[:4]+"-"+m.String()[4:] {
			t.Fatalf("ParseMonth(%q) = %v, but that is not how %v is written", s, m, m)
		}
		if back, err := ParseMonth(m.String()); err != nil || back != m {
			t.Fatalf("round trip %q → %v → %v, %v", s, m, back, err)
		}
	})
}

// A date that parses is a calendar date that reads back the same.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2026-11-27", "20261127", "2024-02-29", "2023-02-29", " 2026-01-01 ", "2026-13-01", "", "0001-01-01", "9999-12-31"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err != nil {
			return
		}
		if d.Year() < 1950 || d.Year() > 2199 {
			t.Fatalf("%q parsed to %v, outside 1950–2199", s, d)
		}
		if d.Hour() != 0 || d.Minute() != 0 || d.Location() != time.UTC {
			t.Fatalf("%q parsed to %v, not midnight UTC", s, d)
		}
		if back, err := ParseDate(d.Format("2006-01-02")); err != nil || !back.Equal(d) {
			t.Fatalf("round trip %q → %v → %v, %v", s, d, back, err)
		}
	})
}

func TestParseDateRange(t *testing.T) {
	for _, bad := range []string{"0001-01-01", "1949-12-31", "2200-01-01", "00010101"} {
		if d, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) = %v; want an error", bad, d)
		}
	}
	for _, good := range []string{"1950-01-01", "2199-12-31", "2026-12-01"} {
		if _, err := ParseDate(good); err != nil {
			t.Errorf("ParseDate(%q): %v", good, err)
		}
	}
}
