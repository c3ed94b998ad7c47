package certificate_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/certificate"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/keys"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
)

var update = flag.Bool("update", false, "write the golden files anew")

const region = "330100"

var ctx = context.Background()

func staff(name string, r auth.Role) *auth.Principal {
	return &auth.Principal{User: auth.User{Username: name, Role: r, Roles: []auth.Role{r}, Regions: []string{region}}}
}

type fixture struct {
	t     *testing.T
	d     *db.DB
	keys  *keys.Service
	reg   *registry.Service
	svc   *certificate.Service
	clerk *auth.Principal
}

// newFixture: a region with its signing key and a person whose employer paid months [now-14,
// now-3] in full and left month now-2 unpaid.
func newFixture(t *testing.T, d *db.DB) (*fixture, string, string) {
	t.Helper()
	pol := policy.NewStore(d)
	p, _, _ := policy.Default(region, 202001)
	if _, err := pol.Install(ctx, audit.System, p); err != nil {
		t.Fatal(err)
	}
	a := auth.New(d, auth.Options{})
	reg := registry.New(d, a, pol)
	ks := keys.New(d, pol, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := ks.UnsealDevelopment(ctx, []string{"alice", "bob"}); err != nil {
		t.Fatal(err)
	}
	req, err := ks.Request(ctx, staff("root", auth.Admin), keys.NewRequest{Kind: keys.Generate, Region: region})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"alice", "bob"} {
		if _, err := ks.Approve(ctx, staff(c, auth.Custodian), req.ID); err != nil {
			t.Fatal(err)
		}
	}
	f := &fixture{t: t, d: d, keys: ks, reg: reg, svc: certificate.New(d, ks, pol, reg), clerk: staff("clerk", auth.Clerk)}
	id, _ := ident.MakeIDNumber("33010619800315001")
	u, _ := ident.MakeUSCC("91330100000000001")
	e, err := reg.RegisterEmployer(ctx, f.clerk, registry.NewEmployer{USCC: string(u), Name: "示范纺织有限公司", LegalRep: "x", RiskClass: 2})
	if err != nil {
		t.Fatal(err)
	}
	now := period.MonthOf(d.Now())
	hr := &auth.Principal{User: auth.User{Username: "hr", Role: auth.Employer, Roles: []auth.Role{auth.Employer}, Regions: []string{region}, EmployerID: e.ID}}
	back := reg.AsOf(func() time.Time { return d.Now().AddDate(0, -14, 0) })
	if err := back.ChangeStaff(ctx, hr, string(u), registry.StaffChange{Op: registry.OpAdd, IDNumber: string(id), Name: "李文静", Base: "8000", Month: now.Add(-14).String()}); err != nil {
		t.Fatal(err)
	}
	cs := contrib.New(d, pol)
	for m := now.Add(-14); m <= now.Add(-2); m = m.Add(1) {
		if _, err := cs.Run(ctx, staff("admin", auth.Admin).Actor(), region, m, nil); err != nil {
			t.Fatal(err)
		}
		if m == now.Add(-2) {
			continue // owed, not paid: not certified
		}
		var bill, total int64
		var due string
		if err := d.R().QueryRowContext(ctx, "SELECT id, total, due_date FROM bills WHERE month = $1", int(m)).Scan(&bill, &total, &due); err != nil {
			t.Fatal(err)
		}
		dueAt, _ := db.ParseTime(due)
		if _, err := cs.RecordPayment(ctx, staff("bank", auth.Bank), contrib.NewPayment{IdemKey: fmt.Sprint("p", bill), Payer: fmt.Sprint("employer:", e.ID),
			Amount: money.Fen(total).String(), PaidOn: dueAt.Format("2006-01-02")}); err != nil {
			t.Fatal(err)
		}
	}
	return f, string(id), string(u)
}

func pdftotext(t *testing.T, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		if os.Getenv("SHEBAO_REQUIRE_PDFTOTEXT") != "" {
			t.Fatal("pdftotext is not installed (apt-get install poppler-utils) and SHEBAO_REQUIRE_PDFTOTEXT is set")
		}
		t.Skip("pdftotext is not installed (apt-get install poppler-utils)")
	}
	file := filepath.Join(t.TempDir(), "c.pdf")
	if err := os.WriteFile(file, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", file, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestCertificate: a certificate's PDF gives its Chinese text back, its record and its payload
// check as genuine and valid, one changed byte of its data or another key's signature does not,
// and it stops being valid after its days.
func TestCertificate(t *testing.T) {
	clock := dbtest.NewClock(dbtest.Now())
	dbtest.EachWith(t, dbtest.Options{Now: clock.Now}, func(t *testing.T, d *db.DB) {
		f, id, uscc := newFixture(t, d)
		now := period.MonthOf(d.Now())
		c, err := f.svc.IssuePerson(ctx, f.clerk, id, now.Add(-24).String(), now.String())
		if err != nil {
			t.Fatal(err)
		}
		pension := c.Data.Insurances[0]
		if pension.Months != 12 || len(pension.Periods) != 1 || pension.Periods[0] != now.Add(-14).String()+"-"+now.Add(-3).String() ||
			len(pension.Payers) != 1 || pension.Payers[0] != "示范纺织有限公司" {
			t.Fatalf("pension coverage: %+v", pension)
		}
		url := "https://shebao.example/verify/" + c.Data.Serial
		pdf, err := certificate.Render(c, url)
		if err != nil {
			t.Fatal(err)
		}
		text := pdftotext(t, pdf)
		for _, want := range []string{"参保证明", "李文静", ident.IDNumber(id).Masked(), "示范纺织有限公司", "示范市人力资源和社会保障局", "养老保险", c.Data.Serial, url} {
			if !strings.Contains(text, want) {
				t.Errorf("the PDF's text lacks %q:\n%s", want, text)
			}
		}

		res, err := f.svc.Check(ctx, c.Data.Serial)
		if err != nil || !res.Genuine || !res.Valid || res.Data.Person.Name != "李文静" {
			t.Fatalf("check by serial: %+v %v", res, err)
		}
		if res, err = f.svc.CheckPayload(ctx, pdf); err != nil || !res.Valid {
			t.Fatalf("check of the PDF: %+v %v", res, err)
		}
		pub, _, err := f.keys.PublicKeyPEM(ctx, region, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := certificate.VerifyWith(pub, pdf); err != nil {
			t.Fatalf("offline: %v", err)
		}

		// One changed byte of the data: the 12 months claimed as 13.
		payload, _ := c.Payload()
		body, sig, _ := strings.Cut(strings.TrimPrefix(payload, "shebao-certificate-1:"), ".")
		raw, _ := base64.RawURLEncoding.DecodeString(body)
		altered := bytes.Replace(raw, []byte(`"months":12`), []byte(`"months":13`), 1)
		if bytes.Equal(altered, raw) {
			t.Fatal("the test's alteration changed nothing")
		}
		forged := "shebao-certificate-1:" + base64.RawURLEncoding.EncodeToString(altered) + "." + sig
		if res, err := f.svc.CheckPayload(ctx, []byte(forged)); err != nil || res.Genuine || !strings.Contains(res.Reason, "not genuine") {
			t.Errorf("an altered certificate: %+v %v", res, err)
		}
		if _, err := certificate.VerifyWith(pub, []byte(forged)); errs.CodeOf(err) != errs.Invalid {
			t.Errorf("an altered certificate offline: %v", err)
		}
		// Signed by another key.
		other, _ := sm2.GenerateKey(rand.Reader)
		otherSig, _ := other.SignWithSM2(rand.Reader, keys.SignerID(), raw)
		foreign := "shebao-certificate-1:" + body + "." + base64.RawURLEncoding.EncodeToString(otherSig)
		if res, err := f.svc.CheckPayload(ctx, []byte(foreign)); err != nil || res.Genuine {
			t.Errorf("another key's signature: %+v %v", res, err)
		}
		der, _ := smx509.MarshalPKIXPublicKey(&other.PublicKey)
		otherPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		if _, err := certificate.VerifyWith(otherPEM, pdf); err == nil {
			t.Errorf("the certificate verified with another region's key")
		}
		// An altered record in the database is not passed as genuine either.
		if err := d.Write(ctx, func(tx *db.Tx) error {
			_, err := tx.ExecContext(ctx, "UPDATE certificates SET data = $1 WHERE serial = $2", string(altered), c.Data.Serial)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if res, err := f.svc.Check(ctx, c.Data.Serial); err != nil || res.Genuine {
			t.Errorf("an altered record: %+v %v", res, err)
		}
		if res, err := f.svc.Check(ctx, region+"2026"+"99999999"); err != nil || res.Found {
			t.Errorf("a serial never issued: %+v %v", res, err)
		}
		if _, err := f.svc.Check(ctx, "12'; --"); errs.CodeOf(err) != errs.Invalid {
			t.Errorf("a malformed serial: %v", err)
		}

		// The employer's certificate for its staff, by its HR.
		e, _ := f.reg.Employer(ctx, f.clerk, uscc)
		hr := &auth.Principal{User: auth.User{Username: "hr", Role: auth.Employer, Roles: []auth.Role{auth.Employer}, Regions: []string{region}, EmployerID: e.ID}}
		ec, err := f.svc.IssueEmployer(ctx, hr, uscc, now.Add(-12).String(), now.String())
		if err != nil || len(ec.Data.Staff) != 1 || ec.Data.Staff[0].Months != 10 || ec.Data.Staff[0].Name != "李文静" {
			t.Fatalf("employer certificate: %+v %v", ec.Data, err)
		}
		if res, _ := f.svc.Check(ctx, ec.Data.Serial); !res.Valid {
			t.Errorf("the employer's certificate: %+v", res)
		}

		// Bad periods, named.
		for _, p := range [][2]string{{"202613", "202612"}, {now.String(), now.Add(-1).String()}, {now.String(), now.Add(1).String()}} {
			_, err := f.svc.IssuePerson(ctx, f.clerk, id, p[0], p[1])
			if e, ok := errs.As(err); !ok || e.Code != errs.Invalid || len(e.Fields) == 0 {
				t.Errorf("period %v: %v", p, err)
			}
		}
		// Ninety days on, genuine but no longer valid.
		clock.Set(clock.Now().AddDate(0, 0, certificate.ValidDays))
		if res, err := f.svc.Check(ctx, ec.Data.Serial); err != nil || !res.Genuine || res.Valid || !strings.Contains(res.Reason, "no longer valid") {
			t.Errorf("an expired certificate: %+v %v", res, err)
		}
		clock.Set(clock.Now().AddDate(0, 0, -certificate.ValidDays))
	})
}

// TestNamesTheFontLacks: a name with a character the font has no glyph for is refused, not
// printed as a box.
func TestNamesTheFontLacks(t *testing.T) {
	if m, err := certificate.Missing("李文静 示范纺织有限公司 ABC"); err != nil || len(m) != 0 {
		t.Fatalf("common text: missing %q %v", string(m), err)
	}
	if m, _ := certificate.Missing("张\U0002A6A5"); string(m) != "\U0002A6A5" {
		t.Errorf("a character outside the font: missing %q", string(m))
	}
}

// TestLayoutGolden holds the layout of a fixed certificate against testdata (go test -update
// writes it anew).
func TestLayoutGolden(t *testing.T) {
	d := certificate.Data{Format: 1, Serial: "330100202600000042", Kind: certificate.KindPerson, Region: region,
		BureauZH: "示范市人力资源和社会保障局", BureauEN: "Demo City Human Resources and Social Security Bureau",
		IssuedOn: "2026-12-02", ValidUntil: "2027-03-01", From: "202501", To: "202612", KeyVersion: 1,
		Person: &certificate.Person{Name: "李文静", IDMasked: "3301**********0012", Gender: "female"},
		Insurances: []certificate.Coverage{
			{Insurance: "pension", Months: 20, Periods: []string{"202501-202508", "202601-202612"}, Payers: []string{"示范纺织有限公司", certificate.PayerSelf}, AmountFen: 3840000},
			{Insurance: "medical", Months: 20, Periods: []string{"202501-202508", "202601-202612"}, Payers: []string{"示范纺织有限公司"}, AmountFen: 1600000},
			{Insurance: "unemployment", Months: 0, Periods: []string{}, Payers: []string{}},
			{Insurance: "work_injury", Months: 12, Periods: []string{"202601-202612"}, Payers: []string{"示范纺织有限公司"}, AmountFen: 19200},
		}}
	got, _ := json.MarshalIndent(certificate.Layout(d), "", " ")
	file := filepath.Join("testdata", "layout.golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(got)+"\n" {
		t.Errorf("layout differs from %s (go test -update to accept):\n%s", file, got)
	}
}

// FuzzParsePayload: whatever a PDF or a caller presents, the payload parser answers or refuses.
func FuzzParsePayload(f *testing.F) {
	f.Add([]byte("shebao-certificate-1:eyJmb3JtYXQiOjF9.AAAA"))
	f.Add([]byte("%PDF-1.3 /Keywords (shebao-certificate-1:e30.x)"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, d, _, err := certificate.ParsePayload(b)
		if err == nil && d.Format != 1 {
			t.Fatalf("accepted format %d", d.Format)
		}
	})
}
