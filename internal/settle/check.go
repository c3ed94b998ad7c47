package settle

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
	Settlements, Refunds, Clearings int
}

// Check compares the settlements with the ledger and with themselves, for `shebao ledger check`:
// every settlement's figures add up and equal its entry's postings, every refund reversed its
// entry, every person's year counters equal what their settlements counted, and every posted
// clearing's entry equals its amount. Each problem names the record.
func Check(ctx context.Context, d *db.DB) (CheckReport, error) {
	var rep CheckReport
	var f ledger.Findings
	err := d.Read(ctx, func(tx *db.Tx) error {
		f, rep = ledger.Findings{}, CheckReport{}
		if err := checkSettlements(ctx, tx, &f, &rep); err != nil {
			return err
		}
		if err := checkYears(ctx, tx, &f); err != nil {
			return err
		}
		return checkClearings(ctx, tx, &f, &rep)
	})
	if err != nil {
		return rep, fmt.Errorf("settle: check: %w", err)
	}
	return rep, f.Err()
}

func checkSettlements(ctx context.Context, tx *db.Tx, f *ledger.Findings, rep *CheckReport) error {
	type row struct {
		region, institution, id string
		sp                      Split
		person, entry, refund   int64
		refunded                bool
	}
	var rows []row
	err := db.EachRow(ctx, tx, func(scan func(...any) error) error {
		var r row
		var seq, total, c, b, el, ded, pool, acct, cash int64
		var refundedAt string
		if err := scan(&r.region, &seq, &r.institution, &r.person, &total, &c, &b, &el, &ded, &pool, &acct, &cash, &r.entry, &r.refund, &refundedAt); err != nil {
			return err
		}
		r.id, r.refunded = settlementID(r.region, seq), refundedAt != ""
		r.sp = Split{Total: money.Fen(total), SelfPayC: money.Fen(c), FirstSelfPayB: money.Fen(b), Eligible: money.Fen(el), Deductible: money.Fen(ded),
			Pool: money.Fen(pool), Account: money.Fen(acct), Cash: money.Fen(cash)}
		rows = append(rows, r)
		return nil
	}, `SELECT region, seq, institution_code, person_id, total, self_pay_c, first_self_pay_b, eligible, deductible, pool, account, cash,
		COALESCE(entry_id, 0), COALESCE(refund_entry_id, 0), refunded_at FROM settlements ORDER BY region, seq`)
	if err != nil {
		return err
	}
	for _, r := range rows {
		rep.Settlements++
		sp := r.sp
		if sp.Pool+sp.Account+sp.Cash != sp.Total || sp.Eligible != sp.Total-sp.SelfPayC-sp.FirstSelfPayB || sp.Deductible > sp.Eligible ||
			sp.Pool < 0 || sp.Account < 0 || sp.Cash < 0 {
			f.Add("settlement %s: its figures do not add up (total %s, pool %s, account %s, cash %s)", r.id, sp.Total, sp.Pool, sp.Account, sp.Cash)
		}
		want := settlementPostings(r.region, r.institution, r.person, sp)
		if len(want) == 0 {
			if r.entry != 0 {
				f.Add("settlement %s: paid all in cash, but has ledger entry %d", r.id, r.entry)
			}
		} else if got, err := postingsOf(ctx, tx, r.entry); err != nil {
			return err
		} else if diff := ledger.Differences(want, got); r.entry == 0 || len(diff) > 0 {
			f.Add("settlement %s: its ledger entry %d does not carry its figures %v", r.id, r.entry, diff)
		}
		if r.refunded {
			rep.Refunds++
			if len(want) > 0 {
				var reverses int64
				if err := tx.QueryRowContext(ctx, "SELECT COALESCE(reverses, 0) FROM ledger_entries WHERE id = $1", r.refund).Scan(&reverses); err != nil || reverses != r.entry {
					f.Add("settlement %s: refunded, but entry %d does not reverse its entry %d", r.id, r.refund, r.entry)
				}
			}
		}
	}
	return nil
}

// settlementPostings is the entry a settlement's figures make.
func settlementPostings(region, institution string, person int64, sp Split) []ledger.Posting {
	owed := sp.Pool + sp.Account
	if owed == 0 {
		return nil
	}
	var ps []ledger.Posting
	if sp.Pool > 0 {
		ps = append(ps, ledger.Posting{Account: ledger.FundAccount(region, string(policy.Medical)), Amount: sp.Pool})
	}
	if sp.Account > 0 {
		ps = append(ps, ledger.Posting{Account: ledger.PersonAccount(region, ledger.PersonMedical, person), Amount: sp.Account})
	}
	return append(ps, ledger.Posting{Account: ledger.InstitutionAccount(region, institution), Amount: -owed})
}

func postingsOf(ctx context.Context, r db.Reader, entry int64) ([]ledger.Posting, error) {
	var out []ledger.Posting
	err := db.EachRow(ctx, r, func(scan func(...any) error) error {
		var p ledger.Posting
		var amt int64
		if err := scan(&p.Account, &amt); err != nil {
			return err
		}
		p.Amount = money.Fen(amt)
		out = append(out, p)
		return nil
	}, "SELECT account, amount FROM ledger_postings WHERE entry_id = $1", entry)
	return out, err
}

// checkYears: each person's counters equal what their settlements of the year, refunds left out,
// counted.
func checkYears(ctx context.Context, tx *db.Tx, f *ledger.Findings) error {
	return db.EachRow(ctx, tx, func(scan func(...any) error) error {
		var region string
		var person int64
		var year int
		var d, op, ip, wd, wop, wip int64
		if err := scan(&region, &person, &year, &d, &op, &ip, &wd, &wop, &wip); err != nil {
			return err
		}
		f.Add("medical year %d of person %d in %s: counters deductible %s, outpatient pool %s, inpatient pool %s; the settlements counted %s, %s, %s",
			year, person, region, money.Fen(d), money.Fen(op), money.Fen(ip), money.Fen(wd), money.Fen(wop), money.Fen(wip))
		return nil
	}, `SELECT y.region, y.person_id, y.year, y.outpatient_deductible_used, y.outpatient_pool_paid, y.inpatient_pool_paid,
			COALESCE(s.d, 0), COALESCE(s.op, 0), COALESCE(s.ip, 0)
		FROM medical_years y LEFT JOIN (
			SELECT region, person_id, year,
				SUM(CASE WHEN kind = 'outpatient' THEN deductible ELSE 0 END) AS d,
				SUM(CASE WHEN kind = 'outpatient' THEN pool ELSE 0 END) AS op,
				SUM(CASE WHEN kind = 'inpatient' THEN pool ELSE 0 END) AS ip
			FROM settlements WHERE refunded_at = '' GROUP BY region, person_id, year) s
		ON s.region = y.region AND s.person_id = y.person_id AND s.year = y.year
		WHERE y.outpatient_deductible_used <> COALESCE(s.d, 0) OR y.outpatient_pool_paid <> COALESCE(s.op, 0) OR y.inpatient_pool_paid <> COALESCE(s.ip, 0)
		ORDER BY y.region, y.person_id, y.year LIMIT 1000`)
}

func checkClearings(ctx context.Context, tx *db.Tx, f *ledger.Findings, rep *CheckReport) error {
	var cs []Clearing
	if err := db.EachRow(ctx, tx, func(scan func(...any) error) error {
		c, err := scanClearing(scanRow(scan))
		cs = append(cs, c)
		return err
	}, "SELECT "+clearingColumns+" FROM clearings WHERE status = 'posted' ORDER BY region, institution_code, month"); err != nil {
		return err
	}
	for _, c := range cs {
		rep.Clearings++
		if c.Amount == 0 {
			continue
		}
		want := []ledger.Posting{{Account: ledger.InstitutionAccount(c.Region, c.Institution), Amount: c.Amount}, {Account: ledger.ClearingAccount(c.Region), Amount: -c.Amount}}
		got, err := postingsOf(ctx, tx, c.EntryID)
		if err != nil {
			return err
		}
		if diff := ledger.Differences(want, got); c.EntryID == 0 || len(diff) > 0 {
			f.Add("clearing %s of %s: its ledger entry %d does not carry its amount %s %v", c.Month, c.Institution, c.EntryID, c.Amount, diff)
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM clearings c WHERE c.status = 'posted' AND c.amount <> (SELECT COALESCE(SUM(s.pool + s.account), 0) FROM settlements s WHERE s.region = c.region AND s.institution_code = c.institution_code AND s.cleared_in = c.month) - (SELECT COALESCE(SUM(s.pool + s.account), 0) FROM settlements s WHERE s.region = c.region AND s.institution_code = c.institution_code AND s.refund_cleared_in = c.month)").Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		f.Add("%d posted clearings do not equal the settlements and refunds they took", n)
	}
	return nil
}
