package registry

import (
	"context"
	"fmt"
	"time"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
)

// Participation is a person's insurance of one type over months [Start, End]; End 0 means open.
type Participation struct {
	ID         int64
	PersonID   int64
	EmployerID int64 // 0 when self-insured
	Employer   string
	Insurance  policy.Insurance
	Start      period.Month
	End        period.Month
	EndReason  string
	Source     string // "enrolment:N" or "staff:N"
	CreatedAt  time.Time
}

// Active reports whether the participation covers month m.
func (p *Participation) Active(m period.Month) bool {
	return p.Start <= m && (p.End == 0 || m <= p.End)
}

func openParticipation(ctx context.Context, tx *db.Tx, region string, personID, employerID int64, ins policy.Insurance, start period.Month, source string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO participations(region, person_id, employer_id, insurance, start_month, source, created_at)
		VALUES($1, $2, $3, $4, $5, $6, $7)`, region, personID, nullID(employerID), string(ins), int(start), source, db.FormatTime(tx.Now))
	if err != nil {
		return fmt.Errorf("registry: open participation: %w", err)
	}
	return nil
}

// closeParticipations ends every open interval of a person with an employer at month end (the last
// month covered). The WHERE clause only touches open rows, so a closed interval is never changed.
func closeParticipations(ctx context.Context, tx *db.Tx, personID, employerID int64, end period.Month, reason string) error {
	_, err := tx.ExecContext(ctx, `UPDATE participations SET end_month = $1, end_reason = $2
		WHERE person_id = $3 AND employer_id = $4 AND end_month = 0`, int(end), reason, personID, employerID)
	if err != nil {
		return fmt.Errorf("registry: close participation: %w", err)
	}
	return nil
}

// openInsurance returns the open participations of a person, by insurance type.
func openInsurance(ctx context.Context, r db.Reader, personID int64) (map[policy.Insurance]Participation, error) {
	ps, err := participations(ctx, r, personID)
	if err != nil {
		return nil, err
	}
	out := map[policy.Insurance]Participation{}
	for _, p := range ps {
		if p.End == 0 {
			out[p.Insurance] = p
		}
	}
	return out, nil
}

func participations(ctx context.Context, r db.Reader, personID int64) ([]Participation, error) {
	return participationsPage(ctx, r, personID, ParticipationKey{}, 0)
}

// ParticipationKey is where an interval stands in a person's list: by start month, then id.
type ParticipationKey struct {
	Start period.Month
	ID    int64 // 0: before every interval
}

// Key is the interval's place in the list, the cursor of the page it ends.
func (p Participation) Key() ParticipationKey { return ParticipationKey{Start: p.Start, ID: p.ID} }

// ParticipationsPage is one page of Participations: at most limit intervals after the one at after.
func (s *Service) ParticipationsPage(ctx context.Context, by *auth.Principal, idNumber string, after ParticipationKey, limit int) (Person, []Participation, error) {
	p, err := s.Person(ctx, by, idNumber)
	if err != nil {
		return Person{}, nil, err
	}
	ps, err := participationsPage(ctx, s.db.R(), p.ID, after, limit)
	return p, ps, err
}

// participationsPage reads at most limit (0: all) of a person's intervals after the one at after.
func participationsPage(ctx context.Context, r db.Reader, personID int64, after ParticipationKey, limit int) ([]Participation, error) {
	q := `SELECT p.id, p.person_id, COALESCE(p.employer_id, 0), COALESCE(e.name, ''), p.insurance,
		p.start_month, p.end_month, p.end_reason, p.source, p.created_at
		FROM participations p LEFT JOIN employers e ON e.id = p.employer_id
		WHERE p.person_id = $1 AND ($3 = 0 OR p.start_month > $2 OR p.start_month = $2 AND p.id > $3) ORDER BY p.start_month, p.id`
	args := []any{personID, int(after.Start), after.ID}
	if limit > 0 {
		q += " LIMIT $4"
		args = append(args, limit)
	}
	rows, err := r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("registry: participations: %w", err)
	}
	defer rows.Close()
	var out []Participation
	for rows.Next() {
		var p Participation
		var ins, created string
		var start, end int
		if err := rows.Scan(&p.ID, &p.PersonID, &p.EmployerID, &p.Employer, &ins, &start, &end, &p.EndReason, &p.Source, &created); err != nil {
			return nil, err
		}
		p.Insurance, p.Start, p.End = policy.Insurance(ins), period.Month(start), period.Month(end)
		p.CreatedAt, _ = db.ParseTime(created)
		out = append(out, p)
	}
	return out, rows.Err()
}

// Participations returns a person's intervals, oldest first, if the principal may see the person.
func (s *Service) Participations(ctx context.Context, by *auth.Principal, idNumber string) (Person, []Participation, error) {
	p, err := s.Person(ctx, by, idNumber)
	if err != nil {
		return Person{}, nil, err
	}
	ps, err := participations(ctx, s.db.R(), p.ID)
	return p, ps, err
}

// InsuranceStatus is a person's standing in one insurance type this month.
type InsuranceStatus struct {
	Insurance policy.Insurance
	Active    bool
	Since     period.Month // start of the current (or last) interval
	Until     period.Month // end of the last interval when not active
	Employer  string       // who insures them; "" when self-insured
}

// MyInsurance is the resident's own status per insurance type, for the portal's first panel.
func (s *Service) MyInsurance(ctx context.Context, by *auth.Principal) (Person, []InsuranceStatus, error) {
	if err := by.Require(auth.ReadOwnInsurance); err != nil {
		return Person{}, nil, err
	}
	me, err := s.Me(ctx, by)
	if err != nil {
		return Person{}, nil, err
	}
	ps, err := participations(ctx, s.db.R(), me.ID)
	if err != nil {
		return Person{}, nil, err
	}
	return me, statusOf(ps, period.MonthOf(s.now())), nil
}

func statusOf(ps []Participation, now period.Month) []InsuranceStatus {
	var out []InsuranceStatus
	for _, ins := range policy.Insurances {
		st := InsuranceStatus{Insurance: ins}
		for _, p := range ps {
			if p.Insurance != ins {
				continue
			}
			if p.Active(now) || (p.End == 0 && p.Start > now) {
				st = InsuranceStatus{Insurance: ins, Active: p.Active(now), Since: p.Start, Employer: p.Employer}
			} else if !st.Active && p.End != 0 {
				st = InsuranceStatus{Insurance: ins, Since: p.Start, Until: p.End, Employer: p.Employer}
			}
		}
		if st.Since != 0 {
			out = append(out, st)
		}
	}
	return out
}

// nullID stores 0 as NULL for optional references.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// InsuredIn reports whether a person has the insurance type in month m, read in r (the caller's
// transaction when it decides on money).
func InsuredIn(ctx context.Context, r db.Reader, personID int64, ins policy.Insurance, m period.Month) (bool, error) {
	var n int
	err := r.QueryRowContext(ctx, `SELECT COUNT(*) FROM participations WHERE person_id = $1 AND insurance = $2
		AND start_month <= $3 AND (end_month = 0 OR end_month >= $3)`, personID, string(ins), int(m)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("registry: insured: %w", err)
	}
	return n > 0, nil
}

// InsuredAmong is InsuredIn for several persons at once: those of persons insured for ins in m.
func InsuredAmong(ctx context.Context, tx *db.Tx, persons []int64, ins policy.Insurance, m period.Month) (map[int64]bool, error) {
	out := make(map[int64]bool, len(persons))
	for start := 0; start < len(persons); start += 500 {
		in, ids := db.In(tx.Dialect, 3, persons[start:min(start+500, len(persons))])
		q := `SELECT DISTINCT person_id FROM participations WHERE insurance = $1 AND start_month <= $2 AND (end_month = 0 OR end_month >= $2)
			AND person_id ` + in
		args := append([]any{string(ins), int(m)}, ids...)
		if err := db.EachRow(ctx, tx, func(scan func(...any) error) error {
			var id int64
			if err := scan(&id); err != nil {
				return err
			}
			out[id] = true
			return nil
		}, q, args...); err != nil {
			return nil, fmt.Errorf("registry: insured: %w", err)
		}
	}
	return out, nil
}
