package web

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/benefit"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/demo"
	"github.com/shebao/shebao/internal/keys"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
	"github.com/shebao/shebao/internal/settle"
)

// The crawler behind the whole-portal browser tests (words, accessibility, screenshots): a server
// over the demo city, and for each demo login the portal pages it can reach.

// demoRoles are the demo logins whose pages the crawler visits, one per role.
var demoRoles = []string{
	"demo-resident", "demo-employer", "demo-clerk", "demo-reviewer", "demo-card-officer", "demo-bank",
	"demo-institution", "demo-custodian", "demo-auditor", "demo-admin",
}

// publicPages are the pages anyone reaches without logging in.
var publicPages = []string{"/login", "/guide", "/progress", "/verify", "/activate"}

// crawlPage is one page to look at: whose it is ("" for a public page), and where.
type crawlPage struct {
	Role string // the demo username that sees it; "" for public pages
	URL  string // absolute
	Path string // path and query
}

// demoServer starts the portal over a freshly loaded demo city (SQLite) and returns its base URL.
// The older history (demo.History and later) is not loaded: the pages only need what Load builds.
func demoServer(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	d := dbtest.SQLite(t, dbtest.Options{})
	return demoServerOn(t, ctx, d)
}

func demoServerOn(t *testing.T, ctx context.Context, d *db.DB) string {
	t.Helper()
	a := auth.New(d, auth.Options{})
	pol := policy.NewStore(d)
	ks := keys.New(d, pol, nil)
	if err := ks.UnsealDevelopment(ctx, demo.Custodians); err != nil {
		t.Fatal(err)
	}
	reg, cards := registry.New(d, a, pol), card.New(d, pol, ks)
	settlements := settle.New(d, pol, cards, ks, reg, settle.Options{})
	t.Cleanup(settlements.Close)
	contribs, benefits := contrib.New(d, pol), benefit.New(d, pol, reg)
	city := demo.City{DB: d, Auth: a, Policies: pol, Registry: reg, Keys: ks, Cards: cards, Contrib: contribs, Settle: settlements, Benefit: benefits, Now: d.Now}
	if _, err := demo.Load(ctx, city); err != nil {
		t.Fatal(err)
	}
	srv, err := New(Deps{DB: d, Auth: a, Policies: pol, Registry: reg, Keys: ks, Cards: cards, Contrib: contribs, Settle: settlements, Benefit: benefits, Demo: true,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs.URL
}

// loginAs logs the browser in as a demo user (logging out whoever was in first).
func (br b) loginAs(base, username string) {
	br.t.Helper()
	br.do(chromedp.Navigate(base+"/login"), chromedp.WaitReady("body"))
	if loggedIn, err := chromedp.Run(br.ctx, chromedp.Evaluate[bool](`!!document.querySelector('#logout')`)); err == nil && loggedIn {
		br.do(chromedp.Click("#logout"), chromedp.WaitVisible("#login-form"))
	}
	br.login(base, username, demo.Password)
}

// setLang switches the portal's language (the cookie the language switch sets).
func (br b) setLang(base, lang string) {
	br.t.Helper()
	br.do(chromedp.Navigate(base+"/lang/"+lang+"?next=/login"), chromedp.WaitReady("body"))
}

// pathPattern turns a path into its pattern: segments that are numbers, ID numbers, codes or
// serials become {id}, so /x/1 and /x/2 count as one page shape.
var idSegment = regexp.MustCompile(`^([0-9A-Za-z]*[0-9][0-9A-Za-z-]*|[0-9A-F]{8,})$`)

func pathPattern(p string) string {
	u, err := url.Parse(p)
	if err != nil {
		return p
	}
	segs := strings.Split(u.Path, "/")
	for i, s := range segs {
		if idSegment.MatchString(s) {
			segs[i] = "{id}"
		}
	}
	pat := strings.Join(segs, "/")
	if u.RawQuery != "" {
		keys := []string{}
		for k := range u.Query() {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		pat += "?" + strings.Join(keys, "&")
	}
	return pat
}

// crawlable says whether a link is a portal page the crawler should visit.
func crawlable(base string, href string) (string, bool) {
	u, err := url.Parse(href)
	if err != nil {
		return "", false
	}
	b, _ := url.Parse(base)
	if u.Scheme != b.Scheme || u.Host != b.Host {
		return "", false
	}
	p := u.Path
	switch {
	case p == "" || strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/lang/") || strings.HasPrefix(p, "/static/"),
		p == "/logout", p == "/healthz", p == "/readyz", p == "/metrics", p == "/favicon.ico",
		strings.Contains(p, "/download"), strings.HasSuffix(p, "/file"), strings.HasSuffix(p, ".pdf"), strings.HasSuffix(p, ".csv"),
		strings.HasSuffix(p, ".xlsx"), strings.HasSuffix(p, ".png"), strings.HasSuffix(p, ".svg"), strings.HasSuffix(p, ".json"):
		return "", false
	}
	path := p
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	return path, true
}

// perPattern bounds how many pages of one shape (/x/{id}) the crawler visits.
const perPattern = 2

// maxPagesPerRole bounds the crawl of one login.
const maxPagesPerRole = 80

// portalPages logs in as each demo role in turn and returns the pages it reaches from its menu
// and the pages those link to within the portal (GET links only: not the API, logout, language
// switch or downloads), at most perPattern of each path pattern; then the public pages. The
// browser is left logged out. Links that answer with an error page are kept: whoever uses the
// list sees them.
func portalPages(t *testing.T, br b, base string, roles ...string) []crawlPage {
	t.Helper()
	if len(roles) == 0 {
		roles = demoRoles
	}
	var pages []crawlPage
	for _, role := range roles {
		br.loginAs(base, role)
		seen := map[string]bool{}
		perPat := map[string]int{}
		queue := []string{"/"}
		add := func(p string) {
			if seen[p] {
				return
			}
			pat := pathPattern(p)
			if perPat[pat] >= perPattern {
				return
			}
			seen[p] = true
			perPat[pat]++
			queue = append(queue, p)
		}
		seen["/"] = true
		perPat["/"] = 1
		for depth := 0; depth < 3 && len(queue) > 0; depth++ {
			level := queue
			queue = nil
			for _, p := range level {
				if len(pages) >= maxPagesPerRole*len(roles) {
					break
				}
				pages = append(pages, crawlPage{Role: role, URL: base + p, Path: p})
				if depth == 2 {
					continue // the pages linked from the menu's pages are visited, not followed further
				}
				ctx, cancel := context.WithTimeout(br.ctx, 20*time.Second)
				err := chromedp.Do(ctx, chromedp.Navigate(base+p), chromedp.WaitReady("body"))
				var hrefs []string
				if err == nil {
					hrefs, err = chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('a[href]')).filter(a => !a.hasAttribute('download')).map(a => a.href)`))
				}
				cancel()
				if err != nil {
					t.Errorf("crawl %s %s: %v", role, p, err)
					continue
				}
				for _, h := range hrefs {
					if path, ok := crawlable(base, h); ok {
						add(path)
					}
				}
			}
		}
	}
	br.do(chromedp.Navigate(base+"/login"), chromedp.WaitReady("body"))
	if loggedIn, err := chromedp.Run(br.ctx, chromedp.Evaluate[bool](`!!document.querySelector('#logout')`)); err == nil && loggedIn {
		br.do(chromedp.Click("#logout"), chromedp.WaitVisible("#login-form"))
	}
	for _, p := range publicPages {
		pages = append(pages, crawlPage{URL: base + p, Path: p})
	}
	return pages
}

// checkCrawl checks the crawler itself: every role reaches pages beyond its home page, and no
// page appears twice. TestBrowserWordsEveryPage calls it on the crawl it reads, so the demo city
// is crawled once.
func checkCrawl(t *testing.T, pages []crawlPage) {
	t.Helper()
	count := map[string]int{}
	seen := map[string]bool{}
	for _, p := range pages {
		key := p.Role + " " + p.Path
		if seen[key] {
			t.Errorf("%s visited twice", key)
		}
		seen[key] = true
		count[p.Role]++
	}
	for _, r := range demoRoles {
		if count[r] < 2 {
			t.Errorf("%s reaches %d pages", r, count[r])
		}
		t.Logf("%s: %d pages", r, count[r])
	}
}
