package benefit

import (
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
)

// Outlook is a person's pension eligibility (Art. 16): when they reach the statutory retirement
// age, how many months of pension contributions that year's rule asks, and how far they are.
type Outlook struct {
	Group               string
	RetirementAgeMonths int
	RetirementMonth     period.Month
	MinimumMonths       int
	ContributionMonths  int
	MonthsRemaining     int
}

// Eligibility computes the outlook of a person of group born in birth with contributed months.
// The retirement month is the month the person reaches the age: born in January 1965, retiring
// at 60 years and 1 month, they retire in February 2025.
func Eligibility(r policy.RetirementRules, group string, birth period.Month, contributed int) (Outlook, error) {
	a, ok := r.Groups[group]
	if !ok {
		return Outlook{}, errs.Field("group", "male, female_cadre or female_worker")
	}
	age := a.AgeMonths(birth)
	at := birth.Add(age)
	min := r.Minimum.Months(at.Year())
	return Outlook{Group: group, RetirementAgeMonths: age, RetirementMonth: at, MinimumMonths: min, ContributionMonths: contributed,
		MonthsRemaining: max(0, min-contributed)}, nil
}
