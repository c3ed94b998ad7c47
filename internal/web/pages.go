package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
)

// pages holds one parsed template set per page: the shared layout plus the page's own file.
type pages struct {
	byName map[string]*template.Template
}

var templateFuncs = template.FuncMap{
	"asset": assetURL,
	// Every time and date a person reads is Beijing's (SPEC 2): "date" an instant to the minute,
	// "day" its business date. A calendar date held as midnight UTC (period.Today) keeps its day.
	"date": func(t time.Time) string { return t.In(period.Shanghai).Format("2006-01-02 15:04") },
	"day":  func(t time.Time) string { return t.In(period.Shanghai).Format("2006-01-02") },
	"yuan": func(f money.Fen) string { return f.String() },
	// "money" is an amount as a person reads it, with thousands separators: 12,345.67.
	"money": func(f money.Fen) string { return f.Grouped() },
	// "masked" hides every ID number in a text, for pages whose reader is not entitled to them
	// whole: the audit log's actors and objects, the users list (a resident's username is their
	// ID number).
	"masked": ident.MaskIDNumbers,
	"list":   func(xs ...string) []string { return xs },
	"seq": func(from, to int) []int {
		var out []int
		for i := from; i <= to; i++ {
			out = append(out, i)
		}
		return out
	},
}

func parsePages() (*pages, error) {
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, file := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(file, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New(name).Funcs(templateFuncs).ParseFS(assets, "templates/layout.html", file)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		p.byName[name] = t
	}
	for _, need := range []string{"login", "home", "account", "users", "audit", "error", "window", "enrolments", "enrolment", "staff", "guide", "policies", "keys", "mycard", "cards", "bank", "counter", "receipt", "mymedical", "institutions", "settlements", "reconciliation", "clearings", "benefit_pension", "benefit_unemployment", "benefit_claims", "benefit_runs", "verify", "certificates", "confirm", "progress", "outlets"} {
		if p.byName[need] == nil {
			return nil, fmt.Errorf("web: template %s.html is missing", need)
		}
	}
	return p, nil
}

// View is what the layout needs on every page; Data is the page's own typed struct.
type View struct {
	Lang    lang
	Title   string
	User    *auth.User
	Menu    []MenuItem
	Path    string
	Notice  string      // a success message
	Problem *errs.Error // an error to show above the page
	Data    any
	Demo    bool // a demo database: the page links the demo's text messages

	principal *auth.Principal // who is looking, for Can
}

// Can reports whether the viewer may perform an action of the permission table, so that a page
// shows only the buttons its reader can use: {{if $.Can "keys.seal"}}. An action the table does
// not know is never allowed (TestTemplatesNameKnownActions checks every template's names).
func (v *View) Can(action string) bool { return v.principal.Can(auth.Action(action)) }

// T translates for templates: {{.T "key"}}.
func (v *View) T(key string) string { return v.Lang.T(key) }

// RoleName is the user's role in the page's language.
func (v *View) RoleName() string {
	if v.User == nil {
		return ""
	}
	return v.Lang.T("role." + string(v.User.Role))
}

// Who names the logged-in user in the header: the display name, or else the username with any ID
// number in it masked. A resident's username is their ID number, and the header is on every page,
// in every screenshot and visible over every shoulder; the account page shows the username whole,
// to its owner.
func (v *View) Who() string {
	if v.User == nil {
		return ""
	}
	if v.User.DisplayName != "" {
		return v.User.DisplayName
	}
	return ident.MaskIDNumbers(v.User.Username)
}

// Field returns the problem with a form field, for inline messages.
func (v *View) Field(name string) string {
	if v.Problem == nil {
		return ""
	}
	if p, ok := v.Problem.Fields[name]; ok {
		return v.Lang.Problem(p)
	}
	return ""
}

// ProblemText is the page's error in the page's language.
func (v *View) ProblemText() string { return v.Lang.ErrorText(v.Problem) }

// Pick chooses between a Chinese and an English text from policy data: {{.Pick .NameZH .NameEN}}.
func (v *View) Pick(zhText, enText string) string { return v.Lang.pick(zhText, enText) }

// ActionName is an audit action's display name, or "" for an action without one (the template then
// shows the code as code).
func (v *View) ActionName(code string) string {
	if _, ok := messages["act."+code]; ok {
		return v.Lang.T("act." + code)
	}
	return ""
}

// RoleLabel is a role's display name; a role code the portal does not know shows as itself.
func (v *View) RoleLabel(code string) string {
	if _, ok := messages["role."+code]; ok {
		return v.Lang.T("role." + code)
	}
	return code
}

// OtherLang is the language the switch offers.
func (v *View) OtherLang() string { return v.Lang.T("lang.other") }

// MenuItem is one entry of the role's menu.
type MenuItem struct {
	Label  string
	Href   string
	Active bool
}

// menu lists every portal destination with the action it needs; a role's menu is the entries it
// may open. Later capabilities add their entries here.
var menu = []struct {
	key    string
	href   string
	action auth.Action
}{
	{"menu.home", "/", auth.ViewPortal},
	{"menu.window", "/window", auth.RegisterPerson},
	{"menu.enrolments", "/enrolments", auth.ReadEnrolment},
	{"menu.staff", "/staff", auth.ManageStaff},
	{"menu.mycard", "/card", auth.OwnECard},
	{"menu.contributions", "/contributions", auth.ReadOwnInsurance},
	{"menu.accounts", "/accounts", auth.ReadAccounts},
	{"menu.bills", "/bills", auth.ReadBills},
	{"menu.funds", "/funds", auth.ReadFunds},
	{"menu.cards", "/cards", auth.ProduceCards},
	{"menu.cards", "/cards", auth.HandOutCard},
	{"menu.cards", "/cards", auth.ReviewCard},
	{"menu.bank", "/bank", auth.ActivateCardBank},
	{"menu.counter", "/counter", auth.VerifyECard},
	{"menu.mymedical", "/medical", auth.OwnMedical},
	{"menu.certificates", "/certificates", auth.IssueCertificate},
	{"menu.transfers", "/transfers", auth.ReadTransfer},
	// The resident's own benefit pages first: for a resident the entry shows under its "my" name.
	{"menu.mypension", "/pension", auth.ReadOwnInsurance},
	{"menu.myunemployment", "/unemployment", auth.ReadOwnInsurance},
	{"menu.unemployment", "/unemployment", auth.ReadBenefits},
	{"menu.pension", "/pension", auth.ReadBenefits},
	{"menu.claims", "/claims", auth.ReviewClaim},
	{"menu.benefitruns", "/benefit-runs", auth.RunBenefits},
	{"menu.settlements", "/settlements", auth.ReadSettlements},
	{"menu.reconciliation", "/reconciliation", auth.Reconcile},
	{"menu.clearings", "/clearings", auth.ReadSettlements},
	// The bureau's list of institutions; an institution's operator has its own on the counter.
	{"menu.institutions", "/institutions", auth.RegisterInstitution},
	{"menu.institutions", "/institutions", auth.ReviewInstitution},
	{"menu.institutions", "/institutions", auth.ReadMedicalYear},
	{"menu.policies", "/policies", auth.ReadPolicy},
	{"menu.keys", "/keys", auth.ReadKeys},
	{"menu.outlets", "/outlets", auth.ReadOutlets},
	{"menu.users", "/admin/users", auth.ListUsers},
	{"menu.audit", "/audit", auth.ReadAudit},
	{"menu.account", "/account", auth.ManageSelf},
	{"menu.guide", "/guide", auth.ViewPortal},
}

func (s *Server) view(r *http.Request, p *auth.Principal, titleKey string, data any) *View {
	l := pickLang(r)
	v := &View{Lang: l, Title: l.T(titleKey), Path: r.URL.Path, Data: data, Demo: s.Demo}
	if p != nil {
		v.User, v.principal = &p.User, p
		seen := map[string]bool{}
		for _, m := range menu {
			// An entry may be listed under several actions (the card desk serves clerks, reviewers
			// and card officers); it shows once.
			if p.Can(m.action) && !seen[m.href] {
				seen[m.href] = true
				v.Menu = append(v.Menu, MenuItem{Label: l.T(m.key), Href: m.href, Active: m.href == r.URL.Path})
			}
		}
	}
	return v
}

// render executes a page into a buffer first, so a template error becomes a clean 500 page instead
// of half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, v *View) error {
	t := s.pages.byName[name]
	if t == nil {
		return fmt.Errorf("web: no template %q", name)
	}
	if v.Notice == "" && v.Problem == nil {
		v.Notice = s.takeFlash(w, r, v.Lang)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

type errorPage struct {
	Status  int
	Message string
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, e *errs.Error) {
	v := s.view(r, principal(r), "error.title", errorPage{Status: status, Message: pickLang(r).ErrorText(e)})
	if err := s.render(w, r, status, "error", v); err != nil {
		s.Log.Error("error page failed", "request_id", requestID(r.Context()), "err", err)
		http.Error(w, http.StatusText(status), status)
	}
}

// safeNext keeps a redirect after login (or after switching the language) on this site. It
// accepts only a clean local path and answers "/" for anything else:
//   - printable ASCII only: browsers drop tabs and newlines from a URL and read a backslash as a
//     slash, so "/\t/host" and "/\\host" would become "//host", another site;
//   - one "/" first, never "//" (a network path);
//   - no scheme, host or user;
//   - already clean: http.Redirect cleans the path before it writes Location ("/./\\host" would
//     become "/\\host"), so what is checked here must be exactly what is sent.
func safeNext(next string) string {
	for i := 0; i < len(next); i++ {
		if c := next[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return "/"
		}
	}
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return "/"
	}
	if u, err := url.Parse(next); err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	// The cleaning http.Redirect does: path.Clean of what comes before "?", keeping a final "/".
	p, _, _ := strings.Cut(next, "?")
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	if clean != p {
		return "/"
	}
	return next
}

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, name, value string, expires time.Time) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: s.SecureCookies || r.TLS != nil}
	// Max-Age, not Expires: a lifetime the browser counts from when it gets the cookie, so a
	// browser whose clock disagrees with the server's neither drops a new session nor keeps an
	// old one.
	if expires.IsZero() {
		c.MaxAge = -1
	} else if c.MaxAge = int(expires.Sub(s.Now()).Seconds()); c.MaxAge <= 0 {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// formError re-renders a form page with the problem shown, for errors the user can fix; anything
// else goes to the error page.
func (s *Server) formError(w http.ResponseWriter, r *http.Request, v *View, name string, err error) error {
	e := s.publicError(r, err)
	busy := errors.Is(err, errUploadsBusy)
	switch {
	case e.Code == errs.Invalid, e.Code == errs.Conflict, e.Code == errs.Unauthorized, e.Code == errs.TooMany, e.Code == errs.BadRequest, busy:
		v.Problem = e
		if e.Code == errs.TooMany {
			w.Header().Set("Retry-After", "60")
		}
		if busy {
			s.uploads.retryAfter(w)
		}
		return s.render(w, r, statusOf(e.Code), name, v)
	}
	return e
}
