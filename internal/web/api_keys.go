package web

import (
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"

	"github.com/shebao/shebao/internal/apdu"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/keys"
)

type keyStatusJSON struct {
	Initialised bool     `json:"initialised"`
	Mode        string   `json:"mode,omitempty"`
	Sealed      bool     `json:"sealed"`
	Required    int      `json:"components_required"`
	Entered     int      `json:"components_entered"`
	Custodians  []string `json:"custodians"`
	MasterKCV   string   `json:"master_kcv,omitempty"`
}

func toKeyStatusJSON(st keys.Status) keyStatusJSON {
	c := st.Custodians
	if c == nil {
		c = []string{}
	}
	return keyStatusJSON{Initialised: st.Initialised, Mode: string(st.Mode), Sealed: st.Sealed, Required: st.Required,
		Entered: st.Entered, Custodians: c, MasterKCV: st.MasterKCV}
}

func (s *Server) apiKeyStatus(r *http.Request, p *auth.Principal) (int, any, error) {
	st, err := s.Keys.Status(r.Context())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toKeyStatusJSON(st), nil
}

type componentRequest struct {
	Component string `json:"component"`
}

func (s *Server) apiUnseal(r *http.Request, p *auth.Principal) (int, any, error) {
	var req componentRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	c, err := keys.ParseComponent(req.Component)
	if err != nil {
		return 0, nil, errs.Field("component", err.Error())
	}
	st, err := s.Keys.EnterComponent(r.Context(), p, c)
	clear(c)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toKeyStatusJSON(st), nil
}

func (s *Server) apiSeal(r *http.Request, p *auth.Principal) (int, any, error) {
	if err := s.Keys.SealBy(r.Context(), p); err != nil {
		return 0, nil, err
	}
	st, err := s.Keys.Status(r.Context())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toKeyStatusJSON(st), nil
}

type keyJSON struct {
	ID        int64    `json:"id"`
	Region    string   `json:"region"`
	Purpose   string   `json:"purpose"`
	Version   int      `json:"version"`
	Algorithm string   `json:"algorithm"`
	KCV       string   `json:"kcv,omitempty"`
	Status    string   `json:"status"`
	Ops       []string `json:"allowed_operations"`
	PublicKey string   `json:"public_key,omitempty"`
	CreatedAt apiTime  `json:"created_at"`
}

func (s *Server) apiListKeys(r *http.Request, p *auth.Principal) (int, any, error) {
	limit, err := listLimit(r, 200)
	if err != nil {
		return 0, nil, err
	}
	// By region, purpose and version newest first: the cursor packs the three of the last key.
	var after keys.KeyPos
	if parts, err := unpackCursor(r, 3); err != nil {
		return 0, nil, err
	} else if parts != nil {
		v, err := strconv.Atoi(parts[2])
		if err != nil || parts[0] == "" || v < 0 {
			return 0, nil, badCursor()
		}
		after = keys.KeyPos{Region: parts[0], Purpose: keys.Purpose(parts[1]), Version: v}
	}
	ks, err := s.Keys.ListPage(r.Context(), p.Regions, after, limit)
	if err != nil {
		return 0, nil, err
	}
	out := make([]keyJSON, 0, len(ks))
	for _, k := range ks {
		ops := []string{}
		for _, o := range k.Ops() {
			ops = append(ops, string(o))
		}
		out = append(out, keyJSON{ID: k.ID, Region: k.Region, Purpose: string(k.Purpose), Version: k.Version, Algorithm: k.Algorithm,
			KCV: k.KCV, Status: k.Status, Ops: ops, PublicKey: k.PublicKey, CreatedAt: apiTime(k.CreatedAt)})
	}
	next := nextOf(len(ks), limit, func() string {
		k := ks[len(ks)-1].Pos()
		return packCursor(k.Region, string(k.Purpose), strconv.Itoa(k.Version))
	})
	return http.StatusOK, map[string]any{"keys": out, "next": next}, nil
}

type keyRequestJSON struct {
	ID                int64    `json:"id"`
	Region            string   `json:"region"`
	Kind              string   `json:"kind"`
	Purpose           string   `json:"purpose,omitempty"`
	Version           int      `json:"version,omitempty"`
	ApprovalsRequired int      `json:"approvals_required"`
	Approvals         []string `json:"approvals"`
	RequestedBy       string   `json:"requested_by"`
	RequestedAt       apiTime  `json:"requested_at"`
	Status            string   `json:"status"`
	Result            string   `json:"result,omitempty"`
}

// toKeyRequestJSON shows an export's result (the key encrypted to the manufacturer) only to the
// requester: it is safe to show, but it is theirs to hand over.
func toKeyRequestJSON(q keys.Request, p *auth.Principal) keyRequestJSON {
	out := keyRequestJSON{ID: q.ID, Region: q.Region, Kind: string(q.Kind), Purpose: string(q.Purpose), Version: q.Version,
		ApprovalsRequired: q.ApprovalsRequired, Approvals: q.Approvals, RequestedBy: q.RequestedBy, RequestedAt: apiTime(q.RequestedAt), Status: q.Status}
	if out.Approvals == nil {
		out.Approvals = []string{}
	}
	if q.Kind != keys.Export || q.RequestedBy == p.Username {
		out.Result = q.Result
	}
	return out
}

func (s *Server) apiListKeyRequests(r *http.Request, p *auth.Principal) (int, any, error) {
	limit, before, err := idPage(r, 200)
	if err != nil {
		return 0, nil, err
	}
	qs, err := s.Keys.RequestsPage(r.Context(), p, before, limit)
	if err != nil {
		return 0, nil, err
	}
	out := make([]keyRequestJSON, 0, len(qs))
	for _, q := range qs {
		out = append(out, toKeyRequestJSON(q, p))
	}
	next := nextOf(len(qs), limit, func() string { return strconv.FormatInt(qs[len(qs)-1].ID, 10) })
	return http.StatusOK, map[string]any{"requests": out, "next": next}, nil
}

type newKeyRequest struct {
	Kind      string `json:"kind"`
	Region    string `json:"region"`
	Purpose   string `json:"purpose"`
	Version   int    `json:"version"`
	Recipient string `json:"recipient_public_key"`
}

func (s *Server) apiCreateKeyRequest(r *http.Request, p *auth.Principal) (int, any, error) {
	var req newKeyRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	if req.Region == "" && len(p.Regions) == 1 {
		req.Region = p.Regions[0]
	}
	q, err := s.Keys.Request(r.Context(), p, keys.NewRequest{Kind: keys.RequestKind(req.Kind), Region: req.Region,
		Purpose: keys.Purpose(req.Purpose), Version: req.Version, Recipient: req.Recipient})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, toKeyRequestJSON(q, p), nil
}

func (s *Server) apiGetKeyRequest(r *http.Request, p *auth.Principal) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	q, err := s.Keys.GetRequest(r.Context(), id)
	if err != nil || !p.InRegion(q.Region) {
		return 0, nil, errs.E(errs.NotFound, "no such key request")
	}
	return http.StatusOK, toKeyRequestJSON(q, p), nil
}

func (s *Server) apiApproveKeyRequest(r *http.Request, p *auth.Principal) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	q, err := s.Keys.Approve(r.Context(), p, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toKeyRequestJSON(q, p), nil
}

func (s *Server) apiCardChallenge(r *http.Request, p *auth.Principal) (int, any, error) {
	ch, err := s.Keys.Challenge(r.Context())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"challenge": strings.ToUpper(hex.EncodeToString(ch[:])), "valid_seconds": 60}, nil
}

type cardVerifyRequest struct {
	CardID     string `json:"card_id"`
	KeyVersion int    `json:"key_version"`
	Challenge  string `json:"challenge"`
	Answer     string `json:"answer"`
}

func hex16(f errs.Fields, field, s string) [16]byte {
	var out [16]byte
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != 16 {
		f.Add(field, "32 hexadecimal digits")
		return out
	}
	copy(out[:], b)
	return out
}

// apiCardVerify answers whether a card is genuine. A card that is not is an answer, not an error:
// {"genuine": false}.
func (s *Server) apiCardVerify(r *http.Request, p *auth.Principal) (int, any, error) {
	var req cardVerifyRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	f := errs.Fields{}
	cardID, err := apdu.ParseCardID(req.CardID)
	if err != nil {
		f.Add("card_id", "32 hexadecimal digits")
	}
	ch, ans := hex16(f, "challenge", req.Challenge), hex16(f, "answer", req.Answer)
	if req.KeyVersion < 1 || req.KeyVersion > 255 {
		f.Add("key_version", "from 1 to 255, as read from the card (EF05 tag 20)")
	}
	if err := f.Err(); err != nil {
		return 0, nil, err
	}
	err = s.Keys.Verify(r.Context(), cardID, byte(req.KeyVersion), ch, ans)
	if err == keys.ErrNotGenuine {
		return http.StatusOK, map[string]any{"genuine": false}, nil
	}
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"genuine": true}, nil
}

// signingKey publishes a region's SM2 signing public key: anyone verifying an e-card QR code or a
// certificate needs it, and nothing else.
func (s *Server) signingKey(w http.ResponseWriter, r *http.Request) {
	version := 0
	if v := r.URL.Query().Get("version"); v != "" {
		n, err := parsePositive(v)
		if err != nil {
			s.fail(w, r, errs.Field("version", "a key version"))
			return
		}
		version = n
	}
	pem, v, err := s.Keys.PublicKeyPEM(r.Context(), r.PathValue("region"), version)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Header().Set("X-Key-Version", itoa(v))
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write([]byte(pem))
}
