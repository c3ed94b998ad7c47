package contrib

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
)

// Payment is a recorded payment and how it was spread over the payer's bills.
type Payment struct {
	ID          int64
	Payer       string
	Amount      money.Fen
	PaidOn      time.Time
	Allocations []Allocation
	Replay      bool // the same payment was recorded before with this key; nothing changed
}

// NewPayment is a payment to record. The idempotency key makes a retry harmless: the same key with
// the same content answers the first result; with other content it is refused.
type NewPayment struct {
	IdemKey string
	Payer   string // "employer:<id>" or "person:<id>"
	Amount  string // yuan
	PaidOn  string // YYYY-MM-DD, the day the money arrived
}

// mayPay: an employer's HR pays its own bills, a resident their own, a clerk any in the region.
func mayPay(ctx context.Context, r db.Reader, by *auth.Principal, payer string) (string, error) {
	kind, id, err := ParsePayer(payer)
	if err != nil {
		return "", err
	}
	table := map[string]string{"employer": "employers", "person": "persons"}[kind]
	var region string
	if err := r.QueryRowContext(ctx, "SELECT region FROM "+table+" WHERE id = $1", id).Scan(&region); err != nil {
		return "", errs.E(errs.NotFound, "no such payer")
	}
	switch {
	case by.Role == auth.Employer && (kind != "employer" || by.EmployerID != id),
		by.Role == auth.Resident && (kind != "person" || by.PersonID != id),
		by.Role != auth.Employer && by.Role != auth.Resident && !by.InRegion(region):
		return "", errs.E(errs.NotFound, "no such payer")
	}
	return region, nil
}

// RecordPayment records money received for a payer: late fees are brought up to the day of payment,
// the payment is allocated to the oldest month first (contributions before fees), the ledger is
// posted (bank clearing against the receivable and the late-fee fund), and a bill whose
// contributions are paid in full credits its persons' personal accounts.
func (s *Service) RecordPayment(ctx context.Context, by *auth.Principal, in NewPayment) (Payment, error) {
	f := errs.Fields{}
	amount, err := money.ParseYuan(in.Amount)
	if err != nil || amount == 0 {
		f.Add("amount", "an amount in yuan above zero")
	}
	paidOn, err := period.ParseDate(in.PaidOn)
	if err != nil {
		f.Add("paid_on", err.Error())
	} else if paidOn.After(period.Today(s.now())) {
		f.Add("paid_on", "in the future")
	}
	if in.IdemKey == "" || len(in.IdemKey) > 200 {
		f.Add("idempotency_key", "an Idempotency-Key of 1–200 characters is required")
	}
	if err := f.Err(); err != nil {
		return Payment{}, err
	}
	region, err := mayPay(ctx, s.db.R(), by, in.Payer)
	if err != nil {
		return Payment{}, err
	}
	hash := sha256.Sum256([]byte(fmt.Sprintf("%s|%d|%s", in.Payer, amount, paidOn.Format("2006-01-02"))))
	content := hex.EncodeToString(hash[:])
	var out Payment
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		// The key is the caller's own: another account's payment under the same key is not this
		// caller's to replay (a clerk re-sending a bank's reference records a payment of their own).
		var prior, priorHash string
		var priorID int64
		err := tx.QueryRowContext(ctx, "SELECT id, content_hash, payer FROM payments WHERE recorded_by = $1 AND idem_key = $2",
			by.Username, in.IdemKey).Scan(&priorID, &priorHash, &prior)
		if err == nil {
			if priorHash != content {
				return errs.E(errs.Conflict, "the idempotency key was used for a different payment")
			}
			// A retry answers exactly what the first request answered, allocations included.
			out = Payment{ID: priorID, Payer: prior, Amount: amount, PaidOn: paidOn, Replay: true}
			out.Allocations, err = allocationsOf(ctx, tx, priorID)
			return err
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		v, err := s.policies.Effective(ctx, tx, region, period.MonthOf(s.now()))
		if err != nil {
			return err
		}
		daily := policy.Rate(v.Policy.Contributions.LateFeeDaily)
		open, err := s.accrue(ctx, tx, in.Payer, paidOn, daily)
		if err != nil {
			return err
		}
		// Money that arrived on paid_on can pay only the months that had begun by then: a date
		// before the oldest open month is not a payment of these bills.
		paidMonth := period.Month(paidOn.Year()*100 + int(paidOn.Month()))
		var owed money.Fen
		var list []Owed
		oldest := period.Month(0)
		for _, b := range open {
			if oldest == 0 || b.owed.Month < oldest {
				oldest = b.owed.Month
			}
			if b.owed.Month > paidMonth {
				continue
			}
			owed += b.owed.Principal + b.owed.Fee
			list = append(list, b.owed)
		}
		if len(list) == 0 && oldest != 0 {
			return errs.Field("paid_on", fmt.Sprintf("before %s, the first day of the oldest month still owed (%s)",
				oldest.First().Format("2006-01-02"), oldest))
		}
		if amount > owed {
			return errs.Field("amount", fmt.Sprintf("more than was owed on %s (%s yuan)", paidOn.Format("2006-01-02"), owed))
		}
		allocs, _ := Allocate(amount, list)
		var payID int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO payments(region, payer, idem_key, content_hash, amount, paid_on, excess, recorded_by, recorded_at)
			VALUES($1, $2, $3, $4, $5, $6, 0, $7, $8) RETURNING id`, region, in.Payer, in.IdemKey, content, int64(amount),
			paidOn.Format("2006-01-02"), by.Username, db.FormatTime(tx.Now)).Scan(&payID); err != nil {
			return fmt.Errorf("contrib: payment: %w", err)
		}
		var principal, fees money.Fen
		for _, a := range allocs {
			b := open[billOfMonth{a.Month, a.Supplement}]
			if _, err := tx.ExecContext(ctx, "UPDATE bills SET paid = paid + $1, fee_paid = fee_paid + $2 WHERE id = $3", int64(a.Principal), int64(a.Fee), b.id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO payment_allocations(region, payment_id, bill_id, principal, fee) VALUES($1, $2, $3, $4, $5)",
				region, payID, b.id, int64(a.Principal), int64(a.Fee)); err != nil {
				return err
			}
			principal += a.Principal
			fees += a.Fee
		}
		key := paymentKey(payID)
		ps := paymentPostings(region, in.Payer, amount, principal, fees)
		if _, err := ledger.Post(ctx, tx, ledger.Entry{IdemKey: key, Region: region, Cause: causePayment, CauseRef: key, Postings: ps}); err != nil {
			return err
		}
		for _, a := range allocs {
			if err := s.creditAccounts(ctx, tx, region, open[billOfMonth{a.Month, a.Supplement}].id); err != nil {
				return err
			}
		}
		out = Payment{ID: payID, Payer: in.Payer, Amount: amount, PaidOn: paidOn, Allocations: allocs}
		return audit.Record(ctx, tx, by.Actor(), "contribution.payment", in.Payer, region,
			map[string]any{"payment": payID, "amount": amount.String(), "paid_on": in.PaidOn, "principal": principal.String(), "fees": fees.String()})
	})
	return out, err
}

// allocationsOf reads how a recorded payment was spread, oldest month first, as RecordPayment
// answered it.
func allocationsOf(ctx context.Context, tx *db.Tx, paymentID int64) ([]Allocation, error) {
	var out []Allocation
	err := db.EachRow(ctx, tx, func(scan func(...any) error) error {
		var month, supplement int
		var principal, fee int64
		if err := scan(&month, &supplement, &principal, &fee); err != nil {
			return err
		}
		out = append(out, Allocation{Month: period.Month(month), Supplement: supplement, Principal: money.Fen(principal), Fee: money.Fen(fee)})
		return nil
	}, `SELECT b.month, b.supplement, a.principal, a.fee FROM payment_allocations a JOIN bills b ON b.id = a.bill_id
		WHERE a.payment_id = $1 ORDER BY b.month, b.supplement`, paymentID)
	return out, err
}

// causePayment is the cause of a payment's ledger entry, keyed by paymentKey.
const causePayment = "payment"

const paymentKeyPrefix = "payment:"

func paymentKey(id int64) string { return paymentKeyPrefix + strconv.FormatInt(id, 10) }

// paymentPostings books a payment: the bank clearing account receives the amount, the payer's
// receivable is credited the contributions it paid and the late-fee fund the fees.
func paymentPostings(region, payer string, amount, principal, fees money.Fen) []ledger.Posting {
	ps := []ledger.Posting{{Account: ledger.ClearingAccount(region), Amount: amount}}
	if principal > 0 {
		ps = append(ps, ledger.Posting{Account: receivable(region, payer), Amount: -principal})
	}
	if fees > 0 {
		ps = append(ps, ledger.Posting{Account: ledger.FundAccount(region, "late_fee"), Amount: -fees})
	}
	return ps
}

type openBill struct {
	id   int64
	owed Owed
}

// accrue brings every open bill's late fee up to the day of payment and returns what is owed per
// month. The fee accrues on the unpaid contributions from the due date (or the last accrual) to the
// day of payment, so that partial payments in between lower the fee from then on.
func (s *Service) accrue(ctx context.Context, tx *db.Tx, payer string, paidOn time.Time, daily money.Rate) (map[billOfMonth]openBill, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, month, supplement, total, paid, due_date, fee_accrued, fee_accrued_to, fee_paid FROM bills
		WHERE payer = $1 AND (paid < total OR fee_paid < fee_accrued) ORDER BY month, supplement`+tx.ForUpdate(), payer)
	if err != nil {
		return nil, err
	}
	type b struct {
		id                            int64
		month, supplement             int
		total, paid, accrued, feePaid int64
		due, accruedTo                string
	}
	var bs []b
	for rows.Next() {
		var x b
		if err := rows.Scan(&x.id, &x.month, &x.supplement, &x.total, &x.paid, &x.due, &x.accrued, &x.accruedTo, &x.feePaid); err != nil {
			rows.Close()
			return nil, err
		}
		bs = append(bs, x)
	}
	rows.Close()
	out := map[billOfMonth]openBill{}
	for _, x := range bs {
		fee := feeSince(x.due, x.accruedTo, money.Fen(x.total-x.paid), daily, paidOn)
		if fee > 0 {
			if _, err := tx.ExecContext(ctx, "UPDATE bills SET fee_accrued = fee_accrued + $1, fee_accrued_to = $2 WHERE id = $3",
				int64(fee), db.FormatTime(paidOn), x.id); err != nil {
				return nil, err
			}
		}
		o := Owed{Month: period.Month(x.month), Supplement: x.supplement, Principal: money.Fen(x.total - x.paid), Fee: money.Fen(x.accrued) + fee - money.Fen(x.feePaid)}
		if o.Principal > 0 || o.Fee > 0 {
			out[o.billOf()] = openBill{id: x.id, owed: o}
		}
	}
	return out, nil
}

// creditAccounts credits the personal accounts of a bill's persons once its contributions are paid
// in full: the pension and medical funds hand each person their personal-account share.
func (s *Service) creditAccounts(ctx context.Context, tx *db.Tx, region string, billID int64) error {
	var total, paid int64
	var done bool
	if err := tx.QueryRowContext(ctx, "SELECT total, paid, accounts_credited FROM bills WHERE id = $1", billID).Scan(&total, &paid, &done); err != nil {
		return err
	}
	if done || paid < total {
		return nil
	}
	var shares []share
	if err := db.EachRow(ctx, tx, func(scan func(...any) error) error {
		var s share
		err := scan(&s.person, &s.pension, &s.medical)
		shares = append(shares, s)
		return err
	}, "SELECT person_id, to_pension_account, to_medical_account FROM contribution_lines WHERE bill_id = $1 ORDER BY person_id", billID); err != nil {
		return err
	}
	if ps := accountsPostings(region, shares); len(ps) >= 2 {
		key := accountsKey(billID)
		if _, err := ledger.Post(ctx, tx, ledger.Entry{IdemKey: key, Region: region, Cause: causeAccounts, CauseRef: key, Postings: ps}); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, "UPDATE bills SET accounts_credited = TRUE WHERE id = $1", billID)
	return err
}

// causeAccounts is the cause of the entry that credits a paid bill's personal accounts, keyed by
// accountsKey.
const causeAccounts = "personal_accounts"

const accountsKeyPrefix = "accounts:bill:"

func accountsKey(billID int64) string { return accountsKeyPrefix + strconv.FormatInt(billID, 10) }

// share is one line's part for the person's own accounts.
type share struct {
	person           int64
	pension, medical money.Fen
}

// accountsPostings credits each person their lines' personal-account shares, from the pension and
// medical funds.
func accountsPostings(region string, shares []share) []ledger.Posting {
	var ps []ledger.Posting
	var pension, medical money.Fen
	for _, s := range shares {
		if s.pension > 0 {
			ps = append(ps, ledger.Posting{Account: ledger.PersonAccount(region, ledger.PersonPension, s.person), Amount: -s.pension})
			pension += s.pension
		}
		if s.medical > 0 {
			ps = append(ps, ledger.Posting{Account: ledger.PersonAccount(region, ledger.PersonMedical, s.person), Amount: -s.medical})
			medical += s.medical
		}
	}
	if pension > 0 {
		ps = append(ps, ledger.Posting{Account: ledger.FundAccount(region, "pension"), Amount: pension})
	}
	if medical > 0 {
		ps = append(ps, ledger.Posting{Account: ledger.FundAccount(region, "medical"), Amount: medical})
	}
	return ps
}
