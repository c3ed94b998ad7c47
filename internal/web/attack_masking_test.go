package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
)

// idNumberRE finds an 18-character ID number standing on its own: 6 digits, a birth date, 3
// digits and a check character (digit or X, either case), with no letter or digit either side. An
// unmasked USCC of 18 digits has no date there; the bounds keep a run of digits inside a hex hash
// (the audit entries' hashes, different every run) from counting as one.
var idNumberRE = regexp.MustCompile(`(?i)(?:^|[^0-9a-z])(\d{6}(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dx])(?:$|[^0-9a-z])`)

// noIDNumber fails when text shows an ID number whole: any of them, and the resident's in
// either case.
func noIDNumber(t *testing.T, where, text, id string) {
	t.Helper()
	if m := idNumberRE.FindStringSubmatch(text); m != nil || strings.Contains(strings.ToUpper(text), strings.ToUpper(id)) {
		var found string
		if m != nil {
			found = m[1]
		}
		t.Errorf("%s shows a whole ID number (%q)", where, found)
	}
}

// TestAttackFullIDNumbersInAuditLogAndHeader replays finding 10 over HTTP: residents whose
// usernames are their ID numbers (one with a display name, one without) log in and use the
// portal; the header they see, the auditor's audit page and API, the administrator's users page
// and API, and the server's log show no whole ID number. The auditor still finds a resident's
// entries by the whole number, and sees them masked.
func TestAttackFullIDNumbersInAuditLogAndHeader(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newTestEnv(t, d)
		ctx := context.Background()
		named, bare := e.addStaff(), e.addStaff()
		for _, id := range []string{named, bare} {
			p, err := e.reg.Person(ctx, e.principal(auth.Clerk), id)
			if err != nil {
				t.Fatal(err)
			}
			display := ""
			if id == named {
				display = "测试职工"
			}
			// As registry.CreateResidentLogin names them: the ID number in lower case.
			if _, _, err := e.auth.CreateUser(ctx, nil, audit.System, auth.NewUser{Username: strings.ToLower(id), DisplayName: display,
				Role: auth.Resident, Regions: []string{testRegion}, Password: testPassword, PersonID: p.ID}); err != nil {
				t.Fatal(err)
			}
		}

		for _, id := range []string{named, bare} {
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar}
			resp, err := c.PostForm(e.http.URL+"/login", url.Values{"username": {strings.ToLower(id)}, "password": {testPassword}})
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("resident login: %v %v", resp.StatusCode, err)
			}
			resp.Body.Close()
			for _, path := range []string{"/", "/contributions", "/card", "/guide", "/account"} {
				html := get(t, c, e.http.URL+path)
				who := regexp.MustCompile(`(?s)<span class="who" id="who">(.*?)</span>`).FindStringSubmatch(html)
				if who == nil {
					t.Fatalf("%s has no header naming the user: %s", path, html)
				}
				noIDNumber(t, "the header of "+path, who[1], id)
				if id == named && !strings.Contains(who[1], "测试职工") {
					t.Errorf("the header of %s is %q; want the display name", path, who[1])
				}
				if id == bare && !strings.Contains(who[1], id[:4]+"**********"+strings.ToLower(id[14:])) {
					t.Errorf("the header of %s is %q; want the masked username", path, who[1])
				}
				if path == "/" {
					noIDNumber(t, "the home page", html, id)
				}
			}
		}

		// The auditor: the log page and the API, everyone's entries and the residents' own.
		noIDNumber(t, "the audit page", e.page(auth.Auditor, "/audit"), bare)
		status, body := e.do(auth.Auditor, "GET", "/api/v1/audit/entries?limit=1000", "")
		if status != 200 {
			t.Fatalf("audit entries: %d %s", status, body)
		}
		noIDNumber(t, "the audit API", body, bare)
		noIDNumber(t, "the audit API", body, named)
		masked := bare[:4] + "**********" + strings.ToLower(bare[14:])
		if !strings.Contains(body, `"actor":"`+masked+`"`) {
			t.Errorf("the audit API does not show the resident's session, masked: %s", body)
		}
		for _, query := range []string{bare, strings.ToLower(bare)} {
			status, body = e.do(auth.Auditor, "GET", "/api/v1/audit/entries?user="+query, "")
			var got struct{ Entries []auditEntryJSON }
			if status != 200 || json.Unmarshal([]byte(body), &got) != nil || len(got.Entries) < 2 {
				t.Fatalf("the resident's entries by ID number: %d %s", status, body)
			}
			for _, en := range got.Entries {
				if en.Actor != masked && en.Object != "user:"+masked {
					t.Errorf("entry %d (%s by %s on %s) is not the resident's", en.Seq, en.Action, en.Actor, en.Object)
				}
			}
			noIDNumber(t, "the resident's audit entries", body, bare)
		}
		status, body = e.do(auth.Auditor, "GET", "/api/v1/audit/entries?user="+strings.Repeat("a", 64), "")
		if status != 422 || errorOf(t, body).Fields["user"] == "" {
			t.Errorf("a 64-character user: %d %s; want 422 naming user", status, body)
		}
		html := e.page(auth.Auditor, "/audit?user="+bare)
		table := regexp.MustCompile(`(?s)<table id="audit">.*</table>`).FindString(html)
		if !strings.Contains(table, masked) {
			t.Errorf("the audit page does not find the resident's entries: %s", html)
		}
		noIDNumber(t, "the audit page's entries for the resident", table, bare)

		// The administrator's list of users.
		noIDNumber(t, "the users page", e.page(auth.Admin, "/admin/users"), bare)
		status, body = e.do(auth.Admin, "GET", "/api/v1/users", "")
		if status != 200 || !strings.Contains(body, masked) {
			t.Fatalf("users: %d %s", status, body)
		}
		noIDNumber(t, "the users API", body, bare)
		status, body = e.do(auth.Auditor, "GET", "/api/v1/users/"+strings.ToLower(bare), "")
		if status != 200 || !strings.Contains(body, masked) {
			t.Fatalf("one user: %d %s", status, body)
		}
		noIDNumber(t, "the user API", body, bare)

		// The server's log: every request above, the residents' included.
		if !strings.Contains(e.logs.String(), "user="+masked) {
			t.Errorf("the access log does not name the resident, masked: %s", e.logs.String())
		}
		noIDNumber(t, "the server log", e.logs.String(), bare)
		noIDNumber(t, "the server log", e.logs.String(), named)
	})
}

// get fetches a page with a logged-in client and returns its HTML, failing on anything but 200.
func get(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return string(b)
}

// TestIDNumberREBounds: the finder catches a whole ID number in JSON, text and a path, and not a
// run of digits inside a hex hash.
func TestIDNumberREBounds(t *testing.T) {
	for _, s := range []string{`{"actor":"110101199003070015"}`, "person:11010119900307001x", "110101199003070015", "/persons/110101199003070015/cards"} {
		if idNumberRE.FindStringSubmatch(s) == nil {
			t.Errorf("%q: not found", s)
		}
	}
	for _, s := range []string{`{"hash":"ab940403193404252307cd"}`, "1940403193404252307", "110101********0015"} {
		if m := idNumberRE.FindStringSubmatch(s); m != nil {
			t.Errorf("%q: found %q", s, m[1])
		}
	}
}
