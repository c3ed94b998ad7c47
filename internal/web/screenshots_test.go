package web

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/benefit"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/demo"
	"github.com/shebao/shebao/internal/keys"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
	"github.com/shebao/shebao/internal/settle"
)

// shotsDir is where TestScreenshots writes its pictures; without it the test is skipped, so the
// ordinary suite does not build the demo city for nothing.
var shotsDir = flag.String("shots", "", "write a screenshot of every demo role's main page at 1280 and 375 px into this directory")

// TestScreenshots builds the demo city, as `serve --demo` does, logs in as every demo login and
// saves the main page (the home page after login, and the login page itself) at a desktop's width
// and a phone's, full length, as ROLE-WIDTH.png: a reviewer looks at the product without clicking.
//
//	go test -run Screenshots ./internal/web -args -shots DIR
func TestScreenshots(t *testing.T) {
	if *shotsDir == "" {
		t.Skip("no -shots DIR: go test -run Screenshots ./internal/web -args -shots DIR")
	}
	// Without a Chinese font Chromium draws every character as a box; say so rather than save them.
	if out, err := exec.Command("fc-list", ":lang=zh").Output(); err != nil || len(out) == 0 {
		t.Fatal("no Chinese font for Chromium: apt-get install fonts-wqy-microhei")
	}
	if err := os.MkdirAll(*shotsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d := dbtest.SQLite(t, dbtest.Options{})
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := auth.New(d, auth.Options{})
	pol := policy.NewStore(d)
	reg := registry.New(d, a, pol)
	ks := keys.New(d, pol, quiet)
	cards := card.New(d, pol, ks)
	contribs := contrib.New(d, pol)
	settlements := settle.New(d, pol, cards, ks, reg, settle.Options{})
	t.Cleanup(settlements.Close)
	benefits := benefit.New(d, pol, reg)
	if err := ks.UnsealDevelopment(ctx, demo.Custodians); err != nil {
		t.Fatal(err)
	}
	city := demo.City{DB: d, Auth: a, Policies: pol, Registry: reg, Keys: ks, Cards: cards, Contrib: contribs,
		Settle: settlements, Benefit: benefits, Now: d.Now}
	logins, err := demo.Load(ctx, city)
	if err != nil {
		t.Fatalf("demo: %v", err)
	}
	// The history too, so that charts and statements look as they do a minute after start.
	if err := demo.History(ctx, city); err != nil {
		t.Fatalf("demo history: %v", err)
	}
	if err := demo.MedicalHistory(ctx, city); err != nil {
		t.Fatalf("demo settlements: %v", err)
	}
	srv, err := New(Deps{DB: d, Auth: a, Policies: pol, Registry: reg, Keys: ks, Cards: cards, Contrib: contribs,
		Settle: settlements, Benefit: benefits, Demo: true, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	h := hs.URL

	br := b{t: t, ctx: newBrowserFor(t, 10*time.Minute)}
	shoot := func(name string, width int64) {
		t.Helper()
		br.do(chromedp.EmulateViewport(width, 900), chromedp.Reload(), chromedp.WaitReady("body"))
		png, err := chromedp.Run(br.ctx, chromedp.FullScreenshot(100)) // 100: PNG, not JPEG
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		file := filepath.Join(*shotsDir, fmt.Sprintf("%s-%d.png", name, width))
		if err := os.WriteFile(file, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", file)
	}
	br.do(chromedp.Navigate(h+"/login"), chromedp.WaitVisible("#login-form"))
	for _, w := range []int64{1280, 375} {
		shoot("login", w)
	}
	for _, l := range logins {
		br.do(chromedp.EmulateViewport(1280, 900))
		br.login(h, l.Username, demo.Password)
		for _, w := range []int64{1280, 375} {
			shoot(l.Username, w)
		}
		br.do(chromedp.EmulateViewport(1280, 900), chromedp.Click("#logout"), chromedp.WaitVisible("#login-form"))
	}
}
