package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/benefit"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/keys"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
)

// TestBenefitRunSurvivesSIGKILL kills `shebao benefits run` at random points of its work, a month a
// round, and runs it again to its end: every time, every claim has the month decided exactly once,
// with one ledger entry for each paid month and none for a held one; no month is paid without an
// active card with its bank function; each paid month carries the month's medical contribution into
// the medical fund; benefit.Check and `shebao ledger check` pass. Then the holder of the lost card
// has it unlocked, and the next month's run pays every month held for them, each exactly once.
func TestBenefitRunSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes for a while")
	}
	eachDB(t, func(t *testing.T, args []string, open func() *db.DB) {
		ctx := context.Background()
		if code, out, errOut := run(t, nil, "", append([]string{"migrate"}, args...)...); code != 0 {
			t.Fatalf("migrate: %d %s %s", code, out, errOut)
		}
		d := open()
		const region, claims, kills = "330100", 900, 8
		// Claims from start, so the baseline month, the killed months and the month after the card
		// is back have all begun.
		start := period.MonthOf(d.Now()).Add(-(kills + 2))
		city := buildBenefitCity(t, d, region, start, claims)
		runMonth := func(m period.Month) *exec.Cmd {
			return asCommand(append([]string{"benefits", "run", "--month", m.String(), "--region", region}, args...)...)
		}
		// An uninterrupted run of the first month measures how long the work of a run takes here,
		// from its first write (the run's row) to its end.
		c := startBenefitRun(t, runMonth(start))
		began := c.waitForRun(t, d, region, start)
		if err := <-c.done; err != nil {
			t.Fatalf("baseline run: %v %s", err, c.out.String())
		}
		took := time.Since(began)
		city.check(t, d, start)

		rng := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 13))
		killedMidRun, midBatch := 0, 0
		for i := 1; i <= kills; i++ {
			m := start.Add(i)
			c := startBenefitRun(t, runMonth(m))
			c.waitForRun(t, d, region, m)
			time.Sleep(time.Duration(rng.Int64N(int64(took))))
			_ = c.Process.Signal(syscall.SIGKILL)
			if err := <-c.done; err != nil && strings.Contains(err.Error(), "killed") {
				killedMidRun++
			}
			waitForDeadBackends(t, d)
			if n := countRows(t, d, "SELECT COUNT(*) FROM benefit_payments WHERE region = $1 AND month = $2", region, int(m)); n > 0 && n < claims {
				midBatch++ // some batches committed, others not: what resuming is for
			}
			if out, err := runMonth(m).CombinedOutput(); err != nil {
				t.Fatalf("rerun of %s after the kill: %v %s", m, err, out)
			}
			city.check(t, d, m)
		}
		if killedMidRun < kills/2 {
			t.Errorf("only %d of %d kills met a running process; the test no longer tests much", killedMidRun, kills)
		}
		if midBatch == 0 {
			t.Errorf("no kill fell between two batches")
		}

		// The lost card is found and unlocked: the next run pays every month held for it, once.
		if _, err := city.cards.Unlock(ctx, city.clerk, city.lostCard); err != nil {
			t.Fatal(err)
		}
		city.bank[city.lostPerson] = true
		last := start.Add(kills + 1)
		if out, err := runMonth(last).CombinedOutput(); err != nil {
			t.Fatalf("run of %s: %v %s", last, err, out)
		}
		if out, err := runMonth(last).CombinedOutput(); err != nil { // again: nothing twice
			t.Fatalf("second run of %s: %v %s", last, err, out)
		}
		city.check(t, d, last)
		months := kills + 2
		if n := countRows(t, d, `SELECT COUNT(*) FROM benefit_payments b JOIN ledger_entries e ON e.id = b.entry_id
			WHERE b.person_id = $1 AND b.status = 'paid' AND e.idem_key LIKE 'benefit:%'`, city.lostPerson); n != months {
			t.Errorf("the holder of the card found again has %d months paid; want all %d", n, months)
		}
		if n := countRows(t, d, "SELECT COUNT(*) FROM ledger_entries WHERE idem_key LIKE $1", fmt.Sprintf("benefit:%s:%d:%%", region, city.lostClaim)); n != months {
			t.Errorf("the holder of the card found again has %d ledger entries; want %d", n, months)
		}
		if code, out, errOut := run(t, nil, "", append([]string{"ledger", "check"}, args...)...); code != 0 {
			t.Fatalf("ledger check: %d %s %s", code, out, errOut)
		}
		t.Logf("%d claims, %d kills (%d while running, %d between batches); an uninterrupted run's work took %v",
			claims, kills, killedMidRun, midBatch, took.Round(time.Millisecond))
	})
}

// benefitCity is the region the crash test pays in, and what the test knows of it.
type benefitCity struct {
	region     string
	claims     int
	cards      *card.Service
	clerk      *auth.Principal
	bank       map[int64]bool // person id → holds an active card with its bank function
	lostPerson int64          // whose card is reported lost (temporarily) before the first run
	lostCard   int64
	lostClaim  int64
	medical    string // the medical fund's account
}

func crashStaff(name string, r auth.Role, region string) *auth.Principal {
	return &auth.Principal{User: auth.User{Username: name, Role: r, Roles: []auth.Role{r}, Regions: []string{region}}}
}

// buildBenefitCity builds claims approved claims starting in month start, through the services:
// the persons declared by six employers fourteen months before, their contributions billed and
// paid for every month, all removed as dismissed the month before start, registered at the window,
// claims prepared by a clerk and approved by a reviewer. A third of them hold an active card with
// its bank function, a third an active card without it, the rest no card (the cards are written
// as card.ImportResult and activation would leave them); one card with the bank function is
// reported lost.
func buildBenefitCity(t *testing.T, d *db.DB, region string, start period.Month, claims int) *benefitCity {
	t.Helper()
	ctx := context.Background()
	built := time.Now()
	pol := policy.NewStore(d)
	p, _, err := policy.Default(region, start.Add(-24))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pol.Install(ctx, audit.System, p); err != nil {
		t.Fatal(err)
	}
	a := auth.New(d, auth.Options{})
	reg := registry.New(d, a, pol)
	contribs := contrib.New(d, pol)
	svc := benefit.New(d, pol, reg)
	city := &benefitCity{region: region, claims: claims, cards: card.New(d, pol, keys.New(d, pol, slog.New(slog.NewTextHandler(io.Discard, nil)))),
		clerk: crashStaff("clerk", auth.Clerk, region), bank: map[int64]bool{}, medical: ledger.FundAccount(region, string(policy.Medical))}
	reviewer, cashier, admin := crashStaff("reviewer", auth.Reviewer, region), crashStaff("bank", auth.Bank, region), crashStaff("admin", auth.Admin, region)

	// Declared in the first month, as of then: a registry takes declarations a year back at most.
	first, removed := start.Add(-14), start.Add(-1)
	declared := reg.AsOf(func() time.Time { return first.First().Add(34 * time.Hour) })
	const employers = 6
	const header = "操作,身份证号,姓名,缴费基数,月份,离职日期,减员原因\n"
	type emp struct {
		uscc  string
		hr    *auth.Principal
		leave strings.Builder
	}
	emps := make([]*emp, employers)
	var ids []string
	for e := range employers {
		u, err := ident.MakeUSCC(fmt.Sprintf("91330100%09d", 7000+e))
		if err != nil {
			t.Fatal(err)
		}
		got, err := reg.RegisterEmployer(ctx, city.clerk, registry.NewEmployer{USCC: string(u), Name: fmt.Sprintf("失业测试单位%d", e), LegalRep: "法人", RiskClass: 1})
		if err != nil {
			t.Fatal(err)
		}
		emps[e] = &emp{uscc: string(u), hr: &auth.Principal{User: auth.User{Username: "hr", Role: auth.Employer, Roles: []auth.Role{auth.Employer},
			Regions: []string{region}, EmployerID: got.ID}}}
		var join strings.Builder
		join.WriteString(header)
		emps[e].leave.WriteString(header)
		end := removed.Add(1).First().AddDate(0, 0, -1).Format("2006-01-02")
		for i := e; i < claims; i += employers {
			birth := time.Date(1975, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i)
			id, err := ident.MakeIDNumber(fmt.Sprintf("330106%s%03d", birth.Format("20060102"), 100+i%800))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, string(id))
			fmt.Fprintf(&join, "增员,%s,参保人%d,%d.00,%s,,\n", id, i, 5000+i%7*500, first)
			fmt.Fprintf(&emps[e].leave, "减员,%s,参保人%d,,,%s,dismissed\n", id, i, end)
		}
		if _, err := declared.ImportStaff(ctx, emps[e].hr, string(u), "staff.csv", []byte(join.String())); err != nil {
			t.Fatal(err)
		}
	}
	// Every month from the first to the last one worked, billed and paid in full on its due date.
	for m := first; m <= removed; m = m.Add(1) {
		if _, err := contribs.Run(ctx, admin.Actor(), region, m, nil); err != nil {
			t.Fatal(err)
		}
		var bills []struct {
			payer, due string
			total      int64
		}
		if err := db.EachRow(ctx, d.R(), func(scan func(...any) error) error {
			var b struct {
				payer, due string
				total      int64
			}
			err := scan(&b.payer, &b.due, &b.total)
			bills = append(bills, b)
			return err
		}, "SELECT payer, due_date, total FROM bills WHERE region = $1 AND month = $2 AND paid < total", region, int(m)); err != nil {
			t.Fatal(err)
		}
		for _, b := range bills {
			due, err := db.ParseTime(b.due)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := contribs.RecordPayment(ctx, cashier, contrib.NewPayment{IdemKey: fmt.Sprintf("pay-%s-%s", m, b.payer), Payer: b.payer,
				Amount: money.Fen(b.total).String(), PaidOn: due.Format("2006-01-02")}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, e := range emps {
		if _, err := reg.ImportStaff(ctx, e.hr, e.uscc, "leavers.csv", []byte(e.leave.String())); err != nil {
			t.Fatal(err)
		}
	}
	// Registered in the first days of start, the claims prepared then, approved by the reviewer.
	then := svc.AsOf(func() time.Time { return start.First().Add(4*24*time.Hour + 10*time.Hour) })
	for k, id := range ids {
		if _, err := then.Register(ctx, city.clerk, id, "", true); err != nil {
			t.Fatal(err)
		}
		cl, err := then.Prepare(ctx, city.clerk, id)
		if err != nil {
			t.Fatalf("claim %d: %v", k, err)
		}
		if _, err := svc.Approve(ctx, reviewer, region, cl.ID); err != nil {
			t.Fatal(err)
		}
		var cardID int64
		switch k % 3 {
		case 0: // active, with the bank function
			cardID = insertActiveCard(t, d, region, cl.PersonID, id, true)
			city.bank[cl.PersonID] = true
		case 1: // active, but the bank has not opened its function
			insertActiveCard(t, d, region, cl.PersonID, id, false)
		}
		if k == 0 {
			city.lostPerson, city.lostCard, city.lostClaim = cl.PersonID, cardID, cl.ID
		}
	}
	if _, err := city.cards.ReportTemporaryLoss(ctx, city.clerk, city.lostCard); err != nil {
		t.Fatal(err)
	}
	city.bank[city.lostPerson] = false
	t.Logf("%d approved claims built in %v", len(ids), time.Since(built).Round(time.Millisecond))
	return city
}

// insertActiveCard writes an active social security card as the lifecycle leaves it, with its bank
// function or without.
func insertActiveCard(t *testing.T, d *db.DB, region string, personID int64, idNumber string, bank bool) int64 {
	t.Helper()
	var id int64
	if err := d.Write(context.Background(), func(tx *db.Tx) error {
		now := db.FormatTime(tx.Now)
		account, opened := "", ""
		if bank {
			account, opened = "62220000"+idNumber[6:17], now
		}
		return tx.QueryRowContext(context.Background(), `INSERT INTO cards(region, person_id, kind, application_no, state, channel, applied_by, applied_at,
			state_at, card_number, card_id, valid_until, bank_account, bank_activated_at)
			VALUES($1, $2, 'social_security', $3, 'active', 'window', 'test', $4, $4, $5, $6, $7, $8, $9) RETURNING id`,
			region, personID, "APP"+idNumber, now, "C"+idNumber[8:17], region+"D15600000599999"+idNumber[8:17], db.FormatTime(tx.Now.AddDate(10, 0, 0)),
			account, opened).Scan(&id)
	}); err != nil {
		t.Fatal(err)
	}
	return id
}

// benefitRun is a `shebao benefits run` child at work: done has its exit, out what it wrote.
type benefitRun struct {
	*exec.Cmd
	done chan error
	out  *bytes.Buffer
}

func startBenefitRun(t *testing.T, c *exec.Cmd) *benefitRun {
	t.Helper()
	r := &benefitRun{Cmd: c, done: make(chan error, 1), out: &bytes.Buffer{}}
	c.Stdout, c.Stderr = r.out, r.out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- c.Wait() }()
	return r
}

// waitForRun waits until the run of month has written its row (the child is at work) and says
// when; a child that ends before it does fails the test with what it said.
func (r *benefitRun) waitForRun(t *testing.T, d *db.DB, region string, m period.Month) time.Time {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for countRows(t, d, "SELECT COUNT(*) FROM benefit_runs WHERE region = $1 AND month = $2", region, int(m)) == 0 {
		select {
		case err := <-r.done:
			t.Fatalf("the run of %s ended before it began: %v %s", m, err, r.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run of %s did not start within a minute", m)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Now()
}

func countRows(t *testing.T, d *db.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := d.R().QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// check asserts, after month m has been run to its end, everything the run promises.
func (c *benefitCity) check(t *testing.T, d *db.DB, m period.Month) {
	t.Helper()
	ctx := context.Background()
	// Every claim has the month decided once.
	if n := countRows(t, d, "SELECT COUNT(DISTINCT claim_id) FROM benefit_payments WHERE region = $1 AND month = $2", c.region, int(m)); n != c.claims {
		t.Fatalf("%s: %d claims have the month decided; want all %d", m, n, c.claims)
	}
	if n := countRows(t, d, "SELECT COUNT(*) FROM (SELECT claim_id, month FROM benefit_payments GROUP BY claim_id, month HAVING COUNT(*) > 1) x"); n != 0 {
		t.Fatalf("%s: %d months decided twice", m, n)
	}
	// One ledger entry per paid month, by its key, and none for a held one.
	paid := countRows(t, d, "SELECT COUNT(*) FROM benefit_payments WHERE status = 'paid'")
	if n := countRows(t, d, "SELECT COUNT(*) FROM ledger_entries WHERE idem_key LIKE 'benefit:%'"); n != paid {
		t.Fatalf("%s: %d benefit ledger entries for %d months paid", m, n, paid)
	}
	if n := countRows(t, d, `SELECT COUNT(*) FROM benefit_payments b JOIN ledger_entries e ON e.id = b.entry_id
		WHERE b.status = 'paid' AND e.idem_key = 'benefit:' || b.region || ':' || CAST(b.claim_id AS TEXT) || ':' || CAST(b.month AS TEXT)`); n != paid {
		t.Fatalf("%s: %d of %d paid months carry their own entry", m, n, paid)
	}
	if n := countRows(t, d, "SELECT COUNT(*) FROM benefit_payments WHERE status = 'held' AND (entry_id IS NOT NULL OR reason <> 'no_bank_card')"); n != 0 {
		t.Fatalf("%s: %d held months with a ledger entry or another reason", m, n)
	}
	// Paid only to an active card with its bank function, and to everyone holding one.
	if n := countRows(t, d, `SELECT COUNT(*) FROM benefit_payments b WHERE b.status = 'paid' AND b.month = $1 AND NOT EXISTS (SELECT 1 FROM cards c
		WHERE c.person_id = b.person_id AND c.card_number = b.card_ref AND c.state = 'active' AND c.bank_account = b.bank_account AND c.bank_activated_at <> '')`,
		int(m)); n != 0 {
		t.Fatalf("%s: %d months paid without an active card with its bank function", m, n)
	}
	var wrong []string
	if err := db.EachRow(ctx, d.R(), func(scan func(...any) error) error {
		var person int64
		var status string
		if err := scan(&person, &status); err != nil {
			return err
		}
		if (status == "paid") != c.bank[person] {
			wrong = append(wrong, fmt.Sprintf("person %d %s", person, status))
		}
		return nil
	}, "SELECT person_id, status FROM benefit_payments WHERE region = $1 AND month = $2", c.region, int(m)); err != nil {
		t.Fatal(err)
	}
	if len(wrong) > 0 {
		t.Fatalf("%s: paid to those without a bank card, or held for those with one: %v", m, wrong[:min(5, len(wrong))])
	}
	// The medical contribution of every paid month went into the medical fund in its entry.
	if n := countRows(t, d, `SELECT COUNT(*) FROM benefit_payments b WHERE b.status = 'paid' AND NOT (b.medical_pool > 0 AND EXISTS (SELECT 1 FROM ledger_postings p
		WHERE p.entry_id = b.entry_id AND p.account = $1 AND p.amount = -b.medical_pool))`, c.medical); n != 0 {
		t.Fatalf("%s: %d paid months without their medical contribution to the medical fund", m, n)
	}
	if _, err := benefit.Check(ctx, d); err != nil {
		t.Fatalf("%s: %v", m, err)
	}
	if _, err := ledger.Check(ctx, d); err != nil {
		t.Fatalf("%s: %v", m, err)
	}
}
