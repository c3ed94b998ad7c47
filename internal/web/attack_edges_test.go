package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
)

// The attacks of issue 11's findings 3, 4, 8 and 12, replayed over HTTP against the real server
// on both engines. Each sends what the security review sent and shows it is now refused.

// otherRegion is a second pooling region: Beijing's, as in the review.
const otherRegion = "110100"

// send makes a request with a bearer token ("" for none) and returns the status, the body and
// the answer's headers.
func (e *testEnv) send(token, method, path, body string) (int, string, http.Header) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.http.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", contentTypeOf(path, body))
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	e.setKey(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	e.answers.Write(b)
	return resp.StatusCode, string(b), resp.Header
}

// regionUser makes an account of role in the given regions and returns its API token.
func (e *testEnv) regionUser(name string, role auth.Role, regions ...string) string {
	e.t.Helper()
	ctx := context.Background()
	if _, _, err := e.auth.CreateUser(ctx, nil, audit.System, auth.NewUser{Username: name, Role: role, Regions: regions, Password: testPassword}); err != nil {
		e.t.Fatal(err)
	}
	tok, err := e.auth.IssueToken(ctx, nil, audit.System, name, "test")
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// fieldProblem decodes a 422 answer and returns what it says about field.
func fieldProblem(t *testing.T, status int, body, field string) string {
	t.Helper()
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d (%s); want 422 naming %s", status, body, field)
	}
	got := errorOf(t, body).Fields[field]
	if got == "" {
		t.Fatalf("%s: the answer does not name %s", body, field)
	}
	return got
}

// noRedirects is a client that reports a redirect instead of following it.
func noRedirects() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Finding 3: next=/./\host passed safeNext and http.Redirect cleaned it to Location: /\host,
// which browsers follow to //host.
func TestAttackOpenRedirectAfterLogin(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newTestEnv(t, d)
		login := func(next string) string {
			t.Helper()
			resp, err := noRedirects().PostForm(e.http.URL+"/login", url.Values{"username": {userName(auth.Clerk)}, "password": {testPassword}, "next": {next}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("login with next=%q: %d", next, resp.StatusCode)
			}
			return resp.Header.Get("Location")
		}
		for _, next := range []string{`/./\host`, `/\host`, `//host`, `/.//host`, "/\t/host", `/%2e/\host`, "https://host/", `/a/..\host`} {
			if loc := login(next); loc != "/" {
				t.Errorf("next=%q after login redirects to %q; want /", next, loc)
			}
		}
		if loc := login("/bills?payer=employer:1"); loc != "/bills?payer=employer:1" {
			t.Errorf("a local next became %q", loc)
		}
		// The login form does not carry the attacker's next either.
		resp, err := http.Get(e.http.URL + "/login?next=" + url.QueryEscape(`/./\host`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), `name="next" value="/"`) || strings.Contains(string(b), "host") {
			t.Errorf("login form carries the next it was given")
		}
		// Nor the language switch.
		resp, err = noRedirects().Get(e.http.URL + "/lang/en?next=" + url.QueryEscape(`/./\host`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); loc != "/" {
			t.Errorf("language switch redirects to %q", loc)
		}
		// A page that needs a login sends the whole of its address through next, escaped, and
		// comes back to it after the login.
		resp, err = noRedirects().Get(e.http.URL + "/bills?payer=employer:1&x=2")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		to, _ := url.Parse(resp.Header.Get("Location"))
		if to.Path != "/login" || to.Query().Get("next") != "/bills?payer=employer:1&x=2" {
			t.Fatalf("redirect to login: %q", resp.Header.Get("Location"))
		}
		if loc := login(to.Query().Get("next")); loc != "/bills?payer=employer:1&x=2" {
			t.Errorf("after login: %q", loc)
		}
	})
}

// Finding 4: money.ParseYuan("12,34") was 1234.00, and a payment was recorded so.
func TestAttackCommaAmount(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newTestEnv(t, d)
		payer := e.billedEmployer()
		before := e.call(auth.Employer, "GET", "/api/v1/bills", "", 200)["bills"].([]any)[0].(map[string]any)["owing"]
		today := period.Today(d.Now()).Format("2006-01-02")
		for i, amount := range []string{"12,34", "1,234.00", "¥12.34", "+12.34", "12.345", "１２"} {
			status, body, _ := e.send(e.tokens[auth.Clerk], "POST", "/api/v1/payments",
				fmt.Sprintf(`{"payer":%q,"amount":%q,"paid_on":%q,"idempotency_key":"COMMA-%d"}`, payer, amount, today, i))
			fieldProblem(t, status, body, "amount")
		}
		after := e.call(auth.Employer, "GET", "/api/v1/bills", "", 200)["bills"].([]any)[0].(map[string]any)["owing"]
		if after != before {
			t.Fatalf("owing %v → %v after refused payments", before, after)
		}
		if hist := e.call(auth.Employer, "GET", "/api/v1/payments", "", 200)["payments"].([]any); len(hist) != 0 {
			t.Fatalf("refused payments were recorded: %v", hist)
		}
		// A base typed the same way is refused too, not read as 800000.00.
		status, body, _ := e.send(e.tokens[auth.Employer], "POST", "/api/v1/employers/"+e.employerUSCC+"/staff",
			fmt.Sprintf(`{"id_number":%q,"name":"逗号","base":"8000,00","month":%q}`, e.newID(), period.MonthOf(d.Now())))
		fieldProblem(t, status, body, "base")
	})
}

// Finding 8: the hospital's medical-card check was not region-scoped and answered the full ID
// number, where the electronic card's scan masks it.
func TestAttackMedicalCardCheck(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newTestEnv(t, d)
		number := e.medicalCard()
		var id string
		if err := d.R().QueryRowContext(context.Background(), "SELECT p.id_number FROM medical_cards m JOIN persons p ON p.id = m.person_id WHERE m.card_number = $1",
			number).Scan(&id); err != nil {
			t.Fatal(err)
		}
		body := `{"bank":"u-bank","card_number":"` + number + `","purpose":"medical"}`
		// A hospital of another region learns nothing: the card is unknown to it.
		beijing := e.regionUser("u-hospital-bj", auth.Institution, otherRegion)
		status, answer, _ := e.send(beijing, "POST", "/api/v1/medical-cards/check", body)
		if status != http.StatusNotFound || strings.Contains(answer, id) || strings.Contains(answer, number) {
			t.Fatalf("another region's hospital: %d %s", status, answer)
		}
		// The region's own hospital is told the card may be used, with the number masked.
		status, answer, _ = e.send(e.tokens[auth.Institution], "POST", "/api/v1/medical-cards/check", body)
		if status != http.StatusOK || strings.Contains(answer, id) {
			t.Fatalf("own region's hospital: %d %s", status, answer)
		}
		var got struct {
			Allowed bool `json:"allowed"`
			Card    struct {
				Masked string `json:"id_number_masked"`
				Name   string `json:"name"`
			} `json:"card"`
		}
		if err := json.Unmarshal([]byte(answer), &got); err != nil || !got.Allowed || got.Card.Masked != id[:4]+"**********"+id[14:] || got.Card.Name == "" {
			t.Fatalf("check answer %s (%v)", answer, err)
		}
		// The hospital counter page shows the same, masked.
		counter := e.portalClient(auth.Institution)
		status, page := post(t, counter, e.http.URL+"/counter/medical", url.Values{"bank": {"u-bank"}, "card_number": {number}})
		if status != http.StatusOK || strings.Contains(page, id) || !strings.Contains(page, got.Card.Masked) {
			t.Fatalf("counter page: %d, full ID shown: %v", status, strings.Contains(page, id))
		}
	})
}

// Finding 12: the loose edges.
func TestAttackLooseEdges(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newTestEnv(t, d)
		now := period.MonthOf(d.Now())
		today := period.Today(d.Now())
		payer := e.billedEmployer()
		owing := e.call(auth.Employer, "GET", "/api/v1/bills", "", 200)["bills"].([]any)[0].(map[string]any)["owing"].(string)
		payment := func(key, amount, paidOn string) string {
			return fmt.Sprintf(`{"payer":%q,"amount":%q,"paid_on":%q,"idempotency_key":%q}`, payer, amount, paidOn, key)
		}

		t.Run("paid_on", func(t *testing.T) {
			for _, day := range []string{"0001-01-01", now.First().AddDate(0, 0, -1).Format("2006-01-02"), today.AddDate(0, 0, 1).Format("2006-01-02")} {
				status, body, _ := e.send(e.tokens[auth.Bank], "POST", "/api/v1/payments", payment("DAY-"+day, "1.00", day))
				fieldProblem(t, status, body, "paid_on")
			}
		})

		t.Run("base month", func(t *testing.T) {
			status, body, _ := e.send(e.tokens[auth.Employer], "POST", "/api/v1/employers/"+e.employerUSCC+"/staff/"+e.personID+"/base",
				fmt.Sprintf(`{"base":"9000","month":"-%s"}`, now))
			fieldProblem(t, status, body, "month")
		})

		t.Run("enrolment start", func(t *testing.T) {
			// 202801 in the review, thirteen months ahead of its December 2026.
			status, body, _ := e.send(e.tokens[auth.Clerk], "POST", "/api/v1/enrolments",
				fmt.Sprintf(`{"id_number":%q,"category":"flexible_worker","start_month":%q,"base":"6000"}`, e.newPerson(), now.Add(13)))
			fieldProblem(t, status, body, "start_month")
			// Next month is still fine.
			e.call(auth.Clerk, "POST", "/api/v1/enrolments",
				fmt.Sprintf(`{"id_number":%q,"category":"flexible_worker","start_month":%q,"base":"6000"}`, e.newPerson(), now.Add(1)), 201)
		})

		t.Run("replay and keys per caller", func(t *testing.T) {
			owed := e.call(auth.Employer, "GET", "/api/v1/bills", "", 200)["bills"].([]any)[0].(map[string]any)["owing"].(string)
			if owed != owing {
				t.Fatalf("owing %s, want %s", owed, owing)
			}
			bankPay := payment("BANK-REF-7", "10.00", today.Format("2006-01-02"))
			status, first, _ := e.send(e.tokens[auth.Bank], "POST", "/api/v1/payments", bankPay)
			if status != 201 || !strings.Contains(first, `"allocations":[{`) {
				t.Fatalf("bank's payment: %d %s", status, first)
			}
			// The bank's retry gets exactly its first answer, allocations included.
			status, again, h := e.send(e.tokens[auth.Bank], "POST", "/api/v1/payments", bankPay)
			if status != 201 || again != first || h.Get("Idempotency-Replayed") != "true" {
				t.Fatalf("bank's retry: %d %s (Idempotency-Replayed %q); first %s", status, again, h.Get("Idempotency-Replayed"), first)
			}
			// A clerk sending the bank's key records a payment of the clerk's own, not the bank's.
			status, clerks, h := e.send(e.tokens[auth.Clerk], "POST", "/api/v1/payments", bankPay)
			if status != 201 || h.Get("Idempotency-Replayed") != "" || clerks == first {
				t.Fatalf("clerk with the bank's key: %d %s (Idempotency-Replayed %q); the bank's was %s", status, clerks, h.Get("Idempotency-Replayed"), first)
			}
			var b, c struct{ ID int64 }
			_ = json.Unmarshal([]byte(first), &b)
			_ = json.Unmarshal([]byte(clerks), &c)
			if b.ID == 0 || c.ID == 0 || b.ID == c.ID {
				t.Fatalf("payment ids: bank %d, clerk %d", b.ID, c.ID)
			}
			// Each caller's retry is its own; the same key with other content from the same caller
			// is still a conflict.
			if _, again, _ := e.send(e.tokens[auth.Clerk], "POST", "/api/v1/payments", bankPay); again != clerks {
				t.Fatalf("clerk's retry %s; want %s", again, clerks)
			}
			if _, again, _ := e.send(e.tokens[auth.Bank], "POST", "/api/v1/payments", bankPay); again != first {
				t.Fatalf("bank's retry after the clerk's %s; want %s", again, first)
			}
			status, body, _ := e.send(e.tokens[auth.Clerk], "POST", "/api/v1/payments", payment("BANK-REF-7", "11.00", today.Format("2006-01-02")))
			if status != http.StatusConflict || errorOf(t, body).Code != "conflict" {
				t.Fatalf("same key, other content: %d %s", status, body)
			}
			hist := e.call(auth.Employer, "GET", "/api/v1/payments", "", 200)["payments"].([]any)
			if len(hist) != 2 {
				t.Fatalf("%d payments recorded; want the bank's and the clerk's", len(hist))
			}
		})

		t.Run("cross-region enrolment", func(t *testing.T) {
			ctx := context.Background()
			p, _, err := policy.Default(otherRegion, 202001)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.pol.Install(ctx, audit.System, p); err != nil {
				t.Fatal(err)
			}
			// A person registered at a Beijing window.
			e.regionUser("u-clerk-bj", auth.Clerk, otherRegion)
			bj, err := e.auth.UserByName(ctx, "u-clerk-bj")
			if err != nil {
				t.Fatal(err)
			}
			id := e.newID()
			if _, err := e.reg.RegisterPerson(ctx, &auth.Principal{User: bj}, registry.NewPerson{IDNumber: id, Name: "北京职工", Hukou: "local"}); err != nil {
				t.Fatal(err)
			}
			transfer := func(problem string) {
				t.Helper()
				if !strings.Contains(problem, "转移接续") {
					t.Fatalf("refusal %q does not say a transfer between regions is needed", problem)
				}
			}
			// The Hangzhou employer's staff add, as in the review.
			status, body, _ := e.send(e.tokens[auth.Employer], "POST", "/api/v1/employers/"+e.employerUSCC+"/staff",
				fmt.Sprintf(`{"id_number":%q,"name":"北京职工","base":"8000","month":%q}`, id, now))
			transfer(fieldProblem(t, status, body, "id_number"))
			// The same in a staff file.
			csv := "操作,身份证号,姓名,缴费基数,月份\n增员," + id + ",北京职工,8000," + now.String() + "\n"
			status, body, _ = e.send(e.tokens[auth.Employer], "POST", "/api/v1/employers/"+e.employerUSCC+"/staff/bulk", csv)
			if status != http.StatusUnprocessableEntity || !strings.Contains(body, "转移接续") {
				t.Fatalf("bulk file: %d %s", status, body)
			}
			// And at the window, by a clerk who serves both regions.
			both := e.regionUser("u-clerk-both", auth.Clerk, testRegion, otherRegion)
			status, body, _ = e.send(both, "POST", "/api/v1/enrolments",
				fmt.Sprintf(`{"id_number":%q,"category":"employee","employer_uscc":%q,"start_month":%q,"base":"8000"}`, id, e.employerUSCC, now))
			transfer(fieldProblem(t, status, body, "id_number"))
			// Nothing was written: the person is on no staff and insured nowhere.
			var n int
			if err := d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM participations p JOIN persons s ON s.id = p.person_id WHERE s.id_number = $1", id).Scan(&n); err != nil || n != 0 {
				t.Fatalf("%d participations for the Beijing person (%v)", n, err)
			}
			if err := d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM staff p JOIN persons s ON s.id = p.person_id WHERE s.id_number = $1", id).Scan(&n); err != nil || n != 0 {
				t.Fatalf("the Beijing person is on %d staff lists (%v)", n, err)
			}
		})
	})
}
