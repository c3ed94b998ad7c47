package sheet

import (
	"bytes"
	"html"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/shebao/shebao/internal/sheet/sheettest"
)

// FuzzRead feeds Read arbitrary bytes. Read must never panic, and a table it
// returns must keep its promises: every row as wide as the header, line
// numbers increasing and past the header's.
func FuzzRead(f *testing.F) {
	f.Add(mustXLSX(f, sampleHeader, sampleRows))
	f.Add(mustXLSX(f, []string{"a"}, nil))
	f.Add(mustCSV(f, sampleHeader, sampleRows))
	f.Add(gb18030(f, "姓名,身份证号\r\n张三,11010519491231002X\r\n\r\n李四,\"多\r\n行\"\r\n"))
	f.Add([]byte("a;b\n1;2\n"))
	f.Add([]byte("a\tb\n\"1\t\"\t2\n"))
	f.Add([]byte("\n\n,,\na,b,a\n"))
	f.Add([]byte("a,b\n1,\"2\n"))
	f.Add([]byte("PK\x03\x04junk"))
	f.Add([]byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"))
	f.Add([]byte("\xff\xfe\x00\xd8"))
	f.Add([]byte{0x81, 0x30, 0x81, 0x30, 0xff, 0x00})
	f.Add(sheettest.Bomb(100 << 10))
	f.Add(sheettest.Raw(`<row><c t="s"><v>0</v></c><c t="s"><v>1</v></c></row><row><c t="s"><v>1</v></c></row>`,
		map[string]string{"xl/sharedStrings.xml": `<sst xmlns="` + sheettest.NS + `"><si><t>a</t></si><si><t>b</t></si></sst>`}))

	lim := Limits{MaxBytes: 1 << 20, MaxRows: 1000, MaxCols: 16, MaxCell: 100, MaxUnzipped: 8 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		tbl, err := Read(bytes.NewReader(data), lim)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %v is a %T, not *Error", err, err)
			}
			return
		}
		if len(tbl.Header) == 0 || len(tbl.Header) > lim.MaxCols {
			t.Fatalf("header has %d columns", len(tbl.Header))
		}
		seen := map[string]bool{}
		for _, h := range tbl.Header {
			if k := normalize(h); k != "" && seen[k] {
				t.Fatalf("header %q names a column twice", tbl.Header)
			} else {
				seen[k] = true
			}
		}
		if len(tbl.Rows) > lim.MaxRows {
			t.Fatalf("%d rows", len(tbl.Rows))
		}
		last := 0
		for _, r := range tbl.Rows {
			if len(r.Cells) != len(tbl.Header) {
				t.Fatalf("line %d has %d cells, header %d", r.Line, len(r.Cells), len(tbl.Header))
			}
			for _, c := range r.Cells {
				if c != trim(c) {
					t.Fatalf("line %d: cell %q is not trimmed", r.Line, c)
				}
			}
			if r.Line <= last || (last == 0 && r.Line < 2) {
				t.Fatalf("line %d follows line %d", r.Line, last)
			}
			last = r.Line
		}
	})
}

// FuzzScan checks the scan's promise on arbitrary worksheets, shared strings and number formats:
// whatever it lets through, excelize builds no row with more cells of text than MaxCols, nor a
// cell longer than a cell's text and a number format can make it. The parts are fuzzed as XML
// text, so that the fuzzer reaches the scan rather than the ZIP's checksums.
func FuzzScan(f *testing.F) {
	f.Add(`<row r="1"><c r="A1" t="s"><v>0</v></c><c t="inlineStr"><is><t>b</t></is></c></row><row><c s="1"><v>12</v></c></row>`,
		`<si><t>a</t></si><si><r><t>x</t></r><r><t>y</t></r></si>`, `0.00`)
	f.Add(`<row><c t="s"><v> 1 </v></c><c t="s"><v>1</v></c><c t="s"><v>&#49;</v></c></row>`, `<si><t>abcdefghij</t></si><si/>`, `@@@@`)
	f.Add(`<x:row xmlns:x="`+sheettest.NS+`"><x:c x:t="s"><x:v>0</x:v></x:c></x:row>`, `<si><t><![CDATA[<>]]></t></si>`, `"text"@`)
	f.Add(`<row><c t="s"><v>0</v><v>1</v></c><c><f>1</f><v>2</v></c></row>`, `<si><t>1</t></si><si><t>22222</t></si>`, `yyyy-mm-dd`)
	lim := Limits{MaxRows: 50, MaxCols: 4, MaxCell: 10, MaxUnzipped: 1 << 20}.withDefaults()
	f.Fuzz(func(t *testing.T, rows, shared, format string) {
		data := sheettest.Raw(rows, map[string]string{
			"xl/sharedStrings.xml": `<sst xmlns="` + sheettest.NS + `">` + shared + `</sst>`,
			"xl/styles.xml": `<styleSheet xmlns="` + sheettest.NS + `"><numFmts count="1"><numFmt numFmtId="164" formatCode="` + html.EscapeString(format) + `"/></numFmts>` +
				`<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="164" applyNumberFormat="1"/></cellXfs></styleSheet>`,
		})
		if _, err := ReadBytes(data, lim); err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %v is a %T, not *Error", err, err)
			}
		}
		zr, err := openArchive(data)
		if err != nil {
			return
		}
		kept, err := keptParts(zr, lim)
		if err != nil || scanParts(kept, lim) != nil {
			return
		}
		// The scan passed: read every row as excelize builds it.
		dir := t.TempDir()
		book, err := writeParts(dir, kept)
		if err != nil {
			t.Fatal(err)
		}
		x, err := excelize.OpenFile(book, excelize.Options{TmpDir: dir, UnzipSizeLimit: lim.MaxUnzipped, UnzipXMLSizeLimit: streamAbove,
			ShortDatePattern: "yyyy-mm-dd", CultureInfo: excelize.CultureNameZhCN})
		if err != nil {
			return
		}
		defer x.Close()
		it, err := x.Rows(x.GetSheetList()[0])
		if err != nil {
			return
		}
		defer it.Close()
		longest := lim.MaxCell*maxBytesPerChar*(maxFormatAt+1) + maxFormatCode + 400
		for it.Next() {
			cells, err := it.Columns()
			if err != nil {
				return
			}
			n := 0
			for _, c := range cells {
				if c != "" {
					n++
				}
				if len(c) > longest {
					t.Fatalf("a cell of %d bytes passed the scan (at most %d)", len(c), longest)
				}
			}
			if n > lim.MaxCols {
				t.Fatalf("a row of %d cells with text passed the scan: %q", n, cells)
			}
		}
	})
}
