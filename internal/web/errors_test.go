package web

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db/dbtest"
)

// internalWords must never reach a client: they would reveal the engine, the code or the data.
var internalWords = []string{"sql", "database", "panic", "goroutine", ".go:", "pgx", "sqlite", "runtime"}

func assertNoInternals(t *testing.T, body string) {
	t.Helper()
	low := strings.ToLower(body)
	for _, w := range internalWords {
		if strings.Contains(low, w) {
			t.Errorf("answer reveals %q: %s", w, body)
		}
	}
}

func TestAPIErrorForms(t *testing.T) {
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	cases := []struct {
		name, method, path, body string
		role                     auth.Role
		status                   int
		code                     string
		field                    string
	}{
		{"unknown route", "GET", "/api/v1/no-such-thing", "", auth.Admin, 404, "not_found", ""},
		{"unknown route, anonymous", "GET", "/api/v2/users", "", "", 404, "not_found", ""},
		{"wrong method", "DELETE", "/api/v1/users", "", auth.Admin, 405, "bad_method", ""},
		{"bad JSON", "POST", "/api/v1/users", `{"username": "x",`, auth.Admin, 400, "bad_request", ""},
		{"not an object", "POST", "/api/v1/users", `[1,2,3]`, auth.Admin, 422, "invalid", ""},
		{"empty body", "POST", "/api/v1/users", ``, auth.Admin, 400, "bad_request", ""},
		{"trailing data", "POST", "/api/v1/users", `{"username":"abc","role":"clerk","regions":["330100"]} {}`, auth.Admin, 400, "bad_request", ""},
		{"unknown field", "POST", "/api/v1/users", `{"username":"abc","colour":"red"}`, auth.Admin, 422, "invalid", "colour"},
		{"wrong type", "POST", "/api/v1/users", `{"username":42}`, auth.Admin, 422, "invalid", "username"},
		{"invalid field", "POST", "/api/v1/users", `{"username":"A!","role":"clerk","regions":["330100"]}`, auth.Admin, 422, "invalid", "username"},
		{"bad region", "POST", "/api/v1/users", `{"username":"abc","role":"clerk","regions":["33010"]}`, auth.Admin, 422, "invalid", "regions"},
		{"other region", "POST", "/api/v1/users", `{"username":"abc","role":"clerk","regions":["110100"]}`, auth.Admin, 422, "invalid", "regions"},
		{"unknown role", "POST", "/api/v1/users", `{"username":"abc","role":"king","regions":["330100"]}`, auth.Admin, 422, "invalid", "role"},
		{"duplicate", "POST", "/api/v1/users", `{"username":"u-clerk","role":"clerk","regions":["330100"],"phone":"13900000001"}`, auth.Admin, 409, "conflict", ""},
		{"not found", "GET", "/api/v1/users/nobody", "", auth.Admin, 404, "not_found", ""},
		{"bad limit", "GET", "/api/v1/audit/entries?limit=0", "", auth.Auditor, 422, "invalid", "limit"},
		{"foreign region filter", "GET", "/api/v1/audit/entries?region=110100", "", auth.Auditor, 422, "invalid", "region"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := e.do(c.role, c.method, c.path, c.body)
			if status != c.status {
				t.Fatalf("status %d (%s); want %d", status, body, c.status)
			}
			got := errorOf(t, body)
			if got.Code != c.code {
				t.Fatalf("code %q; want %q", got.Code, c.code)
			}
			if c.field != "" && got.Fields[c.field] == "" {
				t.Fatalf("fields %v do not name %q", got.Fields, c.field)
			}
			assertNoInternals(t, body)
		})
	}
}

func TestBadTokenIsUnauthorized(t *testing.T) {
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	for _, h := range []string{"Bearer shb_nope", "Bearer ", "Basic abc", "Bearer " + strings.Repeat("x", 500)} {
		req, _ := http.NewRequest("GET", e.http.URL+"/api/v1/me", nil)
		req.Header.Set("Authorization", h)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 || errorOf(t, string(b)).Code != "unauthorized" {
			t.Errorf("%q: %d %s", h, resp.StatusCode, b)
		}
	}
}

// An internal failure (here: the database closed under the server) answers 500 with the request id
// and nothing else; the cause goes to the log.
func TestInternalErrorHidesDetail(t *testing.T) {
	d := dbtest.SQLite(t, dbtest.Options{})
	e := newTestEnv(t, d)
	d.Close()
	for _, path := range []string{"/api/v1/users", "/api/v1/audit/entries"} {
		role := auth.Admin
		if strings.Contains(path, "audit") {
			role = auth.Auditor
		}
		status, body := e.do(role, "GET", path, "")
		if status != 500 {
			t.Fatalf("%s: status %d (%s); want 500", path, status, body)
		}
		if got := errorOf(t, body); got.Code != "internal" || !strings.HasPrefix(got.Message, "internal error (request ") {
			t.Fatalf("answer %+v", got)
		}
		assertNoInternals(t, body)
	}
	if !strings.Contains(e.logs.String(), "internal error") {
		t.Fatalf("the cause was not logged: %s", e.logs.String())
	}
}

func TestPanicIsRecovered(t *testing.T) {
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	h := e.srv.middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic("secret detail from deep inside")
	}))
	for _, path := range []string{"/api/v1/x", "/x"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 500 {
			t.Fatalf("%s: status %d", path, rec.Code)
		}
		if strings.Contains(rec.Body.String(), "secret detail") {
			t.Fatalf("%s: panic value leaked: %s", path, rec.Body.String())
		}
		assertNoInternals(t, rec.Body.String())
	}
	if !strings.Contains(e.logs.String(), "secret detail") {
		t.Fatal("the panic was not logged")
	}
}

func TestPortalErrorsAreHTML(t *testing.T) {
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	resp, err := http.Get(e.http.URL + "/no/such/page")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(b), "error-message") {
		t.Fatalf("status %d, %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
}

// noRedirect keeps the client on the answer it got.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func postLogin(t *testing.T, base, username, password string) *http.Response {
	t.Helper()
	resp, err := noRedirect.PostForm(base+"/login", url.Values{"username": {username}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestWrongPasswordsAreRateLimited(t *testing.T) {
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	if resp := postLogin(t, e.http.URL, "u-clerk", testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("right password: %d", resp.StatusCode)
	}
	for i := range 5 {
		if resp := postLogin(t, e.http.URL, "u-clerk", "wrong password"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d; want 401", i+1, resp.StatusCode)
		}
	}
	resp := postLogin(t, e.http.URL, "u-clerk", testPassword)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("after 5 failures, right password: %d; want 429 with Retry-After", resp.StatusCode)
	}
	// Another user from the same address is not locked out by the clerk's failures (the per-address
	// limit is higher).
	if resp := postLogin(t, e.http.URL, "u-admin", testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("other user: %d", resp.StatusCode)
	}
}

func TestCrossOriginPostIsRefused(t *testing.T) {
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	req, _ := http.NewRequest("POST", e.http.URL+"/login", strings.NewReader("username=u-admin&password="+url.QueryEscape(testPassword)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin login: %d; want 403", resp.StatusCode)
	}
}

func TestOperationalEndpoints(t *testing.T) {
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	e.do(auth.Admin, "GET", "/api/v1/users/123456789012345678", "")
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready", "/metrics": "shebao_http_requests_total"} {
		resp, err := http.Get(e.http.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
		}
		if path == "/metrics" && strings.Contains(string(b), "123456789012345678") {
			t.Fatal("metrics carry a raw path")
		}
	}
	if strings.Contains(e.logs.String(), "123456789012345678") {
		t.Fatal("the access log carries a raw path")
	}
}

// TestOpenAPIMatchesRoutes: every registered API route is in the document, and every documented
// operation is a registered route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	status, body := e.do("", "GET", "/api/v1/openapi.json", "")
	if status != 200 {
		t.Fatalf("openapi.json: %d", status)
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	var documented, registered []string
	for path, ops := range doc.Paths {
		for method, op := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
			if op["responses"] == nil || op["summary"] == nil {
				t.Errorf("%s %s lacks a summary or responses", method, path)
			}
		}
	}
	for _, r := range e.srv.Routes() {
		if r.API {
			registered = append(registered, r.Method+" "+r.Path)
		}
		// A keyed route says so: its Idempotency-Key header is required (a payment's key may
		// come in the body instead, as the banks' files carry it: the header is optional there).
		if op := doc.Paths[r.Path][strings.ToLower(r.Method)]; r.API && op != nil {
			required, keyInBody := false, r.Method+" "+r.Path == "POST /api/v1/payments"
			params, _ := op["parameters"].([]any)
			for _, p := range params {
				if m, _ := p.(map[string]any); m["name"] == "Idempotency-Key" && m["in"] == "header" {
					required, _ = m["required"].(bool)
				}
			}
			if required != (r.Keyed && !keyInBody) {
				t.Errorf("%s %s: the document's Idempotency-Key required=%v, the route's keyed=%v", r.Method, r.Path, required, r.Keyed)
			}
			// Who may call it is the permission table's word, in x-roles.
			var want []any
			for _, role := range auth.Roles {
				if r.Action != "" && auth.Can(role, r.Action) {
					want = append(want, string(role))
				}
			}
			got, _ := op["x-roles"].([]any)
			if fmt.Sprint(got) != fmt.Sprint(want) || op["description"] == nil {
				t.Errorf("%s %s: x-roles %v, want %v (from the permission table), and a description", r.Method, r.Path, got, want)
			}
		}
	}
	slices.Sort(documented)
	slices.Sort(registered)
	for _, r := range registered {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(registered, d) {
			t.Errorf("openapi.json documents %s, which is not a route", d)
		}
	}
}
