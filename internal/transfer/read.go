package transfer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/period"
)

func identOf(s string) ident.IDNumber { return ident.IDNumber(s) }

// Get is one transfer with both sides' progress, for the person, for the HR operator who applied,
// and for the staff of either region. It reads both regions' sides (a read, never a transaction
// that writes both): the person follows one transfer, wherever its step is.
func (s *Service) Get(ctx context.Context, by *auth.Principal, no string) (Transfer, error) {
	if err := by.Require(auth.ReadTransfer); err != nil {
		return Transfer{}, err
	}
	var t Transfer
	err := s.db.Read(ctx, func(tx *db.Tx) error {
		var err error
		t, err = get(ctx, tx, by, no)
		return err
	})
	if err != nil {
		return Transfer{}, err
	}
	return t, nil
}

// get is Get within a read transaction, so that a page of List is one snapshot.
func get(ctx context.Context, tx *db.Tx, by *auth.Principal, no string) (Transfer, error) {
	t, err := loadIn(ctx, tx, no)
	if errors.Is(err, errNoTransfer) {
		return Transfer{}, errs.E(errs.NotFound, "no such transfer")
	}
	if err != nil {
		return Transfer{}, err
	}
	switch {
	case by.Role == auth.Resident && by.PersonID == t.PersonID,
		by.Role == auth.Employer && by.Username == t.AppliedBy,
		by.Role.Staff() && (by.InRegion(t.ToRegion) || by.InRegion(t.FromRegion)):
	default:
		return Transfer{}, errs.E(errs.NotFound, "no such transfer")
	}
	out, err := loadOut(ctx, tx, no)
	switch {
	case errors.Is(err, errNoTransfer):
	case err != nil:
		return Transfer{}, err
	default:
		t.OutStatus, t.ApprovedBy = out.OutStatus, out.ApprovedBy
		if t.InStatus == Accepted || t.InStatus == Refused && t.Refusal == "" {
			// Before the money arrives, what A computed is what will move.
			t.Amounts, t.Months = out.Amounts, out.Months
		}
		t.Amounts.PooledBases = out.Amounts.PooledBases
		if t.Refusal == "" {
			t.Refusal = out.Refusal
		}
	}
	if t.Steps, err = steps(ctx, tx, t); err != nil {
		return Transfer{}, err
	}
	if by.Role != auth.Resident && !by.Role.Staff() {
		t.IDNumber = ident.IDNumber(t.IDNumber.Masked())
	}
	return t, nil
}

// steps are the dated steps both sides have recorded, in order.
func steps(ctx context.Context, tx *db.Tx, t Transfer) ([]Step, error) {
	var in [5]string
	if err := tx.QueryRowContext(ctx, `SELECT applied_at, accepted_at, credited_at, done_at, refused_at FROM transfers_in WHERE region = $1 AND no = $2`,
		t.ToRegion, t.No).Scan(&in[0], &in[1], &in[2], &in[3], &in[4]); err != nil {
		return nil, err
	}
	var out [4]string
	_ = tx.QueryRowContext(ctx, `SELECT computed_at, approved_at, done_at, refused_at FROM transfers_out WHERE region = $1 AND no = $2`,
		t.FromRegion, t.No).Scan(&out[0], &out[1], &out[2], &out[3])
	var st []Step
	add := func(key, at string) {
		if at == "" {
			return
		}
		when, err := db.ParseTime(at)
		if err == nil {
			st = append(st, Step{Key: key, At: when})
		}
	}
	add("applied", in[0])
	add("accepted", in[1])
	add("computed", out[0])
	add("approved", out[1])
	add("credited", in[2])
	add("remitted", out[2])
	add("done", in[3])
	if in[4] != "" {
		add("refused", in[4])
	} else {
		add("refused", out[3])
	}
	return st, nil
}

// Query picks a list of transfers.
type Query struct {
	Direction string // "in": to the caller's regions; "out": from them
	Status    Status // "" for every status
	Limit     int
	After     string // the last number of the previous page
}

// MaxList bounds a page.
const MaxList = 200

// List is a region's queue: the transfers into (or out of) the caller's regions, by number. A
// resident sees their own, an HR operator those they applied for.
func (s *Service) List(ctx context.Context, by *auth.Principal, q Query) ([]Transfer, error) {
	if err := by.Require(auth.ReadTransfer); err != nil {
		return nil, err
	}
	if q.Limit <= 0 || q.Limit > MaxList {
		q.Limit = 50
	}
	table, region := "transfers_in", "region"
	switch q.Direction {
	case "", "in":
	case "out":
		table = "transfers_out"
	default:
		return nil, errs.Field("direction", `"in" or "out"`)
	}
	if q.Status != "" && !validStatus(q.Status) {
		return nil, errs.Field("status", "applied, accepted, computed, sent, credited, done or refused")
	}
	where := []string{"no > $1"}
	args := []any{q.After}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	switch {
	case by.Role == auth.Resident:
		where = append(where, "person_id = "+arg(by.PersonID))
	case by.Role == auth.Employer:
		if table == "transfers_out" {
			return nil, nil
		}
		where = append(where, "applied_by = "+arg(by.Username))
	default:
		var rs []string
		for _, r := range by.Regions {
			rs = append(rs, arg(r))
		}
		if len(rs) == 0 {
			return nil, nil
		}
		where = append(where, region+" IN ("+strings.Join(rs, ", ")+")")
	}
	if q.Status != "" {
		where = append(where, "status = "+arg(string(q.Status)))
	}
	var out []Transfer
	err := s.db.Read(ctx, func(tx *db.Tx) error {
		var nos []string
		if err := db.EachRow(ctx, tx, func(scan func(...any) error) error {
			var no string
			err := scan(&no)
			nos = append(nos, no)
			return err
		}, "SELECT no FROM "+table+" WHERE "+strings.Join(where, " AND ")+" ORDER BY no LIMIT "+arg(q.Limit), args...); err != nil {
			return err
		}
		out = make([]Transfer, 0, len(nos))
		for _, no := range nos {
			t, err := get(ctx, tx, by, no)
			if err != nil {
				return err
			}
			out = append(out, t)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func validStatus(s Status) bool {
	switch s {
	case Applied, Accepted, Computed, Sent, Credited, Done, Refused:
		return true
	}
	return false
}

// MonthsOf lists the months a transfer recorded in the receiving region, by insurance, once the
// money has arrived there: the receipt's detail.
func (s *Service) MonthsOf(ctx context.Context, by *auth.Principal, no string) (map[string][]period.Month, error) {
	t, err := s.Get(ctx, by, no)
	if err != nil {
		return nil, err
	}
	out := map[string][]period.Month{}
	err = db.EachRow(ctx, s.db.R(), func(scan func(...any) error) error {
		var ins string
		var m int
		err := scan(&ins, &m)
		out[ins] = append(out[ins], period.Month(m))
		return err
	}, "SELECT insurance, month FROM transferred_months WHERE region = $1 AND person_id = $2 AND transfer_no = $3 ORDER BY insurance, month",
		t.ToRegion, t.PersonID, no)
	return out, err
}
