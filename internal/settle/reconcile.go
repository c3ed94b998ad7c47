package settle

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/sheet"
)

// Totals are a day's settlements of one institution, as the bureau and the institution each count
// them (national interface 3201: count, medical total, fund, account, cash). A refunded settlement
// does not count.
type Totals struct {
	Count   int
	Total   money.Fen
	Pool    money.Fen
	Account money.Fen
	Cash    money.Fen
}

// Day is the bureau's side of a day: its totals and every settlement behind them.
type Day struct {
	Institution Institution
	Date        time.Time
	Totals      Totals
	Settlements []Settlement
}

// maxDay bounds the settlements one day's reconciliation reads; a large hospital's busiest day
// is some thousands.
const maxDay = 100_000

// DayOf is the bureau's record of an institution's day.
func (s *Service) DayOf(ctx context.Context, by *auth.Principal, code string, date time.Time) (Day, error) {
	if err := by.Require(auth.Reconcile); err != nil {
		return Day{}, err
	}
	inst, err := s.institution(ctx, s.db.R(), by, code, "")
	if err != nil {
		return Day{}, err
	}
	d := Day{Institution: inst, Date: date}
	err = db.EachRow(ctx, s.db.R(), func(scan func(...any) error) error {
		st, err := scanSettlement(scanRow(scan))
		if err != nil {
			return err
		}
		if !st.Refunded() {
			d.Totals.add(st.Split)
		}
		d.Settlements = append(d.Settlements, st)
		return nil
	}, "SELECT "+settlementColumns+settlementFrom+"WHERE s.region = $1 AND s.institution_code = $2 AND s.settled_on = $3 ORDER BY s.seq LIMIT $4",
		inst.Region, inst.Code, date.Format("2006-01-02"), maxDay)
	return d, err
}

func (t *Totals) add(sp Split) {
	t.Count++
	t.Total += sp.Total
	t.Pool += sp.Pool
	t.Account += sp.Account
	t.Cash += sp.Cash
}

// CSV is the day's detail file: one line per settlement, refunded ones marked.
func (d Day) CSV() ([]byte, error) {
	header := []string{"settlement_id", "kind", "date", "means", "total", "self_pay_c", "first_self_pay_b", "eligible", "deductible", "ratio",
		"pool", "account", "cash", "refunded"}
	var rows [][]string
	for _, st := range d.Settlements {
		sp := st.Split
		refunded := ""
		if st.Refunded() {
			refunded = "yes"
		}
		rows = append(rows, []string{st.ID, st.Kind, st.Date.Format("2006-01-02"), string(st.Means), sp.Total.String(), sp.SelfPayC.String(),
			sp.FirstSelfPayB.String(), sp.Eligible.String(), sp.Deductible.String(), sp.Ratio.String(), sp.Pool.String(), sp.Account.String(),
			sp.Cash.String(), refunded})
	}
	var b bytes.Buffer
	if err := sheet.WriteCSV(&b, header, rows); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// TheirLine is one settlement as the institution recorded it, when it sends its detail too.
type TheirLine struct {
	ID    string
	Total money.Fen
}

// Difference is one way the institution's record and the bureau's differ.
type Difference struct {
	What       string // "count", "total", "pool", "account", "cash", or "settlement"
	Settlement string // for a settlement: its id
	Bureau     string // the bureau's figure ("" when the bureau has no such settlement)
	Theirs     string // the institution's ("" when it did not list the settlement)
}

// Reconciliation is the answer to an institution's totals.
type Reconciliation struct {
	Agree       bool
	Bureau      Totals
	Differences []Difference
}

// Reconcile compares an institution's totals of a day (and its detail, when sent) with the
// bureau's, and records the comparison.
func (s *Service) Reconcile(ctx context.Context, by *auth.Principal, code string, date time.Time, theirs Totals, lines []TheirLine) (Reconciliation, error) {
	if by.Role != auth.Institution {
		return Reconciliation{}, errs.E(errs.Forbidden, "an institution sends its own totals")
	}
	d, err := s.DayOf(ctx, by, code, date)
	if err != nil {
		return Reconciliation{}, err
	}
	rec := Reconciliation{Bureau: d.Totals}
	for _, c := range []struct {
		what   string
		b, t   money.Fen
		counts bool
	}{{"count", money.Fen(d.Totals.Count), money.Fen(theirs.Count), true}, {"total", d.Totals.Total, theirs.Total, false},
		{"pool", d.Totals.Pool, theirs.Pool, false}, {"account", d.Totals.Account, theirs.Account, false}, {"cash", d.Totals.Cash, theirs.Cash, false}} {
		if c.b != c.t {
			b, t := c.b.String(), c.t.String()
			if c.counts {
				b, t = fmt.Sprint(int64(c.b)), fmt.Sprint(int64(c.t))
			}
			rec.Differences = append(rec.Differences, Difference{What: c.what, Bureau: b, Theirs: t})
		}
	}
	if lines != nil {
		mine := map[string]money.Fen{}
		for _, st := range d.Settlements {
			if !st.Refunded() {
				mine[st.ID] = st.Split.Total
			}
		}
		seen := map[string]bool{}
		for _, l := range lines {
			seen[l.ID] = true
			b, ok := mine[l.ID]
			switch {
			case !ok:
				rec.Differences = append(rec.Differences, Difference{What: "settlement", Settlement: l.ID, Theirs: l.Total.String()})
			case b != l.Total:
				rec.Differences = append(rec.Differences, Difference{What: "settlement", Settlement: l.ID, Bureau: b.String(), Theirs: l.Total.String()})
			}
		}
		var missing []string
		for id := range mine {
			if !seen[id] {
				missing = append(missing, id)
			}
		}
		slices.Sort(missing)
		for _, id := range missing {
			rec.Differences = append(rec.Differences, Difference{What: "settlement", Settlement: id, Bureau: mine[id].String()})
		}
	}
	rec.Agree = len(rec.Differences) == 0
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO reconciliations(region, institution_code, day, submitted_at, count, total, pool, account, cash, agree, submitted_by)
			VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, d.Institution.Region, d.Institution.Code, date.Format("2006-01-02"), db.FormatTime(tx.Now),
			theirs.Count, int64(theirs.Total), int64(theirs.Pool), int64(theirs.Account), int64(theirs.Cash), rec.Agree, by.Username); err != nil {
			return err
		}
		return audit.Record(ctx, tx, by.Actor(), "settlement.reconcile", "institution:"+d.Institution.Code, d.Institution.Region,
			map[string]any{"day": date.Format("2006-01-02"), "agree": rec.Agree, "differences": len(rec.Differences)})
	})
	return rec, err
}
