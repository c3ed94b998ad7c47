package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
)

// policyFormOf reads the policy form's inputs from a page, as a browser would post them.
func policyFormOf(t *testing.T, page string) url.Values {
	t.Helper()
	start := strings.Index(page, `id="policy-form"`)
	if start < 0 {
		t.Fatalf("no policy form:\n%.3000s", page)
	}
	form := page[start:]
	form = form[:strings.Index(form, "</form>")]
	vals := url.Values{}
	for _, in := range strings.Split(form, "<input")[1:] {
		name, value := attr(in, "name"), attr(in, "value")
		vals.Set(name, strings.ReplaceAll(value, "&#43;", "+"))
	}
	return vals
}

func attr(tag, name string) string {
	_, rest, ok := strings.Cut(tag, " "+name+`="`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

// TestPortalPolicyForm: the policy page's form starts from the version in force; changing a rate
// there proposes a whole document equal to the one in force but for what was typed, pending a
// reviewer, who approves it as any other proposal. Bad values bring the form back with each
// problem beside its input, in the reader's language, and propose nothing. The JSON textarea stays
// as the advanced way, its problems shown with it and not on the form. A reviewer sees no form.
func TestPortalPolicyForm(t *testing.T) {
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	ctx := context.Background()
	inForce, err := e.pol.Effective(ctx, e.db.R(), testRegion, period.MonthOf(e.db.Now()))
	if err != nil {
		t.Fatal(err)
	}
	admin := portalClient(t, e, auth.Admin)
	status, page, _ := getPage(t, admin, e.http.URL+"/policies")
	if status != 200 {
		t.Fatalf("policies page: %d", status)
	}
	vals := policyFormOf(t, page)
	next := period.MonthOf(e.db.Now()).Add(1).String()
	c := inForce.Policy.Contributions
	for key, want := range map[string]string{"base": strconv.FormatInt(inForce.ID, 10), "policy_name": inForce.Policy.Name, "effective_from": next,
		"contributions.average_wage": c.AverageWage, "contributions.base_floor": c.BaseFloor, "contributions.due_day": strconv.Itoa(c.DueDay),
		"contributions.rates.pension.employer": c.Rates[policy.Pension].Employer, "contributions.rates.medical.employee": c.Rates[policy.Medical].Employee} {
		if vals.Get(key) != want {
			t.Errorf("the form's %s is %q; want %q (the version in force)", key, vals.Get(key), want)
		}
	}
	for _, want := range []string{`<label for="pf-contributions-rates-pension-employer">单位缴费比例（%）</label>`, "<legend>基本养老保险</legend>",
		`<label for="pf-contributions-base-floor">缴费基数下限（社平工资的 %）</label>`, `id="policy-json"`, "高级：编辑完整的 JSON 文档"} {
		if !strings.Contains(page, want) {
			t.Errorf("the policies page lacks %s", want)
		}
	}
	if strings.Contains(page, `id="policy-json" open`) {
		t.Error("the JSON editor is open before anything was sent")
	}
	before, _ := e.pol.List(ctx, testRegion)

	// Bad values: each problem beside its input, what was typed kept, nothing proposed.
	bad := url.Values{}
	for k := range vals {
		bad.Set(k, vals.Get(k))
	}
	bad.Set("policy_name", "")
	bad.Set("effective_from", "2027")
	bad.Set("contributions.base_floor", "abc")
	bad.Set("contributions.rates.pension.employer", "x")
	bad.Set("contributions.due_day", "31")
	status, page = postForm(t, admin, e.http.URL+"/policies/propose-form", bad)
	if status != http.StatusUnprocessableEntity && status != http.StatusBadRequest {
		t.Fatalf("bad form: %d", status)
	}
	for _, id := range []string{"pf-policy-name", "pf-effective-from", "pf-contributions-base-floor", "pf-contributions-rates-pension-employer", "pf-contributions-due-day"} {
		if !strings.Contains(page, `id="`+id+`-problem">`) || !strings.Contains(page, `id="`+id+`" value=`) {
			t.Errorf("no problem beside %s", id)
		}
		i := strings.Index(page, `id="`+id+`" value=`)
		if tag := page[i : i+strings.Index(page[i:], ">")]; !strings.Contains(tag, `aria-invalid="true"`) || !strings.Contains(tag, id+`-problem"`) {
			t.Errorf("%s is not marked invalid: %s", id, tag)
		}
	}
	for _, want := range []string{`value="abc"`, `value="2027"`, `id="pf-contributions-due-day-problem">1 至 28 之间的日期`, "政策版本名称", "缴费基数下限（社平工资的 %）"} {
		if !strings.Contains(page, want) {
			t.Errorf("bad form lacks %s", want)
		}
	}
	if strings.Contains(page, "姓名") || strings.Contains(page, "政策参数 contributions") {
		t.Error("the problem names a field by its key or as a person's name")
	}
	if strings.Contains(page, `id="policy-json" open`) {
		t.Error("the form's problem opened the JSON editor")
	}
	if after, _ := e.pol.List(ctx, testRegion); len(after) != len(before) {
		t.Fatalf("a bad form proposed a version: %d → %d", len(before), len(after))
	}

	// In English.
	enAdmin := portalClient(t, e, auth.Admin)
	resp, err := enAdmin.Get(e.http.URL + "/lang/en")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, page = postForm(t, enAdmin, e.http.URL+"/policies/propose-form", bad)
	if !strings.Contains(page, `id="pf-contributions-due-day-problem">a day from 1 to 28</span>`) || !strings.Contains(page, "Base floor (% of the average wage)") {
		t.Errorf("English bad form:\n%.6000s", page)
	}

	// A good form: the document in force with the typed changes, pending.
	vals.Set("contributions.rates.pension.employer", "15")
	vals.Set("policy_name", "下调养老保险单位费率")
	vals.Set("effective_from", next[:4]+"-"+next[4:]) // written as 2027-01, stored as 202701
	status, page = postForm(t, admin, e.http.URL+"/policies/propose-form", vals)
	if status != 200 || !strings.Contains(page, "新的政策版本已提交") {
		t.Fatalf("good form: %d %.3000s", status, page)
	}
	after, _ := e.pol.List(ctx, testRegion)
	if len(after) != len(before)+1 || after[0].Status != policy.Pending || after[0].EffectiveFrom.String() != next {
		t.Fatalf("versions after the form: %+v", after[0])
	}
	proposed, err := e.pol.Get(ctx, e.principal(auth.Admin), after[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	var want policy.Policy
	if err := json.Unmarshal([]byte(inForce.Body), &want); err != nil {
		t.Fatal(err)
	}
	want.Name, want.EffectiveFrom = "下调养老保险单位费率", next
	r := want.Contributions.Rates[policy.Pension]
	r.Employer = "15"
	want.Contributions.Rates[policy.Pension] = r
	if !reflect.DeepEqual(*proposed.Policy, want) {
		t.Errorf("the proposed document differs from the one in force by more than the form's changes:\n%s\n%s", proposed.Body, inForce.Body)
	}

	// The reviewer reads the page without the form and approves the proposal the usual way.
	reviewer := portalClient(t, e, auth.Reviewer)
	_, page, _ = getPage(t, reviewer, e.http.URL+"/policies")
	if strings.Contains(page, `id="policy-form"`) || strings.Contains(page, `id="policy-json"`) {
		t.Error("the reviewer is offered a form to propose")
	}
	if status, _ = postForm(t, reviewer, e.http.URL+"/policies/propose-form", vals); status != http.StatusForbidden {
		t.Errorf("the reviewer posts the form: %d", status)
	}
	if status, _ = postForm(t, reviewer, e.http.URL+"/policies/approve", url.Values{"id": {strconv.FormatInt(after[0].ID, 10)}}); status != 200 {
		t.Fatalf("approve: %d", status)
	}
	if v, _ := e.pol.Get(ctx, nil, after[0].ID); v.Status != policy.Approved {
		t.Fatalf("after approval: %s", v.Status)
	}

	// The JSON editor: its problem is shown with it, the form unmarked.
	status, page = postForm(t, admin, e.http.URL+"/policies/propose", url.Values{"policy": {`{"region":"330100"`}})
	if status == 200 || !strings.Contains(page, `id="policy-json" open`) || strings.Contains(page, `aria-invalid="true"`) {
		t.Errorf("bad JSON: %d, editor open %v, a form input marked %v", status, strings.Contains(page, `id="policy-json" open`), strings.Contains(page, `aria-invalid="true"`))
	}
}
