package web

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
)

// call sends a request and decodes a JSON answer, failing on an unexpected status.
func (e *testEnv) call(role auth.Role, method, path, body string, want int) map[string]any {
	e.t.Helper()
	status, resp := e.do(role, method, path, body)
	if status != want {
		e.t.Fatalf("%s %s as %s: %d %s; want %d", method, path, role, status, resp, want)
	}
	var out map[string]any
	_ = json.Unmarshal([]byte(resp), &out)
	return out
}

func idOf(m map[string]any) int { return int(m["id"].(float64)) }

// produceAndHandOut takes an applied card through approval, a batch, the manufacturer's result,
// the outlet and collection, as the bureau's staff would over the API.
func (e *testEnv) produceAndHandOut(cardID int, idNumber string) map[string]any {
	e.t.Helper()
	e.call(auth.Clerk, "POST", fmt.Sprintf("/api/v1/cards/%d/photo", cardID), string(testPNG), 200)
	// The clerk gave the photo, so a second person approves.
	e.call(auth.Reviewer, "POST", fmt.Sprintf("/api/v1/cards/%d/approve", cardID), "", 200)
	batch := e.call(auth.CardOfficer, "POST", "/api/v1/card-batches", `{"region":"`+testRegion+`"}`, 201)
	bid := idOf(batch)
	status, file := e.do(auth.CardOfficer, "GET", fmt.Sprintf("/api/v1/card-batches/%d/manufacturer-file", bid), "")
	c := e.call(auth.Clerk, "GET", fmt.Sprintf("/api/v1/cards/%d", cardID), "", 200)
	number := c["card_number"].(string)
	if status != 200 || !strings.Contains(file, c["application_no"].(string)+","+number+","+idNumber) {
		e.t.Fatalf("manufacturer file: %d %s", status, file)
	}
	result := fmt.Sprintf("application_no,card_number,chip_serial,atr\n%s,%s,AD932A48,3B6C0000008154AD932A48\n", c["application_no"], number)
	e.call(auth.CardOfficer, "POST", fmt.Sprintf("/api/v1/card-batches/%d/result", bid), result, 200)
	e.call(auth.CardOfficer, "POST", fmt.Sprintf("/api/v1/card-batches/%d/distribute", bid), `{"outlet":"XH-01"}`, 200)
	return e.call(auth.Clerk, "POST", fmt.Sprintf("/api/v1/cards/%d/collect", cardID), `{"id_number":"`+idNumber+`","card_number":"`+number+`"}`, 200)
}

// TestCardLifecycleThroughAPI: apply → approve → batch → manufacturer result → outlet → collect
// (a wrong ID refused) → activate → temporary loss → lapse after the policy's days → formal loss →
// replacement → the new card active and the old one cancelled; on both databases.
func TestCardLifecycleThroughAPI(t *testing.T) {
	clock := dbtest.NewClock(dbtest.Now())
	dbtest.EachWith(t, dbtest.Options{Now: clock.Now}, func(t *testing.T, d *db.DB) {
		e := newTestEnv(t, d)
		c := e.call(auth.Resident, "POST", "/api/v1/cards", `{"id_number":"`+e.personID+`"}`, 201)
		id := idOf(c)
		if c["state"] != "applied" || c["channel"] != "online" {
			t.Fatalf("application = %v", c)
		}
		// A second application while the first is on its way is a conflict.
		e.call(auth.Clerk, "POST", "/api/v1/cards", `{"id_number":"`+e.personID+`"}`, 409)
		// No photo, no approval; a GIF is not a photo; the resident's own PNG is.
		e.call(auth.Clerk, "POST", fmt.Sprintf("/api/v1/cards/%d/approve", id), "", 409)
		e.call(auth.Resident, "POST", fmt.Sprintf("/api/v1/cards/%d/photo", id), "GIF89a\x01\x00", 422)
		e.call(auth.Resident, "POST", fmt.Sprintf("/api/v1/cards/%d/photo", id), string(testPNG), 200)
		e.call(auth.Clerk, "POST", fmt.Sprintf("/api/v1/cards/%d/approve", id), "", 200)
		e.call(auth.Resident, "POST", fmt.Sprintf("/api/v1/cards/%d/photo", id), string(testPNG), 409)
		batch := e.call(auth.CardOfficer, "POST", "/api/v1/card-batches", `{}`, 201)
		bid := idOf(batch)
		c = e.call(auth.Clerk, "GET", fmt.Sprintf("/api/v1/cards/%d", id), "", 200)
		number, app := c["card_number"].(string), c["application_no"].(string)
		if c["state"] != "in_production" || len(number) != 9 {
			t.Fatalf("in production: %v", c)
		}
		// A bad result file is refused whole, naming its lines.
		bad := "application_no,card_number,chip_serial,atr\n" + app + ",B7K334774,XYZ,3B\n"
		status, body := e.do(auth.CardOfficer, "POST", fmt.Sprintf("/api/v1/card-batches/%d/result", bid), bad)
		if status != 422 || len(errorOf(t, body).Rows) < 2 {
			t.Fatalf("bad result file: %d %s", status, body)
		}
		if c = e.call(auth.Clerk, "GET", fmt.Sprintf("/api/v1/cards/%d", id), "", 200); c["state"] != "in_production" {
			t.Fatalf("a refused result file changed the card: %v", c)
		}
		e.call(auth.CardOfficer, "POST", fmt.Sprintf("/api/v1/card-batches/%d/result", bid),
			"application_no,card_number,chip_serial,atr\n"+app+","+number+",AD932A48,3B6C0000008154AD932A48\n", 200)
		e.call(auth.CardOfficer, "POST", fmt.Sprintf("/api/v1/card-batches/%d/distribute", bid), `{"outlet":"XH-01"}`, 200)
		// Collection: someone else's ID card, or another card, is refused.
		other := e.newID()
		status, body = e.do(auth.Clerk, "POST", fmt.Sprintf("/api/v1/cards/%d/collect", id), `{"id_number":"`+other+`","card_number":"`+number+`"}`)
		if status != 422 || errorOf(t, body).Fields["id_number"] == "" {
			t.Fatalf("collect with the wrong ID: %d %s", status, body)
		}
		status, _ = e.do(auth.Clerk, "POST", fmt.Sprintf("/api/v1/cards/%d/collect", id), `{"id_number":"`+e.personID+`","card_number":"X00000019"}`)
		if status != 422 {
			t.Fatalf("collect with another card: %d", status)
		}
		e.call(auth.Clerk, "POST", fmt.Sprintf("/api/v1/cards/%d/collect", id), `{"id_number":"`+e.personID+`","card_number":"`+number+`"}`, 200)
		e.call(auth.Resident, "POST", fmt.Sprintf("/api/v1/cards/%d/activate", id), `{"pin":"123456"}`, 422) // a run of digits
		if c = e.call(auth.Resident, "POST", fmt.Sprintf("/api/v1/cards/%d/activate", id), `{"pin":"482916"}`, 200); c["state"] != "active" {
			t.Fatalf("activate: %v", c)
		}
		// Temporary loss lapses after the policy's ten days.
		e.call(auth.Resident, "POST", fmt.Sprintf("/api/v1/cards/%d/temporary-loss", id), "", 200)
		clock.Advance(9 * 24 * time.Hour)
		e.cards.Sweep(context.Background())
		if c = e.call(auth.Resident, "GET", fmt.Sprintf("/api/v1/cards/%d", id), "", 200); c["state"] != "temporarily_lost" {
			t.Fatalf("after 9 days: %v", c["state"])
		}
		clock.Advance(25 * time.Hour)
		if n, err := e.cards.Sweep(context.Background()); err != nil || n != 1 {
			t.Fatalf("sweep: %d %v", n, err)
		}
		if c = e.call(auth.Resident, "GET", fmt.Sprintf("/api/v1/cards/%d", id), "", 200); c["state"] != "active" {
			t.Fatalf("after 10 days: %v", c["state"])
		}
		// Formal loss is final: it cannot be unlocked.
		e.call(auth.Resident, "POST", fmt.Sprintf("/api/v1/cards/%d/loss", id), "", 200)
		e.call(auth.Resident, "POST", fmt.Sprintf("/api/v1/cards/%d/unlock", id), "", 409)
		// Replacement: a new application; the old card becomes replaced, then cancelled once the new one is active.
		nc := e.call(auth.Resident, "POST", fmt.Sprintf("/api/v1/cards/%d/replace", id), `{"reason":"lost"}`, 201)
		nid := idOf(nc)
		if int(nc["replaces_id"].(float64)) != id {
			t.Fatalf("replacement = %v", nc)
		}
		e.produceAndHandOut(nid, e.personID)
		e.call(auth.Resident, "POST", fmt.Sprintf("/api/v1/cards/%d/activate", nid), `{"pin":"730518"}`, 200)
		mine := e.call(auth.Resident, "GET", "/api/v1/me/cards", "", 200)["cards"].([]any)
		states := map[int]string{}
		for _, x := range mine {
			m := x.(map[string]any)
			states[idOf(m)] = m["state"].(string)
		}
		if states[nid] != "active" || states[id] != "cancelled" || len(states) != 2 {
			t.Fatalf("cards after replacement: %v", states)
		}
		// The whole story is in the progress inquiry.
		steps := e.call(auth.Resident, "GET", fmt.Sprintf("/api/v1/cards/%d/progress", id), "", 200)["steps"].([]any)
		var actions []string
		for _, s := range steps {
			actions = append(actions, s.(map[string]any)["action"].(string))
		}
		want := "apply approve send_to_manufacturer produce distribute collect activate report_temporary_loss lapse report_loss replace retire"
		if strings.Join(actions, " ") != want {
			t.Fatalf("progress = %v", actions)
		}
		// Another resident sees none of it.
		stranger := e.newPerson()
		_ = stranger
		e.call(auth.Bank, "POST", fmt.Sprintf("/api/v1/cards/%d/bank", nid), `{"bank_account":"6222020200112233445"}`, 200)
		e.call(auth.Bank, "POST", fmt.Sprintf("/api/v1/cards/%d/bank", nid), `{"bank_account":"6222020200112233445"}`, 409)
	})
}

// TestECardQR: a QR code verifies once; a second scan, a scan after 60 s, a code with one changed
// character, and the code of a card reported lost are refused.
func TestECardQR(t *testing.T) {
	clock := dbtest.NewClock(dbtest.Now())
	dbtest.EachWith(t, dbtest.Options{Now: clock.Now}, func(t *testing.T, d *db.DB) {
		e := newTestEnv(t, d)
		e.call(auth.Resident, "POST", "/api/v1/me/ecard", "", 409) // no active card yet
		id := idOf(e.call(auth.Resident, "POST", "/api/v1/cards", `{"id_number":"`+e.personID+`"}`, 201))
		e.produceAndHandOut(id, e.personID)
		e.call(auth.Resident, "POST", fmt.Sprintf("/api/v1/cards/%d/activate", id), `{"pin":"482916"}`, 200)
		e.call(auth.Resident, "GET", "/api/v1/me/ecard/qr", "", 409) // not signed up
		e.call(auth.Resident, "POST", "/api/v1/me/ecard", "", 200)
		qr := e.call(auth.Resident, "GET", "/api/v1/me/ecard/qr", "", 200)["qr"].(string)
		scan := func(code string) (int, string) {
			b, _ := json.Marshal(map[string]string{"qr": code})
			return e.do(auth.Institution, "POST", "/api/v1/ecard/verify", string(b))
		}
		status, body := scan(qr)
		if status != 200 || !strings.Contains(body, `"valid":true`) || !strings.Contains(body, "**********") {
			t.Fatalf("first scan: %d %s", status, body)
		}
		if status, body = scan(qr); status != 409 || !strings.Contains(body, "already used") {
			t.Fatalf("second scan: %d %s", status, body)
		}
		// One changed character anywhere in the payload or the signature.
		fresh := e.call(auth.Resident, "GET", "/api/v1/me/ecard/qr", "", 200)["qr"].(string)
		for _, pos := range []int{8, 20, len(fresh) / 2, len(fresh) - 8} {
			b := []byte(fresh)
			if b[pos] == 'A' {
				b[pos] = 'B'
			} else {
				b[pos] = 'A'
			}
			if status, body := scan(string(b)); status == 200 {
				t.Fatalf("a code changed at %d verified: %s", pos, body)
			}
		}
		if status, _ := scan(fresh); status != 200 {
			t.Fatal("the unchanged code no longer verifies")
		}
		// A code scanned after its 60 seconds.
		late := e.call(auth.Resident, "GET", "/api/v1/me/ecard/qr", "", 200)["qr"].(string)
		clock.Advance(61 * time.Second)
		if status, body := scan(late); status != 409 || !strings.Contains(body, "expired") {
			t.Fatalf("late scan: %d %s", status, body)
		}
		// The code of a card reported lost.
		lost := e.call(auth.Resident, "GET", "/api/v1/me/ecard/qr", "", 200)["qr"].(string)
		e.call(auth.Resident, "POST", fmt.Sprintf("/api/v1/cards/%d/loss", id), "", 200)
		if status, body := scan(lost); status != 409 {
			t.Fatalf("scan of a lost card: %d %s", status, body)
		}
		e.call(auth.Resident, "GET", "/api/v1/me/ecard/qr", "", 409)
		if status, _ := scan("SBQR1.garbage"); status != 422 {
			t.Fatalf("garbage: %d", status)
		}
	})
}

// TestMedicalCardIsForMedicalUseOnly.
func TestMedicalCardIsForMedicalUseOnly(t *testing.T) {
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	m := e.call(auth.Bank, "POST", "/api/v1/medical-cards", `{"id_number":"`+e.personID+`","card_number":"6214830012345678"}`, 201)
	if m["state"] != "issued" {
		t.Fatalf("issued: %v", m)
	}
	e.call(auth.Bank, "POST", "/api/v1/medical-cards", `{"id_number":"`+e.personID+`","card_number":"6214830099999999"}`, 409)
	e.call(auth.Bank, "POST", "/api/v1/medical-cards/6214830012345678/activate", "", 200)
	check := func(purpose string) int {
		status, _ := e.do(auth.Institution, "POST", "/api/v1/medical-cards/check",
			`{"bank":"u-bank","card_number":"6214830012345678","purpose":"`+purpose+`"}`)
		return status
	}
	if s := check("medical"); s != 200 {
		t.Fatalf("medical use: %d", s)
	}
	for _, p := range []string{"unemployment_benefit", "pension", "identity", "bank_payment"} {
		if s := check(p); s != 403 {
			t.Errorf("%s: %d; want 403", p, s)
		}
	}
	e.call(auth.Bank, "POST", "/api/v1/medical-cards/6214830012345678/lose", "", 200)
	if s := check("medical"); s != 409 {
		t.Fatalf("lost card for medical use: %d", s)
	}
	// A person without medical insurance gets no medical card.
	e.call(auth.Bank, "POST", "/api/v1/medical-cards", `{"id_number":"`+e.newPerson()+`","card_number":"6214830055555555"}`, 422)
}

func TestCardExtras(t *testing.T) {
	clock := dbtest.NewClock(dbtest.Now())
	d := dbtest.SQLite(t, dbtest.Options{Now: clock.Now})
	e := newTestEnv(t, d)
	// Public progress: both numbers must match; the answer is masked; it is rate-limited.
	c := e.cardAt("approved", "")
	path := "/api/v1/public/card-progress?id_number=" + string(c.IDNumber) + "&application_no=" + c.ApplicationNo
	status, body := e.do("", "GET", path, "")
	if status != 200 || strings.Contains(body, string(c.IDNumber)) || !strings.Contains(body, "测**") || !strings.Contains(body, "approve") {
		t.Fatalf("public progress: %d %s", status, body)
	}
	if status, _ := e.do("", "GET", "/api/v1/public/card-progress?id_number="+e.newID()+"&application_no="+c.ApplicationNo, ""); status != 404 {
		t.Fatalf("mismatched ID: %d", status)
	}
	limited := false
	for range 25 {
		if status, _ := e.do("", "GET", path, ""); status == 429 {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("the public inquiry is not rate-limited")
	}
	// PIN reset needs the holder's ID card.
	a := e.cardAt("active", "")
	e.call(auth.Clerk, "POST", fmt.Sprintf("/api/v1/cards/%d/pin-reset", a.ID), `{"id_number":"`+e.newID()+`","pin":"730518"}`, 422)
	e.call(auth.Clerk, "POST", fmt.Sprintf("/api/v1/cards/%d/pin-reset", a.ID), `{"id_number":"`+string(a.IDNumber)+`","pin":"730518"}`, 200)
	// A temporary card: active at once, no bank function, expires after 60 days.
	tmp := e.call(auth.Clerk, "POST", "/api/v1/cards/temporary", `{"id_number":"`+e.addStaff()+`"}`, 201)
	if tmp["state"] != "active" || tmp["kind"] != "temporary" {
		t.Fatalf("temporary card: %v", tmp)
	}
	e.call(auth.Bank, "POST", fmt.Sprintf("/api/v1/cards/%d/bank", idOf(tmp)), `{"bank_account":"6222020200112233445"}`, 409)
	clock.Advance(61 * 24 * time.Hour)
	e.cards.Sweep(context.Background())
	if got := e.call(auth.Clerk, "GET", fmt.Sprintf("/api/v1/cards/%d", idOf(tmp)), "", 200); got["state"] != "expired" {
		t.Fatalf("after 61 days: %v", got["state"])
	}
	// Bulk applications by the employer: refused whole with the bad rows named, then applied.
	good1, good2 := e.addStaff(), e.addStaff()
	file := "身份证号\n" + good1 + "\n" + e.newID() + "\n" + good1 + "\n" + good2 + "\n"
	status, body = e.do(auth.Employer, "POST", "/api/v1/employers/"+e.employerUSCC+"/card-applications", file)
	rows := errorOf(t, body).Rows
	if status != 422 || len(rows) != 2 || rows[0].Line != 3 || rows[1].Line != 4 {
		t.Fatalf("bad bulk file: %d %s", status, body)
	}
	got := e.call(auth.Employer, "POST", "/api/v1/employers/"+e.employerUSCC+"/card-applications", "身份证号\n"+good1+"\n"+good2+"\n", 201)
	if got["applied"].(float64) != 2 {
		t.Fatalf("bulk applied %v", got)
	}
}
