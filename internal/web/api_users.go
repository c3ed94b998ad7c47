package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/notify"
)

// userJSON is a user as the API shows it.
type userJSON struct {
	Username    string      `json:"username"`
	DisplayName string      `json:"display_name"`
	Role        auth.Role   `json:"role"`
	Roles       []auth.Role `json:"roles"`
	Regions     []string    `json:"regions"`
	Disabled    bool        `json:"disabled"`
	TOTP        bool        `json:"totp"`
	State       auth.State  `json:"state"`
	CreatedBy   string      `json:"created_by"`
	CreatedAt   apiTime     `json:"created_at"`
}

func toUserJSON(u auth.User) userJSON {
	regions := u.Regions
	if regions == nil {
		regions = []string{}
	}
	return userJSON{Username: u.Username, DisplayName: u.DisplayName, Role: u.Role, Roles: u.Roles, Regions: regions,
		Disabled: u.Disabled, TOTP: u.TOTP, State: u.State, CreatedBy: u.CreatedBy, CreatedAt: apiTime(u.CreatedAt)}
}

// seenBy masks the ID number that is a resident's username for anyone but the user: an
// administrator or auditor listing accounts is not entitled to it (SPEC 3.7).
func (u userJSON) seenBy(p *auth.Principal) userJSON {
	if u.Username != p.Username {
		u.Username = ident.MaskIDNumbers(u.Username)
	}
	return u
}

func (s *Server) apiMe(r *http.Request, p *auth.Principal) (int, any, error) {
	return http.StatusOK, toUserJSON(p.User), nil
}

func (s *Server) apiListUsers(r *http.Request, p *auth.Principal) (int, any, error) {
	return s.usersList(r, p, s.Auth.UsersPage)
}

// usersList answers a page of accounts by username, the cursor the last one's.
func (s *Server) usersList(r *http.Request, p *auth.Principal,
	page func(ctx context.Context, by *auth.Principal, after string, limit int) ([]auth.User, error)) (int, any, error) {
	limit, err := listLimit(r, maxUsersList)
	if err != nil {
		return 0, nil, err
	}
	after, err := cursorKey(r)
	if err != nil {
		return 0, nil, err
	}
	us, err := page(r.Context(), p, after, limit)
	if err != nil {
		return 0, nil, err
	}
	out := make([]userJSON, 0, len(us))
	for _, u := range us {
		out = append(out, toUserJSON(u).seenBy(p))
	}
	return http.StatusOK, map[string]any{"users": out, "next": nextOf(len(us), limit, func() string { return us[len(us)-1].Username })}, nil
}

// maxUsersList bounds a page of accounts.
const maxUsersList = 200

func (s *Server) apiGetUser(r *http.Request, p *auth.Principal) (int, any, error) {
	u, err := s.Auth.UserFor(r.Context(), p, r.PathValue("username"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toUserJSON(u).seenBy(p), nil
}

type createUserRequest struct {
	Username    string   `json:"username"`
	DisplayName string   `json:"display_name"`
	Role        string   `json:"role"`
	Also        []string `json:"also_roles"`
	Regions     []string `json:"regions"`
	Phone       string   `json:"phone"`
	// Password is refused: the holder sets it with the code sent to Phone.
	Password string `json:"password"`
}

type createUserResponse struct {
	User userJSON `json:"user"`
	// CodeSentTo is the masked phone the one-time activation code went to; "" while the account
	// waits for a second administrator's approval.
	CodeSentTo string `json:"code_sent_to"`
}

func codeSentTo(u auth.User) string {
	if u.State != auth.Invited {
		return ""
	}
	return notify.MaskMobile(u.Phone)
}

func (s *Server) apiCreateUser(r *http.Request, p *auth.Principal) (int, any, error) {
	var req createUserRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	u, _, err := s.Auth.CreateUser(r.Context(), p, p.Actor(), auth.NewUser{
		Username: req.Username, DisplayName: req.DisplayName, Role: auth.Role(req.Role), Also: roles(req.Also), Regions: req.Regions,
		Phone: req.Phone, Password: req.Password,
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, createUserResponse{User: toUserJSON(u).seenBy(p), CodeSentTo: codeSentTo(u)}, nil
}

func (s *Server) apiPendingUsers(r *http.Request, p *auth.Principal) (int, any, error) {
	return s.usersList(r, p, s.Auth.PendingPage)
}

func (s *Server) apiApproveUser(r *http.Request, p *auth.Principal) (int, any, error) {
	u, err := s.Auth.ApproveAccount(r.Context(), p, r.PathValue("username"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, createUserResponse{User: toUserJSON(u).seenBy(p), CodeSentTo: codeSentTo(u)}, nil
}

func (s *Server) apiResetUser(r *http.Request, p *auth.Principal) (int, any, error) {
	u, err := s.Auth.ResetAccount(r.Context(), p, p.Actor(), r.PathValue("username"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, createUserResponse{User: toUserJSON(u).seenBy(p), CodeSentTo: codeSentTo(u)}, nil
}

type activateRequest struct {
	Username string `json:"username"`
	Code     string `json:"code"`
	Password string `json:"password"`
}

// apiActivate sets an invited account's first password from the one-time code on the holder's
// phone. Public: the code is the credential; attempts are limited like logins.
func (s *Server) apiActivate(w http.ResponseWriter, r *http.Request) {
	var req activateRequest
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.Auth.Activate(r.Context(), strings.TrimSpace(req.Username), req.Code, req.Password, clientAddr(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiDisableUser(r *http.Request, p *auth.Principal) (int, any, error) {
	return s.setDisabled(r, p, true)
}

func (s *Server) apiEnableUser(r *http.Request, p *auth.Principal) (int, any, error) {
	return s.setDisabled(r, p, false)
}

func (s *Server) setDisabled(r *http.Request, p *auth.Principal, disabled bool) (int, any, error) {
	if err := s.Auth.SetDisabled(r.Context(), p, r.PathValue("username"), disabled); err != nil {
		return 0, nil, err
	}
	u, err := s.Auth.UserFor(r.Context(), p, r.PathValue("username"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toUserJSON(u).seenBy(p), nil
}

type issueTokenRequest struct {
	Name string `json:"name"`
}

func (s *Server) apiIssueToken(r *http.Request, p *auth.Principal) (int, any, error) {
	var req issueTokenRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	t, err := s.Auth.IssueToken(r.Context(), p, p.Actor(), r.PathValue("username"), req.Name)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, map[string]string{"token": t}, nil
}

type passwordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

func (s *Server) apiChangePassword(r *http.Request, p *auth.Principal) (int, any, error) {
	var req passwordRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	if err := s.Auth.ChangePassword(r.Context(), p, req.CurrentPassword, req.NewPassword, ""); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (s *Server) apiBeginTOTP(r *http.Request, p *auth.Principal) (int, any, error) {
	setup, err := s.Auth.BeginTOTP(r.Context(), p)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, setup, nil
}

type totpConfirmRequest struct {
	Code string `json:"code"`
}

func (s *Server) apiConfirmTOTP(r *http.Request, p *auth.Principal) (int, any, error) {
	var req totpConfirmRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	if err := s.Auth.ConfirmTOTP(r.Context(), p, req.Code); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// auditEntryJSON is an audit entry as the API shows it.
type auditEntryJSON struct {
	Seq       int64   `json:"seq"`
	At        apiTime `json:"at"`
	Actor     string  `json:"actor"`
	Role      string  `json:"role"`
	Action    string  `json:"action"`
	Object    string  `json:"object"`
	Region    string  `json:"region"`
	RequestID string  `json:"request_id"`
	Detail    string  `json:"detail"`
	Hash      string  `json:"hash"`
}

func (s *Server) apiAuditEntries(r *http.Request, p *auth.Principal) (int, any, error) {
	q, err := auditQuery(r, p)
	if err != nil {
		return 0, nil, err
	}
	es, err := audit.List(r.Context(), s.DB.R(), q)
	if err != nil {
		return 0, nil, err
	}
	// An auditor is not entitled to whole ID numbers (SPEC 3.7): a resident's username, which is
	// their ID number, is masked wherever it stands. The entry's hash still covers what is stored,
	// so `shebao audit verify` and anyone holding the database can check it.
	m := ident.MaskIDNumbers
	out := make([]auditEntryJSON, 0, len(es))
	for _, e := range es {
		out = append(out, auditEntryJSON{Seq: e.Seq, At: apiTime(e.At), Actor: m(e.Actor), Role: e.Role, Action: e.Action,
			Object: m(e.Object), Region: e.Region, RequestID: m(e.RequestID), Detail: m(e.Detail), Hash: e.Hash})
	}
	next := nextOf(len(es), q.Limit, func() string { return strconv.FormatInt(es[len(es)-1].Seq, 10) })
	return http.StatusOK, map[string]any{"entries": out, "next": next}, nil
}

// auditQuery reads the list filters. An auditor reads the entries of the regions they audit (and
// entries that belong to no region); the region filter must be one of theirs. "user" finds a
// user's entries by their whole username — for a resident the ID number, which the entries then
// show masked: an auditor looking into a person brings the number, the log never hands it out.
func auditQuery(r *http.Request, p *auth.Principal) (audit.Query, error) {
	f := errs.Fields{}
	q := audit.Query{Regions: p.Regions, Object: r.URL.Query().Get("object"),
		User: strings.ToLower(strings.TrimSpace(r.URL.Query().Get("user")))} // usernames are lower case
	if len(q.User) > 63 {
		f.Add("user", "a username of at most 63 characters")
	}
	if reg := r.URL.Query().Get("region"); reg != "" {
		if !p.InRegion(reg) {
			f.Add("region", "not one of your regions")
		}
		q.Regions = []string{reg}
	}
	q.Limit = 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			f.Add("limit", "a whole number from 1 to 1000")
		}
		q.Limit = n
	}
	// Newest first: the cursor is the sequence number the previous page ended with.
	if v := r.URL.Query().Get("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			f.Add("cursor", "the next of the previous page")
		}
		q.Before = n
	}
	return q, f.Err()
}

// maxExpectedHeads bounds the heads one verification is asked to find.
const maxExpectedHeads = 100

func (s *Server) apiAuditVerify(r *http.Request, p *auth.Principal) (int, any, error) {
	// expect_head=SEQ:HASH (repeatable): heads recorded outside the database that the chain must
	// still hold; without one, a chain cut back with its head rewritten verifies.
	var expect []audit.Head
	given := r.URL.Query()["expect_head"]
	if len(given) > maxExpectedHeads {
		return 0, nil, errs.Field("expect_head", fmt.Sprintf("at most %d heads", maxExpectedHeads))
	}
	for _, v := range given {
		h, err := audit.ParseHead(v)
		if err != nil {
			return 0, nil, errs.Field("expect_head", "SEQ:HASH as audit verify prints it: a sequence number from 1, a colon and the 64 hex characters of the entry's hash")
		}
		expect = append(expect, h)
	}
	rep, err := audit.Verify(r.Context(), s.DB, nil, expect...)
	if pr, ok := err.(*audit.Problem); ok {
		return http.StatusOK, map[string]any{"ok": false, "bad_seq": pr.Seq, "reason": pr.Reason}, nil
	}
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"ok": true, "entries": rep.Entries, "head_seq": rep.HeadSeq, "head_hash": rep.HeadHash,
		"head": audit.Head{Seq: rep.HeadSeq, Hash: rep.HeadHash}.String(), "expected_heads": len(expect)}, nil
}

func roles(names []string) []auth.Role {
	out := make([]auth.Role, len(names))
	for i, n := range names {
		out[i] = auth.Role(n)
	}
	return out
}
