package keys

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/period"
)

// RequestKind is what a dual-control request asks for.
type RequestKind string

const (
	Generate RequestKind = "generate" // the first issuer key set of a region
	Rotate   RequestKind = "rotate"   // a new version of every issuer key; old versions keep verifying
	Export   RequestKind = "export"   // one issuer key, encrypted to a card manufacturer's SM2 public key
	Destroy  RequestKind = "destroy"  // erase one key version's material
)

// NewRequest is what a custodian or administrator asks for.
type NewRequest struct {
	Kind    RequestKind
	Region  string
	Purpose Purpose // export, destroy
	Version int     // export, destroy
	// Recipient is the manufacturer's SM2 public key (PEM) for an export.
	Recipient string
}

// Request is a stored request with its approvals.
type Request struct {
	ID                int64
	Region            string
	Kind              RequestKind
	Purpose           Purpose
	Version           int
	Recipient         string
	ApprovalsRequired int
	Approvals         []string
	RequestedBy       string
	RequestedAt       time.Time
	Status            string // pending, done, failed, withdrawn
	DoneAt            time.Time
	Result            string // export: hex of the SM2 ciphertext; rotate/generate: the new version
}

type requestDetail struct {
	Purpose   Purpose `json:"purpose,omitempty"`
	Version   int     `json:"version,omitempty"`
	Recipient string  `json:"recipient,omitempty"`
}

// Request records a key request. It runs when enough custodians approve it.
func (s *Service) Request(ctx context.Context, by *auth.Principal, in NewRequest) (Request, error) {
	if err := by.Require(auth.RequestKeys); err != nil {
		return Request{}, err
	}
	if s.Sealed() {
		return Request{}, ErrSealed
	}
	f := errs.Fields{}
	if !by.InRegion(in.Region) {
		f.Add("region", "not one of your regions")
	}
	switch in.Kind {
	case Generate, Rotate:
		// A set is generated and rotated whole: a purpose or version named here would be ignored,
		// and a request that says more than it does is refused rather than stored.
		if in.Purpose != "" {
			f.Add("purpose", "generate and rotate concern every issuer key; leave the purpose empty")
		}
		if in.Version != 0 {
			f.Add("version", "generate and rotate make the next version; leave the version empty")
		}
	case Export, Destroy:
		if !Allows(in.Purpose, OpExport) && !(in.Kind == Destroy && in.Purpose == Signing) {
			f.Add("purpose", "an issuer key purpose (card_master, internal_auth, external_auth, pin, transaction_mac)")
		}
		if in.Version < 1 {
			f.Add("version", "the key version")
		}
		if in.Kind == Export {
			if _, err := parseRecipient(in.Recipient); err != nil {
				f.Add("recipient", err.Error())
			}
		}
	default:
		f.Add("kind", "generate, rotate, export or destroy")
	}
	if err := f.Err(); err != nil {
		return Request{}, err
	}
	v, err := s.policies.Effective(ctx, s.db.R(), in.Region, period.MonthOf(s.now()))
	if err != nil {
		return Request{}, err
	}
	detail, _ := json.Marshal(requestDetail{Purpose: in.Purpose, Version: in.Version, Recipient: in.Recipient})
	var id int64
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO key_requests(region, kind, detail, approvals_required, requested_by, requested_at, status)
			VALUES($1, $2, $3, $4, $5, $6, 'pending') RETURNING id`, in.Region, string(in.Kind), string(detail),
			v.Policy.Keys.ApprovalsRequired, by.Username, db.FormatTime(tx.Now)).Scan(&id); err != nil {
			return fmt.Errorf("keys: request: %w", err)
		}
		return audit.Record(ctx, tx, by.Actor(), "keys.request", requestObject(id), in.Region,
			map[string]any{"kind": in.Kind, "purpose": in.Purpose, "version": in.Version, "approvals_required": v.Policy.Keys.ApprovalsRequired})
	})
	if err != nil {
		return Request{}, err
	}
	return s.GetRequest(ctx, id)
}

func requestObject(id int64) string { return "key_request:" + strconv.FormatInt(id, 10) }

// Approve adds a custodian's approval. The requester's approval, a second approval by the same
// custodian, and an approval from an account not independent of the requester or an earlier
// approver (auth.Independent) do not count. The approval that reaches the policy's number carries the request out.
func (s *Service) Approve(ctx context.Context, by *auth.Principal, id int64) (Request, error) {
	if err := by.Require(auth.ApproveKeys); err != nil {
		return Request{}, err
	}
	if s.Sealed() {
		return Request{}, ErrSealed
	}
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		r, err := loadRequest(ctx, tx, id, tx.ForUpdate())
		if err != nil {
			return err
		}
		if !by.InRegion(r.Region) {
			return errs.E(errs.NotFound, "no such key request")
		}
		if r.Status != "pending" {
			return errs.E(errs.Conflict, "the request is already %s", r.Status)
		}
		if r.RequestedBy == by.Username {
			return errs.E(errs.Forbidden, "you made this request; other custodians must approve it")
		}
		for _, a := range r.Approvals {
			if a == by.Username {
				return errs.E(errs.Conflict, "you have already approved this request")
			}
		}
		// Dual control means distinct people: an approval counts only from a custodian
		// independent of the requester and of every custodian who approved before.
		if err := auth.Independent(ctx, tx, by.Username, append([]string{r.RequestedBy}, r.Approvals...)...); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO key_approvals(request_id, custodian, approved_at) VALUES($1, $2, $3)",
			id, by.Username, db.FormatTime(tx.Now)); err != nil {
			return fmt.Errorf("keys: approve: %w", err)
		}
		if err := audit.Record(ctx, tx, by.Actor(), "keys.approve", requestObject(id), r.Region,
			map[string]any{"approvals": len(r.Approvals) + 1, "required": r.ApprovalsRequired}); err != nil {
			return err
		}
		if len(r.Approvals)+1 < r.ApprovalsRequired {
			return nil
		}
		return s.execute(ctx, tx, by, r)
	})
	if err != nil {
		return Request{}, err
	}
	return s.GetRequest(ctx, id)
}

// Withdraw takes back a pending request: only its requester may, and only while it waits for
// approvals. A request nobody will approve (its custodians away, or a mistake in it) no longer
// blocks the queue; a new one can be made at once.
func (s *Service) Withdraw(ctx context.Context, by *auth.Principal, id int64) (Request, error) {
	if err := by.Require(auth.RequestKeys); err != nil {
		return Request{}, err
	}
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		r, err := loadRequest(ctx, tx, id, tx.ForUpdate())
		if err != nil {
			return err
		}
		if !by.InRegion(r.Region) {
			return errs.E(errs.NotFound, "no such key request")
		}
		if r.RequestedBy != by.Username {
			return errs.E(errs.Forbidden, "only the custodian or administrator who made a request may withdraw it")
		}
		if r.Status != "pending" {
			return errs.E(errs.Conflict, "the request is already %s", r.Status)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE key_requests SET status = 'withdrawn', done_at = $1 WHERE id = $2", db.FormatTime(tx.Now), id); err != nil {
			return fmt.Errorf("keys: withdraw: %w", err)
		}
		return audit.Record(ctx, tx, by.Actor(), "keys.withdraw", requestObject(id), r.Region,
			map[string]any{"kind": r.Kind, "approvals": len(r.Approvals)})
	})
	if err != nil {
		return Request{}, err
	}
	return s.GetRequest(ctx, id)
}

// execute carries out an approved request inside the approving transaction.
func (s *Service) execute(ctx context.Context, tx *db.Tx, by *auth.Principal, r Request) error {
	result := ""
	switch r.Kind {
	case Generate, Rotate:
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM keys WHERE region = $1 AND purpose <> 'kek' AND status = 'active'", r.Region).Scan(&n); err != nil {
			return err
		}
		if r.Kind == Generate && n > 0 {
			return errs.E(errs.Conflict, "region %s already has issuer keys; request a rotation", r.Region)
		}
		if r.Kind == Rotate && n == 0 {
			return errs.E(errs.Conflict, "region %s has no issuer keys to rotate; request generation", r.Region)
		}
		version, err := s.storeKeySet(ctx, tx, r.Region, r.ID)
		if err != nil {
			return err
		}
		result = strconv.Itoa(version)
	case Export:
		k, wrapped, err := s.issuerKey(ctx, tx, r.Region, r.Purpose, r.Version, OpExport)
		if err != nil {
			return err
		}
		pub, err := parseRecipient(r.Recipient)
		if err != nil {
			return err
		}
		plain, err := s.unwrapIssuerTx(ctx, tx, k, wrapped)
		if err != nil {
			return err
		}
		ct, err := sm2.Encrypt(rand.Reader, pub, plain, nil)
		zero(plain)
		if err != nil {
			return err
		}
		result = strings.ToUpper(hex.EncodeToString(ct))
	case Destroy:
		res, err := tx.ExecContext(ctx, "UPDATE keys SET status = 'destroyed', wrapped = $1 WHERE region = $2 AND purpose = $3 AND version = $4 AND status <> 'destroyed'",
			[]byte{}, r.Region, string(r.Purpose), r.Version)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.E(errs.NotFound, "no %s key version %d to destroy in region %s", r.Purpose, r.Version, r.Region)
		}
		s.forgetUnwrapped()
	}
	if _, err := tx.ExecContext(ctx, "UPDATE key_requests SET status = 'done', done_at = $1, result = $2 WHERE id = $3",
		db.FormatTime(tx.Now), result, r.ID); err != nil {
		return err
	}
	detail := map[string]any{"kind": r.Kind}
	if r.Kind == Generate || r.Kind == Rotate {
		detail["version"] = result
	}
	return audit.Record(ctx, tx, by.Actor(), "keys.execute", requestObject(r.ID), r.Region, detail)
}

// unwrapIssuerTx is unwrapIssuer inside an open transaction.
func (s *Service) unwrapIssuerTx(ctx context.Context, tx *db.Tx, k Key, wrapped []byte) ([]byte, error) {
	_, kek, err := s.kekPlain(ctx, tx, k.Region, false)
	if err != nil {
		return nil, err
	}
	defer zero(kek)
	return unwrap(kek, wrapped, aadOf(k.Region, k.Purpose, k.Version))
}

func (s *Service) forgetUnwrapped() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.sm4s)
	clear(s.sm2s)
	clear(s.txKeys)
}

func parseRecipient(p string) (*ecdsa.PublicKey, error) {
	b, _ := pem.Decode([]byte(p))
	if b == nil {
		return nil, errors.New("a PEM-encoded SM2 public key")
	}
	k, err := smx509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return nil, errors.New("not an SM2 public key")
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok || !sm2.IsSM2PublicKey(pub) {
		return nil, errors.New("not an SM2 public key")
	}
	return pub, nil
}

func loadRequest(ctx context.Context, r db.Reader, id int64, lock string) (Request, error) {
	var q Request
	var kind, detail, at, done string
	err := r.QueryRowContext(ctx, `SELECT id, region, kind, detail, approvals_required, requested_by, requested_at, status, done_at, result
		FROM key_requests WHERE id = $1`+lock, id).Scan(&q.ID, &q.Region, &kind, &detail, &q.ApprovalsRequired, &q.RequestedBy, &at, &q.Status, &done, &q.Result)
	if errors.Is(err, sql.ErrNoRows) {
		return Request{}, errs.E(errs.NotFound, "no such key request")
	}
	if err != nil {
		return Request{}, fmt.Errorf("keys: read request: %w", err)
	}
	q.Kind = RequestKind(kind)
	var d requestDetail
	_ = json.Unmarshal([]byte(detail), &d)
	q.Purpose, q.Version, q.Recipient = d.Purpose, d.Version, d.Recipient
	q.RequestedAt, _ = db.ParseTime(at)
	if done != "" {
		q.DoneAt, _ = db.ParseTime(done)
	}
	rows, err := r.QueryContext(ctx, "SELECT custodian FROM key_approvals WHERE request_id = $1 ORDER BY approved_at, custodian", id)
	if err != nil {
		return Request{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return Request{}, err
		}
		q.Approvals = append(q.Approvals, c)
	}
	return q, rows.Err()
}

// GetRequest returns one request.
func (s *Service) GetRequest(ctx context.Context, id int64) (Request, error) {
	return loadRequest(ctx, s.db.R(), id, "")
}

// Requests lists the requests of the principal's regions, newest first.
func (s *Service) Requests(ctx context.Context, by *auth.Principal) ([]Request, error) {
	return s.RequestsPage(ctx, by, 0, 0)
}

// RequestsPage is one page of Requests: at most limit (0: all) older than the id before (0: from
// the newest). The regions' requests are one list, as ids are numbered across them.
func (s *Service) RequestsPage(ctx context.Context, by *auth.Principal, before int64, limit int) ([]Request, error) {
	if len(by.Regions) == 0 {
		return nil, nil
	}
	args := []any{before}
	in := make([]string, 0, len(by.Regions))
	for _, r := range by.Regions {
		args = append(args, r)
		in = append(in, fmt.Sprintf("$%d", len(args)))
	}
	q := "SELECT id FROM key_requests WHERE region IN (" + strings.Join(in, ", ") + ") AND ($1 = 0 OR id < $1) ORDER BY id DESC"
	if limit > 0 {
		args = append(args, limit)
		q += fmt.Sprintf(" LIMIT $%d", len(args))
	}
	rows, err := s.db.R().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]Request, 0, len(ids))
	for _, id := range ids {
		r, err := s.GetRequest(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
