// Package transfer moves a person's insurance from one pooling region to another (转移接续, SPEC
// 3.8; 国办发〔2009〕66号): the pension personal account and the pooled part (12 % of the bases
// actually paid since 1998, month by month), the medical personal account, and the contribution
// months of pension, medical and unemployment insurance, which count in the new region as months
// paid there.
//
// It is the one business that touches two regions, so it is never one transaction across both.
// Each region keeps its own side (transfers_in in the region the person moves to, B; transfers_out
// in the region they leave, A), and the two talk only by messages: a step writes its region's rows
// and the message for the other region in one transaction (the outbox), and Deliver hands each
// message to the other region, which acts on it in a transaction of its own and records it in its
// inbox, so that a message delivered twice is acted on once. Every step can be killed at any point
// and resumed by delivering again; money moves exactly once.
//
// The protocol, with the status each side shows:
//
//	B  Apply            applied      (the person, their new employer's HR, or B's clerk at the window)
//	B  Accept           accepted     → request
//	A  (request)        computed     A computes what moves from its own records
//	A  Approve          sent         A's reviewer: A's accounts are emptied into the transfer
//	                                 clearing account, A's insurance is closed → funds
//	B  (funds)          credited     B credits the accounts from its clearing account, records the
//	                                 months, and takes over the person's registration → received
//	A  (received)       done         A remits: its clearing account to its bank → remitted
//	B  (remitted)       done         B receives the remittance: its bank to its clearing account
//
// A's reviewer may refuse (A: refused → refused; B: refused), and A refuses by itself a request it
// cannot serve (no such person insured there, or a transfer of theirs already open).
//
// The temporary account rule of 66号: a man of 50 or more, or a woman of 40 or more, moving to a
// province other than that of their household registration keeps the pension relation at the old
// place, and the new place opens a temporary contribution account (临时基本养老保险缴费账户). Then the
// pension account, pooled part and pension months stay in A (shown so on both sides); medical
// insurance and unemployment months move as usual. The province of the household registration is
// the sending region's when the person is registered there as local, and otherwise the one the ID
// number was issued in (its first two digits), as the registry holds no coded hukou place.
//
// This package must never write two regions' rows in one transaction (the person's national record
// excepted, whose region B's credit step hands over), and never post money outside ledger.
package transfer

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
)

// Status of one side of a transfer.
type Status string

const (
	Applied  Status = "applied"  // B: waiting for B's clerk
	Accepted Status = "accepted" // B: sent to A, waiting for A's computation and review
	Computed Status = "computed" // A: waiting for A's reviewer
	Sent     Status = "sent"     // A: money sent, waiting for B's receipt
	Credited Status = "credited" // B: money credited, waiting for A's remittance
	Done     Status = "done"
	Refused  Status = "refused"
)

// Message kinds between the regions.
const (
	msgRequest  = "request"
	msgFunds    = "funds"
	msgReceived = "received"
	msgRemitted = "remitted"
	msgRefused  = "refused"
)

// PooledRate is the pooled part of a pension transfer: 12 % of the contribution bases actually
// paid, month by month, from 1 January 1998 (国办发〔2009〕66号, art. 5).
const PooledRate money.Rate = 120_000 // parts per million

// PooledFrom is the first month whose base counts in the pooled part.
const PooledFrom period.Month = 199801

// Service is the transfer capability.
type Service struct {
	db         *db.DB
	now        func() time.Time
	delivering sync.Mutex
}

// New returns the transfer service.
func New(d *db.DB) *Service { return &Service{db: d, now: d.Now} }

// Amounts is what moves: computed by the sending region from its own records.
type Amounts struct {
	Temporary      bool      // the 66号 rule: the pension relation stays at the sending region
	PensionAccount money.Fen // the personal pension account's balance
	PensionPooled  money.Fen // 12 % of PooledBases, month by month
	PooledBases    money.Fen // the pension bases paid since 1998 (and taken over from earlier regions)
	MedicalAccount money.Fen
	// The months, each once: paid in the sending region or taken over by it from an earlier one.
	PensionMonths, MedicalMonths, UnemploymentMonths []period.Month
	pensionBases                                     map[period.Month]money.Fen
}

// Total is the money that moves.
func (a Amounts) Total() money.Fen { return a.PensionAccount + a.PensionPooled + a.MedicalAccount }

// Months counts the contribution months that move, by insurance.
type Months struct {
	Pension, Medical, Unemployment int
}

// Step is one step of a transfer as a person sees it.
type Step struct {
	Key string // transfer.step.<key> names it
	At  time.Time
}

// Transfer is a transfer as the caller may see it: the receiving side and, for the person and the
// sending region's staff, the sending side.
type Transfer struct {
	No         string
	FromRegion string
	ToRegion   string
	PersonID   int64
	IDNumber   ident.IDNumber
	Name       string
	InStatus   Status // B's side
	OutStatus  Status // A's side; "" before A has received the request
	Refusal    string
	Amounts    Amounts // the money; its month lists are not loaded (Months counts them)
	Months     Months
	AppliedBy  string
	AcceptedBy string
	ApprovedBy string
	Steps      []Step
}

// Status is the transfer's status as one word: A's while A holds it, B's otherwise.
func (t Transfer) Status() Status {
	switch {
	case t.InStatus == Refused || t.OutStatus == Refused:
		return Refused
	case t.InStatus == Accepted && t.OutStatus != "":
		return t.OutStatus
	}
	return t.InStatus
}

// NewTransfer is an application.
type NewTransfer struct {
	IDNumber string
	ToRegion string // the region the person moves to; "" = the caller's
}

func newNo(region string, now time.Time) string {
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("ZY%s%s%X", region, period.Today(now).Format("20060102"), b)
}

// Apply opens a transfer in the region the person moves to: by the person themself (naming the
// region), by an HR operator of an employer there, or by a clerk there at the window.
func (s *Service) Apply(ctx context.Context, by *auth.Principal, in NewTransfer) (Transfer, error) {
	if err := by.Require(auth.ApplyTransfer); err != nil {
		return Transfer{}, err
	}
	f := errs.Fields{}
	n, err := ident.ParseIDNumber(strings.TrimSpace(in.IDNumber), period.Today(s.now()))
	if err != nil {
		f.Add("id_number", err.Error())
	}
	to := strings.TrimSpace(in.ToRegion)
	switch by.Role {
	case auth.Resident:
		if to == "" {
			f.Add("to_region", "required: the region you move to")
		}
	default:
		if to == "" && len(by.Regions) == 1 {
			to = by.Regions[0]
		}
		if to == "" || !by.InRegion(to) {
			f.Add("to_region", "not one of your regions")
		}
	}
	if err := f.Err(); err != nil {
		return Transfer{}, err
	}
	var out Transfer
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		var personID int64
		var from, employerRegion string
		if err := tx.QueryRowContext(ctx, "SELECT id, region FROM persons WHERE id_number = $1", string(n)).Scan(&personID, &from); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return errs.Field("id_number", "no person with this ID number is insured in any region this service serves")
			}
			return err
		}
		switch by.Role {
		case auth.Resident:
			if by.PersonID != personID {
				return errs.Field("id_number", "not your own ID number")
			}
		case auth.Employer:
			if err := tx.QueryRowContext(ctx, "SELECT region FROM employers WHERE id = $1", by.EmployerID).Scan(&employerRegion); err != nil {
				return err
			}
			if employerRegion != to {
				return errs.Field("to_region", "not your employer's region")
			}
		}
		if from == to {
			return errs.Field("id_number", "this person is insured in this region already; there is nothing to transfer")
		}
		var served int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM policy_versions WHERE region = $1 AND status = 'approved'", to).Scan(&served); err != nil {
			return err
		}
		if served == 0 {
			return errs.Field("to_region", "not a region this service serves")
		}
		var open int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM transfers_in WHERE person_id = $1 AND status NOT IN ('done', 'refused')",
			personID).Scan(&open); err != nil {
			return err
		}
		if open > 0 {
			return errs.E(errs.Conflict, "a transfer of this person is open already")
		}
		no := newNo(to, tx.Now)
		if _, err := tx.ExecContext(ctx, `INSERT INTO transfers_in(region, no, from_region, person_id, status, applied_by, applied_at)
			VALUES($1, $2, $3, $4, $5, $6, $7)`, to, no, from, personID, string(Applied), by.Username, db.FormatTime(tx.Now)); err != nil {
			return fmt.Errorf("transfer: apply: %w", err)
		}
		out = Transfer{No: no, FromRegion: from, ToRegion: to, PersonID: personID, IDNumber: n, InStatus: Applied, AppliedBy: by.Username}
		return audit.Record(ctx, tx, by.Actor(), "transfer.apply", "transfer:"+no, to, map[string]any{"from_region": from, "person": personID})
	})
	if err != nil {
		return Transfer{}, err
	}
	return s.Get(ctx, by, out.No)
}

// Accept is B's clerk taking the application on: the request goes to A.
func (s *Service) Accept(ctx context.Context, by *auth.Principal, no string) (Transfer, error) {
	if err := by.Require(auth.AcceptTransfer); err != nil {
		return Transfer{}, err
	}
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		t, err := loadIn(ctx, tx, no)
		if err != nil || !by.InRegion(t.ToRegion) {
			return errs.E(errs.NotFound, "no such transfer")
		}
		if t.InStatus != Applied {
			return errs.E(errs.Conflict, "this transfer is %s, not waiting to be accepted", t.InStatus)
		}
		if err := auth.Independent(ctx, tx, by.Username, t.AppliedBy); err != nil && t.AppliedBy != "" && staffName(ctx, tx, t.AppliedBy) {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE transfers_in SET status = $1, accepted_by = $2, accepted_at = $3 WHERE region = $4 AND no = $5",
			string(Accepted), by.Username, db.FormatTime(tx.Now), t.ToRegion, no); err != nil {
			return err
		}
		if err := send(ctx, tx, t.ToRegion, t.FromRegion, no, msgRequest, requestBody{PersonID: t.PersonID, IDNumber: string(t.IDNumber)}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, by.Actor(), "transfer.accept", "transfer:"+no, t.ToRegion, map[string]any{"from_region": t.FromRegion})
	})
	if err != nil {
		return Transfer{}, err
	}
	return s.Get(ctx, by, no)
}

// staffName says whether a username is a staff account (a clerk who applied at the window): only
// then must the one who accepts be someone else.
func staffName(ctx context.Context, tx *db.Tx, username string) bool {
	var role string
	if err := tx.QueryRowContext(ctx, "SELECT role FROM users WHERE username = $1", username).Scan(&role); err != nil {
		return false
	}
	return auth.Role(role).Staff()
}

// Approve is A's reviewer sending what was computed: the amounts are computed again from A's
// records as they stand now (a payment may have come in since), A's accounts are emptied into the
// transfer clearing account, the person's insurance in A is closed, and the funds go to B.
func (s *Service) Approve(ctx context.Context, by *auth.Principal, no string) (Transfer, error) {
	if err := by.Require(auth.ReviewTransfer); err != nil {
		return Transfer{}, err
	}
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		t, err := loadOut(ctx, tx, no)
		if err != nil || !by.InRegion(t.FromRegion) {
			return errs.E(errs.NotFound, "no such transfer")
		}
		if t.OutStatus != Computed {
			return errs.E(errs.Conflict, "this transfer is %s, not waiting for review", t.OutStatus)
		}
		var employer int64
		var since int
		err = tx.QueryRowContext(ctx, `SELECT employer_id, start_month FROM staff WHERE region = $1 AND person_id = $2 AND end_month = 0
			ORDER BY start_month LIMIT 1`, t.FromRegion, t.PersonID).Scan(&employer, &since)
		if err == nil {
			return errs.E(errs.Conflict, "the person is still on the staff of an employer here (since %s): the employer ends the employment (减员) first",
				period.Month(since))
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// Arrears first (先补缴后转移): a month billed here and not paid would be paid, later, into
		// an account that has moved, and would not move itself.
		var owedFrom, owedTo int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MIN(l.month), 0), COALESCE(MAX(l.month), 0)
			FROM contribution_lines l JOIN bills b ON b.id = l.bill_id
			WHERE l.person_id = $1 AND b.region = $2 AND b.paid < b.total`, t.PersonID, t.FromRegion).Scan(&owedFrom, &owedTo); err != nil {
			return err
		}
		if owedFrom != 0 {
			return errs.E(errs.Conflict, "the months %s to %s are billed here and not fully paid: the payer pays them (补缴) before the transfer",
				period.Month(owedFrom), period.Month(owedTo))
		}
		a, err := compute(ctx, tx, t.FromRegion, t.ToRegion, t.PersonID, tx.Now)
		if err != nil {
			return err
		}
		if err := postOut(ctx, tx, t.FromRegion, t.ToRegion, no, t.PersonID, a); err != nil {
			return err
		}
		// The person's own (flexible) insurance here ends with the last month before this one.
		last := period.MonthOf(tx.Now).Add(-1)
		if _, err := tx.ExecContext(ctx, `UPDATE participations SET end_month = CASE WHEN start_month > $1 THEN start_month ELSE $1 END,
			end_reason = 'transferred' WHERE region = $2 AND person_id = $3 AND end_month = 0`, int(last), t.FromRegion, t.PersonID); err != nil {
			return err
		}
		if err := saveAmounts(ctx, tx, "transfers_out", t.FromRegion, no, a, true); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE transfers_out SET status = $1, approved_by = $2, approved_at = $3 WHERE region = $4 AND no = $5",
			string(Sent), by.Username, db.FormatTime(tx.Now), t.FromRegion, no); err != nil {
			return err
		}
		if err := send(ctx, tx, t.FromRegion, t.ToRegion, no, msgFunds, fundsBody(a)); err != nil {
			return err
		}
		return audit.Record(ctx, tx, by.Actor(), "transfer.approve", "transfer:"+no, t.FromRegion, map[string]any{
			"to_region": t.ToRegion, "pension_account": a.PensionAccount.String(), "pension_pooled": a.PensionPooled.String(),
			"medical_account": a.MedicalAccount.String(), "pension_months": len(a.PensionMonths), "temporary_account": a.Temporary})
	})
	if err != nil {
		return Transfer{}, err
	}
	return s.Get(ctx, by, no)
}

// Refuse is A's reviewer refusing the transfer, with the reason B and the person will read.
func (s *Service) Refuse(ctx context.Context, by *auth.Principal, no, reason string) (Transfer, error) {
	if err := by.Require(auth.ReviewTransfer); err != nil {
		return Transfer{}, err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" || len([]rune(reason)) > 200 {
		return Transfer{}, errs.Field("reason", "required: 1–200 characters the person will read")
	}
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		t, err := loadOut(ctx, tx, no)
		if err != nil || !by.InRegion(t.FromRegion) {
			return errs.E(errs.NotFound, "no such transfer")
		}
		if t.OutStatus != Computed {
			return errs.E(errs.Conflict, "this transfer is %s, not waiting for review", t.OutStatus)
		}
		if err := refuseOut(ctx, tx, t.FromRegion, t.ToRegion, no, reason); err != nil {
			return err
		}
		return audit.Record(ctx, tx, by.Actor(), "transfer.refuse", "transfer:"+no, t.FromRegion, map[string]any{"reason": reason})
	})
	if err != nil {
		return Transfer{}, err
	}
	return s.Get(ctx, by, no)
}

func refuseOut(ctx context.Context, tx *db.Tx, from, to, no, reason string) error {
	if _, err := tx.ExecContext(ctx, "UPDATE transfers_out SET status = $1, refused_at = $2, refusal = $3 WHERE region = $4 AND no = $5",
		string(Refused), db.FormatTime(tx.Now), reason, from, no); err != nil {
		return err
	}
	return send(ctx, tx, from, to, no, msgRefused, refusedBody{Reason: reason})
}
