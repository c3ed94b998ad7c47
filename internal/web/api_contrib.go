package web

import (
	"net/http"
	"strconv"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/period"
)

type billJSON struct {
	ID         int64  `json:"id"`
	Month      string `json:"month"`
	Supplement int    `json:"supplement"` // 0: the month's own bill; 1, 2, …: its supplementary bills (补缴)
	Persons    int    `json:"persons"`
	Total      string `json:"total"`
	Paid       string `json:"paid"`
	Due        string `json:"due_date"`
	DaysLate   int    `json:"days_late"`
	InArrears  bool   `json:"in_arrears"`
	FeeOwed    string `json:"late_fee_owed"`
	FeePaid    string `json:"late_fee_paid"`
	Owing      string `json:"owing"`
}

// ownPayer is the payer a resident or an employer's HR means when they name none.
func ownPayer(p *auth.Principal) string {
	switch p.Role {
	case auth.Employer:
		return contrib.EmployerPayer(p.EmployerID)
	case auth.Resident:
		return contrib.PersonPayer(p.PersonID)
	}
	return ""
}

// payerParam is the payer a request names, or the caller's own when it names none.
// A payer is named by its natural key, a USCC or an ID number (contrib.PayerOf), or as bills name it.
func (s *Server) payerParam(r *http.Request, p *auth.Principal) (string, error) {
	payer := r.URL.Query().Get("payer")
	if payer == "" {
		if payer = ownPayer(p); payer == "" {
			return "", errs.Field("payer", "required: the employer's unified social credit code or the person's ID number")
		}
		return payer, nil
	}
	return s.Contrib.PayerOf(r.Context(), payer)
}

func (s *Server) apiBills(r *http.Request, p *auth.Principal) (int, any, error) {
	payer, err := s.payerParam(r, p)
	if err != nil {
		return 0, nil, err
	}
	limit, err := listLimit(r, 200)
	if err != nil {
		return 0, nil, err
	}
	// Newest month first, a month's supplementary bills before its own: the cursor packs the month
	// and supplement of the previous page's last bill.
	var after contrib.BillKey
	if parts, err := unpackCursor(r, 2); err != nil {
		return 0, nil, err
	} else if parts != nil {
		ns, err := cursorInts(parts, 2)
		if err != nil || ns[0] < 1 {
			return 0, nil, badCursor()
		}
		after = contrib.BillKey{Month: period.Month(ns[0]), Supplement: int(ns[1])}
	}
	bills, err := s.Contrib.BillsPage(r.Context(), p, payer, after, limit)
	if err != nil {
		return 0, nil, err
	}
	out := make([]billJSON, 0, len(bills))
	for _, b := range bills {
		out = append(out, billJSON{ID: b.ID, Month: b.Month.String(), Supplement: b.Supplement, Persons: b.Persons, Total: b.Total.String(), Paid: b.Paid.String(),
			Due: b.Due.Format("2006-01-02"), DaysLate: b.DaysLate, InArrears: b.InArrears, FeeOwed: b.FeeOwed.String(),
			FeePaid: b.FeePaid.String(), Owing: b.Owing().String()})
	}
	next := nextOf(len(bills), limit, func() string {
		k := bills[len(bills)-1].Key()
		return packCursor(strconv.Itoa(int(k.Month)), strconv.Itoa(k.Supplement))
	})
	return http.StatusOK, map[string]any{"payer": payer, "bills": out, "next": next}, nil
}

// apiPayments lists a payer's payments, newest first, each with the months it paid.
func (s *Server) apiPayments(r *http.Request, p *auth.Principal) (int, any, error) {
	payer, err := s.payerParam(r, p)
	if err != nil {
		return 0, nil, err
	}
	limit := 100
	if q := r.URL.Query().Get("limit"); q != "" {
		n, err := parsePositive(q)
		if err != nil || n > 1000 {
			return 0, nil, errs.Field("limit", "a whole number from 1 to 1000")
		}
		limit = n
	}
	// Newest first by the day paid, then id: the cursor packs the two of the previous page's last.
	var after contrib.PaymentKey
	if parts, err := unpackCursor(r, 2); err != nil {
		return 0, nil, err
	} else if parts != nil {
		ns, err := cursorInts(parts[1:], 1)
		day, derr := period.ParseDate(parts[0])
		if err != nil || derr != nil || ns[0] < 1 {
			return 0, nil, badCursor()
		}
		after = contrib.PaymentKey{PaidOn: day, ID: ns[0]}
	}
	ps, err := s.Contrib.PaymentsPage(r.Context(), p, payer, after, limit)
	if err != nil {
		return 0, nil, err
	}
	out := make([]map[string]any, 0, len(ps))
	for _, pay := range ps {
		allocs := make([]allocationJSON, 0, len(pay.Allocations))
		for _, a := range pay.Allocations {
			allocs = append(allocs, allocationJSON{Month: a.Month.String(), Supplement: a.Supplement, Principal: a.Principal.String(), Fee: a.Fee.String()})
		}
		out = append(out, map[string]any{"id": pay.ID, "reference": pay.Reference, "amount": pay.Amount.String(),
			"paid_on": pay.PaidOn.Format("2006-01-02"), "recorded_at": beijing(pay.RecordedAt), "allocations": allocs})
	}
	next := nextOf(len(ps), limit, func() string {
		k := ps[len(ps)-1].Key()
		return packCursor(k.PaidOn.Format("2006-01-02"), strconv.FormatInt(k.ID, 10))
	})
	return http.StatusOK, map[string]any{"payer": payer, "payments": out, "next": next}, nil
}

type paymentRequest struct {
	IdempotencyKey string `json:"idempotency_key"` // or the Idempotency-Key header
	Payer          string `json:"payer"`
	Amount         string `json:"amount"`
	PaidOn         string `json:"paid_on"`
}

type allocationJSON struct {
	Month      string `json:"month"`
	Supplement int    `json:"supplement"`
	Principal  string `json:"contributions"`
	Fee        string `json:"late_fee"`
}

func (s *Server) apiRecordPayment(r *http.Request, p *auth.Principal) (int, any, error) {
	var req paymentRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		key = req.IdempotencyKey
	}
	// The payer by its natural key; one that names no one is refused with the request's other
	// problems, by RecordPayment.
	payer := req.Payer
	if resolved, err := s.Contrib.PayerOf(r.Context(), payer); err == nil {
		payer = resolved
	}
	pay, err := s.Contrib.RecordPayment(r.Context(), p, contrib.NewPayment{IdemKey: key, Payer: payer, Amount: req.Amount, PaidOn: req.PaidOn})
	if err != nil {
		return 0, nil, err
	}
	allocs := make([]allocationJSON, 0, len(pay.Allocations))
	for _, a := range pay.Allocations {
		allocs = append(allocs, allocationJSON{Month: a.Month.String(), Supplement: a.Supplement, Principal: a.Principal.String(), Fee: a.Fee.String()})
	}
	answer := paymentAnswer{ID: pay.ID, Payer: pay.Payer, Amount: pay.Amount.String(), PaidOn: pay.PaidOn.Format("2006-01-02"), Allocations: allocs}
	// A retry gets exactly the first answer, so a client that lost the first can take the second
	// in its place.
	if pay.Replay {
		return http.StatusCreated, replayed{answer}, nil
	}
	return http.StatusCreated, answer, nil
}

// paymentAnswer is the answer to POST /api/v1/payments, the same for the first request and every
// retry.
type paymentAnswer struct {
	ID          int64            `json:"id"`
	Payer       string           `json:"payer"`
	Amount      string           `json:"amount"`
	PaidOn      string           `json:"paid_on"`
	Allocations []allocationJSON `json:"allocations"`
}

type movementJSON struct {
	EntryID int64  `json:"entry_id"`
	At      string `json:"at"`
	Cause   string `json:"cause"`
	Amount  string `json:"amount"`
}

func movementsJSON(ms []ledger.Movement) []movementJSON {
	out := make([]movementJSON, 0, len(ms))
	for _, m := range ms {
		out = append(out, movementJSON{EntryID: m.EntryID, At: beijing(m.At), Cause: m.Cause, Amount: m.Amount.String()})
	}
	return out
}

func (s *Server) apiMyContributions(r *http.Request, p *auth.Principal) (int, any, error) {
	q, err := statementPage(r)
	if err != nil {
		return 0, nil, err
	}
	st, err := s.Contrib.Statement(r.Context(), p, p.PersonID, q)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, statementJSON(st), nil
}

// apiPersonContributions is the bureau's view of one person's statement (the same as the
// resident's own), for a clerk answering a question at the window or an auditor checking an account.
func (s *Server) apiPersonContributions(r *http.Request, p *auth.Principal) (int, any, error) {
	person, err := s.Registry.Person(r.Context(), p, r.PathValue("id_number"))
	if err != nil {
		return 0, nil, err
	}
	q, err := statementPage(r)
	if err != nil {
		return 0, nil, err
	}
	st, err := s.Contrib.Statement(r.Context(), p, person.ID, q)
	if err != nil {
		return 0, nil, err
	}
	out := statementJSON(st)
	out["id_number"], out["name"] = string(person.IDNumber), person.Name
	return http.StatusOK, out, nil
}

// statementPage reads a statement's page: whole calendar years, limit of them (1 unless asked, at
// most 10) ending with year, or with the cursor a page before gave as next (the next older year
// with contributions); neither: the latest year with contributions.
func statementPage(r *http.Request) (contrib.StatementQuery, error) {
	q, f := r.URL.Query(), errs.Fields{}
	var out contrib.StatementQuery
	year, cursor := q.Get("year"), q.Get("cursor")
	if year != "" && cursor != "" {
		f.Add("cursor", "either year or cursor, not both")
	}
	for name, v := range map[string]string{"year": year, "cursor": cursor} {
		if v == "" {
			continue
		}
		y, err := strconv.Atoi(v)
		if err != nil || y < 1900 || y > 9999 {
			if name == "year" {
				f.Add(name, "a year such as 2025")
			} else {
				f.Add(name, "the next of the previous page")
			}
			continue
		}
		out.Year = y
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > contrib.MaxStatementYears {
			f.Add("limit", "years a page: a whole number from 1 to "+strconv.Itoa(contrib.MaxStatementYears))
		}
		out.Years = n
	}
	return out, f.Err()
}

// statementJSON is a statement page: its years, the lines and the accounts' movements of those
// years (every one of them), today's balances and those at the page's end, and next: the cursor of
// the next older page, "" at the oldest.
func statementJSON(st contrib.Statement) map[string]any {
	lines := make([]map[string]any, 0, len(st.Lines))
	for _, l := range st.Lines {
		lines = append(lines, map[string]any{"month": l.Month.String(), "payer": l.Payer, "employer": l.PayerName, "base": l.Base.String(),
			"by_employer": l.ByEmployer.String(), "by_person": l.ByPerson.String(), "to_pension_account": l.ToPension.String(),
			"to_medical_account": l.ToMedical.String(), "settled": l.Settled})
	}
	years := st.Years
	if years == nil {
		years = []int{}
	}
	out := map[string]any{"from": st.From.String(), "to": st.To.String(), "years": years, "lines": lines,
		"pension_account": map[string]any{"balance": st.PensionBalance.String(), "closing_balance": st.PensionClosing.String(), "movements": movementsJSON(st.PensionMovements)},
		"medical_account": map[string]any{"balance": st.MedicalBalance.String(), "closing_balance": st.MedicalClosing.String(), "movements": movementsJSON(st.MedicalMovements)}}
	out["next"] = ""
	if st.Older != 0 {
		out["next"] = strconv.Itoa(st.Older)
	}
	return out
}

func (s *Server) apiFunds(r *http.Request, p *auth.Principal) (int, any, error) {
	limit, err := listLimit(r, 120)
	if err != nil {
		return 0, nil, err
	}
	// Newest month first: the cursor is the month the previous page ended with.
	var before period.Month
	if c := r.URL.Query().Get("cursor"); c != "" {
		if before, err = period.ParseMonth(c); err != nil {
			return 0, nil, badCursor()
		}
	}
	f, err := s.Contrib.Funds(r.Context(), p, r.URL.Query().Get("region"), before, limit)
	if err != nil {
		return 0, nil, err
	}
	months := make([]map[string]any, 0, len(f.Months))
	for _, m := range f.Months {
		months = append(months, map[string]any{"month": m.Month.String(), "bills": m.Bills, "persons": m.Persons, "pension": m.Pension.String(),
			"medical": m.Medical.String(), "unemployment": m.Unemployment.String(), "work_injury": m.WorkInjury.String(),
			"billed": m.Billed.String(), "paid": m.Paid.String()})
	}
	balances := map[string]string{"late_fee": f.LateFees.String()}
	for ins, b := range f.Balances {
		balances[ins] = b.String()
	}
	next := nextOf(len(f.Months), limit, func() string { return f.Months[len(f.Months)-1].Month.String() })
	return http.StatusOK, map[string]any{"region": f.Region, "months": months, "fund_balances": balances, "next": next}, nil
}
