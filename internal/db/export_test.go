package db

import "context"

// MigrateTo applies the migrations up to version v, so that a test can build a database as an
// older release left it and then migrate it.
func (d *DB) MigrateTo(ctx context.Context, v int) (int, error) { return d.migrateTo(ctx, v) }

// CachedStatements is how many prepared statements SQLite's writer keeps, and whether query is one.
func (d *DB) CachedStatements(query string) (int, bool) {
	if d.stmts == nil {
		return 0, false
	}
	d.stmts.mu.Lock()
	defer d.stmts.mu.Unlock()
	_, ok := d.stmts.m[query]
	return len(d.stmts.m), ok
}

// StmtCacheSize is the cache's bound.
const StmtCacheSize = stmtCacheSize
