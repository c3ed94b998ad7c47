package card

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/shebao/shebao/internal/db"
)

// BankCard is the card a benefit is paid to: the person's active social security card with its
// bank function (the card is the voucher, SPEC 3.6).
type BankCard struct {
	CardNumber  string
	BankAccount string
}

// BankCardOf finds the person's active social security card whose bank function is open, as of
// now, read in r (the paying transaction); ok is false when there is none — a temporary card has no
// bank function, and a lost, cancelled or expired card pays nothing.
func BankCardOf(ctx context.Context, r db.Reader, personID int64, now time.Time) (BankCard, bool, error) {
	var c BankCard
	err := r.QueryRowContext(ctx, `SELECT COALESCE(card_number, ''), bank_account FROM cards
		WHERE person_id = $1 AND kind = 'social_security' AND state = 'active' AND bank_account <> '' AND bank_activated_at <> ''
		AND (valid_until = '' OR valid_until >= $2) ORDER BY id DESC LIMIT 1`, personID, db.FormatTime(now)).Scan(&c.CardNumber, &c.BankAccount)
	if errors.Is(err, sql.ErrNoRows) {
		return BankCard{}, false, nil
	}
	if err != nil {
		return BankCard{}, false, err
	}
	return c, true, nil
}
