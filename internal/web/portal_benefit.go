package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/benefit"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
)

// The benefit pages (SPEC 3.6): the resident's pension outlook and unemployment benefit; the
// window's look-up by ID number, where a clerk registers a person as unemployed, prepares and ends
// a claim and records the retirement group; the reviewer's list of prepared claims; and the
// administrator's monthly benefit run.
//
// The benefit service names an unmet claim condition by field with an English detail; what a
// person reads is the condition and its detail in their language, recognised from the service's
// wording below (translatedProblem). A detail that is not recognised is still shown, under the
// condition's translated name, rather than hidden.

// ---------------------------------------------------------------- pension

type pensionPage struct {
	Own       bool   // the resident's own outlook
	Query     string // the ID number looked up
	Person    *registry.Person
	Outlook   *benefit.Outlook
	CanChange bool     // a clerk may record the retirement group
	Groups    []string // the groups that fit the person's gender
	Changes   []registry.GroupChange
	Group     string // the change form, as sent
	Reason    string
}

// AgeYears and AgeMonths split the statutory retirement age for display.
func (d *pensionPage) AgeYears() int  { return d.Outlook.RetirementAgeMonths / 12 }
func (d *pensionPage) AgeMonths() int { return d.Outlook.RetirementAgeMonths % 12 }

// Bar is the months so far as the bar shows them: never past the minimum, which is the bar's end.
func (d *pensionPage) Bar() int { return min(d.Outlook.ContributionMonths, d.Outlook.MinimumMonths) }

// Percent is the part of the minimum paid so far, whole percent.
func (d *pensionPage) Percent() int {
	if d.Outlook.MinimumMonths == 0 {
		return 100
	}
	return d.Bar() * 100 / d.Outlook.MinimumMonths
}

func (s *Server) pensionView(r *http.Request, p *auth.Principal, data *pensionPage) *View {
	title := "pension.title"
	if data.Own {
		title = "menu.mypension"
	}
	return s.view(r, p, title, data)
}

// pensionLoad fills the page for the resident, or for the person the bureau looked up.
func (s *Server) pensionLoad(ctx context.Context, p *auth.Principal, data *pensionPage) error {
	if !data.Own && data.Query == "" {
		return nil
	}
	person, err := s.benefitPerson(ctx, p, data.Own, data.Query)
	if err != nil {
		return err
	}
	o, err := s.Benefit.PensionOf(ctx, p, data.Query)
	if err != nil {
		return err
	}
	data.Person, data.Outlook = &person, &o
	if data.Own {
		return nil
	}
	data.CanChange = p.Can(auth.RegisterPerson)
	if person.Gender == ident.Male {
		data.Groups = []string{policy.GroupMale}
	} else {
		data.Groups = []string{policy.GroupFemaleCadre, policy.GroupFemaleWorker}
	}
	if data.Group == "" {
		data.Group = o.Group
	}
	data.Changes, err = s.Registry.RetirementGroupChanges(ctx, s.DB.R(), person)
	return err
}

// benefitPerson is the resident themself, or the person of the ID number in the bureau's regions.
func (s *Server) benefitPerson(ctx context.Context, p *auth.Principal, own bool, idNumber string) (registry.Person, error) {
	if own {
		return s.Registry.Me(ctx, p)
	}
	return s.Registry.Person(ctx, p, idNumber)
}

func (s *Server) pensionPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	data := &pensionPage{Own: p.Role == auth.Resident}
	if !data.Own {
		data.Query = strings.TrimSpace(r.URL.Query().Get("id_number"))
	}
	v := s.pensionView(r, p, data)
	if err := s.pensionLoad(r.Context(), p, data); err != nil {
		return s.lookupProblem(w, r, v, "benefit_pension", err)
	}
	if r.URL.Query().Get("done") == "group" {
		v.Notice = v.T("pension.group_saved")
	}
	return s.render(w, r, http.StatusOK, "benefit_pension", v)
}

// pensionGroup records the group a clerk found the person's retirement age follows, with the
// reason (a woman's cadre post is in no record the registry has).
func (s *Server) pensionGroup(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	data := &pensionPage{Query: strings.TrimSpace(r.PostFormValue("id_number")), Group: r.PostFormValue("group"), Reason: r.PostFormValue("reason")}
	_, err := s.Registry.SetRetirementGroup(r.Context(), p, data.Query, data.Group, data.Reason)
	if err == nil {
		http.Redirect(w, r, "/pension?done=group&id_number="+url.QueryEscape(data.Query), http.StatusSeeOther)
		return nil
	}
	v := s.pensionView(r, p, data)
	if lerr := s.pensionLoad(r.Context(), p, data); lerr != nil {
		return s.lookupProblem(w, r, v, "benefit_pension", lerr)
	}
	if errs.CodeOf(err) == errs.Conflict {
		err = errs.E(errs.Conflict, "%s", v.T("pension.err.conflict"))
	}
	return s.benefitFormError(w, r, v, "benefit_pension", err)
}

// ---------------------------------------------------------------- unemployment

type unemploymentPage struct {
	Own         bool
	Query       string
	Person      *registry.Person
	Preview     *benefit.Entitlement
	Problems    []problemLine
	Claims      []claimView
	Today       string // the registration form's default date, Beijing's
	Month       string // the end form's default month
	CanRegister bool
	CanPrepare  bool
	CanEnd      bool
}

// problemLine is one unmet condition of a claim, in the reader's language.
type problemLine struct {
	Field  string
	Label  string
	Detail string
}

// claimView is a claim with its months and the employer's removal reason named.
type claimView struct {
	benefit.Claim
	Removal  string
	Payments []benefit.Payment
}

// Last is the claim's last month if every month is drawn; IsOpen whether it still pays or may.
func (c claimView) Last() period.Month { return c.Claim.LastMonth() }
func (c claimView) IsOpen() bool       { return c.Claim.Open() }

func (s *Server) unemploymentView(r *http.Request, p *auth.Principal, data *unemploymentPage) *View {
	title := "unemp.title"
	if data.Own {
		title = "menu.myunemployment"
	}
	now := s.Now()
	data.Today, data.Month = period.Today(now).Format("2006-01-02"), period.MonthOf(now).String()
	data.CanRegister, data.CanPrepare, data.CanEnd = p.Can(auth.RegisterUnemployment), p.Can(auth.PrepareClaim), p.Can(auth.PrepareClaim)
	return s.view(r, p, title, data)
}

func (s *Server) unemploymentLoad(ctx context.Context, v *View, p *auth.Principal, data *unemploymentPage) error {
	if !data.Own && data.Query == "" {
		return nil
	}
	person, err := s.benefitPerson(ctx, p, data.Own, data.Query)
	if err != nil {
		return err
	}
	e, err := s.Benefit.Preview(ctx, p, data.Query)
	if err != nil {
		return err
	}
	data.Person, data.Preview = &person, &e
	reasons := s.removalNames(ctx, v, person.Region)
	data.Problems = translatedProblems(v, e.Problems, reasons)
	claims, err := s.Benefit.ClaimsOfPerson(ctx, p, data.Query)
	if err != nil {
		return err
	}
	for _, c := range claims {
		pays, err := s.Benefit.Payments(ctx, p, c.Region, c.ID)
		if err != nil {
			return err
		}
		data.Claims = append(data.Claims, claimView{Claim: c, Removal: nameOf(reasons, c.RemovalReason), Payments: pays})
	}
	return nil
}

// removalNames are the region's removal reasons by code, in the reader's language; none when the
// policy cannot be read (the codes are shown instead).
func (s *Server) removalNames(ctx context.Context, v *View, region string) map[string]string {
	names := map[string]string{}
	list, err := s.Registry.RemovalReasons(ctx, region)
	if err != nil {
		return names
	}
	for _, n := range list {
		names[n.Code] = v.Pick(n.NameZH, n.NameEN)
	}
	return names
}

func nameOf(names map[string]string, code string) string {
	if n, ok := names[code]; ok {
		return n
	}
	return code
}

// problemWording recognises the benefit service's details of an unmet condition; the message's
// %s take the submatches in order. A removal reason code is shown by its name.
var problemWording = []struct {
	field string
	re    *regexp.Regexp
	key   string
}{
	{"contribution_months", regexp.MustCompile(`^(\d+) months of unemployment insurance paid; a claim needs (\d+)$`), "unemp.p.short"},
	{"contribution_months", regexp.MustCompile(`^the contributions entitle no month of benefit$`), "unemp.p.no_months"},
	{"removal", regexp.MustCompile(`^no employer has removed the person`), "unemp.p.no_removal"},
	{"removal", regexp.MustCompile(`^the job was not lost involuntarily \(the employer's reason: (.+)\)$`), "unemp.p.voluntary"},
	{"removal", regexp.MustCompile(`^the person is employed now$`), "unemp.p.employed"},
	{"registration", regexp.MustCompile(`^not registered as unemployed`), "unemp.p.unregistered"},
	{"registration", regexp.MustCompile(`^registered, but not seeking work$`), "unemp.p.not_seeking"},
	{"registration", regexp.MustCompile(`^the registration is older than the job's end`), "unemp.p.stale"},
	{"claim", regexp.MustCompile(`^a claim is in progress already$`), "unemp.p.open"},
}

// problemOrder is the order of the law's conditions (Art. 45), then a claim already open.
var problemOrder = []string{"contribution_months", "removal", "registration", "claim"}

// translatedProblems lists the unmet conditions in the law's order, each in the reader's language.
func translatedProblems(v *View, f errs.Fields, reasons map[string]string) []problemLine {
	names := make([]string, 0, len(f))
	for name := range f {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		ia, ib := slices.Index(problemOrder, a), slices.Index(problemOrder, b)
		if ia < 0 {
			ia = len(problemOrder)
		}
		if ib < 0 {
			ib = len(problemOrder)
		}
		if ia != ib {
			return ia - ib
		}
		return strings.Compare(a, b)
	})
	var out []problemLine
	for _, name := range names {
		out = append(out, problemLine{Field: name, Label: v.T("unemp.cond." + name), Detail: translatedProblem(v, name, f[name], reasons)})
	}
	return out
}

func translatedProblem(v *View, field, detail string, reasons map[string]string) string {
	for _, w := range problemWording {
		if w.field != field {
			continue
		}
		m := w.re.FindStringSubmatch(detail)
		if m == nil {
			continue
		}
		args := make([]any, 0, len(m)-1)
		for _, a := range m[1:] {
			if w.key == "unemp.p.voluntary" {
				a = nameOf(reasons, a)
			}
			args = append(args, a)
		}
		return fmt.Sprintf(v.T(w.key), args...)
	}
	return detail
}

func (s *Server) unemploymentPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	data := &unemploymentPage{Own: p.Role == auth.Resident}
	if !data.Own {
		data.Query = strings.TrimSpace(r.URL.Query().Get("id_number"))
	}
	v := s.unemploymentView(r, p, data)
	if err := s.unemploymentLoad(r.Context(), v, p, data); err != nil {
		return s.lookupProblem(w, r, v, "benefit_unemployment", err)
	}
	if done := r.URL.Query().Get("done"); done == "register" || done == "prepare" || done == "end" {
		v.Notice = v.T("unemp.done." + done)
	}
	return s.render(w, r, http.StatusOK, "benefit_unemployment", v)
}

// unemploymentAction registers a person as unemployed (the resident online, a clerk at the
// window), prepares a claim or ends one (a clerk); the service checks who may do which.
func (s *Server) unemploymentAction(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ctx := r.Context()
	data := &unemploymentPage{Own: p.Role == auth.Resident}
	if !data.Own {
		data.Query = strings.TrimSpace(r.PostFormValue("id_number"))
	}
	action := r.PathValue("action")
	v := s.unemploymentView(r, p, data)
	var err error
	switch action {
	case "register":
		_, err = s.Benefit.Register(ctx, p, data.Query, r.PostFormValue("registered_on"), r.PostFormValue("seeking_work") != "")
		if errs.CodeOf(err) == errs.Conflict {
			key := "unemp.err.registered"
			if e, _ := errs.As(err); strings.Contains(e.Message, "employed") {
				key = "unemp.err.employed"
			}
			err = errs.E(errs.Conflict, "%s", v.T(key))
		}
	case "prepare":
		if _, err = s.Benefit.Prepare(ctx, p, data.Query); errs.Is(err, errs.Invalid) {
			// The conditions unmet are listed on the page itself, in the reader's language.
			err = errs.E(errs.Conflict, "%s", v.T("unemp.err.conditions"))
		}
	case "end":
		err = s.endClaim(r, v, p)
	default:
		return errs.E(errs.NotFound, "no such action")
	}
	if err == nil {
		to := "/unemployment?done=" + action
		if !data.Own {
			to += "&id_number=" + url.QueryEscape(data.Query)
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return nil
	}
	if lerr := s.unemploymentLoad(ctx, v, p, data); lerr != nil {
		return s.lookupProblem(w, r, v, "benefit_unemployment", lerr)
	}
	return s.benefitFormError(w, r, v, "benefit_unemployment", err)
}

// endClaim stops a claim from a month with the clerk's reason (a pension begun, Art. 51).
func (s *Server) endClaim(r *http.Request, v *View, p *auth.Principal) error {
	id, err := strconv.ParseInt(r.PostFormValue("claim"), 10, 64)
	if err != nil {
		return errs.E(errs.NotFound, "no such claim")
	}
	m, err := period.ParseMonth(r.PostFormValue("end_month"))
	if err != nil {
		return errs.Field("end_month", err.Error())
	}
	if _, err = s.Benefit.End(r.Context(), p, r.PostFormValue("region"), id, m, r.PostFormValue("end_reason")); errs.CodeOf(err) == errs.Conflict {
		err = errs.E(errs.Conflict, "%s", v.T("claims.err.decided"))
	} else if e, ok := errs.As(err); ok && e.Fields["reason"] != "" {
		err = errs.Field("end_reason", e.Fields["reason"])
	}
	return err
}

// ---------------------------------------------------------------- the reviewer's claims

type claimsPage struct {
	Rows []claimRow
}

type claimRow struct {
	benefit.Claim
	Name     string
	IDNumber string
	Removal  string
}

// claimsListed bounds the prepared claims the page shows per region; the oldest are decided first.
const claimsListed = 100

func (s *Server) claimsView(r *http.Request, p *auth.Principal) (*View, error) {
	ctx := r.Context()
	data := &claimsPage{}
	v := s.view(r, p, "claims.title", data)
	for _, region := range p.Regions {
		cs, err := s.Benefit.Claims(ctx, p, region, benefit.Prepared, 0, claimsListed)
		if err != nil {
			return nil, err
		}
		reasons := s.removalNames(ctx, v, region)
		for _, c := range cs {
			person, err := s.Registry.PersonByID(ctx, s.DB.R(), c.PersonID)
			if err != nil {
				return nil, err
			}
			data.Rows = append(data.Rows, claimRow{Claim: c, Name: person.Name, IDNumber: string(person.IDNumber), Removal: nameOf(reasons, c.RemovalReason)})
		}
	}
	return v, nil
}

func (s *Server) claimsPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v, err := s.claimsView(r, p)
	if err != nil {
		return err
	}
	if done := r.URL.Query().Get("done"); done == "approve" || done == "reject" {
		v.Notice = v.T("claims.done." + done)
	}
	return s.render(w, r, http.StatusOK, "benefit_claims", v)
}

// claimsAction approves or rejects a prepared claim. The reviewer must be independent of the
// clerk who prepared it; the refusal says so in the reader's language.
func (s *Server) claimsAction(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ctx := r.Context()
	id, err := strconv.ParseInt(r.PostFormValue("claim"), 10, 64)
	if err != nil {
		return errs.E(errs.NotFound, "no such claim")
	}
	region := r.PostFormValue("region")
	action := r.PathValue("action")
	switch action {
	case "approve":
		_, err = s.Benefit.Approve(ctx, p, region, id)
	case "reject":
		_, err = s.Benefit.Reject(ctx, p, region, id, r.PostFormValue("reason"))
	default:
		return errs.E(errs.NotFound, "no such action")
	}
	if err == nil {
		http.Redirect(w, r, "/claims?done="+action, http.StatusSeeOther)
		return nil
	}
	v, verr := s.claimsView(r, p)
	if verr != nil {
		return verr
	}
	switch errs.CodeOf(err) {
	case errs.Forbidden:
		v.Problem = &errs.Error{Code: errs.Forbidden, Message: v.T("claims.err.independent")}
		return s.render(w, r, http.StatusForbidden, "benefit_claims", v)
	case errs.Conflict:
		err = errs.E(errs.Conflict, "%s", v.T("claims.err.decided"))
	}
	return s.benefitFormError(w, r, v, "benefit_claims", err)
}

// ---------------------------------------------------------------- the benefit run

type benefitRunsPage struct {
	Regions []string
	Region  string
	Month   string
	Runs    []benefit.RunInfo
	Report  *benefit.RunReport
}

// runsListed is how many months of runs the page lists.
const runsListed = 36

func (s *Server) benefitRunsView(r *http.Request, p *auth.Principal, region, month string) (*View, *benefitRunsPage, error) {
	if region == "" && len(p.Regions) > 0 {
		region = p.Regions[0]
	}
	if !p.InRegion(region) {
		return nil, nil, errs.Field("region", "not one of your regions")
	}
	if month == "" {
		month = period.MonthOf(s.Now()).String()
	}
	data := &benefitRunsPage{Regions: p.Regions, Region: region, Month: month}
	runs, err := s.Benefit.Runs(r.Context(), region, runsListed)
	if err != nil {
		return nil, nil, err
	}
	data.Runs = runs
	return s.view(r, p, "benefitruns.title", data), data, nil
}

func (s *Server) benefitRunsPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v, _, err := s.benefitRunsView(r, p, r.URL.Query().Get("region"), "")
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "benefit_runs", v)
}

// benefitRunsRun runs a region's month in the request: a month's benefit run is a few hundred
// claims a batch, done in a moment, and the administrator sees what it paid and held at once. A run
// cut short (the server stopped) is finished by running the month again; nothing is paid twice.
func (s *Server) benefitRunsRun(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	region, month := r.PostFormValue("region"), strings.TrimSpace(r.PostFormValue("month"))
	v, data, err := s.benefitRunsView(r, p, region, month)
	if err != nil {
		return err // a region not the administrator's
	}
	m, err := period.ParseMonth(month)
	if err != nil {
		return s.benefitFormError(w, r, v, "benefit_runs", errs.Field("month", err.Error()))
	}
	rep, err := s.Benefit.Run(r.Context(), p.Actor(), region, m)
	if err != nil {
		return s.benefitFormError(w, r, v, "benefit_runs", err)
	}
	// The list as it stands after the run.
	if data.Runs, err = s.Benefit.Runs(r.Context(), region, runsListed); err != nil {
		return err
	}
	data.Report = &rep
	v.Notice = fmt.Sprintf(v.T("benefitruns.done"), m, rep.Paid, rep.Held, rep.Ended)
	return s.render(w, r, http.StatusOK, "benefit_runs", v)
}

// ---------------------------------------------------------------- shared

// lookupProblem answers a failed look-up on the page itself: an unknown ID number is a 404 with the
// form still there; anything else as any form's problem.
func (s *Server) lookupProblem(w http.ResponseWriter, r *http.Request, v *View, name string, err error) error {
	if errs.Is(err, errs.NotFound) {
		v.Problem = &errs.Error{Code: errs.NotFound, Message: v.T("benefit.not_found")}
		return s.render(w, r, http.StatusNotFound, name, v)
	}
	return s.benefitFormError(w, r, v, name, err)
}

// benefitFormError shows a refusal above the form, each field's problem beside it in the reader's
// language where the field is one of these pages' (benefit.field.*); the service's own words
// otherwise.
func (s *Server) benefitFormError(w http.ResponseWriter, r *http.Request, v *View, name string, err error) error {
	if e, ok := errs.As(err); ok && len(e.Fields) > 0 {
		shown := *e
		shown.Fields = map[string]string{}
		for f, detail := range e.Fields {
			if t, ok := messages["benefit.field."+f]; ok {
				detail = t[0]
				if v.Lang == en {
					detail = t[1]
				}
			}
			shown.Fields[f] = detail
		}
		err = &shown
	}
	return s.fieldsError(w, r, v, name, err)
}
