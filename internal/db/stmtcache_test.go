package db_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
)

// TestPreparedStatements: SQLite's writer prepares a statement after the first transaction that
// runs it and runs it prepared afterwards, with the right results, also when a transaction rolls
// back; the cache stays within its bound, and what falls out still runs.
func TestPreparedStatements(t *testing.T) {
	ctx := context.Background()
	d := dbtest.SQLite(t, dbtest.Options{})
	if err := d.Write(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, "CREATE TABLE t (k INTEGER PRIMARY KEY, v INTEGER NOT NULL)")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	const ins = "INSERT INTO t(k, v) VALUES($1, $2)"
	const sum = "SELECT COALESCE(SUM(v), 0) FROM t WHERE k <= $1"
	committed := 0
	for i := 1; i <= 5; i++ {
		err := d.Write(ctx, func(tx *db.Tx) error {
			if _, err := tx.ExecContext(ctx, ins, i, 10*i); err != nil {
				return err
			}
			var s int
			if err := tx.QueryRowContext(ctx, sum, i).Scan(&s); err != nil {
				return err
			}
			if want := committed + 10*i; s != want {
				t.Errorf("transaction %d: sum %d, want %d", i, s, want)
			}
			if i == 3 {
				return fmt.Errorf("roll back")
			}
			return nil
		})
		if (err != nil) != (i == 3) {
			t.Fatalf("transaction %d: %v", i, err)
		}
		if err == nil {
			committed += 10 * i
		}
		if _, ok := d.CachedStatements(ins); !ok {
			t.Fatalf("after transaction %d the insert is not prepared", i)
		}
	}
	var n int
	if err := d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n); err != nil || n != 4 {
		t.Fatalf("%d rows, %v; want 4 (one rolled back)", n, err)
	}
	// More distinct statements than the cache holds.
	for i := range db.StmtCacheSize + 20 {
		q := fmt.Sprintf("SELECT v + %d FROM t WHERE k = $1", i)
		for range 2 {
			if err := d.Write(ctx, func(tx *db.Tx) error {
				var v int
				if err := tx.QueryRowContext(ctx, q, 1).Scan(&v); err != nil {
					return err
				}
				if v != 10+i {
					t.Fatalf("%s: %d", q, v)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if size, ok := d.CachedStatements("SELECT v + 0 FROM t WHERE k = $1"); size > db.StmtCacheSize || ok {
		t.Fatalf("%d statements kept (the first still: %v); want at most %d, the oldest gone", size, ok, db.StmtCacheSize)
	}
	if err := d.Write(ctx, func(tx *db.Tx) error { _, err := tx.ExecContext(ctx, ins, 9, 90); return err }); err != nil {
		t.Fatalf("a statement that fell out of the cache: %v", err)
	}
}

// TestPreparedStatementNested: a query run again while its rows are being read (through EachRow)
// gets a statement of its own, and neither reading is disturbed.
func TestPreparedStatementNested(t *testing.T) {
	ctx := context.Background()
	d := dbtest.SQLite(t, dbtest.Options{})
	const q = "SELECT k, v FROM t WHERE k >= $1 ORDER BY k"
	for round := range 3 { // the first round prepares, the later ones run prepared
		var got []string
		if err := d.Write(ctx, func(tx *db.Tx) error {
			if round == 0 {
				if _, err := tx.ExecContext(ctx, "CREATE TABLE t (k INTEGER PRIMARY KEY, v INTEGER NOT NULL)"); err != nil {
					return err
				}
				for k := 1; k <= 3; k++ {
					if _, err := tx.ExecContext(ctx, "INSERT INTO t(k, v) VALUES($1, $2)", k, 10*k); err != nil {
						return err
					}
				}
			}
			return db.EachRow(ctx, tx, func(scan func(...any) error) error {
				var k, v int
				if err := scan(&k, &v); err != nil {
					return err
				}
				var inner []int
				if err := db.EachRow(ctx, tx, func(scan func(...any) error) error {
					var k2, v2 int
					inner = append(inner, k2)
					return scan(&k2, &v2)
				}, q, k); err != nil {
					return err
				}
				var k3, v3 int
				if err := tx.QueryRowContext(ctx, q, k).Scan(&k3, &v3); err != nil {
					return err
				}
				got = append(got, fmt.Sprintf("%d:%d:%d:%d", k, v, len(inner), v3))
				return nil
			}, q, 1)
		}); err != nil {
			t.Fatal(err)
		}
		if want := "[1:10:3:10 2:20:2:20 3:30:1:30]"; fmt.Sprint(got) != want {
			t.Fatalf("round %d: %v; want %s", round, got, want)
		}
	}
	if _, ok := d.CachedStatements(q); !ok {
		t.Fatal("the query is not prepared")
	}
}

// TestReadPoolPreparedStatements: the read pool's prepared statements answer many goroutines at
// once, with rows held open while another query runs, over more distinct queries than the cache
// holds (so statements leave it while others use them), every answer right.
func TestReadPoolPreparedStatements(t *testing.T) {
	ctx := context.Background()
	d := dbtest.SQLite(t, dbtest.Options{})
	if err := d.Write(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, "CREATE TABLE r (k INTEGER PRIMARY KEY, v INTEGER NOT NULL)"); err != nil {
			return err
		}
		for k := 1; k <= 50; k++ {
			if _, err := tx.ExecContext(ctx, "INSERT INTO r(k, v) VALUES($1, $2)", k, 2*k); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r := d.R()
	errc := make(chan error, 8)
	for g := range 4 { // each holds two of the pool's eight connections at once
		go func() {
			errc <- func() error {
				for i := range 200 {
					// A query of its own text (g and i in it), 800 in all: far beyond the cache.
					n := (g*200+i)%50 + 1
					q := fmt.Sprintf("SELECT v, %d FROM r WHERE k = $1", g*1000+i%400)
					rows, err := r.QueryContext(ctx, "SELECT k FROM r WHERE k <= $1 ORDER BY k", n)
					if err != nil {
						return err
					}
					var v, tag int
					if err := r.QueryRowContext(ctx, q, n).Scan(&v, &tag); err != nil {
						rows.Close()
						return fmt.Errorf("%s: %w", q, err)
					}
					count := 0
					for rows.Next() {
						count++
					}
					rows.Close()
					if v != 2*n || tag != g*1000+i%400 || count != n {
						return fmt.Errorf("k %d: v %d tag %d, %d rows", n, v, tag, count)
					}
				}
				return nil
			}()
		}()
	}
	for range 4 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}
