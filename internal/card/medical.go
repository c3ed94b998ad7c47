package card

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/period"
)

// The medical insurance card (医保卡) is issued by a designated agent bank, identifies its holder
// by ID number and serves medical insurance only. It has no key management, so it is refused for
// anything else, and settlement gives it lower limits (policy).

// MedicalState of a medical insurance card: issued → active → lost → cancelled.
type MedicalState string

const (
	MedIssued    MedicalState = "issued"
	MedActive    MedicalState = "active"
	MedLost      MedicalState = "lost"
	MedCancelled MedicalState = "cancelled"
)

// medicalNext is the medical card's table: action → from states → to.
var medicalNext = map[string]struct {
	from []MedicalState
	to   MedicalState
}{
	"activate": {[]MedicalState{MedIssued}, MedActive},
	"lose":     {[]MedicalState{MedIssued, MedActive}, MedLost},
	"cancel":   {[]MedicalState{MedIssued, MedActive, MedLost}, MedCancelled},
}

// MedicalCard is a bank-issued medical insurance card.
type MedicalCard struct {
	ID         int64
	Region     string
	PersonID   int64
	IDNumber   ident.IDNumber
	Bank       string
	CardNumber string
	State      MedicalState
	IssuedAt   time.Time
}

// Purpose is what a card is being used for.
type Purpose string

// PurposeMedical is the only purpose a medical insurance card serves.
const PurposeMedical Purpose = "medical"

// IssueMedical issues a medical insurance card to an insured person. The bank's operator issues it
// with the bank's own card number.
func (s *Service) IssueMedical(ctx context.Context, by *auth.Principal, idNumber, cardNumber string) (MedicalCard, error) {
	if err := by.Require(auth.IssueMedicalCard); err != nil {
		return MedicalCard{}, err
	}
	f := errs.Fields{}
	n, err := ident.ParseIDNumber(idNumber, period.Today(s.now()))
	if err != nil {
		f.Add("id_number", err.Error())
	}
	cardNumber = strings.ToUpper(strings.TrimSpace(cardNumber))
	if len(cardNumber) < 6 || len(cardNumber) > 32 || strings.Trim(cardNumber, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		f.Add("card_number", "6–32 digits or capital letters, as the bank numbers its cards")
	}
	if err := f.Err(); err != nil {
		return MedicalCard{}, err
	}
	var m MedicalCard
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		var pid int64
		var region string
		if err := tx.QueryRowContext(ctx, "SELECT id, region FROM persons WHERE id_number = $1", string(n)).Scan(&pid, &region); err != nil || !by.InRegion(region) {
			return errs.Field("id_number", "no person with this ID number is registered in your regions")
		}
		var insured int
		month := int(period.MonthOf(tx.Now))
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM participations WHERE person_id = $1 AND insurance = 'medical'
			AND start_month <= $2 AND (end_month = 0 OR end_month >= $2)`, pid, month).Scan(&insured); err != nil {
			return err
		}
		if insured == 0 {
			return errs.Field("id_number", "the person has no active medical insurance")
		}
		var live int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM medical_cards WHERE person_id = $1 AND state IN ('issued', 'active')", pid).Scan(&live); err != nil {
			return err
		}
		if live > 0 {
			return errs.E(errs.Conflict, "the person already has a medical insurance card in use")
		}
		now := db.FormatTime(tx.Now)
		err := tx.QueryRowContext(ctx, `INSERT INTO medical_cards(region, person_id, bank, card_number, state, issued_by, issued_at, state_at)
			VALUES($1, $2, $3, $4, 'issued', $5, $6, $6) RETURNING id`, region, pid, by.Username, cardNumber, by.Username, now).Scan(&m.ID)
		if db.IsUniqueViolation(err) {
			return errs.Field("card_number", "the bank already issued this number")
		}
		if err != nil {
			return err
		}
		m = MedicalCard{ID: m.ID, Region: region, PersonID: pid, IDNumber: n, Bank: by.Username, CardNumber: cardNumber, State: MedIssued, IssuedAt: tx.Now}
		return audit.Record(ctx, tx, by.Actor(), "medical_card.issue", "medical_card:"+cardNumber, region, nil)
	})
	return m, err
}

// scanMedical reads a row of medicalColumns, and into extra any columns the query adds after them.
func scanMedical(row interface{ Scan(...any) error }, extra ...any) (MedicalCard, error) {
	var m MedicalCard
	var idn, state, at string
	err := row.Scan(append([]any{&m.ID, &m.Region, &m.PersonID, &idn, &m.Bank, &m.CardNumber, &state, &at}, extra...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return MedicalCard{}, errs.E(errs.NotFound, "no such medical insurance card")
	}
	if err != nil {
		return MedicalCard{}, fmt.Errorf("card: read medical card: %w", err)
	}
	m.IDNumber, m.State = ident.IDNumber(idn), MedicalState(state)
	m.IssuedAt, _ = db.ParseTime(at)
	return m, nil
}

const medicalColumns = "m.id, m.region, m.person_id, p.id_number, m.bank, m.card_number, m.state, m.issued_at"

// ChangeMedical activates, reports lost or cancels a medical insurance card (its issuing bank).
func (s *Service) ChangeMedical(ctx context.Context, by *auth.Principal, cardNumber, action string) (MedicalCard, error) {
	if err := by.Require(auth.IssueMedicalCard); err != nil {
		return MedicalCard{}, err
	}
	t, ok := medicalNext[action]
	if !ok {
		return MedicalCard{}, errs.Field("action", "activate, lose or cancel")
	}
	var m MedicalCard
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		var err error
		m, err = scanMedical(tx.QueryRowContext(ctx, "SELECT "+medicalColumns+" FROM medical_cards m JOIN persons p ON p.id = m.person_id WHERE m.bank = $1 AND m.card_number = $2",
			by.Username, strings.ToUpper(strings.TrimSpace(cardNumber))))
		if err != nil {
			return err
		}
		allowed := false
		for _, f := range t.from {
			allowed = allowed || f == m.State
		}
		if !allowed {
			return errs.E(errs.Conflict, "a medical insurance card that is %s cannot be %sd", m.State, action)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE medical_cards SET state = $1, state_at = $2 WHERE id = $3 AND state = $4",
			string(t.to), db.FormatTime(tx.Now), m.ID, string(m.State)); err != nil {
			return err
		}
		m.State = t.to
		return audit.Record(ctx, tx, by.Actor(), "medical_card."+action, "medical_card:"+m.CardNumber, m.Region, nil)
	})
	return m, err
}

// MedicalCheck is what an institution learns from checking a medical insurance card: enough to
// identify the holder at the counter, with the ID number masked as the electronic card's scan
// masks it. The full number stays with the bank that issued the card and the bureau.
type MedicalCheck struct {
	CardNumber string
	Bank       string
	Name       string
	MaskedID   string
	State      MedicalState
	Region     string
}

// CheckMedicalUse says whether a medical insurance card may be used for purpose: only medical
// settlement, and only while active. Everything else (benefits, pension, identity) needs the
// social security card. An institution checks only the cards of its own regions; any other card
// is answered as unknown, so a check reveals nothing about another region's cardholders.
func (s *Service) CheckMedicalUse(ctx context.Context, by *auth.Principal, bank, cardNumber string, purpose Purpose) (MedicalCheck, error) {
	if err := by.Require(auth.UseMedicalCard); err != nil {
		return MedicalCheck{}, err
	}
	var name string
	m, err := scanMedical(s.db.R().QueryRowContext(ctx, "SELECT "+medicalColumns+", p.name FROM medical_cards m JOIN persons p ON p.id = m.person_id WHERE m.bank = $1 AND m.card_number = $2",
		bank, strings.ToUpper(strings.TrimSpace(cardNumber))), &name)
	if err != nil {
		return MedicalCheck{}, err
	}
	if !by.InRegion(m.Region) {
		return MedicalCheck{}, errs.E(errs.NotFound, "no such medical insurance card")
	}
	out := MedicalCheck{CardNumber: m.CardNumber, Bank: m.Bank, Name: name, MaskedID: m.IDNumber.Masked(), State: m.State, Region: m.Region}
	if purpose != PurposeMedical {
		return out, errs.E(errs.Forbidden, "a medical insurance card serves medical insurance only; %s needs the social security card", purpose)
	}
	if m.State != MedActive {
		return out, errs.E(errs.Conflict, "the medical insurance card is %s", m.State)
	}
	return out, nil
}

// MedicalBanks are the banks that have issued medical insurance cards in the regions of whoever
// checks one at a counter: the choices of the counter's bank list, so that nobody types a bank's
// login name.
func (s *Service) MedicalBanks(ctx context.Context, by *auth.Principal) ([]string, error) {
	if err := by.Require(auth.UseMedicalCard); err != nil {
		return nil, err
	}
	rows, err := s.db.R().QueryContext(ctx, "SELECT DISTINCT bank, region FROM medical_cards ORDER BY bank")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var banks []string
	for rows.Next() {
		var bank, region string
		if err := rows.Scan(&bank, &region); err != nil {
			return nil, err
		}
		if by.InRegion(region) && (len(banks) == 0 || banks[len(banks)-1] != bank) {
			banks = append(banks, bank)
		}
	}
	return banks, rows.Err()
}
