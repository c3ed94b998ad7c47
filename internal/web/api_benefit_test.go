package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/registry"
)

// benefitFixture is a batch of persons who lost their job involuntarily last month after 15
// months of contributions paid, made once per test server: the contribution months are run once.
type benefitFixture struct {
	claimants []string
	next      int
}

// claimant is the next person of the fixture who meets every condition but the registration.
func (e *testEnv) claimant() string {
	e.t.Helper()
	if e.benefits == nil {
		e.benefits = &benefitFixture{claimants: e.makeClaimants(8)}
	}
	f := e.benefits
	if f.next == len(f.claimants) {
		e.t.Fatal("the benefit fixture has no claimant left")
	}
	f.next++
	return f.claimants[f.next-1]
}

// makeClaimants puts n new persons on a new employer's staff from 16 months ago (declared as of
// then, as an employer declaring on time would), bills and pays every month up to two months ago
// on its due date, and has the employer dismiss them at the end of last month.
func (e *testEnv) makeClaimants(n int) []string {
	e.t.Helper()
	ctx := context.Background()
	clerk := e.principal(auth.Clerk)
	uscc := e.newUSCC()
	emp, err := e.reg.RegisterEmployer(ctx, clerk, registry.NewEmployer{USCC: uscc, Name: "裁员公司", LegalRep: "孙", RiskClass: 1})
	if err != nil {
		e.t.Fatal(err)
	}
	hr := &auth.Principal{User: auth.User{Username: "hr-layoffs", Role: auth.Employer, Roles: []auth.Role{auth.Employer}, Regions: []string{testRegion}, EmployerID: emp.ID}}
	m := period.MonthOf(e.db.Now())
	from := m.Add(-16)
	past := e.reg.AsOf(func() time.Time { return e.db.Now().AddDate(0, -16, 0) })
	ids := make([]string, 0, n)
	for i := 0; i < n; i++ {
		id := e.newID()
		if err := past.ChangeStaff(ctx, hr, uscc, registry.StaffChange{Op: registry.OpAdd, IDNumber: id, Name: "被裁职工", Base: "8000", Month: from.String()}); err != nil {
			e.t.Fatal(err)
		}
		ids = append(ids, id)
	}
	bank := e.principal(auth.Bank)
	today := period.Today(e.db.Now())
	for month := from; month <= m.Add(-2); month = month.Add(1) {
		if _, err := e.contrib.Run(ctx, audit.System, testRegion, month, nil); err != nil {
			e.t.Fatal(err)
		}
		type bill struct {
			id         int64
			payer, due string
			total      int64
		}
		var bills []bill
		if err := db.EachRow(ctx, e.db.R(), func(scan func(...any) error) error {
			var b bill
			err := scan(&b.id, &b.payer, &b.due, &b.total)
			bills = append(bills, b)
			return err
		}, "SELECT id, payer, due_date, total FROM bills WHERE month = $1 AND paid < total", int(month)); err != nil {
			e.t.Fatal(err)
		}
		for _, b := range bills {
			due, err := db.ParseTime(b.due)
			if err != nil {
				e.t.Fatal(err)
			}
			if due.After(today) {
				continue
			}
			if _, err := e.contrib.RecordPayment(ctx, bank, contrib.NewPayment{IdemKey: fmt.Sprintf("bill-%d", b.id), Payer: b.payer,
				Amount: money.Fen(b.total).String(), PaidOn: due.Format("2006-01-02")}); err != nil {
				e.t.Fatal(err)
			}
		}
	}
	end := m.First().AddDate(0, 0, -1).Format("2006-01-02")
	for _, id := range ids {
		if err := e.reg.ChangeStaff(ctx, hr, uscc, registry.StaffChange{Op: registry.OpRemove, IDNumber: id, EndDate: end, Reason: "dismissed"}); err != nil {
			e.t.Fatal(err)
		}
	}
	return ids
}

// preparedClaim registers the next claimant at the window and has u-clerk prepare their claim.
func (e *testEnv) preparedClaim() int64 {
	e.t.Helper()
	ctx := context.Background()
	id := e.claimant()
	clerk := e.principal(auth.Clerk)
	if _, err := e.srv.Benefit.Register(ctx, clerk, id, "", true); err != nil {
		e.t.Fatal(err)
	}
	c, err := e.srv.Benefit.Prepare(ctx, clerk, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return c.ID
}

// loginFor makes a login of role for a person (0: none), with other roles besides, and returns
// its API token.
func (e *testEnv) loginFor(name string, role auth.Role, also []auth.Role, personID int64) string {
	e.t.Helper()
	ctx := context.Background()
	if _, _, err := e.auth.CreateUser(ctx, nil, audit.System, auth.NewUser{Username: name, Role: role, Also: also, Regions: []string{testRegion},
		Password: testPassword, PersonID: personID}); err != nil {
		e.t.Fatal(err)
	}
	tok, err := e.auth.IssueToken(ctx, nil, audit.System, name, "test")
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// residentFor gives a person a resident login and makes it the one do() uses for auth.Resident;
// the returned function puts u-resident back.
func (e *testEnv) residentFor(idNumber string) func() {
	e.t.Helper()
	p, err := e.reg.Person(context.Background(), e.principal(auth.Clerk), idNumber)
	if err != nil {
		e.t.Fatal(err)
	}
	old := e.tokens[auth.Resident]
	e.tokens[auth.Resident] = e.loginFor("r-"+strings.ToLower(idNumber), auth.Resident, nil, p.ID)
	return func() { e.tokens[auth.Resident] = old }
}

// callKeyed sends a request with a token and an Idempotency-Key ("" = none) and returns the answer
// with its headers.
func (e *testEnv) callKeyed(token, method, path, body, key string) (int, string, http.Header) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.http.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func decode[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return v
}

// wantField fails unless the answer is a 4xx refusal naming field.
func wantField(t *testing.T, what string, status int, body, field string) {
	t.Helper()
	if status < 400 || status > 499 {
		t.Errorf("%s: status %d (%s); want a 4xx naming %s", what, status, body, field)
		return
	}
	if f := errorOf(t, body).Fields; f[field] == "" {
		t.Errorf("%s: %s; want the field %s named", what, body, field)
	}
}

// TestBenefitAPI walks a claim through the API on both engines: the person dismissed after 15
// months paid registers online, sees no condition unmet, a clerk prepares the claim, the same
// person cannot approve it as a reviewer, an independent reviewer does, the administrator runs the
// month, and the resident sees the month paid to their card. Retries with the same key answer
// the first answer; bad input is refused naming the field.
func TestBenefitAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newTestEnv(t, d)
		ctx := context.Background()
		id := e.claimant()
		person, err := e.reg.Person(ctx, e.principal(auth.Clerk), id)
		if err != nil {
			t.Fatal(err)
		}
		resident := e.loginFor("r-claimant", auth.Resident, nil, person.ID)
		// A clerk who is also a reviewer: may prepare, and may review others' claims, not their own.
		window := e.loginFor("u-window", auth.Clerk, []auth.Role{auth.Reviewer}, 0)
		reviewer, admin := e.tokens[auth.Reviewer], e.tokens[auth.Admin]
		month := period.MonthOf(e.db.Now()).String()

		// The pension outlook, the resident's own.
		status, body, _ := e.callKeyed(resident, "GET", "/api/v1/me/pension", "", "")
		pension := decode[map[string]any](t, body)
		if status != 200 || pension["group"] == "" || len(fmt.Sprint(pension["retirement_month"])) != 6 || pension["contribution_months"] != float64(15) ||
			pension["months_remaining"] != pension["minimum_contribution_months"].(float64)-15 {
			t.Fatalf("pension: %d %s", status, body)
		}
		if status, body, _ := e.callKeyed(resident, "GET", "/api/v1/persons/"+e.personID+"/pension", "", ""); status != 404 {
			t.Errorf("a resident read another person's pension: %d %s", status, body)
		}

		// Registration online: keyed; a retry answers the first answer.
		if status, body, _ := e.callKeyed(resident, "POST", "/api/v1/me/unemployment/registrations", `{"seeking_work":true}`, ""); true {
			wantField(t, "no Idempotency-Key", status, body, "idempotency_key")
		}
		if status, body, _ := e.callKeyed(resident, "POST", "/api/v1/me/unemployment/registrations", `{}`, "reg-0"); true {
			wantField(t, "seeking_work missing", status, body, "seeking_work")
		}
		status, first, _ := e.callKeyed(resident, "POST", "/api/v1/me/unemployment/registrations", `{"seeking_work":true}`, "reg-1")
		if status != 201 || !strings.Contains(first, `"channel":"online"`) {
			t.Fatalf("register: %d %s", status, first)
		}
		status, again, h := e.callKeyed(resident, "POST", "/api/v1/me/unemployment/registrations", `{"seeking_work":true}`, "reg-1")
		if status != 201 || again != first || h.Get("Idempotency-Replayed") != "true" {
			t.Errorf("retry: %d %s (replayed %q); want the first answer %s", status, again, h.Get("Idempotency-Replayed"), first)
		}
		if status, body, _ := e.callKeyed(resident, "POST", "/api/v1/me/unemployment/registrations", `{"seeking_work":false}`, "reg-1"); status != 409 {
			t.Errorf("the key sent with another request: %d %s", status, body)
		}

		// The preview: every condition met, no claim yet.
		status, body, _ = e.callKeyed(resident, "GET", "/api/v1/me/unemployment", "", "")
		pv := decode[unemploymentJSON](t, body)
		if status != 200 || len(pv.Problems) != 0 || pv.ContributionMonths != 15 || pv.EntitledMonths != 12 || pv.Claim != nil || pv.Registration == nil ||
			pv.MonthlyAmount == "" {
			t.Fatalf("preview: %d %s", status, body)
		}

		// Bad input, each refused naming its field.
		status, body, _ = e.callKeyed(window, "POST", "/api/v1/unemployment/claims", `{}`, "c-0")
		wantField(t, "no id_number", status, body, "id_number")
		status, body, _ = e.callKeyed(admin, "POST", "/api/v1/benefits/runs", `{"month":"2026-13"}`, "run-0")
		wantField(t, "month 2026-13", status, body, "month")

		// The clerk prepares; the same person as a reviewer may not approve.
		status, body, _ = e.callKeyed(window, "POST", "/api/v1/unemployment/claims", `{"id_number":"`+id+`"}`, "c-1")
		claim := decode[claimJSON](t, body)
		if status != 201 || claim.Status != "prepared" || claim.IDNumber != id || claim.TotalMonths != 12 || claim.StartMonth != month {
			t.Fatalf("prepare: %d %s", status, body)
		}
		path := fmt.Sprintf("/api/v1/unemployment/claims/%d", claim.ID)
		if status, body, _ := e.callKeyed(window, "POST", path+"/approve", "", "a-1"); status != 403 {
			t.Errorf("the preparer approved: %d %s", status, body)
		}
		status, body, _ = e.callKeyed(reviewer, "POST", path+"/reject", `{"reason":""}`, "x-1")
		wantField(t, "empty reason", status, body, "reason")
		status, body, _ = e.callKeyed(reviewer, "POST", path+"/approve", "", "a-2")
		if status != 200 || decode[claimJSON](t, body).Status != "approved" {
			t.Fatalf("approve: %d %s", status, body)
		}
		status, body, _ = e.callKeyed(reviewer, "GET", "/api/v1/unemployment/claims?status=approved&limit=10", "", "")
		if list := decode[struct{ Claims []claimJSON }](t, body); status != 200 || len(list.Claims) != 1 || list.Claims[0].ID != claim.ID {
			t.Errorf("the approved claims: %d %s", status, body)
		}
		status, body, _ = e.callKeyed(reviewer, "GET", "/api/v1/unemployment/claims?status=lost", "", "")
		wantField(t, "status lost", status, body, "status")

		// The card with its bank function; the administrator runs the month, then again.
		e.bankCard(person.ID, id)
		status, run1, _ := e.callKeyed(admin, "POST", "/api/v1/benefits/runs", `{"month":"`+month+`"}`, "run-1")
		if rep := decode[benefitRunJSON](t, run1); status != 200 || rep.Paid != 1 || rep.Held != 0 || rep.PaidAmount == "0.00" {
			t.Fatalf("run: %d %s", status, run1)
		}
		if status, body, _ := e.callKeyed(admin, "POST", "/api/v1/benefits/runs", `{"month":"`+month+`"}`, "run-1"); status != 200 || body != run1 {
			t.Errorf("the run retried with its key: %d %s; want %s", status, body, run1)
		}
		status, body, _ = e.callKeyed(admin, "POST", "/api/v1/benefits/runs", `{"month":"`+month+`"}`, "run-2")
		if rep := decode[benefitRunJSON](t, body); status != 200 || rep.Paid != 0 {
			t.Errorf("the month run again paid again: %d %s", status, body)
		}
		status, body, _ = e.callKeyed(admin, "GET", "/api/v1/benefits/runs?limit=5", "", "")
		if runs := decode[struct{ Runs []benefitRunInfoJSON }](t, body); status != 200 || len(runs.Runs) != 1 || runs.Runs[0].Paid != 1 ||
			runs.Runs[0].Status != "done" || runs.Runs[0].FinishedAt == nil {
			t.Errorf("runs: %d %s", status, body)
		}

		// The resident sees the month paid to their card, their ID number masked.
		status, body, _ = e.callKeyed(resident, "GET", "/api/v1/me/unemployment/claims", "", "")
		mine := decode[struct{ Claims []myClaimJSON }](t, body)
		if status != 200 || len(mine.Claims) != 1 || len(mine.Claims[0].Payments) != 1 {
			t.Fatalf("my claims: %d %s", status, body)
		}
		pay := mine.Claims[0].Payments[0]
		if pay.Month != month || pay.Status != "paid" || pay.CardNumber != "C"+id[10:] || pay.PaidAt == nil || !strings.HasSuffix(*pay.PaidAt, "+08:00") ||
			mine.Claims[0].DrawnMonths != 1 || mine.Claims[0].IDNumber != ident.IDNumber(id).Masked() {
			t.Errorf("the paid month: %s", body)
		}
		noIDNumber(t, "the resident's claims", body, id)
		status, body, _ = e.callKeyed(e.tokens[auth.Auditor], "GET", path+"/payments", "", "")
		if ps := decode[struct{ Payments []benefitPaymentJSON }](t, body); status != 200 || len(ps.Payments) != 1 {
			t.Errorf("the claim's payments: %d %s", status, body)
		}

		// The clerk ends it: from_month and reason are checked.
		status, body, _ = e.callKeyed(window, "POST", path+"/end", `{"from_month":"2026-13","reason":"pension"}`, "e-1")
		wantField(t, "from_month 2026-13", status, body, "from_month")
		status, body, _ = e.callKeyed(window, "POST", path+"/end", `{"from_month":"`+period.MonthOf(e.db.Now()).Add(1).String()+`","reason":"started a pension"}`, "e-2")
		if c := decode[claimJSON](t, body); status != 200 || c.Status != "ended" || c.EndReason != "started a pension" {
			t.Errorf("end: %d %s", status, body)
		}
		status, body, _ = e.callKeyed(resident, "GET", "/api/v1/me/unemployment", "", "")
		if pv := decode[unemploymentJSON](t, body); status != 200 || pv.CarriedOverMonths != 11 || pv.Claim != nil {
			t.Errorf("after the end: %d %s", status, body)
		}
	})
}

// bankCard gives the person an active social security card with its bank function, as the
// card's lifecycle would leave it.
func (e *testEnv) bankCard(personID int64, idNumber string) {
	e.t.Helper()
	if err := e.db.Write(context.Background(), func(tx *db.Tx) error {
		now := db.FormatTime(tx.Now)
		_, err := tx.ExecContext(context.Background(), `INSERT INTO cards(region, person_id, kind, application_no, state, channel, applied_by, applied_at, state_at,
			card_number, card_id, valid_until, bank_account, bank_activated_at) VALUES($1, $2, 'social_security', $3, 'active', 'window', 'test', $4, $4, $5, $6, $7, $8, $4)`,
			testRegion, personID, "APP"+idNumber, now, "C"+idNumber[10:], testRegion+"D15600000599999"+idNumber[8:17], db.FormatTime(tx.Now.AddDate(10, 0, 0)),
			"62220000"+idNumber[6:17])
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
}
