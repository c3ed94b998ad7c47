package web

import (
	"context"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/contrib"
)

// supplementJSON is a supplementary bill (补缴) a declaration made.
type supplementJSON struct {
	Month      string `json:"month"`
	Bill       int64  `json:"bill"`
	Supplement int    `json:"supplement"`
	Persons    int    `json:"persons"`
	Total      string `json:"total"`
	Decreases  int    `json:"decreases"`
}

// billRestated bills, right after an employer's declarations, the months they reached back into
// (contrib.Supplements). The declarations are committed already, with their months marked: if
// billing fails here, the marks stay and the next monthly run bills them, so the error is logged and
// the answer is still the declaration's.
func (s *Server) billRestated(ctx context.Context, p *auth.Principal, uscc string) []supplementJSON {
	e, err := s.Registry.Employer(ctx, p, uscc)
	if err != nil {
		return nil
	}
	sups, err := s.Contrib.Supplements(context.WithoutCancel(ctx), p.Actor(), e.Region, contrib.EmployerPayer(e.ID))
	if err != nil && s.Log != nil {
		s.Log.Error("supplementary bills", "employer", e.ID, "err", err)
	}
	out := make([]supplementJSON, 0, len(sups))
	for _, x := range sups {
		out = append(out, supplementJSON{Month: x.Month.String(), Bill: x.Bill, Supplement: x.Number, Persons: x.Persons,
			Total: x.Total.String(), Decreases: x.Decreases})
	}
	return out
}
