package contrib

import (
	"context"
	"strconv"
	"strings"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
)

// StatementLine is one month of a person's contributions under one payer.
type StatementLine struct {
	Month      period.Month
	Payer      string
	PayerName  string // the employer's name; "" for the person's own (flexible) bill
	Base       money.Fen
	ByEmployer money.Fen // the employer's parts of every insurance
	ByPerson   money.Fen // the person's own parts
	ToPension  money.Fen // what goes to the personal pension account
	ToMedical  money.Fen // what goes to the personal medical account
	Settled    bool      // the bill is paid and the shares are in the accounts
}

// Statement is what a resident sees of their contributions: the months and amounts, and the
// balances and movements of their personal accounts as the ledger holds them.
type Statement struct {
	Lines            []StatementLine
	PensionBalance   money.Fen
	MedicalBalance   money.Fen
	PensionMovements []ledger.Movement
	MedicalMovements []ledger.Movement
	billMonth        map[int64]period.Month // the month of each bill the lines come from
}

// MonthOf is the contribution month a movement is for: the month of the bill whose payment
// credited it, or 0 for a movement that is not a crediting (a settlement paid from the account, a
// refund).
func (st Statement) MonthOf(m ledger.Movement) period.Month {
	id, ok := strings.CutPrefix(m.CauseRef, accountsKeyPrefix)
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return 0
	}
	return st.billMonth[n]
}

// StatementMovements is how many of each personal account's latest movements a statement lists.
const StatementMovements = 60

// Statement returns a person's contribution history, newest month first, and their personal
// accounts. A resident sees only their own; staff of the person's region any.
func (s *Service) Statement(ctx context.Context, by *auth.Principal, personID int64) (Statement, error) {
	r := s.db.R()
	var region string
	if err := r.QueryRowContext(ctx, "SELECT region FROM persons WHERE id = $1", personID).Scan(&region); err != nil {
		return Statement{}, errs.E(errs.NotFound, "no such person")
	}
	if by.Role == auth.Resident && by.PersonID != personID || by.Role != auth.Resident && (!by.Role.Staff() || !by.InRegion(region)) {
		return Statement{}, errs.E(errs.NotFound, "no such person")
	}
	rows, err := r.QueryContext(ctx, `SELECT b.id, l.month, b.payer, l.base,
		l.pension_employer + l.medical_employer + l.unemployment_employer + l.work_injury_employer,
		l.pension_employee + l.medical_employee + l.unemployment_employee,
		l.to_pension_account, l.to_medical_account, b.accounts_credited
		FROM contribution_lines l JOIN bills b ON b.id = l.bill_id WHERE l.person_id = $1 ORDER BY l.month DESC, b.payer`, personID)
	if err != nil {
		return Statement{}, err
	}
	st := Statement{billMonth: map[int64]period.Month{}}
	for rows.Next() {
		var l StatementLine
		var billID int64
		var month int
		var base, er, ee, tp, tm int64
		if err := rows.Scan(&billID, &month, &l.Payer, &base, &er, &ee, &tp, &tm, &l.Settled); err != nil {
			rows.Close()
			return Statement{}, err
		}
		l.Month, l.Base, l.ByEmployer, l.ByPerson, l.ToPension, l.ToMedical = period.Month(month), money.Fen(base), money.Fen(er), money.Fen(ee), money.Fen(tp), money.Fen(tm)
		st.Lines = append(st.Lines, l)
		st.billMonth[billID] = l.Month
	}
	rows.Close()
	names := map[string]string{}
	for i, l := range st.Lines {
		kind, id, _ := ParsePayer(l.Payer)
		if kind != "employer" {
			continue
		}
		name, ok := names[l.Payer]
		if !ok {
			if err := r.QueryRowContext(ctx, "SELECT name FROM employers WHERE id = $1", id).Scan(&name); err != nil {
				return Statement{}, err
			}
			names[l.Payer] = name
		}
		st.Lines[i].PayerName = name
	}
	pension, medical := ledger.PersonAccount(region, ledger.PersonPension, personID), ledger.PersonAccount(region, ledger.PersonMedical, personID)
	if st.PensionBalance, err = ledger.Balance(ctx, r, pension); err != nil {
		return Statement{}, err
	}
	if st.MedicalBalance, err = ledger.Balance(ctx, r, medical); err != nil {
		return Statement{}, err
	}
	if st.PensionMovements, err = ledger.Movements(ctx, r, pension, StatementMovements); err != nil {
		return Statement{}, err
	}
	if st.MedicalMovements, err = ledger.Movements(ctx, r, medical, StatementMovements); err != nil {
		return Statement{}, err
	}
	return st, nil
}
