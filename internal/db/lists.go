package db

import (
	"fmt"
	"math/bits"
	"strings"
)

// Lists and tables of values as statement parameters, for the statements that carry a batch.
//
// On SQLite a list is padded to a power of two by repeating its last value, so that the
// statements of batches of different sizes recur and stay prepared (SQLite's writer keeps them,
// stmtcache.go); on PostgreSQL it is one array parameter (= ANY($n)), one statement for every
// size, which PostgreSQL plans once instead of planning a statement of dozens of parameters at
// every execution (measured on the settlement writer's batches: 15 % faster). A table is a VALUES
// list on both, not padded (a repeated row would change what an UPDATE or an upsert does): as
// arrays (unnest) the whole batch was 1.5× slower on PostgreSQL, whose generic plan for a join
// with an array of unknown length scans the table.

// In is "IN (…)" for the values, numbered from parameter first, with the arguments to append.
func In[T string | int64](d Dialect, first int, values []T) (string, []any) {
	if d == Postgres {
		return fmt.Sprintf("= ANY($%d)", first), []any{values}
	}
	n := len(values)
	if n == 0 {
		return "IN (NULL)", nil // matches nothing
	}
	if n > 1 {
		n = 1 << bits.Len(uint(n-1))
	}
	var b strings.Builder
	args := make([]any, 0, n)
	b.WriteString("IN (")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", first+i)
		args = append(args, values[min(i, len(values)-1)])
	}
	b.WriteString(")")
	return b.String(), args
}

// Column types of a table of values.
const (
	Text   = "TEXT"
	BigInt = "BIGINT"
)

// Values is a table of rows as a FROM item named v, its columns column1, column2 … of the types
// given (both engines name a VALUES list's columns so), numbered from parameter first, with the
// arguments to append.
func Values(first int, types []string, rows [][]any) (string, []any) {
	var b strings.Builder
	args := make([]any, 0, len(rows)*len(types))
	b.WriteString("(VALUES ")
	p := first
	for r, row := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(")
		for c, t := range types {
			if c > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "CAST($%d AS %s)", p, t)
			p++
			args = append(args, row[c])
		}
		b.WriteString(")")
	}
	b.WriteString(") AS v")
	return b.String(), args
}
