package web

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/period"
)

// TestRightsRecord: the resident's personal rights record of this year gives back, through
// pdftotext, its Chinese text and its figures: the month paid with its employer, base and status,
// the pension account's credit and balances; a year out of range names the field.
func TestRightsRecord(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newTestEnv(t, d)
		e.paidMonth()
		now := period.MonthOf(d.Now())
		year := period.Today(d.Now()).Year()
		st := e.call(auth.Resident, "GET", "/api/v1/me/contributions", "", 200)
		status, pdf, hdr := e.rawGet(auth.Resident, fmt.Sprintf("/api/v1/me/rights-records/%d", year))
		if status != 200 || hdr.Get("Content-Type") != "application/pdf" {
			t.Fatalf("record: %d %s %s", status, hdr.Get("Content-Type"), pdf)
		}
		text := pdfText(t, pdf)
		pension, _ := st["pension_account"].(map[string]any)["balance"].(string)
		for _, want := range []string{"个人权益记录", "一、缴费记录", "测试公司", now.String(), "已足额缴纳", "基本养老保险个人账户", "缴费划入", "期末余额",
			"四、医疗费用结算", "本年度无结算", "五、社会保险待遇", "3301"} {
			if !strings.Contains(text, want) {
				t.Errorf("the record's text lacks %q:\n%s", want, text)
			}
		}
		if pension == "" || pension == "0.00" || !strings.Contains(text, pension) {
			t.Errorf("the pension balance %q is not in the record:\n%s", pension, text)
		}
		if strings.Contains(text, e.personID) {
			t.Errorf("the record prints the whole ID number")
		}
		status, resp, _ := e.rawGet(auth.Resident, fmt.Sprintf("/api/v1/me/rights-records/%d", year+1))
		if status != 422 || errorOf(t, string(resp)).Fields["year"] == "" {
			t.Fatalf("next year: %d %s", status, resp)
		}
		// A name with a character the font lacks is refused, never printed as a box.
		if err := d.Write(context.Background(), func(tx *db.Tx) error {
			_, err := tx.ExecContext(context.Background(), "UPDATE persons SET name = $1 WHERE id_number = $2", "张\U0002A6A5", e.personID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if status, resp, _ := e.rawGet(auth.Resident, fmt.Sprintf("/api/v1/me/rights-records/%d", year)); status != 503 || !strings.Contains(string(resp), "font") {
			t.Fatalf("a name the font lacks: %d %s", status, resp)
		}
	})
}
