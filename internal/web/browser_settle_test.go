package web

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/ledger"
)

// TestBrowserSettleWithTheECard (issue 12, acceptance 7): the resident shows the electronic card's
// QR code on their phone; the hospital's cashier types the bill and scans that code (read from the
// picture the page shows, and typed into the counter as a scanner types it, Enter included); the
// receipt's figures are the API's; the resident then finds the settlement in My medical with the
// account's new balance.
func TestBrowserSettleWithTheECard(t *testing.T) {
	br := b{t: t, ctx: newBrowser(t)}
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	base := e.http.URL
	ctx := context.Background()
	e.activateOwn()
	personID := e.fundMedical(e.personID, 1500_00)

	// The resident, on a phone: the card page, the QR code.
	br.do(chromedp.EmulateViewport(375, 740))
	br.login(base, "u-resident", testPassword)
	br.do(chromedp.Click(`#menu a[href="/card"]`), chromedp.WaitVisible("#show-qr"), chromedp.Click("#show-qr"), chromedp.WaitVisible("#qr"))
	src, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`document.querySelector("#qr").src`))
	if err != nil {
		t.Fatal(err)
	}
	token, err := scanQR(src)
	if err != nil || !strings.Contains(token, ".") {
		t.Fatalf("the QR code on the page reads %.30q (%v)", token, err)
	}
	br.do(chromedp.Click("#logout"), chromedp.WaitVisible("#login-form"), chromedp.EmulateViewport(1280, 900))

	// The hospital's cashier: an admission's bill, three lines typed and one pasted, the code
	// scanned last.
	br.login(base, "u-institution", testPassword)
	br.do(chromedp.Click(`#menu a[href="/counter"]`), chromedp.WaitVisible("#settle-form"),
		chromedp.SetValue("#kind", "inpatient"),
		chromedp.SendKeys("#code1", "310100001"), chromedp.SendKeys("#name1", "床位费"), chromedp.SendKeys("#amount1", "800.00"),
		chromedp.SendKeys("#code2", "250101001"), chromedp.SendKeys("#name2", "检验费"), chromedp.SetValue("#category2", "B"), chromedp.SendKeys("#amount2", "600.00"),
		chromedp.SendKeys("#code3", "F0031"), chromedp.SendKeys("#name3", "进口药品"), chromedp.SetValue("#category3", "C"), chromedp.SendKeys("#amount3", "300.00"),
		chromedp.SendKeys("#lines", "120100001,护理费,甲,150.00"),
		chromedp.SendKeys("#settle-qr", token+"\r"),
		chromedp.WaitVisible("#receipt"))
	br.shot("counter-receipt")
	id := br.text("#r-id")

	// The receipt's figures are the API's.
	status, body := e.do(auth.Institution, "GET", "/api/v1/settlements/"+id, "")
	var api map[string]any
	if status != 200 || json.Unmarshal([]byte(body), &api) != nil {
		t.Fatalf("GET the settlement: %d %s", status, body)
	}
	for _, name := range []string{"total", "self_pay_c", "first_self_pay_b", "eligible", "deductible", "ratio", "pool", "account", "cash", "cap_left", "account_balance"} {
		shown := strings.TrimSuffix(br.text("#r-"+name), "%")
		if shown != api[name] {
			t.Errorf("the receipt's %s is %q; the API's %v", name, shown, api[name])
		}
	}
	person := api["person"].(map[string]any)
	if who := br.text("#r-person"); !strings.Contains(who, person["name"].(string)) || !strings.Contains(who, person["id_number"].(string)) || strings.Contains(who, e.personID) {
		t.Errorf("the receipt names %q; the API %v", who, person)
	}
	if api["total"] != "1850.00" || api["means"] != "ecard" || api["kind"] != "inpatient" || api["pool"] == "0.00" || api["account"] == "0.00" {
		t.Fatalf("settled %v", api)
	}
	if means := br.text("#r-means"); means != "电子社保卡" {
		t.Errorf("identified by %q", means)
	}
	balance, _ := ledger.Balance(ctx, e.db.R(), ledger.PersonAccount(testRegion, ledger.PersonMedical, personID))
	if balance.String() != api["account_balance"] {
		t.Fatalf("the ledger holds %s; the receipt says %v", balance, api["account_balance"])
	}
	// The code was spent: scanning it again at the counter is refused.
	br.do(chromedp.Click("#back"), chromedp.WaitVisible("#settle-form"),
		chromedp.SendKeys("#code1", "310100001"), chromedp.SendKeys("#name1", "床位费"), chromedp.SendKeys("#amount1", "10.00"),
		chromedp.SendKeys("#settle-qr", token+"\r"), chromedp.WaitVisible("#problem"))
	br.do(chromedp.Click("#logout"), chromedp.WaitVisible("#login-form"))

	// The resident, on the phone again: My medical lists it with the account's new balance.
	br.do(chromedp.EmulateViewport(375, 740))
	br.login(base, "u-resident", testPassword)
	br.do(chromedp.Click(`#menu a[href="/medical"]`), chromedp.WaitVisible("#my-settlements"))
	br.shot("resident-medical")
	if got := strings.ReplaceAll(br.text("#medical-balance"), ",", ""); got != api["account_balance"] {
		t.Errorf("My medical shows the balance %q; the API %v", got, api["account_balance"])
	}
	row := `#my-settlements li[data-id="` + id + `"]`
	if got := br.text(row + " .s-total"); got != api["total"] {
		t.Errorf("My medical lists the total %q", got)
	}
	if got := br.text(row + " .s-account"); got != api["account"] {
		t.Errorf("My medical lists the account's part %q", got)
	}
	if moves := br.text("#medical-moves"); !strings.Contains(moves, "-"+api["account"].(string)) || !strings.Contains(moves, "就医结算支付") {
		t.Errorf("the account's movements: %q", moves)
	}
	// Nothing is wider than the phone.
	wide, err := chromedp.Run(br.ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if err != nil || wide {
		t.Errorf("My medical is wider than 375 px (%v)", err)
	}
	br.do(chromedp.Click(row+" .receipt-link"), chromedp.WaitVisible("#receipt"))
	if got := br.text("#r-cash"); got != api["cash"] {
		t.Errorf("the resident's receipt shows the cash %q", got)
	}
	if wide, err := chromedp.Run(br.ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`)); err != nil || wide {
		t.Errorf("the receipt is wider than 375 px (%v)", err)
	}
	br.shot("resident-receipt")
}
