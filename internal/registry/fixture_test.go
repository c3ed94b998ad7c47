package registry_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
	"github.com/shebao/shebao/internal/sheet"
)

const region = "330100"

// now is the fixed business time of every registry test: 15 November 2026, Shanghai.
var now = time.Date(2026, 11, 15, 2, 0, 0, 0, time.UTC)

type fixture struct {
	t        *testing.T
	d        *db.DB
	auth     *auth.Service
	pol      *policy.Store
	reg      *registry.Service
	clerk    *auth.Principal // also a reviewer: separation of duties is per user
	reviewer *auth.Principal
	other    *auth.Principal // a clerk of another region
}

func newFixture(t *testing.T, d *db.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{t: t, d: d, auth: auth.New(d, auth.Options{Now: d.Now}), pol: policy.NewStore(d)}
	f.reg = registry.New(d, f.auth, f.pol)
	p, _, err := policy.Default(region, 202001)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.pol.Install(ctx, audit.System, p); err != nil {
		t.Fatal(err)
	}
	f.clerk = f.user("li", auth.Clerk, region, auth.Reviewer)
	f.reviewer = f.user("wang", auth.Reviewer, region)
	f.other = f.user("zhao", auth.Clerk, "110100")
	return f
}

// user creates a login and returns it as a principal.
func (f *fixture) user(name string, role auth.Role, reg string, also ...auth.Role) *auth.Principal {
	f.t.Helper()
	u, _, err := f.auth.CreateUser(context.Background(), nil, audit.System, auth.NewUser{Username: name, Role: role, Also: also,
		Regions: []string{reg}, Password: "a long test password"})
	if err != nil {
		f.t.Fatal(err)
	}
	return f.principal(u.Username)
}

func (f *fixture) principal(username string) *auth.Principal {
	f.t.Helper()
	u, err := f.auth.UserByName(context.Background(), username)
	if err != nil {
		f.t.Fatal(err)
	}
	return &auth.Principal{User: u}
}

// employer registers an employer and returns it with an HR operator principal.
func (f *fixture) employer(n int) (registry.Employer, *auth.Principal) {
	f.t.Helper()
	ctx := context.Background()
	uscc := usccFor(n)
	e, err := f.reg.RegisterEmployer(ctx, f.clerk, registry.NewEmployer{USCC: uscc, Name: fmt.Sprintf("示范企业%d有限公司", n),
		LegalRep: "赵六", RiskClass: 1 + n%8})
	if err != nil {
		f.t.Fatal(err)
	}
	u, err := f.reg.CreateOperatorLogin(ctx, f.clerk, uscc, fmt.Sprintf("hr%d", n), "人事", "13900009999")
	if err != nil {
		f.t.Fatal(err)
	}
	return e, f.principal(u.Username)
}

func usccFor(n int) string {
	u, err := ident.MakeUSCC(fmt.Sprintf("91330100%09d", n))
	if err != nil {
		panic(err)
	}
	return string(u)
}

// idFor makes the n-th valid ID number: born in Hangzhou between 1970 and 1999.
func idFor(n int) string {
	birth := time.Date(1970+n%30, time.Month(1+n%12), 1+n%28, 0, 0, 0, 0, time.UTC)
	id, err := ident.MakeIDNumber(fmt.Sprintf("330106%s%03d", birth.Format("20060102"), n%1000))
	if err != nil {
		panic(err)
	}
	return string(id)
}

func withDB(t *testing.T, fn func(t *testing.T, f *fixture)) {
	clock := dbtest.NewClock(now)
	dbtest.EachWith(t, dbtest.Options{Now: clock.Now}, func(t *testing.T, d *db.DB) { fn(t, newFixture(t, d)) })
}

// staffFile writes an XLSX staff file.
func staffFile(t *testing.T, rows [][]string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := sheet.WriteXLSX(&b, "staff", registry.StaffHeader(), rows); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func addRow(id, name, base string, m period.Month) []string {
	return []string{"增员", id, name, base, m.String(), "", "", "", "汉族", "", ""}
}

var ctx = context.Background()
