package web

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/registry"
)

// TestTransferAPI: a transfer from 330100 to 330200 over the API alone, on each engine. Ningbo's
// clerk applies (a retry under the key answers the first answer) and another accepts; Hangzhou's
// reviewer approves. The amounts equal the reference computed here from the person's paid lines
// (12 % of each month's base, plus the account balances); the months count in Ningbo's pension
// outlook; Hangzhou's insurance of the person is closed; the ledger of both regions checks and
// every fen that left Hangzhou arrived in Ningbo.
func TestTransferAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newTestEnv(t, d)
		ctx := context.Background()
		e.paidMonth()
		e.serveOtherRegion()
		if err := e.reg.ChangeStaff(ctx, e.principal(auth.Employer), e.employerUSCC, registry.StaffChange{Op: registry.OpRemove, IDNumber: e.personID,
			EndDate: period.Today(e.db.Now()).Format("2006-01-02"), Reason: "resigned"}); err != nil {
			t.Fatal(err)
		}
		var person int64
		d.R().QueryRowContext(ctx, "SELECT id FROM persons WHERE id_number = $1", e.personID).Scan(&person)
		// The reference, from the lines of paid bills and the accounts as they stand.
		var pooled, bases int64
		if err := db.EachRow(ctx, d.R(), func(scan func(...any) error) error {
			var base int64
			err := scan(&base)
			bases += base
			pooled += (base*12 + 50) / 100
			return err
		}, `SELECT SUM(l.base) FROM contribution_lines l JOIN bills b ON b.id = l.bill_id WHERE l.person_id = $1 AND b.paid >= b.total
			GROUP BY l.month`, person); err != nil {
			t.Fatal(err)
		}
		balance := func(account string) money.Fen {
			b, err := ledger.Balance(ctx, d.R(), account)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		pensionA, medicalA := balance(ledger.PersonAccount(testRegion, ledger.PersonPension, person)), balance(ledger.PersonAccount(testRegion, ledger.PersonMedical, person))
		if pooled == 0 || pensionA == 0 {
			t.Fatalf("nothing to move: pooled %d, pension %s", pooled, pensionA)
		}
		fundA, fundB := balance(ledger.FundAccount(testRegion, "pension")), balance(ledger.FundAccount(nextRegion, "pension"))

		clerkNB, clerkNB2 := e.regionUser("u-clerk-nb", auth.Clerk, nextRegion), e.regionUser("u-clerk-nb2", auth.Clerk, nextRegion)
		decode := func(status int, body string, want int) transferJSON {
			t.Helper()
			var tr transferJSON
			if status != want || json.Unmarshal([]byte(body), &tr) != nil {
				t.Fatalf("status %d (%s); want %d", status, body, want)
			}
			return tr
		}
		e.idemKey = "nb-apply-1"
		status, first, _ := e.send(clerkNB, "POST", "/api/v1/transfers", `{"id_number":"`+e.personID+`"}`)
		tr := decode(status, first, 201)
		status, again, h := e.send(clerkNB, "POST", "/api/v1/transfers", `{"id_number":"`+e.personID+`"}`)
		if status != 201 || again != first || h.Get("Idempotency-Replayed") != "true" {
			t.Fatalf("retry: %d %s %v; want the first answer replayed", status, again, h)
		}
		if tr.Status != "applied" || tr.FromRegion != testRegion || tr.ToRegion != nextRegion {
			t.Fatalf("applied: %+v", tr)
		}
		e.idemKey = "nb-accept-1"
		status, body, _ := e.send(clerkNB2, "POST", "/api/v1/transfers/"+tr.No+"/accept", "")
		if tr = decode(status, body, 200); tr.Status != "computed" {
			t.Fatalf("accepted: %+v", tr)
		}
		e.idemKey = ""
		status, body = e.do(auth.Reviewer, "GET", "/api/v1/transfers/"+tr.No, "")
		tr = decode(status, body, 200)
		want := map[string]string{"pension_account": pensionA.String(), "pension_pooled": money.Fen(pooled).String(),
			"pooled_bases": money.Fen(bases).String(), "medical_account": medicalA.String(),
			"total": (pensionA + medicalA + money.Fen(pooled)).String()}
		got := map[string]string{"pension_account": tr.PensionAccount, "pension_pooled": tr.PensionPooled, "pooled_bases": tr.PooledBases,
			"medical_account": tr.MedicalAccount, "total": tr.Total}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %s; want %s", k, got[k], v)
			}
		}
		e.idemKey = "hz-approve-1"
		status, body = e.do(auth.Reviewer, "POST", "/api/v1/transfers/"+tr.No+"/approve", "")
		tr = decode(status, body, 200)
		e.idemKey = ""
		if tr.Status != "done" || tr.PensionMonths != 1 || len(tr.Steps) != 7 {
			t.Fatalf("approved: %+v", tr)
		}
		status, body, _ = e.send(clerkNB, "GET", "/api/v1/transfers/"+tr.No, "")
		if tr = decode(status, body, 200); len(tr.Months["pension"]) != 1 || tr.Months["pension"][0] != period.MonthOf(d.Now()).String() {
			t.Fatalf("months recorded in Ningbo: %v", tr.Months)
		}
		status, body, _ = e.send(clerkNB, "GET", "/api/v1/persons/"+e.personID+"/pension", "")
		var outlook struct {
			Months int `json:"contribution_months"`
		}
		if status != 200 || json.Unmarshal([]byte(body), &outlook) != nil || outlook.Months != 1 {
			t.Fatalf("Ningbo's pension outlook: %d %s; want the month transferred", status, body)
		}
		var open int
		d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM participations WHERE person_id = $1 AND region = $2 AND end_month = 0", person, testRegion).Scan(&open)
		if open != 0 {
			t.Fatalf("%d participations still open in Hangzhou", open)
		}
		total := pensionA + medicalA + money.Fen(pooled)
		for account, want := range map[string]money.Fen{
			ledger.PersonAccount(testRegion, ledger.PersonPension, person): 0, ledger.PersonAccount(nextRegion, ledger.PersonPension, person): pensionA,
			ledger.PersonAccount(nextRegion, ledger.PersonMedical, person): medicalA, ledger.FundAccount(testRegion, "pension"): fundA - money.Fen(pooled),
			ledger.FundAccount(nextRegion, "pension"): fundB + money.Fen(pooled), ledger.TransferAccount(testRegion, nextRegion): 0,
			ledger.TransferAccount(nextRegion, testRegion): 0, ledger.ClearingAccount(nextRegion): total,
		} {
			if got := balance(account); got != want {
				t.Errorf("%s: %s; want %s", account, got, want)
			}
		}
		if _, err := ledger.Check(ctx, d); err != nil {
			t.Fatal(err)
		}
		if _, err := contrib.Check(ctx, d); err != nil {
			t.Fatal(err)
		}
	})
}
