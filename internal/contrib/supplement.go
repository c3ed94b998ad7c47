package contrib

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
)

// Supplementary bills (补缴).
//
// A bill, once issued, never changes: what the payer was asked for on that day stays what they were
// asked for. A declaration that reaches back into a month already billed (staff added from an
// earlier month, a base raised from an earlier month, a clerk's correction) is billed by a
// supplementary bill of the same month: the month as the declarations make it now, assessed with the
// month's own policy, less everything the payer's bills of that month already hold, person by
// person and column by column. Its due date is the month's own, so the late fee runs from the
// original due date (Social Insurance Law Art. 86), and from there on it is a bill like any other:
// paid oldest month first, its personal-account shares credited when it is paid in full, shown on
// the bills page, the statement and the region's totals.
//
// The registry marks the payer's month in restated_months in the transaction of the declaration;
// Supplements bills each mark and removes it in one transaction, so a declaration is billed once
// whatever stops in between. It runs at the start of every monthly run (running a billed month
// again is how a clerk asks for it) and right after an employer's declarations.
//
// Only what is owed in addition is billed. A person whose month now asks for less than was billed
// (a base lowered for a billed month, a removal dated back) is a refund (退费), a business of its
// own with the window; such a person gets no line and is counted in the supplement's Decreases,
// which the audit entry records.

// Supplement is what Supplements found for one payer's month.
type Supplement struct {
	Region    string
	Payer     string
	Month     period.Month
	Bill      int64 // the supplementary bill; 0 when nothing more was owed
	Number    int   // 1 for the month's first supplement (0: the month's own bill, made late because the payer had none)
	Persons   int
	Total     money.Fen
	Decreases int // persons whose month now asks for less than billed: not refunded here
}

// Supplements bills the months marked as restated in a region (only payer's, when payer is not
// ""), oldest month first, each in its own transaction. A month that has no run yet is left to its
// run, which bills it as declared; a month that has not begun by the service's clock is not
// looked at.
func (s *Service) Supplements(ctx context.Context, who audit.Actor, region, payer string) ([]Supplement, error) {
	type mark struct {
		payer string
		month period.Month
	}
	var marks []mark
	q := "SELECT payer, month FROM restated_months WHERE region = $1 AND ($2 = '' OR payer = $2) AND month <= $3 ORDER BY month, payer"
	if err := db.EachRow(ctx, s.db.R(), func(scan func(...any) error) error {
		var m mark
		var month int
		err := scan(&m.payer, &month)
		m.month = period.Month(month)
		marks = append(marks, m)
		return err
	}, q, region, payer, int(period.MonthOf(s.now()))); err != nil {
		return nil, fmt.Errorf("contrib: restated months: %w", err)
	}
	var out []Supplement
	for _, m := range marks {
		sup, err := s.supplement(ctx, who, region, m.payer, m.month)
		if err != nil {
			return out, err
		}
		if sup.Bill != 0 || sup.Decreases > 0 {
			out = append(out, sup)
		}
	}
	return out, nil
}

// supplement bills one marked month of a payer and removes the mark, in one transaction.
func (s *Service) supplement(ctx context.Context, who audit.Actor, region, payer string, month period.Month) (Supplement, error) {
	var sup Supplement
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		sup = Supplement{Region: region, Payer: payer, Month: month}
		var marked int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM restated_months WHERE region = $1 AND payer = $2 AND month = $3",
			region, payer, int(month)).Scan(&marked); err != nil {
			return err
		}
		if marked == 0 {
			return nil // billed meanwhile by another caller
		}
		unmark := func() error {
			_, err := tx.ExecContext(ctx, "DELETE FROM restated_months WHERE region = $1 AND payer = $2 AND month = $3", region, payer, int(month))
			return err
		}
		var bills, runs int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM bills WHERE region = $1 AND month = $2 AND payer = $3),
			(SELECT COUNT(*) FROM contribution_runs WHERE region = $1 AND month = $2)`, region, int(month), payer).Scan(&bills, &runs); err != nil {
			return err
		}
		if bills == 0 && runs == 0 {
			return unmark() // the month's run bills it as declared
		}
		v, err := s.policies.Effective(ctx, tx, region, month)
		if err != nil {
			return err
		}
		var insured []policy.Insurance
		for _, c := range v.Policy.Categories {
			if c.InsuredBy == policy.ByEmployer {
				insured = c.Insurances
				break
			}
		}
		members, err := s.members(ctx, tx, region, month, []string{payer})
		if err != nil {
			return err
		}
		should := assessPayer(Compile(&v.Policy.Contributions), insured, payer, members[payer])
		billed, err := billedLines(ctx, tx, region, month, payer)
		if err != nil {
			return err
		}
		draft := draftBill{payer: payer, funds: make([]money.Fen, len(policy.Insurances))}
		assessed := map[int64]bool{}
		for _, l := range should.lines {
			assessed[l[0].(int64)] = true
		}
		for person, b := range billed {
			if !assessed[person] && b != ([10]int64{}) {
				sup.Decreases++ // billed, and no longer on the payer's month at all
			}
		}
		for _, l := range should.lines {
			d, more, less := lineDifference(l, billed[l[0].(int64)])
			switch {
			case less:
				sup.Decreases++
			case more:
				draft.lines = append(draft.lines, d)
				addToFunds(&draft, d)
			}
		}
		if len(draft.lines) == 0 {
			if sup.Decreases > 0 {
				if err := audit.Record(ctx, tx, who, "contribution.supplement", supplementObject(region, payer, month), region,
					map[string]any{"bill": 0, "decreases": sup.Decreases}); err != nil {
					return err
				}
			}
			return unmark()
		}
		sup.Number, sup.Persons, sup.Total = bills, len(draft.lines), draft.total
		due := db.FormatTime(DueDate(month, v.Policy.Contributions.DueDay))
		if err := tx.QueryRowContext(ctx, `INSERT INTO bills(region, month, payer, supplement, persons, total, due_date, created_at)
			VALUES($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, region, int(month), payer, sup.Number, sup.Persons, int64(sup.Total), due,
			db.FormatTime(tx.Now)).Scan(&sup.Bill); err != nil {
			return fmt.Errorf("contrib: supplementary bill: %w", err)
		}
		lines := tx.Inserter("contribution_lines", "region", "bill_id", "person_id", "month", "base", "pension_employer", "pension_employee",
			"medical_employer", "medical_employee", "unemployment_employer", "unemployment_employee", "work_injury_employer",
			"to_pension_account", "to_medical_account")
		for _, l := range draft.lines {
			row := [14]any{region, sup.Bill, l[0], int(month), l[1], l[2], l[3], l[4], l[5], l[6], l[7], l[8], l[9], l[10]}
			if err := lines.Add(ctx, row[:]...); err != nil {
				return err
			}
		}
		if err := lines.Close(ctx); err != nil {
			return err
		}
		key := fmt.Sprintf("%s%d", billsKeyPrefix(region, month), sup.Bill)
		if ps := billsPostings(region, []billTotals{{payer: payer, total: draft.total, funds: draft.funds}}); len(ps) > 0 {
			if _, err := ledger.Post(ctx, tx, ledger.Entry{IdemKey: key, Region: region, Cause: causeBills, CauseRef: key, Postings: ps}); err != nil {
				return err
			}
		}
		if err := audit.Record(ctx, tx, who, "contribution.supplement", supplementObject(region, payer, month), region, map[string]any{
			"bill": sup.Bill, "supplement": sup.Number, "persons": sup.Persons, "total": sup.Total.String(), "decreases": sup.Decreases}); err != nil {
			return err
		}
		return unmark()
	})
	return sup, err
}

func supplementObject(region, payer string, month period.Month) string {
	return "bill:" + region + ":" + month.String() + ":" + payer
}

// billedLines sums, person by person, the lines of a payer's bills of a month: what has been asked
// for so far.
func billedLines(ctx context.Context, tx *db.Tx, region string, month period.Month, payer string) (map[int64][10]int64, error) {
	out := map[int64][10]int64{}
	err := db.EachRow(ctx, tx, func(scan func(...any) error) error {
		var person int64
		var c [10]int64
		if err := scan(&person, &c[0], &c[1], &c[2], &c[3], &c[4], &c[5], &c[6], &c[7], &c[8], &c[9]); err != nil {
			return err
		}
		sum := out[person]
		for i := range c {
			sum[i] += c[i]
		}
		out[person] = sum
		return nil
	}, `SELECT l.person_id, l.base, l.pension_employer, l.pension_employee, l.medical_employer, l.medical_employee, l.unemployment_employer,
		l.unemployment_employee, l.work_injury_employer, l.to_pension_account, l.to_medical_account
		FROM bills b JOIN contribution_lines l ON l.bill_id = b.id WHERE b.region = $1 AND b.month = $2 AND b.payer = $3`,
		region, int(month), payer)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("contrib: lines billed: %w", err)
	}
	return out, nil
}

// lineDifference is a person's line as assessed now less what was billed: more says it asks for
// something in addition, less that some amount is now lower than billed (a refund, not billed).
// The base is the difference too, so that a person's month still sums to the base declared.
func lineDifference(now draftLine, billed [10]int64) (d draftLine, more, less bool) {
	d[0] = now[0]
	for i := 0; i < 10; i++ {
		v := now[i+1].(int64) - billed[i]
		d[i+1] = v
		if i == 0 {
			continue // the base: a difference of amounts decides
		}
		if v > 0 {
			more = true
		}
		if v < 0 {
			less = true
		}
	}
	return d, more && !less, less
}

// addToFunds adds a line's amounts to its bill's total and each insurance's part.
func addToFunds(b *draftBill, l draftLine) {
	amt := func(i int) money.Fen { return money.Fen(l[i].(int64)) }
	parts := map[policy.Insurance]money.Fen{
		policy.Pension:      amt(2) + amt(3),
		policy.Medical:      amt(4) + amt(5),
		policy.Unemployment: amt(6) + amt(7),
		policy.WorkInjury:   amt(8),
	}
	for ins, a := range parts {
		for i, x := range policy.Insurances {
			if x == ins {
				b.funds[i] += a
			}
		}
		b.total += a
	}
}
