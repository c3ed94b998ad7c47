package demo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/benefit"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
)

// Benefits in the demo city (SPEC 3.6): the staff of one textile company, every retirement group
// near its retirement month, and four who lost their job half a year ago — made redundant, their
// claim prepared by demo-clerk, approved by demo-reviewer and paid month by month to their card;
// one whose card is then reported lost, so the month is held; one re-employed by a logistics
// company mid-claim, so the claim ends with months carried over; one who resigned, registered as
// unemployed and cannot claim (their preview names the removal). demo-resident is left as it is.
//
// Load makes the persons and their cards (benefitSetup, benefitCards); History, once their
// contributions are paid, registers, claims and runs the past months with the services' clocks set
// back to each month (BenefitHistory). Every step looks first at what exists, so a restart does
// nothing twice, and a restart in a later month pays that month.

// The demo's benefit employers: the one the claimants lost their jobs at, and the one that hires
// one of them again.
const (
	benefitEmployer = "杭州示范纺织有限公司"
	rehireEmployer  = "杭州示范物流有限公司"
)

// benefitRemovedAgo is how many months before the month the demo is built the claimants' jobs
// ended: half a year, so the claims have months paid, one held and one ended.
const benefitRemovedAgo = 6

// What the persons of the benefit demo show.
const (
	showMale         = "male"         // a man near his retirement month
	showFemaleCadre  = "female_cadre" // a woman in a cadre post, recorded by demo-clerk
	showFemaleWorker = "female_worker"
	showPaid         = "paid"       // made redundant, draws months to their card
	showHeld         = "held"       // made redundant, card reported lost: a month held
	showReemployed   = "reemployed" // contract not renewed, hired again mid-claim
	showResigned     = "resigned"   // resigned: registered, no claim possible
)

// benefitCast is the benefit demo's persons. Their ID numbers are fixed (the README names them):
// the address code, the birth date, and a sequence whose parity is the gender.
var benefitCast = []struct {
	show, name, first17, removal string
	card                         bool
}{
	{showMale, "陈建国", "33010619670615031", "", false},
	{showFemaleCadre, "林秀英", "33010619720520042", "", false},
	{showFemaleWorker, "黄丽", "33010619770808062", "", false},
	{showPaid, "徐卫东", "33010619820314051", "dismissed", true},
	{showHeld, "郑红", "33010619850722082", "dismissed", true},
	{showReemployed, "吴志强", "33010619791102071", "contract_expired", true},
	{showResigned, "周敏", "33010619900418022", "resigned", false},
}

// BenefitIDNumbers are the ID numbers of the benefit demo's persons, by what they show.
func BenefitIDNumbers() map[string]string {
	out := map[string]string{}
	for _, p := range benefitCast {
		n, err := ident.MakeIDNumber(p.first17)
		if err != nil {
			panic(err) // a typo in the table above
		}
		out[p.show] = string(n)
	}
	return out
}

// benefitEmployerID is the id of the demo employer of that name; ok is false before it exists.
func (c City) benefitEmployerID(ctx context.Context, name string) (int64, string, bool, error) {
	var id int64
	var uscc string
	err := c.DB.R().QueryRowContext(ctx, "SELECT id, uscc FROM employers WHERE region = $1 AND name = $2", Region, name).Scan(&id, &uscc)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", false, nil
	}
	return id, uscc, err == nil, err
}

// hrOf acts as an employer's HR for the loader, as Load does for all but the first employer.
func hrOf(employerID int64) *auth.Principal {
	return &auth.Principal{User: auth.User{Username: "demo-loader", Role: auth.Employer, Roles: []auth.Role{auth.Employer},
		Regions: []string{Region}, EmployerID: employerID}}
}

// benefitSetup registers the textile company with the cast on its staff since the first month of
// the contribution history, applies for the cards of those who will draw benefit (approved by
// demo-clerk; Load's card batch or benefitCards produces them), ends the claimants' employment
// benefitRemovedAgo months back with their reasons, records the cadre post, and registers the
// logistics company. It writes nothing once the textile company exists.
func (c City) benefitSetup(ctx context.Context) error {
	if c.Benefit == nil {
		return nil
	}
	if _, _, ok, err := c.benefitEmployerID(ctx, benefitEmployer); err != nil || ok {
		return err
	}
	if err := c.benefitPolicy(ctx); err != nil {
		return fmt.Errorf("demo: benefit policy: %w", err)
	}
	clerk, err := c.principal(ctx, username(auth.Clerk))
	if err != nil {
		return err
	}
	thisMonth := period.MonthOf(c.Now())
	employers := map[string]registry.Employer{}
	for i, name := range []string{benefitEmployer, rehireEmployer} {
		org, err := ident.MakeCardNumber(fmt.Sprintf("%08d", 90_000_001+i))
		if err != nil {
			return err
		}
		uscc, err := ident.MakeUSCC("91" + Region + string(org))
		if err != nil {
			return err
		}
		e, err := c.Registry.RegisterEmployer(ctx, clerk, registry.NewEmployer{USCC: string(uscc), Name: name, LegalRep: []string{"钱永年", "蒋文华"}[i],
			Address: []string{"杭州市拱墅区莫干山路300号", "杭州市滨江区江南大道500号"}[i], Industry: []string{"纺织业", "道路运输业"}[i], RiskClass: 2 + i,
			BankAccount: fmt.Sprintf("3305016162270000%04d", 9001+i)})
		if err != nil {
			return fmt.Errorf("demo: benefit employer %s: %w", name, err)
		}
		employers[name] = e
	}
	e := employers[benefitEmployer]
	hr := hrOf(e.ID)
	// Declared when they started, two years ago: the registry takes a declaration at most a
	// year back, so the file goes through the registry as it was then.
	first := thisMonth.Add(-(HistoryMonths - 1))
	then := c.Registry.AsOf(func() time.Time { return first.First().Add(34 * time.Hour) })
	ids := BenefitIDNumbers()
	for i, p := range benefitCast {
		if err := then.ChangeStaff(ctx, hr, string(e.USCC), registry.StaffChange{Op: registry.OpAdd, IDNumber: ids[p.show], Name: p.name,
			Base: fmt.Sprintf("%d.00", 6000+700*i), Month: first.String(), Ethnicity: "汉族", Phone: fmt.Sprintf("1390571%04d", 2001+i)}); err != nil {
			return fmt.Errorf("demo: benefit staff %s: %w", p.show, err)
		}
	}
	// Their employer applies for the cards while they are still on its staff.
	if c.Cards != nil {
		for _, p := range benefitCast {
			if !p.card {
				continue
			}
			cd, err := c.cardsOn(c.firstCardDay()).Apply(ctx, hr, ids[p.show])
			if err != nil {
				return fmt.Errorf("demo: card of %s: %w", p.show, err)
			}
			if _, err := c.cardsOn(c.firstCardDay()).SetPhoto(ctx, hr, cd.ID, samplePNG); err != nil {
				return err
			}
			if _, err := c.cardsOn(c.firstCardDay().AddDate(0, 0, 2)).Approve(ctx, clerk, cd.ID); err != nil {
				return err
			}
		}
	}
	end := thisMonth.Add(-benefitRemovedAgo+1).First().AddDate(0, 0, -1) // the last day of the month
	for _, p := range benefitCast {
		if p.removal == "" {
			continue
		}
		if err := c.Registry.ChangeStaff(ctx, hr, string(e.USCC), registry.StaffChange{Op: registry.OpRemove, IDNumber: ids[p.show],
			EndDate: end.Format("2006-01-02"), Reason: p.removal}); err != nil {
			return fmt.Errorf("demo: removal of %s: %w", p.show, err)
		}
	}
	// A woman's cadre post is in no record the registry has: the clerk records it, with why.
	if _, err := c.Registry.SetRetirementGroup(ctx, clerk, ids[showFemaleCadre], policy.GroupFemaleCadre, "人事档案记载为单位管理岗位（干部身份）"); err != nil {
		return fmt.Errorf("demo: retirement group: %w", err)
	}
	return nil
}

// benefitPolicy makes sure every policy version in force over the contribution history has the
// benefits section (a demo database built before benefits existed has versions without it), as
// medicalPolicy does for the medical one.
func (c City) benefitPolicy(ctx context.Context) error {
	thisMonth := period.MonthOf(c.Now())
	done := map[int64]bool{}
	for m := thisMonth.Add(-(HistoryMonths - 1)); m <= thisMonth; m = m.Add(1) {
		v, err := c.Policies.Effective(ctx, c.DB.R(), Region, m)
		if err != nil {
			return err
		}
		if _, ok := v.Policy.Benefits(); ok || done[v.ID] {
			continue
		}
		def, _, err := policy.Default(Region, m)
		if err != nil {
			return err
		}
		p := *v.Policy
		p.BenefitRules = def.BenefitRules
		if _, err := c.Policies.Install(ctx, audit.Actor{Name: username(auth.Admin), Role: string(auth.Admin)}, &p); err != nil {
			return err
		}
		done[v.ID] = true
	}
	return nil
}

// benefitCards takes the cast's cards from wherever they are to active with the bank function:
// into a batch, produced, to the outlet, collected, activated by their holder's PIN, and the bank
// account opened by demo-bank. On a new city Load's own batch has taken them to the outlet; a
// city built before benefits gets its batch here. A card reported lost stays lost.
func (c City) benefitCards(ctx context.Context) error {
	if c.Benefit == nil || c.Cards == nil {
		return nil
	}
	if _, _, ok, err := c.benefitEmployerID(ctx, benefitEmployer); err != nil || !ok {
		return err
	}
	clerk, err := c.principal(ctx, username(auth.Clerk))
	if err != nil {
		return err
	}
	officer, err := c.principal(ctx, username(auth.CardOfficer))
	if err != nil {
		return err
	}
	bank, err := c.principal(ctx, username(auth.Bank))
	if err != nil {
		return err
	}
	ids := BenefitIDNumbers()
	mine := func() ([]card.Card, error) {
		var out []card.Card
		for _, p := range benefitCast {
			if !p.card {
				continue
			}
			var id int64
			err := c.DB.R().QueryRowContext(ctx, `SELECT c.id FROM cards c JOIN persons p ON p.id = c.person_id
				WHERE p.id_number = $1 AND c.kind = 'social_security' ORDER BY c.id DESC LIMIT 1`, ids[p.show]).Scan(&id)
			if err != nil {
				return nil, fmt.Errorf("demo: the card of %s: %w", p.show, err)
			}
			cd, err := c.Cards.Get(ctx, clerk, id)
			if err != nil {
				return nil, err
			}
			out = append(out, cd)
		}
		return out, nil
	}
	cards, err := mine()
	if err != nil {
		return err
	}
	for _, cd := range cards {
		if cd.State == card.Approved {
			if _, err := c.Cards.CreateBatch(ctx, officer, Region); err != nil {
				return err
			}
			break
		}
	}
	if cards, err = mine(); err != nil {
		return err
	}
	// The manufacturer's answer for the cast's cards of each batch (one answer a batch).
	results := map[int64]string{}
	for i, cd := range cards {
		if cd.State == card.InProduction {
			if results[cd.BatchID] == "" {
				results[cd.BatchID] = "application_no,card_number,chip_serial,atr\n"
			}
			results[cd.BatchID] += fmt.Sprintf("%s,%s,AD95%04X,3B6C000000815441AD95%04X\n", cd.ApplicationNo, cd.CardNumber, i, i)
		}
	}
	for batch, res := range results {
		if _, err := c.Cards.ImportResult(ctx, officer, batch, []byte(res)); err != nil {
			return err
		}
		if _, err := c.Cards.Distribute(ctx, officer, batch, "XH-01"); err != nil {
			return err
		}
	}
	if cards, err = mine(); err != nil {
		return err
	}
	for i, cd := range cards {
		if cd.State == card.AtOutlet {
			if cd, err = c.Cards.Collect(ctx, clerk, cd.ID, string(cd.IDNumber), cd.CardNumber); err != nil {
				return fmt.Errorf("demo: collect: %w", err)
			}
		}
		if cd.State == card.Collected {
			if cd, err = c.Cards.Activate(ctx, clerk, cd.ID, DemoPIN); err != nil {
				return fmt.Errorf("demo: activate: %w", err)
			}
		}
		if cd.State == card.Active && cd.BankAccount == "" {
			if _, err := c.Cards.ActivateBank(ctx, bank, cd.ID, fmt.Sprintf("6217%s%04d", string(cd.IDNumber)[6:17], 101+i)); err != nil {
				return fmt.Errorf("demo: bank function: %w", err)
			}
		}
	}
	return nil
}

// BenefitHistory runs once the contribution history is in place (History calls it, so serve
// --demo runs it in the background): it pays the textile company's bills of the months the claims
// count where History has left them open (History leaves one employer in twenty-five in arrears),
// registers the four who lost their jobs in the month after, the three entitled ones claim at the
// window and demo-reviewer approves, and the benefit run pays every month from then to this one,
// each with the clock of that month: the re-employed claimant is hired by the logistics company in
// the claim's fourth month, and the held one's card is reported lost before the sixth. Every step
// is skipped when done, so a restart pays only what is new: a start in a later month runs that
// month.
func BenefitHistory(ctx context.Context, c City) error {
	if c.Benefit == nil || c.Contrib == nil {
		return nil
	}
	employerID, _, ok, err := c.benefitEmployerID(ctx, benefitEmployer)
	if err != nil || !ok {
		return err
	}
	staff := map[auth.Role]*auth.Principal{}
	for _, r := range []auth.Role{auth.Clerk, auth.Reviewer, auth.Admin, auth.Bank} {
		if staff[r], err = c.principal(ctx, username(r)); err != nil {
			return err
		}
	}
	clerk, reviewer := staff[auth.Clerk], staff[auth.Reviewer]
	ids := BenefitIDNumbers()
	person := func(show string) (registry.Person, error) { return c.Registry.Person(ctx, clerk, ids[show]) }
	paid, err := person(showPaid)
	if err != nil {
		return err
	}
	removal, removed, err := registry.LastRemoval(ctx, c.DB.R(), paid.ID)
	if err != nil || !removed {
		return fmt.Errorf("demo benefits: the redundant person's removal: %v %w", removed, err)
	}
	if err := c.payBills(ctx, staff[auth.Bank], contrib.EmployerPayer(employerID), removal.Month); err != nil {
		return fmt.Errorf("demo benefits: bills: %w", err)
	}
	start := removal.Month.Add(1) // the month they register in: their claims' first month
	thisMonth := period.MonthOf(c.Now())
	at := func(m period.Month, day int) func() time.Time {
		if m >= thisMonth {
			return c.Now
		}
		t := m.First().AddDate(0, 0, day-1).Add(10 * time.Hour)
		return func() time.Time { return t }
	}
	then := c.Benefit.AsOf(at(start, 5))
	for _, show := range []string{showPaid, showHeld, showReemployed, showResigned} {
		p, err := person(show)
		if err != nil {
			return err
		}
		var n int
		if err := c.DB.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM unemployment_registrations WHERE region = $1 AND person_id = $2", Region, p.ID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			if _, err := then.Register(ctx, clerk, ids[show], "", true); err != nil {
				return fmt.Errorf("demo benefits: register %s: %w", show, err)
			}
		}
		if show == showResigned {
			continue // a resignation is not an involuntary loss: Prepare refuses, and the preview says why
		}
		var claim int64
		err = c.DB.R().QueryRowContext(ctx, "SELECT id FROM unemployment_claims WHERE region = $1 AND person_id = $2 ORDER BY id LIMIT 1", Region, p.ID).Scan(&claim)
		if errors.Is(err, sql.ErrNoRows) {
			cl, err := then.Prepare(ctx, clerk, ids[show])
			if err != nil {
				return fmt.Errorf("demo benefits: claim of %s: %w", show, err)
			}
			claim = cl.ID
		} else if err != nil {
			return err
		}
		if cl, err := c.Benefit.Claim(ctx, clerk, Region, claim); err != nil {
			return err
		} else if cl.Status == benefit.Prepared {
			if _, err := c.Benefit.Approve(ctx, reviewer, Region, claim); err != nil {
				return fmt.Errorf("demo benefits: approve the claim of %s: %w", show, err)
			}
		}
	}

	rehireID, rehireUSCC, ok, err := c.benefitEmployerID(ctx, rehireEmployer)
	if err != nil || !ok {
		return fmt.Errorf("demo benefits: %s: %v %w", rehireEmployer, ok, err)
	}
	rehired, err := person(showReemployed)
	if err != nil {
		return err
	}
	held, err := person(showHeld)
	if err != nil {
		return err
	}
	hireMonth, lostMonth := start.Add(3), start.Add(5)
	for m := start; m <= thisMonth; m = m.Add(1) {
		var finished string
		err := c.DB.R().QueryRowContext(ctx, "SELECT finished_at FROM benefit_runs WHERE region = $1 AND month = $2", Region, int(m)).Scan(&finished)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if finished != "" {
			continue
		}
		if m >= hireMonth {
			if employed, err := registry.EmployedIn(ctx, c.DB.R(), rehired.ID, hireMonth); err != nil {
				return err
			} else if !employed {
				// Hired in the claim's fourth month, declared then by the new employer.
				hire := c.Registry.AsOf(at(hireMonth, 2))
				if err := hire.ChangeStaff(ctx, hrOf(rehireID), rehireUSCC, registry.StaffChange{Op: registry.OpAdd, IDNumber: ids[showReemployed],
					Name: rehired.Name, Base: "7200.00", Month: hireMonth.String()}); err != nil {
					return fmt.Errorf("demo benefits: re-employment: %w", err)
				}
			}
		}
		if m >= lostMonth && c.Cards != nil {
			if bc, ok, err := card.BankCardOf(ctx, c.DB.R(), held.ID, c.Now()); err != nil {
				return err
			} else if ok {
				cd, err := c.Cards.ByNumber(ctx, clerk, bc.CardNumber)
				if err != nil {
					return err
				}
				if _, err := c.Cards.ReportLoss(ctx, clerk, cd.ID); err != nil {
					return fmt.Errorf("demo benefits: report the card lost: %w", err)
				}
			}
		}
		if _, err := c.Benefit.AsOf(at(m, 10)).Run(ctx, staff[auth.Admin].Actor(), Region, m); err != nil {
			return fmt.Errorf("demo benefits: run %s: %w", m, err)
		}
	}
	// The new employer's months up to now, billed and paid as History does the others', once: a
	// later start bills no new month for anyone, the new employer included (the demo's months are
	// those it was built with).
	var demoEmployer int64
	if err := c.DB.R().QueryRowContext(ctx, "SELECT employer_id FROM users WHERE username = $1", username(auth.Employer)).Scan(&demoEmployer); err != nil {
		return err
	}
	var billed int
	if err := c.DB.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM bills WHERE payer = $1", contrib.EmployerPayer(rehireID)).Scan(&billed); err != nil {
		return err
	}
	if billed == 0 {
		return c.contributions(ctx, staff[auth.Admin], staff[auth.Bank], hireMonth, hireMonth, thisMonth, demoEmployer)
	}
	return nil
}

// payBills has the bank report a payer's open bills up to month last paid on their due date,
// under the same keys contributions uses, so whichever pays a bill first, it is paid once.
func (c City) payBills(ctx context.Context, bank *auth.Principal, payer string, last period.Month) error {
	type bill struct {
		id    int64
		month int
		due   string
		total int64
	}
	var bills []bill
	if err := db.EachRow(ctx, c.DB.R(), func(scan func(...any) error) error {
		var b bill
		err := scan(&b.id, &b.month, &b.due, &b.total)
		bills = append(bills, b)
		return err
	}, "SELECT id, month, due_date, total FROM bills WHERE region = $1 AND payer = $2 AND month <= $3 AND paid < total ORDER BY month",
		Region, payer, int(last)); err != nil {
		return err
	}
	today := period.Today(c.Now())
	for _, b := range bills {
		due, err := db.ParseTime(b.due)
		if err != nil {
			return err
		}
		if due.After(today) {
			continue
		}
		if _, err := c.Contrib.RecordPayment(ctx, bank, contrib.NewPayment{IdemKey: fmt.Sprintf("DEMO-%s-%d", period.Month(b.month), b.id), Payer: payer,
			Amount: money.Fen(b.total).String(), PaidOn: due.Format("2006-01-02")}); err != nil {
			return err
		}
	}
	return nil
}
