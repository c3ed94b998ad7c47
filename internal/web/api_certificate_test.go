package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/certificate"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
)

// paidMonth bills this month and pays the test employer's bill in full, so that P1 has a month
// to certify.
func (e *testEnv) paidMonth() {
	e.t.Helper()
	payer := e.billedEmployer()
	var total int64
	if err := e.db.R().QueryRowContext(context.Background(), "SELECT total FROM bills WHERE payer = $1", payer).Scan(&total); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.contrib.RecordPayment(context.Background(), e.principal(auth.Bank), contrib.NewPayment{IdemKey: "cert-" + payer, Payer: payer,
		Amount: money.Fen(total).String(), PaidOn: period.Today(e.db.Now()).Format("2006-01-02")}); err != nil {
		e.t.Fatal(err)
	}
}

// rawGet fetches a path as role (or nobody), with the headers of the answer.
func (e *testEnv) rawGet(role auth.Role, path string) (int, []byte, http.Header) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.http.URL+path, nil)
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[role])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		if os.Getenv("SHEBAO_REQUIRE_PDFTOTEXT") != "" {
			t.Fatal("pdftotext is not installed and SHEBAO_REQUIRE_PDFTOTEXT is set")
		}
		t.Skip("pdftotext is not installed (apt-get install poppler-utils)")
	}
	file := filepath.Join(t.TempDir(), "c.pdf")
	if err := os.WriteFile(file, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", file, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// qrOfPDF prints the PDF's first page to an image (pdftoppm) and reads the QR code on it (zbarimg,
// Debian's zbar-tools), as a phone's camera would.
func qrOfPDF(t *testing.T, pdf []byte) string {
	t.Helper()
	for _, tool := range []string{"pdftoppm", "zbarimg"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("SHEBAO_REQUIRE_PDFTOTEXT") != "" {
				t.Fatalf("%s is not installed (apt-get install poppler-utils zbar-tools) and SHEBAO_REQUIRE_PDFTOTEXT is set", tool)
			}
			t.Skipf("%s is not installed (apt-get install poppler-utils zbar-tools)", tool)
		}
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "c.pdf")
	if err := os.WriteFile(file, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("pdftoppm", "-r", "150", "-f", "1", "-l", "1", "-png", "-singlefile", file, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, out)
	}
	out, err := exec.Command("zbarimg", "-q", "--raw", filepath.Join(dir, "page.png")).Output()
	if err != nil {
		t.Fatalf("zbarimg finds no QR code on the page: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestCertificateAPI: a resident issues their certificate under an Idempotency-Key (a retry gets
// the same serial), fetches its PDF, and anyone checks it by serial and by the PDF; an altered
// payload is not genuine; the clerk and the employer issue theirs; bad input names its field; the
// public checks are limited per address.
func TestCertificateAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newTestEnv(t, d)
		e.paidMonth()
		now := period.MonthOf(d.Now())
		body := fmt.Sprintf(`{"from":%q,"to":%q}`, now.Add(-11).String(), now.String())

		status, resp, _ := e.callKeyed(e.tokens[auth.Resident], "POST", "/api/v1/me/certificates", body, "")
		if bad := errorOf(t, resp); status != 422 || bad.Fields["idempotency_key"] == "" {
			t.Fatalf("no key: %d %s", status, resp)
		}
		status, first, _ := e.callKeyed(e.tokens[auth.Resident], "POST", "/api/v1/me/certificates", body, "cert-1")
		if status != 201 {
			t.Fatalf("issue: %d %s", status, first)
		}
		issued := decode[issuedJSON](t, first)
		if len(issued.Serial) != 18 || issued.VerifyURL != e.http.URL+"/verify/"+issued.Serial || issued.PDFURL != "/api/v1/certificates/"+issued.Serial+"/pdf" {
			t.Fatalf("issued: %+v", issued)
		}
		pension := issued.Certificate.Insurances[0]
		if pension.Insurance != "pension" || pension.Months != 1 || pension.Payers[0] != "测试公司" || pension.Amount == "" || pension.Amount == "0.00" {
			t.Fatalf("pension coverage: %+v", pension)
		}
		status, again, h := e.callKeyed(e.tokens[auth.Resident], "POST", "/api/v1/me/certificates", body, "cert-1")
		if status != 201 || again != first || h.Get("Idempotency-Replayed") != "true" {
			t.Fatalf("retry: %d %s (replayed %q)", status, again, h.Get("Idempotency-Replayed"))
		}
		if status, resp, _ := e.callKeyed(e.tokens[auth.Resident], "POST", "/api/v1/me/certificates", `{"from":"202001","to":"202002"}`, "cert-1"); status != 409 {
			t.Fatalf("the key with another period: %d %s", status, resp)
		}
		status, resp, _ = e.callKeyed(e.tokens[auth.Resident], "POST", "/api/v1/me/certificates", `{"from":"20261x","to":"`+now.Add(1).String()+`"}`, "cert-2")
		if bad := errorOf(t, resp); status != 422 || bad.Fields["from"] == "" {
			t.Fatalf("bad period: %d %s", status, resp)
		}
		status, resp, _ = e.callKeyed(e.tokens[auth.Resident], "POST", "/api/v1/me/certificates", `{"from":"`+now.String()+`","to":"`+now.Add(1).String()+`"}`, "cert-3")
		if bad := errorOf(t, resp); status != 422 || bad.Fields["to"] == "" {
			t.Fatalf("a period into the future: %d %s", status, resp)
		}

		// The PDF, to its issuer: Chinese text and the verification address come back.
		status, pdf, hdr := e.rawGet(auth.Resident, issued.PDFURL)
		if status != 200 || hdr.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(pdf, []byte("%PDF")) {
			t.Fatalf("pdf: %d %s", status, hdr.Get("Content-Type"))
		}
		if status, _, _ := e.rawGet(auth.Employer, issued.PDFURL); status != 404 {
			t.Fatalf("another's PDF: %d", status)
		}
		text := pdfText(t, pdf)
		for _, want := range []string{"参保证明", "养老保险", "测试公司", issued.Serial, issued.VerifyURL} {
			if !strings.Contains(text, want) {
				t.Errorf("the PDF's text lacks %q:\n%s", want, text)
			}
		}

		// Its QR code, read off the printed page, leads to the verification page, which says valid.
		if got := qrOfPDF(t, pdf); got != issued.VerifyURL {
			t.Fatalf("the QR code reads %q, want %q", got, issued.VerifyURL)
		}
		vr, err := http.Get(issued.VerifyURL)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(vr.Body)
		vr.Body.Close()
		if vr.StatusCode != 200 || !strings.Contains(string(page), `data-verdict="valid"`) {
			t.Fatalf("the QR code's page: %d %.500s", vr.StatusCode, page)
		}

		// Anyone checks it by serial: genuine and valid, the name masked, no amounts.
		status, resp = e.do("", "GET", "/api/v1/certificates/"+issued.Serial, "")
		check := decode[checkJSON](t, resp)
		if status != 200 || !check.Genuine || !check.Valid || check.Verdict != "valid" || check.Certificate == nil ||
			check.Certificate.Person.Name != certificate.MaskName(issued.Certificate.Person.Name) || check.Certificate.Insurances[0].Amount != "" {
			t.Fatalf("check: %d %s", status, resp)
		}
		if strings.Contains(resp, issued.Certificate.Person.Name) {
			t.Errorf("the public check shows the whole name: %s", resp)
		}
		status, resp = e.do("", "GET", "/api/v1/certificates/"+testRegion+"202699999999", "")
		if c := decode[checkJSON](t, resp); status != 200 || c.Found || c.Genuine || c.Verdict != "not_issued" || c.Certificate != nil {
			t.Fatalf("never issued: %d %s", status, resp)
		}
		if status, resp := e.do("", "GET", "/api/v1/certificates/12345", ""); status != 422 || errorOf(t, resp).Fields["serial"] == "" {
			t.Fatalf("malformed serial: %d %s", status, resp)
		}

		// The PDF presented: genuine. One changed byte of its data: not genuine.
		status, resp = e.do("", "POST", "/api/v1/certificates/verify", string(pdf))
		if c := decode[checkJSON](t, resp); status != 200 || !c.Genuine || !c.Valid {
			t.Fatalf("verify the PDF: %d %s", status, resp)
		}
		_, data, sig, err := certificate.ParsePayload(pdf)
		if err != nil {
			t.Fatal(err)
		}
		signed, _, _, _ := certificate.ParsePayload(pdf)
		altered := bytes.Replace(signed, []byte(`"months":1,`), []byte(`"months":9,`), 1)
		if bytes.Equal(altered, signed) || data.Serial != issued.Serial {
			t.Fatal("the test's alteration changed nothing")
		}
		forged := "shebao-certificate-1:" + base64.RawURLEncoding.EncodeToString(altered) + "." + base64.RawURLEncoding.EncodeToString(sig)
		status, resp = e.do("", "POST", "/api/v1/certificates/verify", forged)
		if c := decode[checkJSON](t, resp); status != 200 || c.Genuine || c.Valid || c.Verdict != "altered" || c.Certificate != nil {
			t.Fatalf("verify an altered payload: %d %s", status, resp)
		}
		if status, resp := e.do("", "POST", "/api/v1/certificates/verify", "a letter, not a certificate"); status != 422 || errorOf(t, resp).Fields["payload"] == "" {
			t.Fatalf("no payload: %d %s", status, resp)
		}
		if status, _ := e.do("", "POST", "/api/v1/certificates/verify", strings.Repeat("x", maxCertificateBody+1)); status != 400 {
			t.Fatalf("a huge body: %d", status)
		}

		// The clerk at the window, for the person; the employer's HR for its staff.
		status, resp, _ = e.callKeyed(e.tokens[auth.Clerk], "POST", "/api/v1/persons/"+e.personID+"/certificates", body, "window-1")
		if c := decode[issuedJSON](t, resp); status != 201 || c.Certificate.Person == nil || c.Certificate.Insurances[0].Months != 1 {
			t.Fatalf("clerk: %d %s", status, resp)
		}
		status, resp, _ = e.callKeyed(e.tokens[auth.Employer], "POST", "/api/v1/employers/"+e.employerUSCC+"/certificates", body, "hr-1")
		ec := decode[issuedJSON](t, resp)
		if status != 201 || ec.Certificate.Employer == nil || len(ec.Certificate.Staff) != 1 || ec.Certificate.Staff[0].Months != 1 {
			t.Fatalf("employer: %d %s", status, resp)
		}
		if status, _, _ := e.rawGet(auth.Employer, ec.PDFURL); status != 200 {
			t.Fatalf("the employer's own PDF: %d", status)
		}
		if status, resp, _ := e.callKeyed(e.tokens[auth.Employer], "POST", "/api/v1/employers/"+e.newUSCC()+"/certificates", body, "hr-2"); status != 404 && status != 403 {
			t.Fatalf("another employer's certificate: %d %s", status, resp)
		}

		// The public checks are limited per address.
		limited := false
		for range verifyPerWindow + 1 {
			if status, _ := e.do("", "GET", "/api/v1/certificates/"+issued.Serial, ""); status == 429 {
				limited = true
				break
			}
		}
		if !limited {
			t.Fatalf("%d checks from one address were all answered", verifyPerWindow+1)
		}
	})
}
