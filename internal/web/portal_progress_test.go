package web

import (
	"net/url"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db/dbtest"
)

// The public card-progress page answers what the API answers, masked, without a login; a wrong
// pair of numbers or a malformed ID number keeps the form with the problem, in a 4xx.
func TestPublicProgressPage(t *testing.T) {
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	c := e.cardAt("approved", "")
	status, body := e.do("", "GET", "/progress", "")
	if status != 200 || !strings.Contains(body, `id="progress-form"`) {
		t.Fatalf("form: %d %s", status, body)
	}
	if status, body := e.do("", "GET", "/login", ""); status != 200 || !strings.Contains(body, `href="/progress"`) {
		t.Fatalf("login page does not link the progress page: %d", status)
	}
	q := url.Values{"id_number": {string(c.IDNumber)}, "application_no": {c.ApplicationNo}}
	status, body = e.do("", "GET", "/progress?"+q.Encode(), "")
	if status != 200 || !strings.Contains(body, `id="progress-result"`) || !strings.Contains(body, "审核通过") || strings.Contains(body, string(c.IDNumber)+"<") {
		t.Fatalf("progress: %d %s", status, body)
	}
	if strings.Contains(body, ">"+c.Name+"<") {
		t.Fatalf("the full name %q is shown to whoever holds the numbers", c.Name)
	}
	q.Set("id_number", e.newID())
	if status, body := e.do("", "GET", "/progress?"+q.Encode(), ""); status != 404 || strings.Contains(body, `id="progress-result"`) || !strings.Contains(body, `id="progress-form"`) {
		t.Fatalf("another person's ID number: %d", status)
	}
	q.Set("id_number", "12345")
	if status, body := e.do("", "GET", "/progress?"+q.Encode(), ""); status != 422 || !strings.Contains(body, `aria-invalid="true"`) || !strings.Contains(body, `value="`+c.ApplicationNo+`"`) {
		t.Fatalf("malformed ID number: %d %s", status, body)
	}
}

// The counter's medical-card check offers the banks that issued cards in the region by name (not a
// login to type), and a number that matches no card keeps the form with the number and the problem.
func TestCounterMedicalCheckBankList(t *testing.T) {
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	number := e.medicalCard()
	counter := e.portalClient(auth.Institution)
	page := get(t, counter, e.http.URL+"/counter")
	if !strings.Contains(page, `id="medical-check-bank"`) || !strings.Contains(page, `<option value="u-bank"`) {
		t.Fatalf("counter: bank list missing")
	}
	status, page := post(t, counter, e.http.URL+"/counter/medical", url.Values{"bank": {"u-bank"}, "card_number": {number}})
	if status != 200 || !strings.Contains(page, number) {
		t.Fatalf("check: %d", status)
	}
	status, page = post(t, counter, e.http.URL+"/counter/medical", url.Values{"bank": {"u-bank"}, "card_number": {"62148399999999"}})
	if status != 404 || !strings.Contains(page, `id="medical-check-number"`) || !strings.Contains(page, `value="62148399999999"`) || !strings.Contains(page, `class="problem"`) {
		t.Fatalf("unknown number: %d %s", status, page)
	}
}
