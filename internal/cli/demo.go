package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/demo"
)

// The kinds of installation a database can be (migration 0010). A database is marked once, at
// its first start, and keeps its kind: what is created inside a demo database is demo data, so a
// demo survives its own use, while a production database never runs with the demo's published
// passwords and development keystore.
const (
	demoInstall       = "demo"
	productionInstall = "production"
)

// installationKind is the database's kind: its mark, or for a database not yet marked,
// production if anyone has given it users or a keystore (shebao user add, keys init) and "" if it
// is still empty.
func installationKind(ctx context.Context, d *db.DB) (string, error) {
	var kind string
	err := d.R().QueryRowContext(ctx, "SELECT kind FROM installation WHERE id = 1").Scan(&kind)
	if err == nil {
		return kind, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("read the installation's kind: %w", err)
	}
	var used bool
	if err := d.R().QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM keystore)").Scan(&used); err != nil {
		return "", fmt.Errorf("read the installation's kind: %w", err)
	}
	if used {
		return productionInstall, nil
	}
	return "", nil
}

// checkInstallation refuses to serve a database of the other kind and marks an unmarked one
// with the kind it is now started as.
func checkInstallation(ctx context.Context, d *db.DB, demoMode bool) error {
	kind, err := installationKind(ctx, d)
	if err != nil {
		return err
	}
	want := productionInstall
	if demoMode {
		want = demoInstall
	}
	switch {
	case kind == want:
	case kind == productionInstall:
		return errors.New("--demo refused: this is a production database (started without --demo, or given users or keys of its own); " +
			"demo mode uses published passwords and a development keystore. Use a new --data directory for the demo")
	case kind == demoInstall:
		return errors.New("this is a demo database (made by serve --demo: published passwords and a development keystore); " +
			"start it with --demo, or use a new --data directory (or database) for real work")
	}
	return d.Write(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, "INSERT INTO installation(id, kind, marked_at) VALUES(1, $1, $2) ON CONFLICT (id) DO NOTHING",
			want, db.FormatTime(tx.Now))
		if err != nil {
			return fmt.Errorf("mark the installation: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // marked already, with this kind (checked above)
		}
		return audit.Record(ctx, tx, audit.System, "installation.mark", "installation", "", map[string]string{"kind": want})
	})
}

func printDemoLogins(w io.Writer, addr string, logins []demo.Login) {
	fmt.Fprintf(w, "\nshebao demo city (region %s) — open http://%s/ and log in as any of:\n\n", demo.Region, addr)
	fmt.Fprintf(w, "  %-20s %-14s %-18s %s\n", "username", "role", "password", "who")
	for _, l := range logins {
		fmt.Fprintf(w, "  %-20s %-14s %-18s %s\n", l.Username, l.Role, demo.Password, l.Note)
	}
	fmt.Fprintln(w)
}
