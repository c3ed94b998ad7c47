package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/benefit"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/registry"
)

// The benefits API (SPEC 3.6): pension eligibility, unemployment registration and preview,
// claims prepared by a clerk and decided by a reviewer, their months paid or held, and the
// monthly benefit run. Amounts are yuan strings as everywhere in the API; months YYYYMM; times
// Beijing time with its offset.

type pensionJSON struct {
	Group               string `json:"group"`
	RetirementAgeMonths int    `json:"retirement_age_months"`
	RetirementMonth     string `json:"retirement_month"`
	MinimumMonths       int    `json:"minimum_contribution_months"`
	ContributionMonths  int    `json:"contribution_months"`
	MonthsRemaining     int    `json:"months_remaining"`
}

func toPensionJSON(o benefit.Outlook) pensionJSON {
	return pensionJSON{Group: o.Group, RetirementAgeMonths: o.RetirementAgeMonths, RetirementMonth: o.RetirementMonth.String(),
		MinimumMonths: o.MinimumMonths, ContributionMonths: o.ContributionMonths, MonthsRemaining: o.MonthsRemaining}
}

// ownOnly refuses a /me route to a login that is no resident's: it has no person of its own.
func ownOnly(p *auth.Principal) error {
	if p.Role != auth.Resident || p.PersonID == 0 {
		return errs.E(errs.NotFound, "this login is not linked to a registered person")
	}
	return nil
}

func (s *Server) apiPersonPension(r *http.Request, p *auth.Principal) (int, any, error) {
	o, err := s.Benefit.PensionOf(r.Context(), p, r.PathValue("id_number"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toPensionJSON(o), nil
}

func (s *Server) apiMyPension(r *http.Request, p *auth.Principal) (int, any, error) {
	if err := ownOnly(p); err != nil {
		return 0, nil, err
	}
	o, err := s.Benefit.PensionOf(r.Context(), p, "")
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toPensionJSON(o), nil
}

// shownID is a person's ID number as the caller may see it: whole for the bureau's staff, who
// work with the person's record; masked for everyone else, the person included (as the portal's
// header shows them).
func shownID(p *auth.Principal, person registry.Person) string {
	if p.Role.Staff() && p.Can(auth.ReadPerson) {
		return string(person.IDNumber)
	}
	return person.IDNumber.Masked()
}

type registrationJSON struct {
	RegisteredOn string `json:"registered_on"`
	SeekingWork  bool   `json:"seeking_work"`
	Channel      string `json:"channel"`
	RegisteredBy string `json:"registered_by"`
}

func toRegistrationJSON(reg benefit.Registration) registrationJSON {
	return registrationJSON{RegisteredOn: reg.RegisteredOn.Format("2006-01-02"), SeekingWork: reg.SeekingWork, Channel: reg.Channel,
		RegisteredBy: reg.RegisteredBy}
}

type claimJSON struct {
	ID                 int64  `json:"id"`
	Region             string `json:"region"`
	IDNumber           string `json:"id_number"`
	Status             string `json:"status"`
	RegisteredOn       string `json:"registered_on"`
	RemovalReason      string `json:"removal_reason"`
	ContributionMonths int    `json:"contribution_months"`
	EntitledMonths     int    `json:"entitled_months"`
	CarriedOverMonths  int    `json:"carried_over_months"`
	TotalMonths        int    `json:"total_months"`
	DrawnMonths        int    `json:"drawn_months"`
	MonthlyAmount      string `json:"monthly_amount"`
	StartMonth         string `json:"start_month"`
	PreparedBy         string `json:"prepared_by"`
	ApprovedBy         string `json:"approved_by"`
	RejectReason       string `json:"reject_reason"`
	EndedMonth         string `json:"ended_month"`
	EndReason          string `json:"end_reason"`
}

// people finds the persons of claims once each. The claims were read through benefit's checks,
// so whoever asks may see their persons.
type people struct {
	s    *Server
	ctx  context.Context
	seen map[int64]registry.Person
}

func (s *Server) people(ctx context.Context) *people {
	return &people{s: s, ctx: ctx, seen: map[int64]registry.Person{}}
}

func (pp *people) of(id int64) (registry.Person, error) {
	if p, ok := pp.seen[id]; ok {
		return p, nil
	}
	p, err := pp.s.Registry.PersonByID(pp.ctx, pp.s.DB.R(), id)
	if err != nil {
		return registry.Person{}, err
	}
	pp.seen[id] = p
	return p, nil
}

func (pp *people) claimJSON(p *auth.Principal, c benefit.Claim) (claimJSON, error) {
	person, err := pp.of(c.PersonID)
	if err != nil {
		return claimJSON{}, err
	}
	return claimJSON{ID: c.ID, Region: c.Region, IDNumber: shownID(p, person), Status: c.Status, RegisteredOn: c.RegisteredOn.Format("2006-01-02"),
		RemovalReason: c.RemovalReason, ContributionMonths: c.ContributionMonths, EntitledMonths: c.EntitledMonths,
		CarriedOverMonths: c.CarriedOverMonths, TotalMonths: c.TotalMonths, DrawnMonths: c.DrawnMonths, MonthlyAmount: c.MonthlyAmount.String(),
		StartMonth: c.StartMonth.String(), PreparedBy: c.PreparedBy, ApprovedBy: c.ApprovedBy, RejectReason: c.RejectReason,
		EndedMonth: c.EndedMonth.String(), EndReason: c.EndReason}, nil
}

type benefitPaymentJSON struct {
	Month       string  `json:"month"`
	Amount      string  `json:"amount"`
	Status      string  `json:"status"`
	Reason      string  `json:"reason"`
	CardNumber  string  `json:"card_number"`
	MedicalPaid string  `json:"medical_paid"`
	PaidAt      *string `json:"paid_at"`
}

func toBenefitPayments(ps []benefit.Payment) []benefitPaymentJSON {
	out := make([]benefitPaymentJSON, 0, len(ps))
	for _, x := range ps {
		j := benefitPaymentJSON{Month: x.Month.String(), Amount: x.Amount.String(), Status: x.Status, Reason: x.Reason, CardNumber: x.CardNumber,
			MedicalPaid: x.MedicalPaid.String()}
		if !x.PaidAt.IsZero() {
			at := beijing(x.PaidAt)
			j.PaidAt = &at
		}
		out = append(out, j)
	}
	return out
}

type unemploymentJSON struct {
	ContributionMonths int               `json:"contribution_months"`
	EntitledMonths     int               `json:"entitled_months"`
	CarriedOverMonths  int               `json:"carried_over_months"`
	TotalMonths        int               `json:"total_months"`
	DrawnMonths        int               `json:"drawn_months"`
	MonthlyAmount      string            `json:"monthly_amount"`
	Claim              *claimJSON        `json:"claim"`
	Registration       *registrationJSON `json:"registration"`
	Problems           map[string]string `json:"problems"`
}

func (s *Server) unemploymentAnswer(r *http.Request, p *auth.Principal, idNumber string) (int, any, error) {
	e, err := s.Benefit.Preview(r.Context(), p, idNumber)
	if err != nil {
		return 0, nil, err
	}
	out := unemploymentJSON{ContributionMonths: e.ContributionMonths, EntitledMonths: e.EntitledMonths, CarriedOverMonths: e.CarriedOverMonths,
		TotalMonths: e.TotalMonths, MonthlyAmount: e.MonthlyAmount.String(), Problems: map[string]string{}}
	for k, v := range e.Problems {
		out.Problems[k] = v
	}
	if e.Open != nil {
		c, err := s.people(r.Context()).claimJSON(p, *e.Open)
		if err != nil {
			return 0, nil, err
		}
		out.Claim, out.DrawnMonths = &c, e.Open.DrawnMonths
	}
	if e.Registration != nil {
		reg := toRegistrationJSON(*e.Registration)
		out.Registration = &reg
	}
	return http.StatusOK, out, nil
}

func (s *Server) apiPersonUnemployment(r *http.Request, p *auth.Principal) (int, any, error) {
	return s.unemploymentAnswer(r, p, r.PathValue("id_number"))
}

func (s *Server) apiMyUnemployment(r *http.Request, p *auth.Principal) (int, any, error) {
	if err := ownOnly(p); err != nil {
		return 0, nil, err
	}
	return s.unemploymentAnswer(r, p, "")
}

type registrationRequest struct {
	RegisteredOn string `json:"registered_on"`
	SeekingWork  *bool  `json:"seeking_work"`
}

func (s *Server) register(r *http.Request, p *auth.Principal, idNumber string) (int, any, error) {
	var req registrationRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	if req.SeekingWork == nil {
		return 0, nil, errs.Field("seeking_work", "required: true or false")
	}
	reg, err := s.Benefit.Register(r.Context(), p, idNumber, req.RegisteredOn, *req.SeekingWork)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, toRegistrationJSON(reg), nil
}

func (s *Server) apiRegisterUnemployment(r *http.Request, p *auth.Principal) (int, any, error) {
	return s.register(r, p, r.PathValue("id_number"))
}

func (s *Server) apiMyRegisterUnemployment(r *http.Request, p *auth.Principal) (int, any, error) {
	if err := ownOnly(p); err != nil {
		return 0, nil, err
	}
	return s.register(r, p, "")
}

// claimRegion is the region a claim route means: ?region= when given, else the caller's first
// region (a bureau's staff serve one region, as a resident lives in one).
func claimRegion(r *http.Request, p *auth.Principal) (string, error) {
	region := r.URL.Query().Get("region")
	if region == "" && len(p.Regions) > 0 {
		region = p.Regions[0]
	}
	if !p.InRegion(region) {
		return "", errs.Field("region", "not one of your regions")
	}
	return region, nil
}

// claimOf runs fn on the claim of the path in the caller's region and answers with the claim.
func (s *Server) claimOf(r *http.Request, p *auth.Principal, status int, fn func(region string, id int64) (benefit.Claim, error)) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	region, err := claimRegion(r, p)
	if err != nil {
		return 0, nil, err
	}
	c, err := fn(region, id)
	if err != nil {
		return 0, nil, err
	}
	out, err := s.people(r.Context()).claimJSON(p, c)
	if err != nil {
		return 0, nil, err
	}
	return status, out, nil
}

func (s *Server) apiPrepareClaim(r *http.Request, p *auth.Principal) (int, any, error) {
	var req struct {
		IDNumber string `json:"id_number"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	if req.IDNumber == "" {
		return 0, nil, errs.Field("id_number", "required: the claimant's ID number")
	}
	c, err := s.Benefit.Prepare(r.Context(), p, req.IDNumber)
	if err != nil {
		return 0, nil, err
	}
	out, err := s.people(r.Context()).claimJSON(p, c)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, out, nil
}

// claimStatuses are the statuses a list may ask for.
var claimStatuses = map[string]bool{"": true, benefit.Prepared: true, benefit.Approved: true, benefit.Rejected: true, benefit.Ended: true, benefit.Completed: true}

func (s *Server) apiListClaims(r *http.Request, p *auth.Principal) (int, any, error) {
	q := r.URL.Query()
	f := errs.Fields{}
	limit, err := listLimit(r, 200)
	if err != nil {
		return 0, nil, err
	}
	status := q.Get("status")
	if !claimStatuses[status] {
		f.Add("status", "prepared, approved, rejected, ended or completed")
	}
	var before int64
	if c := q.Get("cursor"); c != "" {
		if before, err = strconv.ParseInt(c, 10, 64); err != nil || before < 1 {
			f.Add("cursor", "the next of the previous page")
		}
	}
	if err := f.Err(); err != nil {
		return 0, nil, err
	}
	region, err := claimRegion(r, p)
	if err != nil {
		return 0, nil, err
	}
	cs, err := s.Benefit.Claims(r.Context(), p, region, status, before, limit)
	if err != nil {
		return 0, nil, err
	}
	pp := s.people(r.Context())
	out := make([]claimJSON, 0, len(cs))
	for _, c := range cs {
		j, err := pp.claimJSON(p, c)
		if err != nil {
			return 0, nil, err
		}
		out = append(out, j)
	}
	next := ""
	if len(cs) == limit {
		next = strconv.FormatInt(cs[len(cs)-1].ID, 10)
	}
	return http.StatusOK, map[string]any{"claims": out, "next": next}, nil
}

func (s *Server) apiGetClaim(r *http.Request, p *auth.Principal) (int, any, error) {
	return s.claimOf(r, p, http.StatusOK, func(region string, id int64) (benefit.Claim, error) {
		return s.Benefit.Claim(r.Context(), p, region, id)
	})
}

func (s *Server) apiApproveClaim(r *http.Request, p *auth.Principal) (int, any, error) {
	return s.claimOf(r, p, http.StatusOK, func(region string, id int64) (benefit.Claim, error) {
		return s.Benefit.Approve(r.Context(), p, region, id)
	})
}

func (s *Server) apiRejectClaim(r *http.Request, p *auth.Principal) (int, any, error) {
	var req struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	return s.claimOf(r, p, http.StatusOK, func(region string, id int64) (benefit.Claim, error) {
		return s.Benefit.Reject(r.Context(), p, region, id, req.Reason)
	})
}

func (s *Server) apiEndClaim(r *http.Request, p *auth.Principal) (int, any, error) {
	var req struct {
		FromMonth string `json:"from_month"`
		Reason    string `json:"reason"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	from, err := period.ParseMonth(req.FromMonth)
	if err != nil {
		return 0, nil, errs.Field("from_month", err.Error())
	}
	return s.claimOf(r, p, http.StatusOK, func(region string, id int64) (benefit.Claim, error) {
		return s.Benefit.End(r.Context(), p, region, id, from, req.Reason)
	})
}

func (s *Server) apiClaimPayments(r *http.Request, p *auth.Principal) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	region, err := claimRegion(r, p)
	if err != nil {
		return 0, nil, err
	}
	limit, err := listLimit(r, 200)
	if err != nil {
		return 0, nil, err
	}
	// Oldest month first: the cursor is the month the previous page ended with.
	var after period.Month
	if c := r.URL.Query().Get("cursor"); c != "" {
		if after, err = period.ParseMonth(c); err != nil {
			return 0, nil, badCursor()
		}
	}
	ps, err := s.Benefit.PaymentsPage(r.Context(), p, region, id, after, limit)
	if err != nil {
		return 0, nil, err
	}
	next := nextOf(len(ps), limit, func() string { return ps[len(ps)-1].Month.String() })
	return http.StatusOK, map[string]any{"claim_id": id, "payments": toBenefitPayments(ps), "next": next}, nil
}

// myClaimJSON is a resident's claim with its months: paid, or held with the reason.
type myClaimJSON struct {
	claimJSON
	Payments []benefitPaymentJSON `json:"payments"`
}

func (s *Server) apiMyClaims(r *http.Request, p *auth.Principal) (int, any, error) {
	if err := ownOnly(p); err != nil {
		return 0, nil, err
	}
	limit, before, err := idPage(r, 200)
	if err != nil {
		return 0, nil, err
	}
	cs, err := s.Benefit.MyClaimsPage(r.Context(), p, before, limit)
	if err != nil {
		return 0, nil, err
	}
	pp := s.people(r.Context())
	out := make([]myClaimJSON, 0, len(cs))
	for _, c := range cs {
		j, err := pp.claimJSON(p, c)
		if err != nil {
			return 0, nil, err
		}
		ps, err := s.Benefit.Payments(r.Context(), p, c.Region, c.ID)
		if err != nil {
			return 0, nil, err
		}
		out = append(out, myClaimJSON{claimJSON: j, Payments: toBenefitPayments(ps)})
	}
	next := nextOf(len(cs), limit, func() string { return strconv.FormatInt(cs[len(cs)-1].ID, 10) })
	return http.StatusOK, map[string]any{"claims": out, "next": next}, nil
}

type benefitRunJSON struct {
	Region      string `json:"region"`
	Month       string `json:"month"`
	Claims      int    `json:"claims"`
	Paid        int    `json:"paid"`
	Held        int    `json:"held"`
	Ended       int    `json:"ended"`
	Completed   int    `json:"completed"`
	PaidAmount  string `json:"paid_amount"`
	MedicalPaid string `json:"medical_paid"`
}

// apiRunBenefits pays a month of the caller's region and answers what this run did. Run again,
// it pays only what is left (held months whose card is now there), never a month twice.
func (s *Server) apiRunBenefits(r *http.Request, p *auth.Principal) (int, any, error) {
	var req struct {
		Month  string `json:"month"`
		Region string `json:"region"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	m, err := period.ParseMonth(req.Month)
	if err != nil {
		return 0, nil, errs.Field("month", err.Error())
	}
	region := req.Region
	if region == "" && len(p.Regions) > 0 {
		region = p.Regions[0]
	}
	if !p.InRegion(region) {
		return 0, nil, errs.Field("region", "not one of your regions")
	}
	rep, err := s.Benefit.Run(r.Context(), p.Actor(), region, m)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, benefitRunJSON{Region: region, Month: rep.Month.String(), Claims: rep.Claims, Paid: rep.Paid, Held: rep.Held,
		Ended: rep.Ended, Completed: rep.Completed, PaidAmount: rep.PaidAmount.String(), MedicalPaid: rep.MedicalPaid.String()}, nil
}

type benefitRunInfoJSON struct {
	Month      string  `json:"month"`
	Status     string  `json:"status"`
	StartedBy  string  `json:"started_by"`
	StartedAt  string  `json:"started_at"`
	LastBeat   string  `json:"last_beat"`
	FinishedAt *string `json:"finished_at"`
	Paid       int     `json:"paid"`
	Held       int     `json:"held"`
	Ended      int     `json:"ended"`
}

func (s *Server) apiListBenefitRuns(r *http.Request, p *auth.Principal) (int, any, error) {
	limit, err := listLimit(r, 120)
	if err != nil {
		return 0, nil, err
	}
	var before period.Month
	if c := r.URL.Query().Get("cursor"); c != "" {
		if before, err = period.ParseMonth(c); err != nil {
			return 0, nil, errs.Field("cursor", "the next of the previous page")
		}
	}
	region, err := claimRegion(r, p)
	if err != nil {
		return 0, nil, err
	}
	runs, err := s.Benefit.RunsBefore(r.Context(), region, before, limit)
	if err != nil {
		return 0, nil, err
	}
	out := make([]benefitRunInfoJSON, 0, len(runs))
	for _, x := range runs {
		j := benefitRunInfoJSON{Month: x.Month.String(), Status: x.Status, StartedBy: x.StartedBy, StartedAt: beijing(x.StartedAt),
			LastBeat: beijing(x.LastBeat), Paid: x.Paid, Held: x.Held, Ended: x.Ended}
		if !x.FinishedAt.IsZero() {
			at := beijing(x.FinishedAt)
			j.FinishedAt = &at
		}
		out = append(out, j)
	}
	next := ""
	if len(runs) == limit {
		next = runs[len(runs)-1].Month.String()
	}
	return http.StatusOK, map[string]any{"region": region, "runs": out, "next": next}, nil
}

// keyed runs a write that takes an Idempotency-Key: the first request with a key is done and its
// answer kept; a retry with the same key and the same request gets that answer again, marked by
// Idempotency-Replayed; the same key with another request is refused. A request refused is not
// kept, so it may be corrected and sent again under its key.
func (s *Server) keyed(r *http.Request, p *auth.Principal, h apiFunc) (int, any, error) {
	return s.keyedUpTo(r, p, h, maxBody)
}

// keyedUpTo is keyed for a request whose body may be up to limit bytes (an uploaded file).
func (s *Server) keyedUpTo(r *http.Request, p *auth.Principal, h apiFunc, limit int64) (int, any, error) {
	key := idempotencyKey(r)
	if key == "" || utf8.RuneCountInString(key) > 100 {
		return 0, nil, errs.Field("idempotency_key", "required: an Idempotency-Key header of 1–100 characters, the same on every retry")
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	if err != nil {
		var big *http.MaxBytesError
		if errors.As(err, &big) && limit == maxUpload {
			return 0, nil, errs.Field("file", "larger than "+strconv.FormatInt(maxUpload>>20, 10)+" MiB")
		}
		if errors.As(err, &big) {
			return 0, nil, errs.E(errs.BadRequest, "the body is larger than %d bytes", limit)
		}
		return 0, nil, errs.E(errs.BadRequest, "the body could not be read")
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.New()
	sum.Write([]byte(r.Method + " " + r.URL.RequestURI() + "\n"))
	sum.Write(body)
	hash := hex.EncodeToString(sum.Sum(nil))
	prior, found, err := s.Benefit.KeyedAnswer(r.Context(), p.Username, key)
	if err != nil {
		return 0, nil, err
	}
	if found {
		if prior.Hash != hash {
			return 0, nil, errs.E(errs.Conflict, "the Idempotency-Key was used for a different request")
		}
		return prior.Status, replayed{json.RawMessage(prior.Body)}, nil
	}
	status, v, err := h(r, p)
	if err != nil {
		return 0, nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return 0, nil, err
	}
	if err := s.Benefit.SaveAnswer(r.Context(), p.Username, key, benefit.Answer{Hash: hash, Status: status, Body: b}); err != nil {
		return 0, nil, err
	}
	return status, json.RawMessage(b), nil
}
