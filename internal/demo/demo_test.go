package demo_test

import (
	"context"
	"testing"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
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
	city := demo.City{DB: d, Auth: a, Policies: pol, Registry: registry.New(d, a, pol), Keys: ks, Cards: card.New(d, pol, ks), Contrib: contrib.New(d, pol), Now: d.Now}
	logins, err := demo.Load(ctx, city)
	if err != nil {
		t.Fatal(err)
	}
	if len(logins) != len(auth.Roles)+3 {
		t.Fatalf("%d logins; want one per role and a second custodian", len(logins))
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

	// Load did the last three months; History the rest, as serve --demo does in the background.
	if err := demo.History(ctx, city); err != nil {
		t.Fatal(err)
	}
	if err := demo.History(ctx, city); err != nil { // resumable: a second pass changes nothing
		t.Fatal(err)
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
