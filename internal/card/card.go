// Package card is the social security card from application to destruction, the bank-issued
// medical insurance card beside it, and the electronic social security card that follows the
// physical one.
//
// Every change of a social security card's state is one row of the transition table below: from
// which states an action may be taken, to which state it leads, and which roles may take it. The
// code consults only this table, and the tests walk every (state, action, role) against it. An
// action not in the table for a state is refused with a clear error and changes nothing.
//
// This package must never hold a key: cryptography (card personalisation, QR signatures) goes
// through the key service.
package card

import (
	"slices"

	"github.com/shebao/shebao/internal/auth"
)

// State of a social security card.
type State string

const (
	None            State = ""                 // before the application
	Applied         State = "applied"          // 申领
	Approved        State = "approved"         // checked and approved
	InProduction    State = "in_production"    // in a batch sent to the manufacturer (制卡)
	Produced        State = "produced"         // the manufacturer's result is in
	AtOutlet        State = "at_outlet"        // at the service outlet (网点)
	Collected       State = "collected"        // handed to its holder against their ID card (发放)
	Active          State = "active"           // PIN set (启用)
	TemporarilyLost State = "temporarily_lost" // 临时挂失: lapses back to active after the policy's days
	Lost            State = "lost"             // 正式挂失: final
	Replaced        State = "replaced"         // 补领/换领: a new card was applied for in its place
	Cancelled       State = "cancelled"        // 注销
	Expired         State = "expired"
	Rejected        State = "rejected" // the application was refused
)

// States lists every state in lifecycle order.
var States = []State{Applied, Approved, InProduction, Produced, AtOutlet, Collected, Active, TemporarilyLost, Lost, Replaced, Cancelled, Expired, Rejected}

// Final states are never left.
func (s State) Final() bool {
	return s == Lost || s == Cancelled || s == Expired || s == Rejected
}

// Live states count for the rule of at most one social security card per person. A replaced card
// is not live: its replacement is; it waits only to be cancelled when the replacement is activated.
func (s State) Live() bool { return s != None && s != Replaced && !s.Final() }

// Usable reports whether the card may be used (settlement, benefits, e-card).
func (s State) Usable() bool { return s == Active }

// Action changes a card's state.
type Action string

const (
	Apply          Action = "apply"
	Approve        Action = "approve"
	Reject         Action = "reject"
	SendToMaker    Action = "send_to_manufacturer"
	Produce        Action = "produce"
	Distribute     Action = "distribute"
	Collect        Action = "collect"
	Activate       Action = "activate"
	ReportTempLoss Action = "report_temporary_loss"
	Unlock         Action = "unlock"
	Lapse          Action = "lapse"
	ReportLoss     Action = "report_loss"
	Replace        Action = "replace"
	Cancel         Action = "cancel"
	Expire         Action = "expire"
	Retire         Action = "retire" // a replaced card is cancelled when its replacement is activated
)

// System is the pseudo-role of the server itself (the lapse of a temporary loss, expiry).
const System auth.Role = "system"

// Rule is one row of the transition table.
type Rule struct {
	Action Action
	From   []State
	To     State
	Roles  []auth.Role
}

// Rules is the transition table. Residents act on their own cards only, employers on their own
// staff's applications only; the service checks that beside the table.
var Rules = []Rule{
	{Apply, []State{None}, Applied, []auth.Role{auth.Resident, auth.Clerk, auth.Employer}},
	{Approve, []State{Applied}, Approved, []auth.Role{auth.Clerk, auth.Reviewer}},
	{Reject, []State{Applied}, Rejected, []auth.Role{auth.Clerk, auth.Reviewer}},
	{SendToMaker, []State{Approved}, InProduction, []auth.Role{auth.CardOfficer}},
	{Produce, []State{InProduction}, Produced, []auth.Role{auth.CardOfficer}},
	{Distribute, []State{Produced}, AtOutlet, []auth.Role{auth.CardOfficer}},
	{Collect, []State{AtOutlet}, Collected, []auth.Role{auth.Clerk}},
	{Activate, []State{Collected}, Active, []auth.Role{auth.Resident, auth.Clerk}},
	{ReportTempLoss, []State{Active}, TemporarilyLost, []auth.Role{auth.Resident, auth.Clerk}},
	{Unlock, []State{TemporarilyLost}, Active, []auth.Role{auth.Resident, auth.Clerk}},
	{Lapse, []State{TemporarilyLost}, Active, []auth.Role{System}},
	{ReportLoss, []State{Active, TemporarilyLost}, Lost, []auth.Role{auth.Resident, auth.Clerk}},
	{Replace, []State{Active, TemporarilyLost, Lost}, Replaced, []auth.Role{auth.Resident, auth.Clerk}},
	{Cancel, []State{Applied, Approved, InProduction, Produced, AtOutlet, Collected, Active, TemporarilyLost}, Cancelled, []auth.Role{auth.Clerk}},
	{Expire, []State{Active, TemporarilyLost, Collected}, Expired, []auth.Role{System}},
	{Retire, []State{Replaced}, Cancelled, []auth.Role{System}},
}

// Actions lists every action of the table.
func Actions() []Action {
	var out []Action
	for _, r := range Rules {
		out = append(out, r.Action)
	}
	return out
}

// rule finds the table row of an action.
func rule(a Action) (Rule, bool) {
	for _, r := range Rules {
		if r.Action == a {
			return r, true
		}
	}
	return Rule{}, false
}

// Next says where action a leads from state s, and whether role may take it. ok is false when the
// table has no such transition; allowed is false when the role may not take it.
func Next(s State, a Action, role auth.Role) (to State, ok, allowed bool) {
	r, found := rule(a)
	if !found || !slices.Contains(r.From, s) {
		return "", false, false
	}
	return r.To, true, slices.Contains(r.Roles, role)
}
