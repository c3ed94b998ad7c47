package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ident"

	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
)

// What the benefit capability needs of the registry, read and written in its own transaction.

// PersonByID reads a person by the registry's id, in r.
func (s *Service) PersonByID(ctx context.Context, r db.Reader, id int64) (Person, error) {
	return s.personByID(ctx, r, id)
}

// OpenClaimMedical opens the medical insurance an unemployment claim gives from start (Art. 48:
// while drawing benefit the person stays insured, the unemployment fund paying), with the claim
// as its source, so that it is closed with the claim and never mixed with an employer's.
func OpenClaimMedical(ctx context.Context, tx *db.Tx, region string, personID int64, start period.Month, source string) error {
	return openParticipation(ctx, tx, region, personID, 0, policy.Medical, start, source)
}

// CloseClaimMedical ends the medical insurance a claim gave, with end the last month covered; the
// WHERE clause touches the claim's open interval only.
func CloseClaimMedical(ctx context.Context, tx *db.Tx, personID int64, source string, end period.Month, reason string) error {
	_, err := tx.ExecContext(ctx, `UPDATE participations SET end_month = $1, end_reason = $2
		WHERE person_id = $3 AND source = $4 AND end_month = 0`, int(end), reason, personID, source)
	if err != nil {
		return fmt.Errorf("registry: close claim medical: %w", err)
	}
	return nil
}

// Removal is the end of a person's employment (减员): the employer, the last month insured, the
// last working day and the reason code the employer gave.
type Removal struct {
	EmployerID int64
	Month      period.Month
	EndDate    time.Time
	Reason     string
}

// LastRemoval is the person's most recent removal by any employer, read in r; ok is false when no
// employer has ever removed them.
func LastRemoval(ctx context.Context, r db.Reader, personID int64) (Removal, bool, error) {
	var rm Removal
	var month int
	var end string
	err := r.QueryRowContext(ctx, `SELECT employer_id, end_month, end_date, end_reason FROM staff
		WHERE person_id = $1 AND end_month <> 0 ORDER BY end_date DESC, id DESC LIMIT 1`, personID).Scan(&rm.EmployerID, &month, &end, &rm.Reason)
	if errors.Is(err, sql.ErrNoRows) {
		return Removal{}, false, nil
	}
	if err != nil {
		return Removal{}, false, fmt.Errorf("registry: last removal: %w", err)
	}
	rm.Month = period.Month(month)
	rm.EndDate, _ = time.Parse("2006-01-02", end)
	return rm, true, nil
}

// EmployedIn reports whether an employer employs the person in month m and beyond it: an
// employment that began by m and was not ended in or before m. A person removed during m is not
// employed in m (they may register as unemployed that month); one enrolled during m is.
func EmployedIn(ctx context.Context, r db.Reader, personID int64, m period.Month) (bool, error) {
	var n int
	err := r.QueryRowContext(ctx, `SELECT COUNT(*) FROM staff WHERE person_id = $1 AND start_month <= $2 AND (end_month = 0 OR end_month > $2)`,
		personID, int(m)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("registry: employed: %w", err)
	}
	return n > 0, nil
}

// RetirementGroupOf is the group a person's retirement age follows: the one a clerk recorded, or
// else men's for a man, and for a woman the cadre posts' group if she insures herself as a
// flexible worker (her newest pension insurance has no employer), other women's if not.
func RetirementGroupOf(ctx context.Context, r db.Reader, p Person) (string, error) {
	if p.RetirementGroup != "" {
		return p.RetirementGroup, nil
	}
	if p.Gender == ident.Male {
		return policy.GroupMale, nil
	}
	var employer sql.NullInt64
	err := r.QueryRowContext(ctx, `SELECT employer_id FROM participations WHERE person_id = $1 AND insurance = $2
		ORDER BY start_month DESC, id DESC LIMIT 1`, p.ID, string(policy.Pension)).Scan(&employer)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("registry: retirement group: %w", err)
	}
	if err == nil && !employer.Valid {
		return policy.GroupFemaleCadre, nil
	}
	return policy.GroupFemaleWorker, nil
}

// GroupChange is one change of a person's retirement group.
type GroupChange struct {
	From, To, Reason, By string
	At                   time.Time
}

// SetRetirementGroup records the group a person's retirement age follows (a woman's cadre post is
// not in any record the registry has), with the clerk's reason; the change and the group before it
// are kept.
func (s *Service) SetRetirementGroup(ctx context.Context, by *auth.Principal, idNumber, group, reason string) (Person, error) {
	if err := by.Require(auth.RegisterPerson); err != nil {
		return Person{}, err
	}
	f := errs.Fields{}
	if !slices.Contains(policy.RetirementGroups, group) {
		f.Add("group", "one of "+strings.Join(policy.RetirementGroups, ", "))
	}
	reason = checkText(f, "reason", reason, true, 500)
	if err := f.Err(); err != nil {
		return Person{}, err
	}
	p, err := s.Person(ctx, by, idNumber)
	if err != nil {
		return Person{}, err
	}
	if group == policy.GroupMale && p.Gender != ident.Male || group != policy.GroupMale && p.Gender == ident.Male {
		return Person{}, errs.Field("group", "does not match the person's gender")
	}
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		before, err := RetirementGroupOf(ctx, tx, p)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE persons SET retirement_group = $1, updated_at = $2 WHERE id = $3", group, db.FormatTime(tx.Now), p.ID); err != nil {
			return fmt.Errorf("registry: retirement group: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO retirement_group_changes(region, person_id, changed_at, from_group, to_group, reason, changed_by)
			VALUES($1, $2, $3, $4, $5, $6, $7)`, p.Region, p.ID, db.FormatTime(tx.Now), before, group, reason, by.Username); err != nil {
			if db.IsUniqueViolation(err) {
				return errs.E(errs.Conflict, "the group was changed a moment ago; look again")
			}
			return fmt.Errorf("registry: retirement group: %w", err)
		}
		p.RetirementGroup = group
		return audit.Record(ctx, tx, by.Actor(), "person.retirement_group", "person:"+p.IDNumber.Masked(), p.Region,
			map[string]string{"from": before, "to": group, "reason": reason})
	})
	return p, err
}

// RetirementGroupChanges lists a person's group changes, newest first.
func (s *Service) RetirementGroupChanges(ctx context.Context, r db.Reader, p Person) ([]GroupChange, error) {
	var out []GroupChange
	err := db.EachRow(ctx, r, func(scan func(...any) error) error {
		var g GroupChange
		var at string
		if err := scan(&at, &g.From, &g.To, &g.Reason, &g.By); err != nil {
			return err
		}
		g.At, _ = db.ParseTime(at)
		out = append(out, g)
		return nil
	}, "SELECT changed_at, from_group, to_group, reason, changed_by FROM retirement_group_changes WHERE region = $1 AND person_id = $2 ORDER BY changed_at DESC",
		p.Region, p.ID)
	return out, err
}
