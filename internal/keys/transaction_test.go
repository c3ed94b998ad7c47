package keys

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/apdu"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/errs"
)

func testTxData(amount int64) apdu.TransactionData {
	var digest [32]byte
	for i := range digest {
		digest[i] = byte(0xA0 + i)
	}
	return apdu.TransactionData{Amount: amount, Date: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), Institution: "H33010200001",
		Unpredictable: [4]byte{1, 2, 3, 4}, Digest: digest}
}

// pay has the card sign data through the terminal library, as a hospital's terminal does, and
// returns the proof the terminal sends on.
func pay(t *testing.T, card *apdu.SoftCard, data apdu.TransactionData) TransactionProof {
	t.Helper()
	p, err := (&apdu.Terminal{Card: card}).Pay(ctx, "739164", data)
	if err != nil {
		t.Fatal(err)
	}
	return TransactionProof{CardID: p.CardID, KeyVersion: p.KeyVersion, ATC: p.ATC, Data: data, Cryptogram: p.Cryptogram}
}

// accept runs AcceptTransaction in a transaction of its own, committed when it succeeds.
func (f *fixture) accept(p TransactionProof) error {
	return f.d.Write(ctx, func(tx *db.Tx) error { return f.svc.AcceptTransaction(ctx, tx, p) })
}

// acceptAndCommit runs AcceptTransaction and commits whatever it answers, so that anything it wrote
// on a refusal would stay.
func (f *fixture) acceptAndCommit(p TransactionProof) error {
	var refusal error
	if err := f.d.Write(ctx, func(tx *db.Tx) error {
		refusal = f.svc.AcceptTransaction(ctx, tx, p)
		return nil
	}); err != nil {
		f.t.Fatal(err)
	}
	return refusal
}

// counters is every row of card_transaction_counters, as "card_id=last_atc".
func (f *fixture) counters() map[string]int {
	f.t.Helper()
	out := map[string]int{}
	if err := db.EachRow(ctx, f.d.R(), func(scan func(...any) error) error {
		var region, id string
		var atc int
		if err := scan(&region, &id, &atc); err != nil {
			return err
		}
		if region != id[:6] {
			f.t.Fatalf("counter of card %s filed under region %s", id, region)
		}
		out[id] = atc
		return nil
	}, "SELECT region, card_id, last_atc FROM card_transaction_counters"); err != nil {
		f.t.Fatal(err)
	}
	return out
}

func TestAcceptTransaction(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.unseal()
		f.generate()
		card := f.card(cardID(7))
		id := apdu.FormatCardID(cardID(7))

		// A fresh proof is accepted once.
		first := pay(t, card, testTxData(12345))
		if first.ATC != 1 || first.KeyVersion != 1 {
			t.Fatalf("first proof %+v", first)
		}
		if err := f.accept(first); err != nil {
			t.Fatalf("fresh proof: %v", err)
		}
		if err := f.acceptAndCommit(first); err != ErrProofUsed || !errs.Is(err, errs.Conflict) {
			t.Fatalf("the same proof again: %v", err)
		}
		if c := f.counters(); c[id] != 1 || len(c) != 1 {
			t.Fatalf("counters %v", c)
		}

		// Counters move forward only: 3 after 2 is fine, then 2 is too old.
		second, third := pay(t, card, testTxData(200)), pay(t, card, testTxData(300))
		if err := f.accept(third); err != nil {
			t.Fatalf("ATC 3: %v", err)
		}
		if err := f.acceptAndCommit(second); err != ErrProofUsed {
			t.Fatalf("ATC 2 after 3: %v", err)
		}
		if c := f.counters(); c[id] != 3 {
			t.Fatalf("counters %v after an old proof", c)
		}

		// A proof altered in any byte is refused, and nothing is written.
		fresh := pay(t, card, testTxData(400))
		alter := func(name string, change func(p *TransactionProof)) {
			t.Helper()
			p := fresh
			change(&p)
			if err := f.acceptAndCommit(p); err != ErrProofMismatch || !errs.Is(err, errs.Unauthorized) {
				t.Fatalf("%s: %v", name, err)
			}
		}
		alter("amount +1 fen", func(p *TransactionProof) { p.Data.Amount++ })
		alter("amount 0", func(p *TransactionProof) { p.Data.Amount = 0 })
		alter("amount ×10", func(p *TransactionProof) { p.Data.Amount *= 10 })
		alter("next day", func(p *TransactionProof) { p.Data.Date = p.Data.Date.AddDate(0, 0, 1) })
		alter("next year", func(p *TransactionProof) { p.Data.Date = p.Data.Date.AddDate(1, 0, 0) })
		for i := range apdu.InstitutionCodeLen {
			alter("institution", func(p *TransactionProof) {
				b := []byte(p.Data.Institution)
				b[i] ^= 0x01
				p.Data.Institution = string(b)
			})
		}
		for i := range 4 {
			alter("unpredictable number", func(p *TransactionProof) { p.Data.Unpredictable[i] ^= 0x80 })
		}
		for i := range 32 {
			alter("digest", func(p *TransactionProof) { p.Data.Digest[i] ^= 0x01 })
		}
		for i := range 8 {
			alter("cryptogram", func(p *TransactionProof) { p.Cryptogram[i] ^= 0x01 })
		}
		alter("counter +1", func(p *TransactionProof) { p.ATC++ })
		alter("counter 0", func(p *TransactionProof) { p.ATC = 0 })
		alter("another card's id", func(p *TransactionProof) { p.CardID = cardID(8) })
		alter("key version 0", func(p *TransactionProof) { p.KeyVersion = 0 })
		alter("key version 2, which does not exist", func(p *TransactionProof) { p.KeyVersion = 2 })
		alter("another region", func(p *TransactionProof) { p.CardID[0] = 0x31 })
		if c := f.counters(); c[id] != 3 || len(c) != 1 {
			t.Fatalf("counters %v after refused proofs", c)
		}
		// The unaltered proof is still good.
		if err := f.accept(fresh); err != nil {
			t.Fatalf("ATC 4: %v", err)
		}

		// A proof of another card, under the same issuer key, is its own card's only.
		other := f.card(cardID(8))
		theirs := pay(t, other, testTxData(12345))
		if theirs.ATC != 1 {
			t.Fatalf("the other card's first ATC is %d", theirs.ATC)
		}
		mine := theirs
		mine.CardID = cardID(7)
		if err := f.acceptAndCommit(mine); err != ErrProofMismatch {
			t.Fatalf("another card's proof under this card's id: %v", err)
		}
		if err := f.accept(theirs); err != nil {
			t.Fatalf("the other card's own proof: %v", err)
		}

		// After a rotation, the version-1 card still pays under version 1, not under version 2; a
		// new card pays under version 2.
		rot, _ := f.svc.Request(ctx, f.admin, NewRequest{Kind: Rotate, Region: region})
		f.svc.Approve(ctx, f.alice, rot.ID)
		if _, err := f.svc.Approve(ctx, f.bob, rot.ID); err != nil {
			t.Fatal(err)
		}
		old := pay(t, card, testTxData(500))
		claim := old
		claim.KeyVersion = 2
		if err := f.acceptAndCommit(claim); err != ErrProofMismatch {
			t.Fatalf("a version-1 card's proof as version 2: %v", err)
		}
		if err := f.accept(old); err != nil {
			t.Fatalf("a version-1 card after rotation: %v", err)
		}
		newer := pay(t, f.card(cardID(9)), testTxData(600))
		if newer.KeyVersion != 2 {
			t.Fatalf("new card key version %d", newer.KeyVersion)
		}
		if err := f.accept(newer); err != nil {
			t.Fatalf("a version-2 card: %v", err)
		}
		newer.KeyVersion = 1
		newer.ATC = 2
		if err := f.acceptAndCommit(newer); err != ErrProofMismatch {
			t.Fatalf("a version-2 card's proof as version 1: %v", err)
		}

		// A rolled-back settlement gives the counter back: the same proof can be presented again.
		retry := pay(t, card, testTxData(700))
		rollback := errors.New("the settlement failed")
		if err := f.d.Write(ctx, func(tx *db.Tx) error {
			if err := f.svc.AcceptTransaction(ctx, tx, retry); err != nil {
				return err
			}
			return rollback
		}); err != rollback {
			t.Fatal(err)
		}
		if err := f.accept(retry); err != nil {
			t.Fatalf("after a rollback: %v", err)
		}
		if c := f.counters(); c[id] != int(retry.ATC) || c[apdu.FormatCardID(cardID(8))] != 1 || len(c) != 3 {
			t.Fatalf("counters %v", c)
		}

		// Data that cannot be a card's is refused naming the field.
		bad := retry
		bad.Data.Institution = "H33"
		if err := f.acceptAndCommit(bad); !errs.Is(err, errs.Invalid) || !errors.Is(err, apdu.ErrTransactionInstitution) {
			t.Fatalf("bad institution: %v", err)
		} else if e := (*errs.Error)(nil); !errors.As(err, &e) || e.Fields["institution"] == "" {
			t.Fatalf("the error names no field: %v", err)
		}

		// A destroyed key proves nothing any more, at once, though it was just used.
		before := pay(t, card, testTxData(750))
		r, err := f.svc.Request(ctx, f.admin, NewRequest{Kind: Destroy, Region: region, Purpose: TransactionMAC, Version: 1})
		if err != nil {
			t.Fatal(err)
		}
		f.svc.Approve(ctx, f.alice, r.ID)
		if _, err := f.svc.Approve(ctx, f.bob, r.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.acceptAndCommit(before); err != ErrProofMismatch {
			t.Fatalf("a proof under a destroyed key: %v", err)
		}

		// Sealed, nothing is checked.
		f.svc.Seal(ctx)
		if err := f.acceptAndCommit(pay(t, card, testTxData(800))); err != ErrSealed {
			t.Fatalf("sealed: %v", err)
		}
	})
}

// Fifty settlements presenting the same proof at once: exactly one is accepted.
func TestAcceptTransactionConcurrent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.unseal()
		f.generate()
		card := f.card(cardID(3))
		for round, p := range []TransactionProof{
			pay(t, card, testTxData(100)), // the card's first proof: the race is on the INSERT
			pay(t, card, testTxData(200)), // a later one: the race is on the UPDATE
		} {
			const n = 50
			var wg sync.WaitGroup
			errsOut := make([]error, n)
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					errsOut[i] = f.accept(p)
				}()
			}
			close(start)
			wg.Wait()
			ok, used := 0, 0
			for _, err := range errsOut {
				switch {
				case err == nil:
					ok++
				case err == ErrProofUsed:
					used++
				default:
					t.Errorf("round %d: %v", round, err)
				}
			}
			if ok != 1 || used != n-1 {
				t.Fatalf("round %d: %d accepted, %d refused as used; want 1 and %d", round, ok, used, n-1)
			}
			if c := f.counters(); c[apdu.FormatCardID(cardID(3))] != int(p.ATC) {
				t.Fatalf("round %d: counters %v", round, c)
			}
		}
	})
}

// The card computes with its own key what the key service derives from the issuer key.
func TestTransactionKeyIsDiversified(t *testing.T) {
	f := newFixture(t, dbtest.SQLite(t, dbtest.Options{}))
	f.unseal()
	f.generate()
	p := pay(t, f.card(cardID(5)), testTxData(1))
	issuer, _, err := f.svc.block(ctx, region, TransactionMAC, 1, OpDiversify)
	if err != nil {
		t.Fatal(err)
	}
	if !VerifyTransactionProof(issuer, p) {
		t.Fatal("the card's proof does not verify under the diversified transaction key")
	}
	key := Diversify(issuer, cardID(5))
	if want, _ := apdu.Cryptogram(key, p.ATC, p.Data); want != p.Cryptogram {
		t.Fatalf("card % X, Cryptogram under the diversified key % X", p.Cryptogram, want)
	}
	// Not under the internal authentication key: each purpose has its own key.
	ia, _, err := f.svc.block(ctx, region, InternalAuth, 1, OpDiversify)
	if err != nil {
		t.Fatal(err)
	}
	if VerifyTransactionProof(ia, p) {
		t.Fatal("the proof verifies under the internal authentication key")
	}
}

// benchProofs makes n proofs of n different cards (ATC 1), computed from the issuer key as the
// cards would.
func benchProofs(b *testing.B, f *fixture, n int) []TransactionProof {
	issuer, _, err := f.svc.block(ctx, region, TransactionMAC, 1, OpDiversify)
	if err != nil {
		b.Fatal(err)
	}
	out := make([]TransactionProof, n)
	for i := range out {
		id := cardID(0)
		id[12], id[13], id[14], id[15] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
		key := Diversify(issuer, id)
		p := TransactionProof{CardID: id, KeyVersion: 1, ATC: 1, Data: testTxData(int64(i))}
		if p.Cryptogram, err = apdu.Cryptogram(key, 1, p.Data); err != nil {
			b.Fatal(err)
		}
		out[i] = p
	}
	return out
}

// BenchmarkAcceptTransaction is the key service's share of a settlement: diversification,
// cryptogram and the counter's upsert, 100 proofs to a transaction as group commit would batch
// them, on each engine.
func BenchmarkAcceptTransaction(b *testing.B) {
	for _, engine := range []struct {
		name string
		open func(testing.TB, dbtest.Options) *db.DB
	}{{"sqlite", dbtest.SQLite}, {"postgres", dbtest.Postgres}} {
		b.Run(engine.name, func(b *testing.B) {
			f := newFixture(b, engine.open(b, dbtest.Options{}))
			f.unseal()
			f.generate()
			proofs := benchProofs(b, f, b.N)
			b.ResetTimer()
			for i := 0; i < len(proofs); i += 100 {
				batch := proofs[i:min(i+100, len(proofs))]
				if err := f.d.Write(ctx, func(tx *db.Tx) error {
					for _, p := range batch {
						if err := f.svc.AcceptTransaction(ctx, tx, p); err != nil {
							return err
						}
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyTransactionProof is the cryptography alone: diversify, session key, CBC-MAC.
func BenchmarkVerifyTransactionProof(b *testing.B) {
	f := newFixture(b, dbtest.SQLite(b, dbtest.Options{}))
	f.unseal()
	f.generate()
	proofs := benchProofs(b, f, 1000)
	issuer, _, _ := f.svc.block(ctx, region, TransactionMAC, 1, OpDiversify)
	b.ResetTimer()
	for i := range b.N {
		if !VerifyTransactionProof(issuer, proofs[i%len(proofs)]) {
			b.Fatal("refused")
		}
	}
}

// TestCountersOfABatch: a batch's counters check and take proofs as AcceptTransaction would, in
// the batch's order (the same proof twice, an older one after a newer, a forged one), write only
// what was taken, and refuse to save over a counter another transaction moved meanwhile.
func TestCountersOfABatch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.unseal()
		f.generate()
		a, b, c := f.card(cardID(1)), f.card(cardID(2)), f.card(cardID(3))
		a1 := pay(t, a, testTxData(100))
		if err := f.accept(a1); err != nil {
			t.Fatal(err)
		}
		a2, a3, b1, c1 := pay(t, a, testTxData(200)), pay(t, a, testTxData(300)), pay(t, b, testTxData(400)), pay(t, c, testTxData(500))
		forged := b1
		forged.Data.Amount++
		if err := d.Write(ctx, func(tx *db.Tx) error {
			cs, err := f.svc.Counters(ctx, tx, [][16]byte{cardID(1), cardID(2), cardID(3), cardID(1)})
			if err != nil {
				return err
			}
			for _, step := range []struct {
				name string
				p    TransactionProof
				want error
				take bool
			}{
				{"a's used proof", a1, ErrProofUsed, false},
				{"a's third", a3, nil, true},
				{"a's second after its third", a2, ErrProofUsed, false},
				{"b forged", forged, ErrProofMismatch, false},
				{"b's first", b1, nil, true},
				{"b's first again", b1, ErrProofUsed, false},
				{"c's first, not taken (its settlement refused)", c1, nil, false},
			} {
				if err := cs.Check(ctx, tx, step.p); err != step.want {
					t.Errorf("%s: %v; want %v", step.name, err, step.want)
				}
				if step.take {
					cs.Take(step.p)
				}
			}
			return cs.Save(ctx, tx)
		}); err != nil {
			t.Fatal(err)
		}
		if got := f.counters(); len(got) != 2 || got[apdu.FormatCardID(cardID(1))] != 3 || got[apdu.FormatCardID(cardID(2))] != 1 {
			t.Fatalf("counters %v", got)
		}
		if err := f.accept(c1); err != nil {
			t.Fatalf("c's proof, not taken by the batch: %v", err)
		}
		// A batch that read b's counter before another transaction moved it cannot save over it.
		b2, b3 := pay(t, b, testTxData(600)), pay(t, b, testTxData(700))
		err := d.Write(ctx, func(tx *db.Tx) error {
			cs, err := f.svc.Counters(ctx, tx, [][16]byte{cardID(2)})
			if err != nil {
				return err
			}
			if err := cs.Check(ctx, tx, b2); err != nil {
				return err
			}
			cs.Take(b2)
			// What another process's settlement would have done in between.
			if _, err := tx.ExecContext(ctx, "UPDATE card_transaction_counters SET last_atc = $1 WHERE card_id = $2", int(b3.ATC), apdu.FormatCardID(cardID(2))); err != nil {
				return err
			}
			return cs.Save(ctx, tx)
		})
		if err == nil {
			t.Fatal("saved over a counter moved meanwhile")
		}
	})
}
