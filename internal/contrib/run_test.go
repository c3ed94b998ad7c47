package contrib_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
)

const region = "330100"

var ctx = context.Background()

// city registers employers with staff through the registry, as the real city is built.
func city(t *testing.T, d *db.DB, employers, staff int) (*contrib.Service, period.Month) {
	t.Helper()
	pol := policy.NewStore(d)
	p, _, _ := policy.Default(region, 202001)
	if _, err := pol.Install(ctx, audit.System, p); err != nil {
		t.Fatal(err)
	}
	a := auth.New(d, auth.Options{})
	reg := registry.New(d, a, pol)
	clerk := &auth.Principal{User: auth.User{Username: "clerk", Role: auth.Clerk, Regions: []string{region}}}
	month := period.MonthOf(d.Now())
	n := 0
	for i := range employers {
		u, _ := ident.MakeUSCC(fmt.Sprintf("91330100%09d", i+1))
		e, err := reg.RegisterEmployer(ctx, clerk, registry.NewEmployer{USCC: string(u), Name: fmt.Sprintf("单位%d", i), LegalRep: "x", RiskClass: 1 + i%8})
		if err != nil {
			t.Fatal(err)
		}
		hr := &auth.Principal{User: auth.User{Username: "hr", Role: auth.Employer, Regions: []string{region}, EmployerID: e.ID}}
		csv := "操作,身份证号,姓名,缴费基数,月份\n"
		for range staff {
			n++
			id, _ := ident.MakeIDNumber(fmt.Sprintf("3301061980%02d%02d%03d", 1+n%12, 1+n%28, n%1000))
			csv += fmt.Sprintf("增员,%s,职工,%d.00,%s\n", id, 3000+n*37%30000, month)
		}
		if _, err := reg.ImportStaff(ctx, hr, string(u), "s.csv", []byte(csv)); err != nil {
			t.Fatal(err)
		}
	}
	return contrib.New(d, pol), month
}

func TestMonthlyRunBillsOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		svc, month := city(t, d, 12, 9)
		// Interrupt the run after its first batch… (the batch size is larger than this city, so
		// cancel before it starts and then run fully twice)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := svc.Run(cctx, audit.System, region, month, nil); err == nil {
			t.Fatal("a cancelled run reported success")
		}
		p, err := svc.Run(ctx, audit.System, region, month, nil)
		if err != nil || p.Payers != 12 || p.Done != 12 || p.Persons != 108 {
			t.Fatalf("run: %+v %v", p, err)
		}
		again, err := svc.Run(ctx, audit.System, region, month, nil)
		if err != nil || again.Persons != 0 || again.Done != 12 {
			t.Fatalf("second run: %+v %v", again, err)
		}
		var lines, bills, entries int
		d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM contribution_lines").Scan(&lines)
		d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM bills").Scan(&bills)
		d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM ledger_entries").Scan(&entries)
		if lines != 108 || bills != 12 || entries != 1 {
			t.Fatalf("lines %d, bills %d, entries %d; want 108, 12 and one entry for the batch", lines, bills, entries)
		}
		// The bills' totals are the sums of their lines, and the ledger holds them.
		var billTotal, lineTotal int64
		d.R().QueryRowContext(ctx, "SELECT SUM(total) FROM bills").Scan(&billTotal)
		d.R().QueryRowContext(ctx, `SELECT SUM(pension_employer + pension_employee + medical_employer + medical_employee + unemployment_employer
			+ unemployment_employee + work_injury_employer) FROM contribution_lines`).Scan(&lineTotal)
		if billTotal != lineTotal || billTotal == 0 {
			t.Fatalf("bills %d, lines %d", billTotal, lineTotal)
		}
		if _, err := ledger.Check(ctx, d); err != nil {
			t.Fatal(err)
		}
		_ = time.Now
	})
}

// TestRunUsesTheBaseInForce: a base change (调基) declared for the month is the base assessed.
func TestRunUsesTheBaseInForce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		svc, month := city(t, d, 1, 2)
		var uscc, idNumber string
		var personID int64
		d.R().QueryRowContext(ctx, "SELECT uscc FROM employers WHERE id = 1").Scan(&uscc)
		d.R().QueryRowContext(ctx, "SELECT p.id, p.id_number FROM persons p JOIN staff s ON s.person_id = p.id ORDER BY p.id LIMIT 1").Scan(&personID, &idNumber)
		pol := policy.NewStore(d)
		reg := registry.New(d, auth.New(d, auth.Options{}), pol)
		hr := &auth.Principal{User: auth.User{Username: "hr", Role: auth.Employer, Regions: []string{region}, EmployerID: 1}}
		if err := reg.ChangeStaff(ctx, hr, uscc, registry.StaffChange{Op: registry.OpChangeBase, IDNumber: idNumber, Base: "12345.67", Month: month.String()}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Run(ctx, audit.System, region, month, nil); err != nil {
			t.Fatal(err)
		}
		var base int64
		d.R().QueryRowContext(ctx, "SELECT base FROM contribution_lines WHERE person_id = $1", personID).Scan(&base)
		if base != 1234567 {
			t.Fatalf("assessed base %d fen; want the changed base 1234567", base)
		}
	})
}

// The time left counts this run's pace only: a run resumed after most payers were billed must not
// promise to finish at once.
func TestProgressLeft(t *testing.T) {
	p := contrib.Progress{Payers: 1000, Done: 900, Resumed: 800, Elapsed: 10 * time.Second, Persons: 5000}
	if got := p.Left(); got != 10*time.Second {
		t.Fatalf("left = %v; want 10s (100 payers in 10 s, 100 to go)", got)
	}
	if p.Rate() != 500 {
		t.Fatalf("rate = %v; want 500 persons/s", p.Rate())
	}
	for _, q := range []contrib.Progress{{Payers: 10, Done: 5, Resumed: 5}, {Payers: 10, Done: 10}, {}} {
		if q.Left() != 0 {
			t.Fatalf("%+v: left %v; want 0 (cannot tell, or done)", q, q.Left())
		}
	}
}

// A run that stops committing batches (killed, crashed) shows as interrupted after StaleAfter, and
// running it again finishes it.
func TestRunsShowInterrupted(t *testing.T) {
	clock := dbtest.NewClock(time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC))
	dbtest.EachWith(t, dbtest.Options{Now: clock.Now}, func(t *testing.T, d *db.DB) {
		svc, month := city(t, d, 3, 4)
		// A run that died after its start: the state a SIGKILL before the first batch leaves.
		if err := d.Write(ctx, func(tx *db.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO contribution_runs(region, month, status, started_at, started_by, beat_at, payers)
				VALUES($1, $2, 'running', $3, 'admin', $3, 3)`, region, int(month), db.FormatTime(tx.Now))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		status := func() contrib.RunInfo {
			runs, err := svc.Runs(ctx, region, 10)
			if err != nil || len(runs) != 1 {
				t.Fatalf("runs = %+v, %v", runs, err)
			}
			return runs[0]
		}
		if r := status(); r.Status != "running" {
			t.Fatalf("just started: %+v", r)
		}
		clock.Advance(contrib.StaleAfter + time.Second)
		if r := status(); r.Status != "interrupted" || r.Bills != 0 || r.Payers != 3 {
			t.Fatalf("after %v without a batch: %+v", contrib.StaleAfter, r)
		}
		if _, err := svc.Run(ctx, audit.System, region, month, nil); err != nil {
			t.Fatal(err)
		}
		if r := status(); r.Status != "done" || r.Bills != 3 || r.Payers != 3 || r.FinishedAt.IsZero() {
			t.Fatalf("after running it again: %+v", r)
		}
	})
}
