package cli

import (
	"context"
	"fmt"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/config"
)

// runAudit verifies the audit chain. It exits non-zero and names the first bad entry when the
// chain is broken; on success it prints the head to anchor outside the database.
func runAudit(ctx context.Context, io IO, args []string) error {
	if len(args) == 0 || args[0] != "verify" {
		return fmt.Errorf("%w: shebao audit verify", errUsage)
	}
	fs := newFlags("audit verify", io)
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
	rep, err := audit.Verify(ctx, d, func(n int64) { fmt.Fprintf(io.Err, "checked %d entries\n", n) })
	if err != nil {
		return fmt.Errorf("FAILED: %w", err)
	}
	fmt.Fprintf(io.Out, "audit chain intact: %d entries; head %d %s\n", rep.Entries, rep.HeadSeq, rep.HeadHash)
	return nil
}
