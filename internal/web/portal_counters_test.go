package web

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/db/dbtest"
)

// portalClient logs a role into the portal.
func (e *testEnv) portalClient(role auth.Role) *http.Client {
	e.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.PostForm(e.http.URL+"/login", url.Values{"username": {userName(role)}, "password": {testPassword}})
	if err != nil || resp.StatusCode != 200 {
		e.t.Fatalf("login %s: %v", role, err)
	}
	resp.Body.Close()
	return c
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (int, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestBankAndCounterPages(t *testing.T) {
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	c := e.cardAt(card.Collected, "")
	bank := e.portalClient(auth.Bank)
	form := url.Values{"card_number": {c.CardNumber}, "id_number": {e.newID()}, "bank_account": {"6222020200112233445"}}
	if status, body := post(t, bank, e.http.URL+"/bank/card", form); status != 422 || !strings.Contains(body, "problem") {
		t.Fatalf("wrong holder: %d", status)
	}
	form.Set("id_number", string(c.IDNumber))
	if status, body := post(t, bank, e.http.URL+"/bank/card", form); status != 200 || !strings.Contains(body, "bank-activated") {
		t.Fatalf("activate bank function: %d", status)
	}
	if got, _ := e.cards.Get(context.Background(), e.principal(auth.Clerk), c.ID); got.BankAccount == "" {
		t.Fatal("the bank account was not recorded")
	}
	// The hospital counter scans the resident's electronic card.
	e.activateOwn()
	qr, _, err := e.cards.QR(context.Background(), e.principal(auth.Resident))
	if err != nil {
		t.Fatal(err)
	}
	counter := e.portalClient(auth.Institution)
	if status, body := post(t, counter, e.http.URL+"/counter/scan", url.Values{"qr": {qr}}); status != 200 || !strings.Contains(body, "scan-ok") {
		t.Fatalf("scan: %d", status)
	}
	if status, _ := post(t, counter, e.http.URL+"/counter/scan", url.Values{"qr": {qr}}); status != 409 {
		t.Fatalf("second scan: %d", status)
	}
}
