package rights_test

import (
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/benefit"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/rights"
)

var update = flag.Bool("update", false, "write the golden files anew")

func fixed() rights.Record {
	at := func(m, d int) time.Time { return time.Date(2025, time.Month(m), d, 10, 0, 0, 0, period.Shanghai) }
	return rights.Record{Year: 2025, Through: "2025-12-31", IssuedOn: "2026-01-05",
		BureauZH: "示范市人力资源和社会保障局", BureauEN: "Demo City Human Resources and Social Security Bureau",
		Name: "李文静", IDMasked: "3301**********0012",
		Months: []rights.Month{
			{Month: 202511, PayerName: "示范纺织有限公司", Base: 800000, ByEmployer: 216000, ByPerson: 84000, Paid: true},
			{Month: 202512, PayerName: "示范纺织有限公司", Base: 800000, ByEmployer: 216000, ByPerson: 84000, Paid: false},
		},
		Pension: rights.Account{Opening: 1234500, Closing: 1298500, Movements: []ledger.Movement{{At: at(12, 15), Cause: "personal_accounts", Amount: 64000}}},
		Medical: rights.Account{Opening: 50000, Closing: 44000, Movements: []ledger.Movement{
			{At: at(12, 15), Cause: "personal_accounts", Amount: 16000}, {At: at(12, 20), Cause: "settlement", Amount: -22000}}},
		Settlements: []rights.Settlement{{Date: time.Date(2025, 12, 20, 0, 0, 0, 0, time.UTC), Institution: "示范市第一人民医院", Kind: "outpatient",
			Total: 30000, Pool: 0, Account: 22000, Cash: 8000}},
		Benefits: []benefit.Payment{{Month: 202503, Amount: 189000, MedicalPaid: 12000}},
	}
}

// TestLayoutGolden holds the layout of a fixed record against testdata (go test -update writes it
// anew).
func TestLayoutGolden(t *testing.T) {
	got, _ := json.MarshalIndent(rights.Layout(fixed()), "", " ")
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

// TestRender: the PDF gives back, through pdftotext, the Chinese text and every figure: the
// months paid and unpaid, the balances, the settlement's split, the benefit.
func TestRender(t *testing.T) {
	pdf, err := rights.Render(fixed())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("pdftotext"); err != nil {
		if os.Getenv("SHEBAO_REQUIRE_PDFTOTEXT") != "" {
			t.Fatal("pdftotext is not installed and SHEBAO_REQUIRE_PDFTOTEXT is set")
		}
		t.Skip("pdftotext is not installed (apt-get install poppler-utils)")
	}
	file := filepath.Join(t.TempDir(), "r.pdf")
	if err := os.WriteFile(file, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", file, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, want := range []string{"个人权益记录", "李文静", "3301**********0012", "示范纺织有限公司", "202511", "202512", "已足额缴纳", "未缴",
		"8000.00", "2160.00", "840.00", money.Fen(1234500).String(), money.Fen(1298500).String(), "640.00", "-220.00",
		"示范市第一人民医院", "门诊", "300.00", "80.00", "1890.00", "120.00", "已足额缴纳 1 个月，未缴 1 个月"} {
		if !strings.Contains(text, want) {
			t.Errorf("the record's text lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}
