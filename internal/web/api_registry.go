package web

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/registry"
)

// personJSON is a person as the API shows them. Gender and birth date come from the ID number.
type personJSON struct {
	IDNumber        string  `json:"id_number"`
	IDKind          string  `json:"id_kind"`
	Name            string  `json:"name"`
	Gender          string  `json:"gender"`
	BirthDate       string  `json:"birth_date"`
	Region          string  `json:"region"`
	Ethnicity       string  `json:"ethnicity"`
	HukouType       string  `json:"hukou_type"`
	HukouPlace      string  `json:"hukou_place"`
	ResidencePermit string  `json:"residence_permit"`
	Phone           string  `json:"phone"`
	Address         string  `json:"address"`
	CreatedAt       apiTime `json:"created_at"`
}

func toPersonJSON(p registry.Person) personJSON {
	return personJSON{IDNumber: string(p.IDNumber), IDKind: string(p.IDNumber.Kind()), Name: p.Name, Gender: string(p.Gender),
		BirthDate: p.BirthDate.Format("2006-01-02"), Region: p.Region, Ethnicity: p.Ethnicity, HukouType: string(p.Hukou),
		HukouPlace: p.HukouPlace, ResidencePermit: p.ResidencePermit, Phone: p.Phone, Address: p.Address, CreatedAt: apiTime(p.CreatedAt)}
}

type newPersonRequest struct {
	Region          string `json:"region"`
	IDNumber        string `json:"id_number"`
	AssignNumber    bool   `json:"assign_number"`
	BirthDate       string `json:"birth_date"`
	Gender          string `json:"gender"`
	Name            string `json:"name"`
	Ethnicity       string `json:"ethnicity"`
	HukouType       string `json:"hukou_type"`
	HukouPlace      string `json:"hukou_place"`
	ResidencePermit string `json:"residence_permit"`
	Phone           string `json:"phone"`
	Address         string `json:"address"`
}

func (q newPersonRequest) person() registry.NewPerson {
	return registry.NewPerson{Region: q.Region, IDNumber: q.IDNumber, AssignNumber: q.AssignNumber, BirthDate: q.BirthDate,
		Gender: q.Gender, Name: q.Name, Ethnicity: q.Ethnicity, Hukou: q.HukouType, HukouPlace: q.HukouPlace,
		ResidencePermit: q.ResidencePermit, Phone: q.Phone, Address: q.Address}
}

func (s *Server) apiRegisterPerson(r *http.Request, p *auth.Principal) (int, any, error) {
	var req newPersonRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	person, err := s.Registry.RegisterPerson(r.Context(), p, req.person())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, toPersonJSON(person), nil
}

func (s *Server) apiGetPerson(r *http.Request, p *auth.Principal) (int, any, error) {
	person, err := s.Registry.Person(r.Context(), p, r.PathValue("id_number"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toPersonJSON(person), nil
}

type participationJSON struct {
	Insurance    string `json:"insurance"`
	StartMonth   string `json:"start_month"`
	EndMonth     string `json:"end_month,omitempty"`
	EndReason    string `json:"end_reason,omitempty"`
	EmployerName string `json:"employer_name,omitempty"`
	Active       bool   `json:"active"`
}

func (s *Server) apiPersonParticipations(r *http.Request, p *auth.Principal) (int, any, error) {
	limit, err := listLimit(r, 200)
	if err != nil {
		return 0, nil, err
	}
	// Oldest first, by start month then id: the cursor packs the two of the previous page's last.
	var after registry.ParticipationKey
	if parts, err := unpackCursor(r, 2); err != nil {
		return 0, nil, err
	} else if parts != nil {
		ns, err := cursorInts(parts, 2)
		if err != nil || ns[1] < 1 {
			return 0, nil, badCursor()
		}
		after = registry.ParticipationKey{Start: period.Month(ns[0]), ID: ns[1]}
	}
	_, ps, err := s.Registry.ParticipationsPage(r.Context(), p, r.PathValue("id_number"), after, limit)
	if err != nil {
		return 0, nil, err
	}
	next := nextOf(len(ps), limit, func() string {
		k := ps[len(ps)-1].Key()
		return packCursor(strconv.Itoa(int(k.Start)), strconv.FormatInt(k.ID, 10))
	})
	return http.StatusOK, map[string]any{"participations": participationsJSON(ps), "next": next}, nil
}

func participationsJSON(ps []registry.Participation) []participationJSON {
	out := make([]participationJSON, 0, len(ps))
	for _, x := range ps {
		out = append(out, participationJSON{Insurance: string(x.Insurance), StartMonth: x.Start.String(), EndMonth: x.End.String(),
			EndReason: x.EndReason, EmployerName: x.Employer, Active: x.End == 0})
	}
	return out
}

// loginJSON is a login made or reset at the window: its holder sets the password with the code
// sent to their phone, which nobody else sees.
type loginJSON struct {
	Username   string     `json:"username"`
	State      auth.State `json:"state"`
	CodeSentTo string     `json:"code_sent_to"`
}

func toLoginJSON(u auth.User) loginJSON {
	return loginJSON{Username: u.Username, State: u.State, CodeSentTo: codeSentTo(u)}
}

func (s *Server) apiCreateResidentLogin(r *http.Request, p *auth.Principal) (int, any, error) {
	u, err := s.Registry.CreateResidentLogin(r.Context(), p, r.PathValue("id_number"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, toLoginJSON(u), nil
}

type resetLoginRequest struct {
	PresentedIDNumber string `json:"presented_id_number"`
}

func (s *Server) apiResetResidentLogin(r *http.Request, p *auth.Principal) (int, any, error) {
	var req resetLoginRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	u, err := s.Registry.ResetResidentLogin(r.Context(), p, r.PathValue("id_number"), req.PresentedIDNumber)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toLoginJSON(u), nil
}

type employerJSON struct {
	USCC        string  `json:"uscc"`
	Name        string  `json:"name"`
	Region      string  `json:"region"`
	LegalRep    string  `json:"legal_rep"`
	Address     string  `json:"address"`
	Industry    string  `json:"industry"`
	RiskClass   int     `json:"risk_class"`
	BankAccount string  `json:"bank_account"`
	CreatedAt   apiTime `json:"created_at"`
}

func toEmployerJSON(e registry.Employer) employerJSON {
	return employerJSON{USCC: string(e.USCC), Name: e.Name, Region: e.Region, LegalRep: e.LegalRep, Address: e.Address,
		Industry: e.Industry, RiskClass: e.RiskClass, BankAccount: e.BankAccount, CreatedAt: apiTime(e.CreatedAt)}
}

type newEmployerRequest struct {
	Region      string `json:"region"`
	USCC        string `json:"uscc"`
	Name        string `json:"name"`
	LegalRep    string `json:"legal_rep"`
	Address     string `json:"address"`
	Industry    string `json:"industry"`
	RiskClass   int    `json:"risk_class"`
	BankAccount string `json:"bank_account"`
}

func (s *Server) apiRegisterEmployer(r *http.Request, p *auth.Principal) (int, any, error) {
	var req newEmployerRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	e, err := s.Registry.RegisterEmployer(r.Context(), p, registry.NewEmployer{Region: req.Region, USCC: req.USCC, Name: req.Name,
		LegalRep: req.LegalRep, Address: req.Address, Industry: req.Industry, RiskClass: req.RiskClass, BankAccount: req.BankAccount})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, toEmployerJSON(e), nil
}

func (s *Server) apiGetEmployer(r *http.Request, p *auth.Principal) (int, any, error) {
	e, err := s.Registry.Employer(r.Context(), p, r.PathValue("uscc"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toEmployerJSON(e), nil
}

type operatorRequest struct {
	Username string `json:"username"`
	Name     string `json:"name"`
	Phone    string `json:"phone"`
}

func (s *Server) apiCreateOperator(r *http.Request, p *auth.Principal) (int, any, error) {
	var req operatorRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	u, err := s.Registry.CreateOperatorLogin(r.Context(), p, r.PathValue("uscc"), req.Username, req.Name, req.Phone)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, toLoginJSON(u), nil
}

type staffJSON struct {
	IDNumber  string `json:"id_number"`
	Name      string `json:"name"`
	Gender    string `json:"gender"`
	Start     string `json:"start_month"`
	End       string `json:"end_month,omitempty"`
	EndReason string `json:"end_reason,omitempty"`
	Base      string `json:"base"`
}

func (s *Server) apiListStaff(r *http.Request, p *auth.Principal) (int, any, error) {
	q := r.URL.Query()
	f := errs.Fields{}
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			f.Add("limit", "a whole number from 1 to 1000")
		}
		limit = n
	}
	// By name, then person: the cursor packs the person's id and name of the previous page's last.
	var after registry.StaffKey
	if parts, err := unpackCursor(r, 2); err != nil {
		f.Add("cursor", "the next of the previous page")
	} else if parts != nil {
		ids, err := cursorInts(parts, 1)
		if err != nil || ids[0] < 1 {
			f.Add("cursor", "the next of the previous page")
		} else {
			after = registry.StaffKey{PersonID: ids[0], Name: parts[1]}
		}
	}
	if err := f.Err(); err != nil {
		return 0, nil, err
	}
	list, total, err := s.Registry.Staff(r.Context(), p, r.PathValue("uscc"), q.Get("all") == "true", limit, after)
	if err != nil {
		return 0, nil, err
	}
	out := make([]staffJSON, 0, len(list))
	for _, m := range list {
		out = append(out, staffJSON{IDNumber: string(m.Person.IDNumber), Name: m.Person.Name, Gender: string(m.Person.Gender),
			Start: m.Start.String(), End: m.End.String(), EndReason: m.EndReason, Base: m.Base.String()})
	}
	next := nextOf(len(list), limit, func() string {
		k := list[len(list)-1].Key()
		return packCursor(strconv.FormatInt(k.PersonID, 10), k.Name)
	})
	return http.StatusOK, map[string]any{"staff": out, "total": total, "next": next}, nil
}

type addStaffRequest struct {
	IDNumber  string `json:"id_number"`
	Name      string `json:"name"`
	Base      string `json:"base"`
	Month     string `json:"month"`
	HukouType string `json:"hukou_type"`
	Ethnicity string `json:"ethnicity"`
	Phone     string `json:"phone"`
	Address   string `json:"address"`
}

func (s *Server) apiAddStaff(r *http.Request, p *auth.Principal) (int, any, error) {
	var req addStaffRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	err := s.Registry.ChangeStaff(r.Context(), p, r.PathValue("uscc"), registry.StaffChange{Op: registry.OpAdd, IDNumber: req.IDNumber,
		Name: req.Name, Base: req.Base, Month: req.Month, Hukou: req.HukouType, Ethnicity: req.Ethnicity, Phone: req.Phone, Address: req.Address})
	if err != nil {
		return 0, nil, err
	}
	return s.apiPersonAfter(r, p, req.IDNumber, http.StatusCreated)
}

// apiPersonAfter answers a staff change with the person's participations as they now stand, and
// the supplementary bills it made for months already billed.
func (s *Server) apiPersonAfter(r *http.Request, p *auth.Principal, idNumber string, status int) (int, any, error) {
	sups := s.billRestated(r.Context(), p, r.PathValue("uscc"))
	person, ps, err := s.Registry.Participations(r.Context(), p, idNumber)
	if err != nil {
		return 0, nil, err
	}
	return status, map[string]any{"person": toPersonJSON(person), "participations": participationsJSON(ps), "supplementary_bills": sups}, nil
}

type removeStaffRequest struct {
	EndDate string `json:"end_date"`
	Reason  string `json:"reason"`
}

func (s *Server) apiRemoveStaff(r *http.Request, p *auth.Principal) (int, any, error) {
	var req removeStaffRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	id := r.PathValue("id_number")
	if err := s.Registry.ChangeStaff(r.Context(), p, r.PathValue("uscc"), registry.StaffChange{Op: registry.OpRemove, IDNumber: id,
		EndDate: req.EndDate, Reason: req.Reason}); err != nil {
		return 0, nil, err
	}
	return s.apiPersonAfter(r, p, id, http.StatusOK)
}

type baseRequest struct {
	Base  string `json:"base"`
	Month string `json:"month"`
}

func (s *Server) apiChangeBase(r *http.Request, p *auth.Principal) (int, any, error) {
	var req baseRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	id := r.PathValue("id_number")
	if err := s.Registry.ChangeStaff(r.Context(), p, r.PathValue("uscc"), registry.StaffChange{Op: registry.OpChangeBase, IDNumber: id,
		Base: req.Base, Month: req.Month}); err != nil {
		return 0, nil, err
	}
	return s.apiPersonAfter(r, p, id, http.StatusOK)
}

// readUpload reads a raw request body of at most max bytes.
func readUpload(r *http.Request, max int64) ([]byte, error) {
	b, err := readAllSized(http.MaxBytesReader(nil, r.Body, max), r.ContentLength, max)
	if err != nil {
		if _, ok := err.(*http.MaxBytesError); ok {
			return nil, errs.Field("file", "larger than "+strconv.FormatInt(max>>20, 10)+" MiB")
		}
		return nil, errs.E(errs.BadRequest, "the upload could not be read")
	}
	if len(b) == 0 {
		return nil, errs.Field("file", "the body is empty; send the file as the request body")
	}
	return b, nil
}

type bulkJSON struct {
	Rows               int              `json:"rows"`
	Applied            int              `json:"applied"`
	Repeated           bool             `json:"repeated"`
	SupplementaryBills []supplementJSON `json:"supplementary_bills"`
}

func (s *Server) apiBulkStaff(r *http.Request, p *auth.Principal) (int, any, error) {
	data, err := readUpload(r, maxUpload)
	if err != nil {
		return 0, nil, err
	}
	res, err := s.Registry.ImportStaff(r.Context(), p, r.PathValue("uscc"), r.URL.Query().Get("file_name"), data)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, bulkJSON{Rows: res.Rows, Applied: res.Applied, Repeated: res.Repeated,
		SupplementaryBills: s.billRestated(r.Context(), p, r.PathValue("uscc"))}, nil
}

func (s *Server) staffTemplate(w http.ResponseWriter, r *http.Request) {
	var b bytes.Buffer
	if err := registry.StaffTemplate(&b); err != nil {
		s.fail(w, r, err)
		return
	}
	(&download{ContentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Name: "shebao-staff-template.xlsx",
		Data: b.Bytes()}).write(w, http.StatusOK)
}
