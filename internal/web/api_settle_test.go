package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/apdu"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/keys"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/settle"
)

const testPIN = "246810"

// softCardFor personalises a software card for a produced card record, as the manufacturer does
// with the record's card number and identification code.
func (e *testEnv) softCardFor(c card.Card) *apdu.SoftCard {
	e.t.Helper()
	id, err := apdu.ParseCardID(c.CardID)
	if err != nil {
		e.t.Fatal(err)
	}
	sc, err := e.keys.Personalise(context.Background(), keys.CardSpec{CardNumber: c.CardNumber, CardID: id, PIN: testPIN,
		IssueDate: e.db.Now(), ExpiryDate: e.db.Now().AddDate(10, 0, 0),
		Holder: apdu.HolderData{IDNumber: string(c.IDNumber), Name: c.Name, Gender: '1', Ethnicity: 1, BirthDate: c.IDNumber.BirthDate()}})
	if err != nil {
		e.t.Fatal(err)
	}
	return sc
}

// billBody is a settlement's JSON body with the identity given.
func billBody(date, identity string, amounts ...string) string {
	var items []string
	for i, a := range amounts {
		items = append(items, fmt.Sprintf(`{"code":"%03d","name":"药品%d","category":"A","amount":"%s"}`, i+1, i+1, a))
	}
	return `{"kind":"outpatient","date":"` + date + `","identity":` + identity + `,"items":[` + strings.Join(items, ",") + `]}`
}

// cardIdentity is what a hospital terminal does at the counter: it gives the card the bill to sign
// and answers the identity that carries the card's proof.
func (e *testEnv) cardIdentity(sc *apdu.SoftCard, body string) string {
	e.t.Helper()
	var req settlementRequest
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		e.t.Fatal(err)
	}
	var un [4]byte
	_, _ = rand.Read(un[:])
	data, err := settle.CardData(testInstitution, req.toRequest(""), un)
	if err != nil {
		e.t.Fatal(err)
	}
	pay, err := (&apdu.Terminal{Card: sc}).Pay(context.Background(), testPIN, data)
	if err != nil {
		e.t.Fatal(err)
	}
	return fmt.Sprintf(`{"social_security_card":{"card_id":"%s","key_version":%d,"atc":%d,"unpredictable_number":"%s","cryptogram":"%s"}}`,
		apdu.FormatCardID(pay.CardID), pay.KeyVersion, pay.ATC, strings.ToUpper(hex.EncodeToString(un[:])), strings.ToUpper(hex.EncodeToString(pay.Cryptogram[:])))
}

// replace swaps the identity of a settlement body.
func withIdentity(body, identity string) string {
	var m map[string]json.RawMessage
	_ = json.Unmarshal([]byte(body), &m)
	m["identity"] = json.RawMessage(identity)
	b, _ := json.Marshal(m)
	return string(b)
}

func (e *testEnv) settleAs(key, body string) (int, string, string) {
	e.t.Helper()
	e.idemKey = key
	defer func() { e.idemKey = "" }()
	status, resp, h := e.send(e.tokens[auth.Institution], "POST", "/api/v1/settlements", body)
	return status, resp, h.Get("Idempotency-Replayed")
}

// TestSettlementIdempotencyOverAPI: the same key twice → one debit and the first answer; the same
// key with other content → 409; a refund twice → one reversal; on both engines.
func TestSettlementIdempotencyOverAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newTestEnv(t, d)
		today := period.Today(e.db.Now()).Format("2006-01-02")
		body := billBody(today, `{"medical_card":"`+e.medicalCard()+`"}`, "12.50", "30.00")
		status, first, replay := e.settleAs("hisK1", body)
		if status != 201 || replay != "" {
			t.Fatalf("settle: %d %s", status, first)
		}
		var st map[string]any
		_ = json.Unmarshal([]byte(first), &st)
		for _, k := range []string{"id", "total", "self_pay_c", "first_self_pay_b", "eligible", "deductible", "ratio", "pool", "account", "cash", "cap_left", "account_balance"} {
			if _, ok := st[k]; !ok {
				t.Errorf("the answer has no %s: %s", k, first)
			}
		}
		if st["total"] != "42.50" || st["ratio"] != "50" {
			t.Fatalf("answer %s", first)
		}
		status, again, replay := e.settleAs("hisK1", body)
		if status != 201 || again != first || replay != "true" {
			t.Fatalf("retry: %d %s (replayed %q); first %s", status, again, replay, first)
		}
		if status, resp, _ := e.settleAs("hisK1", strings.Replace(body, "30.00", "31.00", 1)); status != 409 {
			t.Fatalf("same key, other bill: %d %s", status, resp)
		}
		if status, resp, _ := e.settleAs("", body); status != 422 || !strings.Contains(resp, "idempotency_key") {
			t.Fatalf("no key: %d %s", status, resp)
		}
		var n int
		d.R().QueryRowContext(context.Background(), "SELECT COUNT(*) FROM settlements").Scan(&n)
		if n != 1 {
			t.Fatalf("%d settlements for one key", n)
		}
		id := st["id"].(string)
		e.idemKey = "hisR1"
		status, r1, h := e.send(e.tokens[auth.Institution], "POST", "/api/v1/settlements/"+id+"/refund", "")
		status2, r2, h2 := e.send(e.tokens[auth.Institution], "POST", "/api/v1/settlements/"+id+"/refund", "")
		e.idemKey = "hisR2"
		status3, r3, _ := e.send(e.tokens[auth.Institution], "POST", "/api/v1/settlements/"+id+"/refund", "")
		e.idemKey = ""
		if status != 200 || h.Get("Idempotency-Replayed") != "" || status2 != 200 || r2 != r1 || h2.Get("Idempotency-Replayed") != "true" || status3 != 409 {
			t.Fatalf("refunds: %d %s / %d %s / %d %s", status, r1, status2, r2, status3, r3)
		}
		var reversals int
		d.R().QueryRowContext(context.Background(), "SELECT COUNT(*) FROM ledger_entries WHERE cause = 'reversal'").Scan(&reversals)
		if reversals > 1 {
			t.Fatalf("%d reversals", reversals)
		}
		if _, err := ledger.Check(context.Background(), d); err != nil {
			t.Fatal(err)
		}
		if _, err := settle.Check(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	})
}

// TestCardPaymentsAndRefusals: the social security card pays with its proof bound to the bill; a
// replayed or altered proof, a lost, temporarily lost or cancelled card, a used or expired e-card
// code and a medical card over its limit are each refused, through the terminal library and the
// API.
func TestCardPaymentsAndRefusals(t *testing.T) {
	clock := dbtest.RunningClock(dbtest.Now())
	dbtest.EachWith(t, dbtest.Options{Now: clock.Now}, func(t *testing.T, d *db.DB) {
		clock.Set(dbtest.Now())
		e := newTestEnv(t, d)
		ctx := context.Background()
		today := period.Today(e.db.Now()).Format("2006-01-02")
		c := e.cardAt(card.Active, "")
		sc := e.softCardFor(c)
		body := billBody(today, `{}`, "20.00")
		proof := e.cardIdentity(sc, body)
		if status, resp, _ := e.settleAs("card-1", withIdentity(body, proof)); status != 201 || !strings.Contains(resp, `"means":"social_security_card"`) {
			t.Fatalf("paying with the card: %d %s", status, resp)
		}
		// The same proof under another key: used already.
		if status, resp, _ := e.settleAs("card-2", withIdentity(body, proof)); status != 409 || !strings.Contains(resp, "used already") {
			t.Fatalf("a replayed proof: %d %s", status, resp)
		}
		// A fresh proof, but the bill changed on its way to the server.
		fresh := e.cardIdentity(sc, body)
		if status, resp, _ := e.settleAs("card-3", withIdentity(billBody(today, `{}`, "200.00"), fresh)); status != 422 || !strings.Contains(resp, "does not match") {
			t.Fatalf("an altered bill: %d %s", status, resp)
		}
		// A line changed but not the total.
		fresh = e.cardIdentity(sc, billBody(today, `{}`, "10.00", "10.00"))
		if status, resp, _ := e.settleAs("card-4", withIdentity(billBody(today, `{}`, "5.00", "15.00"), fresh)); status != 422 {
			t.Fatalf("an altered line: %d %s", status, resp)
		}
		// A card in each refused state.
		clerk := e.principal(auth.Clerk)
		for _, c := range []struct {
			name string
			to   func(card.Card) error
			want string
		}{
			{"temporarily lost", func(c card.Card) error { _, err := e.cards.ReportTemporaryLoss(ctx, clerk, c.ID); return err }, "temporarily lost"},
			{"lost", func(c card.Card) error { _, err := e.cards.ReportLoss(ctx, clerk, c.ID); return err }, "reported lost"},
			{"cancelled", func(c card.Card) error { _, err := e.cards.Cancel(ctx, clerk, c.ID, "emigrated"); return err }, "cancelled"},
		} {
			other := e.cardAt(card.Active, "")
			osc := e.softCardFor(other)
			if err := c.to(other); err != nil {
				t.Fatal(err)
			}
			id := e.cardIdentity(osc, body)
			if status, resp, _ := e.settleAs("state-"+c.name, withIdentity(body, id)); status != 422 || !strings.Contains(resp, c.want) {
				t.Errorf("a %s card: %d %s", c.name, status, resp)
			}
		}
		// The electronic card: a code pays once; an old code is refused.
		mine := e.activateOwn()
		_ = mine
		qr, _, err := e.cards.QR(ctx, e.principal(auth.Resident))
		if err != nil {
			t.Fatal(err)
		}
		qrBody := billBody(today, `{"ecard_qr":"`+qr+`"}`, "15.00")
		if status, resp, _ := e.settleAs("qr-1", qrBody); status != 201 || !strings.Contains(resp, `"means":"ecard"`) {
			t.Fatalf("paying with the e-card: %d %s", status, resp)
		}
		if status, resp, _ := e.settleAs("qr-2", qrBody); status != 422 || !strings.Contains(resp, "already used") {
			t.Fatalf("a used code: %d %s", status, resp)
		}
		old, _, _ := e.cards.QR(ctx, e.principal(auth.Resident))
		clock.Advance(61 * time.Second)
		if status, resp, _ := e.settleAs("qr-3", billBody(today, `{"ecard_qr":"`+old+`"}`, "15.00")); status != 422 || !strings.Contains(resp, "expired") {
			t.Fatalf("an expired code: %d %s", status, resp)
		}
		// The bank's medical card beyond its limit.
		if status, resp, _ := e.settleAs("mc-1", billBody(today, `{"medical_card":"`+e.medicalCard()+`"}`, "600.00")); status != 422 || !strings.Contains(resp, "use the social security card") {
			t.Fatalf("a medical card over its limit: %d %s", status, resp)
		}
		var n int
		d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM settlements").Scan(&n)
		if n != 2 {
			t.Fatalf("%d settlements stored; want the card's and the e-card's", n)
		}
		if _, err := settle.Check(ctx, d); err != nil {
			t.Fatal(err)
		}
	})
}
