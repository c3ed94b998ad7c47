// Package money is shebao's arithmetic of money: amounts in integer fen (分, 1/100 yuan), exact
// rates, and the one rounding rule. Floating point never touches money here or anywhere else.
//
// This package is pure: no I/O, no imports of shebao.
package money

import (
	"fmt"
	"strconv"
	"strings"
)

// Fen is an amount of money in fen.
type Fen int64

// MaxFen bounds amounts parsed from outside input: 10^13 fen (100 billion yuan) is beyond any
// social insurance amount and leaves room for sums without overflow.
const MaxFen Fen = 10_000_000_000_000

// Yuan renders the amount as yuan with two decimals, "-12.30" for negative amounts.
func (f Fen) String() string {
	sign := ""
	v := int64(f)
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// ParseYuan reads an amount in yuan with at most two decimals: "8000", "8000.5", "8,000.50",
// "¥8000.00". It refuses negative amounts, more than two decimals (no silent rounding of what a
// person typed), and amounts above MaxFen.
func ParseYuan(s string) (Fen, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimPrefix(strings.TrimPrefix(t, "¥"), "￥")
	t = strings.ReplaceAll(t, ",", "")
	if t == "" {
		return 0, fmt.Errorf("an amount in yuan is required")
	}
	if len(t) > 20 {
		return 0, fmt.Errorf("amount is too long")
	}
	whole, frac, hasFrac := strings.Cut(t, ".")
	if whole == "" || strings.TrimLeft(whole, "0123456789") != "" || (hasFrac && (frac == "" || strings.TrimLeft(frac, "0123456789") != "")) {
		return 0, fmt.Errorf("%q is not an amount in yuan like 8000.00", clip(s))
	}
	if len(frac) > 2 {
		return 0, fmt.Errorf("at most two decimals (fen)")
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > int64(MaxFen/100) {
		return 0, fmt.Errorf("amount is too large")
	}
	frac += strings.Repeat("0", 2-len(frac))
	fv, _ := strconv.ParseInt(frac, 10, 64)
	v := Fen(w*100 + fv)
	if v > MaxFen {
		return 0, fmt.Errorf("amount is too large")
	}
	return v, nil
}

func clip(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}
