package auth_test

import (
	"regexp"
	"testing"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/errs"
)

var codeRE = regexp.MustCompile(`[0-9]{8}`)

// code is the newest one-time code the outbox holds for phone.
func (e *env) code(t *testing.T, phone string) string {
	t.Helper()
	var body string
	if err := e.d.R().QueryRowContext(e.ctx, "SELECT body FROM notifications WHERE recipient = $1 ORDER BY id DESC LIMIT 1", phone).Scan(&body); err != nil {
		t.Fatalf("no message to %s: %v", phone, err)
	}
	c := codeRE.FindString(body)
	if c == "" {
		t.Fatalf("no code in %q", body)
	}
	return c
}

// portalAccount makes an account the portal way: created by admin, approved by approver (for staff
// roles), activated by its holder with the code from their phone and the password chosen.
func (e *env) portalAccount(t *testing.T, admin, approver *auth.Principal, nu auth.NewUser, chosen string) auth.User {
	t.Helper()
	u, shown, err := e.svc.CreateUser(e.ctx, admin, admin.Actor(), nu)
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", nu.Username, err)
	}
	if shown != "" {
		t.Fatalf("the portal showed %s's password to its creator", nu.Username)
	}
	if u.State == auth.Pending {
		if u, err = e.svc.ApproveAccount(e.ctx, approver, nu.Username); err != nil {
			t.Fatalf("ApproveAccount(%s): %v", nu.Username, err)
		}
	}
	if u.State != auth.Invited {
		t.Fatalf("%s is %s, want invited", nu.Username, u.State)
	}
	if err := e.svc.Activate(e.ctx, nu.Username, e.code(t, nu.Phone), chosen, "192.0.2.9"); err != nil {
		t.Fatalf("Activate(%s): %v", nu.Username, err)
	}
	u, err = e.svc.UserByName(e.ctx, nu.Username)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestPortalAccountsNeedTwoAdmins: an account made in the portal never has a password its creator
// knows; a staff account waits for a second, independent administrator; its holder activates it
// with the code sent to their phone, once.
func TestPortalAccountsNeedTwoAdmins(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		a1 := principal(e.create(t, "admin1", auth.Admin, "110000"))
		a2 := principal(e.create(t, "admin2", auth.Admin, "110000"))
		_, _, err := e.svc.CreateUser(e.ctx, a1, a1.Actor(), auth.NewUser{Username: "rev", Role: auth.Reviewer, Regions: []string{"110000"}, Phone: "13900000001", Password: pw})
		wantFields(t, err, "password")
		u, shown, err := e.svc.CreateUser(e.ctx, a1, a1.Actor(), auth.NewUser{Username: "rev", Role: auth.Reviewer, Regions: []string{"110000"}, Phone: "13900000001"})
		if err != nil || shown != "" || u.State != auth.Pending {
			t.Fatalf("CreateUser = %+v %q %v; want pending, no password", u, shown, err)
		}
		if n := e.count(t, "SELECT COUNT(*) FROM notifications"); n != 0 {
			t.Fatalf("%d messages sent before the approval", n)
		}
		// The creator cannot approve it, nor can an account the creator made.
		_, err = e.svc.ApproveAccount(e.ctx, a1, "rev")
		wantCode(t, err, errs.Forbidden)
		// A pending account cannot log in, nor get a token.
		if _, err := e.svc.IssueToken(e.ctx, nil, cli, "rev", ""); errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("token for a pending account: %v", err)
		}
		u, err = e.svc.ApproveAccount(e.ctx, a2, "rev")
		if err != nil || u.State != auth.Invited || u.ApprovedBy != "admin2" {
			t.Fatalf("second admin's approval = %+v %v", u, err)
		}
		_, err = e.svc.ApproveAccount(e.ctx, a2, "rev")
		wantCode(t, err, errs.Conflict)
		code := e.code(t, "13900000001")
		wantCode(t, e.svc.Activate(e.ctx, "rev", "00000000", "a long enough phrase here", "192.0.2.1"), errs.Unauthorized)
		wantFields(t, e.svc.Activate(e.ctx, "rev", code, "1234567890", "192.0.2.1"), "password")
		if err := e.svc.Activate(e.ctx, "rev", code, "a long enough phrase here", "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		wantCode(t, e.svc.Activate(e.ctx, "rev", code, "another long phrase here", "192.0.2.1"), errs.Unauthorized)
		if _, err := e.svc.Login(e.ctx, "rev", "a long enough phrase here", "", "192.0.2.1"); err != nil {
			t.Fatalf("login after activation: %v", err)
		}
		// A resident or partner login needs no second administrator, only the phone.
		bank, _, err := e.svc.CreateUser(e.ctx, a1, a1.Actor(), auth.NewUser{Username: "bank1", Role: auth.Bank, Regions: []string{"110000"}, Phone: "13900000002"})
		if err != nil || bank.State != auth.Invited {
			t.Fatalf("bank login = %+v %v", bank, err)
		}
	})
}

// TestIndependence: accounts made by one administrator, not vouched for by a second, count as
// that administrator; an approved staff account stands on its own.
func TestIndependence(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		a1 := principal(e.create(t, "admin1", auth.Admin, "110000"))
		a2 := principal(e.create(t, "admin2", auth.Admin, "110000"))
		clerk := principal(e.portalAccount(t, a1, a2, auth.NewUser{Username: "clerk1", Role: auth.Clerk, Regions: []string{"110000"}, Phone: "13900000003"}, "window clerk passphrase"))
		bank := principal(e.portalAccount(t, a1, nil, auth.NewUser{Username: "bank1", Role: auth.Bank, Regions: []string{"110000"}, Phone: "13900000004"}, "bank operator passphrase"))
		hr, err := e.svc.CreateLogin(e.ctx, clerk, auth.NewUser{Username: "hr1", Role: auth.Employer, Regions: []string{"110000"}, Phone: "13900000005"})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			approver string
			others   []string
			ok       bool
		}{
			{"admin2", []string{"admin1"}, true},       // both from the console
			{"clerk1", []string{"admin1"}, true},       // approved by admin2: stands alone
			{"bank1", []string{"admin1"}, false},       // made by admin1, nobody vouched: admin1's
			{"admin1", []string{"bank1"}, false},       // the other way round too
			{"hr1", []string{"clerk1"}, false},         // made by the clerk
			{"admin2", []string{"hr1", "bank1"}, true}, // neither stands on admin2
			{"clerk1", []string{"clerk1"}, false},      // oneself
			{"admin2", []string{"", "cli:root"}, true}, // nobody, and the console
		} {
			err := auth.Independent(e.ctx, e.d.R(), c.approver, c.others...)
			if (err == nil) != c.ok {
				t.Errorf("Independent(%s, %v) = %v, want ok=%v", c.approver, c.others, err, c.ok)
			}
			if err != nil && errs.CodeOf(err) != errs.Forbidden {
				t.Errorf("Independent error %v is not forbidden", err)
			}
		}
		_ = bank
		_ = hr
	})
}

// TestCustodiansAlsoApproveCustodians: a custodian made in the portal needs a second
// administrator and two serving custodians, independent of each other and of its creator.
func TestCustodiansAlsoApproveCustodians(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		a1 := principal(e.create(t, "admin1", auth.Admin, "110000"))
		a2 := principal(e.create(t, "admin2", auth.Admin, "110000"))
		c1 := principal(e.create(t, "cust1", auth.Custodian, "110000"))
		c2 := principal(e.create(t, "cust2", auth.Custodian, "110000"))
		if _, _, err := e.svc.CreateUser(e.ctx, a1, a1.Actor(), auth.NewUser{Username: "cust3", Role: auth.Custodian, Regions: []string{"110000"}, Phone: "13900000006"}); err != nil {
			t.Fatal(err)
		}
		u, err := e.svc.ApproveAccount(e.ctx, a2, "cust3")
		if err != nil || u.State != auth.Pending {
			t.Fatalf("after the second admin: %+v %v; want still pending", u, err)
		}
		if u, err = e.svc.ApproveAccount(e.ctx, c1, "cust3"); err != nil || u.State != auth.Pending {
			t.Fatalf("after one custodian: %+v %v; want still pending", u, err)
		}
		if u, err = e.svc.ApproveAccount(e.ctx, c2, "cust3"); err != nil || u.State != auth.Invited {
			t.Fatalf("after two custodians: %+v %v; want invited", u, err)
		}
		// A custodian does not approve other staff.
		if _, _, err := e.svc.CreateUser(e.ctx, a1, a1.Actor(), auth.NewUser{Username: "clerk9", Role: auth.Clerk, Regions: []string{"110000"}, Phone: "13900000007"}); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.ApproveAccount(e.ctx, c1, "clerk9")
		wantCode(t, err, errs.Forbidden)
	})
}

// TestResetEndsAccess: a reset ends the account's sessions and tokens and sends a new code; the old
// password no longer logs in.
func TestResetEndsAccess(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		a1 := principal(e.create(t, "admin1", auth.Admin, "110000"))
		u := e.portalAccount(t, a1, nil, auth.NewUser{Username: "inst1", Role: auth.Institution, Regions: []string{"110000"}, Phone: "13900000008"}, "hospital system passphrase")
		cookie, _, err := e.svc.StartSession(e.ctx, u, "r")
		if err != nil {
			t.Fatal(err)
		}
		token, err := e.svc.IssueToken(e.ctx, principal(u), principal(u).Actor(), "inst1", "HIS")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.ResetAccount(e.ctx, a1, a1.Actor(), "inst1"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.SessionUser(e.ctx, cookie); errs.CodeOf(err) != errs.Unauthorized {
			t.Errorf("session after reset: %v", err)
		}
		if _, err := e.svc.TokenUser(e.ctx, token); errs.CodeOf(err) != errs.Unauthorized {
			t.Errorf("token after reset: %v", err)
		}
		_, err = e.svc.Login(e.ctx, "inst1", "hospital system passphrase", "", "192.0.2.1")
		wantCode(t, err, errs.Unauthorized)
		if err := e.svc.Activate(e.ctx, "inst1", e.code(t, "13900000008"), "a fresh hospital passphrase", "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
	})
}
