package ledger

import (
	"context"
	"fmt"

	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/money"
)

// MaxProblems bounds how many problems a check lists, so that a badly damaged database cannot make
// the check itself run out of memory; the count of the rest is still reported.
const MaxProblems = 1000

// Violation lists the broken invariants a check found, each naming its record.
type Violation struct {
	Problems []string
	More     int // found beyond MaxProblems and not listed
}

func (v *Violation) Error() string {
	if n := len(v.Problems) + v.More; n > 1 {
		return fmt.Sprintf("ledger: %s (and %d more problems)", v.Problems[0], n-1)
	}
	return "ledger: " + v.Problems[0]
}

// Findings collects the problems of a check, up to MaxProblems.
type Findings struct {
	problems []string
	more     int
}

// Add records a problem; its text names the record at fault.
func (f *Findings) Add(format string, args ...any) {
	if len(f.problems) >= MaxProblems {
		f.more++
		return
	}
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
}

// Err is a *Violation listing the problems found, or nil.
func (f *Findings) Err() error {
	if len(f.problems) == 0 {
		return nil
	}
	return &Violation{Problems: f.problems, More: f.more}
}

// Report is what Check counted.
type Report struct {
	Entries  int64
	Postings int64
	Accounts int64
}

// perQuery bounds the rows one invariant query lists; MaxProblems bounds them all.
const perQuery = 100

// Check proves the ledger's invariants from one snapshot: every entry has at least two postings,
// balances to zero and still matches its content hash; every account's balance equals the sum of
// its postings; no protected account is below zero; every reversal reverses an existing entry and
// is its exact opposite; every posting carries its entry's day. It returns a *Violation naming each entry or account at fault.
//
// Check knows nothing of what caused an entry: that the bills, payments and personal-account
// credits agree with their entries is checked by the capabilities that own them (contrib.Check).
func Check(ctx context.Context, d *db.DB) (Report, error) {
	var rep Report
	var f Findings
	err := d.Read(ctx, func(tx *db.Tx) error {
		f = Findings{}
		checks := []struct {
			q    string
			what string
		}{
			{`SELECT CAST(e.id AS TEXT) FROM ledger_entries e LEFT JOIN ledger_postings p ON p.entry_id = e.id
				GROUP BY e.id HAVING COUNT(p.account) < 2 ORDER BY e.id LIMIT $1`, "entry %s has fewer than two postings"},
			{`SELECT CAST(entry_id AS TEXT) FROM ledger_postings GROUP BY entry_id HAVING SUM(amount) <> 0 ORDER BY entry_id LIMIT $1`,
				"entry %s does not balance"},
			{`SELECT a.code FROM ledger_accounts a LEFT JOIN (SELECT account, SUM(amount) AS s FROM ledger_postings GROUP BY account) p
				ON p.account = a.code WHERE a.balance <> COALESCE(p.s, 0) ORDER BY a.code LIMIT $1`, "account %s: its balance is not the sum of its postings"},
			{`SELECT a.code FROM ledger_accounts a WHERE a.no_overdraft AND ((a.normal = 'credit' AND a.balance > 0) OR (a.normal = 'debit' AND a.balance < 0))
				ORDER BY a.code LIMIT $1`, "account %s is overdrawn"},
			{`SELECT DISTINCT CAST(p.entry_id AS TEXT) FROM ledger_postings p LEFT JOIN ledger_accounts a ON a.code = p.account WHERE a.code IS NULL
				ORDER BY 1 LIMIT $1`, "entry %s posts to an account that does not exist"},
			{`SELECT DISTINCT CAST(r.id AS TEXT) FROM ledger_entries r JOIN ledger_postings rp ON rp.entry_id = r.id
				LEFT JOIN ledger_postings op ON op.entry_id = r.reverses AND op.account = rp.account
				WHERE r.reverses IS NOT NULL AND (op.amount IS NULL OR op.amount <> -rp.amount) ORDER BY 1 LIMIT $1`,
				"reversal %s is not the exact opposite of the entry it reverses"},
			{`SELECT DISTINCT CAST(p.entry_id AS TEXT) FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id
				WHERE p.at_day IS NULL OR p.at_day <> CAST(substr(e.at, 1, 4) || substr(e.at, 6, 2) || substr(e.at, 9, 2) AS INTEGER) ORDER BY 1 LIMIT $1`,
				"entry %s has postings not dated on its day"},
		}
		for _, c := range checks {
			if err := db.EachRow(ctx, tx, func(scan func(...any) error) error {
				var s string
				if err := scan(&s); err != nil {
					return err
				}
				f.Add(c.what, s)
				return nil
			}, c.q, perQuery); err != nil {
				return fmt.Errorf("ledger: check: %w", err)
			}
		}
		if err := verifyHashes(ctx, tx, &f); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM ledger_entries").Scan(&rep.Entries); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM ledger_postings").Scan(&rep.Postings); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM ledger_accounts").Scan(&rep.Accounts)
	})
	if err != nil {
		return rep, err
	}
	return rep, f.Err()
}

// verifyHashes recomputes every entry's content hash from its stored fields and postings, in one
// pass over the postings in entry order, holding one entry at a time.
func verifyHashes(ctx context.Context, tx *db.Tx, f *Findings) error {
	var cur Entry
	var curID, curReverses int64
	var stored string
	flush := func() {
		if curID != 0 && cur.hashLike(stored, curReverses) != stored {
			f.Add("entry %d (%s): its contents do not match its content hash (altered)", curID, cur.IdemKey)
		}
	}
	err := db.EachRow(ctx, tx, func(scan func(...any) error) error {
		var id, reverses, amount int64
		var e Entry
		var hash, account string
		if err := scan(&id, &e.IdemKey, &e.Region, &e.Cause, &e.CauseRef, &reverses, &hash, &account, &amount); err != nil {
			return err
		}
		if id != curID {
			flush()
			cur, curID, curReverses, stored = e, id, reverses, hash
		}
		cur.Postings = append(cur.Postings, Posting{Account: account, Amount: money.Fen(amount)})
		return nil
	}, `SELECT e.id, e.idem_key, e.region, e.cause, e.cause_ref, COALESCE(e.reverses, 0), e.content_hash, p.account, p.amount
		FROM ledger_entries e JOIN ledger_postings p ON p.entry_id = e.id ORDER BY e.id`)
	if err != nil {
		return fmt.Errorf("ledger: check content hashes: %w", err)
	}
	flush()
	return nil
}

// Difference is one account on which an entry differs from what its cause says it should post:
// Want is the expected amount and Got the posted one, 0 where there is no posting (a posting is
// never zero).
type Difference struct {
	Account   string
	Want, Got money.Fen
}

func (d Difference) String() string {
	switch {
	case d.Got == 0:
		return fmt.Sprintf("has no posting to %s (want %s)", d.Account, signedText(d.Want))
	case d.Want == 0:
		return fmt.Sprintf("posts %s to %s, which it should not touch", signedText(d.Got), d.Account)
	}
	return fmt.Sprintf("posts %s to %s (want %s)", signedText(d.Got), d.Account, signedText(d.Want))
}

// Differences compares the postings an entry has with those it should have, in the order of want
// and then of the unexpected accounts in got.
func Differences(want, got []Posting) []Difference {
	have := make(map[string]money.Fen, len(got))
	for _, p := range got {
		have[p.Account] += p.Amount
	}
	var out []Difference
	for _, p := range want {
		if g := have[p.Account]; g != p.Amount {
			out = append(out, Difference{Account: p.Account, Want: p.Amount, Got: g})
		}
		delete(have, p.Account)
	}
	for _, p := range got {
		if g, ok := have[p.Account]; ok {
			out = append(out, Difference{Account: p.Account, Got: g})
			delete(have, p.Account)
		}
	}
	return out
}

// signedText shows a posting's amount as a debit or a credit.
func signedText(a money.Fen) string {
	if a < 0 {
		return "credit " + (-a).String()
	}
	return "debit " + a.String()
}
