package web

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/period"
)

// EnvScreenshots names a directory where browser tests leave screenshots of the pages they visit,
// for a person to look at. Unset, no screenshots are taken.
const EnvScreenshots = "SHEBAO_SCREENSHOTS"

func (b b) shot(name string) {
	dir := os.Getenv(EnvScreenshots)
	if dir == "" {
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	_ = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
}

// TestBrowserEnrolment: a clerk registers a person with a portal login and prepares an enrolment
// with uploaded materials; a reviewer approves it; the resident logs in and sees the insurance
// active.
func TestBrowserEnrolment(t *testing.T) {
	br := b{t: t, ctx: newBrowser(t)}
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	base := e.http.URL
	id := e.newID()
	dir := t.TempDir()
	pdf := filepath.Join(dir, "scan.pdf")
	png := filepath.Join(dir, "photo.png")
	os.WriteFile(pdf, testPDF, 0o600)
	os.WriteFile(png, []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"), 0o600)
	gif := filepath.Join(dir, "wrong.gif")
	os.WriteFile(gif, []byte("GIF89a\x01\x00\x01\x00"), 0o600)

	// The clerk (Chinese portal) registers the person and opens their login: the activation code
	// goes to the person's phone, the clerk sees only where it went.
	const phone = "13911112222"
	br.login(base, "u-clerk", testPassword)
	br.do(chromedp.Click(`#menu a[href="/window"]`), chromedp.WaitVisible("#person-form"),
		chromedp.SendKeys("#p-id", strings.ToLower(id)), chromedp.SendKeys("#p-name", "周灵活"),
		chromedp.SendKeys(`#person-form input[name="phone"]`, phone),
		chromedp.Click("#p-submit"), chromedp.WaitVisible("#login-created"))
	br.shot("clerk-window")
	username := br.text("#new-username")
	if username != strings.ToLower(id) || br.text("#code-sent-to") != "139****2222" {
		t.Fatalf("login shown = %q, code sent to %q", username, br.text("#code-sent-to"))
	}
	if page := br.text("main"); strings.Contains(page, e.smsCode(phone)) {
		t.Fatal("the window page shows the activation code")
	}
	if got := br.text("#registered-id"); got != id {
		t.Fatalf("registered ID = %q; want %q (upper-case X)", got, id)
	}

	// The enrolment: a flexible worker from this month, with every material uploaded and accepted.
	br.do(chromedp.Click(`#menu a[href="/enrolments"]`), chromedp.WaitVisible("#new-enrolment"),
		chromedp.Click("#new-enrolment summary"), chromedp.WaitVisible("#enrolment-form"),
		chromedp.SendKeys("#e-id", id), chromedp.SetValue("#e-category", "flexible_worker"), chromedp.SendKeys("#e-base", "6000"),
		chromedp.Click("#e-submit"), chromedp.WaitVisible("#checklist"))
	if st := br.text("#status"); st != "待补材料" {
		t.Fatalf("new application status %q", st)
	}
	// A GIF is refused by its content.
	br.do(chromedp.SetUploadFiles(".file-id_card", []string{gif}), chromedp.Click(".upload-id_card"), chromedp.WaitVisible("#problem"))
	if p := br.text("#problem"); !strings.Contains(p, "PDF") {
		t.Fatalf("problem for a GIF = %q", p)
	}
	for _, code := range []string{"id_card", "hukou_book", "status_proof"} {
		file := pdf
		if code == "hukou_book" {
			file = png
		}
		br.do(chromedp.SetUploadFiles(".file-"+code, []string{file}), chromedp.Click(".upload-"+code), chromedp.WaitVisible(".accept-"+code),
			chromedp.Click(".accept-"+code), chromedp.WaitVisible("#item-"+code+" .check-accepted"))
	}
	br.shot("clerk-enrolment")
	br.do(chromedp.Click("#submit-enrolment"), chromedp.WaitNotPresent("#submit-enrolment"))
	if st := br.text("#status"); st != "待审核" {
		t.Fatalf("after submit, status %q", st)
	}
	var appURL string
	appURL, err := chromedp.Run(br.ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	br.do(chromedp.Click("#logout"), chromedp.WaitVisible("#login-form"))

	// The reviewer approves from the queue.
	br.login(base, "u-reviewer", testPassword)
	br.do(chromedp.Navigate(base+"/enrolments?status=submitted"), chromedp.WaitVisible("#enrolments"))
	if q := br.text("#enrolments"); !strings.Contains(q, "周灵活") {
		t.Fatalf("review queue = %q", q)
	}
	br.do(chromedp.Navigate(appURL), chromedp.WaitVisible("#review"), chromedp.Click("#approve"), chromedp.WaitNotPresent("#review"))
	if st := br.text("#status"); st != "已通过" {
		t.Fatalf("after approval, status %q", st)
	}
	br.shot("reviewer-approved")
	br.do(chromedp.Click("#logout"), chromedp.WaitVisible("#login-form"))

	// The resident, on a phone-sized screen, sets a password with the code from the text message
	// and sees pension and medical insurance active.
	br.do(chromedp.EmulateViewport(375, 740))
	const password = "my own phrase for shebao"
	br.do(chromedp.Navigate(base+"/login"), chromedp.WaitVisible("#activate-link"), chromedp.Click("#activate-link"), chromedp.WaitVisible("#activate-form"),
		chromedp.SendKeys("#a-username", username), chromedp.SendKeys("#a-code", e.smsCode(phone)),
		chromedp.SendKeys("#a-password", password), chromedp.SendKeys("#a-password2", password),
		chromedp.Click("#activate-submit"), chromedp.WaitVisible("#activated"))
	br.login(base, username, password)
	br.do(chromedp.WaitVisible("#my-insurance"))
	br.shot("resident-home")
	for _, ins := range []string{"pension", "medical"} {
		if row := br.text("#my-insurance .ins-" + ins); !strings.Contains(row, "参保中") {
			t.Fatalf("%s row = %q", ins, row)
		}
	}
	if got := br.text("#my-insurance"); strings.Contains(got, "失业保险") {
		t.Fatalf("a flexible worker shows unemployment insurance: %q", got)
	}
}

// TestBrowserEmployerStaffFiles: an employer's HR declares a new member of staff with the staff
// file, then applies for staff's cards with a file: one with a bad row is refused whole, naming the
// row; the corrected one applies for every card.
func TestBrowserEmployerStaffFiles(t *testing.T) {
	br := b{t: t, ctx: newBrowser(t)}
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	newcomer := e.newID()
	staffFile := write("staff.csv", "操作,身份证号,姓名,缴费基数,月份\n增员,"+newcomer+",新职工,8800.00,"+period.MonthOf(e.db.Now()).String()+"\n")
	br.login(e.http.URL, "u-employer", testPassword)
	br.do(chromedp.Click(`#menu a[href="/staff"]`), chromedp.WaitVisible("#bulk-form"),
		chromedp.SetUploadFiles("#bulk-file", []string{staffFile}), chromedp.Click("#bulk-submit"), chromedp.WaitVisible("#bulk-result"))
	if got := br.text("#staff"); !strings.Contains(got, newcomer) {
		t.Fatalf("the declared newcomer is not on the staff list: %q", got)
	}

	other := e.addStaff()
	bad := write("cards-bad.csv", "身份证号\n"+newcomer+"\n110101199003070000\n"+other+"\n")
	br.do(chromedp.SetUploadFiles("#cards-file", []string{bad}), chromedp.Click("#cards-submit"), chromedp.WaitVisible("#bulk-problems"))
	if got := br.text("#bulk-problems"); !strings.Contains(got, "3") {
		t.Fatalf("the problems do not name line 3: %q", got)
	}
	count := func() int {
		var n int
		if err := e.db.R().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM cards c JOIN persons p ON p.id = c.person_id
			WHERE p.id_number IN ($1, $2) AND c.state = 'applied'`, newcomer, other).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 0 {
		t.Fatalf("a refused file applied for %d cards", n)
	}
	good := write("cards.csv", "身份证号\n"+newcomer+"\n"+other+"\n")
	br.do(chromedp.SetUploadFiles("#cards-file", []string{good}), chromedp.Click("#cards-submit"), chromedp.WaitVisible(".notice"))
	if got := br.text(".notice"); !strings.Contains(got, "2") {
		t.Fatalf("notice %q does not say two applications", got)
	}
	if n := count(); n != 2 {
		t.Fatalf("%d applications; want 2", n)
	}
}
