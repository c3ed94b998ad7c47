package auth_test

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
)

var (
	cookieRE = regexp.MustCompile(`^[a-z2-7]{52}$`)
	tokenRE  = regexp.MustCompile(`^shb_[a-z2-7]{52}$`)
)

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// count runs a COUNT(*) query.
func (e *env) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := e.d.R().QueryRowContext(e.ctx, q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// exec runs one statement in a write transaction, standing in for another process.
func (e *env) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if err := e.d.Write(e.ctx, func(tx *db.Tx) error { _, err := tx.ExecContext(e.ctx, q, args...); return err }); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func sameUser(t *testing.T, got, want auth.User) {
	t.Helper()
	if got.ID != want.ID || got.Username != want.Username || got.Role != want.Role || !slices.Equal(got.Regions, want.Regions) ||
		got.Disabled != want.Disabled || got.TOTP != want.TOTP || !got.CreatedAt.Equal(want.CreatedAt) {
		t.Fatalf("user = %+v, want %+v", got, want)
	}
}

func TestSessionLifecycle(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		alice := e.create(t, "alice", auth.Clerk, "110000", "120000")
		cookie, expires, err := e.svc.StartSession(e.ctx, alice, "req-1")
		if err != nil {
			t.Fatal(err)
		}
		if !cookieRE.MatchString(cookie) {
			t.Errorf("cookie %q is not 52 base32 characters", cookie)
		}
		if want := epoch.Add(12 * time.Hour); !expires.Equal(want) {
			t.Errorf("expires = %v, want %v (12 hours by default)", expires, want)
		}
		u, err := e.svc.SessionUser(e.ctx, cookie)
		if err != nil {
			t.Fatal(err)
		}
		sameUser(t, u, alice)
		if en := e.lastAudit(t); en.Action != "session.start" || en.Actor != "alice" || en.RequestID != "req-1" || en.Region != "110000" {
			t.Errorf("audit entry = %+v", en)
		}

		// Alive one second before the end, past the 10-second cache.
		e.clock.Advance(12*time.Hour - time.Second)
		if _, err := e.svc.SessionUser(e.ctx, cookie); err != nil {
			t.Fatalf("one second before expiry: %v", err)
		}
		// Ended at its expiry, although it was cached a second ago.
		e.clock.Advance(time.Second)
		_, err = e.svc.SessionUser(e.ctx, cookie)
		wantCode(t, err, errs.Unauthorized)
		e.clock.Advance(time.Hour)
		_, err = e.svc.SessionUser(e.ctx, cookie)
		wantCode(t, err, errs.Unauthorized)

		// A new session removes the user's expired ones.
		if n := e.count(t, "SELECT COUNT(*) FROM sessions WHERE user_id = $1", alice.ID); n != 1 {
			t.Fatalf("%d sessions before the second login, want 1", n)
		}
		cookie2, _, err := e.svc.StartSession(e.ctx, alice, "req-2")
		if err != nil {
			t.Fatal(err)
		}
		if cookie2 == cookie {
			t.Fatal("two sessions share a cookie")
		}
		if n := e.count(t, "SELECT COUNT(*) FROM sessions WHERE user_id = $1", alice.ID); n != 1 {
			t.Errorf("%d sessions after the second login, want 1 (the expired one removed)", n)
		}
		if _, err := e.svc.SessionUser(e.ctx, cookie2); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSessionTTLOption(t *testing.T) {
	eachWith(t, auth.Options{SessionTTL: time.Hour}, func(t *testing.T, e *env) {
		alice := e.create(t, "alice", auth.Clerk, "110000")
		cookie, expires, err := e.svc.StartSession(e.ctx, alice, "")
		if err != nil {
			t.Fatal(err)
		}
		if !expires.Equal(epoch.Add(time.Hour)) {
			t.Errorf("expires = %v, want an hour after %v", expires, epoch)
		}
		if _, err := e.svc.SessionUser(e.ctx, cookie); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Hour + time.Second)
		_, err = e.svc.SessionUser(e.ctx, cookie)
		wantCode(t, err, errs.Unauthorized)
	})
}

func TestEndSession(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		alice := e.create(t, "alice", auth.Clerk, "110000")
		c1, _, err := e.svc.StartSession(e.ctx, alice, "")
		if err != nil {
			t.Fatal(err)
		}
		c2, _, err := e.svc.StartSession(e.ctx, alice, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []string{c1, c2} {
			if _, err := e.svc.SessionUser(e.ctx, c); err != nil { // cached from here on
				t.Fatal(err)
			}
		}
		p := principal(alice)
		if err := e.svc.EndSession(e.ctx, c1, p.Actor()); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.SessionUser(e.ctx, c1)
		wantCode(t, err, errs.Unauthorized)
		if _, err := e.svc.SessionUser(e.ctx, c2); err != nil {
			t.Errorf("the other session ended too: %v", err)
		}
		if en := e.lastAudit(t); en.Action != "session.end" || en.Object != "user:alice" || en.Actor != "alice" {
			t.Errorf("audit entry = %+v", en)
		}
		before := len(e.auditActions(t))
		// Ending an ended or unknown session is not an error and not audited.
		for _, c := range []string{c1, "no-such-session", ""} {
			if err := e.svc.EndSession(e.ctx, c, p.Actor()); err != nil {
				t.Errorf("EndSession(%q) = %v", c, err)
			}
		}
		if after := len(e.auditActions(t)); after != before {
			t.Errorf("ending no session wrote %d audit entries", after-before)
		}
	})
}

// SessionUser keeps a session for up to 10 seconds of the clock without asking the database, so a
// session ended by another process (here: deleted directly) stops working within that time.
func TestSessionCache(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		alice := e.create(t, "alice", auth.Clerk, "110000")
		cookie, _, err := e.svc.StartSession(e.ctx, alice, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.SessionUser(e.ctx, cookie); err != nil {
			t.Fatal(err)
		}
		e.exec(t, "DELETE FROM sessions WHERE user_id = $1", alice.ID)
		e.clock.Advance(9 * time.Second)
		if _, err := e.svc.SessionUser(e.ctx, cookie); err != nil {
			t.Fatalf("within the cache time: %v", err)
		}
		e.clock.Advance(time.Second)
		_, err = e.svc.SessionUser(e.ctx, cookie)
		wantCode(t, err, errs.Unauthorized)
	})
}

func TestSessionUserRefusesGarbage(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		alice := e.create(t, "alice", auth.Clerk, "110000")
		cookie, _, err := e.svc.StartSession(e.ctx, alice, "")
		if err != nil {
			t.Fatal(err)
		}
		token, err := e.svc.IssueToken(e.ctx, nil, cli, "alice", "")
		if err != nil {
			t.Fatal(err)
		}
		for name, c := range map[string]string{
			"empty":              "",
			"short":              "x",
			"too long":           strings.Repeat("a", 101),
			"upper case":         strings.ToUpper(cookie),
			"one character more": cookie + "a",
			"truncated":          cookie[:51],
			"the stored hash":    sha256Hex(cookie),
			"an API token":       token,
		} {
			t.Run(name, func(t *testing.T) {
				_, err := e.svc.SessionUser(e.ctx, c)
				wantCode(t, err, errs.Unauthorized)
			})
		}
	})
}

// An API token and a session cookie are different credentials: neither works as the other, not even
// while the other is in the service's cache.
func TestTokenIsNotASession(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		alice := e.create(t, "alice", auth.Clerk, "110000")
		token, err := e.svc.IssueToken(e.ctx, nil, cli, "alice", "his")
		if err != nil {
			t.Fatal(err)
		}
		cookie, _, err := e.svc.StartSession(e.ctx, alice, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.TokenUser(e.ctx, token); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.SessionUser(e.ctx, cookie); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.SessionUser(e.ctx, token)
		wantCode(t, err, errs.Unauthorized)
		_, err = e.svc.TokenUser(e.ctx, cookie)
		wantCode(t, err, errs.Unauthorized)
		_, err = e.svc.TokenUser(e.ctx, auth.TokenPrefix+cookie)
		wantCode(t, err, errs.Unauthorized)
	})
}

func TestIssueToken(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		alice := e.create(t, "alice", auth.Clerk, "110000", "120000")
		token, err := e.svc.IssueToken(e.ctx, nil, cli, "alice", "  hospital HIS  ")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(token, "shb_") || !tokenRE.MatchString(token) {
			t.Fatalf("token %q is not shb_ and 52 base32 characters", token)
		}
		u, err := e.svc.TokenUser(e.ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		sameUser(t, u, alice)

		var name, prefix, hash string
		if err := e.d.R().QueryRowContext(e.ctx, "SELECT name, prefix, token_hash FROM api_tokens WHERE user_id = $1", alice.ID).Scan(&name, &prefix, &hash); err != nil {
			t.Fatal(err)
		}
		if name != "hospital HIS" || prefix != token[:10] || hash != sha256Hex(token) {
			t.Errorf("stored name %q prefix %q hash %q; want trimmed name, %q, SHA-256 of the token", name, prefix, hash, token[:10])
		}
		en := e.lastAudit(t)
		if en.Action != "token.create" || en.Object != "user:alice" || en.Actor != "ops" || en.Region != "110000" ||
			en.Detail != `{"name":"hospital HIS","prefix":"`+token[:10]+`"}` {
			t.Errorf("audit entry = %+v", en)
		}

		// A second token is different, and both work.
		token2, err := e.svc.IssueToken(e.ctx, nil, cli, "alice", "")
		if err != nil {
			t.Fatal(err)
		}
		if token2 == token {
			t.Fatal("two tokens are equal")
		}
		if _, err := e.svc.TokenUser(e.ctx, token2); err != nil {
			t.Fatal(err)
		}
		if n := e.count(t, "SELECT COUNT(*) FROM api_tokens WHERE name = 'api'"); n != 1 {
			t.Errorf("an unnamed token is not called api")
		}

		for name, tok := range map[string]string{
			"empty":           "",
			"prefix only":     "shb_",
			"garbage":         "shb_garbage",
			"without prefix":  token[len(auth.TokenPrefix):],
			"other prefix":    "shc_" + token[len(auth.TokenPrefix):],
			"upper case":      strings.ToUpper(token),
			"one more":        token + "a",
			"truncated":       token[:len(token)-1],
			"too long":        "shb_" + strings.Repeat("a", 200),
			"the stored hash": "shb_" + sha256Hex(token),
		} {
			t.Run(name, func(t *testing.T) {
				_, err := e.svc.TokenUser(e.ctx, tok)
				wantCode(t, err, errs.Unauthorized)
			})
		}

		// A token revoked in the database stops working once the cache entry is gone.
		e.exec(t, "UPDATE api_tokens SET revoked = TRUE WHERE token_hash = $1", sha256Hex(token))
		e.clock.Advance(10 * time.Second)
		_, err = e.svc.TokenUser(e.ctx, token)
		wantCode(t, err, errs.Unauthorized)
		if _, err := e.svc.TokenUser(e.ctx, token2); err != nil {
			t.Errorf("the other token was revoked too: %v", err)
		}
	})
}

func TestIssueTokenRefusals(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		admin := principal(e.create(t, "admin", auth.Admin, "110000"))
		alice := e.create(t, "alice", auth.Clerk, "110000")
		e.create(t, "far", auth.Employer, "310000")

		// The holder issues their own; nobody issues one for another account.
		token, err := e.svc.IssueToken(e.ctx, principal(alice), principal(alice).Actor(), "alice", "payroll")
		if err != nil {
			t.Fatalf("alice issuing her own token: %v", err)
		}
		if en := e.lastAudit(t); en.Actor != "alice" || en.Action != "token.create" {
			t.Errorf("audit entry = %+v", en)
		}
		if u, err := e.svc.TokenUser(e.ctx, token); err != nil || u.ID != alice.ID {
			t.Fatalf("TokenUser = %+v, %v", u, err)
		}
		tests := []struct {
			name         string
			by           *auth.Principal
			username, nm string
			code         errs.Code
		}{
			{"unknown user from the CLI", nil, "nobody", "", errs.NotFound},
			{"an admin for someone else", admin, "alice", "", errs.Forbidden},
			{"an admin outside their regions", admin, "far", "", errs.Forbidden},
			{"a clerk for the admin", principal(alice), "admin", "", errs.Forbidden},
			{"name too long", principal(alice), "alice", strings.Repeat("n", 101), errs.Invalid},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				tok, err := e.svc.IssueToken(e.ctx, tc.by, cli, tc.username, tc.nm)
				wantCode(t, err, tc.code)
				if tok != "" {
					t.Errorf("a refused IssueToken returned %q", tok)
				}
			})
		}
		_, err = e.svc.IssueToken(e.ctx, principal(alice), cli, "alice", strings.Repeat("n", 101))
		wantFields(t, err, "name")
		// The CLI may issue anywhere; names are counted in characters.
		if _, err := e.svc.IssueToken(e.ctx, nil, cli, "far", strings.Repeat("医", 100)); err != nil {
			t.Errorf("CLI token for far with a 100-character name: %v", err)
		}
		if n := e.count(t, "SELECT COUNT(*) FROM api_tokens"); n != 2 {
			t.Errorf("%d tokens stored, want 2", n)
		}
	})
}

// The database never holds a password, a session cookie or an API token in the clear: not in the
// tables that store their hashes, and not in the audit log.
func TestSecretsAreNotStored(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		u, generated, err := e.svc.CreateUser(e.ctx, nil, cli, auth.NewUser{Username: "alice", Role: auth.Clerk, Regions: []string{"110000"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Login(e.ctx, "alice", generated, "", "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		cookie, _, err := e.svc.StartSession(e.ctx, u, "req")
		if err != nil {
			t.Fatal(err)
		}
		token, err := e.svc.IssueToken(e.ctx, principal(u), principal(u).Actor(), "alice", "hr")
		if err != nil {
			t.Fatal(err)
		}
		e.create(t, "admin", auth.Admin, "110000")
		const chosen = "my chosen secret passphrase"
		if err := e.svc.ChangePassword(e.ctx, principal(u), generated, chosen, cookie); err != nil {
			t.Fatal(err)
		}
		secrets := map[string]string{
			"generated password":        generated,
			"chosen password":           chosen,
			"session cookie":            cookie,
			"API token":                 token,
			"API token beyond its name": token[10:],
			"fixture password":          pw,
		}
		queries := []string{
			"SELECT username, display_name, role, password_hash, totp_secret, totp_pending, created_at, updated_at FROM users",
			"SELECT id_hash, created_at, expires_at FROM sessions",
			"SELECT name, token_hash, prefix, created_at FROM api_tokens",
			"SELECT at, actor, role, action, object, region, request_id, detail, prev_hash, hash FROM audit_log",
		}
		rowsSeen := 0
		for _, q := range queries {
			rows, err := e.d.R().QueryContext(e.ctx, q)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			cols, _ := rows.Columns()
			for rows.Next() {
				rowsSeen++
				vals := make([]string, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				for i, v := range vals {
					for what, s := range secrets {
						if strings.Contains(v, s) {
							t.Errorf("%s: column %s holds the %s: %q", q, cols[i], what, v)
						}
					}
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			rows.Close()
		}
		// users 2, sessions 1, api_tokens 1, audit 5: the scan really saw the rows.
		if rowsSeen != 9 {
			t.Errorf("scanned %d rows, want 9", rowsSeen)
		}
	})
}
