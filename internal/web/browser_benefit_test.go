package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
)

// benefitNow is the business time of the benefit tests: 10:00 in Beijing on 16 November 2026, in
// the middle of a month so that "today or within the last month" and the month's end stay apart.
var benefitNow = time.Date(2026, 11, 16, 2, 0, 0, 0, time.UTC)

// benefitPerson makes u-resident (P1, on E1's staff since 16 months ago, as the employer
// declared then) a person with 15 months of contributions paid on their due dates, dismissed at
// the end of last month, with an active social security card whose bank function is open. It
// returns the card number the benefit is paid to.
func benefitPerson(t *testing.T) (*testEnv, *dbtest.Clock, string) {
	t.Helper()
	ctx := context.Background()
	clock := dbtest.RunningClock(benefitNow.AddDate(0, -16, 0))
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{Now: clock.Now}))
	first := period.MonthOf(clock.Now())
	clock.Set(benefitNow)
	m := period.MonthOf(clock.Now())
	admin, bank := e.principal(auth.Admin), e.principal(auth.Bank)
	for month := first; month <= m.Add(-2); month = month.Add(1) {
		if _, err := e.contrib.Run(ctx, admin.Actor(), testRegion, month, nil); err != nil {
			t.Fatal(err)
		}
		type bill struct {
			id         int64
			payer, due string
			total      int64
		}
		var bills []bill
		if err := db.EachRow(ctx, e.db.R(), func(scan func(...any) error) error {
			var b bill
			err := scan(&b.id, &b.payer, &b.due, &b.total)
			bills = append(bills, b)
			return err
		}, "SELECT id, payer, due_date, total FROM bills WHERE month = $1 AND paid < total", int(month)); err != nil {
			t.Fatal(err)
		}
		for _, b := range bills {
			due, err := db.ParseTime(b.due)
			if err != nil {
				t.Fatal(err)
			}
			if due.After(period.Today(clock.Now())) {
				continue
			}
			// Paid on the due date, as the bank reports it: no late fee.
			if _, err := e.contrib.RecordPayment(ctx, bank, contrib.NewPayment{IdemKey: fmt.Sprintf("pay-%d", b.id), Payer: b.payer,
				Amount: money.Fen(b.total).String(), PaidOn: due.Format("2006-01-02")}); err != nil {
				t.Fatal(err)
			}
		}
	}
	end := m.First().AddDate(0, 0, -1) // the last day of last month
	if err := e.reg.ChangeStaff(ctx, e.principal(auth.Employer), e.employerUSCC, registry.StaffChange{Op: registry.OpRemove, IDNumber: e.personID,
		EndDate: end.Format("2006-01-02"), Reason: "dismissed"}); err != nil {
		t.Fatal(err)
	}
	person, err := e.reg.Person(ctx, e.principal(auth.Clerk), e.personID)
	if err != nil {
		t.Fatal(err)
	}
	// The card as its lifecycle leaves it: active, its bank function opened by the bank.
	cardNumber := "C" + e.personID[10:]
	if err := e.db.Write(ctx, func(tx *db.Tx) error {
		now := db.FormatTime(tx.Now)
		_, err := tx.ExecContext(ctx, `INSERT INTO cards(region, person_id, kind, application_no, state, channel, applied_by, applied_at, state_at,
			card_number, card_id, valid_until, bank_account, bank_activated_at) VALUES($1, $2, 'social_security', $3, 'active', 'window', 'test', $4, $4, $5, $6, $7, $8, $4)`,
			testRegion, person.ID, "APP"+e.personID, now, cardNumber, testRegion+"D15600000599999"+e.personID[8:17], db.FormatTime(tx.Now.AddDate(10, 0, 0)),
			"62220000"+e.personID[6:17])
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return e, clock, cardNumber
}

// noSideScroll fails when the page is wider than the window: on a phone, nothing scrolls sideways.
func (b b) noSideScroll(page string) {
	b.t.Helper()
	wide, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if err != nil || wide {
		b.t.Errorf("%s is wider than the window (%v)", page, err)
	}
}

// TestBrowserBenefitPensionAndClaim (issue 13): the resident, on a phone, sees their pension
// months, the minimum and the retirement month, and why no claim can be made yet; the window
// registers them as unemployed and prepares the claim; the reviewer approves it; the
// administrator runs the month; and the resident sees the month paid to their card's number.
func TestBrowserBenefitPensionAndClaim(t *testing.T) {
	// The data first: the browser's 90 s are for the pages.
	e, clock, cardNumber := benefitPerson(t)
	br := b{t: t, ctx: newBrowser(t)}
	base := e.http.URL
	ctx := context.Background()
	m := period.MonthOf(clock.Now())
	want, err := e.srv.Benefit.PensionOf(ctx, e.principal(auth.Resident), "")
	if err != nil {
		t.Fatal(err)
	}
	if want.ContributionMonths != 15 {
		t.Fatalf("the setup paid %d pension months, not 15", want.ContributionMonths)
	}

	// (1) The resident's pension, at 375 px.
	br.do(chromedp.EmulateViewport(375, 740))
	br.login(base, "u-resident", testPassword)
	br.do(chromedp.Click(`#menu a[href="/pension"]`), chromedp.WaitVisible("#pension"))
	if got := br.text("h1"); got != "我的养老保险" {
		t.Errorf("the pension page is titled %q", got)
	}
	if got := br.text("#p-months"); got != "15 个月" {
		t.Errorf("months so far %q", got)
	}
	if got := br.text("#p-month"); got != want.RetirementMonth.String() {
		t.Errorf("retirement month %q; the rule's %s", got, want.RetirementMonth)
	}
	if got := br.text("#p-minimum"); got != fmt.Sprintf("%d 个月", want.MinimumMonths) {
		t.Errorf("minimum %q; the rule's %d", got, want.MinimumMonths)
	}
	if got := br.text("#p-remaining"); got != fmt.Sprintf("%d 个月", want.MinimumMonths-15) {
		t.Errorf("months remaining %q", got)
	}
	if got := br.text("#p-age"); got != fmt.Sprintf("%d 岁 %d 个月", want.RetirementAgeMonths/12, want.RetirementAgeMonths%12) {
		t.Errorf("retirement age %q", got)
	}
	if got := br.text("#p-group"); got != messages["rgroup."+want.Group][0] || strings.Contains(got, "_") {
		t.Errorf("the group shows as %q, not translated", got)
	}
	bar, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`(() => { const m = document.querySelector("#p-bar"); return m.value + "/" + m.max })()`))
	if err != nil || bar != fmt.Sprintf("15/%d", want.MinimumMonths) {
		t.Errorf("the bar shows %q (%v)", bar, err)
	}
	br.noSideScroll("My pension")

	// Unemployment benefit before registering: the unmet condition named in Chinese.
	br.do(chromedp.Click(`#menu a[href="/unemployment"]`), chromedp.WaitVisible("#preview"))
	if got := br.text("#u-problems"); !strings.Contains(got, "尚未进行失业登记") || strings.Contains(got, "registered") {
		t.Errorf("the unmet conditions read %q", got)
	}
	if got := br.text("#u-contrib"); got != "15 个月" {
		t.Errorf("unemployment months %q", got)
	}
	br.noSideScroll("Unemployment benefit")
	br.do(chromedp.Click("#logout"), chromedp.WaitVisible("#login-form"), chromedp.EmulateViewport(1280, 900))

	// (2) The window: look the person up, register them, prepare the claim.
	br.login(base, "u-clerk", testPassword)
	br.do(chromedp.Click(`#menu a[href="/unemployment"]`), chromedp.WaitVisible("#lookup-form"),
		chromedp.SendKeys("#lookup-id", e.personID), chromedp.Click("#lookup-submit"), chromedp.WaitVisible("#register-form"))
	today, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`document.querySelector("#r-date").value`))
	if err != nil || today != "2026-11-16" {
		t.Errorf("the registration form offers %q, not Beijing's today (%v)", today, err)
	}
	br.do(chromedp.Click("#r-submit"), chromedp.WaitVisible("#prepare-claim"))
	if got := br.text(".notice"); !strings.Contains(got, "失业登记已办理") {
		t.Errorf("after registering: %q", got)
	}
	br.do(chromedp.Click("#prepare-claim"), chromedp.WaitVisible(`.claim[data-status="prepared"]`))
	br.do(chromedp.Click("#logout"), chromedp.WaitVisible("#login-form"))

	// The reviewer approves it.
	br.login(base, "u-reviewer", testPassword)
	br.do(chromedp.Click(`#menu a[href="/claims"]`), chromedp.WaitVisible(".approve-claim"), chromedp.Click(".approve-claim"), chromedp.WaitVisible("#no-claims"))
	if got := br.text(".notice"); !strings.Contains(got, "审核通过") {
		t.Errorf("after approving: %q", got)
	}
	br.do(chromedp.Click("#logout"), chromedp.WaitVisible("#login-form"))

	// The administrator runs this month; the run is listed with its month paid.
	br.login(base, "u-admin", testPassword)
	br.do(chromedp.Click(`#menu a[href="/benefit-runs"]`), chromedp.WaitVisible("#brun-form"))
	br.do(chromedp.SetValue("#brun-month", "2026-13"), chromedp.Click("#brun-start"), chromedp.WaitVisible(".field-problem"))
	br.do(chromedp.SetValue("#brun-month", m.String()), chromedp.Click("#brun-start"), chromedp.WaitVisible("#brun-report"))
	if got := br.text("#rep-paid"); !strings.HasPrefix(got, "1 ·") {
		t.Errorf("the run paid %q", got)
	}
	row := `#benefit-runs tr[data-month="` + m.String() + `"]`
	if got := br.text(row + " .brun-paid"); got != "1" {
		t.Errorf("the past run lists %q months paid", got)
	}
	if got := br.text(row + " .brun-started"); !strings.HasPrefix(got, "2026-11-16 10:") {
		t.Errorf("the run started at %q, not Beijing's 2026-11-16 10:xx", got)
	}
	// Again, from a fresh page (the report of the first run must not be what is read): nothing twice.
	br.do(chromedp.Navigate(base+"/benefit-runs"), chromedp.WaitVisible("#brun-form"))
	br.do(chromedp.SetValue("#brun-month", m.String()), chromedp.Click("#brun-start"), chromedp.WaitVisible("#brun-report"))
	if got := br.text("#rep-paid"); !strings.HasPrefix(got, "0 ·") {
		t.Errorf("the second run paid %q", got)
	}
	var paid int
	if err := e.db.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM benefit_payments WHERE status = 'paid'").Scan(&paid); err != nil || paid != 1 {
		t.Errorf("%d months paid in all (%v); want 1", paid, err)
	}
	br.do(chromedp.Click("#logout"), chromedp.WaitVisible("#login-form"))

	// The resident, on the phone: the month paid, to the card's number.
	br.do(chromedp.EmulateViewport(375, 740))
	br.login(base, "u-resident", testPassword)
	br.do(chromedp.Click(`#menu a[href="/unemployment"]`), chromedp.WaitVisible(".pay-list"))
	pay := `.pay-list li[data-month="` + m.String() + `"]`
	if got := br.text(pay); !strings.Contains(got, "已发放") || !strings.Contains(got, cardNumber) {
		t.Errorf("the month reads %q; want it paid to %s", got, cardNumber)
	}
	if got := br.text(`.claim[data-status="approved"] .c-months`); !strings.Contains(got, "共 12 个月") || !strings.Contains(got, "已领取 1 个月") {
		t.Errorf("the claim's months read %q", got)
	}
	br.noSideScroll("Unemployment benefit with a payment")
}

// TestBenefitPagesTranslated: every code the benefit pages translate at run time — the
// retirement groups, claim and payment states, the hold reason, the claim conditions — has its
// Chinese and English text, and each wording of an unmet condition the service gives is
// recognised (no English left in a Chinese page).
func TestBenefitPagesTranslated(t *testing.T) {
	keys := []string{"holdreason.no_bank_card", "paystatus.paid", "paystatus.held", "unemp.channel.window", "unemp.channel.online"}
	for _, g := range policy.RetirementGroups {
		keys = append(keys, "rgroup."+g)
	}
	for _, st := range []string{"prepared", "approved", "rejected", "ended", "completed"} {
		keys = append(keys, "claimstatus."+st)
	}
	for _, f := range problemOrder {
		keys = append(keys, "unemp.cond."+f)
	}
	for _, w := range problemWording {
		keys = append(keys, w.key)
	}
	for _, done := range []string{"unemp.done.register", "unemp.done.prepare", "unemp.done.end", "claims.done.approve", "claims.done.reject"} {
		keys = append(keys, done)
	}
	for _, k := range keys {
		if m, ok := messages[k]; !ok || m[0] == "" || m[1] == "" {
			t.Errorf("message %q has no Chinese or English text", k)
		}
	}
	v := &View{Lang: zh}
	reasons := map[string]string{"resigned": "本人辞职"}
	for _, tc := range []struct{ field, detail, want string }{
		{"contribution_months", "6 months of unemployment insurance paid; a claim needs 12", "已缴纳失业保险费 6 个月，申领须满 12 个月"},
		{"contribution_months", "the contributions entitle no month of benefit", "所缴费月数不能领取失业保险金"},
		{"removal", "no employer has removed the person: there is no job lost", "没有用人单位办理减员，不属于失业"},
		{"removal", "the job was not lost involuntarily (the employer's reason: resigned)", "属于本人意愿中断就业（单位填报的减员原因：本人辞职）"},
		{"removal", "the person is employed now", "目前仍在用人单位参保就业"},
		{"registration", "not registered as unemployed (失业登记)", "尚未进行失业登记"},
		{"registration", "registered, but not seeking work", "已登记，但没有求职要求"},
		{"registration", "the registration is older than the job's end; register again", "失业登记早于离职日期，请重新登记"},
		{"claim", "a claim is in progress already", "已有正在办理或领取中的申领"},
	} {
		if got := translatedProblem(v, tc.field, tc.detail, reasons); got != tc.want {
			t.Errorf("%s %q reads %q; want %q", tc.field, tc.detail, got, tc.want)
		}
	}
	lines := translatedProblems(v, map[string]string{"claim": "a claim is in progress already", "registration": "registered, but not seeking work",
		"contribution_months": "the contributions entitle no month of benefit"}, nil)
	if len(lines) != 3 || lines[0].Field != "contribution_months" || lines[1].Field != "registration" || lines[2].Field != "claim" || lines[0].Label != "缴费满一年" {
		t.Errorf("the conditions are listed %+v; want the law's order, translated", lines)
	}
}

// benefitCall calls a page handler as principal p with a posted form (and the path's action), the
// way the mux would after the guard; lang "en" sets the language cookie.
func benefitCall(t *testing.T, h pageFunc, p *auth.Principal, method, target, action, lang string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if lang != "" {
		req.AddCookie(&http.Cookie{Name: langCookie, Value: lang})
	}
	req.SetPathValue("action", action)
	rec := httptest.NewRecorder()
	if err := h(rec, req, p); err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	return rec
}

// TestBenefitHeldMonthAndRefusals: a registration dated long ago is refused naming the field in
// the reader's language; the clerk who prepared a claim cannot approve it as a reviewer, and is
// told so in Chinese; a month without a usable card is held, and the resident reads why in
// Chinese and in English.
func TestBenefitHeldMonthAndRefusals(t *testing.T) {
	e, clock, _ := benefitPerson(t)
	ctx := context.Background()
	clerk, resident := e.principal(auth.Clerk), e.principal(auth.Resident)
	m := period.MonthOf(clock.Now())

	rec := benefitCall(t, e.srv.unemploymentAction, resident, http.MethodPost, "/unemployment/register", "register", "",
		url.Values{"registered_on": {"2020-01-01"}, "seeking_work": {"1"}})
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "登记日期须为今天或一个月以内的日期") {
		t.Fatalf("a registration of 2020: %d %s", rec.Code, rec.Body.String())
	}
	rec = benefitCall(t, e.srv.unemploymentAction, resident, http.MethodPost, "/unemployment/register", "register", "",
		url.Values{"registered_on": {"2026-11-16"}, "seeking_work": {"1"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("the resident's online registration: %d %s", rec.Code, rec.Body.String())
	}
	c, err := e.srv.Benefit.Prepare(ctx, clerk, e.personID)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"region": {testRegion}, "claim": {fmt.Sprint(c.ID)}}
	preparer := &auth.Principal{User: clerk.User}
	preparer.Role, preparer.Roles = auth.Reviewer, []auth.Role{auth.Reviewer}
	rec = benefitCall(t, e.srv.claimsAction, preparer, http.MethodPost, "/claims/approve", "approve", "", form)
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "该申领由您本人参与受理，须由其他审核人员审核") {
		t.Fatalf("the preparer approving: %d %s", rec.Code, rec.Body.String())
	}
	if rec = benefitCall(t, e.srv.claimsAction, e.principal(auth.Reviewer), http.MethodPost, "/claims/approve", "approve", "", form); rec.Code != http.StatusSeeOther {
		t.Fatalf("the reviewer approving: %d %s", rec.Code, rec.Body.String())
	}

	// The card is reported lost before the run: the month is held.
	if err := e.db.Write(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE cards SET state = 'temporarily_lost' WHERE card_number = $1", "C"+e.personID[10:])
		return err
	}); err != nil {
		t.Fatal(err)
	}
	rep, err := e.srv.Benefit.Run(ctx, e.principal(auth.Admin).Actor(), testRegion, m)
	if err != nil || rep.Held != 1 || rep.Paid != 0 {
		t.Fatalf("the run without a card: %+v %v", rep, err)
	}
	for lang, want := range map[string][]string{
		"":   {"暂缓发放", "无可用的社会保障卡银行账户，补办或激活后补发", "网上办理"},
		"en": {"Held", "no active social security card with its bank function; paid once it is active", "online"},
	} {
		body := benefitCall(t, e.srv.unemploymentPage, resident, http.MethodGet, "/unemployment", "", lang, nil).Body.String()
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("the resident's page (%q) does not say %q", lang, w)
			}
		}
		if strings.Contains(body, "no_bank_card") {
			t.Errorf("the resident's page (%q) shows the raw reason code", lang)
		}
	}
}

// TestBenefitClerkRetirementGroup: the clerk's pension look-up shows the person's group
// translated; a group that does not fit the gender is refused naming the field in Chinese; a
// fitting one is recorded with its reason and listed.
func TestBenefitClerkRetirementGroup(t *testing.T) {
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	clerk := e.principal(auth.Clerk)
	person, err := e.reg.Person(context.Background(), clerk, e.personID)
	if err != nil {
		t.Fatal(err)
	}
	fits, misfit := policy.GroupFemaleCadre, policy.GroupMale
	if person.Gender == "male" {
		fits, misfit = policy.GroupMale, policy.GroupFemaleWorker
	}
	body := benefitCall(t, e.srv.pensionPage, clerk, http.MethodGet, "/pension?id_number="+e.personID, "", "", nil).Body.String()
	if !strings.Contains(body, `id="group-form"`) || !strings.Contains(body, `id="p-group"`) {
		t.Fatalf("the clerk's look-up has no group or no form: %s", body)
	}
	rec := benefitCall(t, e.srv.pensionGroup, clerk, http.MethodPost, "/pension/group", "", "",
		url.Values{"id_number": {e.personID}, "group": {misfit}, "reason": {"核对档案"}})
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "请选择与性别相符的退休年龄分组") {
		t.Fatalf("a group that does not fit: %d %s", rec.Code, rec.Body.String())
	}
	rec = benefitCall(t, e.srv.pensionGroup, clerk, http.MethodPost, "/pension/group", "", "",
		url.Values{"id_number": {e.personID}, "group": {fits}, "reason": {"核对档案：干部身份"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("a fitting group: %d %s", rec.Code, rec.Body.String())
	}
	body = benefitCall(t, e.srv.pensionPage, clerk, http.MethodGet, "/pension?id_number="+e.personID+"&done=group", "", "", nil).Body.String()
	if !strings.Contains(body, `id="group-changes"`) || !strings.Contains(body, "核对档案：干部身份") || !strings.Contains(body, messages["rgroup."+fits][0]) {
		t.Errorf("the change is not listed: %s", body)
	}
}
