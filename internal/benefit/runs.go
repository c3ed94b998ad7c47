package benefit

import (
	"context"
	"fmt"
	"time"

	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/period"
)

// RunInfo is one month's benefit run as benefit_runs records it: who started it last, when, when
// it finished (zero while it runs or after it was interrupted), and the months it paid, held and
// the claims it ended.
type RunInfo struct {
	Month      period.Month
	StartedBy  string
	StartedAt  time.Time
	FinishedAt time.Time
	Paid       int
	Held       int
	Ended      int
}

// Runs lists a region's benefit runs, newest month first, at most limit. The caller's right to
// see them is the route's (the administrator's run page, the API): the runs carry no person.
func (s *Service) Runs(ctx context.Context, region string, limit int) ([]RunInfo, error) {
	var out []RunInfo
	err := db.EachRow(ctx, s.db.R(), func(scan func(...any) error) error {
		var r RunInfo
		var month int
		var started, finished string
		if err := scan(&month, &r.StartedBy, &started, &finished, &r.Paid, &r.Held, &r.Ended); err != nil {
			return err
		}
		r.Month = period.Month(month)
		r.StartedAt, _ = db.ParseTime(started)
		if finished != "" {
			r.FinishedAt, _ = db.ParseTime(finished)
		}
		out = append(out, r)
		return nil
	}, `SELECT month, started_by, started_at, finished_at, paid, held, ended FROM benefit_runs
		WHERE region = $1 ORDER BY month DESC LIMIT $2`, region, limit)
	if err != nil {
		return nil, fmt.Errorf("benefit: runs: %w", err)
	}
	return out, nil
}
