package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/shebao/shebao/internal/db"
)

// Violation names the first broken invariant.
type Violation struct {
	What string
}

func (v *Violation) Error() string { return "ledger: " + v.What }

// Report is what Check counted.
type Report struct {
	Entries  int64
	Postings int64
	Accounts int64
}

// Check proves the ledger's invariants from one snapshot: every entry has at least two postings and
// balances to zero; every account's balance equals the sum of its postings; no protected account is
// below zero; every reversal reverses an existing entry and is its exact opposite. It returns a
// *Violation naming the first one broken.
func Check(ctx context.Context, d *db.DB) (Report, error) {
	var rep Report
	err := d.Read(ctx, func(tx *db.Tx) error {
		one := func(q string, args ...any) (string, bool, error) {
			var s string
			err := tx.QueryRowContext(ctx, q, args...).Scan(&s)
			if errors.Is(err, sql.ErrNoRows) {
				return "", false, nil
			}
			if err != nil {
				return "", false, err
			}
			return s, true, nil
		}
		checks := []struct {
			q    string
			what string
		}{
			{`SELECT CAST(e.id AS TEXT) FROM ledger_entries e LEFT JOIN ledger_postings p ON p.entry_id = e.id
				GROUP BY e.id HAVING COUNT(p.account) < 2 ORDER BY e.id LIMIT 1`, "entry %s has fewer than two postings"},
			{`SELECT CAST(entry_id AS TEXT) FROM ledger_postings GROUP BY entry_id HAVING SUM(amount) <> 0 ORDER BY entry_id LIMIT 1`,
				"entry %s does not balance"},
			{`SELECT a.code FROM ledger_accounts a LEFT JOIN (SELECT account, SUM(amount) AS s FROM ledger_postings GROUP BY account) p
				ON p.account = a.code WHERE a.balance <> COALESCE(p.s, 0) ORDER BY a.code LIMIT 1`, "account %s: its balance is not the sum of its postings"},
			{`SELECT a.code FROM ledger_accounts a WHERE a.no_overdraft AND ((a.normal = 'credit' AND a.balance > 0) OR (a.normal = 'debit' AND a.balance < 0))
				ORDER BY a.code LIMIT 1`, "account %s is overdrawn"},
			{`SELECT CAST(p.entry_id AS TEXT) FROM ledger_postings p LEFT JOIN ledger_accounts a ON a.code = p.account WHERE a.code IS NULL LIMIT 1`,
				"entry %s posts to an account that does not exist"},
			{`SELECT CAST(r.id AS TEXT) FROM ledger_entries r JOIN ledger_postings rp ON rp.entry_id = r.id
				LEFT JOIN ledger_postings op ON op.entry_id = r.reverses AND op.account = rp.account
				WHERE r.reverses IS NOT NULL AND (op.amount IS NULL OR op.amount <> -rp.amount) ORDER BY r.id LIMIT 1`,
				"reversal %s is not the exact opposite of the entry it reverses"},
		}
		for _, c := range checks {
			s, found, err := one(c.q)
			if err != nil {
				return fmt.Errorf("ledger: check: %w", err)
			}
			if found {
				return &Violation{What: fmt.Sprintf(c.what, s)}
			}
		}
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM ledger_entries").Scan(&rep.Entries); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM ledger_postings").Scan(&rep.Postings); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM ledger_accounts").Scan(&rep.Accounts)
	})
	return rep, err
}
