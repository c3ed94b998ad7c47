package benefit

import (
	"context"
	"fmt"

	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
)

// paidMonths counts the months of ins a person's contributions were actually paid for — lines of
// bills paid in full — after month after (0: all of them), in the region that holds the person's
// insurance, together with the months that region took over from others by transfers (转移接续).
// A month counts once, whoever paid it.
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
	err := r.QueryRowContext(ctx, `SELECT COUNT(*) FROM (
		SELECT l.month FROM contribution_lines l JOIN bills b ON b.id = l.bill_id JOIN persons p ON p.id = l.person_id
		WHERE l.person_id = $1 AND l.month > $2 AND b.paid >= b.total AND b.region = p.region AND `+cond+`
		UNION
		SELECT t.month FROM transferred_months t JOIN persons p ON p.id = t.person_id
		WHERE t.person_id = $1 AND t.month > $2 AND t.region = p.region AND t.insurance = $3) m`, personID, int(after), string(ins)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("benefit: paid months: %w", err)
	}
	return n, nil
}
