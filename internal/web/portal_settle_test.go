package web

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/settle"
)

// fundMedical puts money into a person's medical personal account, as the month's contributions
// do (the pooled fund's part for the account moves to it).
func (e *testEnv) fundMedical(idNumber string, amount money.Fen) int64 {
	e.t.Helper()
	ctx := context.Background()
	person, err := e.reg.Person(ctx, e.principal(auth.Clerk), idNumber)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.db.Write(ctx, func(tx *db.Tx) error {
		_, err := ledger.Post(ctx, tx, ledger.Entry{IdemKey: fmt.Sprintf("fund-medical:%d", person.ID), Region: testRegion, Cause: "personal_accounts",
			CauseRef: "test funding", Postings: []ledger.Posting{{Account: ledger.FundAccount(testRegion, "medical"), Amount: amount},
				{Account: ledger.PersonAccount(testRegion, ledger.PersonMedical, person.ID), Amount: -amount}}})
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return person.ID
}

var (
	hiddenIdem = regexp.MustCompile(`name="idem" value="([0-9a-f]{32})"`)
	figureRE   = regexp.MustCompile(`id="r-([a-z_]+)">([^<]*)<`)
)

// figures reads the receipt's figures by their API names.
func figures(page string) map[string]string {
	out := map[string]string{}
	for _, m := range figureRE.FindAllStringSubmatch(page, -1) {
		out[m[1]] = html.UnescapeString(m[2])
	}
	return out
}

func getPage(t *testing.T, c *http.Client, u string) (int, string, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Request.URL.Path
}

func postPage(t *testing.T, c *http.Client, u string, form url.Values) (int, string, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Request.URL.Path
}

// TestCounterFormSettlesWhatTheServiceStores: a bill typed into the counter's rows and pasted into
// its text area, paid with a medical insurance card, becomes one settlement whose items and every
// figure are what the receipt shows; the same form sent twice settles once; a bad amount is shown
// beside its row and stores nothing; the refund asks first and reverses once. On both engines.
func TestCounterFormSettlesWhatTheServiceStores(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newTestEnv(t, d)
		ctx := context.Background()
		number := e.medicalCard()
		m, err := e.cards.MedicalCards(ctx, e.principal(auth.Bank))
		if err != nil || len(m) == 0 {
			t.Fatal(m, err)
		}
		e.fundMedical(string(m[0].IDNumber), 30_00) // the newest: the card just issued
		counter := e.portalClient(auth.Institution)
		status, form, _ := getPage(t, counter, e.http.URL+"/counter")
		key := hiddenIdem.FindStringSubmatch(form)
		if status != 200 || key == nil || !strings.Contains(form, `id="settle-form"`) || !strings.Contains(form, `id="sscard-note"`) {
			t.Fatalf("counter: %d, key %v", status, key)
		}
		today := period.Today(e.db.Now()).Format("2006-01-02")
		if !strings.Contains(form, `name="date" id="date" type="date" value="`+today+`"`) {
			t.Fatal("the form does not offer Beijing's today")
		}
		// A hospital settles outpatient and inpatient bills only.
		if strings.Contains(form, `value="pharmacy"`) || !strings.Contains(form, `value="inpatient"`) {
			t.Fatal("the kinds offered are not the hospital's")
		}
		bill := url.Values{"idem": {key[1]}, "rows": {"6"}, "kind": {"outpatient"}, "date": {today}, "use_account": {"1"},
			"code1": {"110200001"}, "name1": {"普通门诊诊查费"}, "category1": {"A"}, "amount1": {"10.00"},
			"code2": {"X-RAY"}, "name2": {"胸部正位片"}, "category2": {"B"}, "amount2": {"45.55"},
			"lines":        {"250101001,血常规,甲,25.00\r\n\r\nF0031\t布洛芬缓释胶囊, 0.3g\t丙\t18.60\nF0032,维生素C片，100mg,b,3.35\n"},
			"medical_card": {number}}
		status, receipt, path := postPage(t, counter, e.http.URL+"/counter/settle", bill)
		id := strings.TrimPrefix(path, "/settlements/")
		if status != 200 || id == path || !strings.Contains(receipt, `id="receipt"`) {
			t.Fatalf("settle: %d at %s", status, path)
		}
		st, err := e.settle.Get(ctx, e.principal(auth.Institution), id)
		if err != nil {
			t.Fatal(err)
		}
		want := []settle.Item{{Code: "110200001", Name: "普通门诊诊查费", Category: "A", Amount: 10_00}, {Code: "X-RAY", Name: "胸部正位片", Category: "B", Amount: 45_55},
			{Code: "250101001", Name: "血常规", Category: "A", Amount: 25_00}, {Code: "F0031", Name: "布洛芬缓释胶囊, 0.3g", Category: "C", Amount: 18_60},
			{Code: "F0032", Name: "维生素C片,100mg", Category: "B", Amount: 3_35}}
		if fmt.Sprint(st.Items) != fmt.Sprint(want) || st.Kind != "outpatient" || !st.UseAccount || st.Institution != testInstitution {
			t.Fatalf("stored %+v", st)
		}
		sp := st.Split
		got := figures(receipt)
		for name, v := range map[string]string{"id": st.ID, "total": sp.Total.String(), "self_pay_c": sp.SelfPayC.String(),
			"first_self_pay_b": sp.FirstSelfPayB.String(), "eligible": sp.Eligible.String(), "deductible": sp.Deductible.String(),
			"ratio": sp.Ratio.String(), "pool": sp.Pool.String(), "personal": sp.Personal.String(), "account": sp.Account.String(),
			"cash": sp.Cash.String(), "cap_left": sp.CapLeft.String(), "account_balance": st.AccountBalance.String(), "date": today} {
			if got[name] != v {
				t.Errorf("receipt %s = %q; stored %q", name, got[name], v)
			}
		}
		if sp.Total != 102_50 || sp.Account != 30_00 || st.AccountBalance != 0 || sp.Cash != sp.Total-sp.Pool-sp.Account {
			t.Fatalf("split %+v balance %s", sp, st.AccountBalance)
		}
		if !strings.Contains(receipt, st.IDNumber.Masked()) || strings.Contains(receipt, string(st.IDNumber)) {
			t.Fatal("the receipt does not show the person masked")
		}

		// The same form again (a double click): the same settlement, not a second one.
		if _, _, again := postPage(t, counter, e.http.URL+"/counter/settle", bill); again != path {
			t.Fatalf("the second submit went to %s", again)
		}
		count := func() int {
			sts, err := e.settle.List(ctx, e.principal(auth.Institution), settle.Query{})
			if err != nil {
				t.Fatal(err)
			}
			return len(sts)
		}
		if n := count(); n != 1 {
			t.Fatalf("%d settlements after a double submit", n)
		}

		// A bad amount: the form again, the problem beside its row, everything typed kept.
		bad := url.Values{}
		for k, v := range bill {
			bad[k] = v
		}
		bad.Set("idem", "k-"+e.newID())
		bad.Set("amount2", "45,55")
		bad.Set("lines", "250101001,血常规,甲\n")
		status, again, _ := postPage(t, counter, e.http.URL+"/counter/settle", bad)
		if status != 422 || !strings.Contains(again, `id="lines-problem"`) || !strings.Contains(again, "胸部正位片") {
			t.Fatalf("a short pasted line: %d", status)
		}
		bad.Set("lines", "")
		status, again, _ = postPage(t, counter, e.http.URL+"/counter/settle", bad)
		if status != 422 || !strings.Contains(again, `id="row-problem-2"`) || !strings.Contains(again, `value="45,55"`) || strings.Contains(again, "items[") {
			t.Fatalf("a bad amount: %d", status)
		}
		bad.Set("amount2", "45.55")
		bad.Del("medical_card")
		status, again, _ = postPage(t, counter, e.http.URL+"/counter/settle", bad)
		if status != 422 || !strings.Contains(again, `id="identity-problem">请扫描电子社保卡二维码`) {
			t.Fatalf("no identity: %d", status)
		}
		if n := count(); n != 1 {
			t.Fatalf("a refused bill stored something: %d settlements", n)
		}

		// The hospital's home page counts the day so far.
		if _, home, _ := getPage(t, counter, e.http.URL+"/"); !strings.Contains(home, "今日已结算 1 笔，医疗费合计 102.50 元") {
			t.Fatal("the home page does not count today's settlement")
		}
		// Another person's receipt is not the resident's to read.
		if status, _, _ := getPage(t, e.portalClient(auth.Resident), e.http.URL+"/settlements/"+id); status != 404 {
			t.Fatalf("the resident opened another person's receipt: %d", status)
		}

		// The refund: a confirmation first, then once however often it is pressed.
		status, confirm, _ := getPage(t, counter, e.http.URL+"/settlements/"+id+"/refund")
		rkey := hiddenIdem.FindStringSubmatch(confirm)
		if status != 200 || rkey == nil || !strings.Contains(confirm, `id="refund-confirm"`) {
			t.Fatalf("refund confirmation: %d", status)
		}
		if st, _ := e.settle.Get(ctx, e.principal(auth.Institution), id); st.Refunded() {
			t.Fatal("asking to refund refunded")
		}
		for range 2 {
			status, done, _ := postPage(t, counter, e.http.URL+"/settlements/"+id+"/refund", url.Values{"idem": {rkey[1]}})
			if status != 200 || !strings.Contains(done, `id="refunded"`) {
				t.Fatalf("refund: %d", status)
			}
		}
		st, _ = e.settle.Get(ctx, e.principal(auth.Institution), id)
		bal, _ := ledger.Balance(ctx, e.db.R(), ledger.PersonAccount(testRegion, ledger.PersonMedical, st.PersonID))
		if !st.Refunded() || bal != 30_00 {
			t.Fatalf("after the refund: refunded %v, balance %s", st.Refunded(), bal)
		}

		// The day's reconciliation lists it, refunded, with totals that leave it out.
		status, day, _ := getPage(t, counter, e.http.URL+"/reconciliation")
		if status != 200 || !strings.Contains(day, `data-id="`+id+`"`) || !strings.Contains(day, `id="t-count">0<`) || !strings.Contains(day, "format=csv") {
			t.Fatalf("reconciliation: %d", status)
		}
	})
}

func TestParseItemLines(t *testing.T) {
	for _, c := range []struct {
		text string
		want string // the items as fmt prints them
		nos  string // their line numbers
		bad  bool
	}{
		{text: "", want: "[]", nos: "[]"},
		{text: "a,b,A,1.00", want: "[{a b A 1.00}]", nos: "[1]"},
		{text: "\n a , b , 甲类 , 1 \n\nc\td,e\t丙\t2.5", want: "[{a b A 1} {c d,e C 2.5}]", nos: "[2 4]"},
		{text: "a，名，称，乙，3", want: "[{a 名,称 B 3}]", nos: "[1]"},
		{text: "a,b,1.00", bad: true},
		{text: "a,b,A,1\nshort", bad: true},
		{text: "\xff,b,A,1", bad: true},
		{text: strings.Repeat("a,b,A,1\n", 501), bad: true},
		{text: strings.Repeat("x", maxItemText+1), bad: true},
	} {
		items, nos, err := parseItemLines(c.text)
		if c.bad {
			if e, ok := errs.As(err); !ok || e.Fields["lines"] == "" {
				t.Errorf("%.20q: %v, %v", c.text, items, err)
			}
			continue
		}
		if err != nil || fmt.Sprint(items) != c.want || fmt.Sprint(nos) != c.nos {
			t.Errorf("%q: %v %v %v", c.text, items, nos, err)
		}
	}
}

// FuzzParseItemLines: whatever is pasted, the parser never panics; what it accepts is one item
// per non-blank line, in order, each field trimmed, the category normalised, and writing the items
// back as tab-separated lines reads them again the same.
func FuzzParseItemLines(f *testing.F) {
	for _, s := range []string{"a,b,A,1.00", "\n a , b , 甲类 , 1 \n\nc\td,e\t丙\t2.5", "a，名，称，乙，3", "a,b,1", "\t\t\t", ",,,", "x\r\ny,z,C,1\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		items, nos, err := parseItemLines(text)
		if err != nil {
			if e, ok := errs.As(err); !ok || e.Fields["lines"] == "" {
				t.Fatalf("an error that names no field: %v", err)
			}
			return
		}
		if len(items) != len(nos) || len(items) > 500 {
			t.Fatalf("%d items, %d line numbers", len(items), len(nos))
		}
		lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
		for i, it := range items {
			if nos[i] < 1 || nos[i] > len(lines) || i > 0 && nos[i] <= nos[i-1] || strings.TrimSpace(lines[nos[i]-1]) == "" {
				t.Fatalf("item %d from line %d", i, nos[i])
			}
			for _, s := range []string{it.Code, it.Name, it.Category, it.Amount} {
				if s != strings.TrimSpace(s) && !strings.ContainsAny(s, "\t\n") {
					t.Fatalf("untrimmed field %q", s)
				}
			}
		}
		var back []string
		for _, it := range items {
			if strings.ContainsAny(it.Code+it.Name+it.Category+it.Amount, "\t\n\r") || it.Code == "" && it.Name == "" && it.Category == "" && it.Amount == "" {
				return
			}
			back = append(back, strings.Join([]string{it.Code, it.Name, it.Category, it.Amount}, "\t"))
		}
		again, _, err := parseItemLines(strings.Join(back, "\n"))
		if err != nil || fmt.Sprint(again) != fmt.Sprint(items) {
			t.Fatalf("written back %q, read %v (%v); first %v", back, again, err, items)
		}
	})
}

// TestBureauSettlementPages: the clerk registers an institution on the portal and the reviewer,
// who alone sees the button, approves it; the clerk opens its operator's login; the settlements
// list pages with the API's cursor and filters by person; the bureau reads an institution's day;
// the clerk prepares a month's clearing and the reviewer approves it.
func TestBureauSettlementPages(t *testing.T) {
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	ctx := context.Background()
	clerk, reviewer, auditor := e.portalClient(auth.Clerk), e.portalClient(auth.Reviewer), e.portalClient(auth.Auditor)

	const code = "P33010000007"
	status, page, _ := postPage(t, clerk, e.http.URL+"/institutions/register", url.Values{"code": {code}, "name": {"测试大药房"}, "kind": {"pharmacy"},
		"level": {"3"}, "bank_account": {"62220000333"}})
	if status != 422 || !strings.Contains(page, zh.Problem("a pharmacy has no level")) || !strings.Contains(page, `value="测试大药房"`) || strings.Contains(page, "invalid level") {
		t.Fatalf("a pharmacy with a level: %d", status)
	}
	status, page, _ = postPage(t, clerk, e.http.URL+"/institutions/register", url.Values{"code": {code}, "name": {"测试大药房"}, "kind": {"pharmacy"},
		"level": {"0"}, "bank_account": {"62220000333"}})
	if status != 201 || !strings.Contains(page, `id="inst-`+code+`"`) || strings.Contains(page, "approve-institution") {
		t.Fatalf("register: %d (the clerk must not see the approval)", status)
	}
	_, page, _ = getPage(t, reviewer, e.http.URL+"/institutions")
	if !strings.Contains(page, `<input type="hidden" name="code" value="`+code+`"><button type="submit" class="approve-institution"`) || strings.Contains(page, `id="register-form"`) {
		t.Fatal("the reviewer does not see the pending institution's button, or sees the clerk's form")
	}
	if status, page, _ = postPage(t, reviewer, e.http.URL+"/institutions/approve", url.Values{"code": {code}}); status != 200 || !strings.Contains(page, "定点") {
		t.Fatalf("approve: %d", status)
	}
	if in, err := e.settle.Institution(ctx, e.principal(auth.Clerk), code); err != nil || in.Status != "approved" || in.ApprovedBy != userName(auth.Reviewer) {
		t.Fatalf("after approval: %+v %v", in, err)
	}
	status, page, _ = postPage(t, clerk, e.http.URL+"/institutions/operator", url.Values{"code": {code}, "username": {"pharmacy-op"}, "name": {"药房收银"},
		"phone": {"13912347777"}})
	if status != 201 || !strings.Contains(page, "pharmacy-op") {
		t.Fatalf("operator login: %d", status)
	}
	if u, err := e.auth.UserByName(ctx, "pharmacy-op"); err != nil || u.InstitutionCode != code || u.Role != auth.Institution {
		t.Fatalf("operator: %+v %v", u, err)
	}

	// 51 settlements of one person: a page of 50, then the 51st through the cursor.
	number := e.medicalCard()
	for i := range 51 {
		if _, err := e.settle.Settle(ctx, e.principal(auth.Institution), settle.Request{IdemKey: fmt.Sprintf("page-%d", i), Kind: "outpatient",
			Date: period.Today(e.db.Now()).Format("2006-01-02"), Identity: settle.Identity{MedicalCard: number},
			Items: []settle.ItemIn{{Code: "001", Name: "诊查费", Category: "A", Amount: "1.00"}}}); err != nil {
			t.Fatal(err)
		}
	}
	other := e.settlement()
	_, page, _ = getPage(t, auditor, e.http.URL+"/settlements?institution="+testInstitution)
	next := regexp.MustCompile(`href="(/settlements\?[^"]+)" id="older"`).FindStringSubmatch(page)
	if n := strings.Count(page, `<tr data-id=`); n != 50 || next == nil || !strings.Contains(page, `data-id="`+other+`"`) {
		t.Fatalf("first page: %d rows, next %v", n, next)
	}
	_, page, _ = getPage(t, auditor, e.http.URL+html.UnescapeString(next[1]))
	if n := strings.Count(page, `<tr data-id=`); n != 2 || strings.Contains(page, `id="older"`) {
		t.Fatalf("second page: %d rows", n)
	}
	ms, _ := e.cards.MedicalCards(ctx, e.principal(auth.Bank))
	var holder string
	for _, m := range ms {
		if m.CardNumber == number {
			holder = string(m.IDNumber)
		}
	}
	_, page, _ = getPage(t, auditor, e.http.URL+"/settlements?id_number="+holder)
	if n := strings.Count(page, `<tr data-id=`); n != 50 || strings.Contains(page, `data-id="`+other+`"`) {
		t.Fatalf("by person: %d rows", n)
	}
	if status, page, _ = getPage(t, auditor, e.http.URL+"/settlements?from=2026-13-01"); status != 422 || !strings.Contains(page, "field-problem") {
		t.Fatalf("a bad date: %d", status)
	}

	// The bureau's look at the hospital's day, with the detail file.
	_, page, _ = getPage(t, reviewer, e.http.URL+"/reconciliation?institution="+testInstitution+"&date="+period.Today(e.db.Now()).Format("2006-01-02"))
	if !strings.Contains(page, `id="t-count">52<`) || !strings.Contains(page, `id="t-total">61.00<`) {
		t.Fatal("the day's totals are not the 52 settlements")
	}
	csvLink := regexp.MustCompile(`href="([^"]+format=csv[^"]*)"`).FindStringSubmatch(page)
	if csvLink == nil {
		t.Fatal("no detail file link")
	}
	resp, err := reviewer.Get(e.http.URL + html.UnescapeString(csvLink[1]))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.Count(string(b), "\n") != 53 {
		t.Fatalf("detail file: %d, %d lines", resp.StatusCode, strings.Count(string(b), "\n"))
	}

	// The clearing of last month: the clerk prepares, the reviewer approves and posts.
	month := period.MonthOf(e.db.Now()).Add(-1).String()
	if status, page, _ = postPage(t, clerk, e.http.URL+"/clearings/prepare", url.Values{"institution": {testInstitution}, "month": {"2026-99"}}); status != 422 {
		t.Fatalf("a bad month: %d", status)
	}
	if status, page, _ = postPage(t, clerk, e.http.URL+"/clearings/prepare", url.Values{"institution": {testInstitution}, "month": {month}}); status != 200 ||
		!strings.Contains(page, `id="clearing-`+testInstitution+`-`+month+`"`) || strings.Contains(page, "approve-clearing") {
		t.Fatalf("prepare: %d", status)
	}
	if _, page, _ = getPage(t, reviewer, e.http.URL+"/clearings"); !strings.Contains(page, "approve-clearing") {
		t.Fatal("the reviewer has no approval button")
	}
	if status, page, _ = postPage(t, reviewer, e.http.URL+"/clearings/approve", url.Values{"institution": {testInstitution}, "month": {month}}); status != 200 ||
		strings.Contains(page, "approve-clearing") {
		t.Fatalf("approve: %d", status)
	}
	cs, err := e.settle.Clearings(ctx, e.principal(auth.Auditor), 10)
	if err != nil || len(cs) != 1 || cs[0].Status != settle.Posted || cs[0].ApprovedBy != userName(auth.Reviewer) {
		t.Fatalf("clearings: %+v %v", cs, err)
	}
}
