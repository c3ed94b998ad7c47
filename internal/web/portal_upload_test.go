package web

import (
	"bytes"
	"io"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db/dbtest"
)

// An upload larger than the form allows is refused with the field and the limit named.
func TestPortalUploadTooLarge(t *testing.T) {
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	c := e.portalClient(auth.Employer)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", "staff.csv")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write([]byte("操作,身份证号,姓名,缴费基数,月份\n"))
	fw.Write(bytes.Repeat([]byte("x"), 22<<20))
	mw.Close()
	resp, err := c.Post(e.http.URL+"/staff/bulk", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 422 || !strings.Contains(string(page), "20 MiB") {
		t.Fatalf("a 22 MiB upload: %d %s", resp.StatusCode, page)
	}
}
