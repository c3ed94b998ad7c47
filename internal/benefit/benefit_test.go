package benefit_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/benefit"
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
)

const region = "330100"

var ctx = context.Background()

func staff(name string, r auth.Role) *auth.Principal {
	return &auth.Principal{User: auth.User{Username: name, Role: r, Roles: []auth.Role{r}, Regions: []string{region}}}
}

// city is a region with a policy since long ago, its registry, contributions, cards and benefits,
// on a clock the test moves.
type city struct {
	t        *testing.T
	d        *db.DB
	clock    *dbtest.Clock
	reg      *registry.Service
	contrib  *contrib.Service
	cards    *card.Service
	svc      *benefit.Service
	clerk    *auth.Principal
	reviewer *auth.Principal
	bank     *auth.Principal
	n        int
}

func newCity(t *testing.T, d *db.DB, clock *dbtest.Clock) *city {
	t.Helper()
	pol := policy.NewStore(d)
	p, _, _ := policy.Default(region, 202001)
	if _, err := pol.Install(ctx, audit.System, p); err != nil {
		t.Fatal(err)
	}
	a := auth.New(d, auth.Options{})
	reg := registry.New(d, a, pol)
	ks := keys.New(d, pol, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return &city{t: t, d: d, clock: clock, reg: reg, contrib: contrib.New(d, pol), cards: card.New(d, pol, ks), svc: benefit.New(d, pol, reg),
		clerk: staff("clerk", auth.Clerk), reviewer: staff("reviewer", auth.Reviewer), bank: staff("bank", auth.Bank)}
}

// month is the business month the clock is in, moved by k.
func (c *city) month(k int) period.Month { return period.MonthOf(c.clock.Now()).Add(k) }

// employ registers an employer and declares a new person on its staff from month from (declared
// as of then, as an employer declaring on time would).
func (c *city) employ(from period.Month) (string, *auth.Principal, string) {
	c.t.Helper()
	c.n++
	id, _ := ident.MakeIDNumber(fmt.Sprintf("3301061975%02d%02d%03d", 1+c.n%12, 1+c.n%28, 100+c.n))
	u, _ := ident.MakeUSCC(fmt.Sprintf("91330100%09d", c.n))
	e, err := c.reg.RegisterEmployer(ctx, c.clerk, registry.NewEmployer{USCC: string(u), Name: fmt.Sprintf("单位%d", c.n), LegalRep: "x", RiskClass: 1})
	if err != nil {
		c.t.Fatal(err)
	}
	hr := &auth.Principal{User: auth.User{Username: "hr", Role: auth.Employer, Roles: []auth.Role{auth.Employer}, Regions: []string{region}, EmployerID: e.ID}}
	back := period.MonthOf(c.clock.Now()).Since(from)
	r := c.reg.AsOf(func() time.Time { return c.clock.Now().AddDate(0, -max(back, 0), 0) })
	if err := r.ChangeStaff(ctx, hr, string(u), registry.StaffChange{Op: registry.OpAdd, IDNumber: string(id), Name: "参保人", Base: "8000", Month: from.String()}); err != nil {
		c.t.Fatal(err)
	}
	return string(id), hr, string(u)
}

// hire puts a registered person on a new employer's staff from month from.
func (c *city) hire(idNumber string, from period.Month) {
	c.t.Helper()
	c.n++
	u, _ := ident.MakeUSCC(fmt.Sprintf("91330100%09d", c.n))
	e, err := c.reg.RegisterEmployer(ctx, c.clerk, registry.NewEmployer{USCC: string(u), Name: fmt.Sprintf("新单位%d", c.n), LegalRep: "x", RiskClass: 1})
	if err != nil {
		c.t.Fatal(err)
	}
	hr := &auth.Principal{User: auth.User{Username: "hr2", Role: auth.Employer, Roles: []auth.Role{auth.Employer}, Regions: []string{region}, EmployerID: e.ID}}
	if err := c.reg.ChangeStaff(ctx, hr, string(u), registry.StaffChange{Op: registry.OpAdd, IDNumber: idNumber, Name: "参保人", Base: "8000", Month: from.String()}); err != nil {
		c.t.Fatal(err)
	}
}

func (c *city) remove(hr *auth.Principal, uscc, idNumber string, end time.Time, reason string) {
	c.t.Helper()
	if err := c.reg.ChangeStaff(ctx, hr, uscc, registry.StaffChange{Op: registry.OpRemove, IDNumber: idNumber, EndDate: end.Format("2006-01-02"), Reason: reason}); err != nil {
		c.t.Fatal(err)
	}
}

// pay runs the contribution months [from, to] and has the bank pay every bill in full.
func (c *city) pay(from, to period.Month) {
	c.t.Helper()
	admin := staff("admin", auth.Admin)
	for m := from; m <= to; m = m.Add(1) {
		if _, err := c.contrib.Run(ctx, admin.Actor(), region, m, nil); err != nil {
			c.t.Fatal(err)
		}
		type bill struct {
			id         int64
			payer, due string
			total      int64
		}
		var bills []bill
		if err := db.EachRow(ctx, c.d.R(), func(scan func(...any) error) error {
			var b bill
			err := scan(&b.id, &b.payer, &b.due, &b.total)
			bills = append(bills, b)
			return err
		}, "SELECT id, payer, due_date, total FROM bills WHERE month = $1 AND paid < total", int(m)); err != nil {
			c.t.Fatal(err)
		}
		for _, b := range bills {
			due, err := db.ParseTime(b.due)
			if err != nil {
				c.t.Fatal(err)
			}
			if due.After(period.Today(c.clock.Now())) {
				continue // not due yet
			}
			// Paid on the due date, as the bank reports it: no late fee.
			if _, err := c.contrib.RecordPayment(ctx, c.bank, contrib.NewPayment{IdemKey: fmt.Sprintf("pay-%d", b.id), Payer: b.payer,
				Amount: money.Fen(b.total).String(), PaidOn: due.Format("2006-01-02")}); err != nil {
				c.t.Fatal(err)
			}
		}
	}
}

// card gives the person an active social security card with its bank function, as the card's
// lifecycle would leave it.
func (c *city) card(idNumber string) int64 {
	c.t.Helper()
	p, err := c.reg.Person(ctx, c.clerk, idNumber)
	if err != nil {
		c.t.Fatal(err)
	}
	var id int64
	if err := c.d.Write(ctx, func(tx *db.Tx) error {
		now := db.FormatTime(tx.Now)
		return tx.QueryRowContext(ctx, `INSERT INTO cards(region, person_id, kind, application_no, state, channel, applied_by, applied_at, state_at,
			card_number, card_id, valid_until, bank_account, bank_activated_at) VALUES($1, $2, 'social_security', $3, 'active', 'window', 'test', $4, $4, $5, $6, $7, $8, $4)
			RETURNING id`, region, p.ID, "APP"+idNumber, now, "C"+idNumber[10:], region+"D15600000599999"+idNumber[8:17], db.FormatTime(tx.Now.AddDate(10, 0, 0)),
			"62220000"+idNumber[6:17]).Scan(&id)
	}); err != nil {
		c.t.Fatal(err)
	}
	return id
}

// lastDay is the last day of month m, a Beijing calendar date.
func lastDay(m period.Month) time.Time { return m.Add(1).First().AddDate(0, 0, -1) }

func fieldsOf(t *testing.T, err error) map[string]string {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Code != errs.Invalid {
		t.Fatalf("want a refusal naming fields, got %v", err)
	}
	return e.Fields
}

func checkAll(t *testing.T, d *db.DB) {
	t.Helper()
	if _, err := ledger.Check(ctx, d); err != nil {
		t.Fatalf("ledger check: %v", err)
	}
	if _, err := benefit.Check(ctx, d); err != nil {
		t.Fatalf("benefit check: %v", err)
	}
}

// TestClaimConditions: each condition of Art. 45 unmet is refused with its reason; a claim that
// meets them all is prepared, and its preparer cannot approve it.
func TestClaimConditions(t *testing.T) {
	clock := dbtest.NewClock(dbtest.Now())
	dbtest.EachWith(t, dbtest.Options{Now: clock.Now}, func(t *testing.T, d *db.DB) {
		c := newCity(t, d, clock)
		m := c.month(0)
		short, shortHR, shortU := c.employ(m.Add(-7))   // 6 months paid
		resigned, resHR, resU := c.employ(m.Add(-16))   // left of their own accord
		unregistered, unHR, unU := c.employ(m.Add(-16)) // never registered
		good, goodHR, goodU := c.employ(m.Add(-16))     // meets every condition
		working, _, _ := c.employ(m.Add(-16))           // still employed
		c.pay(m.Add(-16), m.Add(-2))
		end := lastDay(m.Add(-1))
		c.remove(shortHR, shortU, short, end, "dismissed")
		c.remove(resHR, resU, resigned, end, "resigned")
		c.remove(unHR, unU, unregistered, end, "contract_expired")
		c.remove(goodHR, goodU, good, end, "dismissed")
		for _, id := range []string{short, resigned, good} {
			if _, err := c.svc.Register(ctx, c.clerk, id, "", true); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := c.svc.Register(ctx, c.clerk, working, "", true); errs.CodeOf(err) != errs.Conflict {
			t.Errorf("an employed person registered as unemployed: %v", err)
		}
		for _, tc := range []struct {
			who, field, says string
		}{
			{short, "contribution_months", "6 months"},
			{resigned, "removal", "resigned"},
			{unregistered, "registration", "not registered"},
			{working, "removal", "no employer has removed"},
		} {
			_, err := c.svc.Prepare(ctx, c.clerk, tc.who)
			f := fieldsOf(t, err)
			if !strings.Contains(f[tc.field], tc.says) {
				t.Errorf("%s: refused with %v; want %s saying %q", tc.who, f, tc.field, tc.says)
			}
			if tc.who == short && len(f) != 1 {
				t.Errorf("only the contributions are short, yet: %v", f)
			}
		}
		e, err := c.svc.Preview(ctx, c.clerk, good)
		if err != nil || len(e.Problems) != 0 || e.ContributionMonths != 15 || e.EntitledMonths != 12 || e.TotalMonths != 12 {
			t.Fatalf("preview of a good claim: %+v %v", e, err)
		}
		cl, err := c.svc.Prepare(ctx, c.clerk, good)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.svc.Prepare(ctx, c.clerk, good); !strings.Contains(fmt.Sprint(fieldsOf(t, err)), "in progress") {
			t.Errorf("a second claim while one is open: %v", err)
		}
		sameClerk := staff("clerk", auth.Reviewer)
		if _, err := c.svc.Approve(ctx, sameClerk, region, cl.ID); errs.CodeOf(err) != errs.Forbidden {
			t.Errorf("the preparer approved the claim: %v", err)
		}
		if _, err := c.svc.Approve(ctx, c.clerk, region, cl.ID); errs.CodeOf(err) != errs.Forbidden {
			t.Errorf("a clerk approved the claim: %v", err)
		}
		got, err := c.svc.Approve(ctx, c.reviewer, region, cl.ID)
		if err != nil || got.Status != benefit.Approved {
			t.Fatalf("approve: %+v %v", got, err)
		}
		if _, err := c.svc.Approve(ctx, c.reviewer, region, cl.ID); errs.CodeOf(err) != errs.Conflict {
			t.Errorf("approved twice: %v", err)
		}
		checkAll(t, d)
	})
}

// TestBenefitRun: the months of a claim are paid once each to the card, the medical insurance of
// a paid month is paid by the unemployment fund (the person is billed nothing), a month without a
// usable card is held with the reason and paid once the card is back, and a new job ends the
// claim with the months left carried over to the next.
func TestBenefitRun(t *testing.T) {
	clock := dbtest.NewClock(dbtest.Now())
	dbtest.EachWith(t, dbtest.Options{Now: clock.Now}, func(t *testing.T, d *db.DB) {
		c := newCity(t, d, clock)
		m := c.month(0)
		id, hr, u := c.employ(m.Add(-16))
		c.pay(m.Add(-16), m.Add(-2))
		c.remove(hr, u, id, lastDay(m.Add(-1)), "dismissed")
		if _, err := c.svc.Register(ctx, c.clerk, id, "", true); err != nil {
			t.Fatal(err)
		}
		cl, err := c.svc.Prepare(ctx, c.clerk, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.svc.Approve(ctx, c.reviewer, region, cl.ID); err != nil {
			t.Fatal(err)
		}
		cardID := c.card(id)
		admin := staff("admin", auth.Admin).Actor()
		run := func(want benefit.RunReport) {
			t.Helper()
			rep, err := c.svc.Run(ctx, admin, region, c.month(0))
			if err != nil {
				t.Fatal(err)
			}
			if rep.Paid != want.Paid || rep.Held != want.Held || rep.Ended != want.Ended {
				t.Fatalf("run %s: %+v; want paid %d held %d ended %d", c.month(0), rep, want.Paid, want.Held, want.Ended)
			}
			checkAll(t, d)
		}
		run(benefit.RunReport{Paid: 1})
		run(benefit.RunReport{}) // again: nothing twice

		// The month's medical insurance: paid by the unemployment fund, no bill to the person.
		c.pay(m, m)
		var lines int
		p, _ := c.reg.Person(ctx, c.clerk, id)
		if err := d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM contribution_lines WHERE person_id = $1 AND month = $2", p.ID, int(m)).Scan(&lines); err != nil || lines != 0 {
			t.Fatalf("the person was billed for a month of benefit: %d lines %v", lines, err)
		}
		if ok, err := registry.InsuredIn(ctx, d.R(), p.ID, policy.Medical, m); err != nil || !ok {
			t.Fatalf("not insured for medical care while drawing benefit: %v", err)
		}
		pays, err := c.svc.Payments(ctx, c.clerk, region, cl.ID)
		if err != nil || len(pays) != 1 || pays[0].Status != "paid" || pays[0].Amount != money.Fen(201600) || pays[0].MedicalPaid == 0 || pays[0].CardNumber != "C"+id[10:] {
			t.Fatalf("payments: %+v %v", pays, err)
		}

		// The card is reported lost: the next month is held, and paid with the one after once the
		// card is back.
		holder := c.clerk
		if _, err := c.cards.ReportTemporaryLoss(ctx, holder, cardID); err != nil {
			t.Fatal(err)
		}
		clock.Set(clock.Now().AddDate(0, 1, 0))
		run(benefit.RunReport{Held: 1})
		run(benefit.RunReport{})
		pays, _ = c.svc.Payments(ctx, c.clerk, region, cl.ID)
		if len(pays) != 2 || pays[1].Status != "held" || pays[1].Reason != "no_bank_card" {
			t.Fatalf("the month without a card: %+v", pays)
		}
		if _, err := c.cards.Unlock(ctx, holder, cardID); err != nil {
			t.Fatal(err)
		}
		clock.Set(clock.Now().AddDate(0, 1, 0))
		run(benefit.RunReport{Paid: 2})
		run(benefit.RunReport{})

		// A new job from next month: the benefit stops there; nine months carry over.
		c.hire(id, c.month(1))
		clock.Set(clock.Now().AddDate(0, 1, 0))
		run(benefit.RunReport{Ended: 1})
		got, err := c.svc.Claim(ctx, c.clerk, region, cl.ID)
		if err != nil || got.Status != benefit.Ended || got.DrawnMonths != 3 || got.EndedMonth != c.month(0) {
			t.Fatalf("the claim after a new job: %+v %v", got, err)
		}
		if ok, _ := registry.InsuredIn(ctx, d.R(), p.ID, policy.Medical, c.month(0)); !ok {
			t.Errorf("the new employer's medical insurance is missing")
		}
		e, err := c.svc.Preview(ctx, c.clerk, id)
		if err != nil || e.CarriedOverMonths != 9 || e.Open != nil {
			t.Fatalf("the months carried over: %+v %v", e, err)
		}
		pays, _ = c.svc.Payments(ctx, c.clerk, region, cl.ID)
		paid := 0
		for _, x := range pays {
			if x.Status == "paid" {
				paid++
			}
		}
		if len(pays) != 3 || paid != 3 {
			t.Fatalf("every month once: %+v", pays)
		}
	})
}

// TestClerkEndsClaim: a clerk ends a claim (the person starts a pension) from a month after the
// last one paid; that month and later ones are not paid, and what is left carries over.
func TestClerkEndsClaim(t *testing.T) {
	clock := dbtest.NewClock(dbtest.Now())
	dbtest.EachWith(t, dbtest.Options{Now: clock.Now}, func(t *testing.T, d *db.DB) {
		c := newCity(t, d, clock)
		m := c.month(0)
		id, hr, u := c.employ(m.Add(-16))
		c.pay(m.Add(-16), m.Add(-2))
		c.remove(hr, u, id, lastDay(m.Add(-1)), "employer_closed")
		if _, err := c.svc.Register(ctx, c.clerk, id, "", true); err != nil {
			t.Fatal(err)
		}
		cl, err := c.svc.Prepare(ctx, c.clerk, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.svc.Approve(ctx, c.reviewer, region, cl.ID); err != nil {
			t.Fatal(err)
		}
		c.card(id)
		admin := staff("admin", auth.Admin).Actor()
		if rep, err := c.svc.Run(ctx, admin, region, m); err != nil || rep.Paid != 1 {
			t.Fatalf("run: %+v %v", rep, err)
		}
		if _, err := c.svc.End(ctx, c.reviewer, region, cl.ID, m.Add(1), "pension"); errs.CodeOf(err) != errs.Forbidden {
			t.Errorf("a reviewer ended a claim: %v", err)
		}
		if _, err := c.svc.End(ctx, c.clerk, region, cl.ID, m.Add(1), " "); fieldsOf(t, err)["reason"] == "" {
			t.Errorf("ended without a reason: %v", err)
		}
		if _, err := c.svc.End(ctx, c.clerk, region, cl.ID, m, "starts a pension"); fieldsOf(t, err)["from_month"] == "" {
			t.Errorf("ended from a month already paid: %v", err)
		}
		got, err := c.svc.End(ctx, c.clerk, region, cl.ID, m.Add(1), "starts a pension")
		if err != nil || got.Status != benefit.Ended || got.EndedMonth != m.Add(1) {
			t.Fatalf("end: %+v %v", got, err)
		}
		clock.Set(clock.Now().AddDate(0, 1, 0))
		if rep, err := c.svc.Run(ctx, admin, region, c.month(0)); err != nil || rep.Paid != 0 {
			t.Fatalf("a month after the end was paid: %+v %v", rep, err)
		}
		p, _ := c.reg.Person(ctx, c.clerk, id)
		if ok, _ := registry.InsuredIn(ctx, d.R(), p.ID, policy.Medical, c.month(0)); ok {
			t.Errorf("still insured by the claim after its end")
		}
		if e, err := c.svc.Preview(ctx, c.clerk, id); err != nil || e.CarriedOverMonths != 11 {
			t.Fatalf("carried over after the end: %+v %v", e, err)
		}
		checkAll(t, d)
	})
}
