package transfer

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
)

// compute is what moves from region from to region to for a person, from from's records alone:
// the months paid there (lines of bills paid in full) and those it took over by earlier transfers,
// the pension bases of those months, and the personal accounts' balances.
func compute(ctx context.Context, tx *db.Tx, from, to string, personID int64, now time.Time) (Amounts, error) {
	a := Amounts{pensionBases: map[period.Month]money.Fen{}}
	var gender, birth, hukou, idNumber string
	if err := tx.QueryRowContext(ctx, "SELECT gender, birth_date, hukou_type, id_number FROM persons WHERE id = $1", personID).
		Scan(&gender, &birth, &hukou, &idNumber); err != nil {
		return a, fmt.Errorf("transfer: person: %w", err)
	}
	a.Temporary = temporaryAccount(gender, birth, hukou, idNumber, from, to, now)

	medical, unemployment := map[period.Month]bool{}, map[period.Month]bool{}
	if err := db.EachRow(ctx, tx, func(scan func(...any) error) error {
		var month int
		var base, pension, med, unemp int64
		if err := scan(&month, &base, &pension, &med, &unemp); err != nil {
			return err
		}
		m := period.Month(month)
		if pension > 0 {
			a.pensionBases[m] += money.Fen(base)
		}
		if med > 0 {
			medical[m] = true
		}
		if unemp > 0 {
			unemployment[m] = true
		}
		return nil
	}, `SELECT l.month, SUM(l.base), SUM(l.pension_employer + l.pension_employee), SUM(l.medical_employer + l.medical_employee),
		SUM(l.unemployment_employer + l.unemployment_employee)
		FROM contribution_lines l JOIN bills b ON b.id = l.bill_id
		WHERE l.person_id = $1 AND b.region = $2 AND b.paid >= b.total GROUP BY l.month`, personID, from); err != nil {
		return a, fmt.Errorf("transfer: months paid: %w", err)
	}
	if err := db.EachRow(ctx, tx, func(scan func(...any) error) error {
		var ins string
		var month int
		var base int64
		if err := scan(&ins, &month, &base); err != nil {
			return err
		}
		m := period.Month(month)
		switch ins {
		case "pension":
			if _, paid := a.pensionBases[m]; !paid {
				a.pensionBases[m] = money.Fen(base)
			}
		case "medical":
			medical[m] = true
		case "unemployment":
			unemployment[m] = true
		}
		return nil
	}, "SELECT insurance, month, base FROM transferred_months WHERE region = $1 AND person_id = $2", from, personID); err != nil {
		return a, fmt.Errorf("transfer: months taken over: %w", err)
	}
	a.MedicalMonths = slices.Sorted(maps.Keys(medical))
	a.UnemploymentMonths = slices.Sorted(maps.Keys(unemployment))
	var err error
	if a.MedicalAccount, err = ledger.Balance(ctx, tx, ledger.PersonAccount(from, ledger.PersonMedical, personID)); err != nil {
		return a, err
	}
	if a.Temporary {
		// The pension relation stays where it is: nothing of it moves.
		a.pensionBases = map[period.Month]money.Fen{}
		return a, nil
	}
	a.PensionMonths = slices.Sorted(maps.Keys(a.pensionBases))
	a.PooledBases, a.PensionPooled = Pooled(a.pensionBases)
	if a.PensionAccount, err = ledger.Balance(ctx, tx, ledger.PersonAccount(from, ledger.PersonPension, personID)); err != nil {
		return a, err
	}
	return a, nil
}

// Pooled is the pooled part of a pension transfer: 12 % of each month's base from January 1998,
// each month rounded once, half up; and the sum of those bases.
func Pooled(bases map[period.Month]money.Fen) (sum, pooled money.Fen) {
	for m, b := range bases {
		if m < PooledFrom || b <= 0 {
			continue
		}
		sum += b
		pooled += money.Apply(b, PooledRate)
	}
	return sum, pooled
}

// temporaryAccount is the rule of 66号 art. 6: a man of 50 or more, or a woman of 40 or more, who
// moves to a province other than that of their household registration keeps the pension relation
// at the old place. The province is the first two digits of a region's code.
func temporaryAccount(gender, birth, hukou, idNumber, from, to string, now time.Time) bool {
	b, err := period.ParseDate(birth)
	if err != nil {
		return false
	}
	today := period.Today(now)
	age := today.Year() - b.Year()
	if today.Month() < b.Month() || today.Month() == b.Month() && today.Day() < b.Day() {
		age--
	}
	if !(gender == "male" && age >= 50 || gender == "female" && age >= 40) {
		return false
	}
	home := idNumber[:2]
	if hukou == "local" {
		home = from[:2]
	}
	return to[:2] != home
}

// postOut empties the sending region's accounts into its transfer clearing account: what is owed to
// the receiving region until the remittance.
func postOut(ctx context.Context, tx *db.Tx, from, to, no string, personID int64, a Amounts) error {
	var ps []ledger.Posting
	add := func(account string, amount money.Fen) {
		if amount != 0 {
			ps = append(ps, ledger.Posting{Account: account, Amount: amount})
		}
	}
	add(ledger.PersonAccount(from, ledger.PersonPension, personID), a.PensionAccount)
	add(ledger.FundAccount(from, "pension"), a.PensionPooled)
	add(ledger.PersonAccount(from, ledger.PersonMedical, personID), a.MedicalAccount)
	if len(ps) == 0 {
		return nil
	}
	add(ledger.TransferAccount(from, to), -a.Total())
	return post(ctx, tx, from, no, "out", ps)
}

// postIn credits the receiving region's accounts from its transfer clearing account: what the
// sending region owes it until the remittance arrives.
func postIn(ctx context.Context, tx *db.Tx, to, from, no string, personID int64, a Amounts) error {
	var ps []ledger.Posting
	add := func(account string, amount money.Fen) {
		if amount != 0 {
			ps = append(ps, ledger.Posting{Account: account, Amount: amount})
		}
	}
	add(ledger.PersonAccount(to, ledger.PersonPension, personID), -a.PensionAccount)
	add(ledger.FundAccount(to, "pension"), -a.PensionPooled)
	add(ledger.PersonAccount(to, ledger.PersonMedical, personID), -a.MedicalAccount)
	if len(ps) == 0 {
		return nil
	}
	add(ledger.TransferAccount(to, from), a.Total())
	return post(ctx, tx, to, no, "in", ps)
}

// postRemittance moves the money between a region's transfer clearing account and its bank: the
// sender pays out (amount < 0 at the bank), the receiver takes it in.
func postRemittance(ctx context.Context, tx *db.Tx, region, other, no, step string, bank money.Fen) error {
	if bank == 0 {
		return nil
	}
	return post(ctx, tx, region, no, step, []ledger.Posting{
		{Account: ledger.ClearingAccount(region), Amount: bank},
		{Account: ledger.TransferAccount(region, other), Amount: -bank},
	})
}

// causeTransfer is the cause of a transfer's ledger entries, keyed "transfer:<no>:<step>".
const causeTransfer = "transfer"

func post(ctx context.Context, tx *db.Tx, region, no, step string, ps []ledger.Posting) error {
	key := "transfer:" + no + ":" + step
	_, err := ledger.Post(ctx, tx, ledger.Entry{IdemKey: key, Region: region, Cause: causeTransfer, CauseRef: "transfer:" + no, Postings: ps})
	return err
}
