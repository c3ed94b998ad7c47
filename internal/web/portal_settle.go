package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/settle"
)

// The counter's settlement (SPEC 3.5) as a cashier does it in a browser: the bill's lines, then
// the person's electronic card (a hospital's scanner types the code like a keyboard and ends it
// with Enter, which submits the form: the code lives 60 s, so it is scanned last) or their bank's
// medical insurance card; then the receipt, a refund from it, and the day's reconciliation.
//
// The item lines come two ways, both plain HTML: a few rows of inputs, one per line, for the
// usual short bill typed by hand; and a text area taking one line per item, "code,name,category,
// amount", for a long bill pasted from the hospital's own system or a spreadsheet (tabs work too).
// Both may be used at once; the rows come first. Neither needs JavaScript, and a failed settlement
// shows the form again as it was sent, with each problem beside its row or line.
//
// The social security card's proof needs the card and its reader (the card computes a
// cryptogram over the bill), which a browser cannot reach: the page says so and points to the
// hospital's system or `shebao terminal settle`.

// settleRows is how many item rows the form shows unless asked for more; maxSettleRows bounds it.
const (
	settleRows    = 6
	maxSettleRows = 30
)

// maxItemText bounds the pasted item lines (500 lines of a long bill fit easily).
const maxItemText = 64 << 10

// settleForm is the settlement form, as rendered and as sent back after a problem.
type settleForm struct {
	Kinds       []string // the institution's kinds: a hospital's outpatient and inpatient, a pharmacy's pharmacy
	Kind        string
	Date        string
	UseAccount  bool
	MedicalCard string
	Bank        string
	Rows        []itemRow
	Lines       string
	LinesIssue  string // problems with the pasted lines, one per line number
	IdemKey     string // made when the form is rendered, so a double submit settles once
	MoreRows    int    // the row count the "more rows" link asks for; 0 when at the limit
}

// itemRow is one row of item inputs.
type itemRow struct {
	N                            int // 1-based, for the element ids
	Code, Name, Category, Amount string
	Problem                      string
}

func (r itemRow) empty() bool {
	return strings.TrimSpace(r.Code) == "" && strings.TrimSpace(r.Name) == "" && strings.TrimSpace(r.Amount) == ""
}

// newIdemKey is a fresh idempotency key for a form: 128 random bits.
func newIdemKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// kindsOf are the settlement kinds an institution may settle.
func kindsOf(in settle.Institution) []string {
	if in.Kind == settle.Pharmacy {
		return []string{policy.Pharmacy}
	}
	return []string{policy.Outpatient, policy.Inpatient}
}

// newSettleForm is an empty form for the institution: Beijing's today, the account used, fresh key.
func (s *Server) newSettleForm(in settle.Institution, rows int) *settleForm {
	rows = min(max(rows, settleRows), maxSettleRows)
	f := &settleForm{Kinds: kindsOf(in), Date: period.Today(s.Now()).Format("2006-01-02"), UseAccount: true, IdemKey: newIdemKey()}
	f.Kind = f.Kinds[0]
	for i := range rows {
		f.Rows = append(f.Rows, itemRow{N: i + 1, Category: string(settle.CatA)})
	}
	if rows < maxSettleRows {
		f.MoreRows = min(rows+6, maxSettleRows)
	}
	return f
}

// operatedInstitution is the institution the operator acts for.
func (s *Server) operatedInstitution(ctx context.Context, p *auth.Principal) (settle.Institution, error) {
	if p.InstitutionCode == "" {
		return settle.Institution{}, errs.E(errs.Forbidden, "this login does not act for an institution")
	}
	return s.Settle.Institution(ctx, p, p.InstitutionCode)
}

// counterSettle settles the bill the form sent and shows its receipt.
func (s *Server) counterSettle(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, maxItemText+64<<10)
	if err := r.ParseForm(); err != nil {
		return errs.E(errs.BadRequest, "the form could not be read")
	}
	inst, err := s.operatedInstitution(ctx, p)
	if err != nil {
		return err
	}
	f := &settleForm{Kinds: kindsOf(inst), Kind: r.PostFormValue("kind"), Date: strings.TrimSpace(r.PostFormValue("date")),
		UseAccount: r.PostFormValue("use_account") == "1", MedicalCard: strings.TrimSpace(r.PostFormValue("medical_card")),
		Bank: strings.TrimSpace(r.PostFormValue("bank")), Lines: r.PostFormValue("lines"), IdemKey: r.PostFormValue("idem")}
	n, _ := strconv.Atoi(r.PostFormValue("rows"))
	n = min(max(n, settleRows), maxSettleRows)
	for i := range n {
		k := strconv.Itoa(i + 1)
		f.Rows = append(f.Rows, itemRow{N: i + 1, Code: r.PostFormValue("code" + k), Name: r.PostFormValue("name" + k),
			Category: r.PostFormValue("category" + k), Amount: r.PostFormValue("amount" + k)})
	}
	if n < maxSettleRows {
		f.MoreRows = min(n+6, maxSettleRows)
	}
	v := s.view(r, p, "counter.title", &counterPage{Settle: f, Institution: &inst, Sent: "settle"})

	// The rows first, then the pasted lines; where each item came from, to put a problem beside it.
	var items []settle.ItemIn
	var from []string // "row.N" or "line.N"
	for _, row := range f.Rows {
		if row.empty() {
			continue
		}
		items = append(items, settle.ItemIn{Code: row.Code, Name: row.Name, Category: row.Category, Amount: row.Amount})
		from = append(from, "row."+strconv.Itoa(row.N))
	}
	pasted, lineNos, perr := parseItemLines(f.Lines)
	if perr != nil {
		return s.settleProblem(w, r, v, f, perr, from)
	}
	for i, it := range pasted {
		items = append(items, it)
		from = append(from, "line."+strconv.Itoa(lineNos[i]))
	}
	use := f.UseAccount
	st, err := s.Settle.Settle(ctx, p, settle.Request{IdemKey: f.IdemKey, Kind: f.Kind, Date: f.Date, UseAccount: &use, Items: items,
		Identity: settle.Identity{ECardQR: strings.TrimSpace(r.PostFormValue("qr")), MedicalCard: f.MedicalCard, Bank: f.Bank}})
	if err != nil {
		return s.settleProblem(w, r, v, f, err, from)
	}
	// After a post, a page of its own: reloading the receipt never posts the bill again (and a
	// second post with the same key would only find the first settlement).
	http.Redirect(w, r, "/settlements/"+st.ID, http.StatusSeeOther)
	return nil
}

var itemField = regexp.MustCompile(`^items\[(\d+)\]\.(\w+)$`)

// settleProblem shows the form again with each problem by its field: an item's beside its row or
// in the list of pasted lines.
func (s *Server) settleProblem(w http.ResponseWriter, r *http.Request, v *View, f *settleForm, err error, from []string) error {
	e, ok := errs.As(err)
	if !ok || len(e.Fields) == 0 {
		return s.formError(w, r, v, "counter", err)
	}
	shown := &errs.Error{Code: e.Code, Message: v.T("form.fix"), Fields: map[string]string{}}
	type lineProblem struct {
		n    int
		text string
	}
	var byLine []lineProblem
	for _, name := range slices.Sorted(maps.Keys(e.Fields)) {
		problem := e.Fields[name]
		m := itemField.FindStringSubmatch(name)
		if m == nil {
			shown.Fields[name] = problem
			continue
		}
		i, _ := strconv.Atoi(m[1])
		if i >= len(from) {
			continue
		}
		what := v.T("item." + m[2])
		if src, n, _ := strings.Cut(from[i], "."); src == "row" {
			k, _ := strconv.Atoi(n)
			row := &f.Rows[k-1]
			row.Problem = strings.TrimSpace(row.Problem + " " + what + ": " + problem)
		} else {
			k, _ := strconv.Atoi(n)
			byLine = append(byLine, lineProblem{k, fmt.Sprintf(v.T("counter.line_problem"), n, what, problem)})
		}
	}
	slices.SortStableFunc(byLine, func(a, b lineProblem) int { return a.n - b.n })
	var lines []string
	for _, l := range byLine {
		lines = append(lines, l.text)
	}
	if _, ok := shown.Fields["identity"]; ok {
		// The service names its API fields; the cashier has a code to scan or a number to type.
		shown.Fields["identity"] = v.T("counter.identity_problem")
	}
	if p, ok := shown.Fields["lines"]; ok {
		lines = append([]string{p}, lines...)
	}
	f.LinesIssue = strings.Join(lines, "\n")
	v.Problem = shown
	return s.render(w, r, statusOf(e.Code), "counter", v)
}

// parseItemLines reads pasted item lines: one item a line, code, name, category and amount
// separated by tabs (a spreadsheet's copy) or else by commas (ASCII or full-width). A name may
// itself hold commas: the code is the first field, the category and amount the last two, the name
// everything between. The category may be written A/B/C or 甲/乙/丙(类). Blank lines are skipped.
// It returns the items and the line number each came from; the settlement checks each field.
func parseItemLines(text string) ([]settle.ItemIn, []int, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil, nil
	}
	if len(text) > maxItemText {
		return nil, nil, errs.Field("lines", fmt.Sprintf("at most %d KiB of item lines", maxItemText>>10))
	}
	if !utf8.ValidString(text) {
		return nil, nil, errs.Field("lines", "the text is not UTF-8")
	}
	var items []settle.ItemIn
	var nos []int
	for i, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		// Only spaces come off the line's ends: a tab there separates an empty first or last field.
		line = strings.Trim(line, " \r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if len(items) == 500 {
			return nil, nil, errs.Field("lines", "at most 500 item lines")
		}
		var parts []string
		if strings.Contains(line, "\t") {
			parts = strings.Split(line, "\t")
		} else {
			parts = strings.Split(strings.ReplaceAll(line, "，", ","), ",")
		}
		if len(parts) < 4 {
			return nil, nil, errs.Field("lines", fmt.Sprintf("line %d: four fields, code,name,category,amount", i+1))
		}
		n := len(parts)
		it := settle.ItemIn{Code: strings.TrimSpace(parts[0]), Name: strings.TrimSpace(strings.Join(parts[1:n-2], ",")),
			Category: category(parts[n-2]), Amount: strings.TrimSpace(parts[n-1])}
		items = append(items, it)
		nos = append(nos, i+1)
	}
	return items, nos, nil
}

// category reads an item category as a cashier may write it.
func category(s string) string {
	s = strings.TrimSuffix(strings.TrimSpace(s), "类")
	switch s {
	case "甲", "a":
		return "A"
	case "乙", "b":
		return "B"
	case "丙", "c":
		return "C"
	}
	return s
}

// receiptPage is a settlement's receipt: every figure of the split, printable; the refund's
// confirmation when asked for.
type receiptPage struct {
	S           settle.Settlement
	Institution string // its name
	MaskedID    string
	CanRefund   bool
	Confirm     bool   // the refund's confirmation step
	RefundKey   string // the refund form's idempotency key
	Back        string // where the receipt was opened from
}

func (s *Server) receiptView(r *http.Request, p *auth.Principal, id string) (*View, *receiptPage, error) {
	st, err := s.Settle.Get(r.Context(), p, id)
	if err != nil {
		return nil, nil, err
	}
	name, err := s.Settle.InstitutionName(r.Context(), st.Institution)
	if err != nil {
		return nil, nil, err
	}
	data := &receiptPage{S: st, Institution: name, MaskedID: st.IDNumber.Masked(), CanRefund: p.Can(auth.Settle) && !st.Refunded(), Back: "/counter"}
	switch {
	case p.Role == auth.Resident:
		data.Back = "/medical"
	case !p.Can(auth.Settle):
		data.Back = "/settlements"
	}
	return s.view(r, p, "receipt.title", data), data, nil
}

func (s *Server) receiptPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v, data, err := s.receiptView(r, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	if r.URL.Query().Get("done") == "refunded" && data.S.Refunded() {
		v.Notice = v.T("receipt.refunded_notice")
	}
	return s.render(w, r, http.StatusOK, "receipt", v)
}

// refundConfirm is the refund's first step: the receipt with what the refund gives back and one
// button; nothing changes until it is pressed.
func (s *Server) refundConfirm(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v, data, err := s.receiptView(r, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	if data.S.Refunded() {
		v.Problem = &errs.Error{Code: errs.Conflict, Message: v.T("receipt.already_refunded")}
		return s.render(w, r, http.StatusConflict, "receipt", v)
	}
	data.Confirm, data.RefundKey = true, newIdemKey()
	return s.render(w, r, http.StatusOK, "receipt", v)
}

// refundSubmit reverses the settlement, once: the form's key makes a double press one refund.
func (s *Server) refundSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id := r.PathValue("id")
	if _, err := s.Settle.Refund(r.Context(), p, id, r.PostFormValue("idem")); err != nil {
		v, _, verr := s.receiptView(r, p, id)
		if verr != nil {
			return verr
		}
		return s.formError(w, r, v, "receipt", err)
	}
	http.Redirect(w, r, "/settlements/"+url.PathEscape(id)+"?done=refunded", http.StatusSeeOther)
	return nil
}
