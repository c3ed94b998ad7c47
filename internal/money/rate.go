package money

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// Rate is an exact proportion in parts per million: 16 % is 160000, 0.05 % is 500. Every rate of
// the policy fits: the finest published social insurance rates have two decimals of a percent.
type Rate int64

// PerMillion is a whole: 100 %.
const PerMillion Rate = 1_000_000

// ParseRate reads a percentage of at most 100 with at most four decimals, "16", "0.5", "0.05%".
func ParseRate(s string) (Rate, error) { return ParsePercent(s, PerMillion) }

// ParsePercent reads a percentage up to limit, for proportions that may exceed a whole (the base
// ceiling is 300 % of the average wage).
func ParsePercent(s string, limit Rate) (Rate, error) {
	t := strings.TrimSuffix(strings.TrimSpace(s), "%")
	whole, frac, _ := strings.Cut(t, ".")
	if whole == "" || strings.Trim(whole, "0123456789") != "" || strings.Trim(frac, "0123456789") != "" || len(frac) > 4 || len(whole) > 3 {
		return 0, fmt.Errorf("%q is not a percentage like 16 or 0.05", clip(s))
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	frac += strings.Repeat("0", 4-len(frac))
	f, _ := strconv.ParseInt(frac, 10, 64)
	r := Rate(w*10_000 + f)
	if r > limit {
		return 0, fmt.Errorf("%q is more than %s", clip(s), limit)
	}
	return r, nil
}

// String renders the rate as a percentage, "16%", "0.05%".
func (r Rate) String() string {
	s := strconv.FormatInt(int64(r)/10_000, 10)
	if f := int64(r) % 10_000; f != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%04d", f), "0")
	}
	return s + "%"
}

// Round is the one rounding rule of shebao: a fraction num/den of a fen, rounded half up (away
// from zero for a half) to a whole fen. Every line item is rounded once, here; totals are sums of
// rounded lines. num and den are exact (big integers), so no product overflows.
func Round(num, den *big.Int) Fen {
	if den.Sign() == 0 {
		panic("money: rounding by zero")
	}
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	// Half up: when 2·|r| ≥ |den|, move one fen away from zero.
	twice := new(big.Int).Abs(r)
	twice.Lsh(twice, 1)
	if twice.Cmp(new(big.Int).Abs(den)) >= 0 {
		if (num.Sign() < 0) != (den.Sign() < 0) {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return Fen(q.Int64())
}

// Apply is amount × rate, rounded once by the rule.
func Apply(amount Fen, r Rate) Fen {
	// The monthly run applies rates millions of times: when the product surely fits 63 bits, the
	// same rule in plain integers.
	if amount >= 0 && amount < 900_000_000_000 && r >= 0 && r <= 10*PerMillion {
		n := int64(amount) * int64(r)
		q, rem := n/int64(PerMillion), n%int64(PerMillion)
		if 2*rem >= int64(PerMillion) {
			q++
		}
		return Fen(q)
	}
	return Round(new(big.Int).Mul(big.NewInt(int64(amount)), big.NewInt(int64(r))), big.NewInt(int64(PerMillion)))
}

// ApplyDays is amount × rate × days (a daily rate over a number of days, as the late fee of
// Social Insurance Law Art. 86), rounded once by the rule.
func ApplyDays(amount Fen, daily Rate, days int) Fen {
	n := new(big.Int).Mul(big.NewInt(int64(amount)), big.NewInt(int64(daily)))
	n.Mul(n, big.NewInt(int64(days)))
	return Round(n, big.NewInt(int64(PerMillion)))
}
