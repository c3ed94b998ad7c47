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

// Rates are a policy's contribution parameters read once into exact numbers, so that assessing a
// million persons parses nothing.
type Rates struct {
	Floor, Ceiling money.Fen
	employer       map[policy.Insurance]partRates
	flexible       map[policy.Insurance]partRates
	workInjury     []money.Rate
}

type partRates struct{ employer, employee, account money.Rate }

// Compile reads a (validated) policy's contribution parameters.
func Compile(c *policy.Contributions) *Rates {
	r := &Rates{Floor: c.Floor(), Ceiling: c.Ceiling(), employer: map[policy.Insurance]partRates{}, flexible: map[policy.Insurance]partRates{}}
	for ins, p := range c.Rates {
		r.employer[ins] = partRates{policy.Rate(p.Employer), policy.Rate(p.Employee), policy.Rate(p.PersonalAccount)}
	}
	for ins, p := range c.Flexible {
		r.flexible[ins] = partRates{0, policy.Rate(p.Employee), policy.Rate(p.PersonalAccount)}
	}
	for _, w := range c.WorkInjuryClasses {
		r.workInjury = append(r.workInjury, policy.Rate(w))
	}
	return r
}

// Assess computes a person's lines for a month under the policy's contribution parameters.
// Maternity is merged into medical insurance: it has no line of its own.
func Assess(r *Rates, s Subject) Assessment {
	a := Assessment{Base: min(max(s.Declared, r.Floor), r.Ceiling), Lines: make([]Line, 0, 7)}
	has := func(i policy.Insurance) bool { return slices.Contains(s.Insurances, i) }
	add := func(ins policy.Insurance, party Party, rate, account money.Rate) {
		if rate == 0 {
			return
		}
		l := Line{Insurance: ins, Party: party, Rate: rate, Amount: money.Apply(a.Base, rate)}
		if account != 0 {
			l.ToAccount = min(money.Apply(a.Base, account), l.Amount)
		}
		a.Lines = append(a.Lines, l)
	}
	if s.Flexible {
		for _, ins := range []policy.Insurance{policy.Pension, policy.Medical} {
			if p, ok := r.flexible[ins]; ok && has(ins) {
				add(ins, Self, p.employee, p.account)
			}
		}
		return a
	}
	for _, ins := range []policy.Insurance{policy.Pension, policy.Medical, policy.Unemployment} {
		p, ok := r.employer[ins]
		if !ok || !has(ins) {
			continue
		}
		// The personal account is fed from the employee's part (SPEC 3.2; since the 2021 medical
		// reform the employer's medical part goes wholly to the pool).
		add(ins, Employer, p.employer, 0)
		add(ins, Employee, p.employee, p.account)
	}
	if has(policy.WorkInjury) && s.RiskClass >= 1 && s.RiskClass <= len(r.workInjury) {
		add(policy.WorkInjury, Employer, r.workInjury[s.RiskClass-1], 0)
	}
	return a
}
