package web

import (
	"fmt"
	"html"
	"html/template"
	"strings"

	"github.com/shebao/shebao/internal/money"
)

// barChart is a bar chart of money by month, drawn on the server as inline SVG: no script, no
// style attributes (the page's CSP refuses them), colours from the stylesheet's chart classes. Each
// bar is a stack of segments (a month's credited part and its unpaid part), labelled with its month
// under the axis and its total above the bar; the y axis carries three gridlines with their yuan.
// The SVG has a <title> and <desc> for assistive technology; the page shows the same figures as a
// table beside it.
type barChart struct {
	ID     string
	Title  string // what the chart shows, for <title> and aria-labelledby
	Desc   string // a sentence summing it up, for <desc>
	Bars   []chartBar
	Legend []chartLegend
}

// chartBar is one month: its label and its stacked segments, bottom first.
type chartBar struct {
	Label    string
	Segments []chartSegment
}

// chartSegment is a part of a bar; Class picks its colour (chart-paid, chart-unpaid, chart-fund).
type chartSegment struct {
	Value money.Fen
	Class string
	Note  string // what the segment is, for its tooltip ("Credited", "Awaiting payment")
}

type chartLegend struct{ Class, Label string }

// Total is the bar's height in money.
func (b chartBar) Total() money.Fen {
	var t money.Fen
	for _, s := range b.Segments {
		t += s.Value
	}
	return t
}

const (
	chartW, chartH       = 640, 260
	chartLeft, chartRght = 72, 8
	chartTop, chartBot   = 24, 44
)

// niceCeil rounds a positive amount up to 1, 2 or 5 times a power of ten (in yuan), so that the
// axis reads in round numbers.
func niceCeil(f money.Fen) money.Fen {
	if f <= 0 {
		return 100
	}
	step := money.Fen(100)
	for {
		for _, m := range []money.Fen{1, 2, 5} {
			if step*m >= f {
				return step * m
			}
		}
		step *= 10
	}
}

// SVG renders the chart. All text is escaped; numbers are integers in the viewBox.
func (c barChart) SVG() template.HTML {
	var most money.Fen
	for _, b := range c.Bars {
		most = max(most, b.Total())
	}
	top := niceCeil(most)
	plotH := chartH - chartTop - chartBot
	plotW := chartW - chartLeft - chartRght
	y := func(v money.Fen) int { return chartTop + plotH - int(int64(v)*int64(plotH)/int64(top)) }
	e := html.EscapeString
	var w strings.Builder
	fmt.Fprintf(&w, `<svg id="%s" class="chart-svg" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-title %s-desc" xmlns="http://www.w3.org/2000/svg">`,
		e(c.ID), chartW, chartH, e(c.ID), e(c.ID))
	fmt.Fprintf(&w, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, e(c.ID), e(c.Title), e(c.ID), e(c.Desc))
	for i := 0; i <= 2; i++ {
		v := top * money.Fen(i) / 2
		fmt.Fprintf(&w, `<line class="chart-grid" x1="%d" y1="%d" x2="%d" y2="%d"/>`, chartLeft, y(v), chartW-chartRght, y(v))
		fmt.Fprintf(&w, `<text class="chart-axis" x="%d" y="%d" text-anchor="end">%s</text>`, chartLeft-6, y(v)+4, e(v.Grouped()))
	}
	fmt.Fprintf(&w, `<line class="chart-baseline" x1="%d" y1="%d" x2="%d" y2="%d"/>`, chartLeft, y(0), chartW-chartRght, y(0))
	if n := len(c.Bars); n > 0 {
		slot := plotW / n
		bw := max(slot*2/3, 2)
		for i, b := range c.Bars {
			x := chartLeft + i*slot + (slot-bw)/2
			fmt.Fprintf(&w, `<g class="chart-bar" data-label="%s" data-total="%s">`, e(b.Label), b.Total().String())
			var base money.Fen
			for _, s := range b.Segments {
				if s.Value <= 0 {
					continue
				}
				y0, y1 := y(base), y(base+s.Value)
				fmt.Fprintf(&w, `<rect class="%s" x="%d" y="%d" width="%d" height="%d" data-amount="%s"><title>%s %s: %s</title></rect>`,
					e(s.Class), x, y1, bw, max(y0-y1, 1), s.Value.String(), e(b.Label), e(s.Note), e(s.Value.Grouped()))
				base += s.Value
			}
			cx := x + bw/2
			fmt.Fprintf(&w, `<text class="chart-value" x="%d" y="%d" text-anchor="middle">%s</text>`, cx, y(base)-4, e(short(b.Total())))
			fmt.Fprintf(&w, `<text class="chart-axis" x="%d" y="%d" text-anchor="middle">%s</text>`, cx, y(0)+16, e(b.Label))
			w.WriteString(`</g>`)
		}
	}
	lx := chartLeft
	for _, l := range c.Legend {
		fmt.Fprintf(&w, `<rect class="%s" x="%d" y="%d" width="10" height="10"/><text class="chart-axis" x="%d" y="%d">%s</text>`,
			e(l.Class), lx, chartH-14, lx+14, chartH-5, e(l.Label))
		lx += 14 + 12*len([]rune(l.Label)) + 16
	}
	w.WriteString(`</svg>`)
	return template.HTML(w.String())
}

// short is a bar's value above it: whole yuan with separators, the fen left to the table and the
// tooltip so that twelve labels fit side by side.
func short(f money.Fen) string {
	g := (f + 50) / 100 * 100
	s := g.Grouped()
	return s[:len(s)-3]
}
