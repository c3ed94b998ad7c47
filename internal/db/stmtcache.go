package db

import (
	"container/list"
	"context"
	"database/sql"
	"sync"
	"time"
)

// The SQLite writer's prepared statements.
//
// The SQLite driver prepares every statement it is given and finalises it afterwards, and
// SQLite's parsing and planning of a statement costs more than running most of ours: measured on
// the settlement writer, preparing was 40 % of its time. So the writer connection keeps the
// statements it runs often prepared, and a transaction runs a statement it has seen before through
// the prepared one. PostgreSQL needs none of this: pgx keeps a statement cache of its own on every
// connection.
//
// The pool has one connection, which the transaction holds; a statement cannot be prepared on
// the pool while it does. So a statement a transaction misses is prepared after the transaction
// ends, for the next ones, and the least recently used beyond the cache's size is closed then too
// (database/sql closes it for real once no transaction uses it).
//
// A prepared statement is one SQLite statement, which cannot run twice at once: rows being read
// from it would be lost if the same query ran again meanwhile. So ExecContext and QueryRowContext
// (whose row the Scan that always follows reads at once) use it, and so do EachRow and the rows an
// insert returns, which are read to the end before anything else uses them, marking the statement
// busy until then; a query that finds its statement busy prepares anew. QueryContext's rows may
// stay open while the caller runs anything, so it always prepares anew.

// stmtCacheSize bounds the prepared statements kept; maxCachedQuery leaves out the long,
// one-off statements of bulk inserts.
const (
	stmtCacheSize  = 256
	maxCachedQuery = 4096
)

type stmtCache struct {
	pool  *sql.DB
	grace time.Duration // how long an evicted statement stays open (the read pool's: see cachedReader)
	mu    sync.Mutex
	m     map[string]*list.Element // of *cachedStmt
	lru   list.List                // front: most recently used
}

type cachedStmt struct {
	query string
	stmt  *sql.Stmt
}

func newStmtCache(pool *sql.DB) *stmtCache {
	return &stmtCache{pool: pool, m: map[string]*list.Element{}}
}

// get returns the prepared statement for query, or nil.
func (c *stmtCache) get(query string) *sql.Stmt {
	if c == nil || len(query) > maxCachedQuery {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[query]; ok {
		c.lru.MoveToFront(e)
		return e.Value.(*cachedStmt).stmt
	}
	return nil
}

// add prepares the queries a transaction missed, outside any transaction, and closes what falls
// out of the cache. A statement that does not prepare is left alone: the transaction that ran it
// reported its error.
func (c *stmtCache) add(ctx context.Context, queries []string) {
	for _, q := range queries {
		c.mu.Lock()
		_, ok := c.m[q]
		c.mu.Unlock()
		if ok {
			continue
		}
		st, err := c.pool.PrepareContext(ctx, q)
		if err != nil {
			continue
		}
		c.mu.Lock()
		if _, ok := c.m[q]; ok {
			c.mu.Unlock()
			st.Close()
			continue
		}
		c.m[q] = c.lru.PushFront(&cachedStmt{query: q, stmt: st})
		var out []*sql.Stmt
		for c.lru.Len() > stmtCacheSize {
			e := c.lru.Back()
			cs := c.lru.Remove(e).(*cachedStmt)
			delete(c.m, cs.query)
			out = append(out, cs.stmt)
		}
		c.mu.Unlock()
		for _, st := range out {
			if c.grace > 0 {
				time.AfterFunc(c.grace, func() { st.Close() })
			} else {
				st.Close()
			}
		}
	}
}

func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.m {
		e.Value.(*cachedStmt).stmt.Close()
	}
	c.m = map[string]*list.Element{}
	c.lru.Init()
}

// stmt returns the transaction's handle of query's prepared statement, or nil after noting the
// query to be prepared once the transaction ends.
func (tx *Tx) stmt(ctx context.Context, query string) *sql.Stmt {
	if tx.cache == nil || len(query) > maxCachedQuery || tx.busy[query] {
		return nil
	}
	if st := tx.cache.get(query); st != nil {
		return tx.Tx.StmtContext(ctx, st)
	}
	tx.missed = append(tx.missed, query)
	return nil
}

// ExecContext runs a statement in the transaction, prepared once on SQLite's writer.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := tx.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.Tx.ExecContext(ctx, query, args...)
}

// QueryRowContext runs a query that returns one row, prepared once on SQLite's writer.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := tx.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.Tx.QueryRowContext(ctx, query, args...)
}

// eachRow runs a query whose rows fn reads to the end, through the prepared statement if there is
// one not busy.
func (tx *Tx) eachRow(ctx context.Context, query string, args []any, fn func(*sql.Rows) error) error {
	var rows *sql.Rows
	var err error
	if st := tx.stmt(ctx, query); st != nil {
		if tx.busy == nil {
			tx.busy = map[string]bool{}
		}
		tx.busy[query] = true
		defer delete(tx.busy, query)
		rows, err = st.QueryContext(ctx, args...)
	} else {
		rows, err = tx.Tx.QueryContext(ctx, query, args...)
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// cachedReader is SQLite's read pool with its prepared statements. Unlike the writer's, these
// can serve any query, QueryContext's open rows included: a statement prepared on the pool is
// prepared anew on each connection that runs it (database/sql keeps one per connection), and a
// connection runs one query at a time, holding it until its rows are closed. A statement is
// prepared the first time it is asked for; the least recently used beyond the cache's size is
// closed a minute after it leaves the cache, so that a query that took it from the cache just
// before cannot find it closed (database/sql's close waits for a query running on it and its rows,
// not for one about to start).
type cachedReader struct {
	pool  *sql.DB
	cache *stmtCache
}

func (r *cachedReader) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := r.stmt(ctx, query); st != nil {
		rows, err := st.QueryContext(ctx, args...)
		if !closedStmt(err) {
			return rows, err
		}
	}
	return r.pool.QueryContext(ctx, query, args...)
}

func (r *cachedReader) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := r.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return r.pool.QueryRowContext(ctx, query, args...)
}

// stmt is the query's prepared statement, prepared now if it is not yet; nil for a query the cache
// leaves out or one that does not prepare (running it reports why). Preparing takes a connection
// from the pool and gives it back before the query runs, so it never waits on the caller's rows.
func (r *cachedReader) stmt(ctx context.Context, query string) *sql.Stmt {
	if len(query) > maxCachedQuery {
		return nil
	}
	if st := r.cache.get(query); st != nil {
		return st
	}
	r.cache.add(ctx, []string{query})
	return r.cache.get(query)
}

// closedStmt reports database/sql's error for a statement closed meanwhile (it exports none).
func closedStmt(err error) bool { return err != nil && err.Error() == "sql: statement is closed" }
