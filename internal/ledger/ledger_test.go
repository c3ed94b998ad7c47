package ledger_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
)

var ctx = context.Background()

const region = "330100"

func post(d *db.DB, e ledger.Entry) (ledger.Result, error) {
	var r ledger.Result
	err := d.Write(ctx, func(tx *db.Tx) error {
		var err error
		r, err = ledger.Post(ctx, tx, e)
		return err
	})
	return r, err
}

var (
	employer = ledger.EmployerAccount(region, 7)
	pension  = ledger.FundAccount(region, "pension")
	account  = ledger.PersonAccount(region, ledger.PersonMedical, 42)
	bank     = ledger.ClearingAccount(region)
)

func bill(key string, amount money.Fen) ledger.Entry {
	return ledger.Entry{IdemKey: key, Region: region, Cause: "contribution", CauseRef: key, Postings: []ledger.Posting{
		{employer, amount}, {pension, -amount}}}
}

func TestPostBalancedIdempotent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		r, err := post(d, bill("b1", 128000))
		if err != nil || r.Replay {
			t.Fatalf("first post: %+v %v", r, err)
		}
		again, err := post(d, bill("b1", 128000))
		if err != nil || !again.Replay || again.EntryID != r.EntryID {
			t.Fatalf("replay: %+v %v", again, err)
		}
		if _, err := post(d, bill("b1", 128001)); !errs.Is(err, errs.Conflict) {
			t.Fatalf("same key, other amount: %v", err)
		}
		if bal, _ := ledger.Balance(ctx, d.R(), pension); bal != 128000 {
			t.Fatalf("fund balance %s; want 1280.00 once", bal)
		}
		for name, e := range map[string]ledger.Entry{
			"unbalanced":   {IdemKey: "x1", Region: region, Cause: "c", Postings: []ledger.Posting{{employer, 100}, {pension, -99}}},
			"one posting":  {IdemKey: "x2", Region: region, Cause: "c", Postings: []ledger.Posting{{employer, 0}}},
			"zero amount":  {IdemKey: "x3", Region: region, Cause: "c", Postings: []ledger.Posting{{employer, 0}, {pension, 0}}},
			"twice":        {IdemKey: "x4", Region: region, Cause: "c", Postings: []ledger.Posting{{employer, 100}, {employer, -100}}},
			"unknown kind": {IdemKey: "x5", Region: region, Cause: "c", Postings: []ledger.Posting{{"cash:330100", 100}, {pension, -100}}},
			"no key":       {Region: region, Cause: "c", Postings: []ledger.Posting{{employer, 100}, {pension, -100}}},
		} {
			if _, err := post(d, e); !errs.Is(err, errs.Invalid) {
				t.Errorf("%s: %v", name, err)
			}
		}
		if _, err := ledger.Check(ctx, d); err != nil {
			t.Fatal(err)
		}
	})
}

func TestOverdraftAndReversal(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		// 20.00 into the medical account, then a settlement of 15.00, then one of 6.00 refused.
		credit := ledger.Entry{IdemKey: "c1", Region: region, Cause: "contribution", Postings: []ledger.Posting{{employer, 2000}, {account, -2000}}}
		if _, err := post(d, credit); err != nil {
			t.Fatal(err)
		}
		settle := func(key string, amt money.Fen) error {
			_, err := post(d, ledger.Entry{IdemKey: key, Region: region, Cause: "settlement", Postings: []ledger.Posting{{account, amt}, {bank, -amt}}})
			return err
		}
		if err := settle("s1", 1500); err != nil {
			t.Fatal(err)
		}
		if err := settle("s2", 600); !errors.Is(err, ledger.ErrOverdraft) {
			t.Fatalf("overdraft: %v", err)
		}
		if bal, _ := ledger.Balance(ctx, d.R(), account); bal != 500 {
			t.Fatalf("balance %s; want 5.00 (the refused settlement changed nothing)", bal)
		}
		var sid int64
		d.R().QueryRowContext(ctx, "SELECT id FROM ledger_entries WHERE idem_key = 's1'").Scan(&sid)
		err := d.Write(ctx, func(tx *db.Tx) error { _, err := ledger.Reverse(ctx, tx, sid, "r1", "refund"); return err })
		if err != nil {
			t.Fatal(err)
		}
		if bal, _ := ledger.Balance(ctx, d.R(), account); bal != 2000 {
			t.Fatalf("after the reversal %s; want 20.00", bal)
		}
		err = d.Write(ctx, func(tx *db.Tx) error { _, err := ledger.Reverse(ctx, tx, sid, "r2", "again"); return err })
		if !errs.Is(err, errs.Conflict) {
			t.Fatalf("second reversal: %v", err)
		}
		if _, err := ledger.Check(ctx, d); err != nil {
			t.Fatal(err)
		}
	})
}

// Many settlements at once against one account never overdraw it, and money is conserved.
func TestConcurrentDebitsNeverOverdraw(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		if _, err := post(d, ledger.Entry{IdemKey: "fund", Region: region, Cause: "contribution", Postings: []ledger.Posting{{employer, 10000}, {account, -10000}}}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for i := range 40 {
			wg.Go(func() {
				_, err := post(d, ledger.Entry{IdemKey: fmt.Sprintf("s%d", i), Region: region, Cause: "settlement",
					Postings: []ledger.Posting{{account, 300}, {bank, -300}}})
				if err == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				} else if !errors.Is(err, ledger.ErrOverdraft) {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		bal, _ := ledger.Balance(ctx, d.R(), account)
		if ok != 33 || bal != 100 {
			t.Fatalf("%d settlements went through, balance %s; want 33 and 1.00", ok, bal)
		}
		if _, err := ledger.Check(ctx, d); err != nil {
			t.Fatal(err)
		}
	})
}

// Check catches each kind of tampering made directly in the database.
func TestCheckFindsViolations(t *testing.T) {
	cases := map[string]string{
		"altered posting": "UPDATE ledger_postings SET amount = amount + 1 WHERE account = '" + pension + "'",
		"altered balance": "UPDATE ledger_accounts SET balance = balance + 5 WHERE code = '" + employer + "'",
		"deleted posting": "DELETE FROM ledger_postings WHERE account = '" + pension + "'",
		"overdrawn":       "UPDATE ledger_accounts SET balance = 1 WHERE code = '" + account + "'",
		"altered account": "UPDATE ledger_postings SET account = '" + account + "' WHERE account = '" + pension + "'",
		"altered cause":   "UPDATE ledger_entries SET cause = 'settlement' WHERE idem_key = 'b1'",
		"altered key":     "UPDATE ledger_entries SET idem_key = 'b9' WHERE idem_key = 'b1'",
		"altered day":     "UPDATE ledger_postings SET at_day = at_day - 1 WHERE account = '" + pension + "'",
		"missing day":     "UPDATE ledger_postings SET at_day = NULL WHERE account = '" + pension + "'",
		"altered time":    "UPDATE ledger_entries SET at = '2001-01-01T00:00:00.000000Z' WHERE idem_key = 'b1'",
	}
	for name, q := range cases {
		t.Run(name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				post(d, bill("b1", 128000))
				post(d, ledger.Entry{IdemKey: "c1", Region: region, Cause: "contribution", Postings: []ledger.Posting{{employer, 2000}, {account, -2000}}})
				if err := d.Write(ctx, func(tx *db.Tx) error { _, err := tx.ExecContext(ctx, q); return err }); err != nil {
					t.Fatal(err)
				}
				var v *ledger.Violation
				if _, err := ledger.Check(ctx, d); !errors.As(err, &v) {
					t.Fatalf("check after %s: %v", name, err)
				}
			})
		})
	}
}

// An entry of more accounts than one balance update takes (the monthly run books hundreds of
// payers in one entry) moves every balance once, and its reversal moves them all back.
func TestLargeEntry(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		const payers = 1234
		var ps []ledger.Posting
		var total money.Fen
		for i := range payers {
			amt := money.Fen(100 + i)
			ps = append(ps, ledger.Posting{Account: ledger.EmployerAccount(region, int64(i+1)), Amount: amt})
			total += amt
		}
		ps = append(ps, ledger.Posting{Account: pension, Amount: -total})
		r, err := post(d, ledger.Entry{IdemKey: "big", Region: region, Cause: "contribution", Postings: ps})
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range []int{0, 499, 500, 1000, payers - 1} {
			if bal, _ := ledger.Balance(ctx, d.R(), ledger.EmployerAccount(region, int64(i+1))); bal != money.Fen(100+i) {
				t.Fatalf("employer %d owes %s; want %s", i+1, bal, money.Fen(100+i))
			}
		}
		if bal, _ := ledger.Balance(ctx, d.R(), pension); bal != total {
			t.Fatalf("fund %s; want %s", bal, total)
		}
		if err := d.Write(ctx, func(tx *db.Tx) error { _, err := ledger.Reverse(ctx, tx, r.EntryID, "big-r", "test"); return err }); err != nil {
			t.Fatal(err)
		}
		if bal, _ := ledger.Balance(ctx, d.R(), ledger.EmployerAccount(region, 1000)); bal != 0 {
			t.Fatalf("after the reversal employer 1000 owes %s", bal)
		}
		if _, err := ledger.Check(ctx, d); err != nil {
			t.Fatal(err)
		}
	})
}

// TestCheckFindsConsistentChanges raises both legs of an entry and both balances alike, so that
// the entry still balances and every balance is still the sum of its postings: the entry's content
// hash no longer matches, and Check names the entry. Every entry at fault is named, not just the first.
func TestCheckFindsConsistentChanges(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		for _, k := range []string{"b1", "b2", "b3"} {
			if _, err := post(d, bill(k, 128000)); err != nil {
				t.Fatal(err)
			}
		}
		var q []string
		for _, k := range []string{"b1", "b3"} {
			q = append(q, "UPDATE ledger_postings SET amount = amount + 100000 WHERE account = '"+employer+"' AND entry_id = (SELECT id FROM ledger_entries WHERE idem_key = '"+k+"')",
				"UPDATE ledger_postings SET amount = amount - 100000 WHERE account = '"+pension+"' AND entry_id = (SELECT id FROM ledger_entries WHERE idem_key = '"+k+"')")
		}
		q = append(q, "UPDATE ledger_accounts SET balance = balance + 200000 WHERE code = '"+employer+"'",
			"UPDATE ledger_accounts SET balance = balance - 200000 WHERE code = '"+pension+"'")
		if err := d.Write(ctx, func(tx *db.Tx) error {
			for _, s := range q {
				if _, err := tx.ExecContext(ctx, s); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		var v *ledger.Violation
		if _, err := ledger.Check(ctx, d); !errors.As(err, &v) {
			t.Fatalf("check after raising both legs and both balances: %v", err)
		}
		want := []string{"entry 1 (b1): its contents do not match its content hash (altered)", "entry 3 (b3): its contents do not match its content hash (altered)"}
		if !slices.Equal(v.Problems, want) {
			t.Fatalf("problems %q; want %q", v.Problems, want)
		}
	})
}

// TestContentHashForms pins both forms of the content hash by computing them here independently:
// new entries carry the second form; an entry written with the first form still verifies, still
// answers a replay, and is still caught when altered.
func TestContentHashForms(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		if _, err := post(d, bill("b1", 128000)); err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		for _, f := range []string{"b1", region, "contribution", "b1", "0", "2", employer, "128000", pension, "-128000"} {
			binary.Write(h, binary.BigEndian, uint64(len(f)))
			h.Write([]byte(f))
		}
		var stored string
		d.R().QueryRowContext(ctx, "SELECT content_hash FROM ledger_entries WHERE idem_key = 'b1'").Scan(&stored)
		if want := "v2:" + hex.EncodeToString(h.Sum(nil)); stored != want {
			t.Fatalf("stored hash %s; want %s", stored, want)
		}
		// The first form, as entries written before the second carry it.
		legacy := sha256.Sum256([]byte("330100|contribution|b1|" + employer + "=128000|" + pension + "=-128000"))
		set := func(q string, args ...any) {
			if err := d.Write(ctx, func(tx *db.Tx) error { _, err := tx.ExecContext(ctx, q, args...); return err }); err != nil {
				t.Fatal(err)
			}
		}
		set("UPDATE ledger_entries SET content_hash = $1 WHERE idem_key = 'b1'", hex.EncodeToString(legacy[:]))
		if _, err := ledger.Check(ctx, d); err != nil {
			t.Fatalf("an entry of the first form: %v", err)
		}
		if r, err := post(d, bill("b1", 128000)); err != nil || !r.Replay {
			t.Fatalf("replay of an entry of the first form: %+v %v", r, err)
		}
		if _, err := post(d, bill("b1", 128001)); !errs.Is(err, errs.Conflict) {
			t.Fatalf("same key, other amount, first form: %v", err)
		}
		set("UPDATE ledger_entries SET cause_ref = 'b1x' WHERE idem_key = 'b1'")
		var v *ledger.Violation
		if _, err := ledger.Check(ctx, d); !errors.As(err, &v) || !strings.Contains(v.Error(), "entry 1 (b1)") {
			t.Fatalf("altered entry of the first form: %v", err)
		}
	})
}

// TestPostManyIsPostEach: entries posted together leave the same postings, balances and hashes as
// one Post each, and ledger check passes; a protected account overdrawn by an entry in the middle
// of the sequence (even if a later one would fill it again), a key used before and a key given
// twice each refuse the whole call and write nothing.
func TestPostManyIsPostEach(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		other := ledger.PersonAccount(region, ledger.PersonMedical, 43)
		fund := ledger.FundAccount(region, "medical")
		inst := ledger.InstitutionAccount(region, "H33010000001")
		open := func(key string, acct string, amount money.Fen) ledger.Entry {
			return ledger.Entry{IdemKey: key, Region: region, Cause: "test", CauseRef: key, Postings: []ledger.Posting{{bank, amount}, {acct, -amount}}}
		}
		spend := func(key string, acct string, amount money.Fen) ledger.Entry {
			return ledger.Entry{IdemKey: key, Region: region, Cause: "settlement", CauseRef: key, Postings: []ledger.Posting{
				{fund, 100}, {acct, amount}, {inst, -amount - 100}}}
		}
		batch := []ledger.Entry{open("o1", account, 5000), open("o2", other, 700), spend("s1", account, 3000), spend("s2", other, 700), spend("s3", account, 2000)}
		var ids []int64
		if err := d.Write(ctx, func(tx *db.Tx) error {
			var err error
			ids, err = ledger.PostMany(ctx, tx, batch)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(ids) != len(batch) || slices.Contains(ids, 0) {
			t.Fatalf("ids %v", ids)
		}
		for acct, want := range map[string]money.Fen{account: 0, other: 0, fund: -300, inst: 5700 + 300, bank: 5700} {
			if bal, _ := ledger.Balance(ctx, d.R(), acct); bal != want {
				t.Errorf("%s: %s, want %s", acct, bal, want)
			}
		}
		var bals map[string]money.Fen
		err := d.Read(ctx, func(tx *db.Tx) error {
			var err error
			bals, err = ledger.Balances(ctx, tx, []string{account, inst, "person_medical:330100:999"})
			return err
		})
		if err != nil || len(bals) != 2 || bals[inst] != 6000 {
			t.Fatalf("balances %v %v", bals, err)
		}
		// Post, given the same entries, finds each one as its own: the same content hash.
		for i, e := range batch {
			r, err := post(d, e)
			if err != nil || !r.Replay || r.EntryID != ids[i] {
				t.Fatalf("%s posted again: %+v %v; want a replay of entry %d", e.IdemKey, r, err, ids[i])
			}
		}
		if _, err := ledger.Check(ctx, d); err != nil {
			t.Fatal(err)
		}
		var entries int
		count := func() int {
			d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM ledger_entries").Scan(&entries)
			return entries
		}
		before := count()
		for name, es := range map[string][]ledger.Entry{
			"overdrawn in the middle": {open("o3", account, 100), spend("s4", account, 200), open("o4", account, 500)},
			"a key used before":       {open("o5", account, 100), open("o1", account, 5000)},
			"a key twice":             {open("o6", account, 100), open("o6", account, 100)},
		} {
			err := d.Write(ctx, func(tx *db.Tx) error { _, err := ledger.PostMany(ctx, tx, es); return err })
			if err == nil {
				t.Errorf("%s: posted", name)
			}
			if name == "overdrawn in the middle" && !errors.Is(err, ledger.ErrOverdraft) {
				t.Errorf("%s: %v; want the overdraft", name, err)
			}
		}
		if n := count(); n != before {
			t.Fatalf("%d entries after the refusals; want %d", n, before)
		}
	})
}

// TestMovementsBetweenAtDayEdges posts on either side of Beijing's midnight, which is 16:00 UTC
// of the day before, and of UTC's: a span is exactly its entries' times, however the postings'
// days narrow the reading.
func TestMovementsBetweenAtDayEdges(t *testing.T) {
	clock := dbtest.NewClock(time.Time{})
	dbtest.EachWith(t, dbtest.Options{Now: clock.Now}, func(t *testing.T, d *db.DB) {
		beijingMidnight := time.Date(2026, 1, 1, 16, 0, 0, 0, time.UTC) // 2026-01-02 00:00 in Beijing
		times := []time.Time{beijingMidnight.Add(-time.Microsecond), beijingMidnight, beijingMidnight.Add(8*time.Hour - time.Microsecond),
			beijingMidnight.Add(8 * time.Hour), beijingMidnight.Add(24 * time.Hour)}
		for i, at := range times {
			clock.Set(at)
			key := fmt.Sprintf("edge%d", i)
			if _, err := post(d, ledger.Entry{IdemKey: key, Region: region, Cause: "contribution", CauseRef: key,
				Postings: []ledger.Posting{{employer, money.Fen(100 + i)}, {account, -money.Fen(100 + i)}}}); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			from, to time.Time
			want     []money.Fen // newest first
		}{
			{beijingMidnight, beijingMidnight.Add(24 * time.Hour), []money.Fen{103, 102, 101}},
			{beijingMidnight.Add(time.Microsecond), beijingMidnight.Add(8 * time.Hour), []money.Fen{102}},
			{time.Time{}, beijingMidnight, []money.Fen{100}},
			{beijingMidnight.Add(8 * time.Hour), time.Time{}, []money.Fen{104, 103}},
			{time.Time{}, time.Time{}, []money.Fen{104, 103, 102, 101, 100}},
		} {
			moves, err := ledger.MovementsBetween(ctx, d.R(), account, c.from, c.to, 10)
			if err != nil {
				t.Fatal(err)
			}
			var got []money.Fen
			for _, m := range moves {
				got = append(got, m.Amount)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("from %v to %v: %v, want %v", c.from, c.to, got, c.want)
			}
		}
		for _, c := range []struct {
			at   time.Time
			want money.Fen
		}{{beijingMidnight, 100}, {beijingMidnight.Add(8 * time.Hour), 303}, {beijingMidnight.Add(48 * time.Hour), 510}} {
			if got, err := ledger.BalanceAt(ctx, d.R(), account, c.at); err != nil || got != c.want {
				t.Errorf("balance at %v: %v %v, want %v", c.at, got, err, c.want)
			}
		}
		if _, err := ledger.Check(ctx, d); err != nil {
			t.Fatal(err)
		}
	})
}
