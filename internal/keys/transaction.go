package keys

import (
	"context"
	"crypto/cipher"
	"crypto/subtle"
	"errors"
	"fmt"
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
	if s.Sealed() {
		return ErrSealed
	}
	if err := p.Data.Validate(); err != nil {
		return transactionDataError(err)
	}
	if p.KeyVersion == 0 || p.ATC == 0 {
		return ErrProofMismatch // no card of ours has key version 0; no cryptogram has counter 0
	}
	region := regionOfCard(p.CardID)
	issuer, err := s.transactionKey(ctx, tx, region, int(p.KeyVersion))
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
	// One statement decides: a first proof inserts the row, a later one moves it forward, a
	// replayed or older one matches the conflict but not the WHERE and changes no row. On
	// PostgreSQL a concurrent transaction with the same card waits on the row (or on the other's
	// insertion of it) and then sees the committed counter.
	res, err := tx.ExecContext(ctx, `INSERT INTO card_transaction_counters(region, card_id, last_atc, accepted_at) VALUES($1, $2, $3, $4)
		ON CONFLICT (region, card_id) DO UPDATE SET last_atc = excluded.last_atc, accepted_at = excluded.accepted_at
		WHERE card_transaction_counters.last_atc < excluded.last_atc`,
		region, apdu.FormatCardID(p.CardID), int(p.ATC), db.FormatTime(tx.Now))
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
