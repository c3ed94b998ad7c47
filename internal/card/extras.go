package card

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/sheet"
)

// StaffApplicationLimits bound the file of ApplyForStaff: the staff file's shape, at most 50,000
// rows (five batches' worth).
var StaffApplicationLimits = sheet.Limits{MaxRows: 50_000, MaxCols: 32, Keep: [][]string{idColumn}}

// idColumn names the ID number column of a staff file.
var idColumn = []string{"身份证号", "id_number", "公民身份号码"}

// ApplyForStaff applies, for an employer, for the cards of many staff at once from a file (XLSX or
// CSV) with an ID number column. The file is checked whole — every row's ID number, that the person
// is on the employer's staff, insured, without a card in use or on its way, and not twice in the
// file — and nothing is applied unless every row is good.
func (s *Service) ApplyForStaff(ctx context.Context, by *auth.Principal, data []byte) (int, error) {
	if by.Role != auth.Employer || by.EmployerID == 0 {
		return 0, errs.E(errs.Forbidden, "only an employer's HR applies for its staff in bulk")
	}
	t, err := sheet.ReadBytes(data, StaffApplicationLimits)
	if err != nil {
		if se, ok := err.(*sheet.Error); ok {
			return 0, errs.Field("file", se.Reason)
		}
		return 0, errs.Field("file", "not an XLSX or CSV table")
	}
	col := t.Column(idColumn...)
	if col < 0 {
		return 0, errs.Field("file", "the header needs a column 身份证号 (id_number)")
	}
	if len(t.Rows) == 0 {
		return 0, errs.Field("file", "no rows")
	}
	n := 0
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		problems := &errs.RowProblems{}
		seen := map[ident.IDNumber]int{}
		type todo struct {
			personID int64
			region   string
		}
		var ok []todo
		for _, r := range t.Rows {
			bad := func(reason string) {
				problems.Add(errs.RowProblem{Line: r.Line, Column: t.Letter(col), Field: "id_number", Reason: reason})
			}
			idn, err := ident.ParseIDNumber(r.Cells[col], period.Today(s.now()))
			if err != nil {
				bad(err.Error())
				continue
			}
			if first, dup := seen[idn]; dup {
				bad(fmt.Sprintf("the same person is on line %d", first))
				continue
			}
			seen[idn] = r.Line
			var pid int64
			var region string
			err = tx.QueryRowContext(ctx, `SELECT p.id, p.region FROM persons p JOIN staff s ON s.person_id = p.id
				WHERE p.id_number = $1 AND s.employer_id = $2 AND s.end_month = 0`, string(idn), by.EmployerID).Scan(&pid, &region)
			if err != nil {
				bad("not on your staff")
				continue
			}
			var live int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM cards WHERE person_id = $1 AND kind = 'social_security'
				AND state IN ('applied', 'approved', 'in_production', 'produced', 'at_outlet', 'collected', 'active', 'temporarily_lost')`, pid).Scan(&live); err != nil {
				return err
			}
			if live > 0 {
				bad("already has a card in use or on its way")
				continue
			}
			ok = append(ok, todo{pid, region})
		}
		if err := problems.Err(fmt.Sprintf("%d of %d rows have problems; nothing was applied for", problems.Lines, len(t.Rows))); err != nil {
			return err
		}
		for _, x := range ok {
			if _, err := s.insertApplication(ctx, tx, by, x.personID, x.region, 0); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// PublicProgress answers the public progress inquiry: the application's steps and dates, given
// both the holder's ID number and the application number; names and numbers come back masked.
// The caller rate-limits it, since it is open to anyone.
func (s *Service) PublicProgress(ctx context.Context, idNumber, applicationNo string) (Card, []Event, error) {
	notFound := errs.E(errs.NotFound, "no application matches this ID number and application number")
	n, err := ident.ParseIDNumber(idNumber, period.Today(s.now()))
	if err != nil {
		return Card{}, nil, errs.Field("id_number", err.Error())
	}
	c, err := scanCard(s.db.R().QueryRowContext(ctx, "SELECT "+cardColumns+cardFrom+"WHERE c.application_no = $1", strings.TrimSpace(applicationNo)))
	if err != nil || c.IDNumber != n {
		return Card{}, nil, notFound
	}
	rows, err := s.db.R().QueryContext(ctx, "SELECT action, from_state, to_state, at FROM card_events WHERE card_id = $1 ORDER BY id", c.ID)
	if err != nil {
		return Card{}, nil, err
	}
	defer rows.Close()
	var events []Event
	for rows.Next() {
		var e Event
		var a, from, to, at string
		if err := rows.Scan(&a, &from, &to, &at); err != nil {
			return Card{}, nil, err
		}
		e.Action, e.From, e.To = Action(a), State(from), State(to)
		e.At, _ = db.ParseTime(at)
		events = append(events, e)
	}
	// What a stranger holding both numbers may see: no full name, ID number or card number.
	masked := Card{ApplicationNo: c.ApplicationNo, State: c.State, Kind: c.Kind, Region: c.Region, Outlet: c.Outlet, AppliedAt: c.AppliedAt,
		StateAt: c.StateAt, Name: maskName(c.Name), IDNumber: ident.IDNumber(c.IDNumber.Masked())}
	return masked, events, rows.Err()
}

func maskName(name string) string {
	r := []rune(name)
	if len(r) <= 1 {
		return "*"
	}
	return string(r[0]) + strings.Repeat("*", len(r)-1)
}

// ResetPIN sets a new PIN at the outlet, after the clerk checks the holder's ID card.
func (s *Service) ResetPIN(ctx context.Context, by *auth.Principal, id int64, presentedID, pin string) (Card, error) {
	if err := by.Require(auth.HandOutCard); err != nil {
		return Card{}, err
	}
	if !pinRE.MatchString(pin) || weakPIN(pin) {
		return Card{}, errs.Field("pin", "6 digits, not all the same, not a run")
	}
	hash, err := hashPIN(pin)
	if err != nil {
		return Card{}, err
	}
	var c Card
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		cur, err := loadCard(ctx, tx, id, tx.ForUpdate())
		if err != nil {
			return err
		}
		if err := mayAct(by, &cur); err != nil {
			return err
		}
		n, err := ident.ParseIDNumber(presentedID, period.Today(s.now()))
		if err != nil || n != cur.IDNumber {
			return errs.Field("id_number", "the ID card presented is not the card holder's")
		}
		if cur.State != Active && cur.State != TemporarilyLost {
			return errs.E(errs.Conflict, "a card that is %s has no PIN to reset", cur.State)
		}
		rules, err := s.rules(ctx, tx, cur.Region)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE cards SET pin_hash = $1, pin_tries_left = $2 WHERE id = $3", hash, rules.PINTries, id); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, by.Actor(), "card.pin_reset", cardObject(cur), cur.Region, nil); err != nil {
			return err
		}
		c, err = loadCard(ctx, tx, id, "")
		return err
	})
	return c, err
}

// IssueTemporary issues a temporary card at the outlet: active at once, valid for the policy's
// days (60 by default), with no bank function. A person holds at most one temporary card at a time.
func (s *Service) IssueTemporary(ctx context.Context, by *auth.Principal, idNumber string) (Card, error) {
	if err := by.Require(auth.HandOutCard); err != nil {
		return Card{}, err
	}
	var c Card
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		personID, region, err := s.personFor(ctx, tx, by, idNumber)
		if err != nil {
			return err
		}
		var live int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM cards WHERE person_id = $1 AND kind = 'temporary' AND state = 'active'", personID).Scan(&live); err != nil {
			return err
		}
		if live > 0 {
			return errs.E(errs.Conflict, "the person already holds a temporary card")
		}
		rules, err := s.rules(ctx, tx, region)
		if err != nil {
			return err
		}
		var last int64
		if err := tx.QueryRowContext(ctx, "SELECT last FROM card_sequence WHERE id = 1"+tx.ForUpdate()).Scan(&last); err != nil {
			return err
		}
		last++
		number, err := ident.MakeCardNumber(fmt.Sprintf("%08d", last))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE card_sequence SET last = $1 WHERE id = 1", last); err != nil {
			return err
		}
		now := db.FormatTime(tx.Now)
		app := applicationNumber(region, tx.Now)
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO cards(region, person_id, kind, application_no, state, channel, applied_by, applied_at, state_at, card_number, valid_until)
			VALUES($1, $2, 'temporary', $3, 'active', 'window', $4, $5, $5, $6, $7) RETURNING id`, region, personID, app, by.Username, now, string(number),
			db.FormatTime(tx.Now.Add(time.Duration(rules.TemporaryCardDays)*24*time.Hour))).Scan(&id); err != nil {
			return fmt.Errorf("card: temporary: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO card_events(card_id, action, from_state, to_state, actor, role, reason, at)
			VALUES($1, 'apply', '', 'active', $2, 'clerk', 'temporary card', $3)`, id, by.Username, now); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, by.Actor(), "card.temporary", "card:"+app, region, map[string]int{"days": rules.TemporaryCardDays}); err != nil {
			return err
		}
		c, err = loadCard(ctx, tx, id, "")
		return err
	})
	return c, err
}

// SetPhoto stores the photo for the card face while the application waits for review: the
// applicant themself, their employer's HR, or a clerk. The type is decided by content (JPEG or
// PNG) and the size is limited by the policy's upload limit.
func (s *Service) SetPhoto(ctx context.Context, by *auth.Principal, id int64, data []byte) (Card, error) {
	var kind string
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		kind = "image/jpeg"
	case bytes.HasPrefix(data, []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}):
		kind = "image/png"
	default:
		return Card{}, errs.Field("photo", "a JPEG or PNG picture (checked by its content)")
	}
	var c Card
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		cur, err := loadCard(ctx, tx, id, tx.ForUpdate())
		if err != nil {
			return err
		}
		switch by.Role {
		case auth.Employer:
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM staff WHERE employer_id = $1 AND person_id = $2 AND end_month = 0", by.EmployerID, cur.PersonID).Scan(&n); err != nil || n == 0 {
				return errs.E(errs.NotFound, "no such card")
			}
		case auth.Resident, auth.Clerk:
			if err := mayAct(by, &cur); err != nil {
				return err
			}
		default:
			return errs.E(errs.Forbidden, "your role may not give a card its photo")
		}
		if cur.State != Applied {
			return errs.E(errs.Conflict, "the photo can be changed only while the application waits for review")
		}
		v, err := s.policies.Effective(ctx, tx, cur.Region, period.MonthOf(tx.Now))
		if err != nil {
			return err
		}
		if int64(len(data)) > v.Policy.Upload.MaxBytes {
			return errs.Field("photo", fmt.Sprintf("larger than %d KiB", v.Policy.Upload.MaxBytes>>10))
		}
		sum := sha(data)
		if _, err := tx.ExecContext(ctx, "UPDATE cards SET photo = $1, photo_type = $2, photo_sha256 = $3, photo_by = $4 WHERE id = $5", data, kind, sum, by.Username, id); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, by.Actor(), "card.photo", cardObject(cur), cur.Region, map[string]any{"sha256": sum, "size": len(data)}); err != nil {
			return err
		}
		c, err = loadCard(ctx, tx, id, "")
		return err
	})
	return c, err
}

// Photo returns a card's photo to those who may see the card.
func (s *Service) Photo(ctx context.Context, by *auth.Principal, id int64) (string, []byte, error) {
	c, err := s.Get(ctx, by, id)
	if err != nil {
		return "", nil, err
	}
	var kind string
	var data []byte
	if err := s.db.R().QueryRowContext(ctx, "SELECT photo_type, photo FROM cards WHERE id = $1", c.ID).Scan(&kind, &data); err != nil || kind == "" {
		return "", nil, errs.E(errs.NotFound, "the card has no photo yet")
	}
	return kind, data, nil
}

// ByNumber finds a card of the principal's regions by its card number (a bank at its counter).
func (s *Service) ByNumber(ctx context.Context, by *auth.Principal, number string) (Card, error) {
	c, err := scanCard(s.db.R().QueryRowContext(ctx, "SELECT "+cardColumns+cardFrom+"WHERE c.card_number = $1", strings.ToUpper(strings.TrimSpace(number))))
	if err != nil || !by.InRegion(c.Region) {
		return Card{}, errs.E(errs.NotFound, "no card with this number in your regions")
	}
	return c, nil
}

// MedicalCards lists the medical insurance cards the bank operator's bank issued, newest first.
func (s *Service) MedicalCards(ctx context.Context, by *auth.Principal) ([]MedicalCard, error) {
	rows, err := s.db.R().QueryContext(ctx, "SELECT "+medicalColumns+" FROM medical_cards m JOIN persons p ON p.id = m.person_id WHERE m.bank = $1 ORDER BY m.id DESC LIMIT 200", by.Username)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []MedicalCard
	for rows.Next() {
		m, err := scanMedical(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
