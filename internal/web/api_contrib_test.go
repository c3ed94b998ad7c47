package web

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/period"
)

// TestPaymentAPI pays an employer's bill through the API: the employer sees what it owes, the bank
// records the money, a retry changes nothing, a reused key with other content is refused, and bad
// input names its fields.
func TestPaymentAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newTestEnv(t, d)
		payer := e.billedEmployer()
		bills := e.call(auth.Employer, "GET", "/api/v1/bills", "", 200)
		list := bills["bills"].([]any)
		if bills["payer"] != payer || len(list) != 1 {
			t.Fatalf("own bills: %v", bills)
		}
		owing := list[0].(map[string]any)["owing"].(string)
		if owing == "0.00" {
			t.Fatalf("nothing owed on a new bill: %v", list[0])
		}
		today := period.Today(d.Now()).Format("2006-01-02")
		body := fmt.Sprintf(`{"payer":%q,"amount":%q,"paid_on":%q,"idempotency_key":"BANK-0001"}`, payer, owing, today)
		status, first, _ := e.send(e.tokens[auth.Bank], "POST", "/api/v1/payments", body)
		if status != 201 {
			t.Fatalf("payment: %d %s", status, first)
		}
		// A retry answers exactly what the first request answered, marked only by Idempotency-Replayed.
		status, again, h := e.send(e.tokens[auth.Bank], "POST", "/api/v1/payments", body)
		if status != 201 || again != first || h.Get("Idempotency-Replayed") != "true" {
			t.Fatalf("retry: %s then %d %s (Idempotency-Replayed %q)", first, status, again, h.Get("Idempotency-Replayed"))
		}
		other := fmt.Sprintf(`{"payer":%q,"amount":"1.00","paid_on":%q,"idempotency_key":"BANK-0001"}`, payer, today)
		if got := errorOf(t, bodyOf(e.do(auth.Bank, "POST", "/api/v1/payments", other))); got.Code != "conflict" {
			t.Fatalf("reused key: %+v", got)
		}
		status, resp := e.do(auth.Clerk, "POST", "/api/v1/payments", `{"payer":"employer:x","amount":"abc","paid_on":"tomorrow"}`)
		bad := errorOf(t, resp)
		if status != 422 || bad.Fields["amount"] == "" || bad.Fields["paid_on"] == "" || bad.Fields["idempotency_key"] == "" {
			t.Fatalf("bad payment: %d %+v", status, bad)
		}
		after := e.call(auth.Employer, "GET", "/api/v1/bills", "", 200)["bills"].([]any)[0].(map[string]any)
		if after["owing"] != "0.00" || after["paid"] != after["total"] || after["in_arrears"] != false {
			t.Fatalf("after paying: %v", after)
		}
		// The auditor's totals: the month billed and paid, the funds credited in the ledger.
		funds := e.call(auth.Auditor, "GET", "/api/v1/funds", "", 200)
		months := funds["months"].([]any)
		if len(months) != 1 || months[0].(map[string]any)["paid"] != owing || months[0].(map[string]any)["billed"] != owing {
			t.Fatalf("funds: %v (paid %s)", funds, owing)
		}
		if b := funds["fund_balances"].(map[string]any)["pension"]; b == "0.00" || b == nil {
			t.Fatalf("pension fund balance %v", b)
		}
		// The employer's payment history shows the payment, once, with the month it paid.
		hist := e.call(auth.Employer, "GET", "/api/v1/payments", "", 200)["payments"].([]any)
		if len(hist) != 1 || hist[0].(map[string]any)["reference"] != "BANK-0001" || hist[0].(map[string]any)["amount"] != owing {
			t.Fatalf("payments: %v", hist)
		}
		if status, resp := e.do(auth.Clerk, "GET", "/api/v1/payments?payer="+payer+"&limit=0", ""); status != 422 || errorOf(t, resp).Fields["limit"] == "" {
			t.Fatalf("limit=0: %d %s", status, resp)
		}
		// The bureau sees the resident's own statement; staff of another region do not find the person.
		own := e.call(auth.Resident, "GET", "/api/v1/me/contributions", "", 200)
		seen := e.call(auth.Auditor, "GET", "/api/v1/persons/"+e.personID+"/contributions", "", 200)
		if seen["id_number"] != e.personID || fmt.Sprint(seen["lines"]) != fmt.Sprint(own["lines"]) ||
			fmt.Sprint(seen["pension_account"]) != fmt.Sprint(own["pension_account"]) || len(own["lines"].([]any)) != 1 {
			t.Fatalf("the auditor's view %v differs from the resident's %v", seen, own)
		}
		// A page is a calendar year: this one, the only year, so no cursor to an older one.
		year := fmt.Sprint(period.Today(d.Now()).Year())
		if fmt.Sprint(own["years"]) != "["+year+"]" || own["from"] != year+"01" || own["to"] != year+"12" || own["next"] != "" {
			t.Fatalf("the statement's page: years %v, %v to %v, next %v", own["years"], own["from"], own["to"], own["next"])
		}
		if older := e.call(auth.Resident, "GET", "/api/v1/me/contributions?year=2001&limit=10", "", 200); len(older["lines"].([]any)) != 0 || older["from"] != "199201" {
			t.Fatalf("ten years to 2001: %v", older)
		}
		for q, field := range map[string]string{"year=abc": "year", "limit=11": "limit", "limit=0": "limit", "year=2025&cursor=2024": "cursor", "cursor=x": "cursor"} {
			if status, resp := e.do(auth.Resident, "GET", "/api/v1/me/contributions?"+q, ""); status != 422 || errorOf(t, resp).Fields[field] == "" {
				t.Errorf("%s: %d %s", q, status, resp)
			}
		}
		if got := errorOf(t, bodyOf(e.do(auth.Clerk, "GET", "/api/v1/persons/110101199001011234/contributions", ""))); got.Code != "not_found" && got.Code != "invalid" {
			t.Fatalf("unknown person: %+v", got)
		}
		// A resident cannot read an employer's bills.
		if status, _ := e.do(auth.Resident, "GET", "/api/v1/bills?payer="+payer, ""); status != 404 {
			t.Fatalf("resident read an employer's bills: %d", status)
		}
	})
}

func bodyOf(_ int, body string) string { return body }

// TestPayerByNaturalKey: a bank holds an employer's unified social credit code, not shebao's
// internal id: it reports a payment by the USCC; the bills are read by it too (bare or as
// employer:<USCC>), and a person's by the ID number.
func TestPayerByNaturalKey(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newTestEnv(t, d)
		payer := e.billedEmployer()
		for _, name := range []string{e.employerUSCC, "employer:" + e.employerUSCC, payer} {
			status, body := e.do(auth.Clerk, "GET", "/api/v1/bills?payer="+url.QueryEscape(name), "")
			var got struct {
				Payer string            `json:"payer"`
				Bills []json.RawMessage `json:"bills"`
			}
			if status != 200 || json.Unmarshal([]byte(body), &got) != nil || got.Payer != payer || len(got.Bills) != 1 {
				t.Fatalf("bills of %s: %d %s", name, status, body)
			}
		}
		e.idemKey = "BANK-USCC-1"
		status, body := e.do(auth.Bank, "POST", "/api/v1/payments", fmt.Sprintf(`{"payer":%q,"amount":"1.00","paid_on":%q}`,
			e.employerUSCC, period.Today(d.Now()).Format("2006-01-02")))
		e.idemKey = ""
		if status != 201 || !strings.Contains(body, `"payer":"`+payer+`"`) {
			t.Fatalf("a payment named by the USCC: %d %s", status, body)
		}
		if status, body := e.do(auth.Clerk, "GET", "/api/v1/bills?payer="+e.personID, ""); status != 200 || !strings.Contains(body, `"payer":"person:`) {
			t.Fatalf("bills of a person by ID number: %d %s", status, body)
		}
		if status, body := e.do(auth.Clerk, "GET", "/api/v1/bills?payer=91330100MA0000000X", ""); status != 422 {
			t.Fatalf("bills of no one: %d %s", status, body)
		}
	})
}
