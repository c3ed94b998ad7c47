package contrib

import (
	"context"
	"strings"
	"time"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
)

// Bill is one payer's bill for one month, with what is still owed as of today.
type Bill struct {
	ID         int64
	Month      period.Month
	Supplement int // 0 for the month's own bill; 1, 2, … for its supplementary bills (补缴)
	Persons    int
	Total      money.Fen // contributions billed
	Paid       money.Fen // contributions paid
	Due        time.Time
	FeeOwed    money.Fen // late fee still owed, accrued up to today
	DaysLate   int       // days past due while contributions are unpaid; 0 when paid or not yet due
	InArrears  bool      // past due with contributions unpaid
	FeeAccrued money.Fen // late fee accrued up to the last payment, paid or not
	FeePaid    money.Fen
}

// Owing is what a bill still asks for: contributions plus late fee.
func (b Bill) Owing() money.Fen { return b.Total - b.Paid + b.FeeOwed }

// Bills lists a payer's bills, newest month first, with the late fee brought up to today without
// storing it (the fee is stored when a payment fixes the day). Employers see their own, residents
// their own, staff of the region any.
func (s *Service) Bills(ctx context.Context, by *auth.Principal, payer string) ([]Bill, error) {
	return s.BillsPage(ctx, by, payer, BillKey{}, 0)
}

// BillKey is where a bill stands in a payer's list: by month, then supplement, newest first.
type BillKey struct {
	Month      period.Month // 0: before every bill
	Supplement int
}

// Key is the bill's place in the list, the cursor of the page it ends.
func (b Bill) Key() BillKey { return BillKey{Month: b.Month, Supplement: b.Supplement} }

// BillsPage is one page of Bills: at most limit (0: all) after the bill at after.
func (s *Service) BillsPage(ctx context.Context, by *auth.Principal, payer string, after BillKey, limit int) ([]Bill, error) {
	r := s.db.R()
	region, err := mayPay(ctx, r, by, payer)
	if err != nil {
		return nil, err
	}
	today := period.Today(s.now())
	v, err := s.policies.Effective(ctx, r, region, period.MonthOf(today))
	if err != nil {
		return nil, err
	}
	daily := policy.Rate(v.Policy.Contributions.LateFeeDaily)
	q := `SELECT id, month, supplement, persons, total, paid, due_date, fee_accrued, fee_accrued_to, fee_paid
		FROM bills WHERE payer = $1 AND ($2 = 0 OR month < $2 OR month = $2 AND supplement < $3) ORDER BY month DESC, supplement DESC`
	args := []any{payer, int(after.Month), after.Supplement}
	if limit > 0 {
		q += " LIMIT $4"
		args = append(args, limit)
	}
	rows, err := r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Bill
	for rows.Next() {
		var b Bill
		var month int
		var total, paid, accrued, feePaid int64
		var due, accruedTo string
		if err := rows.Scan(&b.ID, &month, &b.Supplement, &b.Persons, &total, &paid, &due, &accrued, &accruedTo, &feePaid); err != nil {
			return nil, err
		}
		b.Month, b.Total, b.Paid, b.FeeAccrued, b.FeePaid = period.Month(month), money.Fen(total), money.Fen(paid), money.Fen(accrued), money.Fen(feePaid)
		b.Due, _ = db.ParseTime(due)
		unpaid := b.Total - b.Paid
		if unpaid > 0 {
			b.DaysLate = DaysLate(b.Due, today)
			b.InArrears = b.DaysLate > 0
		}
		b.FeeOwed = b.FeeAccrued + feeSince(due, accruedTo, unpaid, daily, today) - b.FeePaid
		out = append(out, b)
	}
	return out, rows.Err()
}

// PayerOf names the payer a caller means: an employer by its unified social credit code, a person
// by their ID number (the natural keys an integrator holds, as a clerk types them at the window),
// either with its kind before it ("employer:<USCC>", "person:<ID number>"), or the payer as bills
// name it ("employer:12").
func (s *Service) PayerOf(ctx context.Context, q string) (string, error) {
	q = strings.TrimSpace(q)
	kind, key, named := strings.Cut(q, ":")
	if named {
		kind = strings.ToLower(kind)
		if payer := kind + ":" + key; kind == "employer" || kind == "person" {
			if _, _, err := ParsePayer(payer); err == nil {
				return payer, nil
			}
		}
	} else {
		key = q
	}
	key = strings.ToUpper(key)
	var id int64
	if !named || kind == "employer" {
		if err := s.db.R().QueryRowContext(ctx, "SELECT id FROM employers WHERE uscc = $1", key).Scan(&id); err == nil {
			return EmployerPayer(id), nil
		}
	}
	if !named || kind == "person" {
		if err := s.db.R().QueryRowContext(ctx, "SELECT id FROM persons WHERE id_number = $1", key).Scan(&id); err == nil {
			return PersonPayer(id), nil
		}
	}
	return "", errs.Field("payer", "no employer with this credit code and no person with this ID number")
}

// PaymentRecord is a payment as the payer and the bureau see it afterwards.
type PaymentRecord struct {
	ID          int64
	Reference   string // the idempotency key: the bank's or the counter's own reference
	Amount      money.Fen
	PaidOn      time.Time
	RecordedAt  time.Time
	Allocations []Allocation // oldest month first
}

// Payments lists a payer's payments, newest first, at most limit of them, each with the months it
// paid. The same people see them as see the payer's bills.
func (s *Service) Payments(ctx context.Context, by *auth.Principal, payer string, limit int) ([]PaymentRecord, error) {
	return s.PaymentsPage(ctx, by, payer, PaymentKey{}, limit)
}

// PaymentKey is where a payment stands in a payer's list: by the day paid, then id, newest first.
type PaymentKey struct {
	PaidOn time.Time
	ID     int64 // 0: before every payment
}

// Key is the payment's place in the list, the cursor of the page it ends.
func (p PaymentRecord) Key() PaymentKey { return PaymentKey{PaidOn: p.PaidOn, ID: p.ID} }

// PaymentsPage is one page of Payments: at most limit after the payment at after.
func (s *Service) PaymentsPage(ctx context.Context, by *auth.Principal, payer string, after PaymentKey, limit int) ([]PaymentRecord, error) {
	r := s.db.R()
	if _, err := mayPay(ctx, r, by, payer); err != nil {
		return nil, err
	}
	var out []PaymentRecord
	index := map[int64]int{}
	const latest = `SELECT id FROM payments WHERE payer = $1 AND ($4 = 0 OR paid_on < $3 OR paid_on = $3 AND id < $4)
		ORDER BY paid_on DESC, id DESC LIMIT $2`
	paidOn := ""
	if after.ID != 0 {
		paidOn = after.PaidOn.Format("2006-01-02")
	}
	err := s.db.Read(ctx, func(tx *db.Tx) error {
		if err := db.EachRow(ctx, tx, func(scan func(...any) error) error {
			var p PaymentRecord
			var amount int64
			var paidOn, at string
			if err := scan(&p.ID, &p.Reference, &amount, &paidOn, &at); err != nil {
				return err
			}
			p.Amount = money.Fen(amount)
			p.PaidOn, _ = period.ParseDate(paidOn)
			p.RecordedAt, _ = db.ParseTime(at)
			index[p.ID] = len(out)
			out = append(out, p)
			return nil
		}, `SELECT id, idem_key, amount, paid_on, recorded_at FROM payments WHERE id IN (`+latest+`) ORDER BY paid_on DESC, id DESC`,
			payer, limit, paidOn, after.ID); err != nil {
			return err
		}
		return db.EachRow(ctx, tx, func(scan func(...any) error) error {
			var id, principal, fee int64
			var month, supplement int
			if err := scan(&id, &month, &supplement, &principal, &fee); err != nil {
				return err
			}
			i := index[id]
			out[i].Allocations = append(out[i].Allocations, Allocation{Month: period.Month(month), Supplement: supplement,
				Principal: money.Fen(principal), Fee: money.Fen(fee)})
			return nil
		}, `SELECT a.payment_id, b.month, b.supplement, a.principal, a.fee FROM payment_allocations a JOIN bills b ON b.id = a.bill_id
			WHERE a.payment_id IN (`+latest+`) ORDER BY a.payment_id, b.month, b.supplement`, payer, limit, paidOn, after.ID)
	})
	return out, err
}
