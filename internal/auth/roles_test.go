package auth_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/errs"
)

func TestParseRole(t *testing.T) {
	known := []struct {
		name string
		want auth.Role
	}{
		{"resident", auth.Resident},
		{"employer", auth.Employer},
		{"clerk", auth.Clerk},
		{"reviewer", auth.Reviewer},
		{"card_officer", auth.CardOfficer},
		{"bank", auth.Bank},
		{"institution", auth.Institution},
		{"custodian", auth.Custodian},
		{"auditor", auth.Auditor},
		{"admin", auth.Admin},
	}
	if len(known) != len(auth.Roles) {
		t.Fatalf("the test knows %d roles, auth.Roles has %d", len(known), len(auth.Roles))
	}
	for _, tc := range known {
		t.Run(tc.name, func(t *testing.T) {
			got, err := auth.ParseRole(tc.name)
			if err != nil || got != tc.want {
				t.Fatalf("ParseRole(%q) = %q, %v; want %q", tc.name, got, err, tc.want)
			}
			if !slices.Contains(auth.Roles, got) {
				t.Errorf("%q is not in auth.Roles", got)
			}
		})
	}
	for _, bad := range []string{"", "root", "Admin", "ADMIN", " admin", "admin ", "card-officer", strings.Repeat("x", 500)} {
		t.Run("unknown "+bad, func(t *testing.T) {
			got, err := auth.ParseRole(bad)
			if err == nil || got != "" {
				t.Fatalf("ParseRole(%q) = %q, %v; want an error", bad, got, err)
			}
			if errs.CodeOf(err) != errs.Invalid {
				t.Fatalf("ParseRole(%q) code = %s, want invalid", bad, errs.CodeOf(err))
			}
			e, _ := errs.As(err)
			if _, ok := e.Fields["role"]; !ok {
				t.Errorf("ParseRole(%q) fields = %v, want role", bad, e.Fields)
			}
			if len(e.Message) > 100 {
				t.Errorf("message of %d bytes echoes the whole input: %q", len(e.Message), e.Message)
			}
		})
	}
}

func TestRoleStaff(t *testing.T) {
	staff := map[auth.Role]bool{
		auth.Clerk: true, auth.Reviewer: true, auth.CardOfficer: true, auth.Custodian: true, auth.Auditor: true, auth.Admin: true,
	}
	for _, r := range auth.Roles {
		if got := r.Staff(); got != staff[r] {
			t.Errorf("%s.Staff() = %v, want %v", r, got, staff[r])
		}
	}
	if auth.Role("root").Staff() {
		t.Error(`Role("root").Staff() = true`)
	}
}

func TestCan(t *testing.T) {
	tests := []struct {
		role   auth.Role
		action auth.Action
		want   bool
	}{
		{auth.Resident, auth.ViewPortal, true},
		{auth.Resident, auth.ManageSelf, true},
		{auth.Bank, auth.ManageSelf, true},
		{auth.Resident, auth.ListUsers, false},
		{auth.Admin, auth.ListUsers, true},
		{auth.Auditor, auth.ListUsers, true},
		{auth.Clerk, auth.ListUsers, false},
		{auth.Admin, auth.CreateUser, true},
		{auth.Auditor, auth.CreateUser, false},
		{auth.Clerk, auth.CreateUser, false},
		{auth.Admin, auth.DisableUser, true},
		{auth.Reviewer, auth.DisableUser, false},
		{auth.Admin, auth.IssueToken, true},
		{auth.Employer, auth.IssueToken, true}, // its own tokens only: IssueToken checks the account
		{auth.Admin, auth.ApproveAccount, true},
		{auth.Custodian, auth.ApproveAccount, true},
		{auth.Clerk, auth.ApproveAccount, false},
		{auth.Auditor, auth.ReadAudit, true},
		{auth.Admin, auth.ReadAudit, false}, // the admin does not read the log of their own changes
		{auth.Auditor, auth.VerifyAudit, true},
		{auth.Admin, auth.VerifyAudit, true},
		{auth.Custodian, auth.VerifyAudit, false},
		{auth.Role("root"), auth.ViewPortal, false},
		{auth.Role(""), auth.ViewPortal, false},
		{auth.Admin, auth.Action("unknown.action"), false},
	}
	for _, tc := range tests {
		t.Run(string(tc.role)+"/"+string(tc.action), func(t *testing.T) {
			if got := auth.Can(tc.role, tc.action); got != tc.want {
				t.Errorf("Can(%q, %q) = %v, want %v", tc.role, tc.action, got, tc.want)
			}
		})
	}
}

func TestEveryActionIsGranted(t *testing.T) {
	actions := auth.Actions()
	if !slices.IsSorted(actions) {
		t.Errorf("Actions() = %v, not sorted", actions)
	}
	for _, a := range []auth.Action{auth.ViewPortal, auth.ManageSelf, auth.ListUsers, auth.CreateUser,
		auth.DisableUser, auth.IssueToken, auth.ReadAudit, auth.VerifyAudit} {
		if !slices.Contains(actions, a) {
			t.Errorf("Actions() lacks %q", a)
		}
	}
	for _, a := range actions {
		t.Run(string(a), func(t *testing.T) {
			if !slices.ContainsFunc(auth.Roles, func(r auth.Role) bool { return auth.Can(r, a) }) {
				t.Errorf("no role may perform %q", a)
			}
		})
	}
	// Every role can at least see the portal and manage its own account.
	for _, r := range auth.Roles {
		if !auth.Can(r, auth.ViewPortal) || !auth.Can(r, auth.ManageSelf) {
			t.Errorf("%s may not use the portal", r)
		}
	}
}

func TestPrincipalCan(t *testing.T) {
	var none *auth.Principal
	if none.Can(auth.ViewPortal) {
		t.Error("a nil principal can view the portal")
	}
	if err := none.Require(auth.ViewPortal); errs.CodeOf(err) != errs.Forbidden {
		t.Errorf("nil principal Require = %v, want forbidden", err)
	}
	admin := &auth.Principal{User: auth.User{Username: "root", Role: auth.Admin, Regions: []string{"110000"}}, Via: "session", RequestID: "r1"}
	if err := admin.Require(auth.CreateUser); err != nil {
		t.Errorf("admin Require(CreateUser) = %v", err)
	}
	if err := admin.Require(auth.ReadAudit); errs.CodeOf(err) != errs.Forbidden {
		t.Errorf("admin Require(ReadAudit) = %v, want forbidden", err)
	}
	if a := admin.Actor(); a.Name != "root" || a.Role != "admin" || a.RequestID != "r1" {
		t.Errorf("Actor() = %+v", a)
	}
	if !admin.InRegion("110000") || admin.InRegion("310000") {
		t.Errorf("InRegion is wrong for regions %v", admin.Regions)
	}
}

func TestValidRegion(t *testing.T) {
	for s, want := range map[string]bool{
		"110000": true, "330106": true, "000000": true,
		"": false, "11000": false, "1100000": false, "11000a": false, " 110000": false, "110000\n": false, "１１００００": false,
	} {
		if got := auth.ValidRegion(s); got != want {
			t.Errorf("ValidRegion(%q) = %v, want %v", s, got, want)
		}
	}
}
