package web

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
)

type policyJSON struct {
	ID            int64           `json:"id"`
	Region        string          `json:"region"`
	EffectiveFrom string          `json:"effective_from"`
	Status        string          `json:"status"`
	ProposedBy    string          `json:"proposed_by"`
	ProposedAt    apiTime         `json:"proposed_at"`
	ReviewedBy    string          `json:"reviewed_by,omitempty"`
	RejectReason  string          `json:"reject_reason,omitempty"`
	Policy        json.RawMessage `json:"policy,omitempty"`
}

func toPolicyJSON(v policy.Version, withBody bool) policyJSON {
	out := policyJSON{ID: v.ID, Region: v.Region, EffectiveFrom: v.EffectiveFrom.String(), Status: string(v.Status),
		ProposedBy: v.ProposedBy, ProposedAt: apiTime(v.ProposedAt), ReviewedBy: v.ReviewedBy, RejectReason: v.RejectReason}
	if withBody {
		out.Policy = json.RawMessage(v.Body)
	}
	return out
}

func (s *Server) apiListPolicies(r *http.Request, p *auth.Principal) (int, any, error) {
	region := r.URL.Query().Get("region")
	if region == "" && len(p.Regions) > 0 {
		region = p.Regions[0]
	}
	if !p.InRegion(region) {
		return 0, nil, errs.Field("region", "not one of your regions")
	}
	limit, before, err := idPage(r, 200)
	if err != nil {
		return 0, nil, err
	}
	vs, err := s.Policies.ListPage(r.Context(), region, before, limit)
	if err != nil {
		return 0, nil, err
	}
	out := make([]policyJSON, 0, len(vs))
	for _, v := range vs {
		out = append(out, toPolicyJSON(v, false))
	}
	next := nextOf(len(vs), limit, func() string { return strconv.FormatInt(vs[len(vs)-1].ID, 10) })
	return http.StatusOK, map[string]any{"versions": out, "next": next}, nil
}

func (s *Server) apiProposePolicy(r *http.Request, p *auth.Principal) (int, any, error) {
	body, err := readUpload(r, policy.MaxPolicyBytes)
	if err != nil {
		return 0, nil, err
	}
	v, err := s.Policies.Propose(r.Context(), p, p.Actor(), body)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, toPolicyJSON(v, false), nil
}

func (s *Server) apiGetPolicy(r *http.Request, p *auth.Principal) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	v, err := s.Policies.Get(r.Context(), p, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toPolicyJSON(v, true), nil
}

func (s *Server) apiApprovePolicy(r *http.Request, p *auth.Principal) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	v, err := s.Policies.Approve(r.Context(), p, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toPolicyJSON(v, false), nil
}

func (s *Server) apiRejectPolicy(r *http.Request, p *auth.Principal) (int, any, error) {
	var req reasonRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	v, err := s.Policies.Reject(r.Context(), p, id, req.Reason)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toPolicyJSON(v, false), nil
}

// guideJSON is the public service guide of a region: what each business needs.
type guideJSON struct {
	Region     string            `json:"region"`
	Businesses []policy.Business `json:"businesses"`
	Categories []policy.Category `json:"enrolment_categories"`
}

func (s *Server) apiGuide(w http.ResponseWriter, r *http.Request) {
	v, err := s.Policies.Effective(r.Context(), s.DB.R(), r.PathValue("region"), period.MonthOf(s.Now()))
	if err != nil {
		if errs.Is(err, errs.Unavailable) {
			err = errs.E(errs.NotFound, "no service guide for region %q", r.PathValue("region"))
		}
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, guideJSON{Region: v.Region, Businesses: v.Policy.Businesses, Categories: v.Policy.Categories})
}
