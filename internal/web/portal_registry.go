package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/notify"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
)

// windowPage is the clerk's service window: register a person or an employer.
type windowPage struct {
	Person      newPersonRequest
	Employer    newEmployerRequest
	CreateLogin bool
	// Results of the last action, shown once.
	Registered *registry.Person
	Employered *registry.Employer
	Login      *loginJSON
	Reset      *loginJSON
	Form       string // which form the problem belongs to: "person", "employer" or "reset"
}

func (s *Server) windowPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return s.render(w, r, http.StatusOK, "window", s.view(r, p, "window.title", windowPage{CreateLogin: true}))
}

func (s *Server) windowPerson(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	req := newPersonRequest{IDNumber: r.PostFormValue("id_number"), Name: r.PostFormValue("name"), Ethnicity: r.PostFormValue("ethnicity"),
		HukouType: r.PostFormValue("hukou_type"), HukouPlace: r.PostFormValue("hukou_place"), ResidencePermit: r.PostFormValue("residence_permit"),
		Phone: r.PostFormValue("phone"), Address: r.PostFormValue("address")}
	data := windowPage{Person: req, CreateLogin: r.PostFormValue("create_login") == "on", Form: "person"}
	v := s.view(r, p, "window.title", &data)
	person, err := s.Registry.RegisterPerson(r.Context(), p, req.person())
	if err != nil {
		return s.formError(w, r, v, "window", err)
	}
	data.Registered, data.Person = &person, newPersonRequest{}
	if data.CreateLogin {
		u, err := s.Registry.CreateResidentLogin(r.Context(), p, string(person.IDNumber))
		if err != nil {
			return s.formError(w, r, v, "window", err)
		}
		l := toLoginJSON(u)
		data.Login = &l
	}
	return s.render(w, r, http.StatusCreated, "window", v)
}

// windowResetLogin sends a person who lost their password a new one-time code, after the clerk
// checked their ID card.
func (s *Server) windowResetLogin(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	data := windowPage{CreateLogin: true, Form: "reset"}
	v := s.view(r, p, "window.title", &data)
	u, err := s.Registry.ResetResidentLogin(r.Context(), p, strings.TrimSpace(r.PostFormValue("id_number")), strings.TrimSpace(r.PostFormValue("presented_id_number")))
	if err != nil {
		return s.formError(w, r, v, "window", err)
	}
	l := toLoginJSON(u)
	data.Reset = &l
	return s.render(w, r, http.StatusOK, "window", v)
}

func (s *Server) windowEmployer(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	risk, _ := strconv.Atoi(r.PostFormValue("risk_class"))
	req := newEmployerRequest{USCC: r.PostFormValue("uscc"), Name: r.PostFormValue("name"), LegalRep: r.PostFormValue("legal_rep"),
		Address: r.PostFormValue("address"), Industry: r.PostFormValue("industry"), RiskClass: risk, BankAccount: r.PostFormValue("bank_account")}
	data := windowPage{Employer: req, CreateLogin: true, Form: "employer"}
	v := s.view(r, p, "window.title", &data)
	if op, phone := strings.TrimSpace(r.PostFormValue("operator")), strings.TrimSpace(r.PostFormValue("operator_phone")); op != "" && !notify.ValidMobile(phone) {
		return s.formError(w, r, v, "window", errs.Field("operator_phone", "the HR operator's mobile number, 11 digits: their activation code goes there"))
	}
	e, err := s.Registry.RegisterEmployer(r.Context(), p, registry.NewEmployer{USCC: req.USCC, Name: req.Name, LegalRep: req.LegalRep,
		Address: req.Address, Industry: req.Industry, RiskClass: req.RiskClass, BankAccount: req.BankAccount})
	if err != nil {
		return s.formError(w, r, v, "window", err)
	}
	data.Employered, data.Employer = &e, newEmployerRequest{}
	if op := strings.TrimSpace(r.PostFormValue("operator")); op != "" {
		u, err := s.Registry.CreateOperatorLogin(r.Context(), p, string(e.USCC), op, e.Name+" 人事", strings.TrimSpace(r.PostFormValue("operator_phone")))
		if err != nil {
			return s.formError(w, r, v, "window", err)
		}
		l := toLoginJSON(u)
		data.Login = &l
	}
	return s.render(w, r, http.StatusCreated, "window", v)
}

type enrolmentsPage struct {
	Status     string
	Statuses   []string
	Enrolments []registry.Enrolment
	CanPrepare bool
	Categories []policy.Category
	Form       newEnrolmentRequest
	// CategoryNames are the categories' display names in the reader's language, by code.
	CategoryNames map[string]string
}

// CategoryName is a category's display name (the code itself only for a category the policy no
// longer has).
func (d *enrolmentsPage) CategoryName(code string) string {
	if n, ok := d.CategoryNames[code]; ok {
		return n
	}
	return code
}

func (s *Server) enrolmentsView(r *http.Request, p *auth.Principal, data enrolmentsPage) (*View, error) {
	es, err := s.Registry.Enrolments(r.Context(), p, registry.EnrolmentQuery{Status: registry.Status(data.Status)})
	if err != nil {
		return nil, err
	}
	data.Enrolments, data.Statuses = es, []string{"", "draft", "submitted", "approved", "rejected"}
	data.CanPrepare = p.Can(auth.PrepareEnrolment)
	if len(p.Regions) > 0 {
		if v, err := s.Policies.Effective(r.Context(), s.DB.R(), p.Regions[0], period.MonthOf(s.Now())); err == nil {
			data.CategoryNames = map[string]string{}
			for _, c := range v.Policy.Categories {
				data.CategoryNames[c.Code] = pickLang(r).pick(c.NameZH, c.NameEN)
			}
			if data.CanPrepare {
				data.Categories = v.Policy.Categories
			}
		}
	}
	if data.Form.StartMonth == "" {
		data.Form.StartMonth = period.MonthOf(s.Now()).String()
	}
	return s.view(r, p, "enrolments.title", &data), nil
}

func (s *Server) enrolmentsPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v, err := s.enrolmentsView(r, p, enrolmentsPage{Status: r.URL.Query().Get("status")})
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "enrolments", v)
}

func (s *Server) enrolmentsCreate(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	form := newEnrolmentRequest{IDNumber: r.PostFormValue("id_number"), Category: r.PostFormValue("category"),
		EmployerUSCC: r.PostFormValue("employer_uscc"), StartMonth: r.PostFormValue("start_month"), Base: r.PostFormValue("base")}
	e, err := s.Registry.CreateEnrolment(r.Context(), p, registry.NewEnrolment{IDNumber: form.IDNumber, Category: form.Category,
		EmployerUSCC: form.EmployerUSCC, StartMonth: form.StartMonth, Base: form.Base})
	if err != nil {
		v, verr := s.enrolmentsView(r, p, enrolmentsPage{Form: form})
		if verr != nil {
			return verr
		}
		return s.formError(w, r, v, "enrolments", err)
	}
	http.Redirect(w, r, "/enrolments/"+strconv.FormatInt(e.ID, 10), http.StatusSeeOther)
	return nil
}

type enrolmentPage struct {
	E          registry.Enrolment
	CanPrepare bool
	CanReview  bool
	Category   string
}

func (s *Server) enrolmentView(r *http.Request, p *auth.Principal, id int64) (*View, error) {
	e, err := s.Registry.Enrolment(r.Context(), p, id)
	if err != nil {
		return nil, err
	}
	data := enrolmentPage{E: e, CanPrepare: p.Can(auth.PrepareEnrolment) && e.Status == registry.Draft,
		CanReview: p.Can(auth.ReviewEnrolment) && e.Status == registry.Submitted && e.PreparedBy != p.Username, Category: e.Category}
	if v, err := s.Policies.Get(r.Context(), nil, e.PolicyVersion); err == nil {
		if c, ok := v.Policy.Category(e.Category); ok {
			data.Category = pickLang(r).pick(c.NameZH, c.NameEN)
		}
	}
	return s.view(r, p, "enrolment.title", &data), nil
}

func (s *Server) enrolmentPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := s.enrolmentView(r, p, id)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "enrolment", v)
}

// enrolmentAction handles every button of the application page: upload, check, submit, approve,
// reject. Each ends by showing the application again, with the problem if there was one.
func (s *Server) enrolmentAction(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ctx := r.Context()
	var actErr error
	switch r.PathValue("action") {
	case "upload":
		release, err := s.enterUpload(w, r)
		if err != nil {
			actErr = err
			break
		}
		defer release()
		data, name, err := formFile(r, "file", maxMaterial, "choose a file")
		if err != nil {
			actErr = err
			break
		}
		_, actErr = s.Registry.AddMaterial(ctx, p, id, r.FormValue("code"), name, data)
	case "check":
		mid, _ := strconv.ParseInt(r.PostFormValue("material_id"), 10, 64)
		_, actErr = s.Registry.CheckMaterial(ctx, p, id, mid, registry.Check(r.PostFormValue("result")), r.PostFormValue("note"))
	case "submit":
		_, actErr = s.Registry.Submit(ctx, p, id)
	case "approve":
		_, actErr = s.Registry.Approve(ctx, p, id)
	case "reject":
		_, actErr = s.Registry.Reject(ctx, p, id, r.PostFormValue("reason"))
	default:
		return errs.E(errs.NotFound, "no such action")
	}
	v, err := s.enrolmentView(r, p, id)
	if err != nil {
		return err
	}
	if actErr != nil {
		e := s.publicError(r, actErr)
		if e.Code == errs.Internal {
			return e
		}
		v.Problem = e
		if errors.Is(actErr, errUploadsBusy) {
			s.uploads.retryAfter(w)
		}
		return s.render(w, r, statusOf(e.Code), "enrolment", v)
	}
	http.Redirect(w, r, "/enrolments/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
	return nil
}

func (s *Server) enrolmentMaterial(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	mid, err := pathID(r, "material_id")
	if err != nil {
		return err
	}
	m, data, err := s.Registry.MaterialFile(r.Context(), p, id, mid)
	if err != nil {
		return err
	}
	(&download{ContentType: m.ContentType, Name: m.FileName, Data: data}).write(w, http.StatusOK)
	return nil
}

type staffPage struct {
	Employer registry.Employer
	Staff    []registry.StaffMember
	Total    int
	All      bool
	Reasons  []policy.Named
	Add      addStaffRequest
	Bulk     *registry.BulkResult
	Rows     []errs.RowProblem
	Notice   string
	Month    string
	Today    string
}

// Reason is a removal reason by its code, for its display names (a code the policy no longer
// lists shows as itself).
func (d *staffPage) Reason(code string) policy.Named {
	for _, n := range d.Reasons {
		if n.Code == code {
			return n
		}
	}
	return policy.Named{Code: code, NameZH: code, NameEN: code}
}

func (s *Server) staffView(r *http.Request, p *auth.Principal, data staffPage) (*View, error) {
	if p.EmployerID == 0 {
		return nil, errs.E(errs.NotFound, "this login is not linked to an employer")
	}
	ctx := r.Context()
	var uscc string
	if err := s.DB.R().QueryRowContext(ctx, "SELECT uscc FROM employers WHERE id = $1", p.EmployerID).Scan(&uscc); err != nil {
		return nil, errs.Wrap(errs.NotFound, err, "this login's employer is not registered")
	}
	e, err := s.Registry.Employer(ctx, p, uscc)
	if err != nil {
		return nil, err
	}
	list, total, err := s.Registry.Staff(ctx, p, uscc, data.All, 200, registry.StaffKey{})
	if err != nil {
		return nil, err
	}
	reasons, err := s.Registry.RemovalReasons(ctx, e.Region)
	if err != nil {
		return nil, err
	}
	data.Employer, data.Staff, data.Total, data.Reasons = e, list, total, reasons
	data.Month, data.Today = period.MonthOf(s.Now()).String(), period.Today(s.Now()).Format("2006-01-02")
	if data.Add.Month == "" {
		data.Add.Month = data.Month
	}
	return s.view(r, p, "staff.title", &data), nil
}

func (s *Server) staffPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v, err := s.staffView(r, p, staffPage{All: r.URL.Query().Get("all") == "true"})
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "staff", v)
}

// staffAction handles add, remove, base change and bulk upload from the staff page.
func (s *Server) staffAction(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	data := staffPage{}
	v, err := s.staffView(r, p, data)
	if err != nil {
		return err
	}
	uscc := string(v.Data.(*staffPage).Employer.USCC)
	ctx := r.Context()
	var actErr error
	l := pickLang(r)
	switch r.PathValue("action") {
	case "add":
		data.Add = addStaffRequest{IDNumber: r.PostFormValue("id_number"), Name: r.PostFormValue("name"), Base: r.PostFormValue("base"),
			Month: r.PostFormValue("month"), HukouType: r.PostFormValue("hukou_type"), Phone: r.PostFormValue("phone")}
		actErr = s.Registry.ChangeStaff(ctx, p, uscc, registry.StaffChange{Op: registry.OpAdd, IDNumber: data.Add.IDNumber, Name: data.Add.Name,
			Base: data.Add.Base, Month: data.Add.Month, Hukou: data.Add.HukouType, Phone: data.Add.Phone})
		data.Notice = l.T("staff.added")
	case "remove":
		actErr = s.Registry.ChangeStaff(ctx, p, uscc, registry.StaffChange{Op: registry.OpRemove, IDNumber: r.PostFormValue("id_number"),
			EndDate: r.PostFormValue("end_date"), Reason: r.PostFormValue("reason")})
		data.Notice = l.T("staff.removed")
	case "base":
		actErr = s.Registry.ChangeStaff(ctx, p, uscc, registry.StaffChange{Op: registry.OpChangeBase, IDNumber: r.PostFormValue("id_number"),
			Base: r.PostFormValue("base"), Month: r.PostFormValue("month")})
		data.Notice = l.T("staff.based")
	case "bulk":
		release, err := s.enterUpload(w, r)
		if err != nil {
			actErr = err
			break
		}
		defer release()
		file, name, err := formFile(r, "file", 20<<20, "choose a file")
		if err != nil {
			actErr = err
			break
		}
		res, err := s.Registry.ImportStaff(ctx, p, uscc, name, file)
		actErr, data.Bulk = err, &res
	case "cards":
		// Card applications for many staff at once: the same file shape as the staff file (its ID
		// number column is what counts), checked whole.
		if err := p.Require(auth.ApplyCard); err != nil {
			return err
		}
		release, err := s.enterUpload(w, r)
		if err != nil {
			actErr = err
			break
		}
		defer release()
		file, _, err := formFile(r, "file", 20<<20, "choose a file")
		if err != nil {
			actErr = err
			break
		}
		n, err := s.Cards.ApplyForStaff(ctx, p, file)
		actErr, data.Notice = err, fmt.Sprintf(l.T("staff.cards.done"), n)
	default:
		return errs.E(errs.NotFound, "no such action")
	}
	if actErr != nil {
		data.Notice, data.Bulk = "", nil
		if e, ok := errs.As(actErr); ok {
			data.Rows = e.Rows
		}
	} else {
		data.Add = addStaffRequest{}
		// Months already billed that the declarations reached back into are billed now, and said.
		for _, x := range s.billRestated(ctx, p, uscc) {
			if x.Bill != 0 {
				data.Notice += " " + fmt.Sprintf(l.T("staff.supplement"), x.Month, x.Persons, x.Total)
			}
		}
	}
	v, err = s.staffView(r, p, data)
	if err != nil {
		return err
	}
	if actErr != nil {
		return s.formError(w, r, v, "staff", actErr)
	}
	v.Notice = v.Data.(*staffPage).Notice
	return s.render(w, r, http.StatusOK, "staff", v)
}

type guidePage struct {
	Region     string
	Regions    []string
	Businesses []policy.Business
	Categories []policy.Category
	Missing    bool
}

func (s *Server) guidePage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	region := r.URL.Query().Get("region")
	if region == "" && p != nil && len(p.Regions) > 0 {
		region = p.Regions[0]
	}
	regions, err := s.Policies.Regions(r.Context())
	if err != nil {
		return err
	}
	if region == "" && len(regions) > 0 {
		region = regions[0]
	}
	data := guidePage{Region: region, Regions: regions}
	v, err := s.Policies.Effective(r.Context(), s.DB.R(), region, period.MonthOf(s.Now()))
	if err != nil {
		data.Missing = true
	} else {
		data.Businesses, data.Categories = v.Policy.Businesses, v.Policy.Categories
	}
	return s.render(w, r, http.StatusOK, "guide", s.view(r, p, "guide.title", data))
}

type policiesPage struct {
	Region     string
	Versions   []policyVersionView
	CanPropose bool
	CanReview  bool
	Draft      string
	// Form is the form of the common fields; Sent says which form a problem belongs to: "form"
	// or "json" (the whole document, the advanced way).
	Form *policyForm
	Sent string
}

type policyVersionView struct {
	ID, Region, From, Status, ProposedBy, ReviewedBy, RejectReason string
	Pending, Mine                                                  bool
}

func (s *Server) policiesView(r *http.Request, p *auth.Principal, draft string, sent string, typed map[string]string, typedBase int64) (*View, error) {
	region := p.Regions[0]
	vs, err := s.Policies.List(r.Context(), region)
	if err != nil {
		return nil, err
	}
	data := policiesPage{Region: region, CanPropose: p.Can(auth.ProposePolicy), CanReview: p.Can(auth.ReviewPolicy), Draft: draft, Sent: sent}
	for _, v := range vs {
		data.Versions = append(data.Versions, policyVersionView{ID: strconv.FormatInt(v.ID, 10), Region: v.Region, From: v.EffectiveFrom.String(),
			Status: string(v.Status), ProposedBy: v.ProposedBy, ReviewedBy: v.ReviewedBy, RejectReason: v.RejectReason,
			Pending: v.Status == "pending", Mine: v.ProposedBy == p.Username})
	}
	if data.Draft == "" && data.CanPropose && len(vs) > 0 {
		if v, err := s.Policies.Get(r.Context(), p, vs[0].ID); err == nil {
			data.Draft = v.Body
		}
	}
	if data.CanPropose {
		base, doc, err := s.policyFormBase(r.Context(), p, region, vs)
		if err != nil {
			return nil, err
		}
		baseFrom := doc.EffectiveFrom
		vals := typed
		if vals == nil {
			// A new version is proposed for a month to come: the next one, unless typed otherwise.
			vals = policyFormValues(doc)
			vals["effective_from"] = period.MonthOf(s.Now()).Add(1).String()
		} else if typedBase != base {
			base = typedBase
			if d, err := s.baseDocument(r.Context(), p, base); err == nil {
				baseFrom = d.EffectiveFrom
			}
		}
		data.Form = buildPolicyForm(pickLang(r), base, baseFrom, vals)
	}
	return s.view(r, p, "policies.title", data), nil
}

func (s *Server) policiesPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v, err := s.policiesView(r, p, "", "", nil, 0)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "policies", v)
}

func (s *Server) policiesAction(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ctx := r.Context()
	var actErr error
	draft, sent := "", ""
	var typed map[string]string
	var typedBase int64
	switch r.PathValue("action") {
	case "propose":
		if err := p.Require(auth.ProposePolicy); err != nil {
			return err
		}
		draft, sent = r.PostFormValue("policy"), "json"
		_, actErr = s.Policies.Propose(ctx, p, p.Actor(), []byte(draft))
	case "propose-form":
		if err := p.Require(auth.ProposePolicy); err != nil {
			return err
		}
		sent = "form"
		typed, typedBase, actErr = s.proposePolicyForm(r, p)
	case "approve", "reject":
		if err := p.Require(auth.ReviewPolicy); err != nil {
			return err
		}
		id, _ := strconv.ParseInt(r.PostFormValue("id"), 10, 64)
		if r.PathValue("action") == "approve" {
			_, actErr = s.Policies.Approve(ctx, p, id)
		} else {
			_, actErr = s.Policies.Reject(ctx, p, id, r.PostFormValue("reason"))
		}
	default:
		return errs.E(errs.NotFound, "no such action")
	}
	if actErr == nil {
		if sent != "" {
			s.setFlash(w, r, "flash.policy_proposed")
		}
		http.Redirect(w, r, "/policies", http.StatusSeeOther)
		return nil
	}
	v, err := s.policiesView(r, p, draft, sent, typed, typedBase)
	if err != nil {
		return err
	}
	return s.formError(w, r, v, "policies", actErr)
}

// pick chooses the text of the page's language.
func (l lang) pick(zhText, enText string) string {
	if l == en {
		return enText
	}
	return zhText
}
