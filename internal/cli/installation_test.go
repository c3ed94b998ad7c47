package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/period"
)

// portalClient logs in to the portal at addr and returns a client that carries the session.
func portalClient(t *testing.T, addr, username, password string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm("http://"+addr+"/login", url.Values{"username": {username}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login %s: %d", username, resp.StatusCode)
	}
	return c
}

func mustPost(t *testing.T, c *http.Client, u, contentType string, body io.Reader, want int) string {
	t.Helper()
	resp, err := c.Post(u, contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("POST %s: %d, want %d: %s", u, resp.StatusCode, want, problemOf(string(b)))
	}
	return string(b)
}

// TestDemoSurvivesItsUse: what people create in a demo database is demo data. A clerk registers a
// person at the window with an online account, the administrator creates a user, the employer's HR
// applies a staff file; the demo then starts again with all of it in place.
func TestDemoSurvivesItsUse(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	_, _, stop := startServe(t, "serve", "--demo", "--data", dir, "--addr", addr)
	const password = "demo-shebao-2026"

	resident, _ := ident.MakeIDNumber("33010619900307123")
	clerk := portalClient(t, addr, "demo-clerk", password)
	page := mustPost(t, clerk, "http://"+addr+"/window/person", "application/x-www-form-urlencoded", strings.NewReader(url.Values{
		"id_number": {string(resident)}, "name": {"窗口新人"}, "hukou_type": {"local"}, "phone": {"13900000001"}, "create_login": {"on"}}.Encode()),
		http.StatusCreated)
	if !strings.Contains(page, `id="code-sent-to"`) {
		t.Fatalf("the window page does not say where the activation code went")
	}

	admin := portalClient(t, addr, "demo-admin", password)
	mustPost(t, admin, "http://"+addr+"/admin/users", "application/x-www-form-urlencoded", strings.NewReader(url.Values{
		"username": {"clerk-made-in-demo"}, "display_name": {"示范新柜员"}, "role": {"clerk"}, "regions": {"330100"},
		"phone": {"13900001234"}}.Encode()), http.StatusCreated)

	staffID, _ := ident.MakeIDNumber("33010619880512234")
	var file bytes.Buffer
	// The server runs on the real clock, so the month is this Beijing month.
	fmt.Fprintf(&file, "操作,身份证号,姓名,缴费基数,月份\n增员,%s,文件新人,8000.00,%s\n", staffID, period.MonthOf(time.Now()))
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	fw, _ := mw.CreateFormFile("file", "staff.csv")
	fw.Write(file.Bytes())
	mw.Close()
	hr := portalClient(t, addr, "demo-employer", password)
	mustPost(t, hr, "http://"+addr+"/staff/bulk", mw.FormDataContentType(), &form, http.StatusOK)
	if code := stop(); code != 0 {
		t.Fatalf("serve exit code %d", code)
	}

	out, _, stop := startServe(t, "serve", "--demo", "--data", dir, "--addr", freeAddr(t))
	if !strings.Contains(out.String(), "demo-admin") {
		t.Fatalf("the second demo start printed no logins: %s", out.String())
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exit code %d", code)
	}
	d, err := db.Open(context.Background(), db.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for what, q := range map[string]string{
		"the window's person":       fmt.Sprintf("SELECT COUNT(*) FROM persons WHERE id_number = '%s'", resident),
		"the person's online login": fmt.Sprintf("SELECT COUNT(*) FROM users u JOIN persons p ON p.id = u.person_id WHERE p.id_number = '%s'", resident),
		"the admin's user":          "SELECT COUNT(*) FROM users WHERE username = 'clerk-made-in-demo'",
		"the staff file's person":   fmt.Sprintf("SELECT COUNT(*) FROM persons WHERE id_number = '%s'", staffID),
	} {
		var n int
		if err := d.R().QueryRowContext(context.Background(), q).Scan(&n); err != nil || n != 1 {
			t.Errorf("%s after the restart: %d rows (%v)", what, n, err)
		}
	}
}

// TestInstallationKindsStayApart: a database made without --demo refuses --demo, whether it was
// given a user first or served first; a demo database refuses to serve without --demo. On every
// engine.
func TestInstallationKindsStayApart(t *testing.T) {
	eachDB(t, func(t *testing.T, dbArgs []string, open func() *db.DB) {
		// A production database given its first administrator from the command line.
		if code, _, errOut := run(t, nil, "", append([]string{"user", "add", "--username", "admin1", "--role", "admin", "--region", "330100"}, dbArgs...)...); code != 0 {
			t.Fatalf("user add: %d %s", code, errOut)
		}
		code, _, errOut := run(t, nil, "", append(append([]string{"serve", "--demo"}, dbArgs...), "--addr", freeAddr(t))...)
		if code != 1 || !strings.Contains(errOut, "production database") {
			t.Fatalf("--demo on a database with a real user: %d %s", code, errOut)
		}
		var users int
		if err := open().R().QueryRowContext(context.Background(), "SELECT COUNT(*) FROM users").Scan(&users); err != nil || users != 1 {
			t.Fatalf("the refused --demo left %d users (%v); want the one real user", users, err)
		}
	})
	t.Run("served first", func(t *testing.T) {
		dir := t.TempDir()
		addr := freeAddr(t)
		_, _, stop := startServe(t, "serve", "--data", dir, "--addr", addr)
		if code := stop(); code != 0 {
			t.Fatalf("serve exit code %d", code)
		}
		code, _, errOut := run(t, nil, "", "serve", "--demo", "--data", dir, "--addr", freeAddr(t))
		if code != 1 || !strings.Contains(errOut, "production database") {
			t.Fatalf("--demo on a database first served without it: %d %s", code, errOut)
		}
	})
}

// problemOf is the problem a portal page shows, for a failure message.
func problemOf(page string) string {
	if i := strings.Index(page, `id="problem"`); i >= 0 {
		return page[i:min(len(page), i+600)]
	}
	return page[:min(len(page), 300)]
}
