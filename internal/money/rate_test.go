package money

import (
	"math/big"
	"testing"
)

func TestParseRate(t *testing.T) {
	for in, want := range map[string]Rate{"16": 160000, "8": 80000, "0.5": 5000, "0.05%": 500, "1.9": 19000, "0.2": 2000, "100": 1000000, "0": 0} {
		got, err := ParseRate(in)
		if err != nil || got != want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d", in, got, err, want)
		}
		if back, _ := ParseRate(got.String()); back != got {
			t.Errorf("%q → %s does not read back", in, got)
		}
	}
	for _, bad := range []string{"", "x", "101", "1.23456", "-1", "1e2", "1000"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) accepted", bad)
		}
	}
}

// The rounding rule: half a fen rounds up, less rounds down, exactly.
func TestRoundHalfUp(t *testing.T) {
	cases := []struct {
		num, den int64
		want     Fen
	}{{5, 10, 1}, {4, 10, 0}, {15, 10, 2}, {14999, 10000, 1}, {15000, 10000, 2}, {-5, 10, -1}, {-4, 10, 0}, {0, 7, 0}, {1, 3, 0}, {2, 3, 1}}
	for _, c := range cases {
		if got := Round(big.NewInt(c.num), big.NewInt(c.den)); got != c.want {
			t.Errorf("Round(%d/%d) = %d; want %d", c.num, c.den, got, c.want)
		}
	}
}

// Worked examples of lines: base × rate.
func TestApply(t *testing.T) {
	cases := []struct {
		base Fen
		rate Rate
		want Fen
	}{
		{800000, 160000, 128000}, // 8000.00 × 16 % = 1280.00
		{800000, 80000, 64000},   // × 8 %
		{800000, 5000, 4000},     // × 0.5 %
		{543210, 20000, 10864},   // 5432.10 × 2 % = 108.642 → 108.64
		{543225, 20000, 10865},   // 5432.25 × 2 % = 108.645 → 108.65 (half up)
		{543224, 20000, 10864},   // 108.6448 → 108.64
		{123456, 19000, 2346},    // 1234.56 × 1.9 % = 23.45664 → 23.46
		{100, 5000, 1},           // 1.00 × 0.5 % = 0.005 → 0.01 (half up)
		{99, 5000, 0},            // 0.99 × 0.5 % = 0.00495 → 0.00
	}
	for _, c := range cases {
		if got := Apply(c.base, c.rate); got != c.want {
			t.Errorf("Apply(%s, %s) = %s; want %s", c.base, c.rate, got, c.want)
		}
	}
}

// The late fee of Art. 86: 0.05 % a day of the unpaid amount.
func TestApplyDays(t *testing.T) {
	if got := ApplyDays(128000, 500, 31); got != 1984 { // 1280.00 × 0.05 % × 31 = 19.84
		t.Fatalf("late fee = %s; want 19.84", got)
	}
	if got := ApplyDays(100001, 500, 1); got != 50 { // 1000.01 × 0.0005 = 0.500005 → 0.50
		t.Fatalf("late fee = %s; want 0.50", got)
	}
	if got := ApplyDays(1000, 500, 1); got != 1 { // 10.00 × 0.0005 = 0.005 → 0.01
		t.Fatalf("late fee = %s; want 0.01", got)
	}
}

// The integer fast path and the exact path agree.
func FuzzApply(f *testing.F) {
	f.Add(int64(543225), int64(20000))
	f.Add(int64(8999999999999), int64(1000000))
	f.Fuzz(func(t *testing.T, amount, rate int64) {
		if amount < 0 || amount > int64(MaxFen) || rate < 0 || rate > int64(10*PerMillion) {
			return
		}
		exact := Round(new(big.Int).Mul(big.NewInt(amount), big.NewInt(rate)), big.NewInt(int64(PerMillion)))
		if got := Apply(Fen(amount), Rate(rate)); got != exact {
			t.Fatalf("Apply(%d, %d) = %d; exact %d", amount, rate, got, exact)
		}
	})
}
