package sheet

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
)

// Fixtures shared by the tests: the awkward values HR files really carry.
var (
	sampleHeader = []string{"姓名", "身份证号 (id_number)", "月缴费基数", "备注"}
	sampleRows   = [][]string{
		{"张三", "110105194912310025", "8000.00", "新参保"},
		{"李四", "11010519491231002X", "12345.67", ""}, // ID ending in X, an empty cell
		{"王五", "000123", "", "leading zeros stay"},
		{"Zoë O'Brien", "440300199001011234", "-12.50", "多行\n备注"},
	}
)

func mustXLSX(tb testing.TB, header []string, rows [][]string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := WriteXLSX(&buf, "", header, rows); err != nil {
		tb.Fatalf("WriteXLSX: %v", err)
	}
	return buf.Bytes()
}

func mustCSV(tb testing.TB, header []string, rows [][]string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := WriteCSV(&buf, header, rows); err != nil {
		tb.Fatalf("WriteCSV: %v", err)
	}
	return buf.Bytes()
}

func mustRead(tb testing.TB, data []byte, lim Limits) *Table {
	tb.Helper()
	t, err := Read(bytes.NewReader(data), lim)
	if err != nil {
		tb.Fatalf("Read: %v", err)
	}
	return t
}

// mustFail reads data and returns the *Error it must fail with.
func mustFail(tb testing.TB, data []byte, lim Limits) *Error {
	tb.Helper()
	t, err := Read(bytes.NewReader(data), lim)
	if err == nil {
		tb.Fatalf("Read succeeded with header %q and %d rows; want an error", t.Header, len(t.Rows))
	}
	var se *Error
	if !errors.As(err, &se) {
		tb.Fatalf("Read error %v is a %T, not *Error", err, err)
	}
	return se
}

// xlsxOf builds a workbook cell by cell with excelize itself, for layouts
// WriteXLSX never produces (gaps, numbers, far columns).
func xlsxOf(tb testing.TB, cells map[string]any) []byte {
	tb.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for ref, v := range cells {
		if err := f.SetCellValue("Sheet1", ref, v); err != nil {
			tb.Fatalf("SetCellValue %s: %v", ref, err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func gb18030(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// checkTable compares a table with what was written: rows start on line 2.
func checkTable(tb testing.TB, got *Table, format Format, header []string, rows [][]string) {
	tb.Helper()
	if got.Format != format {
		tb.Errorf("Format = %q, want %q", got.Format, format)
	}
	if !reflect.DeepEqual(got.Header, header) {
		tb.Errorf("Header = %q, want %q", got.Header, header)
	}
	if len(got.Rows) != len(rows) {
		tb.Fatalf("%d rows, want %d", len(got.Rows), len(rows))
	}
	for i, r := range got.Rows {
		if r.Line != i+2 {
			tb.Errorf("row %d: Line = %d, want %d", i, r.Line, i+2)
		}
		if !reflect.DeepEqual(r.Cells, rows[i]) {
			tb.Errorf("line %d: Cells = %q, want %q", r.Line, r.Cells, rows[i])
		}
	}
}

// bigRows makes n rows of 8 columns that look like a payroll upload.
func bigRows(n int) (header []string, rows [][]string) {
	header = []string{"序号", "姓名", "身份证号", "性别", "参保日期", "月缴费基数", "险种", "备注"}
	rows = make([][]string, n)
	for i := range rows {
		rows[i] = []string{
			fmt.Sprint(i + 1),
			fmt.Sprintf("职工%05d", i),
			fmt.Sprintf("1101051990%08d", i), // 18 digits: must not become a float
			[]string{"男", "女"}[i%2],
			"2024-01-15",
			fmt.Sprintf("%d.%02d", 4000+i%20000, i%100),
			"养老",
			"",
		}
	}
	return header, rows
}

func TestRoundTripXLSX(t *testing.T) {
	got := mustRead(t, mustXLSX(t, sampleHeader, sampleRows), Limits{})
	checkTable(t, got, XLSX, sampleHeader, sampleRows)
}

func TestRoundTripXLSXLarge(t *testing.T) {
	header, rows := bigRows(10_000)
	got := mustRead(t, mustXLSX(t, header, rows), Limits{})
	checkTable(t, got, XLSX, header, rows)
}

func TestRoundTripCSV(t *testing.T) {
	data := mustCSV(t, sampleHeader, sampleRows)
	if !bytes.HasPrefix(data, []byte(utf8BOM)) {
		t.Errorf("WriteCSV output starts %q, want a UTF-8 BOM", data[:min(len(data), 3)])
	}
	got := mustRead(t, data, Limits{})
	checkTable(t, got, CSV, sampleHeader, sampleRows)
}

func TestRoundTripCSVLarge(t *testing.T) {
	header, rows := bigRows(10_000)
	got := mustRead(t, mustCSV(t, header, rows), Limits{})
	checkTable(t, got, CSV, header, rows)
}

func TestReadCSVEncodings(t *testing.T) {
	const text = "姓名,身份证号,单位\r\n张三,11010519491231002X,深圳市某某科技有限公司\r\n"
	want := [][]string{{"张三", "11010519491231002X", "深圳市某某科技有限公司"}}
	utf16, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	utf16BE, err := unicode.UTF16(unicode.BigEndian, unicode.UseBOM).NewEncoder().Bytes([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"UTF-8", []byte(text)},
		{"UTF-8 with BOM", []byte(utf8BOM + text)},
		{"GB18030", gb18030(t, text)},
		{"UTF-16 with BOM", utf16},
		{"UTF-16 big-endian with BOM", utf16BE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mustRead(t, tc.data, Limits{})
			checkTable(t, got, CSV, []string{"姓名", "身份证号", "单位"}, want)
		})
	}
}

func TestReadCSVDelimiters(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		header     []string
		rows       [][]string
	}{
		{"comma", "a,b\n1,2\n", []string{"a", "b"}, [][]string{{"1", "2"}}},
		{"semicolon", "姓名;金额\n张三;1,5\n", []string{"姓名", "金额"}, [][]string{{"张三", "1,5"}}},
		{"tab", "姓名\t金额\n张三\t1,234.50\n", []string{"姓名", "金额"}, [][]string{{"张三", "1,234.50"}}},
		{"comma despite a semicolon in a name", "名称,备注\n甲,a;b\n", []string{"名称", "备注"}, [][]string{{"甲", "a;b"}}},
		{"quoted delimiters do not count", "\"a;b;c\",d\n1,2\n", []string{"a;b;c", "d"}, [][]string{{"1", "2"}}},
		{"one column", "身份证号\n000123\n", []string{"身份证号"}, [][]string{{"000123"}}},
		{"old Mac line ends", "a,b\r1,2\r", []string{"a", "b"}, [][]string{{"1", "2"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkTable(t, mustRead(t, []byte(tc.text), Limits{}), CSV, tc.header, tc.rows)
		})
	}
}

func TestReadCSVLineNumbers(t *testing.T) {
	// Empty lines, a row of empty cells, a quoted cell over two lines and
	// CRLF line ends: each record is one Excel row, whatever its text lines.
	text := "\r\n" + // line 1: empty, before the header
		"姓名,备注\r\n" + // line 2: header
		"张三,a\r\n" + // line 3
		"\r\n" + // line 4: empty
		" , \r\n" + // line 5: only spaces
		"李四,\"第一行\r\n第二行\"\r\n" + // line 6: one record, two text lines
		"王五,c\r\n" + // line 7
		"\r\n\r\n" + // lines 8, 9
		"赵六,d" // line 10, no final line end
	got := mustRead(t, []byte(text), Limits{})
	want := []Row{
		{3, []string{"张三", "a"}},
		{6, []string{"李四", "第一行\n第二行"}},
		{7, []string{"王五", "c"}},
		{10, []string{"赵六", "d"}},
	}
	if !reflect.DeepEqual(got.Rows, want) {
		t.Errorf("Rows = %v, want %v", got.Rows, want)
	}
}

func TestReadXLSXLineNumbers(t *testing.T) {
	got := mustRead(t, xlsxOf(t, map[string]any{
		"B3": "姓名", "C3": "身份证号", // rows 1 and 2 empty: the header is line 3
		"B4": "张三", "C4": "110105194912310025",
		"B5": "   ", // spaces only: empty
		"B8": "李四",  // rows 6 and 7 missing from the XML altogether
	}), Limits{})
	// Column A is empty throughout but lies before the header's text, so it
	// is a column with no name, as Excel shows it.
	checkTable(t, &Table{Format: got.Format, Header: got.Header}, XLSX, []string{"", "姓名", "身份证号"}, nil)
	want := []Row{
		{4, []string{"", "张三", "110105194912310025"}},
		{8, []string{"", "李四", ""}},
	}
	if !reflect.DeepEqual(got.Rows, want) {
		t.Errorf("Rows = %v, want %v", got.Rows, want)
	}
}

func TestReadXLSXNumbers(t *testing.T) {
	// Cells Excel stored as numbers come back as Excel shows them, in plain
	// digits rather than scientific notation; lost digits stay lost.
	f := excelize.NewFile()
	defer f.Close()
	style := func(numFmt int) int {
		id, err := f.NewStyle(&excelize.Style{NumFmt: numFmt})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	cases := []struct {
		raw    string // the <v> Excel wrote
		numFmt int    // 0 is General
		want   string
	}{
		{"1.10105194912310E+17", 0, "110105194912310000"}, // 18-digit ID typed as a number
		{"110105194912310025", 0, "110105194912310000"},   // too precise for Excel: rounded like Excel
		{"1.10105194912310E+17", 1, "110105194912310000"}, // format "0"
		{"123", 0, "123"}, // was "000123": the zeros are gone
		{"8000.5", 0, "8000.5"},
		{"0.30000000000000004", 0, "0.3"},
		{"12345.678", 4, "12,345.68"}, // "#,##0.00": as displayed
		{"45306", 14, "2024-01-15"},   // short date: ISO
		{"45306", 31, "2024年1月15日"},   // a Chinese long date
		{"-1.5E-05", 0, "-0.000015"},
	}
	if err := f.SetCellValue("Sheet1", "A1", "值"); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		ref := fmt.Sprintf("A%d", i+2)
		if err := f.SetCellDefault("Sheet1", ref, c.raw); err != nil {
			t.Fatal(err)
		}
		if c.numFmt != 0 {
			if err := f.SetCellStyle("Sheet1", ref, ref, style(c.numFmt)); err != nil {
				t.Fatal(err)
			}
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	got := mustRead(t, buf.Bytes(), Limits{})
	if len(got.Rows) != len(cases) {
		t.Fatalf("%d rows, want %d", len(got.Rows), len(cases))
	}
	for i, c := range cases {
		if g := got.Rows[i].Cells[0]; g != c.want {
			t.Errorf("<v>%s</v> with format %d reads %q, want %q", c.raw, c.numFmt, g, c.want)
		}
	}
}

func TestUnscientific(t *testing.T) {
	for in, want := range map[string]string{
		"1.10101199001011E+17": "110101199001011000",
		"1E+05":                "100000",
		"-2.5E-03":             "-0.0025",
		"12E3":                 "12E3", // a room number, not excelize's notation
		"1.5e+03":              "1.5e+03",
		"1.5E3":                "1.5E3",
		"1.E+05":               "1.E+05",
		"1.5E+300":             "1.5E+300", // would be 300 zeros
		"E+05":                 "E+05",
		"张三":                   "张三",
		"":                     "",
	} {
		if got := unscientific(in); got != want {
			t.Errorf("unscientific(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadTrimsAndPads(t *testing.T) {
	text := "\ufeff 姓名 ,\u3000身份证号\u3000,备注\n" +
		"\u200b张三\u00a0,110105194912310025\n" + // a short row
		"李四,11010519491231002X,,,\n" // empty cells past the header
	checkTable(t, mustRead(t, []byte(text), Limits{}), CSV,
		[]string{"姓名", "身份证号", "备注"},
		[][]string{{"张三", "110105194912310025", ""}, {"李四", "11010519491231002X", ""}})
}

func TestReadCSVExcelPadding(t *testing.T) {
	// Excel pads CSV rows with commas up to the last column anyone ever
	// formatted; up to its 16,384 columns that is still a table.
	pad := strings.Repeat(",", 16_383-1)
	text := "a,b" + pad + "\n1,2" + pad + "\n"
	checkTable(t, mustRead(t, []byte(text), Limits{}), CSV, []string{"a", "b"}, [][]string{{"1", "2"}})
}

func TestReadHeaderOnly(t *testing.T) {
	for name, data := range map[string][]byte{
		"csv":  []byte("姓名,身份证号\n\n"),
		"xlsx": mustXLSX(t, []string{"姓名", "身份证号"}, nil),
	} {
		t.Run(name, func(t *testing.T) {
			got := mustRead(t, data, Limits{})
			if len(got.Header) != 2 || len(got.Rows) != 0 {
				t.Errorf("got header %q and %d rows, want 2 columns and no rows", got.Header, len(got.Rows))
			}
		})
	}
}

func TestReadLimitsAtTheEdge(t *testing.T) {
	// Exactly at each limit is allowed; one past is not (see TestReadErrors).
	text := "a,b,c\n12345,一二三四五,x\n1,2,3\n"
	lim := Limits{MaxBytes: int64(len(text)), MaxRows: 2, MaxCols: 3, MaxCell: 5}
	got := mustRead(t, []byte(text), lim)
	if len(got.Rows) != 2 {
		t.Errorf("%d rows, want 2", len(got.Rows))
	}
}

func TestReadErrors(t *testing.T) {
	junk := make([]byte, 4096)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range junk {
		junk[i] = byte(rng.UintN(256))
	}

	notXLSX := func() []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create("word/document.xml")
		_, _ = w.Write([]byte("<w:document/>"))
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}()

	// An entry that unpacks to 4 MiB of zeros from a few kilobytes.
	bomb := func() []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create("xl/worksheets/sheet1.xml")
		_, _ = w.Write(make([]byte, 4<<20))
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}()

	// An entry whose directory claims a terabyte: refused before inflating.
	claimsTerabyte := func() []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, err := zw.CreateRaw(&zip.FileHeader{Name: "xl/worksheets/sheet1.xml", Method: zip.Store, CompressedSize64: 1, UncompressedSize64: 1 << 40})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte("x"))
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}()

	_, big := bigRows(20)
	bigCSV := mustCSV(t, []string{"a", "b", "c", "d", "e", "f", "g", "h"}, big)

	for _, tc := range []struct {
		name     string
		data     []byte
		lim      Limits
		reason   string // the whole Reason
		line     int
		column   string
		contains bool // reason need only be contained
	}{
		{name: "empty file", data: nil, reason: "the file is empty"},
		{name: "only empty rows", data: []byte("\n , ,\n\n"), reason: "the file has no header row: every row is empty"},
		{name: "random binary", data: junk, reason: "the file is not an XLSX or CSV table"},
		{name: "text with NUL", data: []byte("a,b\n1,\x002\n"), reason: "the file is not an XLSX or CSV table"},
		{name: "ZIP that is not an XLSX", data: notXLSX, reason: "the file is a ZIP archive but not a readable XLSX workbook"},
		{name: "truncated XLSX", data: mustXLSX(t, sampleHeader, sampleRows)[:300], reason: "the file is a ZIP archive but not a readable XLSX workbook"},
		{name: "xls", data: append([]byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"), junk...), reason: "old-style .xls", contains: true},
		{name: "zip bomb", data: bomb, lim: Limits{MaxUnzipped: 1 << 20}, reason: "the workbook unpacks to more than 1 MiB"},
		{name: "zip claims a terabyte", data: claimsTerabyte, reason: "the workbook unpacks to more than 197 MiB"},
		{name: "file too large", data: bigCSV, lim: Limits{MaxBytes: 1 << 10}, reason: "the file is larger than 1 KiB"},
		{name: "file too large by one byte", data: []byte("a,b\n1,2\n"), lim: Limits{MaxBytes: 7}, reason: "the file is larger than 7 bytes"},
		{name: "duplicate header", data: []byte("姓名,身份证号,姓名\n"), reason: "the header has two columns named 姓名", line: 1, column: "C"},
		{name: "duplicate header by case and space", data: []byte("\n\nID No,Id no \n"), reason: "the header has two columns named Id no", line: 3, column: "B"},
		{name: "duplicate header in XLSX", data: mustXLSX(t, []string{"a", "b", "a"}, nil), reason: "the header has two columns named a", line: 1, column: "C"},
		{name: "too many columns in header", data: []byte("a,b,c,d\n"), lim: Limits{MaxCols: 3}, reason: "line 1 has 4 columns; at most 3", line: 1},
		{name: "too many columns in a row", data: []byte("a,b,c\n1,2,3,4\n"), lim: Limits{MaxCols: 3}, reason: "line 2 has 4 columns; at most 3", line: 2},
		{name: "too many columns in XLSX", data: xlsxOf(t, map[string]any{"A1": "a", "A7": 1, "BR7": 2}), reason: "line 7 has 70 columns; at most 64", line: 7},
		{name: "too many rows", data: []byte("a\n1\n2\n\n3\n"), lim: Limits{MaxRows: 2}, reason: "the file has more than 2 rows besides the header", line: 5},
		{name: "too many rows in XLSX", data: mustXLSX(t, []string{"a"}, [][]string{{"1"}, {"2"}, {"3"}}), lim: Limits{MaxRows: 2}, reason: "the file has more than 2 rows besides the header", line: 4},
		{name: "cell too long", data: []byte("a,b,c\n1,2,3\n\n\n1,2,一二三四五六\n"), lim: Limits{MaxCell: 5}, reason: "cell C5 is longer than 5 characters", line: 5, column: "C"},
		{name: "cell too long in XLSX", data: xlsxOf(t, map[string]any{"A1": "a", "B1": "b", "C1": "c", "C5": strings.Repeat("x", 1001)}), reason: "cell C5 is longer than 1000 characters", line: 5, column: "C"},
		{name: "value with no header", data: []byte("姓名,工资\n甲,800\n乙,1,234.50\n"), reason: "cell C3 has a value but column C has no header", line: 3, column: "C"},
		{name: "a line of commas", data: []byte("a,b\n" + strings.Repeat(",", 20_000) + "\n"), reason: "line 2 has more than 16384 columns", line: 2},
		{name: "first worksheet empty", data: xlsxOf(t, nil), reason: "the first worksheet has no header row: every row is empty"},
		{name: "bare quote", data: []byte("a,b\n1,2\n\n3,4\"5\n"), reason: `line 4 has a double quote (") inside a cell that does not start with one; double it ("") or put the whole cell in quotes`, line: 4},
		{name: "unclosed quote", data: []byte("a,b\n1,\"2\n3,4\n"), reason: "line 2 has a cell in double quotes that is not closed properly", line: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mustFail(t, tc.data, tc.lim)
			if tc.contains && !strings.Contains(e.Reason, tc.reason) || !tc.contains && e.Reason != tc.reason {
				t.Errorf("Reason = %q, want %q", e.Reason, tc.reason)
			}
			if e.Line != tc.line || e.Column != tc.column {
				t.Errorf("Line, Column = %d, %q; want %d, %q", e.Line, e.Column, tc.line, tc.column)
			}
			if got := e.Error(); got != "sheet: "+e.Reason {
				t.Errorf("Error() = %q, want the reason with the package prefix", got)
			}
		})
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestReadFailingReader(t *testing.T) {
	_, err := Read(failingReader{}, Limits{})
	var se *Error
	if !errors.As(err, &se) || se.Reason != "the file could not be read" {
		t.Fatalf("err = %v, want *Error about reading", err)
	}
	if errors.Unwrap(err) == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Errorf("err = %v does not carry the cause", err)
	}
}

func TestColumn(t *testing.T) {
	tbl := &Table{Header: []string{"序号", "*姓名", "身份证号 (id_number)", "Monthly Wage", "参保险种（Insurance）", "ＩＤ Card", ""}}
	for _, tc := range []struct {
		names []string
		want  int
	}{
		{[]string{"姓名"}, 1},
		{[]string{"name", "姓名"}, 1},
		{[]string{"身份证号"}, 2},
		{[]string{"id_number"}, 2},
		{[]string{"ID_NUMBER"}, 2},
		{[]string{"身份证号(id_number)"}, 2},
		{[]string{" 身份证号 （ id_number ） "}, 2},
		{[]string{"monthlywage"}, 3},
		{[]string{"MONTHLY WAGE"}, 3},
		{[]string{"参保险种"}, 4},
		{[]string{"insurance"}, 4},
		{[]string{"id card"}, 5},
		{[]string{"电话"}, -1},
		{[]string{""}, -1}, // the unnamed column is never found
		{nil, -1},
	} {
		if got := tbl.Column(tc.names...); got != tc.want {
			t.Errorf("Column(%q) = %d, want %d", tc.names, got, tc.want)
		}
	}
}

func TestColumnName(t *testing.T) {
	for i, want := range map[int]string{-1: "", 0: "A", 1: "B", 25: "Z", 26: "AA", 51: "AZ", 52: "BA", 701: "ZZ", 702: "AAA", 16383: "XFD"} {
		if got := ColumnName(i); got != want {
			t.Errorf("ColumnName(%d) = %q, want %q", i, got, want)
		}
	}
}

func TestWriteXLSXKeepsText(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteXLSX(&buf, "参保人员", []string{"身份证号", "编号"}, [][]string{{"11010519491231002X", "000123"}, {"110105194912310025", ""}}); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); !reflect.DeepEqual(got, []string{"参保人员"}) {
		t.Errorf("sheets = %q, want [参保人员]", got)
	}
	for _, ref := range []string{"A2", "B2", "A3"} {
		typ, err := f.GetCellType("参保人员", ref)
		if err != nil {
			t.Fatal(err)
		}
		if typ != excelize.CellTypeInlineString {
			t.Errorf("%s is of type %v, want an inline string", ref, typ)
		}
		id, err := f.GetCellStyle("参保人员", ref)
		if err != nil {
			t.Fatal(err)
		}
		st, err := f.GetStyle(id)
		if err != nil {
			t.Fatal(err)
		}
		if st.NumFmt != 49 {
			t.Errorf("%s has number format %d, want 49 (text)", ref, st.NumFmt)
		}
	}
	id, _ := f.GetCellStyle("参保人员", "A1")
	if st, _ := f.GetStyle(id); st == nil || st.Font == nil || !st.Font.Bold {
		t.Errorf("header style %+v is not bold", st)
	}
}

func TestWriteXLSXErrors(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteXLSX(&buf, "a/b", []string{"x"}, nil); err == nil {
		t.Error("a sheet name with a slash was accepted")
	}
	if err := WriteXLSX(&buf, "", []string{"x"}, [][]string{{strings.Repeat("长", 32_768)}}); err == nil || !strings.Contains(err.Error(), "cell A2") {
		t.Errorf("an over-long cell gave %v, want an error naming A2", err)
	}
	// A value under no header would not read back.
	if err := WriteXLSX(&buf, "", []string{"x"}, [][]string{{"1"}, {"1", "2"}}); err == nil {
		t.Error("WriteXLSX accepted a row longer than the header")
	}
	if err := WriteCSV(&buf, []string{"x"}, [][]string{{"1", "2"}}); err == nil {
		t.Error("WriteCSV accepted a row longer than the header")
	}
}

func TestReadXLSXTempFiles(t *testing.T) {
	// A worksheet larger than a quarter of MaxUnzipped is unpacked to a
	// temporary file; none may be left behind, even when opening fails after
	// the worksheet was unpacked.
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	lim := Limits{MaxUnzipped: 8 << 20}
	header, rows := bigRows(10_000)
	good := mustXLSX(t, header, rows)
	checkTable(t, mustRead(t, good, lim), XLSX, header, rows)

	// The same workbook with an entry in a compression method nobody knows
	// appended after the worksheet: excelize fails on it half-way through.
	zr, err := zip.NewReader(bytes.NewReader(good), int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		if err := zw.Copy(f); err != nil {
			t.Fatal(err)
		}
	}
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "xl/zzz.xml", Method: 99, CompressedSize64: 1, UncompressedSize64: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte("x"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	mustFail(t, buf.Bytes(), lim)

	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		t.Errorf("left behind in the temporary directory: %s", e.Name())
	}
}
