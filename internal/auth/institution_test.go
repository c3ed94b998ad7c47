package auth_test

import (
	"testing"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/errs"
)

// TestLinkInstitution: an institution login without an institution is linked once and audited;
// linking it again to the same code changes nothing, to another is refused, and only institution
// logins are linked.
func TestLinkInstitution(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		op := e.create(t, "hospital-op", auth.Institution, "330100")
		clerk := e.create(t, "window-clerk", auth.Clerk, "330100")
		count := func() int {
			var n int
			if err := e.d.R().QueryRowContext(e.ctx, "SELECT COUNT(*) FROM audit_log WHERE action = 'user.link_institution'").Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if err := e.svc.LinkInstitution(e.ctx, cli, op.Username, "H33010000001"); err != nil {
			t.Fatal(err)
		}
		u, err := e.svc.UserByName(e.ctx, op.Username)
		if err != nil || u.InstitutionCode != "H33010000001" {
			t.Fatalf("after linking: %+v, %v", u, err)
		}
		if err := e.svc.LinkInstitution(e.ctx, cli, op.Username, "H33010000001"); err != nil || count() != 1 {
			t.Fatalf("linking again to the same institution: %v, %d audit entries", err, count())
		}
		if err := e.svc.LinkInstitution(e.ctx, cli, op.Username, "P33010000003"); !errs.Is(err, errs.Conflict) {
			t.Fatalf("moving an operator to another institution: %v", err)
		}
		if err := e.svc.LinkInstitution(e.ctx, cli, clerk.Username, "H33010000001"); !errs.Is(err, errs.Invalid) {
			t.Fatalf("linking a clerk: %v", err)
		}
		if err := e.svc.LinkInstitution(e.ctx, cli, "nobody", "H33010000001"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("linking no one: %v", err)
		}
		if u, _ := e.svc.UserByName(e.ctx, op.Username); u.InstitutionCode != "H33010000001" || count() != 1 {
			t.Fatalf("after the refusals: %q, %d audit entries", u.InstitutionCode, count())
		}
	})
}
