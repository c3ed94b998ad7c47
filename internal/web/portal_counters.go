package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/settle"
)

// bankPage is a co-operating bank's counter: the social security card's bank function, and the
// bank's own medical insurance cards.
type bankPage struct {
	Medical   []card.MedicalCard
	Activated *card.Card
}

func (s *Server) bankView(r *http.Request, p *auth.Principal, activated *card.Card) (*View, error) {
	ms, err := s.Cards.MedicalCards(r.Context(), p)
	if err != nil {
		return nil, err
	}
	return s.view(r, p, "bank.title", &bankPage{Medical: ms, Activated: activated}), nil
}

func (s *Server) bankPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v, err := s.bankView(r, p, nil)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "bank", v)
}

func (s *Server) bankAction(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ctx := r.Context()
	var err error
	var activated *card.Card
	switch a := r.PathValue("action"); a {
	case "card":
		c, ferr := s.Cards.ByNumber(ctx, p, r.PostFormValue("card_number"))
		if ferr != nil {
			err = ferr
			break
		}
		if strings.ToUpper(strings.TrimSpace(r.PostFormValue("id_number"))) != string(c.IDNumber) {
			err = errs.Field("id_number", "not the card holder's ID number")
			break
		}
		c, err = s.Cards.ActivateBank(ctx, p, c.ID, r.PostFormValue("bank_account"))
		activated = &c
	case "issue":
		_, err = s.Cards.IssueMedical(ctx, p, r.PostFormValue("id_number"), r.PostFormValue("card_number"))
	case "activate", "lose", "cancel":
		_, err = s.Cards.ChangeMedical(ctx, p, r.PostFormValue("card_number"), a)
	default:
		return errs.E(errs.NotFound, "no such action")
	}
	v, verr := s.bankView(r, p, activated)
	if verr != nil {
		return verr
	}
	if err != nil {
		return s.formError(w, r, v, "bank", err)
	}
	if activated == nil {
		http.Redirect(w, r, "/bank", http.StatusSeeOther)
		return nil
	}
	v.Notice = v.T("bank.activated")
	return s.render(w, r, http.StatusOK, "bank", v)
}

// counterPage is a hospital or pharmacy counter: settle a bill, scan an electronic card, check a
// medical card. The bank's and the bureau's staff, who may scan too, see the scan only.
type counterPage struct {
	Scan        *card.ScanResult
	Medical     *card.MedicalCheck
	Settle      *settleForm         // nil when the login may not settle
	Institution *settle.Institution // the institution the operator acts for
	Sent        string              // the form that was sent: "settle", "scan" or "medical", for its problems
	Banks       []bankChoice        // the medical card check's bank list
	Bank        string              // the bank chosen, kept after a problem
	CardNumber  string              // the medical card number typed, kept after a problem
}

// bankChoice is one bank of the counter's list: its login (what the card records) and its name.
type bankChoice struct{ Code, Name string }

// counterView is the counter with an empty settlement form, for a login that may settle.
func (s *Server) counterView(r *http.Request, p *auth.Principal, data *counterPage) (*View, error) {
	if p.Can(auth.Settle) {
		inst, err := s.operatedInstitution(r.Context(), p)
		if err != nil {
			return nil, err
		}
		rows, _ := strconv.Atoi(r.URL.Query().Get("rows"))
		data.Institution, data.Settle = &inst, s.newSettleForm(inst, rows)
	}
	if p.Can(auth.UseMedicalCard) {
		banks, err := s.Cards.MedicalBanks(r.Context(), p)
		if err != nil {
			return nil, err
		}
		for _, b := range banks {
			name := b
			if u, err := s.Auth.UserByName(r.Context(), b); err == nil && u.DisplayName != "" {
				name = u.DisplayName
			}
			data.Banks = append(data.Banks, bankChoice{Code: b, Name: name})
		}
	}
	return s.view(r, p, "counter.title", data), nil
}

func (s *Server) counterPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v, err := s.counterView(r, p, &counterPage{})
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "counter", v)
}

func (s *Server) counterAction(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	data := &counterPage{Sent: r.PathValue("action")}
	v, err := s.counterView(r, p, data)
	if err != nil {
		return err
	}
	switch r.PathValue("action") {
	case "scan":
		var res card.ScanResult
		res, err = s.Cards.VerifyQR(r.Context(), p, r.PostFormValue("qr"))
		if err == nil {
			data.Scan = &res
		}
	case "medical":
		data.Bank, data.CardNumber = r.PostFormValue("bank"), strings.TrimSpace(r.PostFormValue("card_number"))
		if err = p.Require(auth.UseMedicalCard); err == nil {
			var m card.MedicalCheck
			m, err = s.Cards.CheckMedicalUse(r.Context(), p, data.Bank, data.CardNumber, card.PurposeMedical)
			if err == nil {
				data.Medical = &m
			}
			// No such card is the check's answer, not a missing page: the form stays, with it.
			if e := s.publicError(r, err); err != nil && e.Code == errs.NotFound {
				v.Problem = e
				return s.render(w, r, http.StatusNotFound, "counter", v)
			}
		}
	default:
		return errs.E(errs.NotFound, "no such action")
	}
	if err != nil {
		return s.formError(w, r, v, "counter", err)
	}
	return s.render(w, r, http.StatusOK, "counter", v)
}
