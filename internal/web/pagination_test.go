package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/keys"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/registry"
	"github.com/shebao/shebao/internal/settle"
)

// pageCase is one list of the API as TestPagination walks it.
type pageCase struct {
	role auth.Role
	path func(e *testEnv) string // the list with its filters, without limit or cursor
	key  string                  // the list's key in the answer
	max  int                     // its documented maximum limit
	min  int                     // how many items the fixture makes it hold at least
}

// pageCases are every list operation of the API. The fixture (paginationFixture) makes at least
// three items of each list it can make through the services; the others are walked with what the
// test environment holds.
var pageCases = map[string]pageCase{
	"GET /api/v1/users":          {role: auth.Admin, path: fixedPath("/api/v1/users"), key: "users", max: 200, min: 3},
	"GET /api/v1/users/pending":  {role: auth.Admin, path: fixedPath("/api/v1/users/pending"), key: "users", max: 200, min: 3},
	"GET /api/v1/audit/entries":  {role: auth.Auditor, path: fixedPath("/api/v1/audit/entries?user=u-admin-2"), key: "entries", max: 1000, min: 3},
	"GET /api/v1/policies":       {role: auth.Clerk, path: fixedPath("/api/v1/policies"), key: "versions", max: 200, min: 3},
	"GET /api/v1/enrolments":     {role: auth.Clerk, path: fixedPath("/api/v1/enrolments"), key: "enrolments", max: 200, min: 3},
	"GET /api/v1/keys":           {role: auth.Admin, path: fixedPath("/api/v1/keys"), key: "keys", max: 200, min: 3},
	"GET /api/v1/keys/requests":  {role: auth.Admin, path: fixedPath("/api/v1/keys/requests"), key: "requests", max: 200, min: 3},
	"GET /api/v1/outlets":        {role: auth.Admin, path: fixedPath("/api/v1/outlets"), key: "outlets", max: 200, min: 3},
	"GET /api/v1/institutions":   {role: auth.Clerk, path: fixedPath("/api/v1/institutions"), key: "institutions", max: 200, min: 3},
	"GET /api/v1/settlements":    {role: auth.Clerk, path: fixedPath("/api/v1/settlements"), key: "settlements", max: 200, min: 3},
	"GET /api/v1/me/settlements": {role: auth.Resident, path: fixedPath("/api/v1/me/settlements"), key: "settlements", max: 200, min: 3},
	"GET /api/v1/unemployment/claims": {role: auth.Clerk, path: fixedPath("/api/v1/unemployment/claims"), key: "claims", max: 200,
		min: 3},
	"GET /api/v1/benefits/runs": {role: auth.Admin, path: fixedPath("/api/v1/benefits/runs"), key: "runs", max: 120},
	"GET /api/v1/transfers":     {role: auth.Clerk, path: fixedPath("/api/v1/transfers?direction=in"), key: "transfers", max: 200},
	"GET /api/v1/employers/{uscc}/staff": {role: auth.Clerk, path: func(e *testEnv) string {
		return "/api/v1/employers/" + e.employerUSCC + "/staff?all=true"
	}, key: "staff", max: 1000, min: 3},
	"GET /api/v1/persons/{id_number}/participations": {role: auth.Clerk, path: func(e *testEnv) string {
		return "/api/v1/persons/" + e.personID + "/participations"
	}, key: "participations", max: 200, min: 3},
	"GET /api/v1/bills": {role: auth.Clerk, path: func(e *testEnv) string { return "/api/v1/bills?payer=" + e.employerUSCC },
		key: "bills", max: 200, min: 1},
	"GET /api/v1/payments": {role: auth.Clerk, path: func(e *testEnv) string { return "/api/v1/payments?payer=" + e.employerUSCC },
		key: "payments", max: 1000, min: 3},
	"GET /api/v1/me/cards":  {role: auth.Resident, path: fixedPath("/api/v1/me/cards"), key: "cards", max: 200, min: 2},
	"GET /api/v1/clearings": {role: auth.Clerk, path: fixedPath("/api/v1/clearings"), key: "clearings", max: 200},
	"GET /api/v1/unemployment/claims/{id}/payments": {role: auth.Clerk, path: func(e *testEnv) string {
		return fmt.Sprintf("/api/v1/unemployment/claims/%d/payments", e.preparedClaim())
	}, key: "payments", max: 200},
	"GET /api/v1/me/unemployment/claims": {role: auth.Resident, path: fixedPath("/api/v1/me/unemployment/claims"), key: "claims", max: 200},
	// A statement pages by calendar years; its lines are what a page holds.
	"GET /api/v1/me/contributions": {role: auth.Resident, path: fixedPath("/api/v1/me/contributions"), key: "lines", max: 10, min: 1},
	"GET /api/v1/persons/{id_number}/contributions": {role: auth.Clerk, path: func(e *testEnv) string {
		return "/api/v1/persons/" + e.personID + "/contributions"
	}, key: "lines", max: 10, min: 1},
	"GET /api/v1/funds": {role: auth.Auditor, path: fixedPath("/api/v1/funds"), key: "months", max: 120, min: 1},
}

func fixedPath(p string) func(*testEnv) string { return func(*testEnv) string { return p } }

// TestPagination walks every list a page of one at a time, following next, and holds the walk to
// the list read in one page of the maximum: the same items in the same order, none twice. A bad
// limit or cursor is refused with the field named.
func TestPagination(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newTestEnv(t, d)
		e.paginationFixture()
		for name, c := range pageCases {
			t.Run(strings.ReplaceAll(name, "/", "_"), func(t *testing.T) {
				path := c.path(e)
				full, next := e.listPage(t, c, path, fmt.Sprintf("limit=%d", c.max))
				if next != "" {
					t.Fatalf("the fixture's %d items fill a page of %d: next %q", len(full), c.max, next)
				}
				if len(full) < c.min {
					t.Fatalf("%d items, the fixture made at least %d", len(full), c.min)
				}
				var walked []string
				seen := map[string]bool{}
				cursor := ""
				for pages := 0; ; pages++ {
					if pages > len(full)+1 {
						t.Fatalf("more pages than items: %d", pages)
					}
					q := "limit=1"
					if cursor != "" {
						q += "&cursor=" + url.QueryEscape(cursor)
					}
					items, next := e.listPage(t, c, path, q)
					if len(items) > 1 {
						t.Fatalf("limit=1 gave %d items", len(items))
					}
					for _, it := range items {
						if seen[it] {
							t.Fatalf("item twice in the walk: %s", it)
						}
						seen[it] = true
					}
					walked = append(walked, items...)
					if next == "" {
						break
					}
					if next == cursor {
						t.Fatalf("next %q repeats the cursor", next)
					}
					cursor = next
				}
				if strings.Join(walked, "\n") != strings.Join(full, "\n") {
					t.Fatalf("the walk gave\n%s\none page gave\n%s", strings.Join(walked, "\n"), strings.Join(full, "\n"))
				}
				for _, bad := range []struct{ query, field string }{
					{"limit=0", "limit"}, {fmt.Sprintf("limit=%d", c.max+1), "limit"}, {"limit=abc", "limit"},
					{"cursor=" + url.QueryEscape("not a cursor!"), "cursor"},
				} {
					status, body := e.do(c.role, "GET", withQuery(path, bad.query), "")
					if status != 422 {
						t.Errorf("%s: %d %s, want 422", bad.query, status, body)
						continue
					}
					if eb := errorOf(t, body); eb.Fields[bad.field] == "" {
						t.Errorf("%s: the error names no %s: %s", bad.query, bad.field, body)
					}
				}
			})
		}
	})
}

// listPage reads one page of a list: its items as the API wrote them, and next.
func (e *testEnv) listPage(t *testing.T, c pageCase, path, query string) ([]string, string) {
	t.Helper()
	status, body := e.do(c.role, "GET", withQuery(path, query), "")
	if status != 200 {
		t.Fatalf("%s: %d %s", query, status, body)
	}
	var answer map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &answer); err != nil {
		t.Fatal(err)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(answer[c.key], &items); err != nil {
		t.Fatalf("%s: no list %s: %s", query, c.key, body)
	}
	var next string
	if err := json.Unmarshal(answer["next"], &next); err != nil {
		t.Fatalf("%s: no next: %s", query, body)
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, string(it))
	}
	return out, next
}

func withQuery(path, query string) string {
	if strings.Contains(path, "?") {
		return path + "&" + query
	}
	return path + "?" + query
}

// paginationFixture makes at least three items of each list the services can make them for.
func (e *testEnv) paginationFixture() {
	e.t.Helper()
	ctx := context.Background()
	fatal := func(err error) {
		e.t.Helper()
		if err != nil {
			e.t.Fatal(err)
		}
	}
	// Accounts waiting for an approval, made by a second administrator (so the auditor's view of
	// u-admin-2's entries holds them too).
	second := e.secondAdmin()
	for i := range 3 {
		_, _, err := e.auth.CreateUser(ctx, second, second.Actor(), auth.NewUser{Username: fmt.Sprintf("pending-%d", i), Role: auth.Clerk,
			Regions: []string{testRegion}, Phone: fmt.Sprintf("1391234100%d", i)})
		fatal(err)
	}
	for _, from := range []period.Month{202801, 202901} {
		e.pendingPolicy(from)
	}
	for range 3 {
		e.addStaff()
		e.newEnrolment(registry.Draft)
		e.settlement()
		e.preparedClaim()
	}
	admin := e.principal(auth.Admin)
	for range 2 {
		_, err := e.keys.Request(ctx, admin, keys.NewRequest{Kind: keys.Rotate, Region: testRegion})
		fatal(err)
	}
	for i := range 2 {
		_, err := e.cards.AddOutlet(ctx, admin, card.Outlet{Code: fmt.Sprintf("PG-%02d", i), Region: testRegion, Name: "翻页测试网点"})
		fatal(err)
		code := fmt.Sprintf("H3301000010%d", i)
		_, err = e.settle.RegisterInstitution(ctx, e.principal(auth.Clerk), settle.NewInstitution{Code: code, Name: "翻页测试医院",
			Kind: settle.Hospital, Level: 2, BankAccount: "6222000011113333"})
		fatal(err)
	}
	// The resident's own settlements, paid with a medical card of theirs.
	bank := e.principal(auth.Bank)
	number := fmt.Sprintf("62148300%08d", e.seq.Add(1))
	_, err := e.cards.IssueMedical(ctx, bank, e.personID, number)
	fatal(err)
	_, err = e.cards.ChangeMedical(ctx, bank, number, "activate")
	fatal(err)
	for i := range 3 {
		_, err := e.settle.Settle(ctx, e.principal(auth.Institution), settle.Request{IdemKey: fmt.Sprintf("page-own-%d", i), Kind: "outpatient",
			Date: period.Today(e.db.Now()).Format("2006-01-02"), Identity: settle.Identity{MedicalCard: number},
			Items: []settle.ItemIn{{Code: "001", Name: "诊查费", Category: "A", Amount: "10.00"}}})
		fatal(err)
	}
	// The resident's cards: an active one replaced, and its replacement applied for.
	old := e.cardAt(card.Active, e.personID)
	_, err = e.cards.Replace(ctx, e.principal(auth.Clerk), old.ID, "damaged")
	fatal(err)
	// This month's bills, and three payments against the employer's.
	payer := e.billedEmployer()
	today := period.Today(e.db.Now()).Format("2006-01-02")
	for i := range 3 {
		_, err := e.contrib.RecordPayment(ctx, e.principal(auth.Clerk), contrib.NewPayment{IdemKey: fmt.Sprintf("page-%d", i), Payer: payer,
			Amount: "1.00", PaidOn: today})
		fatal(err)
	}
}

// TestEveryListIsWalked keeps pageCases whole: every operation of the document whose answer
// pages (has a next) is walked by TestPagination.
func TestEveryListIsWalked(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]struct {
				Content map[string]struct {
					Schema json.RawMessage `json:"schema"`
				} `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	lists := 0
	for path, ops := range doc.Paths {
		op, ok := ops["get"]
		if !ok {
			continue
		}
		var schema struct {
			Ref        string                     `json:"$ref"`
			Properties map[string]json.RawMessage `json:"properties"`
		}
		_ = json.Unmarshal(op.Responses["200"].Content["application/json"].Schema, &schema)
		props := schema.Properties
		if schema.Ref != "" {
			props = doc.Components.Schemas[strings.TrimPrefix(schema.Ref, "#/components/schemas/")].Properties
		}
		if _, pages := props["next"]; !pages {
			continue
		}
		lists++
		if _, ok := pageCases["GET "+path]; !ok {
			t.Errorf("GET %s pages (its answer has next) but TestPagination does not walk it", path)
		}
	}
	if lists != len(pageCases) {
		t.Errorf("the document has %d lists that page, TestPagination walks %d", lists, len(pageCases))
	}
}
