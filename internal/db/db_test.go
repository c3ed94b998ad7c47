package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
)

func TestMigrateIsIdempotent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ms, err := db.Migrations()
		if err != nil {
			t.Fatal(err)
		}
		v, err := d.Version(ctx)
		if err != nil || v != len(ms) {
			t.Fatalf("version = %d, %v; want %d", v, err, len(ms))
		}
		n, err := d.Migrate(ctx)
		if err != nil || n != 0 {
			t.Fatalf("second migrate applied %d, %v; want 0", n, err)
		}
	})
}

func TestPlaceholdersBindByNumber(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		var a, b int
		if err := d.R().QueryRowContext(context.Background(), "SELECT CAST($2 AS INTEGER), CAST($1 AS INTEGER)", 1, 2).Scan(&a, &b); err != nil {
			t.Fatal(err)
		}
		if a != 2 || b != 1 {
			t.Fatalf("SELECT $2, $1 with (1, 2) = %d, %d", a, b)
		}
	})
}

func TestWriteRollsBackOnError(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		boom := errors.New("boom")
		err := d.Write(ctx, func(tx *db.Tx) error {
			if _, err := tx.ExecContext(ctx, "INSERT INTO users(username, role, password_hash, created_at, updated_at) VALUES('x','admin','h','t','t')"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
		var n int
		if err := d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM users").Scan(&n); err != nil || n != 0 {
			t.Fatalf("users = %d, %v; want 0 after rollback", n, err)
		}
	})
}

func TestUniqueViolationIsRecognised(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		insert := func() error {
			return d.Write(ctx, func(tx *db.Tx) error {
				_, err := tx.ExecContext(ctx, "INSERT INTO users(username, role, password_hash, created_at, updated_at) VALUES('dup','admin','h','t','t')")
				return err
			})
		}
		if err := insert(); err != nil {
			t.Fatal(err)
		}
		if err := insert(); !db.IsUniqueViolation(err) {
			t.Fatalf("second insert: %v; want a unique violation", err)
		}
	})
}

// Many goroutines writing at once must all succeed: on SQLite the single writer connection
// serialises them instead of failing with SQLITE_BUSY.
func TestConcurrentWrites(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := range 40 {
			wg.Go(func() {
				errs <- d.Write(ctx, func(tx *db.Tx) error {
					_, err := tx.ExecContext(ctx, "INSERT INTO users(username, role, password_hash, created_at, updated_at) VALUES($1,'admin','h','t','t')", "u"+string(rune('A'+i)))
					return err
				})
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}

// A second process (the CLI) opens the same SQLite file while the server has it open.
func TestSQLiteSecondOpener(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	a, err := db.Open(ctx, db.Options{URL: "sqlite:" + path})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := db.Open(ctx, db.Options{URL: "sqlite:" + path})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if n, err := b.Migrate(ctx); err != nil || n != 0 {
		t.Fatalf("migrate from second opener: %d, %v", n, err)
	}
	if err := b.Write(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO users(username, role, password_hash, created_at, updated_at) VALUES('b','admin','h','t','t')")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := a.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM users").Scan(&n); err != nil || n != 1 {
		t.Fatalf("first opener sees %d users, %v", n, err)
	}
}

func TestInserter(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		const n = 2345 // not a multiple of the batch size
		err := d.Write(ctx, func(tx *db.Tx) error {
			in := tx.Inserter("user_regions", "user_id", "region")
			if _, err := tx.ExecContext(ctx, "INSERT INTO users(id, username, role, password_hash, created_at, updated_at) VALUES(1, 'u', 'admin', 'h', 't', 't')"); err != nil {
				return err
			}
			for i := range n {
				if err := in.Add(ctx, 1, fmt.Sprintf("%06d", i)); err != nil {
					return err
				}
			}
			if err := in.Add(ctx, 1); err == nil {
				return errors.New("a short row was accepted")
			}
			return in.Close(ctx)
		})
		if err != nil {
			t.Fatal(err)
		}
		var got int
		if err := d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM user_regions").Scan(&got); err != nil || got != n {
			t.Fatalf("inserted %d rows, %v; want %d", got, err, n)
		}
	})
}

// A read transaction sees one snapshot: a write committed between two of its queries is not seen
// by the second (on PostgreSQL this needs REPEATABLE READ, not the default READ COMMITTED).
func TestReadIsOneSnapshot(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		count := func(r interface {
			QueryRowContext(context.Context, string, ...any) *sql.Row
		}) int {
			var n int
			if err := r.QueryRowContext(ctx, "SELECT COUNT(*) FROM users").Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		err := d.Read(ctx, func(tx *db.Tx) error {
			before := count(tx)
			if err := d.Write(ctx, func(w *db.Tx) error {
				_, err := w.ExecContext(ctx, "INSERT INTO users(username, role, password_hash, created_at, updated_at) VALUES('s','admin','h','t','t')")
				return err
			}); err != nil {
				return err
			}
			if after := count(tx); after != before {
				return fmt.Errorf("the read transaction saw %d users, then %d", before, after)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := count(d.R()); n != 1 {
			t.Fatalf("after the read, %d users; want 1", n)
		}
	})
}

// Rows that cannot go as arrays (a NULL here) still go in, in chunks within the engine's limit on
// parameters, and rows that can go as arrays come back through Returning.
func TestInserterMixedAndReturning(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		const n = 7000 // more than one statement's worth of parameters on either engine
		var returned int
		err := d.Write(ctx, func(tx *db.Tx) error {
			if _, err := tx.ExecContext(ctx, "CREATE TABLE ins_test (id BIGINT PRIMARY KEY, name TEXT, flag BOOLEAN NOT NULL, a BIGINT, b BIGINT, c BIGINT, d BIGINT, e BIGINT, f BIGINT, g BIGINT, h BIGINT)"); err != nil {
				return err
			}
			mixed := tx.Inserter("ins_test", "id", "name", "flag", "a", "b", "c", "d", "e", "f", "g", "h")
			for i := range n {
				var name any = fmt.Sprint("p", i)
				if i%3 == 0 {
					name = nil
				}
				if err := mixed.Add(ctx, i, name, i%2 == 0, i, i, i, i, i, i, i, int32(i)); err != nil {
					return err
				}
			}
			if err := mixed.Close(ctx); err != nil {
				return err
			}
			ret := tx.Inserter("ins_test", "id", "name", "flag", "a", "b", "c", "d", "e", "f", "g", "h").SkipConflicts("id").
				Returning("id", func(rows *sql.Rows) error { returned++; return nil })
			for i := n - 10; i < n+10; i++ { // the first ten conflict
				if err := ret.Add(ctx, int64(i), "x", true, 1, 2, 3, 4, 5, 6, 7, 8); err != nil {
					return err
				}
			}
			return ret.Close(ctx)
		})
		if err != nil {
			t.Fatal(err)
		}
		if returned != 10 {
			t.Fatalf("returned %d rows; want the 10 that did not conflict", returned)
		}
		var rows, nulls, flags int
		var sum int64
		if err := d.R().QueryRowContext(ctx, `SELECT COUNT(*), COUNT(*) - COUNT(name), SUM(CASE WHEN flag THEN 1 ELSE 0 END), SUM(h)
			FROM ins_test WHERE id < $1`, n).Scan(&rows, &nulls, &flags, &sum); err != nil {
			t.Fatal(err)
		}
		if rows != n || nulls != (n+2)/3 || flags != n/2 || sum != int64(n)*(n-1)/2 {
			t.Fatalf("rows %d, nulls %d, flags %d, sum %d", rows, nulls, flags, sum)
		}
	})
}
