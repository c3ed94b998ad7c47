package card

import (
	"context"
	"strings"
	"time"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/keys"
)

// The cards as means of payment: who presents a card, read inside the caller's transaction so
// that a settlement sees the card's state at the moment it is paid, and an electronic card's code
// is spent in the same transaction as what it paid.

// Means is how a person was identified at a counter.
type Means string

const (
	BySocialSecurityCard Means = "social_security_card"
	ByECard              Means = "ecard"
	ByMedicalCard        Means = "medical_card"
)

// Holder is who presented a card, and the card.
type Holder struct {
	Means      Means
	CardRef    string // the card identification code, the social security card's application number, or the medical card's number
	PersonID   int64
	Region     string // the card's (and its holder's) pooling region
	IDNumber   ident.IDNumber
	Name       string
	KeyVersion int // the social security card's key version, for its proof
}

// refusal says why a card cannot pay, naming its state.
func refusal(what string, s State) error {
	return errs.E(errs.Invalid, "the %s is %s and cannot be used", what, stateWords[s])
}

// stateWords are the states as a refusal names them.
var stateWords = map[State]string{
	Applied: "not issued yet", Approved: "not issued yet", InProduction: "not issued yet", Produced: "not issued yet",
	AtOutlet: "not collected yet", Collected: "not activated yet", TemporarilyLost: "reported temporarily lost",
	Lost: "reported lost", Replaced: "replaced", Cancelled: "cancelled", Expired: "expired",
}

// usable refuses a card that may not pay today: not active, or past its validity.
func usable(c Card, now time.Time, what string) error {
	if c.State != Active {
		return refusal(what, c.State)
	}
	if !c.ValidUntil.IsZero() && now.After(c.ValidUntil) {
		return refusal(what, Expired)
	}
	return nil
}

// HolderByChip finds the active social security card with the card identification code read from
// its chip (EF05 tag 01). The card's proof is checked by the key service, not here.
func (s *Service) HolderByChip(ctx context.Context, tx *db.Tx, cardID string) (Holder, error) {
	c, err := scanCard(tx.QueryRowContext(ctx, "SELECT "+cardColumns+cardFrom+"WHERE c.card_id = $1", strings.ToUpper(strings.TrimSpace(cardID))))
	if err != nil {
		return Holder{}, errs.E(errs.Invalid, "no social security card has this identification code")
	}
	if err := usable(c, tx.Now, "social security card"); err != nil {
		return Holder{}, err
	}
	return Holder{Means: BySocialSecurityCard, CardRef: c.CardID, PersonID: c.PersonID, Region: c.Region, IDNumber: c.IDNumber, Name: c.Name,
		KeyVersion: c.KeyVersion}, nil
}

// ChipHolder is a card's holder found by HoldersByChip, or why the card cannot pay.
type ChipHolder struct {
	Holder
	Err error
}

// HoldersByChip is HolderByChip for several cards at once, with one query (the settlement
// writer's batch): for each identification code, its holder or HolderByChip's refusal.
func (s *Service) HoldersByChip(ctx context.Context, tx *db.Tx, cardIDs []string) (map[string]ChipHolder, error) {
	out := make(map[string]ChipHolder, len(cardIDs))
	var ids []string
	for _, id := range cardIDs {
		id = strings.ToUpper(strings.TrimSpace(id))
		if _, ok := out[id]; !ok {
			out[id] = ChipHolder{Err: errs.E(errs.Invalid, "no social security card has this identification code")}
			ids = append(ids, id)
		}
	}
	for start := 0; start < len(ids); start += 500 {
		in, args := db.In(tx.Dialect, 1, ids[start:min(start+500, len(ids))])
		q := "SELECT " + cardColumns + cardFrom + "WHERE c.card_id " + in
		if err := db.EachRow(ctx, tx, func(scan func(...any) error) error {
			c, err := scanCard(scanFunc(scan))
			if err != nil {
				return err
			}
			h := ChipHolder{Holder: Holder{Means: BySocialSecurityCard, CardRef: c.CardID, PersonID: c.PersonID, Region: c.Region, IDNumber: c.IDNumber,
				Name: c.Name, KeyVersion: c.KeyVersion}}
			if err := usable(c, tx.Now, "social security card"); err != nil {
				h = ChipHolder{Err: err}
			}
			out[c.CardID] = h
			return nil
		}, q, args...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// scanFunc lets a row's scan function stand for a row.
type scanFunc func(...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// ConsumeQR checks an electronic card's code as VerifyQR does — signature, sixty seconds, card
// still usable — and spends it in tx, so that the code pays once and only if the payment commits.
func (s *Service) ConsumeQR(ctx context.Context, tx *db.Tx, by *auth.Principal, token string) (Holder, error) {
	payload, p, sig, version, err := ParseQR(strings.TrimSpace(token))
	if err != nil {
		return Holder{}, err
	}
	pub, _, err := s.keys.PublicKeyPEM(ctx, p.Region, version)
	if err != nil {
		return Holder{}, ErrQRRefused
	}
	if err := keys.Verify(pub, payload, sig); err != nil {
		return Holder{}, ErrQRRefused
	}
	now := tx.Now
	if now.Unix() > p.Expires || p.Expires-p.Issued > int64(QRValidity/time.Second) || p.Issued > now.Add(5*time.Second).Unix() {
		return Holder{}, errs.E(errs.Invalid, "the electronic card's code has expired; ask for a fresh one")
	}
	c, err := scanCard(tx.QueryRowContext(ctx, "SELECT "+cardColumns+cardFrom+"WHERE c.application_no = $1", p.App))
	if err != nil {
		return Holder{}, ErrQRRefused
	}
	if err := usable(c, now, "social security card behind this electronic card"); err != nil {
		return Holder{}, err
	}
	var e int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM ecards WHERE card_id = $1", c.ID).Scan(&e); err != nil || e == 0 {
		return Holder{}, ErrQRRefused
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO ecard_scans(nonce, card_id, scanned_by, scanned_at) VALUES($1, $2, $3, $4)",
		p.Nonce, c.ID, by.Username, db.FormatTime(now)); err != nil {
		if db.IsUniqueViolation(err) {
			return Holder{}, errs.E(errs.Invalid, "this electronic card code was already used; ask for a fresh one")
		}
		return Holder{}, err
	}
	return Holder{Means: ByECard, CardRef: c.ApplicationNo, PersonID: c.PersonID, Region: c.Region, IDNumber: c.IDNumber, Name: c.Name}, nil
}

// MedicalHolder finds an active medical insurance card by its number (and its bank when the
// number alone is not unique).
func (s *Service) MedicalHolder(ctx context.Context, tx *db.Tx, number, bank string) (Holder, error) {
	number = strings.ToUpper(strings.TrimSpace(number))
	q := "SELECT " + medicalColumns + ", p.name FROM medical_cards m JOIN persons p ON p.id = m.person_id WHERE m.card_number = $1"
	args := []any{number}
	if bank = strings.TrimSpace(bank); bank != "" {
		q += " AND m.bank = $2"
		args = append(args, bank)
	}
	rows, err := tx.QueryContext(ctx, q+" LIMIT 2", args...)
	if err != nil {
		return Holder{}, err
	}
	var found []Holder
	var states []MedicalState
	for rows.Next() {
		var name string
		m, err := scanMedical(rows, &name)
		if err != nil {
			rows.Close()
			return Holder{}, err
		}
		found = append(found, Holder{Means: ByMedicalCard, CardRef: m.CardNumber, PersonID: m.PersonID, Region: m.Region, IDNumber: m.IDNumber, Name: name})
		states = append(states, m.State)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Holder{}, err
	}
	switch {
	case len(found) == 0:
		return Holder{}, errs.E(errs.Invalid, "no medical insurance card has this number")
	case len(found) > 1:
		return Holder{}, errs.Field("bank", "two banks issued a card with this number; name the bank")
	case states[0] != MedActive:
		return Holder{}, errs.E(errs.Invalid, "the medical insurance card is %s and cannot be used", medStateWords[states[0]])
	}
	return found[0], nil
}

var medStateWords = map[MedicalState]string{MedIssued: "not activated yet", MedLost: "reported lost", MedCancelled: "cancelled"}
