package benefit

import (
	"context"
	"time"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
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

// PensionOf is a person's pension outlook: the bureau's for anyone of its regions, a resident's own.
func (s *Service) PensionOf(ctx context.Context, by *auth.Principal, idNumber string) (Outlook, error) {
	if err := by.Require(auth.ReadBenefits); err != nil {
		return Outlook{}, err
	}
	p, err := s.person(ctx, by, idNumber)
	if err != nil {
		return Outlook{}, err
	}
	_, rules, err := s.rules(ctx, s.db.R(), p.Region, period.MonthOf(s.now()))
	if err != nil {
		return Outlook{}, err
	}
	months, err := paidMonths(ctx, s.db.R(), p.ID, policy.Pension, 0)
	if err != nil {
		return Outlook{}, err
	}
	birth := period.MonthOf(p.BirthDate.Add(12 * time.Hour))
	group, err := registry.RetirementGroupOf(ctx, s.db.R(), p)
	if err != nil {
		return Outlook{}, err
	}
	return Eligibility(rules.Retirement, group, birth, months)
}
