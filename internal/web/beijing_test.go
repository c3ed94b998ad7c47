package web

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/settle"
)

// lateEvening is 23:30 UTC on 1 December 2026: 07:30 on 2 December in Beijing. Between 16:00 and
// 24:00 UTC the two dates differ, so a page or a rule that takes its date from UTC shows itself
// here, whatever the hour the tests run at.
var lateEvening = time.Date(2026, 12, 1, 23, 30, 0, 0, time.UTC)

// page opens a portal page as role, logged in through the login form, and returns its HTML.
func (e *testEnv) page(role auth.Role, path string) string {
	e.t.Helper()
	if e.portal == nil {
		e.portal = map[auth.Role]*http.Client{}
	}
	c := e.portal[role]
	if c == nil {
		jar, _ := cookiejar.New(nil)
		c = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.PostForm(e.http.URL+"/login", url.Values{"username": {userName(role)}, "password": {testPassword}})
		if err != nil || resp.StatusCode != http.StatusSeeOther {
			e.t.Fatalf("login %s: %v %v", role, resp.StatusCode, err)
		}
		resp.Body.Close()
		e.portal[role] = c
	}
	resp, err := c.Get(e.http.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("%s as %s: %d", path, role, resp.StatusCode)
	}
	return string(b)
}

// TestPagesShowBeijingTimes: with the clock at 23:30 UTC, every page that lists times or dates —
// the funds page's runs, the account movements, the card's progress, the audit log, the bills
// page's default payment date — shows 2 December (Beijing), never 1 December (UTC).
func TestPagesShowBeijingTimes(t *testing.T) {
	clock := dbtest.RunningClock(lateEvening)
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{Now: clock.Now}))
	ctx := context.Background()
	payer := e.billedEmployer()
	if got := period.MonthOf(clock.Now()); got != 202612 {
		t.Fatalf("the business month at %s is %s, want 202612", clock.Now(), got)
	}
	var total int64
	if err := e.db.R().QueryRowContext(ctx, "SELECT total FROM bills WHERE payer = $1", payer).Scan(&total); err != nil {
		t.Fatal(err)
	}
	if _, err := e.contrib.RecordPayment(ctx, e.principal(auth.Clerk), contrib.NewPayment{IdemKey: "BJ-1", Payer: payer,
		Amount: money.Fen(total).String(), PaidOn: "2026-12-02"}); err != nil {
		t.Fatalf("a payment dated the Beijing date at 23:30 UTC: %v", err)
	}
	e.cardAt(card.Approved, e.personID)
	// The resident settles at the hospital with their medical insurance card: the settlement's
	// date and time are Beijing's on the receipt, My medical, the lists and the day's page.
	bank := e.principal(auth.Bank)
	if _, err := e.cards.IssueMedical(ctx, bank, e.personID, "6214830099990001"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cards.ChangeMedical(ctx, bank, "6214830099990001", "activate"); err != nil {
		t.Fatal(err)
	}
	st, err := e.settle.Settle(ctx, e.principal(auth.Institution), settle.Request{IdemKey: "BJ-S", Kind: "outpatient", Date: "2026-12-02",
		Identity: settle.Identity{MedicalCard: "6214830099990001"}, Items: []settle.ItemIn{{Code: "001", Name: "诊查费", Category: "A", Amount: "10.00"}}})
	if err != nil {
		t.Fatalf("a settlement dated the Beijing date at 23:30 UTC: %v", err)
	}

	const beijingDay, utcDay = "2026-12-02", "2026-12-01"
	// A time of day printed with the date: Beijing's is 07:3x, UTC's 23:3x.
	utcTime := regexp.MustCompile(`2026-12-01 23:3\d`)
	for _, p := range []struct {
		role auth.Role
		path string
		want string // an element that lists times, so the check is not vacuous
	}{
		{auth.Admin, "/funds", `id="runs"`},
		{auth.Resident, "/contributions", `id="pension-moves"`},
		{auth.Clerk, "/accounts?id_number=" + e.personID, `id="pension-moves"`},
		{auth.Resident, "/card", `class="steps"`},
		{auth.Auditor, "/audit", "<table"},
		{auth.Clerk, "/bills?payer=" + url.QueryEscape(e.employerUSCC), `name="paid_on"`},
		{auth.Employer, "/bills", `id="payments"`},
		{auth.Institution, "/settlements/" + st.ID, `id="r-date"`},
		{auth.Institution, "/reconciliation", `id="day-settlements"`},
		{auth.Auditor, "/settlements", `id="settlements"`},
		{auth.Resident, "/medical", `id="my-settlements"`},
		{auth.Reviewer, "/institutions", `id="institutions"`},
	} {
		html := e.page(p.role, p.path)
		if !strings.Contains(html, p.want) {
			t.Errorf("%s as %s has no %s to check", p.path, p.role, p.want)
			continue
		}
		if !strings.Contains(html, beijingDay) {
			t.Errorf("%s as %s does not show the Beijing date %s", p.path, p.role, beijingDay)
		}
		if strings.Contains(html, utcDay) || utcTime.MatchString(html) {
			t.Errorf("%s as %s shows the UTC date %s", p.path, p.role, utcDay)
		}
	}
	if html := e.page(auth.Clerk, "/bills?payer="+url.QueryEscape(e.employerUSCC)); !strings.Contains(html, `name="paid_on" type="date" value="2026-12-02"`) {
		t.Error("the bills page does not offer the Beijing date as the payment date")
	}
}
