package web

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db/dbtest"
)

// TestEveryPageRendersForEveryAllowedRole opens every portal page (GET, no path parameters) as
// every role: a role the permission table allows gets the page (200, HTML, its own menu), any
// other role a 403 page, and nobody is sent to the login page.
func TestEveryPageRendersForEveryAllowedRole(t *testing.T) {
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	clients := map[auth.Role]*http.Client{}
	for _, role := range auth.Roles {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.PostForm(e.http.URL+"/login", url.Values{"username": {userName(role)}, "password": {testPassword}})
		if err != nil || resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("login %s: %v %v", role, resp.StatusCode, err)
		}
		resp.Body.Close()
		clients[role] = c
	}
	pages := 0
	for _, r := range e.srv.Routes() {
		if r.API || r.Method != "GET" || r.Action == "" || strings.Contains(r.Path, "{") {
			continue
		}
		pages++
		for _, role := range auth.Roles {
			resp, err := clients[role].Get(e.http.URL + r.Path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			allowed := auth.Can(role, r.Action)
			switch {
			case allowed && (resp.StatusCode != 200 || !strings.Contains(string(body), `id="menu"`)):
				t.Errorf("%s as %s: %d", r.Path, role, resp.StatusCode)
			case !allowed && resp.StatusCode != 403:
				t.Errorf("%s as %s (not allowed): %d", r.Path, role, resp.StatusCode)
			}
		}
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(e.http.URL + r.Path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			t.Errorf("%s anonymous: %d %s", r.Path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if pages < 8 {
		t.Fatalf("only %d pages checked", pages)
	}
}
