package settle

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
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
)

// The monthly clearing (清算): what the pool and the personal accounts paid through an
// institution's settlements is owed to it (its payable account); each month a clerk prepares the
// month's clearing, a reviewer independent of the clerk approves it, and it is posted once — the
// payable against the bank clearing account, as the bureau's bank pays the institution.
//
// A clearing takes every settlement dated in its month or before that no clearing took yet, and
// gives back every refund that no clearing took back yet: a settlement refunded before its month
// was cleared counts in neither; one refunded after is taken back by the next clearing.

// Clearing statuses.
const (
	Prepared = "prepared"
	Posted   = "posted"
)

// Clearing is one institution's month.
type Clearing struct {
	Region      string
	Institution string
	Month       period.Month
	Count       int       // settlements and refunds it takes
	Amount      money.Fen // what the bureau pays (negative: what the institution owes back)
	Status      string
	PreparedBy  string
	PreparedAt  time.Time
	ApprovedBy  string
	ApprovedAt  time.Time
	EntryID     int64
}

// PrepareClearing prepares an institution's clearing of a month that has ended.
func (s *Service) PrepareClearing(ctx context.Context, by *auth.Principal, code string, month period.Month) (Clearing, error) {
	if err := by.Require(auth.PrepareClearing); err != nil {
		return Clearing{}, err
	}
	if month >= period.MonthOf(s.now()) {
		return Clearing{}, errs.Field("month", "a month is cleared after it has ended")
	}
	inst, err := s.institution(ctx, s.db.R(), by, code, "")
	if err != nil {
		return Clearing{}, err
	}
	c := Clearing{Region: inst.Region, Institution: inst.Code, Month: month, Status: Prepared, PreparedBy: by.Username}
	last := month.Add(1).First().AddDate(0, 0, -1).Format("2006-01-02")
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		c.PreparedAt = tx.Now
		var owed, given int64
		var n1, n2 int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(pool + account), 0) FROM settlements WHERE region = $1 AND institution_code = $2
			AND cleared_in = 0 AND settled_on <= $3`, inst.Region, inst.Code, last).Scan(&n1, &owed); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(pool + account), 0) FROM settlements WHERE region = $1 AND institution_code = $2
			AND refunded_at <> '' AND refund_cleared_in = 0 AND (cleared_in <> 0 OR settled_on <= $3)`, inst.Region, inst.Code, last).Scan(&n2, &given); err != nil {
			return err
		}
		c.Count, c.Amount = n1+n2, money.Fen(owed-given)
		if _, err := tx.ExecContext(ctx, `INSERT INTO clearings(region, institution_code, month, count, amount, status, prepared_by, prepared_at)
			VALUES($1, $2, $3, $4, $5, $6, $7, $8)`, inst.Region, inst.Code, int(month), c.Count, int64(c.Amount), Prepared, by.Username, db.FormatTime(tx.Now)); err != nil {
			if db.IsUniqueViolation(err) {
				return errs.E(errs.Conflict, "the clearing of %s for %s is prepared already", month, inst.Code)
			}
			return err
		}
		// Mark what this clearing takes, so that no other ever takes it again.
		if _, err := tx.ExecContext(ctx, `UPDATE settlements SET refund_cleared_in = $1 WHERE region = $2 AND institution_code = $3
			AND refunded_at <> '' AND refund_cleared_in = 0 AND (cleared_in <> 0 OR settled_on <= $4)`, int(month), inst.Region, inst.Code, last); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE settlements SET cleared_in = $1 WHERE region = $2 AND institution_code = $3 AND cleared_in = 0 AND settled_on <= $4`,
			int(month), inst.Region, inst.Code, last); err != nil {
			return err
		}
		return audit.Record(ctx, tx, by.Actor(), "clearing.prepare", clearingObject(inst.Code, month), inst.Region,
			map[string]any{"amount": c.Amount.String(), "count": c.Count})
	})
	return c, err
}

func clearingObject(code string, m period.Month) string {
	return fmt.Sprintf("clearing:%s:%s", code, m)
}

// ApproveClearing approves a prepared clearing and posts it, once.
func (s *Service) ApproveClearing(ctx context.Context, by *auth.Principal, code string, month period.Month) (Clearing, error) {
	if err := by.Require(auth.ApproveClearing); err != nil {
		return Clearing{}, err
	}
	inst, err := s.institution(ctx, s.db.R(), by, code, "")
	if err != nil {
		return Clearing{}, err
	}
	var c Clearing
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		if c, err = loadClearing(ctx, tx, inst.Region, inst.Code, month, tx.ForUpdate()); err != nil {
			return err
		}
		if c.Status != Prepared {
			return errs.E(errs.Conflict, "the clearing of %s is %s already", month, c.Status)
		}
		if err := auth.Independent(ctx, tx, by.Username, c.PreparedBy); err != nil {
			return err
		}
		if c.Amount != 0 {
			res, err := ledger.Post(ctx, tx, ledger.Entry{IdemKey: "clearing:" + inst.Region + ":" + inst.Code + ":" + month.String(), Region: inst.Region,
				Cause: "clearing", CauseRef: clearingObject(inst.Code, month), Postings: []ledger.Posting{
					{Account: ledger.InstitutionAccount(inst.Region, inst.Code), Amount: c.Amount},
					{Account: ledger.ClearingAccount(inst.Region), Amount: -c.Amount},
				}})
			if err != nil {
				return err
			}
			c.EntryID = res.EntryID
		}
		if _, err := tx.ExecContext(ctx, "UPDATE clearings SET status = $1, approved_by = $2, approved_at = $3, entry_id = $4 WHERE region = $5 AND institution_code = $6 AND month = $7",
			Posted, by.Username, db.FormatTime(tx.Now), nullID(c.EntryID), inst.Region, inst.Code, int(month)); err != nil {
			return err
		}
		c.Status, c.ApprovedBy, c.ApprovedAt = Posted, by.Username, tx.Now
		return audit.Record(ctx, tx, by.Actor(), "clearing.approve", clearingObject(inst.Code, month), inst.Region, map[string]string{"amount": c.Amount.String()})
	})
	return c, err
}

const clearingColumns = "region, institution_code, month, count, amount, status, prepared_by, prepared_at, approved_by, approved_at, COALESCE(entry_id, 0)"

func scanClearing(row interface{ Scan(...any) error }) (Clearing, error) {
	var c Clearing
	var m int
	var amt int64
	var prep, appr string
	if err := row.Scan(&c.Region, &c.Institution, &m, &c.Count, &amt, &c.Status, &c.PreparedBy, &prep, &c.ApprovedBy, &appr, &c.EntryID); err != nil {
		return Clearing{}, err
	}
	c.Month, c.Amount = period.Month(m), money.Fen(amt)
	c.PreparedAt, _ = db.ParseTime(prep)
	if appr != "" {
		c.ApprovedAt, _ = db.ParseTime(appr)
	}
	return c, nil
}

func loadClearing(ctx context.Context, r db.Reader, region, code string, month period.Month, lock string) (Clearing, error) {
	c, err := scanClearing(r.QueryRowContext(ctx, "SELECT "+clearingColumns+" FROM clearings WHERE region = $1 AND institution_code = $2 AND month = $3"+lock,
		region, code, int(month)))
	if errors.Is(err, sql.ErrNoRows) {
		return Clearing{}, errs.E(errs.NotFound, "no clearing of %s for %s", month, code)
	}
	return c, err
}

// Clearings lists at most limit clearings of the principal's regions, newest month first.
func (s *Service) Clearings(ctx context.Context, by *auth.Principal, limit int) ([]Clearing, error) {
	return s.ClearingsPage(ctx, by, ClearingKey{}, limit)
}

// ClearingKey is where a clearing stands in a list: newest month first, then by region and
// institution.
type ClearingKey struct {
	Month       period.Month // 0: before every clearing
	Region      string
	Institution string
}

// Key is the clearing's place in a list, the cursor of the page it ends.
func (c Clearing) Key() ClearingKey {
	return ClearingKey{Month: c.Month, Region: c.Region, Institution: c.Institution}
}

// ClearingsPage is one page of Clearings: at most limit after the clearing at after. An
// institution's operator reads their own institution's only.
func (s *Service) ClearingsPage(ctx context.Context, by *auth.Principal, after ClearingKey, limit int) ([]Clearing, error) {
	if err := by.Require(auth.ReadSettlements); err != nil {
		return nil, err
	}
	if len(by.Regions) == 0 {
		return nil, nil
	}
	institution := ""
	if by.Role == auth.Institution {
		institution = by.InstitutionCode
	}
	args := []any{int(after.Month), after.Region, after.Institution, institution, limit}
	in := make([]string, 0, len(by.Regions))
	for _, r := range by.Regions {
		args = append(args, r)
		in = append(in, fmt.Sprintf("$%d", len(args)))
	}
	var out []Clearing
	err := db.EachRow(ctx, s.db.R(), func(scan func(...any) error) error {
		c, err := scanClearing(scanRow(scan))
		out = append(out, c)
		return err
	}, "SELECT "+clearingColumns+" FROM clearings WHERE region IN ("+strings.Join(in, ", ")+`) AND ($4 = '' OR institution_code = $4)
		AND ($1 = 0 OR month < $1 OR month = $1 AND (region > $2 OR region = $2 AND institution_code > $3))
		ORDER BY month DESC, region, institution_code LIMIT $5`, args...)
	return out, err
}
