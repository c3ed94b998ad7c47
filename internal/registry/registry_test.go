package registry_test

import (
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
)

func wantField(t *testing.T, err error, code errs.Code, field string) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Code != code {
		t.Fatalf("err = %v; want %s", err, code)
	}
	if field != "" {
		if _, ok := e.Fields[field]; !ok {
			t.Fatalf("fields %v do not name %q", e.Fields, field)
		}
	}
}

func TestRegisterPerson(t *testing.T) {
	withDB(t, func(t *testing.T, f *fixture) {
		p, err := f.reg.RegisterPerson(ctx, f.clerk, registry.NewPerson{IDNumber: "11010519491231002x", Name: "王芳", Hukou: "non_local",
			ResidencePermit: "JZ330100-1234", Phone: "13800000000"})
		if err != nil {
			t.Fatal(err)
		}
		if p.IDNumber != "11010519491231002X" || p.Gender != ident.Female || p.BirthDate.Format("2006-01-02") != "1949-12-31" {
			t.Fatalf("derived fields wrong: %+v", p)
		}
		_, err = f.reg.RegisterPerson(ctx, f.clerk, registry.NewPerson{IDNumber: "11010519491231002X", Name: "王芳", Hukou: "local"})
		wantField(t, err, errs.Conflict, "id_number")
		for name, in := range map[string]registry.NewPerson{
			"bad check char":  {IDNumber: "110105194912310021", Name: "A", Hukou: "local"},
			"impossible date": {IDNumber: "110105199902300021", Name: "A", Hukou: "local"},
			"future birth":    {IDNumber: "110105209912310021", Name: "A", Hukou: "local"},
			"short":           {IDNumber: "1101051949", Name: "A", Hukou: "local"},
			"letters":         {IDNumber: "11010519491231ABCD", Name: "A", Hukou: "local"},
		} {
			_, err := f.reg.RegisterPerson(ctx, f.clerk, in)
			if e, ok := errs.As(err); !ok || e.Code != errs.Invalid || e.Fields["id_number"] == "" {
				t.Errorf("%s: err = %v; want invalid id_number", name, err)
			}
		}
		_, err = f.reg.RegisterPerson(ctx, f.clerk, registry.NewPerson{IDNumber: idFor(1), Name: "", Hukou: "mars", Phone: "12"})
		e, _ := errs.As(err)
		for _, field := range []string{"name", "hukou_type", "phone"} {
			if e == nil || e.Fields[field] == "" {
				t.Errorf("no problem reported for %s: %v", field, err)
			}
		}
		_, err = f.reg.RegisterPerson(ctx, f.clerk, registry.NewPerson{IDNumber: idFor(2), Name: "李四", Hukou: "non_local"})
		wantField(t, err, errs.Invalid, "residence_permit")
		// A person without a Chinese identity document gets a marked, system-assigned number.
		a, err := f.reg.RegisterPerson(ctx, f.clerk, registry.NewPerson{AssignNumber: true, BirthDate: "1985-06-01", Gender: "male",
			Name: "John Smith", Hukou: "non_local", ResidencePermit: "P1234567"})
		if err != nil || a.IDNumber.Kind() != ident.SystemAssigned || a.Gender != ident.Male {
			t.Fatalf("assigned: %+v %v", a, err)
		}
		b, err := f.reg.RegisterPerson(ctx, f.clerk, registry.NewPerson{AssignNumber: true, BirthDate: "1985-06-01", Gender: "male",
			Name: "Jim Smith", Hukou: "non_local", ResidencePermit: "P7654321"})
		if err != nil || b.IDNumber == a.IDNumber {
			t.Fatalf("second assigned number %v equals the first, %v", b.IDNumber, err)
		}
		// Only clerks register; a clerk of another region does not see the person.
		if _, err := f.reg.RegisterPerson(ctx, f.reviewer, registry.NewPerson{IDNumber: idFor(3), Name: "A", Hukou: "local"}); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("reviewer registers: %v", err)
		}
		if _, err := f.reg.Person(ctx, f.other, "11010519491231002X"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("other region reads: %v", err)
		}
	})
}

// TestNamesRefuseFormulasAndControls: a name that would start a formula in a spreadsheet, or that
// holds a character no typed name holds, is refused naming the field; names as ID cards and
// passports write them pass.
func TestNamesRefuseFormulasAndControls(t *testing.T) {
	withDB(t, func(t *testing.T, f *fixture) {
		for i, c := range []struct{ name, problem string }{
			{`=cmd|' /C calc'!A0`, "must not start with = + - or @"},
			{"+1+1", "must not start with = + - or @"},
			{"-张三", "must not start with = + - or @"},
			{"@SUM(A1)", "must not start with = + - or @"},
			{"＝1+1", "must not start with = + - or @"},
			{" =1+1", "must not start with = + - or @"}, // trimmed first
			{"张\x1b[31m三", "must not contain control characters"},
			{"张三\x00", "must not contain control characters"},
			{"张三\u202e", "must not contain control characters"},
			{"张\u0085三", "must not contain control characters"},
			{"张\t三", "must be one line"},
		} {
			_, err := f.reg.RegisterPerson(ctx, f.clerk, registry.NewPerson{IDNumber: idFor(40 + i), Name: c.name, Hukou: "local"})
			if e, ok := errs.As(err); !ok || e.Code != errs.Invalid || e.Fields["name"] != c.problem {
				t.Errorf("name %q: err = %v; want name: %s", c.name, err, c.problem)
			}
		}
		_, err := f.reg.RegisterEmployer(ctx, f.clerk, registry.NewEmployer{USCC: usccFor(40), Name: "示范公司", LegalRep: "=1+1", RiskClass: 1})
		wantField(t, err, errs.Invalid, "legal_rep")
		for i, name := range []string{"阿卜杜·热合曼", "Anne-Marie O'Brien", "Zoë d'Arc", "欧阳=娜娜"} {
			if _, err := f.reg.RegisterPerson(ctx, f.clerk, registry.NewPerson{IDNumber: idFor(60 + i), Name: name, Hukou: "local"}); err != nil {
				t.Errorf("name %q refused: %v", name, err)
			}
		}
	})
}

func TestRegisterEmployer(t *testing.T) {
	withDB(t, func(t *testing.T, f *fixture) {
		e, err := f.reg.RegisterEmployer(ctx, f.clerk, registry.NewEmployer{USCC: "91110000600037341l", Name: "示范公司", LegalRep: "赵", RiskClass: 3})
		if err != nil || e.USCC != "91110000600037341L" {
			t.Fatalf("%+v %v", e, err)
		}
		_, err = f.reg.RegisterEmployer(ctx, f.clerk, registry.NewEmployer{USCC: "91110000600037341L", Name: "示范公司", LegalRep: "赵", RiskClass: 3})
		wantField(t, err, errs.Conflict, "uscc")
		for name, in := range map[string]registry.NewEmployer{
			"bad check": {USCC: "91110000600037341M", Name: "x", LegalRep: "y", RiskClass: 1},
			"bad char":  {USCC: "9111000060003734IL", Name: "x", LegalRep: "y", RiskClass: 1},
			"short":     {USCC: "911100006", Name: "x", LegalRep: "y", RiskClass: 1},
		} {
			_, err := f.reg.RegisterEmployer(ctx, f.clerk, in)
			wantField(t, err, errs.Invalid, "uscc")
			_ = name
		}
		_, err = f.reg.RegisterEmployer(ctx, f.clerk, registry.NewEmployer{USCC: usccFor(9), Name: "x", LegalRep: "y", RiskClass: 9})
		wantField(t, err, errs.Invalid, "risk_class")
		_, err = f.reg.RegisterEmployer(ctx, f.clerk, registry.NewEmployer{USCC: usccFor(9), Name: "", LegalRep: "", RiskClass: 0, BankAccount: "12ab"})
		e2, _ := errs.As(err)
		for _, field := range []string{"name", "legal_rep", "risk_class", "bank_account"} {
			if e2 == nil || e2.Fields[field] == "" {
				t.Errorf("no problem for %s: %v", field, err)
			}
		}
	})
}

var (
	pdf = []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
	png = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	gif = []byte("GIF89a\x01\x00\x01\x00")
)

func TestEnrolmentChecklistAndReview(t *testing.T) {
	withDB(t, func(t *testing.T, f *fixture) {
		id := idFor(10)
		if _, err := f.reg.RegisterPerson(ctx, f.clerk, registry.NewPerson{IDNumber: id, Name: "陈灵活", Hukou: "local", Phone: "13900000010"}); err != nil {
			t.Fatal(err)
		}
		e, err := f.reg.CreateEnrolment(ctx, f.clerk, registry.NewEnrolment{IDNumber: id, Category: "flexible_worker", StartMonth: "202611", Base: "6000"})
		if err != nil {
			t.Fatal(err)
		}
		if e.Status != registry.Draft || len(e.Checklist) != 3 {
			t.Fatalf("draft = %+v", e)
		}
		codes := []string{}
		for _, c := range e.Checklist {
			codes = append(codes, c.Material.Code)
		}
		if strings.Join(codes, ",") != "id_card,hukou_book,status_proof" {
			t.Fatalf("checklist of a local flexible worker = %v", codes)
		}
		// Type by content, size limit, only listed materials.
		_, err = f.reg.AddMaterial(ctx, f.clerk, e.ID, "id_card", "id.pdf", gif)
		wantField(t, err, errs.Invalid, "file")
		_, err = f.reg.AddMaterial(ctx, f.clerk, e.ID, "id_card", "id.pdf", append(append([]byte{}, pdf...), make([]byte, 6<<20)...))
		wantField(t, err, errs.Invalid, "file")
		_, err = f.reg.AddMaterial(ctx, f.clerk, e.ID, "labour_contract", "c.pdf", pdf)
		wantField(t, err, errs.Invalid, "code")
		_, err = f.reg.Submit(ctx, f.clerk, e.ID)
		wantField(t, err, errs.Invalid, "materials.id_card")

		for i, c := range e.Checklist {
			data := pdf
			if i == 1 {
				data = png
			}
			m, err := f.reg.AddMaterial(ctx, f.clerk, e.ID, c.Material.Code, c.Material.Code+".bin", data)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.reg.CheckMaterial(ctx, f.clerk, e.ID, m.ID, registry.CheckAccepted, ""); err != nil {
				t.Fatal(err)
			}
		}
		// A rejected re-upload of one material blocks submission again.
		m, _ := f.reg.AddMaterial(ctx, f.clerk, e.ID, "status_proof", "blurry.png", png)
		if _, err := f.reg.CheckMaterial(ctx, f.clerk, e.ID, m.ID, registry.CheckRejected, ""); !errs.Is(err, errs.Invalid) {
			t.Fatalf("reject without a note: %v", err)
		}
		f.reg.CheckMaterial(ctx, f.clerk, e.ID, m.ID, registry.CheckRejected, "unreadable")
		if _, err := f.reg.Submit(ctx, f.clerk, e.ID); !errs.Is(err, errs.Invalid) {
			t.Fatalf("submit with a rejected material: %v", err)
		}
		m, _ = f.reg.AddMaterial(ctx, f.clerk, e.ID, "status_proof", "clear.pdf", pdf)
		f.reg.CheckMaterial(ctx, f.clerk, e.ID, m.ID, registry.CheckAccepted, "")
		if e, err = f.reg.Submit(ctx, f.clerk, e.ID); err != nil || e.Status != registry.Submitted {
			t.Fatalf("submit: %+v %v", e.Status, err)
		}
		if _, err := f.reg.AddMaterial(ctx, f.clerk, e.ID, "id_card", "late.pdf", pdf); !errs.Is(err, errs.Conflict) {
			t.Fatalf("upload after submit: %v", err)
		}
		// The clerk also holds the reviewer role, but never decides on their own work.
		if _, err := f.reg.Approve(ctx, f.clerk, e.ID); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("preparer approves: %v", err)
		}
		if _, err := f.reg.Approve(ctx, f.other, e.ID); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("a clerk without the reviewer role approves: %v", err)
		}
		if e, err = f.reg.Approve(ctx, f.reviewer, e.ID); err != nil || e.Status != registry.Approved {
			t.Fatalf("approve: %v %v", e.Status, err)
		}
		if _, err := f.reg.Approve(ctx, f.reviewer, e.ID); !errs.Is(err, errs.Conflict) {
			t.Fatalf("approve twice: %v", err)
		}
		_, ps, err := f.reg.Participations(ctx, f.clerk, id)
		if err != nil || len(ps) != 2 || ps[0].Start != 202611 || ps[0].End != 0 {
			t.Fatalf("participations = %+v %v", ps, err)
		}
		// Insured already: a second application is a conflict.
		if _, err := f.reg.CreateEnrolment(ctx, f.clerk, registry.NewEnrolment{IDNumber: id, Category: "individual_household", StartMonth: "202612", Base: "6000"}); !errs.Is(err, errs.Conflict) {
			t.Fatalf("second enrolment: %v", err)
		}
		// The resident sees their own application and its files; another resident does not.
		login, err := f.reg.CreateResidentLogin(ctx, f.clerk, id)
		if err != nil {
			t.Fatal(err)
		}
		me := f.principal(login.Username)
		if _, _, err := f.reg.MaterialFile(ctx, me, e.ID, m.ID); err != nil {
			t.Fatalf("own material: %v", err)
		}
		status := mustMyInsurance(t, f, me)
		if len(status) != 2 || !status[0].Active || status[0].Insurance != policy.Pension {
			t.Fatalf("my insurance = %+v", status)
		}
		other := idFor(11)
		f.reg.RegisterPerson(ctx, f.clerk, registry.NewPerson{IDNumber: other, Name: "别人", Hukou: "local", Phone: "13900000011"})
		ol, _ := f.reg.CreateResidentLogin(ctx, f.clerk, other)
		stranger := f.principal(ol.Username)
		if _, _, err := f.reg.MaterialFile(ctx, stranger, e.ID, m.ID); !errs.Is(err, errs.NotFound) {
			t.Fatalf("stranger reads material: %v", err)
		}
		if _, err := f.reg.Person(ctx, stranger, id); !errs.Is(err, errs.NotFound) {
			t.Fatalf("stranger reads person: %v", err)
		}
		if _, err := f.reg.Person(ctx, me, id); err != nil {
			t.Fatalf("resident reads themself: %v", err)
		}
		if _, err := audit.Verify(ctx, f.d, nil); err != nil {
			t.Fatal(err)
		}
	})
}

func mustMyInsurance(t *testing.T, f *fixture, p *auth.Principal) []registry.InsuranceStatus {
	t.Helper()
	_, st, err := f.reg.MyInsurance(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestRejectNeedsReason(t *testing.T) {
	withDB(t, func(t *testing.T, f *fixture) {
		id := idFor(20)
		f.reg.RegisterPerson(ctx, f.clerk, registry.NewPerson{IDNumber: id, Name: "甲", Hukou: "local"})
		emp, _ := f.employer(1)
		e, err := f.reg.CreateEnrolment(ctx, f.clerk, registry.NewEnrolment{IDNumber: id, Category: "employee", EmployerUSCC: string(emp.USCC), StartMonth: "202611", Base: "8000"})
		if err != nil {
			t.Fatal(err)
		}
		if len(e.Checklist) != 4 {
			t.Fatalf("employee checklist = %d items", len(e.Checklist))
		}
		if _, err := f.reg.CreateEnrolment(ctx, f.clerk, registry.NewEnrolment{IDNumber: id, Category: "employee", StartMonth: "202611", Base: "8000"}); !errs.Is(err, errs.Invalid) {
			t.Fatalf("employee without employer: %v", err)
		}
		for _, c := range e.Checklist {
			m, _ := f.reg.AddMaterial(ctx, f.clerk, e.ID, c.Material.Code, "x.pdf", pdf)
			f.reg.CheckMaterial(ctx, f.clerk, e.ID, m.ID, registry.CheckAccepted, "")
		}
		f.reg.Submit(ctx, f.clerk, e.ID)
		if _, err := f.reg.Reject(ctx, f.reviewer, e.ID, " "); !errs.Is(err, errs.Invalid) {
			t.Fatalf("reject without reason: %v", err)
		}
		e, err = f.reg.Reject(ctx, f.reviewer, e.ID, "labour contract unsigned")
		if err != nil || e.Status != registry.Rejected || e.RejectReason != "labour contract unsigned" {
			t.Fatalf("reject: %+v %v", e, err)
		}
		if _, ps, _ := f.reg.Participations(ctx, f.clerk, id); len(ps) != 0 {
			t.Fatalf("rejected application opened %d participations", len(ps))
		}
	})
}
