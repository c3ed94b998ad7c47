package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/settle"
)

// The medical settlement API (SPEC 3.5): designated institutions, settlements with their split,
// refunds, the year's counters, the daily reconciliation and the monthly clearing.

type institutionJSON struct {
	Code         string  `json:"code"`
	Region       string  `json:"region"`
	Name         string  `json:"name"`
	Kind         string  `json:"kind"`
	Level        int     `json:"level"`
	BankAccount  string  `json:"bank_account"`
	Status       string  `json:"status"`
	RegisteredBy string  `json:"registered_by"`
	RegisteredAt apiTime `json:"registered_at"`
	ApprovedBy   string  `json:"approved_by"`
}

func toInstitutionJSON(in settle.Institution) institutionJSON {
	return institutionJSON{Code: in.Code, Region: in.Region, Name: in.Name, Kind: in.Kind, Level: in.Level, BankAccount: in.BankAccount,
		Status: in.Status, RegisteredBy: in.RegisteredBy, RegisteredAt: apiTime(in.RegisteredAt), ApprovedBy: in.ApprovedBy}
}

type newInstitutionRequest struct {
	Code        string `json:"code"`
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	Level       int    `json:"level"`
	BankAccount string `json:"bank_account"`
	Region      string `json:"region"`
}

func (s *Server) apiRegisterInstitution(r *http.Request, p *auth.Principal) (int, any, error) {
	var req newInstitutionRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	in, err := s.Settle.RegisterInstitution(r.Context(), p, settle.NewInstitution{Code: req.Code, Name: req.Name, Kind: req.Kind, Level: req.Level,
		BankAccount: req.BankAccount, Region: req.Region})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, toInstitutionJSON(in), nil
}

func (s *Server) apiApproveInstitution(r *http.Request, p *auth.Principal) (int, any, error) {
	in, err := s.Settle.ApproveInstitution(r.Context(), p, r.PathValue("code"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toInstitutionJSON(in), nil
}

func (s *Server) apiGetInstitution(r *http.Request, p *auth.Principal) (int, any, error) {
	in, err := s.Settle.Institution(r.Context(), p, r.PathValue("code"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toInstitutionJSON(in), nil
}

// listLimit reads the limit of a list: at most max, max when absent.
func listLimit(r *http.Request, max int) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return max, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, errs.Field("limit", "a whole number from 1 to "+strconv.Itoa(max))
	}
	return n, nil
}

func (s *Server) apiListInstitutions(r *http.Request, p *auth.Principal) (int, any, error) {
	limit, err := listLimit(r, 200)
	if err != nil {
		return 0, nil, err
	}
	after, err := cursorKey(r)
	if err != nil {
		return 0, nil, err
	}
	ins, err := s.Settle.Institutions(r.Context(), p, after, limit)
	if err != nil {
		return 0, nil, err
	}
	out := make([]institutionJSON, 0, len(ins))
	for _, in := range ins {
		out = append(out, toInstitutionJSON(in))
	}
	next := ""
	if len(ins) == limit {
		next = ins[len(ins)-1].Code
	}
	return http.StatusOK, map[string]any{"institutions": out, "next": next}, nil
}

func (s *Server) apiCreateInstitutionOperator(r *http.Request, p *auth.Principal) (int, any, error) {
	var req operatorRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	u, err := s.Settle.CreateOperator(r.Context(), s.Auth, p, r.PathValue("code"), req.Username, req.Name, req.Phone)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, toLoginJSON(u), nil
}

// settlementRequest is the body of POST /api/v1/settlements.
type settlementRequest struct {
	Kind       string       `json:"kind"`
	Date       string       `json:"date"`
	Identity   identityJSON `json:"identity"`
	UseAccount *bool        `json:"use_account"`
	Items      []itemJSON   `json:"items"`
}

type identityJSON struct {
	ECardQR     string         `json:"ecard_qr,omitempty"`
	MedicalCard string         `json:"medical_card,omitempty"`
	Bank        string         `json:"bank,omitempty"`
	Card        *cardProofJSON `json:"social_security_card,omitempty"`
}

type cardProofJSON struct {
	CardID        string `json:"card_id"`
	KeyVersion    int    `json:"key_version"`
	ATC           int    `json:"atc"`
	Unpredictable string `json:"unpredictable_number"`
	Cryptogram    string `json:"cryptogram"`
}

type itemJSON struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Category string `json:"category"`
	Amount   string `json:"amount"`
}

// settlementJSON is a settlement as the API answers it: every figure of the split in yuan, the
// ratio as a percentage, the person masked.
type settlementJSON struct {
	ID             string     `json:"id"`
	Institution    string     `json:"institution"`
	Kind           string     `json:"kind"`
	Date           string     `json:"date"`
	Person         personRef  `json:"person"`
	Means          string     `json:"means"`
	UseAccount     bool       `json:"use_account"`
	Items          []itemJSON `json:"items"`
	Total          string     `json:"total"`
	SelfPayC       string     `json:"self_pay_c"`
	FirstSelfPayB  string     `json:"first_self_pay_b"`
	Eligible       string     `json:"eligible"`
	Deductible     string     `json:"deductible"`
	Ratio          string     `json:"ratio"`
	Pool           string     `json:"pool"`
	Account        string     `json:"account"`
	Cash           string     `json:"cash"`
	CapLeft        string     `json:"cap_left"`
	AccountBalance string     `json:"account_balance"`
	Refunded       bool       `json:"refunded"`
	RefundedAt     *apiTime   `json:"refunded_at"`
	CreatedAt      apiTime    `json:"created_at"`
}

type personRef struct {
	Name     string `json:"name"`
	IDNumber string `json:"id_number"` // masked
}

// percent writes a rate as a plain percentage: 90, 12.5.
func percent(r money.Rate) string { return strings.TrimSuffix(r.String(), "%") }

func toSettlementJSON(st settle.Settlement) settlementJSON {
	sp := st.Split
	out := settlementJSON{ID: st.ID, Institution: st.Institution, Kind: st.Kind, Date: st.Date.Format("2006-01-02"),
		Person: personRef{Name: st.Name, IDNumber: st.IDNumber.Masked()}, Means: string(st.Means), UseAccount: st.UseAccount,
		Total: sp.Total.String(), SelfPayC: sp.SelfPayC.String(), FirstSelfPayB: sp.FirstSelfPayB.String(), Eligible: sp.Eligible.String(),
		Deductible: sp.Deductible.String(), Ratio: percent(sp.Ratio), Pool: sp.Pool.String(), Account: sp.Account.String(), Cash: sp.Cash.String(),
		CapLeft: sp.CapLeft.String(), AccountBalance: st.AccountBalance.String(), Refunded: st.Refunded(), CreatedAt: apiTime(st.CreatedAt.UTC())}
	if st.Refunded() {
		t := st.RefundedAt.UTC()
		out.RefundedAt = apiTimeOf(&t)
	}
	out.Items = make([]itemJSON, 0, len(st.Items))
	for _, it := range st.Items {
		out.Items = append(out.Items, itemJSON{Code: it.Code, Name: it.Name, Category: string(it.Category), Amount: it.Amount.String()})
	}
	return out
}

// idempotencyKey is the request's Idempotency-Key header.
func idempotencyKey(r *http.Request) string {
	return strings.TrimSpace(r.Header.Get("Idempotency-Key"))
}

func (req settlementRequest) toRequest(key string) settle.Request {
	out := settle.Request{IdemKey: key, Kind: req.Kind, Date: req.Date, UseAccount: req.UseAccount,
		Identity: settle.Identity{ECardQR: req.Identity.ECardQR, MedicalCard: req.Identity.MedicalCard, Bank: req.Identity.Bank}}
	if c := req.Identity.Card; c != nil {
		out.Identity.Card = &settle.CardProof{CardID: c.CardID, KeyVersion: c.KeyVersion, ATC: c.ATC, Unpredictable: c.Unpredictable, Cryptogram: c.Cryptogram}
	}
	for _, it := range req.Items {
		out.Items = append(out.Items, settle.ItemIn{Code: it.Code, Name: it.Name, Category: it.Category, Amount: it.Amount})
	}
	return out
}

func (s *Server) apiSettle(r *http.Request, p *auth.Principal) (int, any, error) {
	var req settlementRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	st, err := s.Settle.Settle(r.Context(), p, req.toRequest(idempotencyKey(r)))
	if err != nil {
		return 0, nil, err
	}
	if st.Replay {
		return http.StatusCreated, replayed{toSettlementJSON(st)}, nil
	}
	return http.StatusCreated, toSettlementJSON(st), nil
}

func (s *Server) apiRefund(r *http.Request, p *auth.Principal) (int, any, error) {
	st, err := s.Settle.Refund(r.Context(), p, r.PathValue("id"), idempotencyKey(r))
	if err != nil {
		return 0, nil, err
	}
	if st.Replay {
		return http.StatusOK, replayed{toSettlementJSON(st)}, nil
	}
	return http.StatusOK, toSettlementJSON(st), nil
}

func (s *Server) apiGetSettlement(r *http.Request, p *auth.Principal) (int, any, error) {
	st, err := s.Settle.Get(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toSettlementJSON(st), nil
}

func (s *Server) apiListSettlements(r *http.Request, p *auth.Principal) (int, any, error) {
	q := settle.Query{Institution: r.URL.Query().Get("institution"), After: r.URL.Query().Get("cursor")}
	f := errs.Fields{}
	var err error
	if q.Limit, err = listLimit(r, settle.MaxList); err != nil {
		return 0, nil, err
	}
	for name, dst := range map[string]*time.Time{"from": &q.From, "to": &q.To} {
		if v := r.URL.Query().Get(name); v != "" {
			if *dst, err = period.ParseDate(v); err != nil {
				f.Add(name, err.Error())
			}
		}
	}
	if id := r.URL.Query().Get("id_number"); id != "" && p.Role != auth.Resident && p.Role != auth.Institution {
		person, err := s.Registry.Person(r.Context(), p, id)
		if err != nil {
			return 0, nil, err
		}
		q.PersonID = person.ID
	}
	if err := f.Err(); err != nil {
		return 0, nil, err
	}
	sts, err := s.Settle.List(r.Context(), p, q)
	if err != nil {
		return 0, nil, err
	}
	out := make([]settlementJSON, 0, len(sts))
	for _, st := range sts {
		out = append(out, toSettlementJSON(st))
	}
	next := ""
	if len(sts) == q.Limit {
		next = sts[len(sts)-1].ID
	}
	return http.StatusOK, map[string]any{"settlements": out, "next": next}, nil
}

type medicalYearJSON struct {
	Year                     int    `json:"year"`
	OutpatientDeductible     string `json:"outpatient_deductible"`
	OutpatientDeductibleUsed string `json:"outpatient_deductible_used"`
	OutpatientDeductibleLeft string `json:"outpatient_deductible_left"`
	OutpatientPoolPaid       string `json:"outpatient_pool_paid"`
	OutpatientCapLeft        string `json:"outpatient_cap_left"`
	InpatientPoolPaid        string `json:"inpatient_pool_paid"`
	InpatientCapLeft         string `json:"inpatient_cap_left"`
}

func toMedicalYearJSON(y settle.Year) medicalYearJSON {
	return medicalYearJSON{Year: y.Year, OutpatientDeductible: y.OutpatientDeductible.String(), OutpatientDeductibleUsed: y.OutpatientDeductibleUsed.String(),
		OutpatientDeductibleLeft: y.OutpatientDeductibleLeft.String(), OutpatientPoolPaid: y.OutpatientPoolPaid.String(),
		OutpatientCapLeft: y.OutpatientCapLeft.String(), InpatientPoolPaid: y.InpatientPoolPaid.String(), InpatientCapLeft: y.InpatientCapLeft.String()}
}

// yearParam is ?year=, this Beijing year when absent.
func (s *Server) yearParam(r *http.Request) (int, error) {
	v := r.URL.Query().Get("year")
	if v == "" {
		return period.Today(s.Now()).Year(), nil
	}
	y, err := strconv.Atoi(v)
	if err != nil || y < 2000 || y > 2199 {
		return 0, errs.Field("year", "a year like 2026")
	}
	return y, nil
}

func (s *Server) apiPersonMedicalYear(r *http.Request, p *auth.Principal) (int, any, error) {
	year, err := s.yearParam(r)
	if err != nil {
		return 0, nil, err
	}
	person, err := s.Registry.Person(r.Context(), p, r.PathValue("id_number"))
	if err != nil {
		return 0, nil, err
	}
	y, err := s.Settle.YearOf(r.Context(), p, person.Region, person.ID, year)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toMedicalYearJSON(y), nil
}

func (s *Server) apiMyMedicalYear(r *http.Request, p *auth.Principal) (int, any, error) {
	year, err := s.yearParam(r)
	if err != nil {
		return 0, nil, err
	}
	me, err := s.Registry.Me(r.Context(), p)
	if err != nil {
		return 0, nil, err
	}
	y, err := s.Settle.YearOf(r.Context(), p, me.Region, me.ID, year)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toMedicalYearJSON(y), nil
}

type totalsJSON struct {
	Count   int    `json:"count"`
	Total   string `json:"total"`
	Pool    string `json:"pool"`
	Account string `json:"account"`
	Cash    string `json:"cash"`
}

func toTotalsJSON(t settle.Totals) totalsJSON {
	return totalsJSON{Count: t.Count, Total: t.Total.String(), Pool: t.Pool.String(), Account: t.Account.String(), Cash: t.Cash.String()}
}

func (s *Server) dateParam(r *http.Request) (time.Time, error) {
	v := r.URL.Query().Get("date")
	if v == "" {
		return time.Time{}, errs.Field("date", "required: the day, YYYY-MM-DD")
	}
	d, err := period.ParseDate(v)
	if err != nil {
		return time.Time{}, errs.Field("date", err.Error())
	}
	return d, nil
}

// apiReconciliation is the bureau's record of an institution's day: totals, or the detail file
// with ?format=csv.
func (s *Server) apiReconciliation(r *http.Request, p *auth.Principal) (int, any, error) {
	date, err := s.dateParam(r)
	if err != nil {
		return 0, nil, err
	}
	d, err := s.Settle.DayOf(r.Context(), p, r.PathValue("code"), date)
	if err != nil {
		return 0, nil, err
	}
	if r.URL.Query().Get("format") == "csv" {
		b, err := d.CSV()
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, &download{ContentType: "text/csv; charset=utf-8", Name: "reconciliation-" + d.Institution.Code + "-" + date.Format("20060102") + ".csv", Data: b}, nil
	}
	ids := make([]string, 0, len(d.Settlements))
	for _, st := range d.Settlements {
		if !st.Refunded() {
			ids = append(ids, st.ID)
		}
	}
	return http.StatusOK, map[string]any{"institution": d.Institution.Code, "date": date.Format("2006-01-02"), "totals": toTotalsJSON(d.Totals), "settlements": ids}, nil
}

type reconcileRequest struct {
	Count       int    `json:"count"`
	Total       string `json:"total"`
	Pool        string `json:"pool"`
	Account     string `json:"account"`
	Cash        string `json:"cash"`
	Settlements []struct {
		ID    string `json:"id"`
		Total string `json:"total"`
	} `json:"settlements"`
}

func (s *Server) apiReconcile(r *http.Request, p *auth.Principal) (int, any, error) {
	date, err := s.dateParam(r)
	if err != nil {
		return 0, nil, err
	}
	var req reconcileRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	f := errs.Fields{}
	amount := func(name, v string) money.Fen {
		a, err := money.ParseYuan(v)
		if err != nil {
			f.Add(name, "an amount in yuan like 1234.50")
		}
		return a
	}
	theirs := settle.Totals{Count: req.Count, Total: amount("total", req.Total), Pool: amount("pool", req.Pool), Account: amount("account", req.Account),
		Cash: amount("cash", req.Cash)}
	if req.Count < 0 {
		f.Add("count", "zero or more")
	}
	var lines []settle.TheirLine
	if req.Settlements != nil {
		lines = []settle.TheirLine{}
		for i, l := range req.Settlements {
			lines = append(lines, settle.TheirLine{ID: l.ID, Total: amount("settlements["+strconv.Itoa(i)+"].total", l.Total)})
		}
	}
	if err := f.Err(); err != nil {
		return 0, nil, err
	}
	rec, err := s.Settle.Reconcile(r.Context(), p, r.PathValue("code"), date, theirs, lines)
	if err != nil {
		return 0, nil, err
	}
	diffs := make([]map[string]string, 0, len(rec.Differences))
	for _, d := range rec.Differences {
		diffs = append(diffs, map[string]string{"what": d.What, "settlement": d.Settlement, "bureau": d.Bureau, "institution": d.Theirs})
	}
	return http.StatusOK, map[string]any{"agree": rec.Agree, "bureau": toTotalsJSON(rec.Bureau), "differences": diffs}, nil
}

type clearingJSON struct {
	Institution string   `json:"institution"`
	Month       string   `json:"month"`
	Count       int      `json:"count"`
	Amount      string   `json:"amount"`
	Status      string   `json:"status"`
	PreparedBy  string   `json:"prepared_by"`
	ApprovedBy  string   `json:"approved_by"`
	ApprovedAt  *apiTime `json:"approved_at"`
}

func toClearingJSON(c settle.Clearing) clearingJSON {
	out := clearingJSON{Institution: c.Institution, Month: c.Month.String(), Count: c.Count, Amount: c.Amount.String(), Status: c.Status,
		PreparedBy: c.PreparedBy, ApprovedBy: c.ApprovedBy}
	if !c.ApprovedAt.IsZero() {
		t := c.ApprovedAt.UTC()
		out.ApprovedAt = apiTimeOf(&t)
	}
	return out
}

func (s *Server) apiPrepareClearing(r *http.Request, p *auth.Principal) (int, any, error) {
	var req struct {
		Month string `json:"month"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	m, err := period.ParseMonth(req.Month)
	if err != nil {
		return 0, nil, errs.Field("month", err.Error())
	}
	c, err := s.Settle.PrepareClearing(r.Context(), p, r.PathValue("code"), m)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, toClearingJSON(c), nil
}

func (s *Server) apiApproveClearing(r *http.Request, p *auth.Principal) (int, any, error) {
	m, err := period.ParseMonth(r.PathValue("month"))
	if err != nil {
		return 0, nil, errs.E(errs.NotFound, "no such clearing")
	}
	c, err := s.Settle.ApproveClearing(r.Context(), p, r.PathValue("code"), m)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toClearingJSON(c), nil
}

func (s *Server) apiListClearings(r *http.Request, p *auth.Principal) (int, any, error) {
	limit, err := listLimit(r, 200)
	if err != nil {
		return 0, nil, err
	}
	// Newest month first, then region and institution: the cursor packs the three of the last.
	var after settle.ClearingKey
	if parts, err := unpackCursor(r, 3); err != nil {
		return 0, nil, err
	} else if parts != nil {
		m, err := period.ParseMonth(parts[0])
		if err != nil || parts[1] == "" {
			return 0, nil, badCursor()
		}
		after = settle.ClearingKey{Month: m, Region: parts[1], Institution: parts[2]}
	}
	cs, err := s.Settle.ClearingsPage(r.Context(), p, after, limit)
	if err != nil {
		return 0, nil, err
	}
	out := make([]clearingJSON, 0, len(cs))
	for _, c := range cs {
		out = append(out, toClearingJSON(c))
	}
	next := nextOf(len(cs), limit, func() string {
		k := cs[len(cs)-1].Key()
		return packCursor(k.Month.String(), k.Region, k.Institution)
	})
	return http.StatusOK, map[string]any{"clearings": out, "next": next}, nil
}
