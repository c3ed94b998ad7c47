package auth_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/errs"
)

func TestChangePassword(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		alice := e.create(t, "alice", auth.Clerk, "110000")
		p := principal(alice)
		const next = "a new and longer password"

		err := e.svc.ChangePassword(e.ctx, p, "not my password", next, "")
		wantFields(t, err, "current_password")
		err = e.svc.ChangePassword(e.ctx, p, "", next, "")
		wantFields(t, err, "current_password")
		err = e.svc.ChangePassword(e.ctx, p, pw, "short", "")
		wantFields(t, err, "new_password")
		err = e.svc.ChangePassword(e.ctx, p, pw, "123456789", "")
		wantFields(t, err, "new_password")
		// None of the refusals changed anything.
		if _, err := e.svc.Login(e.ctx, "alice", pw, "", "192.0.2.1"); err != nil {
			t.Fatalf("old password after refused changes: %v", err)
		}

		kept, _, err := e.svc.StartSession(e.ctx, alice, "here")
		if err != nil {
			t.Fatal(err)
		}
		other, _, err := e.svc.StartSession(e.ctx, alice, "elsewhere")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.ChangePassword(e.ctx, p, pw, next, kept); err != nil {
			t.Fatal(err)
		}
		// The session that changed it stays; every other one ends.
		if _, err := e.svc.SessionUser(e.ctx, kept); err != nil {
			t.Errorf("the changing session ended: %v", err)
		}
		if _, err := e.svc.SessionUser(e.ctx, other); errs.CodeOf(err) != errs.Unauthorized {
			t.Errorf("another session survived the password change: %v", err)
		}
		if en := e.lastAudit(t); en.Action != "user.password" || en.Object != "user:alice" || en.Actor != "alice" || en.Region != "110000" || en.Detail != `{"sessions_ended":1}` {
			t.Errorf("audit entry = %+v", en)
		}
		if _, err := e.svc.Login(e.ctx, "alice", next, "", "192.0.2.1"); err != nil {
			t.Fatalf("new password: %v", err)
		}
		_, err = e.svc.Login(e.ctx, "alice", pw, "", "192.0.2.1")
		wantCode(t, err, errs.Unauthorized)
		// The current password is now the new one.
		err = e.svc.ChangePassword(e.ctx, p, pw, "yet another password", "")
		wantFields(t, err, "current_password")
		// Ten characters of any script are enough.
		if err := e.svc.ChangePassword(e.ctx, p, next, "社会保险卡的新密码啊", ""); err != nil {
			t.Fatalf("ten-character Chinese password: %v", err)
		}
		if _, err := e.svc.Login(e.ctx, "alice", "社会保险卡的新密码啊", "", "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestTOTP(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		alice := e.create(t, "alice", auth.Clerk, "110000")
		p := principal(alice)
		code := func(secret string, at time.Time) string {
			t.Helper()
			c, err := auth.TOTPCode(secret, at)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}

		wantCode(t, e.svc.ConfirmTOTP(e.ctx, p, "123456"), errs.Conflict) // nothing offered yet

		setup, err := e.svc.BeginTOTP(e.ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(setup.Secret) != 32 {
			t.Errorf("secret %q, want 32 base32 characters", setup.Secret)
		}
		u, err := url.Parse(setup.URL)
		if err != nil || u.Scheme != "otpauth" || u.Path != "/shebao:alice" || u.Query().Get("secret") != setup.Secret || u.Query().Get("issuer") != "shebao" {
			t.Errorf("URL = %q (%v)", setup.URL, err)
		}
		if en := e.lastAudit(t); en.Action != "user.totp_offer" || strings.Contains(en.Detail, setup.Secret) {
			t.Errorf("audit entry = %+v", en)
		}
		// Offered is not on: the password alone still logs in.
		if u, err := e.svc.Login(e.ctx, "alice", pw, "", "192.0.2.1"); err != nil || u.TOTP {
			t.Fatalf("Login before confirming = %+v, %v", u, err)
		}

		cookie, _, err := e.svc.StartSession(e.ctx, alice, "")
		if err != nil {
			t.Fatal(err)
		}
		if u, err := e.svc.SessionUser(e.ctx, cookie); err != nil || u.TOTP {
			t.Fatalf("SessionUser = %+v, %v", u, err)
		}

		now := e.clock.Now()
		for name, c := range map[string]string{
			"wrong code":      "000000",
			"two steps late":  code(setup.Secret, now.Add(-time.Minute)),
			"two steps early": code(setup.Secret, now.Add(time.Minute)),
			"empty":           "",
			"too long":        code(setup.Secret, now) + "0",
		} {
			if c == code(setup.Secret, now) {
				continue // a one-in-a-million collision with the right code
			}
			wantFields(t, e.svc.ConfirmTOTP(e.ctx, p, c), "code")
			if u, _ := e.svc.UserByName(e.ctx, "alice"); u.TOTP {
				t.Fatalf("%s turned TOTP on", name)
			}
		}

		if err := e.svc.ConfirmTOTP(e.ctx, p, code(setup.Secret, now)); err != nil {
			t.Fatal(err)
		}
		if en := e.lastAudit(t); en.Action != "user.totp_on" || en.Actor != "alice" || en.Object != "user:alice" {
			t.Errorf("audit entry = %+v", en)
		}
		if u, err := e.svc.UserByName(e.ctx, "alice"); err != nil || !u.TOTP {
			t.Fatalf("UserByName after confirming = %+v, %v; want TOTP on", u, err)
		}
		// The cached session sees the change at once.
		if u, err := e.svc.SessionUser(e.ctx, cookie); err != nil || !u.TOTP {
			t.Fatalf("SessionUser after confirming = %+v, %v; want TOTP on", u, err)
		}
		// The offer is used up.
		wantCode(t, e.svc.ConfirmTOTP(e.ctx, p, code(setup.Secret, now)), errs.Conflict)

		_, err = e.svc.Login(e.ctx, "alice", pw, "", "192.0.2.1")
		wantCode(t, err, errs.Unauthorized)
		_, err = e.svc.Login(e.ctx, "alice", pw, "000000", "192.0.2.1")
		wantCode(t, err, errs.Unauthorized)
		_, err = e.svc.Login(e.ctx, "alice", "wrong password", code(setup.Secret, now), "192.0.2.1")
		wantCode(t, err, errs.Unauthorized)
		// The code that confirmed the setup is spent: it does not log in.
		_, err = e.svc.Login(e.ctx, "alice", pw, code(setup.Secret, now), "192.0.2.1")
		wantCode(t, err, errs.Unauthorized)
		e.clock.Advance(30 * time.Second)
		got, err := e.svc.Login(e.ctx, "alice", pw, code(setup.Secret, e.clock.Now()), "192.0.2.1")
		if err != nil {
			t.Fatalf("Login with the code: %v", err)
		}
		if !got.TOTP || got.ID != alice.ID {
			t.Errorf("Login = %+v", got)
		}
		// A code works once: the same code again, a moment later, is refused.
		_, err = e.svc.Login(e.ctx, "alice", pw, code(setup.Secret, e.clock.Now()), "192.0.2.1")
		wantCode(t, err, errs.Unauthorized)
		// Thirty seconds on, an unused code of the previous step would still be accepted; the
		// used one is not; the current step's is.
		used := code(setup.Secret, e.clock.Now())
		e.clock.Advance(30 * time.Second)
		_, err = e.svc.Login(e.ctx, "alice", pw, used, "192.0.2.1")
		wantCode(t, err, errs.Unauthorized)
		if _, err := e.svc.Login(e.ctx, "alice", pw, code(setup.Secret, e.clock.Now()), "192.0.2.1"); err != nil {
			t.Errorf("code of the current step: %v", err)
		}
		// Ninety seconds on, a code is out of its window.
		e.clock.Advance(60 * time.Second)
		_, err = e.svc.Login(e.ctx, "alice", pw, code(setup.Secret, e.clock.Now().Add(-90*time.Second)), "192.0.2.1")
		wantCode(t, err, errs.Unauthorized)
		e.clock.Advance(30 * time.Second)

		// A new offer does not replace the secret in use until it is confirmed.
		setup2, err := e.svc.BeginTOTP(e.ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if setup2.Secret == setup.Secret {
			t.Fatal("a second offer repeats the secret")
		}
		if _, err := e.svc.Login(e.ctx, "alice", pw, code(setup.Secret, e.clock.Now()), "192.0.2.1"); err != nil {
			t.Errorf("old secret while a new one is offered: %v", err)
		}
		e.clock.Advance(30 * time.Second)
		if err := e.svc.ConfirmTOTP(e.ctx, p, code(setup2.Secret, e.clock.Now())); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(30 * time.Second)
		if _, err := e.svc.Login(e.ctx, "alice", pw, code(setup2.Secret, e.clock.Now()), "192.0.2.1"); err != nil {
			t.Errorf("new secret after confirming: %v", err)
		}
		if c := code(setup.Secret, e.clock.Now()); c != code(setup2.Secret, e.clock.Now()) {
			_, err = e.svc.Login(e.ctx, "alice", pw, c, "192.0.2.1")
			wantCode(t, err, errs.Unauthorized)
		}
	})
}

func TestTOTPIssuerOption(t *testing.T) {
	eachWith(t, auth.Options{TOTPIssuer: "杭州社保"}, func(t *testing.T, e *env) {
		p := principal(e.create(t, "alice", auth.Clerk, "330100"))
		setup, err := e.svc.BeginTOTP(e.ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(setup.URL)
		if err != nil || u.Path != "/杭州社保:alice" || u.Query().Get("issuer") != "杭州社保" {
			t.Errorf("URL = %q (%v)", setup.URL, err)
		}
	})
}
