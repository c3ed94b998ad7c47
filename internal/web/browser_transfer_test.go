package web

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/registry"
)

// TestBrowserTransfer: a resident insured in 330100 who has left their job applies in the portal
// to move their insurance to 330200 and follows the steps on the transfer's page while Ningbo's
// clerk accepts and Hangzhou's reviewer approves in the portal (with its confirmation); once done,
// the receipt's figures on the page are the API's, in both languages.
func TestBrowserTransfer(t *testing.T) {
	br := b{t: t, ctx: newBrowser(t)}
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	e.paidMonth()
	e.serveOtherRegion()
	ctx := context.Background()
	if err := e.reg.ChangeStaff(ctx, e.principal(auth.Employer), e.employerUSCC, registry.StaffChange{Op: registry.OpRemove, IDNumber: e.personID,
		EndDate: period.Today(e.db.Now()).Format("2006-01-02"), Reason: "resigned"}); err != nil {
		t.Fatal(err)
	}
	base := e.http.URL
	steps := func() []string {
		keys, err := chromedp.Run(br.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#transfer-steps li")].map(li => li.dataset.step)`))
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}

	br.login(base, "u-resident", testPassword)
	br.do(chromedp.Click(`#menu a[href="/transfers"]`), chromedp.WaitVisible("#transfer-apply"))
	if _, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`document.querySelector("#transfer-to").value = "`+nextRegion+`"`)); err != nil {
		t.Fatal(err)
	}
	br.do(chromedp.Click("#transfer-submit"), chromedp.WaitVisible("#transfer-steps"))
	no := br.text("#transfer-no")
	if got := br.text("#transfer-status"); got != "待受理" || strings.Join(steps(), ",") != "applied" {
		t.Fatalf("after applying: status %q, steps %v", got, steps())
	}

	// Ningbo's clerk takes it on; Hangzhou computes.
	if _, err := e.srv.Transfers.Accept(ctx, otherStaff("clerk-nb", auth.Clerk), no); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.Transfers.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	br.do(chromedp.Reload(), chromedp.WaitVisible("#transfer-steps"))
	if got := br.text("#transfer-status"); got != "待转出地审核" || strings.Join(steps(), ",") != "applied,accepted,computed" {
		t.Fatalf("after acceptance: status %q, steps %v", got, steps())
	}

	// Hangzhou's reviewer approves in the portal, through the confirmation.
	br.do(chromedp.Click("#logout"), chromedp.WaitVisible("#login-form"))
	br.login(base, "u-reviewer", testPassword)
	br.do(chromedp.Navigate(base+"/transfers"), chromedp.WaitVisible("#transfers-out"))
	br.do(chromedp.Click(`#transfers-out a[href="/transfers/`+no+`"]`), chromedp.WaitVisible("#transfer-approve"))
	br.do(chromedp.Click("#transfer-approve"), chromedp.WaitVisible("#confirm-box"))
	br.do(chromedp.Click("#confirm-box"), chromedp.Click("#confirm-submit"), chromedp.WaitVisible("#transfer-steps"))
	if got := br.text("#transfer-status"); got != "已办结" {
		t.Fatalf("after approval the reviewer sees %q", got)
	}

	// The resident sees every step and the receipt, as the API answers it.
	br.do(chromedp.Click("#logout"), chromedp.WaitVisible("#login-form"))
	br.login(base, "u-resident", testPassword)
	br.do(chromedp.Navigate(base+"/transfers/"+no), chromedp.WaitVisible("#transfer-receipt"))
	if got := strings.Join(steps(), ","); got != "applied,accepted,computed,approved,credited,remitted,done" {
		t.Fatalf("the resident's steps: %s", got)
	}
	status, body := e.do(auth.Resident, "GET", "/api/v1/transfers/"+no, "")
	var api transferJSON
	if err := json.Unmarshal([]byte(body), &api); status != 200 || err != nil {
		t.Fatalf("API: %d %s %v", status, body, err)
	}
	yuan := func(s string) string {
		f, err := money.ParseYuan(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		return f.Grouped()
	}
	for _, c := range []struct{ lang, title string }{{"zh", "转移凭证"}, {"en", "Receipt"}} {
		lang, title := c.lang, c.title
		if lang == "en" {
			br.do(chromedp.Click("#lang-switch"), chromedp.WaitVisible("#transfer-receipt"))
		}
		if got := br.text("#transfer-receipt h2"); got != title {
			t.Fatalf("[%s] receipt title %q", lang, got)
		}
		for sel, want := range map[string]string{
			"#receipt-pension-account": yuan(api.PensionAccount), "#receipt-pension-pooled": yuan(api.PensionPooled),
			"#receipt-pooled-bases": yuan(api.PooledBases), "#receipt-medical-account": yuan(api.MedicalAccount),
			"#receipt-total": yuan(api.Total), "#receipt-pension-months": strconv.Itoa(api.PensionMonths),
			"#receipt-medical-months": strconv.Itoa(api.MedicalMonths), "#receipt-unemployment-months": strconv.Itoa(api.UnemploymentMonths),
		} {
			if got := br.text(sel); got != want {
				t.Errorf("[%s] %s: %q on the page, %q from the API", lang, sel, got, want)
			}
		}
	}
	if api.Status != "done" || api.PensionAccount == "0.00" || api.PensionMonths != 1 || len(api.Months["pension"]) != 1 {
		t.Fatalf("the API's transfer: %+v", api)
	}
}
