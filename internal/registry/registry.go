// Package registry is who is insured and by whom: persons, employers and their HR operators,
// enrolment applications with their document checklists and uploaded materials, and participation
// in each insurance type as dated intervals of months. It also carries employers' HR operations —
// adding staff (增员), removing staff (减员) and changing a base (调基) — one at a time or in bulk
// from the spreadsheets HR already keeps.
//
// Decisions the specification left open (see docs/registry.md for the reasons):
//   - Window enrolments (a clerk with the person's materials) go draft → submitted → approved or
//     rejected, approved by a reviewer who did not prepare them.
//   - An employer's HR operations take effect at once: the employer declares them and keeps the
//     staff's materials, as it does under the Social Insurance Law; every one is audited.
//   - A participation interval is written once when it opens; closing it sets its end once.
//
// Every check of who may see or change which record happens here, given the auth.Principal; the web
// layer has already checked the action against the permission table. This package must never trust a
// region, person or employer named by the caller without checking it against the principal.
package registry

import (
	"time"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
)

// Service is the registry capability.
type Service struct {
	db       *db.DB
	auth     *auth.Service
	policies *policy.Store
	now      func() time.Time
}

// New returns the registry over d.
func New(d *db.DB, a *auth.Service, p *policy.Store) *Service {
	return &Service{db: d, auth: a, policies: p, now: d.Now}
}

// AsOf returns the registry as it was on the day now gives: its checks of dates (how far back a
// declaration may reach, ages) count from that day. It exists to load history (the demo city's two
// years of staff) through the same rules; what it writes is still stamped with the real time.
func (s *Service) AsOf(now func() time.Time) *Service {
	c := *s
	c.now = now
	return &c
}

// today is the business date, for ID number checks.
func (s *Service) today() time.Time { return period.Today(s.now()) }

// regionFor picks the region a staff member acts in: the one asked for, which must be theirs, or
// their only one.
func regionFor(by *auth.Principal, asked string) (string, error) {
	if asked == "" {
		if len(by.Regions) == 1 {
			return by.Regions[0], nil
		}
		return "", errs.Field("region", "you work in several regions; say which")
	}
	if !by.InRegion(asked) {
		return "", errs.Field("region", "not one of your regions")
	}
	return asked, nil
}

func notFound(what string) error { return errs.E(errs.NotFound, "no such %s", what) }
