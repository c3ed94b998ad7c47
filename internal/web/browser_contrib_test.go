package web

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
)

// TestBrowserBillsAndPayment: an employer three months behind sees its arrears and the late fee;
// the clerk looks the employer up by credit code and records the money at the counter; the bill is
// then settled. The clock stands at 23:30 UTC, when Beijing is already a day ahead: the payment date
// the page offers is Beijing's, and the rule that refuses future dates agrees with it.
func TestBrowserBillsAndPayment(t *testing.T) {
	br := b{t: t, ctx: newBrowser(t)}
	clock := dbtest.RunningClock(lateEvening.AddDate(0, -3, 0))
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{Now: clock.Now}))
	e.billedEmployer()
	clock.Set(lateEvening)
	base := e.http.URL

	br.login(base, "u-employer", testPassword)
	br.do(chromedp.Click(`#menu a[href="/bills"]`), chromedp.WaitVisible("#bills"), chromedp.WaitVisible("#bills tr.arrears"))
	summary := br.text("#bills-summary")
	if !strings.Contains(summary, "欠费月数: 1") {
		t.Fatalf("summary %q does not show the month in arrears", summary)
	}
	owing := strings.ReplaceAll(br.text("#bills-summary strong"), ",", "") // typed as plain digits
	if fee := br.text("#bills tr.arrears td:nth-child(6)"); fee == "0.00" {
		t.Fatal("no late fee on a bill two months overdue")
	}
	br.do(chromedp.Click("#logout"), chromedp.WaitVisible("#login-form"))

	br.login(base, "u-clerk", testPassword)
	br.do(chromedp.Click(`#menu a[href="/bills"]`), chromedp.WaitVisible(`input[name="payer"]`),
		chromedp.SendKeys(`input[name="payer"]`, e.employerUSCC), chromedp.Submit(`input[name="payer"]`), chromedp.WaitVisible("#bills"))
	br.do(chromedp.SendKeys(`input[name="amount"]`, owing), chromedp.SendKeys(`input[name="reference"]`, "RCPT-0001"),
		chromedp.Submit(`input[name="amount"]`), chromedp.WaitVisible("#allocations"))
	if got := br.text("#bills-summary strong"); got != "0.00" {
		t.Fatalf("still owing %q after paying %s", got, owing)
	}
	if !strings.Contains(br.text("#bills"), "已缴清") {
		t.Fatal("the bill is not shown settled")
	}
	if got := br.text("#payments tbody td:first-child"); got != "2026-12-02" {
		t.Fatalf("the payment is dated %q, not the Beijing date 2026-12-02", got)
	}
	br.do(chromedp.Click("#logout"), chromedp.WaitVisible("#login-form"))

	// The employer sees the payment the clerk recorded, and the month it paid.
	br.login(base, "u-employer", testPassword)
	br.do(chromedp.Click(`#menu a[href="/bills"]`), chromedp.WaitVisible("#payments"))
	month := br.text("#bills tr td:first-child")
	if got := br.text("#payments tbody"); !strings.Contains(got, "RCPT-0001") || !strings.Contains(strings.ReplaceAll(got, ",", ""), owing) || !strings.Contains(got, month+": ") {
		t.Fatalf("payments %q do not show RCPT-0001 of %s paying %s", got, owing, month)
	}
}

// TestBrowserResidentContributions: after two months billed and the first paid, the resident's
// page shows both months with their amounts, and balances and movements equal to the ledger's. The
// clock stands at 23:30 UTC, so the months and dates are Beijing's, a day ahead of UTC's.
func TestBrowserResidentContributions(t *testing.T) {
	br := b{t: t, ctx: newBrowser(t)}
	clock := dbtest.RunningClock(lateEvening.AddDate(0, -2, 0))
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{Now: clock.Now}))
	ctx := context.Background()
	payer := e.billedEmployer()
	first := period.MonthOf(clock.Now())
	clock.Set(lateEvening)
	e.billedEmployer()
	var billID, total int64
	if err := e.db.R().QueryRowContext(ctx, "SELECT id, total FROM bills WHERE payer = $1 AND month = $2", payer, int(first)).Scan(&billID, &total); err != nil {
		t.Fatal(err)
	}
	if _, err := e.contrib.RecordPayment(ctx, e.principal(auth.Clerk), contrib.NewPayment{IdemKey: "R-1", Payer: payer,
		Amount: money.Fen(total).String(), PaidOn: period.Today(clock.Now()).Format("2006-01-02")}); err != nil {
		t.Fatal(err)
	}
	person, err := e.reg.Person(ctx, e.principal(auth.Clerk), e.personID)
	if err != nil {
		t.Fatal(err)
	}
	pension, _ := ledger.Balance(ctx, e.db.R(), ledger.PersonAccount(testRegion, ledger.PersonPension, person.ID))
	medical, _ := ledger.Balance(ctx, e.db.R(), ledger.PersonAccount(testRegion, ledger.PersonMedical, person.ID))
	if pension == 0 || medical == 0 {
		t.Fatalf("the ledger credited nothing: pension %s, medical %s", pension, medical)
	}
	var share int64
	e.db.R().QueryRowContext(ctx, "SELECT to_pension_account FROM contribution_lines WHERE person_id = $1 AND month = $2", person.ID, int(first)).Scan(&share)

	br.login(e.http.URL, "u-resident", testPassword)
	br.do(chromedp.Click(`#menu a[href="/contributions"]`), chromedp.WaitVisible("#contrib-lines"))
	if got := br.text("#pension-balance"); got != pension.Grouped() {
		t.Errorf("pension balance on the page %q, ledger %s", got, pension)
	}
	if got := br.text("#medical-balance"); got != medical.Grouped() {
		t.Errorf("medical balance on the page %q, ledger %s", got, medical)
	}
	rows := br.text("#contrib-lines tbody")
	for _, m := range []period.Month{first, period.MonthOf(clock.Now())} {
		if !strings.Contains(rows, m.String()) {
			t.Errorf("month %s missing from %q", m, rows)
		}
	}
	if got := br.text(`#contrib-lines tr[data-month="` + first.String() + `"] .to-pension`); got != money.Fen(share).Grouped() {
		t.Errorf("to the pension account in %s: page %q, lines %s", first, got, money.Fen(share))
	}
	if bars, err := chromedp.Run(br.ctx, chromedp.Evaluate[int](`document.querySelectorAll("#account-chart g.chart-bar").length`)); err != nil || bars != 2 {
		t.Errorf("the chart has %d bars (%v); want one per month", bars, err)
	}
	// The first month is paid and credited; the chart draws it as paid, labelled with its month.
	if paid, err := chromedp.Run(br.ctx, chromedp.Evaluate[bool](fmt.Sprintf(`!!document.querySelector('#account-chart g.chart-bar[data-label="%02d/%02d"] rect.chart-paid')`, first.Year()%100, first.MonthOfYear()))); err != nil || !paid {
		t.Errorf("the first month is not drawn as paid (%v)", err)
	}
	if got := br.text("#pension-moves tbody .amount"); got != pension.Grouped() {
		t.Errorf("the one pension movement %q, ledger %s", got, pension)
	}
	if got := br.text("#pension-moves tbody"); !strings.Contains(got, first.String()) {
		t.Errorf("the pension movement does not say its month %s: %q", first, got)
	}
	if got := br.text("#medical-moves tbody .amount"); got != medical.Grouped() {
		t.Errorf("the one medical movement %q, ledger %s", got, medical)
	}
	// Both accounts' month-end balances are charted, ending on today's balance.
	if last, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`document.querySelector("#pension-balance-chart g.chart-bar:last-of-type").dataset.total`)); err != nil || last != pension.String() {
		t.Errorf("the pension balance chart ends at %q (%v), not %s", last, err, pension)
	}
	if n, err := chromedp.Run(br.ctx, chromedp.Evaluate[int](`document.querySelectorAll("#medical-balance-chart g.chart-bar").length`)); err != nil || n == 0 {
		t.Errorf("no medical balance chart (%v)", err)
	}
	// At 375 px the status column is on the screen.
	br.do(chromedp.EmulateViewport(375, 800), chromedp.Reload(), chromedp.WaitVisible("#contrib-lines"))
	right, err := chromedp.Run(br.ctx, chromedp.Evaluate[float64](`document.querySelector("#contrib-lines tbody td.line-status").getBoundingClientRect().right`))
	width, err2 := chromedp.Run(br.ctx, chromedp.Evaluate[float64](`window.innerWidth`))
	if err != nil || err2 != nil || right == 0 || right > width {
		dbg, _ := chromedp.Run(br.ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("#contrib-lines tbody tr:first-child td")].map(e => getComputedStyle(e).display + ":" + e.getBoundingClientRect().width.toFixed(0)).join(" ") + " doc " + document.documentElement.scrollWidth + " media " + matchMedia("(max-width: 600px)").matches`))
		t.Errorf("at 375 px the status column ends at %.0f px of %.0f (%s)", right, width, dbg)
	}
	br.do(chromedp.EmulateViewport(1280, 900), chromedp.Reload(), chromedp.WaitVisible("#contrib-lines"))
	residentRows := rows
	br.do(chromedp.Click("#logout"), chromedp.WaitVisible("#login-form"))

	// The auditor looks the same person up by ID number and sees what the resident sees; an
	// unknown ID number is answered on the same page.
	br.login(e.http.URL, "u-auditor", testPassword)
	br.do(chromedp.Click(`#menu a[href="/accounts"]`), chromedp.WaitVisible("#lookup-form"),
		chromedp.SendKeys("#lookup-id", "110101199003070000"), chromedp.Click("#lookup-submit"), chromedp.WaitVisible("#problem"))
	br.do(chromedp.SetValue("#lookup-id", e.personID), chromedp.Click("#lookup-submit"), chromedp.WaitVisible("#contrib-lines"))
	if got := br.text("#lookup-person"); !strings.Contains(got, e.personID) {
		t.Errorf("the look-up names %q, not %s", got, e.personID)
	}
	if got := br.text("#pension-balance"); got != pension.String() {
		t.Errorf("the auditor sees pension %q, ledger %s", got, pension)
	}
	if got := br.text("#contrib-lines tbody"); got != residentRows {
		t.Errorf("the auditor sees lines %q; the resident %q", got, residentRows)
	}
}

// TestBrowserAdminStartsMonthlyRun: the administrator starts this month's run from the portal,
// watches it finish, and sees the month's totals; a bad month is refused naming the field. At 23:30
// UTC on 1 December it is already December in Beijing, and the run is recorded at Beijing's time.
func TestBrowserAdminStartsMonthlyRun(t *testing.T) {
	br := b{t: t, ctx: newBrowser(t)}
	clock := dbtest.RunningClock(lateEvening)
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{Now: clock.Now}))
	base := e.http.URL
	br.login(base, "u-admin", testPassword)
	br.do(chromedp.Click(`#menu a[href="/funds"]`), chromedp.WaitVisible("#run-form"))
	br.do(chromedp.SetValue("#run-month", "2026-13"), chromedp.Click("#start-run"), chromedp.WaitVisible(".field-problem"))
	month := period.MonthOf(clock.Now()).String()
	br.do(chromedp.SetValue("#run-month", month), chromedp.Click("#start-run"), chromedp.WaitVisible("#live-runs"))
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(br.text("#live-runs"), "已完成") {
		if time.Now().After(deadline) {
			t.Fatalf("the run did not finish: %q", br.text("#live-runs"))
		}
		time.Sleep(200 * time.Millisecond)
		br.do(chromedp.Navigate(base+"/funds"), chromedp.WaitVisible("#live-runs"))
	}
	if rows := br.text("#fund-months"); !strings.Contains(rows, month) {
		t.Fatalf("the month's totals are missing: %q", rows)
	}
	m := period.MonthOf(clock.Now())
	if label, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`document.querySelector("#funds-chart g.chart-bar:last-of-type").dataset.label`)); err != nil || label != fmt.Sprintf("%02d/%02d", m.Year()%100, m.MonthOfYear()) {
		t.Errorf("the funds chart's last bar is %q (%v), not this month", label, err)
	}
	if desc, _ := chromedp.Run(br.ctx, chromedp.Evaluate[string](`document.querySelector("#funds-chart-desc").textContent`)); !strings.Contains(desc, month) {
		t.Errorf("the funds chart's description %q does not name the month", desc)
	}
	var bills, payers int
	if err := e.db.R().QueryRowContext(context.Background(), "SELECT COUNT(*), MAX(payers) FROM bills, contribution_runs WHERE bills.month = contribution_runs.month").Scan(&bills, &payers); err != nil || bills == 0 {
		t.Fatalf("bills %d, payers %d, %v", bills, payers, err)
	}
	if runs := br.text("#runs"); !strings.Contains(runs, "u-admin") || !strings.Contains(runs, "已完成") || !strings.Contains(runs, fmt.Sprintf("%d / %d", bills, payers)) {
		t.Fatalf("the run is not recorded with its %d of %d payers billed: %q", bills, payers, runs)
	}
	if started := br.text("#runs td:nth-child(4)"); !strings.HasPrefix(started, "2026-12-02 07:3") {
		t.Fatalf("the run started at %q, not at Beijing's 2026-12-02 07:3x", started)
	}
}
