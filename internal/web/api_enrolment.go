package web

import (
	"net/http"
	"strconv"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/registry"
)

type materialJSON struct {
	ID          int64   `json:"id"`
	Code        string  `json:"code"`
	FileName    string  `json:"file_name"`
	ContentType string  `json:"content_type"`
	Size        int64   `json:"size"`
	SHA256      string  `json:"sha256"`
	UploadedBy  string  `json:"uploaded_by"`
	UploadedAt  apiTime `json:"uploaded_at"`
	Check       string  `json:"check"`
	CheckNote   string  `json:"check_note,omitempty"`
	CheckedBy   string  `json:"checked_by,omitempty"`
}

func toMaterialJSON(m registry.Material) materialJSON {
	return materialJSON{ID: m.ID, Code: m.Code, FileName: m.FileName, ContentType: m.ContentType, Size: m.Size, SHA256: m.SHA256,
		UploadedBy: m.UploadedBy, UploadedAt: apiTime(m.UploadedAt), Check: string(m.Check), CheckNote: m.CheckNote, CheckedBy: m.CheckedBy}
}

type checklistJSON struct {
	Code       string `json:"code"`
	NameZH     string `json:"name_zh"`
	NameEN     string `json:"name_en"`
	MaterialID int64  `json:"material_id,omitempty"`
	Check      string `json:"check"`
}

type enrolmentJSON struct {
	ID           int64           `json:"id"`
	Region       string          `json:"region"`
	IDNumber     string          `json:"id_number"`
	Name         string          `json:"name"`
	Category     string          `json:"category"`
	EmployerName string          `json:"employer_name,omitempty"`
	StartMonth   string          `json:"start_month"`
	Base         string          `json:"base"`
	Status       string          `json:"status"`
	PreparedBy   string          `json:"prepared_by"`
	PreparedAt   apiTime         `json:"prepared_at"`
	ReviewedBy   string          `json:"reviewed_by,omitempty"`
	RejectReason string          `json:"reject_reason,omitempty"`
	Checklist    []checklistJSON `json:"checklist,omitempty"`
	Materials    []materialJSON  `json:"materials,omitempty"`
}

func toEnrolmentJSON(e registry.Enrolment) enrolmentJSON {
	out := enrolmentJSON{ID: e.ID, Region: e.Region, IDNumber: string(e.Person.IDNumber), Name: e.Person.Name, Category: e.Category,
		EmployerName: e.EmployerName, StartMonth: e.Start.String(), Base: e.Base.String(), Status: string(e.Status),
		PreparedBy: e.PreparedBy, PreparedAt: apiTime(e.PreparedAt), ReviewedBy: e.ReviewedBy, RejectReason: e.RejectReason}
	for _, c := range e.Checklist {
		item := checklistJSON{Code: c.Material.Code, NameZH: c.Material.NameZH, NameEN: c.Material.NameEN, Check: "missing"}
		if c.Upload != nil {
			item.MaterialID, item.Check = c.Upload.ID, string(c.Upload.Check)
		}
		out.Checklist = append(out.Checklist, item)
	}
	for _, m := range e.Materials {
		out.Materials = append(out.Materials, toMaterialJSON(m))
	}
	return out
}

type newEnrolmentRequest struct {
	IDNumber     string `json:"id_number"`
	Category     string `json:"category"`
	EmployerUSCC string `json:"employer_uscc"`
	StartMonth   string `json:"start_month"`
	Base         string `json:"base"`
}

func (s *Server) apiCreateEnrolment(r *http.Request, p *auth.Principal) (int, any, error) {
	var req newEnrolmentRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	e, err := s.Registry.CreateEnrolment(r.Context(), p, registry.NewEnrolment{IDNumber: req.IDNumber, Category: req.Category,
		EmployerUSCC: req.EmployerUSCC, StartMonth: req.StartMonth, Base: req.Base})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, toEnrolmentJSON(e), nil
}

func (s *Server) apiListEnrolments(r *http.Request, p *auth.Principal) (int, any, error) {
	limit, before, err := idPage(r, 200)
	if err != nil {
		return 0, nil, err
	}
	es, err := s.Registry.Enrolments(r.Context(), p, registry.EnrolmentQuery{Status: registry.Status(r.URL.Query().Get("status")),
		Limit: limit, Before: before})
	if err != nil {
		return 0, nil, err
	}
	out := make([]enrolmentJSON, 0, len(es))
	for _, e := range es {
		out = append(out, toEnrolmentJSON(e))
	}
	next := nextOf(len(es), limit, func() string { return strconv.FormatInt(es[len(es)-1].ID, 10) })
	return http.StatusOK, map[string]any{"enrolments": out, "next": next}, nil
}

func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id < 1 {
		// Malformed, it can name nothing: the request is invalid (422 naming the path value,
		// as a malformed month or code is), not a look-up that found nothing.
		return 0, errs.Field(name, "a positive whole number")
	}
	return id, nil
}

// enrolmentCall runs fn with the enrolment id of the path and answers with the application.
func (s *Server) enrolmentCall(r *http.Request, fn func(id int64) (registry.Enrolment, error)) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	e, err := fn(id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toEnrolmentJSON(e), nil
}

func (s *Server) apiGetEnrolment(r *http.Request, p *auth.Principal) (int, any, error) {
	return s.enrolmentCall(r, func(id int64) (registry.Enrolment, error) { return s.Registry.Enrolment(r.Context(), p, id) })
}

func (s *Server) apiSubmitEnrolment(r *http.Request, p *auth.Principal) (int, any, error) {
	return s.enrolmentCall(r, func(id int64) (registry.Enrolment, error) { return s.Registry.Submit(r.Context(), p, id) })
}

func (s *Server) apiApproveEnrolment(r *http.Request, p *auth.Principal) (int, any, error) {
	return s.enrolmentCall(r, func(id int64) (registry.Enrolment, error) { return s.Registry.Approve(r.Context(), p, id) })
}

type reasonRequest struct {
	Reason string `json:"reason"`
}

func (s *Server) apiRejectEnrolment(r *http.Request, p *auth.Principal) (int, any, error) {
	var req reasonRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	return s.enrolmentCall(r, func(id int64) (registry.Enrolment, error) { return s.Registry.Reject(r.Context(), p, id, req.Reason) })
}

// maxMaterial bounds a material upload before the policy's own, usually lower, limit applies.
const maxMaterial = 50 << 20

func (s *Server) apiAddMaterial(r *http.Request, p *auth.Principal) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	data, err := readUpload(r, maxMaterial)
	if err != nil {
		return 0, nil, err
	}
	q := r.URL.Query()
	m, err := s.Registry.AddMaterial(r.Context(), p, id, q.Get("code"), q.Get("file_name"), data)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, toMaterialJSON(m), nil
}

func (s *Server) apiGetMaterial(r *http.Request, p *auth.Principal) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	mid, err := pathID(r, "material_id")
	if err != nil {
		return 0, nil, err
	}
	m, data, err := s.Registry.MaterialFile(r.Context(), p, id, mid)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, &download{ContentType: m.ContentType, Name: m.FileName, Data: data}, nil
}

type checkRequest struct {
	Result string `json:"result"`
	Note   string `json:"note"`
}

func (s *Server) apiCheckMaterial(r *http.Request, p *auth.Principal) (int, any, error) {
	var req checkRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	mid, err := pathID(r, "material_id")
	if err != nil {
		return 0, nil, err
	}
	m, err := s.Registry.CheckMaterial(r.Context(), p, id, mid, registry.Check(req.Result), req.Note)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toMaterialJSON(m), nil
}

type insuranceStatusJSON struct {
	Insurance    string `json:"insurance"`
	Active       bool   `json:"active"`
	Since        string `json:"since"`
	Until        string `json:"until,omitempty"`
	EmployerName string `json:"employer_name,omitempty"`
}

func (s *Server) apiMyInsurance(r *http.Request, p *auth.Principal) (int, any, error) {
	me, st, err := s.Registry.MyInsurance(r.Context(), p)
	if err != nil {
		return 0, nil, err
	}
	out := make([]insuranceStatusJSON, 0, len(st))
	for _, x := range st {
		out = append(out, insuranceStatusJSON{Insurance: string(x.Insurance), Active: x.Active, Since: x.Since.String(),
			Until: x.Until.String(), EmployerName: x.Employer})
	}
	return http.StatusOK, map[string]any{"person": toPersonJSON(me), "insurance": out}, nil
}
