package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/certificate"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/period"
)

// The certificate in the portal: the public verification page anyone reaches from a
// certificate's QR code (no login), and the page where a resident takes their own certificate, a
// clerk a person's at the window and an employer's HR the certificate for its staff.

type verifyPage struct {
	Serial string
	Result *certificate.Result
	Data   *certificate.Data // the data certified, masked; only for a genuine certificate
}

// verifyPage: GET /verify shows the form; GET /verify?serial=… goes to /verify/{serial}, the
// address the QR code holds, which checks it.
func (s *Server) verifyPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	serial := strings.TrimSpace(r.PathValue("serial"))
	if serial == "" {
		if q := strings.TrimSpace(r.URL.Query().Get("serial")); q != "" {
			http.Redirect(w, r, "/verify/"+url.PathEscape(q), http.StatusSeeOther)
			return nil
		}
	}
	data := &verifyPage{Serial: serial}
	v := s.view(r, p, "verify.title", data)
	if serial == "" {
		return s.render(w, r, http.StatusOK, "verify", v)
	}
	if err := s.limitVerify(r); err != nil {
		return s.formError(w, r, v, "verify", certProblem(v.Lang, err))
	}
	res, err := s.Certificates.Check(r.Context(), serial)
	if err != nil {
		return s.formError(w, r, v, "verify", certProblem(v.Lang, err))
	}
	data.Result = &res
	if res.Genuine {
		m := res.Data.Masked()
		data.Data = &m
	}
	status := http.StatusOK
	if !res.Found {
		status = http.StatusNotFound
	}
	return s.render(w, r, status, "verify", v)
}

type certificatesPage struct {
	Role     string // resident, employer or clerk: which forms the page shows
	From, To string
	IDNumber string // a clerk's person
	USCC     string // a clerk's employer
	Employer string // an employer's own name
	Years    []int  // a resident's rights records on offer, newest first
}

func (s *Server) certificatesView(r *http.Request, p *auth.Principal) (*View, *certificatesPage) {
	now := period.MonthOf(s.Now())
	data := &certificatesPage{Role: string(p.Role), From: now.Add(-11).String(), To: now.String(),
		IDNumber: strings.TrimSpace(r.FormValue("id_number")), USCC: strings.TrimSpace(r.FormValue("uscc"))}
	if f := strings.TrimSpace(r.FormValue("from")); f != "" {
		data.From = f
	}
	if t := strings.TrimSpace(r.FormValue("to")); t != "" {
		data.To = t
	}
	if p.Role == auth.Resident {
		for y := period.Today(s.Now()).Year(); len(data.Years) < 5; y-- {
			data.Years = append(data.Years, y)
		}
	}
	if p.Role == auth.Employer && p.EmployerID != 0 {
		var uscc, name string
		if err := s.DB.R().QueryRowContext(r.Context(), "SELECT uscc, name FROM employers WHERE id = $1", p.EmployerID).Scan(&uscc, &name); err == nil {
			data.USCC, data.Employer = uscc, name
		}
	}
	return s.view(r, p, "cert.title", data), data
}

func (s *Server) certificatesPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v, _ := s.certificatesView(r, p)
	return s.render(w, r, http.StatusOK, "certificates", v)
}

// certificatesIssue issues the certificate the form asks for and answers with its PDF; a problem
// keeps the form, with the field named.
func (s *Server) certificatesIssue(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return errs.E(errs.BadRequest, "the form could not be read")
	}
	v, data := s.certificatesView(r, p)
	ctx := r.Context()
	var c certificate.Certificate
	var err error
	switch {
	case p.Role == auth.Resident:
		c, err = s.Certificates.IssuePerson(ctx, p, "", data.From, data.To)
	case p.Role == auth.Employer:
		if data.USCC == "" {
			return errs.E(errs.NotFound, "this login is not linked to an employer")
		}
		c, err = s.Certificates.IssueEmployer(ctx, p, data.USCC, data.From, data.To)
	case r.PostFormValue("kind") == certificate.KindEmployer:
		if data.USCC == "" {
			err = errs.Field("uscc", "required")
		} else {
			c, err = s.Certificates.IssueEmployer(ctx, p, data.USCC, data.From, data.To)
		}
	default:
		if data.IDNumber == "" {
			err = errs.Field("id_number", "required")
		} else {
			c, err = s.Certificates.IssuePerson(ctx, p, data.IDNumber, data.From, data.To)
		}
	}
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			v.Problem = s.publicError(r, err)
			return s.render(w, r, http.StatusNotFound, "certificates", v)
		}
		return s.formError(w, r, v, "certificates", certProblem(v.Lang, err))
	}
	pdf, err := certificate.Render(c, s.verifyURL(r, c.Data.Serial))
	if err != nil {
		return err
	}
	(&download{ContentType: "application/pdf", Name: "certificate-" + c.Data.Serial + ".pdf", Data: pdf}).write(w, http.StatusOK)
	return nil
}

// rightsRecordPDF downloads the resident's personal rights record of a year; a problem goes back
// to the certificates page with the field named.
func (s *Server) rightsRecordPDF(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	d, err := s.rightsRecord(r, p)
	if err != nil {
		v, _ := s.certificatesView(r, p)
		return s.formError(w, r, v, "certificates", certProblem(v.Lang, err))
	}
	d.write(w, http.StatusOK)
	return nil
}

// certProblem says the certificate pages' own problems in the reader's language: a field of the
// form (serial, months, year, ID number, credit code), too many checks, a name the font lacks.
// Anything else goes on as it is.
func certProblem(l lang, err error) error {
	e, ok := errs.As(err)
	if !ok {
		return err
	}
	switch e.Code {
	case errs.Invalid:
		out := &errs.Error{Code: errs.Invalid, Fields: map[string]string{}}
		for f := range e.Fields {
			key := "cert.bad." + f
			if _, known := messages[key]; !known {
				key = "cert.bad.other"
			}
			out.Fields[f] = l.T(key)
		}
		out.Message = l.T("cert.bad")
		return out
	case errs.TooMany:
		return &errs.Error{Code: errs.TooMany, Message: l.T("verify.too_many")}
	case errs.Unavailable:
		if strings.Contains(e.Message, "font cannot print") {
			return &errs.Error{Code: errs.Unavailable, Message: l.T("cert.font")}
		}
	}
	return err
}
