package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
)

// benchInquiry measures the resident's inquiry at a city's size (SPEC 5: ten years of history of
// 1,000,000 persons, p99 ≤ 10 ms; serve ≤ 150 MB RSS). It loads the history in bulk — persons in
// employers of 50, their employment and participations, every month's bill per employer paid in
// full, every person's contribution line per month, and the ledger entries that credited the
// personal pension and medical accounts from each paid bill, with the accounts' balances — then
// starts `shebao serve` on that database as a child process and has concurrent clients ask what
// residents and the window ask: the contributions page and its API (the statement with both
// personal accounts), the insurance status, the home page, the certificates page, and a clerk's look-up of a person's
// accounts by ID number. The reference is the same clients against a handler that only answers,
// in the same run; the server's RSS is read from /proc, idle and at its peak under the load.
//
// What is loaded is what the inquiry reads. The monthly runs' receivable entries and the payments
// behind the paid bills are not (the inquiry does not read them), so `contrib.Check` would miss
// them; the ledger as loaded passes `ledger.Check`: every entry balances and carries the hash Post
// would store, and every account's balance equals its postings.
func benchInquiry(ctx context.Context, io IO, args []string) error {
	fs := newFlags("bench inquiry", io)
	persons := fs.Int("persons", 1_000_000, "insured persons")
	years := fs.Int("years", 10, "years of monthly history per person")
	clients := fs.Int("clients", 4, "concurrent clients (two a core of the machine this was measured on)")
	seconds := fs.Float64("seconds", 10, "how long to ask (after one second of warm-up)")
	residents := fs.Int("residents", 200, "residents with a login (sessions and API tokens) among the persons")
	url := fs.String("db", "", "run on a new schema of this PostgreSQL server instead of a temporary SQLite file")
	keep := fs.String("keep", "", "load into this SQLite data directory and keep it; if it already holds a history of this size, measure on it without loading")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *persons < 50 || *years < 1 || *years > 50 || *clients < 1 || *seconds <= 0 || *residents < 1 || *residents > *persons {
		return fmt.Errorf("%w: --persons ≥ 50, --years 1 to 50, --clients ≥ 1, --seconds > 0, --residents 1 to --persons", errUsage)
	}
	if *keep != "" && *url != "" {
		return fmt.Errorf("%w: --keep is a SQLite data directory; it does not go with --db", errUsage)
	}
	const region = "330100"
	months := *years * 12
	var (
		d         *db.DB
		where     string
		serveArgs []string
		cleanup   func()
		err       error
	)
	if *keep != "" {
		d, where, serveArgs, cleanup, err = openKept(ctx, *keep)
	} else {
		d, where, serveArgs, cleanup, err = openBench(ctx, *url)
	}
	if err != nil {
		return err
	}
	defer cleanup()
	h := inquiryHistory{region: region, persons: *persons, last: period.MonthOf(d.Now()).Add(-1)}
	h.first = h.last.Add(-(months - 1))
	kept, err := h.kept(ctx, d, months)
	if err != nil {
		return err
	}
	load1, _, _ := loadAverage()
	fmt.Fprintf(io.Out, "bench inquiry: %d persons × %d months of history, %d clients for %.0f s, on %s (load average %s)\n",
		*persons, months, *clients, *seconds, where, load1)

	t0 := time.Now()
	if !kept {
		p, _, err := policy.Default(region, h.first)
		if err != nil {
			return err
		}
		if _, err := policy.NewStore(d).Install(ctx, audit.System, p); err != nil {
			return err
		}
		last := time.Now()
		if err := h.load(ctx, d, func(done int) {
			if time.Since(last) > 10*time.Second {
				last = time.Now()
				fmt.Fprintf(io.Err, "  %d/%d persons loaded (%v)\n", done, *persons, time.Since(t0).Round(time.Second))
			}
		}); err != nil {
			return fmt.Errorf("loading the history: %w", err)
		}
	}
	loaded := time.Since(t0)
	logins, err := h.logins(ctx, d, *residents)
	if err != nil {
		return err
	}
	dbBytes, err := databaseBytes(ctx, d)
	if err != nil {
		return err
	}
	if kept {
		fmt.Fprintf(io.Out, "  the history of %s to %s was loaded before (--keep); database %s\n", h.first, h.last, mib(dbBytes))
	} else {
		fmt.Fprintf(io.Out, "  loaded %d persons, %d employers, %d bills, %d contribution lines and %d personal-account postings in %v (%.0f rows/s; not counted); database %s\n",
			*persons, h.employers(), h.employers()*months, *persons*months, 2**persons*months, loaded.Round(time.Second),
			float64(h.rows(months))/loaded.Seconds(), mib(dbBytes))
	}
	if *persons <= 200_000 && !kept {
		// The loaded ledger is what Check expects (at the default size this takes long; shebao ledger
		// check on the database does it for anyone who wants to).
		t1 := time.Now()
		if _, err := ledger.Check(ctx, d); err != nil {
			return fmt.Errorf("the loaded ledger: %w", err)
		}
		fmt.Fprintf(io.Out, "  ledger check of the loaded history passed in %v (not counted)\n", time.Since(t1).Round(time.Millisecond))
	}
	d.Close() // the server has the database to itself

	srv, err := startServer(ctx, serveArgs)
	if err != nil {
		return err
	}
	defer srv.stop()
	time.Sleep(2 * time.Second)
	idle, err := srv.status("VmRSS")
	if err != nil {
		return err
	}
	l := &inquiryLoad{base: srv.url, logins: logins, clients: *clients, client: benchClient(*clients)}
	if r := l.run(ctx, time.Second); r.ok == 0 {
		return fmt.Errorf("warm-up: no inquiry answered: %s", r.problems())
	}
	var res inquiryResult
	peak, err := srv.peakDuring(func() { res = l.run(ctx, time.Duration(*seconds*float64(time.Second))) })
	if err != nil {
		return err
	}
	after, err := srv.status("VmRSS")
	if err != nil {
		return err
	}
	if res.ok == 0 {
		return fmt.Errorf("no inquiry answered: %s", res.problems())
	}
	// Resetting the peak sets it to the RSS of the moment, which the collector may have lowered
	// since the idle figure was read: the server's RSS is the higher of the two.
	peak = max(peak, idle)
	rate := float64(res.ok) / res.elapsed.Seconds()
	p50, p99 := res.percentile(res.all, 0.5), res.percentile(res.all, 0.99)
	fmt.Fprintf(io.Out, "  inquiries: %d in %v = %.0f/s; p50 %.2f ms, p99 %.2f ms, max %.2f ms; %s\n", res.ok, res.elapsed.Round(time.Millisecond), rate,
		ms(p50), ms(p99), ms(res.percentile(res.all, 1)), res.problems())
	perKind := map[string]any{}
	for _, k := range inquiryKinds {
		lat := res.byKind[k.name]
		fmt.Fprintf(io.Out, "    %-34s %6d  p50 %6.2f ms  p99 %6.2f ms  (%.1f KB a page)\n", k.name, len(lat), ms(res.percentile(lat, 0.5)), ms(res.percentile(lat, 0.99)),
			float64(res.bytes[k.name])/float64(max(1, len(lat)))/1000)
		perKind[k.name] = map[string]any{"n": len(lat), "p50_ms": round3(ms(res.percentile(lat, 0.5))), "p99_ms": round3(ms(res.percentile(lat, 0.99)))}
	}
	fmt.Fprintf(io.Out, "  serve's memory: idle %.1f MB RSS, peak under the load %.1f MB (%s), %.1f MB after\n", idle, peak, srv.peakSource(), after)

	// The reference: the same clients and requests against a handler that answers each with a body
	// of the size the server's answer had, through a server of the same configuration.
	noop, noopStop, err := serveLoopback(sizedNoop(res.sizes()))
	if err != nil {
		return err
	}
	nl := *l
	nl.base, nl.client = noop, benchClient(*clients)
	nl.run(ctx, time.Second)
	nres := nl.run(ctx, time.Duration(*seconds*float64(time.Second)))
	noopStop()
	noopP99 := nres.percentile(nres.all, 0.99)
	fmt.Fprintf(io.Out, "  reference, no-op handler, same clients: %.0f/s; p50 %.2f ms, p99 %.2f ms\n",
		float64(nres.ok)/nres.elapsed.Seconds(), ms(nres.percentile(nres.all, 0.5)), ms(noopP99))
	load2, _, _ := loadAverage()
	jsonLine(io.Out, map[string]any{"bench": "inquiry", "database": string(d.Dialect()), "persons": *persons, "years": *years, "clients": *clients,
		"load_seconds": round3(loaded.Seconds()), "kept": kept, "db_bytes": dbBytes, "inquiries": res.ok, "refused": res.refused, "failed": res.failed,
		"per_s": int(rate), "p50_ms": round3(ms(p50)), "p99_ms": round3(ms(p99)), "max_ms": round3(ms(res.percentile(res.all, 1))),
		"noop_p99_ms": round3(ms(noopP99)), "noop_per_s": int(float64(nres.ok) / nres.elapsed.Seconds()),
		"idle_rss_mb": round1(idle), "rss_mb": round1(peak), "kinds": perKind, "load_average": load1 + " " + load2})
	if res.refused+res.failed > 0 {
		return errors.New("some inquiries were not answered 200 (see above)")
	}
	return nil
}

// inquiryHistory is the city whose history is loaded: employers of 50 persons, months first to
// last paid in full. Ids are chosen so that every key the loader writes grows with the order it
// writes in (persons from 1,000,000 so that their account codes sort as their numbers do), which
// keeps each B-tree's inserts at its end.
type inquiryHistory struct {
	region      string
	persons     int
	first, last period.Month
}

const (
	inquiryPersonBase   = 1_000_000
	inquiryEmployerBase = 1_000_000
	inquiryBillBase     = 10_000_000
	inquiryPerEmployer  = 50
	inquiryPerTx        = 200 // employers a transaction
)

func (h inquiryHistory) employers() int {
	return (h.persons + inquiryPerEmployer - 1) / inquiryPerEmployer
}

func (h inquiryHistory) rows(months int) int {
	return h.persons*(1+1+5+2) + h.employers()*(1+2*months) + h.persons*months*3
}

func (h inquiryHistory) person(i int) int64 { return int64(inquiryPersonBase + i) }

// bill is the id of employer e's bill for the month m months after first; its ledger entry has
// the same id.
func (h inquiryHistory) bill(e, m int) int64 {
	return int64(inquiryBillBase + e*(h.last.Since(h.first)+1) + m)
}

// base is person i's contribution base in year y of the history: from 3,000 to 30,000 yuan,
// growing 6 % a year.
func (h inquiryHistory) base(i, y int) int64 {
	b := int64(300000 + (i*7919)%2700000)
	for range y {
		b = b * 106 / 100
	}
	return b
}

// line is a month's amounts at the default policy's rates, rounded half up to the fen.
type inquiryLine struct{ base, pe, pp, me, mp, ue, up, wi int64 }

func lineOf(base int64) inquiryLine {
	r := func(permille int64) int64 { return (base*permille + 500) / 1000 }
	return inquiryLine{base: base, pe: r(160), pp: r(80), me: r(95), mp: r(20), ue: r(5), up: r(5), wi: r(4)}
}

func (l inquiryLine) total() int64 { return l.pe + l.pp + l.me + l.mp + l.ue + l.up + l.wi }

// load writes the history, inquiryPerTx employers a transaction.
func (h inquiryHistory) load(ctx context.Context, d *db.DB, progress func(done int)) error {
	months := h.last.Since(h.first) + 1
	for e0 := 0; e0 < h.employers(); e0 += inquiryPerTx {
		if err := d.Write(ctx, func(tx *db.Tx) error {
			if tx.Dialect == db.SQLite {
				// The writer's page cache, for the load only (the server opens its own connections).
				if _, err := tx.ExecContext(ctx, "PRAGMA cache_size = -262144"); err != nil {
					return err
				}
			}
			return h.loadEmployers(ctx, tx, e0, min(e0+inquiryPerTx, h.employers()), months)
		}); err != nil {
			return err
		}
		progress(min((e0+inquiryPerTx)*inquiryPerEmployer, h.persons))
	}
	if d.Dialect() == db.Postgres {
		return d.Write(ctx, func(tx *db.Tx) error {
			for _, t := range []string{"persons", "employers", "bills", "ledger_entries"} {
				if _, err := tx.ExecContext(ctx, "SELECT setval(pg_get_serial_sequence('"+t+"', 'id'), (SELECT MAX(id) FROM "+t+"))"); err != nil {
					return err
				}
			}
			_, err := tx.ExecContext(ctx, "ANALYZE")
			return err
		})
	}
	return nil
}

func (h inquiryHistory) loadEmployers(ctx context.Context, tx *db.Tx, e0, e1, months int) error {
	now := db.FormatTime(tx.Now)
	p0, p1 := e0*inquiryPerEmployer, min(e1*inquiryPerEmployer, h.persons)
	ids := benchIDsFrom(p0, p1-p0)
	emps := tx.Inserter("employers", "id", "region", "uscc", "name", "legal_rep", "risk_class", "created_at", "created_by")
	for e := e0; e < e1; e++ {
		if err := emps.Add(ctx, inquiryEmployerBase+e, h.region, fmt.Sprintf("INQ%015d", e), fmt.Sprintf("杭州市第%d商贸有限公司", e+1), "法人", 1+e%8, now, "bench"); err != nil {
			return err
		}
	}
	if err := emps.Close(ctx); err != nil {
		return err
	}
	ps := tx.Inserter("persons", "id", "region", "id_number", "id_kind", "name", "gender", "birth_date", "hukou_type", "created_at", "created_by", "updated_at")
	st := tx.Inserter("staff", "region", "employer_id", "person_id", "start_month", "base", "created_at")
	pa := tx.Inserter("participations", "region", "person_id", "employer_id", "insurance", "start_month", "source", "created_at")
	accts := tx.Inserter("ledger_accounts", "code", "region", "kind", "normal", "no_overdraft", "balance", "created_at")
	years := (months + 11) / 12
	// The persons first: the rows below refer to them, and an inserter writes when its buffer fills.
	for i := p0; i < p1; i++ {
		id := ids[i-p0]
		gender := "male"
		if (id[16]-'0')%2 == 0 {
			gender = "female"
		}
		birth := id[6:10] + "-" + id[10:12] + "-" + id[12:14]
		if err := ps.Add(ctx, h.person(i), h.region, id, "resident", inquiryName(i), gender, birth, "local", now, "bench", now); err != nil {
			return err
		}
	}
	if err := ps.Close(ctx); err != nil {
		return err
	}
	for i := p0; i < p1; i++ {
		pid, emp := h.person(i), inquiryEmployerBase+i/inquiryPerEmployer
		if err := st.Add(ctx, h.region, emp, pid, int(h.first), h.base(i, years-1), now); err != nil {
			return err
		}
		for _, ins := range policy.Insurances {
			if err := pa.Add(ctx, h.region, pid, emp, string(ins), int(h.first), "bench", now); err != nil {
				return err
			}
		}
		var pension, medical int64
		for m := range months {
			l := lineOf(h.base(i, m/12))
			pension += l.pp
			medical += l.mp
		}
		// Personal accounts are credit accounts: their credits are stored negative.
		if err := accts.Add(ctx, ledger.PersonAccount(h.region, ledger.PersonMedical, pid), h.region, string(ledger.PersonMedical), "credit", true, -medical, now); err != nil {
			return err
		}
		if err := accts.Add(ctx, ledger.PersonAccount(h.region, ledger.PersonPension, pid), h.region, string(ledger.PersonPension), "credit", true, -pension, now); err != nil {
			return err
		}
	}
	for _, in := range []*db.Inserter{st, pa, accts} {
		if err := in.Close(ctx); err != nil {
			return err
		}
	}
	// The funds' side of the credits: created once, their balances moved by what each
	// transaction posted to them.
	var toPension, toMedical int64
	bills := tx.Inserter("bills", "id", "region", "month", "payer", "persons", "total", "due_date", "paid", "accounts_credited", "created_at")
	entries := tx.Inserter("ledger_entries", "id", "region", "idem_key", "content_hash", "cause", "cause_ref", "at")
	pensionFund, medicalFund := ledger.FundAccount(h.region, string(policy.Pension)), ledger.FundAccount(h.region, string(policy.Medical))
	type planned struct {
		bill  int64
		day   int // its entry's, which its postings carry
		lines []inquiryLine
	}
	var plan []planned
	for e := e0; e < e1; e++ {
		staff0, staff1 := e*inquiryPerEmployer, min((e+1)*inquiryPerEmployer, h.persons)
		for m := range months {
			month := h.first.Add(m)
			b := planned{bill: h.bill(e, m)}
			var total int64
			postings := make([]ledger.Posting, 0, 2*(staff1-staff0)+2)
			var pension, medical int64
			for i := staff0; i < staff1; i++ {
				l := lineOf(h.base(i, m/12))
				b.lines = append(b.lines, l)
				total += l.total()
				postings = append(postings, ledger.Posting{Account: ledger.PersonAccount(h.region, ledger.PersonPension, h.person(i)), Amount: -money.Fen(l.pp)},
					ledger.Posting{Account: ledger.PersonAccount(h.region, ledger.PersonMedical, h.person(i)), Amount: -money.Fen(l.mp)})
				pension += l.pp
				medical += l.mp
			}
			postings = append(postings, ledger.Posting{Account: pensionFund, Amount: money.Fen(pension)}, ledger.Posting{Account: medicalFund, Amount: money.Fen(medical)})
			toPension += pension
			toMedical += medical
			due := db.FormatTime(contrib.DueDate(month, 15))
			if err := bills.Add(ctx, b.bill, h.region, int(month), fmt.Sprintf("employer:%d", inquiryEmployerBase+e), staff1-staff0, total, due, total, true, due); err != nil {
				return err
			}
			key := "accounts:bill:" + strconv.FormatInt(b.bill, 10)
			entry := ledger.Entry{IdemKey: key, Region: h.region, Cause: "personal_accounts", CauseRef: key, Postings: postings}
			credited := contrib.DueDate(month, 15).Add(-24 * time.Hour)
			at := db.FormatTime(credited)
			b.day = ledger.Day(credited)
			if err := entries.Add(ctx, b.bill, h.region, key, entry.ContentHash(), entry.Cause, entry.CauseRef, at); err != nil {
				return err
			}
			plan = append(plan, b)
		}
	}
	if err := bills.Close(ctx); err != nil {
		return err
	}
	if err := entries.Close(ctx); err != nil {
		return err
	}
	if e0 == 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_accounts(code, region, kind, normal, no_overdraft, balance, created_at)
			VALUES($1, $2, 'fund', 'credit', FALSE, 0, $4), ($3, $2, 'fund', 'credit', FALSE, 0, $4)`, pensionFund, h.region, medicalFund, now); err != nil {
			return err
		}
	}
	for code, add := range map[string]int64{pensionFund: toPension, medicalFund: toMedical} {
		if _, err := tx.ExecContext(ctx, "UPDATE ledger_accounts SET balance = balance + $1 WHERE code = $2", add, code); err != nil {
			return err
		}
	}
	// The lines person by person (their key's order), the postings entry by entry (theirs).
	lines := tx.Inserter("contribution_lines", "region", "bill_id", "person_id", "month", "base", "pension_employer", "pension_employee", "medical_employer",
		"medical_employee", "unemployment_employer", "unemployment_employee", "work_injury_employer", "to_pension_account", "to_medical_account")
	for i := p0; i < p1; i++ {
		e := i/inquiryPerEmployer - e0
		for m := range months {
			b := plan[e*months+m]
			l := b.lines[i%inquiryPerEmployer]
			if err := lines.Add(ctx, h.region, b.bill, h.person(i), int(h.first.Add(m)), l.base, l.pe, l.pp, l.me, l.mp, l.ue, l.up, l.wi, l.pp, l.mp); err != nil {
				return err
			}
		}
	}
	if err := lines.Close(ctx); err != nil {
		return err
	}
	posts := tx.Inserter("ledger_postings", "region", "entry_id", "account", "amount", "at_day")
	for k, b := range plan {
		e := e0 + k/months
		var pension, medical int64
		for j, l := range b.lines {
			pid := h.person(e*inquiryPerEmployer + j)
			if err := posts.Add(ctx, h.region, b.bill, ledger.PersonAccount(h.region, ledger.PersonPension, pid), -l.pp, b.day); err != nil {
				return err
			}
			if err := posts.Add(ctx, h.region, b.bill, ledger.PersonAccount(h.region, ledger.PersonMedical, pid), -l.mp, b.day); err != nil {
				return err
			}
			pension += l.pp
			medical += l.mp
		}
		if err := posts.Add(ctx, h.region, b.bill, pensionFund, pension, b.day); err != nil {
			return err
		}
		if err := posts.Add(ctx, h.region, b.bill, medicalFund, medical, b.day); err != nil {
			return err
		}
	}
	return posts.Close(ctx)
}

var inquirySurnames = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
var inquiryGiven = []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚")

func inquiryName(i int) string {
	return string([]rune{inquirySurnames[i%len(inquirySurnames)], inquiryGiven[(i/20)%len(inquiryGiven)], inquiryGiven[(i/400)%len(inquiryGiven)]})
}

// benchIDsFrom is benchIDs(from+n)[from:], without making the first from.
func benchIDsFrom(from, n int) []string {
	out := make([]string, 0, n)
	birth := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	for k := from; k < from+n; k++ {
		out = append(out, benchIDAt(birth, k))
	}
	return out
}

// openKept opens (making it if need be) the SQLite data directory --keep names, which outlives
// the run.
func openKept(ctx context.Context, dir string) (d *db.DB, where string, serveArgs []string, cleanup func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", nil, nil, err
	}
	if d, err = db.Open(ctx, db.Options{Dir: dir}); err != nil {
		return nil, "", nil, nil, err
	}
	if _, err := d.Migrate(ctx); err != nil {
		d.Close()
		return nil, "", nil, nil, err
	}
	return d, "sqlite " + dir + " (kept)", []string{"--data", dir}, func() { d.Close() }, nil
}

// kept reports whether d already holds a loaded history of h's size, and then takes its months
// (it may have been loaded in an earlier month). A database holding something else is an error:
// the bench loads only into an empty one.
func (h *inquiryHistory) kept(ctx context.Context, d *db.DB, months int) (bool, error) {
	var persons, bills int
	var first, last sql.NullInt64
	if err := d.R().QueryRowContext(ctx, "SELECT (SELECT COUNT(*) FROM persons), COUNT(*), MIN(month), MAX(month) FROM bills").Scan(&persons, &bills, &first, &last); err != nil {
		return false, err
	}
	if persons == 0 && bills == 0 {
		return false, nil
	}
	if persons != h.persons || !first.Valid || period.Month(last.Int64).Since(period.Month(first.Int64))+1 != months || bills != h.employers()*months {
		return false, fmt.Errorf("%w: the database of --keep holds %d persons and %d bills, not a history of %d persons × %d months; name an empty directory",
			errUsage, persons, bills, h.persons, months)
	}
	h.first, h.last = period.Month(first.Int64), period.Month(last.Int64)
	return true, nil
}

// inquiryLogin is a resident's login, or the clerk's, as a client holds it.
type inquiryLogin struct {
	session  string // the portal's session cookie
	token    string // an API token
	idNumber string // the person's (the clerk looks one up)
}

type inquiryLogins struct {
	residents []inquiryLogin
	clerk     inquiryLogin
}

// logins makes n residents' accounts, spread over the city, each with a session and an API token,
// and a clerk's with a session.
func (h inquiryHistory) logins(ctx context.Context, d *db.DB, n int) (inquiryLogins, error) {
	var out inquiryLogins
	a := auth.New(d, auth.Options{})
	for k := range n {
		i := int(int64(k) * int64(h.persons) / int64(n))
		u, err := benchUser(ctx, a, auth.NewUser{Username: fmt.Sprintf("resident-%d", i), Role: auth.Resident,
			Regions: []string{h.region}, PersonID: h.person(i)})
		if err != nil {
			return out, fmt.Errorf("resident login: %w", err)
		}
		session, _, err := a.StartSession(ctx, u, "bench")
		if err != nil {
			return out, err
		}
		token, err := a.IssueToken(ctx, nil, audit.System, u.Username, "bench inquiry")
		if err != nil {
			return out, err
		}
		out.residents = append(out.residents, inquiryLogin{session: session, token: token, idNumber: benchIDsFrom(i, 1)[0]})
	}
	u, err := benchUser(ctx, a, auth.NewUser{Username: "bench-clerk", Role: auth.Clerk, Regions: []string{h.region}})
	if err != nil {
		return out, err
	}
	if out.clerk.session, _, err = a.StartSession(ctx, u, "bench"); err != nil {
		return out, err
	}
	return out, nil
}

// benchUser is the account nu names: made, or found from an earlier run on a kept database.
func benchUser(ctx context.Context, a *auth.Service, nu auth.NewUser) (auth.User, error) {
	if u, err := a.UserByName(ctx, nu.Username); err == nil {
		return u, nil
	} else if !errs.Is(err, errs.NotFound) {
		return auth.User{}, err
	}
	u, _, err := a.CreateUser(ctx, nil, audit.System, nu)
	return u, err
}

// databaseBytes is the database's size: the SQLite file and its WAL, or the PostgreSQL schema's
// tables and indexes.
func databaseBytes(ctx context.Context, d *db.DB) (int64, error) {
	if d.Dialect() == db.Postgres {
		var n int64
		err := d.R().QueryRowContext(ctx, `SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c
			JOIN pg_namespace ns ON ns.oid = c.relnamespace WHERE ns.nspname = current_schema() AND c.relkind IN ('r', 'm')`).Scan(&n)
		return n, err
	}
	var n int64
	for _, f := range []string{d.Path(), d.Path() + "-wal"} {
		if st, err := os.Stat(f); err == nil {
			n += st.Size()
		}
	}
	return n, nil
}

// What the clients ask, each as often as the others.
var inquiryKinds = []struct {
	name  string
	path  func(l inquiryLogins, r *inquiryLogin) string
	api   bool
	clerk bool
}{
	{name: "GET /contributions (page)", path: func(inquiryLogins, *inquiryLogin) string { return "/contributions" }},
	{name: "GET /api/v1/me/contributions", path: func(inquiryLogins, *inquiryLogin) string { return "/api/v1/me/contributions" }, api: true},
	{name: "GET /api/v1/me/insurance", path: func(inquiryLogins, *inquiryLogin) string { return "/api/v1/me/insurance" }, api: true},
	{name: "GET / (home page)", path: func(inquiryLogins, *inquiryLogin) string { return "/" }},
	{name: "GET /accounts?id_number= (clerk)", path: func(_ inquiryLogins, r *inquiryLogin) string { return "/accounts?id_number=" + r.idNumber }, clerk: true},
	{name: "GET /certificates (page)", path: func(inquiryLogins, *inquiryLogin) string { return "/certificates" }},
}

type inquiryLoad struct {
	base    string
	client  *http.Client
	logins  inquiryLogins
	clients int
}

type inquiryResult struct {
	ok, refused, failed int
	elapsed             time.Duration
	all                 []time.Duration
	byKind              map[string][]time.Duration
	bytes               map[string]int64
	statuses            map[string]int
}

func (r inquiryResult) percentile(l []time.Duration, p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	return l[int(p*float64(len(l)-1))]
}

func (r inquiryResult) problems() string {
	if len(r.statuses) == 0 {
		return "every answer 200"
	}
	var out []string
	for k, n := range r.statuses {
		out = append(out, fmt.Sprintf("%d× %s", n, k))
	}
	slices.Sort(out)
	return fmt.Sprintf("%d refused, %d failed: %s", r.refused, r.failed, strings.Join(out, "; "))
}

// sizes is the mean answer's size of each path kind, for the reference handler.
func (r inquiryResult) sizes() map[string]int {
	out := map[string]int{}
	for _, k := range inquiryKinds {
		if n := len(r.byKind[k.name]); n > 0 {
			out[k.name] = int(r.bytes[k.name] / int64(n))
		}
	}
	return out
}

// sizedNoop answers every request 200 with a body as long as the server's answer to its kind.
func sizedNoop(sizes map[string]int) http.Handler {
	bodies := map[string][]byte{}
	for k, n := range sizes {
		bodies[k] = []byte(strings.Repeat("x", n))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(bodies[r.Header.Get("X-Bench-Kind")])
	})
}

func (l *inquiryLoad) run(ctx context.Context, d time.Duration) inquiryResult {
	end := time.Now().Add(d)
	results := make([]inquiryResult, l.clients)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range l.clients {
		wg.Go(func() { results[w] = l.worker(ctx, w, end) })
	}
	wg.Wait()
	out := inquiryResult{elapsed: time.Since(start), byKind: map[string][]time.Duration{}, bytes: map[string]int64{}, statuses: map[string]int{}}
	for _, r := range results {
		out.ok += r.ok
		out.refused += r.refused
		out.failed += r.failed
		out.all = append(out.all, r.all...)
		for k, v := range r.byKind {
			out.byKind[k] = append(out.byKind[k], v...)
		}
		for k, n := range r.bytes {
			out.bytes[k] += n
		}
		for k, n := range r.statuses {
			out.statuses[k] += n
		}
	}
	slices.Sort(out.all)
	for _, v := range out.byKind {
		slices.Sort(v)
	}
	return out
}

func (l *inquiryLoad) worker(ctx context.Context, w int, end time.Time) inquiryResult {
	rng := mrand.New(mrand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
	res := inquiryResult{byKind: map[string][]time.Duration{}, bytes: map[string]int64{}, statuses: map[string]int{}}
	for ctx.Err() == nil && time.Now().Before(end) {
		k := inquiryKinds[rng.IntN(len(inquiryKinds))]
		who := &l.logins.residents[rng.IntN(len(l.logins.residents))]
		req, err := http.NewRequestWithContext(ctx, "GET", l.base+k.path(l.logins, who), nil)
		if err != nil {
			res.failed++
			continue
		}
		req.Header.Set("X-Bench-Kind", k.name)
		switch {
		case k.clerk:
			req.AddCookie(&http.Cookie{Name: "shebao_session", Value: l.logins.clerk.session})
		case k.api:
			req.Header.Set("Authorization", "Bearer "+who.token)
		default:
			req.AddCookie(&http.Cookie{Name: "shebao_session", Value: who.session})
		}
		start := time.Now()
		resp, err := l.client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			res.failed++
			res.statuses["transport: "+err.Error()]++
			continue
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		switch {
		case err != nil:
			res.failed++
			res.statuses["reading: "+err.Error()]++
		case resp.StatusCode == http.StatusOK:
			res.ok++
			res.all = append(res.all, took)
			res.byKind[k.name] = append(res.byKind[k.name], took)
			res.bytes[k.name] += n
		case resp.StatusCode < 500:
			res.refused++
			res.statuses[fmt.Sprintf("%s: %d", k.name, resp.StatusCode)]++
		default:
			res.failed++
			res.statuses[fmt.Sprintf("%s: %d", k.name, resp.StatusCode)]++
		}
	}
	return res
}
