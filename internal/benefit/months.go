package benefit

import (
	"context"
	"fmt"

	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
)

// paidMonths counts the months of ins a person's contributions were actually paid for — lines of
// bills paid in full — after month after (0: all of them). A month counts once, whoever paid it.
func paidMonths(ctx context.Context, r db.Reader, personID int64, ins policy.Insurance, after period.Month) (int, error) {
	var cond string
	switch ins {
	case policy.Pension:
		cond = "l.pension_employer + l.pension_employee > 0"
	case policy.Unemployment:
		cond = "l.unemployment_employer + l.unemployment_employee > 0"
	default:
		return 0, fmt.Errorf("benefit: months of %s are not counted", ins)
	}
	var n int
	err := r.QueryRowContext(ctx, `SELECT COUNT(DISTINCT l.month) FROM contribution_lines l JOIN bills b ON b.id = l.bill_id
		WHERE l.person_id = $1 AND l.month > $2 AND b.paid >= b.total AND `+cond, personID, int(after)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("benefit: paid months: %w", err)
	}
	return n, nil
}
