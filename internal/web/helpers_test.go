package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/benefit"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/keys"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
	"github.com/shebao/shebao/internal/settle"
)

const testRegion = "330100"
const testPassword = "correct horse battery"

// testEnv is a server over a fresh database with one user and API token per role, a policy in
// force, an employer (E1, whose HR operator is u-employer) and a person on its staff (P1, who is
// u-resident).
type testEnv struct {
	t       *testing.T
	db      *db.DB
	auth    *auth.Service
	pol     *policy.Store
	reg     *registry.Service
	keys    *keys.Service
	cards   *card.Service
	contrib *contrib.Service
	settle  *settle.Service
	srv     *Server
	http    *httptest.Server
	tokens  map[auth.Role]string
	logs    *strings.Builder

	employerUSCC string
	personID     string
	seq          atomic.Int64
	answers      strings.Builder            // every response body, for tests that scan what the API revealed
	scratch      string                     // a value a route case's path function hands to its body function
	portal       map[auth.Role]*http.Client // logged-in portal clients of page()
	idemKey      string                     // the Idempotency-Key do() sends, when set
	benefits     *benefitFixture            // the benefit routes' claimants, made on first use
	restore      func()                     // undoes what a route case's path function changed (residentFor)
}

func newTestEnv(t *testing.T, d *db.DB) *testEnv {
	t.Helper()
	return newTestEnvKeys(t, d, nil)
}

// newTestEnvKeys is newTestEnv with a production keystore of the custodians' components (u-custodian
// holds the first, u-custodian-2 the second), unsealed by them; nil components: the development
// keystore.
func newTestEnvKeys(t *testing.T, d *db.DB, components [][]byte) *testEnv {
	t.Helper()
	ctx := context.Background()
	logs := &strings.Builder{}
	a := auth.New(d, auth.Options{})
	pol := policy.NewStore(d)
	reg := registry.New(d, a, pol)
	ks := keys.New(d, pol, slog.New(slog.NewTextHandler(logs, nil)))
	cards := card.New(d, pol, ks)
	contribs := contrib.New(d, pol)
	settlements := settle.New(d, pol, cards, ks, reg, settle.Options{})
	t.Cleanup(settlements.Close)
	srv, err := New(Deps{DB: d, Auth: a, Policies: pol, Registry: reg, Keys: ks, Cards: cards, Contrib: contribs, Settle: settlements, Benefit: benefit.New(d, pol, reg),
		Log: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, db: d, auth: a, pol: pol, reg: reg, keys: ks, cards: cards, contrib: contribs, settle: settlements, srv: srv, tokens: map[auth.Role]string{}, logs: logs}
	p, _, err := policy.Default(testRegion, 202001)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pol.Install(ctx, audit.System, p); err != nil {
		t.Fatal(err)
	}
	for _, r := range auth.Roles {
		if r != auth.Resident && r != auth.Employer && r != auth.Institution {
			e.addUser(r, 0, 0)
		}
	}
	// A designated level-3 hospital, registered by the clerk and approved by the reviewer; the
	// institution's test user operates it.
	if _, err := settlements.RegisterInstitution(ctx, e.principal(auth.Clerk), settle.NewInstitution{Code: testInstitution, Name: "测试市第一人民医院",
		Kind: settle.Hospital, Level: 3, BankAccount: "6222000011112222"}); err != nil {
		t.Fatal(err)
	}
	if _, err := settlements.ApproveInstitution(ctx, e.principal(auth.Reviewer), testInstitution); err != nil {
		t.Fatal(err)
	}
	e.addUserFor(auth.Institution, auth.NewUser{InstitutionCode: testInstitution})
	emp, err := reg.RegisterEmployer(ctx, e.principal(auth.Clerk), registry.NewEmployer{USCC: e.newUSCC(), Name: "测试公司", LegalRep: "赵", RiskClass: 2})
	if err != nil {
		t.Fatal(err)
	}
	e.employerUSCC = string(emp.USCC)
	e.addUser(auth.Employer, 0, emp.ID)
	e.personID = e.addStaff()
	person, err := reg.Person(ctx, e.principal(auth.Clerk), e.personID)
	if err != nil {
		t.Fatal(err)
	}
	e.addUser(auth.Resident, person.ID, 0)
	// Development keys, unsealed, with the region's issuer keys made through dual control.
	if _, _, err := a.CreateUser(ctx, nil, audit.System, auth.NewUser{Username: "u-custodian-2", Role: auth.Custodian,
		Regions: []string{testRegion}, Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	custodians := []string{userName(auth.Custodian), "u-custodian-2"}
	if components == nil {
		if err := ks.UnsealDevelopment(ctx, custodians); err != nil {
			t.Fatal(err)
		}
	} else {
		if err := ks.Init(ctx, audit.System, keys.Production, custodians, components); err != nil {
			t.Fatal(err)
		}
		for i, name := range custodians {
			u, err := a.UserByName(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ks.EnterComponent(ctx, &auth.Principal{User: u}, components[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	req, err := ks.Request(ctx, e.principal(auth.Admin), keys.NewRequest{Kind: keys.Generate, Region: testRegion})
	if err != nil {
		t.Fatal(err)
	}
	second, _ := a.UserByName(ctx, "u-custodian-2")
	for _, p := range []*auth.Principal{e.principal(auth.Custodian), {User: second}} {
		if _, err := ks.Approve(ctx, p, req.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cards.AddOutlet(ctx, e.principal(auth.Admin), card.Outlet{Code: "XH-01", Region: testRegion, Name: "西湖区社保服务网点"}); err != nil {
		t.Fatal(err)
	}
	// Every API exchange of the test is held to the served document (contract_test.go).
	ct := &contract{h: srv}
	t.Cleanup(func() { ct.report(t) })
	e.http = httptest.NewServer(ct)
	t.Cleanup(e.http.Close)
	return e
}

// testInstitution is the test region's designated hospital, operated by u-institution.
const testInstitution = "H33010000001"

func userName(r auth.Role) string { return "u-" + strings.ReplaceAll(string(r), "_", "-") }

func (e *testEnv) addUser(r auth.Role, personID, employerID int64) {
	e.addUserFor(r, auth.NewUser{PersonID: personID, EmployerID: employerID})
}

// addUserFor makes the test user of role r, with what links it (person, employer, institution)
// taken from link, and gives it a token.
func (e *testEnv) addUserFor(r auth.Role, link auth.NewUser) {
	e.t.Helper()
	ctx := context.Background()
	link.Username, link.Role, link.Regions, link.Password = userName(r), r, []string{testRegion}, testPassword
	if _, _, err := e.auth.CreateUser(ctx, nil, audit.System, link); err != nil {
		e.t.Fatal(err)
	}
	tok, err := e.auth.IssueToken(ctx, nil, audit.System, userName(r), "test")
	if err != nil {
		e.t.Fatal(err)
	}
	e.tokens[r] = tok
}

// principal is the test user of a role as a capability sees it.
func (e *testEnv) principal(r auth.Role) *auth.Principal {
	e.t.Helper()
	u, err := e.auth.UserByName(context.Background(), userName(r))
	if err != nil {
		e.t.Fatal(err)
	}
	return &auth.Principal{User: u}
}

func (e *testEnv) user(role auth.Role) auth.User { return e.principal(role).User }

// newID returns a fresh valid ID number.
func (e *testEnv) newID() string {
	n := e.seq.Add(1)
	id, err := ident.MakeIDNumber(fmt.Sprintf("3301061985%02d%02d%03d", 1+n%12, 1+n%28, n%1000))
	if err != nil {
		e.t.Fatal(err)
	}
	return string(id)
}

func (e *testEnv) newUSCC() string {
	u, err := ident.MakeUSCC(fmt.Sprintf("91330100%09d", e.seq.Add(1)))
	if err != nil {
		e.t.Fatal(err)
	}
	return string(u)
}

// addStaff puts a new person on E1's staff and returns their ID number.
func (e *testEnv) addStaff() string {
	e.t.Helper()
	id := e.newID()
	if err := e.reg.ChangeStaff(context.Background(), e.principal(auth.Employer), e.employerUSCC, registry.StaffChange{
		Op: registry.OpAdd, IDNumber: id, Name: "测试职工", Base: "8000", Month: period.MonthOf(e.db.Now()).String()}); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// newPerson registers a person at the window and returns their ID number.
func (e *testEnv) newPerson() string {
	e.t.Helper()
	id := e.newID()
	if _, err := e.reg.RegisterPerson(context.Background(), e.principal(auth.Clerk), registry.NewPerson{IDNumber: id, Name: "窗口人员", Hukou: "local",
		Phone: fmt.Sprintf("139%08d", e.seq.Add(1))}); err != nil {
		e.t.Fatal(err)
	}
	return id
}

var testPDF = []byte("%PDF-1.4\n%%EOF\n")

// newEnrolment prepares a flexible worker's application by u-clerk and takes it as far as status.
func (e *testEnv) newEnrolment(status registry.Status) registry.Enrolment {
	e.t.Helper()
	ctx := context.Background()
	clerk := e.principal(auth.Clerk)
	en, err := e.reg.CreateEnrolment(ctx, clerk, registry.NewEnrolment{IDNumber: e.newPerson(), Category: "flexible_worker",
		StartMonth: period.MonthOf(e.db.Now()).String(), Base: "6000"})
	if err != nil {
		e.t.Fatal(err)
	}
	if status == registry.Draft {
		return en
	}
	for _, c := range en.Checklist {
		m, err := e.reg.AddMaterial(ctx, clerk, en.ID, c.Material.Code, "x.pdf", testPDF)
		if err != nil {
			e.t.Fatal(err)
		}
		if _, err := e.reg.CheckMaterial(ctx, clerk, en.ID, m.ID, registry.CheckAccepted, ""); err != nil {
			e.t.Fatal(err)
		}
	}
	if status == "accepted" {
		return en
	}
	en, err = e.reg.Submit(ctx, clerk, en.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return en
}

// do sends a request as role ("" = anonymous) and returns the status and body.
func (e *testEnv) do(role auth.Role, method, path, body string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.http.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", contentTypeOf(path, body))
	}
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[role])
	}
	e.setKey(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	e.answers.Write(b)
	return resp.StatusCode, string(b)
}

// contentTypeOf names a test body's type as a client would: JSON, or an upload's file by its
// first bytes (text is a certificate's payload to the verification, a CSV file to the rest; a zip
// is a spreadsheet).
func contentTypeOf(path, body string) string {
	if strings.HasPrefix(body, "{") || strings.HasPrefix(body, "[") {
		return "application/json"
	}
	switch t := http.DetectContentType([]byte(body)); {
	case strings.HasPrefix(t, "text/plain") && strings.HasPrefix(path, "/api/v1/certificates/verify"):
		return "text/plain"
	case strings.HasPrefix(t, "text/plain"):
		return "text/csv"
	case t == "application/zip":
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	default:
		return t
	}
}

// setKey sends e.idemKey when set, and otherwise a new key to a route every request of which
// must carry one (the server's own keys aside): a test that is not about retries need not name one.
func (e *testEnv) setKey(req *http.Request) {
	if e.idemKey != "" {
		req.Header.Set("Idempotency-Key", e.idemKey)
		return
	}
	if _, pattern := e.srv.mux.Handler(req); keyedRoute(pattern) && !ownKeys[pattern] && req.Header.Get("Idempotency-Key") == "" {
		req.Header.Set("Idempotency-Key", fmt.Sprintf("auto-%d", e.seq.Add(1)))
	}
}

// errorOf decodes a JSON error answer, failing the test when the answer is not one.
func errorOf(t *testing.T, body string) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Code == "" || e.Message == "" {
		t.Fatalf("not a JSON error: %q", body)
	}
	return e
}

func auditSystem() audit.Actor { return audit.System }

// secondAdmin is a second administrator, made at the console: independent of u-admin, so each can
// approve what the other asked for.
func (e *testEnv) secondAdmin() *auth.Principal {
	e.t.Helper()
	u, err := e.auth.UserByName(context.Background(), "u-admin-2")
	if err != nil {
		if u, _, err = e.auth.CreateUser(context.Background(), nil, audit.System, auth.NewUser{Username: "u-admin-2", Role: auth.Admin,
			Regions: []string{testRegion}, Password: testPassword, Phone: "13912349999"}); err != nil {
			e.t.Fatal(err)
		}
	}
	return &auth.Principal{User: u}
}

// smsCode is the newest one-time code the outbox holds for phone: what the person reads on their
// phone.
func (e *testEnv) smsCode(phone string) string {
	e.t.Helper()
	var body string
	if err := e.db.R().QueryRowContext(context.Background(), "SELECT body FROM notifications WHERE recipient = $1 ORDER BY id DESC LIMIT 1", phone).Scan(&body); err != nil {
		e.t.Fatalf("no text message to %s: %v", phone, err)
	}
	code := regexp.MustCompile(`[0-9]{8}`).FindString(body)
	if code == "" {
		e.t.Fatalf("no code in %q", body)
	}
	return code
}

// settlement settles a small outpatient bill at the test hospital for a new member of staff paying
// with their medical insurance card, and returns the settlement's id.
func (e *testEnv) settlement() string {
	e.t.Helper()
	st, err := e.settle.Settle(context.Background(), e.principal(auth.Institution), settle.Request{IdemKey: "s-" + e.newID(), Kind: "outpatient",
		Date: period.Today(e.db.Now()).Format("2006-01-02"), Identity: settle.Identity{MedicalCard: e.medicalCard()},
		Items: []settle.ItemIn{{Code: "001", Name: "诊查费", Category: "A", Amount: "10.00"}}})
	if err != nil {
		e.t.Fatal(err)
	}
	return st.ID
}
