package web

import (
	"context"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
)

// billsPage shows one payer's monthly bills with arrears and late fees as of today. Employers and
// residents see their own; staff look a payer up by credit code or ID number, and a clerk records
// money received at the counter.
type billsPage struct {
	Query    string
	Payer    string
	Bills    []contrib.Bill
	Owing    string
	Arrears  int
	CanPay   bool
	Today    string
	Recorded *contrib.Payment
	Payments []contrib.PaymentRecord // the latest, newest first
}

func (s *Server) billsView(r *http.Request, p *auth.Principal, query string) (*View, error) {
	data := &billsPage{Query: query, CanPay: p.Can(auth.RecordPayment), Today: period.Today(s.Now()).Format("2006-01-02")}
	v := s.view(r, p, "bills.title", data)
	payer := ownPayer(p)
	if query != "" {
		var err error
		if payer, err = s.Contrib.PayerOf(r.Context(), query); err != nil {
			return v, err
		}
	}
	if payer == "" {
		return v, nil
	}
	bills, err := s.Contrib.Bills(r.Context(), p, payer)
	if err != nil {
		return v, err
	}
	payments, err := s.Contrib.Payments(r.Context(), p, payer, 24)
	if err != nil {
		return v, err
	}
	data.Payer, data.Bills, data.Payments = payer, bills, payments
	var owing int64
	for _, b := range bills {
		owing += int64(b.Owing())
		if b.InArrears {
			data.Arrears++
		}
	}
	data.Owing = money.Fen(owing).Grouped()
	return v, nil
}

func (s *Server) billsPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v, err := s.billsView(r, p, r.URL.Query().Get("payer"))
	if err != nil {
		return s.formError(w, r, v, "bills", err)
	}
	return s.render(w, r, http.StatusOK, "bills", v)
}

// billsPay records a payment received at the counter; the form's reference (the bank's or the
// receipt's number) is the idempotency key, so pressing the button twice records it once.
func (s *Server) billsPay(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	payer := r.PostFormValue("payer")
	pay, err := s.Contrib.RecordPayment(r.Context(), p, contrib.NewPayment{IdemKey: r.PostFormValue("reference"), Payer: payer,
		Amount: r.PostFormValue("amount"), PaidOn: r.PostFormValue("paid_on")})
	v, verr := s.billsView(r, p, payer)
	if verr != nil {
		return verr
	}
	if err != nil {
		return s.formError(w, r, v, "bills", err)
	}
	v.Data.(*billsPage).Recorded = &pay
	v.Notice = v.T("bills.recorded")
	return s.render(w, r, http.StatusOK, "bills", v)
}

// myContributionsPage is the resident's own history: months and amounts, and the personal
// accounts' balances and movements as the ledger holds them.
func (s *Server) myContributionsPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	data := &myContributions{}
	v := s.view(r, p, "mycontrib.title", data)
	q, err := statementPage(r)
	if err != nil {
		return s.formError(w, r, v, "mycontrib", err)
	}
	st, err := s.Contrib.Statement(r.Context(), p, p.PersonID, q)
	if err != nil {
		return s.formError(w, r, v, "mycontrib", err)
	}
	s.fillStatement(v, data, st)
	return s.render(w, r, http.StatusOK, "mycontrib", v)
}

// accountsPage is the bureau's look-up of one person's contributions and personal accounts by ID
// number: what the resident sees on their own page, for a clerk answering them at the window or an
// auditor checking an account.
func (s *Server) accountsPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	q := strings.TrimSpace(r.URL.Query().Get("id_number"))
	data := &myContributions{Lookup: true, Query: q}
	v := s.view(r, p, "accounts.title", data)
	if q == "" {
		return s.render(w, r, http.StatusOK, "mycontrib", v)
	}
	person, err := s.Registry.Person(r.Context(), p, q)
	if errs.Is(err, errs.NotFound) {
		err = errs.E(errs.NotFound, "no person with this ID number in your regions")
		v.Problem = s.publicError(r, err)
		return s.render(w, r, http.StatusNotFound, "mycontrib", v)
	}
	if err != nil {
		return s.formError(w, r, v, "mycontrib", err)
	}
	sq, err := statementPage(r)
	if err != nil {
		return s.formError(w, r, v, "mycontrib", err)
	}
	st, err := s.Contrib.Statement(r.Context(), p, person.ID, sq)
	if err != nil {
		return s.formError(w, r, v, "mycontrib", err)
	}
	data.Name, data.IDNumber = person.Name, string(person.IDNumber)
	s.fillStatement(v, data, st)
	return s.render(w, r, http.StatusOK, "mycontrib", v)
}

// fillStatement puts a statement and its charts on the page, with the links to its other years.
func (s *Server) fillStatement(v *View, data *myContributions, st contrib.Statement) {
	data.Statement, data.Months = st, accountMonths(st.Lines)
	data.Chart = accountChart(v, st.To.Year(), data.Months)
	s.balanceCharts(v, data)
	for _, y := range st.Years {
		q := url.Values{"year": {strconv.Itoa(y)}}
		if data.IDNumber != "" {
			q.Set("id_number", data.IDNumber)
		}
		path := "/contributions"
		if data.Lookup {
			path = "/accounts"
		}
		data.YearLinks = append(data.YearLinks, yearLink{Year: y, Href: path + "?" + q.Encode(), Current: y == st.To.Year()})
	}
}

// yearLink is one year of a statement's year navigation.
type yearLink struct {
	Year    int
	Href    string
	Current bool
}

// myContributions is a statement page: the resident's own, or a person the bureau looked up.
type myContributions struct {
	contrib.Statement
	YearLinks      []yearLink   // the years with contributions, newest first
	Months         []chartMonth // the chart's months, oldest first, also its text equivalent
	Chart          barChart
	Balances       []barChart // the pension and the medical account's month-end balances
	Lookup         bool       // the bureau's look-up form above it
	Query          string     // the ID number asked for
	Name, IDNumber string     // whose statement the look-up found
}

// balanceCharts adds the charts of the two personal accounts' month-end balances.
func (s *Server) balanceCharts(v *View, data *myContributions) {
	now := period.MonthOf(s.Now())
	for _, a := range []struct {
		id, title string
		bal       money.Fen
		moves     []ledger.Movement
	}{{"pension-balance-chart", "mycontrib.pension", data.PensionClosing, data.PensionMovements},
		{"medical-balance-chart", "mycontrib.medical", data.MedicalClosing, data.MedicalMovements}} {
		if ms := balanceMonths(a.bal, a.moves, data.From, min(data.To, now)); len(ms) > 0 {
			data.Balances = append(data.Balances, balanceChart(v, a.id, a.title, ms))
		}
	}
}

// Found reports a statement to show: the resident's own, or the person the look-up found.
func (m *myContributions) Found() bool { return !m.Lookup || m.IDNumber != "" }

// chartMonth is one month of the resident's chart, as its text equivalent (the table under the
// chart) lists it.
type chartMonth struct {
	Month           period.Month
	Credited, Owing money.Fen
}

// accountMonths sums, for the last twelve months of the statement's lines (oldest first), what each
// month put into the personal accounts: the credited part (its bill paid) apart from the part still
// awaiting payment, which an unpaid month has not credited.
func accountMonths(lines []contrib.StatementLine) []chartMonth {
	by := map[period.Month]*chartMonth{}
	var months []period.Month
	for _, l := range lines {
		m := by[l.Month]
		if m == nil {
			m = &chartMonth{Month: l.Month}
			by[l.Month] = m
			months = append(months, l.Month)
		}
		if l.Settled {
			m.Credited += l.ToPension + l.ToMedical
		} else {
			m.Owing += l.ToPension + l.ToMedical
		}
	}
	slices.Sort(months)
	if len(months) > 12 {
		months = months[len(months)-12:]
	}
	out := make([]chartMonth, 0, len(months))
	for _, m := range months {
		out = append(out, *by[m])
	}
	return out
}

// accountChart draws accountMonths in the page's language.
func accountChart(v *View, year int, months []chartMonth) barChart {
	c := barChart{ID: "account-chart", Title: fmt.Sprintf(v.T("mycontrib.chart"), year),
		Legend: []chartLegend{{"chart-paid", v.T("mycontrib.settled")}, {"chart-unpaid", v.T("mycontrib.unpaid")}}}
	var credited, owing money.Fen
	unpaid := 0
	for _, m := range months {
		c.Bars = append(c.Bars, chartBar{Label: fmt.Sprintf("%02d/%02d", m.Month.Year()%100, m.Month.MonthOfYear()), Segments: []chartSegment{
			{Value: m.Credited, Class: "chart-paid", Note: v.T("mycontrib.settled")},
			{Value: m.Owing, Class: "chart-unpaid", Note: v.T("mycontrib.unpaid")}}})
		credited += m.Credited
		owing += m.Owing
		if m.Owing > 0 {
			unpaid++
		}
	}
	if len(months) > 0 {
		c.Desc = fmt.Sprintf(v.T("mycontrib.chart_desc"), months[0].Month, months[len(months)-1].Month, credited.Grouped(), unpaid, owing.Grouped())
	}
	return c
}

// runTracker holds the progress of the monthly runs started from the portal, so that the funds
// page can show them while they work. The run itself records its state in the database; this is only
// the live view.
type runTracker struct {
	mu   sync.Mutex
	live map[string]*liveRun // by region and month
}

type liveRun struct {
	Region   string
	Month    period.Month
	Progress contrib.Progress
	Err      string
	Done     bool
}

// Rate is the persons assessed per second, as the page shows it.
func (l liveRun) Rate() string { return fmt.Sprintf("%.0f", l.Progress.Rate()) }

// Left is the estimated time still needed, as the page shows it ("" when it cannot tell yet).
func (l liveRun) Left() string {
	if d := l.Progress.Left(); d > 0 && !l.Done {
		return d.Round(time.Second).String()
	}
	return ""
}

func (t *runTracker) start(region string, month period.Month) (*liveRun, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.live == nil {
		t.live = map[string]*liveRun{}
	}
	key := region + "/" + month.String()
	if l, ok := t.live[key]; ok && !l.Done {
		return l, false
	}
	l := &liveRun{Region: region, Month: month}
	t.live[key] = l
	return l, true
}

func (t *runTracker) update(l *liveRun, fn func(*liveRun)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fn(l)
}

// snapshot copies the runs of a region, for a page to show without holding the lock.
func (t *runTracker) snapshot(region string) []liveRun {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []liveRun
	for _, l := range t.live {
		if l.Region == region {
			out = append(out, *l)
		}
	}
	slices.SortFunc(out, func(a, b liveRun) int { return int(b.Month) - int(a.Month) })
	return out
}

type fundsPage struct {
	contrib.Funds
	Runs    []contrib.RunInfo
	Live    []liveRun
	Running bool
	CanRun  bool
	Month   string
	Chart   barChart
}

func (s *Server) fundsView(r *http.Request, p *auth.Principal, region string) (*View, error) {
	f, err := s.Contrib.Funds(r.Context(), p, region, 0, 36)
	if err != nil {
		return nil, err
	}
	runs, err := s.Contrib.Runs(r.Context(), f.Region, 36)
	if err != nil {
		return nil, err
	}
	data := &fundsPage{Funds: f, Runs: runs, Live: s.runs.snapshot(f.Region), CanRun: p.Can(auth.RunMonth),
		Month: period.MonthOf(s.Now()).String()}
	for _, l := range data.Live {
		data.Running = data.Running || !l.Done
	}
	v := s.view(r, p, "funds.title", data)
	data.Chart = fundsChart(v, f.Months)
	return v, nil
}

// fundsPage is the auditor's and administrator's view of a region's contributions and runs.
func (s *Server) fundsPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v, err := s.fundsView(r, p, r.URL.Query().Get("region"))
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "funds", v)
}

// fundsRun starts a region's monthly run in the background and returns to the funds page, which
// shows its progress. A run already going for that month is not started twice; a run interrupted
// (the server stopped) is finished by starting it again.
func (s *Server) fundsRun(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	region := r.PostFormValue("region")
	month, err := period.ParseMonth(r.PostFormValue("month"))
	if err != nil {
		err = errs.Field("month", err.Error())
	} else {
		err = s.Contrib.Billable(month)
	}
	if err != nil || !p.InRegion(region) {
		v, verr := s.fundsView(r, p, region)
		if verr != nil {
			return verr
		}
		if err != nil {
			return s.formError(w, r, v, "funds", err)
		}
		return s.formError(w, r, v, "funds", errs.Field("region", "not one of your regions"))
	}
	if l, fresh := s.runs.start(region, month); fresh {
		who := p.Actor()
		go func() {
			_, err := s.Contrib.Run(context.WithoutCancel(r.Context()), who, region, month, func(pr contrib.Progress) {
				s.runs.update(l, func(l *liveRun) { l.Progress = pr })
			})
			s.runs.update(l, func(l *liveRun) {
				l.Done = true
				if err != nil {
					l.Err = err.Error()
					if s.Log != nil {
						s.Log.Error("monthly run", "region", region, "month", month.String(), "err", err)
					}
				}
			})
		}()
	}
	http.Redirect(w, r, "/funds?region="+region, http.StatusSeeOther)
	return nil
}

// fundsChart draws a region's last twelve billed months (oldest first): what was paid of each and
// what is still outstanding, in the page's language.
func fundsChart(v *View, months []contrib.MonthTotals) barChart {
	c := barChart{ID: "funds-chart", Title: v.T("funds.chart"),
		Legend: []chartLegend{{"chart-fund", v.T("funds.paid")}, {"chart-unpaid", v.T("funds.unpaid")}}}
	if len(months) > 12 {
		months = months[:12]
	}
	var billed, paid money.Fen
	for i := len(months) - 1; i >= 0; i-- {
		m := months[i]
		c.Bars = append(c.Bars, chartBar{Label: fmt.Sprintf("%02d/%02d", m.Month.Year()%100, m.Month.MonthOfYear()), Segments: []chartSegment{
			{Value: m.Paid, Class: "chart-fund", Note: v.T("funds.paid")},
			{Value: max(m.Billed-m.Paid, 0), Class: "chart-unpaid", Note: v.T("funds.unpaid")}}})
		billed += m.Billed
		paid += m.Paid
	}
	if len(months) > 0 {
		c.Desc = fmt.Sprintf(v.T("funds.chart_desc"), months[len(months)-1].Month, months[0].Month, billed.Grouped(), paid.Grouped(), max(billed-paid, 0).Grouped())
	}
	return c
}

// balanceMonth is a personal account's balance at the end of a month.
type balanceMonth struct {
	Month   period.Month
	Balance money.Fen
}

// balanceMonths works an account's month-end balances back from its balance at the end of the
// month through and the movements before (newest first): the balance at the end of a month is that
// less everything posted after it. It covers the months from from to through, or fewer: not before
// the account's first movement (the statement holds every movement of its span).
func balanceMonths(closing money.Fen, moves []ledger.Movement, from, through period.Month) []balanceMonth {
	if len(moves) == 0 || through < from {
		return nil
	}
	// The ledger lists by entry; a history loaded late may post an earlier date after a later one.
	moves = slices.Clone(moves)
	slices.SortStableFunc(moves, func(a, b ledger.Movement) int { return b.At.Compare(a.At) })
	from = max(period.MonthOf(moves[len(moves)-1].At), from)
	var out []balanceMonth
	i := 0
	after := money.Fen(0) // the sum of the movements after the month being worked
	for m := through; m >= from; m = m.Add(-1) {
		for i < len(moves) && period.MonthOf(moves[i].At) > m {
			after += moves[i].Amount
			i++
		}
		out = append(out, balanceMonth{Month: m, Balance: closing - after})
	}
	slices.Reverse(out)
	return out
}

// balanceChart draws an account's month-end balances.
func balanceChart(v *View, id, titleKey string, months []balanceMonth) barChart {
	c := barChart{ID: id, Title: v.T(titleKey) + " · " + v.T("mycontrib.balance_chart")}
	for _, m := range months {
		c.Bars = append(c.Bars, chartBar{Label: fmt.Sprintf("%02d/%02d", m.Month.Year()%100, m.Month.MonthOfYear()),
			Segments: []chartSegment{{Value: m.Balance, Class: "chart-balance", Note: v.T("mycontrib.balance_end")}}})
	}
	if len(months) > 0 {
		first, last := months[0], months[len(months)-1]
		c.Desc = fmt.Sprintf(v.T("mycontrib.balance_desc"), first.Month, first.Balance.Grouped(), last.Month, last.Balance.Grouped())
	}
	return c
}

// The statement's table bodies are written here rather than cell by cell in the template: a
// year's lines, its movements of both accounts and the chart's months are most of the page's
// cells, and the template reaches each cell's value through reflection, which was the larger part
// of the page's time (docs/decisions.md, "Inquiry at a city's size"). The markup is the
// template's; text is escaped as html/template escapes it.

// LinesRows is the contribution lines' table body.
func (m *myContributions) LinesRows(v *View) template.HTML {
	var b strings.Builder
	b.Grow(len(m.Lines) * 420)
	esc := html.EscapeString
	for _, l := range m.Lines {
		month := esc(l.Month.String())
		payer := esc(l.PayerName)
		if l.PayerName == "" {
			payer = esc(v.T("mycontrib.own_bill"))
		}
		status := "mycontrib.pending_own"
		switch {
		case l.Settled:
			status = "mycontrib.settled"
		case l.PayerName != "":
			status = "mycontrib.pending"
		}
		cell := month
		if l.Supplement != 0 {
			cell += " · " + esc(v.T("bills.supplement")) + " " + strconv.Itoa(l.Supplement)
		}
		b.WriteString(`<tr data-month="` + month + `"><td>` + cell + `</td><td class="wide-only">` + payer +
			`</td><td class="amount wide-only">` + l.Base.Grouped() + `</td><td class="amount wide-only">` + l.ByEmployer.Grouped() +
			`</td><td class="amount wide-only">` + l.ByPerson.Grouped() + `</td><td class="amount to-pension">` + l.ToPension.Grouped() +
			`</td><td class="amount">` + l.ToMedical.Grouped() + `</td><td class="line-status">` + esc(v.T(status)) + `</td></tr>`)
	}
	return template.HTML(b.String())
}

// MovementRows is the table body of one account's movements (the pension account's, or with
// medical the medical account's).
func (m *myContributions) MovementRows(v *View, medical bool) template.HTML {
	moves := m.PensionMovements
	if medical {
		moves = m.MedicalMovements
	}
	var b strings.Builder
	b.Grow(len(moves) * 120)
	esc := html.EscapeString
	for _, mv := range moves {
		var forMonth string
		if mo := m.MonthOf(mv); mo != 0 {
			forMonth = esc(mo.String())
		}
		b.WriteString(`<tr><td>` + mv.At.In(period.Shanghai).Format("2006-01-02") + `</td><td>` + forMonth + `</td><td>` +
			esc(v.T("cause."+mv.Cause)) + `</td><td class="amount">` + mv.Amount.Grouped() + `</td></tr>`)
	}
	return template.HTML(b.String())
}

// MonthRows is the table body of the chart's months, its text equivalent.
func (m *myContributions) MonthRows() template.HTML {
	var b strings.Builder
	for _, mo := range m.Months {
		b.WriteString(`<tr><td>` + html.EscapeString(mo.Month.String()) + `</td><td class="amount">` + mo.Credited.Grouped() +
			`</td><td class="amount">` + mo.Owing.Grouped() + `</td></tr>`)
	}
	return template.HTML(b.String())
}
