package card

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/keys"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
)

// Kind of card.
type Kind string

const (
	SocialSecurity Kind = "social_security"
	Temporary      Kind = "temporary"
)

// Card is a social security card (or a temporary card) and where it stands.
type Card struct {
	ID              int64
	Region          string
	PersonID        int64
	IDNumber        ident.IDNumber
	Name            string
	Kind            Kind
	ApplicationNo   string
	State           State
	Channel         string
	AppliedBy       string
	AppliedAt       time.Time
	StateAt         time.Time
	CardNumber      string
	CardID          string
	ChipSerial      string
	KeyVersion      int
	BatchID         int64
	Outlet          string
	ValidUntil      time.Time
	ReplacesID      int64
	BankAccount     string
	BankActivatedAt time.Time
	Reason          string
	HasPhoto        bool
}

// Event is one step of a card's history, for the progress inquiry.
type Event struct {
	Action Action
	From   State
	To     State
	Actor  string
	Role   string
	Reason string
	At     time.Time
}

// Service is the card capability.
type Service struct {
	db       *db.DB
	policies *policy.Store
	keys     *keys.Service
	now      func() time.Time
}

// New returns the card service.
func New(d *db.DB, p *policy.Store, k *keys.Service) *Service {
	return &Service{db: d, policies: p, keys: k, now: d.Now}
}

const cardColumns = `c.id, c.region, c.person_id, p.id_number, p.name, c.kind, c.application_no, c.state, c.channel, c.applied_by, c.applied_at,
	c.state_at, COALESCE(c.card_number, ''), COALESCE(c.card_id, ''), c.chip_serial, c.key_version, COALESCE(c.batch_id, 0),
	COALESCE(c.outlet, ''), c.valid_until, COALESCE(c.replaces_id, 0), c.bank_account, c.bank_activated_at, c.reason, c.photo_type <> ''`

const cardFrom = " FROM cards c JOIN persons p ON p.id = c.person_id "

func scanCard(row interface{ Scan(...any) error }) (Card, error) {
	var c Card
	var idn, kind, state, applied, stateAt, valid, bankAt string
	err := row.Scan(&c.ID, &c.Region, &c.PersonID, &idn, &c.Name, &kind, &c.ApplicationNo, &state, &c.Channel, &c.AppliedBy, &applied,
		&stateAt, &c.CardNumber, &c.CardID, &c.ChipSerial, &c.KeyVersion, &c.BatchID, &c.Outlet, &valid, &c.ReplacesID, &c.BankAccount, &bankAt, &c.Reason, &c.HasPhoto)
	if errors.Is(err, sql.ErrNoRows) {
		return Card{}, errs.E(errs.NotFound, "no such card")
	}
	if err != nil {
		return Card{}, fmt.Errorf("card: read: %w", err)
	}
	c.IDNumber, c.Kind, c.State = ident.IDNumber(idn), Kind(kind), State(state)
	c.AppliedAt, _ = db.ParseTime(applied)
	c.StateAt, _ = db.ParseTime(stateAt)
	if valid != "" {
		c.ValidUntil, _ = db.ParseTime(valid)
	}
	if bankAt != "" {
		c.BankActivatedAt, _ = db.ParseTime(bankAt)
	}
	return c, nil
}

func loadCard(ctx context.Context, r db.Reader, id int64, lock string) (Card, error) {
	return scanCard(r.QueryRowContext(ctx, "SELECT "+cardColumns+cardFrom+"WHERE c.id = $1"+lock, id))
}

// mayAct checks the object rules beside the table: staff act within their regions, residents on
// their own cards only.
func mayAct(by *auth.Principal, c *Card) error {
	if by == nil {
		return nil // the system
	}
	if by.Role == auth.Resident {
		if by.PersonID != c.PersonID {
			return errs.E(errs.NotFound, "no such card")
		}
		return nil
	}
	if !by.InRegion(c.Region) {
		return errs.E(errs.NotFound, "no such card")
	}
	return nil
}

// roleFor picks the role of the principal under which the table allows the action, or explains
// why not.
func roleFor(by *auth.Principal, c *Card, a Action) (State, auth.Role, error) {
	if by == nil {
		to, ok, allowed := Next(c.State, a, System)
		switch {
		case !ok:
			return "", "", errs.E(errs.Conflict, "a card that is %s cannot be %s", c.State, a)
		case !allowed:
			return "", "", errs.E(errs.Forbidden, "the server may not %s a card by itself", a)
		}
		return to, System, nil
	}
	roles := by.Roles
	if len(roles) == 0 {
		roles = []auth.Role{by.Role}
	}
	for _, r := range roles {
		to, ok, allowed := Next(c.State, a, r)
		if !ok {
			return "", "", errs.E(errs.Conflict, "a card that is %s cannot be %s", c.State, a)
		}
		if allowed {
			return to, r, nil
		}
	}
	return "", "", errs.E(errs.Forbidden, "your role may not %s a card", a)
}

// step moves a card by one row of the table inside tx: it checks the table and the object rules,
// updates the state (only if it is still what was read), and records the event and an audit entry.
// set, if given, adds columns to the update.
func (s *Service) step(ctx context.Context, tx *db.Tx, by *auth.Principal, id int64, a Action, reason string, set map[string]any) (Card, error) {
	c, err := loadCard(ctx, tx, id, tx.ForUpdate())
	if err != nil {
		return Card{}, err
	}
	if err := mayAct(by, &c); err != nil {
		return Card{}, err
	}
	to, role, err := roleFor(by, &c, a)
	if err != nil {
		return Card{}, err
	}
	q := "UPDATE cards SET state = $1, state_at = $2, reason = $3"
	args := []any{string(to), db.FormatTime(tx.Now), reason}
	cols := make([]string, 0, len(set))
	for col := range set {
		cols = append(cols, col)
	}
	slices.Sort(cols)
	for _, col := range cols {
		args = append(args, set[col])
		q += ", " + col + " = $" + strconv.Itoa(len(args))
	}
	args = append(args, id, string(c.State))
	q += " WHERE id = $" + strconv.Itoa(len(args)-1) + " AND state = $" + strconv.Itoa(len(args))
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		if db.IsUniqueViolation(err) {
			return Card{}, errs.E(errs.Conflict, "the person already has a card in use or on its way")
		}
		return Card{}, fmt.Errorf("card: %s: %w", a, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return Card{}, errs.E(errs.Conflict, "the card changed meanwhile; try again")
	}
	who := actorOf(by)
	if _, err := tx.ExecContext(ctx, `INSERT INTO card_events(card_id, action, from_state, to_state, actor, role, reason, at)
		VALUES($1, $2, $3, $4, $5, $6, $7, $8)`, id, string(a), string(c.State), string(to), who.Name, string(role), reason, db.FormatTime(tx.Now)); err != nil {
		return Card{}, fmt.Errorf("card: record event: %w", err)
	}
	if err := audit.Record(ctx, tx, who, "card."+string(a), cardObject(c), c.Region,
		map[string]any{"from": c.State, "to": to, "reason": reason}); err != nil {
		return Card{}, err
	}
	return loadCard(ctx, tx, id, "")
}

func actorOf(by *auth.Principal) audit.Actor {
	if by == nil {
		return audit.System
	}
	return by.Actor()
}

func cardObject(c Card) string { return "card:" + c.ApplicationNo }

// Get returns a card the principal may see.
func (s *Service) Get(ctx context.Context, by *auth.Principal, id int64) (Card, error) {
	c, err := loadCard(ctx, s.db.R(), id, "")
	if err != nil {
		return Card{}, err
	}
	if err := mayAct(by, &c); err != nil {
		return Card{}, err
	}
	return c, nil
}

// History returns a card's events, oldest first: the progress inquiry.
func (s *Service) History(ctx context.Context, by *auth.Principal, id int64) (Card, []Event, error) {
	c, err := s.Get(ctx, by, id)
	if err != nil {
		return Card{}, nil, err
	}
	rows, err := s.db.R().QueryContext(ctx, "SELECT action, from_state, to_state, actor, role, reason, at FROM card_events WHERE card_id = $1 ORDER BY id", id)
	if err != nil {
		return Card{}, nil, fmt.Errorf("card: history: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var a, from, to, at string
		if err := rows.Scan(&a, &from, &to, &e.Actor, &e.Role, &e.Reason, &at); err != nil {
			return Card{}, nil, err
		}
		e.Action, e.From, e.To = Action(a), State(from), State(to)
		e.At, _ = db.ParseTime(at)
		out = append(out, e)
	}
	return c, out, rows.Err()
}

// queryCards runs a query of cardColumns and reads every card it returns.
func queryCards(ctx context.Context, r db.Reader, where string, args ...any) ([]Card, error) {
	rows, err := r.QueryContext(ctx, "SELECT "+cardColumns+cardFrom+where, args...)
	if err != nil {
		return nil, fmt.Errorf("card: list: %w", err)
	}
	defer rows.Close()
	var out []Card
	for rows.Next() {
		c, err := scanCard(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ofPerson lists a person's cards, newest first.
func (s *Service) ofPerson(ctx context.Context, personID int64) ([]Card, error) {
	return queryCards(ctx, s.db.R(), "WHERE c.person_id = $1 ORDER BY c.id DESC", personID)
}

// Mine lists the resident's own cards, newest first.
func (s *Service) Mine(ctx context.Context, by *auth.Principal) ([]Card, error) {
	if by.Role != auth.Resident || by.PersonID == 0 {
		return nil, errs.E(errs.NotFound, "this login is not linked to a registered person")
	}
	return s.ofPerson(ctx, by.PersonID)
}

// MinePage is one page of Mine: at most limit cards older than the id before (0: from the newest).
func (s *Service) MinePage(ctx context.Context, by *auth.Principal, before int64, limit int) ([]Card, error) {
	if by.Role != auth.Resident || by.PersonID == 0 {
		return nil, errs.E(errs.NotFound, "this login is not linked to a registered person")
	}
	return queryCards(ctx, s.db.R(), "WHERE c.person_id = $1 AND ($2 = 0 OR c.id < $2) ORDER BY c.id DESC LIMIT $3", by.PersonID, before, limit)
}

// rules returns the card rules of the policy in force in region.
func (s *Service) rules(ctx context.Context, r db.Reader, region string) (policy.CardRules, error) {
	v, err := s.policies.Effective(ctx, r, region, period.MonthOf(s.now()))
	if err != nil {
		return policy.CardRules{}, err
	}
	return v.Policy.Cards, nil
}
