package contrib

import (
	"context"
	"strconv"
	"strings"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
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
	Supplement int       // 0 for the month's own bill; 1, 2, … for a supplementary bill's difference
}

// Statement is what a resident sees of their contributions: the months and amounts, and the
// balances and movements of their personal accounts as the ledger holds them.
type Statement struct {
	From, To         period.Month // the months covered: whole calendar years
	Years            []int        // every year with a contribution line, newest first
	Older            int          // the newest year before From with a line; 0 if none
	Lines            []StatementLine
	PensionBalance   money.Fen // today's balances
	MedicalBalance   money.Fen
	PensionClosing   money.Fen // the balances at the end of To (today's, when To is this year)
	MedicalClosing   money.Fen
	PensionMovements []ledger.Movement // the movements dated from From to To, newest first
	MedicalMovements []ledger.Movement
	billMonth        map[int64]period.Month // the month of each bill the lines come from
}

// StatementQuery picks the calendar years a statement covers: Years of them (1 if 0), the newest
// Year (0: the latest year with a contribution line, this year if there is none).
type StatementQuery struct {
	Year, Years int
}

// MaxStatementYears bounds one statement: a page of ten years is a long history already.
const MaxStatementYears = 10

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

// Statement returns a person's contribution history, newest month first, and their personal
// accounts. A resident sees only their own; staff of the person's region any.
func (s *Service) Statement(ctx context.Context, by *auth.Principal, personID int64, q StatementQuery) (Statement, error) {
	if q.Years == 0 {
		q.Years = 1
	}
	if q.Years < 1 || q.Years > MaxStatementYears || q.Year < 0 || q.Year > 9999 {
		return Statement{}, errs.E(errs.Invalid, "a statement covers 1 to 10 calendar years")
	}
	r := s.db.R()
	var region string
	if err := r.QueryRowContext(ctx, "SELECT region FROM persons WHERE id = $1", personID).Scan(&region); err != nil {
		return Statement{}, errs.E(errs.NotFound, "no such person")
	}
	if by.Role == auth.Resident && by.PersonID != personID || by.Role != auth.Resident && (!by.Role.Staff() || !by.InRegion(region)) {
		return Statement{}, errs.E(errs.NotFound, "no such person")
	}
	st := Statement{billMonth: map[int64]period.Month{}}
	// The years with lines: one pass over the person's range of the table (the primary key leads
	// with person and month), a dozen entries a year. One statement costs less than a seek a year:
	// on SQLite each statement's round through the driver is most of a small query's time.
	if err := db.EachRow(ctx, r, func(scan func(...any) error) error {
		var y int
		err := scan(&y)
		st.Years = append(st.Years, y)
		return err
	}, "SELECT DISTINCT month / 100 FROM contribution_lines WHERE person_id = $1 ORDER BY 1 DESC", personID); err != nil {
		return Statement{}, err
	}
	year := q.Year
	if year == 0 {
		year = period.Today(s.now()).Year()
		if len(st.Years) > 0 {
			year = st.Years[0]
		}
	}
	st.To, st.From = period.Month(year*100+12), period.Month((year-q.Years+1)*100+1)
	for _, y := range st.Years {
		if y < st.From.Year() {
			st.Older = y
			break
		}
	}
	rows, err := r.QueryContext(ctx, `SELECT b.id, l.month, b.payer, l.base,
		l.pension_employer + l.medical_employer + l.unemployment_employer + l.work_injury_employer,
		l.pension_employee + l.medical_employee + l.unemployment_employee,
		l.to_pension_account, l.to_medical_account, b.accounts_credited, b.supplement
		FROM contribution_lines l JOIN bills b ON b.id = l.bill_id WHERE l.person_id = $1 AND l.month >= $2 AND l.month <= $3
		ORDER BY l.month DESC, b.payer, b.supplement`, personID, int(st.From), int(st.To))
	if err != nil {
		return Statement{}, err
	}
	for rows.Next() {
		var l StatementLine
		var billID int64
		var month int
		var base, er, ee, tp, tm int64
		if err := rows.Scan(&billID, &month, &l.Payer, &base, &er, &ee, &tp, &tm, &l.Settled, &l.Supplement); err != nil {
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
	from, to := st.From.First(), st.To.Add(1).First()
	for _, a := range []struct {
		kind             ledger.Kind
		balance, closing *money.Fen
		moves            *[]ledger.Movement
	}{{ledger.PersonPension, &st.PensionBalance, &st.PensionClosing, &st.PensionMovements},
		{ledger.PersonMedical, &st.MedicalBalance, &st.MedicalClosing, &st.MedicalMovements}} {
		code := ledger.PersonAccount(region, a.kind, personID)
		if *a.balance, err = ledger.Balance(ctx, r, code); err != nil {
			return Statement{}, err
		}
		*a.closing = *a.balance
		if !s.now().Before(to) {
			if *a.closing, err = ledger.BalanceAt(ctx, r, code, to); err != nil {
				return Statement{}, err
			}
		}
		// Every movement of the page's years: a page is bounded by its years (MaxStatementYears),
		// and a cut list would leave balances the page cannot explain.
		if *a.moves, err = ledger.MovementsBetween(ctx, r, code, from, to, 1<<30); err != nil {
			return Statement{}, err
		}
	}
	return st, nil
}
