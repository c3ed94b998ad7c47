package policy_test

import (
	"context"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
)

func defaultBody(t testing.TB, from period.Month) []byte {
	t.Helper()
	_, b, err := policy.Default("330100", from)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDefaultParses(t *testing.T) {
	p, err := policy.Parse(defaultBody(t, 202601))
	if err != nil {
		t.Fatal(err)
	}
	c, ok := p.Category("employee")
	if !ok || len(c.Insurances) != 5 || c.InsuredBy != policy.ByEmployer {
		t.Fatalf("employee category = %+v", c)
	}
	local, nonLocal := c.Required(true), c.Required(false)
	has := func(ms []policy.Material, code string) bool {
		for _, m := range ms {
			if m.Code == code {
				return true
			}
		}
		return false
	}
	if !has(local, "hukou_book") || has(local, "residence_permit") || has(nonLocal, "hukou_book") || !has(nonLocal, "residence_permit") {
		t.Fatalf("checklists: local %v, non-local %v", local, nonLocal)
	}
	for _, code := range []string{"flexible_worker", "part_time_worker", "individual_household"} {
		c, ok := p.Category(code)
		if !ok || c.InsuredBy != policy.BySelf || len(c.Insurances) != 2 {
			t.Fatalf("%s = %+v", code, c)
		}
	}
}

func TestParseRejects(t *testing.T) {
	good := string(defaultBody(t, 202601))
	cases := map[string]struct{ body, field string }{
		"not JSON":      {`{"region":`, "policy"},
		"unknown field": {strings.Replace(good, `"name":`, `"nmae": "x", "name":`, 1), "nmae"},
		"bad region":    {strings.Replace(good, `"region": "330100"`, `"region": "33"`, 1), "region"},
		"bad month":     {strings.Replace(good, `"effective_from": "202601"`, `"effective_from": "202613"`, 1), "effective_from"},
		"wrong type":    {strings.Replace(good, `"max_bytes": 5242880`, `"max_bytes": "big"`, 1), "uploads.max_bytes"},
		"bad insurance": {strings.Replace(good, `"insurances": [
        "pension",
        "medical"
      ]`, `"insurances": ["pension", "dental"]`, 1), "enrolment_categories[1].insurances[1]"},
		"bad when":        {strings.Replace(good, `"when": "always"`, `"when": "sometimes"`, 1), "enrolment_categories[0].materials[0].when"},
		"duplicate code":  {strings.Replace(good, `"code": "part_time_worker"`, `"code": "flexible_worker"`, 1), "enrolment_categories[2].code"},
		"trailing data":   {good + "{}", "policy"},
		"bad upload type": {strings.Replace(good, `"png"`, `"gif"`, 1), "uploads.types"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := policy.Parse([]byte(c.body))
			e, ok := errs.As(err)
			if !ok || e.Code != errs.Invalid {
				t.Fatalf("err = %v; want invalid", err)
			}
			if _, ok := e.Fields[c.field]; !ok {
				t.Fatalf("fields %v do not name %q", e.Fields, c.field)
			}
		})
	}
}

func principal(name string, role auth.Role) *auth.Principal {
	return &auth.Principal{User: auth.User{Username: name, Role: role, Regions: []string{"330100"}}}
}

func TestProposeApproveEffective(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := policy.NewStore(d)
		admin, rev, rev2 := principal("adm", auth.Admin), principal("rev", auth.Reviewer), principal("adm", auth.Reviewer)
		if _, err := s.Effective(ctx, d.R(), "330100", 202611); !errs.Is(err, errs.Unavailable) {
			t.Fatalf("no policy yet: %v", err)
		}
		v1, err := s.Propose(ctx, admin, admin.Actor(), defaultBody(t, 202601))
		if err != nil || v1.Status != policy.Pending {
			t.Fatalf("propose: %+v %v", v1, err)
		}
		// Pending versions are not in force.
		if _, err := s.Effective(ctx, d.R(), "330100", 202611); !errs.Is(err, errs.Unavailable) {
			t.Fatalf("pending in force: %v", err)
		}
		// A clerk may not review; the proposer (same username, even with a reviewer role) may not either.
		if _, err := s.Approve(ctx, principal("clk", auth.Clerk), v1.ID); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("clerk approve: %v", err)
		}
		if _, err := s.Approve(ctx, rev2, v1.ID); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("proposer approve: %v", err)
		}
		if _, err := s.Approve(ctx, rev, v1.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Approve(ctx, rev, v1.ID); !errs.Is(err, errs.Conflict) {
			t.Fatalf("approve twice: %v", err)
		}
		v, err := s.Effective(ctx, d.R(), "330100", 202611)
		if err != nil || v.ID != v1.ID || v.Policy == nil {
			t.Fatalf("effective = %+v, %v", v, err)
		}
		if _, err := s.Effective(ctx, d.R(), "330100", 202512); !errs.Is(err, errs.Unavailable) {
			t.Fatalf("before effective_from: %v", err)
		}
		// A later version takes over from its month; the earlier one still governs earlier months.
		v2, _ := s.Propose(ctx, admin, admin.Actor(), defaultBody(t, 202607))
		if _, err := s.Reject(ctx, rev, v2.ID, ""); !errs.Is(err, errs.Invalid) {
			t.Fatalf("reject without reason: %v", err)
		}
		if _, err := s.Approve(ctx, rev, v2.ID); err != nil {
			t.Fatal(err)
		}
		if v, _ := s.Effective(ctx, d.R(), "330100", 202606); v.ID != v1.ID {
			t.Fatalf("202606 governed by %d; want %d", v.ID, v1.ID)
		}
		if v, _ := s.Effective(ctx, d.R(), "330100", 202607); v.ID != v2.ID {
			t.Fatalf("202607 governed by %d; want %d", v.ID, v2.ID)
		}
		v3, _ := s.Propose(ctx, admin, admin.Actor(), defaultBody(t, 202608))
		if r, err := s.Reject(ctx, rev, v3.ID, "wrong rates"); err != nil || r.Status != policy.Rejected {
			t.Fatalf("reject: %+v %v", r, err)
		}
		if v, _ := s.Effective(ctx, d.R(), "330100", 202612); v.ID != v2.ID {
			t.Fatalf("rejected version in force")
		}
		// Another region's admin cannot propose for this region.
		other := &auth.Principal{User: auth.User{Username: "adm2", Role: auth.Admin, Regions: []string{"110100"}}}
		if _, err := s.Propose(ctx, other, other.Actor(), defaultBody(t, 202601)); !errs.Is(err, errs.Invalid) {
			t.Fatalf("foreign region: %v", err)
		}
		if _, err := audit.Verify(ctx, d, nil); err != nil {
			t.Fatal(err)
		}
		es, _ := audit.List(ctx, d.R(), audit.Query{})
		if len(es) != 6 {
			t.Fatalf("%d audit entries; want 6 (3 proposals, 2 approvals, 1 rejection)", len(es))
		}
	})
}

func FuzzParse(f *testing.F) {
	_, good, err := policy.Default("330100", 202601)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"region":"330100","enrolment_categories":[{"code":"x"}]}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := policy.Parse(b)
		if err != nil {
			if _, ok := errs.As(err); !ok {
				t.Fatalf("Parse error is not an *errs.Error: %v", err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("parsed policy does not validate: %v", err)
		}
	})
}

// TestMedicalSection: the medical section is optional (versions from before settlement parse and
// settle nothing), and when present every field is checked with its path.
func TestMedicalSection(t *testing.T) {
	p, b, err := policy.Default("330100", 202601)
	if err != nil {
		t.Fatal(err)
	}
	m, ok := p.Medical()
	if !ok || m.OutDeductible != 120000 || m.InRatio[3] != 850000 || m.CardMaxDay != 100000 || len(m.CardKinds) != 2 {
		t.Fatalf("Medical() = %+v, %v", m, ok)
	}
	without := *p
	without.MedicalRules = nil
	if err := without.Validate(); err != nil {
		t.Fatalf("a version without a medical section: %v", err)
	}
	if _, ok := without.Medical(); ok {
		t.Fatal("a version without a medical section settles")
	}
	bad := strings.Replace(string(b), `"b_first_self_pay": "10"`, `"b_first_self_pay": "ten"`, 1)
	bad = strings.Replace(bad, `"3": "85"`, `"4": "85"`, 1)
	bad = strings.Replace(bad, `"max_per_day": "1000"`, `"max_per_day": "1,000"`, 1)
	bad = strings.Replace(bad, `"kinds": [`+"\n"+`        "outpatient"`, `"kinds": [`+"\n"+`        "dental"`, 1)
	_, err = policy.Parse([]byte(bad))
	for _, field := range []string{"medical.b_first_self_pay", "medical.inpatient.ratio.3", "medical.inpatient.ratio.4", "medical.medical_card.max_per_day", "medical.medical_card.kinds[0]"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("the broken medical section: %v; want %s named", err, field)
		}
	}
}
