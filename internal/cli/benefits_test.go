package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
)

// TestBenefitsRunCommand: `shebao benefits run` pays an approved claim's month to the person's
// card and says so; run again it pays nothing; a bad or future month, or no subcommand, exits
// non-zero with the reason.
func TestBenefitsRunCommand(t *testing.T) {
	eachDB(t, func(t *testing.T, dbArgs []string, open func() *db.DB) {
		ctx := context.Background()
		if code, _, errOut := run(t, nil, "", append([]string{"migrate"}, dbArgs...)...); code != 0 {
			t.Fatalf("migrate: %s", errOut)
		}
		d := open()
		const region = "330100"
		month := period.MonthOf(d.Now())
		p, _, err := policy.Default(region, 202001)
		if err != nil {
			t.Fatal(err)
		}
		pol := policy.NewStore(d)
		if _, err := pol.Install(ctx, audit.System, p); err != nil {
			t.Fatal(err)
		}
		clerk := &auth.Principal{User: auth.User{Username: "clerk", Role: auth.Clerk, Roles: []auth.Role{auth.Clerk}, Regions: []string{region}}}
		const id = "33010619850101001X"
		person, err := registry.New(d, auth.New(d, auth.Options{}), pol).RegisterPerson(ctx, clerk, registry.NewPerson{IDNumber: id, Name: "失业人员", Hukou: "local",
			Phone: "13900000001"})
		if err != nil {
			t.Fatal(err)
		}
		// An approved claim starting this month, and the person's card with its bank function, as
		// the window and the card's lifecycle would leave them (the benefit package tests how).
		if err := d.Write(ctx, func(tx *db.Tx) error {
			now := db.FormatTime(tx.Now)
			if _, err := tx.ExecContext(ctx, `INSERT INTO unemployment_claims(region, id, person_id, registered_on, last_employer_id, removal_month, removal_reason,
				contribution_months, entitled_months, carried_over_months, total_months, monthly_amount, start_month, status, prepared_by, prepared_at,
				approved_by, approved_at) VALUES($1, 1, $2, $3, 1, $4, 'dismissed', 15, 12, 0, 12, 201600, $5, 'approved', 'clerk', $6, 'reviewer', $6)`,
				region, person.ID, month.First().Format("2006-01-02"), int(month.Add(-1)), int(month), now); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO cards(region, person_id, kind, application_no, state, channel, applied_by, applied_at, state_at,
				card_number, card_id, valid_until, bank_account, bank_activated_at) VALUES($1, $2, 'social_security', 'APP1', 'active', 'window', 'test', $3, $3,
				'C00000001', $4, $5, '6222000011112222', $3)`, region, person.ID, now, region+"D156000005999990000000001", db.FormatTime(tx.Now.AddDate(10, 0, 0)))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		args := func(a ...string) []string { return append(append([]string{"benefits", "run"}, a...), dbArgs...) }
		code, out, errOut := run(t, nil, "", args("--month", month.String(), "--region", region)...)
		if code != 0 || !strings.Contains(out, region+" "+month.String()+": 1 claims looked at; 1 months paid (2016.00 yuan") {
			t.Fatalf("run: %d %q %q", code, out, errOut)
		}
		code, out, errOut = run(t, nil, "", args("--month", month.String())...)
		if code != 0 || !strings.Contains(out, "0 months paid") {
			t.Fatalf("run again: %d %q %q", code, out, errOut)
		}
		var paid int
		if err := d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM benefit_payments WHERE status = 'paid'").Scan(&paid); err != nil || paid != 1 {
			t.Fatalf("months paid: %d %v", paid, err)
		}
		for _, tc := range []struct {
			args []string
			code int
			says string
		}{
			{args("--month", "2026-13"), 2, "--month"},
			{args("--month", month.Add(1).String(), "--region", region), 1, "has begun"},
			{append([]string{"benefits"}, dbArgs...), 2, "benefits run --month"},
		} {
			if code, _, errOut := run(t, nil, "", tc.args...); code != tc.code || !strings.Contains(errOut, tc.says) {
				t.Errorf("%v: exit %d %q; want %d saying %q", tc.args, code, errOut, tc.code, tc.says)
			}
		}
	})
}
