package contrib_test

import (
	"errors"
	"reflect"
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
)

// TestPaymentIdempotentLateAndPartial pays one employer's bill in two parts, the second after the
// due date, retries the first, and checks fees, personal accounts and the ledger.
func TestPaymentIdempotentLateAndPartial(t *testing.T) {
	start := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	clock := dbtest.NewClock(start)
	dbtest.EachWith(t, dbtest.Options{Now: clock.Now}, func(t *testing.T, d *db.DB) {
		clock.Set(start)
		svc, month := city(t, d, 2, 3)
		if _, err := svc.Run(ctx, audit.System, region, month, nil); err != nil {
			t.Fatal(err)
		}
		var billID, employerID, total int64
		if err := d.R().QueryRowContext(ctx, "SELECT id, total FROM bills WHERE payer = 'employer:1'").Scan(&billID, &total); err != nil {
			t.Fatal(err)
		}
		employerID = 1
		hr := &auth.Principal{User: auth.User{Username: "hr", Role: auth.Employer, Regions: []string{region}, EmployerID: employerID}}
		other := &auth.Principal{User: auth.User{Username: "hr2", Role: auth.Employer, Regions: []string{region}, EmployerID: 2}}

		half := money.Fen(total / 2)
		first := contrib.NewPayment{IdemKey: "bank-ref-1", Payer: "employer:1", Amount: half.String(), PaidOn: "2026-03-10"}
		if _, err := svc.RecordPayment(ctx, other, first); !errs.Is(err, errs.NotFound) {
			t.Fatalf("another employer paid this one's bill: %v", err)
		}
		p1, err := svc.RecordPayment(ctx, hr, first)
		if err != nil || p1.Replay || len(p1.Allocations) != 1 || p1.Allocations[0].Principal != half || p1.Allocations[0].Fee != 0 {
			t.Fatalf("first payment: %+v %v", p1, err)
		}
		again, err := svc.RecordPayment(ctx, hr, first)
		// A retry answers what the first answered, allocations included.
		if err != nil || !again.Replay || again.ID != p1.ID || !reflect.DeepEqual(again.Allocations, p1.Allocations) || again.Amount != p1.Amount {
			t.Fatalf("retry: %+v %v; first %+v", again, err, p1)
		}
		// The day before the bill's month began is not a payment of it.
		early := contrib.NewPayment{IdemKey: "bank-ref-early", Payer: "employer:1", Amount: "1.00", PaidOn: month.First().AddDate(0, 0, -1).Format("2006-01-02")}
		if _, err := svc.RecordPayment(ctx, hr, early); func() bool { e, ok := errs.As(err); return !ok || e.Fields["paid_on"] == "" }() {
			t.Fatalf("a payment dated before its month: %v", err)
		}
		changed := first
		changed.Amount = (half + 1).String()
		if _, err := svc.RecordPayment(ctx, hr, changed); !errs.Is(err, errs.Conflict) {
			t.Fatalf("same key, other amount: %v", err)
		}
		var paid int64
		d.R().QueryRowContext(ctx, "SELECT paid FROM bills WHERE id = $1", billID).Scan(&paid)
		if paid != int64(half) {
			t.Fatalf("paid %d after a retry, want %d", paid, half)
		}

		// Ten days past the due date (15 April) the rest arrives with the late fee on it.
		clock.Advance(46 * 24 * time.Hour)
		rest := money.Fen(total) - half
		fee := contrib.LateFee(rest, money.Rate(500), 10) // 0.05% a day, the default policy
		if fee == 0 {
			t.Fatal("no late fee on an overdue bill")
		}
		tooMuch := contrib.NewPayment{IdemKey: "bank-ref-x", Payer: "employer:1", Amount: (rest + fee + 1).String(), PaidOn: "2026-04-25"}
		if _, err := svc.RecordPayment(ctx, hr, tooMuch); err == nil {
			t.Fatal("an overpayment was accepted")
		}
		p2, err := svc.RecordPayment(ctx, hr, contrib.NewPayment{IdemKey: "bank-ref-2", Payer: "employer:1", Amount: (rest + fee).String(), PaidOn: "2026-04-25"})
		if err != nil || len(p2.Allocations) != 1 || p2.Allocations[0].Principal != rest || p2.Allocations[0].Fee != fee {
			t.Fatalf("second payment: %+v %v (want principal %s fee %s)", p2, err, rest, fee)
		}

		// Paid in full: the staff's personal accounts hold their shares, once.
		var credited bool
		d.R().QueryRowContext(ctx, "SELECT accounts_credited FROM bills WHERE id = $1", billID).Scan(&credited)
		if !credited {
			t.Fatal("a fully paid bill did not credit personal accounts")
		}
		var pid, share int64
		d.R().QueryRowContext(ctx, "SELECT person_id, to_pension_account FROM contribution_lines WHERE bill_id = $1 ORDER BY person_id LIMIT 1", billID).Scan(&pid, &share)
		bal, err := ledger.Balance(ctx, d.R(), ledger.PersonAccount(region, ledger.PersonPension, pid))
		if err != nil || int64(bal) != share || share == 0 {
			t.Fatalf("pension account %s, want %d (%v)", bal, share, err)
		}
		lateFees, _ := ledger.Balance(ctx, d.R(), ledger.FundAccount(region, "late_fee"))
		if lateFees != fee {
			t.Fatalf("late-fee fund %s, want %s", lateFees, fee)
		}
		if _, err := ledger.Check(ctx, d); err != nil {
			t.Fatal(err)
		}
		// Bad input names its field and stores nothing.
		_, err = svc.RecordPayment(ctx, hr, contrib.NewPayment{IdemKey: "", Payer: "employer:1", Amount: "-3", PaidOn: "2026-13-01"})
		var e *errs.Error
		if !errors.As(err, &e) || len(e.Fields) < 3 {
			t.Fatalf("bad payment: %v", err)
		}
		var n int
		d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM payments").Scan(&n)
		if n != 2 {
			t.Fatalf("%d payments stored, want 2", n)
		}
		// The employer's payment history: newest first, each with the months it paid.
		hist, err := svc.Payments(ctx, hr, "employer:1", 10)
		if err != nil || len(hist) != 2 || hist[0].Reference != "bank-ref-2" || hist[1].Reference != "bank-ref-1" {
			t.Fatalf("payments = %+v, %v", hist, err)
		}
		if a := hist[0].Allocations; len(a) != 1 || a[0].Month != month || a[0].Principal != rest || a[0].Fee != fee || hist[0].Amount != rest+fee {
			t.Fatalf("latest payment %+v", hist[0])
		}
		if hist[1].Amount != half || hist[1].PaidOn.Format("2006-01-02") != "2026-03-10" {
			t.Fatalf("first payment %+v", hist[1])
		}
		if _, err := svc.Payments(ctx, other, "employer:1", 10); !errs.Is(err, errs.NotFound) {
			t.Fatalf("another employer read this one's payments: %v", err)
		}
	})
}
