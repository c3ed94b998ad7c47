package benefit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
)

// Registration is a person's 失业登记.
type Registration struct {
	RegisteredOn time.Time // a calendar date
	SeekingWork  bool
	Channel      string // "window" or "online"
	RegisteredBy string
}

// Claim statuses.
const (
	Prepared  = "prepared"
	Approved  = "approved"
	Rejected  = "rejected"
	Ended     = "ended"
	Completed = "completed"
)

// Claim is an unemployment benefit claim (申领).
type Claim struct {
	ID                 int64
	Region             string
	PersonID           int64
	RegisteredOn       time.Time
	LastEmployerID     int64
	RemovalMonth       period.Month
	RemovalReason      string
	ContributionMonths int
	EntitledMonths     int
	CarriedOverMonths  int
	TotalMonths        int
	DrawnMonths        int
	MonthlyAmount      money.Fen
	StartMonth         period.Month
	Status             string
	PreparedBy         string
	PreparedAt         time.Time
	ApprovedBy         string
	ApprovedAt         time.Time
	RejectReason       string
	EndedMonth         period.Month
	EndReason          string
}

// LastMonth is the claim's last month of benefit if every month is drawn.
func (c *Claim) LastMonth() period.Month { return c.StartMonth.Add(c.TotalMonths - 1) }

// Open reports whether the claim still pays or may.
func (c *Claim) Open() bool { return c.Status == Prepared || c.Status == Approved }

// source is the claim as the source of the medical insurance it gives.
func (c *Claim) source() string { return "claim:" + strconv.FormatInt(c.ID, 10) }

// Register records 失业登记 for a person: at the window by a clerk, or online by the resident.
// Benefit is counted from the registration (Art. 50).
func (s *Service) Register(ctx context.Context, by *auth.Principal, idNumber, date string, seekingWork bool) (Registration, error) {
	if err := by.Require(auth.RegisterUnemployment); err != nil {
		return Registration{}, err
	}
	p, err := s.person(ctx, by, idNumber)
	if err != nil {
		return Registration{}, err
	}
	today := period.Today(s.now())
	d := today
	if strings.TrimSpace(date) != "" {
		if d, err = period.ParseDate(date); err != nil {
			return Registration{}, errs.Field("registered_on", err.Error())
		}
	}
	if d.After(today) || d.Before(today.AddDate(0, 0, -31)) {
		return Registration{}, errs.Field("registered_on", "today or within the last month")
	}
	channel := "window"
	if by.Role == auth.Resident {
		channel = "online"
	}
	reg := Registration{RegisteredOn: d, SeekingWork: seekingWork, Channel: channel, RegisteredBy: by.Username}
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		if employed, err := registry.EmployedIn(ctx, tx, p.ID, period.MonthOf(d.Add(12*time.Hour))); err != nil {
			return err
		} else if employed {
			return errs.E(errs.Conflict, "the person is employed (enrolled by an employer) in that month; register after the employer's removal")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO unemployment_registrations(region, person_id, registered_on, seeking_work, channel, registered_by, created_at)
			VALUES($1, $2, $3, $4, $5, $6, $7)`, p.Region, p.ID, d.Format("2006-01-02"), seekingWork, channel, by.Username, db.FormatTime(tx.Now)); err != nil {
			if db.IsUniqueViolation(err) {
				return errs.E(errs.Conflict, "the person is registered on %s already", d.Format("2006-01-02"))
			}
			return err
		}
		return audit.Record(ctx, tx, by.Actor(), "unemployment.register", personObject(p), p.Region,
			map[string]any{"registered_on": d.Format("2006-01-02"), "seeking_work": seekingWork, "channel": channel})
	})
	return reg, err
}

func personObject(p registry.Person) string { return "person:" + p.IDNumber.Masked() }

// person finds a person as the principal may: a resident themself, the bureau's staff anyone of
// their regions. A resident who names an ID number is held to it (the registry finds no one else
// for them), so a path naming another person never answers with the resident's own record.
func (s *Service) person(ctx context.Context, by *auth.Principal, idNumber string) (registry.Person, error) {
	if by.Role == auth.Resident && strings.TrimSpace(idNumber) == "" {
		return s.reg.Me(ctx, by)
	}
	return s.reg.Person(ctx, by, idNumber)
}

// latestRegistration is the person's newest registration.
func latestRegistration(ctx context.Context, r db.Reader, region string, personID int64) (Registration, bool, error) {
	var reg Registration
	var on string
	err := r.QueryRowContext(ctx, `SELECT registered_on, seeking_work, channel, registered_by FROM unemployment_registrations
		WHERE region = $1 AND person_id = $2 ORDER BY registered_on DESC LIMIT 1`, region, personID).Scan(&on, &reg.SeekingWork, &reg.Channel, &reg.RegisteredBy)
	if errors.Is(err, sql.ErrNoRows) {
		return Registration{}, false, nil
	}
	if err != nil {
		return Registration{}, false, err
	}
	reg.RegisteredOn, _ = time.Parse("2006-01-02", on)
	return reg, true, nil
}

// Entitlement is what a claim made now would bring, and how the person stands.
type Entitlement struct {
	ContributionMonths int // unemployment contributions paid, since the previous claim if any
	EntitledMonths     int // from the policy's table
	CarriedOverMonths  int // not drawn in the previous claim
	TotalMonths        int // capped at the policy's maximum
	MonthlyAmount      money.Fen
	Open               *Claim        // the claim in progress, if any
	Registration       *Registration // the latest, if any (whether or not it qualifies: see Problems)
	Problems           errs.Fields   // the conditions a claim would not meet, by name
}

// entitlement works out a person's entitlement and the claim conditions, in r.
func (s *Service) entitlement(ctx context.Context, r db.Reader, p registry.Person) (Entitlement, *policy.BenefitRules, registry.Removal, error) {
	month := period.MonthOf(s.now())
	_, rules, err := s.rules(ctx, r, p.Region, month)
	if err != nil {
		return Entitlement{}, nil, registry.Removal{}, err
	}
	claims, err := claimsOf(ctx, r, p.Region, p.ID)
	if err != nil {
		return Entitlement{}, nil, registry.Removal{}, err
	}
	e := Entitlement{MonthlyAmount: rules.Unemployment.Monthly(), Problems: errs.Fields{}}
	var after period.Month
	for i := range claims {
		c := claims[i]
		switch {
		case c.Open():
			e.Open = &c
		case c.Status == Ended || c.Status == Completed:
			// Art. 46: after a new job the contribution count starts again, and the months not
			// drawn last time are added. The newest finished claim carries what all before it did.
			if after == 0 || c.StartMonth > after {
				after = c.StartMonth
				e.CarriedOverMonths = c.TotalMonths - c.DrawnMonths
			}
		}
	}
	if e.ContributionMonths, err = paidMonths(ctx, r, p.ID, policy.Unemployment, after); err != nil {
		return Entitlement{}, nil, registry.Removal{}, err
	}
	e.EntitledMonths = rules.Unemployment.Entitled(e.ContributionMonths)
	e.TotalMonths = rules.Unemployment.Months(e.ContributionMonths, e.CarriedOverMonths)

	// The conditions of Art. 45, each named when it is not met.
	if e.ContributionMonths < rules.Unemployment.MinContributionMonths {
		e.Problems.Add("contribution_months", fmt.Sprintf("%d months of unemployment insurance paid; a claim needs %d", e.ContributionMonths, rules.Unemployment.MinContributionMonths))
	}
	removal, removed, err := registry.LastRemoval(ctx, r, p.ID)
	if err != nil {
		return Entitlement{}, nil, registry.Removal{}, err
	}
	switch {
	case !removed:
		e.Problems.Add("removal", "no employer has removed the person: there is no job lost")
	case !rules.Involuntary(removal.Reason):
		e.Problems.Add("removal", fmt.Sprintf("the job was not lost involuntarily (the employer's reason: %s)", removal.Reason))
	}
	if employed, err := registry.EmployedIn(ctx, r, p.ID, month); err != nil {
		return Entitlement{}, nil, registry.Removal{}, err
	} else if employed {
		e.Problems.Add("removal", "the person is employed now")
	}
	reg, registered, err := latestRegistration(ctx, r, p.Region, p.ID)
	if err != nil {
		return Entitlement{}, nil, registry.Removal{}, err
	}
	// The latest registration is shown whatever it lacks; a claim is prepared only when the
	// conditions below leave no problem, so Prepare never takes one that does not qualify.
	if registered {
		e.Registration = &reg
	}
	switch {
	case !registered:
		e.Problems.Add("registration", "not registered as unemployed (失业登记)")
	case !reg.SeekingWork:
		e.Problems.Add("registration", "registered, but not seeking work")
	case removed && reg.RegisteredOn.Before(removal.EndDate):
		e.Problems.Add("registration", "the registration is older than the job's end; register again")
	}
	if e.Open != nil {
		e.Problems.Add("claim", "a claim is in progress already")
	}
	if e.TotalMonths == 0 && len(e.Problems) == 0 {
		e.Problems.Add("contribution_months", "the contributions entitle no month of benefit")
	}
	return e, rules, removal, nil
}

// Preview is a person's unemployment entitlement as it stands: the bureau's, or the resident's own.
func (s *Service) Preview(ctx context.Context, by *auth.Principal, idNumber string) (Entitlement, error) {
	if err := by.Require(auth.ReadBenefits); err != nil {
		return Entitlement{}, err
	}
	p, err := s.person(ctx, by, idNumber)
	if err != nil {
		return Entitlement{}, err
	}
	e, _, _, err := s.entitlement(ctx, s.db.R(), p)
	return e, err
}

// Prepare records a claim at the window after checking every condition; each unmet one is named.
// A reviewer then approves it.
func (s *Service) Prepare(ctx context.Context, by *auth.Principal, idNumber string) (Claim, error) {
	if err := by.Require(auth.PrepareClaim); err != nil {
		return Claim{}, err
	}
	p, err := s.reg.Person(ctx, by, idNumber)
	if err != nil {
		return Claim{}, err
	}
	var c Claim
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		e, _, removal, err := s.entitlement(ctx, tx, p)
		if err != nil {
			return err
		}
		if err := e.Problems.Err(); err != nil {
			return err
		}
		id, err := nextClaimID(ctx, tx, p.Region)
		if err != nil {
			return err
		}
		c = Claim{ID: id, Region: p.Region, PersonID: p.ID, RegisteredOn: e.Registration.RegisteredOn, LastEmployerID: removal.EmployerID,
			RemovalMonth: removal.Month, RemovalReason: removal.Reason, ContributionMonths: e.ContributionMonths, EntitledMonths: e.EntitledMonths,
			CarriedOverMonths: e.CarriedOverMonths, TotalMonths: e.TotalMonths, MonthlyAmount: e.MonthlyAmount,
			StartMonth: period.MonthOf(e.Registration.RegisteredOn.Add(12 * time.Hour)), Status: Prepared, PreparedBy: by.Username, PreparedAt: tx.Now}
		if _, err := tx.ExecContext(ctx, `INSERT INTO unemployment_claims(region, id, person_id, registered_on, last_employer_id, removal_month, removal_reason,
			contribution_months, entitled_months, carried_over_months, total_months, monthly_amount, start_month, status, prepared_by, prepared_at)
			VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
			c.Region, c.ID, c.PersonID, c.RegisteredOn.Format("2006-01-02"), c.LastEmployerID, int(c.RemovalMonth), c.RemovalReason,
			c.ContributionMonths, c.EntitledMonths, c.CarriedOverMonths, c.TotalMonths, int64(c.MonthlyAmount), int(c.StartMonth), c.Status,
			c.PreparedBy, db.FormatTime(tx.Now)); err != nil {
			return fmt.Errorf("benefit: prepare claim: %w", err)
		}
		return audit.Record(ctx, tx, by.Actor(), "unemployment.claim", claimObject(c.Region, c.ID), c.Region, map[string]any{
			"contribution_months": c.ContributionMonths, "entitled": c.EntitledMonths, "carried_over": c.CarriedOverMonths, "total": c.TotalMonths})
	})
	return c, err
}

func claimObject(region string, id int64) string { return fmt.Sprintf("claim:%s:%d", region, id) }

func nextClaimID(ctx context.Context, tx *db.Tx, region string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, "UPDATE benefit_sequence SET last = last + 1 WHERE region = $1 RETURNING last", region).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		_, err = tx.ExecContext(ctx, "INSERT INTO benefit_sequence(region, last) VALUES($1, 1)", region)
		return 1, err
	}
	return id, err
}

// Approve decides a prepared claim: a reviewer independent of the clerk who prepared it. From the
// claim's first month the person stays insured for medical care, the unemployment fund paying.
func (s *Service) Approve(ctx context.Context, by *auth.Principal, region string, id int64) (Claim, error) {
	return s.decide(ctx, by, region, id, Approved, "")
}

// Reject refuses a prepared claim with a reason.
func (s *Service) Reject(ctx context.Context, by *auth.Principal, region string, id int64, reason string) (Claim, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || utf8.RuneCountInString(reason) > 500 {
		return Claim{}, errs.Field("reason", "1–500 characters")
	}
	return s.decide(ctx, by, region, id, Rejected, reason)
}

func (s *Service) decide(ctx context.Context, by *auth.Principal, region string, id int64, to, reason string) (Claim, error) {
	if err := by.Require(auth.ReviewClaim); err != nil {
		return Claim{}, err
	}
	if !by.InRegion(region) {
		return Claim{}, errs.E(errs.NotFound, "no claim %d", id)
	}
	var c Claim
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		var err error
		if c, err = loadClaim(ctx, tx, region, id, tx.ForUpdate()); err != nil {
			return err
		}
		if c.Status != Prepared {
			return errs.E(errs.Conflict, "the claim is %s already", c.Status)
		}
		if err := auth.Independent(ctx, tx, by.Username, c.PreparedBy); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE unemployment_claims SET status = $1, approved_by = $2, approved_at = $3, reject_reason = $4 WHERE region = $5 AND id = $6",
			to, by.Username, db.FormatTime(tx.Now), reason, region, id); err != nil {
			return err
		}
		c.Status, c.ApprovedBy, c.ApprovedAt, c.RejectReason = to, by.Username, tx.Now, reason
		if to == Approved {
			if err := registry.OpenClaimMedical(ctx, tx, region, c.PersonID, c.StartMonth, c.source()); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, by.Actor(), "unemployment."+map[string]string{Approved: "approve", Rejected: "reject"}[to], claimObject(region, id), region,
			map[string]string{"reason": reason})
	})
	return c, err
}

// End stops a claim from month on (the person started a pension, or another reason the law gives,
// Art. 51); the months not drawn carry over to a later claim.
func (s *Service) End(ctx context.Context, by *auth.Principal, region string, id int64, from period.Month, reason string) (Claim, error) {
	if err := by.Require(auth.PrepareClaim); err != nil {
		return Claim{}, err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" || utf8.RuneCountInString(reason) > 500 {
		return Claim{}, errs.Field("reason", "1–500 characters")
	}
	if !by.InRegion(region) {
		return Claim{}, errs.E(errs.NotFound, "no claim %d", id)
	}
	var c Claim
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		var err error
		if c, err = loadClaim(ctx, tx, region, id, tx.ForUpdate()); err != nil {
			return err
		}
		if c.Status != Approved && c.Status != Prepared {
			return errs.E(errs.Conflict, "the claim is %s already", c.Status)
		}
		if from < c.StartMonth {
			from = c.StartMonth
		}
		// A month already paid or held stays so: the claim ends after the last one decided.
		var last int
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(month), 0) FROM benefit_payments WHERE region = $1 AND claim_id = $2", region, id).Scan(&last); err != nil {
			return err
		}
		if last != 0 && from <= period.Month(last) {
			return errs.Field("from_month", fmt.Sprintf("after %s, the last month the run has decided", period.Month(last)))
		}
		return endClaim(ctx, tx, by.Actor(), &c, from, reason)
	})
	return c, err
}

// endClaim stops c from month from in tx: no month from then on is paid; held months before it
// stay to be paid.
func endClaim(ctx context.Context, tx *db.Tx, who audit.Actor, c *Claim, from period.Month, reason string) error {
	if _, err := tx.ExecContext(ctx, "UPDATE unemployment_claims SET status = $1, ended_month = $2, end_reason = $3, ended_by = $4 WHERE region = $5 AND id = $6",
		Ended, int(from), reason, who.Name, c.Region, c.ID); err != nil {
		return err
	}
	if c.Status == Approved {
		if err := registry.CloseClaimMedical(ctx, tx, c.PersonID, c.source(), from.Add(-1), reason); err != nil {
			return err
		}
	}
	c.Status, c.EndedMonth, c.EndReason = Ended, from, reason
	return audit.Record(ctx, tx, who, "unemployment.end", claimObject(c.Region, c.ID), c.Region, map[string]any{"from": from.String(), "reason": reason})
}

const claimColumns = `region, id, person_id, registered_on, last_employer_id, removal_month, removal_reason, contribution_months, entitled_months,
	carried_over_months, total_months, drawn_months, monthly_amount, start_month, status, prepared_by, prepared_at, approved_by, approved_at,
	reject_reason, ended_month, end_reason`

func scanClaim(row interface{ Scan(...any) error }) (Claim, error) {
	var c Claim
	var reg, prep, appr string
	var removal, start, ended int
	var amt int64
	if err := row.Scan(&c.Region, &c.ID, &c.PersonID, &reg, &c.LastEmployerID, &removal, &c.RemovalReason, &c.ContributionMonths, &c.EntitledMonths,
		&c.CarriedOverMonths, &c.TotalMonths, &c.DrawnMonths, &amt, &start, &c.Status, &c.PreparedBy, &prep, &c.ApprovedBy, &appr,
		&c.RejectReason, &ended, &c.EndReason); err != nil {
		return Claim{}, err
	}
	c.RegisteredOn, _ = time.Parse("2006-01-02", reg)
	c.RemovalMonth, c.StartMonth, c.EndedMonth, c.MonthlyAmount = period.Month(removal), period.Month(start), period.Month(ended), money.Fen(amt)
	c.PreparedAt, _ = db.ParseTime(prep)
	if appr != "" {
		c.ApprovedAt, _ = db.ParseTime(appr)
	}
	return c, nil
}

type scanRow func(...any) error

func (f scanRow) Scan(dest ...any) error { return f(dest...) }

func loadClaim(ctx context.Context, r db.Reader, region string, id int64, lock string) (Claim, error) {
	c, err := scanClaim(r.QueryRowContext(ctx, "SELECT "+claimColumns+" FROM unemployment_claims WHERE region = $1 AND id = $2"+lock, region, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Claim{}, errs.E(errs.NotFound, "no claim %d", id)
	}
	return c, err
}

func claimsOf(ctx context.Context, r db.Reader, region string, personID int64) ([]Claim, error) {
	var out []Claim
	err := db.EachRow(ctx, r, func(scan func(...any) error) error {
		c, err := scanClaim(scanRow(scan))
		out = append(out, c)
		return err
	}, "SELECT "+claimColumns+" FROM unemployment_claims WHERE region = $1 AND person_id = $2 ORDER BY id", region, personID)
	return out, err
}

// Claim returns one claim as the principal may see it: the bureau of its region, the person.
func (s *Service) Claim(ctx context.Context, by *auth.Principal, region string, id int64) (Claim, error) {
	if err := by.Require(auth.ReadBenefits); err != nil {
		return Claim{}, err
	}
	c, err := loadClaim(ctx, s.db.R(), region, id, "")
	if err != nil {
		return Claim{}, err
	}
	if !by.InRegion(c.Region) || (by.Role == auth.Resident && by.PersonID != c.PersonID) {
		return Claim{}, errs.E(errs.NotFound, "no claim %d", id)
	}
	return c, nil
}

// Claims lists the claims of a region with a status ("" = all), newest first, before id before
// (0 = from the newest), at most limit.
func (s *Service) Claims(ctx context.Context, by *auth.Principal, region, status string, before int64, limit int) ([]Claim, error) {
	if err := by.Require(auth.ReadBenefits); err != nil {
		return nil, err
	}
	if by.Role == auth.Resident {
		return nil, errs.E(errs.Forbidden, "your role may not do this")
	}
	if !by.InRegion(region) {
		return nil, errs.Field("region", "not one of your regions")
	}
	q := "SELECT " + claimColumns + " FROM unemployment_claims WHERE region = $1 AND ($2 = '' OR status = $2) AND ($3 = 0 OR id < $3) ORDER BY id DESC LIMIT $4"
	var out []Claim
	err := db.EachRow(ctx, s.db.R(), func(scan func(...any) error) error {
		c, err := scanClaim(scanRow(scan))
		out = append(out, c)
		return err
	}, q, region, status, before, limit)
	return out, err
}

// MyClaims are the resident's own claims, newest first.
func (s *Service) MyClaims(ctx context.Context, by *auth.Principal) ([]Claim, error) {
	me, err := s.reg.Me(ctx, by)
	if err != nil {
		return nil, err
	}
	cs, err := claimsOf(ctx, s.db.R(), me.Region, me.ID)
	for i, j := 0, len(cs)-1; i < j; i, j = i+1, j-1 {
		cs[i], cs[j] = cs[j], cs[i]
	}
	return cs, err
}

// MyClaimsPage is one page of MyClaims: at most limit claims older than the id before (0: from
// the newest).
func (s *Service) MyClaimsPage(ctx context.Context, by *auth.Principal, before int64, limit int) ([]Claim, error) {
	me, err := s.reg.Me(ctx, by)
	if err != nil {
		return nil, err
	}
	var out []Claim
	err = db.EachRow(ctx, s.db.R(), func(scan func(...any) error) error {
		c, err := scanClaim(scanRow(scan))
		out = append(out, c)
		return err
	}, "SELECT "+claimColumns+" FROM unemployment_claims WHERE region = $1 AND person_id = $2 AND ($3 = 0 OR id < $3) ORDER BY id DESC LIMIT $4",
		me.Region, me.ID, before, limit)
	return out, err
}
