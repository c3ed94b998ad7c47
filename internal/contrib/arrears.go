package contrib

import (
	"time"

	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
)

// DueDate is when a month's contributions fall due: the policy's due day of the following month.
func DueDate(m period.Month, dueDay int) time.Time {
	next := m.Add(1)
	return time.Date(next.Year(), time.Month(next.MonthOfYear()), dueDay, 0, 0, 0, 0, time.UTC)
}

// DaysLate counts the days from the due date to the day of payment (calendar dates; paying on the
// due date is not late). Leap days count like any other.
func DaysLate(due, paid time.Time) int {
	d := int(paid.Sub(due).Hours() / 24)
	return max(d, 0)
}

// LateFee is the late fee on an unpaid amount for a number of days at the daily rate
// (Social Insurance Law Art. 86: 0.05 % a day), rounded once.
func LateFee(unpaid money.Fen, daily money.Rate, days int) money.Fen {
	if unpaid <= 0 || days <= 0 {
		return 0
	}
	return money.ApplyDays(unpaid, daily, days)
}

// Owed is what is open for one month of one bill.
type Owed struct {
	Month      period.Month
	Supplement int       // 0 for the month's own bill, 1, 2, … for its supplementary bills
	Principal  money.Fen // contributions not yet paid
	Fee        money.Fen // late fee accrued and not yet paid
}

// Allocation is how much of a payment went to a month.
type Allocation struct {
	Month      period.Month
	Supplement int
	Principal  money.Fen
	Fee        money.Fen
}

// Allocate spreads a payment over open months, the oldest first (a month's own bill before its
// supplements, in the order they were made). Within a month the contributions
// are paid before the late fee, because the fee accrues only on unpaid contributions: paying them
// first stops the fee growing. What is left over after every month is paid is returned as excess.
func Allocate(payment money.Fen, open []Owed) (allocs []Allocation, excess money.Fen) {
	left := payment
	for _, o := range sortedByMonth(open) {
		if left == 0 {
			break
		}
		a := Allocation{Month: o.Month, Supplement: o.Supplement}
		a.Principal = min(left, o.Principal)
		left -= a.Principal
		a.Fee = min(left, o.Fee)
		left -= a.Fee
		if a.Principal > 0 || a.Fee > 0 {
			allocs = append(allocs, a)
		}
	}
	return allocs, left
}

func sortedByMonth(o []Owed) []Owed {
	out := append([]Owed(nil), o...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].billOf().before(out[j-1].billOf()); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// billOf names the bill something owed is of.
func (o Owed) billOf() billOfMonth { return billOfMonth{o.Month, o.Supplement} }

// billOfMonth names one bill of a payer: its month and its place among the month's bills.
type billOfMonth struct {
	month      period.Month
	supplement int
}

func (a billOfMonth) before(b billOfMonth) bool {
	return a.month < b.month || a.month == b.month && a.supplement < b.supplement
}

// feeSince is the late fee a bill adds from where it stands up to day: on its unpaid contributions,
// counted from the due date or from the day its fee was last brought up to date, whichever is later
// (both stored as times; accruedTo is "" before the first accrual). Payments fix the fee with it; the
// bills page shows it to today without storing it.
func feeSince(due, accruedTo string, unpaid money.Fen, daily money.Rate, day time.Time) money.Fen {
	from, _ := db.ParseTime(due)
	if accruedTo != "" {
		if t, err := db.ParseTime(accruedTo); err == nil && t.After(from) {
			from = t
		}
	}
	return LateFee(unpaid, daily, DaysLate(from, day))
}
