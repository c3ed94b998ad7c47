package web

import (
	"html/template"
	"strings"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
)

// TestStatementRowsAsTheTemplateWrote: the statement's table bodies written in Go are, byte for
// byte, what the template's cells wrote, escaping included, in both languages.
func TestStatementRowsAsTheTemplateWrote(t *testing.T) {
	const cells = `{{define "lines"}}{{range $l := .D.Lines}}<tr data-month="{{$l.Month}}"><td>{{$l.Month}}{{if $l.Supplement}} · {{$.V.T "bills.supplement"}} {{$l.Supplement}}{{end}}</td><td class="wide-only">{{if $l.PayerName}}{{$l.PayerName}}{{else}}{{$.V.T "mycontrib.own_bill"}}{{end}}</td><td class="amount wide-only">{{money $l.Base}}</td><td class="amount wide-only">{{money $l.ByEmployer}}</td><td class="amount wide-only">{{money $l.ByPerson}}</td><td class="amount to-pension">{{money $l.ToPension}}</td><td class="amount">{{money $l.ToMedical}}</td><td class="line-status">{{if $l.Settled}}{{$.V.T "mycontrib.settled"}}{{else if $l.PayerName}}{{$.V.T "mycontrib.pending"}}{{else}}{{$.V.T "mycontrib.pending_own"}}{{end}}</td></tr>{{end}}{{end}}` +
		`{{define "moves"}}{{range $m := .D.MedicalMovements}}<tr><td>{{day $m.At}}</td><td>{{with $.D.MonthOf $m}}{{.}}{{end}}</td><td>{{$.V.T (print "cause." $m.Cause)}}</td><td class="amount">{{money $m.Amount}}</td></tr>{{end}}{{end}}` +
		`{{define "months"}}{{range $m := .D.Months}}<tr><td>{{$m.Month}}</td><td class="amount">{{money $m.Credited}}</td><td class="amount">{{money $m.Owing}}</td></tr>{{end}}{{end}}`
	tpl := template.Must(template.New("").Funcs(templateFuncs).Parse(cells))
	at := time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC) // 1 December in Beijing
	d := &myContributions{Statement: contrib.Statement{
		Lines: []contrib.StatementLine{
			{Month: 202611, PayerName: `<示范&"公司'>`, Base: 1234567, ByEmployer: 98765, ByPerson: 4321, ToPension: 80000, ToMedical: 2000, Settled: true},
			{Month: 202610, PayerName: "示范公司", Base: 500000},
			{Month: 202610, PayerName: "示范公司", Base: 20000, ByEmployer: 3200, Supplement: 1},
			{Month: 202609, Base: 300000, ToPension: -5},
		},
		MedicalMovements: []ledger.Movement{{At: at, Cause: "personal_accounts", Amount: money.Fen(2000)}, {At: at.Add(-48 * time.Hour), Cause: "settlement", Amount: -1999}},
	}, Months: []chartMonth{{Month: 202610, Credited: 123456789, Owing: 1}, {Month: 202611}}}
	for _, l := range []lang{"zh", "en"} {
		v := &View{Lang: l}
		for _, c := range []struct {
			name string
			got  template.HTML
		}{{"lines", d.LinesRows(v)}, {"moves", d.MovementRows(v, true)}, {"months", d.MonthRows()}} {
			var want strings.Builder
			if err := tpl.ExecuteTemplate(&want, c.name, map[string]any{"D": d, "V": v}); err != nil {
				t.Fatal(err)
			}
			if string(c.got) != want.String() {
				t.Errorf("%s [%s]:\n got %s\nwant %s", c.name, l, c.got, want.String())
			}
		}
	}
}
