package web

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shebao/shebao/internal/db/dbtest"
)

// TestBrowserBillsAndPayment: an employer three months behind sees its arrears and the late fee;
// the clerk looks the employer up by credit code and records the money at the counter; the bill is
// then settled.
func TestBrowserBillsAndPayment(t *testing.T) {
	br := b{t: t, ctx: newBrowser(t)}
	clock := dbtest.NewClock(time.Now().AddDate(0, -3, 0))
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{Now: clock.Now}))
	e.billedEmployer()
	clock.Set(time.Now())
	base := e.http.URL

	br.login(base, "u-employer", testPassword)
	br.do(chromedp.Click(`#menu a[href="/bills"]`), chromedp.WaitVisible("#bills"), chromedp.WaitVisible("#bills tr.arrears"))
	summary := br.text("#bills-summary")
	if !strings.Contains(summary, "欠费月数: 1") {
		t.Fatalf("summary %q does not show the month in arrears", summary)
	}
	owing := br.text("#bills-summary strong")
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
}
