package cli

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/width"

	"github.com/shebao/shebao/internal/apdu"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/settle"
	"github.com/shebao/shebao/internal/sheet"
)

// runTerminal: `shebao terminal settle`, a hospital's settlement terminal on the command line. It
// reads the bill from a file, has the social security card (a software card file of `shebao card
// sim`) sign it after the holder's PIN, and sends the settlement to a running server as a
// hospital's system does (POST /api/v1/settlements, docs/settlement.md); `--refund ID` reverses
// one. It holds no business rule: the server splits the bill and refuses what it must.
func runTerminal(ctx context.Context, io IO, args []string) error {
	if len(args) == 0 || args[0] != "settle" {
		return fmt.Errorf("%w: shebao terminal settle --card FILE --items FILE [--institution CODE] [--kind K] [--date D] [--pin PIN] [--no-account] [--key K] | --refund ID", errUsage)
	}
	return terminalSettle(ctx, io, args[1:])
}

// savedRequest is the last settlement request a card signed, kept beside its card file
// (FILE.request.json): the card's counter has moved once it signed, so only the same request,
// byte for byte, can be sent again under the same idempotency key.
type savedRequest struct {
	Key  string          `json:"key"`
	Body json.RawMessage `json:"body"`
}

// terminalBody is the settlement request as the API takes it.
type terminalBody struct {
	Kind       string           `json:"kind"`
	Date       string           `json:"date"`
	Identity   terminalIdentity `json:"identity"`
	UseAccount bool             `json:"use_account"`
	Items      []terminalItem   `json:"items"`
}

type terminalIdentity struct {
	Card terminalProof `json:"social_security_card"`
}

type terminalProof struct {
	CardID        string `json:"card_id"`
	KeyVersion    int    `json:"key_version"`
	ATC           int    `json:"atc"`
	Unpredictable string `json:"unpredictable_number"`
	Cryptogram    string `json:"cryptogram"`
}

type terminalItem struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Category string `json:"category"`
	Amount   string `json:"amount"`
}

func terminalSettle(ctx context.Context, io IO, args []string) error {
	fs := newFlags("terminal settle", io)
	server := fs.String("server", envOr(io.Env, "SHEBAO_SERVER", "http://127.0.0.1:8080"), "the running server (SHEBAO_SERVER)")
	token := fs.String("token", io.Env("SHEBAO_TOKEN"), "the institution operator's API token (SHEBAO_TOKEN)")
	cardFile := fs.String("card", "", "the social security card: a card file of shebao card sim personalise or issue")
	itemsFile := fs.String("items", "", "the bill: CSV or XLSX with the header code,name,category,amount (or 项目编码,项目名称,类别,金额)")
	institution := fs.String("institution", "", "the institution's 12-character code; default the one the token's login operates")
	kind := fs.String("kind", policy.Outpatient, "outpatient, inpatient or pharmacy")
	date := fs.String("date", "", "the settlement date, YYYY-MM-DD; default today in Beijing")
	pin := fs.String("pin", "", "the card holder's PIN (seen by anyone who lists the machine's processes); default typed on standard input")
	noAccount := fs.Bool("no-account", false, "the personal account pays nothing: the holder pays their part in cash")
	key := fs.String("key", "", "the idempotency key; default a new one, printed so that a retry can give it")
	refund := fs.String("refund", "", "refund the settlement with this id instead of settling")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *token == "" {
		return fmt.Errorf("%w: give --token or SHEBAO_TOKEN (shebao token add --username OPERATOR)", errUsage)
	}
	if *key == "" {
		*key = newIdemKey()
	} else if *key = strings.TrimSpace(*key); *key == "" || len(*key) > 100 {
		return fmt.Errorf("%w: --key: 1–100 characters", errUsage)
	}
	api := terminalAPI{server: *server, token: *token}
	if *refund != "" {
		if *cardFile != "" || *itemsFile != "" {
			return fmt.Errorf("%w: --refund ID takes no --card or --items: the whole settlement is reversed", errUsage)
		}
		retry := "--refund " + *refund + " --key " + *key
		fmt.Fprintf(io.Out, "idempotency key %s (to retry this refund: %s)\n", *key, retry)
		return api.send(ctx, io, "POST", "/api/v1/settlements/"+url.PathEscape(strings.TrimSpace(*refund))+"/refund", *key, nil, "refund", retry)
	}
	if *cardFile == "" {
		return fmt.Errorf("%w: --card FILE and --items FILE are required (or --refund ID)", errUsage)
	}
	savedPath := *cardFile + ".request.json"
	retry := "--card " + *cardFile + " --key " + *key

	// A retry: the request the card signed under this key, sent again as it was.
	if b, err := os.ReadFile(savedPath); err == nil {
		var saved savedRequest
		if json.Unmarshal(b, &saved) == nil && saved.Key == *key {
			fmt.Fprintf(io.Out, "resending the request the card signed under key %s (%s)\n", *key, savedPath)
			return api.send(ctx, io, "POST", "/api/v1/settlements", *key, saved.Body, "settlement", retry)
		}
	}
	if *itemsFile == "" {
		return fmt.Errorf("%w: --items FILE is required (a retry with --key finds none saved under that key in %s)", errUsage, savedPath)
	}

	if !slices.Contains(policy.SettlementKinds, *kind) {
		return fmt.Errorf("%w: --kind: outpatient, inpatient or pharmacy", errUsage)
	}
	day := period.Today(time.Now()) // the terminal's own clock, as a hospital's system has
	if *date != "" {
		d, err := period.ParseDate(*date)
		if err != nil {
			return fmt.Errorf("%w: --date: %v", errUsage, err)
		}
		day = d
	}
	if *institution == "" {
		code, err := api.ownInstitution(ctx)
		if err != nil {
			return err
		}
		*institution = code
	}
	code, err := settle.ParseCode(*institution)
	if err != nil {
		return fmt.Errorf("%w: --institution: %v", errUsage, err)
	}
	data, err := os.ReadFile(*itemsFile)
	if err != nil {
		return fmt.Errorf("--items: %w", err)
	}
	items, err := readItems(data)
	if err != nil {
		return fmt.Errorf("--items %s: %w", *itemsFile, err)
	}
	chip, err := loadCard(*cardFile)
	if err != nil {
		return fmt.Errorf("--card: %w", err)
	}
	if *pin == "" {
		fmt.Fprint(io.Err, "PIN: ")
		line, err := bufio.NewReader(io.In).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("reading the PIN: %w", err)
		}
		*pin = strings.TrimSpace(line)
	}

	use := !*noAccount
	req := settle.Request{Kind: *kind, Date: day.Format("2006-01-02"), UseAccount: &use, Items: items}
	var un [4]byte
	if _, err := rand.Read(un[:]); err != nil {
		return err
	}
	td, err := settle.CardData(code, req, un)
	if err != nil {
		return err
	}
	pay, err := (&apdu.Terminal{Card: chip}).Pay(ctx, *pin, td)
	// The card keeps what happened, as a chip does: a PIN try used up, or its counter moved. The
	// counter is on disk before anything is sent, so no copy of this file can sign again with it.
	if serr := saveCard(*cardFile, chip); serr != nil {
		return fmt.Errorf("saving the card file: %w", serr)
	}
	if err != nil {
		return cardRefusal(err)
	}
	body, err := json.Marshal(terminalBody{Kind: req.Kind, Date: req.Date, UseAccount: use, Items: itemLines(items),
		Identity: terminalIdentity{Card: terminalProof{CardID: apdu.FormatCardID(pay.CardID), KeyVersion: int(pay.KeyVersion), ATC: int(pay.ATC),
			Unpredictable: strings.ToUpper(hex.EncodeToString(un[:])), Cryptogram: strings.ToUpper(hex.EncodeToString(pay.Cryptogram[:]))}}})
	if err != nil {
		return err
	}
	saved, _ := json.Marshal(savedRequest{Key: *key, Body: body})
	if err := os.WriteFile(savedPath, saved, 0o600); err != nil { // it holds the bill: the holder's only
		return fmt.Errorf("saving the request: %w", err)
	}
	fmt.Fprintf(io.Out, "idempotency key %s (to retry this settlement: %s)\n", *key, retry)
	return api.send(ctx, io, "POST", "/api/v1/settlements", *key, body, "settlement", retry)
}

func newIdemKey() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "term-" + hex.EncodeToString(b[:])
}

// cardRefusal says in the counter's words why the card made no proof.
func cardRefusal(err error) error {
	var se *apdu.StatusError
	if errors.As(err, &se) {
		if n, ok := se.TriesLeft(); ok {
			return fmt.Errorf("the card refused the PIN (%04X): %d tries left", se.SW, n)
		}
		if se.Blocked() {
			return fmt.Errorf("the card's PIN is blocked (%04X): the holder has it reset at a service outlet", se.SW)
		}
	}
	return fmt.Errorf("the card made no proof: %w", err)
}

// The item file's columns: the English field names, or the Chinese of a hospital's export.
var itemColumns = []struct {
	field string
	names []string
}{
	{"code", []string{"code", "项目编码", "医保编码", "编码"}},
	{"name", []string{"name", "项目名称", "名称"}},
	{"category", []string{"category", "类别", "甲乙类", "医保类别"}},
	{"amount", []string{"amount", "金额", "费用"}},
}

// categories are the ways a bill writes an item's category.
var categories = map[string]string{"A": "A", "B": "B", "C": "C", "甲": "A", "乙": "B", "丙": "C", "甲类": "A", "乙类": "B", "丙类": "C"}

// maxItemLines is the settlement's bound on a bill.
const maxItemLines = 500

// readItems reads a bill: a CSV or XLSX table with a header row and one item a line. Every problem
// is reported with its line, and nothing is sent unless the whole file is good.
func readItems(data []byte) ([]settle.ItemIn, error) {
	t, err := sheet.Read(bytes.NewReader(data), sheet.Limits{MaxBytes: 4 << 20, MaxRows: maxItemLines, MaxCols: 16, MaxCell: 200})
	if err != nil {
		return nil, err
	}
	col := map[string]int{}
	var missing []string
	for _, c := range itemColumns {
		if col[c.field] = t.Column(c.names...); col[c.field] < 0 {
			missing = append(missing, c.field+" ("+c.names[1]+")")
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the header has no column %s; it is code,name,category,amount or 项目编码,项目名称,类别,金额", strings.Join(missing, ", "))
	}
	if len(t.Rows) == 0 {
		return nil, errors.New("no item lines under the header")
	}
	var items []settle.ItemIn
	var problems []string
	for _, r := range t.Rows {
		bad := func(f string, a ...any) {
			problems = append(problems, fmt.Sprintf("line %d: %s", r.Line, fmt.Sprintf(f, a...)))
		}
		it := settle.ItemIn{Code: r.Cells[col["code"]], Name: r.Cells[col["name"]]}
		if it.Code == "" {
			bad("the code is empty")
		}
		if it.Name == "" {
			bad("the name is empty")
		}
		cat, ok := categories[strings.ToUpper(width.Fold.String(r.Cells[col["category"]]))]
		if !ok {
			bad("category %q: A (甲类), B (乙类) or C (丙类)", clipText(r.Cells[col["category"]]))
		}
		it.Category = cat
		amt, err := money.ParseYuan(r.Cells[col["amount"]])
		switch {
		case err != nil:
			bad("amount %q: an amount in yuan like 12.50", clipText(r.Cells[col["amount"]]))
		case amt <= 0:
			bad("amount %s: above 0.00", amt)
		}
		it.Amount = amt.String()
		items = append(items, it)
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return items, nil
}

func clipText(s string) string {
	if utf8.RuneCountInString(s) > 20 {
		return string([]rune(s)[:20]) + "…"
	}
	return s
}

func itemLines(items []settle.ItemIn) []terminalItem {
	out := make([]terminalItem, 0, len(items))
	for _, it := range items {
		out = append(out, terminalItem(it))
	}
	return out
}

// terminalAPI is the server as the terminal calls it.
type terminalAPI struct{ server, token string }

// ownInstitution asks the server which institution the token's login operates (an operator sees
// only their own).
func (a terminalAPI) ownInstitution(ctx context.Context) (string, error) {
	out, _, status, err := request(ctx, a.server, a.token, "GET", "/api/v1/institutions", nil, nil)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", serverRefusal("reading your institution", status, out)
	}
	var list struct {
		Institutions []struct {
			Code string `json:"code"`
		} `json:"institutions"`
	}
	if err := json.Unmarshal(out, &list); err != nil || len(list.Institutions) != 1 {
		return "", fmt.Errorf("%w: give --institution CODE (the token's login does not operate exactly one institution)", errUsage)
	}
	return list.Institutions[0].Code, nil
}

// send posts a settlement or refund and prints the receipt and the answer; retry is how to send
// it again.
func (a terminalAPI) send(ctx context.Context, io IO, method, path, key string, body []byte, what, retry string) error {
	out, h, status, err := request(ctx, a.server, a.token, method, path, body, map[string]string{"Idempotency-Key": key})
	if err != nil {
		return fmt.Errorf("%w; whether the %s was made is not known: send it again with %s", err, what, retry)
	}
	if status != http.StatusCreated && status != http.StatusOK {
		return serverRefusal("the "+what, status, out)
	}
	var st receipt
	if err := json.Unmarshal(out, &st); err != nil {
		return fmt.Errorf("the server's answer is not a settlement: %w", err)
	}
	if h.Get("Idempotency-Replayed") == "true" {
		fmt.Fprintln(io.Out, "重复请求：服务器给出首次的结果 · a retry: the server answers as it first did")
	}
	st.print(io.Out)
	var pretty bytes.Buffer
	if json.Indent(&pretty, out, "", "  ") == nil {
		out = pretty.Bytes()
	}
	fmt.Fprintln(io.Out, string(out))
	return nil
}

// serverRefusal names what the server refused and why, with every field it named.
func serverRefusal(what string, status int, body []byte) error {
	var e struct {
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
	}
	if json.Unmarshal(body, &e) != nil || e.Message == "" {
		return fmt.Errorf("the server refused %s (HTTP %d): %s", what, status, clipText(strings.TrimSpace(string(body))))
	}
	msg := fmt.Sprintf("the server refused %s (HTTP %d): %s", what, status, e.Message)
	for _, f := range slices.Sorted(func(yield func(string) bool) {
		for k := range e.Fields {
			if !yield(k) {
				return
			}
		}
	}) {
		msg += fmt.Sprintf("\n  %s: %s", f, e.Fields[f])
	}
	return errors.New(msg)
}

// request makes one API request with the headers given and returns the body, the headers and
// the status.
func request(ctx context.Context, server, token, method, path string, body []byte, headers map[string]string) ([]byte, http.Header, int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(server, "/")+path, rd)
	if err != nil {
		return nil, nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("calling %s: %w", server, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return b, resp.Header, resp.StatusCode, err
}

// receipt is a settlement as the API answers it.
type receipt struct {
	ID          string `json:"id"`
	Institution string `json:"institution"`
	Kind        string `json:"kind"`
	Date        string `json:"date"`
	Person      struct {
		Name     string `json:"name"`
		IDNumber string `json:"id_number"`
	} `json:"person"`
	Means          string         `json:"means"`
	UseAccount     bool           `json:"use_account"`
	Items          []terminalItem `json:"items"`
	Total          string         `json:"total"`
	SelfPayC       string         `json:"self_pay_c"`
	FirstSelfPayB  string         `json:"first_self_pay_b"`
	Eligible       string         `json:"eligible"`
	Deductible     string         `json:"deductible"`
	Ratio          string         `json:"ratio"`
	Pool           string         `json:"pool"`
	Account        string         `json:"account"`
	Cash           string         `json:"cash"`
	CapLeft        string         `json:"cap_left"`
	AccountBalance string         `json:"account_balance"`
	Refunded       bool           `json:"refunded"`
	RefundedAt     *time.Time     `json:"refunded_at"`
}

var (
	kindWords     = map[string]string{policy.Outpatient: "门诊 outpatient", policy.Inpatient: "住院 inpatient", policy.Pharmacy: "药店购药 pharmacy"}
	meansWords    = map[string]string{"social_security_card": "社会保障卡 social security card", "ecard": "电子社保卡 electronic card", "medical_card": "医保卡 medical insurance card"}
	categoryWords = map[string]string{"A": "甲类 A", "B": "乙类 B", "C": "丙类 C"}
)

// print writes the receipt the counter hands the holder: who, what, and every figure of the split,
// each labelled in Chinese and English.
func (r receipt) print(w io.Writer) {
	title := "医保结算单 · Medical insurance settlement"
	if r.Refunded {
		title = "医保退费单 · Medical insurance refund"
	}
	fmt.Fprintf(w, "\n%s\n", title)
	line := func(label, value string) { fmt.Fprintf(w, "  %s %s\n", padWidth(label, 36), value) }
	yesNo := map[bool]string{true: "是 yes", false: "否 no"}
	line("结算号 Settlement", r.ID)
	line("机构 Institution", r.Institution)
	line("类别 Kind", cmp.Or(kindWords[r.Kind], r.Kind))
	line("日期 Date", r.Date)
	line("参保人 Insured person", r.Person.Name+" "+r.Person.IDNumber)
	line("结算方式 Paid with", cmp.Or(meansWords[r.Means], r.Means))
	line("使用个人账户 Personal account used", yesNo[r.UseAccount])
	fmt.Fprintln(w, "  项目 Items")
	for _, it := range r.Items {
		fmt.Fprintf(w, "    %s %s %s %12s\n", padWidth(it.Code, 24), padWidth(it.Name, 22), padWidth(cmp.Or(categoryWords[it.Category], it.Category), 8), it.Amount)
	}
	figure := func(label, value string) { fmt.Fprintf(w, "  %s %12s\n", padWidth(label, 48), value) }
	figure("医疗费总额 Total", r.Total)
	figure("丙类自费 Self-paid, category C", r.SelfPayC)
	figure("乙类先行自付 Paid first, category B", r.FirstSelfPayB)
	figure("符合范围 Eligible", r.Eligible)
	figure("起付线 Deductible", r.Deductible)
	figure("统筹支付比例 Pool ratio (%)", r.Ratio)
	figure("统筹基金支付 Paid by the pooled fund", r.Pool)
	figure("个人账户支付 Paid from the personal account", r.Account)
	figure("现金支付 Paid in cash", r.Cash)
	figure("年度统筹剩余限额 Pool cap left this year", r.CapLeft)
	figure("个人账户余额 Personal account balance", r.AccountBalance)
	if r.Refunded && r.RefundedAt != nil {
		line("已退费 Refunded at", r.RefundedAt.In(period.Shanghai).Format("2006-01-02 15:04:05"))
	}
	fmt.Fprintln(w)
}

// padWidth pads s with spaces to n columns as a terminal shows it: a Chinese character takes two.
func padWidth(s string, n int) string {
	w := 0
	for _, r := range s {
		switch width.LookupRune(r).Kind() {
		case width.EastAsianWide, width.EastAsianFullwidth:
			w += 2
		default:
			w++
		}
	}
	if w >= n {
		return s
	}
	return s + strings.Repeat(" ", n-w)
}
