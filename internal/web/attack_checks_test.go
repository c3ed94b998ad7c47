package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/period"
)

// Finding 7 of the security review: checks that tampering got past.

// checksExec runs statements in one transaction, as someone with write access to the database.
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

// checksProblems runs what `shebao ledger check` runs and returns every problem listed.
func checksProblems(t *testing.T, d *db.DB) []string {
	t.Helper()
	var out []string
	_, lerr := ledger.Check(context.Background(), d)
	_, cerr := contrib.Check(context.Background(), d)
	for _, err := range []error{lerr, cerr} {
		var v *ledger.Violation
		if errors.As(err, &v) {
			out = append(out, v.Problems...)
		} else if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func checksNamed(t *testing.T, problems []string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		found := false
		for _, p := range problems {
			found = found || strings.Contains(p, w)
		}
		if !found {
			t.Errorf("no problem names %q; the check listed %q", w, problems)
		}
	}
}

// TestAttackLedgerCheckConsistentTampering: a bill paid by the bank over the API; then, in the
// database, both legs of the payment's entry and both balances are raised alike (the entry still
// balances, every balance is still its postings' sum: the old check passed), a payment's amount is
// changed, a bill's total is changed. Each is now named.
func TestAttackLedgerCheckConsistentTampering(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newTestEnv(t, d)
		payer := e.billedEmployer()
		owing := e.call(auth.Employer, "GET", "/api/v1/bills", "", 200)["bills"].([]any)[0].(map[string]any)["owing"].(string)
		paid := e.call(auth.Bank, "POST", "/api/v1/payments", fmt.Sprintf(`{"payer":%q,"amount":%q,"paid_on":%q,"idempotency_key":"BANK-7"}`,
			payer, owing, period.Today(d.Now()).Format("2006-01-02")), 201)
		pay := int64(paid["id"].(float64))
		if p := checksProblems(t, d); len(p) != 0 {
			t.Fatalf("before tampering: %q", p)
		}
		var entry, bill int64
		d.R().QueryRowContext(context.Background(), "SELECT id FROM ledger_entries WHERE idem_key = $1", fmt.Sprintf("payment:%d", pay)).Scan(&entry)
		d.R().QueryRowContext(context.Background(), "SELECT id FROM bills WHERE payer = $1", payer).Scan(&bill)
		var employerID int64
		fmt.Sscanf(payer, "employer:%d", &employerID)
		clearing, receivable := ledger.ClearingAccount(testRegion), ledger.EmployerAccount(testRegion, employerID)
		raise := func(by int) []string {
			return []string{
				fmt.Sprintf("UPDATE ledger_postings SET amount = amount + %d WHERE entry_id = %d AND account = '%s'", by, entry, clearing),
				fmt.Sprintf("UPDATE ledger_postings SET amount = amount - %d WHERE entry_id = %d AND account = '%s'", by, entry, receivable),
				fmt.Sprintf("UPDATE ledger_accounts SET balance = balance + %d WHERE code = '%s'", by, clearing),
				fmt.Sprintf("UPDATE ledger_accounts SET balance = balance - %d WHERE code = '%s'", by, receivable),
			}
		}

		checksExec(t, d, raise(100000)...)
		checksNamed(t, checksProblems(t, d), fmt.Sprintf("entry %d (payment:%d): its contents do not match its content hash", entry, pay),
			fmt.Sprintf("payment %d (%s)", pay, payer))
		checksExec(t, d, raise(-100000)...)

		checksExec(t, d, fmt.Sprintf("UPDATE payments SET amount = amount + 100 WHERE id = %d", pay))
		checksNamed(t, checksProblems(t, d), fmt.Sprintf("payment %d (%s): amount", pay, payer))
		checksExec(t, d, fmt.Sprintf("UPDATE payments SET amount = amount - 100 WHERE id = %d", pay))

		checksExec(t, d, fmt.Sprintf("UPDATE bills SET total = total - 100 WHERE id = %d", bill))
		checksNamed(t, checksProblems(t, d), fmt.Sprintf("bill %d (%s, ", bill, payer))
		checksExec(t, d, fmt.Sprintf("UPDATE bills SET total = total + 100 WHERE id = %d", bill))

		if p := checksProblems(t, d); len(p) != 0 {
			t.Fatalf("every change undone: %q", p)
		}
	})
}

// TestAttackAuditTailCut: entries made over the API, the head recorded, more entries, then the
// tail deleted and audit_head rewritten to the last entry left. GET /api/v1/audit/verify alone
// still says ok — nothing left in the database shows the loss, so it cannot — and with
// expect_head set to the recorded head it fails, naming the missing entry. /metrics shows the head
// the server took, for keeping outside the database.
func TestAttackAuditTailCut(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newTestEnv(t, d)
		verify := func(query string) map[string]any {
			t.Helper()
			return e.call(auth.Auditor, "GET", "/api/v1/audit/verify"+query, "", 200)
		}
		before := verify("")
		if before["ok"] != true {
			t.Fatalf("sound chain: %v", before)
		}
		kept := audit.Head{Seq: int64(before["head_seq"].(float64)), Hash: before["head_hash"].(string)}
		for range 3 {
			e.call(auth.Clerk, "POST", "/api/v1/persons", `{"id_number":"`+e.newID()+`","name":"某","hukou_type":"local"}`, 201)
		}
		recorded := verify("")
		head := recorded["head"].(string)
		if recorded["ok"] != true || recorded["head_seq"].(float64) <= float64(kept.Seq) || head != fmt.Sprintf("%.0f:%s", recorded["head_seq"], recorded["head_hash"]) {
			t.Fatalf("after three registrations: %v", recorded)
		}
		if got := verify("?expect_head=" + url.QueryEscape(head)); got["ok"] != true || got["expected_heads"].(float64) != 1 {
			t.Fatalf("against its own head: %v", got)
		}

		checksExec(t, d, fmt.Sprintf("DELETE FROM audit_log WHERE seq > %d", kept.Seq),
			fmt.Sprintf("UPDATE audit_head SET seq = %d, hash = '%s' WHERE id = 1", kept.Seq, kept.Hash))

		if got := verify(""); got["ok"] != true || got["head_seq"].(float64) != float64(kept.Seq) {
			t.Fatalf("without a recorded head the cut cannot be seen, so verify passes: %v", got)
		}
		got := verify("?expect_head=" + url.QueryEscape(head))
		if got["ok"] != false || got["bad_seq"] != recorded["head_seq"] ||
			!strings.Contains(got["reason"].(string), fmt.Sprintf("missing: the chain ends at entry %d", kept.Seq)) {
			t.Fatalf("against the recorded head %s: %v", head, got)
		}
		if got := verify("?expect_head=" + url.QueryEscape(kept.String()) + "&expect_head=" + url.QueryEscape(head)); got["ok"] != false {
			t.Fatalf("against two heads, one gone: %v", got)
		}
		for _, bad := range []string{"12", "0:" + kept.Hash, "3:xyz", kept.String() + "0"} {
			status, body := e.do(auth.Auditor, "GET", "/api/v1/audit/verify?expect_head="+url.QueryEscape(bad), "")
			if status != 422 || errorOf(t, body).Fields["expect_head"] == "" {
				t.Errorf("expect_head=%q: %d %s", bad, status, body)
			}
		}

		// The head the server takes periodically is in /metrics, hash and all.
		metrics := func() string {
			resp, err := http.Get(e.http.URL + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return string(b)
		}
		if m := metrics(); strings.Contains(m, "shebao_audit_head_seq") || !strings.Contains(m, "shebao_audit_head_broken 0") {
			t.Fatalf("before any head was taken /metrics shows: %s", grepLines(m, "shebao_audit"))
		}
		e.srv.RecordAuditHead(kept, d.Now(), true)
		m := metrics()
		for _, want := range []string{fmt.Sprintf("shebao_audit_head_seq %d", kept.Seq),
			fmt.Sprintf(`shebao_audit_head_info{hash="%s",seq="%d"} 1`, kept.Hash, kept.Seq),
			"shebao_audit_head_timestamp_seconds ", "shebao_audit_head_broken 1"} {
			if !strings.Contains(m, want) {
				t.Errorf("/metrics lacks %q:\n%s", want, grepLines(m, "shebao_audit"))
			}
		}
	})
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
