package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/keys"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
	"github.com/shebao/shebao/internal/settle"
)

// routeCase says how to call one API route and what it answers.
type routeCase struct {
	path string
	// rolePath, when set, gives the path each role calls (a route on one's own account).
	rolePath func(e *testEnv, role auth.Role) string
	// pathFn, when set, prepares the object the route acts on and returns the path. It runs once per
	// route, before any call: every route that changes something is allowed to exactly one role.
	pathFn func(e *testEnv) string
	// body returns the request body for an allowed role; nil means no body. Refused roles send "{}".
	body func(e *testEnv, role auth.Role) string
	ok   int
	// except gives other answers for roles the permission table allows but the object does not
	// (a resident reading an application that is not theirs).
	except map[auth.Role]int
	// after restores what the route changed for the routes after it (sealing the key service).
	after func(e *testEnv)
	// key: the route needs an Idempotency-Key; each call sends a new one.
	key bool
}

func fixed(s string) func(*testEnv, auth.Role) string {
	return func(*testEnv, auth.Role) string { return s }
}

func thisMonth(e *testEnv) string { return period.MonthOf(e.db.Now()).String() }

// apiCases covers every guarded API route. TestRouteRoleMatrix fails when a route has no case, so a
// new route cannot escape the matrix.
var apiCases = map[string]routeCase{
	"GET /api/v1/me": {path: "/api/v1/me", ok: 200},
	"POST /api/v1/me/password": {path: "/api/v1/me/password", ok: 204,
		body: fixed(`{"current_password":"` + testPassword + `","new_password":"another fine password"}`)},
	"POST /api/v1/me/totp": {path: "/api/v1/me/totp", ok: 200},
	"POST /api/v1/me/totp/confirm": {path: "/api/v1/me/totp/confirm", ok: 204, body: func(e *testEnv, role auth.Role) string {
		// Offer a secret first, then answer with the code the authenticator app would show.
		setup, err := e.auth.BeginTOTP(context.Background(), &auth.Principal{User: e.user(role)})
		if err != nil {
			e.t.Fatal(err)
		}
		code, err := auth.TOTPCode(setup.Secret, e.db.Now())
		if err != nil {
			e.t.Fatal(err)
		}
		return `{"code":"` + code + `"}`
	}},
	"GET /api/v1/users": {path: "/api/v1/users", ok: 200},
	"POST /api/v1/users": {path: "/api/v1/users", ok: 201, body: func(e *testEnv, role auth.Role) string {
		return fmt.Sprintf(`{"username":"new-by-%s","role":"clerk","regions":["%s"],"phone":"13912345678"}`, strings.ReplaceAll(string(role), "_", "-"), testRegion)
	}},
	"GET /api/v1/users/pending": {path: "/api/v1/users/pending", ok: 200},
	// A second administrator made the account: u-admin approves it; a custodian approves only custodians.
	"POST /api/v1/users/{username}/approve": {pathFn: func(e *testEnv) string {
		second := e.secondAdmin()
		if _, _, err := e.auth.CreateUser(context.Background(), second, second.Actor(), auth.NewUser{Username: "pending-clerk", Role: auth.Clerk,
			Regions: []string{testRegion}, Phone: "13912340001"}); err != nil {
			e.t.Fatal(err)
		}
		return "/api/v1/users/pending-clerk/approve"
	}, ok: 200, except: map[auth.Role]int{auth.Custodian: 403}},
	"POST /api/v1/users/{username}/reset": {pathFn: func(e *testEnv) string {
		if _, _, err := e.auth.CreateUser(context.Background(), nil, auditSystem(), auth.NewUser{Username: "reset-me", Role: auth.Resident,
			Regions: []string{testRegion}, Phone: "13912340002"}); err != nil {
			e.t.Fatal(err)
		}
		return "/api/v1/users/reset-me/reset"
	}, ok: 200},
	"GET /api/v1/users/{username}":          {path: "/api/v1/users/u-resident", ok: 200},
	"POST /api/v1/users/{username}/disable": {path: "/api/v1/users/target/disable", ok: 200},
	"POST /api/v1/users/{username}/enable":  {path: "/api/v1/users/target/enable", ok: 200},
	"POST /api/v1/users/{username}/tokens": {rolePath: func(_ *testEnv, role auth.Role) string { return "/api/v1/users/" + userName(role) + "/tokens" },
		ok: 201, body: fixed(`{"name":"his"}`)},
	"GET /api/v1/audit/entries": {path: "/api/v1/audit/entries?limit=5", ok: 200},
	"GET /api/v1/audit/verify":  {path: "/api/v1/audit/verify", ok: 200},

	"GET /api/v1/policies":      {path: "/api/v1/policies", ok: 200},
	"POST /api/v1/policies":     {path: "/api/v1/policies", ok: 201, body: func(e *testEnv, _ auth.Role) string { return policyBody(e, 202801) }},
	"GET /api/v1/policies/{id}": {path: "/api/v1/policies/1", ok: 200},
	"POST /api/v1/policies/{id}/approve": {pathFn: func(e *testEnv) string {
		return fmt.Sprintf("/api/v1/policies/%d/approve", e.pendingPolicy(202901))
	}, ok: 200},
	"POST /api/v1/policies/{id}/reject": {pathFn: func(e *testEnv) string {
		return fmt.Sprintf("/api/v1/policies/%d/reject", e.pendingPolicy(203001))
	}, ok: 200, body: fixed(`{"reason":"rates not yet published"}`)},

	"POST /api/v1/persons": {path: "/api/v1/persons", ok: 201, body: func(e *testEnv, _ auth.Role) string {
		return `{"id_number":"` + e.newID() + `","name":"新登记","hukou_type":"local"}`
	}},
	"GET /api/v1/persons/{id_number}":                {pathFn: func(e *testEnv) string { return "/api/v1/persons/" + e.personID }, ok: 200},
	"GET /api/v1/persons/{id_number}/participations": {pathFn: func(e *testEnv) string { return "/api/v1/persons/" + e.personID + "/participations" }, ok: 200},
	"POST /api/v1/persons/{id_number}/login":         {pathFn: func(e *testEnv) string { return "/api/v1/persons/" + e.newPerson() + "/login" }, ok: 201},
	"POST /api/v1/persons/{id_number}/login/reset": {pathFn: func(e *testEnv) string {
		id := e.newPerson()
		if _, err := e.reg.CreateResidentLogin(context.Background(), e.principal(auth.Clerk), id); err != nil {
			e.t.Fatal(err)
		}
		e.scratch = `{"presented_id_number":"` + id + `"}`
		return "/api/v1/persons/" + id + "/login/reset"
	}, ok: 200, body: func(e *testEnv, _ auth.Role) string { return e.scratch }},
	"POST /api/v1/employers": {path: "/api/v1/employers", ok: 201, body: func(e *testEnv, _ auth.Role) string {
		return `{"uscc":"` + e.newUSCC() + `","name":"新单位","legal_rep":"钱","risk_class":4}`
	}},
	"GET /api/v1/employers/{uscc}":            {pathFn: func(e *testEnv) string { return "/api/v1/employers/" + e.employerUSCC }, ok: 200},
	"POST /api/v1/employers/{uscc}/operators": {pathFn: func(e *testEnv) string { return "/api/v1/employers/" + e.employerUSCC + "/operators" }, ok: 201, body: fixed(`{"username":"hr-two","name":"人事二","phone":"13912340003"}`)},
	"GET /api/v1/employers/{uscc}/staff":      {pathFn: func(e *testEnv) string { return "/api/v1/employers/" + e.employerUSCC + "/staff" }, ok: 200},
	"POST /api/v1/employers/{uscc}/staff": {pathFn: func(e *testEnv) string { return "/api/v1/employers/" + e.employerUSCC + "/staff" }, ok: 201,
		body: func(e *testEnv, _ auth.Role) string {
			return `{"id_number":"` + e.newID() + `","name":"新职工","base":"7000","month":"` + thisMonth(e) + `"}`
		}},
	"POST /api/v1/employers/{uscc}/staff/bulk": {pathFn: func(e *testEnv) string { return "/api/v1/employers/" + e.employerUSCC + "/staff/bulk?file_name=s.csv" }, ok: 200,
		body: func(e *testEnv, _ auth.Role) string {
			return "操作,身份证号,姓名,缴费基数,月份\n增员," + e.newID() + ",批量职工,7000," + thisMonth(e) + "\n"
		}},
	"POST /api/v1/employers/{uscc}/staff/{id_number}/remove": {pathFn: func(e *testEnv) string {
		return "/api/v1/employers/" + e.employerUSCC + "/staff/" + e.addStaff() + "/remove"
	}, ok: 200, body: func(e *testEnv, _ auth.Role) string {
		return `{"end_date":"` + period.Today(e.db.Now()).Format("2006-01-02") + `","reason":"resigned"}`
	}},
	"POST /api/v1/employers/{uscc}/staff/{id_number}/base": {pathFn: func(e *testEnv) string {
		return "/api/v1/employers/" + e.employerUSCC + "/staff/" + e.personID + "/base"
	}, ok: 200, body: func(e *testEnv, _ auth.Role) string { return `{"base":"9100.00","month":"` + thisMonth(e) + `"}` }},

	"POST /api/v1/enrolments": {path: "/api/v1/enrolments", ok: 201, body: func(e *testEnv, _ auth.Role) string {
		return `{"id_number":"` + e.newPerson() + `","category":"flexible_worker","start_month":"` + thisMonth(e) + `","base":"6000"}`
	}},
	"GET /api/v1/enrolments": {path: "/api/v1/enrolments?status=submitted", ok: 200},
	"GET /api/v1/enrolments/{id}": {pathFn: func(e *testEnv) string {
		return fmt.Sprintf("/api/v1/enrolments/%d", e.newEnrolment(registry.Draft).ID)
	}, ok: 200, except: map[auth.Role]int{auth.Resident: 404}},
	"POST /api/v1/enrolments/{id}/materials": {pathFn: func(e *testEnv) string {
		return fmt.Sprintf("/api/v1/enrolments/%d/materials?code=id_card&file_name=id.pdf", e.newEnrolment(registry.Draft).ID)
	}, ok: 201, body: fixed(string(testPDF))},
	"GET /api/v1/enrolments/{id}/materials/{material_id}": {pathFn: func(e *testEnv) string {
		en := e.newEnrolment(registry.Submitted)
		return fmt.Sprintf("/api/v1/enrolments/%d/materials/%d", en.ID, en.Checklist[0].Upload.ID)
	}, ok: 200, except: map[auth.Role]int{auth.Resident: 404}},
	"POST /api/v1/enrolments/{id}/materials/{material_id}/check": {pathFn: func(e *testEnv) string {
		en := e.newEnrolment(registry.Draft)
		m, err := e.reg.AddMaterial(context.Background(), e.principal(auth.Clerk), en.ID, "id_card", "id.pdf", testPDF)
		if err != nil {
			e.t.Fatal(err)
		}
		return fmt.Sprintf("/api/v1/enrolments/%d/materials/%d/check", en.ID, m.ID)
	}, ok: 200, body: fixed(`{"result":"accepted"}`)},
	"POST /api/v1/enrolments/{id}/submit": {pathFn: func(e *testEnv) string {
		return fmt.Sprintf("/api/v1/enrolments/%d/submit", e.newEnrolment("accepted").ID)
	}, ok: 200},
	"POST /api/v1/enrolments/{id}/approve": {pathFn: func(e *testEnv) string {
		return fmt.Sprintf("/api/v1/enrolments/%d/approve", e.newEnrolment(registry.Submitted).ID)
	}, ok: 200},
	"POST /api/v1/enrolments/{id}/reject": {pathFn: func(e *testEnv) string {
		return fmt.Sprintf("/api/v1/enrolments/%d/reject", e.newEnrolment(registry.Submitted).ID)
	}, ok: 200, body: fixed(`{"reason":"materials do not match"}`)},
	"GET /api/v1/me/insurance": {path: "/api/v1/me/insurance", ok: 200},

	"GET /api/v1/keys/status": {path: "/api/v1/keys/status", ok: 200},
	// A development keystore is never unsealed by components: the custodian is allowed, the keystore refuses.
	"POST /api/v1/keys/unseal": {path: "/api/v1/keys/unseal", ok: 409, body: fixed(`{"component":"00112233445566778899AABBCCDDEEFF"}`)},
	"POST /api/v1/keys/seal": {path: "/api/v1/keys/seal", ok: 200, after: func(e *testEnv) {
		if err := e.keys.UnsealDevelopment(context.Background(), nil); err != nil {
			e.t.Fatal(err)
		}
	}},
	"GET /api/v1/keys":               {path: "/api/v1/keys", ok: 200},
	"GET /api/v1/keys/requests":      {path: "/api/v1/keys/requests", ok: 200},
	"POST /api/v1/keys/requests":     {path: "/api/v1/keys/requests", ok: 201, body: fixed(`{"kind":"rotate","region":"` + testRegion + `"}`)},
	"GET /api/v1/keys/requests/{id}": {path: "/api/v1/keys/requests/1", ok: 200},
	"POST /api/v1/keys/requests/{id}/approve": {pathFn: func(e *testEnv) string {
		admin := e.principal(auth.Admin)
		r, err := e.keys.Request(context.Background(), admin, keys.NewRequest{Kind: keys.Rotate, Region: testRegion})
		if err != nil {
			e.t.Fatal(err)
		}
		return fmt.Sprintf("/api/v1/keys/requests/%d/approve", r.ID)
	}, ok: 200},
	"POST /api/v1/cards/auth/challenge": {path: "/api/v1/cards/auth/challenge", ok: 200},

	"POST /api/v1/cards": {path: "/api/v1/cards", ok: 201, body: func(e *testEnv, role auth.Role) string {
		if role == auth.Resident {
			return `{"id_number":"` + e.personID + `"}` // residents apply for themselves
		}
		return `{"id_number":"` + e.addStaff() + `"}`
	}},
	"POST /api/v1/cards/temporary": {path: "/api/v1/cards/temporary", ok: 201, body: func(e *testEnv, _ auth.Role) string {
		return `{"id_number":"` + e.addStaff() + `"}`
	}},
	"POST /api/v1/employers/{uscc}/card-applications": {pathFn: func(e *testEnv) string {
		return "/api/v1/employers/" + e.employerUSCC + "/card-applications"
	}, ok: 201, except: map[auth.Role]int{auth.Resident: 403, auth.Clerk: 403}, body: func(e *testEnv, role auth.Role) string {
		return "身份证号\n" + e.addStaff() + "\n"
	}},
	"POST /api/v1/cards/{id}/pin-reset": {pathFn: func(e *testEnv) string {
		c := e.cardAt(card.Active, "")
		e.scratch = `{"id_number":"` + string(c.IDNumber) + `","pin":"730518"}`
		return fmt.Sprintf("/api/v1/cards/%d/pin-reset", c.ID)
	}, ok: 200, body: func(e *testEnv, _ auth.Role) string { return e.scratch }},
	"POST /api/v1/cards/{id}/photo": {pathFn: func(e *testEnv) string {
		c, err := e.cards.Apply(context.Background(), e.principal(auth.Clerk), e.addStaff())
		if err != nil {
			e.t.Fatal(err)
		}
		return fmt.Sprintf("/api/v1/cards/%d/photo", c.ID)
	}, ok: 200, except: map[auth.Role]int{auth.Resident: 404}, body: func(*testEnv, auth.Role) string { return string(testPNG) }},
	"GET /api/v1/cards/{id}/photo": {pathFn: func(e *testEnv) string { return fmt.Sprintf("/api/v1/cards/%d/photo", e.cardAt(card.Applied, "").ID) },
		ok: 200, except: map[auth.Role]int{auth.Resident: 404}},
	"GET /api/v1/cards/{id}": {pathFn: func(e *testEnv) string { return fmt.Sprintf("/api/v1/cards/%d", e.cardAt(card.Applied, "").ID) },
		ok: 200, except: map[auth.Role]int{auth.Resident: 404}},
	"GET /api/v1/cards/{id}/progress": {pathFn: func(e *testEnv) string {
		return fmt.Sprintf("/api/v1/cards/%d/progress", e.cardAt(card.Approved, "").ID)
	}, ok: 200, except: map[auth.Role]int{auth.Resident: 404}},
	// Two roles may decide on an application; the second finds it decided.
	// The clerk who applied and gave the photo may not approve it (a second person must): the
	// reviewer does.
	"POST /api/v1/cards/{id}/approve": {pathFn: func(e *testEnv) string {
		return fmt.Sprintf("/api/v1/cards/%d/approve", e.cardAt(card.Applied, "").ID)
	}, ok: 200, except: map[auth.Role]int{auth.Clerk: 403}},
	"POST /api/v1/cards/{id}/reject": {pathFn: func(e *testEnv) string {
		return fmt.Sprintf("/api/v1/cards/%d/reject", e.cardAt(card.Applied, "").ID)
	}, ok: 200, except: map[auth.Role]int{auth.Reviewer: 409}, body: fixed(`{"reason":"photo unclear"}`)},
	"POST /api/v1/cards/{id}/collect": {pathFn: func(e *testEnv) string {
		c := e.cardAt(card.AtOutlet, "")
		e.scratch = fmt.Sprintf(`{"id_number":"%s","card_number":"%s"}`, c.IDNumber, c.CardNumber)
		return fmt.Sprintf("/api/v1/cards/%d/collect", c.ID)
	}, ok: 200, body: func(e *testEnv, _ auth.Role) string { return e.scratch }},
	"POST /api/v1/cards/{id}/activate": {pathFn: func(e *testEnv) string {
		return fmt.Sprintf("/api/v1/cards/%d/activate", e.cardAt(card.Collected, "").ID)
	}, ok: 200, except: map[auth.Role]int{auth.Resident: 404}, body: fixed(`{"pin":"482916"}`)},
	"POST /api/v1/cards/{id}/temporary-loss": {pathFn: func(e *testEnv) string {
		return fmt.Sprintf("/api/v1/cards/%d/temporary-loss", e.cardAt(card.Active, "").ID)
	}, ok: 200, except: map[auth.Role]int{auth.Resident: 404}},
	"POST /api/v1/cards/{id}/unlock": {pathFn: func(e *testEnv) string {
		return fmt.Sprintf("/api/v1/cards/%d/unlock", e.cardAt(card.TemporarilyLost, "").ID)
	}, ok: 200, except: map[auth.Role]int{auth.Resident: 404}},
	"POST /api/v1/cards/{id}/loss": {pathFn: func(e *testEnv) string {
		return fmt.Sprintf("/api/v1/cards/%d/loss", e.cardAt(card.Active, "").ID)
	}, ok: 200, except: map[auth.Role]int{auth.Resident: 404}},
	"POST /api/v1/cards/{id}/replace": {pathFn: func(e *testEnv) string {
		return fmt.Sprintf("/api/v1/cards/%d/replace", e.cardAt(card.Active, "").ID)
	}, ok: 201, except: map[auth.Role]int{auth.Resident: 404}, body: fixed(`{"reason":"damaged"}`)},
	"POST /api/v1/cards/{id}/cancel": {pathFn: func(e *testEnv) string {
		return fmt.Sprintf("/api/v1/cards/%d/cancel", e.cardAt(card.Active, "").ID)
	}, ok: 200, body: fixed(`{"reason":"emigrated"}`)},
	"POST /api/v1/cards/{id}/bank": {pathFn: func(e *testEnv) string {
		return fmt.Sprintf("/api/v1/cards/%d/bank", e.cardAt(card.Collected, "").ID)
	}, ok: 200, body: fixed(`{"bank_account":"6222020200112233445"}`)},
	"POST /api/v1/card-batches": {pathFn: func(e *testEnv) string {
		e.cardAt(card.Approved, "")
		return "/api/v1/card-batches"
	}, ok: 201, body: fixed(`{"region":"` + testRegion + `"}`)},
	"GET /api/v1/card-batches/{id}/manufacturer-file": {pathFn: func(e *testEnv) string {
		return fmt.Sprintf("/api/v1/card-batches/%d/manufacturer-file", e.cardAt(card.InProduction, "").BatchID)
	}, ok: 200},
	"POST /api/v1/card-batches/{id}/result": {pathFn: func(e *testEnv) string {
		c := e.cardAt(card.InProduction, "")
		e.scratch = e.resultFor(c.BatchID)
		return fmt.Sprintf("/api/v1/card-batches/%d/result", c.BatchID)
	}, ok: 200, body: func(e *testEnv, _ auth.Role) string { return e.scratch }},
	"POST /api/v1/card-batches/{id}/distribute": {pathFn: func(e *testEnv) string {
		return fmt.Sprintf("/api/v1/card-batches/%d/distribute", e.cardAt(card.Produced, "").BatchID)
	}, ok: 200, body: fixed(`{"outlet":"XH-01"}`)},
	"GET /api/v1/outlets": {path: "/api/v1/outlets", ok: 200},

	"POST /api/v1/institutions": {path: "/api/v1/institutions", ok: 201, body: func(e *testEnv, _ auth.Role) string {
		return fmt.Sprintf(`{"code":"P330100%05d","name":"新药房","kind":"pharmacy","bank_account":"6222000011113333"}`, e.seq.Add(1))
	}},
	"GET /api/v1/institutions":        {path: "/api/v1/institutions?limit=10", ok: 200},
	"GET /api/v1/institutions/{code}": {path: "/api/v1/institutions/" + testInstitution, ok: 200},
	"POST /api/v1/institutions/{code}/approve": {pathFn: func(e *testEnv) string {
		code := fmt.Sprintf("H330100%05d", 90000+e.seq.Add(1))
		if _, err := e.settle.RegisterInstitution(context.Background(), e.principal(auth.Clerk), settle.NewInstitution{Code: code, Name: "待批医院",
			Kind: settle.Hospital, Level: 2, BankAccount: "6222000011114444"}); err != nil {
			e.t.Fatal(err)
		}
		return "/api/v1/institutions/" + code + "/approve"
	}, ok: 200},
	"POST /api/v1/institutions/{code}/operators": {path: "/api/v1/institutions/" + testInstitution + "/operators", ok: 201,
		body: fixed(`{"username":"his-two","name":"医院信息科","phone":"13912340004"}`)},
	"GET /api/v1/institutions/{code}/reconciliation": {pathFn: func(e *testEnv) string {
		return "/api/v1/institutions/" + testInstitution + "/reconciliation?date=" + period.Today(e.db.Now()).Format("2006-01-02")
	}, ok: 200},
	// The bureau reads a day's record; only the institution sends its own totals.
	"POST /api/v1/institutions/{code}/reconciliation": {pathFn: func(e *testEnv) string {
		return "/api/v1/institutions/" + testInstitution + "/reconciliation?date=" + period.Today(e.db.Now()).Format("2006-01-02")
	}, ok: 200, except: map[auth.Role]int{auth.Clerk: 403, auth.Reviewer: 403, auth.Auditor: 403},
		body: fixed(`{"count":0,"total":"0.00","pool":"0.00","account":"0.00","cash":"0.00"}`)},
	"POST /api/v1/institutions/{code}/clearings": {path: "/api/v1/institutions/" + testInstitution + "/clearings", ok: 201,
		body: func(e *testEnv, _ auth.Role) string {
			return `{"month":"` + period.MonthOf(e.db.Now()).Add(-1).String() + `"}`
		}},
	"POST /api/v1/institutions/{code}/clearings/{month}/approve": {pathFn: func(e *testEnv) string {
		m := period.MonthOf(e.db.Now()).Add(-2)
		if _, err := e.settle.PrepareClearing(context.Background(), e.principal(auth.Clerk), testInstitution, m); err != nil {
			e.t.Fatal(err)
		}
		return "/api/v1/institutions/" + testInstitution + "/clearings/" + m.String() + "/approve"
	}, ok: 200},
	"GET /api/v1/clearings": {path: "/api/v1/clearings", ok: 200},
	"POST /api/v1/settlements": {path: "/api/v1/settlements", ok: 201, key: true, body: func(e *testEnv, _ auth.Role) string {
		return `{"kind":"outpatient","date":"` + period.Today(e.db.Now()).Format("2006-01-02") + `","identity":{"medical_card":"` + e.medicalCard() +
			`"},"items":[{"code":"001","name":"诊查费","category":"A","amount":"12.00"}]}`
	}},
	"GET /api/v1/settlements": {path: "/api/v1/settlements?limit=5", ok: 200},
	// Any logged-in user may ask; the institution and the bureau see it, the resident whose it is
	// not finds nothing, other roles are refused.
	"GET /api/v1/settlements/{id}": {pathFn: func(e *testEnv) string { return "/api/v1/settlements/" + e.settlement() }, ok: 200,
		except: map[auth.Role]int{auth.Resident: 404, auth.Employer: 403, auth.CardOfficer: 403, auth.Bank: 403, auth.Custodian: 403, auth.Admin: 403}},
	"POST /api/v1/settlements/{id}/refund":         {pathFn: func(e *testEnv) string { return "/api/v1/settlements/" + e.settlement() + "/refund" }, ok: 200, key: true},
	"GET /api/v1/persons/{id_number}/medical-year": {pathFn: func(e *testEnv) string { return "/api/v1/persons/" + e.personID + "/medical-year?year=2026" }, ok: 200},
	"GET /api/v1/me/medical-year":                  {path: "/api/v1/me/medical-year", ok: 200},
	"GET /api/v1/me/settlements":                   {path: "/api/v1/me/settlements", ok: 200},

	// Benefits. The bureau reads anyone's, a resident their own; the /me routes find no person of
	// a staff login's own.
	"GET /api/v1/persons/{id_number}/pension":      {pathFn: func(e *testEnv) string { return "/api/v1/persons/" + e.personID + "/pension" }, ok: 200},
	"GET /api/v1/me/pension":                       {path: "/api/v1/me/pension", ok: 200, except: staffNotFound},
	"GET /api/v1/persons/{id_number}/unemployment": {pathFn: func(e *testEnv) string { return "/api/v1/persons/" + e.personID + "/unemployment" }, ok: 200},
	"GET /api/v1/me/unemployment":                  {path: "/api/v1/me/unemployment", ok: 200, except: staffNotFound},
	// The clerk registers a person at the window; the resident finds no such person of theirs.
	"POST /api/v1/persons/{id_number}/unemployment/registrations": {pathFn: func(e *testEnv) string {
		return "/api/v1/persons/" + e.newPerson() + "/unemployment/registrations"
	}, ok: 201, key: true, except: map[auth.Role]int{auth.Resident: 404}, body: fixed(`{"seeking_work":true}`)},
	// u-resident is employed; a person without a job registers themself.
	"POST /api/v1/me/unemployment/registrations": {pathFn: func(e *testEnv) string {
		e.restore = e.residentFor(e.newPerson())
		return "/api/v1/me/unemployment/registrations"
	}, after: func(e *testEnv) { e.restore() }, ok: 201, key: true, except: map[auth.Role]int{auth.Clerk: 404}, body: fixed(`{"seeking_work":true}`)},
	"POST /api/v1/unemployment/claims": {pathFn: func(e *testEnv) string {
		id := e.claimant()
		if _, err := e.srv.Benefit.Register(context.Background(), e.principal(auth.Clerk), id, "", true); err != nil {
			e.t.Fatal(err)
		}
		e.scratch = `{"id_number":"` + id + `"}`
		return "/api/v1/unemployment/claims"
	}, ok: 201, key: true, body: func(e *testEnv, _ auth.Role) string { return e.scratch }},
	"GET /api/v1/unemployment/claims": {path: "/api/v1/unemployment/claims?limit=10", ok: 200, except: map[auth.Role]int{auth.Resident: 403}},
	"GET /api/v1/unemployment/claims/{id}": {pathFn: func(e *testEnv) string {
		return fmt.Sprintf("/api/v1/unemployment/claims/%d", e.preparedClaim())
	}, ok: 200, except: map[auth.Role]int{auth.Resident: 404}},
	"POST /api/v1/unemployment/claims/{id}/approve": {pathFn: func(e *testEnv) string {
		return fmt.Sprintf("/api/v1/unemployment/claims/%d/approve", e.preparedClaim())
	}, ok: 200, key: true},
	"POST /api/v1/unemployment/claims/{id}/reject": {pathFn: func(e *testEnv) string {
		return fmt.Sprintf("/api/v1/unemployment/claims/%d/reject", e.preparedClaim())
	}, ok: 200, key: true, body: fixed(`{"reason":"the dismissal is disputed"}`)},
	"POST /api/v1/unemployment/claims/{id}/end": {pathFn: func(e *testEnv) string {
		return fmt.Sprintf("/api/v1/unemployment/claims/%d/end", e.preparedClaim())
	}, ok: 200, key: true, body: func(e *testEnv, _ auth.Role) string {
		return `{"from_month":"` + thisMonth(e) + `","reason":"started a pension"}`
	}},
	"GET /api/v1/unemployment/claims/{id}/payments": {pathFn: func(e *testEnv) string {
		return fmt.Sprintf("/api/v1/unemployment/claims/%d/payments", e.preparedClaim())
	}, ok: 200, except: map[auth.Role]int{auth.Resident: 404}},
	"GET /api/v1/me/unemployment/claims": {path: "/api/v1/me/unemployment/claims", ok: 200, except: staffNotFound},
	"POST /api/v1/benefits/runs": {path: "/api/v1/benefits/runs", ok: 200, key: true, body: func(e *testEnv, _ auth.Role) string {
		return `{"month":"` + thisMonth(e) + `"}`
	}},
	"GET /api/v1/benefits/runs": {path: "/api/v1/benefits/runs?limit=12", ok: 200},

	// Certificates: a resident their own, a clerk at the window, an employer's HR (or a clerk) the
	// employer's; the PDF again to whoever issued it and to the region's clerks.
	"POST /api/v1/me/certificates": {path: "/api/v1/me/certificates", ok: 201, key: true, body: certificatePeriod,
		except: map[auth.Role]int{auth.Employer: 403, auth.Clerk: 403}},
	"POST /api/v1/persons/{id_number}/certificates": {pathFn: func(e *testEnv) string { return "/api/v1/persons/" + e.personID + "/certificates" },
		ok: 201, key: true, body: certificatePeriod, except: map[auth.Role]int{auth.Resident: 403, auth.Employer: 403}},
	"POST /api/v1/employers/{uscc}/certificates": {pathFn: func(e *testEnv) string { return "/api/v1/employers/" + e.employerUSCC + "/certificates" },
		ok: 201, key: true, body: certificatePeriod, except: map[auth.Role]int{auth.Resident: 403}},
	"GET /api/v1/me/rights-records/{year}": {pathFn: func(e *testEnv) string {
		return fmt.Sprintf("/api/v1/me/rights-records/%d", period.Today(e.db.Now()).Year())
	}, ok: 200},
	"GET /api/v1/certificates/{serial}/pdf": {pathFn: func(e *testEnv) string {
		c, err := e.srv.Certificates.IssuePerson(context.Background(), e.principal(auth.Clerk), e.personID, thisMonth(e), thisMonth(e))
		if err != nil {
			e.t.Fatal(err)
		}
		return "/api/v1/certificates/" + c.Data.Serial + "/pdf"
	}, ok: 200, except: map[auth.Role]int{auth.Resident: 404, auth.Employer: 404}},
	// Transfers: into the test region (its clerk accepts), out of it (its reviewer decides). A
	// resident applies only for themself, and their own person is insured here already.
	"POST /api/v1/transfers": {path: "/api/v1/transfers", ok: 201, key: true, except: map[auth.Role]int{auth.Resident: 422},
		body: func(e *testEnv, role auth.Role) string { return `{"id_number":"` + e.personElsewhere() + `"}` }},
	"GET /api/v1/transfers": {path: "/api/v1/transfers?limit=10", ok: 200},
	"GET /api/v1/transfers/{no}": {pathFn: func(e *testEnv) string { return "/api/v1/transfers/" + e.transferIn() }, ok: 200,
		except: map[auth.Role]int{auth.Resident: 404, auth.Employer: 404}},
	"POST /api/v1/transfers/{no}/accept": {pathFn: func(e *testEnv) string { return "/api/v1/transfers/" + e.transferIn() + "/accept" },
		ok: 200, key: true},
	"POST /api/v1/transfers/{no}/approve": {pathFn: func(e *testEnv) string { return "/api/v1/transfers/" + e.transferOut() + "/approve" },
		ok: 200, key: true},
	"POST /api/v1/transfers/{no}/refuse": {pathFn: func(e *testEnv) string { return "/api/v1/transfers/" + e.transferOut() + "/refuse" },
		ok: 200, key: true, body: fixed(`{"reason":"材料不全"}`)},
	"GET /api/v1/funds":            {path: "/api/v1/funds", ok: 200},
	"GET /api/v1/me/contributions": {path: "/api/v1/me/contributions", ok: 200},
	"GET /api/v1/persons/{id_number}/contributions": {pathFn: func(e *testEnv) string {
		e.billedEmployer()
		return "/api/v1/persons/" + e.personID + "/contributions"
	}, ok: 200},
	"GET /api/v1/bills": {pathFn: func(e *testEnv) string { return "/api/v1/bills?payer=" + e.billedEmployer() }, ok: 200,
		except: map[auth.Role]int{auth.Resident: 404}},
	"GET /api/v1/payments": {pathFn: func(e *testEnv) string { return "/api/v1/payments?payer=" + e.billedEmployer() }, ok: 200,
		except: map[auth.Role]int{auth.Resident: 404}},
	"POST /api/v1/payments": {pathFn: func(e *testEnv) string { e.scratch = e.billedEmployer(); return "/api/v1/payments" }, ok: 201,
		body: func(e *testEnv, role auth.Role) string {
			return fmt.Sprintf(`{"idempotency_key":"matrix-%s","payer":"%s","amount":"0.01","paid_on":"%s"}`, role, e.scratch, period.Today(e.db.Now()).Format("2006-01-02"))
		}},
	"POST /api/v1/outlets": {path: "/api/v1/outlets", ok: 201, body: fixed(`{"code":"GS-02","region":"` + testRegion + `","name":"拱墅区网点"}`)},
	"GET /api/v1/me/cards": {path: "/api/v1/me/cards", ok: 200},
	"POST /api/v1/me/ecard": {pathFn: func(e *testEnv) string {
		e.activateOwn()
		return "/api/v1/me/ecard"
	}, ok: 200},
	"GET /api/v1/me/ecard/qr": {pathFn: func(e *testEnv) string {
		e.activateOwn()
		return "/api/v1/me/ecard/qr"
	}, ok: 200},
	"POST /api/v1/ecard/verify": {pathFn: func(e *testEnv) string {
		e.activateOwn()
		return "/api/v1/ecard/verify"
	}, ok: 200, body: func(e *testEnv, _ auth.Role) string {
		qr, _, err := e.cards.QR(context.Background(), e.principal(auth.Resident))
		if err != nil {
			e.t.Fatal(err)
		}
		return `{"qr":"` + qr + `"}`
	}},
	"POST /api/v1/medical-cards": {path: "/api/v1/medical-cards", ok: 201, body: func(e *testEnv, _ auth.Role) string {
		return `{"id_number":"` + e.addStaff() + `","card_number":"6214830077777777"}`
	}},
	"POST /api/v1/medical-cards/{number}/{action}": {pathFn: func(e *testEnv) string {
		return "/api/v1/medical-cards/" + e.medicalCard() + "/lose"
	}, ok: 200},
	"POST /api/v1/medical-cards/check": {pathFn: func(e *testEnv) string {
		e.scratch = e.medicalCard()
		return "/api/v1/medical-cards/check"
	}, ok: 200, body: func(e *testEnv, _ auth.Role) string {
		return `{"bank":"u-bank","card_number":"` + e.scratch + `","purpose":"medical"}`
	}},
	"POST /api/v1/cards/auth/verify": {path: "/api/v1/cards/auth/verify", ok: 200, body: fixed(`{"card_id":"330100D15600000512345678000000AA",` +
		`"key_version":1,"challenge":"00000000000000000000000000000000","answer":"00000000000000000000000000000000"}`)},
}

func certificatePeriod(e *testEnv, _ auth.Role) string {
	return `{"from":"` + period.MonthOf(e.db.Now()).Add(-11).String() + `","to":"` + thisMonth(e) + `"}`
}

// staffNotFound: the bureau's staff allowed a resident's own route, which finds no person of
// their login's own.
var staffNotFound = map[auth.Role]int{auth.Clerk: 404, auth.Reviewer: 404, auth.Auditor: 404}

func policyBody(e *testEnv, from period.Month) string {
	_, b, err := policy.Default(testRegion, from)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

// pendingPolicy stores a proposal by the admin for a reviewer to decide on.
func (e *testEnv) pendingPolicy(from period.Month) int64 {
	admin := e.principal(auth.Admin)
	v, err := e.pol.Propose(context.Background(), admin, admin.Actor(), []byte(policyBody(e, from)))
	if err != nil {
		e.t.Fatal(err)
	}
	return v.ID
}

// TestRouteRoleMatrix calls every API route as every role and as nobody: a role the permission
// table allows gets the route's success status (or its listed exception), every other role 403,
// nobody 401.
func TestRouteRoleMatrix(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newTestEnv(t, d)
		if _, _, err := e.auth.CreateUser(context.Background(), nil, auditSystem(), auth.NewUser{
			Username: "target", Role: auth.Resident, Regions: []string{testRegion}, Phone: "13912340009"}); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, r := range e.srv.Routes() {
			if !r.API || r.Action == "" {
				continue
			}
			key := r.Method + " " + r.Path
			seen[key] = true
			c, ok := apiCases[key]
			if !ok {
				t.Errorf("route %s has no case in apiCases", key)
				continue
			}
			t.Run(key, func(t *testing.T) {
				path := c.path
				if c.pathFn != nil {
					path = c.pathFn(e)
				}
				if c.rolePath != nil {
					path = c.rolePath(e, auth.Admin)
				}
				if status, body := e.do("", r.Method, path, ""); status != http.StatusUnauthorized {
					t.Errorf("anonymous: status %d (%s); want 401", status, body)
				}
				if c.after != nil {
					defer c.after(e)
				}
				for _, role := range auth.Roles {
					body := ""
					allowed := auth.Can(role, r.Action)
					if c.body != nil && allowed {
						body = c.body(e, role)
					} else if c.body != nil {
						body = "{}"
					}
					want := c.ok
					if x, ok := c.except[role]; ok {
						want = x
					}
					if c.rolePath != nil {
						path = c.rolePath(e, role)
					}
					if c.key || r.Keyed {
						e.idemKey = "matrix-" + key + "-" + string(role)
					}
					status, resp := e.do(role, r.Method, path, body)
					if r.Keyed && allowed && status == want && status < 300 {
						e.replayChangesNothing(t, role, r.Method, path, body, status, resp)
					}
					e.idemKey = ""
					switch {
					case allowed && status != want:
						t.Errorf("%s (allowed): status %d (%s); want %d", role, status, resp, want)
					case !allowed && status != http.StatusForbidden:
						t.Errorf("%s (refused): status %d (%s); want 403", role, status, resp)
					case !allowed && errorOf(t, resp).Code != "forbidden":
						t.Errorf("%s: error code %q; want forbidden", role, errorOf(t, resp).Code)
					}
				}
				// Every exchange above was held to the document (contract_test.go): this
				// operation's answers, an allowed one among them, were validated.
				statuses := contractStatuses(key)
				if len(statuses) == 0 || c.ok < 300 && statuses[0] >= 300 {
					t.Errorf("the contract check validated answers %v of %s; want one %d among them", statuses, key, c.ok)
				}
			})
		}
		for key := range apiCases {
			if !seen[key] {
				t.Errorf("apiCases has %s, which is not a registered route", key)
			}
		}
	})
}

// replayChangesNothing sends a keyed request again under its key: the answer is the first, marked
// Idempotency-Replayed, and nothing is written (every write is audited, so the audit log's length
// is the witness).
func (e *testEnv) replayChangesNothing(t *testing.T, role auth.Role, method, path, body string, status int, first string) {
	t.Helper()
	entries := func() int {
		var n int
		if err := e.db.R().QueryRowContext(context.Background(), "SELECT COUNT(*) FROM audit_log").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := entries()
	again, resp, h := e.send(e.tokens[role], method, path, body)
	if again != status || resp != first || h.Get("Idempotency-Replayed") != "true" {
		t.Errorf("%s retried under its key: %d %s (Idempotency-Replayed %q); want the first answer, %d %s", role, again, resp,
			h.Get("Idempotency-Replayed"), status, first)
	}
	if after := entries(); after != before {
		t.Errorf("%s retried under its key: %d audit entries written; want none", role, after-before)
	}
}

// billedEmployer bills this month for the test region and names the test employer as a payer.
func (e *testEnv) billedEmployer() string {
	e.t.Helper()
	if _, err := e.contrib.Run(context.Background(), auditSystem(), testRegion, period.MonthOf(e.db.Now()), nil); err != nil {
		e.t.Fatal(err)
	}
	var id int64
	if err := e.db.R().QueryRowContext(context.Background(), "SELECT id FROM employers WHERE uscc = $1", e.employerUSCC).Scan(&id); err != nil {
		e.t.Fatal(err)
	}
	return fmt.Sprintf("employer:%d", id)
}
