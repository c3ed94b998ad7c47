// Package demo builds the demo city that `shebao serve --demo` shows: a pooling region with one
// login per role, about two hundred employers, ten thousand insured persons with valid, varied ID
// numbers, enrolment applications in every state, cards at every step, two years of contributions
// and half a year of medical settlements at three designated institutions (medical.go). It builds
// everything through the same capability calls the portal and API use (bulk staff files, window
// enrolments, reviews, settlements), so the demo exercises the real paths and obeys the same rules.
//
// The history is dated when it would have happened (docs/decisions.md, "The demo's history is
// dated when it happened"): the services that build a past day run over db.At, a view of the
// database on that day's clock, so a month is billed on its first day at 09:00 Beijing time, a
// bill paid on its due date, a settlement made on its day, and what they write — bills, payments,
// ledger entries, personal-account movements, audit entries — carries that day. Each January
// (BaseMonth) the employers' HR declare their staff's new bases (调基), so a resident's years show
// different bases. Nothing is dated after now.
//
// The data is generated from a fixed seed: every fresh demo database holds the same city. This
// package must never run against a database without demo marking (see cli/serve.go).
package demo

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/benefit"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/keys"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
	"github.com/shebao/shebao/internal/settle"
	"github.com/shebao/shebao/internal/sheet"
)

// Region is the demo city's pooling region (Hangzhou's code, so ID numbers look real).
const Region = "330100"

// Password is every demo login's password. It is published in README.md on purpose; a database
// holding demo users refuses to start without --demo.
const Password = "demo-shebao-2026"

// Custodians hold the development keystore's (public) components; both are demo logins, so the
// dual-control pages can be tried: one requests, the others approve.
var Custodians = []string{"demo-custodian", "demo-custodian-2"}

// Size of the demo city.
const (
	Employers = 200
	Persons   = 10_000
)

// Login is a demo login to print.
type Login struct {
	Username string
	Role     auth.Role
	Note     string
}

// City is what Load needs.
type City struct {
	DB       *db.DB
	Auth     *auth.Service
	Policies *policy.Store
	Registry *registry.Service
	Keys     *keys.Service // unsealed (development keys) by the caller
	Cards    *card.Service
	Contrib  *contrib.Service // may be nil: no contributions
	Settle   *settle.Service  // may be nil: no medical settlement (it also needs Keys and Cards)
	Benefit  *benefit.Service // may be nil: no unemployment claims
	Now      func() time.Time
	Progress func(format string, args ...any) // may be nil
}

var displayNames = map[auth.Role]string{
	auth.Resident: "张三", auth.Employer: "示范科技有限公司 人事部", auth.Clerk: "李窗口", auth.Reviewer: "王审核",
	auth.CardOfficer: "赵制卡", auth.Bank: "示范银行", auth.Institution: "示范市第一人民医院", auth.Custodian: "钱保管",
	auth.Auditor: "孙审计", auth.Admin: "周管理",
}

func username(r auth.Role) string { return "demo-" + strings.ReplaceAll(string(r), "_", "-") }

// Load builds whatever part of the demo city is missing and returns the logins to print. A city
// already built is left as it is.
func Load(ctx context.Context, c City) ([]Login, error) {
	say := c.Progress
	if say == nil {
		say = func(string, ...any) {}
	}
	var logins []Login
	for _, r := range auth.Roles {
		l := Login{Username: username(r), Role: r}
		if r == auth.Institution {
			l.Note = institutions[0].Name + " (" + DemoHospital + "), a level-3 hospital"
		}
		logins = append(logins, l)
	}
	// The second administrator and the third custodian: two-person approvals need someone
	// independent of whoever asks, so the demo has one more of each (made first, so that a demo
	// database from before they existed gets them too).
	for _, x := range extraLogins {
		if err := c.extraLogin(ctx, x); err != nil {
			return nil, err
		}
		logins = append(logins, x)
	}
	var built int
	if err := c.DB.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE demo AND username = $1", username(auth.Resident)).Scan(&built); err != nil {
		return nil, err
	}
	if built > 0 {
		// A city built before medical settlement existed gets what settlement needs.
		if err := c.medicalSetup(ctx); err != nil {
			return nil, err
		}
		// And one built before benefits, the benefit demo's persons and their cards.
		if err := c.benefitSetup(ctx); err != nil {
			return nil, err
		}
		if err := c.benefitCards(ctx); err != nil {
			return nil, err
		}
		more, err := c.secondRegion(ctx)
		if err != nil {
			return nil, err
		}
		return append(logins, more...), nil
	}
	start := time.Now()
	now := c.Now()
	thisMonth := period.MonthOf(now)
	// Staff users first: the clerk and reviewer do the window work below.
	staff := map[auth.Role]*auth.Principal{}
	for _, r := range []auth.Role{auth.Clerk, auth.Reviewer, auth.CardOfficer, auth.Bank, auth.Institution, auth.Custodian, auth.Auditor, auth.Admin} {
		p, err := c.user(ctx, r, 0, 0)
		if err != nil {
			return nil, err
		}
		staff[r] = p
	}
	p, _, err := policy.Default(Region, thisMonth.Add(-36))
	if err != nil {
		return nil, err
	}
	p.Name = "示范市社会保险政策（演示）"
	if _, err := c.Policies.Install(ctx, audit.Actor{Name: username(auth.Admin), Role: string(auth.Admin)}, p); err != nil {
		return nil, err
	}

	rng := rand.New(rand.NewPCG(2026, 11))
	g := &gen{rng: rng, today: period.Today(now), used: map[string]bool{}}
	clerk, reviewer := staff[auth.Clerk], staff[auth.Reviewer]

	// Employers and their staff, added through each employer's own bulk file.
	var firstEmployer registry.Employer
	var firstHR *auth.Principal
	var residentID ident.IDNumber
	perEmployer := Persons / Employers
	declaredLastYear := c.Now().AddDate(-1, 0, 0)
	yearAgo := c.registryAt(declaredLastYear)
	raises := rand.New(rand.NewPCG(2026, 13)) // apart from rng, so that the city's people stay who they were
	for i := range Employers {
		e, err := c.Registry.RegisterEmployer(ctx, clerk, registry.NewEmployer{
			USCC: g.uscc(), Name: g.employerName(i), LegalRep: g.name(), Address: g.address(),
			Industry: industries[i%len(industries)], RiskClass: 1 + rng.IntN(8), BankAccount: g.digits(19),
		})
		if err != nil {
			return nil, fmt.Errorf("demo: employer %d: %w", i, err)
		}
		// Each employer's HR declares its staff. Only the first employer's HR has a login (demo-employer,
		// made below); the others act through a principal of the loader, which the audit log names.
		hrP := &auth.Principal{User: auth.User{Username: "demo-loader", Role: auth.Employer, Roles: []auth.Role{auth.Employer},
			Regions: []string{Region}, EmployerID: e.ID}}
		// Staff who started more than a year ago were declared back then: their file goes through
		// the registry as it was a year ago, since the registry takes declarations at most twelve
		// months back (later ones go to the window). The others are this year's file.
		const header = "操作,身份证号,姓名,缴费基数,月份,户籍类型,民族,手机\n"
		var older, recent strings.Builder
		older.WriteString(header)
		recent.WriteString(header)
		var hired []hire
		for j := range perEmployer {
			id := g.idNumber()
			if i == 0 && j == 0 {
				residentID = id
				h := hire{id: id, name: displayNames[auth.Resident], base: 9500, start: thisMonth.Add(-(HistoryMonths - 1))}
				fmt.Fprintf(&older, "增员,%s,%s,%d.00,%s,本地,汉族,%s\n", id, h.name, h.base, h.start, g.phone())
				hired = append(hired, h)
				continue
			}
			start := thisMonth.Add(-rng.IntN(HistoryMonths))
			file := &recent
			if start < thisMonth.Add(-11) {
				file = &older
			}
			h := hire{id: id, name: g.name(), base: 4000 + rng.IntN(26000), start: start}
			fmt.Fprintf(file, "增员,%s,%s,%d.00,%s,,%s,%s\n", id, h.name, h.base, start, g.ethnicity(), g.phone())
			hired = append(hired, h)
		}
		for _, f := range []struct {
			reg  *registry.Service
			name string
			csv  string
		}{{yearAgo, "staff-last-year.csv", older.String()}, {c.Registry, "staff.csv", recent.String()}} {
			if f.csv == header {
				continue
			}
			if _, err := f.reg.ImportStaff(ctx, hrP, string(e.USCC), f.name, []byte(f.csv)); err != nil {
				return nil, fmt.Errorf("demo: staff of employer %d (%s): %w", i, f.name, err)
			}
		}
		if err := c.yearlyBases(ctx, hrP, string(e.USCC), hired, thisMonth, declaredLastYear, raises); err != nil {
			return nil, fmt.Errorf("demo: bases of employer %d: %w", i, err)
		}
		if i == 0 {
			firstEmployer, firstHR = e, hrP
		}
		if i%50 == 49 {
			say("demo: %d employers, %d persons", i+1, (i+1)*perEmployer)
		}
	}
	// Some leave and some change base, as in any month.
	list, _, err := c.Registry.Staff(ctx, firstHR, string(firstEmployer.USCC), false, 10, registry.StaffKey{})
	if err != nil {
		return nil, err
	}
	for k, m := range list[1:4] {
		op := registry.StaffChange{Op: registry.OpChangeBase, IDNumber: string(m.Person.IDNumber), Base: fmt.Sprintf("%d.00", 9000+k*500), Month: thisMonth.String()}
		if k == 2 {
			op = registry.StaffChange{Op: registry.OpRemove, IDNumber: string(m.Person.IDNumber), EndDate: g.today.AddDate(0, 0, -3).Format("2006-01-02"), Reason: "合同到期"}
		}
		if err := c.Registry.ChangeStaff(ctx, firstHR, string(firstEmployer.USCC), op); err != nil {
			return nil, fmt.Errorf("demo: staff change: %w", err)
		}
	}

	// The demo logins of the resident and the employer are real people of the city.
	resident, err := c.Registry.Person(ctx, clerk, string(residentID))
	if err != nil {
		return nil, err
	}
	if _, err := c.user(ctx, auth.Resident, resident.ID, 0); err != nil {
		return nil, err
	}
	if _, err := c.user(ctx, auth.Employer, 0, firstEmployer.ID); err != nil {
		return nil, err
	}

	// The region's issuer keys, generated the way production does it: the administrator requests,
	// two custodians approve.
	if c.Keys != nil {
		if err := c.issuerKeys(ctx, staff[auth.Admin], staff[auth.Custodian]); err != nil {
			return nil, fmt.Errorf("demo: keys: %w", err)
		}
	}

	// The benefit demo's persons (benefits.go), first: their card applications go into the batch
	// below, with the others.
	if err := c.benefitSetup(ctx); err != nil {
		return nil, err
	}
	// Cards in every state; the demo resident's waits at the outlet to be collected and activated.
	if c.Cards != nil {
		if err := c.cards(ctx, staff, firstHR, string(firstEmployer.USCC), residentID); err != nil {
			return nil, fmt.Errorf("demo: cards: %w", err)
		}
	}
	if err := c.benefitCards(ctx); err != nil {
		return nil, err
	}

	// Flexible workers at the window, in every state of an application.
	if err := c.windowEnrolments(ctx, g, clerk, reviewer, thisMonth); err != nil {
		return nil, err
	}
	// The last three months billed, and paid where due but for the arrears the demo shows: the
	// month before last is past its due date on every day of the month, so the demo employer's
	// unpaid one is in arrears from the moment the demo starts, whatever today's date.
	if c.Contrib != nil {
		if err := c.contributions(ctx, staff[auth.Admin], staff[auth.Bank], thisMonth.Add(-2), thisMonth.Add(-1), thisMonth, firstEmployer.ID); err != nil {
			return nil, fmt.Errorf("demo: contributions: %w", err)
		}
		say("demo: the last three months billed, the last two paid where due (older months follow in the background)")
	}
	if c.Keys != nil {
		logins = append(logins, Login{Username: Custodians[1], Role: auth.Custodian, Note: "second custodian, for dual control"})
	}
	for i := range logins {
		switch logins[i].Role {
		case auth.Resident:
			logins[i].Note = "insured employee of " + firstEmployer.Name
		case auth.Employer:
			logins[i].Note = firstEmployer.Name
		}
	}
	// Designated institutions; their settlements follow in the background (MedicalHistory).
	if err := c.medicalSetup(ctx); err != nil {
		return nil, err
	}
	// Ningbo, the region two of the city's employees move to.
	more, err := c.secondRegion(ctx)
	if err != nil {
		return nil, err
	}
	logins = append(logins, more...)
	say("demo: city built in %v", time.Since(start).Round(time.Millisecond))
	return logins, nil
}

// hire is one of an employer's staff as the demo declared them.
type hire struct {
	id    ident.IDNumber
	name  string
	base  int // yuan
	start period.Month
}

// BaseMonth is the demo city's month of the yearly base adjustment (调基): January, when the
// bases follow the last year's wages and the year's floor and ceiling (many cities adjust in July,
// with the published average wage; the demo keeps the calendar year, as its policy does).
const BaseMonth = 1

// yearlyBases has the employer's HR declare, each year of the history, its staff's new bases from
// BaseMonth on: one bulk file (调基) per year, declared on 20 December before it (or just after the
// staff themselves were declared, if that was later), a raise of 2–8 % to each person employed
// before the month. A person's statement so shows a base per year.
func (c City) yearlyBases(ctx context.Context, hr *auth.Principal, uscc string, staff []hire, thisMonth period.Month, declared time.Time, raises *rand.Rand) error {
	for m := thisMonth.Add(-(HistoryMonths - 2)); m <= thisMonth; m = m.Add(1) {
		if m.MonthOfYear() != BaseMonth {
			continue
		}
		var f strings.Builder
		f.WriteString("操作,身份证号,姓名,缴费基数,月份\n")
		rows := 0
		for k := range staff {
			h := &staff[k]
			if h.start >= m {
				continue
			}
			h.base += h.base * (2 + raises.IntN(7)) / 100
			fmt.Fprintf(&f, "调基,%s,%s,%d.00,%s\n", h.id, h.name, h.base, m)
			rows++
		}
		if rows == 0 {
			continue
		}
		at := c.clockOn(period.Today(m.Add(-1).First()).AddDate(0, 0, 19), 10)
		if at.Before(declared) {
			at = declared.Add(time.Hour)
		}
		if _, err := c.registryAt(at).ImportStaff(ctx, hr, uscc, fmt.Sprintf("staff-bases-%d.csv", m.Year()), []byte(f.String())); err != nil {
			return fmt.Errorf("%s: %w", m, err)
		}
	}
	return nil
}

// registryAt is the registry on the day t stands for: its checks count from t (registry.AsOf)
// and what it writes is stamped with t (db.At).
func (c City) registryAt(t time.Time) *registry.Service {
	return registry.New(c.DB.At(func() time.Time { return t }), c.Auth, c.Policies)
}

// extraLogins are the demo's second administrator and third custodian.
var extraLogins = []Login{
	{Username: "demo-admin-2", Role: auth.Admin, Note: "second administrator: approves the staff accounts demo-admin creates"},
	{Username: "demo-custodian-3", Role: auth.Custodian, Note: "third custodian"},
}

// demoPhone is a demo login's mobile number, where its one-time codes go (the demo's messages
// page shows them): 139 0000 00NN, one per login.
func demoPhone(username string) string {
	i := 1
	for _, r := range auth.Roles {
		if "demo-"+strings.ReplaceAll(string(r), "_", "-") == username {
			break
		}
		i++
	}
	for j, x := range extraLogins {
		if x.Username == username {
			i = len(auth.Roles) + 2 + j
		}
	}
	if username == Custodians[1] {
		i = len(auth.Roles) + 1
	}
	return fmt.Sprintf("139000000%02d", i)
}

func (c City) extraLogin(ctx context.Context, x Login) error {
	names := map[string]string{"demo-admin-2": "吴管理", "demo-custodian-3": "郑保管"}
	_, _, err := c.Auth.CreateUser(ctx, nil, audit.System, auth.NewUser{Username: x.Username, DisplayName: names[x.Username], Role: x.Role,
		Regions: []string{Region}, Password: Password, Demo: true, Phone: demoPhone(x.Username)})
	if errs.Is(err, errs.Conflict) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("demo: user %s: %w", x.Username, err)
	}
	return nil
}

// user creates a demo login; person or employer link it to who it is.
func (c City) user(ctx context.Context, r auth.Role, personID, employerID int64) (*auth.Principal, error) {
	institution := ""
	if r == auth.Institution {
		institution = DemoHospital // registered a moment later (medicalSetup)
	}
	u, _, err := c.Auth.CreateUser(ctx, nil, audit.System, auth.NewUser{Username: username(r), DisplayName: displayNames[r], Role: r,
		Regions: []string{Region}, Password: Password, Demo: true, PersonID: personID, EmployerID: employerID, InstitutionCode: institution,
		Phone: demoPhone(username(r))})
	if errs.Is(err, errs.Conflict) {
		u, err = c.Auth.UserByName(ctx, username(r))
	}
	if err != nil {
		return nil, fmt.Errorf("demo: user %s: %w", username(r), err)
	}
	return &auth.Principal{User: u}, nil
}

func (c City) issuerKeys(ctx context.Context, admin, custodian *auth.Principal) error {
	second, _, err := c.Auth.CreateUser(ctx, nil, audit.System, auth.NewUser{Username: Custodians[1], DisplayName: "孙保管",
		Role: auth.Custodian, Regions: []string{Region}, Password: Password, Demo: true, Phone: demoPhone(Custodians[1])})
	if err != nil {
		return err
	}
	r, err := c.Keys.Request(ctx, admin, keys.NewRequest{Kind: keys.Generate, Region: Region})
	if err != nil {
		return err
	}
	for _, p := range []*auth.Principal{custodian, {User: second}} {
		if _, err := c.Keys.Approve(ctx, p, r.ID); err != nil {
			return err
		}
	}
	return nil
}

// cards makes the demo's outlets and cards: one at each step of the lifecycle, for staff of the
// first employer, and the demo resident's own card ready at the outlet.
//
// The steps are dated over weeks (db.At), as a real batch goes: the first batch is applied for on
// firstCardDay, reviewed two days later, sent to the manufacturer after a week, produced three
// weeks later and at the outlet four days after that; its cards are collected and activated before
// the first settled month, so the counters' cards were in use when they paid. The cards still on
// their way, the losses, replacement and cancellation, the temporary loss (which lapses after the
// policy's days) and the application left waiting are of the last weeks.
func (c City) cards(ctx context.Context, staff map[auth.Role]*auth.Principal, hr *auth.Principal, uscc string, resident ident.IDNumber) error {
	admin, clerk, officer := staff[auth.Admin], staff[auth.Clerk], staff[auth.CardOfficer]
	today, first, on := period.Today(c.Now()), c.firstCardDay(), c.cardsOn
	for _, o := range []card.Outlet{{Code: "XH-01", Name: "西湖区社会保障卡服务网点", Address: "杭州市西湖区文三路100号"},
		{Code: "GS-01", Name: "拱墅区社会保障卡服务网点", Address: "杭州市拱墅区莫干山路200号"}} {
		o.Region = Region
		if _, err := on(first.AddDate(0, -1, 0)).AddOutlet(ctx, admin, o); err != nil {
			return err
		}
	}
	list, _, err := c.Registry.Staff(ctx, hr, uscc, false, 30, registry.StaffKey{})
	if err != nil {
		return err
	}
	// Staff employed by the first batch's day first: their cards were applied for back then.
	slices.SortStableFunc(list, func(a, b registry.StaffMember) int {
		return cmp.Compare(b2i(a.Start > period.MonthOf(first)), b2i(b.Start > period.MonthOf(first)))
	})
	var people []string
	for _, m := range list {
		if m.Person.IDNumber != resident {
			people = append(people, string(m.Person.IDNumber))
		}
	}
	stayApplied, rejected := people[0], people[1]
	// Everyone's card is applied for by their employer and taken to the outlet in one batch.
	applied := map[string]card.Card{}
	for _, p := range append([]string{string(resident)}, people[:12]...) {
		day := first
		if p == stayApplied {
			day = today.AddDate(0, 0, -2)
		}
		cd, err := on(day).Apply(ctx, hr, p)
		if err != nil {
			return err
		}
		if cd, err = on(day).SetPhoto(ctx, hr, cd.ID, samplePNG); err != nil {
			return err
		}
		applied[p] = cd
	}
	if _, err := on(first.AddDate(0, 0, 2)).Reject(ctx, clerk, applied[rejected].ID, "照片不符合要求，请重新提交"); err != nil {
		return err
	}
	for p, cd := range applied {
		if p == stayApplied || p == rejected {
			continue
		}
		if _, err := on(first.AddDate(0, 0, 2)).Approve(ctx, clerk, cd.ID); err != nil {
			return err
		}
	}
	if _, err := on(first.AddDate(0, 0, 7)).CreateBatch(ctx, officer, Region); err != nil {
		return err
	}
	cd, err := c.Cards.Get(ctx, clerk, applied[string(resident)].ID)
	if err != nil {
		return err
	}
	file, err := on(first.AddDate(0, 0, 7)).ManufacturerFile(ctx, officer, cd.BatchID)
	if err != nil {
		return err
	}
	// The manufacturer's answer: each card of the file with its chip serial and ATR.
	sent, err := sheet.Read(bytes.NewReader(file), sheet.Limits{})
	if err != nil {
		return err
	}
	appCol, numberCol := sent.Column("application_no"), sent.Column("card_number")
	result := "application_no,card_number,chip_serial,atr\n"
	for i, line := range sent.Rows {
		result += fmt.Sprintf("%s,%s,AD93%04X,3B6C000000815441AD93%04X\n", line.Cells[appCol], line.Cells[numberCol], i, i)
	}
	if _, err := on(first.AddDate(0, 0, 28)).ImportResult(ctx, officer, cd.BatchID, []byte(result)); err != nil {
		return err
	}
	if _, err := on(first.AddDate(0, 0, 32)).Distribute(ctx, officer, cd.BatchID, "XH-01"); err != nil {
		return err
	}
	// Three more wait at earlier steps: one approved, one in production, one produced.
	for i, stop := range []card.State{12: card.InProduction, 13: card.Produced, 14: card.Approved} {
		if stop == "" {
			continue
		}
		cd, err := on(today.AddDate(0, 0, -20)).Apply(ctx, hr, people[i])
		if err != nil {
			return err
		}
		if _, err := on(today.AddDate(0, 0, -20)).SetPhoto(ctx, hr, cd.ID, samplePNG); err != nil {
			return err
		}
		if _, err := on(today.AddDate(0, 0, -18)).Approve(ctx, clerk, cd.ID); err != nil {
			return err
		}
		if stop == card.Approved {
			continue
		}
		if _, err := on(today.AddDate(0, 0, -14)).CreateBatch(ctx, officer, Region); err != nil {
			return err
		}
		if stop == card.Produced {
			cd, _ = c.Cards.Get(ctx, clerk, cd.ID)
			res := fmt.Sprintf("application_no,card_number,chip_serial,atr\n%s,%s,AD94%04X,3B6C00\n", cd.ApplicationNo, cd.CardNumber, i)
			if _, err := on(today.AddDate(0, 0, -4)).ImportResult(ctx, officer, cd.BatchID, []byte(res)); err != nil {
				return err
			}
		}
	}
	// Then each goes its own way, so the card desk shows every state: collected and activated at
	// one visit before the months settled, then lost, replaced or cancelled in the last weeks.
	when := map[string]time.Time{"collect": first.AddDate(0, 0, 40), "activate": first.AddDate(0, 0, 40), "temp": today.AddDate(0, 0, -3),
		"loss": today.AddDate(0, 0, -40), "replace": today.AddDate(0, 0, -25), "cancel": today.AddDate(0, 0, -60)}
	steps := map[int][]string{ // index into people → actions after reaching the outlet
		2: {"collect"}, 3: {"collect", "activate"}, 4: {"collect", "activate", "temp"}, 5: {"collect", "activate", "loss"},
		6: {"collect", "activate", "replace"}, 7: {"collect", "activate", "cancel"}, 8: {"collect", "activate"}, 9: {"collect", "activate"},
	}
	for i, acts := range steps {
		p := people[i]
		id := applied[p].ID
		for _, a := range acts {
			cur, err := c.Cards.Get(ctx, clerk, id)
			if err != nil {
				return err
			}
			svc := on(when[a])
			switch a {
			case "collect":
				_, err = svc.Collect(ctx, clerk, id, p, cur.CardNumber)
			case "activate":
				_, err = svc.Activate(ctx, clerk, id, "482916")
			case "temp":
				_, err = svc.ReportTemporaryLoss(ctx, clerk, id)
			case "loss":
				_, err = svc.ReportLoss(ctx, clerk, id)
			case "replace":
				_, err = svc.Replace(ctx, clerk, id, "卡面损坏")
			case "cancel":
				_, err = svc.Cancel(ctx, clerk, id, "出国定居")
			}
			if err != nil {
				return fmt.Errorf("%s: %w", a, err)
			}
		}
	}
	return nil
}

// firstCardDay is the day the demo's first batch of cards was applied for: the 10th of the second
// month before the first month the demo settles in, so that its cards are in use by then.
func (c City) firstCardDay() time.Time {
	return period.Today(period.MonthOf(c.Now()).Add(-(SettledMonths + 1)).First()).AddDate(0, 0, 9)
}

// cardsOn is the card service at 10:00 on day (db.At), never later than now.
func (c City) cardsOn(day time.Time) *card.Service {
	at := c.clockOn(day, 10)
	return card.New(c.DB.At(func() time.Time { return at }), c.Policies, c.Keys)
}

// windowEnrolments registers flexible workers and leaves their applications in each state.
func (c City) windowEnrolments(ctx context.Context, g *gen, clerk, reviewer *auth.Principal, month period.Month) error {
	states := []registry.Status{registry.Draft, registry.Draft, registry.Submitted, registry.Submitted, registry.Submitted,
		registry.Approved, registry.Approved, registry.Approved, registry.Rejected, registry.Rejected}
	cats := []string{"flexible_worker", "part_time_worker", "individual_household"}
	for i, want := range states {
		local := i%3 != 0
		in := registry.NewPerson{IDNumber: string(g.idNumber()), Name: g.name(), Hukou: "local", Ethnicity: g.ethnicity(), Phone: g.phone(), Address: g.address()}
		if !local {
			in.Hukou, in.ResidencePermit = "non_local", "JZ"+g.digits(10)
		}
		p, err := c.Registry.RegisterPerson(ctx, clerk, in)
		if err != nil {
			return fmt.Errorf("demo: window person: %w", err)
		}
		e, err := c.Registry.CreateEnrolment(ctx, clerk, registry.NewEnrolment{IDNumber: string(p.IDNumber), Category: cats[i%3],
			StartMonth: month.String(), Base: fmt.Sprintf("%d.00", 5000+500*i)})
		if err != nil {
			return fmt.Errorf("demo: enrolment: %w", err)
		}
		if want == registry.Draft && i == 0 {
			continue // nothing uploaded yet
		}
		for k, item := range e.Checklist {
			// Named as a person would name a scan: after the document (户口簿.pdf).
			data, name := samplePDF, item.Material.NameZH+".pdf"
			if k%2 == 1 {
				data, name = samplePNG, item.Material.NameZH+".png"
			}
			m, err := c.Registry.AddMaterial(ctx, clerk, e.ID, item.Material.Code, name, data)
			if err != nil {
				return fmt.Errorf("demo: material: %w", err)
			}
			if want == registry.Draft && k == len(e.Checklist)-1 {
				break // the last one waits for the clerk's check
			}
			if _, err := c.Registry.CheckMaterial(ctx, clerk, e.ID, m.ID, registry.CheckAccepted, ""); err != nil {
				return err
			}
		}
		if want == registry.Draft {
			continue
		}
		if _, err := c.Registry.Submit(ctx, clerk, e.ID); err != nil {
			return fmt.Errorf("demo: submit: %w", err)
		}
		switch want {
		case registry.Approved:
			_, err = c.Registry.Approve(ctx, reviewer, e.ID)
		case registry.Rejected:
			_, err = c.Registry.Reject(ctx, reviewer, e.ID, "证明材料与本人信息不符，请补正后重新申请")
		}
		if err != nil {
			return fmt.Errorf("demo: review: %w", err)
		}
	}
	return nil
}

// contributions runs the months from first to last and, from payFrom on, has the bank report each
// bill paid on its due date, except where the demo needs arrears to show: the demo employer has not
// paid the month before last (due in the last month, so overdue on any day of this one), and one
// employer in twenty-five has paid nothing at all, so late fees accrue. Load bills the last three
// months and pays the last two (the month before last is billed at once so that the demo
// employer's arrears show from the start; its other payers are paid, on their due date, by History
// a few seconds later); History the older ones, in the background, since crediting ten thousand personal
// accounts a month is the demo's slowest step and the demo must start in seconds. Both are
// idempotent: runs skip what is billed, payments are keyed by bill.
func (c City) contributions(ctx context.Context, admin, bank *auth.Principal, first, payFrom, last period.Month, demoEmployer int64) error {
	today := period.Today(c.Now())
	thisMonth := period.MonthOf(c.Now())
	for m := first; m <= last; m = m.Add(1) {
		// The month is billed on its run day and each bill paid on its due date: the bills, their
		// ledger entries and the personal accounts' credits carry those days, not today's.
		if _, err := c.contribAt(c.runDay(m)).Run(ctx, admin.Actor(), Region, m, nil); err != nil {
			return err
		}
		if m < payFrom {
			continue
		}
		type bill struct {
			id         int64
			payer, due string
			total      int64
		}
		// Only bills still open: a restart of the demo re-reads little and pays nothing twice.
		rows, err := c.DB.R().QueryContext(ctx, "SELECT id, payer, due_date, total FROM bills WHERE region = $1 AND month = $2 AND paid < total ORDER BY id", Region, int(m))
		if err != nil {
			return err
		}
		var bills []bill
		for rows.Next() {
			var b bill
			if err := rows.Scan(&b.id, &b.payer, &b.due, &b.total); err != nil {
				rows.Close()
				return err
			}
			bills = append(bills, b)
		}
		rows.Close()
		for _, b := range bills {
			due, err := db.ParseTime(b.due)
			if err != nil {
				return err
			}
			kind, id, _ := contrib.ParsePayer(b.payer)
			switch {
			case due.After(today),
				kind == "employer" && id == demoEmployer && m == thisMonth.Add(-2),
				kind == "employer" && id%25 == 0:
				continue
			}
			if _, err := c.contribAt(c.clockOn(due, 10)).RecordPayment(ctx, bank, contrib.NewPayment{IdemKey: fmt.Sprintf("DEMO-%s-%d", m, b.id), Payer: b.payer,
				Amount: money.Fen(b.total).String(), PaidOn: due.Format("2006-01-02")}); err != nil {
				return fmt.Errorf("paying %s for %s: %w", b.payer, m, err)
			}
		}
	}
	return nil
}

// clockOn is 00 minutes past hour, Beijing time, on the business date day (as period.ParseDate
// and period.Today give it), or now if that is later than now: history never runs in the future.
func (c City) clockOn(day time.Time, hour int) time.Time {
	t := time.Date(day.Year(), day.Month(), day.Day(), hour, 0, 0, 0, period.Shanghai)
	if now := c.Now(); t.After(now) {
		return now
	}
	return t
}

// runDay is when the demo's monthly run bills month m: its first day at 09:00 (today's time, for
// this month before then).
func (c City) runDay(m period.Month) time.Time { return c.clockOn(period.Today(m.First()), 9) }

// contribAt is the contribution service on the day t stands for (db.At): what it writes is
// stamped with t, and its checks (a payment not in the future) count from t.
func (c City) contribAt(t time.Time) *contrib.Service {
	return contrib.New(c.DB.At(func() time.Time { return t }), c.Policies)
}

// HistoryMonths is how many months of contributions the demo city holds once History has run: two
// years, so that a resident's history and the funds' totals show a year-on-year change.
const HistoryMonths = 24

// History bills and pays the demo city's older months (all but the last two, which Load does, and the payments of the month before last, which Load bills), so
// that the city holds HistoryMonths of contributions. serve --demo runs it in the background after
// the server answers; it resumes where it stopped.
func History(ctx context.Context, c City) error {
	thisMonth := period.MonthOf(c.Now())
	var demoEmployer int64
	if err := c.DB.R().QueryRowContext(ctx, "SELECT employer_id FROM users WHERE username = $1", username(auth.Employer)).Scan(&demoEmployer); err != nil {
		return fmt.Errorf("demo history: the demo city is not built: %w", err)
	}
	principal := func(r auth.Role) *auth.Principal {
		return &auth.Principal{User: auth.User{Username: username(r), Role: r, Roles: []auth.Role{r}, Regions: []string{Region}}}
	}
	if err := c.contributions(ctx, principal(auth.Admin), principal(auth.Bank), thisMonth.Add(-(HistoryMonths - 1)), thisMonth.Add(-(HistoryMonths - 1)), thisMonth.Add(-2), demoEmployer); err != nil {
		return err
	}
	// With the contributions paid, the benefit demo's claims and their months (benefits.go).
	if err := BenefitHistory(ctx, c); err != nil {
		return err
	}
	// And, with the whole history in their accounts, two employees who move to Ningbo (ningbo.go).
	if c.Contrib == nil {
		return nil
	}
	return c.transfers(ctx)
}
