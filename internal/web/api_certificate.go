package web

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/certificate"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/rights"
)

// The certificate API (SPEC 3.7). Issuing answers 201 with JSON — the serial, the verification
// page's address, where the PDF is (GET …/pdf, the same file each time) and the data certified —
// rather than the PDF itself, so that a retry under the same Idempotency-Key gets the very answer
// of the first request (kept as JSON) and never a second certificate. The public checks need no
// login; they are limited per client address (verifyPerWindow in ten minutes) and a presented
// PDF to maxCertificateBody bytes.

// verifyPerWindow is how many public certificate checks one address may make in ten minutes:
// enough for an HR office checking a stack of certificates, too few to walk the serials.
const verifyPerWindow = 120

// maxCertificateBody bounds a PDF presented for checking: a certificate is some tens of KiB.
const maxCertificateBody = 2 << 20

type certificateRequest struct {
	From string `json:"from"`
	To   string `json:"to"`
}

type coverageJSON struct {
	Insurance string   `json:"insurance"`
	Months    int      `json:"months"`
	Periods   []string `json:"periods"`
	Payers    []string `json:"payers"`
	Amount    string   `json:"amount,omitempty"` // yuan; left out by the public check
}

type certStaffJSON struct {
	Name     string   `json:"name"`
	IDNumber string   `json:"id_number"` // masked
	Months   int      `json:"months"`
	Periods  []string `json:"periods"`
}

// certificateDataJSON is what a certificate certifies, amounts in yuan as everywhere in the API.
type certificateDataJSON struct {
	Serial     string                `json:"serial"`
	Kind       string                `json:"kind"`
	Region     string                `json:"region"`
	BureauZH   string                `json:"bureau_zh"`
	BureauEN   string                `json:"bureau_en"`
	IssuedOn   string                `json:"issued_on"`
	ValidUntil string                `json:"valid_until"`
	From       string                `json:"from"`
	To         string                `json:"to"`
	KeyVersion int                   `json:"key_version"`
	Person     *certificate.Person   `json:"person,omitempty"`
	Employer   *certificate.Employer `json:"employer,omitempty"`
	Insurances []coverageJSON        `json:"insurances,omitempty"`
	Staff      []certStaffJSON       `json:"staff,omitempty"`
}

func toCertificateDataJSON(d certificate.Data, amounts bool) certificateDataJSON {
	out := certificateDataJSON{Serial: d.Serial, Kind: d.Kind, Region: d.Region, BureauZH: d.BureauZH, BureauEN: d.BureauEN, IssuedOn: d.IssuedOn,
		ValidUntil: d.ValidUntil, From: d.From, To: d.To, KeyVersion: d.KeyVersion, Person: d.Person, Employer: d.Employer}
	for _, c := range d.Insurances {
		j := coverageJSON{Insurance: c.Insurance, Months: c.Months, Periods: c.Periods, Payers: c.Payers}
		if amounts {
			j.Amount = money.Fen(c.AmountFen).String()
		}
		out.Insurances = append(out.Insurances, j)
	}
	for _, st := range d.Staff {
		out.Staff = append(out.Staff, certStaffJSON{Name: st.Name, IDNumber: st.IDMasked, Months: st.Months, Periods: st.Periods})
	}
	return out
}

type issuedJSON struct {
	Serial      string              `json:"serial"`
	VerifyURL   string              `json:"verify_url"`
	PDFURL      string              `json:"pdf_url"`
	Certificate certificateDataJSON `json:"certificate"`
}

// publicURL is the address the portal is reached at: the configured one, or the request's.
func (s *Server) publicURL(r *http.Request) string {
	if s.PublicURL != "" {
		return strings.TrimSuffix(s.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil || s.SecureCookies {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) verifyURL(r *http.Request, serial string) string {
	return s.publicURL(r) + "/verify/" + url.PathEscape(serial)
}

func (s *Server) issued(r *http.Request, c certificate.Certificate) issuedJSON {
	return issuedJSON{Serial: c.Data.Serial, VerifyURL: s.verifyURL(r, c.Data.Serial), PDFURL: "/api/v1/certificates/" + c.Data.Serial + "/pdf",
		Certificate: toCertificateDataJSON(c.Data, true)}
}

func (s *Server) issueCertificate(r *http.Request, p *auth.Principal, issue func(from, to string) (certificate.Certificate, error)) (int, any, error) {
	var req certificateRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	c, err := issue(req.From, req.To)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, s.issued(r, c), nil
}

func (s *Server) apiMyCertificate(r *http.Request, p *auth.Principal) (int, any, error) {
	if p.Role != auth.Resident {
		return 0, nil, errs.E(errs.Forbidden, "a resident's own certificate: the bureau issues one at /persons/{id_number}/certificates, an employer its staff's")
	}
	return s.issueCertificate(r, p, func(from, to string) (certificate.Certificate, error) {
		return s.Certificates.IssuePerson(r.Context(), p, "", from, to)
	})
}

func (s *Server) apiPersonCertificate(r *http.Request, p *auth.Principal) (int, any, error) {
	if p.Role != auth.Clerk {
		return 0, nil, errs.E(errs.Forbidden, "a person's certificate is issued at the window; a resident asks at /me/certificates")
	}
	return s.issueCertificate(r, p, func(from, to string) (certificate.Certificate, error) {
		return s.Certificates.IssuePerson(r.Context(), p, r.PathValue("id_number"), from, to)
	})
}

func (s *Server) apiEmployerCertificate(r *http.Request, p *auth.Principal) (int, any, error) {
	return s.issueCertificate(r, p, func(from, to string) (certificate.Certificate, error) {
		return s.Certificates.IssueEmployer(r.Context(), p, r.PathValue("uscc"), from, to)
	})
}

func (s *Server) certificatePDF(r *http.Request, p *auth.Principal, serial string) (*download, error) {
	c, err := s.Certificates.Get(r.Context(), p, serial)
	if err != nil {
		return nil, err
	}
	pdf, err := certificate.Render(c, s.verifyURL(r, c.Data.Serial))
	if err != nil {
		return nil, err
	}
	return &download{ContentType: "application/pdf", Name: "certificate-" + c.Data.Serial + ".pdf", Data: pdf}, nil
}

func (s *Server) apiCertificatePDF(r *http.Request, p *auth.Principal) (int, any, error) {
	d, err := s.certificatePDF(r, p, r.PathValue("serial"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, d, nil
}

// checkJSON is a check's finding: verdict is valid, expired, not_issued, altered or damaged.
type checkJSON struct {
	Serial      string               `json:"serial"`
	Found       bool                 `json:"found"`
	Genuine     bool                 `json:"genuine"`
	Valid       bool                 `json:"valid"`
	Verdict     string               `json:"verdict"`
	Reason      string               `json:"reason"`
	Certificate *certificateDataJSON `json:"certificate"`
}

func toCheckJSON(res certificate.Result) checkJSON {
	out := checkJSON{Serial: res.Serial, Found: res.Found, Genuine: res.Genuine, Valid: res.Valid, Verdict: res.Verdict, Reason: res.Reason}
	if res.Genuine {
		d := toCertificateDataJSON(res.Data.Masked(), false)
		out.Certificate = &d
	}
	return out
}

// limitVerify counts a public check against the caller's address.
func (s *Server) limitVerify(r *http.Request) error {
	key := "verify:" + clientAddr(r)
	if !s.verifyLimit.Allow(key) {
		return errs.E(errs.TooMany, "too many certificate checks from your address; try again in a few minutes")
	}
	s.verifyLimit.Fail(key) // every check counts, genuine or not
	return nil
}

func (s *Server) apiCheckCertificate(w http.ResponseWriter, r *http.Request) {
	if err := s.limitVerify(r); err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.Certificates.Check(r.Context(), r.PathValue("serial"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, toCheckJSON(res))
}

// apiVerifyCertificate checks a presented certificate: the PDF file itself, or the payload taken
// from it (text). Genuine means its signature is the region's over exactly the data the bureau
// issued under its serial.
func (s *Server) apiVerifyCertificate(w http.ResponseWriter, r *http.Request) {
	if err := s.limitVerify(r); err != nil {
		s.fail(w, r, err)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCertificateBody))
	if err != nil {
		var big *http.MaxBytesError
		if errors.As(err, &big) {
			s.fail(w, r, errs.E(errs.BadRequest, "the body is larger than %d bytes; a certificate's PDF is far smaller", maxCertificateBody))
			return
		}
		s.fail(w, r, errs.E(errs.BadRequest, "the body could not be read"))
		return
	}
	res, err := s.Certificates.CheckPayload(r.Context(), bytes.TrimSpace(body))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, toCheckJSON(res))
}

// rightsRecord prints the resident's personal rights record of the year in the path.
func (s *Server) rightsRecord(r *http.Request, p *auth.Principal) (*download, error) {
	year, err := strconv.Atoi(r.PathValue("year"))
	if err != nil {
		return nil, errs.Field("year", "a year such as 2025")
	}
	rec, err := s.Rights.Of(r.Context(), p, year)
	if err != nil {
		return nil, err
	}
	pdf, err := rights.Render(rec)
	if err != nil {
		return nil, err
	}
	return &download{ContentType: "application/pdf", Name: "rights-record-" + strconv.Itoa(year) + ".pdf", Data: pdf}, nil
}

func (s *Server) apiMyRightsRecord(r *http.Request, p *auth.Principal) (int, any, error) {
	d, err := s.rightsRecord(r, p)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, d, nil
}
