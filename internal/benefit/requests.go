package benefit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
)

// Answer is what a keyed request was answered: the HTTP status and body, kept so that a retry
// under the same Idempotency-Key gets exactly the first answer.
type Answer struct {
	Hash   string // of the request: a retry with other content is not a retry
	Status int
	Body   []byte
}

// KeyedAnswer is the answer stored for a caller's key, if any.
func (s *Service) KeyedAnswer(ctx context.Context, caller, key string) (Answer, bool, error) {
	var a Answer
	var body string
	err := s.db.R().QueryRowContext(ctx, "SELECT request_hash, status, body FROM benefit_requests WHERE caller = $1 AND idem_key = $2",
		caller, key).Scan(&a.Hash, &a.Status, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return Answer{}, false, nil
	}
	if err != nil {
		return Answer{}, false, fmt.Errorf("benefit: keyed answer: %w", err)
	}
	a.Body = []byte(body)
	return a, true, nil
}

// SaveAnswer keeps the answer to a caller's keyed request. The request itself was done in its
// own transaction before; the rules it obeys (one registration a day, one open claim, a claim
// decided once, a month paid once) make a retry that arrives before the answer is saved a
// refusal, never a second doing. Two requests racing with one key: the second to save is told so.
func (s *Service) SaveAnswer(ctx context.Context, caller, key string, a Answer) error {
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO benefit_requests(caller, idem_key, request_hash, status, body, created_at) VALUES($1, $2, $3, $4, $5, $6)",
			caller, key, a.Hash, a.Status, string(a.Body), db.FormatTime(tx.Now))
		return err
	})
	if db.IsUniqueViolation(err) {
		return errs.E(errs.Conflict, "a request with this Idempotency-Key was answered meanwhile; send it again for that answer")
	}
	if err != nil {
		return fmt.Errorf("benefit: save answer: %w", err)
	}
	return nil
}
