package db_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
)

// TestAtIsAnotherClockOnTheSamePools: a view's transactions carry its clock, the database's keep
// theirs, and what the view writes the database reads at once (the same pools, not a copy).
func TestAtIsAnotherClockOnTheSamePools(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		then := time.Date(2025, 1, 1, 1, 0, 0, 0, time.UTC) // 09:00 in Beijing
		v := d.At(func() time.Time { return then })
		if !v.Now().Equal(then) || v.Dialect() != d.Dialect() {
			t.Fatalf("view: now %v, dialect %s", v.Now(), v.Dialect())
		}
		var seen time.Time
		if err := v.Write(ctx, func(tx *db.Tx) error {
			seen = tx.Now
			_, err := tx.ExecContext(ctx, "INSERT INTO users(username, role, password_hash, created_at, updated_at) VALUES('x', 'admin', 'h', $1, $1)", db.FormatTime(tx.Now))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if !seen.Equal(then) {
			t.Errorf("the view's transaction ran at %v; want %v", seen, then)
		}
		if err := d.Write(ctx, func(tx *db.Tx) error { seen = tx.Now; return nil }); err != nil {
			t.Fatal(err)
		}
		if seen.Equal(then) || seen.Year() == 2025 {
			t.Errorf("the database's own transaction ran at %v: the view moved its clock", seen)
		}
		var at string
		if err := d.R().QueryRowContext(ctx, "SELECT created_at FROM users WHERE username = 'x'").Scan(&at); err != nil || at != db.FormatTime(then) {
			t.Errorf("the database reads the view's row as %q, %v; want %s", at, err, db.FormatTime(then))
		}
	})
}

// TestAtOnlyBuildsHistory: the view is for building history (the demo city, tests); no other
// package's code calls it, so no request is ever served on another day's clock.
func TestAtOnlyBuildsHistory(t *testing.T) {
	call := regexp.MustCompile(`\.At\(`)
	err := filepath.WalkDir("..", func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		rel := filepath.ToSlash(path)
		if strings.HasPrefix(rel, "../demo/") || rel == "../db/db.go" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if loc := call.FindIndex(b); loc != nil {
			t.Errorf("%s calls .At( (line %d): only the demo builds history on another clock", rel, 1+strings.Count(string(b[:loc[0]]), "\n"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
