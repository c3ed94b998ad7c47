package card

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/policy"
)

var ctx = context.Background()

const region = "330100"

type tableEnv struct {
	t   *testing.T
	d   *db.DB
	svc *Service
	n   int
}

func newTableEnv(t *testing.T, d *db.DB) *tableEnv {
	pol := policy.NewStore(d)
	p, _, _ := policy.Default(region, 202001)
	if _, err := pol.Install(ctx, audit.System, p); err != nil {
		t.Fatal(err)
	}
	return &tableEnv{t: t, d: d, svc: New(d, pol, nil)}
}

// person inserts an insured person and returns their row id and ID number.
func (e *tableEnv) person() (int64, string) {
	e.t.Helper()
	e.n++
	n, err := ident.MakeIDNumber(fmt.Sprintf("3301061980%02d%02d%03d", 1+e.n%12, 1+e.n%28, e.n%1000))
	if err != nil {
		e.t.Fatal(err)
	}
	var id int64
	err = e.d.Write(ctx, func(tx *db.Tx) error {
		now := db.FormatTime(tx.Now)
		if err := tx.QueryRowContext(ctx, `INSERT INTO persons(region, id_number, id_kind, name, gender, birth_date, hukou_type, created_at, created_by, updated_at)
			VALUES($1, $2, 'resident', '测试', 'male', '1980-01-01', 'local', $3, 't', $3) RETURNING id`, region, string(n), now).Scan(&id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO participations(region, person_id, insurance, start_month, source, created_at) VALUES($1, $2, 'medical', 202001, 't', $3)`, region, id, now)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return id, string(n)
}

// cardIn inserts a card of a new person directly in state s.
func (e *tableEnv) cardIn(s State) (int64, int64) {
	e.t.Helper()
	pid, _ := e.person()
	var id int64
	err := e.d.Write(ctx, func(tx *db.Tx) error {
		now := db.FormatTime(tx.Now)
		return tx.QueryRowContext(ctx, `INSERT INTO cards(region, person_id, kind, application_no, state, channel, applied_by, applied_at, state_at, card_number)
			VALUES($1, $2, 'social_security', $3, $4, 'window', 't', $5, $5, $6) RETURNING id`,
			region, pid, fmt.Sprintf("APP%06d", e.n), string(s), now, fmt.Sprintf("N%06d", e.n)).Scan(&id)
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return id, pid
}

func principalFor(role auth.Role, personID int64) *auth.Principal {
	if role == System {
		return nil
	}
	return &auth.Principal{User: auth.User{Username: "u-" + string(role), Role: role, Roles: []auth.Role{role}, Regions: []string{region}, PersonID: personID}}
}

// TestEveryStateActionRole walks the whole transition table: every state × every action × every
// role (and the system). What the table allows moves the card to the table's state and records an
// event; everything else is refused and changes nothing.
func TestEveryStateActionRole(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newTableEnv(t, d)
		roles := append(slices.Clone(auth.Roles), System)
		checked := 0
		for _, from := range States {
			for _, a := range Actions() {
				if a == Apply {
					continue // from no card at all: TestApplyRoles
				}
				for _, role := range roles {
					id, pid := e.cardIn(from)
					want, ok, allowed := Next(from, a, role)
					var got Card
					err := d.Write(ctx, func(tx *db.Tx) error {
						var err error
						got, err = e.svc.step(ctx, tx, principalFor(role, pid), id, a, "test", nil)
						return err
					})
					after, _ := loadCard(ctx, d.R(), id, "")
					var events int
					d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM card_events WHERE card_id = $1", id).Scan(&events)
					switch {
					case ok && allowed:
						if err != nil || got.State != want || after.State != want || events != 1 {
							t.Errorf("%s --%s--> as %s: %v, state %s, %d events; want %s", from, a, role, err, after.State, events, want)
						}
					default:
						code := errs.Conflict
						if ok {
							code = errs.Forbidden
						}
						if !errs.Is(err, code) || after.State != from || events != 0 {
							t.Errorf("%s --%s--> as %s: err %v (want %s), state %s, %d events; want it refused and unchanged", from, a, role, err, code, after.State, events)
						}
					}
					checked++
				}
			}
		}
		if checked != len(States)*(len(Actions())-1)*len(roles) {
			t.Fatalf("checked %d combinations", checked)
		}
		if _, err := audit.Verify(ctx, d, nil); err != nil {
			t.Fatal(err)
		}
	})
}

// TestApplyRoles: applying is for the person themself, the clerk, and the person's employer.
func TestApplyRoles(t *testing.T) {
	e := newTableEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	for _, role := range auth.Roles {
		pid, idn := e.person()
		_, _, allowed := Next(None, Apply, role)
		by := principalFor(role, pid)
		if role == auth.Employer {
			var emp int64
			e.d.Write(ctx, func(tx *db.Tx) error {
				now := db.FormatTime(tx.Now)
				if err := tx.QueryRowContext(ctx, `INSERT INTO employers(region, uscc, name, legal_rep, risk_class, created_at, created_by)
					VALUES($1, $2, 'x', 'y', 1, $3, 't') RETURNING id`, region, fmt.Sprintf("U%d", pid), now).Scan(&emp); err != nil {
					return err
				}
				_, err := tx.ExecContext(ctx, "INSERT INTO staff(region, employer_id, person_id, start_month, base, created_at) VALUES($1, $2, $3, 202001, 500000, $4)", region, emp, pid, now)
				return err
			})
			by.EmployerID = emp
		}
		c, err := e.svc.Apply(ctx, by, idn)
		switch {
		case allowed && (err != nil || c.State != Applied):
			t.Errorf("%s applies: %v", role, err)
		case !allowed && err == nil:
			t.Errorf("%s applied; the table does not allow it", role)
		}
	}
	_ = time.Now
}
