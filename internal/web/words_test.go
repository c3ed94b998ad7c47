package web

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// stateCodes reads the capability packages' typed string constants (states, kinds, statuses:
// `Sent Status = "sent"`) from their source, so the list of codes a page must never show raw is the
// code's own, not a guess.
func stateCodes(t *testing.T) map[string]bool {
	t.Helper()
	codes := map[string]bool{}
	dirs, err := filepath.Glob("../*")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, dir := range dirs {
		if filepath.Base(dir) == "web" {
			continue
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(fset, f, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, decl := range file.Decls {
				g, ok := decl.(*ast.GenDecl)
				if !ok || g.Tok != token.CONST {
					continue
				}
				for _, spec := range g.Specs {
					v := spec.(*ast.ValueSpec)
					if v.Type == nil {
						continue
					}
					for _, val := range v.Values {
						lit, ok := val.(*ast.BasicLit)
						if !ok || lit.Kind != token.STRING {
							continue
						}
						s, err := strconv.Unquote(lit.Value)
						if err == nil && codeWord.MatchString(s) {
							codes[s] = true
						}
					}
				}
			}
		}
	}
	if len(codes) < 20 {
		t.Fatalf("only %d state codes found in the source", len(codes))
	}
	return codes
}

var (
	codeWord  = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	snakeKey  = regexp.MustCompile(`\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b`)
	dottedKey = regexp.MustCompile(`\b[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+\b`)
	// An English sentence: three or more words of letters (with at least one small letter each)
	// in a row. Acronyms (QR, PDF, USCC, SM2) and numbers do not count as words.
	englishRun      = regexp.MustCompile(`[A-Za-z]*[a-z][A-Za-z']*(?:[ ,]+[A-Za-z]*[a-z][A-Za-z']*){2,}`)
	messageKeyShape = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$`)
	userNames       = regexp.MustCompile(`demo-[a-z0-9-]+|u-[a-z0-9-]+`)
)

// keyPrefixes are the first parts of the message keys (menu, session, materials, …): a dotted
// word starting with one is an untranslated key.
func keyPrefixes() map[string]bool {
	p := map[string]bool{"materials": true}
	for k := range messages {
		p[strings.SplitN(k, ".", 2)[0]] = true
	}
	return p
}

// pageWords is what a page shows a person: its visible text, the texts of attributes a person
// reads or hears (title, alt, aria-label, placeholder), and the single texts of cells, options
// and labels (where a raw one-word code would stand on its own).
const pageWordsJS = `(() => {
  const out = {text: document.title + "\n" + document.body.innerText, attrs: [], cells: []};
  for (const el of document.querySelectorAll('[title],[alt],[aria-label],[placeholder]')) {
    for (const a of ['title', 'alt', 'aria-label', 'placeholder']) {
      const v = el.getAttribute(a);
      if (v) out.attrs.push(v);
    }
  }
  for (const el of document.querySelectorAll('td,th,option,label,dd,dt,li,button,a,span,strong,em,p,h1,h2,h3,legend,caption,summary')) {
    if (el.children.length === 0 && el.textContent.trim() !== '') out.cells.push(el.textContent.trim());
  }
  out.code = Array.from(document.querySelectorAll('code,kbd,samp')).map(el => el.textContent);
  return out;
})()`

type pageWords struct {
	Text  string   `json:"text"`
	Attrs []string `json:"attrs"`
	Cells []string `json:"cells"`
	Code  []string `json:"code"` // texts set as code (commands, key check values): identifiers, not words
}

// wordFindings lists what is wrong with a page's words.
func wordFindings(w pageWords, lang string, codes map[string]bool) []string {
	var out []string
	seen := map[string]bool{}
	add := func(kind, s string) {
		if k := kind + s; !seen[k] {
			seen[k] = true
			out = append(out, fmt.Sprintf("%s %q", kind, s))
		}
	}
	text := w.Text
	for _, c := range w.Code {
		if c = strings.TrimSpace(c); c != "" {
			text = strings.ReplaceAll(text, c, " ")
		}
	}
	texts := append([]string{text}, w.Attrs...)
	for _, s := range texts {
		s = userNames.ReplaceAllString(s, "")
		for _, m := range snakeKey.FindAllString(s, -1) {
			add("raw key or code", m)
		}
		for _, m := range dottedKey.FindAllString(s, -1) {
			if _, ok := messages[m]; ok || keyPrefixes()[strings.SplitN(m, ".", 2)[0]] {
				add("raw key", m)
			}
		}
		if lang == "zh" {
			for _, line := range strings.Split(s, "\n") {
				for _, m := range englishRun.FindAllString(line, -1) {
					add("English on a Chinese page", strings.TrimSpace(m))
				}
			}
		}
	}
	for _, c := range w.Cells {
		if codes[c] {
			add("raw code", c)
		}
		if messageKeyShape.MatchString(c) {
			add("raw key", c) // what T shows for a key it lacks
		}
	}
	return out
}

// TestBrowserWordsEveryPage reads every portal page of every demo role, in Chinese and in English,
// and lists every raw field key, raw state code, untranslated message key and (on Chinese pages)
// English sentence it shows.
func TestBrowserWordsEveryPage(t *testing.T) {
	t.Parallel() // its own browser and demo server: it overlaps the accessibility crawl
	if testing.Short() {
		t.Skip("loads the demo city and reads every page")
	}
	codes := stateCodes(t)
	br := b{t: t, ctx: newBrowserFor(t, 30*time.Minute)}
	base := demoServer(t)
	pages := portalPages(t, br, base)
	checkCrawl(t, pages)
	var findings []string
	forms := map[string]map[string]string{} // role → a form's action → the page showing it
	for _, lang := range []string{"zh", "en"} {
		current := "\x00"
		for _, p := range pages {
			if p.Role != current {
				if p.Role == "" {
					br.do(chromedp.Navigate(base+"/login"), chromedp.WaitReady("body"))
					if in, err := chromedp.Run(br.ctx, chromedp.Evaluate[bool](`!!document.querySelector('#logout')`)); err == nil && in {
						br.do(chromedp.Click("#logout"), chromedp.WaitVisible("#login-form"))
					}
				} else {
					br.loginAs(base, p.Role)
				}
				br.setLang(base, lang)
				current = p.Role
			}
			if err := chromedp.Do(br.ctx, chromedp.Navigate(p.URL), chromedp.WaitReady("body")); err != nil {
				findings = append(findings, fmt.Sprintf("%s %s [%s]: %v", roleOr(p.Role), p.Path, lang, err))
				continue
			}
			w, err := chromedp.Run(br.ctx, chromedp.Evaluate[pageWords](pageWordsJS))
			if err != nil {
				t.Fatalf("%s %s: %v", p.Role, p.Path, err)
			}
			for _, f := range wordFindings(w, lang, codes) {
				findings = append(findings, fmt.Sprintf("%s %s [%s]: %s", roleOr(p.Role), p.Path, lang, f))
			}
			if lang == "zh" && p.Role != "" {
				actions, err := chromedp.Run(br.ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('form')).filter(f => f.method === 'post').map(f => new URL(f.action).pathname)`))
				if err != nil {
					t.Fatalf("%s %s: forms: %v", p.Role, p.Path, err)
				}
				for _, a := range actions {
					if forms[p.Role] == nil {
						forms[p.Role] = map[string]string{}
					}
					if _, ok := forms[p.Role][a]; !ok {
						forms[p.Role][a] = p.Path
					}
				}
			}
		}
	}
	findings = append(findings, formsNotAllowed(t, br, base, forms)...)
	if len(findings) > 0 {
		sort.Strings(findings)
		if dir := os.Getenv("SHEBAO_WORDS_OUT"); dir != "" {
			_ = os.WriteFile(filepath.Join(dir, "words.txt"), []byte(strings.Join(findings, "\n")+"\n"), 0o644)
		}
		t.Errorf("%d findings on %d pages:\n%s", len(findings), len(pages), strings.Join(findings, "\n"))
	}
}

// formsNotAllowed posts an empty form, as each role, to every form action its pages showed it
// (after the words are read, since a form whose subject is in its path, such as disabling an
// account, does act). A role that may use the form gets past the permission check and is answered about the
// missing fields, or asked to confirm; a 403 is a button shown to a role that may not press it.
func formsNotAllowed(t *testing.T, br b, base string, forms map[string]map[string]string) []string {
	t.Helper()
	var findings []string
	roles := make([]string, 0, len(forms))
	for r := range forms {
		roles = append(roles, r)
	}
	// The administrator's forms go last: its empty posts to a row's disable or reset act on that
	// row's account (the username is in the path), which would lock the other roles out first.
	sort.Slice(roles, func(i, j int) bool {
		if (roles[i] == "demo-admin") != (roles[j] == "demo-admin") {
			return roles[j] == "demo-admin"
		}
		return roles[i] < roles[j]
	})
	for _, role := range roles {
		br.loginAs(base, role)
		actions := make([]string, 0, len(forms[role]))
		for a := range forms[role] {
			if a != "/logout" && !strings.HasPrefix(a, "/lang/") {
				actions = append(actions, a)
			}
		}
		sort.Strings(actions)
		for _, a := range actions {
			status, err := chromedp.Run(br.ctx, chromedp.Evaluate[int](`fetch(`+strconv.Quote(a)+`, {method: 'POST', redirect: 'manual',
				headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: ''}).then(r => r.status)`, chromedp.EvalAwaitPromise))
			if err != nil {
				t.Fatalf("%s POST %s: %v", role, a, err)
			}
			if status == 403 {
				findings = append(findings, fmt.Sprintf("%s %s: shows a form to POST %s, which answers this role 403", role, forms[role][a], a))
			}
		}
		t.Logf("%s: %d forms posted", role, len(actions))
	}
	return findings
}

func roleOr(r string) string {
	if r == "" {
		return "(public)"
	}
	return r
}
