package demo

import (
	"context"
	"fmt"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
	"github.com/shebao/shebao/internal/transfer"
)

// leftForWork is the removal reason (减员) of the employees who move to Ningbo.
const leftForWork = "resigned"

// SecondRegion is the demo's second pooling region, Ningbo's, served by the same installation: the
// region people move to and from (转移接续).
const SecondRegion = "330200"

// secondLogins are Ningbo's staff: its window clerk accepts transfers into Ningbo, its reviewer
// decides transfers out of it.
var secondLogins = []Login{
	{Username: "demo-clerk-nb", Role: auth.Clerk, Note: "Ningbo's (330200) window: accepts transfers into Ningbo"},
	{Username: "demo-reviewer-nb", Role: auth.Reviewer, Note: "Ningbo's (330200) reviewer"},
}

var secondNames = map[string]string{"demo-clerk-nb": "陈窗口（宁波）", "demo-reviewer-nb": "林审核（宁波）"}

// secondRegion gives Ningbo its policy (the default's rules under its own version: the demo has no
// Ningbo figures of its own), an outlet and its staff. It does each part once, so a demo built
// before it gets it too.
func (c City) secondRegion(ctx context.Context) ([]Login, error) {
	regions, err := c.Policies.Regions(ctx)
	if err != nil {
		return nil, err
	}
	served := false
	for _, r := range regions {
		served = served || r == SecondRegion
	}
	if !served {
		p, _, err := policy.Default(SecondRegion, period.MonthOf(c.Now()).Add(-36))
		if err != nil {
			return nil, err
		}
		if _, err := c.Policies.Install(ctx, audit.System, p); err != nil {
			return nil, fmt.Errorf("demo: Ningbo's policy: %w", err)
		}
	}
	for i, x := range secondLogins {
		_, _, err := c.Auth.CreateUser(ctx, nil, audit.System, auth.NewUser{Username: x.Username, DisplayName: secondNames[x.Username], Role: x.Role,
			Regions: []string{SecondRegion}, Password: Password, Demo: true, Phone: fmt.Sprintf("139000001%02d", i+1)})
		if err != nil && !errs.Is(err, errs.Conflict) {
			return nil, fmt.Errorf("demo: user %s: %w", x.Username, err)
		}
	}
	var outlets int
	if err := c.DB.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM outlets WHERE region = $1", SecondRegion).Scan(&outlets); err != nil {
		return nil, err
	}
	if c.Cards != nil && outlets == 0 {
		admin := &auth.Principal{User: auth.User{Username: "demo-admin", Role: auth.Admin, Regions: []string{SecondRegion}}}
		_, err := c.Cards.AddOutlet(ctx, admin, card.Outlet{Code: "HS-01", Region: SecondRegion, Name: "海曙区社会保障卡服务网点", Address: "宁波市海曙区中山西路100号"})
		if err != nil {
			return nil, fmt.Errorf("demo: Ningbo's outlet: %w", err)
		}
	}
	return secondLogins, nil
}

// Transfers has two employees of the city's second employer leave it for work in Ningbo, once the
// history is paid (History calls it last, so that their accounts in Hangzhou hold their whole
// history when they go): one transfer done, one waiting for Hangzhou's reviewer.
func (c City) transfers(ctx context.Context) error {
	var started int
	if err := c.DB.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM transfers_in WHERE region = $1", SecondRegion).Scan(&started); err != nil {
		return err
	}
	if started > 0 {
		return nil
	}
	// Two employees of the second employer leave it this month for work in Ningbo.
	var employerID int64
	var uscc string
	if err := c.DB.R().QueryRowContext(ctx, "SELECT id, uscc FROM employers WHERE region = $1 ORDER BY id LIMIT 1 OFFSET 1", Region).Scan(&employerID, &uscc); err != nil {
		return fmt.Errorf("demo: an employer to leave: %w", err)
	}
	hr := &auth.Principal{User: auth.User{Username: "demo-hr-" + uscc, Role: auth.Employer, Regions: []string{Region}, EmployerID: employerID}}
	list, _, err := c.Registry.Staff(ctx, hr, uscc, false, 2, registry.StaffKey{})
	if err != nil || len(list) < 2 {
		return fmt.Errorf("demo: staff to leave: %d, %v", len(list), err)
	}
	clerk := &auth.Principal{User: auth.User{Username: "demo-clerk-nb", Role: auth.Clerk, Regions: []string{SecondRegion}}}
	reviewer, err := c.principal(ctx, username(auth.Reviewer))
	if err != nil {
		return err
	}
	svc := transfer.New(c.DB)
	today := period.Today(c.Now()).Format("2006-01-02")
	// Hangzhou approves a transfer only once the months billed for the person are paid (先补缴后
	// 转移): the employer settles its open bills, this month's too, before its leavers go.
	bank, err := c.principal(ctx, username(auth.Bank))
	if err != nil {
		return err
	}
	if err := c.settleEarly(ctx, bank, contrib.EmployerPayer(employerID), today); err != nil {
		return fmt.Errorf("demo: the leavers' employer settles its bills: %w", err)
	}
	for i, m := range list {
		if err := c.Registry.ChangeStaff(ctx, hr, uscc, registry.StaffChange{Op: registry.OpRemove, IDNumber: string(m.Person.IDNumber),
			EndDate: today, Reason: leftForWork}); err != nil {
			return fmt.Errorf("demo: 减员 before the transfer: %w", err)
		}
		t, err := svc.Apply(ctx, clerk, transfer.NewTransfer{IDNumber: string(m.Person.IDNumber)})
		if err != nil {
			return fmt.Errorf("demo: transfer application: %w", err)
		}
		// The window's clerk applied for the person; another of Ningbo's staff accepts.
		accepter := &auth.Principal{User: auth.User{Username: "demo-reviewer-nb", Role: auth.Clerk, Regions: []string{SecondRegion}}}
		if _, err := svc.Accept(ctx, accepter, t.No); err != nil {
			return fmt.Errorf("demo: accept the transfer: %w", err)
		}
		if _, err := svc.Deliver(ctx); err != nil {
			return err
		}
		if i == 0 {
			if _, err := svc.Approve(ctx, reviewer, t.No); err != nil {
				return fmt.Errorf("demo: approve the transfer: %w", err)
			}
			if _, err := svc.Deliver(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// settleEarly has the bank report every open bill of payer paid today, due or not, under the keys
// the history pays by, so a bill is paid once whichever comes first.
func (c City) settleEarly(ctx context.Context, bank *auth.Principal, payer, today string) error {
	type bill struct {
		id, month, owing int64
	}
	var bills []bill
	if err := db.EachRow(ctx, c.DB.R(), func(scan func(...any) error) error {
		var b bill
		err := scan(&b.id, &b.month, &b.owing)
		bills = append(bills, b)
		return err
	}, "SELECT id, month, total - paid FROM bills WHERE region = $1 AND payer = $2 AND paid < total ORDER BY month, supplement", Region, payer); err != nil {
		return err
	}
	for _, b := range bills {
		if _, err := c.Contrib.RecordPayment(ctx, bank, contrib.NewPayment{IdemKey: fmt.Sprintf("DEMO-%s-%d", period.Month(b.month), b.id),
			Payer: payer, Amount: money.Fen(b.owing).String(), PaidOn: today}); err != nil {
			return err
		}
	}
	return nil
}
