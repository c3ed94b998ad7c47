package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/shebao/shebao/internal/benefit"
	"github.com/shebao/shebao/internal/config"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/settle"
)

// runLedger proves the ledger's invariants and compares the bills and payments with it; it exits
// non-zero listing every problem found, each naming its entry, account, bill or payment.
func runLedger(ctx context.Context, io IO, args []string) error {
	if len(args) == 0 || args[0] != "check" {
		return fmt.Errorf("%w: shebao ledger check", errUsage)
	}
	fs := newFlags("ledger check", io)
	var c config.DB
	config.RegisterDB(fs, io.Env, &c)
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	d, err := openDB(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	rep, lerr := ledger.Check(ctx, d)
	crep, cerr := contrib.Check(ctx, d)
	srep, serr := settle.Check(ctx, d)
	brep, berr := benefit.Check(ctx, d)
	problems := 0
	for _, err := range []error{lerr, cerr, serr, berr} {
		var v *ledger.Violation
		switch {
		case errors.As(err, &v):
			for _, p := range v.Problems {
				fmt.Fprintln(io.Err, p)
			}
			if v.More > 0 {
				fmt.Fprintf(io.Err, "… and %d more not listed\n", v.More)
			}
			problems += len(v.Problems) + v.More
		case err != nil:
			return fmt.Errorf("FAILED: %w", err)
		}
	}
	if problems > 0 {
		return fmt.Errorf("FAILED: %d problems found", problems)
	}
	fmt.Fprintf(io.Out, "ledger sound: %d entries, %d postings, %d accounts; every entry balances and matches its content hash, "+
		"every balance is the sum of its postings\n", rep.Entries, rep.Postings, rep.Accounts)
	fmt.Fprintf(io.Out, "contributions agree with the ledger: %d bills (%d lines), %d payments; every bill, payment and personal-account credit matches its entry\n",
		crep.Bills, crep.Lines, crep.Payments)
	fmt.Fprintf(io.Out, "settlements agree with the ledger: %d settlements (%d refunded), %d clearings; every split adds up and matches its entry, every year's counters equal its settlements\n",
		srep.Settlements, srep.Refunds, srep.Clearings)
	fmt.Fprintf(io.Out, "benefits agree with the ledger: %d claims, %d months paid, %d held; every paid month matches its entry, every claim's months drawn equal its months paid\n",
		brep.Claims, brep.Paid, brep.Held)
	return nil
}
