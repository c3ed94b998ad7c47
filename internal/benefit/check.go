package benefit

import (
	"context"
	"fmt"

	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/policy"
)

// CheckReport counts what Check compared.
type CheckReport struct {
	Claims, Paid, Held int
}

// Check compares the benefit records with the ledger, for `shebao ledger check`: every paid month
// has its entry carrying exactly the benefit and the medical contribution, no held month has one,
// every claim's drawn months equal its paid months, and no claim has more months than it entitles.
func Check(ctx context.Context, d *db.DB) (CheckReport, error) {
	var rep CheckReport
	var f ledger.Findings
	err := d.Read(ctx, func(tx *db.Tx) error {
		f, rep = ledger.Findings{}, CheckReport{}
		type pay struct {
			region              string
			claim               int64
			month               int
			person, entry       int64
			amount, mpool, macc int64
			status              string
		}
		var pays []pay
		if err := db.EachRow(ctx, tx, func(scan func(...any) error) error {
			var p pay
			if err := scan(&p.region, &p.claim, &p.month, &p.person, &p.amount, &p.status, &p.mpool, &p.macc, &p.entry); err != nil {
				return err
			}
			pays = append(pays, p)
			return nil
		}, `SELECT region, claim_id, month, person_id, amount, status, medical_pool, medical_account, COALESCE(entry_id, 0)
			FROM benefit_payments ORDER BY region, claim_id, month`); err != nil {
			return err
		}
		for _, p := range pays {
			if p.status == "held" {
				rep.Held++
				if p.entry != 0 {
					f.Add("benefit %s claim %d month %d: held, but has ledger entry %d", p.region, p.claim, p.month, p.entry)
				}
				continue
			}
			rep.Paid++
			want := []ledger.Posting{
				{Account: ledger.FundAccount(p.region, string(policy.Unemployment)), Amount: money.Fen(p.amount + p.mpool + p.macc)},
				{Account: ledger.ClearingAccount(p.region), Amount: money.Fen(-p.amount)},
			}
			if p.mpool > 0 {
				want = append(want, ledger.Posting{Account: ledger.FundAccount(p.region, string(policy.Medical)), Amount: money.Fen(-p.mpool)})
			}
			if p.macc > 0 {
				want = append(want, ledger.Posting{Account: ledger.PersonAccount(p.region, ledger.PersonMedical, p.person), Amount: money.Fen(-p.macc)})
			}
			var got []ledger.Posting
			if err := db.EachRow(ctx, tx, func(scan func(...any) error) error {
				var q ledger.Posting
				var amt int64
				if err := scan(&q.Account, &amt); err != nil {
					return err
				}
				q.Amount = money.Fen(amt)
				got = append(got, q)
				return nil
			}, "SELECT account, amount FROM ledger_postings WHERE entry_id = $1", p.entry); err != nil {
				return err
			}
			if diff := ledger.Differences(want, got); p.entry == 0 || len(diff) > 0 {
				f.Add("benefit %s claim %d month %d: its ledger entry %d does not carry its payment %v", p.region, p.claim, p.month, p.entry, diff)
			}
		}
		return db.EachRow(ctx, tx, func(scan func(...any) error) error {
			var region string
			var id int64
			var drawn, total, paid, decided int
			if err := scan(&region, &id, &drawn, &total, &paid, &decided); err != nil {
				return err
			}
			rep.Claims++
			if drawn != paid {
				f.Add("claim %s %d: %d months drawn, %d paid", region, id, drawn, paid)
			}
			if decided > total {
				f.Add("claim %s %d: %d months decided of %d entitled", region, id, decided, total)
			}
			return nil
		}, `SELECT c.region, c.id, c.drawn_months, c.total_months,
			(SELECT COUNT(*) FROM benefit_payments p WHERE p.region = c.region AND p.claim_id = c.id AND p.status = 'paid'),
			(SELECT COUNT(*) FROM benefit_payments p WHERE p.region = c.region AND p.claim_id = c.id)
			FROM unemployment_claims c ORDER BY c.region, c.id`)
	})
	if err != nil {
		return rep, fmt.Errorf("benefit: check: %w", err)
	}
	return rep, f.Err()
}
