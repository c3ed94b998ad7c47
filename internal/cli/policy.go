package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/shebao/shebao/internal/config"
	"github.com/shebao/shebao/internal/policy"
)

// runPolicy imports a policy version from its JSON form. The version waits for a reviewer's
// approval (portal, or POST /api/v1/policies/{id}/approve) before it takes effect.
func runPolicy(ctx context.Context, io IO, args []string) error {
	if len(args) == 0 || args[0] != "import" {
		return fmt.Errorf("%w: shebao policy import FILE", errUsage)
	}
	fs := newFlags("policy import", io)
	var c config.DB
	config.RegisterDB(fs, io.Env, &c)
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: shebao policy import [--data DIR] FILE", errUsage)
	}
	if err := c.Resolve(); err != nil {
		return err
	}
	body, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	d, err := openDB(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	v, err := policy.NewStore(d).Propose(ctx, nil, operator(), body)
	if err != nil {
		return err
	}
	fmt.Fprintf(io.Out, "policy version %d for region %s from %s stored; it takes effect when a reviewer approves it\n",
		v.ID, v.Region, v.EffectiveFrom)
	return nil
}
