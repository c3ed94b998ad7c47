package web

import (
	"net/http"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/money"
)

// billsPage shows one payer's monthly bills with arrears and late fees as of today. Employers and
// residents see their own; staff look a payer up by credit code or ID number, and a clerk records
// money received at the counter.
type billsPage struct {
	Query    string
	Payer    string
	Bills    []contrib.Bill
	Owing    string
	Arrears  int
	CanPay   bool
	Today    string
	Recorded *contrib.Payment
}

func (s *Server) billsView(r *http.Request, p *auth.Principal, query string) (*View, error) {
	data := &billsPage{Query: query, CanPay: p.Can(auth.RecordPayment), Today: s.Now().Format("2006-01-02")}
	v := s.view(r, p, "bills.title", data)
	payer := ownPayer(p)
	if query != "" {
		var err error
		if payer, err = s.Contrib.PayerOf(r.Context(), query); err != nil {
			return v, err
		}
	}
	if payer == "" {
		return v, nil
	}
	bills, err := s.Contrib.Bills(r.Context(), p, payer)
	if err != nil {
		return v, err
	}
	data.Payer, data.Bills = payer, bills
	var owing int64
	for _, b := range bills {
		owing += int64(b.Owing())
		if b.InArrears {
			data.Arrears++
		}
	}
	data.Owing = money.Fen(owing).String()
	return v, nil
}

func (s *Server) billsPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v, err := s.billsView(r, p, r.URL.Query().Get("payer"))
	if err != nil {
		return s.formError(w, r, v, "bills", err)
	}
	return s.render(w, r, http.StatusOK, "bills", v)
}

// billsPay records a payment received at the counter; the form's reference (the bank's or the
// receipt's number) is the idempotency key, so pressing the button twice records it once.
func (s *Server) billsPay(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	payer := r.PostFormValue("payer")
	pay, err := s.Contrib.RecordPayment(r.Context(), p, contrib.NewPayment{IdemKey: r.PostFormValue("reference"), Payer: payer,
		Amount: r.PostFormValue("amount"), PaidOn: r.PostFormValue("paid_on")})
	v, verr := s.billsView(r, p, payer)
	if verr != nil {
		return verr
	}
	if err != nil {
		return s.formError(w, r, v, "bills", err)
	}
	v.Data.(*billsPage).Recorded = &pay
	v.Notice = v.T("bills.recorded")
	return s.render(w, r, http.StatusOK, "bills", v)
}

// myContributionsPage is the resident's own history: months and amounts, and the personal
// accounts' balances and movements as the ledger holds them.
func (s *Server) myContributionsPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	st, err := s.Contrib.Statement(r.Context(), p, p.PersonID)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "mycontrib", s.view(r, p, "mycontrib.title", &st))
}

// fundsPage is the auditor's and administrator's view of a region's contributions.
func (s *Server) fundsPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	f, err := s.Contrib.Funds(r.Context(), p, r.URL.Query().Get("region"), 36)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "funds", s.view(r, p, "funds.title", &f))
}
