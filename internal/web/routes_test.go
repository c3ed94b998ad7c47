package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
)

// routeCase says how to call one API route and what it answers when the role is allowed.
type routeCase struct {
	path string
	// body returns the request body for role; nil means no body.
	body func(e *testEnv, role auth.Role) string
	ok   int
}

func fixed(s string) func(*testEnv, auth.Role) string {
	return func(*testEnv, auth.Role) string { return s }
}

// apiCases covers every guarded API route. TestRouteRoleMatrix fails when a route has no case, so a
// new route cannot escape the matrix.
var apiCases = map[string]routeCase{
	"GET /api/v1/me": {path: "/api/v1/me", ok: 200},
	"POST /api/v1/me/password": {path: "/api/v1/me/password", ok: 204,
		body: fixed(`{"current_password":"` + testPassword + `","new_password":"another fine password"}`)},
	"POST /api/v1/me/totp": {path: "/api/v1/me/totp", ok: 200},
	"POST /api/v1/me/totp/confirm": {path: "/api/v1/me/totp/confirm", ok: 204, body: func(e *testEnv, role auth.Role) string {
		// Offer a secret first, then answer with the code the authenticator app would show.
		setup, err := e.auth.BeginTOTP(context.Background(), &auth.Principal{User: e.user(role)})
		if err != nil {
			e.t.Fatal(err)
		}
		code, err := auth.TOTPCode(setup.Secret, time.Now())
		if err != nil {
			e.t.Fatal(err)
		}
		return `{"code":"` + code + `"}`
	}},
	"GET /api/v1/users": {path: "/api/v1/users", ok: 200},
	"POST /api/v1/users": {path: "/api/v1/users", ok: 201, body: func(e *testEnv, role auth.Role) string {
		return fmt.Sprintf(`{"username":"new-by-%s","role":"clerk","regions":["%s"]}`, strings.ReplaceAll(string(role), "_", "-"), testRegion)
	}},
	"GET /api/v1/users/{username}":          {path: "/api/v1/users/u-resident", ok: 200},
	"POST /api/v1/users/{username}/disable": {path: "/api/v1/users/target/disable", ok: 200},
	"POST /api/v1/users/{username}/enable":  {path: "/api/v1/users/target/enable", ok: 200},
	"POST /api/v1/users/{username}/tokens":  {path: "/api/v1/users/target/tokens", ok: 201, body: fixed(`{"name":"his"}`)},
	"GET /api/v1/audit/entries":             {path: "/api/v1/audit/entries?limit=5", ok: 200},
	"GET /api/v1/audit/verify":              {path: "/api/v1/audit/verify", ok: 200},
}

func (e *testEnv) user(role auth.Role) auth.User {
	u, err := e.auth.UserByName(context.Background(), "u-"+strings.ReplaceAll(string(role), "_", "-"))
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// TestRouteRoleMatrix calls every API route as every role and as nobody: a role the permission
// table allows gets the route's success status, every other role 403, nobody 401.
func TestRouteRoleMatrix(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newTestEnv(t, d)
		if _, _, err := e.auth.CreateUser(context.Background(), nil, auditSystem(), auth.NewUser{
			Username: "target", Role: auth.Resident, Regions: []string{testRegion}}); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, r := range e.srv.Routes() {
			if !r.API || r.Action == "" {
				continue
			}
			key := r.Method + " " + r.Path
			seen[key] = true
			c, ok := apiCases[key]
			if !ok {
				t.Errorf("route %s has no case in apiCases", key)
				continue
			}
			t.Run(key, func(t *testing.T) {
				if status, body := e.do("", r.Method, c.path, ""); status != http.StatusUnauthorized {
					t.Errorf("anonymous: status %d (%s); want 401", status, body)
				}
				for _, role := range auth.Roles {
					body := ""
					allowed := auth.Can(role, r.Action)
					if c.body != nil && allowed {
						body = c.body(e, role)
					} else if c.body != nil {
						body = "{}"
					}
					status, resp := e.do(role, r.Method, c.path, body)
					switch {
					case allowed && status != c.ok:
						t.Errorf("%s (allowed): status %d (%s); want %d", role, status, resp, c.ok)
					case !allowed && status != http.StatusForbidden:
						t.Errorf("%s (refused): status %d (%s); want 403", role, status, resp)
					case !allowed && errorOf(t, resp).Code != "forbidden":
						t.Errorf("%s: error code %q; want forbidden", role, errorOf(t, resp).Code)
					}
				}
			})
		}
		for key := range apiCases {
			if !seen[key] {
				t.Errorf("apiCases has %s, which is not a registered route", key)
			}
		}
	})
}
