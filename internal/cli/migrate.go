package cli

import (
	"context"
	"fmt"

	"github.com/shebao/shebao/internal/config"
	"github.com/shebao/shebao/internal/db"
)

func runMigrate(ctx context.Context, io IO, args []string) error {
	fs := newFlags("migrate", io)
	var c config.DB
	config.RegisterDB(fs, io.Env, &c)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := c.Resolve(); err != nil {
		return err
	}
	d, err := db.Open(ctx, db.Options{URL: c.URL, Dir: c.DataDir})
	if err != nil {
		return err
	}
	defer d.Close()
	n, err := d.Migrate(ctx)
	if err != nil {
		return err
	}
	v, err := d.Version(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(io.Out, "applied %d migration(s); schema version %d\n", n, v)
	return nil
}
