package web

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/period"
)

// certForm posts a portal form as role (logged in through page) and returns the answer.
func (e *testEnv) certForm(role auth.Role, path string, form url.Values) (int, string, []byte) {
	e.t.Helper()
	e.page(role, "/") // logs in
	req, _ := http.NewRequest("POST", e.http.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := e.portal[role].Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// TestCertificatePages: the clerk issues a person's certificate from the person's page and an
// employer's at the window, the employer's HR its staff's, the resident their own; a bad period
// keeps the form with the fields marked in Chinese; the verification page speaks both languages.
func TestCertificatePages(t *testing.T) {
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	e.paidMonth()
	now := period.MonthOf(e.db.Now()).String()
	lookup := e.page(auth.Clerk, "/accounts?id_number="+e.personID)
	if !strings.Contains(lookup, `href="/certificates?id_number=`+e.personID+`"`) {
		t.Fatalf("the person's page has no link to issue the certificate")
	}
	if form := e.page(auth.Clerk, "/certificates?id_number="+e.personID); !strings.Contains(form, `value="`+e.personID+`"`) {
		t.Fatalf("the certificate form does not carry the person")
	}
	for _, c := range []struct {
		role auth.Role
		form url.Values
	}{
		{auth.Clerk, url.Values{"kind": {"person"}, "id_number": {e.personID}, "from": {now}, "to": {now}}},
		{auth.Clerk, url.Values{"kind": {"employer"}, "uscc": {e.employerUSCC}, "from": {now}, "to": {now}}},
		{auth.Employer, url.Values{"from": {now}, "to": {now}}},
		{auth.Resident, url.Values{"from": {now}, "to": {now}}},
	} {
		status, ct, body := e.certForm(c.role, "/certificates", c.form)
		if status != 200 || ct != "application/pdf" || !strings.HasPrefix(string(body), "%PDF") {
			t.Fatalf("%s %v: %d %s %.200s", c.role, c.form, status, ct, body)
		}
	}
	if staff := e.page(auth.Employer, "/staff"); !strings.Contains(staff, `href="/certificates"`) {
		t.Fatalf("the staff page has no link to the staff certificate")
	}
	status, _, body := e.certForm(auth.Resident, "/certificates", url.Values{"from": {"20261x"}, "to": {now}})
	if page := string(body); status != 422 || !strings.Contains(page, "起始月份写作6位数字") || !strings.Contains(page, `aria-invalid="true"`) || strings.Contains(page, "YYYYMM") {
		t.Fatalf("a bad month: %d %s", status, page)
	}
	if page := e.page(auth.Resident, "/certificates"); !strings.Contains(page, "/certificates/rights-records/") {
		t.Fatalf("the resident's page offers no rights record")
	}

	// The verification page, without a login, in both languages.
	resp, err := http.Get(e.http.URL + "/verify/" + testRegion + "202699999999")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(string(b), "不是真实的证明") {
		t.Fatalf("a serial never issued: %d %s", resp.StatusCode, b)
	}
	req, _ := http.NewRequest("GET", e.http.URL+"/verify/12", nil)
	req.Header.Set("Accept-Language", "en")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 422 || !strings.Contains(string(b), "The serial is 18 digits") {
		t.Fatalf("a malformed serial in English: %d %s", resp.StatusCode, b)
	}
}
