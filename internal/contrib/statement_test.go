package contrib_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
)

// TestStatementByYear bills and pays November and December 2025 and January 2026, each in its
// month, and reads the statement a year at a time: the latest year by default, the older one by
// its year, each with its own lines and movements, the balance at the year's end, and the cursor
// from the newer year to the older. The clock stands at 23:30 UTC on 31 January, already
// 1 February in Beijing.
func TestStatementByYear(t *testing.T) {
	start := time.Date(2025, 11, 10, 2, 0, 0, 0, time.UTC)
	clock := dbtest.NewClock(start)
	dbtest.EachWith(t, dbtest.Options{Now: clock.Now}, func(t *testing.T, d *db.DB) {
		clock.Set(start)
		svc, _ := city(t, d, 1, 2)
		clerk := &auth.Principal{User: auth.User{Username: "clerk", Role: auth.Clerk, Regions: []string{region}}}
		for i, m := range []period.Month{202511, 202512, 202601} {
			clock.Set(m.First().Add(10 * 24 * time.Hour))
			if _, err := svc.Run(ctx, audit.System, region, m, nil); err != nil {
				t.Fatal(err)
			}
			var total int64
			if err := d.R().QueryRowContext(ctx, "SELECT total FROM bills WHERE month = $1", int(m)).Scan(&total); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.RecordPayment(ctx, clerk, contrib.NewPayment{IdemKey: fmt.Sprintf("ref-%d", i), Payer: "employer:1",
				Amount: money.Fen(total).String(), PaidOn: period.Today(clock.Now()).Format("2006-01-02")}); err != nil {
				t.Fatal(err)
			}
		}
		clock.Set(time.Date(2026, 1, 31, 23, 30, 0, 0, time.UTC))
		var personID int64
		if err := d.R().QueryRowContext(ctx, "SELECT MIN(id) FROM persons").Scan(&personID); err != nil {
			t.Fatal(err)
		}
		me := &auth.Principal{User: auth.User{Username: "r", Role: auth.Resident, PersonID: personID}}

		latest, err := svc.Statement(ctx, me, personID, contrib.StatementQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if latest.From != 202601 || latest.To != 202612 || fmt.Sprint(latest.Years) != "[2026 2025]" || latest.Older != 2025 {
			t.Fatalf("latest page: from %v to %v, years %v, older %d", latest.From, latest.To, latest.Years, latest.Older)
		}
		if len(latest.Lines) != 1 || latest.Lines[0].Month != 202601 || !latest.Lines[0].Settled {
			t.Fatalf("2026's lines: %+v", latest.Lines)
		}
		if len(latest.PensionMovements) != 1 || latest.MonthOf(latest.PensionMovements[0]) != 202601 || latest.PensionClosing != latest.PensionBalance {
			t.Fatalf("2026's pension movements %+v, closing %v of %v", latest.PensionMovements, latest.PensionClosing, latest.PensionBalance)
		}
		jan := latest.Lines[0].ToPension

		old, err := svc.Statement(ctx, me, personID, contrib.StatementQuery{Year: latest.Older})
		if err != nil {
			t.Fatal(err)
		}
		if old.From != 202501 || old.To != 202512 || old.Older != 0 || len(old.Lines) != 2 || old.Lines[0].Month != 202512 || old.Lines[1].Month != 202511 {
			t.Fatalf("2025's page: from %v to %v, older %d, lines %+v", old.From, old.To, old.Older, old.Lines)
		}
		if len(old.PensionMovements) != 2 || old.PensionBalance != latest.PensionBalance || old.PensionClosing != old.PensionBalance-jan {
			t.Fatalf("2025's pension: %d movements, balance %v, closing %v (January credited %v)", len(old.PensionMovements), old.PensionBalance, old.PensionClosing, jan)
		}
		var sum money.Fen
		for _, m := range old.PensionMovements {
			sum += m.Amount
		}
		if sum != old.PensionClosing { // the account opened in November 2025
			t.Fatalf("2025's movements sum to %v, its closing balance is %v", sum, old.PensionClosing)
		}

		both, err := svc.Statement(ctx, me, personID, contrib.StatementQuery{Year: 2026, Years: 2})
		if err != nil || both.From != 202501 || len(both.Lines) != 3 || len(both.MedicalMovements) != 3 || both.Older != 0 {
			t.Fatalf("two years: %+v %v", both, err)
		}
		empty, err := svc.Statement(ctx, me, personID, contrib.StatementQuery{Year: 2020})
		if err != nil || len(empty.Lines) != 0 || len(empty.PensionMovements) != 0 || empty.PensionClosing != 0 || empty.Older != 0 {
			t.Fatalf("a year before any contribution: %+v %v", empty, err)
		}
		if _, err := svc.Statement(ctx, me, personID, contrib.StatementQuery{Years: 11}); !errs.Is(err, errs.Invalid) {
			t.Fatalf("eleven years a page: %v", err)
		}
		other := &auth.Principal{User: auth.User{Username: "o", Role: auth.Resident, PersonID: personID + 1}}
		if _, err := svc.Statement(ctx, other, personID, contrib.StatementQuery{}); !errs.Is(err, errs.NotFound) {
			t.Fatalf("another resident's statement: %v", err)
		}
		if _, err := ledger.Check(ctx, d); err != nil {
			t.Fatal(err)
		}
	})
}
