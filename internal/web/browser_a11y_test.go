package web

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/registry"
)

// axePath is axe-core's browser build, installed from npm by .ci/run (or by hand:
// npm install --prefix internal/web/testdata/axe axe-core@4.14.1). The directory is gitignored.
// SHEBAO_AXE names another copy.
func axePath() string {
	if p := os.Getenv("SHEBAO_AXE"); p != "" {
		return p
	}
	return filepath.Join("testdata", "axe", "node_modules", "axe-core", "axe.min.js")
}

// axeViolation is what the test reports of one axe-core finding.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
}

// axeRun runs axe-core on the page with the WCAG 2.0 and 2.1 level A and AA rules.
const axeRun = `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}, resultTypes: ["violations"]})
  .then(r => JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help,
    targets: v.nodes.map(n => n.target.join(" "))}))))`

// a11yPages collects the portal pages a logged-in user reaches: the home page, every menu entry,
// and the same-origin GET links on those pages (filters, details), to a bound. Actions (logout,
// language switch), downloads and static files are left out.
func a11yPages(br b, base string, limit int) []string {
	br.t.Helper()
	seen := map[string]bool{}
	shapes := map[string]int{} // pages of one shape (/x/{id}, /x?state) are one template: two suffice
	queue := []string{"/"}
	var pages []string
	for len(queue) > 0 && len(pages) < limit {
		p := queue[0]
		queue = queue[1:]
		if seen[p] || shapes[pathPattern(p)] >= 2 {
			continue
		}
		seen[p] = true
		shapes[pathPattern(p)]++
		// A download (a batch file, an uploaded material) aborts the navigation: not a page.
		if err := chromedp.Do(br.ctx, chromedp.Navigate(base+p), chromedp.WaitReady("body")); err != nil {
			continue
		}
		ct, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`document.contentType`))
		if err != nil || ct != "text/html" {
			continue
		}
		pages = append(pages, p)
		links, err := chromedp.Run(br.ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#menu a[href], main a[href]")).map(a => a.href)`))
		if err != nil {
			br.t.Fatalf("links of %s: %v", p, err)
		}
		for _, l := range links {
			u, err := url.Parse(l)
			if err != nil || base != u.Scheme+"://"+u.Host {
				continue
			}
			path := u.Path
			if u.RawQuery != "" {
				path += "?" + u.RawQuery
			}
			if strings.HasPrefix(path, "/lang/") || strings.HasPrefix(path, "/static/") || strings.HasPrefix(path, "/logout") ||
				strings.HasPrefix(path, "/api/") || strings.HasSuffix(u.Path, ".pdf") || strings.Contains(u.Path, "/download") ||
				strings.Contains(u.Path, "/export") || strings.Contains(u.Path, "/template") || strings.HasSuffix(u.Path, "/file") || strings.Contains(u.Path, "/materials/") || seen[path] {
				continue
			}
			queue = append(queue, path)
		}
	}
	return pages
}

// TestBrowserAccessibility runs axe-core's WCAG 2.1 A and AA rules on every portal page of every
// role, at desktop width (1280 px) and a phone's (375 px), and checks that no page body scrolls
// sideways at 320 px, the narrowest width WCAG's reflow criterion (1.4.10) asks for.
func TestBrowserAccessibility(t *testing.T) {
	t.Parallel() // its own browser and server: it overlaps the other whole-portal crawl
	src, err := os.ReadFile(axePath())
	if err != nil {
		if os.Getenv(EnvRequireBrowser) != "" {
			t.Fatalf("axe-core is not installed (%v) and %s is set; npm install --prefix internal/web/testdata/axe axe-core@4.14.1", err, EnvRequireBrowser)
		}
		t.Skipf("axe-core is not installed (%v); npm install --prefix internal/web/testdata/axe axe-core@4.14.1", err)
	}
	br := b{t: t, ctx: newBrowserFor(t, 10*time.Minute)}
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	// Rows for the per-row actions: cards waiting for review, production and hand-over, an
	// enrolment waiting for review, a policy proposal, a bill in arrears, a settlement, and the
	// resident's own active card with its electronic card.
	e.billedEmployer()
	for _, st := range []card.State{card.Applied, card.Produced, card.AtOutlet, card.InProduction} {
		e.cardAt(st, "")
	}
	e.activateOwn()
	e.newEnrolment(registry.Submitted)
	e.pendingPolicy(period.Month(202701))
	e.settlement()
	base := e.http.URL

	var problems []string
	checked := 0
	// SHEBAO_A11Y_ROLES (comma-separated roles) narrows the run while fixing one role's pages.
	only := os.Getenv("SHEBAO_A11Y_ROLES")
	for _, role := range auth.Roles {
		if only != "" && !slices.Contains(strings.Split(only, ","), string(role)) {
			continue
		}
		br.login(base, userName(role), testPassword)
		pages := a11yPages(br, base, 40)
		for _, p := range pages {
			// One load per page: axe-core at the desktop's width, then the same page narrowed to a
			// phone's (the media queries apply as the window narrows) and to 320 px.
			br.do(chromedp.EmulateViewport(1280, 900), chromedp.Navigate(base+p), chromedp.WaitReady("body"))
			if _, err := chromedp.Run(br.ctx, chromedp.Evaluate[bool](string(src)+";true")); err != nil {
				t.Fatalf("inject axe-core into %s: %v", p, err)
			}
			for _, width := range []int64{1280, 375} {
				br.do(chromedp.EmulateViewport(width, 900))
				out, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](axeRun, chromedp.EvalAwaitPromise))
				if err != nil {
					t.Fatalf("axe-core on %s: %v", p, err)
				}
				var vs []axeViolation
				if err := json.Unmarshal([]byte(out), &vs); err != nil {
					t.Fatalf("axe-core result on %s: %v", p, err)
				}
				for _, v := range vs {
					problems = append(problems, fmt.Sprintf("%s %s at %d px: %s (%s) %s: %s", role, p, width, v.ID, v.Impact, v.Help, strings.Join(v.Targets, ", ")))
				}
				checked++
				if len(vs) > 0 {
					t.Logf("%s %s at %d px: %d violations", role, p, width, len(vs))
				}
			}
			br.do(chromedp.EmulateViewport(320, 700))
			wide, err := chromedp.Run(br.ctx, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, document.documentElement.clientWidth]`))
			if err != nil {
				t.Fatalf("width of %s: %v", p, err)
			}
			if wide[0] > wide[1] {
				culprit, _ := chromedp.Run(br.ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll("body *")).filter(el => !el.closest(".table-wrap") && el.getBoundingClientRect().right > document.documentElement.clientWidth + 1).slice(-3).map(el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className && typeof el.className === "string" ? "." + el.className.split(" ").join(".") : "")).join(", ")`))
				problems = append(problems, fmt.Sprintf("%s %s at 320 px: the page is %d px wide in a %d px window (%s)", role, p, wide[0], wide[1], culprit))
			}
		}
		br.do(chromedp.EmulateViewport(1280, 900), chromedp.Navigate(base+"/"), chromedp.WaitVisible("#logout"), chromedp.Click("#logout"), chromedp.WaitVisible("#login-form"))
	}
	// The pages before login too.
	for _, p := range []string{"/login", "/activate", "/progress", "/verify", "/guide"} {
		br.do(chromedp.Navigate(base+p), chromedp.WaitReady("body"))
		if _, err := chromedp.Run(br.ctx, chromedp.Evaluate[bool](string(src)+";true")); err != nil {
			t.Fatal(err)
		}
		out, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](axeRun, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		var vs []axeViolation
		_ = json.Unmarshal([]byte(out), &vs)
		for _, v := range vs {
			problems = append(problems, fmt.Sprintf("anonymous %s: %s (%s) %s: %s", p, v.ID, v.Impact, v.Help, strings.Join(v.Targets, ", ")))
		}
	}
	t.Logf("axe-core checked %d page views", checked)
	if checked == 0 {
		t.Fatal("no page was checked")
	}
	sort.Strings(problems)
	for _, p := range problems {
		t.Error(p)
	}
}
