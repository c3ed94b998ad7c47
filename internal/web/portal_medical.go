package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/settle"
)

// myMedicalPage is the resident's "My medical": what their settlements were, with receipts; the
// medical personal account's balance and movements, as the ledger holds them (the same statement
// as the contributions page); and this year's deductible counted and what the pool may still pay.
type myMedicalPage struct {
	Year        settle.Year
	Balance     money.Fen
	Movements   []medicalMove
	Settlements []settlementRow
	Next        string // the next page's cursor, "" on the last
	First       bool   // this is the newest page
}

// medicalMove is one movement of the medical account, with its cause as a message key and, for a
// settlement, its receipt.
type medicalMove struct {
	ledger.Movement
	CauseKey string
	Receipt  string
}

// settlementRow is a settlement in a list, with its institution's name.
type settlementRow struct {
	settle.Settlement
	InstitutionName string
}

// causeKey is the message key naming a ledger cause; a cause the portal has no name for is
// "other", never its code.
func causeKey(cause string) string {
	if _, ok := messages["cause."+cause]; ok {
		return "cause." + cause
	}
	return "cause.other"
}

// pageSize is how many settlements a list page shows.
const pageSize = 50

func (s *Server) myMedicalPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ctx := r.Context()
	me, err := s.Registry.Me(ctx, p)
	if err != nil {
		return err
	}
	data := &myMedicalPage{First: r.URL.Query().Get("cursor") == ""}
	v := s.view(r, p, "mymedical.title", data)
	if data.Year, err = s.Settle.YearOf(ctx, p, me.Region, me.ID, period.Today(s.Now()).Year()); err != nil {
		return err
	}
	// The medical account's movements of this year: the year its caps and deductible count in.
	st, err := s.Contrib.Statement(ctx, p, me.ID, contrib.StatementQuery{Year: period.Today(s.Now()).Year()})
	if err != nil {
		return err
	}
	data.Balance = st.MedicalBalance
	for _, m := range st.MedicalMovements {
		mv := medicalMove{Movement: m, CauseKey: causeKey(m.Cause)}
		if id, ok := strings.CutPrefix(m.CauseRef, "settlement:"); ok {
			mv.Receipt = "/settlements/" + id
		}
		data.Movements = append(data.Movements, mv)
	}
	sts, err := s.Settle.List(ctx, p, settle.Query{After: r.URL.Query().Get("cursor"), Limit: pageSize})
	if err != nil {
		return s.formError(w, r, v, "mymedical", err)
	}
	if data.Settlements, err = s.withNames(ctx, sts); err != nil {
		return err
	}
	if len(sts) == pageSize {
		data.Next = sts[len(sts)-1].ID
	}
	return s.render(w, r, http.StatusOK, "mymedical", v)
}

// withNames names each settlement's institution.
func (s *Server) withNames(ctx context.Context, sts []settle.Settlement) ([]settlementRow, error) {
	names := map[string]string{}
	out := make([]settlementRow, 0, len(sts))
	for _, st := range sts {
		name, ok := names[st.Institution]
		if !ok {
			var err error
			if name, err = s.Settle.InstitutionName(ctx, st.Institution); err != nil {
				return nil, err
			}
			names[st.Institution] = name
		}
		out = append(out, settlementRow{Settlement: st, InstitutionName: name})
	}
	return out, nil
}
