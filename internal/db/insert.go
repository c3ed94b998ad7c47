package db

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// Inserter writes many rows into one table with multi-row INSERT statements, so that a bulk
// operation pays one statement (and on PostgreSQL one network round trip) per few hundred rows
// instead of one per row. Rows are buffered and written when a statement's worth has gathered and
// at Flush; the caller must Flush before relying on the rows.
type Inserter struct {
	tx      *Tx
	table   string
	cols    []string
	perStmt int
	buf     []any
	n       int
	full    *sql.Stmt // the prepared statement for a full batch, made on first use

	conflict  string                // columns whose conflict skips a row, "" for none
	returning string                // columns to return for each inserted row, "" for none
	onRow     func(*sql.Rows) error // called for each returned row
}

// Returning makes every flush return cols of each inserted row to onRow. The rows come back in no
// promised order, so cols should identify the row (e.g. "id, id_number"). It saves querying the
// rows back, which on PostgreSQL can meet a plan made for the table as it was before the insert.
func (in *Inserter) Returning(cols string, onRow func(*sql.Rows) error) *Inserter {
	in.returning, in.onRow = cols, onRow
	return in
}

// SkipConflicts makes rows that conflict on cols (a unique key) be skipped, not fail the insert.
func (in *Inserter) SkipConflicts(cols string) *Inserter {
	in.conflict = cols
	return in
}

// maxParams stays under each engine's limit on bound parameters in one statement (SQLite 32,766;
// PostgreSQL 65,535) and keeps statements a sensible size.
func maxParams(d Dialect) int {
	if d == Postgres {
		return 60_000
	}
	return 30_000
}

// Inserter prepares bulk inserts into table's columns.
func (tx *Tx) Inserter(table string, cols ...string) *Inserter {
	per := min(1000, maxParams(tx.Dialect)/len(cols))
	return &Inserter{tx: tx, table: table, cols: cols, perStmt: per, buf: make([]any, 0, per*len(cols))}
}

// Add buffers one row, writing a batch when the buffer is full.
func (in *Inserter) Add(ctx context.Context, vals ...any) error {
	if len(vals) != len(in.cols) {
		return fmt.Errorf("db: insert into %s: %d values for %d columns", in.table, len(vals), len(in.cols))
	}
	in.buf = append(in.buf, vals...)
	in.n++
	if in.n == in.perStmt {
		return in.Flush(ctx)
	}
	return nil
}

// Flush writes the buffered rows.
func (in *Inserter) Flush(ctx context.Context) error {
	if in.n == 0 {
		return nil
	}
	var err error
	var rows *sql.Rows
	switch {
	case in.n == in.perStmt:
		if in.full == nil {
			if in.full, err = in.tx.PrepareContext(ctx, in.statement(in.n)); err != nil {
				return fmt.Errorf("db: insert into %s: %w", in.table, err)
			}
		}
		if in.onRow != nil {
			rows, err = in.full.QueryContext(ctx, in.buf...)
		} else {
			_, err = in.full.ExecContext(ctx, in.buf...)
		}
	case in.onRow != nil:
		rows, err = in.tx.QueryContext(ctx, in.statement(in.n), in.buf...)
	default:
		_, err = in.tx.ExecContext(ctx, in.statement(in.n), in.buf...)
	}
	in.buf, in.n = in.buf[:0], 0
	if err == nil && rows != nil {
		err = eachRow(rows, in.onRow)
	}
	if err != nil {
		return fmt.Errorf("db: insert into %s: %w", in.table, err)
	}
	return nil
}

func eachRow(rows *sql.Rows, fn func(*sql.Rows) error) error {
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Close flushes and releases the prepared statement.
func (in *Inserter) Close(ctx context.Context) error {
	err := in.Flush(ctx)
	if in.full != nil {
		in.full.Close()
	}
	return err
}

func (in *Inserter) statement(rows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(in.table)
	b.WriteString("(")
	b.WriteString(strings.Join(in.cols, ", "))
	b.WriteString(") VALUES ")
	// On SQLite, anonymous ? placeholders: the driver looks the name of every numbered parameter up
	// in a list, which makes binding thousands of $N parameters quadratic (measured: 85 % of a bulk
	// insert's time). PostgreSQL needs $N.
	numbered := in.tx.Dialect == Postgres
	p := 1
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range in.cols {
			if c > 0 {
				b.WriteString(", ")
			}
			if numbered {
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(p))
			} else {
				b.WriteByte('?')
			}
			p++
		}
		b.WriteByte(')')
	}
	if in.conflict != "" {
		b.WriteString(" ON CONFLICT (")
		b.WriteString(in.conflict)
		b.WriteString(") DO NOTHING")
	}
	if in.returning != "" {
		b.WriteString(" RETURNING ")
		b.WriteString(in.returning)
	}
	return b.String()
}
