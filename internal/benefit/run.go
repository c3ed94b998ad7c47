package benefit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
)

// The monthly benefit run (`shebao benefits run --month YYYYMM`, and the administrator's page).
//
// For a month it takes every approved claim due that month, a batch of claims a transaction, and
// for each: a person enrolled again by an employer (or started on a pension, which ends the claim
// at the window) is paid no more from that month, the months left carrying over; otherwise the
// month is paid to the bank account of the person's active social security card with its bank
// function, or held with the reason when there is none. Held months of earlier runs are paid by a
// later run once the card is there. A month's row (region, claim, month) is written in the same
// transaction as its ledger entry, so a run killed at any point and run again pays every month
// exactly once.

// RunReport counts what a run did.
type RunReport struct {
	Month       period.Month
	Claims      int // claims looked at
	Paid        int // months paid (this month's and held ones)
	Held        int // months held for want of a card
	Ended       int // claims ended by re-employment
	Completed   int // claims whose every month is drawn
	PaidAmount  money.Fen
	MedicalPaid money.Fen // medical contributions the unemployment fund paid
}

// runBatch bounds the claims one transaction carries.
const runBatch = 200

// ErrRunFuture refuses a month that has not begun.
var ErrRunFuture = errs.Field("month", "a month is paid once it has begun")

// Run pays a region's month. It is safe to kill and run again.
func (s *Service) Run(ctx context.Context, who audit.Actor, region string, month period.Month) (RunReport, error) {
	rep := RunReport{Month: month}
	if month > period.MonthOf(s.now()) {
		return rep, ErrRunFuture
	}
	pol, rules, err := s.rules(ctx, s.db.R(), region, month)
	if err != nil {
		return rep, err
	}
	medical := medicalContribution(pol)
	if err := s.db.Write(ctx, func(tx *db.Tx) error {
		now := db.FormatTime(tx.Now)
		_, err := tx.ExecContext(ctx, `INSERT INTO benefit_runs(region, month, started_by, started_at, beat_at) VALUES($1, $2, $3, $4, $4)
			ON CONFLICT (region, month) DO UPDATE SET beat_at = excluded.beat_at, finished_at = ''`, region, int(month), who.Name, now)
		return err
	}); err != nil {
		return rep, fmt.Errorf("benefit: start run: %w", err)
	}
	// Claims by id, a batch at a time: each transaction takes the next claims after the last one
	// it saw, so a run resumed after a kill skips nothing and pays nothing twice.
	var after int64
	for {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		var batch []Claim
		err := db.EachRow(ctx, s.db.R(), func(scan func(...any) error) error {
			c, err := scanClaim(scanRow(scan))
			batch = append(batch, c)
			return err
		}, "SELECT "+claimColumns+` FROM unemployment_claims c WHERE region = $1 AND id > $2 AND (status = 'approved'
			OR status IN ('ended', 'completed') AND EXISTS (SELECT 1 FROM benefit_payments p WHERE p.region = c.region AND p.claim_id = c.id AND p.status = 'held'))
			AND start_month <= $3 ORDER BY id LIMIT $4`, region, after, int(month), runBatch)
		if err != nil {
			return rep, fmt.Errorf("benefit: run: %w", err)
		}
		if len(batch) == 0 {
			break
		}
		after = batch[len(batch)-1].ID
		var part RunReport
		err = s.db.Write(ctx, func(tx *db.Tx) error {
			part = RunReport{}
			for i := range batch {
				// Read again under lock: a clerk may have ended the claim since the batch was listed.
				c, err := loadClaim(ctx, tx, region, batch[i].ID, tx.ForUpdate())
				if err != nil {
					return err
				}
				if err := s.payClaim(ctx, tx, who, &c, month, rules, medical, &part); err != nil {
					return fmt.Errorf("claim %d: %w", batch[i].ID, err)
				}
			}
			_, err := tx.ExecContext(ctx, "UPDATE benefit_runs SET beat_at = $1, paid = paid + $2, held = held + $3, ended = ended + $4 WHERE region = $5 AND month = $6",
				db.FormatTime(tx.Now), part.Paid, part.Held, part.Ended, region, int(month))
			return err
		})
		if err != nil {
			return rep, fmt.Errorf("benefit: run: %w", err)
		}
		rep.Claims += len(batch)
		rep.Paid, rep.Held, rep.Ended, rep.Completed = rep.Paid+part.Paid, rep.Held+part.Held, rep.Ended+part.Ended, rep.Completed+part.Completed
		rep.PaidAmount, rep.MedicalPaid = rep.PaidAmount+part.PaidAmount, rep.MedicalPaid+part.MedicalPaid
	}
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE benefit_runs SET finished_at = $1, beat_at = $1 WHERE region = $2 AND month = $3", db.FormatTime(tx.Now), region, int(month)); err != nil {
			return err
		}
		return audit.Record(ctx, tx, who, "benefit.run", fmt.Sprintf("benefit_run:%s:%s", region, month), region,
			map[string]any{"paid": rep.Paid, "held": rep.Held, "ended": rep.Ended, "amount": rep.PaidAmount.String()})
	})
	return rep, err
}

// medicalShare is a month's medical insurance contribution while drawing benefit: on the base
// floor, both parties' rates, the employee's share to the personal account as for any employee.
type medicalShare struct{ pool, account money.Fen }

func medicalContribution(p *policy.Policy) medicalShare {
	a := contrib.Assess(contrib.Compile(&p.Contributions), contrib.Subject{Declared: 0, Insurances: []policy.Insurance{policy.Medical}})
	var ms medicalShare
	for _, l := range a.Lines {
		ms.account += l.ToAccount
		ms.pool += l.Amount - l.ToAccount
	}
	return ms
}

// payClaim decides a claim for month in tx: held months first, then the month itself.
func (s *Service) payClaim(ctx context.Context, tx *db.Tx, who audit.Actor, c *Claim, month period.Month, rules *policy.BenefitRules,
	medical medicalShare, rep *RunReport) error {
	// Held months of earlier runs: paid now if the card is there.
	var held []period.Month
	if err := db.EachRow(ctx, tx, func(scan func(...any) error) error {
		var m int
		if err := scan(&m); err != nil {
			return err
		}
		held = append(held, period.Month(m))
		return nil
	}, "SELECT month FROM benefit_payments WHERE region = $1 AND claim_id = $2 AND status = 'held' AND month < $3 ORDER BY month", c.Region, c.ID, int(month)); err != nil {
		return err
	}
	bank, hasCard, err := card.BankCardOf(ctx, tx, c.PersonID, tx.Now)
	if err != nil {
		return err
	}
	for _, m := range held {
		if hasCard {
			if err := s.pay(ctx, tx, c, m, bank, medical, true, rep); err != nil {
				return err
			}
		}
	}
	if c.Status != Approved || month < c.StartMonth {
		return nil
	}
	// One read: whether an earlier, interrupted run decided this month, and how many months
	// (paid or held) count against the claim's total so far.
	var decided, exists int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN month = $3 THEN 1 ELSE 0 END), 0) FROM benefit_payments
		WHERE region = $1 AND claim_id = $2`, c.Region, c.ID, int(month)).Scan(&decided, &exists); err != nil {
		return err
	}
	if exists > 0 {
		return nil // decided by an earlier, interrupted run
	}
	if decided >= c.TotalMonths {
		if _, err := tx.ExecContext(ctx, "UPDATE unemployment_claims SET status = $1 WHERE region = $2 AND id = $3 AND status = 'approved'", Completed, c.Region, c.ID); err != nil {
			return err
		}
		if err := registry.CloseClaimMedical(ctx, tx, c.PersonID, c.source(), month.Add(-1), "benefit completed"); err != nil {
			return err
		}
		c.Status = Completed
		rep.Completed++
		return nil
	}
	// Art. 51: enrolled again by an employer, the benefit stops from that month.
	if employed, err := registry.EmployedIn(ctx, tx, c.PersonID, month); err != nil {
		return err
	} else if employed {
		rep.Ended++
		return endClaim(ctx, tx, who, c, month, "re-employed")
	}
	if !hasCard {
		if _, err := tx.ExecContext(ctx, `INSERT INTO benefit_payments(region, claim_id, month, person_id, amount, status, reason, decided_at)
			VALUES($1, $2, $3, $4, $5, 'held', $6, $7)`, c.Region, c.ID, int(month), c.PersonID, int64(c.MonthlyAmount), reasonNoCard, db.FormatTime(tx.Now)); err != nil {
			return err
		}
		rep.Held++
		return audit.Record(ctx, tx, who, "benefit.hold", claimObject(c.Region, c.ID), c.Region, map[string]string{"month": month.String(), "reason": reasonNoCard})
	}
	return s.pay(ctx, tx, c, month, bank, medical, false, rep)
}

// reasonNoCard is why a month is held, as the person reads it (the portal translates the code).
const reasonNoCard = "no_bank_card"

// pay pays one month of a claim: the benefit to the card's bank account, and the month's medical
// contribution from the unemployment fund, in one ledger entry with the payment's row.
func (s *Service) pay(ctx context.Context, tx *db.Tx, c *Claim, m period.Month, bank card.BankCard, medical medicalShare, wasHeld bool, rep *RunReport) error {
	ps := []ledger.Posting{
		{Account: ledger.FundAccount(c.Region, string(policy.Unemployment)), Amount: c.MonthlyAmount + medical.pool + medical.account},
		{Account: ledger.ClearingAccount(c.Region), Amount: -c.MonthlyAmount},
	}
	if medical.pool > 0 {
		ps = append(ps, ledger.Posting{Account: ledger.FundAccount(c.Region, string(policy.Medical)), Amount: -medical.pool})
	}
	if medical.account > 0 {
		ps = append(ps, ledger.Posting{Account: ledger.PersonAccount(c.Region, ledger.PersonMedical, c.PersonID), Amount: -medical.account})
	}
	res, err := ledger.Post(ctx, tx, ledger.Entry{IdemKey: fmt.Sprintf("benefit:%s:%d:%s", c.Region, c.ID, m), Region: c.Region, Cause: causeBenefit,
		CauseRef: fmt.Sprintf("claim:%d:%s", c.ID, m), Postings: ps})
	if err != nil {
		return err
	}
	now := db.FormatTime(tx.Now)
	if wasHeld {
		r, err := tx.ExecContext(ctx, `UPDATE benefit_payments SET status = 'paid', reason = '', card_ref = $1, bank_account = $2, medical_pool = $3,
			medical_account = $4, entry_id = $5, paid_at = $6 WHERE region = $7 AND claim_id = $8 AND month = $9 AND status = 'held'`,
			bank.CardNumber, bank.BankAccount, int64(medical.pool), int64(medical.account), res.EntryID, now, c.Region, c.ID, int(m))
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n != 1 {
			return errors.New("a held month changed under the run")
		}
	} else if _, err := tx.ExecContext(ctx, `INSERT INTO benefit_payments(region, claim_id, month, person_id, amount, status, card_ref, bank_account,
		medical_pool, medical_account, entry_id, decided_at, paid_at) VALUES($1, $2, $3, $4, $5, 'paid', $6, $7, $8, $9, $10, $11, $11)`,
		c.Region, c.ID, int(m), c.PersonID, int64(c.MonthlyAmount), bank.CardNumber, bank.BankAccount, int64(medical.pool), int64(medical.account), res.EntryID, now); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE unemployment_claims SET drawn_months = drawn_months + 1 WHERE region = $1 AND id = $2", c.Region, c.ID); err != nil {
		return err
	}
	c.DrawnMonths++
	rep.Paid++
	rep.PaidAmount += c.MonthlyAmount
	rep.MedicalPaid += medical.pool + medical.account
	return audit.Record(ctx, tx, audit.System, "benefit.pay", claimObject(c.Region, c.ID), c.Region,
		map[string]string{"month": m.String(), "amount": c.MonthlyAmount.String(), "card": bank.CardNumber})
}

const causeBenefit = "benefit"

// Payment is one month of a claim as the person and the bureau see it.
type Payment struct {
	ClaimID     int64
	Month       period.Month
	Amount      money.Fen
	Status      string // "paid" or "held"
	Reason      string // why it is held
	CardNumber  string
	MedicalPaid money.Fen
	PaidAt      time.Time
}

// Payments lists a claim's months.
func (s *Service) Payments(ctx context.Context, by *auth.Principal, region string, claimID int64) ([]Payment, error) {
	return s.PaymentsPage(ctx, by, region, claimID, 0, 0)
}

// PaymentsPage is one page of Payments: at most limit months (0: all) after the month after, oldest
// first.
func (s *Service) PaymentsPage(ctx context.Context, by *auth.Principal, region string, claimID int64, after period.Month, limit int) ([]Payment, error) {
	if _, err := s.Claim(ctx, by, region, claimID); err != nil {
		return nil, err
	}
	q := `SELECT claim_id, month, amount, status, reason, card_ref, medical_pool, medical_account, paid_at FROM benefit_payments
		WHERE region = $1 AND claim_id = $2 AND month > $3 ORDER BY month`
	args := []any{region, claimID, int(after)}
	if limit > 0 {
		q += " LIMIT $4"
		args = append(args, limit)
	}
	var out []Payment
	err := db.EachRow(ctx, s.db.R(), func(scan func(...any) error) error {
		var p Payment
		var m int
		var amt, mp, ma int64
		var paid string
		if err := scan(&p.ClaimID, &m, &amt, &p.Status, &p.Reason, &p.CardNumber, &mp, &ma, &paid); err != nil {
			return err
		}
		p.Month, p.Amount, p.MedicalPaid = period.Month(m), money.Fen(amt), money.Fen(mp+ma)
		if paid != "" {
			p.PaidAt, _ = db.ParseTime(paid)
		}
		out = append(out, p)
		return nil
	}, q, args...)
	return out, err
}
