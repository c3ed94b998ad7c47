package db

import "context"

// MigrateTo applies the migrations up to version v, so that a test can build a database as an
// older release left it and then migrate it.
func (d *DB) MigrateTo(ctx context.Context, v int) (int, error) { return d.migrateTo(ctx, v) }
