package web

import (
	"net/http"
	"strings"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/notify"
)

// Accounts in the portal: activation with the one-time code, the administrators' approvals of
// new staff accounts, one's own API tokens, and in a demo the text messages the demo sent.

type activatePage struct {
	Username string
	Done     bool
}

func (s *Server) activateForm(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	return s.render(w, r, http.StatusOK, "activate", s.view(r, nil, "activate.title", activatePage{Username: strings.TrimSpace(r.URL.Query().Get("username"))}))
}

func (s *Server) activateSubmit(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return errs.E(errs.BadRequest, "the form could not be read")
	}
	data := activatePage{Username: strings.TrimSpace(r.PostFormValue("username"))}
	v := s.view(r, nil, "activate.title", &data)
	if r.PostFormValue("password") != r.PostFormValue("password2") {
		return s.formError(w, r, v, "activate", errs.Field("password2", "the two passwords differ"))
	}
	if err := s.Auth.Activate(r.Context(), data.Username, r.PostFormValue("code"), r.PostFormValue("password"), clientAddr(r)); err != nil {
		return s.formError(w, r, v, "activate", err)
	}
	data.Done = true
	return s.render(w, r, http.StatusOK, "activate", v)
}

type tokenCreated struct {
	Name  string
	Token string
}

func (s *Server) accountToken(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v := s.accountView(r, p)
	name := strings.TrimSpace(r.PostFormValue("name"))
	t, err := s.Auth.IssueToken(r.Context(), p, p.Actor(), p.Username, name)
	if err != nil {
		return s.formError(w, r, v, "account", err)
	}
	v.Data.(*accountPage).Token = &tokenCreated{Name: name, Token: t}
	return s.render(w, r, http.StatusCreated, "account", v)
}

// usersAction approves, resets, disables or enables an account from the users page.
func (s *Server) usersAction(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	username := r.PathValue("username")
	ctx := r.Context()
	l := pickLang(r)
	var notice string
	var err error
	switch r.PathValue("action") {
	case "approve":
		var u auth.User
		if u, err = s.Auth.ApproveAccount(ctx, p, username); err == nil {
			notice = l.T("users.approved")
			if u.State == auth.Invited {
				notice += " " + l.T("users.code_sent") + " " + notify.MaskMobile(u.Phone)
			}
		}
	case "reset":
		// A reset ends the account's password and sessions at once: asked first, once permitted.
		if err = p.Require(auth.ResetAccount); err != nil {
			break
		}
		if ok, cerr := s.confirmed(w, r, p, "confirm.user_reset.title", "confirm.user_reset.what", "confirm.user_reset.button", "/admin/users",
			[]confirmFact{{Label: l.T("users.username"), Value: username}}); !ok || cerr != nil {
			return cerr
		}
		var u auth.User
		if u, err = s.Auth.ResetAccount(ctx, p, p.Actor(), username); err == nil {
			notice = l.T("users.code_sent") + " " + notify.MaskMobile(u.Phone)
		}
	case "disable", "enable":
		if err = p.Require(auth.DisableUser); err == nil && r.PathValue("action") == "disable" {
			// Disabling locks a person out mid-work: asked first.
			if ok, cerr := s.confirmed(w, r, p, "confirm.user_disable.title", "confirm.user_disable.what", "confirm.user_disable.button", "/admin/users",
				[]confirmFact{{Label: l.T("users.username"), Value: username}}); !ok || cerr != nil {
				return cerr
			}
		}
		if err == nil {
			err = s.Auth.SetDisabled(ctx, p, username, r.PathValue("action") == "disable")
			notice = l.T("users.saved")
		}
	default:
		return errs.E(errs.NotFound, "no such action")
	}
	v, verr := s.usersView(r, p, usersPage{})
	if verr != nil {
		return verr
	}
	if err != nil {
		return s.formError(w, r, v, "users", err)
	}
	v.Notice = notice
	return s.render(w, r, http.StatusOK, "users", v)
}

type demoMessagesPage struct {
	Phone    string
	Messages []notify.Message
}

// demoMessages is the demo's phone: the text messages the demo sent (activation codes), newest
// first, for anyone trying the demo. It exists only on a demo database, whose people are not real.
func (s *Server) demoMessages(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	data := demoMessagesPage{Phone: strings.TrimSpace(r.URL.Query().Get("phone"))}
	var err error
	if data.Phone != "" {
		data.Messages, err = notify.To(r.Context(), s.DB.R(), data.Phone, 50)
	} else {
		data.Messages, err = notify.Recent(r.Context(), s.DB.R(), 50)
	}
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "demomessages", s.view(r, p, "demo.messages.title", data))
}
