package auth

import (
	"slices"

	"github.com/shebao/shebao/internal/errs"
)

// Role is one of the roles of SPEC 1. A user has exactly one role; a person who works in two roles
// has two accounts, so that separation of duties can be checked by comparing accounts.
type Role string

const (
	Resident    Role = "resident"
	Employer    Role = "employer"
	Clerk       Role = "clerk"
	Reviewer    Role = "reviewer"
	CardOfficer Role = "card_officer"
	Bank        Role = "bank"
	Institution Role = "institution"
	Custodian   Role = "custodian"
	Auditor     Role = "auditor"
	Admin       Role = "admin"
)

// Roles lists every role in the order the portal shows them.
var Roles = []Role{Resident, Employer, Clerk, Reviewer, CardOfficer, Bank, Institution, Custodian, Auditor, Admin}

// ParseRole accepts a role's name.
func ParseRole(s string) (Role, error) {
	if r := Role(s); slices.Contains(Roles, r) {
		return r, nil
	}
	return "", errs.Field("role", "unknown role "+quote(s))
}

// Staff reports whether the role belongs to bureau staff (as opposed to residents and partners).
func (r Role) Staff() bool {
	switch r {
	case Clerk, Reviewer, CardOfficer, Custodian, Auditor, Admin:
		return true
	}
	return false
}

// Action is something a role may be allowed to do. Each web route names one action; the table below
// says which roles may perform it. Object-level rules (own records only, own region only, never
// approve one's own work) are checked by the capability that owns the object.
type Action string

const (
	// Every authenticated user.
	ViewPortal  Action = "portal.view"
	ManageSelf  Action = "account.self" // see own account, change password, set up TOTP
	ListUsers   Action = "user.list"
	CreateUser  Action = "user.create"
	DisableUser Action = "user.disable"
	IssueToken  Action = "token.create"
	ReadAudit   Action = "audit.read"
	VerifyAudit Action = "audit.verify"

	ProposePolicy Action = "policy.propose"
	ReviewPolicy  Action = "policy.review"
	ReadPolicy    Action = "policy.read"
)

// everyone is every role, for actions open to all authenticated users.
var everyone = Roles

// permissions is the one table of who may do what. Nothing else grants an action.
var permissions = map[Action][]Role{
	ViewPortal:  everyone,
	ManageSelf:  everyone,
	ListUsers:   {Admin, Auditor},
	CreateUser:  {Admin},
	DisableUser: {Admin},
	IssueToken:  {Admin},
	ReadAudit:   {Auditor},
	VerifyAudit: {Auditor, Admin},

	ProposePolicy: {Admin},
	ReviewPolicy:  {Reviewer},
	ReadPolicy:    {Admin, Reviewer, Auditor, Clerk},
}

// Can reports whether role may perform action.
func Can(role Role, a Action) bool { return slices.Contains(permissions[a], role) }

// Actions lists every action in the table, for tests and documentation.
func Actions() []Action {
	out := make([]Action, 0, len(permissions))
	for a := range permissions {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return "\"" + s + "\""
}
