package benefit

import (
	"context"
	"fmt"
	"time"

	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/period"
)

// RunInfo is a region's benefit run of a month as recorded: its counters are what every run of
// the month did together (a resumed run adds to them).
type RunInfo struct {
	Region     string
	Month      period.Month
	Status     string // running, interrupted (run it again to finish) or done
	StartedBy  string
	StartedAt  time.Time
	LastBeat   time.Time // the last batch committed
	FinishedAt time.Time // zero until it has gone to its end
	Paid       int
	Held       int
	Ended      int
}

// RunStaleAfter is how long a running run may go without committing a batch before it is shown
// as interrupted, as contribution runs are: a batch takes well under a second.
const RunStaleAfter = time.Minute

// Runs lists a region's benefit runs, newest month first, at most limit.
func (s *Service) Runs(ctx context.Context, region string, limit int) ([]RunInfo, error) {
	return s.RunsBefore(ctx, region, 0, limit)
}

// RunsBefore lists a region's benefit runs of months before before (0: from the newest), newest
// first, at most limit: a page of the list, its cursor the last month of the page before.
func (s *Service) RunsBefore(ctx context.Context, region string, before period.Month, limit int) ([]RunInfo, error) {
	now := s.now()
	var out []RunInfo
	err := db.EachRow(ctx, s.db.R(), func(scan func(...any) error) error {
		var r RunInfo
		var m int
		var started, beat, finished string
		if err := scan(&r.Region, &m, &r.StartedBy, &started, &beat, &finished, &r.Paid, &r.Held, &r.Ended); err != nil {
			return err
		}
		r.Month = period.Month(m)
		r.StartedAt, _ = db.ParseTime(started)
		r.LastBeat, _ = db.ParseTime(beat)
		switch {
		case finished != "":
			r.FinishedAt, _ = db.ParseTime(finished)
			r.Status = "done"
		case now.Sub(r.LastBeat) > RunStaleAfter:
			r.Status = "interrupted"
		default:
			r.Status = "running"
		}
		out = append(out, r)
		return nil
	}, `SELECT region, month, started_by, started_at, beat_at, finished_at, paid, held, ended FROM benefit_runs
		WHERE region = $1 AND ($2 = 0 OR month < $2) ORDER BY month DESC LIMIT $3`, region, int(before), limit)
	if err != nil {
		return nil, fmt.Errorf("benefit: runs: %w", err)
	}
	return out, nil
}
