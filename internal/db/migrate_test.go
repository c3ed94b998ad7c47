package db_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
)

// TestPaymentKeysPerCaller migrates a database with payments, as release 10 left it, to the
// caller-scoped keys of 0011: every row and reference survives, new payments number on from the
// old ones, the same key from two accounts is two payments, and from one account still one.
func TestPaymentKeysPerCaller(t *testing.T) {
	open := map[string]func(t *testing.T) *db.DB{
		"sqlite": func(t *testing.T) *db.DB {
			d, err := db.Open(context.Background(), db.Options{URL: "sqlite:" + filepath.Join(t.TempDir(), db.FileName), Now: dbtest.Now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			return d
		},
		"postgres": func(t *testing.T) *db.DB {
			d, err := db.Open(context.Background(), db.Options{URL: dbtest.PostgresURL(t), Now: dbtest.Now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			return d
		},
	}
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			d := open[engine](t)
			if _, err := d.MigrateTo(ctx, 10); err != nil {
				t.Fatal(err)
			}
			exec := func(q string, args ...any) error {
				return d.Write(ctx, func(tx *db.Tx) error { _, err := tx.ExecContext(ctx, q, args...); return err })
			}
			pay := func(by, key string) error {
				return exec(`INSERT INTO payments(region, payer, idem_key, content_hash, amount, paid_on, excess, recorded_by, recorded_at)
					VALUES('330100', 'employer:1', $1, 'h', 100, '2026-11-20', 0, $2, 't')`, key, by)
			}
			idOf := func(by, key string) int64 {
				var id int64
				if err := d.R().QueryRowContext(ctx, "SELECT id FROM payments WHERE recorded_by = $1 AND idem_key = $2", by, key).Scan(&id); err != nil {
					t.Fatalf("payment %s/%s: %v", by, key, err)
				}
				return id
			}
			if err := exec(`INSERT INTO bills(id, region, month, payer, persons, total, due_date, created_at)
				VALUES(7, '330100', 202611, 'employer:1', 1, 100, 'd', 't')`); err != nil {
				t.Fatal(err)
			}
			for _, key := range []string{"BANK-1", "BANK-2"} {
				if err := pay("u-bank", key); err != nil {
					t.Fatal(err)
				}
			}
			first, last := idOf("u-bank", "BANK-1"), idOf("u-bank", "BANK-2")
			if err := pay("u-clerk", "BANK-1"); !db.IsUniqueViolation(err) {
				t.Fatalf("before 0011 a key is unique across callers; got %v", err)
			}
			if err := exec("INSERT INTO payment_allocations(payment_id, bill_id, principal, fee) VALUES($1, 7, 100, 0)", first); err != nil {
				t.Fatal(err)
			}
			if n, err := d.Migrate(ctx); err != nil || n < 1 {
				t.Fatalf("migrate: %d, %v", n, err)
			}
			var rows, allocs int
			if err := d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM payments").Scan(&rows); err != nil || rows != 2 {
				t.Fatalf("payments after 0011: %d, %v", rows, err)
			}
			if err := d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM payment_allocations WHERE payment_id = $1", first).Scan(&allocs); err != nil || allocs != 1 {
				t.Fatalf("allocations after 0011: %d, %v", allocs, err)
			}
			// The same key from another account is another payment, numbered after the old ones.
			if err := pay("u-clerk", "BANK-1"); err != nil {
				t.Fatalf("the clerk's own BANK-1: %v", err)
			}
			if id := idOf("u-clerk", "BANK-1"); id <= last {
				t.Fatalf("new payment id %d; want above %d", id, last)
			}
			id := idOf("u-clerk", "BANK-1")
			if err := pay("u-bank", "BANK-2"); !db.IsUniqueViolation(err) {
				t.Fatalf("the same key from the same account: %v; want a unique violation", err)
			}
			// The allocations still refer to payments.
			if err := exec("INSERT INTO payment_allocations(payment_id, bill_id, principal, fee) VALUES(9999, 7, 1, 0)"); err == nil {
				t.Fatal("an allocation of no payment was accepted: the foreign key is gone")
			}
			if err := exec("INSERT INTO payment_allocations(payment_id, bill_id, principal, fee) VALUES($1, 7, 1, 0)", id); err != nil {
				t.Fatalf("allocation of the new payment: %v", err)
			}
		})
	}
}
