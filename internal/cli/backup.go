package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/shebao/shebao/internal/config"
)

// runBackup writes a consistent copy of the SQLite database while the server keeps serving.
// PostgreSQL has its own tool for that; see docs/operations.md.
func runBackup(ctx context.Context, io IO, args []string) error {
	fs := newFlags("backup", io)
	var c config.DB
	config.RegisterDB(fs, io.Env, &c)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: shebao backup [--data DIR] FILE", errUsage)
	}
	target := fs.Arg(0)
	if err := c.Resolve(); err != nil {
		return err
	}
	if _, err := os.Stat(target); err == nil {
		return fmt.Errorf("%s exists; choose a new file name", target)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	d, err := openDB(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Backup(ctx, target); err != nil {
		return err
	}
	fmt.Fprintf(io.Out, "backup written to %s\n", target)
	return nil
}
