// Package benefit is the benefits of SPEC 3.6: unemployment benefit — registration, claims checked
// against the law's conditions and approved by a reviewer, the monthly run that pays each month once
// to the bank account of the person's social security card (the card is the voucher: no usable card,
// the month is held with the reason) — and pension eligibility: the statutory retirement month, the
// minimum contribution of that year, and the months so far.
//
// Money moves only through the ledger: a paid month debits the unemployment fund to the bank
// clearing account (the bank pays the card's account), and the month's medical insurance
// contribution is paid by the unemployment fund into the medical fund and the person's medical
// account (Art. 48).
//
// This package must never pay a month twice, pay without an active card with its bank function,
// or decide a claim its preparer approves.
package benefit

import (
	"context"
	"time"

	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
)

// Service is the benefit capability.
type Service struct {
	db       *db.DB
	policies *policy.Store
	reg      *registry.Service
	now      func() time.Time
}

// New returns the benefit service.
func New(d *db.DB, p *policy.Store, r *registry.Service) *Service {
	return &Service{db: d, policies: p, reg: r, now: d.Now}
}

// AsOf is the service on another business clock, as registry.AsOf: the demo registers, claims and
// pays its past months with the clock set back.
func (s *Service) AsOf(now func() time.Time) *Service {
	c := *s
	c.now = now
	return &c
}

// rules is the policy in force for a region and month, with its benefits section.
func (s *Service) rules(ctx context.Context, r db.Reader, region string, m period.Month) (*policy.Policy, *policy.BenefitRules, error) {
	v, err := s.policies.Effective(ctx, r, region, m)
	if err != nil {
		return nil, nil, err
	}
	b, ok := v.Policy.Benefits()
	if !ok {
		return nil, nil, errs.E(errs.Unavailable, "the region's policy in force for %s has no benefit rules", m)
	}
	return v.Policy, b, nil
}
