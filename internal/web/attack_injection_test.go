package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/sheet"
)

// formulaName is the name from the security review (finding 9): opened in Excel, it runs calc.
const formulaName = `=cmd|' /C calc'!A0`

// TestAttackFormulaInjectionInManufacturerFile replays finding 9 over HTTP. A person with the
// name is refused at the door on every way in (HR's staff form and file, the window). A name
// stored before that rule still reaches the manufacturer file only as text: its cell starts with
// an apostrophe, no cell of the file starts a formula, and the file read back as shebao reads files
// gives the name exactly as stored, so the batch's result imports.
func TestAttackFormulaInjectionInManufacturerFile(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newTestEnv(t, d)
		name, _ := json.Marshal(formulaName)
		staff := "/api/v1/employers/" + e.employerUSCC + "/staff"

		// The finding as reported: HR registers the name with a new member of staff.
		id := e.newID()
		status, body := e.do(auth.Employer, "POST", staff, `{"id_number":"`+id+`","name":`+string(name)+`,"base":"7000","month":"`+thisMonth(e)+`"}`)
		if status != 422 || errorOf(t, body).Fields["name"] == "" {
			t.Fatalf("staff with a formula for a name: %d %s; want 422 naming name", status, body)
		}
		status, body = e.do(auth.Employer, "POST", staff+"/bulk?file_name=s.csv", "操作,身份证号,姓名,缴费基数,月份\n增员,"+id+",\""+strings.ReplaceAll(formulaName, `"`, `""`)+"\",7000,"+thisMonth(e)+"\n")
		if status != 422 || !strings.Contains(body, `"name"`) {
			t.Fatalf("staff file with a formula for a name: %d %s; want 422 naming name", status, body)
		}
		status, body = e.do(auth.Clerk, "POST", "/api/v1/persons", `{"id_number":"`+id+`","name":`+string(name)+`,"hukou_type":"local"}`)
		if status != 422 || errorOf(t, body).Fields["name"] == "" {
			t.Fatalf("window registration with a formula for a name: %d %s; want 422 naming name", status, body)
		}

		// A name stored before the rule (an older version, a data migration) is still in the
		// database: the file must carry it as text.
		e.call(auth.Employer, "POST", staff, `{"id_number":"`+id+`","name":"旧名","base":"7000","month":"`+thisMonth(e)+`"}`, 201)
		if err := d.Write(context.Background(), func(tx *db.Tx) error {
			_, err := tx.ExecContext(context.Background(), "UPDATE persons SET name = $1 WHERE id_number = $2", formulaName, id)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		c := e.call(auth.Employer, "POST", "/api/v1/cards", `{"id_number":"`+id+`"}`, 201)
		e.call(auth.Employer, "POST", fmt.Sprintf("/api/v1/cards/%d/photo", idOf(c)), string(testPNG), 200)
		e.call(auth.Reviewer, "POST", fmt.Sprintf("/api/v1/cards/%d/approve", idOf(c)), "", 200)
		batch := idOf(e.call(auth.CardOfficer, "POST", "/api/v1/card-batches", `{"region":"`+testRegion+`"}`, 201))
		status, file := e.do(auth.CardOfficer, "GET", fmt.Sprintf("/api/v1/card-batches/%d/manufacturer-file", batch), "")
		if status != 200 {
			t.Fatalf("manufacturer file: %d %s", status, file)
		}
		raw, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(file, "\ufeff"))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) != 2 || raw[0][3] != "name" || raw[1][2] != id {
			t.Fatalf("manufacturer file %q", raw)
		}
		if raw[1][3] != "'"+formulaName {
			t.Errorf("the name's cell is %q; want it to start with an apostrophe", raw[1][3])
		}
		for _, r := range raw {
			for _, cell := range r {
				noFormula(t, cell)
			}
		}

		// Read back as shebao reads files, the name is the stored one, and the manufacturer's
		// answer made from the file imports.
		sent, err := sheet.Read(strings.NewReader(file), sheet.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		row := sent.Rows[0].Cells
		if got := row[sent.Column("name")]; got != formulaName {
			t.Errorf("the name read back from the file is %q; want %q", got, formulaName)
		}
		result := fmt.Sprintf("application_no,card_number,chip_serial,atr\r\n%s,%s,AD932A48,3B6C0000008154AD932A48\r\n",
			row[sent.Column("application_no")], row[sent.Column("card_number")])
		e.call(auth.CardOfficer, "POST", fmt.Sprintf("/api/v1/card-batches/%d/result", batch), "\ufeff"+result, 200)

		// The staff template, the other file shebao hands out, holds no formula either.
		status, tmpl := e.do("", "GET", "/api/v1/templates/staff.xlsx", "")
		if status != 200 {
			t.Fatalf("template: %d", status)
		}
		f, err := excelize.OpenReader(bytes.NewReader([]byte(tmpl)))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, err := f.GetRows(f.GetSheetList()[0], excelize.Options{RawCellValue: true})
		if err != nil || len(rows) < 2 {
			t.Fatalf("template rows %q %v", rows, err)
		}
		for _, r := range rows {
			for _, cell := range r {
				noFormula(t, cell)
			}
		}
	})
}

// noFormula fails when a cell as stored in a file would start a formula in a spreadsheet: it
// starts (after spaces) with = + - @, their full-width forms or a control character and is not a
// plain number.
func noFormula(t *testing.T, cell string) {
	t.Helper()
	s := strings.TrimLeft(cell, " 　")
	r, _ := utf8.DecodeRuneInString(s)
	if !strings.ContainsRune("=+-@＝＋－＠", r) && !unicode.IsControl(r) {
		return
	}
	if strings.Trim(s, "+-0123456789.") == "" && strings.ContainsAny(s, "0123456789") && strings.LastIndexAny(s, "+-") <= 0 {
		return // a plain number such as -12.50
	}
	t.Errorf("a cell a spreadsheet would run as a formula: %q", cell)
}
