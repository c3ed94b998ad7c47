package web

import (
	"context"
	"net/http"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/transfer"
)

// transferJSON is a transfer as the API answers it: both sides' status, what moves (yuan), the
// months by insurance, and the dated steps.
type transferJSON struct {
	No                 string              `json:"no"`
	Status             string              `json:"status"`
	FromRegion         string              `json:"from_region"`
	ToRegion           string              `json:"to_region"`
	IDNumber           string              `json:"id_number"`
	Name               string              `json:"name"`
	ReceivingStatus    string              `json:"receiving_status"`
	SendingStatus      string              `json:"sending_status"`
	Refusal            string              `json:"refusal"`
	TemporaryAccount   bool                `json:"temporary_account"`
	PensionAccount     string              `json:"pension_account"`
	PensionPooled      string              `json:"pension_pooled"`
	PooledBases        string              `json:"pooled_bases"`
	MedicalAccount     string              `json:"medical_account"`
	Total              string              `json:"total"`
	PensionMonths      int                 `json:"pension_months"`
	MedicalMonths      int                 `json:"medical_months"`
	UnemploymentMonths int                 `json:"unemployment_months"`
	Months             map[string][]string `json:"months,omitempty"`
	Steps              []transferStepJSON  `json:"steps"`
}

type transferStepJSON struct {
	Step string `json:"step"`
	At   string `json:"at"`
}

func toTransferJSON(t transfer.Transfer) transferJSON {
	j := transferJSON{No: t.No, Status: string(t.Status()), FromRegion: t.FromRegion, ToRegion: t.ToRegion, IDNumber: string(t.IDNumber),
		Name: t.Name, ReceivingStatus: string(t.InStatus), SendingStatus: string(t.OutStatus), Refusal: t.Refusal,
		TemporaryAccount: t.Amounts.Temporary, PensionAccount: t.Amounts.PensionAccount.String(), PensionPooled: t.Amounts.PensionPooled.String(),
		PooledBases: t.Amounts.PooledBases.String(), MedicalAccount: t.Amounts.MedicalAccount.String(), Total: t.Amounts.Total().String(),
		PensionMonths: t.Months.Pension, MedicalMonths: t.Months.Medical, UnemploymentMonths: t.Months.Unemployment, Steps: []transferStepJSON{}}
	for _, st := range t.Steps {
		j.Steps = append(j.Steps, transferStepJSON{Step: st.Key, At: beijing(st.At)})
	}
	return j
}

// deliverTransfers hands the messages a step wrote to the other region at once, so that the next
// step is ready when the answer arrives. The step is committed already: if delivering fails here,
// the server's deliverer retries (docs/decisions.md, "Transfers between regions").
func (s *Server) deliverTransfers(ctx context.Context) {
	if _, err := s.Transfers.Deliver(context.WithoutCancel(ctx)); err != nil && s.Log != nil {
		s.Log.Error("transfer delivery", "err", err)
	}
}

// transferAnswer answers a step with the transfer as it stands after its messages were delivered.
func (s *Server) transferAnswer(r *http.Request, p *auth.Principal, status int, t transfer.Transfer, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	s.deliverTransfers(r.Context())
	if t, err = s.Transfers.Get(r.Context(), p, t.No); err != nil {
		return 0, nil, err
	}
	return status, toTransferJSON(t), nil
}

func (s *Server) apiApplyTransfer(r *http.Request, p *auth.Principal) (int, any, error) {
	var req struct {
		IDNumber string `json:"id_number"`
		ToRegion string `json:"to_region"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	if p.Role == auth.Resident && req.IDNumber == "" {
		if me, err := s.Registry.Me(r.Context(), p); err == nil {
			req.IDNumber = string(me.IDNumber)
		}
	}
	t, err := s.Transfers.Apply(r.Context(), p, transfer.NewTransfer{IDNumber: req.IDNumber, ToRegion: req.ToRegion})
	return s.transferAnswer(r, p, http.StatusCreated, t, err)
}

func (s *Server) apiAcceptTransfer(r *http.Request, p *auth.Principal) (int, any, error) {
	t, err := s.Transfers.Accept(r.Context(), p, r.PathValue("no"))
	return s.transferAnswer(r, p, http.StatusOK, t, err)
}

func (s *Server) apiApproveTransfer(r *http.Request, p *auth.Principal) (int, any, error) {
	t, err := s.Transfers.Approve(r.Context(), p, r.PathValue("no"))
	return s.transferAnswer(r, p, http.StatusOK, t, err)
}

func (s *Server) apiRefuseTransfer(r *http.Request, p *auth.Principal) (int, any, error) {
	var req struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	t, err := s.Transfers.Refuse(r.Context(), p, r.PathValue("no"), req.Reason)
	return s.transferAnswer(r, p, http.StatusOK, t, err)
}

func (s *Server) apiGetTransfer(r *http.Request, p *auth.Principal) (int, any, error) {
	t, err := s.Transfers.Get(r.Context(), p, r.PathValue("no"))
	if err != nil {
		return 0, nil, err
	}
	j := toTransferJSON(t)
	if t.InStatus == transfer.Credited || t.InStatus == transfer.Done {
		months, err := s.Transfers.MonthsOf(r.Context(), p, t.No)
		if err != nil {
			return 0, nil, err
		}
		j.Months = map[string][]string{}
		for ins, ms := range months {
			for _, m := range ms {
				j.Months[ins] = append(j.Months[ins], m.String())
			}
		}
	}
	return http.StatusOK, j, nil
}

func (s *Server) apiListTransfers(r *http.Request, p *auth.Principal) (int, any, error) {
	limit, err := listLimit(r, transfer.MaxList)
	if err != nil {
		return 0, nil, err
	}
	after, err := cursorKey(r)
	if err != nil {
		return 0, nil, err
	}
	q := r.URL.Query()
	ts, err := s.Transfers.List(r.Context(), p, transfer.Query{Direction: q.Get("direction"), Status: transfer.Status(q.Get("status")),
		Limit: limit, After: after})
	if err != nil {
		return 0, nil, err
	}
	out := make([]transferJSON, 0, len(ts))
	for _, t := range ts {
		out = append(out, toTransferJSON(t))
	}
	next := ""
	if len(ts) == limit {
		next = ts[len(ts)-1].No
	}
	return http.StatusOK, map[string]any{"transfers": out, "next": next}, nil
}
