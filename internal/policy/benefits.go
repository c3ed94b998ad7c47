package policy

import (
	"fmt"
	"slices"

	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
)

// BenefitRules are the region's benefit parameters (SPEC 3.6): unemployment benefit, and the
// retirement age and minimum contribution that decide pension eligibility.
type BenefitRules struct {
	// RemovalReasons are the reasons an employer may give when it removes a member of staff
	// (减员): the list the staff page, the staff file and the API accept.
	RemovalReasons []Named `json:"removal_reasons"`
	// InvoluntaryReasons are the removal reasons that count as an involuntary loss of the job
	// (Art. 45); a resignation is not one.
	InvoluntaryReasons []string          `json:"involuntary_reasons"`
	Unemployment       UnemploymentRules `json:"unemployment"`
	Retirement         RetirementRules   `json:"retirement"`
}

// Named is a code with its names in both portal languages.
type Named struct {
	Code   string `json:"code"`
	NameZH string `json:"name_zh"`
	NameEN string `json:"name_en"`
}

// UnemploymentRules: how many months of benefit a spell of contributions earns (Art. 46), how many
// at most, and the monthly amount (Art. 47).
type UnemploymentRules struct {
	Duration      []DurationBand `json:"duration"`
	MaxMonths     int            `json:"max_months"`     // with months carried over from earlier claims (24)
	MonthlyAmount string         `json:"monthly_amount"` // yuan
	// MinContributionMonths is the least of unemployment contributions a claim needs (12: a year).
	MinContributionMonths int `json:"min_contribution_months"`
}

// DurationBand: ToMonths 0 means "and more".
type DurationBand struct {
	FromMonths int `json:"from_months"`
	ToMonths   int `json:"to_months,omitempty"`
	Months     int `json:"months"`
}

// Retirement groups of the 2024 decision.
const (
	GroupMale         = "male"
	GroupFemaleCadre  = "female_cadre"  // women in cadre posts, and women who insure themselves as flexible workers
	GroupFemaleWorker = "female_worker" // other women
)

// RetirementGroups lists the groups in display order.
var RetirementGroups = []string{GroupMale, GroupFemaleCadre, GroupFemaleWorker}

// RetirementRules: the statutory retirement age of each group, and the minimum contribution by
// the year of retirement.
type RetirementRules struct {
	Groups  map[string]AgeSchedule `json:"groups"`
	Minimum MinimumContribution    `json:"minimum"`
}

// AgeSchedule: those born before FirstBirthMonth retire at BaseAgeMonths; from that month, one
// month more for every BirthMonthsPerAdded months of birth, at most MaxAddedMonths.
type AgeSchedule struct {
	BaseAgeMonths       int    `json:"base_age_months"`
	FirstBirthMonth     string `json:"first_birth_month"` // YYYYMM
	BirthMonthsPerAdded int    `json:"birth_months_per_added"`
	MaxAddedMonths      int    `json:"max_added_months"`
}

// MinimumContribution: BaseMonths for those retiring before FromYear, then PerYearMonths more each
// year from FromYear, up to MaxMonths.
type MinimumContribution struct {
	BaseMonths    int `json:"base_months"`
	FromYear      int `json:"from_year"`
	PerYearMonths int `json:"per_year_months"`
	MaxMonths     int `json:"max_months"`
}

// Benefits reads the benefits section; ok is false for a version without one.
func (p *Policy) Benefits() (*BenefitRules, bool) {
	return p.BenefitRules, p.BenefitRules != nil
}

// Involuntary reports whether a removal reason is an involuntary loss of the job.
func (r *BenefitRules) Involuntary(reason string) bool {
	return slices.Contains(r.InvoluntaryReasons, reason)
}

// Monthly is the unemployment benefit's monthly amount in fen.
func (u UnemploymentRules) Monthly() money.Fen {
	v, _ := money.ParseYuan(u.MonthlyAmount)
	return v
}

// Entitled is the months of benefit a spell of contribution months earns, from the table.
func (u UnemploymentRules) Entitled(contributionMonths int) int {
	for _, b := range u.Duration {
		if contributionMonths >= b.FromMonths && (b.ToMonths == 0 || contributionMonths <= b.ToMonths) {
			return b.Months
		}
	}
	return 0
}

// Months is what a claim entitles: the table's months for the contributions since the last
// claim, plus the months not drawn in earlier claims (Art. 46), never more than MaxMonths.
func (u UnemploymentRules) Months(contributionMonths, carriedOver int) int {
	return min(u.Entitled(contributionMonths)+carriedOver, u.MaxMonths)
}

// AgeMonths is a group's statutory retirement age, in months, for a person born in birth.
func (a AgeSchedule) AgeMonths(birth period.Month) int {
	first, _ := period.ParseMonth(a.FirstBirthMonth)
	if birth < first {
		return a.BaseAgeMonths
	}
	added := birth.Since(first)/a.BirthMonthsPerAdded + 1
	return a.BaseAgeMonths + min(added, a.MaxAddedMonths)
}

// Months is the minimum contribution for someone retiring in year.
func (m MinimumContribution) Months(year int) int {
	if year < m.FromYear {
		return m.BaseMonths
	}
	return min(m.BaseMonths+(year-m.FromYear+1)*m.PerYearMonths, m.MaxMonths)
}

func (r *BenefitRules) validate(f errs.Fields) {
	codes := map[string]bool{}
	for i, n := range r.RemovalReasons {
		checkNamed(f, fmt.Sprintf("benefits.removal_reasons[%d]", i), n.Code, n.NameZH, n.NameEN)
		if codes[n.Code] {
			f.Add(fmt.Sprintf("benefits.removal_reasons[%d].code", i), "duplicate code "+n.Code)
		}
		codes[n.Code] = true
	}
	if len(r.RemovalReasons) == 0 {
		f.Add("benefits.removal_reasons", "at least one reason")
	}
	if len(r.InvoluntaryReasons) == 0 {
		f.Add("benefits.involuntary_reasons", "at least one removal reason")
	}
	for i, c := range r.InvoluntaryReasons {
		if !codes[c] {
			f.Add(fmt.Sprintf("benefits.involuntary_reasons[%d]", i), "not one of removal_reasons")
		}
	}
	u := r.Unemployment
	if x, err := money.ParseYuan(u.MonthlyAmount); err != nil || x == 0 {
		f.Add("benefits.unemployment.monthly_amount", "an amount in yuan above zero")
	}
	if u.MaxMonths < 1 || u.MaxMonths > 60 {
		f.Add("benefits.unemployment.max_months", "from 1 to 60 (the law: 24)")
	}
	if u.MinContributionMonths < 1 || u.MinContributionMonths > 120 {
		f.Add("benefits.unemployment.min_contribution_months", "from 1 to 120 (the law: 12)")
	}
	if len(u.Duration) == 0 {
		f.Add("benefits.unemployment.duration", "at least one band")
	}
	next := -1
	for i, b := range u.Duration {
		at := fmt.Sprintf("benefits.unemployment.duration[%d]", i)
		if next >= 0 && b.FromMonths != next {
			f.Add(at+".from_months", fmt.Sprintf("the bands follow each other: %d", next))
		}
		if b.ToMonths != 0 && b.ToMonths < b.FromMonths {
			f.Add(at+".to_months", "not before from_months")
		}
		if b.ToMonths == 0 && i != len(u.Duration)-1 {
			f.Add(at+".to_months", "only the last band is open-ended")
		}
		if b.Months < 0 || b.Months > u.MaxMonths {
			f.Add(at+".months", "from 0 to max_months")
		}
		next = b.ToMonths + 1
	}
	for _, g := range RetirementGroups {
		a, ok := r.Retirement.Groups[g]
		at := "benefits.retirement.groups." + g
		if !ok {
			f.Add(at, "required")
			continue
		}
		if a.BaseAgeMonths < 40*12 || a.BaseAgeMonths > 70*12 {
			f.Add(at+".base_age_months", "an age in months between 480 and 840")
		}
		if _, err := period.ParseMonth(a.FirstBirthMonth); err != nil {
			f.Add(at+".first_birth_month", err.Error())
		}
		if a.BirthMonthsPerAdded < 1 {
			f.Add(at+".birth_months_per_added", "at least 1")
		}
		if a.MaxAddedMonths < 0 || a.MaxAddedMonths > 120 {
			f.Add(at+".max_added_months", "from 0 to 120")
		}
	}
	for g := range r.Retirement.Groups {
		if !slices.Contains(RetirementGroups, g) {
			f.Add("benefits.retirement.groups."+g, "male, female_cadre or female_worker")
		}
	}
	m := r.Retirement.Minimum
	if m.BaseMonths < 1 || m.MaxMonths < m.BaseMonths || m.PerYearMonths < 0 || m.FromYear < 1990 {
		f.Add("benefits.retirement.minimum", "base_months ≥ 1, max_months ≥ base_months, per_year_months ≥ 0, from_year a year")
	}
}
