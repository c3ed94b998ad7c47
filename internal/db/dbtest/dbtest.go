// Package dbtest gives tests a fresh, migrated database on every engine that can run here:
// always an SQLite file in the test's temp directory, and PostgreSQL in a schema of its own when
// SHEBAO_TEST_POSTGRES_URL is set. Store tests call Each so the same test runs on both.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/db"
)

// EnvPostgres names the variable holding the PostgreSQL server URL for tests.
const EnvPostgres = "SHEBAO_TEST_POSTGRES_URL"

// Options adjust the database a test gets.
type Options struct {
	Now func() time.Time // the clock; nil means time.Now
}

// Each runs fn once per available engine, as a subtest named after the engine.
func Each(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	EachWith(t, Options{}, fn)
}

// EachWith is Each with options.
func EachWith(t *testing.T, o Options, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t, o)) })
	if os.Getenv(EnvPostgres) != "" {
		t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t, o)) })
	}
}

// SQLite returns a migrated database in a new file under t.TempDir().
func SQLite(tb testing.TB, o Options) *db.DB {
	tb.Helper()
	d, err := db.Open(context.Background(), db.Options{URL: "sqlite:" + filepath.Join(tb.TempDir(), db.FileName), Now: o.Now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	migrate(tb, d)
	return d
}

// PostgresURL creates an empty schema of its own on the test server, dropped when the test ends,
// and returns a URL whose connections use it. It skips the test when no server is configured.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		tb.Skip(EnvPostgres + " not set")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		tb.Fatalf("dbtest: create schema: %v", err)
	}
	tb.Cleanup(func() {
		_, _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Postgres returns a migrated database in a schema of its own.
func Postgres(tb testing.TB, o Options) *db.DB {
	tb.Helper()
	d, err := db.Open(context.Background(), db.Options{URL: PostgresURL(tb), Now: o.Now, MaxReaders: 4})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	migrate(tb, d)
	return d
}

func migrate(tb testing.TB, d *db.DB) {
	tb.Helper()
	if _, err := d.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
}

// Clock is a settable clock for tests, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set moves the clock to t, so that each engine's subtest can start from the same moment.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
