package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/demo"
)

func demoUsers(ctx context.Context, d *db.DB) (int, error) {
	var n int
	if err := d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE demo").Scan(&n); err != nil {
		return 0, fmt.Errorf("count demo users: %w", err)
	}
	return n, nil
}

// realUsers counts users not made by the demo: their presence marks a production database.
func realUsers(ctx context.Context, d *db.DB) (int, error) {
	var n int
	if err := d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE NOT demo").Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

func printDemoLogins(w io.Writer, addr string, logins []demo.Login) {
	fmt.Fprintf(w, "\nshebao demo city (region %s) — open http://%s/ and log in as any of:\n\n", demo.Region, addr)
	fmt.Fprintf(w, "  %-20s %-14s %-18s %s\n", "username", "role", "password", "who")
	for _, l := range logins {
		fmt.Fprintf(w, "  %-20s %-14s %-18s %s\n", l.Username, l.Role, demo.Password, l.Note)
	}
	fmt.Fprintln(w)
}
