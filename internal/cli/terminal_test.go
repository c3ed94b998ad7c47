package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/demo"
	"github.com/shebao/shebao/internal/keys"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/settle"
)

// TestTerminalSettle: `shebao terminal settle` at demo-institution's counter pays with the demo
// resident's social security card — its software card written by `card sim issue` — against a real
// `serve --demo`: the card signs the bill read from a file with the template's Chinese header, the
// server settles, and the receipt, the answer and the database agree. Signed while the server is
// away, the request goes again with the printed key and is settled once; the card file's older
// state (a copy taken before paying) is refused; a wrong PIN, a bad bill and a refused kind are
// named; the settlement is refunded once. On both engines.
func TestTerminalSettle(t *testing.T) {
	eachDB(t, testTerminalSettle)
}

func testTerminalSettle(t *testing.T, dbArgs []string, open func() *db.DB) {
	ctx := context.Background()
	serve := func(addr string) func() int {
		_, _, stop := startServe(t, append(append([]string{"serve", "--demo"}, dbArgs...), "--addr", addr)...)
		return stop
	}
	serve(freeAddr(t))()

	// At the card desk: the resident collects their card and activates it; the manufacturer's
	// chip of it is a card file.
	d := open()
	var cardID int64
	var app, number, chipID, idNumber string
	if err := d.R().QueryRowContext(ctx, `SELECT c.id, c.application_no, c.card_number, c.card_id, p.id_number FROM cards c JOIN persons p ON p.id = c.person_id
		JOIN users u ON u.person_id = c.person_id WHERE u.username = 'demo-resident' AND c.state = 'at_outlet'`).Scan(&cardID, &app, &number, &chipID, &idNumber); err != nil {
		t.Fatal(err)
	}
	pol := policy.NewStore(d)
	cards := card.New(d, pol, keys.New(d, pol, nil))
	clerk := &auth.Principal{User: auth.User{Username: "demo-clerk", Role: auth.Clerk, Roles: []auth.Role{auth.Clerk}, Regions: []string{demo.Region}}}
	if _, err := cards.Collect(ctx, clerk, cardID, idNumber, number); err != nil {
		t.Fatal(err)
	}
	if _, err := cards.Activate(ctx, clerk, cardID, "246810"); err != nil {
		t.Fatal(err)
	}
	cardFile := filepath.Join(t.TempDir(), "resident-card.json")
	if code, out, errOut := run(t, nil, "", append([]string{"card", "sim", "issue", "--application-no", app, "--out", cardFile, "--pin", "246810"}, dbArgs...)...); code != 0 {
		t.Fatalf("card sim issue: %s %s", out, errOut)
	}
	code, out, errOut := run(t, nil, "", append([]string{"token", "add", "--username", "demo-institution"}, dbArgs...)...)
	if code != 0 {
		t.Fatalf("token add: %s", errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	env := map[string]string{"SHEBAO_TOKEN": lines[len(lines)-1]}

	addr := freeAddr(t)
	stop := serve(addr)
	defer func() { stop() }()
	env["SHEBAO_SERVER"] = "http://" + addr
	items := filepath.Join(t.TempDir(), "bill.csv")
	os.WriteFile(items, []byte("项目编码,项目名称,类别,金额\n110200001,普通门诊诊查费,甲类,25.00\nXJ01CAA040A001010100134,阿莫西林胶囊,甲,18.5\n"+
		"XM01AEB081A012010101561,布洛芬缓释胶囊,乙类,30.00\nC14060000001,医用护腰带,丙类,60.00\n"), 0o600)
	terminal := func(stdin string, args ...string) (int, string, string) {
		t.Helper()
		return run(t, env, stdin, append([]string{"terminal", "settle"}, args...)...)
	}

	// A bad bill is named line by line, before the card signs anything.
	bad := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(bad, []byte("code,name,category,amount\nX1,诊查费,D,12.00\nX2,药品,A,twelve\n"), 0o600)
	if code, _, e := terminal("", "--card", cardFile, "--items", bad, "--pin", "246810"); code != 1 || !strings.Contains(e, "line 2: category") || !strings.Contains(e, "line 3: amount") {
		t.Fatalf("a bad bill: %d %s", code, e)
	}
	// A wrong PIN: the card refuses and remembers the try.
	if code, _, e := terminal("", "--card", cardFile, "--items", items, "--pin", "135790"); code != 1 || !strings.Contains(e, "2 tries left") {
		t.Fatalf("a wrong PIN: %d %s", code, e)
	}
	before, err := os.ReadFile(cardFile)
	if err != nil {
		t.Fatal(err)
	}

	// The holder types the PIN on the terminal (standard input); the card signs, but the server
	// cannot be reached: the terminal says how to send it again.
	env["SHEBAO_SERVER"] = "http://" + freeAddr(t)
	code, out, errOut = terminal("246810\n", "--card", cardFile, "--items", items, "--institution", demo.DemoHospital)
	env["SHEBAO_SERVER"] = "http://" + addr
	key := regexp.MustCompile(`idempotency key (term-[0-9a-f]{24})`).FindStringSubmatch(out)
	if code != 1 || key == nil || !strings.Contains(errOut, "send it again with --card "+cardFile+" --key "+key[1]) {
		t.Fatalf("paying while the server is away: %d %s %s", code, out, errOut)
	}
	// Sent again with the key alone: the request the card signed, settled now.
	code, out, errOut = terminal("", "--card", cardFile, "--key", key[1])
	if code != 0 || strings.Contains(out, "a retry") {
		t.Fatalf("terminal settle: %d %s %s", code, out, errOut)
	}
	st := answerOf(t, out)
	if st.Means != "social_security_card" || st.Institution != demo.DemoHospital || st.Total != "133.50" || st.Kind != "outpatient" || len(st.Items) != 4 {
		t.Fatalf("answer: %+v", st)
	}
	yuan := func(s string) money.Fen {
		v, err := money.ParseYuan(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		return v
	}
	if yuan(st.Pool)+yuan(st.Account)+yuan(st.Cash) != yuan(st.Total) || yuan(st.SelfPayC) != 6000 || yuan(st.FirstSelfPayB) != 300 || yuan(st.Eligible) != 7050 {
		t.Fatalf("the split: %+v", st)
	}
	for _, want := range []string{"医保结算单 · Medical insurance settlement", "社会保障卡 social security card", "丙类 C", st.Person.Name + " " + st.Person.IDNumber} {
		if !strings.Contains(out, want) {
			t.Errorf("the receipt has no %q:\n%s", want, out)
		}
	}
	for label, v := range map[string]string{"医疗费总额 Total": st.Total, "丙类自费 Self-paid, category C": st.SelfPayC, "乙类先行自付 Paid first, category B": st.FirstSelfPayB,
		"符合范围 Eligible": st.Eligible, "起付线 Deductible": st.Deductible, "统筹支付比例 Pool ratio (%)": st.Ratio, "统筹基金支付 Paid by the pooled fund": st.Pool,
		"个人账户支付 Paid from the personal account": st.Account, "现金支付 Paid in cash": st.Cash, "年度统筹剩余限额 Pool cap left this year": st.CapLeft,
		"个人账户余额 Personal account balance": st.AccountBalance} {
		if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(label) + ` +` + regexp.QuoteMeta(v) + `$`).MatchString(out) {
			t.Errorf("the receipt does not show %s %s:\n%s", label, v, out)
		}
	}
	if strings.Contains(st.Person.IDNumber, idNumber) || !strings.HasPrefix(st.Person.IDNumber, idNumber[:4]) {
		t.Errorf("the receipt shows the ID number %q; want it masked", st.Person.IDNumber)
	}

	// The database holds the settlement as the receipt shows it, paid with this card's first proof.
	var means, ref, operator string
	var total, pool, account, cash int64
	var lineCount, atc int
	region, seq, err := settle.ParseID(st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.R().QueryRowContext(ctx, `SELECT means, card_ref, operator, total, pool, account, cash, (SELECT COUNT(*) FROM settlement_items i WHERE i.region = s.region AND i.seq = s.seq)
		FROM settlements s WHERE region = $1 AND seq = $2`, region, seq).Scan(&means, &ref, &operator, &total, &pool, &account, &cash, &lineCount); err != nil {
		t.Fatal(err)
	}
	if means != "social_security_card" || ref != chipID || operator != "demo-institution" || money.Fen(total) != yuan(st.Total) || money.Fen(pool) != yuan(st.Pool) ||
		money.Fen(account) != yuan(st.Account) || money.Fen(cash) != yuan(st.Cash) || lineCount != 4 {
		t.Fatalf("stored: %s %s %s %d %d %d %d, %d lines; answered %+v", means, ref, operator, total, pool, account, cash, lineCount, st)
	}
	if err := d.R().QueryRowContext(ctx, "SELECT last_atc FROM card_transaction_counters WHERE card_id = $1", chipID).Scan(&atc); err != nil || atc != 1 {
		t.Fatalf("the card's counter: %d (%v); want its first proof", atc, err)
	}
	count := func() int {
		var n int
		if err := d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM settlements WHERE card_ref = $1", chipID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// Again with the key: the first answer.
	code, again, errOut := terminal("", "--card", cardFile, "--key", key[1])
	if code != 0 || !strings.Contains(again, "a retry") || answerOf(t, again).ID != st.ID || count() != 1 {
		t.Fatalf("retry: %d %s %s (%d settlements)", code, again, errOut, count())
	}

	// The card file as it was before paying: its proof counts 1 again, which the card used.
	if err := os.WriteFile(cardFile, before, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, e := terminal("", "--card", cardFile, "--items", items, "--pin", "246810"); code != 1 || !strings.Contains(e, "HTTP 409") || !strings.Contains(e, "used already") {
		t.Fatalf("a replayed card file: %d %s %s", code, out, e)
	}
	if count() != 1 {
		t.Fatalf("%d settlements with the card after the replay", count())
	}
	// A refusal the server names: a hospital does not settle pharmacy purchases.
	if code, _, e := terminal("", "--card", cardFile, "--items", items, "--pin", "246810", "--kind", "pharmacy"); code != 1 ||
		!strings.Contains(e, "HTTP 422") || !strings.Contains(e, "kind: a hospital settles outpatient or inpatient bills") {
		t.Fatalf("a pharmacy purchase at the hospital: %d %s", code, e)
	}

	// The refund, once.
	code, out, errOut = terminal("", "--refund", st.ID, "--key", "refund-1")
	if code != 0 || !strings.Contains(out, "医保退费单 · Medical insurance refund") || !answerOf(t, out).Refunded {
		t.Fatalf("refund: %d %s %s", code, out, errOut)
	}
	if code, _, e := terminal("", "--refund", st.ID); code != 1 || !strings.Contains(e, "HTTP 409") || !strings.Contains(e, "refunded already") {
		t.Fatalf("a second refund: %d %s", code, e)
	}
	if c := stop(); c != 0 {
		t.Fatalf("serve exit %d", c)
	}
	stop = func() int { return 0 }
	if code, out, e := run(t, nil, "", append([]string{"ledger", "check"}, dbArgs...)...); code != 0 {
		t.Fatalf("ledger check: %s %s", out, e)
	}
}

// answerOf reads the answer the terminal printed last: the JSON after the receipt.
func answerOf(t *testing.T, out string) receipt {
	t.Helper()
	i := strings.LastIndex(out, "\n{")
	var r receipt
	if i < 0 || json.Unmarshal([]byte(out[i+1:]), &r) != nil || r.ID == "" {
		t.Fatalf("no answer in the output:\n%s", out)
	}
	return r
}
