package web

import (
	"net/http"
	"strconv"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/errs"
)

type cardJSON struct {
	ID            int64    `json:"id"`
	ApplicationNo string   `json:"application_no"`
	Kind          string   `json:"kind"`
	State         string   `json:"state"`
	Region        string   `json:"region"`
	IDNumber      string   `json:"id_number"`
	Name          string   `json:"name"`
	Channel       string   `json:"channel"`
	AppliedAt     apiTime  `json:"applied_at"`
	StateAt       apiTime  `json:"state_at"`
	CardNumber    string   `json:"card_number,omitempty"`
	CardID        string   `json:"card_identification_code,omitempty"`
	KeyVersion    int      `json:"key_version,omitempty"`
	BatchID       int64    `json:"batch_id,omitempty"`
	Outlet        string   `json:"outlet,omitempty"`
	ValidUntil    *apiTime `json:"valid_until,omitempty"`
	ReplacesID    int64    `json:"replaces_id,omitempty"`
	BankFunction  bool     `json:"bank_function"`
	Reason        string   `json:"reason,omitempty"`
}

func toCardJSON(c card.Card) cardJSON {
	out := cardJSON{ID: c.ID, ApplicationNo: c.ApplicationNo, Kind: string(c.Kind), State: string(c.State), Region: c.Region,
		IDNumber: string(c.IDNumber), Name: c.Name, Channel: c.Channel, AppliedAt: apiTime(c.AppliedAt), StateAt: apiTime(c.StateAt), CardNumber: c.CardNumber,
		CardID: c.CardID, KeyVersion: c.KeyVersion, BatchID: c.BatchID, Outlet: c.Outlet, ReplacesID: c.ReplacesID,
		BankFunction: c.BankAccount != "", Reason: c.Reason}
	if !c.ValidUntil.IsZero() {
		v := c.ValidUntil
		out.ValidUntil = apiTimeOf(&v)
	}
	return out
}

// cardCall runs fn with the card id of the path and answers with the card.
func cardCall(r *http.Request, fn func(id int64) (card.Card, error)) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	c, err := fn(id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toCardJSON(c), nil
}

type applyCardRequest struct {
	IDNumber string `json:"id_number"`
}

func (s *Server) apiApplyCard(r *http.Request, p *auth.Principal) (int, any, error) {
	var req applyCardRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	c, err := s.Cards.Apply(r.Context(), p, req.IDNumber)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, toCardJSON(c), nil
}

func (s *Server) apiGetCard(r *http.Request, p *auth.Principal) (int, any, error) {
	return cardCall(r, func(id int64) (card.Card, error) { return s.Cards.Get(r.Context(), p, id) })
}

type eventJSON struct {
	Action string  `json:"action"`
	From   string  `json:"from"`
	To     string  `json:"to"`
	Actor  string  `json:"actor"`
	Role   string  `json:"role"`
	Reason string  `json:"reason,omitempty"`
	At     apiTime `json:"at"`
}

func (s *Server) apiCardProgress(r *http.Request, p *auth.Principal) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	c, events, err := s.Cards.History(r.Context(), p, id)
	if err != nil {
		return 0, nil, err
	}
	out := make([]eventJSON, 0, len(events))
	for _, e := range events {
		out = append(out, eventJSON{Action: string(e.Action), From: string(e.From), To: string(e.To), Actor: e.Actor, Role: e.Role, Reason: e.Reason, At: apiTime(e.At)})
	}
	return http.StatusOK, map[string]any{"card": toCardJSON(c), "steps": out}, nil
}

func (s *Server) apiApproveCard(r *http.Request, p *auth.Principal) (int, any, error) {
	return cardCall(r, func(id int64) (card.Card, error) { return s.Cards.Approve(r.Context(), p, id) })
}

func (s *Server) apiRejectCard(r *http.Request, p *auth.Principal) (int, any, error) {
	var req reasonRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	return cardCall(r, func(id int64) (card.Card, error) { return s.Cards.Reject(r.Context(), p, id, req.Reason) })
}

type batchRequest struct {
	Region string `json:"region"`
}

func (s *Server) apiCreateBatch(r *http.Request, p *auth.Principal) (int, any, error) {
	var req batchRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	if req.Region == "" && len(p.Regions) == 1 {
		req.Region = p.Regions[0]
	}
	b, err := s.Cards.CreateBatch(r.Context(), p, req.Region)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, map[string]any{"id": b.ID, "region": b.Region, "state": b.State, "cards": b.Cards, "created_at": apiTime(b.CreatedAt)}, nil
}

func (s *Server) apiManufacturerFile(r *http.Request, p *auth.Principal) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	b, err := s.Cards.ManufacturerFile(r.Context(), p, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, &download{ContentType: "text/csv; charset=utf-8", Name: "batch-" + itoa(int(id)) + ".csv", Data: b}, nil
}

func (s *Server) apiImportResult(r *http.Request, p *auth.Principal) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	data, err := readUpload(r, 20<<20)
	if err != nil {
		return 0, nil, err
	}
	n, err := s.Cards.ImportResult(r.Context(), p, id, data)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"produced": n}, nil
}

type distributeRequest struct {
	Outlet string `json:"outlet"`
}

func (s *Server) apiDistribute(r *http.Request, p *auth.Principal) (int, any, error) {
	var req distributeRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	n, err := s.Cards.Distribute(r.Context(), p, id, req.Outlet)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"distributed": n}, nil
}

type collectRequest struct {
	IDNumber   string `json:"id_number"`
	CardNumber string `json:"card_number"`
}

func (s *Server) apiCollectCard(r *http.Request, p *auth.Principal) (int, any, error) {
	var req collectRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	return cardCall(r, func(id int64) (card.Card, error) {
		return s.Cards.Collect(r.Context(), p, id, req.IDNumber, req.CardNumber)
	})
}

type pinRequest struct {
	PIN string `json:"pin"`
}

func (s *Server) apiActivateCard(r *http.Request, p *auth.Principal) (int, any, error) {
	var req pinRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	return cardCall(r, func(id int64) (card.Card, error) { return s.Cards.Activate(r.Context(), p, id, req.PIN) })
}

func (s *Server) apiTempLoss(r *http.Request, p *auth.Principal) (int, any, error) {
	return cardCall(r, func(id int64) (card.Card, error) { return s.Cards.ReportTemporaryLoss(r.Context(), p, id) })
}

func (s *Server) apiUnlock(r *http.Request, p *auth.Principal) (int, any, error) {
	return cardCall(r, func(id int64) (card.Card, error) { return s.Cards.Unlock(r.Context(), p, id) })
}

func (s *Server) apiLoss(r *http.Request, p *auth.Principal) (int, any, error) {
	return cardCall(r, func(id int64) (card.Card, error) { return s.Cards.ReportLoss(r.Context(), p, id) })
}

func (s *Server) apiReplace(r *http.Request, p *auth.Principal) (int, any, error) {
	var req reasonRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	c, err := s.Cards.Replace(r.Context(), p, id, req.Reason)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, toCardJSON(c), nil
}

func (s *Server) apiCancelCard(r *http.Request, p *auth.Principal) (int, any, error) {
	var req reasonRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	return cardCall(r, func(id int64) (card.Card, error) { return s.Cards.Cancel(r.Context(), p, id, req.Reason) })
}

type bankRequest struct {
	BankAccount string `json:"bank_account"`
}

func (s *Server) apiCardBank(r *http.Request, p *auth.Principal) (int, any, error) {
	var req bankRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	return cardCall(r, func(id int64) (card.Card, error) { return s.Cards.ActivateBank(r.Context(), p, id, req.BankAccount) })
}

func (s *Server) apiMyCards(r *http.Request, p *auth.Principal) (int, any, error) {
	limit, before, err := idPage(r, 200)
	if err != nil {
		return 0, nil, err
	}
	cs, err := s.Cards.MinePage(r.Context(), p, before, limit)
	if err != nil {
		return 0, nil, err
	}
	out := make([]cardJSON, 0, len(cs))
	for _, c := range cs {
		out = append(out, toCardJSON(c))
	}
	next := nextOf(len(cs), limit, func() string { return strconv.FormatInt(cs[len(cs)-1].ID, 10) })
	return http.StatusOK, map[string]any{"cards": out, "next": next}, nil
}

func (s *Server) apiECardSignUp(r *http.Request, p *auth.Principal) (int, any, error) {
	c, err := s.Cards.SignUpECard(r.Context(), p)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"card": toCardJSON(c), "ecard": true}, nil
}

func (s *Server) apiECardQR(r *http.Request, p *auth.Principal) (int, any, error) {
	qr, exp, err := s.Cards.QR(r.Context(), p)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"qr": qr, "expires_at": apiTime(exp)}, nil
}

type qrRequest struct {
	QR string `json:"qr"`
}

func (s *Server) apiECardVerify(r *http.Request, p *auth.Principal) (int, any, error) {
	var req qrRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	res, err := s.Cards.VerifyQR(r.Context(), p, req.QR)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"valid": true, "application_no": res.ApplicationNo, "card_number": res.CardNumber,
		"name": res.Name, "id_number_masked": res.MaskedID, "region": res.Region}, nil
}

type medicalJSON struct {
	CardNumber string  `json:"card_number"`
	Bank       string  `json:"bank"`
	IDNumber   string  `json:"id_number"`
	State      string  `json:"state"`
	Region     string  `json:"region"`
	IssuedAt   apiTime `json:"issued_at"`
}

func toMedicalJSON(m card.MedicalCard) medicalJSON {
	return medicalJSON{CardNumber: m.CardNumber, Bank: m.Bank, IDNumber: string(m.IDNumber), State: string(m.State), Region: m.Region, IssuedAt: apiTime(m.IssuedAt)}
}

type issueMedicalRequest struct {
	IDNumber   string `json:"id_number"`
	CardNumber string `json:"card_number"`
}

func (s *Server) apiIssueMedical(r *http.Request, p *auth.Principal) (int, any, error) {
	var req issueMedicalRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	m, err := s.Cards.IssueMedical(r.Context(), p, req.IDNumber, req.CardNumber)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, toMedicalJSON(m), nil
}

func (s *Server) apiChangeMedical(r *http.Request, p *auth.Principal) (int, any, error) {
	m, err := s.Cards.ChangeMedical(r.Context(), p, r.PathValue("number"), r.PathValue("action"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toMedicalJSON(m), nil
}

type medicalUseRequest struct {
	Bank       string `json:"bank"`
	CardNumber string `json:"card_number"`
	Purpose    string `json:"purpose"`
}

func (s *Server) apiCheckMedical(r *http.Request, p *auth.Principal) (int, any, error) {
	var req medicalUseRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	m, err := s.Cards.CheckMedicalUse(r.Context(), p, req.Bank, req.CardNumber, card.Purpose(req.Purpose))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"allowed": true, "card": medicalCheckJSON{CardNumber: m.CardNumber, Bank: m.Bank,
		Name: m.Name, IDNumberMasked: m.MaskedID, State: string(m.State), Region: m.Region}}, nil
}

// medicalCheckJSON is a medical card as an institution sees it: the holder's ID number masked, as
// in the electronic card's scan.
type medicalCheckJSON struct {
	CardNumber     string `json:"card_number"`
	Bank           string `json:"bank"`
	Name           string `json:"name"`
	IDNumberMasked string `json:"id_number_masked"`
	State          string `json:"state"`
	Region         string `json:"region"`
}

type outletJSON struct {
	Code    string `json:"code"`
	Region  string `json:"region"`
	Name    string `json:"name"`
	Address string `json:"address"`
}

func (s *Server) apiAddOutlet(r *http.Request, p *auth.Principal) (int, any, error) {
	var req outletJSON
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	o, err := s.Cards.AddOutlet(r.Context(), p, card.Outlet{Code: req.Code, Region: req.Region, Name: req.Name, Address: req.Address})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, outletJSON(o), nil
}

func (s *Server) apiListOutlets(r *http.Request, p *auth.Principal) (int, any, error) {
	limit, err := listLimit(r, 200)
	if err != nil {
		return 0, nil, err
	}
	after, err := cursorKey(r)
	if err != nil {
		return 0, nil, err
	}
	os, err := s.Cards.OutletsPage(r.Context(), p, after, limit)
	if err != nil {
		return 0, nil, err
	}
	out := make([]outletJSON, 0, len(os))
	for _, o := range os {
		out = append(out, outletJSON(o))
	}
	return http.StatusOK, map[string]any{"outlets": out, "next": nextOf(len(os), limit, func() string { return os[len(os)-1].Code })}, nil
}

func (s *Server) apiStaffCardApplications(r *http.Request, p *auth.Principal) (int, any, error) {
	if _, err := s.Registry.Employer(r.Context(), p, r.PathValue("uscc")); err != nil {
		return 0, nil, err
	}
	if p.Role != auth.Employer {
		return 0, nil, errs.E(errs.Forbidden, "only the employer's HR applies for its staff in bulk")
	}
	data, err := readUpload(r, 20<<20)
	if err != nil {
		return 0, nil, err
	}
	n, err := s.Cards.ApplyForStaff(r.Context(), p, data)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, map[string]any{"applied": n}, nil
}

// publicProgress is the public card progress inquiry: open to anyone holding both the ID number and
// the application number, limited per address, answered masked.
func (s *Server) publicProgress(w http.ResponseWriter, r *http.Request) {
	if err := s.allowProgressInquiry(r); err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	f := errs.Fields{}
	for _, name := range []string{"id_number", "application_no"} {
		if q.Get(name) == "" {
			f.Add(name, "required")
		}
	}
	if err := f.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	c, events, err := s.Cards.PublicProgress(r.Context(), q.Get("id_number"), q.Get("application_no"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	steps := make([]map[string]any, 0, len(events))
	for _, e := range events {
		steps = append(steps, map[string]any{"action": e.Action, "to": e.To, "at": apiTime(e.At)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"application_no": c.ApplicationNo, "state": c.State, "name": c.Name,
		"id_number_masked": string(c.IDNumber), "outlet": c.Outlet, "steps": steps})
}

type pinResetRequest struct {
	IDNumber string `json:"id_number"`
	PIN      string `json:"pin"`
}

func (s *Server) apiPINReset(r *http.Request, p *auth.Principal) (int, any, error) {
	var req pinResetRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	return cardCall(r, func(id int64) (card.Card, error) { return s.Cards.ResetPIN(r.Context(), p, id, req.IDNumber, req.PIN) })
}

func (s *Server) apiTemporaryCard(r *http.Request, p *auth.Principal) (int, any, error) {
	var req applyCardRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	c, err := s.Cards.IssueTemporary(r.Context(), p, req.IDNumber)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, toCardJSON(c), nil
}

func (s *Server) apiSetPhoto(r *http.Request, p *auth.Principal) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	data, err := readUpload(r, 20<<20)
	if err != nil {
		return 0, nil, err
	}
	c, err := s.Cards.SetPhoto(r.Context(), p, id, data)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toCardJSON(c), nil
}

func (s *Server) apiGetPhoto(r *http.Request, p *auth.Principal) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	kind, data, err := s.Cards.Photo(r.Context(), p, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, &download{ContentType: kind, Name: "photo", Data: data}, nil
}

// allowProgressInquiry counts one card-progress inquiry of the client's address, found or not, for
// the API and the page together, so that neither is a way round the other's limit.
func (s *Server) allowProgressInquiry(r *http.Request) error {
	key := "progress:" + clientAddr(r)
	if !s.publicLimit.Allow(key) {
		return errs.E(errs.TooMany, "too many inquiries; try again later")
	}
	s.publicLimit.Fail(key)
	return nil
}
