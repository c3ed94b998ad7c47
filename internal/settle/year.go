package settle

import (
	"context"
	"fmt"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
)

// yearUsed reads, and locks for the rest of tx, a person's counters of a year. The row is made
// first when missing, so that even its first settlement of the year locks something: two
// transactions of one person (another process on PostgreSQL) then wait for each other instead of
// both reading the same room.
func yearUsed(ctx context.Context, tx *db.Tx, region string, personID int64, year int) (Used, error) {
	if _, err := tx.ExecContext(ctx, `INSERT INTO medical_years(region, person_id, year) VALUES($1, $2, $3)
		ON CONFLICT (region, person_id, year) DO NOTHING`, region, personID, year); err != nil {
		return Used{}, fmt.Errorf("settle: year counters: %w", err)
	}
	var u Used
	var d, op, ip int64
	if err := tx.QueryRowContext(ctx, `SELECT outpatient_deductible_used, outpatient_pool_paid, inpatient_pool_paid FROM medical_years
		WHERE region = $1 AND person_id = $2 AND year = $3`+tx.ForUpdate(), region, personID, year).Scan(&d, &op, &ip); err != nil {
		return Used{}, fmt.Errorf("settle: year counters: %w", err)
	}
	u = Used{OutpatientDeductible: money.Fen(d), OutpatientPool: money.Fen(op), InpatientPool: money.Fen(ip)}
	return u, nil
}

// addUsed adds (sign 1) or gives back (sign -1) what a settlement counted.
func addUsed(ctx context.Context, tx *db.Tx, region string, personID int64, year int, u Used, sign int64) error {
	if u == (Used{}) {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE medical_years SET outpatient_deductible_used = outpatient_deductible_used + $1,
		outpatient_pool_paid = outpatient_pool_paid + $2, inpatient_pool_paid = inpatient_pool_paid + $3
		WHERE region = $4 AND person_id = $5 AND year = $6`,
		sign*int64(u.OutpatientDeductible), sign*int64(u.OutpatientPool), sign*int64(u.InpatientPool), region, personID, year)
	if err != nil {
		return fmt.Errorf("settle: year counters: %w", err)
	}
	return nil
}

// Year is what a person's medical year looks like: what the settlements counted and what is left.
type Year struct {
	Year                         int
	OutpatientDeductibleUsed     money.Fen
	OutpatientDeductibleLeft     money.Fen
	OutpatientPoolPaid           money.Fen
	OutpatientCapLeft            money.Fen
	InpatientPoolPaid            money.Fen
	InpatientCapLeft             money.Fen
	OutpatientDeductible, OutCap money.Fen // the year's rules, for the page
	InCap                        money.Fen
}

// YearOf is a person's medical year: the resident's own (personID = their login's), or any person
// of the bureau's regions.
func (s *Service) YearOf(ctx context.Context, by *auth.Principal, region string, personID int64, year int) (Year, error) {
	if !by.Can(auth.ReadMedicalYear) && !(by.Can(auth.OwnMedical) && by.PersonID == personID) {
		return Year{}, errs.E(errs.Forbidden, "your role may not do this")
	}
	if !by.InRegion(region) {
		return Year{}, errs.E(errs.NotFound, "no such person")
	}
	if year < 2000 || year > 2199 {
		return Year{}, errs.Field("year", "a year like 2026")
	}
	y := Year{Year: year}
	var d, op, ip int64
	err := s.db.R().QueryRowContext(ctx, `SELECT COALESCE(SUM(outpatient_deductible_used), 0), COALESCE(SUM(outpatient_pool_paid), 0), COALESCE(SUM(inpatient_pool_paid), 0)
		FROM medical_years WHERE region = $1 AND person_id = $2 AND year = $3`, region, personID, year).Scan(&d, &op, &ip)
	if err != nil {
		return Year{}, err
	}
	y.OutpatientDeductibleUsed, y.OutpatientPoolPaid, y.InpatientPoolPaid = money.Fen(d), money.Fen(op), money.Fen(ip)
	// The rules of the year's last month in force (this month's, for the current year).
	m := period.Month(year*100 + 12)
	if now := period.MonthOf(s.now()); now < m {
		m = now
	}
	if v, err := s.policies.Effective(ctx, s.db.R(), region, m); err == nil {
		if rules, ok := v.Policy.Medical(); ok {
			y.OutpatientDeductible, y.OutCap, y.InCap = rules.OutDeductible, rules.OutCap, rules.InCap
			y.OutpatientDeductibleLeft = max(0, rules.OutDeductible-y.OutpatientDeductibleUsed)
			y.OutpatientCapLeft = max(0, rules.OutCap-y.OutpatientPoolPaid)
			y.InpatientCapLeft = max(0, rules.InCap-y.InpatientPoolPaid)
		}
	}
	return y, nil
}
