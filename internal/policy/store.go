package policy

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/period"
)

// Status of a policy version.
type Status string

const (
	Pending  Status = "pending"
	Approved Status = "approved"
	Rejected Status = "rejected"
)

// Version is a stored policy version.
type Version struct {
	ID            int64
	Region        string
	EffectiveFrom period.Month
	Status        Status
	ProposedBy    string
	ProposedAt    time.Time
	ReviewedBy    string
	ReviewedAt    time.Time
	RejectReason  string
	Body          string
	Policy        *Policy
}

// Store keeps policy versions.
type Store struct {
	db *db.DB

	mu    sync.Mutex
	cache map[int64]*Policy // parsed bodies by version id; versions never change, so never stale
}

// NewStore returns a store over d.
func NewStore(d *db.DB) *Store { return &Store{db: d, cache: map[int64]*Policy{}} }

// Propose stores a new version as pending. by is the admin proposing it; nil means the command line.
func (s *Store) Propose(ctx context.Context, by *auth.Principal, who audit.Actor, body []byte) (Version, error) {
	p, err := Parse(body)
	if err != nil {
		return Version{}, err
	}
	if by != nil {
		if err := by.Require(auth.ProposePolicy); err != nil {
			return Version{}, err
		}
		if !by.InRegion(p.Region) {
			return Version{}, errs.Field("region", "not one of your regions")
		}
	}
	return s.insert(ctx, who, p, body, Pending)
}

// Install stores a version as already approved, for the demo city and tests only: it bypasses
// review, so nothing reachable from the API or the portal calls it.
func (s *Store) Install(ctx context.Context, who audit.Actor, p *Policy) (Version, error) {
	if err := p.Validate(); err != nil {
		return Version{}, err
	}
	body, err := jsonOf(p)
	if err != nil {
		return Version{}, err
	}
	return s.insert(ctx, who, p, body, Approved)
}

func (s *Store) insert(ctx context.Context, who audit.Actor, p *Policy, body []byte, st Status) (Version, error) {
	sum := sha256.Sum256(body)
	v := Version{Region: p.Region, EffectiveFrom: p.Month(), Status: st, ProposedBy: who.Name, Body: string(body), Policy: p}
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		v.ProposedAt = tx.Now
		reviewedBy, reviewedAt := "", ""
		if st == Approved {
			reviewedBy, reviewedAt = who.Name, db.FormatTime(tx.Now)
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO policy_versions(region, effective_from, body, body_sha256, status, proposed_by, proposed_at, reviewed_by, reviewed_at)
			VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
			p.Region, int(p.Month()), string(body), hex.EncodeToString(sum[:]), string(st), who.Name, db.FormatTime(tx.Now), reviewedBy, reviewedAt).Scan(&v.ID)
		if err != nil {
			return fmt.Errorf("policy: store: %w", err)
		}
		return audit.Record(ctx, tx, who, "policy."+map[Status]string{Pending: "propose", Approved: "install"}[st],
			fmt.Sprintf("policy:%d", v.ID), p.Region, map[string]any{"effective_from": p.EffectiveFrom, "sha256": hex.EncodeToString(sum[:])})
	})
	return v, err
}

// Approve makes a pending version take effect. The reviewer must be independent of its proposer
// (auth.Independent).
func (s *Store) Approve(ctx context.Context, by *auth.Principal, id int64) (Version, error) {
	return s.review(ctx, by, id, Approved, "")
}

// Reject refuses a pending version with a reason.
func (s *Store) Reject(ctx context.Context, by *auth.Principal, id int64, reason string) (Version, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len([]rune(reason)) > 500 {
		return Version{}, errs.Field("reason", "1–500 characters")
	}
	return s.review(ctx, by, id, Rejected, reason)
}

func (s *Store) review(ctx context.Context, by *auth.Principal, id int64, to Status, reason string) (Version, error) {
	if err := by.Require(auth.ReviewPolicy); err != nil {
		return Version{}, err
	}
	var v Version
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		var err error
		v, err = scanVersion(tx.QueryRowContext(ctx, "SELECT "+versionColumns+" FROM policy_versions WHERE id = $1"+tx.ForUpdate(), id))
		if err != nil {
			return err
		}
		if !by.InRegion(v.Region) {
			return errs.E(errs.NotFound, "no policy version %d", id)
		}
		if v.Status != Pending {
			return errs.E(errs.Conflict, "policy version %d is already %s", id, v.Status)
		}
		if v.ProposedBy == by.Username {
			return errs.E(errs.Forbidden, "you proposed this version; another reviewer must decide on it")
		}
		if to == Approved {
			// The reviewer must be a second person: independent of the proposer (not an account
			// the proposer made, nor one that made the proposer's).
			if err := auth.Independent(ctx, tx, by.Username, v.ProposedBy); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE policy_versions SET status = $1, reviewed_by = $2, reviewed_at = $3, reject_reason = $4 WHERE id = $5 AND status = 'pending'",
			string(to), by.Username, db.FormatTime(tx.Now), reason, id); err != nil {
			return fmt.Errorf("policy: review: %w", err)
		}
		v.Status, v.ReviewedBy, v.ReviewedAt, v.RejectReason = to, by.Username, tx.Now, reason
		action := "policy.approve"
		if to == Rejected {
			action = "policy.reject"
		}
		return audit.Record(ctx, tx, by.Actor(), action, fmt.Sprintf("policy:%d", id), v.Region, map[string]string{"reason": reason})
	})
	return v, err
}

const versionColumns = "id, region, effective_from, status, proposed_by, proposed_at, reviewed_by, reviewed_at, reject_reason, body"

func scanVersion(row interface{ Scan(...any) error }) (Version, error) {
	var v Version
	var from int
	var st, proposedAt, reviewedAt string
	err := row.Scan(&v.ID, &v.Region, &from, &st, &v.ProposedBy, &proposedAt, &v.ReviewedBy, &reviewedAt, &v.RejectReason, &v.Body)
	if errors.Is(err, sql.ErrNoRows) {
		return Version{}, errs.E(errs.NotFound, "no such policy version")
	}
	if err != nil {
		return Version{}, fmt.Errorf("policy: read: %w", err)
	}
	v.EffectiveFrom, v.Status = period.Month(from), Status(st)
	v.ProposedAt, _ = db.ParseTime(proposedAt)
	if reviewedAt != "" {
		v.ReviewedAt, _ = db.ParseTime(reviewedAt)
	}
	return v, nil
}

// Get returns one version visible to the principal (nil: the command line).
func (s *Store) Get(ctx context.Context, by *auth.Principal, id int64) (Version, error) {
	v, err := scanVersion(s.db.R().QueryRowContext(ctx, "SELECT "+versionColumns+" FROM policy_versions WHERE id = $1", id))
	if err != nil {
		return Version{}, err
	}
	if by != nil && !by.InRegion(v.Region) {
		return Version{}, errs.E(errs.NotFound, "no such policy version")
	}
	v.Policy, err = s.parsed(v)
	return v, err
}

// List returns the versions of a region, newest first.
func (s *Store) List(ctx context.Context, region string) ([]Version, error) {
	return s.ListPage(ctx, region, 0, 0)
}

// ListPage is one page of List: at most limit versions (0: all) older than the id before (0: from
// the newest).
func (s *Store) ListPage(ctx context.Context, region string, before int64, limit int) ([]Version, error) {
	q := "SELECT " + versionColumns + " FROM policy_versions WHERE region = $1 AND ($2 = 0 OR id < $2) ORDER BY id DESC"
	args := []any{region, before}
	if limit > 0 {
		q += " LIMIT $3"
		args = append(args, limit)
	}
	rows, err := s.db.R().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("policy: list: %w", err)
	}
	defer rows.Close()
	var out []Version
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Effective returns the approved version in force in region for month: the one with the latest
// effective month not after month, and among those the last approved.
func (s *Store) Effective(ctx context.Context, r db.Reader, region string, month period.Month) (Version, error) {
	v, err := scanVersion(r.QueryRowContext(ctx, "SELECT "+versionColumns+` FROM policy_versions
		WHERE region = $1 AND status = 'approved' AND effective_from <= $2
		ORDER BY effective_from DESC, reviewed_at DESC, id DESC LIMIT 1`, region, int(month)))
	if errs.Is(err, errs.NotFound) {
		return Version{}, errs.E(errs.Unavailable, "no approved policy is in force in region %s for %s", region, month)
	}
	if err != nil {
		return Version{}, err
	}
	v.Policy, err = s.parsed(v)
	return v, err
}

func (s *Store) parsed(v Version) (*Policy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.cache[v.ID]; ok {
		return p, nil
	}
	p, err := Parse([]byte(v.Body))
	if err != nil {
		return nil, fmt.Errorf("policy: stored version %d no longer parses: %w", v.ID, err)
	}
	s.cache[v.ID] = p
	return p, nil
}

// Regions lists the regions that have an approved policy, for the public service guide.
func (s *Store) Regions(ctx context.Context) ([]string, error) {
	rows, err := s.db.R().QueryContext(ctx, "SELECT DISTINCT region FROM policy_versions WHERE status = 'approved' ORDER BY region")
	if err != nil {
		return nil, fmt.Errorf("policy: regions: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
