package settle_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/keys"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
	"github.com/shebao/shebao/internal/settle"
)

const region = "330100"

var ctx = context.Background()

// fixture is a small city with one approved hospital of each level and a pharmacy, their
// operators, and insured persons with medical insurance cards and funded medical accounts.
type fixture struct {
	t        *testing.T
	d        *db.DB
	svc      *settle.Service
	auth     *auth.Service
	reg      *registry.Service
	cards    *card.Service
	clerk    *auth.Principal
	reviewer *auth.Principal
	ops      map[string]*auth.Principal // institution code → its operator
	n        int
}

func staff(name string, r auth.Role) *auth.Principal {
	return &auth.Principal{User: auth.User{Username: name, Role: r, Roles: []auth.Role{r}, Regions: []string{region}}}
}

func newFixture(t *testing.T, d *db.DB) *fixture {
	t.Helper()
	pol := policy.NewStore(d)
	p, _, _ := policy.Default(region, 202001)
	if _, err := pol.Install(ctx, audit.System, p); err != nil {
		t.Fatal(err)
	}
	a := auth.New(d, auth.Options{})
	reg := registry.New(d, a, pol)
	ks := keys.New(d, pol, slog.New(slog.NewTextHandler(io.Discard, nil)))
	cards := card.New(d, pol, ks)
	f := &fixture{t: t, d: d, auth: a, reg: reg, cards: cards, clerk: staff("clerk", auth.Clerk), reviewer: staff("reviewer", auth.Reviewer),
		ops: map[string]*auth.Principal{}}
	f.svc = settle.New(d, pol, cards, ks, reg, settle.Options{})
	t.Cleanup(f.svc.Close)
	for _, in := range []settle.NewInstitution{
		{Code: "H33010000001", Name: "示范市第一人民医院", Kind: settle.Hospital, Level: 3, BankAccount: "6222000000000001"},
		{Code: "H33010000002", Name: "示范区人民医院", Kind: settle.Hospital, Level: 2, BankAccount: "6222000000000002"},
		{Code: "H33010000003", Name: "示范社区卫生服务中心", Kind: settle.Hospital, Level: 1, BankAccount: "6222000000000003"},
		{Code: "P33010000004", Name: "示范大药房", Kind: settle.Pharmacy, BankAccount: "6222000000000004"},
	} {
		if _, err := f.svc.RegisterInstitution(ctx, f.clerk, in); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.ApproveInstitution(ctx, f.reviewer, in.Code); err != nil {
			t.Fatal(err)
		}
		op := &auth.Principal{User: auth.User{Username: "op-" + in.Code, Role: auth.Institution, Roles: []auth.Role{auth.Institution},
			Regions: []string{region}, InstitutionCode: in.Code}}
		f.ops[in.Code] = op
	}
	return f
}

// person registers an insured employee with a medical insurance card and funded medical account.
func (f *fixture) person(balance money.Fen) (personID int64, idNumber, medCard string) {
	f.t.Helper()
	f.n++
	id, _ := ident.MakeIDNumber(fmt.Sprintf("3301061980%02d%02d%03d", 1+f.n%12, 1+f.n%28, f.n%1000))
	u, _ := ident.MakeUSCC(fmt.Sprintf("91330100%09d", f.n))
	e, err := f.reg.RegisterEmployer(ctx, f.clerk, registry.NewEmployer{USCC: string(u), Name: fmt.Sprintf("单位%d", f.n), LegalRep: "x", RiskClass: 1})
	if err != nil {
		f.t.Fatal(err)
	}
	hr := &auth.Principal{User: auth.User{Username: "hr", Role: auth.Employer, Regions: []string{region}, EmployerID: e.ID}}
	if err := f.reg.ChangeStaff(ctx, hr, string(u), registry.StaffChange{Op: registry.OpAdd, IDNumber: string(id), Name: "参保人",
		Base: "8000", Month: period.MonthOf(f.d.Now()).Add(-2).String()}); err != nil {
		f.t.Fatal(err)
	}
	person, err := f.reg.Person(ctx, f.clerk, string(id))
	if err != nil {
		f.t.Fatal(err)
	}
	medCard = fmt.Sprintf("62148300%08d", f.n)
	bank := staff("bank", auth.Bank)
	if _, err := f.cards.IssueMedical(ctx, bank, string(id), medCard); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.cards.ChangeMedical(ctx, bank, medCard, "activate"); err != nil {
		f.t.Fatal(err)
	}
	if balance > 0 {
		if err := f.d.Write(ctx, func(tx *db.Tx) error {
			_, err := ledger.Post(ctx, tx, ledger.Entry{IdemKey: fmt.Sprintf("fund:%d", person.ID), Region: region, Cause: "test", CauseRef: "funding",
				Postings: []ledger.Posting{{Account: ledger.FundAccount(region, "medical"), Amount: balance},
					{Account: ledger.PersonAccount(region, ledger.PersonMedical, person.ID), Amount: -balance}}})
			return err
		}); err != nil {
			f.t.Fatal(err)
		}
	}
	return person.ID, string(id), medCard
}

func (f *fixture) today() string { return period.Today(f.d.Now()).Format("2006-01-02") }

func items(spec ...string) []settle.ItemIn {
	var out []settle.ItemIn
	for i := 0; i+1 < len(spec); i += 2 {
		out = append(out, settle.ItemIn{Code: fmt.Sprintf("X%d", i), Name: "项目", Category: spec[i], Amount: spec[i+1]})
	}
	return out
}

func yuan(s string) money.Fen {
	v, _ := money.ParseYuan(s)
	return v
}

// TestSettleWithMedicalCard: a settlement answers every figure, moves the ledger, counts the
// year; the same key again answers the first answer, with other content is refused; a refund
// reverses it once.
func TestSettleWithMedicalCard(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		person, _, mc := f.person(yuan("300"))
		op := f.ops["H33010000003"] // level 1
		req := settle.Request{IdemKey: "K1", Kind: policy.Outpatient, Date: f.today(), Identity: settle.Identity{MedicalCard: mc},
			Items: items("A", "100", "B", "200", "C", "50")}
		st, err := f.svc.Settle(ctx, op, req)
		if err != nil {
			t.Fatal(err)
		}
		sp := st.Split
		if sp.Total != yuan("350") || sp.Pool != 0 || sp.Account != yuan("300") || sp.Cash != yuan("50") || st.AccountBalance != 0 || st.Replay {
			t.Fatalf("split = %+v, balance %s", sp, st.AccountBalance)
		}
		bal, _ := ledger.Balance(ctx, d.R(), ledger.PersonAccount(region, ledger.PersonMedical, person))
		payable, _ := ledger.Balance(ctx, d.R(), ledger.InstitutionAccount(region, "H33010000003"))
		if bal != 0 || payable != yuan("300") {
			t.Fatalf("account %s, payable %s", bal, payable)
		}
		again, err := f.svc.Settle(ctx, op, req)
		if err != nil || !again.Replay || again.ID != st.ID || again.Split != st.Split || again.AccountBalance != st.AccountBalance {
			t.Fatalf("retry = %+v, %v", again, err)
		}
		other := req
		other.Items = items("A", "101")
		if _, err := f.svc.Settle(ctx, op, other); errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("same key, other content: %v", err)
		}
		// Another institution's key space is its own.
		if _, err := f.svc.Settle(ctx, f.ops["H33010000002"], req); err != nil {
			t.Fatalf("another institution with the same key: %v", err)
		}
		var n int
		d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM settlements").Scan(&n)
		if n != 2 {
			t.Fatalf("%d settlements, want 2", n)
		}
		// The refund, once.
		r1, err := f.svc.Refund(ctx, op, st.ID, "R1")
		if err != nil || !r1.Refunded() {
			t.Fatalf("refund = %+v, %v", r1, err)
		}
		if r2, err := f.svc.Refund(ctx, op, st.ID, "R1"); err != nil || !r2.Replay {
			t.Fatalf("refund retry = %+v, %v", r2, err)
		}
		if _, err := f.svc.Refund(ctx, op, st.ID, "R2"); errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("second refund: %v", err)
		}
		if _, err := f.svc.Refund(ctx, f.ops["H33010000001"], st.ID, "R3"); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("refund by another institution: %v", err)
		}
		bal, _ = ledger.Balance(ctx, d.R(), ledger.PersonAccount(region, ledger.PersonMedical, person))
		if bal != yuan("300") {
			t.Fatalf("after the refund the account holds %s", bal)
		}
		checkAll(t, d)
	})
}

func checkAll(t *testing.T, d *db.DB) {
	t.Helper()
	if _, err := ledger.Check(ctx, d); err != nil {
		t.Fatalf("ledger check: %v", err)
	}
	if _, err := settle.Check(ctx, d); err != nil {
		t.Fatalf("settle check: %v", err)
	}
	if _, err := contrib.Check(ctx, d); err != nil {
		t.Fatalf("contributions check beside settlements: %v", err)
	}
}

// TestRefusals: the medical card beyond its kinds and limits, a card lost, no medical insurance,
// a bad request naming its fields.
func TestRefusals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		_, _, mc := f.person(yuan("5000"))
		op := f.ops["H33010000001"]
		base := settle.Request{Kind: policy.Outpatient, Date: f.today(), Identity: settle.Identity{MedicalCard: mc}}
		try := func(key string, mod func(*settle.Request)) error {
			r := base
			r.IdemKey = key
			r.Items = items("A", "100")
			mod(&r)
			_, err := f.svc.Settle(ctx, op, r)
			return err
		}
		for name, c := range map[string]struct {
			mod  func(*settle.Request)
			code errs.Code
		}{
			"inpatient with the medical card": {func(r *settle.Request) { r.Kind = policy.Inpatient }, errs.Invalid},
			"over its limit per settlement":   {func(r *settle.Request) { r.Items = items("A", "500.01") }, errs.Invalid},
			"a pharmacy kind at a hospital":   {func(r *settle.Request) { r.Kind = policy.Pharmacy }, errs.Invalid},
			"a future date":                   {func(r *settle.Request) { r.Date = period.Today(f.d.Now()).AddDate(0, 0, 1).Format("2006-01-02") }, errs.Invalid},
			"no identity":                     {func(r *settle.Request) { r.Identity = settle.Identity{} }, errs.Invalid},
			"a comma in an amount":            {func(r *settle.Request) { r.Items = items("A", "1,00") }, errs.Invalid},
			"an unknown category":             {func(r *settle.Request) { r.Items = items("D", "10") }, errs.Invalid},
			"an unknown card":                 {func(r *settle.Request) { r.Identity.MedicalCard = "0000" }, errs.Invalid},
		} {
			if err := try(name, c.mod); errs.CodeOf(err) != c.code {
				t.Errorf("%s: %v", name, err)
			}
		}
		// The day's limit: 400 + 400 is fine, a third 400 passes 1000.
		for i, want := range []errs.Code{"", "", errs.Invalid} {
			err := try(fmt.Sprintf("day-%d", i), func(r *settle.Request) { r.Items = items("A", "400") })
			if errs.CodeOf(err) != want && !(want == "" && err == nil) {
				t.Errorf("settlement %d of the day: %v", i, err)
			}
		}
		// A lost card.
		if _, err := f.cards.ChangeMedical(ctx, staff("bank", auth.Bank), mc, "lose"); err != nil {
			t.Fatal(err)
		}
		if err := try("lost", func(*settle.Request) {}); errs.CodeOf(err) != errs.Invalid {
			t.Errorf("a lost card: %v", err)
		}
		var n int
		d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM settlements").Scan(&n)
		if n != 2 {
			t.Fatalf("%d settlements stored, want the 2 allowed", n)
		}
		checkAll(t, d)
	})
}

// TestConcurrentSettlementsOfOnePerson: 200 settlements of one person at once, the account holding
// less than their sum: it never goes below zero, the counters equal the sum of the settlements,
// and the checks pass.
func TestConcurrentSettlementsOfOnePerson(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		person, _, mc := f.person(yuan("500")) // less than the 200 × 4.99 = 998.00 asked
		op := f.ops["P33010000004"]            // a pharmacy: the account only, within the card's kinds
		var wg sync.WaitGroup
		errsSeen := make(chan error, 200)
		for i := range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := f.svc.Settle(ctx, op, settle.Request{IdemKey: fmt.Sprintf("c-%d", i), Kind: policy.Pharmacy, Date: f.today(),
					Identity: settle.Identity{MedicalCard: mc}, Items: items("A", "4.99")})
				if err != nil && errs.CodeOf(err) != errs.Invalid { // past the day's limit is a refusal
					errsSeen <- err
				}
			}()
		}
		wg.Wait()
		close(errsSeen)
		for err := range errsSeen {
			t.Fatal(err)
		}
		var n int
		var acct, total int64
		d.R().QueryRowContext(ctx, "SELECT COUNT(*), COALESCE(SUM(account), 0), COALESCE(SUM(total), 0) FROM settlements").Scan(&n, &acct, &total)
		bal, _ := ledger.Balance(ctx, d.R(), ledger.PersonAccount(region, ledger.PersonMedical, person))
		if bal != 0 || money.Fen(acct) != yuan("500") || n != 200 || money.Fen(total) != yuan("998") {
			t.Fatalf("%d settlements took %s from the account, %s left", n, money.Fen(acct), bal)
		}
		checkAll(t, d)
		if s := f.svc.Stats(); s.Jobs < 200 {
			t.Fatalf("stats %+v", s)
		}
	})
}

// TestYearCountersAcrossKinds: the outpatient deductible is shared by a year's settlements, and a
// refund gives it back.
func TestYearCountersAcrossKinds(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		person, _, mc := f.person(yuan("10000"))
		op := f.ops["H33010000003"]
		// The medical card pays outpatient care within its limits: two settlements of 400.
		var ids []string
		for i := range 2 {
			st, err := f.svc.Settle(ctx, op, settle.Request{IdemKey: fmt.Sprintf("y-%d", i), Kind: policy.Outpatient, Date: f.today(),
				Identity: settle.Identity{MedicalCard: mc}, Items: items("A", "400")})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, st.ID)
		}
		y, err := f.svc.YearOf(ctx, f.clerk, region, person, period.Today(f.d.Now()).Year())
		if err != nil || y.OutpatientDeductibleUsed != yuan("800") || y.OutpatientDeductibleLeft != yuan("400") {
			t.Fatalf("year = %+v, %v", y, err)
		}
		if _, err := f.svc.Refund(ctx, op, ids[0], "ry"); err != nil {
			t.Fatal(err)
		}
		y, _ = f.svc.YearOf(ctx, f.clerk, region, person, period.Today(f.d.Now()).Year())
		if y.OutpatientDeductibleUsed != yuan("400") {
			t.Fatalf("after the refund: %+v", y)
		}
		checkAll(t, d)
	})
}

// TestClearing: a clerk prepares a month's clearing, the same clerk cannot approve it, a reviewer
// does, and it is posted once; a refund after the clearing is taken back by the next one.
func TestClearing(t *testing.T) {
	clock := dbtest.RunningClock(time.Date(2026, 10, 20, 2, 0, 0, 0, time.UTC))
	dbtest.EachWith(t, dbtest.Options{Now: clock.Now}, func(t *testing.T, d *db.DB) {
		clock.Set(time.Date(2026, 10, 20, 2, 0, 0, 0, time.UTC))
		f := newFixture(t, d)
		_, _, mc := f.person(yuan("1000"))
		op := f.ops["P33010000004"]
		st, err := f.svc.Settle(ctx, op, settle.Request{IdemKey: "m1", Kind: policy.Pharmacy, Date: f.today(), Identity: settle.Identity{MedicalCard: mc},
			Items: items("A", "120")})
		if err != nil {
			t.Fatal(err)
		}
		clock.Set(time.Date(2026, 11, 3, 2, 0, 0, 0, time.UTC))
		if _, err := f.svc.PrepareClearing(ctx, f.clerk, "P33010000004", 202611); errs.CodeOf(err) != errs.Invalid {
			t.Fatalf("clearing a month not ended: %v", err)
		}
		c, err := f.svc.PrepareClearing(ctx, f.clerk, "P33010000004", 202610)
		if err != nil || c.Amount != yuan("120") || c.Count != 1 {
			t.Fatalf("prepare = %+v, %v", c, err)
		}
		if _, err := f.svc.ApproveClearing(ctx, f.clerk, "P33010000004", 202610); errs.CodeOf(err) != errs.Forbidden {
			t.Fatalf("the clerk approving: %v", err)
		}
		if c, err = f.svc.ApproveClearing(ctx, f.reviewer, "P33010000004", 202610); err != nil || c.Status != settle.Posted {
			t.Fatalf("approve = %+v, %v", c, err)
		}
		if _, err := f.svc.ApproveClearing(ctx, f.reviewer, "P33010000004", 202610); errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("approving twice: %v", err)
		}
		payable, _ := ledger.Balance(ctx, d.R(), ledger.InstitutionAccount(region, "P33010000004"))
		if payable != 0 {
			t.Fatalf("after the clearing the bureau owes %s", payable)
		}
		if _, err := f.svc.Refund(ctx, op, st.ID, "late refund"); err != nil {
			t.Fatal(err)
		}
		clock.Set(time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC))
		c, err = f.svc.PrepareClearing(ctx, f.clerk, "P33010000004", 202611)
		if err != nil || c.Amount != -yuan("120") {
			t.Fatalf("the next clearing = %+v, %v", c, err)
		}
		if _, err := f.svc.ApproveClearing(ctx, f.reviewer, "P33010000004", 202611); err != nil {
			t.Fatal(err)
		}
		checkAll(t, d)
	})
}
