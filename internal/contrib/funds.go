package contrib

import (
	"context"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
)

// MonthTotals is what a region billed for one month, per insurance type, and what has been paid.
type MonthTotals struct {
	Month        period.Month
	Bills        int
	Persons      int
	Pension      money.Fen
	Medical      money.Fen
	Unemployment money.Fen
	WorkInjury   money.Fen
	Billed       money.Fen // all of the above
	Paid         money.Fen // contributions paid so far
}

// Funds is the auditor's view of a region: the months billed, newest first, and the pooled funds'
// balances as the ledger holds them.
type Funds struct {
	Region   string
	Months   []MonthTotals
	Balances map[string]money.Fen // by insurance type
	LateFees money.Fen
}

// Funds totals a region's contributions by month and insurance type: at most months of them, the
// newest before the month before (0: from the newest). The monthly sums are taken from the assessed
// lines; the balances from the ledger, so the two can be compared.
func (s *Service) Funds(ctx context.Context, by *auth.Principal, region string, before period.Month, months int) (Funds, error) {
	if region == "" && len(by.Regions) > 0 {
		region = by.Regions[0]
	}
	if !by.InRegion(region) {
		return Funds{}, errs.Field("region", "not one of your regions")
	}
	r := s.db.R()
	rows, err := r.QueryContext(ctx, `SELECT b.month, COUNT(DISTINCT b.id), COUNT(*),
		COALESCE(SUM(l.pension_employer + l.pension_employee), 0), COALESCE(SUM(l.medical_employer + l.medical_employee), 0),
		COALESCE(SUM(l.unemployment_employer + l.unemployment_employee), 0), COALESCE(SUM(l.work_injury_employer), 0)
		FROM bills b JOIN contribution_lines l ON l.bill_id = b.id
		WHERE b.region = $1 AND ($3 = 0 OR b.month < $3) GROUP BY b.month ORDER BY b.month DESC LIMIT $2`, region, months, int(before))
	if err != nil {
		return Funds{}, err
	}
	f := Funds{Region: region, Balances: map[string]money.Fen{}}
	for rows.Next() {
		var m MonthTotals
		var month int
		var pen, med, unemp, inj int64
		if err := rows.Scan(&month, &m.Bills, &m.Persons, &pen, &med, &unemp, &inj); err != nil {
			rows.Close()
			return Funds{}, err
		}
		m.Month, m.Pension, m.Medical, m.Unemployment, m.WorkInjury = period.Month(month), money.Fen(pen), money.Fen(med), money.Fen(unemp), money.Fen(inj)
		m.Billed = m.Pension + m.Medical + m.Unemployment + m.WorkInjury
		f.Months = append(f.Months, m)
	}
	rows.Close()
	paid := map[period.Month]money.Fen{}
	prows, err := r.QueryContext(ctx, "SELECT month, SUM(paid) FROM bills WHERE region = $1 GROUP BY month", region)
	if err != nil {
		return Funds{}, err
	}
	for prows.Next() {
		var month int
		var sum int64
		if err := prows.Scan(&month, &sum); err != nil {
			prows.Close()
			return Funds{}, err
		}
		paid[period.Month(month)] = money.Fen(sum)
	}
	prows.Close()
	for i := range f.Months {
		f.Months[i].Paid = paid[f.Months[i].Month]
	}
	for _, ins := range policy.Insurances {
		if f.Balances[string(ins)], err = ledger.Balance(ctx, r, ledger.FundAccount(region, string(ins))); err != nil {
			return Funds{}, err
		}
	}
	if f.LateFees, err = ledger.Balance(ctx, r, ledger.FundAccount(region, "late_fee")); err != nil {
		return Funds{}, err
	}
	return f, nil
}
