package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/shebao/shebao/internal/apdu"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/keys"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
	"github.com/shebao/shebao/internal/settle"
	"github.com/shebao/shebao/internal/web"
)

// benchSettle measures medical settlement over HTTP, durable, as SPEC 5 states it: a city of
// insured persons with funded medical accounts and software social security cards, the real server
// on a loopback listener, and clients that act as hospitals' systems — each picks a person, has
// the person's card compute the transaction cryptogram over the bill, and posts the settlement
// with an Idempotency-Key. Two references are measured in the same run: the same clients doing the
// same (card included) against a handler that does nothing but answer, through a server of the same
// configuration; and serial write+fsync of a small file in the data directory, the cost a
// transaction per settlement would pay each time. Afterwards the database is checked: no ledger
// entry or idempotency key twice, no personal account below zero, and ledger check.
func benchSettle(ctx context.Context, io IO, args []string) error {
	fs := newFlags("bench settle", io)
	url := fs.String("db", "", "run on a new schema of this PostgreSQL server instead of a temporary SQLite file")
	clients := fs.Int("clients", 64, "concurrent hospital-system clients")
	persons := fs.Int("persons", 100_000, "insured persons, each with a funded medical account and a card")
	seconds := fs.Float64("seconds", 10, "how long to settle (after one second of warm-up)")
	hospitals := fs.Int("institutions", 20, "designated institutions (one in five a pharmacy)")
	fsyncs := fs.Int("fsyncs", 2000, "serial fsyncs for the disk reference")
	profile := fs.String("profile", "", "write a CPU profile of the timed settlements to this file (client goroutines labelled side=client)")
	maxBatch := fs.Int("max-batch", 0, "the settlement writer's largest batch (0: its default)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *clients < 1 || *persons < *clients || *seconds <= 0 || *hospitals < 1 {
		return fmt.Errorf("%w: --clients ≥ 1, --persons ≥ --clients, --seconds > 0, --institutions ≥ 1", errUsage)
	}
	d, where, cleanup, err := benchDB(ctx, *url)
	if err != nil {
		return err
	}
	defer cleanup()
	dataDir := filepath.Dir(d.Path())
	if d.Dialect() == db.Postgres {
		if dataDir, err = os.MkdirTemp("", "shebao-bench-fsync-"); err != nil {
			return err
		}
		defer os.RemoveAll(dataDir)
	}
	const region = "330100"
	load1, _, _ := loadAverage()
	fmt.Fprintf(io.Out, "bench settle: %d persons, %d clients, %.0f s on %s (%d CPUs, load average %s)\n", *persons, *clients, *seconds, where, runtime.NumCPU(), load1)

	log := newLogger(io.Err, slog.LevelWarn, "text")
	policies := policy.NewStore(d)
	authSvc := auth.New(d, auth.Options{})
	ks := keys.New(d, policies, log)
	t0 := time.Now()
	city, err := buildSettleCity(ctx, d, ks, region, *persons, *hospitals, func(f string, a ...any) { fmt.Fprintf(io.Out, f+"\n", a...) })
	if err != nil {
		return fmt.Errorf("building the city: %w", err)
	}
	fmt.Fprintf(io.Out, "  city built in %v (not counted)\n", time.Since(t0).Round(time.Millisecond))

	// The server as serve builds it, on a loopback listener.
	reg := registry.New(d, authSvc, policies)
	cards := card.New(d, policies, ks)
	settlements := settle.New(d, policies, cards, ks, reg, settle.Options{MaxBatch: *maxBatch})
	defer settlements.Close()
	srv, err := web.New(web.Deps{DB: d, Auth: authSvc, Policies: policies, Registry: reg, Keys: ks, Cards: cards, Contrib: contrib.New(d, policies),
		Settle: settlements, Log: log, Version: Version()})
	if err != nil {
		return err
	}
	base, stop, err := serveLoopback(srv)
	if err != nil {
		return err
	}
	defer stop()

	l := &settleLoad{base: base, city: city, clients: *clients, date: period.Today(d.Now()).Format("2006-01-02")}
	l.client = benchClient(*clients)
	if r := l.run(ctx, time.Second); r.ok == 0 {
		return fmt.Errorf("warm-up: no settlement succeeded: %s", r.problems())
	}
	before := settlements.Stats()
	var prof *os.File
	if *profile != "" {
		if prof, err = os.Create(*profile); err != nil {
			return err
		}
		defer prof.Close()
		if err := pprof.StartCPUProfile(prof); err != nil {
			return err
		}
	}
	cpu0 := cpuTime()
	res := l.run(ctx, time.Duration(*seconds*float64(time.Second)))
	cores := (cpuTime() - cpu0).Seconds() / res.elapsed.Seconds()
	if prof != nil {
		pprof.StopCPUProfile()
	}
	st := settlements.Stats()
	batches, jobs := st.Batches-before.Batches, st.Jobs-before.Jobs
	if res.ok == 0 {
		return fmt.Errorf("no settlement succeeded: %s", res.problems())
	}
	rate := float64(res.ok) / res.elapsed.Seconds()
	p50, p99 := res.percentile(0.50), res.percentile(0.99)
	fmt.Fprintf(io.Out, "  settlements: %d in %v = %.0f/s; latency p50 %.2f ms, p99 %.2f ms, max %.2f ms; %s\n", res.ok, res.elapsed.Round(time.Millisecond), rate,
		ms(p50), ms(p99), ms(res.percentile(1)), res.problems())
	fmt.Fprintf(io.Out, "  this process (server and clients) used %.2f of the %d CPUs meanwhile\n", cores, runtime.NumCPU())
	busy := (st.Busy - before.Busy).Seconds() / res.elapsed.Seconds()
	fmt.Fprintf(io.Out, "  writer: %d transactions for %d requests (%.1f a transaction, largest %d), busy %.0f%% of the run (%.2f ms a transaction, commit included)\n",
		batches, jobs, float64(jobs)/float64(max(batches, 1)), st.LargestBatch, 100*busy, 1000*(st.Busy-before.Busy).Seconds()/float64(max(batches, 1)))

	// Reference 1: the same clients, cards and bodies against a server of the same configuration
	// whose handler only reads the body and answers a settlement's answer.
	noop, noopStop, err := serveLoopback(noopHandler(res.sample))
	if err != nil {
		return err
	}
	nl := *l
	nl.base, nl.client = noop, benchClient(*clients)
	nl.run(ctx, time.Second)
	nres := nl.run(ctx, time.Duration(*seconds*float64(time.Second)))
	noopStop()
	noopRate := float64(nres.ok) / nres.elapsed.Seconds()
	fmt.Fprintf(io.Out, "  reference, no-op handler, same clients and cards: %.0f/s; p50 %.2f ms, p99 %.2f ms\n", noopRate, ms(nres.percentile(0.5)), ms(nres.percentile(0.99)))

	// Reference 2: serial fsyncs of a small file on the same disk.
	fsyncRate, err := fsyncRate(dataDir, *fsyncs)
	if err != nil {
		return err
	}
	fmt.Fprintf(io.Out, "  reference, serial write+fsync in %s: %.0f/s\n", dataDir, fsyncRate)

	// What the database holds now.
	t1 := time.Now()
	chk, err := checkSettled(ctx, d)
	if err != nil {
		return err
	}
	fmt.Fprintf(io.Out, "  database: %d settlements; double debits %d, overdrafts %d, accounts not equal to opening balance minus settlements %d; ledger check %s (%v, not counted)\n",
		chk.settlements, chk.doubleDebits, chk.overdrafts, chk.balanceMismatches, chk.ledger, time.Since(t1).Round(time.Millisecond))
	load2, _, _ := loadAverage()
	fmt.Fprintf(io.Out, "  ratios: settlements/no-op %.3f, settlements/fsync %.2f, transactions/fsync %.3f; load average now %s\n",
		rate/noopRate, rate/fsyncRate, float64(batches)/res.elapsed.Seconds()/fsyncRate, load2)
	jsonLine(io.Out, map[string]any{"bench": "settle", "database": string(d.Dialect()), "persons": *persons, "clients": *clients,
		"seconds": round3(res.elapsed.Seconds()), "settlements": res.ok, "refused": res.refused, "failed": res.failed,
		"settlements_per_s": int(rate), "p50_ms": round3(ms(p50)), "p99_ms": round3(ms(p99)), "max_ms": round3(ms(res.percentile(1))),
		"noop_per_s": int(noopRate), "noop_p99_ms": round3(ms(nres.percentile(0.99))), "fsync_per_s": int(fsyncRate),
		"ratio_noop": round3(rate / noopRate), "ratio_fsync": round3(rate / fsyncRate),
		"per_transaction": round3(float64(jobs) / float64(max(batches, 1))), "largest_batch": st.LargestBatch, "writer_busy": round3(busy),
		"cpus_used": round3(cores), "double_debits": chk.doubleDebits, "overdrafts": chk.overdrafts, "balance_mismatches": chk.balanceMismatches,
		"ledger_check": chk.ledger == "passed", "load_average": load1 + " " + load2})
	if chk.doubleDebits > 0 || chk.overdrafts > 0 || chk.balanceMismatches > 0 || chk.ledger != "passed" {
		return errors.New("the database is not right after the run (see above)")
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// serveLoopback serves h as serve does, on a loopback port of its own.
func serveLoopback(h http.Handler) (base string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second, WriteTimeout: 60 * time.Second,
		IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	go func() { _ = hs.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}, nil
}

// benchClient is a hospital system's HTTP client: keep-alive connections, one per client.
func benchClient(clients int) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConns: 2 * clients, MaxIdleConnsPerHost: 2 * clients,
		IdleConnTimeout: 90 * time.Second, DisableCompression: true}}
}

// noopHandler reads the request and answers answer with 201, as the settlement route would.
func noopHandler(answer []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(answer)
	})
}

// fsyncRate writes 512 bytes at the start of a file and fsyncs it, n times in a row.
func fsyncRate(dir string, n int) (float64, error) {
	f, err := os.CreateTemp(dir, "fsync-")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 512)
	start := time.Now()
	for i := range n {
		buf[0] = byte(i)
		if _, err := f.WriteAt(buf, 0); err != nil {
			return 0, err
		}
		if err := f.Sync(); err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var u syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &u) != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// loadAverage reads the 1-, 5- and 15-minute load averages (Linux), "?" elsewhere.
func loadAverage() (string, string, string) {
	b, err := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if err != nil || len(f) < 3 {
		return "?", "?", "?"
	}
	return f[0], f[1], f[2]
}

// settleLoad drives settlements at a server from clients goroutines.
type settleLoad struct {
	base    string
	client  *http.Client
	city    *settleCity
	clients int
	date    string
	// onAnswer, if set, is told of every request's outcome (the crash test keeps them).
	onAnswer func(sent sentSettlement, status int, id string)
	// holdUnanswered keeps the card of a request that got no answer in its terminal, for the
	// request to be sent again with the same key before the card pays anything else, as a
	// hospital's system does after losing the server (the crash test).
	holdUnanswered bool
}

// sentSettlement is one request as a hospital system keeps it until answered, to retry it with the
// same key and the same body.
type sentSettlement struct {
	institution int // index into city.institutions
	card        int // index into city.cards
	key         string
	body        []byte
}

type loadResult struct {
	ok, refused, failed int
	elapsed             time.Duration
	latencies           []time.Duration // of the settlements that succeeded, sorted
	statuses            map[string]int  // what did not succeed, by status and message
	sample              []byte          // one answer
}

func (r loadResult) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(p * float64(len(r.latencies)-1))
	return r.latencies[i]
}

func (r loadResult) problems() string {
	if len(r.statuses) == 0 {
		return "no refusals or failures"
	}
	var out []string
	for k, n := range r.statuses {
		out = append(out, fmt.Sprintf("%d× %s", n, k))
	}
	sort.Strings(out)
	return fmt.Sprintf("%d refused, %d failed: %s", r.refused, r.failed, strings.Join(out, "; "))
}

// run settles for d with every client and gathers the outcomes. A request on its way at the end
// is waited for: the clients stop sending, they do not hang up.
func (l *settleLoad) run(ctx context.Context, d time.Duration) loadResult {
	end := time.Now().Add(d)
	results := make([]loadResult, l.clients)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range l.clients {
		wg.Go(func() {
			pprof.Do(ctx, pprof.Labels("side", "client"), func(ctx context.Context) { results[w] = l.worker(ctx, w, end) })
		})
	}
	wg.Wait()
	out := loadResult{elapsed: time.Since(start), statuses: map[string]int{}}
	for _, r := range results {
		out.ok += r.ok
		out.refused += r.refused
		out.failed += r.failed
		out.latencies = append(out.latencies, r.latencies...)
		for k, n := range r.statuses {
			out.statuses[k] += n
		}
		if out.sample == nil {
			out.sample = r.sample
		}
	}
	slices.Sort(out.latencies)
	return out
}

func (l *settleLoad) worker(ctx context.Context, w int, end time.Time) loadResult {
	var seed [16]byte
	_, _ = rand.Read(seed[:])
	rng := mrand.New(mrand.NewPCG(uint64(seed[0])<<56|uint64(w), uint64(seed[8])<<8|uint64(time.Now().UnixNano())))
	res := loadResult{statuses: map[string]int{}}
	inst := w % len(l.city.institutions)
	for n := 0; ctx.Err() == nil && time.Now().Before(end); n++ {
		ci := rng.IntN(len(l.city.cards))
		c := l.city.cards[ci]
		if !c.busy.CompareAndSwap(false, true) {
			continue // the card is in another terminal
		}
		sent, err := l.prepare(ctx, rng, inst, ci, fmt.Sprintf("his-%d-%d-%x", w, n, seed[:4]))
		if err != nil {
			c.busy.Store(false)
			res.failed++
			res.statuses["card: "+err.Error()]++
			continue
		}
		status, id, latency, body, err := l.send(ctx, sent)
		if !l.holdUnanswered || (err == nil && status < 500) {
			c.busy.Store(false)
		}
		if l.onAnswer != nil {
			l.onAnswer(sent, status, id)
		}
		if ctx.Err() != nil && err != nil {
			break // cancelled while the request was on its way
		}
		switch {
		case err != nil:
			res.failed++
			res.statuses["transport: "+err.Error()]++
		case status == http.StatusCreated:
			res.ok++
			res.latencies = append(res.latencies, latency)
			if res.sample == nil {
				res.sample = body
			}
		case status < 500:
			res.refused++
			res.statuses[fmt.Sprintf("%d %s", status, clipBody(body))]++
		default:
			res.failed++
			res.statuses[fmt.Sprintf("%d %s", status, clipBody(body))]++
		}
	}
	return res
}

func clipBody(b []byte) string {
	s := string(b)
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

// The settlement body as a hospital's system writes it (POST /api/v1/settlements).
type hisSettlement struct {
	Kind     string      `json:"kind"`
	Date     string      `json:"date"`
	Identity hisIdentity `json:"identity"`
	Items    []hisItem   `json:"items"`
}

type hisIdentity struct {
	Card hisCardProof `json:"social_security_card"`
}

type hisCardProof struct {
	CardID        string `json:"card_id"`
	KeyVersion    int    `json:"key_version"`
	ATC           int    `json:"atc"`
	Unpredictable string `json:"unpredictable_number"`
	Cryptogram    string `json:"cryptogram"`
}

type hisItem struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Category string `json:"category"`
	Amount   string `json:"amount"`
}

var itemNames = []string{"阿莫西林胶囊", "血常规", "门诊诊查费", "布洛芬缓释胶囊", "胸部X线", "静脉输液", "头孢克肟片", "心电图"}

// prepare makes a bill, has the card sign it, and writes the body.
func (l *settleLoad) prepare(ctx context.Context, rng *mrand.Rand, inst, ci int, key string) (sentSettlement, error) {
	in := l.city.institutions[inst]
	kind := policy.Pharmacy
	if in.kind == settle.Hospital {
		kind = policy.Outpatient
		if rng.IntN(20) == 0 {
			kind = policy.Inpatient
		}
	}
	req := settle.Request{Kind: kind, Date: l.date}
	for i := range 1 + rng.IntN(4) {
		cat := "A"
		switch r := rng.IntN(10); {
		case r == 0:
			cat = "C"
		case r < 3:
			cat = "B"
		}
		fen := 500 + rng.IntN(20_000)
		req.Items = append(req.Items, settle.ItemIn{Code: fmt.Sprintf("XM%04d", rng.IntN(10_000)), Name: itemNames[(i+fen)%len(itemNames)],
			Category: cat, Amount: fmt.Sprintf("%d.%02d", fen/100, fen%100)})
	}
	var un [4]byte
	_, _ = rand.Read(un[:])
	data, err := settle.CardData(in.code, req, un)
	if err != nil {
		return sentSettlement{}, err
	}
	pay, err := (&apdu.Terminal{Card: l.city.cards[ci].card}).Pay(ctx, benchPIN, data)
	if err != nil {
		return sentSettlement{}, err
	}
	body := hisSettlement{Kind: req.Kind, Date: req.Date, Identity: hisIdentity{Card: hisCardProof{CardID: apdu.FormatCardID(pay.CardID),
		KeyVersion: int(pay.KeyVersion), ATC: int(pay.ATC), Unpredictable: strings.ToUpper(hex.EncodeToString(un[:])),
		Cryptogram: strings.ToUpper(hex.EncodeToString(pay.Cryptogram[:]))}}}
	for _, it := range req.Items {
		body.Items = append(body.Items, hisItem(it))
	}
	b, err := json.Marshal(body)
	return sentSettlement{institution: inst, card: ci, key: key, body: b}, err
}

// send posts one settlement and reads the answer.
func (l *settleLoad) send(ctx context.Context, s sentSettlement) (status int, id string, latency time.Duration, body []byte, err error) {
	req, err := http.NewRequestWithContext(ctx, "POST", l.base+"/api/v1/settlements", bytes.NewReader(s.body))
	if err != nil {
		return 0, "", 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+l.city.institutions[s.institution].token)
	req.Header.Set("Idempotency-Key", s.key)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, "", 0, nil, err
	}
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	latency = time.Since(start)
	if err != nil {
		return 0, "", 0, nil, err
	}
	if resp.StatusCode == http.StatusCreated {
		var a struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(body, &a) == nil {
			id = a.ID
		}
	}
	return resp.StatusCode, id, latency, body, nil
}

// settledCheck is what the database says after a run.
type settledCheck struct {
	settlements       int
	doubleDebits      int    // ledger entries of one settlement more than one, idempotency keys that settled twice
	overdrafts        int    // personal accounts below zero
	balanceMismatches int    // medical accounts whose balance is not the opening balance less their settlements
	ledger            string // "passed" or the first problem
}

func checkSettled(ctx context.Context, d *db.DB) (settledCheck, error) {
	var c settledCheck
	r := d.R()
	for _, q := range []struct {
		dst *int
		sql string
	}{
		{&c.settlements, "SELECT COUNT(*) FROM settlements"},
		// The same settlement's entry twice (the ledger's unique key forbids it), one entry for two
		// settlements, or one institution's idempotency key on two settlements (the table's unique key
		// forbids that): counted from the rows, not assumed from the constraints.
		{&c.doubleDebits, `SELECT (SELECT COUNT(*) FROM (SELECT cause_ref FROM ledger_entries WHERE cause = 'settlement' GROUP BY cause_ref HAVING COUNT(*) > 1) a)
			+ (SELECT COUNT(*) FROM (SELECT entry_id FROM settlements WHERE entry_id IS NOT NULL GROUP BY entry_id HAVING COUNT(*) > 1) b)
			+ (SELECT COUNT(*) FROM (SELECT region, institution_code, idem_key FROM settlements GROUP BY region, institution_code, idem_key HAVING COUNT(*) > 1) k)`},
		{&c.overdrafts, `SELECT COUNT(*) FROM ledger_accounts WHERE no_overdraft AND ((normal = 'credit' AND balance > 0) OR (normal = 'debit' AND balance < 0))`},
	} {
		if err := r.QueryRowContext(ctx, q.sql).Scan(q.dst); err != nil {
			return c, fmt.Errorf("check: %w", err)
		}
	}
	// Every medical account holds its opening balance less what its settlements took.
	paid := map[string]int64{}
	if err := db.EachRow(ctx, r, func(scan func(...any) error) error {
		var region string
		var person, sum int64
		if err := scan(&region, &person, &sum); err != nil {
			return err
		}
		paid[ledger.PersonAccount(region, ledger.PersonMedical, person)] = sum
		return nil
	}, "SELECT region, person_id, SUM(account) FROM settlements WHERE refunded_at = '' GROUP BY region, person_id"); err != nil {
		return c, fmt.Errorf("check: %w", err)
	}
	if err := db.EachRow(ctx, r, func(scan func(...any) error) error {
		var code string
		var bal int64
		if err := scan(&code, &bal); err != nil {
			return err
		}
		if -bal != int64(openingBalance)-paid[code] {
			c.balanceMismatches++
		}
		return nil
	}, "SELECT code, balance FROM ledger_accounts WHERE kind = 'person_medical'"); err != nil {
		return c, fmt.Errorf("check: %w", err)
	}
	c.ledger = "passed"
	if _, err := ledger.Check(ctx, d); err != nil {
		c.ledger = "ledger: " + err.Error()
	} else if _, err := contrib.Check(ctx, d); err != nil {
		c.ledger = "contributions: " + err.Error()
	} else if _, err := settle.Check(ctx, d); err != nil {
		c.ledger = "settlements: " + err.Error()
	}
	return c, nil
}
