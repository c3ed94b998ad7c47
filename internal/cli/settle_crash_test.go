package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/keys"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
)

// TestSettlementsSurviveSIGKILL kills `shebao serve` with SIGKILL at ten random moments while
// hospital-system clients settle with social security cards against it, as in bench settle.
// After every kill, with the server down: every settlement a client saw acknowledged (201) is in
// the database under its key with the id it was given; no key, ledger entry or card counter is
// there twice; the card counters are exactly those of the settlements; ledger check (the ledger,
// the contributions, the settlements and their year counters) passes; no account is overdrawn.
// Then the server starts again, its custodians unseal it over the API, and the clients first send
// every request they got no answer to again, with the same key and body, as a hospital's system
// does — each must now be answered 201, a replay if it had committed — before settling on.
func TestSettlementsSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes for a while")
	}
	eachDB(t, func(t *testing.T, args []string, open func() *db.DB) {
		ctx := context.Background()
		if code, out, errOut := run(t, nil, "", append([]string{"migrate"}, args...)...); code != 0 {
			t.Fatalf("migrate: %d %s %s", code, out, errOut)
		}
		d := open()
		ks := keys.New(d, policy.NewStore(d), slog.New(slog.NewTextHandler(io.Discard, nil)))
		city, err := buildSettleCity(ctx, d, ks, "330100", 2000, 4, func(string, ...any) {})
		if err != nil {
			t.Fatal(err)
		}
		secret := filepath.Join(t.TempDir(), "secret.key")
		rec := &answers{acked: map[string]string{}, pending: map[string]sentSettlement{}, atc: map[string]int{}}
		rng := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 12))
		const kills = 10
		midBatch := 0
		for round := 0; round <= kills; round++ {
			base, srv := startCrashServer(t, args, secret)
			unsealOverAPI(t, base, city)
			client := benchClient(16)
			rec.retry(t, base, client, city)
			if round == kills {
				_ = srv.Process.Signal(syscall.SIGTERM)
				_ = srv.Wait()
				break
			}
			before := rec.ackCount()
			l := &settleLoad{base: base, client: client, city: city, clients: 16, date: period.Today(d.Now()).Format("2006-01-02"),
				holdUnanswered: true, onAnswer: rec.note}
			lctx, stop := context.WithCancel(ctx)
			done := make(chan loadResult)
			go func() { done <- l.run(lctx, time.Minute) }()
			// The kill comes at a random moment after the round's first acknowledged settlement (a
			// fixed delay killed a slow, loaded machine's server before it had settled anything).
			rec.waitForAck(t, before)
			time.Sleep(time.Duration(rng.Int64N(int64(1300 * time.Millisecond))))
			_ = srv.Process.Signal(syscall.SIGKILL)
			_ = srv.Wait()
			stop()
			res := <-done
			if res.ok == 0 {
				t.Fatalf("round %d: nothing was settled before the kill: %s", round, res.problems())
			}
			if len(rec.pending) > 0 {
				midBatch++
			}
			rec.check(t, d, city, round)
		}
		if midBatch < kills/2 {
			t.Errorf("only %d of %d kills left requests unanswered; the test no longer tests much", midBatch, kills)
		}
		if code, out, errOut := run(t, nil, "", append([]string{"ledger", "check"}, args...)...); code != 0 {
			t.Fatalf("ledger check: %d %s %s", code, out, errOut)
		}
		if len(rec.pending) != 0 {
			t.Fatalf("%d requests still unanswered after the last restart", len(rec.pending))
		}
		t.Logf("%d kills (%d with requests in flight), %d settlements acknowledged, %d found committed before their answer and retried",
			kills, midBatch, len(rec.acked), rec.unanswered)
	})
}

// answers is what the clients saw: the settlements acknowledged (key → id), the requests not
// answered (to send again), and each key's card and counter.
type answers struct {
	mu      sync.Mutex
	acked   map[string]string
	pending map[string]sentSettlement
	atc     map[string]int // key → the card's transaction counter in its proof
	card    map[string]int // key → card index
	// unanswered counts the settlements found committed that their client had no answer to.
	unanswered int
}

func (a *answers) note(s sentSettlement, status int, id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.card == nil {
		a.card = map[string]int{}
	}
	var body hisSettlement
	_ = json.Unmarshal(s.body, &body)
	a.atc[s.key], a.card[s.key] = body.Identity.Card.ATC, s.card
	switch {
	case status == http.StatusCreated:
		if prev, ok := a.acked[s.key]; ok && prev != id {
			panic(fmt.Sprintf("key %s acknowledged as %s and as %s", s.key, prev, id))
		}
		a.acked[s.key] = id
		delete(a.pending, s.key)
	case status == 0 || status >= 500:
		a.pending[s.key] = s
	default:
		panic(fmt.Sprintf("key %s refused with %d", s.key, status))
	}
}

func (a *answers) ackCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.acked)
}

// waitForAck waits until more settlements than before have been acknowledged.
func (a *answers) waitForAck(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for a.ackCount() <= before {
		if time.Now().After(deadline) {
			t.Fatal("no settlement acknowledged within a minute of the server's start")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// retry sends every unanswered request again, once the server is back; its card is then free.
func (a *answers) retry(t *testing.T, base string, client *http.Client, city *settleCity) {
	t.Helper()
	l := &settleLoad{base: base, client: client, city: city}
	a.mu.Lock()
	pending := make([]sentSettlement, 0, len(a.pending))
	for _, s := range a.pending {
		pending = append(pending, s)
	}
	a.mu.Unlock()
	for _, s := range pending {
		status, id, _, body, err := l.send(context.Background(), s)
		if err != nil || status != http.StatusCreated {
			t.Fatalf("the retry of %s: %d %s %v", s.key, status, body, err)
		}
		a.note(s, status, id)
		city.cards[s.card].busy.Store(false)
	}
}

// check compares the database, the server down, with what the clients saw.
func (a *answers) check(t *testing.T, d *db.DB, city *settleCity, round int) {
	t.Helper()
	ctx := context.Background()
	waitForDeadBackends(t, d)
	inDB := map[string]string{}
	if err := db.EachRow(ctx, d.R(), func(scan func(...any) error) error {
		var code, key, region string
		var seq int64
		if err := scan(&code, &key, &region, &seq); err != nil {
			return err
		}
		if _, dup := inDB[key]; dup {
			t.Errorf("round %d: key %s settled twice", round, key)
		}
		inDB[key] = fmt.Sprintf("%s%010d", region, seq)
		return nil
	}, "SELECT institution_code, idem_key, region, seq FROM settlements"); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for key, id := range a.acked {
		if inDB[key] != id {
			t.Errorf("round %d: %s was acknowledged as settlement %s; the database has %q", round, key, id, inDB[key])
		}
	}
	// Every settlement in the database is one the clients sent; the committed ones of those not
	// answered are the only ones the clients do not know of yet.
	lastATC := map[int]int{}
	for key := range inDB {
		if _, ok := a.atc[key]; !ok {
			t.Errorf("round %d: settlement under %s, which no client sent", round, key)
			continue
		}
		if _, acked := a.acked[key]; !acked {
			if _, pending := a.pending[key]; !pending {
				t.Errorf("round %d: settlement under %s, which was neither answered nor left unanswered", round, key)
			}
			a.unanswered++ // committed, but the kill came before the answer
		}
		lastATC[a.card[key]] = max(lastATC[a.card[key]], a.atc[key])
	}
	// A card's counter moved exactly with its settlements: it is the highest counter among them.
	stored := map[string]int{}
	if err := db.EachRow(ctx, d.R(), func(scan func(...any) error) error {
		var id string
		var atc int
		if err := scan(&id, &atc); err != nil {
			return err
		}
		stored[id] = atc
		return nil
	}, "SELECT card_id, last_atc FROM card_transaction_counters"); err != nil {
		t.Fatal(err)
	}
	byID := map[string]int{}
	for c, atc := range lastATC {
		byID[city.cards[c].cardID] = atc
	}
	if len(stored) != len(byID) {
		t.Errorf("round %d: %d card counters stored, %d cards settled", round, len(stored), len(byID))
	}
	for id, atc := range byID {
		if stored[id] != atc {
			t.Errorf("round %d: card %s: counter %d stored, its settlements' highest %d", round, id, stored[id], atc)
		}
	}
	chk, err := checkSettled(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if chk.doubleDebits != 0 || chk.overdrafts != 0 || chk.balanceMismatches != 0 || chk.ledger != "passed" || chk.settlements != len(inDB) {
		t.Fatalf("round %d: %+v", round, chk)
	}
}

// waitForDeadBackends waits, on PostgreSQL, until no backend of the killed server is still at work:
// a COMMIT the server sent just before SIGKILL is carried out by its backend after the process is
// gone, and the check, reading the settlements and then the counters, would see the one without
// the other. Idle backends hold no transaction and are left to notice the closed socket.
func waitForDeadBackends(t *testing.T, d *db.DB) {
	t.Helper()
	if d.Dialect() != db.Postgres {
		return
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var busy int
		if err := d.R().QueryRowContext(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND state IS NOT NULL AND state <> 'idle'`).Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if busy == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d backends of the killed server still at work after 30 s", busy)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startCrashServer starts `shebao serve` as a child process on a free loopback port and waits until it
// answers.
func startCrashServer(t *testing.T, dbArgs []string, secret string) (string, *exec.Cmd) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := asCommand(append([]string{"serve", "--addr", addr, "--log-level", "error", "--secret-key-file", secret}, dbArgs...)...)
	var errOut bytes.Buffer
	c.Stderr = &errOut
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr
	for deadline := time.Now().Add(15 * time.Second); ; {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base, c
			}
		}
		if time.Now().After(deadline) {
			_ = c.Process.Kill()
			_ = c.Wait()
			t.Fatalf("the server did not start: %v %s", err, errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// unsealOverAPI has each custodian enter their component, as after every restart.
func unsealOverAPI(t *testing.T, base string, city *settleCity) {
	t.Helper()
	for _, c := range city.custodians {
		req, _ := http.NewRequest("POST", base+"/api/v1/keys/unseal", bytes.NewReader([]byte(`{"component":"`+c.component+`"}`)))
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("unseal: %d %s", resp.StatusCode, b)
		}
	}
}
