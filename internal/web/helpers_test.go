package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
)

const testRegion = "330100"
const testPassword = "correct horse battery"

// testEnv is a server over a fresh database with one user and API token per role.
type testEnv struct {
	t      *testing.T
	db     *db.DB
	auth   *auth.Service
	srv    *Server
	http   *httptest.Server
	tokens map[auth.Role]string
	logs   *strings.Builder
}

func newTestEnv(t *testing.T, d *db.DB) *testEnv {
	t.Helper()
	logs := &strings.Builder{}
	a := auth.New(d, auth.Options{})
	srv, err := New(Deps{DB: d, Auth: a, Log: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, db: d, auth: a, srv: srv, tokens: map[auth.Role]string{}, logs: logs}
	for _, r := range auth.Roles {
		name := "u-" + strings.ReplaceAll(string(r), "_", "-")
		if _, _, err := a.CreateUser(context.Background(), nil, audit.System, auth.NewUser{
			Username: name, Role: r, Regions: []string{testRegion}, Password: testPassword}); err != nil {
			t.Fatal(err)
		}
		tok, err := a.IssueToken(context.Background(), nil, audit.System, name, "test")
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[r] = tok
	}
	e.http = httptest.NewServer(srv)
	t.Cleanup(e.http.Close)
	return e
}

// do sends a request as role ("" = anonymous) and returns the status and body.
func (e *testEnv) do(role auth.Role, method, path, body string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.http.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[role])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// errorOf decodes a JSON error answer, failing the test when the answer is not one.
func errorOf(t *testing.T, body string) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Code == "" || e.Message == "" {
		t.Fatalf("not a JSON error: %q", body)
	}
	return e
}

func auditSystem() audit.Actor { return audit.System }
