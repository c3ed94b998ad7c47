package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
)

// Finding 7 of the security review, replayed with the commands: checks that tampering got past.

func checksExec(t *testing.T, d *db.DB, qs ...string) {
	t.Helper()
	if err := d.Write(context.Background(), func(tx *db.Tx) error {
		for _, q := range qs {
			if _, err := tx.ExecContext(context.Background(), q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestAttackLedgerCheckCommand bills a month with `shebao contributions run`, records payments, and
// then changes the database behind shebao's back: both legs of a payment's entry and both balances
// raised alike (which `ledger check` used to pass), a payment's amount, a bill's total. Each time
// `shebao ledger check` exits 1 naming the entry, the payment or the bill.
func TestAttackLedgerCheckCommand(t *testing.T) {
	eachDB(t, func(t *testing.T, dbArgs []string, open func() *db.DB) {
		ctx := context.Background()
		if code, _, errOut := run(t, nil, "", append([]string{"migrate"}, dbArgs...)...); code != 0 {
			t.Fatalf("migrate: %s", errOut)
		}
		d := open()
		const region = "330100"
		month := period.MonthOf(d.Now())
		p, _, err := policy.Default(region, month.Add(-1))
		if err != nil {
			t.Fatal(err)
		}
		pol := policy.NewStore(d)
		if _, err := pol.Install(ctx, audit.System, p); err != nil {
			t.Fatal(err)
		}
		if err := benchCity(ctx, d, region, month, 120); err != nil {
			t.Fatal(err)
		}
		if code, _, errOut := run(t, nil, "", append([]string{"contributions", "run", "--month", month.String(), "--region", region}, dbArgs...)...); code != 0 {
			t.Fatalf("contributions run: %s", errOut)
		}
		svc := contrib.New(d, pol)
		clerk := &auth.Principal{User: auth.User{Username: "clerk", Role: auth.Clerk, Regions: []string{region}}}
		for i, payer := range []string{"employer:1", "employer:2"} {
			var total int64
			d.R().QueryRowContext(ctx, "SELECT total FROM bills WHERE payer = $1", payer).Scan(&total)
			amount := money.Fen(total) / money.Fen(1+i) // the first in full, the second half
			if _, err := svc.RecordPayment(ctx, clerk, contrib.NewPayment{IdemKey: fmt.Sprint("ref-", i), Payer: payer, Amount: amount.String(),
				PaidOn: period.Today(d.Now()).Format("2006-01-02")}); err != nil {
				t.Fatal(err)
			}
		}
		check := func() (int, string, string) {
			return run(t, nil, "", append([]string{"ledger", "check"}, dbArgs...)...)
		}
		if code, out, errOut := check(); code != 0 || !strings.Contains(out, "ledger sound") || !strings.Contains(out, "3 bills (120 lines), 2 payments") {
			t.Fatalf("sound ledger: %d %s %s", code, out, errOut)
		}

		var pay, entry, bill int64
		d.R().QueryRowContext(ctx, "SELECT id FROM payments WHERE payer = 'employer:1'").Scan(&pay)
		d.R().QueryRowContext(ctx, "SELECT id FROM ledger_entries WHERE idem_key = $1", fmt.Sprint("payment:", pay)).Scan(&entry)
		d.R().QueryRowContext(ctx, "SELECT id FROM bills WHERE payer = 'employer:1'").Scan(&bill)
		clearing, receivable := ledger.ClearingAccount(region), ledger.EmployerAccount(region, 1)
		raise := func(by int) []string {
			return []string{
				fmt.Sprintf("UPDATE ledger_postings SET amount = amount + %d WHERE entry_id = %d AND account = '%s'", by, entry, clearing),
				fmt.Sprintf("UPDATE ledger_postings SET amount = amount - %d WHERE entry_id = %d AND account = '%s'", by, entry, receivable),
				fmt.Sprintf("UPDATE ledger_accounts SET balance = balance + %d WHERE code = '%s'", by, clearing),
				fmt.Sprintf("UPDATE ledger_accounts SET balance = balance - %d WHERE code = '%s'", by, receivable),
			}
		}
		cases := []struct {
			name         string
			change, undo []string
			want         []string
		}{
			{"both legs and both balances raised alike", raise(50000), raise(-50000),
				[]string{fmt.Sprintf("entry %d (payment:%d): its contents do not match its content hash", entry, pay), fmt.Sprintf("payment %d (employer:1)", pay)}},
			{"a payment's amount",
				[]string{fmt.Sprintf("UPDATE payments SET amount = amount + 1 WHERE id = %d", pay)},
				[]string{fmt.Sprintf("UPDATE payments SET amount = amount - 1 WHERE id = %d", pay)},
				[]string{fmt.Sprintf("payment %d (employer:1): amount", pay)}},
			{"a bill's total",
				[]string{fmt.Sprintf("UPDATE bills SET total = total + 1 WHERE id = %d", bill)},
				[]string{fmt.Sprintf("UPDATE bills SET total = total - 1 WHERE id = %d", bill)},
				[]string{fmt.Sprintf("bill %d (employer:1, %s)", bill, month)}},
		}
		for _, c := range cases {
			checksExec(t, d, c.change...)
			code, _, errOut := check()
			if code != 1 || !strings.Contains(errOut, "FAILED") {
				t.Errorf("%s: ledger check exited %d: %s", c.name, code, errOut)
			}
			for _, w := range c.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("%s: ledger check does not name %q:\n%s", c.name, w, errOut)
				}
			}
			checksExec(t, d, c.undo...)
			if code, _, errOut := check(); code != 0 {
				t.Fatalf("%s undone: %s", c.name, errOut)
			}
		}
	})
}

// TestAttackAuditTailCutCommand runs the server with a head taken every second, cuts the chain's
// tail and rewrites audit_head. The server logs that the head it took is gone and /metrics says
// so; `shebao audit verify` alone still passes — it cannot know — and with --expect-head set to a
// head the server wrote to its log before the cut it fails, naming the missing entry.
func TestAttackAuditTailCutCommand(t *testing.T) {
	eachDB(t, func(t *testing.T, dbArgs []string, open func() *db.DB) {
		userAdd := func(name string) {
			t.Helper()
			if code, _, errOut := run(t, nil, "", append([]string{"user", "add", "--username", name, "--role", "clerk", "--region", "330100"}, dbArgs...)...); code != 0 {
				t.Fatalf("user add: %s", errOut)
			}
		}
		if code, _, errOut := run(t, nil, "", append([]string{"migrate"}, dbArgs...)...); code != 0 {
			t.Fatalf("migrate: %s", errOut)
		}
		userAdd("clerk-1")
		addr := freeAddr(t)
		_, logs, _, stop := startServeLogged(t, append(append([]string{"serve"}, dbArgs...), "--audit-head-every", "1s", "--addr", addr)...)
		defer stop()
		headLine := regexp.MustCompile(`msg="audit head" head=(\d+):([0-9a-f]{64})`)
		// waitFor polls until cond holds on the log, for at most 15 s.
		waitFor := func(what string, cond func(log string) bool) string {
			t.Helper()
			for start := time.Now(); time.Since(start) < 15*time.Second; time.Sleep(100 * time.Millisecond) {
				if l := logs.String(); cond(l) {
					return l
				}
			}
			t.Fatalf("waited in vain for %s; the log:\n%s", what, logs.String())
			return ""
		}
		lastHead := func(log string) audit.Head {
			m := headLine.FindAllStringSubmatch(log, -1)
			if len(m) == 0 {
				return audit.Head{}
			}
			h, _ := audit.ParseHead(m[len(m)-1][1] + ":" + m[len(m)-1][2])
			return h
		}
		d := open()
		current := func() audit.Head {
			h, err := audit.CurrentHead(context.Background(), d.R())
			if err != nil {
				t.Fatal(err)
			}
			return h
		}
		kept := current()
		waitFor("the first head in the log", func(l string) bool { return lastHead(l) == kept })
		userAdd("clerk-2")
		userAdd("clerk-3")
		target := current()
		log := waitFor("the head after two more users", func(l string) bool { return lastHead(l) == target })
		recorded := lastHead(log) // what log storage keeps outside the database
		metrics := func() string {
			resp, err := http.Get("http://" + addr + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return string(b)
		}
		if m := metrics(); !strings.Contains(m, fmt.Sprintf(`shebao_audit_head_info{hash="%s",seq="%d"} 1`, recorded.Hash, recorded.Seq)) ||
			!strings.Contains(m, "shebao_audit_head_broken 0") {
			t.Fatalf("/metrics does not show the head %s", recorded)
		}

		checksExec(t, d, fmt.Sprintf("DELETE FROM audit_log WHERE seq > %d", kept.Seq),
			fmt.Sprintf("UPDATE audit_head SET seq = %d, hash = '%s' WHERE id = 1", kept.Seq, kept.Hash))
		waitFor("the server to notice the cut", func(l string) bool {
			return strings.Contains(l, "level=ERROR") && strings.Contains(l, "no longer in it") && strings.Contains(l, fmt.Sprintf("seq=%d", recorded.Seq))
		})
		if m := metrics(); !strings.Contains(m, "shebao_audit_head_broken 1") || !strings.Contains(m, fmt.Sprintf("shebao_audit_head_seq %d", kept.Seq)) {
			t.Errorf("/metrics after the cut:\n%s", m)
		}

		verify := func(extra ...string) (int, string, string) {
			return run(t, nil, "", append(append([]string{"audit", "verify"}, dbArgs...), extra...)...)
		}
		if code, out, errOut := verify(); code != 0 || !strings.Contains(out, fmt.Sprintf("head %s", kept)) {
			t.Fatalf("without a recorded head the cut chain verifies (nothing in the database shows it): %d %s %s", code, out, errOut)
		}
		code, _, errOut := verify("--expect-head", recorded.String())
		if code != 1 || !strings.Contains(errOut, fmt.Sprintf("audit entry %d: missing: the chain ends at entry %d", recorded.Seq, kept.Seq)) {
			t.Fatalf("against the head the server logged: %d %s", code, errOut)
		}
		if code, out, errOut := verify("--expect-head", kept.String()); code != 0 || !strings.Contains(out, "every expected head (1)") {
			t.Fatalf("against a head still in the chain: %d %s %s", code, out, errOut)
		}
		if code, _, errOut := verify("--expect-head", "12:abc"); code != 2 || !strings.Contains(errOut, "SEQ:HASH") {
			t.Fatalf("a malformed head: %d %s", code, errOut)
		}
	})
}
