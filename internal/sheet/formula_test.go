package sheet

import (
	"bytes"
	"encoding/csv"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// formulaCases: a cell, and what a writer must put in the file for it.
var formulaCases = []struct{ cell, written string }{
	{`=cmd|' /C calc'!A0`, `'=cmd|' /C calc'!A0`}, // the card manufacturer file's finding
	{`=HYPERLINK("http://x","点我")`, `'=HYPERLINK("http://x","点我")`},
	{"@SUM(A1)", "'@SUM(A1)"},
	{"+1+1", "'+1+1"},
	{"-1+2", "'-1+2"},
	{"--5", "'--5"},
	{"-Inf", "'-Inf"},
	{"-2E3", "'-2E3"},
	{"\t=1+1", "'\t=1+1"},
	{"\r=1+1", "'\r=1+1"},
	{"\x01x", "'\x01x"},
	{"＝1+1", "'＝1+1"},
	{"＠SUM(A1)", "'＠SUM(A1)"},
	{" =1+1", "' =1+1"},     // Excel skips the space
	{"　=1+1", "'　=1+1"},     // and the full-width one
	{"'=1+1", "''=1+1"},     // an apostrophe of its own is kept through Read
	{"' '=1+1", "'' '=1+1"}, // however the apostrophes and spaces fall
	// Plain numbers are numbers, not formulas: negative amounts stay summable.
	{"-12.50", "-12.50"},
	{"+86", "+86"},
	{"-.5", "-.5"},
	{"-12.50 ", "-12.50 "},
	{"'-12.50", "'-12.50"},
	// Harmless as they are.
	{"a=b", "a=b"},
	{"张三", "张三"},
	{"O'Brien", "O'Brien"},
	{"'quoted'", "'quoted'"},
	{"\t", "\t"},
	{"", ""},
}

func TestDefuse(t *testing.T) {
	for _, c := range formulaCases {
		if got := defuse(c.cell); got != c.written {
			t.Errorf("defuse(%q) = %q, want %q", c.cell, got, c.written)
		}
		if got := undefuse(c.written); got != c.cell {
			t.Errorf("undefuse(%q) = %q, want %q", c.written, got, c.cell)
		}
	}
}

// TestWritersDefuseAndReadRoundTrips writes every case with both writers, looks at the cells as
// the file holds them (what a spreadsheet sees), and reads the file back with Read.
func TestWritersDefuseAndReadRoundTrips(t *testing.T) {
	header := []string{"=header", "b"}
	var rows [][]string
	for _, c := range formulaCases {
		if strings.ContainsFunc(c.cell, func(r rune) bool { return unicode.IsControl(r) && r != '\t' && r != '\r' }) {
			continue // Read refuses such files as binary, and XML cannot hold them
		}
		rows = append(rows, []string{c.cell, "x"})
	}
	for name, data := range map[string][]byte{"csv": mustCSV(t, header, rows), "xlsx": mustXLSX(t, header, rows)} {
		t.Run(name, func(t *testing.T) {
			raw := rawCells(t, data)
			if raw[0][0] != "'=header" {
				t.Errorf("header cell written %q", raw[0][0])
			}
			for i, r := range rows {
				want := defuse(r[0])
				if name == "csv" {
					want = strings.ReplaceAll(want, "\r", "") // encoding/csv drops a lone CR when it writes CRLF lines
				}
				if got := raw[i+1][0]; got != want {
					t.Errorf("%q written as %q, want %q", r[0], got, want)
				}
				checkNoFormula(t, raw[i+1][0])
			}
			got := mustRead(t, data, Limits{})
			if got.Header[0] != "=header" {
				t.Errorf("header read back as %q", got.Header[0])
			}
			for i, r := range got.Rows {
				if want := trim(rows[i][0]); r.Cells[0] != want {
					t.Errorf("%q read back as %q, want %q", rows[i][0], r.Cells[0], want)
				}
			}
		})
	}
}

// rawCells returns the cells of a file as they are stored, without Read's decoding: encoding/csv
// for CSV, excelize's raw values for XLSX.
func rawCells(tb testing.TB, data []byte) [][]string {
	tb.Helper()
	if bytes.HasPrefix(data, []byte("PK")) {
		f, err := excelize.OpenReader(bytes.NewReader(data))
		if err != nil {
			tb.Fatal(err)
		}
		defer f.Close()
		rows, err := f.GetRows(f.GetSheetList()[0], excelize.Options{RawCellValue: true})
		if err != nil {
			tb.Fatal(err)
		}
		return rows
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte(utf8BOM))))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	return rows
}

// plainNumber is, independently of isDecimal, what a spreadsheet reads as a number and never as a
// formula.
var plainNumber = regexp.MustCompile(`^[+-]?(\d+(\.\d*)?|\.\d+)\s*$`)

// checkNoFormula fails when a stored cell starts as a formula: with = + - @ (or their full-width
// forms) or a control character, unless it is a plain number or white space alone.
func checkNoFormula(tb testing.TB, cell string) {
	tb.Helper()
	if strings.TrimSpace(cell) == "" {
		return
	}
	s := strings.TrimLeft(cell, " 　")
	r, _ := utf8.DecodeRuneInString(s)
	if (strings.ContainsRune("=+-@＝＋－＠", r) || unicode.IsControl(r)) && !plainNumber.MatchString(s) {
		tb.Fatalf("the file holds a cell a spreadsheet runs as a formula: %q", cell)
	}
}

// FuzzWriteDefuses writes arbitrary cells with both writers. No cell in either file may start as
// a formula, and Read gives every cell back as it was (trimmed) whenever it can read the file.
func FuzzWriteDefuses(f *testing.F) {
	for _, c := range formulaCases {
		f.Add(c.cell, "-12.50")
	}
	f.Add("=1+1", "@A1")
	f.Add("\u00a0-1+1", "\u2028=1")
	f.Fuzz(func(t *testing.T, a, b string) {
		if !utf8.ValidString(a) || !utf8.ValidString(b) || len(a) > 200 || len(b) > 200 {
			return
		}
		header, rows := []string{"a", "b"}, [][]string{{a, b}}
		for _, format := range []string{"csv", "xlsx"} {
			var buf bytes.Buffer
			var err error
			if format == "csv" {
				err = WriteCSV(&buf, header, rows)
			} else {
				err = WriteXLSX(&buf, "", header, rows)
			}
			if err != nil {
				t.Fatalf("%s: %v", format, err)
			}
			for _, r := range rawCells(t, buf.Bytes()) {
				for _, c := range r {
					checkNoFormula(t, c)
				}
			}
			// XML cannot hold most control characters, and Read refuses CSV text with them: the
			// round trip is promised for text.
			if strings.ContainsFunc(a+b, unicode.IsControl) {
				continue
			}
			got, err := Read(bytes.NewReader(buf.Bytes()), Limits{})
			if err != nil {
				t.Fatalf("%s: Read: %v", format, err)
			}
			want := []string{trim(a), trim(b)}
			if want[0] == "" && want[1] == "" {
				if len(got.Rows) != 0 {
					t.Fatalf("%s: an empty row read back as %+v", format, got.Rows)
				}
				continue
			}
			if len(got.Rows) != 1 || !reflect.DeepEqual(got.Rows[0].Cells, want) {
				t.Fatalf("%s: read back %+v, want %q", format, got.Rows, want)
			}
		}
	})
}
