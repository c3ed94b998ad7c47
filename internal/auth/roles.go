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

// Combinable reports whether a role may be held together with others by one user: the service
// window's roles. Custodians, auditors and administrators stand alone, so that no one person
// both administers users and audits them, or holds a key share and approves its use.
func Combinable(r Role) bool { return r == Clerk || r == Reviewer || r == CardOfficer }

// Action is something a role may be allowed to do. Each web route names one action; the table below
// says which roles may perform it. Object-level rules (own records only, own region only, never
// approve one's own work) are checked by the capability that owns the object.
type Action string

const (
	// Every authenticated user.
	ViewPortal     Action = "portal.view"
	ManageSelf     Action = "account.self" // see own account, change password, set up TOTP
	ListUsers      Action = "user.list"
	CreateUser     Action = "user.create"
	ApproveAccount Action = "user.approve" // a second administrator (or custodians) vouching for a staff account
	ResetAccount   Action = "user.reset"   // send a holder a new one-time code (clerks: residents and HR, after the ID check)
	DisableUser    Action = "user.disable"
	IssueToken     Action = "token.create" // one's own API tokens only
	ReadAudit      Action = "audit.read"
	VerifyAudit    Action = "audit.verify"

	ProposePolicy Action = "policy.propose"
	ReviewPolicy  Action = "policy.review"
	ReadPolicy    Action = "policy.read"

	RegisterPerson   Action = "person.register"
	ReadPerson       Action = "person.read" // residents: themselves; employers: their staff
	RegisterEmployer Action = "employer.register"
	ReadEmployer     Action = "employer.read" // employers: their own
	CreateLogin      Action = "login.create"  // a resident's or an HR operator's portal login
	PrepareEnrolment Action = "enrolment.prepare"
	ReviewEnrolment  Action = "enrolment.review"
	ReadEnrolment    Action = "enrolment.read" // residents: their own
	ManageStaff      Action = "staff.manage"   // employers: their own staff
	ReadStaff        Action = "staff.read"
	ReadOwnInsurance Action = "insurance.own"

	ReadKeys         Action = "keys.read"          // key service status, key metadata, requests
	UnsealKeys       Action = "keys.unseal"        // enter one's component
	SealKeys         Action = "keys.seal"          // seal the key service
	RequestKeys      Action = "keys.request"       // ask to generate, rotate, export or destroy issuer keys
	ApproveKeys      Action = "keys.approve"       // approve such a request
	AuthenticateCard Action = "card.authenticate"  // a terminal checks a card online
	ActivateCardBank Action = "card.bank"          // a bank activates a card's financial function
	VerifyECard      Action = "ecard.verify"       // an institution scans an electronic card's QR code
	IssueMedicalCard Action = "medical_card.issue" // a bank issues and manages medical insurance cards
	UseMedicalCard   Action = "medical_card.use"   // an institution checks a medical card for a use

	ApplyCard     Action = "card.apply"   // residents for themselves, employers for their staff, clerks
	ReadCard      Action = "card.read"    // residents: their own
	ReviewCard    Action = "card.review"  // approve or reject an application
	ProduceCards  Action = "card.produce" // batches, manufacturer files, distribution
	HandOutCard   Action = "card.hand_out"
	HolderCard    Action = "card.holder" // activate, temporary loss, unlock, loss, replacement
	CancelCard    Action = "card.cancel"
	OwnECard      Action = "ecard.own"
	ManageOutlets Action = "outlet.manage"
	ReadOutlets   Action = "outlet.read"

	ReadBills     Action = "contribution.bills"    // employers and residents: their own
	RecordPayment Action = "contribution.payment"  // money received for a payer, from the bank's file or the counter
	ReadFunds     Action = "contribution.funds"    // totals per month and insurance type, fund balances
	ReadAccounts  Action = "contribution.accounts" // a person's contributions and personal accounts, for the bureau
	RunMonth      Action = "contribution.run"      // start a region's monthly run from the portal

	RegisterInstitution Action = "institution.register" // a clerk registers a designated hospital or pharmacy
	ReviewInstitution   Action = "institution.review"   // a reviewer approves it
	ReadInstitution     Action = "institution.read"     // institutions: their own
	Settle              Action = "settlement.settle"    // an institution settles a bill, and refunds it
	ReadSettlements     Action = "settlement.read"      // institutions: their own; the bureau: its regions
	Reconcile           Action = "settlement.reconcile" // an institution checks its day's totals against the bureau's
	PrepareClearing     Action = "clearing.prepare"     // a clerk prepares a month's clearing of an institution
	ApproveClearing     Action = "clearing.approve"     // a reviewer approves and posts it
	ReadMedicalYear     Action = "medical.year"         // a person's medical year for the bureau
	OwnMedical          Action = "medical.own"          // the resident's own settlements and medical year

	RegisterUnemployment Action = "unemployment.register" // 失业登记: a clerk at the window, or the resident online
	ReadBenefits         Action = "benefit.read"          // claims, entitlement and pension outlook; residents: their own
	PrepareClaim         Action = "unemployment.prepare"  // a clerk prepares (and ends) an unemployment claim
	ReviewClaim          Action = "unemployment.review"   // a reviewer approves or rejects it
	RunBenefits          Action = "benefit.run"           // start a region's monthly benefit run

	IssueCertificate Action = "certificate.issue" // residents: their own; employers: for their staff; clerks: at the window

	ApplyTransfer  Action = "transfer.apply"  // 转移接续 into a region: the person, their new employer's HR, or a clerk there
	AcceptTransfer Action = "transfer.accept" // the receiving region's clerk takes the application on
	ReviewTransfer Action = "transfer.review" // the sending region's reviewer approves or refuses what moves
	ReadTransfer   Action = "transfer.read"   // residents: their own; HR: those they applied for; staff: their regions'
)

// everyone is every role, for actions open to all authenticated users.
var everyone = Roles

// permissions is the one table of who may do what. Nothing else grants an action.
var permissions = map[Action][]Role{
	ViewPortal:     everyone,
	ManageSelf:     everyone,
	ListUsers:      {Admin, Auditor, Custodian}, // custodians see the accounts they are asked to approve
	CreateUser:     {Admin},
	ApproveAccount: {Admin, Custodian},
	ResetAccount:   {Admin, Clerk},
	DisableUser:    {Admin},
	IssueToken:     everyone,
	ReadAudit:      {Auditor},
	VerifyAudit:    {Auditor, Admin},

	ProposePolicy: {Admin},
	ReviewPolicy:  {Reviewer},
	ReadPolicy:    {Admin, Reviewer, Auditor, Clerk},

	RegisterPerson:   {Clerk},
	ReadPerson:       {Clerk, Reviewer, Auditor, Resident, Employer},
	RegisterEmployer: {Clerk},
	ReadEmployer:     {Clerk, Reviewer, Auditor, Employer},
	CreateLogin:      {Clerk},
	PrepareEnrolment: {Clerk},
	ReviewEnrolment:  {Reviewer},
	ReadEnrolment:    {Clerk, Reviewer, Auditor, Resident},
	ManageStaff:      {Employer},
	ReadStaff:        {Employer, Clerk, Auditor},
	ReadOwnInsurance: {Resident},

	ReadKeys:         {Custodian, Auditor, Admin},
	UnsealKeys:       {Custodian},
	SealKeys:         {Custodian, Admin},
	RequestKeys:      {Custodian, Admin},
	ApproveKeys:      {Custodian},
	AuthenticateCard: {Institution, Clerk, Bank},
	ActivateCardBank: {Bank},
	VerifyECard:      {Institution, Clerk, Bank},
	IssueMedicalCard: {Bank},
	UseMedicalCard:   {Institution},

	ApplyCard:     {Resident, Clerk, Employer},
	ReadCard:      {Resident, Clerk, Reviewer, CardOfficer, Auditor},
	ReviewCard:    {Clerk, Reviewer},
	ProduceCards:  {CardOfficer},
	HandOutCard:   {Clerk},
	HolderCard:    {Resident, Clerk},
	CancelCard:    {Clerk},
	OwnECard:      {Resident},
	ManageOutlets: {Admin},
	ReadOutlets:   {Admin, Clerk, CardOfficer, Auditor},

	ReadBills:     {Resident, Employer, Clerk, Reviewer, Auditor},
	RecordPayment: {Clerk, Bank},
	ReadFunds:     {Auditor, Admin},
	ReadAccounts:  {Clerk, Reviewer, Auditor},
	RunMonth:      {Admin},

	RegisterInstitution: {Clerk},
	ReviewInstitution:   {Reviewer},
	ReadInstitution:     {Clerk, Reviewer, Auditor, Institution},
	Settle:              {Institution},
	ReadSettlements:     {Institution, Clerk, Reviewer, Auditor},
	Reconcile:           {Institution, Clerk, Reviewer, Auditor},
	PrepareClearing:     {Clerk},
	ApproveClearing:     {Reviewer},
	ReadMedicalYear:     {Clerk, Reviewer, Auditor},
	OwnMedical:          {Resident},

	RegisterUnemployment: {Clerk, Resident},
	ReadBenefits:         {Clerk, Reviewer, Auditor, Resident},
	PrepareClaim:         {Clerk},
	ReviewClaim:          {Reviewer},
	RunBenefits:          {Admin},

	IssueCertificate: {Resident, Employer, Clerk},

	ApplyTransfer:  {Resident, Employer, Clerk},
	AcceptTransfer: {Clerk},
	ReviewTransfer: {Reviewer},
	ReadTransfer:   {Resident, Employer, Clerk, Reviewer, Auditor},
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
