package web

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/settle"
)

// The bureau's side of medical settlement (SPEC 3.5): the designated institutions (a clerk
// registers one and opens its operators' logins, a reviewer independent of the clerk approves it),
// the settlements of its regions, an institution's day (its reconciliation, which an institution's
// operator also sees for itself) and the monthly clearing (a clerk prepares, a reviewer approves).
// Each button shows only to a login the permission table allows it and, for an approval, who is
// not the one who prepared the thing; the service checks both again.

// maxPicker bounds the institutions a picker lists.
const maxPicker = 200

type institutionsPage struct {
	Institutions []institutionRow
	CanRegister  bool
	CanOperator  bool
	Approved     []settle.Institution // for the operator form
	Form         newInstitutionRequest
	FormLevel    string
	Operator     operatorRequest
	OperatorFor  string
	Created      *settle.Institution
	Opened       string // the operator login just opened
	After, Next  string
}

type institutionRow struct {
	settle.Institution
	CanApprove bool
}

func (s *Server) institutionsView(r *http.Request, p *auth.Principal, data *institutionsPage) (*View, error) {
	ctx := r.Context()
	data.After = strings.TrimSpace(r.URL.Query().Get("after"))
	data.CanRegister, data.CanOperator = p.Can(auth.RegisterInstitution), p.Can(auth.CreateLogin)
	ins, err := s.Settle.Institutions(ctx, p, data.After, 100)
	if err != nil {
		return nil, err
	}
	for _, in := range ins {
		// The reviewer's button only where they may press it: pending, and not registered by them
		// (the service also refuses an approver standing on the same account as the clerk).
		data.Institutions = append(data.Institutions, institutionRow{Institution: in,
			CanApprove: p.Can(auth.ReviewInstitution) && in.Status == settle.Pending && in.RegisteredBy != p.Username})
	}
	if len(ins) == 100 {
		data.Next = ins[len(ins)-1].Code
	}
	if data.CanOperator {
		all, err := s.Settle.Institutions(ctx, p, "", maxPicker)
		if err != nil {
			return nil, err
		}
		for _, in := range all {
			if in.Status == settle.Approved {
				data.Approved = append(data.Approved, in)
			}
		}
	}
	return s.view(r, p, "institutions.title", data), nil
}

func (s *Server) institutionsPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v, err := s.institutionsView(r, p, &institutionsPage{})
	if err != nil {
		return err
	}
	if r.URL.Query().Get("done") == "approve" {
		v.Notice = v.T("institutions.approved")
	}
	return s.render(w, r, http.StatusOK, "institutions", v)
}

// institutionsAction registers, approves, or opens an operator login.
func (s *Server) institutionsAction(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ctx := r.Context()
	data := &institutionsPage{}
	var err error
	code := strings.TrimSpace(r.PostFormValue("code"))
	switch r.PathValue("action") {
	case "register":
		if err = p.Require(auth.RegisterInstitution); err != nil {
			return err
		}
		data.Form = newInstitutionRequest{Code: code, Name: strings.TrimSpace(r.PostFormValue("name")), Kind: r.PostFormValue("kind"),
			BankAccount: strings.TrimSpace(r.PostFormValue("bank_account")), Region: strings.TrimSpace(r.PostFormValue("region"))}
		data.FormLevel = r.PostFormValue("level")
		data.Form.Level, _ = strconv.Atoi(data.FormLevel)
		var in settle.Institution
		in, err = s.Settle.RegisterInstitution(ctx, p, settle.NewInstitution{Code: data.Form.Code, Name: data.Form.Name, Kind: data.Form.Kind,
			Level: data.Form.Level, BankAccount: data.Form.BankAccount, Region: data.Form.Region})
		if err == nil {
			data.Created, data.Form, data.FormLevel = &in, newInstitutionRequest{}, ""
		}
	case "approve":
		_, err = s.Settle.ApproveInstitution(ctx, p, code)
		if err == nil {
			http.Redirect(w, r, "/institutions?done=approve", http.StatusSeeOther)
			return nil
		}
	case "operator":
		data.Operator = operatorRequest{Username: strings.TrimSpace(r.PostFormValue("username")), Name: strings.TrimSpace(r.PostFormValue("name")),
			Phone: strings.TrimSpace(r.PostFormValue("phone"))}
		data.OperatorFor = code
		var u auth.User
		if u, err = s.Settle.CreateOperator(ctx, s.Auth, p, code, data.Operator.Username, data.Operator.Name, data.Operator.Phone); err == nil {
			data.Opened, data.Operator, data.OperatorFor = u.Username, operatorRequest{}, ""
		}
	default:
		return errs.E(errs.NotFound, "no such action")
	}
	v, verr := s.institutionsView(r, p, data)
	if verr != nil {
		return verr
	}
	if err != nil {
		return s.fieldsError(w, r, v, "institutions", err)
	}
	switch {
	case data.Created != nil:
		v.Notice = v.T("institutions.registered") + " " + data.Created.Code
	case data.Opened != "":
		v.Notice = v.T("institutions.operator_opened") + " " + data.Opened
	}
	return s.render(w, r, http.StatusCreated, "institutions", v)
}

// fieldsError is formError with the message above the form saying to look at the fields, when
// the problem is with fields (each shown beside its own): never a list of raw field names.
//
// A refusal for separation of duties (the approver prepared it, or stands on the same account) is
// shown on the page too: the reviewer needs to know why, and the list stays in front of them.
func (s *Server) fieldsError(w http.ResponseWriter, r *http.Request, v *View, name string, err error) error {
	if e, ok := errs.As(err); ok && len(e.Fields) > 0 {
		shown := *e
		shown.Message = v.T("form.fix")
		err = &shown
	} else if ok && e.Code == errs.Forbidden {
		v.Problem = e
		return s.render(w, r, http.StatusForbidden, name, v)
	}
	return s.formError(w, r, v, name, err)
}

// pickers are the institutions a bureau login picks from; an institution's operator has only its
// own, and no picker.
func (s *Server) pickers(r *http.Request, p *auth.Principal) ([]settle.Institution, error) {
	if p.Role == auth.Institution {
		return nil, nil
	}
	return s.Settle.Institutions(r.Context(), p, "", maxPicker)
}

type settlementsPage struct {
	Institutions []settle.Institution
	Own          bool // an institution's operator: its own settlements
	ByPerson     bool // the ID-number filter (the bureau)
	Code         string
	IDNumber     string
	From, To     string
	Rows         []settlementRow
	Next         template.URL // the next page, "" on the last
	First        bool
}

func (s *Server) settlementsPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ctx := r.Context()
	q := r.URL.Query()
	data := &settlementsPage{Own: p.Role == auth.Institution, ByPerson: p.Can(auth.ReadMedicalYear), Code: strings.TrimSpace(q.Get("institution")),
		IDNumber: strings.ToUpper(strings.TrimSpace(q.Get("id_number"))), From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to")),
		First: q.Get("cursor") == ""}
	v := s.view(r, p, "settlements.title", data)
	var err error
	if data.Institutions, err = s.pickers(r, p); err != nil {
		return err
	}
	query := settle.Query{Institution: data.Code, After: q.Get("cursor"), Limit: pageSize}
	f := errs.Fields{}
	for _, d := range []struct {
		name string
		in   string
		out  *time.Time
	}{{"from", data.From, &query.From}, {"to", data.To, &query.To}} {
		if d.in == "" {
			continue
		}
		t, err := period.ParseDate(d.in)
		if err != nil {
			f.Add(d.name, err.Error())
		}
		*d.out = t
	}
	if data.IDNumber != "" && data.ByPerson {
		person, err := s.Registry.Person(ctx, p, data.IDNumber)
		if err != nil {
			f.Add("id_number", "no person with this ID number in your regions")
		}
		query.PersonID = person.ID
	}
	if err := f.Err(); err != nil {
		return s.fieldsError(w, r, v, "settlements", err)
	}
	sts, err := s.Settle.List(ctx, p, query)
	if err != nil {
		return s.fieldsError(w, r, v, "settlements", err)
	}
	if data.Rows, err = s.withNames(ctx, sts); err != nil {
		return err
	}
	if len(sts) == pageSize {
		next := url.Values{"cursor": {sts[len(sts)-1].ID}}
		for k, val := range map[string]string{"institution": data.Code, "id_number": data.IDNumber, "from": data.From, "to": data.To} {
			if val != "" {
				next.Set(k, val)
			}
		}
		data.Next = template.URL("/settlements?" + next.Encode()) // built here from escaped parts
	}
	return s.render(w, r, http.StatusOK, "settlements", v)
}

type reconciliationPage struct {
	Institutions []settle.Institution
	Own          bool
	Code, Date   string
	Day          *settle.Day
	CSV          string // the detail file's address
}

// reconciliationPage is an institution's day: the bureau's totals and every settlement behind them,
// with the detail file. An institution's operator sees its own, today unless it picks a day.
func (s *Server) reconciliationPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	q := r.URL.Query()
	data := &reconciliationPage{Own: p.Role == auth.Institution, Code: strings.ToUpper(strings.TrimSpace(q.Get("institution"))),
		Date: strings.TrimSpace(q.Get("date"))}
	if data.Own {
		data.Code = p.InstitutionCode
	}
	if data.Date == "" {
		data.Date = period.Today(s.Now()).Format("2006-01-02")
	}
	v := s.view(r, p, "reconciliation.title", data)
	var err error
	if data.Institutions, err = s.pickers(r, p); err != nil {
		return err
	}
	if data.Code == "" {
		return s.render(w, r, http.StatusOK, "reconciliation", v)
	}
	date, err := period.ParseDate(data.Date)
	if err != nil {
		return s.fieldsError(w, r, v, "reconciliation", errs.Field("date", err.Error()))
	}
	day, err := s.Settle.DayOf(r.Context(), p, data.Code, date)
	if errs.Is(err, errs.NotFound) {
		v.Problem = s.publicError(r, err)
		return s.render(w, r, http.StatusNotFound, "reconciliation", v)
	}
	if err != nil {
		return err
	}
	data.Day = &day
	data.CSV = "/api/v1/institutions/" + url.PathEscape(day.Institution.Code) + "/reconciliation?" + url.Values{"date": {data.Date}, "format": {"csv"}}.Encode()
	return s.render(w, r, http.StatusOK, "reconciliation", v)
}

type clearingsPage struct {
	Clearings    []clearingRow
	Institutions []settle.Institution
	CanPrepare   bool
	Code         string
	Month        string // the month the prepare form offers: last month
}

type clearingRow struct {
	settle.Clearing
	Name       string
	CanApprove bool
}

func (s *Server) clearingsView(r *http.Request, p *auth.Principal, data *clearingsPage) (*View, error) {
	ctx := r.Context()
	data.CanPrepare = p.Can(auth.PrepareClearing)
	if data.Month == "" {
		data.Month = period.MonthOf(s.Now()).Add(-1).String()
	}
	var err error
	if data.Institutions, err = s.pickers(r, p); err != nil {
		return nil, err
	}
	cs, err := s.Settle.Clearings(ctx, p, maxPicker)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, c := range cs {
		name, ok := names[c.Institution]
		if !ok {
			if name, err = s.Settle.InstitutionName(ctx, c.Institution); err != nil {
				return nil, err
			}
			names[c.Institution] = name
		}
		data.Clearings = append(data.Clearings, clearingRow{Clearing: c, Name: name,
			CanApprove: p.Can(auth.ApproveClearing) && c.Status == settle.Prepared && c.PreparedBy != p.Username})
	}
	return s.view(r, p, "clearings.title", data), nil
}

func (s *Server) clearingsPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v, err := s.clearingsView(r, p, &clearingsPage{})
	if err != nil {
		return err
	}
	switch r.URL.Query().Get("done") {
	case "prepare":
		v.Notice = v.T("clearings.prepared")
	case "approve":
		v.Notice = v.T("clearings.posted")
	}
	return s.render(w, r, http.StatusOK, "clearings", v)
}

// clearingsAction prepares a month's clearing (a clerk) or approves and posts it (a reviewer).
func (s *Server) clearingsAction(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ctx := r.Context()
	data := &clearingsPage{Code: strings.TrimSpace(r.PostFormValue("institution")), Month: strings.TrimSpace(r.PostFormValue("month"))}
	var err error
	action := r.PathValue("action")
	m, merr := period.ParseMonth(data.Month)
	switch action {
	case "prepare":
		if merr != nil {
			err = errs.Field("month", merr.Error())
		} else {
			_, err = s.Settle.PrepareClearing(ctx, p, data.Code, m)
		}
	case "approve":
		if merr != nil {
			return errs.E(errs.NotFound, "no such clearing")
		}
		_, err = s.Settle.ApproveClearing(ctx, p, data.Code, m)
	default:
		return errs.E(errs.NotFound, "no such action")
	}
	if err == nil {
		http.Redirect(w, r, "/clearings?done="+action, http.StatusSeeOther)
		return nil
	}
	if action == "approve" {
		data.Code, data.Month = "", ""
	}
	v, verr := s.clearingsView(r, p, data)
	if verr != nil {
		return verr
	}
	if errs.Is(err, errs.NotFound) && action == "prepare" {
		err = errs.Field("institution", "choose one of the institutions listed")
	}
	return s.fieldsError(w, r, v, "clearings", err)
}
