// Package web is shebao's HTTP face: the JSON API under /api/v1, the server-rendered portal, and
// the operational endpoints (/healthz, /readyz, /metrics). It is the only package that wires the
// capabilities together for HTTP, and the only place where an error becomes a status code.
//
// Every route is registered through route(), which records its method, pattern and the one
// auth.Action it needs; the guard consults auth's permission table for that action before the
// handler runs. The recorded list drives the OpenAPI test and the route × role test.
//
// Nothing here writes SQL or makes a business decision: handlers parse input, call a capability,
// and render its answer. No other package imports web.
package web

import (
	"context"
	"embed"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/benefit"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/certificate"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/keys"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
	"github.com/shebao/shebao/internal/rights"
	"github.com/shebao/shebao/internal/settle"
	"github.com/shebao/shebao/internal/transfer"
)

//go:embed templates/*.html static/*
var assets embed.FS

// Deps are what the server needs; the command line builds them.
type Deps struct {
	DB           *db.DB
	Auth         *auth.Service
	Policies     *policy.Store
	Registry     *registry.Service
	Keys         *keys.Service
	Cards        *card.Service
	Contrib      *contrib.Service
	Settle       *settle.Service
	Benefit      *benefit.Service
	Certificates *certificate.Service // nil: made from DB, Keys, Policies and Registry
	Rights       *rights.Service      // nil: made from the capabilities above
	Transfers    *transfer.Service    // nil: made from DB
	// PublicURL is the address people reach the portal at (https://shebao.example.gov.cn), printed
	// on certificates under their QR code; "" = the scheme and host the request came to.
	PublicURL     string
	Log           *slog.Logger
	SecureCookies bool
	Version       string
	Demo          bool             // a demo database: the demo's text messages are shown at /demo/messages
	Now           func() time.Time // nil = the database's clock
}

// Server handles every HTTP request.
type Server struct {
	Deps
	publicLimit *auth.Limiter // public inquiries per client address
	verifyLimit *auth.Limiter // public certificate checks per client address
	mux         *http.ServeMux
	routes      []Route
	pages       *pages
	metrics     *metrics
	handler     http.Handler
	runs        runTracker  // monthly runs started from the portal
	uploads     *uploadGate // uploaded tables being read
}

// Route is one registered endpoint.
type Route struct {
	Method  string
	Path    string      // as in the pattern, e.g. /api/v1/users/{username}
	Action  auth.Action // "" for public routes
	API     bool
	Summary string
	// Keyed: a write that creates or moves something, which takes a required Idempotency-Key and
	// answers a retry with the first answer (keyedRoute).
	Keyed bool
}

// New builds the server and parses every template; a missing or broken template fails here, at
// start-up, not on the first request.
func New(d Deps) (*Server, error) {
	if d.Now == nil {
		d.Now = d.DB.Now // the one clock: what a page shows agrees with what was written
	}
	if d.Certificates == nil {
		d.Certificates = certificate.New(d.DB, d.Keys, d.Policies, d.Registry)
	}
	if d.Transfers == nil {
		d.Transfers = transfer.New(d.DB)
	}
	if d.Rights == nil {
		d.Rights = rights.New(d.DB, d.Policies, d.Registry, d.Contrib, d.Settle, d.Benefit)
	}
	s := &Server{Deps: d, mux: http.NewServeMux(), publicLimit: auth.NewLimiter(20, 10*time.Minute, d.Now),
		verifyLimit: auth.NewLimiter(verifyPerWindow, 10*time.Minute, d.Now),
		uploads:     newUploadGate(uploadSlots, uploadWait)}
	var err error
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	s.metrics = newMetrics()
	s.registerRoutes()
	s.handler = s.middleware(withGzip(s.mux))
	return s, nil
}

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Routes lists the registered routes.
func (s *Server) Routes() []Route { return s.routes }

func (s *Server) registerRoutes() {
	// Operations.
	s.public("GET /healthz", s.healthz)
	s.public("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}))
	s.routes = append(s.routes, Route{Method: "GET", Path: "/metrics"})
	s.public("GET /api/v1/openapi.json", s.openAPI)

	// API.
	s.api("GET /api/v1/me", auth.ManageSelf, "The calling user", s.apiMe)
	s.api("POST /api/v1/me/password", auth.ManageSelf, "Change one's own password", s.apiChangePassword)
	s.api("POST /api/v1/me/totp", auth.ManageSelf, "Start setting up a TOTP second factor", s.apiBeginTOTP)
	s.api("POST /api/v1/me/totp/confirm", auth.ManageSelf, "Confirm the TOTP second factor with a code", s.apiConfirmTOTP)
	s.api("GET /api/v1/users", auth.ListUsers, "Users in the caller's regions", s.apiListUsers)
	s.api("POST /api/v1/users", auth.CreateUser, "Create a user", s.apiCreateUser)
	s.api("GET /api/v1/users/{username}", auth.ListUsers, "One user", s.apiGetUser)
	s.api("POST /api/v1/users/{username}/disable", auth.DisableUser, "Disable a user", s.apiDisableUser)
	s.api("POST /api/v1/users/{username}/enable", auth.DisableUser, "Enable a user again", s.apiEnableUser)
	s.api("POST /api/v1/users/{username}/tokens", auth.IssueToken, "Issue an API token for one's own account (username must be the caller's)", s.apiIssueToken)
	s.api("GET /api/v1/users/pending", auth.ApproveAccount, "Staff accounts waiting for a second administrator's (or custodians') approval", s.apiPendingUsers)
	s.api("POST /api/v1/users/{username}/approve", auth.ApproveAccount, "Approve a pending staff account (an administrator, or custodians for a custodian)", s.apiApproveUser)
	s.api("POST /api/v1/users/{username}/reset", auth.ResetAccount, "Send the account's holder a new one-time code to their phone; ends its sessions and tokens", s.apiResetUser)
	s.public("POST /api/v1/activate", s.apiActivate)
	s.api("GET /api/v1/audit/entries", auth.ReadAudit, "Audit entries, newest first", s.apiAuditEntries)
	s.api("GET /api/v1/audit/verify", auth.VerifyAudit, "Verify the audit chain", s.apiAuditVerify)

	s.api("GET /api/v1/policies", auth.ReadPolicy, "Policy versions of a region", s.apiListPolicies)
	s.api("POST /api/v1/policies", auth.ProposePolicy, "Propose a policy version (takes effect when a reviewer approves)", s.apiProposePolicy)
	s.api("GET /api/v1/policies/{id}", auth.ReadPolicy, "One policy version with its document", s.apiGetPolicy)
	s.api("POST /api/v1/policies/{id}/approve", auth.ReviewPolicy, "Approve a proposed policy version", s.apiApprovePolicy)
	s.api("POST /api/v1/policies/{id}/reject", auth.ReviewPolicy, "Reject a proposed policy version", s.apiRejectPolicy)
	s.public("GET /api/v1/guide/{region}", s.apiGuide)
	s.public("GET /api/v1/templates/staff.xlsx", s.staffTemplate)

	s.api("POST /api/v1/persons", auth.RegisterPerson, "Register a person", s.apiRegisterPerson)
	s.api("GET /api/v1/persons/{id_number}", auth.ReadPerson, "A person", s.apiGetPerson)
	s.api("GET /api/v1/persons/{id_number}/participations", auth.ReadPerson, "A person's participation intervals", s.apiPersonParticipations)
	s.api("POST /api/v1/persons/{id_number}/login", auth.CreateLogin, "Open the person's portal login; the activation code goes to the phone on file", s.apiCreateResidentLogin)
	s.api("POST /api/v1/persons/{id_number}/login/reset", auth.CreateLogin, "Reset the person's portal login after checking the ID card presented", s.apiResetResidentLogin)
	s.api("POST /api/v1/employers", auth.RegisterEmployer, "Register an employer", s.apiRegisterEmployer)
	s.api("GET /api/v1/employers/{uscc}", auth.ReadEmployer, "An employer", s.apiGetEmployer)
	s.api("POST /api/v1/employers/{uscc}/operators", auth.CreateLogin, "Create an HR operator login for the employer", s.apiCreateOperator)
	s.api("GET /api/v1/employers/{uscc}/staff", auth.ReadStaff, "The employer's staff", s.apiListStaff)
	s.api("POST /api/v1/employers/{uscc}/staff", auth.ManageStaff, "Add a member of staff (增员)", s.apiAddStaff)
	s.apiUpload("POST /api/v1/employers/{uscc}/staff/bulk", auth.ManageStaff, "Apply a staff file (XLSX or CSV) whole or not at all", s.apiBulkStaff)
	s.api("POST /api/v1/employers/{uscc}/staff/{id_number}/remove", auth.ManageStaff, "Remove a member of staff (减员)", s.apiRemoveStaff)
	s.api("POST /api/v1/employers/{uscc}/staff/{id_number}/base", auth.ManageStaff, "Change a base (调基)", s.apiChangeBase)
	s.api("POST /api/v1/enrolments", auth.PrepareEnrolment, "Prepare an enrolment application", s.apiCreateEnrolment)
	s.api("GET /api/v1/enrolments", auth.ReadEnrolment, "Enrolment applications", s.apiListEnrolments)
	s.api("GET /api/v1/enrolments/{id}", auth.ReadEnrolment, "An enrolment application with its checklist", s.apiGetEnrolment)
	s.apiUpload("POST /api/v1/enrolments/{id}/materials", auth.PrepareEnrolment, "Upload a material", s.apiAddMaterial)
	s.api("GET /api/v1/enrolments/{id}/materials/{material_id}", auth.ReadEnrolment, "Download a material", s.apiGetMaterial)
	s.api("POST /api/v1/enrolments/{id}/materials/{material_id}/check", auth.PrepareEnrolment, "Accept or reject a material", s.apiCheckMaterial)
	s.api("POST /api/v1/enrolments/{id}/submit", auth.PrepareEnrolment, "Submit for review", s.apiSubmitEnrolment)
	s.api("POST /api/v1/enrolments/{id}/approve", auth.ReviewEnrolment, "Approve (not by its preparer)", s.apiApproveEnrolment)
	s.api("POST /api/v1/enrolments/{id}/reject", auth.ReviewEnrolment, "Reject with a reason", s.apiRejectEnrolment)
	s.api("GET /api/v1/me/insurance", auth.ReadOwnInsurance, "The resident's own insurance status", s.apiMyInsurance)

	s.api("GET /api/v1/keys/status", auth.ReadKeys, "Key service status: sealed or not, components entered", s.apiKeyStatus)
	s.api("POST /api/v1/keys/unseal", auth.UnsealKeys, "Enter one's key component", s.apiUnseal)
	s.api("POST /api/v1/keys/seal", auth.SealKeys, "Seal the key service", s.apiSeal)
	s.api("GET /api/v1/keys", auth.ReadKeys, "Keys of the caller's regions (metadata only)", s.apiListKeys)
	s.api("GET /api/v1/keys/requests", auth.ReadKeys, "Key requests of the caller's regions", s.apiListKeyRequests)
	s.api("POST /api/v1/keys/requests", auth.RequestKeys, "Request to generate, rotate, export or destroy issuer keys", s.apiCreateKeyRequest)
	s.api("GET /api/v1/keys/requests/{id}", auth.ReadKeys, "A key request", s.apiGetKeyRequest)
	s.api("POST /api/v1/keys/requests/{id}/approve", auth.ApproveKeys, "Approve a key request (not one's own)", s.apiApproveKeyRequest)
	s.public("GET /api/v1/regions/{region}/signing-key.pem", s.signingKey)
	s.api("POST /api/v1/cards/auth/challenge", auth.AuthenticateCard, "A challenge for a card's INTERNAL AUTHENTICATE", s.apiCardChallenge)
	s.api("POST /api/v1/cards/auth/verify", auth.AuthenticateCard, "Is the card's answer genuine?", s.apiCardVerify)

	s.api("POST /api/v1/cards", auth.ApplyCard, "Apply for a social security card", s.apiApplyCard)
	s.api("POST /api/v1/cards/temporary", auth.HandOutCard, "Issue a temporary card at the outlet", s.apiTemporaryCard)
	s.apiUpload("POST /api/v1/employers/{uscc}/card-applications", auth.ApplyCard, "Apply for many staff's cards from a file, whole or not at all", s.apiStaffCardApplications)
	s.public("GET /api/v1/public/card-progress", s.publicProgress)
	s.api("GET /api/v1/cards/{id}", auth.ReadCard, "A card", s.apiGetCard)
	s.api("GET /api/v1/cards/{id}/progress", auth.ReadCard, "A card's steps with their dates", s.apiCardProgress)
	s.apiUpload("POST /api/v1/cards/{id}/photo", auth.ApplyCard, "The photo for the card face (JPEG or PNG)", s.apiSetPhoto)
	s.api("GET /api/v1/cards/{id}/photo", auth.ReadCard, "The card's photo", s.apiGetPhoto)
	s.api("POST /api/v1/cards/{id}/approve", auth.ReviewCard, "Approve a card application", s.apiApproveCard)
	s.api("POST /api/v1/cards/{id}/reject", auth.ReviewCard, "Reject a card application", s.apiRejectCard)
	s.api("POST /api/v1/cards/{id}/collect", auth.HandOutCard, "Hand the card to its holder (ID and card number checked)", s.apiCollectCard)
	s.api("POST /api/v1/cards/{id}/activate", auth.HolderCard, "Activate with a PIN", s.apiActivateCard)
	s.api("POST /api/v1/cards/{id}/temporary-loss", auth.HolderCard, "Report a temporary loss", s.apiTempLoss)
	s.api("POST /api/v1/cards/{id}/unlock", auth.HolderCard, "Lift a temporary loss", s.apiUnlock)
	s.api("POST /api/v1/cards/{id}/loss", auth.HolderCard, "Report a formal loss (final)", s.apiLoss)
	s.api("POST /api/v1/cards/{id}/replace", auth.HolderCard, "Replace the card: retire it and apply for a new one", s.apiReplace)
	s.api("POST /api/v1/cards/{id}/cancel", auth.CancelCard, "Cancel the card", s.apiCancelCard)
	s.api("POST /api/v1/cards/{id}/bank", auth.ActivateCardBank, "Activate the card's bank function", s.apiCardBank)
	s.api("POST /api/v1/cards/{id}/pin-reset", auth.HandOutCard, "Reset the PIN at the outlet (ID checked)", s.apiPINReset)
	s.api("POST /api/v1/card-batches", auth.ProduceCards, "Gather approved applications into a production batch", s.apiCreateBatch)
	s.api("GET /api/v1/card-batches/{id}/manufacturer-file", auth.ProduceCards, "The batch's file for the manufacturer (CSV)", s.apiManufacturerFile)
	s.apiUpload("POST /api/v1/card-batches/{id}/result", auth.ProduceCards, "Import the manufacturer's result file (CSV), whole or not at all", s.apiImportResult)
	s.api("POST /api/v1/card-batches/{id}/distribute", auth.ProduceCards, "Send the batch's cards to a service outlet", s.apiDistribute)
	s.api("GET /api/v1/me/contributions", auth.ReadOwnInsurance, "The resident's contributions by month and personal accounts with their movements", s.apiMyContributions)
	s.api("GET /api/v1/persons/{id_number}/contributions", auth.ReadAccounts, "A person's contributions by month and personal accounts with their movements", s.apiPersonContributions)
	s.api("GET /api/v1/funds", auth.ReadFunds, "A region's contributions by month and insurance type, and the pooled funds' balances", s.apiFunds)
	s.api("GET /api/v1/bills", auth.ReadBills, "A payer's monthly bills with arrears and late fees as of today", s.apiBills)
	s.api("GET /api/v1/payments", auth.ReadBills, "A payer's payments, newest first, with the months each paid", s.apiPayments)
	s.api("POST /api/v1/payments", auth.RecordPayment, "Record money received for a payer (Idempotency-Key required)", s.apiRecordPayment)
	s.api("GET /api/v1/outlets", auth.ReadOutlets, "Service outlets", s.apiListOutlets)
	s.api("POST /api/v1/outlets", auth.ManageOutlets, "Register a service outlet", s.apiAddOutlet)
	s.api("GET /api/v1/me/cards", auth.OwnECard, "The resident's cards", s.apiMyCards)
	s.api("POST /api/v1/me/ecard", auth.OwnECard, "Sign up for the electronic social security card", s.apiECardSignUp)
	s.api("GET /api/v1/me/ecard/qr", auth.OwnECard, "A fresh QR code (60 s, single use)", s.apiECardQR)
	s.api("POST /api/v1/ecard/verify", auth.VerifyECard, "Verify a scanned electronic card QR code", s.apiECardVerify)
	s.api("POST /api/v1/medical-cards", auth.IssueMedicalCard, "Issue a medical insurance card (bank)", s.apiIssueMedical)
	s.api("POST /api/v1/medical-cards/{number}/{action}", auth.IssueMedicalCard, "Activate, lose or cancel a medical insurance card", s.apiChangeMedical)
	s.api("POST /api/v1/medical-cards/check", auth.UseMedicalCard, "May this medical insurance card be used for this purpose?", s.apiCheckMedical)
	s.api("POST /api/v1/institutions", auth.RegisterInstitution, "Register a designated hospital or pharmacy (a reviewer approves it)", s.apiRegisterInstitution)
	s.api("GET /api/v1/institutions", auth.ReadInstitution, "Designated institutions of the caller's regions (an operator: their own)", s.apiListInstitutions)
	s.api("GET /api/v1/institutions/{code}", auth.ReadInstitution, "A designated institution", s.apiGetInstitution)
	s.api("POST /api/v1/institutions/{code}/approve", auth.ReviewInstitution, "Approve a registered institution (a reviewer independent of the clerk)", s.apiApproveInstitution)
	s.api("POST /api/v1/institutions/{code}/operators", auth.CreateLogin, "Open an operator login for an approved institution; its code goes to the phone given", s.apiCreateInstitutionOperator)
	s.api("GET /api/v1/institutions/{code}/reconciliation", auth.Reconcile, "The bureau's totals of an institution's day (?date=), or its detail file (&format=csv)", s.apiReconciliation)
	s.api("POST /api/v1/institutions/{code}/reconciliation", auth.Reconcile, "The institution's own totals of a day (?date=): do they agree, and which settlements differ", s.apiReconcile)
	s.api("POST /api/v1/institutions/{code}/clearings", auth.PrepareClearing, "Prepare an institution's clearing of a month that has ended", s.apiPrepareClearing)
	s.api("POST /api/v1/institutions/{code}/clearings/{month}/approve", auth.ApproveClearing, "Approve and post a prepared clearing (a reviewer independent of the clerk)", s.apiApproveClearing)
	s.api("GET /api/v1/clearings", auth.ReadSettlements, "Monthly clearings of the caller's regions", s.apiListClearings)
	s.api("POST /api/v1/settlements", auth.Settle, "Settle a bill: the split between pool, personal account and cash (Idempotency-Key required)", s.apiSettle)
	s.api("GET /api/v1/settlements", auth.ReadSettlements, "Settlements, newest first (an institution its own; the bureau its regions)", s.apiListSettlements)
	s.api("GET /api/v1/settlements/{id}", auth.ViewPortal, "A settlement with its split (its institution, the bureau, the person)", s.apiGetSettlement)
	s.api("POST /api/v1/settlements/{id}/refund", auth.Settle, "Refund a whole settlement, once (Idempotency-Key required)", s.apiRefund)
	s.api("GET /api/v1/persons/{id_number}/medical-year", auth.ReadMedicalYear, "A person's medical year: deductible counted, what the pool paid, what is left", s.apiPersonMedicalYear)
	s.api("GET /api/v1/me/medical-year", auth.OwnMedical, "The resident's own medical year", s.apiMyMedicalYear)
	s.api("GET /api/v1/me/settlements", auth.OwnMedical, "The resident's own settlements, newest first", s.apiListSettlements)
	s.api("GET /api/v1/persons/{id_number}/pension", auth.ReadBenefits, "A person's pension eligibility: retirement month, minimum months, months so far and remaining", s.apiPersonPension)
	s.api("GET /api/v1/me/pension", auth.ReadBenefits, "The resident's own pension eligibility", s.apiMyPension)
	s.api("GET /api/v1/persons/{id_number}/unemployment", auth.ReadBenefits, "A person's unemployment benefit entitlement, open claim, registration and unmet conditions", s.apiPersonUnemployment)
	s.api("GET /api/v1/me/unemployment", auth.ReadBenefits, "The resident's own unemployment benefit entitlement", s.apiMyUnemployment)
	s.api("POST /api/v1/persons/{id_number}/unemployment/registrations", auth.RegisterUnemployment, "Register a person as unemployed at the window (Idempotency-Key required)", s.apiRegisterUnemployment)
	s.api("POST /api/v1/me/unemployment/registrations", auth.RegisterUnemployment, "Register oneself as unemployed online (Idempotency-Key required)", s.apiMyRegisterUnemployment)
	s.api("POST /api/v1/unemployment/claims", auth.PrepareClaim, "Prepare an unemployment benefit claim, every condition checked (Idempotency-Key required)", s.apiPrepareClaim)
	s.api("GET /api/v1/unemployment/claims", auth.ReadBenefits, "Unemployment benefit claims of a region, newest first", s.apiListClaims)
	s.api("GET /api/v1/unemployment/claims/{id}", auth.ReadBenefits, "An unemployment benefit claim", s.apiGetClaim)
	s.api("POST /api/v1/unemployment/claims/{id}/approve", auth.ReviewClaim, "Approve a prepared claim (a reviewer independent of the clerk; Idempotency-Key required)", s.apiApproveClaim)
	s.api("POST /api/v1/unemployment/claims/{id}/reject", auth.ReviewClaim, "Reject a prepared claim with a reason (Idempotency-Key required)", s.apiRejectClaim)
	s.api("POST /api/v1/unemployment/claims/{id}/end", auth.PrepareClaim, "End a claim from a month; the months left carry over (Idempotency-Key required)", s.apiEndClaim)
	s.api("GET /api/v1/unemployment/claims/{id}/payments", auth.ReadBenefits, "A claim's months: paid to the card, or held with the reason", s.apiClaimPayments)
	s.api("GET /api/v1/me/unemployment/claims", auth.ReadBenefits, "The resident's own claims with their months", s.apiMyClaims)
	s.api("POST /api/v1/benefits/runs", auth.RunBenefits, "Pay a month's unemployment benefit in the caller's region, never a month twice (Idempotency-Key required)", s.apiRunBenefits)
	s.api("GET /api/v1/benefits/runs", auth.RunBenefits, "The region's benefit runs, newest month first", s.apiListBenefitRuns)
	s.api("POST /api/v1/transfers", auth.ApplyTransfer, "Apply for a transfer of a person's insurance into the caller's region (转移接续; Idempotency-Key required)", s.apiApplyTransfer)
	s.api("GET /api/v1/transfers", auth.ReadTransfer, "Transfers into (?direction=in) or out of (out) the caller's regions; a resident's own", s.apiListTransfers)
	s.api("GET /api/v1/transfers/{no}", auth.ReadTransfer, "A transfer: both regions' steps with dates, the amounts and months that move", s.apiGetTransfer)
	s.api("POST /api/v1/transfers/{no}/accept", auth.AcceptTransfer, "The receiving region's clerk accepts the application and asks the sending region (Idempotency-Key required)", s.apiAcceptTransfer)
	s.api("POST /api/v1/transfers/{no}/approve", auth.ReviewTransfer, "The sending region's reviewer approves: the accounts move, the insurance there closes (Idempotency-Key required)", s.apiApproveTransfer)
	s.api("POST /api/v1/transfers/{no}/refuse", auth.ReviewTransfer, "The sending region's reviewer refuses, with the reason the person reads (Idempotency-Key required)", s.apiRefuseTransfer)
	s.api("POST /api/v1/me/certificates", auth.IssueCertificate, "Issue the resident's own certificate of insurance (参保证明) over a period (Idempotency-Key required)", s.apiMyCertificate)
	s.api("POST /api/v1/persons/{id_number}/certificates", auth.IssueCertificate, "Issue a person's certificate of insurance at the window (Idempotency-Key required)", s.apiPersonCertificate)
	s.api("POST /api/v1/employers/{uscc}/certificates", auth.IssueCertificate, "Issue an employer's certificate for its staff (单位参保证明) (Idempotency-Key required)", s.apiEmployerCertificate)
	s.api("GET /api/v1/certificates/{serial}/pdf", auth.IssueCertificate, "The PDF of a certificate one issued (a clerk: any of the region's)", s.apiCertificatePDF)
	s.api("GET /api/v1/me/rights-records/{year}", auth.ReadOwnInsurance, "The resident's personal rights record (个人权益记录) of a year, as a PDF", s.apiMyRightsRecord)
	s.public("GET /api/v1/certificates/{serial}", s.apiCheckCertificate)
	s.public("POST /api/v1/certificates/verify", s.apiVerifyCertificate)
	s.mux.HandleFunc("/api/", s.apiNotFound)

	// Portal.
	s.mux.HandleFunc("GET /static/", s.serveStatic)
	s.mux.HandleFunc("GET /favicon.ico", s.serveFavicon)
	s.page("GET /login", "", s.loginForm)
	s.page("POST /login", "", s.loginSubmit)
	s.page("GET /activate", "", s.activateForm)
	s.page("POST /activate", "", s.activateSubmit)
	if s.Demo {
		s.page("GET /demo/messages", "", s.demoMessages)
	}
	s.page("GET /lang/{lang}", "", s.switchLang)
	s.page("POST /logout", auth.ViewPortal, s.logout)
	s.page("GET /{$}", auth.ViewPortal, s.home)
	s.page("GET /account", auth.ManageSelf, s.accountPage)
	s.page("POST /account/password", auth.ManageSelf, s.accountPassword)
	s.page("POST /account/totp", auth.ManageSelf, s.accountTOTPBegin)
	s.page("POST /account/totp/confirm", auth.ManageSelf, s.accountTOTPConfirm)
	s.page("GET /admin/users", auth.ListUsers, s.usersPage)
	s.page("POST /admin/users", auth.CreateUser, s.usersCreate)
	s.page("POST /admin/users/{username}/{action}", auth.ListUsers, s.usersAction)
	s.page("POST /account/tokens", auth.IssueToken, s.accountToken)
	s.page("GET /audit", auth.ReadAudit, s.auditPage)
	s.page("GET /guide", "", s.guidePage)
	s.page("GET /progress", "", s.progress)
	s.page("GET /verify", "", s.verifyPage)
	s.page("GET /verify/{serial}", "", s.verifyPage)
	s.page("GET /transfers", auth.ReadTransfer, s.transfersPage)
	s.page("POST /transfers", auth.ApplyTransfer, s.transfersApply)
	s.page("GET /transfers/{no}", auth.ReadTransfer, s.transferPage)
	s.page("POST /transfers/{no}/{action}", auth.ReadTransfer, s.transferAction)
	s.page("GET /certificates", auth.IssueCertificate, s.certificatesPage)
	s.page("POST /certificates", auth.IssueCertificate, s.certificatesIssue)
	s.page("GET /certificates/rights-records/{year}", auth.ReadOwnInsurance, s.rightsRecordPDF)
	s.page("GET /window", auth.RegisterPerson, s.windowPage)
	s.page("POST /window/person", auth.RegisterPerson, s.windowPerson)
	s.page("POST /window/employer", auth.RegisterEmployer, s.windowEmployer)
	s.page("POST /window/reset-login", auth.CreateLogin, s.windowResetLogin)
	s.page("GET /enrolments", auth.ReadEnrolment, s.enrolmentsPage)
	s.page("POST /enrolments", auth.PrepareEnrolment, s.enrolmentsCreate)
	s.page("GET /enrolments/{id}", auth.ReadEnrolment, s.enrolmentPage)
	s.page("POST /enrolments/{id}/{action}", auth.ReadEnrolment, s.enrolmentAction)
	s.page("GET /enrolments/{id}/materials/{material_id}", auth.ReadEnrolment, s.enrolmentMaterial)
	s.page("GET /staff", auth.ManageStaff, s.staffPage)
	s.page("POST /staff/{action}", auth.ManageStaff, s.staffAction)
	s.page("GET /card", auth.OwnECard, s.myCardPage)
	s.page("POST /card/{action}", auth.OwnECard, s.myCardAction)
	s.page("GET /cards", auth.ReadCard, s.cardsPage)
	s.page("POST /cards/{action}", auth.ReadCard, s.cardsAction)
	s.page("GET /cards/batches/{id}/file", auth.ProduceCards, s.batchFile)
	s.page("GET /contributions", auth.ReadOwnInsurance, s.myContributionsPage)
	s.page("GET /accounts", auth.ReadAccounts, s.accountsPage)
	s.page("GET /bills", auth.ReadBills, s.billsPage)
	s.page("GET /funds", auth.ReadFunds, s.fundsPage)
	s.page("POST /funds/run", auth.RunMonth, s.fundsRun)
	s.page("POST /bills/pay", auth.RecordPayment, s.billsPay)
	s.page("GET /bank", auth.ActivateCardBank, s.bankPage)
	s.page("POST /bank/{action}", auth.ActivateCardBank, s.bankAction)
	s.page("GET /counter", auth.VerifyECard, s.counterPage)
	s.page("POST /counter/{action}", auth.VerifyECard, s.counterAction)
	s.page("POST /counter/settle", auth.Settle, s.counterSettle)
	s.page("GET /settlements", auth.ReadSettlements, s.settlementsPage)
	s.page("GET /settlements/{id}", auth.ViewPortal, s.receiptPage)
	s.page("GET /settlements/{id}/refund", auth.Settle, s.refundConfirm)
	s.page("POST /settlements/{id}/refund", auth.Settle, s.refundSubmit)
	s.page("GET /medical", auth.OwnMedical, s.myMedicalPage)
	s.page("GET /reconciliation", auth.Reconcile, s.reconciliationPage)
	s.page("GET /institutions", auth.ReadInstitution, s.institutionsPage)
	s.page("POST /institutions/{action}", auth.ReadInstitution, s.institutionsAction)
	s.page("GET /clearings", auth.ReadSettlements, s.clearingsPage)
	s.page("POST /clearings/{action}", auth.ReadSettlements, s.clearingsAction)
	s.page("GET /keys", auth.ReadKeys, s.keysPage)
	s.page("GET /outlets", auth.ReadOutlets, s.outletsPage)
	s.page("POST /outlets", auth.ManageOutlets, s.outletsAdd)
	s.page("POST /keys/{action}", auth.ReadKeys, s.keysAction)
	s.page("GET /policies", auth.ReadPolicy, s.policiesPage)
	s.page("POST /policies/{action}", auth.ReadPolicy, s.policiesAction)
	s.page("GET /pension", auth.ReadBenefits, s.pensionPage)
	s.page("POST /pension/group", auth.RegisterPerson, s.pensionGroup)
	s.page("GET /unemployment", auth.ReadBenefits, s.unemploymentPage)
	s.page("POST /unemployment/{action}", auth.ReadBenefits, s.unemploymentAction)
	s.page("GET /claims", auth.ReviewClaim, s.claimsPage)
	s.page("POST /claims/{action}", auth.ReviewClaim, s.claimsAction)
	s.page("GET /benefit-runs", auth.RunBenefits, s.benefitRunsPage)
	s.page("POST /benefit-runs", auth.RunBenefits, s.benefitRunsRun)
	s.mux.HandleFunc("/", s.pageNotFound)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.DB.Ping(ctx); err != nil {
		s.Log.Warn("not ready", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Code: "unavailable", Message: "database unreachable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

type metrics struct {
	registry  *prometheus.Registry
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	auditHead *auditHeadMetrics
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shebao_http_requests_total", Help: "HTTP requests by route pattern and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "shebao_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		auditHead: newAuditHeadMetrics(),
	}
	m.registry.MustRegister(m.requests, m.duration, m.auditHead,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
