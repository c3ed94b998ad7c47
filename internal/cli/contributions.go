package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/shebao/shebao/internal/config"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
)

// runContributions: `shebao contributions run --month YYYYMM [--region CODE]` assesses and bills a
// month, showing progress. Interrupted (Ctrl-C, a crash, kill -9), it is run again to finish; nothing
// is billed or posted twice.
func runContributions(ctx context.Context, io IO, args []string) error {
	if len(args) == 0 || args[0] != "run" {
		return fmt.Errorf("%w: shebao contributions run --month YYYYMM [--region CODE]", errUsage)
	}
	fs := newFlags("contributions run", io)
	var c config.DB
	config.RegisterDB(fs, io.Env, &c)
	monthFlag := fs.String("month", "", "the contribution month, YYYYMM")
	region := fs.String("region", "", "the pooling region (default: every region with a policy)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	month, err := period.ParseMonth(*monthFlag)
	if err != nil {
		return fmt.Errorf("%w: --month: %v", errUsage, err)
	}
	d, err := openDB(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	pol := policy.NewStore(d)
	regions := []string{*region}
	if *region == "" {
		if regions, err = pol.Regions(ctx); err != nil {
			return err
		}
	}
	svc := contrib.New(d, pol)
	for _, r := range regions {
		last := time.Time{}
		p, err := svc.Run(ctx, operator(), r, month, func(p contrib.Progress) {
			if time.Since(last) < time.Second && p.Done < p.Payers {
				return
			}
			last = time.Now()
			left := ""
			if l := p.Left(); l > 0 {
				left = fmt.Sprintf(", about %v left", l.Round(time.Second))
			}
			fmt.Fprintf(io.Err, "%s %s: %d/%d payers billed, %d persons, %.0f persons/s%s\n", r, month, p.Done, p.Payers, p.Persons, p.Rate(), left)
		})
		if err != nil {
			return fmt.Errorf("region %s: %w (run the same command again to finish)", r, err)
		}
		fmt.Fprintf(io.Out, "%s %s: %d payers billed, %d persons assessed by this run in %v\n", r, month, p.Done, p.Persons, p.Elapsed.Round(time.Millisecond))
	}
	return nil
}
