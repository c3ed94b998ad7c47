package cli

import (
	"context"
	"fmt"

	"github.com/shebao/shebao/internal/config"
	"github.com/shebao/shebao/internal/transfer"
)

// runTransfers: `shebao transfers deliver` hands every transfer message not yet delivered to its
// region (serve does this by itself every ten seconds). Interrupted at any moment, it is run again
// to finish: each message is acted on once. --pause waits between transactions, so that a crash
// test's kills fall between them too.
func runTransfers(ctx context.Context, io IO, args []string) error {
	if len(args) == 0 || args[0] != "deliver" {
		return fmt.Errorf("%w: shebao transfers deliver", errUsage)
	}
	fs := newFlags("transfers deliver", io)
	var c config.DB
	config.RegisterDB(fs, io.Env, &c)
	pause := fs.Duration("pause", 0, "wait this long between transactions (crash tests)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	d, err := openDB(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	transfer.Pause = *pause
	n, err := transfer.New(d).Deliver(ctx)
	if err != nil {
		return fmt.Errorf("%w (%d delivered; run the same command again to finish)", err, n)
	}
	fmt.Fprintf(io.Out, "%d transfer messages delivered\n", n)
	return nil
}
