// Package dbtest gives tests a fresh, migrated database on every engine that can run here:
// always an SQLite file in the test's temp directory, and PostgreSQL in a schema of its own when
// SHEBAO_TEST_POSTGRES_URL is set. Store tests call Each so the same test runs on both.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/db"
)

// EnvPostgres names the variable holding the PostgreSQL server URL for tests.
const EnvPostgres = "SHEBAO_TEST_POSTGRES_URL"

// EnvCitus names the variable holding a Citus coordinator's URL. Set, the suite runs its
// PostgreSQL tests on that coordinator, where every migration distributes the tables by region
// (docs/scale.md), and skips its SQLite runs, which the passes without it have judged: a pass of
// its own in CI, the PostgreSQL suite once more on the distributed engine. A small shard count
// (options=-c citus.shard_count=4 in the URL) keeps each test's schema quick to build.
const EnvCitus = "SHEBAO_TEST_CITUS_URL"

// postgresBase is the server the PostgreSQL tests use: the Citus coordinator when one is given.
func postgresBase() string {
	if u := os.Getenv(EnvCitus); u != "" {
		return u
	}
	return os.Getenv(EnvPostgres)
}

// HavePostgres reports whether the PostgreSQL tests run: a server (plain or Citus) is configured.
func HavePostgres() bool { return postgresBase() != "" }

// SkipSQLite reports whether this is the Citus pass, which runs the PostgreSQL tests alone.
func SkipSQLite() bool { return os.Getenv(EnvCitus) != "" }

// EnvNow names the variable that moves the tests' clock: an RFC 3339 instant at which the suite
// starts (e.g. 2026-12-01T23:30:00Z, when the UTC and the Beijing dates differ), running on from
// there. Unset, the tests run at the real time.
const EnvNow = "SHEBAO_TEST_NOW"

// offset is how far SHEBAO_TEST_NOW moves the clock, read on first use rather than when the
// package loads: go test records the variables a test reads, and keys its cache by them, only once
// the test binary has started. A value that does not parse stops the suite: tests that silently
// ran at the real time would prove nothing.
var offset = sync.OnceValue(func() time.Duration {
	v := os.Getenv(EnvNow)
	if v == "" {
		return 0
	}
	start, err := time.Parse(time.RFC3339, v)
	if err != nil {
		panic(fmt.Sprintf("dbtest: %s=%q is not an RFC 3339 time: %v", EnvNow, v, err))
	}
	return time.Until(start)
})

// Now is the tests' wall clock: the real time, moved by SHEBAO_TEST_NOW when that is set. Every
// test that needs "now" takes it from here (or from a Clock), never from time.Now.
func Now() time.Time { return time.Now().Add(offset()) }

// Options adjust the database a test gets.
type Options struct {
	Now func() time.Time // the clock; nil means dbtest.Now
}

// Each runs fn once per available engine, as a subtest named after the engine.
func Each(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	EachWith(t, Options{}, fn)
}

// EachWith is Each with options.
func EachWith(t *testing.T, o Options, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	if !SkipSQLite() {
		t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t, o)) })
	}
	if HavePostgres() {
		t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t, o)) })
	}
}

// SQLite returns a migrated database in a new file under t.TempDir().
func SQLite(tb testing.TB, o Options) *db.DB {
	tb.Helper()
	d, err := db.Open(context.Background(), db.Options{URL: "sqlite:" + filepath.Join(tb.TempDir(), db.FileName), Now: o.clock()})
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
	base := postgresBase()
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
	// A space as %20, not the +, which pgx would pass on as a plus (options=-c citus.shard_count=4).
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	return u.String()
}

// Postgres returns a migrated database in a schema of its own.
func Postgres(tb testing.TB, o Options) *db.DB {
	tb.Helper()
	d, err := db.Open(context.Background(), db.Options{URL: PostgresURL(tb), Now: o.clock(), MaxReaders: 4})
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

func (o Options) clock() func() time.Time {
	if o.Now == nil {
		return Now
	}
	return o.Now
}

// Clock is a settable clock for tests, safe for concurrent use. A stopped clock (NewClock) shows
// the same instant until moved; a running one (RunningClock) moves on with real time from where it
// was set, for journeys through pages where sessions, rate limits and QR codes see time pass.
type Clock struct {
	mu      sync.Mutex
	t       time.Time
	running bool
	setAt   time.Time // real time when t was set, for a running clock
}

// NewClock starts a stopped clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// RunningClock starts a clock at t that runs on with real time.
func RunningClock(t time.Time) *Clock { return &Clock{t: t, running: true, setAt: time.Now()} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		return c.t.Add(time.Since(c.setAt))
	}
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
	c.t, c.setAt = t, time.Now()
}
