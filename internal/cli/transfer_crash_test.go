package cli

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
	"github.com/shebao/shebao/internal/transfer"
)

// TestTransfersSurviveSIGKILL approves transfers of forty persons from 330100 to 330200 and
// delivers their messages with `shebao transfers deliver`, SIGKILLed at random moments and run
// again until nothing is left: the funds, the receipts and the remittances (every step that moves
// money) are each interrupted. Then every transfer is done, each of its four ledger entries exists
// once, each person's accounts in 330200 hold exactly what they held in 330100, both clearing
// accounts are empty, every fen that left 330100's bank arrived at 330200's, and the ledger checks.
func TestTransfersSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes for a while")
	}
	eachDB(t, func(t *testing.T, args []string, open func() *db.DB) {
		ctx := context.Background()
		if code, out, errOut := run(t, nil, "", append([]string{"migrate"}, args...)...); code != 0 {
			t.Fatalf("migrate: %d %s %s", code, out, errOut)
		}
		d := open()
		const from, to, persons = "330100", "330200", 40
		pol := policy.NewStore(d)
		for _, r := range []string{from, to} {
			p, _, _ := policy.Default(r, 202001)
			if _, err := pol.Install(ctx, audit.System, p); err != nil {
				t.Fatal(err)
			}
		}
		reg := registry.New(d, auth.New(d, auth.Options{}), pol)
		contribs := contrib.New(d, pol)
		clerk := &auth.Principal{User: auth.User{Username: "clerk", Role: auth.Clerk, Regions: []string{from}}}
		u, _ := ident.MakeUSCC("91330100000000077")
		e, err := reg.RegisterEmployer(ctx, clerk, registry.NewEmployer{USCC: string(u), Name: "转出单位", LegalRep: "x", RiskClass: 1})
		if err != nil {
			t.Fatal(err)
		}
		hr := &auth.Principal{User: auth.User{Username: "hr", Role: auth.Employer, Regions: []string{from}, EmployerID: e.ID}}
		now := period.MonthOf(time.Now())
		var ids []string
		csv := "操作,身份证号,姓名,缴费基数,月份\n"
		for i := range persons {
			n, _ := ident.MakeIDNumber(fmt.Sprintf("3301061990%02d%02d%03d", 1+i%12, 1+i%28, i))
			ids = append(ids, string(n))
			csv += fmt.Sprintf("增员,%s,职工,%d.00,%s\n", n, 6000+i*311, now.Add(-2))
		}
		if _, err := reg.ImportStaff(ctx, hr, string(u), "s.csv", []byte(csv)); err != nil {
			t.Fatal(err)
		}
		bank := &auth.Principal{User: auth.User{Username: "bank", Role: auth.Bank, Regions: []string{from}}}
		for _, m := range []period.Month{now.Add(-2), now.Add(-1)} {
			if _, err := contribs.Run(ctx, audit.System, from, m, nil); err != nil {
				t.Fatal(err)
			}
			bills, err := contribs.Bills(ctx, clerk, contrib.EmployerPayer(e.ID))
			if err != nil {
				t.Fatal(err)
			}
			var owing money.Fen
			for _, b := range bills {
				owing += b.Owing()
			}
			if _, err := contribs.RecordPayment(ctx, bank, contrib.NewPayment{IdemKey: "pay-" + m.String(), Payer: contrib.EmployerPayer(e.ID),
				Amount: owing.String(), PaidOn: period.Today(time.Now()).Format("2006-01-02")}); err != nil {
				t.Fatal(err)
			}
		}
		svc := transfer.New(d)
		clerkB := &auth.Principal{User: auth.User{Username: "clerk-b", Role: auth.Clerk, Regions: []string{to}}}
		reviewer := &auth.Principal{User: auth.User{Username: "reviewer", Role: auth.Reviewer, Regions: []string{from}}}
		before := map[string][2]money.Fen{}
		var nos []string
		var moved money.Fen
		for _, id := range ids {
			if err := reg.ChangeStaff(ctx, hr, string(u), registry.StaffChange{Op: registry.OpRemove, IDNumber: id,
				EndDate: period.Today(time.Now()).Format("2006-01-02"), Reason: "resigned"}); err != nil {
				t.Fatal(err)
			}
			tr, err := svc.Apply(ctx, clerkB, transfer.NewTransfer{IDNumber: id})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Accept(ctx, &auth.Principal{User: auth.User{Username: "clerk-b2", Role: auth.Clerk, Regions: []string{to}}}, tr.No); err != nil {
				t.Fatal(err)
			}
			nos = append(nos, tr.No)
		}
		if _, err := svc.Deliver(ctx); err != nil { // the requests: each computed in 330100
			t.Fatal(err)
		}
		for i, no := range nos {
			var person int64
			d.R().QueryRowContext(ctx, "SELECT id FROM persons WHERE id_number = $1", ids[i]).Scan(&person)
			held, err := ledger.Balance(ctx, d.R(), ledger.PersonAccount(from, ledger.PersonPension, person))
			if err != nil {
				t.Fatal(err)
			}
			tr, err := svc.Approve(ctx, reviewer, no)
			if err != nil || held == 0 || tr.Amounts.PensionAccount != held {
				t.Fatalf("approve %s: %+v, %v; want the %s the account held", no, tr.Amounts, err, held)
			}
			before[ids[i]] = [2]money.Fen{tr.Amounts.PensionAccount, tr.Amounts.MedicalAccount}
			moved += tr.Amounts.Total()
		}
		if moved == 0 {
			t.Fatal("nothing to move")
		}

		// Deliver the funds, receipts and remittances under random SIGKILLs.
		deliver := func() *exec.Cmd {
			return asCommand(append([]string{"transfers", "deliver", "--pause", "20ms"}, args...)...)
		}
		start := time.Now()
		rng := rand.New(rand.NewPCG(uint64(start.UnixNano()), 15))
		kills, between := 0, 0
		for attempt := 0; ; attempt++ {
			if attempt > 40 {
				t.Fatal("the deliveries never finished")
			}
			c := deliver()
			var stderr strings.Builder
			c.Stderr = &stderr
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- c.Wait() }()
			// Twelve kills at moments drawn over a few dozen deliveries (each message takes two
			// transactions and two pauses of 20 ms), then let it finish. On a loaded machine the
			// process may spend most of a short wait starting, so until one kill has fallen between
			// a delivery's two transactions it goes on killing, over a wider range.
			wait := time.Hour
			switch {
			case attempt < 12:
				wait = 50*time.Millisecond + time.Duration(rng.Int64N(int64(600*time.Millisecond)))
			case between == 0 && attempt < 30:
				wait = 200*time.Millisecond + time.Duration(rng.Int64N(int64(1500*time.Millisecond)))
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("deliver: %v %s", err, stderr.String())
				}
			case <-time.After(wait):
				_ = c.Process.Signal(syscall.SIGKILL)
				if err := <-done; err != nil && strings.Contains(err.Error(), "killed") {
					kills++
				}
				// A message acted on by its receiver but not yet marked delivered by its sender:
				// the kill fell between the two transactions of one delivery.
				var halfway int
				d.R().QueryRowContext(ctx, `SELECT COUNT(*) FROM transfer_inbox i JOIN transfer_messages m ON m.id = i.message_id
					WHERE m.delivered_at = ''`).Scan(&halfway)
				if halfway > 0 {
					between++
				}
				continue
			}
			var left int
			d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM transfer_messages WHERE delivered_at = ''").Scan(&left)
			if left == 0 {
				break
			}
		}
		if kills < 3 || between == 0 {
			t.Errorf("%d kills, %d between a delivery's two transactions; the test no longer tests much", kills, between)
		}
		t.Logf("%d transfers delivered through %d kills (%d between a delivery's transactions) in %v", persons, kills, between, time.Since(start).Round(time.Millisecond))

		balance := func(account string) money.Fen {
			b, err := ledger.Balance(ctx, d.R(), account)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		for i, no := range nos {
			var status string
			d.R().QueryRowContext(ctx, "SELECT status FROM transfers_in WHERE no = $1", no).Scan(&status)
			if status != "done" {
				t.Errorf("transfer %s is %s", no, status)
			}
			for _, step := range []string{"out", "in", "remit", "arrive"} {
				var n int
				d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM ledger_entries WHERE idem_key = $1", "transfer:"+no+":"+step).Scan(&n)
				if n != 1 {
					t.Errorf("transfer %s: %d entries of its %s step; want exactly one", no, n, step)
				}
			}
			var person int64
			d.R().QueryRowContext(ctx, "SELECT id FROM persons WHERE id_number = $1", ids[i]).Scan(&person)
			if got := balance(ledger.PersonAccount(to, ledger.PersonPension, person)); got != before[ids[i]][0] {
				t.Errorf("%s: pension account in %s %s; want %s", ids[i], to, got, before[ids[i]][0])
			}
			if got := balance(ledger.PersonAccount(to, ledger.PersonMedical, person)); got != before[ids[i]][1] {
				t.Errorf("%s: medical account in %s %s; want %s", ids[i], to, got, before[ids[i]][1])
			}
		}
		var inbox, messages int
		d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM transfer_inbox").Scan(&inbox)
		d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM transfer_messages").Scan(&messages)
		if inbox != messages || messages != 4*persons {
			t.Errorf("%d messages, %d taken in; want %d of each", messages, inbox, 4*persons)
		}
		for account, want := range map[string]money.Fen{
			ledger.TransferAccount(from, to): 0, ledger.TransferAccount(to, from): 0, ledger.ClearingAccount(to): moved,
		} {
			if got := balance(account); got != want {
				t.Errorf("%s: %s; want %s", account, got, want)
			}
		}
		if code, out, errOut := run(t, nil, "", append([]string{"ledger", "check"}, args...)...); code != 0 {
			t.Fatalf("ledger check: %d %s %s", code, out, errOut)
		}
	})
}
