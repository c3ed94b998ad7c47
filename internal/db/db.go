// Package db opens shebao's database and runs transactions on it: an embedded SQLite file by
// default, PostgreSQL in production, with the same schema and, wherever possible, the same SQL.
//
// SQLite driver: modernc.org/sqlite, a pure-Go translation of SQLite. It needs no C compiler, so
// `go run ./cmd/shebao` and `go test ./...` work on any machine with Go alone. Measured on this
// project's 2-core machine inserting 1,000,000 six-column rows in one prepared transaction, it is
// slower than the cgo driver mattn/go-sqlite3 (see docs/decisions.md for the figures); the gap is
// not decisive for our goals, which are stated relative to raw inserts on the same driver.
//
// SQLite is opened as two pools, as embedded SQLite wants: one connection that writes (SQLite
// allows one writer at a time; a single connection avoids SQLITE_BUSY between our own goroutines
// and BEGIN IMMEDIATE avoids lock upgrades against other processes such as the CLI), and a pool of
// read-only connections that read concurrently from WAL snapshots. Every connection has WAL,
// foreign keys, a busy timeout and synchronous=FULL, so an acknowledged commit survives a crash.
//
// SQL is written with $1, $2 … placeholders, which both drivers accept. The few dialect
// differences (identity columns, byte columns, row locks) are handled here and nowhere else.
//
// This package must never know about any business table: it runs migrations, it does not write them
// for anyone.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// Dialect names the SQL engine behind a DB.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is an open shebao database.
type DB struct {
	dialect Dialect
	write   *sql.DB // SQLite: exactly one connection; PostgreSQL: the one pool
	read    *sql.DB // SQLite: read-only pool; PostgreSQL: same as write
	path    string  // SQLite file, "" for PostgreSQL
	now     func() time.Time
	stmts   *stmtCache // SQLite's writer: its prepared statements (stmtcache.go)
	citus   bool       // PostgreSQL with the citus extension: the tables are distributed (scale.md)
	reader  Reader     // what R gives: SQLite's read pool with its prepared statements, or read
}

// Options say what to open. URL wins over Dir.
type Options struct {
	// URL is postgres://… (or postgresql://…) for PostgreSQL, or sqlite:PATH for a SQLite file.
	URL string
	// Dir holds shebao.db when URL is empty; it is created if missing.
	Dir string
	// Now is the clock; nil means time.Now. Tests inject a fixed clock here.
	Now func() time.Time
	// MaxReaders bounds the SQLite read pool and the PostgreSQL pool; 0 picks a default.
	MaxReaders int
}

// FileName is the SQLite database file inside the data directory.
const FileName = "shebao.db"

// Open opens (and for SQLite creates) the database. It does not migrate; call Migrate.
func Open(ctx context.Context, o Options) (*DB, error) {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	readers := o.MaxReaders
	if readers <= 0 {
		readers = 8
	}
	u := o.URL
	switch {
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		pool, err := sql.Open("pgx", u)
		if err != nil {
			return nil, fmt.Errorf("db: open postgres: %w", err)
		}
		pool.SetMaxOpenConns(readers + 4)
		pool.SetMaxIdleConns(readers + 4)
		pool.SetConnMaxIdleTime(5 * time.Minute)
		d := &DB{dialect: Postgres, write: pool, read: pool, now: now}
		d.reader = pool
		if err := d.Ping(ctx); err != nil {
			pool.Close()
			return nil, err
		}
		// Citus is an extension of the database, not another engine: the same SQL runs on it, and
		// the migrations distribute the tables when it is there (migrate.go, {{citus}}).
		if err := pool.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')").Scan(&d.citus); err != nil {
			pool.Close()
			return nil, fmt.Errorf("db: look for the citus extension: %w", err)
		}
		return d, nil
	case u == "":
		if o.Dir == "" {
			return nil, errors.New("db: neither a database URL nor a data directory given")
		}
		if err := os.MkdirAll(o.Dir, 0o750); err != nil {
			return nil, fmt.Errorf("db: create data directory: %w", err)
		}
		return openSQLite(ctx, filepath.Join(o.Dir, FileName), readers, now)
	case strings.HasPrefix(u, "sqlite:"):
		p := strings.TrimPrefix(strings.TrimPrefix(u, "sqlite:"), "//")
		if p == "" {
			return nil, errors.New("db: sqlite URL has no file path")
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			return nil, fmt.Errorf("db: create data directory: %w", err)
		}
		return openSQLite(ctx, p, readers, now)
	default:
		return nil, fmt.Errorf("db: unsupported database URL scheme (want postgres:// or sqlite:)")
	}
}

func sqliteDSN(path string, readOnly bool) string {
	q := url.Values{}
	// temp_store=MEMORY keeps the statement journal of a savepoint in memory: a transaction of many
	// savepoints (the settlement writer's) otherwise writes it to a temporary file as it grows.
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(FULL)", "temp_store(MEMORY)"} {
		q.Add("_pragma", p)
	}
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

func openSQLite(ctx context.Context, path string, readers int, now func() time.Time) (*DB, error) {
	w, err := sql.Open("sqlite", sqliteDSN(path, false))
	if err != nil {
		return nil, fmt.Errorf("db: open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	// The writer connects first so that the file exists and is in WAL mode before readers open it.
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("db: open sqlite %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", sqliteDSN(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("db: open sqlite readers: %w", err)
	}
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	d := &DB{dialect: SQLite, write: w, read: r, path: path, now: now, stmts: newStmtCache(w)}
	readStmts := newStmtCache(r)
	readStmts.grace = time.Minute
	d.reader = &cachedReader{pool: r, cache: readStmts}
	if err := d.Ping(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Dialect says which engine this is.
func (d *DB) Dialect() Dialect { return d.dialect }

// Citus reports whether the database is a Citus coordinator, whose regional tables are sharded by
// region across its workers.
func (d *DB) Citus() bool { return d.citus }

// Path is the SQLite file, or "" on PostgreSQL.
func (d *DB) Path() string { return d.path }

// Now is the database's clock: the time a transaction started uses this.
func (d *DB) Now() time.Time { return d.now() }

// At returns a view of the database whose clock is now: the same pools, prepared statements and
// connections, but every transaction begun through it carries now's time as Tx.Now, and its Now
// answers now. It exists to build history through the capabilities' own calls (the demo city's
// past months, tests of what happened on another day), so that what they write is stamped with
// the day it stands for; a service made over the view (contrib.New(d.At(clock), …)) runs on that
// day. Nothing serving real requests may use it: their time is the database's own clock. The
// view must not be closed; closing d closes it.
func (d *DB) At(now func() time.Time) *DB {
	v := *d
	v.now = now
	return &v
}

// Ping checks that the database answers a query.
func (d *DB) Ping(ctx context.Context) error {
	var one int
	if err := d.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("db: ping: %w", err)
	}
	return nil
}

// Close closes every pool.
func (d *DB) Close() error {
	d.stmts.close()
	if cr, ok := d.reader.(*cachedReader); ok {
		cr.cache.close()
	}
	err := d.write.Close()
	if d.read != d.write {
		err = errors.Join(err, d.read.Close())
	}
	return err
}

// Reader is what both a transaction and the read pool offer: enough to run queries.
type Reader interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// EachRow runs a query and hands each row's Scan to fn, closing the rows however it ends.
func EachRow(ctx context.Context, r Reader, fn func(scan func(...any) error) error, query string, args ...any) error {
	if tx, ok := r.(*Tx); ok {
		return tx.eachRow(ctx, query, args, func(rows *sql.Rows) error { return fn(rows.Scan) })
	}
	rows, err := r.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// R returns the read pool, for single-statement reads outside a transaction.
func (d *DB) R() Reader { return d.reader }

// Tx is a transaction with the dialect and a fixed Now, so that everything written in one
// transaction carries the same time.
type Tx struct {
	*sql.Tx
	Dialect Dialect
	Now     time.Time

	cache  *stmtCache      // nil but on SQLite's writer
	missed []string        // queries to prepare once the transaction is over
	busy   map[string]bool // prepared statements whose rows are being read
}

// ForUpdate returns " FOR UPDATE" on PostgreSQL and "" on SQLite, where the single writer already
// serialises every write transaction.
func (tx *Tx) ForUpdate() string {
	if tx.Dialect == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// maxAttempts bounds the retries of a transaction that PostgreSQL aborted for serialisation.
const maxAttempts = 5

// Write runs fn in a read-write transaction and commits it when fn returns nil. On PostgreSQL a
// serialisation failure or deadlock runs fn again (up to maxAttempts), so fn must not have side
// effects outside the transaction.
func (d *DB) Write(ctx context.Context, fn func(tx *Tx) error) error {
	return d.run(ctx, d.write, nil, fn)
}

// Read runs fn in a read-only transaction: one consistent snapshot for several queries. SQLite
// gives every read transaction a snapshot; PostgreSQL needs REPEATABLE READ for one (its default,
// READ COMMITTED, takes a new snapshot for every statement).
func (d *DB) Read(ctx context.Context, fn func(tx *Tx) error) error {
	var opts *sql.TxOptions
	if d.dialect == Postgres {
		opts = &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	}
	return d.run(ctx, d.read, opts, fn)
}

func (d *DB) run(ctx context.Context, pool *sql.DB, opts *sql.TxOptions, fn func(tx *Tx) error) error {
	var err error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		err = d.once(ctx, pool, opts, fn)
		if err == nil || !retryable(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(attempt*attempt) * time.Millisecond)
	}
	return err
}

func (d *DB) once(ctx context.Context, pool *sql.DB, opts *sql.TxOptions, fn func(tx *Tx) error) (err error) {
	sqlTx, err := pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("db: begin: %w", err)
	}
	tx := &Tx{Tx: sqlTx, Dialect: d.dialect, Now: d.now().UTC()}
	if pool == d.write {
		tx.cache = d.stmts
	}
	defer func() {
		if len(tx.missed) > 0 {
			d.stmts.add(context.WithoutCancel(ctx), tx.missed) // after the commit or rollback: the connection is free
		}
	}()
	defer func() {
		if p := recover(); p != nil {
			_ = sqlTx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = sqlTx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = sqlTx.Commit(); err != nil {
		return fmt.Errorf("db: commit: %w", err)
	}
	return nil
}

// retryable reports a PostgreSQL serialisation failure or deadlock.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "40001" || pgErr.Code == "40P01"
	}
	return false
}

// IsUniqueViolation reports whether err is a unique-constraint violation on either engine, so
// stores can turn a duplicate into a conflict without knowing the driver.
func IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// TimeFormat is how times are stored: UTC, fixed width, so that text order is time order on both
// engines and a stored time hashes the same everywhere (the audit chain depends on that).
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// FormatTime renders t for storage.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// ParseTime reads a stored time.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(TimeFormat, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("db: stored time %q: %w", s, err)
	}
	return t, nil
}

// Backup writes a consistent copy of a SQLite database to a new file while other connections keep
// reading and writing (VACUUM INTO reads one snapshot). PostgreSQL is backed up with pg_dump.
func (d *DB) Backup(ctx context.Context, target string) error {
	if d.dialect != SQLite {
		return errors.New("db: backup: on PostgreSQL use pg_dump (see docs/operations.md)")
	}
	abs, err := filepath.Abs(target)
	if err != nil {
		return err
	}
	if _, err := d.write.ExecContext(ctx, "VACUUM INTO $1", abs); err != nil {
		return fmt.Errorf("db: backup: %w", err)
	}
	return nil
}
