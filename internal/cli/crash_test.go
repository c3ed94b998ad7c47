package cli

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
)

// envChild makes the test binary act as the shebao command, so that a test can SIGKILL a real
// process in the middle of its work.
const envChild = "SHEBAO_TEST_AS_COMMAND"

func TestMain(m *testing.M) {
	if os.Getenv(envChild) == "1" {
		os.Exit(Run(context.Background(), os.Args[1:], IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Env: os.Getenv}))
	}
	os.Exit(m.Run())
}

func asCommand(args ...string) *exec.Cmd {
	c := exec.Command(os.Args[0], args...)
	c.Env = append(os.Environ(), envChild+"=1")
	return c
}

// TestMonthlyRunSurvivesSIGKILL kills `shebao contributions run` twenty times (one month each:
// half at a point drawn over the time an uninterrupted run takes, half as soon as its first batch
// has committed) and runs it again: every
// time, every person's line is there exactly once, every bill's total is its lines' sum, the
// ledger holds each bill once, and `shebao ledger check` passes.
func TestMonthlyRunSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes for a while")
	}
	eachDB(t, func(t *testing.T, args []string, open func() *db.DB) {
		ctx := context.Background()
		if code, out, errOut := run(t, nil, "", append([]string{"migrate"}, args...)...); code != 0 {
			t.Fatalf("migrate: %d %s %s", code, out, errOut)
		}
		d := open()
		const region, persons, kills = "330100", 30_000, 20
		first := period.MonthOf(time.Now()).Add(-kills - 2)
		p, _, err := policy.Default(region, first.Add(-1))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := policy.NewStore(d).Install(ctx, audit.System, p); err != nil {
			t.Fatal(err)
		}
		if err := benchCity(ctx, d, region, first, persons); err != nil {
			t.Fatal(err)
		}
		runMonth := func(m period.Month) *exec.Cmd {
			return asCommand(append([]string{"contributions", "run", "--month", m.String(), "--region", region}, args...)...)
		}
		// An uninterrupted run of the month before measures how long a run takes here.
		start := time.Now()
		if out, err := runMonth(first.Add(-1)).CombinedOutput(); err != nil {
			t.Fatalf("baseline run: %v %s", err, out)
		}
		took := time.Since(start)
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 6))
		killedMidRun, midBilling := 0, 0
		payers := (persons + 49) / 50
		for i := range kills {
			m := first.Add(i)
			c := runMonth(m)
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			if i%2 == 0 {
				time.Sleep(time.Duration(rng.Int64N(int64(took))))
			} else {
				// Every other kill waits for the first batch to commit, so that some kills are
				// sure to fall between batches however fast this machine bills a month.
				waitForFirstBatch(ctx, d, m, 2*took+10*time.Second)
			}
			_ = c.Process.Signal(syscall.SIGKILL)
			if err := c.Wait(); err != nil && strings.Contains(err.Error(), "killed") {
				killedMidRun++
			}
			var billed int
			d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM bills WHERE month = $1", int(m)).Scan(&billed)
			if billed > 0 && billed < payers {
				midBilling++ // some batches committed, others not: the case the resumption is for
			}
			if out, err := runMonth(m).CombinedOutput(); err != nil {
				t.Fatalf("rerun of %s after the kill: %v %s", m, err, out)
			}
			checkMonth(t, d, m, persons)
		}
		if code, out, errOut := run(t, nil, "", append([]string{"ledger", "check"}, args...)...); code != 0 {
			t.Fatalf("ledger check: %d %s %s", code, out, errOut)
		}
		if killedMidRun < kills/2 {
			t.Errorf("only %d of %d kills met a running process; the test no longer tests much", killedMidRun, kills)
		}
		if midBilling == 0 {
			t.Errorf("no kill fell between two batches")
		}
		t.Logf("%d kills, %d while running, %d between batches; an uninterrupted run took %v", kills, killedMidRun, midBilling, took.Round(time.Millisecond))
	})
}

// waitForFirstBatch returns once some bill of the month has committed, or after at most wait.
func waitForFirstBatch(ctx context.Context, d *db.DB, m period.Month, wait time.Duration) {
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		var billed int
		if err := d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM bills WHERE month = $1", int(m)).Scan(&billed); err == nil && billed > 0 {
			return
		}
	}
}

// checkMonth asserts a month is billed completely and exactly once.
func checkMonth(t *testing.T, d *db.DB, m period.Month, persons int) {
	t.Helper()
	ctx := context.Background()
	var lines, distinct int
	var billTotal, lineTotal, receivable int64
	r := d.R()
	r.QueryRowContext(ctx, "SELECT COUNT(*), COUNT(DISTINCT person_id) FROM contribution_lines WHERE month = $1", int(m)).Scan(&lines, &distinct)
	if lines != persons || distinct != persons {
		t.Fatalf("%s: %d lines for %d distinct persons; want %d once each", m, lines, distinct, persons)
	}
	r.QueryRowContext(ctx, "SELECT COALESCE(SUM(total), 0) FROM bills WHERE month = $1", int(m)).Scan(&billTotal)
	r.QueryRowContext(ctx, `SELECT COALESCE(SUM(pension_employer + pension_employee + medical_employer + medical_employee + unemployment_employer
		+ unemployment_employee + work_injury_employer), 0) FROM contribution_lines WHERE month = $1`, int(m)).Scan(&lineTotal)
	if billTotal != lineTotal || billTotal == 0 {
		t.Fatalf("%s: bills total %d, lines %d", m, billTotal, lineTotal)
	}
	// Receivables are debited once per bill: their balances add up to every bill ever made.
	var all int64
	r.QueryRowContext(ctx, "SELECT COALESCE(SUM(total), 0) FROM bills").Scan(&all)
	r.QueryRowContext(ctx, "SELECT COALESCE(SUM(balance), 0) FROM ledger_accounts WHERE kind = $1", string(ledger.EmployerReceivable)).Scan(&receivable)
	if receivable != all {
		t.Fatalf("%s: receivables hold %d, bills %d", m, receivable, all)
	}
	if _, err := ledger.Check(ctx, d); err != nil {
		t.Fatalf("%s: %v", m, err)
	}
}
