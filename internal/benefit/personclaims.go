package benefit

import (
	"context"
	"slices"

	"github.com/shebao/shebao/internal/auth"
)

// ClaimsOfPerson lists one person's claims, newest first: the bureau's look-up by ID number (the
// window answering the person, the reviewer checking an earlier claim), or a resident's own.
func (s *Service) ClaimsOfPerson(ctx context.Context, by *auth.Principal, idNumber string) ([]Claim, error) {
	if err := by.Require(auth.ReadBenefits); err != nil {
		return nil, err
	}
	p, err := s.person(ctx, by, idNumber)
	if err != nil {
		return nil, err
	}
	cs, err := claimsOf(ctx, s.db.R(), p.Region, p.ID)
	slices.Reverse(cs)
	return cs, err
}
