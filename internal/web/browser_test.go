package web

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shebao/shebao/internal/db/dbtest"
)

// EnvRequireBrowser makes a missing Chromium a failure instead of a skip; .ci/run sets it so that
// the browser tests can never silently stop running there.
const EnvRequireBrowser = "SHEBAO_REQUIRE_BROWSER"

// newBrowser starts headless Chromium (Debian's package) and returns a context to drive it.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	return newBrowserFor(t, 90*time.Second)
}

// newBrowserFor is newBrowser for a test that drives the browser for longer (the whole-portal
// crawls).
func newBrowserFor(t *testing.T, limit time.Duration) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv(EnvRequireBrowser) != "" {
			t.Fatal("Chromium is not installed (apt-get install chromium) and " + EnvRequireBrowser + " is set")
		}
		t.Skip("Chromium is not installed; apt-get install chromium to run the browser tests")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		// A browser set to Chinese, like most residents' phones.
		chromedp.Flag("accept-lang", "zh-CN,zh"),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, limit)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// b drives one browser tab in a test, failing the test on the first error.
type b struct {
	t   *testing.T
	ctx context.Context
}

// do runs steps that return nothing.
func (b b) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatal(err)
	}
}

// text returns the visible text of the first element matching sel.
func (b b) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(sel))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// login fills the portal's login form and waits for the menu.
func (b b) login(base, username, password string) {
	b.t.Helper()
	b.do(
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible("#login-form"),
		chromedp.SendKeys("#username", username),
		chromedp.SendKeys("#password", password),
		chromedp.Click("#login-submit"),
		chromedp.WaitVisible("#menu"),
	)
}

func TestBrowserLoginMenusLanguageLogout(t *testing.T) {
	br := b{t: t, ctx: newBrowser(t)}
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	base := e.http.URL

	// The administrator: Chinese by default, with the user-management entry in the menu.
	br.login(base, "u-admin", testPassword)
	if menu := br.text("#menu"); !strings.Contains(menu, "用户管理") || !strings.Contains(menu, "首页") || strings.Contains(menu, "审计日志") {
		t.Fatalf("admin menu = %q", menu)
	}
	if who := br.text("#who"); !strings.Contains(who, "系统管理员") {
		t.Fatalf("admin header = %q", who)
	}

	// Switch to English: the same menu in English, and the choice sticks across pages.
	br.do(chromedp.Click("#lang-switch"), chromedp.WaitVisible("#menu"))
	if menu := br.text("#menu"); !strings.Contains(menu, "Users") || !strings.Contains(menu, "Home") {
		t.Fatalf("English admin menu = %q", menu)
	}
	br.do(chromedp.Click(`#menu a[href="/admin/users"]`), chromedp.WaitVisible("#users"))
	if title := br.text("h1"); title != "Users" {
		t.Fatalf("users page title = %q", title)
	}

	// Log out: back at the login form; the home page now asks for a login again.
	br.do(chromedp.Click("#logout"), chromedp.WaitVisible("#login-form"),
		chromedp.Navigate(base+"/"), chromedp.WaitVisible("#login-form"))
	if url, err := chromedp.Run(br.ctx, chromedp.Location()); err != nil || !strings.Contains(url, "/login") {
		t.Fatalf("after logout / went to %q (%v)", url, err)
	}

	// A resident: a different menu (no administration), in the language chosen before, and a home
	// page with the resident's panels.
	br.login(base, "u-resident", testPassword)
	if menu := br.text("#menu"); strings.Contains(menu, "Users") || !strings.Contains(menu, "My account") {
		t.Fatalf("resident menu = %q", menu)
	}
	if welcome := br.text("#welcome"); !strings.Contains(welcome, "Resident") {
		t.Fatalf("resident welcome = %q", welcome)
	}
	br.do(chromedp.Click("#lang-switch"), chromedp.WaitVisible("#menu"))
	if main := br.text("main"); !strings.Contains(main, "我的参保") {
		t.Fatalf("resident home in Chinese = %q", main)
	}
	br.do(chromedp.Click("#logout"), chromedp.WaitVisible("#login-form"))
}
