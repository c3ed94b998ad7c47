package web

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
)

func TestAccountChartSVG(t *testing.T) {
	lines := []contrib.StatementLine{
		{Month: 202611, ToPension: 64000, ToMedical: 16000, Settled: false},
		{Month: 202610, ToPension: 64000, ToMedical: 16000, Settled: true},
		{Month: 202610, ToPension: 1000, ToMedical: 0, Settled: false, PayerName: "B"},
		{Month: 202609, ToPension: 123456, ToMedical: 0, Settled: true},
	}
	months := accountMonths(lines)
	if len(months) != 3 || months[0].Month != 202609 || months[2].Month != 202611 {
		t.Fatalf("months oldest first: %+v", months)
	}
	if months[1].Credited != 80000 || months[1].Owing != 1000 || months[2].Credited != 0 || months[2].Owing != 80000 {
		t.Fatalf("paid and unpaid apart: %+v", months)
	}
	for _, l := range []lang{zh, en} {
		v := &View{Lang: l}
		svg := string(accountChart(v, 2026, months).SVG())
		for _, want := range []string{
			`<title id="account-chart-title">` + fmt.Sprintf(l.T("mycontrib.chart"), 2026) + `</title>`,
			`<desc id="account-chart-desc">`, `aria-labelledby="account-chart-title account-chart-desc"`,
			`>26/09</text>`, `>26/10</text>`, `>26/11</text>`, // months under the axis
			`>0.00</text>`, `>2,000.00</text>`, // the y axis: 0 and the rounded top above 1,234.56
			`>1,235</text>`, // the September bar's value
			`class="chart-paid"`, `class="chart-unpaid"`, l.T("mycontrib.unpaid"),
		} {
			if !strings.Contains(svg, want) {
				t.Errorf("%v: SVG lacks %q:\n%s", l, want, svg)
			}
		}
		if strings.Contains(svg, "style=") || strings.Contains(svg, "<script") {
			t.Errorf("inline style or script in the chart: %s", svg)
		}
		// November is unpaid only: its bar has an unpaid segment and no paid one.
		nov := regexp.MustCompile(`<g class="chart-bar" data-label="26/11"[^>]*>(.*?)</g>`).FindStringSubmatch(svg)
		if nov == nil || strings.Contains(nov[1], "chart-paid") || !strings.Contains(nov[1], `class="chart-unpaid" `) || !strings.Contains(nov[1], `data-amount="800.00"`) {
			t.Errorf("November drawn as credited: %v", nov)
		}
	}
	if d := accountChart(&View{Lang: en}, 2026, months).Desc; d != "202609 to 202611: 2,034.56 yuan credited to the personal accounts; 2 months unpaid, 810.00 yuan not credited." {
		t.Errorf("desc = %q", d)
	}
}

func TestAccountMonthsKeepsTwelve(t *testing.T) {
	var lines []contrib.StatementLine
	for m := period.Month(202401); m <= 202612; m = m.Add(1) {
		lines = append(lines, contrib.StatementLine{Month: m, ToPension: 100, Settled: true})
	}
	ms := accountMonths(lines)
	if len(ms) != 12 || ms[0].Month != 202601 || ms[11].Month != 202612 {
		t.Fatalf("last twelve: %+v", ms)
	}
}

func TestChartEscapesAndScales(t *testing.T) {
	c := barChart{ID: "x", Title: `<a & "b">`, Bars: []chartBar{{Label: "<m>", Segments: []chartSegment{{Value: 0, Class: "chart-fund"}}}}}
	svg := string(c.SVG())
	if strings.Contains(svg, "<a &") || strings.Contains(svg, "<m>") || !strings.Contains(svg, "&lt;m&gt;") {
		t.Errorf("text not escaped: %s", svg)
	}
	for f, want := range map[money.Fen]money.Fen{0: 100, 1: 100, 101: 200, 450: 500, 123456: 200000, 1000000: 1000000} {
		if got := niceCeil(f); got != want {
			t.Errorf("niceCeil(%d) = %d, want %d", f, got, want)
		}
	}
}

func TestFundsChart(t *testing.T) {
	months := []contrib.MonthTotals{{Month: 202612, Billed: 500000000, Paid: 123456789}, {Month: 202611, Billed: 400000000, Paid: 400000000}}
	c := fundsChart(&View{Lang: zh}, months)
	if len(c.Bars) != 2 || c.Bars[0].Label != "26/11" || c.Bars[1].Label != "26/12" {
		t.Fatalf("bars oldest first: %+v", c.Bars)
	}
	svg := string(c.SVG())
	for _, want := range []string{`data-amount="1234567.89"`, `data-amount="3765432.11"`, `class="chart-fund"`, `>5,000,000.00</text>`, "未征"} {
		if !strings.Contains(svg, want) {
			t.Errorf("funds chart lacks %q:\n%s", want, svg)
		}
	}
	if want := "202611 至 202612：应征 9,000,000.00 元，已征 5,234,567.89 元，未征 3,765,432.11 元。"; c.Desc != want {
		t.Errorf("desc %q, want %q", c.Desc, want)
	}
}

func TestBalanceMonths(t *testing.T) {
	at := func(s string) time.Time { tm, _ := time.Parse(time.RFC3339, s); return tm }
	moves := []ledger.Movement{ // newest first
		{At: at("2026-11-30T16:30:00Z"), Amount: 800}, // 1 December in Beijing
		{At: at("2026-11-15T02:00:00Z"), Amount: -300},
		{At: at("2026-10-10T02:00:00Z"), Amount: 1000},
	}
	got := balanceMonths(1500, moves, 202601, 202612)
	want := []balanceMonth{{202610, 1000}, {202611, 700}, {202612, 1500}}
	if !slices.Equal(got, want) {
		t.Fatalf("balances %+v, want %+v", got, want)
	}
	// A span that ends before today: its months only, from the balance at its end.
	if got := balanceMonths(700, moves[1:], 202601, 202611); !slices.Equal(got, []balanceMonth{{202610, 1000}, {202611, 700}}) {
		t.Fatalf("balances to November %+v", got)
	}
	if got := balanceMonths(1000, moves[2:], 202610, 202610); !slices.Equal(got, []balanceMonth{{202610, 1000}}) {
		t.Fatalf("balances of October alone %+v", got)
	}
	if balanceMonths(0, nil, 202601, 202612) != nil {
		t.Fatal("an account without movements has a chart")
	}
	svg := string(balanceChart(&View{Lang: en}, "pension-balance-chart", "mycontrib.pension", want).SVG())
	for _, s := range []string{`class="chart-balance"`, `data-amount="15.00"`, `>26/12</text>`, "Balance at the end of 202610: 10.00 yuan; at the end of 202612: 15.00 yuan."} {
		if !strings.Contains(svg, s) {
			t.Errorf("balance chart lacks %q:\n%s", s, svg)
		}
	}
}
