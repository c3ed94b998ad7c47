// Package rights is the personal rights record (个人权益记录) of SPEC 3.7: the yearly statement a
// resident downloads as a PDF — their contributions month by month (paid in full, or still
// owed), the movements and balances of their personal pension and medical accounts over the year,
// their medical settlements and the benefits paid to them.
//
// It gathers what the capabilities already show the resident, through their own services and
// the principal's rights: contrib's statement (months and payers), the ledger's movements of the
// two personal accounts, settle's list of the person's settlements, benefit's claims and their
// months. It decides nothing and writes nothing. Unlike the certificate it is not signed: it is
// the person's own statement, not a proof for a third party (that is the certificate's job).
//
// It is printed in the certificate's embedded font, and a name the font cannot print is refused
// in the same way.
package rights

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/benefit"
	"github.com/shebao/shebao/internal/certificate"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
	"github.com/shebao/shebao/internal/settle"
)

// Month is one month's contribution under one payer.
type Month struct {
	Month      period.Month
	PayerName  string // "" for the person's own (flexible) bill
	Base       money.Fen
	ByEmployer money.Fen
	ByPerson   money.Fen
	Paid       bool // the bill is paid in full and the shares are in the accounts
}

// Account is a personal account over the year.
type Account struct {
	Opening   money.Fen // on 1 January
	Closing   money.Fen // on 31 December, or today for the year under way
	Movements []ledger.Movement
}

// Settlement is one medical settlement of the year.
type Settlement struct {
	Date        time.Time
	Institution string // its name
	Kind        string
	Total       money.Fen
	Pool        money.Fen
	Account     money.Fen
	Cash        money.Fen
	Refunded    bool
}

// Record is a person's personal rights record for one year.
type Record struct {
	Year               int
	Through            string // the last day the record covers, YYYY-MM-DD
	IssuedOn           string
	BureauZH, BureauEN string
	Name, IDMasked     string
	Months             []Month // oldest first
	Pension, Medical   Account
	Settlements        []Settlement // oldest first
	Benefits           []benefit.Payment
}

// Service gathers records.
type Service struct {
	db       *db.DB
	policies *policy.Store
	reg      *registry.Service
	contrib  *contrib.Service
	settle   *settle.Service
	benefit  *benefit.Service
}

// New returns the service.
func New(d *db.DB, p *policy.Store, r *registry.Service, c *contrib.Service, s *settle.Service, b *benefit.Service) *Service {
	return &Service{db: d, policies: p, reg: r, contrib: c, settle: s, benefit: b}
}

// Of is the resident's own record of year (a year from 1990 to this one).
func (s *Service) Of(ctx context.Context, by *auth.Principal, year int) (Record, error) {
	if by.Role != auth.Resident {
		return Record{}, errs.E(errs.Forbidden, "the personal rights record is the resident's own")
	}
	now := s.db.Now()
	today := period.Today(now)
	if year < 1990 || year > today.Year() {
		return Record{}, errs.Field("year", fmt.Sprintf("a year from 1990 to %d", today.Year()))
	}
	p, err := s.reg.Me(ctx, by)
	if err != nil {
		return Record{}, err
	}
	start := time.Date(year, 1, 1, 0, 0, 0, 0, period.Shanghai)
	end := start.AddDate(1, 0, 0) // exclusive
	through := end.AddDate(0, 0, -1)
	if year == today.Year() {
		through = today
	}
	rec := Record{Year: year, Through: through.Format("2006-01-02"), IssuedOn: today.Format("2006-01-02"), Name: p.Name, IDMasked: p.IDNumber.Masked()}
	if err := printable(p.Name); err != nil {
		return Record{}, err
	}
	v, err := s.policies.Effective(ctx, s.db.R(), p.Region, period.MonthOf(now))
	if err != nil {
		return Record{}, err
	}
	rec.BureauZH, rec.BureauEN = v.Policy.BureauName()

	st, err := s.contrib.Statement(ctx, by, p.ID, contrib.StatementQuery{Year: year})
	if err != nil {
		return Record{}, err
	}
	for _, l := range st.Lines {
		if err := printable(l.PayerName); err != nil {
			return Record{}, err
		}
		rec.Months = append(rec.Months, Month{Month: l.Month, PayerName: l.PayerName, Base: l.Base, ByEmployer: l.ByEmployer, ByPerson: l.ByPerson, Paid: l.Settled})
	}
	slices.Reverse(rec.Months)

	// Every movement of the year, as the statement of the year lists them; the
	// closing balance at the year's end is the statement's, the opening that less what moved in it.
	r := s.db.R()
	for _, a := range []struct {
		kind    ledger.Kind
		to      *Account
		closing money.Fen
	}{{ledger.PersonPension, &rec.Pension, st.PensionClosing}, {ledger.PersonMedical, &rec.Medical, st.MedicalClosing}} {
		in, err := ledger.MovementsBetween(ctx, r, ledger.PersonAccount(p.Region, a.kind, p.ID), start, end, 1<<30)
		if err != nil {
			return Record{}, err
		}
		opening := a.closing
		for _, m := range in {
			opening -= m.Amount
		}
		slices.Reverse(in)
		*a.to = Account{Opening: opening, Closing: a.closing, Movements: in}
	}

	names := map[string]string{}
	after := ""
	for {
		page, err := s.settle.List(ctx, by, settle.Query{From: start, To: through, After: after, Limit: settle.MaxList})
		if err != nil {
			return Record{}, err
		}
		for _, x := range page {
			name, ok := names[x.Institution]
			if !ok {
				if name, err = s.settle.InstitutionName(ctx, x.Institution); err != nil {
					return Record{}, err
				}
				if err := printable(name); err != nil {
					return Record{}, err
				}
				names[x.Institution] = name
			}
			rec.Settlements = append(rec.Settlements, Settlement{Date: x.Date, Institution: name, Kind: x.Kind, Total: x.Split.Total,
				Pool: x.Split.Pool, Account: x.Split.Account, Cash: x.Split.Cash, Refunded: x.Refunded()})
		}
		if len(page) < settle.MaxList {
			break
		}
		after = page[len(page)-1].ID
	}
	slices.Reverse(rec.Settlements)

	claims, err := s.benefit.MyClaims(ctx, by)
	if err != nil {
		return Record{}, err
	}
	for _, c := range claims {
		pays, err := s.benefit.Payments(ctx, by, c.Region, c.ID)
		if err != nil {
			return Record{}, err
		}
		for _, x := range pays {
			if x.Month.Year() == year && x.Status == "paid" {
				rec.Benefits = append(rec.Benefits, x)
			}
		}
	}
	slices.SortFunc(rec.Benefits, func(a, b benefit.Payment) int { return int(a.Month) - int(b.Month) })
	return rec, nil
}

// printable refuses text the font cannot show, naming it: never a name printed as boxes.
func printable(text string) error {
	missing, err := certificate.Missing(text)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return errs.E(errs.Unavailable, "the record's font cannot print %q in %q; the bureau prints this record at the window", string(missing), text)
	}
	return nil
}
