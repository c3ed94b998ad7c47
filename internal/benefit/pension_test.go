package benefit

import (
	"testing"

	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
)

func defaults(t *testing.T) *policy.BenefitRules {
	t.Helper()
	p, _, err := policy.Default("330100", 202601)
	if err != nil {
		t.Fatal(err)
	}
	b, ok := p.Benefits()
	if !ok {
		t.Fatal("the default policy has no benefits section")
	}
	return b
}

// TestRetirementAge: the 2024 decision's three schedules at every boundary, as its published
// tables give them (years and months).
func TestRetirementAge(t *testing.T) {
	r := defaults(t).Retirement
	ym := func(y, m int) int { return y*12 + m }
	for _, c := range []struct {
		group string
		birth period.Month
		age   int
	}{
		// Men: 60, one month more for every 4 months of birth from January 1965, to 63.
		{policy.GroupMale, 196412, ym(60, 0)},
		{policy.GroupMale, 196501, ym(60, 1)},
		{policy.GroupMale, 196504, ym(60, 1)},
		{policy.GroupMale, 196505, ym(60, 2)},
		{policy.GroupMale, 197608, ym(62, 11)},
		{policy.GroupMale, 197609, ym(63, 0)},
		{policy.GroupMale, 199001, ym(63, 0)},
		// Women workers: 50, one month more for every 2 months of birth from January 1975, to 55.
		{policy.GroupFemaleWorker, 197412, ym(50, 0)},
		{policy.GroupFemaleWorker, 197501, ym(50, 1)},
		{policy.GroupFemaleWorker, 197502, ym(50, 1)},
		{policy.GroupFemaleWorker, 197503, ym(50, 2)},
		{policy.GroupFemaleWorker, 198410, ym(54, 11)},
		{policy.GroupFemaleWorker, 198411, ym(55, 0)},
		{policy.GroupFemaleWorker, 198412, ym(55, 0)},
		// Women in cadre posts (and flexible workers): 55, one month for every 4 from January 1970, to 58.
		{policy.GroupFemaleCadre, 196912, ym(55, 0)},
		{policy.GroupFemaleCadre, 197001, ym(55, 1)},
		{policy.GroupFemaleCadre, 198101, ym(57, 10)},
		{policy.GroupFemaleCadre, 198108, ym(57, 11)},
		{policy.GroupFemaleCadre, 198109, ym(58, 0)},
	} {
		o, err := Eligibility(r, c.group, c.birth, 0)
		if err != nil || o.RetirementAgeMonths != c.age || o.RetirementMonth != c.birth.Add(c.age) {
			t.Errorf("%s born %s: age %d months (%v), retires %s; want %d", c.group, c.birth, o.RetirementAgeMonths, err, o.RetirementMonth, c.age)
		}
	}
	if o, _ := Eligibility(r, policy.GroupMale, 196501, 0); o.RetirementMonth != 202502 {
		t.Errorf("a man born January 1965 retires %s, want 202502", o.RetirementMonth)
	}
	if _, err := Eligibility(r, "child", 200001, 0); err == nil {
		t.Error("an unknown group was accepted")
	}
}

// TestMinimumMonths: 15 years for those retiring before 2030, then 6 months more a year to 20.
func TestMinimumMonths(t *testing.T) {
	m := defaults(t).Retirement.Minimum
	want := map[int]int{2029: 180, 2030: 186, 2031: 192, 2032: 198, 2033: 204, 2034: 210, 2035: 216, 2036: 222, 2037: 228, 2038: 234, 2039: 240, 2040: 240}
	for y := 2029; y <= 2040; y++ {
		if got := m.Months(y); got != want[y] {
			t.Errorf("retiring in %d: minimum %d months, want %d", y, got, want[y])
		}
	}
	o, _ := Eligibility(defaults(t).Retirement, policy.GroupMale, 197001, 100)
	if o.MonthsRemaining != o.MinimumMonths-100 {
		t.Errorf("remaining %d of minimum %d with 100 months", o.MonthsRemaining, o.MinimumMonths)
	}
}

// TestEntitledMonths: the duration table at its boundaries.
func TestEntitledMonths(t *testing.T) {
	u := defaults(t).Unemployment
	for months, want := range map[int]int{0: 0, 11: 0, 12: 12, 59: 12, 60: 18, 119: 18, 120: 24, 400: 24} {
		if got := u.Entitled(months); got != want {
			t.Errorf("%d contribution months: entitled %d, want %d", months, got, want)
		}
	}
}

// TestCarriedOverToTheCap: months not drawn in earlier claims are added, up to the cap of 24.
func TestCarriedOverToTheCap(t *testing.T) {
	u := defaults(t).Unemployment
	for _, c := range []struct{ contributed, carried, want int }{
		{0, 0, 0}, {11, 0, 0}, {11, 9, 9}, // too few new months: only what carries over
		{12, 0, 12}, {12, 9, 21}, {12, 12, 24}, {12, 13, 24}, // to the cap
		{60, 6, 24}, {60, 5, 23}, {120, 0, 24}, {120, 24, 24},
	} {
		if got := u.Months(c.contributed, c.carried); got != c.want {
			t.Errorf("%d months contributed, %d carried over: %d months, want %d", c.contributed, c.carried, got, c.want)
		}
	}
}
