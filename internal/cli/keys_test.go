package cli

import (
	"context"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/apdu"
	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/config"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/keys"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/policy"
)

// TestKeyCeremony: components made by `keys component`, the keystore set up by `keys init`, the
// server started sealed, and unsealed by each custodian with `keys unseal` over the API.
func TestKeyCeremony(t *testing.T) {
	dir := t.TempDir()
	data := []string{"--data", dir}
	componentRE := regexp.MustCompile(`component: ([0-9A-F ]{39})\n\s+KCV:\s+([0-9A-F]{6})`)
	var comps []string
	for range 2 {
		code, out, _ := run(t, nil, "", "keys", "component")
		m := componentRE.FindStringSubmatch(out)
		if code != 0 || m == nil {
			t.Fatalf("keys component: %d %q", code, out)
		}
		comps = append(comps, m[1])
	}
	tokens := map[string]string{}
	for _, name := range []string{"alice", "bob"} {
		if code, _, errOut := run(t, nil, "", append([]string{"user", "add", "--username", name, "--role", "custodian", "--region", "330100"}, data...)...); code != 0 {
			t.Fatal(errOut)
		}
		code, out, errOut := run(t, nil, "", append([]string{"token", "add", "--username", name}, data...)...)
		if code != 0 {
			t.Fatal(errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		tokens[name] = lines[len(lines)-1]
	}
	code, out, errOut := run(t, nil, comps[0]+"\n"+"0000 0000 0000 0000 0000 0000 0000 000Z\n", append([]string{"keys", "init", "--custodians", "alice,bob"}, data...)...)
	if code == 0 {
		t.Fatalf("init with a malformed component succeeded: %s", out)
	}
	code, out, errOut = run(t, nil, comps[0]+"\n"+comps[1]+"\n", append([]string{"keys", "init", "--custodians", "alice,bob"}, data...)...)
	if code != 0 || !strings.Contains(out, "keystore initialised: 2 components") {
		t.Fatalf("keys init: %d %s %s", code, out, errOut)
	}
	addr := freeAddr(t)
	_, _, stop := startServe(t, "serve", "--data", dir, "--addr", addr)
	defer stop()
	server := "http://" + addr
	remote := func(who, stdin string, args ...string) (int, string) {
		code, out, errOut := run(t, map[string]string{"SHEBAO_SERVER": server, "SHEBAO_TOKEN": tokens[who]}, stdin, append([]string{"keys"}, args...)...)
		return code, out + errOut
	}
	if code, out := remote("alice", "", "status"); code != 0 || !strings.Contains(out, `"sealed": true`) {
		t.Fatalf("status: %d %s", code, out)
	}
	if code, out := remote("alice", comps[1]+"\n", "unseal"); code == 0 || !strings.Contains(out, "not your component") {
		t.Fatalf("alice enters bob's component: %d %s", code, out)
	}
	if code, out := remote("alice", comps[0]+"\n", "unseal"); code != 0 || !strings.Contains(out, `"sealed": true`) || !strings.Contains(out, `"components_entered": 1`) {
		t.Fatalf("alice unseals: %d %s", code, out)
	}
	if code, out := remote("bob", comps[1]+"\n", "unseal"); code != 0 || !strings.Contains(out, `"sealed": false`) {
		t.Fatalf("bob unseals: %d %s", code, out)
	}
}

// TestCardSim personalises a software card from a development keystore, reads it back with and
// without the key service, and blocks its PIN.
func TestCardSim(t *testing.T) {
	dir := t.TempDir()
	d, err := openDB(context.Background(), config.DB{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	pol := policy.NewStore(d)
	p, _, _ := policy.Default("330100", 202001)
	pol.Install(context.Background(), audit.System, p)
	svc := keys.New(d, pol, nil)
	if err := svc.UnsealDevelopment(context.Background(), []string{"c1", "c2"}); err != nil {
		t.Fatal(err)
	}
	admin := &auth.Principal{User: auth.User{Username: "adm", Role: auth.Admin, Regions: []string{"330100"}}}
	r, err := svc.Request(context.Background(), admin, keys.NewRequest{Kind: keys.Generate, Region: "330100"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"c1", "c2"} {
		if _, err := svc.Approve(context.Background(), &auth.Principal{User: auth.User{Username: c, Role: auth.Custodian, Regions: []string{"330100"}}}, r.ID); err != nil {
			t.Fatal(err)
		}
	}
	d.Close()
	file := filepath.Join(t.TempDir(), "card.json")
	code, out, errOut := run(t, nil, "", "card", "sim", "personalise", "--data", dir, "--out", file, "--card-number", "X00000019",
		"--id-number", "11010519491231002X", "--name", "王芳", "--pin", "482916")
	if code != 0 {
		t.Fatalf("personalise: %s %s", out, errOut)
	}
	out0 := out
	code, out, errOut = run(t, nil, "", "card", "sim", "inspect", "--data", dir, "--holder", file)
	if code != 0 || !strings.Contains(out, "X00000019") || !strings.Contains(out, "王芳 11010519491231002X") {
		t.Fatalf("inspect: %s %s", out, errOut)
	}
	if code, _, _ := run(t, nil, "", "card", "sim", "verify-pin", file, "482916"); code != 0 {
		t.Fatal("the right PIN failed")
	}
	cardID, err := apdu.ParseCardID(regexp.MustCompile(`identification code ([0-9A-F]{32})`).FindStringSubmatch(out0)[1])
	if err != nil {
		t.Fatal(err)
	}
	payWithCardFile(t, dir, file, cardID)
	var last string
	for range 3 {
		_, _, last = run(t, nil, "", "card", "sim", "verify-pin", file, "000000")
	}
	if !strings.Contains(last, "6983") {
		t.Fatalf("third wrong PIN: %s", last)
	}
	// The card file remembers it is blocked.
	if _, _, e := run(t, nil, "", "card", "sim", "verify-pin", file, "482916"); !strings.Contains(e, "6983") {
		t.Fatalf("right PIN on the blocked card file: %s", e)
	}
}

// payWithCardFile has a personalised card file make two transaction cryptograms, in two runs of
// `card sim apdu`, and the key service accept them: the file carries a transaction key diversified
// from the region's issuer key, and its counter across runs.
func payWithCardFile(t *testing.T, dir, file string, cardID [16]byte) {
	t.Helper()
	data := apdu.TransactionData{Amount: 8800, Date: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), Institution: "H33010200001",
		Unpredictable: [4]byte{9, 8, 7, 6}, Digest: [32]byte{1, 2, 3}}
	enc, err := data.Encode()
	if err != nil {
		t.Fatal(err)
	}
	d, err := openDB(context.Background(), config.DB{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	svc := keys.New(d, policy.NewStore(d), nil)
	if err := svc.UnsealDevelopment(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	for want := uint16(1); want <= 2; want++ {
		code, out, errOut := run(t, nil, "", "card", "sim", "apdu", file, "00A404000F7378312E73682EC9E7BBE1B1A3D5CF00",
			"0020000003482916", fmt.Sprintf("80AE80003A%X00", enc))
		answers := regexp.MustCompile(`< ([0-9A-F]+)`).FindAllStringSubmatch(out, -1)
		if code != 0 || len(answers) != 3 || len(answers[2][1]) != 24 || !strings.HasSuffix(answers[2][1], "9000") {
			t.Fatalf("card sim apdu: %s %s", out, errOut)
		}
		b, _ := hex.DecodeString(answers[2][1])
		p := keys.TransactionProof{CardID: cardID, KeyVersion: 1, ATC: uint16(b[0])<<8 | uint16(b[1]), Data: data, Cryptogram: [8]byte(b[2:10])}
		if p.ATC != want {
			t.Fatalf("run %d: counter %d", want, p.ATC)
		}
		if err := d.Write(context.Background(), func(tx *db.Tx) error { return svc.AcceptTransaction(context.Background(), tx, p) }); err != nil {
			t.Fatalf("run %d: the key service refuses the card file's cryptogram: %v", want, err)
		}
	}
}

// TestCardSimIssue writes the software card of a demo card record and reads its number back, as a
// clerk's terminal does at collection.
func TestCardSimIssue(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	_, _, stop := startServe(t, "serve", "--demo", "--data", dir, "--addr", addr)
	stop()
	d, err := openDB(context.Background(), config.DB{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var app, number string
	err = d.R().QueryRowContext(context.Background(), "SELECT application_no, card_number FROM cards WHERE state = 'at_outlet' LIMIT 1").Scan(&app, &number)
	d.Close()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "card.json")
	if code, out, errOut := run(t, nil, "", "card", "sim", "issue", "--data", dir, "--application-no", app, "--out", file); code != 0 {
		t.Fatalf("issue: %s %s", out, errOut)
	}
	code, out, errOut := run(t, nil, "", "card", "sim", "inspect", "--data", dir, "--holder", file)
	if code != 0 || !strings.Contains(out, "card number         "+number) {
		t.Fatalf("inspect: %s %s", out, errOut)
	}
}

func TestLedgerCheckCommand(t *testing.T) {
	dir := t.TempDir()
	d, err := openDB(context.Background(), config.DB{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	err = d.Write(context.Background(), func(tx *db.Tx) error {
		_, err := ledger.Post(context.Background(), tx, ledger.Entry{IdemKey: "k", Region: "330100", Cause: "opening_balance",
			Postings: []ledger.Posting{{Account: ledger.EmployerAccount("330100", 1), Amount: 100}, {Account: ledger.FundAccount("330100", "pension"), Amount: -100}}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if code, out, _ := run(t, nil, "", "ledger", "check", "--data", dir); code != 0 || !strings.Contains(out, "1 entries") {
		t.Fatalf("check: %d %s", code, out)
	}
	d.Write(context.Background(), func(tx *db.Tx) error {
		_, err := tx.ExecContext(context.Background(), "UPDATE ledger_postings SET amount = 99 WHERE amount = 100")
		return err
	})
	d.Close()
	if code, _, errOut := run(t, nil, "", "ledger", "check", "--data", dir); code != 1 || !strings.Contains(errOut, "does not balance") {
		t.Fatalf("check after tampering: %d %s", code, errOut)
	}
}
