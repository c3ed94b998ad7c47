package db_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
)

// TestListsAndTables: In and Values select and update the rows they name on both engines, for
// every size (SQLite pads lists), and an integer column with NULLs inserts in bulk.
func TestListsAndTables(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if err := d.Write(ctx, func(tx *db.Tx) error {
			if _, err := tx.ExecContext(ctx, "CREATE TABLE lt (k BIGINT PRIMARY KEY, name TEXT NOT NULL, v BIGINT)"); err != nil {
				return err
			}
			in := tx.Inserter("lt", "k", "name", "v")
			for k := range 20 {
				var v any = int64(k * 10)
				if k%3 == 0 {
					v = nil
				}
				if err := in.Add(ctx, int64(k), fmt.Sprintf("n%d", k), v); err != nil {
					return err
				}
			}
			return in.Close(ctx)
		}); err != nil {
			t.Fatal(err)
		}
		var nulls int
		if err := d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM lt WHERE v IS NULL").Scan(&nulls); err != nil || nulls != 7 {
			t.Fatalf("%d NULLs, %v; want 7", nulls, err)
		}
		for n := 0; n <= 9; n++ {
			err := d.Write(ctx, func(tx *db.Tx) error {
				var names []string
				rows := make([][]any, n)
				for i := range n {
					names = append(names, fmt.Sprintf("n%d", i))
					rows[i] = []any{fmt.Sprintf("n%d", i), int64(1)}
				}
				in, args := db.In(tx.Dialect, 1, names)
				var count int
				if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM lt WHERE name "+in, args...).Scan(&count); err != nil {
					return err
				}
				if count != n {
					t.Errorf("IN of %d names found %d rows", n, count)
				}
				if n == 0 {
					return nil
				}
				from, vargs := db.Values(1, []string{db.Text, db.BigInt}, rows)
				res, err := tx.ExecContext(ctx, "UPDATE lt SET v = COALESCE(v, 0) + v.column2 FROM "+from+" WHERE lt.name = v.column1", vargs...)
				if err != nil {
					return err
				}
				if m, _ := res.RowsAffected(); m != int64(n) {
					t.Errorf("VALUES of %d rows updated %d", n, m)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		var sum int64
		if err := d.R().QueryRowContext(ctx, "SELECT COALESCE(SUM(v), 0) FROM lt WHERE k < 9").Scan(&sum); err != nil {
			t.Fatal(err)
		}
		// k 0..8 held 10k (NULL for k divisible by 3); name n_i was raised once for each n > i.
		var want int64
		for k := range 9 {
			if k%3 != 0 {
				want += int64(10 * k)
			}
			want += int64(9 - k)
		}
		if sum != want {
			t.Fatalf("sum %d, want %d", sum, want)
		}
	})
}
