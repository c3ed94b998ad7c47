package cli

import (
	"context"
	"fmt"

	"github.com/shebao/shebao/internal/config"
	"github.com/shebao/shebao/internal/ledger"
)

// runLedger proves the ledger's invariants; it exits non-zero naming the first violation.
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
	rep, err := ledger.Check(ctx, d)
	if err != nil {
		return fmt.Errorf("FAILED: %w", err)
	}
	fmt.Fprintf(io.Out, "ledger sound: %d entries, %d postings, %d accounts; every entry balances, every balance is the sum of its postings\n",
		rep.Entries, rep.Postings, rep.Accounts)
	return nil
}
