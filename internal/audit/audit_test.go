package audit_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
)

// seed appends n entries, each in its own transaction, as the server would.
func seed(t *testing.T, d *db.DB, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		err := d.Write(ctx, func(tx *db.Tx) error {
			return audit.Record(ctx, tx, audit.Actor{Name: "alice", Role: "admin", RequestID: fmt.Sprintf("req-%d", i)},
				"user.create", fmt.Sprintf("user:u%d", i), "330100", map[string]any{"n": i})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func exec(t *testing.T, d *db.DB, q string, args ...any) {
	t.Helper()
	ctx := context.Background()
	if err := d.Write(ctx, func(tx *db.Tx) error { _, err := tx.ExecContext(ctx, q, args...); return err }); err != nil {
		t.Fatal(err)
	}
}

func TestSoundChainVerifies(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		seed(t, d, 25)
		rep, err := audit.Verify(context.Background(), d, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Entries != 25 || rep.HeadSeq != 25 || len(rep.HeadHash) != 64 {
			t.Fatalf("report = %+v", rep)
		}
	})
}

func TestEmptyChainVerifies(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		rep, err := audit.Verify(context.Background(), d, nil)
		if err != nil || rep.Entries != 0 {
			t.Fatalf("report = %+v, %v", rep, err)
		}
	})
}

// Each kind of tampering made directly in the database is caught, and the first bad entry named.
func TestTamperingIsCaught(t *testing.T) {
	cases := []struct {
		name    string
		tamper  func(t *testing.T, d *db.DB)
		wantSeq int64
	}{
		{"alter detail", func(t *testing.T, d *db.DB) {
			exec(t, d, `UPDATE audit_log SET detail = '{"n":99}' WHERE seq = 7`)
		}, 7},
		{"alter actor", func(t *testing.T, d *db.DB) {
			exec(t, d, `UPDATE audit_log SET actor = 'mallory' WHERE seq = 3`)
		}, 3},
		{"alter time", func(t *testing.T, d *db.DB) {
			exec(t, d, `UPDATE audit_log SET at = '2020-01-01T00:00:00.000000Z' WHERE seq = 5`)
		}, 5},
		{"alter and rehash one entry", func(t *testing.T, d *db.DB) {
			// The forger recomputes nothing correctly without the previous hash chain: changing the
			// stored hash breaks the link to the next entry.
			exec(t, d, `UPDATE audit_log SET hash = 'ffff' WHERE seq = 4`)
		}, 4},
		{"delete in the middle", func(t *testing.T, d *db.DB) {
			exec(t, d, `DELETE FROM audit_log WHERE seq = 6`)
		}, 6},
		{"delete the first", func(t *testing.T, d *db.DB) {
			exec(t, d, `DELETE FROM audit_log WHERE seq = 1`)
		}, 1},
		{"delete the last", func(t *testing.T, d *db.DB) {
			exec(t, d, `DELETE FROM audit_log WHERE seq = 10`)
		}, 10},
		{"insert at the end", func(t *testing.T, d *db.DB) {
			exec(t, d, `INSERT INTO audit_log(seq, at, actor, role, action, object, region, request_id, detail, prev_hash, hash)
				SELECT 11, at, actor, role, action, object, region, request_id, detail, hash, hash FROM audit_log WHERE seq = 10`)
		}, 11},
		{"insert in the middle", func(t *testing.T, d *db.DB) {
			// Shift the tail up by one and put a forged entry at 5.
			exec(t, d, `UPDATE audit_log SET seq = seq + 100 WHERE seq >= 5`)
			exec(t, d, `UPDATE audit_log SET seq = seq - 99 WHERE seq >= 105`)
			exec(t, d, `INSERT INTO audit_log(seq, at, actor, role, action, object, region, request_id, detail, prev_hash, hash)
				SELECT 5, at, 'mallory', role, action, object, region, request_id, detail, prev_hash, hash FROM audit_log WHERE seq = 4`)
		}, 5},
		{"swap two entries", func(t *testing.T, d *db.DB) {
			exec(t, d, `UPDATE audit_log SET seq = 100 WHERE seq = 2`)
			exec(t, d, `UPDATE audit_log SET seq = 2 WHERE seq = 3`)
			exec(t, d, `UPDATE audit_log SET seq = 3 WHERE seq = 100`)
		}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				seed(t, d, 10)
				c.tamper(t, d)
				_, err := audit.Verify(context.Background(), d, nil)
				var p *audit.Problem
				if !errors.As(err, &p) || !errors.Is(err, audit.ErrBroken) {
					t.Fatalf("verify after %s: err = %v; want a broken chain", c.name, err)
				}
				if p.Seq != c.wantSeq {
					t.Fatalf("first bad entry = %d (%s); want %d", p.Seq, p.Reason, c.wantSeq)
				}
				if !slices.Contains([]string{"deleted", "rewritten", "inserted", "altered", "outside"}, p.Kind) {
					t.Fatalf("problem %q has kind %q, which the audit page has no words for", p.Reason, p.Kind)
				}
			})
		})
	}
}

func TestListNewestFirst(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		seed(t, d, 5)
		es, err := audit.List(context.Background(), d.R(), audit.Query{Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != 3 || es[0].Seq != 5 || es[2].Seq != 3 {
			t.Fatalf("entries = %+v", es)
		}
		es, err = audit.List(context.Background(), d.R(), audit.Query{Object: "user:u1"})
		if err != nil || len(es) != 1 || es[0].Actor != "alice" {
			t.Fatalf("by object = %+v, %v", es, err)
		}
		// A user's entries: those they made and those about their account.
		err = d.Write(context.Background(), func(tx *db.Tx) error {
			return audit.Record(context.Background(), tx, audit.Actor{Name: "u2", Role: "clerk"}, "session.start", "user:u2", "330100", nil)
		})
		if err != nil {
			t.Fatal(err)
		}
		es, err = audit.List(context.Background(), d.R(), audit.Query{User: "u2"})
		if err != nil || len(es) != 2 || es[0].Actor != "u2" || es[1].Actor != "alice" || es[1].Object != "user:u2" {
			t.Fatalf("by user = %+v, %v", es, err)
		}
		if es, err = audit.List(context.Background(), d.R(), audit.Query{User: "alice"}); err != nil || len(es) != 5 {
			t.Fatalf("by alice = %d entries, %v", len(es), err)
		}
	})
}

// TestRecordManyIsRecordEach: entries appended together are the very entries, hashes and head that
// one Record each would have made, between entries appended singly, and the chain verifies.
func TestRecordManyIsRecordEach(t *testing.T) {
	ctx := context.Background()
	changes := func(from, n int) []audit.Change {
		var out []audit.Change
		for i := from; i < from+n; i++ {
			out = append(out, audit.Change{Who: audit.Actor{Name: "op", Role: "institution", RequestID: fmt.Sprintf("r%d", i)},
				Action: "settlement.settle", Object: fmt.Sprintf("settlement:%d", i), Region: "330100", Detail: map[string]any{"total": i}})
		}
		return out
	}
	var heads [2]string
	for k := range 2 {
		// The same fixed clock for both databases, so the entries' times agree.
		d := dbtest.SQLite(t, dbtest.Options{Now: func() time.Time { return time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC) }})
		seed(t, d, 3)
		if err := d.Write(ctx, func(tx *db.Tx) error {
			if k == 0 {
				return audit.RecordMany(ctx, tx, changes(0, 7))
			}
			for _, c := range changes(0, 7) {
				if err := audit.Record(ctx, tx, c.Who, c.Action, c.Object, c.Region, c.Detail); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		seed(t, d, 2)
		rep, err := audit.Verify(ctx, d, nil)
		if err != nil || rep.Entries != 12 {
			t.Fatalf("verify: %+v %v", rep, err)
		}
		heads[k] = rep.HeadHash
	}
	if heads[0] != heads[1] {
		t.Fatalf("RecordMany's chain ends at %s, one Record each at %s", heads[0], heads[1])
	}
}
