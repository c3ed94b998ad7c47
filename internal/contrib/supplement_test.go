package contrib_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
)

// billRow is a bill of the test's employer as stored.
type billRow struct {
	id               int64
	supplement       int
	persons          int
	total            money.Fen
	due              string
	lines            map[int64][10]int64 // person → base and the nine amounts
	linesTotal, base money.Fen
}

func billsOf(t *testing.T, d *db.DB, payer string, month period.Month) []billRow {
	t.Helper()
	var out []billRow
	if err := db.EachRow(ctx, d.R(), func(scan func(...any) error) error {
		var b billRow
		err := scan(&b.id, &b.supplement, &b.persons, &b.total, &b.due)
		out = append(out, b)
		return err
	}, "SELECT id, supplement, persons, total, due_date FROM bills WHERE payer = $1 AND month = $2 ORDER BY supplement", payer, int(month)); err != nil {
		t.Fatal(err)
	}
	for i := range out {
		out[i].lines = map[int64][10]int64{}
		if err := db.EachRow(ctx, d.R(), func(scan func(...any) error) error {
			var person int64
			var c [10]int64
			if err := scan(&person, &c[0], &c[1], &c[2], &c[3], &c[4], &c[5], &c[6], &c[7], &c[8], &c[9]); err != nil {
				return err
			}
			out[i].lines[person] = c
			out[i].linesTotal += money.Fen(c[1] + c[2] + c[3] + c[4] + c[5] + c[6] + c[7])
			return nil
		}, `SELECT person_id, base, pension_employer, pension_employee, medical_employer, medical_employee, unemployment_employer,
			unemployment_employee, work_injury_employer, to_pension_account, to_medical_account FROM contribution_lines WHERE bill_id = $1`, out[i].id); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// assessed is a person's line as the policy makes it from a declared base: the reference the
// supplements are held to, computed here from contrib.Assess and not read from any bill.
func assessed(t *testing.T, p *policy.Policy, base money.Fen, risk int) [10]int64 {
	t.Helper()
	var insured []policy.Insurance
	for _, c := range p.Categories {
		if c.InsuredBy == policy.ByEmployer {
			insured = c.Insurances
		}
	}
	a := contrib.Assess(contrib.Compile(&p.Contributions), contrib.Subject{Declared: base, RiskClass: risk, Insurances: insured})
	var c [10]int64
	c[0] = int64(a.Base)
	for _, l := range a.Lines {
		switch {
		case l.Insurance == policy.Pension && l.Party == contrib.Employer:
			c[1] = int64(l.Amount)
		case l.Insurance == policy.Pension:
			c[2], c[8] = int64(l.Amount), int64(l.ToAccount)
		case l.Insurance == policy.Medical && l.Party == contrib.Employer:
			c[3] = int64(l.Amount)
		case l.Insurance == policy.Medical:
			c[4], c[9] = int64(l.Amount), int64(l.ToAccount)
		case l.Insurance == policy.Unemployment && l.Party == contrib.Employer:
			c[5] = int64(l.Amount)
		case l.Insurance == policy.Unemployment:
			c[6] = int64(l.Amount)
		case l.Insurance == policy.WorkInjury:
			c[7] = int64(l.Amount)
		}
	}
	return c
}

func minus(a, b [10]int64) [10]int64 {
	for i := range a {
		a[i] -= b[i]
	}
	return a
}

// TestSupplementaryBills: declarations that reach back into billed months (a late 增员, a
// retroactive 调基, a lowered base) against the bills already issued. Each case's supplement holds
// exactly the difference from the reference assessment, line by line; the bills issued never change;
// the late fee runs from the month's own due date; the payment path pays supplements like bills;
// and billing a month not yet begun is refused. The clock stands at 23:30 UTC, the next day in
// Beijing.
func TestSupplementaryBills(t *testing.T) {
	clock := dbtest.NewClock(time.Date(2026, 11, 4, 23, 30, 0, 0, time.UTC)) // 5 November in Beijing
	dbtest.EachWith(t, dbtest.Options{Now: clock.Now}, func(t *testing.T, d *db.DB) {
		clock.Set(time.Date(2026, 11, 4, 23, 30, 0, 0, time.UTC))
		svc, nov := city(t, d, 1, 4) // four staff from 202611, employer 1 of risk class 1
		dec := nov.Add(1)
		pol := policy.NewStore(d)
		p, _, _ := policy.Default(region, 202001)
		reg := registry.New(d, auth.New(d, auth.Options{}), pol)
		hr := &auth.Principal{User: auth.User{Username: "hr", Role: auth.Employer, Regions: []string{region}, EmployerID: 1}}
		var uscc string
		d.R().QueryRowContext(ctx, "SELECT uscc FROM employers WHERE id = 1").Scan(&uscc)
		const payer = "employer:1"
		if _, err := svc.Run(ctx, audit.System, region, nov, nil); err != nil {
			t.Fatal(err)
		}
		// A month not yet begun cannot be billed: on 21 December (Beijing), not January.
		clock.Set(time.Date(2026, 12, 20, 23, 30, 0, 0, time.UTC))
		_, err := svc.Run(ctx, audit.System, region, dec.Add(1), nil)
		var e *errs.Error
		if !errors.As(err, &e) || e.Code != errs.Invalid || e.Fields["month"] == "" {
			t.Fatalf("billing %s on 21 December: %v; want a refusal naming the month", dec.Add(1), err)
		}
		if _, err := svc.Run(ctx, audit.System, region, dec, nil); err != nil {
			t.Fatal(err)
		}
		originals := map[period.Month]billRow{nov: billsOf(t, d, payer, nov)[0], dec: billsOf(t, d, payer, dec)[0]}
		for m, b := range originals {
			if b.persons != 4 || b.supplement != 0 {
				t.Fatalf("%s: %+v; want the month's own bill of 4", m, b)
			}
		}

		// A late 增员: two persons from November, declared on 21 December, after both months were billed.
		var added []int64
		for i := range 2 {
			n, _ := ident.MakeIDNumber(fmt.Sprintf("33010619900%d0%d123", 1+i, 1+i))
			if err := reg.ChangeStaff(ctx, hr, uscc, registry.StaffChange{Op: registry.OpAdd, IDNumber: string(n), Name: "补员",
				Base: []string{"8000.00", "12000.50"}[i], Month: nov.String()}); err != nil {
				t.Fatal(err)
			}
			var id int64
			d.R().QueryRowContext(ctx, "SELECT id FROM persons WHERE id_number = $1", string(n)).Scan(&id)
			added = append(added, id)
		}
		// Running a billed month again bills what was declared late, for every month it reaches.
		if _, err := svc.Run(ctx, audit.System, region, dec, nil); err != nil {
			t.Fatal(err)
		}
		for _, m := range []period.Month{nov, dec} {
			bs := billsOf(t, d, payer, m)
			if len(bs) != 2 || bs[0].id != originals[m].id || bs[0].total != originals[m].total || bs[0].persons != 4 {
				t.Fatalf("%s: %d bills, the first %+v; want the original unchanged and one supplement", m, len(bs), bs[0])
			}
			s := bs[1]
			if s.supplement != 1 || s.persons != 2 || len(s.lines) != 2 || s.due != originals[m].due || s.total != s.linesTotal {
				t.Fatalf("%s supplement: %+v; want 2 persons due %s", m, s, originals[m].due)
			}
			for i, person := range added {
				want := assessed(t, p, []money.Fen{800000, 1200050}[i], 1)
				if s.lines[person] != want {
					t.Fatalf("%s supplement, person %d: %v; want %v", m, person, s.lines[person], want)
				}
			}
		}

		// A retroactive 调基: the first of the four from November at a higher base; and the second
		// person added late lowered from December, which would be a refund and is not billed.
		var raised int64
		var raisedID, loweredID string
		var oldBase int64
		d.R().QueryRowContext(ctx, "SELECT p.id, p.id_number, s.base FROM persons p JOIN staff s ON s.person_id = p.id ORDER BY p.id LIMIT 1").
			Scan(&raised, &raisedID, &oldBase)
		d.R().QueryRowContext(ctx, "SELECT id_number FROM persons WHERE id = $1", added[1]).Scan(&loweredID)
		if err := reg.ChangeStaff(ctx, hr, uscc, registry.StaffChange{Op: registry.OpChangeBase, IDNumber: raisedID, Base: "15000.00", Month: nov.String()}); err != nil {
			t.Fatal(err)
		}
		if err := reg.ChangeStaff(ctx, hr, uscc, registry.StaffChange{Op: registry.OpChangeBase, IDNumber: loweredID, Base: "9000.00", Month: dec.String()}); err != nil {
			t.Fatal(err)
		}
		sups, err := svc.Supplements(ctx, audit.System, region, payer)
		if err != nil || len(sups) != 2 {
			t.Fatalf("supplements: %+v, %v; want November's and December's", sups, err)
		}
		if sups[0].Month != nov || sups[0].Number != 2 || sups[0].Persons != 1 || sups[0].Decreases != 0 ||
			sups[1].Month != dec || sups[1].Number != 2 || sups[1].Persons != 1 || sups[1].Decreases != 1 {
			t.Fatalf("supplements %+v; want one person each, December's with one decrease", sups)
		}
		want := minus(assessed(t, p, 1500000, 1), assessed(t, p, money.Fen(oldBase), 1))
		for _, m := range []period.Month{nov, dec} {
			bs := billsOf(t, d, payer, m)
			if len(bs) != 3 || len(bs[2].lines) != 1 || bs[2].lines[raised] != want {
				t.Fatalf("%s: the base change's supplement %+v; want one line %v", m, bs[len(bs)-1], want)
			}
			// The person's month sums to the base now declared, over the bill and its supplement.
			var base int64
			for _, b := range bs {
				base += b.lines[raised][0]
			}
			if base != assessed(t, p, 1500000, 1)[0] {
				t.Fatalf("%s: the bases of person %d sum to %d", m, raised, base)
			}
		}
		if again, err := svc.Supplements(ctx, audit.System, region, ""); err != nil || len(again) != 0 {
			t.Fatalf("supplements again: %+v, %v; want nothing (each is billed once)", again, err)
		}

		// The late fee: November's bills fell due on its due date, six days before 21 December.
		clerk := &auth.Principal{User: auth.User{Username: "clerk", Role: auth.Clerk, Regions: []string{region}}}
		bills, err := svc.Bills(ctx, clerk, payer)
		if err != nil {
			t.Fatal(err)
		}
		daily := policy.Rate(p.Contributions.LateFeeDaily)
		due := contrib.DueDate(nov, p.Contributions.DueDay)
		days := contrib.DaysLate(due, period.Today(clock.Now()))
		if days <= 0 {
			t.Fatalf("November is not overdue on %s (due %s)", period.Today(clock.Now()), due)
		}
		var owing money.Fen
		for _, b := range bills {
			fee := money.Fen(0)
			if b.Month == nov {
				fee = contrib.LateFee(b.Total, daily, days)
			}
			if b.FeeOwed != fee || (b.Month == nov) != b.InArrears {
				t.Fatalf("bill %d (%s, supplement %d): fee %s, in arrears %v; want %s from %s", b.ID, b.Month, b.Supplement, b.FeeOwed, b.InArrears, fee, due)
			}
			owing += b.Owing()
		}
		if len(bills) != 6 || bills[0].Month != dec || bills[0].Supplement != 2 {
			t.Fatalf("bills page: %d bills, first %+v; want six, newest month and supplement first", len(bills), bills[0])
		}

		// Paid in full: every bill, supplements included, oldest first, and each one's accounts credited.
		pay, err := svc.RecordPayment(ctx, clerk, contrib.NewPayment{IdemKey: "sup-1", Payer: payer, Amount: owing.String(),
			PaidOn: period.Today(clock.Now()).Format("2006-01-02")})
		if err != nil || len(pay.Allocations) != 6 {
			t.Fatalf("payment: %+v, %v", pay, err)
		}
		for i, a := range pay.Allocations {
			if a.Month != []period.Month{nov, nov, nov, dec, dec, dec}[i] || a.Supplement != i%3 {
				t.Fatalf("allocation %d: %+v; want the oldest month and supplement first", i, a)
			}
		}
		for _, person := range append(added, raised) {
			bal, err := ledger.Balance(ctx, d.R(), ledger.PersonAccount(region, ledger.PersonPension, person))
			if err != nil || bal == 0 {
				t.Fatalf("person %d's pension account after payment: %s, %v", person, bal, err)
			}
		}
		var credited int
		d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM bills WHERE accounts_credited").Scan(&credited)
		if credited != 6 {
			t.Fatalf("%d bills credited; want 6", credited)
		}
		if _, err := contrib.Check(ctx, d); err != nil {
			t.Fatal(err)
		}
		if _, err := ledger.Check(ctx, d); err != nil {
			t.Fatal(err)
		}
		var marks int
		d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM restated_months").Scan(&marks)
		if marks != 0 {
			t.Fatalf("%d months still marked", marks)
		}
	})
}

// TestCheckFindsAlteredSupplement: contrib.Check holds a supplementary bill to its own entry, so a
// supplement's total changed after the fact is found.
func TestCheckFindsAlteredSupplement(t *testing.T) {
	clock := dbtest.NewClock(time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC))
	dbtest.EachWith(t, dbtest.Options{Now: clock.Now}, func(t *testing.T, d *db.DB) {
		svc, month := city(t, d, 2, 3)
		if _, err := svc.Run(ctx, audit.System, region, month, nil); err != nil {
			t.Fatal(err)
		}
		reg := registry.New(d, auth.New(d, auth.Options{}), policy.NewStore(d))
		hr := &auth.Principal{User: auth.User{Username: "hr", Role: auth.Employer, Regions: []string{region}, EmployerID: 2}}
		var uscc string
		d.R().QueryRowContext(ctx, "SELECT uscc FROM employers WHERE id = 2").Scan(&uscc)
		n, _ := ident.MakeIDNumber("33010619850505123")
		if err := reg.ChangeStaff(ctx, hr, uscc, registry.StaffChange{Op: registry.OpAdd, IDNumber: string(n), Name: "补员", Base: "9000", Month: month.String()}); err != nil {
			t.Fatal(err)
		}
		if sups, err := svc.Supplements(ctx, audit.System, region, ""); err != nil || len(sups) != 1 || sups[0].Number != 1 {
			t.Fatalf("supplements: %+v, %v", sups, err)
		}
		if _, err := contrib.Check(ctx, d); err != nil {
			t.Fatalf("before the change: %v", err)
		}
		if err := d.Write(ctx, func(tx *db.Tx) error {
			_, err := tx.ExecContext(ctx, "UPDATE contribution_lines SET pension_employer = pension_employer + 100 WHERE bill_id = (SELECT id FROM bills WHERE supplement = 1)")
			if err == nil {
				_, err = tx.ExecContext(ctx, "UPDATE bills SET total = total + 100 WHERE supplement = 1")
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		_, err := contrib.Check(ctx, d)
		var v *ledger.Violation
		if !errors.As(err, &v) {
			t.Fatalf("check after the supplement was raised: %v; want a violation", err)
		}
	})
}
