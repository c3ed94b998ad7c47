package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
)

// The demo city is a fictional pooling region with one user per role. Its users are marked demo
// and share one published password, so the server refuses to start on a database that holds them
// unless --demo is given again.

// DemoRegion is the demo city's pooling region (Hangzhou's code, used for realistic ID numbers).
const DemoRegion = "330100"

// DemoPassword is the password of every demo user. It is published in README.md on purpose.
const DemoPassword = "demo-shebao-2026"

type demoLogin struct {
	Username string
	Role     auth.Role
}

var demoNames = map[auth.Role]string{
	auth.Resident: "张三", auth.Employer: "示范科技有限公司 人事部", auth.Clerk: "李窗口", auth.Reviewer: "王审核",
	auth.CardOfficer: "赵制卡", auth.Bank: "示范银行", auth.Institution: "示范市第一人民医院", auth.Custodian: "钱保管",
	auth.Auditor: "孙审计", auth.Admin: "周管理",
}

// loadDemo creates whatever part of the demo city is missing and returns the demo logins.
func loadDemo(ctx context.Context, d *db.DB, a *auth.Service) ([]demoLogin, error) {
	var logins []demoLogin
	for _, r := range auth.Roles {
		name := "demo-" + strings.ReplaceAll(string(r), "_", "-")
		_, _, err := a.CreateUser(ctx, nil, audit.System, auth.NewUser{
			Username: name, DisplayName: demoNames[r], Role: r, Regions: []string{DemoRegion}, Password: DemoPassword, Demo: true,
		})
		if err != nil && !errs.Is(err, errs.Conflict) {
			return nil, err
		}
		logins = append(logins, demoLogin{Username: name, Role: r})
	}
	return logins, nil
}

func demoUsers(ctx context.Context, d *db.DB) (int, error) {
	var n int
	if err := d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE demo").Scan(&n); err != nil {
		return 0, fmt.Errorf("count demo users: %w", err)
	}
	return n, nil
}

func printDemoLogins(w io.Writer, addr string, logins []demoLogin) {
	fmt.Fprintf(w, "\nshebao demo city (region %s) — open http://%s/ and log in as any of:\n\n", DemoRegion, addr)
	fmt.Fprintf(w, "  %-20s %-14s %s\n", "username", "role", "password")
	for _, l := range logins {
		fmt.Fprintf(w, "  %-20s %-14s %s\n", l.Username, l.Role, DemoPassword)
	}
	fmt.Fprintln(w)
}
