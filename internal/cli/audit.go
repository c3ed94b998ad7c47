package cli

import (
	"context"
	"fmt"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/config"
)

// runAudit verifies the audit chain. It exits non-zero and names the first bad entry when the
// chain is broken, or the head that is missing when the chain no longer holds one recorded
// elsewhere (--expect-head); on success it prints the head to record outside the database.
func runAudit(ctx context.Context, io IO, args []string) error {
	if len(args) == 0 || args[0] != "verify" {
		return fmt.Errorf("%w: shebao audit verify [--expect-head SEQ:HASH]…", errUsage)
	}
	fs := newFlags("audit verify", io)
	var c config.DB
	config.RegisterDB(fs, io.Env, &c)
	var expect []audit.Head
	fs.Func("expect-head", "a head recorded earlier outside the database, SEQ:HASH as this command prints it; the chain must still hold it (repeatable)",
		func(s string) error {
			h, err := audit.ParseHead(s)
			if err != nil {
				return err
			}
			expect = append(expect, h)
			return nil
		})
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	d, err := openDB(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	rep, err := audit.Verify(ctx, d, func(n int64) { fmt.Fprintf(io.Err, "checked %d entries\n", n) }, expect...)
	if err != nil {
		return fmt.Errorf("FAILED: %w", err)
	}
	head := audit.Head{Seq: rep.HeadSeq, Hash: rep.HeadHash}
	fmt.Fprintf(io.Out, "audit chain intact: %d entries; head %s\n", rep.Entries, head)
	if len(expect) > 0 {
		fmt.Fprintf(io.Out, "it holds every expected head (%d)\n", len(expect))
	} else {
		fmt.Fprintln(io.Out, "record the head outside the database and check against it later with --expect-head; "+
			"without one, a chain cut back with its head rewritten cannot be told from a sound one")
	}
	return nil
}
