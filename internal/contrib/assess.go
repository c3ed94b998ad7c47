// Package contrib assesses and collects social insurance contributions: each month's bases, the
// lines of each person (insurance × party), employers' bills and flexible workers' own bills,
// payments allocated to the oldest period first, and the late fee on what stays unpaid.
//
// The arithmetic here is pure and exact: amounts are integer fen, rates parts per million, and every
// line is rounded once, half up, by money.Apply. Totals are sums of rounded lines.
//
// This package must never post to an account by itself: postings go through the ledger.
package contrib

import (
	"slices"

	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/policy"
)

// Party is who pays a line.
type Party string

const (
	Employer Party = "employer"
	Employee Party = "employee" // withheld from the wage by the employer
	Self     Party = "self"     // a flexible worker paying for themself
)

// Subject is one person in one month, as the assessment needs them.
type Subject struct {
	Declared   money.Fen          // the declared (or chosen) base, before clamping
	Flexible   bool               // insured by themself
	RiskClass  int                // the employer's work-injury risk class, 1–8 (employees)
	Insurances []policy.Insurance // the insurance types the person participates in this month
}

// Line is one assessed amount.
type Line struct {
	Insurance policy.Insurance
	Party     Party
	Rate      money.Rate
	Amount    money.Fen
	// ToAccount is the part credited to the person's own (personal) account; the rest goes to the
	// pooled fund. Only pension and medical have personal accounts.
	ToAccount money.Fen
}

// Assessment is a person's month.
type Assessment struct {
	Base  money.Fen // the declared base clamped to the floor and ceiling
	Lines []Line
}

// Total is the sum of the lines.
func (a Assessment) Total() money.Fen {
	var t money.Fen
	for _, l := range a.Lines {
		t += l.Amount
	}
	return t
}

// ByParty sums the lines a party pays.
func (a Assessment) ByParty(p Party) money.Fen {
	var t money.Fen
	for _, l := range a.Lines {
		if l.Party == p {
			t += l.Amount
		}
	}
	return t
}

// Assess computes a person's lines for a month under the policy's contribution parameters.
// Maternity is merged into medical insurance: it has no line of its own.
func Assess(c *policy.Contributions, s Subject) Assessment {
	a := Assessment{Base: c.Clamp(s.Declared)}
	has := func(i policy.Insurance) bool { return slices.Contains(s.Insurances, i) }
	add := func(ins policy.Insurance, party Party, rate, account string) {
		r := policy.Rate(rate)
		if r == 0 {
			return
		}
		l := Line{Insurance: ins, Party: party, Rate: r, Amount: money.Apply(a.Base, r)}
		if account != "" {
			l.ToAccount = min(money.Apply(a.Base, policy.Rate(account)), l.Amount)
		}
		a.Lines = append(a.Lines, l)
	}
	if s.Flexible {
		for _, ins := range []policy.Insurance{policy.Pension, policy.Medical} {
			if r, ok := c.Flexible[ins]; ok && has(ins) {
				add(ins, Self, r.Employee, r.PersonalAccount)
			}
		}
		return a
	}
	for _, ins := range []policy.Insurance{policy.Pension, policy.Medical, policy.Unemployment} {
		r, ok := c.Rates[ins]
		if !ok || !has(ins) {
			continue
		}
		// The personal account is fed from the employee's part (SPEC 3.2; since the 2021 medical
		// reform the employer's medical part goes wholly to the pool).
		add(ins, Employer, r.Employer, "")
		add(ins, Employee, r.Employee, r.PersonalAccount)
	}
	if has(policy.WorkInjury) && s.RiskClass >= 1 && s.RiskClass <= len(c.WorkInjuryClasses) {
		add(policy.WorkInjury, Employer, c.WorkInjuryClasses[s.RiskClass-1], "")
	}
	return a
}
