package web

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/shebao/shebao/internal/certificate"
	"github.com/shebao/shebao/internal/db/dbtest"
)

// TestBrowserCertificate: a resident downloads their certificate from the portal; the address
// printed under its QR code (the QR code's own text) opens the public verification page, which
// says genuine in Chinese and in English without a login; a serial never issued is not genuine;
// and the same certificate with one byte of its data changed is not genuine through the API.
func TestBrowserCertificate(t *testing.T) {
	br := b{t: t, ctx: newBrowser(t)}
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	e.paidMonth()
	base := e.http.URL
	dir := t.TempDir()
	if _, err := chromedp.CallBrowser(br.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir}); err != nil {
		t.Fatal(err)
	}

	br.login(base, "u-resident", testPassword)
	br.do(chromedp.Click(`#menu a[href="/certificates"]`), chromedp.WaitVisible("#cert-form"))
	if title := br.text("h1"); title != "参保证明" {
		t.Fatalf("certificates page title %q", title)
	}
	br.do(chromedp.Click("#cert-submit"))
	var pdf []byte
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && pdf == nil; time.Sleep(100 * time.Millisecond) {
		files, _ := os.ReadDir(dir)
		for _, f := range files {
			if strings.HasSuffix(f.Name(), ".crdownload") {
				continue
			}
			if b, err := os.ReadFile(filepath.Join(dir, f.Name())); err == nil && strings.HasSuffix(strings.TrimSpace(string(b)), "%%EOF") {
				pdf = b
			}
		}
	}
	if pdf == nil {
		t.Fatal("no certificate was downloaded")
	}
	text := pdfText(t, pdf)
	url := regexp.MustCompile(regexp.QuoteMeta(base) + `/verify/[0-9]{18}`).FindString(text)
	if url == "" || !strings.Contains(text, "参保证明") || !strings.Contains(text, "测试公司") {
		t.Fatalf("the certificate's text has no verification address of %s:\n%s", base, text)
	}
	_, data, sig, err := certificate.ParsePayload(pdf)
	if err != nil || !strings.HasSuffix(url, data.Serial) {
		t.Fatalf("payload %v: serial %q, address %q", err, data.Serial, url)
	}

	// Whoever holds the paper: no login.
	br.do(chromedp.Click("#logout"), chromedp.WaitVisible("#login-form"), chromedp.Navigate(url), chromedp.WaitVisible("#verdict"))
	verdict, err := chromedp.Run(br.ctx, chromedp.AttributeValue("#verdict", "data-verdict"))
	if err != nil || verdict.Value != "valid" {
		t.Fatalf("verdict %+v %v", verdict, err)
	}
	if got := br.text("#verdict-title"); got != "真实有效" {
		t.Fatalf("Chinese verdict %q", got)
	}
	if name := br.text("#c-name"); !strings.HasPrefix(name, "测") || !strings.Contains(name, "*") {
		t.Fatalf("the name is not masked: %q", name)
	}
	if got := br.text("#c-serial"); got != data.Serial {
		t.Fatalf("serial shown %q", got)
	}
	br.do(chromedp.Click("#lang-switch"), chromedp.WaitVisible("#verdict"))
	if got := br.text("#verdict-title"); got != "Genuine and valid" {
		t.Fatalf("English verdict %q", got)
	}
	if loc, _ := chromedp.Run(br.ctx, chromedp.Location()); loc != url {
		t.Fatalf("the language switch left the page for %s", loc)
	}

	// The form: a serial never issued.
	br.do(chromedp.Navigate(base+"/verify"), chromedp.WaitVisible("#verify-form"),
		chromedp.SendKeys("#verify-serial", testRegion+"202699999999"), chromedp.Click("#verify-submit"), chromedp.WaitVisible("#verdict"))
	if got := br.text("#verdict-title"); got != "Not found: not a genuine certificate" {
		t.Fatalf("a serial never issued: %q", got)
	}

	// The same certificate with one byte of its data changed, through the API: not genuine.
	signed, _, _, _ := certificate.ParsePayload(pdf)
	altered := []byte(strings.Replace(string(signed), `"months":1,`, `"months":2,`, 1))
	if string(altered) == string(signed) {
		t.Fatal("the test's alteration changed nothing")
	}
	forged := "shebao-certificate-1:" + base64.RawURLEncoding.EncodeToString(altered) + "." + base64.RawURLEncoding.EncodeToString(sig)
	status, resp := e.do("", "POST", "/api/v1/certificates/verify", forged)
	if c := decode[checkJSON](t, resp); status != 200 || c.Genuine || c.Verdict != "altered" {
		t.Fatalf("an altered certificate: %d %s", status, resp)
	}
}
