package cli

import (
	"context"
	"fmt"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/benefit"
	"github.com/shebao/shebao/internal/config"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
)

// runBenefits: `shebao benefits run --month YYYYMM [--region CODE]` pays a month's unemployment
// benefit: each open claim's month to the bank account of the person's active social security
// card, or held with the reason; held months of earlier runs are paid once the card is there.
// Interrupted, it is run again to finish; no month is ever paid twice.
func runBenefits(ctx context.Context, io IO, args []string) error {
	if len(args) == 0 || args[0] != "run" {
		return fmt.Errorf("%w: shebao benefits run --month YYYYMM [--region CODE]", errUsage)
	}
	fs := newFlags("benefits run", io)
	var c config.DB
	config.RegisterDB(fs, io.Env, &c)
	monthFlag := fs.String("month", "", "the benefit month, YYYYMM")
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
	svc := benefit.New(d, pol, registry.New(d, auth.New(d, auth.Options{}), pol))
	for _, r := range regions {
		rep, err := svc.Run(ctx, operator(), r, month)
		if err != nil {
			return fmt.Errorf("region %s: %w (run the same command again to finish)", r, err)
		}
		fmt.Fprintf(io.Out, "%s %s: %d claims looked at; %d months paid (%s yuan, and %s yuan of medical insurance from the unemployment fund), %d held for want of a card, %d claims ended by re-employment, %d completed\n",
			r, month, rep.Claims, rep.Paid, rep.PaidAmount, rep.MedicalPaid, rep.Held, rep.Ended, rep.Completed)
	}
	return nil
}
