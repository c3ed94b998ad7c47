package web

import (
	"os"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/money"
)

// TestSVGChartGolden holds the charts' markup to testdata/svgchart.golden (regenerate with
// SHEBAO_UPDATE_GOLDEN=1): the same bars, gridlines, labels and escaping, whatever writes them.
func TestSVGChartGolden(t *testing.T) {
	charts := []barChart{
		{ID: "contrib-chart", Title: "每月记入个人账户", Desc: `2026 年 <共> "12" 个月 & '合计'`,
			Legend: []chartLegend{{Class: "chart-paid", Label: "已记入"}, {Class: "chart-unpaid", Label: "待缴费"}}},
		{ID: "balance", Title: "Balance", Desc: "month-end", Legend: []chartLegend{{Class: "chart-fund", Label: "Pension account"}}},
		{ID: "empty", Title: "none"},
	}
	for m := 1; m <= 12; m++ {
		charts[0].Bars = append(charts[0].Bars, chartBar{Label: "2026-" + string(rune('0'+m/10)) + string(rune('0'+m%10)), Segments: []chartSegment{
			{Value: money.Fen(123456 * m), Class: "chart-paid", Note: "已记入"}, {Value: money.Fen(9999 * (m % 3)), Class: "chart-unpaid", Note: "待缴费 <&>"}}})
		charts[1].Bars = append(charts[1].Bars, chartBar{Label: "M" + string(rune('A'+m)), Segments: []chartSegment{{Value: money.Fen(100000000 + 777*m), Class: "chart-fund", Note: "Balance"}}})
	}
	var got strings.Builder
	for _, c := range charts {
		got.WriteString(string(c.SVG()))
		got.WriteString("\n")
	}
	const file = "testdata/svgchart.golden"
	if os.Getenv("SHEBAO_UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(file, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Errorf("the charts differ from %s:\n got %s\nwant %s", file, got.String(), want)
	}
}
