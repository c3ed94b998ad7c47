package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/sheet/sheettest"
)

// The security review's file: 195 KB of XLSX whose worksheet unpacks to 190 MiB. Before, reading
// it raised the server's RSS from 97 to 561 MB, and four at once to 1.77 GB.
var reviewBomb = sync.OnceValue(func() []byte { return sheettest.Bomb(190 << 20) })

// postFile sends a file as the body of an API upload.
func (e *testEnv) postFile(role auth.Role, path string, file []byte) (int, http.Header, string) {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.http.URL+path, bytes.NewReader(file))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.tokens[role])
	req.Header.Set("Content-Type", "application/octet-stream")
	e.setKey(req)
	return send(e.t, http.DefaultClient, req)
}

// postForm sends a file in a portal form, with the form's other fields.
func (e *testEnv) postForm(c *http.Client, path string, file []byte, fields map[string]string) (int, http.Header, string) {
	e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", "staff.xlsx")
	fw.Write(file)
	mw.Close()
	req, err := http.NewRequest("POST", e.http.URL+path, &body)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return send(e.t, c, req)
}

func send(t *testing.T, c *http.Client, req *http.Request) (int, http.Header, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// allocated runs fn and returns the bytes the process allocated meanwhile: the server runs in this
// process, so this is what the request cost it (garbage included).
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestAttackUploadZipBomb replays finding 5: the 195 KB workbook that unpacks to 190 MiB is
// uploaded through every path that reads a table — the staff page and the staff API (staff file
// and card applications) and the card officer's result file, page and API — and each refuses it
// with a 422 that names the file and says why, having allocated a few megabytes at most. So are
// the bombs that stay within the unpacked limit: one cell of 90 MiB, and a worksheet whose small
// cells name one long shared string (20 bytes of XML each, a kilobyte of text each).
func TestAttackUploadZipBomb(t *testing.T) {
	bomb := reviewBomb()
	if len(bomb) > 200_000 {
		t.Fatalf("the bomb is %d bytes; the review's was 195 KB", len(bomb))
	}
	cellBomb := sheettest.Bomb(90 << 20)
	long := strings.Repeat("长", 1000)
	sharedBomb, _, err := sheettest.Workbook{Header: []string{"操作", "身份证号", "姓名", "备注"}, Rows: 99_000, Shared: true,
		Row: func(int) []string { return []string{long, long, long, long} }}.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newTestEnv(t, d)
		hr := e.portalClient(auth.Employer)
		officer := e.portalClient(auth.CardOfficer)
		staffAPI := "/api/v1/employers/" + e.employerUSCC + "/staff/bulk"
		cardsAPI := "/api/v1/employers/" + e.employerUSCC + "/card-applications"
		for _, tc := range []struct {
			name string
			send func(file []byte) (int, http.Header, string)
			api  bool
		}{
			{"staff API", func(f []byte) (int, http.Header, string) { return e.postFile(auth.Employer, staffAPI, f) }, true},
			{"staff page", func(f []byte) (int, http.Header, string) { return e.postForm(hr, "/staff/bulk", f, nil) }, false},
			{"card applications API", func(f []byte) (int, http.Header, string) { return e.postFile(auth.Employer, cardsAPI, f) }, true},
			{"card applications page", func(f []byte) (int, http.Header, string) { return e.postForm(hr, "/staff/cards", f, nil) }, false},
			{"result file API", func(f []byte) (int, http.Header, string) {
				return e.postFile(auth.CardOfficer, "/api/v1/card-batches/1/result", f)
			}, true},
			{"result file page", func(f []byte) (int, http.Header, string) {
				return e.postForm(officer, "/cards/result", f, map[string]string{"batch": "1"})
			}, false},
		} {
			for _, b := range []struct {
				name string
				file []byte
				want []string // the reason says one of these (the API's, in English)
				page []string // the Chinese page says one of these
			}{
				{"review's bomb", bomb, []string{"the workbook unpacks to more than"}, []string{"工作簿解压后超过"}},
				// Refused for its size where the limit is lower (card applications, result files).
				{"one long cell", cellBomb, []string{"a cell or tag longer than 64 KiB", "the workbook unpacks to more than"}, []string{"超过 64 KiB 的单元格或标签", "工作簿解压后超过"}},
				{"shared string references", sharedBomb, []string{"of text by line", "the workbook holds a text longer than"}, []string{"行时单元格文本已超过", "个字符的文本"}},
			} {
				t.Run(tc.name+"/"+b.name, func(t *testing.T) {
					says := func(s string) bool {
						want := b.want
						if !tc.api {
							want = b.page
						}
						for _, w := range want {
							if strings.Contains(s, w) {
								return true
							}
						}
						return false
					}
					var status int
					var body string
					cost := allocated(func() { status, _, body = tc.send(b.file) })
					if status != http.StatusUnprocessableEntity {
						t.Fatalf("status %d: %.300s", status, body)
					}
					if tc.api {
						if reason := errorOf(t, body).Fields["file"]; !says(reason) {
							t.Fatalf("fields.file = %q; want it to say one of %q", reason, b.want)
						}
					} else if !strings.Contains(body, `id="problem"`) || !says(body) {
						t.Fatalf("the page does not say one of %q: %.2000s", b.page, body)
					}
					// Before, the first of these alone allocated over a gigabyte.
					if cost > 48<<20 {
						t.Errorf("refusing it allocated %d MiB", cost>>20)
					}
					t.Logf("refused, having allocated %.1f MiB", float64(cost)/(1<<20))
				})
			}
		}
		// Nothing was applied, and the server still works.
		if status, body := e.do(auth.Employer, "GET", "/api/v1/employers/"+e.employerUSCC+"/staff", ""); status != 200 {
			t.Fatalf("staff list after the bombs: %d %s", status, body)
		}
	})
}

// TestAttackUploadConcurrency: uploads beyond the server's slots wait, then are answered 503 with
// Retry-After, their bodies unread; once a slot is free the same upload goes through.
func TestAttackUploadConcurrency(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newTestEnv(t, d)
		e.srv.uploads = newUploadGate(2, 300*time.Millisecond)
		var held []func()
		for range 2 {
			release, err := e.srv.uploads.enter(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, release)
		}
		file := []byte("操作,身份证号,姓名,缴费基数,月份\n增员," + e.newID() + ",新职工,8000," + thisMonth(e) + "\n")
		staffAPI := "/api/v1/employers/" + e.employerUSCC + "/staff/bulk"
		start := time.Now()
		status, header, body := e.postFile(auth.Employer, staffAPI, file)
		if waited := time.Since(start); status != http.StatusServiceUnavailable || header.Get("Retry-After") == "" || waited < 300*time.Millisecond {
			t.Fatalf("with every slot taken: %d Retry-After %q after %v: %s", status, header.Get("Retry-After"), waited, body)
		}
		if errorOf(t, body).Fields["file"] == "" {
			t.Fatalf("the answer does not name the file: %s", body)
		}
		status, header, body = e.postForm(e.portalClient(auth.Employer), "/staff/bulk", file, nil)
		if status != http.StatusServiceUnavailable || header.Get("Retry-After") == "" || !strings.Contains(body, `id="problem"`) {
			t.Fatalf("staff page with every slot taken: %d %q", status, header.Get("Retry-After"))
		}
		// Materials and photos are files read into memory too, and wait for the same slots.
		for _, path := range []string{"/api/v1/enrolments/1/materials?code=id_card", "/api/v1/cards/1/photo"} {
			role := auth.Clerk
			if strings.Contains(path, "photo") {
				role = auth.Resident
			}
			if status, header, body := e.postFile(role, path, testPDF); status != http.StatusServiceUnavailable || header.Get("Retry-After") == "" {
				t.Fatalf("%s with every slot taken: %d %s", path, status, body)
			}
		}
		// A slot freed while a request waits is taken by it.
		go func() { time.Sleep(100 * time.Millisecond); held[0]() }()
		if status, _, body := e.postFile(auth.Employer, staffAPI, file); status != http.StatusOK {
			t.Fatalf("after a slot was freed: %d %s", status, body)
		}
		held[1]()
		// An upload that has waited for its slot still has its time to be read and applied, though
		// the server's own deadlines (here half a second) passed while it waited.
		strict := httptest.NewUnstartedServer(e.srv)
		strict.Config.ReadTimeout, strict.Config.WriteTimeout = 500*time.Millisecond, 500*time.Millisecond
		strict.Start()
		defer strict.Close()
		e.srv.uploads = newUploadGate(1, 5*time.Second)
		release, _ := e.srv.uploads.enter(context.Background())
		go func() { time.Sleep(time.Second); release() }()
		req, _ := http.NewRequest("POST", strict.URL+staffAPI, bytes.NewReader([]byte("操作,身份证号,姓名,缴费基数,月份\n增员,"+e.newID()+",迟到,8000,"+thisMonth(e)+"\n")))
		req.Header.Set("Authorization", "Bearer "+e.tokens[auth.Employer])
		e.setKey(req)
		if status, _, body := send(t, http.DefaultClient, req); status != http.StatusOK {
			t.Fatalf("an upload that waited past the server's deadlines: %d %s", status, body)
		}
		e.srv.uploads = newUploadGate(2, 300*time.Millisecond)
		// Every slot is back: two uploads at once both go through.
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Go(func() {
				f := []byte(fmt.Sprintf("操作,身份证号,姓名,缴费基数,月份\n增员,%s,职工%d,8000,%s\n", e.newID(), i, thisMonth(e)))
				if status, _, body := e.postFile(auth.Employer, staffAPI, f); status != http.StatusOK {
					t.Errorf("upload %d: %d %s", i, status, body)
				}
			})
		}
		wg.Wait()
	})
}

// TestAttackUploadProblemsBounded: a file of thousands of bad rows is refused with every bad row
// counted and the first errs.MaxRowProblems listed, not a list as long as the file.
func TestAttackUploadProblemsBounded(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newTestEnv(t, d)
		var b strings.Builder
		b.WriteString("操作,身份证号,姓名,缴费基数,月份\n")
		for i := range 3000 {
			fmt.Fprintf(&b, "增员,not-an-id-%d,,-1,999999\n", i)
		}
		status, _, body := e.postFile(auth.Employer, "/api/v1/employers/"+e.employerUSCC+"/staff/bulk", []byte(b.String()))
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d", status)
		}
		got := errorOf(t, body)
		if len(got.Rows) != errs.MaxRowProblems || !strings.Contains(got.Message, "3000 of 3000 rows") || !strings.Contains(got.Message, "first 1000") {
			t.Fatalf("%d problems listed; message %q", len(got.Rows), got.Message)
		}
		if got.Rows[0].Line != 2 || got.Rows[len(got.Rows)-1].Line > 1000 {
			t.Fatalf("the list runs from line %d to %d", got.Rows[0].Line, got.Rows[len(got.Rows)-1].Line)
		}
	})
}
