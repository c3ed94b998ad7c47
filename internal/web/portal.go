package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/registry"
)

type loginPage struct {
	Username string
	Next     string
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if p != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	return s.render(w, r, http.StatusOK, "login", s.view(r, nil, "login.title", loginPage{Next: safeNext(r.URL.Query().Get("next"))}))
}

func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return errs.E(errs.BadRequest, "the form could not be read")
	}
	username := strings.TrimSpace(r.PostFormValue("username"))
	next := safeNext(r.PostFormValue("next"))
	v := s.view(r, nil, "login.title", loginPage{Username: username, Next: next})
	u, err := s.Auth.Login(r.Context(), username, r.PostFormValue("password"), strings.TrimSpace(r.PostFormValue("totp")), clientAddr(r))
	if err != nil {
		return s.formError(w, r, v, "login", err)
	}
	token, expires, err := s.Auth.StartSession(r.Context(), u, requestID(r.Context()))
	if err != nil {
		return err
	}
	s.setCookie(w, r, sessionCookie, token, expires)
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.Auth.EndSession(r.Context(), c.Value, p.Actor()); err != nil {
			return err
		}
	}
	s.setCookie(w, r, sessionCookie, "", time.Time{})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

func (s *Server) switchLang(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	l := lang(r.PathValue("lang"))
	if l != zh && l != en {
		return errs.E(errs.NotFound, "unknown language")
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: string(l), Path: "/", MaxAge: 365 * 24 * 3600,
		SameSite: http.SameSiteLaxMode, Secure: s.SecureCookies || r.TLS != nil})
	http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
	return nil
}

// homeSection is one panel of a role's home page: what that role works on, with its empty state
// until the capability behind it has data.
type homeSection struct {
	Title string
	Text  string
	Link  string
}

type homePage struct {
	Regions   string
	Sections  []homeSection
	Insurance []registry.InsuranceStatus // a resident's own status; nil for other roles
	Person    *registry.Person
}

// homeSections: per role, the panels of the home page as message keys {title, text, link}.
var homeSections = map[auth.Role][][3]string{
	auth.Resident: {{"sec.card", "sec.card.text", "/card"}, {"sec.contrib", "sec.contrib.text", "/contributions"}, {"sec.medical", "sec.medical.text", "/medical"},
		{"sec.guide", "sec.guide.text", "/guide"}, {"sec.pension", "sec.pension.text", "/pension"}, {"sec.unemployment", "sec.unemployment.text", "/unemployment"}},
	auth.Employer: {{"sec.staff", "sec.staff.text", "/staff"}, {"sec.bills", "sec.bills.text", "/bills"}},
	auth.Clerk: {{"sec.window", "sec.window.text", "/window"}, {"sec.enrolments", "sec.enrolments.text", "/enrolments"},
		{"sec.institutions", "sec.institutions.text", "/institutions"}, {"sec.clearings", "sec.clearings.text", "/clearings"},
		{"sec.benefits", "sec.benefits.text", "/unemployment"}},
	auth.Reviewer: {{"sec.review", "sec.review.text", "/enrolments?status=submitted"}, {"sec.policies", "sec.policies.text", "/policies"},
		{"sec.institutions", "sec.institutions.review", "/institutions"}, {"sec.clearings", "sec.clearings.review", "/clearings"},
		{"sec.claims", "sec.claims.text", "/claims"}},
	auth.CardOfficer: {{"sec.batches", "sec.batches.text", "/cards"}},
	auth.Bank:        {{"sec.bankcards", "sec.bankcards.text", "/bank"}},
	auth.Institution: {{"sec.counter", "sec.counter.text", "/counter"}, {"sec.settle", "sec.settle.none", "/reconciliation"}},
	auth.Custodian:   {{"sec.keys", "sec.keys.text", "/keys"}},
	auth.Auditor:     {{"sec.auditlog", "sec.auditlog.text", "/audit"}, {"sec.settlements", "sec.settlements.text", "/settlements"}},
	auth.Admin:       {{"sec.admin", "sec.admin.text", "/admin/users"}, {"sec.benefitruns", "sec.benefitruns.text", "/benefit-runs"}},
}

func (s *Server) home(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	l := pickLang(r)
	data := homePage{Regions: strings.Join(p.Regions, ", ")}
	if p.Has(auth.Resident) && p.PersonID != 0 {
		me, st, err := s.Registry.MyInsurance(r.Context(), p)
		if err != nil {
			return err
		}
		data.Person, data.Insurance = &me, st
	}
	for _, role := range auth.Roles {
		if !p.Has(role) {
			continue
		}
		for _, sec := range homeSections[role] {
			hs := homeSection{Title: l.T(sec[0]), Text: l.T(sec[1]), Link: sec[2]}
			if sec[0] == "sec.settle" {
				if err := s.settleSection(r, p, l, &hs); err != nil {
					return err
				}
			}
			data.Sections = append(data.Sections, hs)
		}
	}
	return s.render(w, r, http.StatusOK, "home", s.view(r, p, "menu.home", data))
}

// settleSection is an institution's day so far on its home page: how many settlements, what they
// came to and what the pool and the accounts owe it; "none yet" until the first.
func (s *Server) settleSection(r *http.Request, p *auth.Principal, l lang, hs *homeSection) error {
	if p.InstitutionCode == "" {
		return nil
	}
	day, err := s.Settle.DayOf(r.Context(), p, p.InstitutionCode, period.Today(s.Now()))
	if err != nil {
		return err
	}
	if n := len(day.Settlements); n > 0 {
		t := day.Totals
		hs.Text = fmt.Sprintf(l.T("sec.settle.today"), t.Count, t.Total, t.Pool+t.Account, n-t.Count)
	}
	return nil
}

type accountPage struct {
	Regions string
	TOTP    *auth.TOTPSetup // set while the user is confirming a new second factor
	Token   *tokenCreated   // an API token just issued, shown once
}

func (s *Server) accountView(r *http.Request, p *auth.Principal) *View {
	return s.view(r, p, "account.title", &accountPage{Regions: strings.Join(p.Regions, ", ")})
}

func (s *Server) accountPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return s.render(w, r, http.StatusOK, "account", s.accountView(r, p))
}

func (s *Server) accountPassword(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v := s.accountView(r, p)
	keep := ""
	if c, err := r.Cookie(sessionCookie); err == nil {
		keep = c.Value // this session stays; every other one ends
	}
	if err := s.Auth.ChangePassword(r.Context(), p, r.PostFormValue("current_password"), r.PostFormValue("new_password"), keep); err != nil {
		return s.formError(w, r, v, "account", err)
	}
	v.Notice = v.T("account.saved")
	return s.render(w, r, http.StatusOK, "account", v)
}

func (s *Server) accountTOTPBegin(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	setup, err := s.Auth.BeginTOTP(r.Context(), p)
	if err != nil {
		return err
	}
	v := s.view(r, p, "account.title", accountPage{Regions: strings.Join(p.Regions, ", "), TOTP: &setup})
	return s.render(w, r, http.StatusOK, "account", v)
}

func (s *Server) accountTOTPConfirm(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v := s.accountView(r, p)
	if err := s.Auth.ConfirmTOTP(r.Context(), p, strings.TrimSpace(r.PostFormValue("code"))); err != nil {
		return s.formError(w, r, v, "account", err)
	}
	p.TOTP = true
	v.Notice = v.T("account.totp.done")
	return s.render(w, r, http.StatusOK, "account", v)
}

type usersPage struct {
	Users      []auth.User
	Pending    []auth.User // accounts waiting for an approval this user may give
	Roles      []auth.Role
	CanCreate  bool
	CanApprove bool
	CanDisable bool
	CanReset   bool
	Created    *auth.User // the account just created
	Form       createUserRequest
}

func (s *Server) usersView(r *http.Request, p *auth.Principal, data usersPage) (*View, error) {
	us, err := s.Auth.ListUsers(r.Context(), p)
	if err != nil {
		return nil, err
	}
	data.Users, data.Roles, data.CanCreate = us, auth.Roles, p.Can(auth.CreateUser)
	data.CanApprove, data.CanDisable, data.CanReset = p.Can(auth.ApproveAccount), p.Can(auth.DisableUser), p.Has(auth.Admin)
	if data.CanApprove {
		if data.Pending, err = s.Auth.PendingAccounts(r.Context(), p); err != nil {
			return nil, err
		}
	}
	return s.view(r, p, "users.title", data), nil
}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v, err := s.usersView(r, p, usersPage{})
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "users", v)
}

func (s *Server) usersCreate(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	form := createUserRequest{
		Username: strings.TrimSpace(r.PostFormValue("username")), DisplayName: strings.TrimSpace(r.PostFormValue("display_name")),
		Role: r.PostFormValue("role"), Regions: strings.Fields(strings.ReplaceAll(r.PostFormValue("regions"), ",", " ")),
		Phone: strings.TrimSpace(r.PostFormValue("phone")),
	}
	u, _, err := s.Auth.CreateUser(r.Context(), p, p.Actor(), auth.NewUser{Username: form.Username, DisplayName: form.DisplayName,
		Role: auth.Role(form.Role), Regions: form.Regions, Phone: form.Phone})
	if err != nil {
		v, verr := s.usersView(r, p, usersPage{Form: form})
		if verr != nil {
			return verr
		}
		return s.formError(w, r, v, "users", err)
	}
	v, err := s.usersView(r, p, usersPage{Created: &u})
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusCreated, "users", v)
}

type auditPage struct {
	Entries  []audit.Entry
	Verified bool
	Report   audit.Report
	Problem  *audit.Problem
	Older    int64  // seq for the "older" link, 0 when there are none
	User     string // the user whose entries are shown, "" for everyone's
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	q, err := auditQuery(r, p)
	if err != nil {
		return err
	}
	q.Limit = 50
	es, err := audit.List(r.Context(), s.DB.R(), q)
	if err != nil {
		return err
	}
	data := auditPage{Entries: es, User: q.User}
	if len(es) == 50 && es[len(es)-1].Seq > 1 {
		data.Older = es[len(es)-1].Seq
	}
	if r.URL.Query().Get("verify") == "1" {
		data.Verified = true
		rep, err := audit.Verify(r.Context(), s.DB, nil)
		if pr, ok := err.(*audit.Problem); ok {
			data.Problem = pr
		} else if err != nil {
			return err
		}
		data.Report = rep
	}
	return s.render(w, r, http.StatusOK, "audit", s.view(r, p, "audit.title", data))
}
