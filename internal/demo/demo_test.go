package demo_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/benefit"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/demo"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/keys"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
	"github.com/shebao/shebao/internal/settle"
)

// TestDemoCity builds the demo city and checks what SPEC and the registry issue promise of it.
func TestDemoCity(t *testing.T) {
	ctx := context.Background()
	d := dbtest.SQLite(t, dbtest.Options{})
	a := auth.New(d, auth.Options{})
	pol := policy.NewStore(d)
	ks := keys.New(d, pol, nil)
	if err := ks.UnsealDevelopment(ctx, demo.Custodians); err != nil {
		t.Fatal(err)
	}
	reg, cards := registry.New(d, a, pol), card.New(d, pol, ks)
	settlements := settle.New(d, pol, cards, ks, reg, settle.Options{})
	defer settlements.Close()
	city := demo.City{DB: d, Auth: a, Policies: pol, Registry: reg, Keys: ks, Cards: cards, Contrib: contrib.New(d, pol), Settle: settlements, Benefit: benefit.New(d, pol, reg), Now: d.Now}
	built := time.Now()
	logins, err := demo.Load(ctx, city)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Load built the city in %v", time.Since(built).Round(time.Millisecond))
	if len(logins) != len(auth.Roles)+5 {
		t.Fatalf("%d logins; want one per role, a second custodian, the extra administrator and custodian, and Ningbo's clerk and reviewer", len(logins))
	}
	// The region's issuer keys exist, made by dual control, and sign.
	if _, v, err := ks.Sign(ctx, demo.Region, []byte("demo")); err != nil || v != 1 {
		t.Fatalf("demo signing key: version %d, %v", v, err)
	}
	count := func(q string, args ...any) int {
		var n int
		if err := d.R().QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count("SELECT COUNT(*) FROM employers"); n < 200 {
		t.Errorf("%d employers; want at least 200", n)
	}
	if n := count("SELECT COUNT(*) FROM persons"); n < 10_000 {
		t.Errorf("%d persons; want at least 10,000", n)
	}
	for _, st := range []string{"draft", "submitted", "approved", "rejected"} {
		if n := count("SELECT COUNT(*) FROM enrolments WHERE status = $1", st); n == 0 {
			t.Errorf("no enrolment is %s", st)
		}
	}
	// Cards in every state but expired (which takes years) and the demo resident's at the outlet.
	for _, st := range []string{"applied", "approved", "in_production", "produced", "rejected", "at_outlet", "collected", "active", "temporarily_lost", "lost", "replaced", "cancelled"} {
		if n := count("SELECT COUNT(*) FROM cards WHERE state = $1", st); n == 0 {
			t.Errorf("no card is %s", st)
		}
	}
	if n := count("SELECT COUNT(*) FROM cards c JOIN users u ON u.person_id = c.person_id WHERE u.username = 'demo-resident' AND c.state = 'at_outlet'"); n != 1 {
		t.Errorf("the demo resident's card is not waiting at the outlet")
	}
	// The cards went their steps over weeks, not in a moment: the resident's from application to
	// the outlet took weeks, and the demo employer's cards paying at the counters were active
	// before the first month the demo settles in.
	var applied, atOutlet string
	if err := d.R().QueryRowContext(ctx, `SELECT MIN(e.at), MAX(e.at) FROM card_events e JOIN cards c ON c.id = e.card_id JOIN users u ON u.person_id = c.person_id
		WHERE u.username = 'demo-resident'`).Scan(&applied, &atOutlet); err != nil {
		t.Fatal(err)
	}
	if a, _ := db.ParseTime(applied); a.IsZero() || d.Now().Sub(a) < 60*24*time.Hour {
		t.Errorf("the resident's card was applied for at %s; want months ago", applied)
	} else if o, _ := db.ParseTime(atOutlet); o.Sub(a) < 28*24*time.Hour || o.After(d.Now()) {
		t.Errorf("the resident's card took from %s to %s to reach the outlet; want weeks, not after now", applied, atOutlet)
	}
	firstSettled := period.MonthOf(d.Now()).Add(-(demo.SettledMonths - 1)).First()
	if n := count(`SELECT COUNT(*) FROM cards c JOIN staff s ON s.person_id = c.person_id JOIN users u ON u.employer_id = s.employer_id
		WHERE u.username = 'demo-employer' AND c.state = 'active' AND c.kind = 'social_security' AND c.state_at >= $1`, db.FormatTime(firstSettled)); n != 0 {
		t.Errorf("%d of the demo employer's active social security cards were activated after the first settled month began", n)
	}
	if n := count("SELECT COUNT(*) FROM cards WHERE state = 'temporarily_lost' AND state_at >= $1", db.FormatTime(d.Now().AddDate(0, 0, -10))); n == 0 {
		t.Error("no temporary loss of the last days (an older one lapses)")
	}

	// Right after Load, whatever the day of the month, the demo employer has a month in arrears.
	if n := count(`SELECT COUNT(*) FROM bills b JOIN users u ON b.payer = 'employer:' || u.employer_id
		WHERE u.username = 'demo-employer' AND b.paid < b.total AND b.due_date < $1`, db.FormatTime(d.Now())); n == 0 {
		t.Error("the demo employer has no bill in arrears after Load")
	}
	// Load did the last three months; History the rest, as serve --demo does in the background.
	if err := demo.History(ctx, city); err != nil {
		t.Fatal(err)
	}
	entries, audited := count("SELECT COUNT(*) FROM ledger_entries"), count("SELECT COUNT(*) FROM audit_log")
	if err := demo.History(ctx, city); err != nil { // resumable: a second pass changes nothing
		t.Fatal(err)
	}
	if e, a := count("SELECT COUNT(*) FROM ledger_entries"), count("SELECT COUNT(*) FROM audit_log"); e != entries || a != audited {
		t.Errorf("a second pass of History posted %d entries and audited %d changes; want none", e-entries, a-audited)
	}
	checkHistoryDated(t, ctx, d)
	// Two of the city's employees moved to Ningbo: one transfer done, one waiting for Hangzhou's
	// reviewer, and the money of the done one in Ningbo's accounts.
	if n := count("SELECT COUNT(*) FROM transfers_in WHERE region = '330200' AND status = 'done'"); n != 1 {
		t.Errorf("%d transfers to Ningbo done; want 1", n)
	}
	if n := count("SELECT COUNT(*) FROM transfers_out WHERE region = '330100' AND status = 'computed'"); n != 1 {
		t.Errorf("%d transfers waiting for Hangzhou's reviewer; want 1", n)
	}
	if n := count("SELECT COUNT(*) FROM ledger_accounts WHERE code LIKE 'person_pension:330200:%' AND balance <> 0"); n != 1 {
		t.Errorf("%d pension accounts in Ningbo hold money; want the one moved", n)
	}
	// Twelve months of contributions: billed, mostly paid, personal accounts credited, some in arrears,
	// and the ledger balanced.
	if n := count("SELECT COUNT(DISTINCT month) FROM bills"); n != demo.HistoryMonths {
		t.Errorf("bills for %d months; want %d", n, demo.HistoryMonths)
	}
	if n := count("SELECT COUNT(*) FROM bills WHERE paid = total AND total > 0"); n < 1500 {
		t.Errorf("%d bills paid; want most of the months due", n)
	}
	if n := count("SELECT COUNT(*) FROM payments"); n != count("SELECT COUNT(DISTINCT idem_key) FROM payments") {
		t.Errorf("a payment was recorded twice")
	}
	if n := count("SELECT COUNT(*) FROM bills WHERE paid < total AND due_date < $1", db.FormatTime(d.Now())); n == 0 {
		t.Error("no bill is in arrears")
	}
	if n := count("SELECT COUNT(*) FROM ledger_accounts WHERE code LIKE 'person_pension:%' AND balance <> 0"); n < 7000 {
		t.Errorf("%d personal pension accounts hold money; want nearly every insured person's", n)
	}
	if _, err := ledger.Check(ctx, d); err != nil {
		t.Error(err)
	}

	checkBenefits(t, ctx, d, city)
	checkMedical(t, ctx, d, city)

	// Every ID number is valid, and they vary: several districts, both genders, local and not.
	rows, err := d.R().QueryContext(ctx, "SELECT id_number FROM persons")
	if err != nil {
		t.Fatal(err)
	}
	codes, genders := map[string]bool{}, map[ident.Gender]bool{}
	today := period.Today(d.Now())
	for rows.Next() {
		var s string
		rows.Scan(&s)
		n, err := ident.ParseIDNumber(s, today)
		if err != nil {
			t.Fatalf("demo ID %s: %v", s, err)
		}
		codes[n.AddressCode()], genders[n.Gender()] = true, true
	}
	rows.Close()
	if len(codes) < 8 || len(genders) != 2 {
		t.Errorf("ID numbers vary too little: %d address codes, %d genders", len(codes), len(genders))
	}
	// The demo resident is an insured person whose own page shows active insurance.
	u, err := a.UserByName(ctx, "demo-resident")
	if err != nil {
		t.Fatal(err)
	}
	_, st, err := city.Registry.MyInsurance(ctx, &auth.Principal{User: u})
	if err != nil || len(st) != 5 || !st[0].Active {
		t.Fatalf("demo resident's insurance = %+v, %v", st, err)
	}
	// Loading again changes nothing.
	before := count("SELECT COUNT(*) FROM audit_log")
	if _, err := demo.Load(ctx, city); err != nil {
		t.Fatal(err)
	}
	if after := count("SELECT COUNT(*) FROM audit_log"); after != before {
		t.Fatalf("second load wrote %d audit entries", after-before)
	}
	if _, err := audit.Verify(ctx, d, nil); err != nil {
		t.Fatal(err)
	}
}

// checkMedical: the designated institutions and demo-institution's link are there after Load;
// MedicalHistory makes months of settlements of many persons with every means of payment, one
// refund, a reconciliation that disagrees, the oldest month cleared, the demo resident's own
// settlements; it resumes without doing anything twice, and every check of the ledger passes.
func checkMedical(t *testing.T, ctx context.Context, d *db.DB, city demo.City) {
	t.Helper()
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := d.R().QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count("SELECT COUNT(*) FROM institutions WHERE status = 'approved' AND registered_by = 'demo-clerk' AND approved_by = 'demo-reviewer'"); n != 3 {
		t.Fatalf("%d approved demo institutions; want the hospital, the clinic and the pharmacy", n)
	}
	if n := count("SELECT COUNT(*) FROM institutions WHERE (code = $1 AND level = 3) OR (code = $2 AND level = 1) OR (code = $3 AND kind = 'pharmacy')",
		demo.DemoHospital, demo.DemoClinic, demo.DemoPharmacy); n != 3 {
		t.Fatalf("the demo institutions are not a level-3 hospital, a level-1 clinic and a pharmacy")
	}
	op, err := city.Auth.UserByName(ctx, "demo-institution")
	if err != nil || op.InstitutionCode != demo.DemoHospital {
		t.Fatalf("demo-institution acts for %q (%v); want %s", op.InstitutionCode, err, demo.DemoHospital)
	}
	// A demo database built before medical settlement: its policy has no medical section, it has
	// no institutions, and demo-institution acts for none. Loading it gives it all three.
	thisMonth := period.MonthOf(d.Now())
	v, err := city.Policies.Effective(ctx, d.R(), demo.Region, thisMonth)
	if err != nil {
		t.Fatal(err)
	}
	old := *v.Policy
	old.MedicalRules = nil
	if _, err := city.Policies.Install(ctx, audit.System, &old); err != nil {
		t.Fatal(err)
	}
	if err := d.Write(ctx, func(tx *db.Tx) error {
		for _, q := range []string{"DELETE FROM institutions", "DELETE FROM institution_codes", "UPDATE users SET institution_code = '' WHERE username = 'demo-institution'"} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Load(ctx, city); err != nil {
		t.Fatal(err)
	}
	for m := thisMonth.Add(-(demo.SettledMonths - 1)); m <= thisMonth; m = m.Add(1) {
		v, err := city.Policies.Effective(ctx, d.R(), demo.Region, m)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := v.Policy.Medical(); !ok || v.Policy.Contributions.AverageWage != old.Contributions.AverageWage {
			t.Fatalf("the policy in force in %s after loading an older demo database: medical %v, %+v", m, ok, v.Policy.Contributions)
		}
	}
	if n := count("SELECT COUNT(*) FROM institutions WHERE status = 'approved'"); n != 3 {
		t.Fatalf("%d approved institutions after loading an older demo database", n)
	}
	if op, err = city.Auth.UserByName(ctx, "demo-institution"); err != nil || op.InstitutionCode != demo.DemoHospital {
		t.Fatalf("after loading an older demo database demo-institution acts for %q (%v)", op.InstitutionCode, err)
	}
	if n := count("SELECT COUNT(*) FROM audit_log WHERE action = 'user.link_institution' AND object = 'user:demo-institution'"); n != 1 {
		t.Fatalf("the link is audited %d times", n)
	}
	start := time.Now()
	if err := demo.MedicalHistory(ctx, city); err != nil {
		t.Fatal(err)
	}
	t.Logf("medical history loaded in %v", time.Since(start))
	before := count("SELECT COUNT(*) FROM audit_log")
	if err := demo.MedicalHistory(ctx, city); err != nil { // resumable: a second pass makes nothing
		t.Fatal(err)
	}
	if after := count("SELECT COUNT(*) FROM audit_log"); after != before {
		t.Errorf("a second pass of the medical history wrote %d audit entries", after-before)
	}
	n := count("SELECT COUNT(*) FROM settlements")
	t.Logf("%d settlements of %d persons: %d with the medical card, %d with the e-card, %d with the social security card; %d inpatient; pool %d fen, accounts %d fen, cash %d fen",
		n, count("SELECT COUNT(DISTINCT person_id) FROM settlements"), count("SELECT COUNT(*) FROM settlements WHERE means = 'medical_card'"),
		count("SELECT COUNT(*) FROM settlements WHERE means = 'ecard'"), count("SELECT COUNT(*) FROM settlements WHERE means = 'social_security_card'"),
		count("SELECT COUNT(*) FROM settlements WHERE kind = 'inpatient'"), count("SELECT COALESCE(SUM(pool), 0) FROM settlements"),
		count("SELECT COALESCE(SUM(account), 0) FROM settlements"), count("SELECT COALESCE(SUM(cash), 0) FROM settlements"))
	if n < demo.SettledMonths*100 {
		t.Errorf("%d settlements; want months of them", n)
	}
	first := thisMonth.Add(-(demo.SettledMonths - 1))
	months := map[period.Month]bool{}
	rows, err := d.R().QueryContext(ctx, "SELECT DISTINCT settled_on FROM settlements")
	if err != nil {
		t.Fatal(err)
	}
	days := 0
	for rows.Next() {
		var s string
		rows.Scan(&s)
		day, _ := period.ParseDate(s)
		months[period.MonthOf(day.Add(12*time.Hour))] = true
		days++
	}
	rows.Close()
	if len(months) != demo.SettledMonths || !months[first] || !months[thisMonth] || days < 2*demo.SettledMonths {
		t.Errorf("settlements on %d days of %d months; want days spread over %d months, %s to %s", days, len(months), demo.SettledMonths, first, thisMonth)
	}
	if p := count("SELECT COUNT(DISTINCT person_id) FROM settlements"); p < 100 {
		t.Errorf("settlements of %d persons; want many", p)
	}
	for _, means := range []string{"medical_card", "ecard", "social_security_card"} {
		if n := count("SELECT COUNT(*) FROM settlements WHERE means = $1", means); n == 0 {
			t.Errorf("no settlement paid with the %s", means)
		}
	}
	for _, kind := range []string{"outpatient", "inpatient", "pharmacy"} {
		if n := count("SELECT COUNT(*) FROM settlements WHERE kind = $1", kind); n == 0 {
			t.Errorf("no %s settlement", kind)
		}
	}
	for _, code := range []string{demo.DemoHospital, demo.DemoClinic, demo.DemoPharmacy} {
		if n := count("SELECT COUNT(*) FROM settlements WHERE institution_code = $1", code); n < 50 {
			t.Errorf("%d settlements at %s", n, code)
		}
	}
	if n := count("SELECT COUNT(*) FROM settlements WHERE pool > 0"); n == 0 {
		t.Error("the pool paid nothing")
	}
	if n := count("SELECT COUNT(*) FROM settlements WHERE account > 0"); n == 0 {
		t.Error("no personal account paid")
	}
	if n := count("SELECT COUNT(*) FROM settlements WHERE refunded_at <> ''"); n != 1 {
		t.Errorf("%d refunds; want one", n)
	}
	// The demo resident has settlements of their own, one of them refunded.
	resident, err := city.Auth.UserByName(ctx, "demo-resident")
	if err != nil {
		t.Fatal(err)
	}
	mine, err := city.Settle.List(ctx, &auth.Principal{User: resident}, settle.Query{})
	if err != nil || len(mine) < demo.SettledMonths {
		t.Fatalf("the demo resident has %d settlements (%v)", len(mine), err)
	}
	refunded := 0
	for _, st := range mine {
		if st.Refunded() {
			refunded++
		}
	}
	if refunded != 1 {
		t.Errorf("%d of the resident's settlements refunded; want the one the demo refunds", refunded)
	}
	if n := count("SELECT COUNT(*) FROM reconciliations WHERE institution_code = $1 AND NOT agree", demo.DemoHospital); n != 1 {
		t.Errorf("%d disagreeing reconciliations of the hospital; want one", n)
	}
	if n := count("SELECT COUNT(*) FROM reconciliations WHERE agree"); n != 1 {
		t.Errorf("%d agreeing reconciliations; want one", n)
	}
	if n := count("SELECT COUNT(*) FROM clearings WHERE month = $1 AND status = 'posted' AND prepared_by = 'demo-clerk' AND approved_by = 'demo-reviewer' AND amount > 0",
		int(first)); n != 3 {
		t.Errorf("%d clearings of %s posted; want each institution's", n, first)
	}
	if n := count("SELECT COUNT(*) FROM clearings WHERE month <> $1", int(first)); n != 0 {
		t.Errorf("%d clearings of other months; want only the oldest month cleared", n)
	}
	if n := count("SELECT COUNT(*) FROM settlements WHERE cleared_in <> 0 AND settled_on >= $1", first.Add(1).First().Format("2006-01-02")); n != 0 {
		t.Errorf("%d settlements of later months cleared", n)
	}
	if _, err := ledger.Check(ctx, d); err != nil {
		t.Error(err)
	}
	if _, err := contrib.Check(ctx, d); err != nil {
		t.Error(err)
	}
	rep, err := settle.Check(ctx, d)
	if err != nil {
		t.Error(err)
	}
	if rep.Settlements != n || rep.Refunds != 1 || rep.Clearings != 3 {
		t.Errorf("settle.Check compared %+v; want %d settlements, 1 refund, 3 clearings", rep, n)
	}

	// A start next month settles that month too, the software cards (made again) brought to the
	// counters their cards reached, and adds no second refund, reconciliation or clearing.
	next := thisMonth.Add(1)
	later := city
	later.Now = func() time.Time { return next.First().Add(10 * 24 * time.Hour) }
	cardsBefore := count("SELECT COUNT(*) FROM medical_cards")
	if err := demo.MedicalHistory(ctx, later); err != nil {
		t.Fatal(err)
	}
	if c := count("SELECT COUNT(*) FROM medical_cards"); c != cardsBefore {
		t.Errorf("a start next month issued %d more medical cards; want the same holders", c-cardsBefore)
	}
	from, to := next.First().Format("2006-01-02"), next.Add(1).First().Format("2006-01-02")
	if c := count("SELECT COUNT(*) FROM settlements WHERE settled_on >= $1 AND settled_on < $2 AND means = 'social_security_card'", from, to); c == 0 {
		t.Errorf("no settlement with the social security card in %s", next)
	}
	if c := count("SELECT COUNT(*) FROM settlements WHERE settled_on >= $1 AND settled_on < $2", from, to); c < 100 {
		t.Errorf("%d settlements in %s", c, next)
	}
	if c := count("SELECT COUNT(*) FROM settlements WHERE refunded_at <> ''"); c != 1 {
		t.Errorf("%d refunds after a start next month", c)
	}
	if c := count("SELECT COUNT(*) FROM reconciliations"); c != 2 {
		t.Errorf("%d reconciliations after a start next month", c)
	}
	if c := count("SELECT COUNT(*) FROM clearings"); c != 3 {
		t.Errorf("%d clearings after a start next month", c)
	}
	if _, err := settle.Check(ctx, d); err != nil {
		t.Error(err)
	}
	if _, err := ledger.Check(ctx, d); err != nil {
		t.Error(err)
	}
}

// checkBenefits: after History the benefit demo holds a claim with months paid to the card, a
// month held for want of a card, a claim ended by re-employment with the months left carried
// over, a resignation the preview names, every retirement group, and benefit.Check passes.
func checkBenefits(t *testing.T, ctx context.Context, d *db.DB, city demo.City) {
	t.Helper()
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := d.R().QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	ids := demo.BenefitIDNumbers()
	clerk, err := city.Auth.UserByName(ctx, "demo-clerk")
	if err != nil {
		t.Fatal(err)
	}
	by := &auth.Principal{User: clerk}
	if n := count(`SELECT COUNT(*) FROM benefit_payments b JOIN persons p ON p.id = b.person_id JOIN cards c ON c.card_number = b.card_ref AND c.person_id = p.id
		WHERE p.id_number = $1 AND b.status = 'paid' AND c.bank_account <> ''`, ids["paid"]); n < 3 {
		t.Errorf("the redundant person has %d months paid to their card; want months of them", n)
	}
	if n := count(`SELECT COUNT(*) FROM benefit_payments b JOIN persons p ON p.id = b.person_id WHERE p.id_number = $1 AND b.status = 'held' AND b.reason = 'no_bank_card'`,
		ids["held"]); n == 0 {
		t.Error("no month of the person whose card is lost is held")
	}
	if n := count(`SELECT COUNT(*) FROM unemployment_claims c JOIN persons p ON p.id = c.person_id
		WHERE p.id_number = $1 AND c.status = 'ended' AND c.drawn_months > 0 AND c.total_months > c.drawn_months`, ids["reemployed"]); n != 1 {
		t.Errorf("%d ended claims of the re-employed person with months left", n)
	}
	e, err := city.Benefit.Preview(ctx, by, ids["reemployed"])
	if err != nil || e.CarriedOverMonths == 0 || e.Open != nil {
		t.Errorf("the re-employed person's months carried over: %+v %v", e, err)
	}
	e, err = city.Benefit.Preview(ctx, by, ids["resigned"])
	if err != nil || e.Registration == nil || !strings.Contains(e.Problems["removal"], "resigned") {
		t.Errorf("the resignation's preview: %+v %v", e, err)
	}
	for show, group := range map[string]string{"male": policy.GroupMale, "female_cadre": policy.GroupFemaleCadre, "female_worker": policy.GroupFemaleWorker} {
		// Their birth dates are fixed (the README names their ID numbers), so the test asks for the
		// group and an outlook, not for how near the retirement month still is.
		o, err := city.Benefit.PensionOf(ctx, by, ids[show])
		if err != nil || o.Group != group || o.RetirementMonth == 0 || o.MinimumMonths == 0 || o.ContributionMonths == 0 {
			t.Errorf("%s: pension outlook %+v %v; want group %s", show, o, err, group)
		}
	}
	rep, err := benefit.Check(ctx, d)
	if err != nil {
		t.Error(err)
	}
	t.Logf("benefit demo: %d claims, %d months paid, %d held", rep.Claims, rep.Paid, rep.Held)

	// A start next month pays that month, once: to the redundant person's card, held for the one
	// whose card is lost, nothing to the re-employed one.
	next := period.MonthOf(d.Now()).Add(1)
	later := city
	later.Now = func() time.Time { return next.First().Add(10 * 24 * time.Hour) }
	for range 2 {
		if err := demo.BenefitHistory(ctx, later); err != nil {
			t.Fatal(err)
		}
	}
	for show, want := range map[string]string{"paid": "paid", "held": "held", "reemployed": ""} {
		var got []string
		if err := db.EachRow(ctx, d.R(), func(scan func(...any) error) error {
			var st string
			err := scan(&st)
			got = append(got, st)
			return err
		}, "SELECT b.status FROM benefit_payments b JOIN persons p ON p.id = b.person_id WHERE p.id_number = $1 AND b.month = $2", ids[show], int(next)); err != nil {
			t.Fatal(err)
		}
		if (want == "" && len(got) != 0) || (want != "" && (len(got) != 1 || got[0] != want)) {
			t.Errorf("%s: %s after a start next month is %v; want %q", show, next, got, want)
		}
	}
	if _, err := benefit.Check(ctx, d); err != nil {
		t.Error(err)
	}
}

// checkHistoryDated: the history is dated when it would have happened. Every bill was made in its
// own month and every payment recorded on the day it was paid; the demo resident's personal
// account moved in month after month, newest first, never after now; and the resident's base
// changed at each year's adjustment, so their years show different bases.
func checkHistoryDated(t *testing.T, ctx context.Context, d *db.DB) {
	t.Helper()
	now := d.Now()
	type row struct{ a, b string }
	rowsOf := func(q string, args ...any) []row {
		t.Helper()
		var out []row
		if err := db.EachRow(ctx, d.R(), func(scan func(...any) error) error {
			var r row
			err := scan(&r.a, &r.b)
			out = append(out, r)
			return err
		}, q, args...); err != nil {
			t.Fatal(err)
		}
		return out
	}
	at := func(s string) time.Time {
		t.Helper()
		x, err := db.ParseTime(s)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	for _, r := range rowsOf("SELECT CAST(month AS TEXT), created_at FROM bills") {
		if got := period.MonthOf(at(r.b)).String(); got != r.a || at(r.b).After(now) {
			t.Fatalf("a bill of %s was made at %s (Beijing month %s); want in its month and not after now", r.a, r.b, got)
		}
	}
	for _, r := range rowsOf("SELECT paid_on, recorded_at FROM payments") {
		if got := period.Today(at(r.b)).Format("2006-01-02"); got != r.a || at(r.b).After(now) {
			t.Fatalf("a payment of %s was recorded at %s (Beijing %s); want on the day it was paid", r.a, r.b, got)
		}
	}
	entryMonths := map[period.Month]bool{}
	for _, r := range rowsOf("SELECT DISTINCT substr(at, 1, 13), '' FROM ledger_entries") { // by the hour: Beijing's month of a UTC time
		h, err := time.Parse("2006-01-02T15", r.a)
		if err != nil {
			t.Fatal(err)
		}
		entryMonths[period.MonthOf(h)] = true
	}
	if len(entryMonths) < demo.HistoryMonths {
		t.Errorf("ledger entries in %d months; want the history's %d months", len(entryMonths), demo.HistoryMonths)
	}

	var person int64
	if err := d.R().QueryRowContext(ctx, "SELECT person_id FROM users WHERE username = 'demo-resident'").Scan(&person); err != nil {
		t.Fatal(err)
	}
	moves, err := ledger.Movements(ctx, d.R(), ledger.PersonAccount(demo.Region, ledger.PersonPension, person), 1000)
	if err != nil {
		t.Fatal(err)
	}
	months := map[period.Month]bool{}
	for i, m := range moves {
		months[period.MonthOf(m.At)] = true
		if m.At.After(now) || (i > 0 && m.At.After(moves[i-1].At)) {
			t.Fatalf("the resident's pension account moved at %v (movement %d of %d); want newest first, none after now", m.At, i, len(moves))
		}
	}
	if len(months) < demo.HistoryMonths-3 {
		t.Errorf("the resident's pension account moved in %d months; want about one a month of the history's %d", len(months), demo.HistoryMonths)
	}

	bases := map[int]map[string]bool{} // year → the resident's bases
	for _, r := range rowsOf("SELECT CAST(month AS TEXT), CAST(base AS TEXT) FROM contribution_lines WHERE person_id = $1", person) {
		m, err := period.ParseMonth(r.a)
		if err != nil {
			t.Fatal(err)
		}
		if bases[m.Year()] == nil {
			bases[m.Year()] = map[string]bool{}
		}
		bases[m.Year()][r.b] = true
	}
	seen := map[string]bool{}
	for y, bs := range bases {
		if len(bs) != 1 {
			t.Errorf("the resident's bases in %d: %v; want one a year", y, bs)
		}
		for b := range bs {
			seen[b] = true
		}
	}
	if len(bases) < 2 || len(seen) != len(bases) {
		t.Errorf("the resident's bases by year: %v; want a different base each year", bases)
	}
}
