package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
	"github.com/shebao/shebao/internal/sheet"
	"github.com/shebao/shebao/internal/sheet/sheettest"
)

// serverCommand makes the command that runs `shebao serve` with args: this very binary. Tests,
// whose binary is not shebao, point it at their own way of running a command.
var serverCommand = func(args ...string) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return exec.Command(exe, args...), nil
}

// uploadBoundMB is what the server may take, above its idle RSS, while reading uploads: two
// upload slots (web.uploadSlots), each holding one staff file at the limits (registry.StaffLimits)
// and everything reading, checking and applying it needs: about 160 MB live, which Go's collector
// lets grow to twice that before collecting, and what the runtime keeps mapped besides (some 30 %).
// The reasoning is in docs/decisions.md, "What an upload may cost".
const uploadBoundMB = 2 * 420

// benchUpload measures what uploaded staff files cost the server in memory. It builds the files
// itself — the costliest staff file the limits accept (as many rows, columns, characters and
// shared strings as allowed, every row valid so that it is read, checked and applied), a CSV file
// at the limits, and bombs that must be refused — starts `shebao serve` as a child process on a
// database of its own, and posts them through the API: each bomb four times at once, the CSV once,
// one worst-case file, then four at once. For each it reports the server's peak RSS (VmHWM, reset
// before each round, and VmRSS sampled every 10 ms), against the idle server's RSS measured in
// the same run. It fails when a bomb is accepted, a good file refused, or a peak passes the bound.
func benchUpload(ctx context.Context, io IO, args []string) error {
	fs := newFlags("bench upload", io)
	rows := fs.Int("rows", registry.MaxBulkRows, "rows in each worst-case staff file")
	url := fs.String("db", "", "serve from a new schema of this PostgreSQL server instead of a temporary SQLite file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *rows < 1 || *rows > registry.MaxBulkRows {
		return fmt.Errorf("%w: --rows must be from 1 to %d", errUsage, registry.MaxBulkRows)
	}
	lim := registry.StaffLimits.Resolved()
	lim.MaxRows = *rows
	lim.MaxText = registry.StaffLimits.Resolved().MaxText * int64(*rows) / int64(registry.MaxBulkRows)

	t0 := time.Now()
	d, where, serveArgs, cleanup, err := openBench(ctx, *url)
	if err != nil {
		return err
	}
	defer cleanup()
	fmt.Fprintf(io.Out, "bench upload: staff files of %d rows, served from %s\n", *rows, where)
	const region = "330100"
	month := period.MonthOf(d.Now())
	p, _, err := policy.Default(region, month.Add(-12))
	if err != nil {
		return err
	}
	pol := policy.NewStore(d)
	if _, err := pol.Install(ctx, audit.System, p); err != nil {
		return err
	}
	a := auth.New(d, auth.Options{})
	reg := registry.New(d, a, pol)
	clerk := &auth.Principal{User: auth.User{Username: "bench-clerk", Role: auth.Clerk, Regions: []string{region}}}
	uscc, _ := ident.MakeUSCC("91330100BENCH0002")
	e, err := reg.RegisterEmployer(ctx, clerk, registry.NewEmployer{USCC: string(uscc), Name: "上传基准测试有限公司", LegalRep: "基准", RiskClass: 3})
	if err != nil {
		return err
	}
	if _, _, err := a.CreateUser(ctx, nil, operator(), auth.NewUser{Username: "bench-hr", Role: auth.Employer, Regions: []string{region}, EmployerID: e.ID}); err != nil {
		return err
	}
	token, err := a.IssueToken(ctx, nil, operator(), "bench-hr", "bench upload")
	if err != nil {
		return err
	}
	d.Close() // the server has the database to itself

	// The files.
	ids := benchIDs(6 * *rows)
	var worst [5][]byte
	var shape sheettest.Written
	for i := range worst {
		if worst[i], shape, err = worstStaffFile(lim, ids[i**rows:(i+1)**rows], month.String()); err != nil {
			return err
		}
	}
	csvFile := limitCSV(lim, ids[5**rows:], month.String())
	// The bombs are made for the server's limits, whatever --rows.
	staff := registry.StaffLimits.Resolved()
	bombs := []struct {
		name string
		file []byte
	}{
		{"the review's bomb (190 MiB unpacked)", sheettest.Bomb(190 << 20)},
		{fmt.Sprintf("one cell of %s, within the unpacked limit", mib(staff.MaxUnzipped-1<<20)), sheettest.Bomb(staff.MaxUnzipped - 1<<20)},
		{"a long shared string named in every cell", sharedBomb(staff)},
		{"a CSV line of the whole file", csvLineBomb(staff)},
	}
	fmt.Fprintf(io.Out, "  worst-case XLSX: %s, %d rows × %d columns, %s of text, %d shared strings, %s unpacked (the server's limits: %d rows, %s of text, %s unpacked)\n",
		mib(shape.Bytes), *rows, lim.MaxCols, mib(shape.Text), shape.Shared, mib(shape.Unpacked), staff.MaxRows, mib(staff.MaxText), mib(staff.MaxUnzipped))
	fmt.Fprintf(io.Out, "  CSV at the limits: %s, %d rows; %d bombs; built in %v (not counted)\n", mib(int64(len(csvFile))), *rows, len(bombs), time.Since(t0).Round(time.Millisecond))
	var peakSource string

	// Each round runs on a server just started, so that what one round left behind (Go returns
	// memory to the system only slowly) does not count in the next.
	type round struct {
		name      string
		idle      float64 // RSS once started and settled
		idlePeak  float64
		peak      float64
		results   []result
		wantOK    bool
		uploads   int
		file      func(i int) []byte
		perResult bool
	}
	var rounds []*round
	for _, b := range bombs {
		rounds = append(rounds, &round{name: "bomb ×4 at once: " + b.name + " (" + mib(int64(len(b.file))) + ")", uploads: 4, file: func(int) []byte { return b.file }})
	}
	rounds = append(rounds,
		&round{name: "CSV at the limits ×1", uploads: 1, wantOK: true, file: func(int) []byte { return csvFile }},
		&round{name: "worst-case XLSX ×1", uploads: 1, wantOK: true, file: func(int) []byte { return worst[0] }},
		&round{name: "worst-case XLSX ×4 at once", uploads: 4, wantOK: true, perResult: true, file: func(i int) []byte { return worst[1+i] }})
	for _, r := range rounds {
		srv, err := startServer(ctx, serveArgs)
		if err != nil {
			return err
		}
		up := &uploader{base: srv.url + "/api/v1/employers/" + string(e.USCC) + "/staff/bulk", token: token}
		time.Sleep(2 * time.Second)
		if r.idlePeak, err = srv.peakDuring(func() { time.Sleep(time.Second) }); err == nil {
			r.idle, err = srv.status("VmRSS")
		}
		if err == nil {
			r.peak, err = srv.peakDuring(func() { r.results = up.postAll(r.uploads, r.file) })
		}
		source := srv.peakSource()
		srv.stop()
		if err != nil {
			return err
		}
		fmt.Fprintf(io.Out, "  %s: peak RSS %.0f MB (idle %.0f MB)", r.name, r.peak, r.idle)
		if r.perResult {
			fmt.Fprintln(io.Out)
			for i, res := range r.results {
				fmt.Fprintf(io.Out, "    upload %d: %s\n", i+1, res.summary())
			}
		} else {
			fmt.Fprintf(io.Out, "; %s\n", r.results[0].summary())
		}
		peakSource = source
	}

	idleRSS := 0.0
	for _, r := range rounds {
		idleRSS = max(idleRSS, r.idle)
	}
	bound := idleRSS + uploadBoundMB
	fmt.Fprintf(io.Out, "  bound: idle %.0f MB + %d MB (two upload slots, each a staff file at the limits) = %.0f MB\n", idleRSS, uploadBoundMB, bound)
	refused, accepted := true, true
	bombPeak := 0.0
	for _, r := range rounds {
		for _, res := range r.results {
			if r.wantOK {
				accepted = accepted && res.status == http.StatusOK
			} else {
				refused = refused && res.status == http.StatusUnprocessableEntity && res.field != ""
			}
		}
		if !r.wantOK {
			bombPeak = max(bombPeak, r.peak)
		}
	}
	csvR, oneR, fourR := rounds[len(rounds)-3], rounds[len(rounds)-2], rounds[len(rounds)-1]
	jsonLine(io.Out, map[string]any{"bench": "upload", "rows": *rows, "idle_rss_mb": round1(idleRSS), "bombs_peak_rss_mb": round1(bombPeak),
		"csv_peak_rss_mb": round1(csvR.peak), "one_peak_rss_mb": round1(oneR.peak), "four_peak_rss_mb": round1(fourR.peak), "bound_mb": round1(bound),
		"bomb_refused": refused, "accepted": accepted, "four_retries": retries(fourR.results), "peak_source": peakSource,
		"worst_file_bytes": shape.Bytes, "worst_unpacked_bytes": shape.Unpacked, "worst_text_bytes": shape.Text, "worst_shared_strings": shape.Shared})
	var problems []error
	if !refused {
		problems = append(problems, errors.New("a bomb was not refused with 422 naming the file"))
	}
	if !accepted {
		problems = append(problems, errors.New("a file within the limits was not accepted"))
	}
	for _, r := range rounds {
		if r.peak > r.idle+uploadBoundMB {
			problems = append(problems, fmt.Errorf("%s: peak RSS %.0f MB is above the bound of %.0f MB", r.name, r.peak, r.idle+uploadBoundMB))
		}
	}
	return errors.Join(problems...)
}

// worstStaffFile is the costliest staff file the limits accept: every row valid (so that it is
// read, checked and applied), as many rows as allowed and as many columns (the template's, and
// HR's own that are read and dropped), the template's columns holding text up to MaxText (long
// names and addresses), every cell a shared string as Excel writes them with as many of each row's
// own as fit the unpacked size, and the styles excelize parses as large as allowed.
func worstStaffFile(lim sheet.Limits, ids []string, month string) ([]byte, sheettest.Written, error) {
	header := registry.StaffHeader()
	for i := len(header); i < lim.MaxCols; i++ {
		header = append(header, fmt.Sprintf("备注%02d (note_%02d)", i, i))
	}
	headerText := 0
	for _, h := range header {
		headerText += len(h)
	}
	const (
		unique  = 5   // HR's columns with a text of each row's own (besides its ID number and phone)
		variety = 100 // different long names and addresses
	)
	name := func(i int) string { return strings.Repeat("名", 40) + strconv.Itoa(i%variety) } // 50 characters at most
	row := make([]string, len(header))
	kept := func(i int, address string) []string {
		return append(row[:0], "增员", ids[i], name(i), "8000.00", month, "", "", "本地", "汉族", fmt.Sprintf("138%08d", i), address)
	}
	fixed := 0
	for _, c := range kept(0, "") {
		fixed += len(c)
	}
	// The address fills each row's share of MaxText (200 characters at most).
	perRow := (lim.MaxText*99/100 - int64(headerText)) / int64(len(ids))
	room := min(200, max(1, (int(perRow)-fixed-2)/3))
	addresses := make([]string, variety)
	for i := range addresses {
		addresses[i] = strings.Repeat("址", room-2) + fmt.Sprintf("%02d", i)
	}
	extra := len(header) - len(registry.StaffColumns)
	wb := sheettest.Workbook{Header: header, Rows: len(ids), Shared: true, Styles: sheet.MaxParsedElements - 200,
		Row: func(i int) []string {
			row = kept(i, addresses[i%variety])
			for j := range extra {
				c := "x"
				if j < unique {
					c = strconv.Itoa(i*unique + j)
				}
				row = append(row, c)
			}
			return row
		}}
	return wb.Bytes()
}

// limitCSV is a CSV staff file at the limits: MaxRows valid rows, MaxCols columns, just under the
// largest file accepted.
func limitCSV(lim sheet.Limits, ids []string, month string) []byte {
	header := registry.StaffHeader()
	for i := len(header); i < lim.MaxCols; i++ {
		header = append(header, fmt.Sprintf("备注%02d", i))
	}
	extra := len(header) - len(registry.StaffColumns)
	fixed := len(fmt.Sprintf("增员,%s,职工%07d,8000.00,%s,,,本地,汉族,138%08d,浙江省杭州市西湖区文三路%06d号\r\n", ids[0], 0, month, 0, 0))
	perRow := int(lim.MaxBytes*98/100) / len(ids)
	fill := min(lim.MaxCell, max(0, (perRow-fixed-extra)/max(1, extra)))
	filler := strings.Repeat(","+strings.Repeat("y", fill), extra)
	var b bytes.Buffer
	b.WriteString(strings.Join(header, ",") + "\r\n")
	for i, id := range ids {
		fmt.Fprintf(&b, "增员,%s,职工%07d,8000.00,%s,,,本地,汉族,138%08d,浙江省杭州市西湖区文三路%06d号%s\r\n", id, i, month, i, i, filler)
	}
	return b.Bytes()
}

// sharedBomb names one shared string of MaxCell characters from every cell of MaxRows rows: 20
// bytes of XML a cell, 3 KB of text each.
func sharedBomb(lim sheet.Limits) []byte {
	long := strings.Repeat("长", lim.MaxCell)
	row := make([]string, len(registry.StaffColumns))
	for i := range row {
		row[i] = long
	}
	b, _, _ := sheettest.Workbook{Header: registry.StaffHeader(), Rows: lim.MaxRows, Shared: true, Row: func(int) []string { return row }}.Bytes()
	return b
}

// csvLineBomb is a CSV file whose second line is one quoted cell as long as the file may be.
func csvLineBomb(lim sheet.Limits) []byte {
	var b bytes.Buffer
	b.WriteString("姓名\n\"")
	b.Write(bytes.Repeat([]byte("z"), int(lim.MaxBytes)-16))
	b.WriteString("\"\n")
	return b.Bytes()
}

// benchServer is `shebao serve` running as a child process.
type benchServer struct {
	cmd     *exec.Cmd
	url     string
	done    chan struct{}
	mu      sync.Mutex
	log     []string // the last lines it wrote to standard error
	noReset bool     // resetting VmHWM was refused: peaks are sampled only
}

func startServer(ctx context.Context, serveArgs []string) (*benchServer, error) {
	cmd, err := serverCommand(append([]string{"serve", "--addr", "127.0.0.1:0", "--log-format", "json"}, serveArgs...)...)
	if err != nil {
		return nil, err
	}
	// The child's database is the one given: none of the caller's SHEBAO_ settings reaches it
	// (those of the tests, SHEBAO_TEST_, are no settings of the server).
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = nil
	for _, kv := range env {
		if !strings.HasPrefix(kv, "SHEBAO_") || strings.HasPrefix(kv, "SHEBAO_TEST_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &benchServer{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "serving" {
				select {
				case addr <- rec.Addr:
				default:
				}
			}
			s.mu.Lock()
			s.log = append(s.log, line)
			if len(s.log) > 20 {
				s.log = s.log[1:]
			}
			s.mu.Unlock()
		}
	}()
	select {
	case s.url = <-addr:
	case <-s.done:
		s.stop()
		return nil, fmt.Errorf("the server stopped before serving: %s", s.lastLog())
	case <-time.After(60 * time.Second):
		s.stop()
		return nil, fmt.Errorf("the server did not start within a minute: %s", s.lastLog())
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
	resp, err := http.Get(s.url + "/readyz")
	if err != nil {
		s.stop()
		return nil, err
	}
	resp.Body.Close()
	return s, nil
}

func (s *benchServer) lastLog() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.log, "\n")
}

func (s *benchServer) stop() {
	if s.cmd.Process == nil || s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
	}
	_ = s.cmd.Wait()
}

// status reads a memory figure of the server from /proc/PID/status, in MB (10^6 bytes).
func (s *benchServer) status(field string) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("reading the server's memory (Linux /proc only): %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb * 1024 / 1e6, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, s.cmd.Process.Pid)
}

// peakDuring runs fn and returns the server's peak RSS meanwhile: VmHWM, reset first (writing 5
// to /proc/PID/clear_refs), and VmRSS sampled every 10 ms, whichever is higher.
func (s *benchServer) peakDuring(fn func()) (float64, error) {
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", s.cmd.Process.Pid), []byte("5"), 0); err != nil {
		s.noReset = true
	}
	stop := make(chan struct{})
	sampled := make(chan float64)
	go func() {
		peak := 0.0
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			if rss, err := s.status("VmRSS"); err == nil {
				peak = max(peak, rss)
			}
			select {
			case <-stop:
				sampled <- peak
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(stop)
	peak := <-sampled
	if !s.noReset {
		hwm, err := s.status("VmHWM")
		if err != nil {
			return 0, err
		}
		peak = max(peak, hwm)
	}
	return peak, nil
}

func (s *benchServer) peakSource() string {
	if s.noReset {
		return "VmRSS sampled every 10 ms"
	}
	return "VmHWM reset per round, and VmRSS sampled every 10 ms"
}

// uploader posts staff files to the API as the employer's HR system would: a 503 is sent again
// after its Retry-After.
type uploader struct {
	base, token string
}

type result struct {
	status  int
	field   string // fields.file of an error
	message string
	tries   int
	took    time.Duration
}

func (r result) summary() string {
	s := fmt.Sprintf("%d in %v", r.status, r.took.Round(time.Millisecond))
	if r.tries > 1 {
		s += fmt.Sprintf(" (after %d answers 503)", r.tries-1)
	}
	switch {
	case r.field != "":
		s += ": " + r.field
	case r.message != "":
		s += ": " + r.message
	}
	return s
}

func retries(rs []result) int {
	n := 0
	for _, r := range rs {
		n += r.tries - 1
	}
	return n
}

// postAll posts n files at once and waits for every answer.
func (u *uploader) postAll(n int, file func(i int) []byte) []result {
	res := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { res[i] = u.post(file(i)) })
	}
	wg.Wait()
	return res
}

func (u *uploader) post(file []byte) result {
	start := time.Now()
	client := &http.Client{Timeout: 5 * time.Minute}
	var r result
	key := newIdemKey() // one upload, retried while the server is busy: one key
	for r.tries < 12 {  // two minutes and more of waiting for a slot
		r.tries++
		req, err := http.NewRequest("POST", u.base+"?file_name=bench.xlsx", bytes.NewReader(file))
		if err != nil {
			return result{message: err.Error()}
		}
		req.Header.Set("Authorization", "Bearer "+u.token)
		req.Header.Set("Idempotency-Key", key)
		resp, err := client.Do(req)
		if err != nil {
			r.message = err.Error()
			break
		}
		var body struct {
			Message string            `json:"message"`
			Fields  map[string]string `json:"fields"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		r.status, r.field, r.message = resp.StatusCode, body.Fields["file"], body.Message
		if resp.StatusCode != http.StatusServiceUnavailable {
			break
		}
		wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		time.Sleep(time.Duration(max(wait, 1)) * time.Second)
	}
	if r.status == http.StatusOK {
		r.message = ""
	}
	r.took = time.Since(start)
	return r
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }
