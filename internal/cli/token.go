package cli

import (
	"context"
	"fmt"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/config"
)

// runToken issues an API token. The token is the last line of standard output, so scripts can
// take it with `tail -n 1`.
func runToken(ctx context.Context, io IO, args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return fmt.Errorf("%w: shebao token add --username U [--name NAME]", errUsage)
	}
	fs := newFlags("token add", io)
	var c config.DB
	config.RegisterDB(fs, io.Env, &c)
	username := fs.String("username", "", "the user the token acts as")
	name := fs.String("name", "api", "what the token is for, e.g. the system that uses it")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	d, err := openDB(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	t, err := auth.New(d, auth.Options{}).IssueToken(ctx, nil, operator(), *username, *name)
	if err != nil {
		return err
	}
	fmt.Fprintf(io.Out, "API token for %s (shown once; send it as \"Authorization: Bearer <token>\"):\n%s\n", *username, t)
	return nil
}
