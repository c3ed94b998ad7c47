package contrib_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
)

// paidCity is a billed month of two employers: employer 1 paid in full (its personal accounts
// credited), employer 2 in part.
func paidCity(t *testing.T, d *db.DB) {
	t.Helper()
	svc, month := city(t, d, 2, 3)
	if _, err := svc.Run(ctx, audit.System, region, month, nil); err != nil {
		t.Fatal(err)
	}
	clerk := &auth.Principal{User: auth.User{Username: "clerk", Role: auth.Clerk, Regions: []string{region}}}
	today := period.Today(d.Now()).Format("2006-01-02")
	for i, payer := range []string{"employer:1", "employer:2"} {
		var total int64
		if err := d.R().QueryRowContext(ctx, "SELECT total FROM bills WHERE payer = $1", payer).Scan(&total); err != nil {
			t.Fatal(err)
		}
		amount := money.Fen(total)
		if i == 1 {
			amount /= 3
		}
		if _, err := svc.RecordPayment(ctx, clerk, contrib.NewPayment{IdemKey: fmt.Sprintf("ref-%d", i), Payer: payer, Amount: amount.String(), PaidOn: today}); err != nil {
			t.Fatal(err)
		}
	}
}

func exec(t *testing.T, d *db.DB, qs ...string) {
	t.Helper()
	if err := d.Write(ctx, func(tx *db.Tx) error {
		for _, q := range qs {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// problems runs both checks and returns every problem they list.
func problems(t *testing.T, d *db.DB) []string {
	t.Helper()
	var out []string
	_, lerr := ledger.Check(ctx, d)
	_, cerr := contrib.Check(ctx, d)
	for _, err := range []error{lerr, cerr} {
		var v *ledger.Violation
		if errors.As(err, &v) {
			out = append(out, v.Problems...)
		} else if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestCheckComparesRecordsWithLedger changes the database behind shebao's back, one way at a time,
// and shows which record each check names; undoing the change makes both checks pass again.
func TestCheckComparesRecordsWithLedger(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		paidCity(t, d)
		if p := problems(t, d); len(p) != 0 {
			t.Fatalf("a sound database: %q", p)
		}
		rep, _ := contrib.Check(ctx, d)
		if rep.Bills != 2 || rep.Lines != 6 || rep.Payments != 2 {
			t.Fatalf("compared %+v; want 2 bills, 6 lines, 2 payments", rep)
		}
		id := func(q string) int64 {
			var n int64
			if err := d.R().QueryRowContext(ctx, q).Scan(&n); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			return n
		}
		pay := id("SELECT id FROM payments WHERE payer = 'employer:1'")
		payEntry := id(fmt.Sprintf("SELECT id FROM ledger_entries WHERE idem_key = 'payment:%d'", pay))
		bill := id("SELECT id FROM bills WHERE payer = 'employer:1'")
		person := id(fmt.Sprintf("SELECT MIN(person_id) FROM contribution_lines WHERE bill_id = %d", bill))
		other := id(fmt.Sprintf("SELECT MAX(person_id) FROM contribution_lines WHERE bill_id = %d", bill))
		clearing, receivable := ledger.ClearingAccount(region), ledger.EmployerAccount(region, 1)
		pension := func(p int64) string { return ledger.PersonAccount(region, ledger.PersonPension, p) }
		move := func(entry int64, account string, by int) string {
			return fmt.Sprintf("UPDATE ledger_postings SET amount = amount + %d WHERE entry_id = %d AND account = '%s'", by, entry, account)
		}
		balance := func(account string, by int) string {
			return fmt.Sprintf("UPDATE ledger_accounts SET balance = balance + %d WHERE code = '%s'", by, account)
		}
		runEntry := id("SELECT id FROM ledger_entries WHERE cause = 'contribution'")
		fund := ledger.FundAccount(region, "unemployment")
		var month string
		d.R().QueryRowContext(ctx, "SELECT CAST(month AS TEXT) FROM bills WHERE id = "+fmt.Sprint(bill)).Scan(&month)
		accountsEntry := id(fmt.Sprintf("SELECT id FROM ledger_entries WHERE idem_key = 'accounts:bill:%d'", bill))
		cases := []struct {
			name         string
			change, undo []string
			want         []string // each must appear in some problem
		}{
			{"both legs and both balances raised alike",
				[]string{move(payEntry, clearing, 10000), move(payEntry, receivable, -10000), balance(clearing, 10000), balance(receivable, -10000)},
				[]string{move(payEntry, clearing, -10000), move(payEntry, receivable, 10000), balance(clearing, -10000), balance(receivable, 10000)},
				[]string{fmt.Sprintf("entry %d (payment:%d): its contents do not match its content hash", payEntry, pay),
					fmt.Sprintf("payment %d (employer:1): amount", pay)}},
			{"a run entry's receivable and fund raised alike",
				[]string{move(runEntry, receivable, 900), move(runEntry, fund, -900), balance(receivable, 900), balance(fund, -900)},
				[]string{move(runEntry, receivable, -900), move(runEntry, fund, 900), balance(receivable, -900), balance(fund, 900)},
				[]string{fmt.Sprintf("entry %d (bills:%s:", runEntry, region), fmt.Sprintf("bill %d (employer:1, ", bill),
					fmt.Sprintf("entry %d (bills:%s:%s:%d): against the lines of the bills it books, it posts credit", runEntry, region, month, bill)}},
			{"a payment's amount",
				[]string{fmt.Sprintf("UPDATE payments SET amount = amount + 500 WHERE id = %d", pay)},
				[]string{fmt.Sprintf("UPDATE payments SET amount = amount - 500 WHERE id = %d", pay)},
				[]string{fmt.Sprintf("payment %d (employer:1): amount", pay)}},
			{"a bill's total",
				[]string{fmt.Sprintf("UPDATE bills SET total = total + 700, paid = paid + 700 WHERE id = %d", bill)},
				[]string{fmt.Sprintf("UPDATE bills SET total = total - 700, paid = paid - 700 WHERE id = %d", bill)},
				[]string{fmt.Sprintf("bill %d (employer:1, ", bill)}},
			{"an allocation",
				[]string{fmt.Sprintf("UPDATE payment_allocations SET principal = principal - 300, fee = fee + 300 WHERE payment_id = %d", pay)},
				[]string{fmt.Sprintf("UPDATE payment_allocations SET principal = principal + 300, fee = fee - 300 WHERE payment_id = %d", pay)},
				[]string{fmt.Sprintf("bill %d (employer:1, ", bill), fmt.Sprintf("payment %d (employer:1)", pay)}},
			{"a line's personal-account share",
				[]string{fmt.Sprintf("UPDATE contribution_lines SET to_pension_account = to_pension_account + 1 WHERE person_id = %d", person)},
				[]string{fmt.Sprintf("UPDATE contribution_lines SET to_pension_account = to_pension_account - 1 WHERE person_id = %d", person)},
				[]string{fmt.Sprintf("bill %d (employer:1, ", bill), pension(person)}},
			{"one person's credit moved to another's",
				[]string{move(accountsEntry, pension(person), -100), move(accountsEntry, pension(other), 100), balance(pension(person), -100), balance(pension(other), 100)},
				[]string{move(accountsEntry, pension(person), 100), move(accountsEntry, pension(other), -100), balance(pension(person), 100), balance(pension(other), -100)},
				[]string{fmt.Sprintf("bill %d (employer:1, ", bill), pension(person), pension(other)}},
			{"a paid bill marked as not credited",
				[]string{fmt.Sprintf("UPDATE bills SET accounts_credited = FALSE WHERE id = %d", bill)},
				[]string{fmt.Sprintf("UPDATE bills SET accounts_credited = TRUE WHERE id = %d", bill)},
				[]string{fmt.Sprintf("bill %d (employer:1, ", bill)}},
			{"the payment entry hidden under another cause",
				[]string{fmt.Sprintf("UPDATE ledger_entries SET cause = 'settlement' WHERE id = %d", payEntry)},
				[]string{fmt.Sprintf("UPDATE ledger_entries SET cause = 'payment' WHERE id = %d", payEntry)},
				[]string{fmt.Sprintf("payment %d (employer:1): its ledger entry %d has cause", pay, payEntry)}},
			{"a payment deleted",
				[]string{fmt.Sprintf("DELETE FROM payment_allocations WHERE payment_id = %d", pay), fmt.Sprintf("DELETE FROM payments WHERE id = %d", pay)},
				nil,
				[]string{fmt.Sprintf("entry %d (payment:%d): a payment entry without its payment", payEntry, pay)}},
		}
		for _, c := range cases {
			exec(t, d, c.change...)
			got := problems(t, d)
			t.Logf("%s:\n  %s", c.name, strings.Join(got, "\n  "))
			for _, w := range c.want {
				found := false
				for _, p := range got {
					found = found || strings.Contains(p, w)
				}
				if !found {
					t.Errorf("%s: no problem names %q; got %q", c.name, w, got)
				}
			}
			if c.undo == nil {
				continue
			}
			exec(t, d, c.undo...)
			if p := problems(t, d); len(p) != 0 {
				t.Fatalf("%s undone: %q", c.name, p)
			}
		}
	})
}
