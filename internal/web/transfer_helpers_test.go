package web

import (
	"context"
	"fmt"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
	"github.com/shebao/shebao/internal/transfer"
)

// nextRegion is the region the transfer routes move persons from and to.
const nextRegion = "330200"

// otherStaff is a member of the other region's staff, as a principal (no login).
func otherStaff(name string, role auth.Role) *auth.Principal {
	return &auth.Principal{User: auth.User{Username: name, Role: role, Regions: []string{nextRegion}}}
}

// serveOtherRegion gives the other region its policy, once.
func (e *testEnv) serveOtherRegion() {
	e.t.Helper()
	regions, err := e.pol.Regions(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	for _, r := range regions {
		if r == nextRegion {
			return
		}
	}
	p, _, err := policy.Default(nextRegion, 202001)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.pol.Install(context.Background(), audit.System, p); err != nil {
		e.t.Fatal(err)
	}
}

// personElsewhere registers a person in the other region and returns their ID number.
func (e *testEnv) personElsewhere() string {
	e.t.Helper()
	e.serveOtherRegion()
	id := e.newID()
	if _, err := e.reg.RegisterPerson(context.Background(), otherStaff("clerk-other", auth.Clerk), registry.NewPerson{IDNumber: id, Name: "外地人员",
		Hukou: "local", Phone: fmt.Sprintf("139%08d", e.seq.Add(1))}); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// transferIn is a transfer into the test region of a person of the other region, applied for by
// the employer's HR and waiting for the test region's clerk.
func (e *testEnv) transferIn() string {
	e.t.Helper()
	hr := &auth.Principal{User: auth.User{Username: "hr-transfer", Role: auth.Employer, Regions: []string{testRegion}, EmployerID: e.employerID()}}
	t, err := e.srv.Transfers.Apply(context.Background(), hr, transfer.NewTransfer{IDNumber: e.personElsewhere()})
	if err != nil {
		e.t.Fatal(err)
	}
	return t.No
}

// transferOut is a transfer of a person of the test region to the other region, accepted there and
// computed here: waiting for the test region's reviewer.
func (e *testEnv) transferOut() string {
	e.t.Helper()
	e.serveOtherRegion()
	ctx := context.Background()
	t, err := e.srv.Transfers.Apply(ctx, otherStaff("clerk-other", auth.Clerk), transfer.NewTransfer{IDNumber: e.newPerson()})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.srv.Transfers.Accept(ctx, otherStaff("clerk-other-2", auth.Clerk), t.No); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.srv.Transfers.Deliver(ctx); err != nil {
		e.t.Fatal(err)
	}
	return t.No
}

func (e *testEnv) employerID() int64 {
	e.t.Helper()
	var id int64
	if err := e.db.R().QueryRowContext(context.Background(), "SELECT id FROM employers WHERE uscc = $1", e.employerUSCC).Scan(&id); err != nil {
		e.t.Fatal(err)
	}
	return id
}
