package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/registry"
)

// The attacks of issue 11's findings 1, 2, 6 and 11 — one person getting round an approval that
// needs two, a clerk becoming a resident, gaps in separation of duties, and weak sessions and
// passwords — replayed over HTTP against the real server on both engines.

func jsonOf(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("not JSON: %s", body)
	}
	return m
}

// activate plays the holder of phone: reads the code their phone got and sets password.
func (e *testEnv) activate(username, phone, password string) {
	e.t.Helper()
	body := fmt.Sprintf(`{"username":%q,"code":%q,"password":%q}`, username, e.smsCode(phone), password)
	if status, resp, _ := e.send("", "POST", "/api/v1/activate", body); status != http.StatusNoContent {
		e.t.Fatalf("activate %s: %d %s", username, status, resp)
	}
}

// tokenOf logs username in at the console's trust level: a token the holder issues themselves
// over the API, after logging in to the portal with password.
func (e *testEnv) tokenOf(username, password string) string {
	e.t.Helper()
	u, err := e.auth.Login(context.Background(), username, password, "", "192.0.2.77")
	if err != nil {
		e.t.Fatalf("login %s: %v", username, err)
	}
	tok, err := e.auth.IssueToken(context.Background(), &auth.Principal{User: u}, audit.System, username, "own")
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// TestAttackOneAdminCompletesDualControl (finding 1): an administrator alone makes two custodians
// and a reviewer, tries to give them tokens, and asks for a key rotation and a policy version to
// approve with them. Nothing of it completes: the accounts wait for a second administrator (and
// custodians), no password or token of theirs reaches the admin, and the request stays pending.
func TestAttackOneAdminCompletesDualControl(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newTestEnv(t, d)
		admin := e.tokens[auth.Admin]
		for i, name := range []string{"cust-a", "cust-b", "rev-a"} {
			role := "custodian"
			if name == "rev-a" {
				role = "reviewer"
			}
			// The review's request, with a password of the admin's choosing: refused.
			status, body, _ := e.send(admin, "POST", "/api/v1/users", fmt.Sprintf(`{"username":%q,"role":%q,"regions":[%q],"password":"correct horse battery"}`, name, role, testRegion))
			if status != 422 || !strings.Contains(body, "password") {
				t.Fatalf("admin setting a password for %s: %d %s", name, status, body)
			}
			status, body, _ = e.send(admin, "POST", "/api/v1/users", fmt.Sprintf(`{"username":%q,"role":%q,"regions":[%q],"phone":"1390000010%d"}`, name, role, testRegion, i))
			if status != 201 {
				t.Fatalf("create %s: %d %s", name, status, body)
			}
			created := jsonOf(t, body)
			if _, has := created["password"]; has || created["user"].(map[string]any)["state"] != "pending" {
				t.Fatalf("create %s answered %s: want pending and no password", name, body)
			}
			// Tokens for another account: refused, whoever asks.
			if status, body, _ := e.send(admin, "POST", "/api/v1/users/"+name+"/tokens", `{"name":"x"}`); status != 403 {
				t.Fatalf("admin issuing a token for %s: %d %s", name, status, body)
			}
			// The admin cannot approve what they made.
			if status, body, _ := e.send(admin, "POST", "/api/v1/users/"+name+"/approve", ""); status != 403 {
				t.Fatalf("admin approving their own %s: %d %s", name, status, body)
			}
		}
		// Nothing was sent to any phone: the accounts wait for a second administrator.
		var sent int
		if err := d.R().QueryRowContext(context.Background(), "SELECT COUNT(*) FROM notifications").Scan(&sent); err != nil || sent != 0 {
			t.Fatalf("%d messages went out for unapproved accounts (%v)", sent, err)
		}
		// A token the admin issues at the console for a pending account: refused too.
		if _, err := e.auth.IssueToken(context.Background(), nil, audit.System, "cust-a", "x"); err == nil {
			t.Fatal("a pending account got a token")
		}

		// The key request the admin makes stays pending: nobody independent has approved it.
		status, body, _ := e.send(admin, "POST", "/api/v1/keys/requests", `{"kind":"rotate","region":"`+testRegion+`"}`)
		if status != 201 {
			t.Fatalf("key request: %d %s", status, body)
		}
		id := int(jsonOf(t, body)["id"].(float64))
		if status, body, _ := e.send(admin, "POST", fmt.Sprintf("/api/v1/keys/requests/%d/approve", id), ""); status != 403 {
			t.Fatalf("admin approving a key request: %d %s", status, body)
		}
		if r := jsonOf(t, e.get(admin, fmt.Sprintf("/api/v1/keys/requests/%d", id))); r["status"] != "pending" {
			t.Fatalf("the key request is %v", r["status"])
		}
		// The same with policy: the admin proposes, and no reviewer of theirs exists to approve.
		status, body, _ = e.send(admin, "POST", "/api/v1/policies", policyBody(e, 202801))
		if status != 201 {
			t.Fatalf("propose: %d %s", status, body)
		}
		pid := int(jsonOf(t, body)["id"].(float64))
		if _, err := e.auth.Login(context.Background(), "rev-a", "correct horse battery", "", "192.0.2.1"); err == nil {
			t.Fatal("the admin's reviewer logs in")
		}
		if v := jsonOf(t, e.get(admin, fmt.Sprintf("/api/v1/policies/%d", pid))); v["status"] != "pending" {
			t.Fatalf("policy %d is %v", pid, v["status"])
		}

		// Accounts the admin made and nobody vouched for count as the admin: a partner account
		// activated with the admin's own phone cannot approve what the admin asked for, and a
		// custodian made by one admin and approved by its own creator's puppet does not stand alone.
		status, body, _ = e.send(admin, "POST", "/api/v1/users", `{"username":"bank-puppet","role":"bank","regions":["`+testRegion+`"],"phone":"13900000199"}`)
		if status != 201 {
			t.Fatalf("create bank: %d %s", status, body)
		}
		e.activate("bank-puppet", "13900000199", "the admin's own phrase")
		if err := auth.Independent(context.Background(), d.R(), "bank-puppet", userName(auth.Admin)); err == nil {
			t.Fatal("an account the admin made and activated counts as independent of the admin")
		}

		// With a second, independent administrator and two custodians from the key ceremony the
		// same custodian account is approved and can work: two people and more were needed.
		second := e.secondAdmin()
		if _, err := e.auth.ApproveAccount(context.Background(), second, "cust-a"); err != nil {
			t.Fatal(err)
		}
		if u, _ := e.auth.UserByName(context.Background(), "cust-a"); u.State != auth.Pending {
			t.Fatalf("a custodian approved by admins alone is %s; custodians must approve too", u.State)
		}
	})
}

// get sends a GET and fails unless it answers 200.
func (e *testEnv) get(token, path string) string {
	e.t.Helper()
	status, body, _ := e.send(token, "GET", path, "")
	if status != 200 {
		e.t.Fatalf("GET %s: %d %s", path, status, body)
	}
	return body
}

// TestAttackClerkBecomesResident (finding 2): a clerk asks for a second login for a resident who
// has one, and for a new person's login: neither answer carries a password; the code goes to the
// phone on file; a reset needs the person's ID card, ends the old sessions and tokens, and is
// audited.
func TestAttackClerkBecomesResident(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newTestEnv(t, d)
		ctx := context.Background()
		clerk := e.tokens[auth.Clerk]
		// The test resident has a login (u-resident): a second one is refused.
		status, body, _ := e.send(clerk, "POST", "/api/v1/persons/"+e.personID+"/login", "")
		if status != 409 {
			t.Fatalf("second login for a resident: %d %s", status, body)
		}
		// A new person's login: no password in the answer, the code on the person's phone.
		id := e.newPerson()
		person, err := e.reg.Person(ctx, e.principal(auth.Clerk), id)
		if err != nil {
			t.Fatal(err)
		}
		status, body, _ = e.send(clerk, "POST", "/api/v1/persons/"+id+"/login", "")
		if status != 201 || strings.Contains(body, "password") || !strings.Contains(body, person.Phone[:3]+"****"+person.Phone[7:]) {
			t.Fatalf("new login: %d %s", status, body)
		}
		code := e.smsCode(person.Phone)
		if strings.Contains(e.answers.String(), code) {
			t.Fatal("an answer to the clerk holds the activation code")
		}
		username := strings.ToLower(id)
		// Before activation nobody logs in with anything the clerk could have seen.
		if _, err := e.auth.Login(ctx, username, "", "", "192.0.2.1"); err == nil {
			t.Fatal("an invited login logs in without a password")
		}
		e.activate(username, person.Phone, "the resident's own phrase")
		resToken := e.tokenOf(username, "the resident's own phrase")
		if status, _, _ := e.send(resToken, "GET", "/api/v1/me", ""); status != 200 {
			t.Fatalf("the resident's token: %d", status)
		}
		// A reset without the person's ID card, or with another's, is refused.
		for _, presented := range []string{"", e.newID()} {
			status, body, _ := e.send(clerk, "POST", "/api/v1/persons/"+id+"/login/reset", `{"presented_id_number":"`+presented+`"}`)
			if status != 422 || !strings.Contains(body, "presented_id_number") {
				t.Fatalf("reset presenting %q: %d %s", presented, status, body)
			}
		}
		// With the right card: the old token stops, a new code goes to the phone, audited.
		status, body, _ = e.send(clerk, "POST", "/api/v1/persons/"+id+"/login/reset", `{"presented_id_number":"`+id+`"}`)
		if status != 200 || strings.Contains(body, "password") {
			t.Fatalf("reset: %d %s", status, body)
		}
		if status, _, _ := e.send(resToken, "GET", "/api/v1/me", ""); status != 401 {
			t.Fatalf("the resident's token after the reset: %d", status)
		}
		if e.smsCode(person.Phone) == code {
			t.Fatal("the reset sent the old code")
		}
		var n int
		if err := d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM audit_log WHERE action = 'user.reset' AND actor = $1", userName(auth.Clerk)).Scan(&n); err != nil || n != 1 {
			t.Fatalf("reset audit entries: %d (%v)", n, err)
		}
	})
}

// TestAttackSeparationOfDuties (finding 6): a clerk applies for a card, gives its photo and
// approves it; an account holding clerk and reviewer checks materials, submits and approves an
// enrolment; a clerk approves the card application of an HR login they made. Each approval is
// refused; a second person's goes through.
func TestAttackSeparationOfDuties(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newTestEnv(t, d)
		ctx := context.Background()
		clerk := e.tokens[auth.Clerk]
		c := e.cardAt(card.Applied, "")
		if status, body, _ := e.send(clerk, "POST", fmt.Sprintf("/api/v1/cards/%d/approve", c.ID), ""); status != 403 {
			t.Fatalf("the clerk approving their own application: %d %s", status, body)
		}
		if status, body, _ := e.send(e.tokens[auth.Reviewer], "POST", fmt.Sprintf("/api/v1/cards/%d/approve", c.ID), ""); status != 200 {
			t.Fatalf("a second person approving: %d %s", status, body)
		}

		// One account, both window roles, every step of one enrolment.
		if _, _, err := e.auth.CreateUser(ctx, nil, audit.System, auth.NewUser{Username: "both-roles", Role: auth.Clerk, Also: []auth.Role{auth.Reviewer},
			Regions: []string{testRegion}, Password: testPassword}); err != nil {
			t.Fatal(err)
		}
		both := e.tokenOf("both-roles", testPassword)
		status, body, _ := e.send(both, "POST", "/api/v1/enrolments", `{"id_number":"`+e.newPerson()+`","category":"flexible_worker","start_month":"`+thisMonth(e)+`","base":"6000"}`)
		if status != 201 {
			t.Fatalf("enrolment: %d %s", status, body)
		}
		eid := int(jsonOf(t, body)["id"].(float64))
		// A second clerk uploads and checks; the dual-role account submits; then tries to approve.
		en, err := e.reg.Enrolment(ctx, e.principal(auth.Clerk), int64(eid))
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range en.Checklist {
			m, err := e.reg.AddMaterial(ctx, e.principal(auth.Clerk), en.ID, item.Material.Code, "x.pdf", testPDF)
			if err != nil {
				t.Fatal(err)
			}
			if status, body, _ := e.send(both, "POST", fmt.Sprintf("/api/v1/enrolments/%d/materials/%d/check", eid, m.ID), `{"result":"accepted"}`); status != 200 {
				t.Fatalf("check: %d %s", status, body)
			}
		}
		if status, body, _ := e.send(both, "POST", fmt.Sprintf("/api/v1/enrolments/%d/submit", eid), ""); status != 200 {
			t.Fatalf("submit: %d %s", status, body)
		}
		if status, body, _ := e.send(both, "POST", fmt.Sprintf("/api/v1/enrolments/%d/approve", eid), ""); status != 403 {
			t.Fatalf("the account that checked and submitted approving: %d %s", status, body)
		}
		if got, _ := e.reg.Enrolment(ctx, e.principal(auth.Clerk), int64(eid)); got.Status != registry.Submitted {
			t.Fatalf("the enrolment is %s", got.Status)
		}
		if status, body, _ := e.send(e.tokens[auth.Reviewer], "POST", fmt.Sprintf("/api/v1/enrolments/%d/approve", eid), ""); status != 200 {
			t.Fatalf("an independent reviewer: %d %s", status, body)
		}

		// The clerk makes an HR login with a phone they hold, applies as HR, and approves.
		status, body, _ = e.send(clerk, "POST", "/api/v1/employers/"+e.employerUSCC+"/operators", `{"username":"hr-puppet","name":"人事","phone":"13900000299"}`)
		if status != 201 {
			t.Fatalf("operator: %d %s", status, body)
		}
		e.activate("hr-puppet", "13900000299", "the clerk's second phrase")
		hr := e.tokenOf("hr-puppet", "the clerk's second phrase")
		staff := e.addStaff()
		status, body, _ = e.send(hr, "POST", "/api/v1/cards", `{"id_number":"`+staff+`"}`)
		if status != 201 {
			t.Fatalf("HR applies: %d %s", status, body)
		}
		cid := int(jsonOf(t, body)["id"].(float64))
		if status, body, _ := e.send(hr, "POST", fmt.Sprintf("/api/v1/cards/%d/photo", cid), string(testPNG)); status != 200 {
			t.Fatalf("photo: %d %s", status, body)
		}
		if status, body, _ := e.send(clerk, "POST", fmt.Sprintf("/api/v1/cards/%d/approve", cid), ""); status != 403 {
			t.Fatalf("the clerk approving the application of the login they made: %d %s", status, body)
		}
	})
}

// TestAttackSessionsAndPasswords (finding 11): a password change leaves no other session alive;
// "aaaaaaaaaa" and "1234567890" are refused; a TOTP code works once; the stored TOTP secret is not
// the secret.
func TestAttackSessionsAndPasswords(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newTestEnv(t, d)
		ctx := context.Background()
		// A portal session elsewhere, then a password change over the API.
		jar, _ := cookiejar.New(nil)
		browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := browser.PostForm(e.http.URL+"/login", url.Values{"username": {userName(auth.Clerk)}, "password": {testPassword}})
		if err != nil || resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("portal login: %v", err)
		}
		resp.Body.Close()
		for _, weak := range []string{"aaaaaaaaaa", "1234567890"} {
			status, body, _ := e.send(e.tokens[auth.Clerk], "POST", "/api/v1/me/password", `{"current_password":"`+testPassword+`","new_password":"`+weak+`"}`)
			if status != 422 || !strings.Contains(body, "new_password") {
				t.Fatalf("weak password %q: %d %s", weak, status, body)
			}
		}
		if status, body, _ := e.send(e.tokens[auth.Clerk], "POST", "/api/v1/me/password", `{"current_password":"`+testPassword+`","new_password":"a sturdier clerk phrase"}`); status != 204 {
			t.Fatalf("change: %d %s", status, body)
		}
		resp, err = browser.Get(e.http.URL + "/window")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			t.Fatalf("the other session after the password change: %d", resp.StatusCode)
		}

		// TOTP: turn it on, then log in twice with the same code.
		p := e.principal(auth.Auditor)
		setup, err := e.auth.BeginTOTP(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		confirm, _ := auth.TOTPCode(setup.Secret, e.db.Now())
		if err := e.auth.ConfirmTOTP(ctx, p, confirm); err != nil {
			t.Fatal(err)
		}
		var stored string
		if err := d.R().QueryRowContext(ctx, "SELECT totp_secret FROM users WHERE username = $1", userName(auth.Auditor)).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored == setup.Secret || strings.Contains(stored, setup.Secret) || !strings.HasPrefix(stored, "sm4gcm:") {
			t.Fatalf("the TOTP secret is stored as %q", stored)
		}
		login := func(code string) int {
			resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).PostForm(e.http.URL+"/login",
				url.Values{"username": {userName(auth.Auditor)}, "password": {testPassword}, "totp": {code}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		// The confirming code is spent; so is a code once it has logged in.
		if status := login(confirm); status == http.StatusSeeOther {
			t.Fatal("the code that confirmed TOTP logs in")
		}
		// Wait for the next 30-second step by moving nothing: a fresh code is the next step's.
		next, _ := auth.TOTPCode(setup.Secret, e.db.Now().Add(30e9))
		if status := login(next); status != http.StatusSeeOther {
			t.Fatalf("a fresh code: %d", status)
		}
		if status := login(next); status == http.StatusSeeOther {
			t.Fatal("the same TOTP code logged in twice")
		}
	})
}
