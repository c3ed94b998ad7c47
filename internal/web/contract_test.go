package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/policy"
)

// The contract check: every request a test of this package sends to /api/v1 through the test
// server, and the server's answer, is validated against the document the server serves, with
// kin-openapi. The document is the contract integrators build on, so the server may not send
// what it does not declare (its objects are closed and their always-present fields required),
// and may not take what it declares bad:
//
//   - an answer that does not match the document's response for its status is a mismatch, and so
//     is a status the operation does not list (the document's `default` covers only the answers
//     any operation can give: 405, 429, 500, 503);
//   - a request the document says is malformed must be refused (4xx); one it allows may still be
//     refused for what a schema cannot say (a duplicate, a state), which is no mismatch.
//
// Mismatches fail the test whose environment saw them. TestRouteRoleMatrix checks that every
// operation was validated, answering 2xx at least once where its case expects it.

// contractDoc is the served document, loaded once for the package.
var contractDoc struct {
	once   sync.Once
	router routers.Router
	err    error
}

// contractSeen counts, per operation ("GET /api/v1/..."), the validated exchanges by status.
var contractSeen = struct {
	sync.Mutex
	m map[string]map[int]int
}{m: map[string]map[int]int{}}

// defaultStatuses are the answers any operation can give, covered by the document's `default`.
var defaultStatuses = map[int]bool{405: true, 429: true, 500: true, 503: true}

func init() {
	for _, ct := range []string{"application/pdf", "image/jpeg", "image/png", "application/x-pem-file",
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}
}

// contract wraps a server's handler with the check; mismatches are kept for report.
type contract struct {
	h          http.Handler
	trial      bool // a test of the check itself: its exchanges count for no operation
	mu         sync.Mutex
	mismatches []string
}

func loadContract(h http.Handler) (routers.Router, error) {
	contractDoc.once.Do(func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
		if rec.Code != http.StatusOK {
			contractDoc.err = fmt.Errorf("GET /api/v1/openapi.json: %d", rec.Code)
			return
		}
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(rec.Body.Bytes())
		if err == nil {
			err = doc.Validate(context.Background())
		}
		if err == nil {
			contractDoc.router, err = gorillamux.NewRouter(doc)
		}
		contractDoc.err = err
	})
	return contractDoc.router, contractDoc.err
}

func (c *contract) fail(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mismatches = append(c.mismatches, fmt.Sprintf(format, args...))
}

// report fails t with the mismatches seen.
func (c *contract) report(t *testing.T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, m := range c.mismatches {
		if i == 3000 {
			t.Errorf("contract: and %d more", len(c.mismatches)-i)
			break
		}
		t.Errorf("contract: %s", m)
	}
}

func (c *contract) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/api/v1/") || r.URL.Path == "/api/v1/openapi.json" {
		c.h.ServeHTTP(w, r)
		return
	}
	router, err := loadContract(c.h)
	if err != nil {
		c.fail("the document does not load: %v", err)
		c.h.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))

	// The copy kin-openapi reads; the server gets the request as it came.
	vr := r.Clone(r.Context())
	vr.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := router.FindRoute(vr)
	if err != nil {
		rec := httptest.NewRecorder()
		c.h.ServeHTTP(rec, r)
		copyAnswer(w, rec)
		// A method the path does not have is the 405 every path may answer.
		if rec.Code != http.StatusMethodNotAllowed && rec.Code != http.StatusNotFound {
			c.fail("%s %s: no operation in the document (answered %d)", r.Method, r.URL.Path, rec.Code)
		}
		return
	}
	op := r.Method + " " + route.Path
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		SkipSettingDefaults: true, IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: vr, PathParams: params, Route: route, Options: opts}
	reqErr := openapi3filter.ValidateRequest(r.Context(), in)

	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, r)
	copyAnswer(w, rec)

	if !c.trial {
		contractSeen.Lock()
		if contractSeen.m[op] == nil {
			contractSeen.m[op] = map[int]int{}
		}
		contractSeen.m[op][rec.Code]++
		contractSeen.Unlock()
	}

	if reqErr != nil && rec.Code < 400 {
		c.fail("%s %s: the document refuses the request (%s), the server answered %d", r.Method, r.URL.RequestURI(), describe(reqErr), rec.Code)
	}
	if route.Operation.Responses.Value(strconv.Itoa(rec.Code)) == nil && !defaultStatuses[rec.Code] {
		c.fail("%s: status %d is not in the document (%s)", op, rec.Code, clip(rec.Body.String()))
		return
	}
	// A created object's Location is an address the document has a GET of.
	if loc := rec.Header().Get("Location"); loc != "" {
		get, _ := http.NewRequest(http.MethodGet, "http://"+r.Host+loc, nil)
		if route, _, err := router.FindRoute(get); err != nil || route.Operation == nil {
			c.fail("%s → %d: Location %s is no GET of the document", op, rec.Code, loc)
		}
	}
	answer := rec.Body.Bytes()
	if rec.Header().Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(answer))
		if err == nil {
			answer, err = io.ReadAll(zr)
		}
		if err != nil {
			c.fail("%s → %d: the gzip answer does not read: %v", op, rec.Code, err)
			return
		}
	}
	if err := openapi3filter.ValidateResponse(r.Context(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
		Body: io.NopCloser(bytes.NewReader(answer)), Options: opts}); err != nil {
		c.fail("%s → %d: %s (%s)", op, rec.Code, describe(err), clip(string(answer)))
	}
}

func copyAnswer(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// describe writes a validation error as where and what, every one of a multiple error, without
// the schema kin-openapi prints beside each.
func describe(err error) string {
	var me openapi3.MultiError
	if errors.As(err, &me) {
		parts := make([]string, 0, len(me))
		for _, e := range me {
			parts = append(parts, describe(e))
		}
		return strings.Join(parts, "; ")
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return fmt.Sprintf("Error at %q: %s", "/"+strings.Join(se.JSONPointer(), "/"), se.Reason)
	}
	return clip(oneLine(err))
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// contractStatuses lists the statuses an operation answered under the check, for a test to ask.
func contractStatuses(op string) []int {
	contractSeen.Lock()
	defer contractSeen.Unlock()
	var out []int
	for s := range contractSeen.m[op] {
		out = append(out, s)
	}
	sort.Ints(out)
	return out
}

// goSchema is the OpenAPI schema of a Go type as encoding/json writes it: objects closed, their
// fields required unless written omitempty. The policy document is the Go type policy.Policy, so
// its schema in the document is this (TestPolicySchemaIsTheGoType), not a second description.
func goSchema(t reflect.Type) map[string]any {
	switch t.Kind() {
	case reflect.Pointer:
		return goSchema(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": goSchema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": goSchema(t.Elem())}
	case reflect.Struct:
		props := map[string]any{}
		var required []any
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			props[name] = goSchema(f.Type)
			if !strings.Contains(opts, "omitempty") {
				required = append(required, name)
			}
		}
		s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			sort.Slice(required, func(i, j int) bool { return required[i].(string) < required[j].(string) })
			s["required"] = required
		}
		return s
	}
	panic("goSchema: no schema for " + t.String())
}

// withoutNotes is a schema without the words written for people, to compare shapes.
func withoutNotes(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			if k != "description" && k != "example" && k != "pattern" {
				out[k] = withoutNotes(x)
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = withoutNotes(x)
		}
		return out
	}
	return v
}

func TestPolicySchemaIsTheGoType(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(goSchema(reflect.TypeOf(policy.Policy{})))
	var wantV any
	_ = json.Unmarshal(want, &wantV)
	got, _ := json.Marshal(withoutNotes(doc.Components.Schemas["Policy"]))
	if w, _ := json.Marshal(withoutNotes(wantV)); string(got) != string(w) {
		if os.Getenv("SHEBAO_PRINT_POLICY_SCHEMA") != "" {
			fmt.Println(string(w))
		}
		t.Errorf("the document's Policy schema is not policy.Policy's: set SHEBAO_PRINT_POLICY_SCHEMA=1 to print the Go type's\n got %s\nwant %s", got, w)
	}
}

// TestAnswersAsDocumented holds the statuses integrators stumbled over to one rule each, through
// the contract check: a malformed path value is 422 naming it, a missing object 404 (also a card
// batch), a missing query parameter 422, and a created object's Location is its GET.
func TestAnswersAsDocumented(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newTestEnv(t, d)
		for _, c := range []struct {
			role         auth.Role
			method, path string
			body         string
			status       int
			fields       []string
		}{
			{auth.Clerk, "GET", "/api/v1/policies/abc", "", 422, []string{"id"}},
			{auth.Clerk, "GET", "/api/v1/policies/0", "", 422, []string{"id"}},
			{auth.Clerk, "GET", "/api/v1/policies/99999", "", 404, nil},
			{auth.Clerk, "GET", "/api/v1/enrolments/x1", "", 422, []string{"id"}},
			{auth.CardOfficer, "POST", "/api/v1/card-batches/99999/distribute", `{"outlet":"XH-01"}`, 404, nil},
			{"", "GET", "/api/v1/public/card-progress", "", 422, []string{"application_no", "id_number"}},
			{"", "GET", "/api/v1/public/card-progress?id_number=" + e.personID, "", 422, []string{"application_no"}},
		} {
			status, body := e.do(c.role, c.method, c.path, c.body)
			if status != c.status {
				t.Errorf("%s %s: %d %s; want %d", c.method, c.path, status, body, c.status)
				continue
			}
			var got []string
			for f := range errorOf(t, body).Fields {
				got = append(got, f)
			}
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(c.fields, ",") {
				t.Errorf("%s %s: fields %v; want %v", c.method, c.path, got, c.fields)
			}
		}

		if status, body := e.do("", "GET", "/api/v1/guide/"+testRegion, ""); status != http.StatusOK {
			t.Errorf("the service guide: %d %s", status, body)
		}

		status, body, h := e.send(e.tokens[auth.Clerk], "POST", "/api/v1/employers",
			`{"uscc":"`+e.newUSCC()+`","name":"新单位","legal_rep":"钱","risk_class":4}`)
		loc := h.Get("Location")
		if status != http.StatusCreated || loc == "" {
			t.Fatalf("POST /api/v1/employers: %d, Location %q: %s", status, loc, body)
		}
		if status, got := e.do(auth.Clerk, "GET", loc, ""); status != http.StatusOK || got != body {
			t.Errorf("GET %s (the Location): %d %s; want 200 and the created employer %s", loc, status, got, body)
		}
	})
}

// TestMain runs the package's tests and then, when all of them ran (no -run, -skip or -short) and
// passed, checks that the contract check saw every operation of the document answer 2xx at least
// once: the document describes nothing the tests never validated a good answer of.
func TestMain(m *testing.M) {
	code := m.Run()
	whole := flag.Lookup("test.run").Value.String() == "" && flag.Lookup("test.skip").Value.String() == "" && !testing.Short()
	if code == 0 && whole {
		if missing := unvalidatedOperations(); len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "contract: no test saw these operations answer 2xx under the check:\n  %s\n", strings.Join(missing, "\n  "))
			code = 1
		}
	}
	os.Exit(code)
}

// unvalidatedOperations are the document's operations without a validated 2xx answer.
func unvalidatedOperations() []string {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		return []string{err.Error()}
	}
	var missing []string
	for path, ops := range doc.Paths {
		for method := range ops {
			op := strings.ToUpper(method) + " " + path
			if path == "/api/v1/openapi.json" {
				continue // served beside the check, which loads it
			}
			ok := false
			for _, s := range contractStatuses(op) {
				ok = ok || s >= 200 && s < 300
			}
			if !ok {
				missing = append(missing, op)
			}
		}
	}
	sort.Strings(missing)
	return missing
}

// TestContractCatchesDrift shows the check is no formality: an answer with a field more, a field
// fewer, a time in another form, a status the operation does not list, or a taken request the
// document calls malformed is each a mismatch.
func TestContractCatchesDrift(t *testing.T) {
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	status, me := e.do(auth.Clerk, "GET", "/api/v1/me", "")
	if status != http.StatusOK {
		t.Fatalf("GET /api/v1/me: %d %s", status, me)
	}
	var user map[string]any
	if err := json.Unmarshal([]byte(me), &user); err != nil {
		t.Fatal(err)
	}
	altered := func(change func(map[string]any)) string {
		u := map[string]any{}
		for k, v := range user {
			u[k] = v
		}
		change(u)
		b, _ := json.Marshal(u)
		return string(b)
	}
	for _, c := range []struct {
		name         string
		method, path string
		status       int
		answer       string
		want         string
	}{
		{"extra field", "GET", "/api/v1/me", 200, altered(func(u map[string]any) { u["internal_id"] = 7 }), `"internal_id" is unsupported`},
		{"missing field", "GET", "/api/v1/me", 200, altered(func(u map[string]any) { delete(u, "role") }), `"role" is missing`},
		{"time with nanoseconds", "GET", "/api/v1/me", 200, altered(func(u map[string]any) { u["created_at"] = "2026-12-03T01:30:00.123456789Z" }), `created_at`},
		{"status not listed", "GET", "/api/v1/me", 409, `{"code":"conflict","message":"x"}`, "status 409 is not in the document"},
		{"malformed request taken", "GET", "/api/v1/policies/abc", 200, `{}`, "the document refuses the request"},
	} {
		fake := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/v1/openapi.json" {
				e.srv.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Request-Id", "drift")
			w.WriteHeader(c.status)
			_, _ = io.WriteString(w, c.answer)
		})
		ct := &contract{h: fake, trial: true}
		req := httptest.NewRequest(c.method, c.path, nil)
		ct.ServeHTTP(httptest.NewRecorder(), req)
		if got := strings.Join(ct.mismatches, "\n"); !strings.Contains(got, c.want) {
			t.Errorf("%s: mismatches %q; want one with %q", c.name, got, c.want)
		}
	}
}
