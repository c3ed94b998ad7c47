package web

import (
	"html"
	"html/template"
	"strconv"

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

// SVG renders the chart. All text is escaped; numbers are integers in the viewBox. It appends to
// one buffer rather than formatting through fmt: a statement page draws three of these, and fmt's
// reflection was a fair part of the page's time.
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
	w := make([]byte, 0, 1024+len(c.Bars)*600)
	str := func(ss ...string) {
		for _, s := range ss {
			w = append(w, s...)
		}
	}
	num := func(n int) { w = strconv.AppendInt(w, int64(n), 10) }
	// line writes <line class="…" x1 y1 x2 y2/>.
	line := func(class string, x1, y1, x2, y2 int) {
		str(`<line class="`, class, `" x1="`)
		num(x1)
		str(`" y1="`)
		num(y1)
		str(`" x2="`)
		num(x2)
		str(`" y2="`)
		num(y2)
		str(`"/>`)
	}
	// text writes <text class="…" x y [text-anchor]>…</text>, its content escaped by the caller.
	text := func(class string, x, yy int, anchor, content string) {
		str(`<text class="`, class, `" x="`)
		num(x)
		str(`" y="`)
		num(yy)
		if anchor != "" {
			str(`" text-anchor="`, anchor)
		}
		str(`">`, content, `</text>`)
	}
	id := e(c.ID)
	str(`<svg id="`, id, `" class="chart-svg" viewBox="0 0 `)
	num(chartW)
	str(" ")
	num(chartH)
	str(`" role="img" aria-labelledby="`, id, `-title `, id, `-desc" xmlns="http://www.w3.org/2000/svg">`)
	str(`<title id="`, id, `-title">`, e(c.Title), `</title><desc id="`, id, `-desc">`, e(c.Desc), `</desc>`)
	for i := 0; i <= 2; i++ {
		v := top * money.Fen(i) / 2
		line("chart-grid", chartLeft, y(v), chartW-chartRght, y(v))
		text("chart-axis", chartLeft-6, y(v)+4, "end", e(v.Grouped()))
	}
	line("chart-baseline", chartLeft, y(0), chartW-chartRght, y(0))
	if n := len(c.Bars); n > 0 {
		slot := plotW / n
		bw := max(slot*2/3, 2)
		for i, b := range c.Bars {
			x := chartLeft + i*slot + (slot-bw)/2
			label := e(b.Label)
			str(`<g class="chart-bar" data-label="`, label, `" data-total="`, b.Total().String(), `">`)
			var base money.Fen
			for _, s := range b.Segments {
				if s.Value <= 0 {
					continue
				}
				y0, y1 := y(base), y(base+s.Value)
				str(`<rect class="`, e(s.Class), `" x="`)
				num(x)
				str(`" y="`)
				num(y1)
				str(`" width="`)
				num(bw)
				str(`" height="`)
				num(max(y0-y1, 1))
				str(`" data-amount="`, s.Value.String(), `"><title>`, label, " ", e(s.Note), ": ", e(s.Value.Grouped()), `</title></rect>`)
				base += s.Value
			}
			cx := x + bw/2
			text("chart-value", cx, y(base)-4, "middle", e(short(b.Total())))
			text("chart-axis", cx, y(0)+16, "middle", label)
			str(`</g>`)
		}
	}
	lx := chartLeft
	for _, l := range c.Legend {
		str(`<rect class="`, e(l.Class), `" x="`)
		num(lx)
		str(`" y="`)
		num(chartH - 14)
		str(`" width="10" height="10"/>`)
		text("chart-axis", lx+14, chartH-5, "", e(l.Label))
		lx += 14 + 12*len([]rune(l.Label)) + 16
	}
	str(`</svg>`)
	return template.HTML(w)
}

// short is a bar's value above it: whole yuan with separators, the fen left to the table and the
// tooltip so that twelve labels fit side by side.
func short(f money.Fen) string {
	g := (f + 50) / 100 * 100
	s := g.Grouped()
	return s[:len(s)-3]
}
