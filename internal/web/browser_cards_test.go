package web

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/db/dbtest"
)

// TestBrowserCardJourney: the resident applies for a card and follows its progress; the clerk
// approves; the card officer makes a batch, imports the manufacturer's result and sends the card to
// the outlet; the clerk hands it over against the resident's ID number; the resident, on a phone,
// activates it and shows the electronic card's QR code.
func TestBrowserCardJourney(t *testing.T) {
	br := b{t: t, ctx: newBrowser(t)}
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	base := e.http.URL
	ctx := context.Background()

	br.do(chromedp.EmulateViewport(375, 740))
	br.login(base, "u-resident", testPassword)
	photo := filepath.Join(t.TempDir(), "photo.png")
	os.WriteFile(photo, testPNG, 0o600)
	br.do(chromedp.Click(`#menu a[href="/card"]`), chromedp.WaitVisible("#apply-card"), chromedp.SetUploadFiles("#photo", []string{photo}),
		chromedp.Click("#apply-card"), chromedp.WaitVisible("#live-card"))
	if st := br.text("#card-state"); st != "已申领" {
		t.Fatalf("after applying: %q", st)
	}
	app := br.text("#application-no")
	if !strings.Contains(br.text("main"), "提交申领") {
		t.Fatal("the progress does not show the application")
	}
	br.do(chromedp.Click("#logout"), chromedp.WaitVisible("#login-form"), chromedp.EmulateViewport(1280, 900))

	// The clerk approves from the card desk.
	br.login(base, "u-clerk", testPassword)
	br.do(chromedp.Navigate(base+"/cards?state=applied"), chromedp.WaitVisible("#cards"), chromedp.Click(".approve-card"),
		chromedp.WaitNotPresent(".approve-card"))
	br.do(chromedp.Click("#logout"), chromedp.WaitVisible("#login-form"))

	// The card officer: a batch, the manufacturer's result, the outlet.
	br.login(base, "u-card-officer", testPassword)
	br.do(chromedp.Navigate(base+"/cards"), chromedp.WaitVisible("#create-batch"), chromedp.Click("#create-batch"), chromedp.WaitVisible("#batches"))
	cs, err := e.cards.List(ctx, e.principal(auth.CardOfficer), card.InProduction, 10)
	if err != nil || len(cs) != 1 || cs[0].ApplicationNo != app {
		t.Fatalf("in production: %+v %v", cs, err)
	}
	bid := cs[0].BatchID
	result := filepath.Join(t.TempDir(), "result.csv")
	os.WriteFile(result, []byte(e.resultFor(bid)), 0o600)
	sid := itoa(int(bid))
	br.do(chromedp.SetUploadFiles(".result-file-"+sid, []string{result}), chromedp.Click(".upload-result-"+sid), chromedp.WaitNotPresent(".upload-result-"+sid))
	br.do(chromedp.WaitVisible(".distribute-"+sid),
		chromedp.Click(".distribute-"+sid), chromedp.WaitNotPresent(".distribute-"+sid))
	br.do(chromedp.Click("#logout"), chromedp.WaitVisible("#login-form"))

	// The clerk hands the card over: a wrong ID number is refused, the holder's is accepted.
	c, _ := e.cards.Get(ctx, e.principal(auth.Clerk), cs[0].ID)
	br.login(base, "u-clerk", testPassword)
	br.do(chromedp.Navigate(base+"/cards?state=at_outlet"), chromedp.WaitVisible(".collect"),
		chromedp.SendKeys(".collect-id", e.newID()), chromedp.SendKeys(".collect-number", c.CardNumber), chromedp.Click(".collect"),
		chromedp.WaitVisible("#problem"))
	br.do(chromedp.Navigate(base+"/cards?state=at_outlet"), chromedp.WaitVisible(".collect"),
		chromedp.SendKeys(".collect-id", e.personID), chromedp.SendKeys(".collect-number", c.CardNumber), chromedp.Click(".collect"),
		chromedp.WaitNotPresent(".collect"))
	br.do(chromedp.Click("#logout"), chromedp.WaitVisible("#login-form"))

	// The resident, on a phone: activate with a PIN, get the electronic card, show the QR code.
	br.do(chromedp.EmulateViewport(375, 740))
	br.login(base, "u-resident", testPassword)
	br.do(chromedp.Navigate(base+"/card"), chromedp.WaitVisible("#activate"),
		chromedp.SendKeys("#pin", "482916"), chromedp.SendKeys("#pin2", "482916"), chromedp.Click("#activate"), chromedp.WaitVisible("#ecard"))
	if st := br.text("#card-state"); st != "正常使用" {
		t.Fatalf("after activation: %q", st)
	}
	br.do(chromedp.Click("#ecard-signup"), chromedp.WaitVisible("#qr"))
	br.shot("resident-ecard")
	src, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`document.querySelector("#qr").src`))
	if err != nil || !strings.HasPrefix(src, "data:image/png;base64,") {
		t.Fatalf("QR image: %.40q %v", src, err)
	}
	steps := br.text("main")
	for _, s := range []string{"提交申领", "审核通过", "送交制卡", "制卡完成", "配送至网点", "本人领卡", "启用"} {
		if !strings.Contains(steps, s) {
			t.Errorf("progress lacks %q", s)
		}
	}
}
