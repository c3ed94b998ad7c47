package db

import (
	"context"
	"database/sql"
	"fmt"
	"math/bits"
	"reflect"
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
	if tx.Dialect == Postgres {
		per = 5000 // arrays, not parameters (see columns): the limit is memory, not the protocol
	}
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
	defer func() { in.buf, in.n = in.buf[:0], 0 }()
	if arrays, types, ok := in.columns(); ok {
		return in.write(ctx, nil, in.unnestStatement(types), arrays)
	}
	// Rows of parameters, as many per statement as the engine allows; the statement for a full
	// chunk is prepared once and kept.
	nc := len(in.cols)
	chunk := min(in.n, maxParams(in.tx.Dialect)/nc)
	for start := 0; start < in.n; start += chunk {
		k := min(chunk, in.n-start)
		args := in.buf[start*nc : (start+k)*nc]
		if k < in.perStmt { // a short chunk, or PostgreSQL, whose driver keeps its own statement cache
			// On SQLite in pieces of powers of two (13 rows: 8, 4 and 1), so that the statements
			// recur and the writer keeps them prepared (stmtcache.go) instead of preparing a new
			// one for every count of rows.
			for off := 0; off < k; {
				p := k - off
				if in.tx.Dialect == SQLite {
					p = 1 << (bits.Len(uint(p)) - 1)
				}
				if err := in.write(ctx, nil, in.statement(p), args[off*nc:(off+p)*nc]); err != nil {
					return err
				}
				off += p
			}
			continue
		}
		if in.full == nil {
			var err error
			if in.full, err = in.tx.PrepareContext(ctx, in.statement(k)); err != nil {
				return fmt.Errorf("db: insert into %s: %w", in.table, err)
			}
		}
		if err := in.write(ctx, in.full, "", args); err != nil {
			return err
		}
	}
	return nil
}

// write runs one insert, by the prepared statement when there is one, and hands returned rows on.
func (in *Inserter) write(ctx context.Context, stmt *sql.Stmt, query string, args []any) error {
	var err error
	var rows *sql.Rows
	switch {
	case stmt != nil && in.onRow != nil:
		if rows, err = stmt.QueryContext(ctx, args...); err == nil {
			err = returned(rows, in.onRow)
		}
	case stmt != nil:
		_, err = stmt.ExecContext(ctx, args...)
	case in.onRow != nil:
		err = in.tx.eachRow(ctx, query, args, in.onRow)
	default:
		_, err = in.tx.ExecContext(ctx, query, args...)
	}
	if err != nil {
		return fmt.Errorf("db: insert into %s: %w", in.table, err)
	}
	return nil
}

// returned hands the rows an insert returned to fn.
func returned(rows *sql.Rows, fn func(*sql.Rows) error) error {
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

// columns turns the buffered rows into one array per column, on PostgreSQL, when every column
// holds integers, strings or booleans and no NULL. The insert then binds a dozen arrays instead of
// thousands of parameters: measured on 1,000,000 rows of 14 integers, the client's encoding and
// the server's parsing of the parameters cost more than writing the rows.
func (in *Inserter) columns() (arrays []any, types []string, ok bool) {
	if in.tx.Dialect != Postgres {
		return nil, nil, false
	}
	nc := len(in.cols)
	arrays, types = make([]any, nc), make([]string, nc)
	for c := range nc {
		kind, nulls := reflect.Invalid, false
		for r := range in.n {
			if v := in.buf[r*nc+c]; v == nil {
				nulls = true
			} else if kind == reflect.Invalid {
				kind = kindOf(v)
			}
		}
		switch {
		case kind == reflect.Int && nulls:
			// An integer column with NULLs (a settlement without a ledger entry): pgx writes
			// the nil pointers as NULL elements.
			arrays[c], ok = column(in, c, func(v any) (*int64, bool) {
				if v == nil {
					return nil, true
				}
				i, ok := intOf(v)
				return &i, ok
			})
			types[c] = "bigint[]"
		case nulls:
			ok = false
		case kind == reflect.Int:
			arrays[c], ok = column(in, c, intOf)
			types[c] = "bigint[]"
		case kind == reflect.String:
			arrays[c], ok = column(in, c, stringOf)
			types[c] = "text[]"
		case kind == reflect.Bool:
			arrays[c], ok = column(in, c, func(v any) (bool, bool) { b, ok := v.(bool); return b, ok })
			types[c] = "boolean[]"
		default:
			ok = false
		}
		if !ok {
			return nil, nil, false
		}
	}
	return arrays, types, true
}

// column gathers column c of the buffered rows into one slice, or reports false when a row's value
// there is not of the column's kind.
func column[T any](in *Inserter, c int, get func(any) (T, bool)) ([]T, bool) {
	nc := len(in.cols)
	a := make([]T, in.n)
	for r := range in.n {
		v, ok := get(in.buf[r*nc+c])
		if !ok {
			return nil, false
		}
		a[r] = v
	}
	return a, true
}

// kindOf folds a value's kind to Int for every signed integer (named types like money.Fen too).
func kindOf(v any) reflect.Kind {
	if v == nil {
		return reflect.Invalid
	}
	k := reflect.TypeOf(v).Kind()
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return reflect.Int
	}
	return k
}

// stringOf returns a string of any string type; the plain type skips reflection.
func stringOf(v any) (string, bool) {
	if s, ok := v.(string); ok {
		return s, true
	}
	if kindOf(v) != reflect.String {
		return "", false
	}
	return reflect.ValueOf(v).String(), true
}

// intOf returns a signed integer of any type as int64; the common types skip reflection.
func intOf(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	}
	if kindOf(v) != reflect.Int {
		return 0, false
	}
	return reflect.ValueOf(v).Int(), true
}

// unnestStatement is the insert of one array per column.
func (in *Inserter) unnestStatement(types []string) string {
	var b strings.Builder
	in.prefix(&b)
	b.WriteString(" SELECT * FROM unnest(")
	for i, t := range types {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(i+1) + "::" + t)
	}
	b.WriteString(")")
	in.suffix(&b)
	return b.String()
}

// prefix writes "INSERT INTO table(columns)".
func (in *Inserter) prefix(b *strings.Builder) {
	b.WriteString("INSERT INTO ")
	b.WriteString(in.table)
	b.WriteString("(")
	b.WriteString(strings.Join(in.cols, ", "))
	b.WriteString(")")
}

// suffix writes the conflict and returning clauses.
func (in *Inserter) suffix(b *strings.Builder) {
	if in.conflict != "" {
		b.WriteString(" ON CONFLICT (")
		b.WriteString(in.conflict)
		b.WriteString(") DO NOTHING")
	}
	if in.returning != "" {
		b.WriteString(" RETURNING ")
		b.WriteString(in.returning)
	}
}

// statement is the insert of rows rows of parameters.
func (in *Inserter) statement(rows int) string {
	var b strings.Builder
	in.prefix(&b)
	b.WriteString(" VALUES ")
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
	in.suffix(&b)
	return b.String()
}
