package auth_test

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/errs"
)

// env is one engine's database with a service and the clock both of them read.
type env struct {
	ctx   context.Context
	d     *db.DB
	clock *dbtest.Clock
	svc   *auth.Service
}

// cli is the actor of the command line, which CreateUser and IssueToken trust (by == nil).
var cli = audit.Actor{Name: "ops", Role: "system", RequestID: "cli"}

// each runs fn on every engine with a fresh clock at epoch and a service with default options.
func each(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	eachWith(t, auth.Options{}, fn)
}

// eachWith is each with service options; Now is always the test clock. Each engine gets its own
// clock, so advancing it on SQLite does not move PostgreSQL's.
func eachWith(t *testing.T, o auth.Options, fn func(t *testing.T, e *env)) {
	t.Helper()
	var cur atomic.Pointer[dbtest.Clock]
	cur.Store(dbtest.NewClock(epoch))
	now := func() time.Time { return cur.Load().Now() }
	dbtest.EachWith(t, dbtest.Options{Now: now}, func(t *testing.T, d *db.DB) {
		clock := dbtest.NewClock(epoch)
		cur.Store(clock)
		o.Now = now
		fn(t, &env{ctx: context.Background(), d: d, clock: clock, svc: auth.New(d, o)})
	})
}

const pw = "correct horse battery"

// create makes a user from the command line with the password pw.
func (e *env) create(t *testing.T, username string, role auth.Role, regions ...string) auth.User {
	t.Helper()
	u, got, err := e.svc.CreateUser(e.ctx, nil, cli, auth.NewUser{Username: username, DisplayName: "User " + username, Role: role, Regions: regions, Password: pw})
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", username, err)
	}
	if got != pw {
		t.Fatalf("CreateUser(%s) returned password %q, want the one given", username, got)
	}
	return u
}

func principal(u auth.User) *auth.Principal {
	return &auth.Principal{User: u, Via: "session", RequestID: "req-" + u.Username}
}

// wantCode fails unless err carries code.
func wantCode(t *testing.T, err error, code errs.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %s", code)
	}
	if got := errs.CodeOf(err); got != code {
		t.Fatalf("err = %v (code %s), want %s", err, got, code)
	}
}

// wantFields fails unless err is Invalid and names exactly the given fields.
func wantFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	wantCode(t, err, errs.Invalid)
	e, ok := errs.As(err)
	if !ok {
		t.Fatalf("err %v is not an *errs.Error", err)
	}
	var got []string
	for f := range e.Fields {
		got = append(got, f)
	}
	slices.Sort(got)
	slices.Sort(fields)
	if !slices.Equal(got, fields) {
		t.Fatalf("err = %v names fields %v, want %v", err, got, fields)
	}
}

// auditActions returns the actions of the whole audit log, oldest first, after checking the chain.
func (e *env) auditActions(t *testing.T) []string {
	t.Helper()
	entries := e.auditEntries(t)
	out := make([]string, len(entries))
	for i, en := range entries {
		out[i] = en.Action
	}
	return out
}

func (e *env) auditEntries(t *testing.T) []audit.Entry {
	t.Helper()
	entries, err := audit.List(e.ctx, e.d.R(), audit.Query{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Verify(e.ctx, e.d, nil)
	if err != nil {
		t.Fatalf("audit chain: %v", err)
	}
	if rep.Entries != int64(len(entries)) {
		t.Fatalf("Verify checked %d entries, List returned %d", rep.Entries, len(entries))
	}
	slices.Reverse(entries)
	return entries
}

// lastAudit returns the newest audit entry.
func (e *env) lastAudit(t *testing.T) audit.Entry {
	t.Helper()
	entries, err := audit.List(e.ctx, e.d.R(), audit.Query{Limit: 1})
	if err != nil || len(entries) != 1 {
		t.Fatalf("audit.List = %v, %v", entries, err)
	}
	return entries[0]
}

func TestCreateUserValidation(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		admin := principal(e.create(t, "admin", auth.Admin, "110000", "120000"))
		ok := auth.NewUser{Username: "alice", Role: auth.Clerk, Regions: []string{"110000"}, Password: pw}
		with := func(f func(*auth.NewUser)) auth.NewUser { nu := ok; f(&nu); return nu }
		tests := []struct {
			name   string
			by     *auth.Principal
			nu     auth.NewUser
			fields []string
		}{
			{"empty username", nil, with(func(n *auth.NewUser) { n.Username = "" }), []string{"username"}},
			{"one character", nil, with(func(n *auth.NewUser) { n.Username = "a" }), []string{"username"}},
			{"upper case", nil, with(func(n *auth.NewUser) { n.Username = "Alice" }), []string{"username"}},
			{"space inside", nil, with(func(n *auth.NewUser) { n.Username = "al ice" }), []string{"username"}},
			{"leading dash", nil, with(func(n *auth.NewUser) { n.Username = "-alice" }), []string{"username"}},
			{"leading dot", nil, with(func(n *auth.NewUser) { n.Username = ".alice" }), []string{"username"}},
			{"64 characters", nil, with(func(n *auth.NewUser) { n.Username = strings.Repeat("a", 64) }), []string{"username"}},
			{"slash", nil, with(func(n *auth.NewUser) { n.Username = "a/b" }), []string{"username"}},
			{"non-ASCII", nil, with(func(n *auth.NewUser) { n.Username = "张三" }), []string{"username"}},
			{"unknown role", nil, with(func(n *auth.NewUser) { n.Role = "root" }), []string{"role"}},
			{"empty role", nil, with(func(n *auth.NewUser) { n.Role = "" }), []string{"role"}},
			{"no region", nil, with(func(n *auth.NewUser) { n.Regions = nil }), []string{"regions"}},
			{"empty region list", nil, with(func(n *auth.NewUser) { n.Regions = []string{} }), []string{"regions"}},
			{"five-digit region", nil, with(func(n *auth.NewUser) { n.Regions = []string{"11000"} }), []string{"regions"}},
			{"region with a letter", nil, with(func(n *auth.NewUser) { n.Regions = []string{"110000", "11000x"} }), []string{"regions"}},
			{"empty region", nil, with(func(n *auth.NewUser) { n.Regions = []string{""} }), []string{"regions"}},
			{"short password", nil, with(func(n *auth.NewUser) { n.Password = "short" }), []string{"password"}},
			{"nine characters", nil, with(func(n *auth.NewUser) { n.Password = "123456789" }), []string{"password"}},
			{"long display name", nil, with(func(n *auth.NewUser) { n.DisplayName = strings.Repeat("x", 101) }), []string{"display_name"}},
			{"admin outside own regions", admin, with(func(n *auth.NewUser) { n.Regions, n.Password, n.Phone = []string{"310000"}, "", "13900000001" }), []string{"regions"}},
			{"admin partly outside", admin, with(func(n *auth.NewUser) {
				n.Regions, n.Password, n.Phone = []string{"110000", "310000"}, "", "13900000001"
			}), []string{"regions"}},
			{"admin setting a password", admin, with(func(n *auth.NewUser) { n.Phone = "13900000001" }), []string{"password"}},
			{"admin without a phone", admin, with(func(n *auth.NewUser) { n.Password = "" }), []string{"phone"}},
			{"not a mobile number", admin, with(func(n *auth.NewUser) { n.Password, n.Phone = "", "0571-1234567" }), []string{"phone"}},
			{"an easy password", nil, with(func(n *auth.NewUser) { n.Password = "aaaaaaaaaa" }), []string{"password"}},
			{"everything wrong", nil, auth.NewUser{Username: "X", Role: "boss", Regions: []string{"1"}, Password: "pw", DisplayName: strings.Repeat("y", 200)},
				[]string{"username", "role", "regions", "password", "display_name"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				u, p, err := e.svc.CreateUser(e.ctx, tc.by, cli, tc.nu)
				wantFields(t, err, tc.fields...)
				if u.ID != 0 || p != "" {
					t.Errorf("failed CreateUser returned %+v, %q", u, p)
				}
				if _, err := e.svc.UserByName(e.ctx, strings.TrimSpace(tc.nu.Username)); errs.CodeOf(err) != errs.NotFound {
					t.Errorf("UserByName after a failed create = %v, want not_found", err)
				}
			})
		}
		// Only user.create of the admin is in the log: refused changes leave no entry.
		if got := e.auditActions(t); !slices.Equal(got, []string{"user.create"}) {
			t.Errorf("audit actions = %v", got)
		}
	})
}

func TestCreateUser(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		u, p, err := e.svc.CreateUser(e.ctx, nil, cli, auth.NewUser{
			Username: "  wang.wei_2  ", DisplayName: "王伟", Role: auth.Clerk,
			Regions: []string{"330100", "110000", "330100"}, Password: "a long enough password", Demo: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		if p != "a long enough password" {
			t.Errorf("password = %q, want the one given", p)
		}
		if u.ID == 0 || u.Username != "wang.wei_2" || u.DisplayName != "王伟" || u.Role != auth.Clerk || !u.Demo || u.Disabled || u.TOTP {
			t.Errorf("user = %+v", u)
		}
		if !slices.Equal(u.Regions, []string{"110000", "330100"}) {
			t.Errorf("regions = %v, want sorted and without duplicates", u.Regions)
		}
		if !u.CreatedAt.Equal(epoch) {
			t.Errorf("CreatedAt = %v, want the clock's %v", u.CreatedAt, epoch)
		}
		got, err := e.svc.UserByName(e.ctx, "wang.wei_2")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != u.ID || got.Username != u.Username || got.DisplayName != u.DisplayName || got.Role != u.Role ||
			!slices.Equal(got.Regions, u.Regions) || got.Demo != u.Demo || !got.CreatedAt.Equal(u.CreatedAt) {
			t.Errorf("UserByName = %+v, want %+v", got, u)
		}
		en := e.lastAudit(t)
		if en.Action != "user.create" || en.Object != "user:wang.wei_2" || en.Region != "110000" || en.Actor != "ops" || en.RequestID != "cli" {
			t.Errorf("audit entry = %+v", en)
		}
		if !strings.Contains(en.Detail, `"role":"clerk"`) || !strings.Contains(en.Detail, `"regions":["110000","330100"]`) || !strings.Contains(en.Detail, `"demo":true`) {
			t.Errorf("audit detail = %s", en.Detail)
		}

		// A display name of 100 characters is accepted, in any script.
		long := strings.Repeat("张", 100)
		if _, _, err := e.svc.CreateUser(e.ctx, nil, cli, auth.NewUser{Username: "zhang", DisplayName: long, Role: auth.Employer, Regions: []string{"110000"}, Password: pw}); err != nil {
			t.Errorf("display name of 100 Chinese characters: %v", err)
		}
	})
}

func TestCreateUserDuplicate(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.create(t, "alice", auth.Clerk, "110000")
		_, _, err := e.svc.CreateUser(e.ctx, nil, cli, auth.NewUser{Username: "alice", Role: auth.Auditor, Regions: []string{"310000"}, Password: "another password"})
		wantCode(t, err, errs.Conflict)
		u, err := e.svc.UserByName(e.ctx, "alice")
		if err != nil || u.Role != auth.Clerk || !slices.Equal(u.Regions, []string{"110000"}) {
			t.Errorf("after the conflict alice = %+v, %v; want the first account unchanged", u, err)
		}
		if got := e.auditActions(t); !slices.Equal(got, []string{"user.create"}) {
			t.Errorf("audit actions = %v, want one user.create", got)
		}
	})
}

func TestCreateUserGeneratedPassword(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		u, p, err := e.svc.CreateUser(e.ctx, nil, cli, auth.NewUser{Username: "bob", Role: auth.Resident, Regions: []string{"110000"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(p) != 16 {
			t.Fatalf("generated password %q, want 16 characters", p)
		}
		got, err := e.svc.Login(e.ctx, "bob", p, "", "192.0.2.1")
		if err != nil {
			t.Fatalf("Login with the generated password: %v", err)
		}
		if got.ID != u.ID || !slices.Equal(got.Regions, []string{"110000"}) {
			t.Errorf("Login = %+v, want %+v", got, u)
		}
	})
}

func TestCreateUserByPrincipal(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		admin := principal(e.create(t, "admin", auth.Admin, "110000", "120000"))
		second := principal(e.create(t, "second", auth.Admin, "110000", "120000"))
		u := e.portalAccount(t, admin, second, auth.NewUser{Username: "clerk1", Role: auth.Clerk, Regions: []string{"120000", "110000"}, Phone: "13900000001"}, "the clerk's own passphrase")
		if _, err := e.svc.Login(e.ctx, u.Username, "the clerk's own passphrase", "", "192.0.2.1"); err != nil {
			t.Fatalf("Login of the new user: %v", err)
		}
		if u.CreatedBy != "admin" || u.ApprovedBy != "second" || u.State != auth.Active {
			t.Errorf("new user = %+v", u)
		}
		// An admin may create another admin, but only in their own regions.
		if _, _, err := e.svc.CreateUser(e.ctx, admin, admin.Actor(), auth.NewUser{Username: "admin2", Role: auth.Admin, Regions: []string{"110000"}, Phone: "13900000002"}); err != nil {
			t.Fatalf("admin creating an admin: %v", err)
		}
		if en := e.lastAudit(t); en.Actor != "admin" || en.Role != "admin" || en.RequestID != "req-admin" || en.Action != "user.create" {
			t.Errorf("audit entry = %+v, want the admin as actor", en)
		}
		_, _, err := e.svc.CreateUser(e.ctx, admin, admin.Actor(), auth.NewUser{Username: "far", Role: auth.Clerk, Regions: []string{"310000"}, Phone: "13900000003"})
		wantFields(t, err, "regions")

		for _, role := range []auth.Role{auth.Auditor, auth.Clerk, auth.Resident, auth.Custodian} {
			t.Run(string(role), func(t *testing.T) {
				by := principal(auth.User{ID: admin.ID, Username: "someone", Role: role, Regions: []string{"110000"}})
				for _, regions := range [][]string{{"110000"}, {"310000"}} {
					_, _, err := e.svc.CreateUser(e.ctx, by, by.Actor(), auth.NewUser{Username: "nope-" + string(role), Role: auth.Clerk, Regions: regions, Password: pw})
					wantCode(t, err, errs.Forbidden)
				}
			})
		}
		if _, err := e.svc.UserByName(e.ctx, "nope-auditor"); errs.CodeOf(err) != errs.NotFound {
			t.Errorf("a refused user exists: %v", err)
		}
	})
}

func TestUserByName(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.create(t, "alice", auth.Clerk, "110000")
		for _, name := range []string{"bob", "", "Alice", "alice "} {
			_, err := e.svc.UserByName(e.ctx, name)
			wantCode(t, err, errs.NotFound)
		}
		admin := principal(e.create(t, "admin", auth.Admin, "310000"))
		_, err := e.svc.UserFor(e.ctx, admin, "alice")
		wantCode(t, err, errs.NotFound) // outside the admin's regions it does not exist
		if _, err := e.svc.UserFor(e.ctx, admin, "admin"); err != nil {
			t.Errorf("UserFor(self) = %v", err)
		}
	})
}

func TestLogin(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		alice := e.create(t, "alice", auth.Clerk, "110000")
		e.create(t, "carol", auth.Clerk, "110000")
		admin := principal(e.create(t, "admin", auth.Admin, "110000"))
		if err := e.svc.SetDisabled(e.ctx, admin, "carol", true); err != nil {
			t.Fatal(err)
		}
		u, err := e.svc.Login(e.ctx, "alice", pw, "", "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		if u.ID != alice.ID || u.Username != "alice" || u.Role != auth.Clerk || !slices.Equal(u.Regions, []string{"110000"}) || u.TOTP || u.Disabled {
			t.Errorf("Login = %+v", u)
		}
		tests := []struct {
			name, username, password string
		}{
			{"wrong password", "alice", "wrong horse battery"},
			{"empty password", "alice", ""},
			{"unknown user", "mallory", pw},
			{"empty username", "", pw},
			{"username in other case", "Alice", pw},
			{"disabled user", "carol", pw},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := e.svc.Login(e.ctx, tc.username, tc.password, "", "192.0.2.2")
				wantCode(t, err, errs.Unauthorized)
				// The message does not say which part was wrong.
				if ee, _ := errs.As(err); ee.Message != "wrong username, password or code" {
					t.Errorf("message = %q", ee.Message)
				}
			})
		}
	})
}

func TestLoginRateLimit(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.create(t, "alice", auth.Clerk, "110000")
		for range 5 {
			_, err := e.svc.Login(e.ctx, "alice", "wrong password!", "", "192.0.2.1")
			wantCode(t, err, errs.Unauthorized)
			e.clock.Advance(time.Second)
		}
		// The sixth attempt is refused before the password is looked at, even the right one, and
		// from another address, and spelt in another case.
		for _, name := range []string{"alice", "ALICE"} {
			_, err := e.svc.Login(e.ctx, name, pw, "", "198.51.100.7")
			wantCode(t, err, errs.TooMany)
			if m := err.Error(); !strings.Contains(m, "15 minutes") {
				t.Errorf("TooMany message %q, want the wait (15 minutes)", m)
			}
		}
		// Other users are not affected.
		e.create(t, "bob", auth.Clerk, "110000")
		if _, err := e.svc.Login(e.ctx, "bob", pw, "", "192.0.2.9"); err != nil {
			t.Fatalf("bob: %v", err)
		}
		// The first failure was at +0s and leaves the window at +15m; now is +5s.
		e.clock.Advance(15*time.Minute - 6*time.Second)
		_, err := e.svc.Login(e.ctx, "alice", pw, "", "192.0.2.1")
		wantCode(t, err, errs.TooMany)
		e.clock.Advance(time.Second)
		if _, err := e.svc.Login(e.ctx, "alice", pw, "", "192.0.2.1"); err != nil {
			t.Fatalf("after the window: %v", err)
		}
		// The success reset the username's count: five more failures are allowed.
		for range 5 {
			_, err := e.svc.Login(e.ctx, "alice", "wrong password!", "", "192.0.2.3")
			wantCode(t, err, errs.Unauthorized)
		}
		_, err = e.svc.Login(e.ctx, "alice", pw, "", "192.0.2.3")
		wantCode(t, err, errs.TooMany)
	})
}

// One address guessing many usernames is stopped too, at LoginLimit × AddrLimitMul failures.
func TestLoginRateLimitByAddress(t *testing.T) {
	eachWith(t, auth.Options{LoginLimit: 2, AddrLimitMul: 2, LoginWindow: time.Minute}, func(t *testing.T, e *env) {
		e.create(t, "alice", auth.Clerk, "110000")
		for _, name := range []string{"u1", "u2", "u3", "u4"} {
			_, err := e.svc.Login(e.ctx, name, pw, "", "203.0.113.5")
			wantCode(t, err, errs.Unauthorized)
		}
		_, err := e.svc.Login(e.ctx, "alice", pw, "", "203.0.113.5")
		wantCode(t, err, errs.TooMany)
		if _, err := e.svc.Login(e.ctx, "alice", pw, "", "203.0.113.6"); err != nil {
			t.Fatalf("from another address: %v", err)
		}
		e.clock.Advance(time.Minute)
		if _, err := e.svc.Login(e.ctx, "alice", pw, "", "203.0.113.5"); err != nil {
			t.Fatalf("after the window: %v", err)
		}
	})
}

func TestListUsers(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		admin := principal(e.create(t, "admin", auth.Admin, "110000", "120000"))
		e.create(t, "b-beijing", auth.Clerk, "110000")
		e.create(t, "a-tianjin", auth.Reviewer, "120000")
		e.create(t, "c-shanghai", auth.Clerk, "310000")
		e.create(t, "d-both", auth.Auditor, "310000", "120000")
		e.create(t, "e-hangzhou", auth.Resident, "330100")
		auditor := principal(e.create(t, "auditor", auth.Auditor, "310000"))

		names := func(us []auth.User) []string {
			var out []string
			for _, u := range us {
				out = append(out, u.Username)
			}
			return out
		}
		tests := []struct {
			name string
			by   *auth.Principal
			want []string
		}{
			{"admin of 110000 and 120000", admin, []string{"a-tianjin", "admin", "b-beijing", "d-both"}},
			{"auditor of 310000", auditor, []string{"auditor", "c-shanghai", "d-both"}},
			{"admin of an empty region", principal(auth.User{Username: "x", Role: auth.Admin, Regions: []string{"999999"}}), nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				us, err := e.svc.ListUsers(e.ctx, tc.by)
				if err != nil {
					t.Fatal(err)
				}
				if got := names(us); !slices.Equal(got, tc.want) {
					t.Errorf("ListUsers = %v, want %v", got, tc.want)
				}
				for _, u := range us {
					if len(u.Regions) == 0 || u.CreatedAt.IsZero() {
						t.Errorf("listed user %+v lacks regions or creation time", u)
					}
				}
			})
		}
		us, _ := e.svc.ListUsers(e.ctx, admin)
		if i := slices.IndexFunc(us, func(u auth.User) bool { return u.Username == "d-both" }); i < 0 || !slices.Equal(us[i].Regions, []string{"120000", "310000"}) {
			t.Errorf("d-both is listed with all its regions, not just the shared one: %+v", us)
		}
		for _, role := range []auth.Role{auth.Clerk, auth.Resident, auth.Bank} {
			_, err := e.svc.ListUsers(e.ctx, principal(auth.User{Username: "x", Role: role, Regions: []string{"110000"}}))
			wantCode(t, err, errs.Forbidden)
		}
		_, err := e.svc.ListUsers(e.ctx, nil)
		wantCode(t, err, errs.Forbidden)
	})
}

func TestSetDisabled(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		admin := principal(e.create(t, "admin", auth.Admin, "110000"))
		alice := e.create(t, "alice", auth.Clerk, "110000")
		e.create(t, "far", auth.Clerk, "310000")

		cookie, _, err := e.svc.StartSession(e.ctx, alice, "r1")
		if err != nil {
			t.Fatal(err)
		}
		token, err := e.svc.IssueToken(e.ctx, nil, cli, "alice", "his")
		if err != nil {
			t.Fatal(err)
		}
		// Both are in the session cache now.
		if _, err := e.svc.SessionUser(e.ctx, cookie); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.TokenUser(e.ctx, token); err != nil {
			t.Fatal(err)
		}

		if err := e.svc.SetDisabled(e.ctx, admin, "alice", true); err != nil {
			t.Fatal(err)
		}
		if u, _ := e.svc.UserByName(e.ctx, "alice"); !u.Disabled {
			t.Error("alice is not disabled")
		}
		_, err = e.svc.SessionUser(e.ctx, cookie)
		wantCode(t, err, errs.Unauthorized)
		_, err = e.svc.TokenUser(e.ctx, token)
		wantCode(t, err, errs.Unauthorized)
		_, err = e.svc.Login(e.ctx, "alice", pw, "", "192.0.2.1")
		wantCode(t, err, errs.Unauthorized)
		var n int
		if err := e.d.R().QueryRowContext(e.ctx, "SELECT COUNT(*) FROM sessions WHERE user_id = $1", alice.ID).Scan(&n); err != nil || n != 0 {
			t.Errorf("alice has %d sessions left (%v), want 0", n, err)
		}
		if en := e.lastAudit(t); en.Action != "user.disable" || en.Object != "user:alice" || en.Actor != "admin" || en.Region != "110000" {
			t.Errorf("audit entry = %+v", en)
		}

		// Enabling again lets alice log in and her token work; the ended session stays ended.
		if err := e.svc.SetDisabled(e.ctx, admin, "alice", false); err != nil {
			t.Fatal(err)
		}
		if en := e.lastAudit(t); en.Action != "user.enable" {
			t.Errorf("audit entry = %+v, want user.enable", en)
		}
		if _, err := e.svc.Login(e.ctx, "alice", pw, "", "192.0.2.1"); err != nil {
			t.Errorf("Login after enabling: %v", err)
		}
		if _, err := e.svc.TokenUser(e.ctx, token); err != nil {
			t.Errorf("TokenUser after enabling: %v", err)
		}
		_, err = e.svc.SessionUser(e.ctx, cookie)
		wantCode(t, err, errs.Unauthorized)

		tests := []struct {
			name     string
			by       *auth.Principal
			username string
			code     errs.Code
		}{
			{"self", admin, "admin", errs.Conflict},
			{"outside the admin's regions", admin, "far", errs.NotFound},
			{"unknown user", admin, "nobody", errs.NotFound},
			{"by an auditor", principal(auth.User{ID: 999, Username: "aud", Role: auth.Auditor, Regions: []string{"110000"}}), "alice", errs.Forbidden},
			{"by a clerk", principal(alice), "alice", errs.Forbidden},
			{"by nobody", nil, "alice", errs.Forbidden},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				wantCode(t, e.svc.SetDisabled(e.ctx, tc.by, tc.username, true), tc.code)
			})
		}
		if u, _ := e.svc.UserByName(e.ctx, "far"); u.Disabled {
			t.Error("far was disabled by an admin of another region")
		}
	})
}

// Every change the service makes is in the audit log, in order, and the chain verifies.
func TestAuditTrail(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		admin := principal(e.create(t, "admin", auth.Admin, "110000"))
		second := principal(e.create(t, "second", auth.Admin, "110000"))
		alice := e.portalAccount(t, admin, second, auth.NewUser{Username: "alice", Role: auth.Clerk, Regions: []string{"110000"}, Phone: "13900000001"}, pw)
		cookie, _, err := e.svc.StartSession(e.ctx, alice, "req-login")
		if err != nil {
			t.Fatal(err)
		}
		p := principal(alice)
		if _, err := e.svc.IssueToken(e.ctx, p, p.Actor(), "alice", "hr"); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.ChangePassword(e.ctx, p, pw, "a brand new password", cookie); err != nil {
			t.Fatal(err)
		}
		setup, err := e.svc.BeginTOTP(e.ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		code, _ := auth.TOTPCode(setup.Secret, e.clock.Now())
		if err := e.svc.ConfirmTOTP(e.ctx, p, code); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.EndSession(e.ctx, cookie, p.Actor()); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.EndSession(e.ctx, cookie, p.Actor()); err != nil { // already ended: no entry
			t.Fatal(err)
		}
		if err := e.svc.SetDisabled(e.ctx, admin, "alice", true); err != nil {
			t.Fatal(err)
		}
		// Refused and read-only calls write nothing.
		_, _ = e.svc.Login(e.ctx, "alice", "wrong", "", "192.0.2.1")
		_, _ = e.svc.ListUsers(e.ctx, admin)
		_ = e.svc.ChangePassword(e.ctx, p, "wrong current", "whatever whatever", "")

		want := []struct{ action, actor, object string }{
			{"user.create", "ops", "user:admin"},
			{"user.create", "ops", "user:second"},
			{"user.create", "admin", "user:alice"},
			{"user.approve", "second", "user:alice"},
			{"user.activate", "alice", "user:alice"},
			{"session.start", "alice", "user:alice"},
			{"token.create", "alice", "user:alice"},
			{"user.password", "alice", "user:alice"},
			{"user.totp_offer", "alice", "user:alice"},
			{"user.totp_on", "alice", "user:alice"},
			{"session.end", "alice", "user:alice"},
			{"user.disable", "admin", "user:alice"},
		}
		got := e.auditEntries(t)
		if len(got) != len(want) {
			t.Fatalf("audit log has %d entries %v, want %d", len(got), e.auditActions(t), len(want))
		}
		for i, w := range want {
			g := got[i]
			if g.Action != w.action || g.Actor != w.actor || g.Object != w.object {
				t.Errorf("entry %d = %s by %s on %s, want %s by %s on %s", i+1, g.Action, g.Actor, g.Object, w.action, w.actor, w.object)
			}
			if g.Action != "session.end" && g.Region != "110000" {
				t.Errorf("entry %d (%s) region = %q, want 110000", i+1, g.Action, g.Region)
			}
			if !g.At.Equal(epoch) {
				t.Errorf("entry %d at %v, want the injected clock's %v", i+1, g.At, epoch)
			}
		}
		if got[5].RequestID != "req-login" || got[5].Role != "clerk" {
			t.Errorf("session.start entry = %+v", got[5])
		}
	})
}
