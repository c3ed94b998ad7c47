package keys

import (
	"context"
	"crypto/cipher"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shebao/shebao/internal/apdu"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
)

// TransactionProof is what a terminal brings from a social security card for one payment: the
// card's identity and key version (EF05 tags 01 and 20), the card's transaction counter and its
// cryptogram, and the transaction data the cryptogram was computed over.
type TransactionProof struct {
	CardID     [16]byte
	KeyVersion byte
	ATC        uint16
	Data       apdu.TransactionData
	Cryptogram [8]byte
}

// The refusals of AcceptTransaction. A proof that does not match says nothing more, whatever the
// reason (another card, another key version, a changed amount, a forged cryptogram), so that a
// forger learns nothing from it.
var (
	ErrProofMismatch = errs.E(errs.Unauthorized, "the card's proof does not match this settlement")
	ErrProofUsed     = errs.E(errs.Conflict, "this card proof was used already")
)

// AcceptTransaction checks a card's transaction cryptogram and uses it up, inside the caller's
// transaction (the settlement's): the card's transaction key is diversified from the region's
// transaction_mac issuer key of the card's key version, the cryptogram recomputed and compared in
// constant time, and the card's last accepted counter moved to p.ATC, which must be greater. If
// tx rolls back, the counter does too, and the same proof can be presented again; once tx commits,
// never. Two transactions presenting the same counter cannot both succeed: the second waits for
// the first's row and then finds the counter taken. Nothing is written when the proof is refused.
//
// Errors: ErrSealed; an *errs.Error of code Invalid naming the field for data that cannot be
// encoded; ErrProofMismatch; ErrProofUsed for a counter not above the last one accepted.
func (s *Service) AcceptTransaction(ctx context.Context, tx *db.Tx, p TransactionProof) error {
	if err := s.checkProof(ctx, tx, p); err != nil {
		return err
	}
	// One statement decides: a first proof inserts the row, a later one moves it forward, a
	// replayed or older one matches the conflict but not the WHERE and changes no row. On
	// PostgreSQL a concurrent transaction with the same card waits on the row (or on the other's
	// insertion of it) and then sees the committed counter.
	res, err := tx.ExecContext(ctx, `INSERT INTO card_transaction_counters(region, card_id, last_atc, accepted_at) VALUES($1, $2, $3, $4)
		ON CONFLICT (region, card_id) DO UPDATE SET last_atc = excluded.last_atc, accepted_at = excluded.accepted_at
		WHERE card_transaction_counters.last_atc < excluded.last_atc`,
		regionOfCard(p.CardID), apdu.FormatCardID(p.CardID), int(p.ATC), db.FormatTime(tx.Now))
	if err != nil {
		return fmt.Errorf("keys: accept transaction: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("keys: accept transaction: %w", err)
	}
	if n != 1 {
		return ErrProofUsed
	}
	return nil
}

// checkProof is AcceptTransaction's check of the cryptogram, without the counter.
func (s *Service) checkProof(ctx context.Context, tx *db.Tx, p TransactionProof) error {
	if s.Sealed() {
		return ErrSealed
	}
	if err := p.Data.Validate(); err != nil {
		return transactionDataError(err)
	}
	if p.KeyVersion == 0 || p.ATC == 0 {
		return ErrProofMismatch // no card of ours has key version 0; no cryptogram has counter 0
	}
	issuer, err := s.transactionKey(ctx, tx, regionOfCard(p.CardID), int(p.KeyVersion))
	if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Conflict) {
		// No such key version, or it was destroyed: no genuine card can prove anything with it.
		return ErrProofMismatch
	}
	if err != nil {
		return fmt.Errorf("keys: accept transaction: %w", err)
	}
	ok, err := verifyTransaction(issuer, p)
	if err != nil {
		return transactionDataError(err)
	}
	if !ok {
		return ErrProofMismatch
	}
	return nil
}

// Counters are the last accepted transaction counters of the cards of a batch of payments, for a
// writer that decides a whole batch before writing it (the settlement writer): read once, each
// proof checked against them and taken in memory in the batch's order, and saved with one
// statement at the end — what one AcceptTransaction each would have done. Save refuses if another
// transaction moved one of the counters meanwhile; the writer then goes one payment at a time.
type Counters struct {
	s     *Service
	last  map[string]int // "region/card id" → the last accepted counter, 0 for none
	taken map[string]int // counters taken by this batch
}

// Counters reads the counters of cards inside tx.
func (s *Service) Counters(ctx context.Context, tx *db.Tx, cards [][16]byte) (*Counters, error) {
	c := &Counters{s: s, last: map[string]int{}, taken: map[string]int{}}
	byRegion := map[string][]string{}
	for _, id := range cards {
		r, hex := regionOfCard(id), apdu.FormatCardID(id)
		if _, ok := c.last[r+"/"+hex]; !ok {
			c.last[r+"/"+hex] = 0
			byRegion[r] = append(byRegion[r], hex)
		}
	}
	for region, ids := range byRegion {
		for start := 0; start < len(ids); start += 500 {
			in, args := db.In(tx.Dialect, 2, ids[start:min(start+500, len(ids))])
			if err := db.EachRow(ctx, tx, func(scan func(...any) error) error {
				var id string
				var atc int
				if err := scan(&id, &atc); err != nil {
					return err
				}
				c.last[region+"/"+id] = atc
				return nil
			}, "SELECT card_id, last_atc FROM card_transaction_counters WHERE region = $1 AND card_id "+in, append([]any{region}, args...)...); err != nil {
				return nil, fmt.Errorf("keys: transaction counters: %w", err)
			}
		}
	}
	return c, nil
}

// Check is AcceptTransaction's check of p against the counters as the batch has taken them so
// far, with its errors; it takes nothing.
func (c *Counters) Check(ctx context.Context, tx *db.Tx, p TransactionProof) error {
	if err := c.s.checkProof(ctx, tx, p); err != nil {
		return err
	}
	k := regionOfCard(p.CardID) + "/" + apdu.FormatCardID(p.CardID)
	last, ok := c.last[k]
	if !ok {
		return fmt.Errorf("keys: card %s is not among the batch's counters", apdu.FormatCardID(p.CardID))
	}
	if int(p.ATC) <= last {
		return ErrProofUsed
	}
	return nil
}

// Take uses a checked proof up: its counter becomes the card's last.
func (c *Counters) Take(p TransactionProof) {
	k := regionOfCard(p.CardID) + "/" + apdu.FormatCardID(p.CardID)
	c.last[k], c.taken[k] = int(p.ATC), int(p.ATC)
}

// Save writes the counters taken, inside tx.
func (c *Counters) Save(ctx context.Context, tx *db.Tx) error {
	if len(c.taken) == 0 {
		return nil
	}
	now := db.FormatTime(tx.Now)
	keys := make([]string, 0, len(c.taken))
	for k := range c.taken {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the same statement for the same batch, and rows locked in one order
	for start := 0; start < len(keys); start += 500 {
		chunk := keys[start:min(start+500, len(keys))]
		rows := make([][]any, len(chunk))
		for i, k := range chunk {
			region, id, _ := strings.Cut(k, "/")
			rows[i] = []any{region, id, int64(c.taken[k]), now}
		}
		from, args := db.Values(1, []string{db.Text, db.Text, db.BigInt, db.Text}, rows)
		// WHERE true: SQLite needs it to read ON CONFLICT after INSERT … SELECT as the upsert.
		q := `INSERT INTO card_transaction_counters(region, card_id, last_atc, accepted_at) SELECT v.column1, v.column2, v.column3, v.column4 FROM ` + from + `
			WHERE true ON CONFLICT (region, card_id) DO UPDATE SET last_atc = excluded.last_atc, accepted_at = excluded.accepted_at
			WHERE card_transaction_counters.last_atc < excluded.last_atc`
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("keys: save transaction counters: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != int64(len(chunk)) {
			return fmt.Errorf("keys: save transaction counters: %d of %d moved (another transaction took a counter meanwhile): %v", n, len(chunk), err)
		}
	}
	return nil
}

// transactionKeyTTL is how long AcceptTransaction trusts a transaction_mac issuer key it has
// looked up without looking again. Every settlement with the card needs the key, and looking it
// up costs about as much as the rest of the check (a statement to prepare, on SQLite). Destroying
// a key in this process empties the cache (forgetUnwrapped); another server process stops using
// a destroyed key within the TTL.
const transactionKeyTTL = 30 * time.Second

type issuerRef struct {
	region  string
	version int
}

type cachedBlock struct {
	block cipher.Block
	until time.Time
}

// transactionKey returns the region's transaction_mac issuer key of a version, from the cache or
// through tx.
func (s *Service) transactionKey(ctx context.Context, tx *db.Tx, region string, version int) (cipher.Block, error) {
	ref := issuerRef{region, version}
	now := s.now()
	s.mu.RLock()
	c, ok := s.txKeys[ref]
	s.mu.RUnlock()
	if ok && now.Before(c.until) {
		return c.block, nil
	}
	b, _, err := s.blockIn(ctx, tx, region, TransactionMAC, version, OpDiversify)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.master != nil { // not sealed since: sealing empties the cache, and must stay empty
		s.txKeys[ref] = cachedBlock{block: b, until: now.Add(transactionKeyTTL)}
	}
	s.mu.Unlock()
	return b, nil
}

func transactionDataError(err error) error {
	field := "data"
	switch {
	case errors.Is(err, apdu.ErrTransactionAmount):
		field = "amount"
	case errors.Is(err, apdu.ErrTransactionDate):
		field = "date"
	case errors.Is(err, apdu.ErrTransactionInstitution):
		field = "institution"
	}
	e := errs.Field(field, err.Error())
	e.Err = err
	return e
}

// verifyTransaction diversifies the card's transaction key and checks the cryptogram in constant
// time.
func verifyTransaction(issuer cipher.Block, p TransactionProof) (bool, error) {
	key := Diversify(issuer, p.CardID)
	defer clear(key[:])
	want, err := apdu.Cryptogram(key, p.ATC, p.Data)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(want[:], p.Cryptogram[:]) == 1, nil
}

// VerifyTransactionProof is the cryptographic core of AcceptTransaction, without the counter,
// exposed for the benchmark: diversify the card's transaction key from the issuer key and check
// the cryptogram.
func VerifyTransactionProof(issuer cipher.Block, p TransactionProof) bool {
	ok, err := verifyTransaction(issuer, p)
	return err == nil && ok
}
