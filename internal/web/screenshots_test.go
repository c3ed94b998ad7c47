package web

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// shotsDir is where TestBrowserScreenshots writes its pictures:
// go test -run Screenshots ./internal/web -args -shots DIR
var shotsDir = flag.String("shots", "", "write a screenshot of every demo role's main page, at desktop and phone width, to this directory")

// shotWidths are the widths of the screenshot set: a desktop and a phone.
var shotWidths = []int64{1280, 375}

// TestBrowserScreenshots writes ROLE-WIDTH.png (the whole page, in Chinese) for the main page of
// every demo role and the login page, so a reviewer can look at the portal without clicking through
// it. It runs only when -shots names a directory.
func TestBrowserScreenshots(t *testing.T) {
	if *shotsDir == "" {
		t.Skip("give -args -shots DIR to write the screenshot set")
	}
	if err := os.MkdirAll(*shotsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	br := b{t: t, ctx: newBrowserFor(t, 10*time.Minute)}
	base := demoServer(t)
	br.setLang(base, "zh")
	shoot := func(name string) {
		for _, w := range shotWidths {
			br.do(chromedp.EmulateViewport(w, 900), chromedp.Reload(), chromedp.WaitReady("body"))
			png, err := chromedp.Run(br.ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatalf("screenshot of %s at %d px: %v", name, w, err)
			}
			file := filepath.Join(*shotsDir, name+"-"+strconv.FormatInt(w, 10)+".png")
			if err := os.WriteFile(file, png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	br.do(chromedp.Navigate(base+"/login"), chromedp.WaitVisible("#login-form"))
	shoot("login")
	for _, role := range demoRoles {
		br.do(chromedp.EmulateViewport(1280, 900))
		br.loginAs(base, role)
		br.do(chromedp.Navigate(base+"/"), chromedp.WaitVisible("#menu"))
		shoot(role)
	}
	t.Logf("%d screenshots in %s", (len(demoRoles)+1)*len(shotWidths), *shotsDir)
}
