package contrib

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
)

// Service is the contribution capability.
type Service struct {
	db       *db.DB
	policies *policy.Store
	now      func() time.Time
}

// New returns the contribution service.
func New(d *db.DB, p *policy.Store) *Service { return &Service{db: d, policies: p, now: d.Now} }

// Progress of a monthly run.
type Progress struct {
	Payers, Done int // employers and flexible workers to bill, and billed so far (this run and before)
	Resumed      int // of Done, billed before this run began (by an interrupted run)
	Persons      int // persons assessed by this run
	Elapsed      time.Duration
}

// Rate is the persons assessed per second by this run.
func (p Progress) Rate() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Persons) / p.Elapsed.Seconds()
}

// Left estimates the time the run still needs at this run's pace (not counting what an
// interrupted run billed before it), or 0 when it cannot tell yet or is done.
func (p Progress) Left() time.Duration {
	if p.Done <= p.Resumed || p.Done >= p.Payers {
		return 0
	}
	return time.Duration(float64(p.Elapsed) * float64(p.Payers-p.Done) / float64(p.Done-p.Resumed))
}

// batchSize is how many payers one transaction bills: enough to pay for its durable commit, few
// enough that an interruption loses little work.
const batchSize = 250

// Run assesses and bills a whole month of a region: every employer's staff and every flexible
// worker, a bill per payer, the lines of every person, and the bill's ledger entry (receivable
// against the pooled funds). It runs in batches of payers, each in one transaction, and skips payers
// already billed, so it can be killed at any moment and run again to finish without billing or
// posting anything twice.
func (s *Service) Run(ctx context.Context, who audit.Actor, region string, month period.Month, progress func(Progress)) (Progress, error) {
	start := time.Now()
	if err := s.Billable(month); err != nil {
		return Progress{}, err
	}
	// What was declared late for months already billed is billed first, by supplements: a run
	// again of a billed month is how a clerk asks for them.
	if _, err := s.Supplements(ctx, who, region, ""); err != nil {
		return Progress{}, err
	}
	v, err := s.policies.Effective(ctx, s.db.R(), region, month)
	if err != nil {
		return Progress{}, err
	}
	rules := &v.Policy.Contributions
	rates := Compile(rules)
	var insured []policy.Insurance
	for _, c := range v.Policy.Categories {
		if c.InsuredBy == policy.ByEmployer {
			insured = c.Insurances
			break
		}
	}
	done := map[string]bool{} // billed by an earlier, interrupted run
	if err := db.EachRow(ctx, s.db.R(), func(scan func(...any) error) error {
		var payer string
		err := scan(&payer)
		done[payer] = true
		return err
	}, "SELECT DISTINCT payer FROM bills WHERE region = $1 AND month = $2", region, int(month)); err != nil {
		return Progress{}, fmt.Errorf("contrib: bills already made: %w", err)
	}
	// The run is recorded before its payers are listed: a declaration committed after this is
	// either among the payers' staff as read below or, once the run is on record, billed by a
	// supplement (Supplements leaves a month that has no run to the run).
	if err := s.db.Write(ctx, func(tx *db.Tx) error {
		now := db.FormatTime(tx.Now)
		_, err := tx.ExecContext(ctx, `INSERT INTO contribution_runs(region, month, status, started_at, started_by, beat_at, payers)
			VALUES($1, $2, 'running', $3, $4, $3, 0)
			ON CONFLICT (region, month) DO UPDATE SET status = 'running', beat_at = excluded.beat_at`,
			region, int(month), now, who.Name)
		return err
	}); err != nil {
		return Progress{}, fmt.Errorf("contrib: start run: %w", err)
	}
	payers, err := s.payers(ctx, region, month)
	if err != nil {
		return Progress{}, err
	}
	if err := s.db.Write(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE contribution_runs SET payers = $1 WHERE region = $2 AND month = $3", len(payers), region, int(month))
		return err
	}); err != nil {
		return Progress{}, fmt.Errorf("contrib: start run: %w", err)
	}
	var todo []string
	for _, payer := range payers {
		if !done[payer] {
			todo = append(todo, payer)
		}
	}
	p := Progress{Payers: len(payers), Done: len(done), Resumed: len(done)}
	// Two stages on two cores: one goroutine reads and assesses the next batches from a snapshot
	// while this one writes the current batch. Reading outside the write transaction is safe: a
	// batch is billed from one consistent snapshot of its staff, as if it had been read a moment
	// earlier; a change to staff committed after that moment is not in this month's bill, just as
	// one committed after the batch's own transaction would not be. The queue holds two batches, so
	// memory stays bounded.
	stage, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := make(chan assessed, 2)
	readErr := make(chan error, 1)
	go func() {
		defer close(ready)
		for i := 0; i < len(todo); i += batchSize {
			b, err := s.assessBatch(stage, region, month, rates, insured, todo[i:min(i+batchSize, len(todo))])
			if err != nil {
				readErr <- err
				return
			}
			select {
			case ready <- b:
			case <-stage.Done():
				return
			}
		}
	}()
	for b := range ready {
		if err := ctx.Err(); err != nil {
			return p, err
		}
		n, err := s.writeBatch(ctx, who, region, month, rules, b)
		if err != nil {
			return p, err
		}
		p.Done += len(b.payers)
		p.Persons += n
		p.Elapsed = time.Since(start)
		if progress != nil {
			progress(p)
		}
	}
	select {
	case err := <-readErr:
		return p, err
	default:
	}
	if err := ctx.Err(); err != nil {
		return p, err
	}
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE contribution_runs SET status = 'done', finished_at = $1 WHERE region = $2 AND month = $3",
			db.FormatTime(tx.Now), region, int(month))
		return err
	})
	p.Elapsed = time.Since(start)
	return p, err
}

// Billable refuses a month that has not begun: contributions are owed for months worked, and a
// future month billed would book receivables and fund income that do not exist yet.
func (s *Service) Billable(month period.Month) error {
	if now := period.MonthOf(s.now()); month > now {
		return errs.Field("month", fmt.Sprintf("%s has not begun: a month is billed from its first day (this month is %s)", month, now))
	}
	return nil
}

// payers lists who owes contributions for the month: employers with staff in it, and flexible
// workers insured by themselves in it, in a stable order.
func (s *Service) payers(ctx context.Context, region string, month period.Month) ([]string, error) {
	var out []string
	rows, err := s.db.R().QueryContext(ctx, `SELECT DISTINCT employer_id FROM staff WHERE region = $1 AND start_month <= $2
		AND (end_month = 0 OR end_month >= $2) ORDER BY employer_id`, region, int(month))
	if err != nil {
		return nil, fmt.Errorf("contrib: payers: %w", err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, EmployerPayer(id))
	}
	rows.Close()
	rows, err = s.db.R().QueryContext(ctx, `SELECT DISTINCT person_id FROM participations WHERE region = $1 AND employer_id IS NULL
		AND insurance = 'pension' AND start_month <= $2 AND (end_month = 0 OR end_month >= $2) ORDER BY person_id`, region, int(month))
	if err != nil {
		return nil, fmt.Errorf("contrib: payers: %w", err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, PersonPayer(id))
	}
	rows.Close()
	return out, rows.Err()
}

// member is one person of a bill.
type member struct {
	person    int64
	declared  money.Fen
	riskClass int
	flexible  bool
}

// assessed is a batch of payers read and assessed, ready to be written.
type assessed struct {
	payers []string // the whole batch, billed or not
	bills  []draftBill
}

// draftBill is one payer's bill before it has an id.
type draftBill struct {
	payer string
	total money.Fen
	funds []money.Fen // by the index of the insurance in policy.Insurances
	lines []draftLine
}

// draftLine is one person's line: the columns of contribution_lines after the bill and the month,
// as values ready for the insert. They are boxed here, on the reading stage's goroutine, because
// boxing a million rows of eleven integers is allocation work the writing stage, the one the run
// waits for, is better without.
type draftLine [11]any // person_id, base, then the nine amounts in the table's order

// newDraftLine boxes a person's line.
func newDraftLine(person int64, base money.Fen, c *[9]money.Fen) draftLine {
	return draftLine{person, int64(base), int64(c[0]), int64(c[1]), int64(c[2]), int64(c[3]), int64(c[4]), int64(c[5]), int64(c[6]),
		int64(c[7]), int64(c[8])}
}

// assessBatch reads the members of a batch of payers from one snapshot and assesses them.
func (s *Service) assessBatch(ctx context.Context, region string, month period.Month, rates *Rates, insured []policy.Insurance,
	payers []string) (assessed, error) {
	var members map[string][]member
	if err := s.db.Read(ctx, func(tx *db.Tx) error {
		var err error
		members, err = s.members(ctx, tx, region, month, payers)
		return err
	}); err != nil {
		return assessed{}, err
	}
	out := assessed{payers: payers}
	for _, payer := range payers {
		if ms := members[payer]; len(ms) > 0 {
			out.bills = append(out.bills, assessPayer(rates, insured, payer, ms))
		}
	}
	return out, nil
}

// assessPayer assesses one payer's members for a month: the bill as the declarations make it.
func assessPayer(rates *Rates, insured []policy.Insurance, payer string, ms []member) draftBill {
	b := draftBill{payer: payer, funds: make([]money.Fen, len(policy.Insurances)), lines: make([]draftLine, 0, len(ms))}
	for _, m := range ms {
		subj := Subject{Declared: m.declared, RiskClass: m.riskClass, Insurances: insured, Flexible: m.flexible}
		if m.flexible {
			subj.Insurances = []policy.Insurance{policy.Pension, policy.Medical}
		}
		a := Assess(rates, subj)
		var c [9]money.Fen // the columns after base, in order
		for _, l := range a.Lines {
			b.funds[slices.Index(policy.Insurances, l.Insurance)] += l.Amount
			b.total += l.Amount
			switch {
			case l.Insurance == policy.Pension && l.Party == Employer:
				c[0] = l.Amount
			case l.Insurance == policy.Pension:
				c[1], c[7] = l.Amount, l.ToAccount
			case l.Insurance == policy.Medical && l.Party == Employer:
				c[2] = l.Amount
			case l.Insurance == policy.Medical:
				c[3], c[8] = l.Amount, l.ToAccount
			case l.Insurance == policy.Unemployment && l.Party == Employer:
				c[4] = l.Amount
			case l.Insurance == policy.Unemployment:
				c[5] = l.Amount
			case l.Insurance == policy.WorkInjury:
				c[6] = l.Amount
			}
		}
		b.lines = append(b.lines, newDraftLine(m.person, a.Base, &c))
	}
	return b
}

// writeBatch writes an assessed batch in one transaction: its bills (skipping payers an earlier,
// interrupted run billed), their lines, one ledger entry and one audit entry. It returns how many
// persons it billed.
func (s *Service) writeBatch(ctx context.Context, who audit.Actor, region string, month period.Month, rules *policy.Contributions,
	b assessed) (int, error) {
	persons := 0
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		persons = 0
		due := db.FormatTime(DueDate(month, rules.DueDay))
		now := db.FormatTime(tx.Now)
		ids := make(map[string]int64, len(b.bills))
		bills := tx.Inserter("bills", "region", "month", "payer", "persons", "total", "due_date", "created_at").
			SkipConflicts("region, month, payer, supplement").
			Returning("id, payer", func(rows *sql.Rows) error {
				var id int64
				var payer string
				if err := rows.Scan(&id, &payer); err != nil {
					return err
				}
				ids[payer] = id
				return nil
			})
		for _, bill := range b.bills {
			if err := bills.Add(ctx, region, int(month), bill.payer, len(bill.lines), int64(bill.total), due, now); err != nil {
				return fmt.Errorf("contrib: bill: %w", err)
			}
		}
		if err := bills.Close(ctx); err != nil {
			return fmt.Errorf("contrib: bill: %w", err)
		}
		lines := tx.Inserter("contribution_lines", "region", "bill_id", "person_id", "month", "base", "pension_employer", "pension_employee",
			"medical_employer", "medical_employee", "unemployment_employer", "unemployment_employee", "work_injury_employer",
			"to_pension_account", "to_medical_account")
		monthBox, regionBox := any(int(month)), any(region)
		var billed []map[string]any
		var booked []billTotals
		var first int64
		for _, bill := range b.bills {
			id, ok := ids[bill.payer]
			if !ok {
				continue // billed by an earlier, interrupted run
			}
			if first == 0 || id < first {
				first = id
			}
			billBox := any(id) // one boxed bill id for all its lines
			for _, l := range bill.lines {
				row := [14]any{regionBox, billBox, l[0], monthBox, l[1], l[2], l[3], l[4], l[5], l[6], l[7], l[8], l[9], l[10]}
				if err := lines.Add(ctx, row[:]...); err != nil {
					return err
				}
				persons++
			}
			booked = append(booked, billTotals{payer: bill.payer, total: bill.total, funds: bill.funds})
			billed = append(billed, map[string]any{"bill": id, "payer": bill.payer, "persons": len(bill.lines), "total": bill.total.String()})
		}
		if err := lines.Close(ctx); err != nil {
			return err
		}
		// One ledger entry books the batch's bills. The batch's first bill names the entry: bills
		// are written once, so the key is too.
		if ps := billsPostings(region, booked); len(ps) > 0 {
			key := fmt.Sprintf("%s%d", billsKeyPrefix(region, month), first)
			if _, err := ledger.Post(ctx, tx, ledger.Entry{IdemKey: key, Region: region, Cause: causeBills, CauseRef: key, Postings: ps}); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE contribution_runs SET beat_at = $1 WHERE region = $2 AND month = $3",
			db.FormatTime(tx.Now), region, int(month)); err != nil {
			return err
		}
		// One audit entry for the batch names every bill it made.
		if len(billed) > 0 {
			if err := audit.Record(ctx, tx, who, "contribution.bills", "run:"+region+":"+month.String(), region, map[string]any{"bills": billed}); err != nil {
				return err
			}
		}
		return nil
	})
	return persons, err
}

// causeBills is the cause of the entries that book the monthly run's bills.
const causeBills = "contribution"

// billsKeyPrefix begins the key of every entry that books bills of a region's month.
func billsKeyPrefix(region string, month period.Month) string {
	return "bills:" + region + ":" + month.String() + ":"
}

// billTotals is what one bill books: its total, and each insurance's part of it.
type billTotals struct {
	payer string
	total money.Fen
	funds []money.Fen // by the index of the insurance in policy.Insurances
}

// billsPostings books bills: each payer owes its bill's total, each pooled fund is credited its
// insurance's part of them all. Personal accounts are credited when bills are paid, not before. A
// bill of nothing books nothing.
func billsPostings(region string, bills []billTotals) []ledger.Posting {
	var ps []ledger.Posting
	funds := make([]money.Fen, len(policy.Insurances))
	for _, b := range bills {
		if b.total == 0 {
			continue
		}
		ps = append(ps, ledger.Posting{Account: receivable(region, b.payer), Amount: b.total})
		for i, amt := range b.funds {
			funds[i] += amt
		}
	}
	if len(ps) == 0 {
		return nil
	}
	for i, ins := range policy.Insurances {
		if funds[i] != 0 {
			ps = append(ps, ledger.Posting{Account: ledger.FundAccount(region, string(ins)), Amount: -funds[i]})
		}
	}
	return ps
}

// receivable is the ledger account a payer owes from.
func receivable(region, payer string) string {
	kind, n, _ := ParsePayer(payer) // payers come from the run itself, never from outside
	if kind == "person" {
		return ledger.PersonAccount(region, ledger.PersonReceivable, n)
	}
	return ledger.EmployerAccount(region, n)
}

// members reads the persons each payer of a batch owes for in the month, with their bases.
func (s *Service) members(ctx context.Context, tx *db.Tx, region string, month period.Month, payers []string) (map[string][]member, error) {
	inBatch := map[string]bool{}
	for _, p := range payers {
		inBatch[p] = true
	}
	out := map[string][]member{}
	var persons []string
	var lo, hi int64 = -1, -1
	for _, p := range payers {
		kind, id, _ := ParsePayer(p)
		if kind == "employer" {
			// A batch's employers are a run of the sorted payer list: one range covers them (an
			// employer in the range already billed is skipped when its bill exists).
			if lo < 0 {
				lo = id
			}
			hi = id
		} else {
			persons = append(persons, strconv.FormatInt(id, 10))
		}
	}
	if lo >= 0 {
		// Three plain queries instead of one with a join and a correlated subquery per row: the
		// employers' risk classes, the base changes (few), then the staff rows themselves.
		risk := map[int64]int{}
		if err := db.EachRow(ctx, tx, func(sc func(...any) error) error {
			var id int64
			var r int
			if err := sc(&id, &r); err != nil {
				return err
			}
			risk[id] = r
			return nil
		}, "SELECT id, risk_class FROM employers WHERE id BETWEEN $1 AND $2", lo, hi); err != nil {
			return nil, fmt.Errorf("contrib: employers: %w", err)
		}
		type change struct {
			from int
			base int64
		}
		bases := map[int64]change{} // staff id → the latest base change in force in the month
		if err := db.EachRow(ctx, tx, func(sc func(...any) error) error {
			var id, base int64
			var from int
			if err := sc(&id, &from, &base); err != nil {
				return err
			}
			if c, ok := bases[id]; !ok || from > c.from {
				bases[id] = change{from, base}
			}
			return nil
		}, `SELECT b.staff_id, b.from_month, b.base FROM staff_bases b JOIN staff s ON s.id = b.staff_id
			WHERE s.employer_id BETWEEN $1 AND $2 AND b.from_month <= $3`, lo, hi, int(month)); err != nil {
			return nil, fmt.Errorf("contrib: base changes: %w", err)
		}
		if err := db.EachRow(ctx, tx, func(sc func(...any) error) error {
			var id, emp, person, base int64
			if err := sc(&id, &emp, &person, &base); err != nil {
				return err
			}
			if c, ok := bases[id]; ok {
				base = c.base
			}
			key := EmployerPayer(emp)
			if inBatch[key] {
				out[key] = append(out[key], member{person: person, declared: money.Fen(base), riskClass: risk[emp]})
			}
			return nil
		}, `SELECT s.id, s.employer_id, s.person_id, s.base FROM staff s
			WHERE s.employer_id BETWEEN $2 AND $3 AND s.region = $4 AND s.start_month <= $1 AND (s.end_month = 0 OR s.end_month >= $1)
			ORDER BY s.employer_id, s.person_id`, int(month), lo, hi, region); err != nil {
			return nil, fmt.Errorf("contrib: staff: %w", err)
		}
	}
	if len(persons) > 0 {
		rows, err := tx.QueryContext(ctx, `SELECT n.person_id, n.chosen_base FROM enrolments n
			WHERE n.status = 'approved' AND n.employer_id IS NULL AND n.person_id IN (`+strings.Join(persons, ", ")+`)
			ORDER BY n.person_id, n.id`)
		if err != nil {
			return nil, fmt.Errorf("contrib: flexible workers: %w", err)
		}
		for rows.Next() {
			var person, base int64
			if err := rows.Scan(&person, &base); err != nil {
				rows.Close()
				return nil, err
			}
			key := PersonPayer(person)
			out[key] = []member{{person: person, declared: money.Fen(base), flexible: true}} // the latest approved enrolment's base
		}
		rows.Close()
	}
	return out, nil
}

// RunInfo is one monthly run of a region as recorded.
type RunInfo struct {
	Month         period.Month
	Status        string // running, interrupted (run it again to finish) or done
	StartedAt     time.Time
	FinishedAt    time.Time
	LastBeat      time.Time // the last batch committed
	StartedBy     string
	Payers, Bills int // the month's payers when the run last started, and the bills made so far
}

// StaleAfter is how long a running run may go without committing a batch before it is shown as
// interrupted. A batch takes well under a second; a minute leaves room for a slow database.
const StaleAfter = time.Minute

// Runs lists a region's monthly runs, newest month first.
func (s *Service) Runs(ctx context.Context, region string, limit int) ([]RunInfo, error) {
	rows, err := s.db.R().QueryContext(ctx, `SELECT r.month, r.status, r.started_at, r.finished_at, r.beat_at, r.started_by, r.payers,
		(SELECT COUNT(*) FROM bills b WHERE b.region = r.region AND b.month = r.month)
		FROM contribution_runs r WHERE r.region = $1 ORDER BY r.month DESC LIMIT $2`, region, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	now := s.now()
	var out []RunInfo
	for rows.Next() {
		var r RunInfo
		var month int
		var started, finished, beat string
		if err := rows.Scan(&month, &r.Status, &started, &finished, &beat, &r.StartedBy, &r.Payers, &r.Bills); err != nil {
			return nil, err
		}
		r.Month = period.Month(month)
		r.StartedAt, _ = db.ParseTime(started)
		if finished != "" {
			r.FinishedAt, _ = db.ParseTime(finished)
		}
		r.LastBeat = r.StartedAt
		if beat != "" {
			r.LastBeat, _ = db.ParseTime(beat)
		}
		if r.Status == "running" && now.Sub(r.LastBeat) > StaleAfter {
			r.Status = "interrupted"
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
