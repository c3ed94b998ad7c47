package sheet

import (
	"archive/zip"
	"bytes"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/sheet/sheettest"
)

// Tests of what reading a hostile file may cost: each bound of the archive check and the scan
// refuses what passes it, with the reason a person is told, and what stays within every bound is
// read as before.

// inline is a row of inline-string cells.
func inline(cells ...string) string {
	var b strings.Builder
	b.WriteString("<row>")
	for _, c := range cells {
		fmt.Fprintf(&b, `<c t="inlineStr"><is><t>%s</t></is></c>`, c)
	}
	b.WriteString("</row>")
	return b.String()
}

func sst(items ...string) string {
	return `<sst xmlns="` + sheettest.NS + `">` + strings.Join(items, "") + `</sst>`
}

func styles(body string) string {
	return `<styleSheet xmlns="` + sheettest.NS + `">` + body + `</styleSheet>`
}

func TestReadXLSXBounds(t *testing.T) {
	header := inline("a", "b", "c")
	small := Limits{MaxRows: 10, MaxCols: 3, MaxCell: 5}
	manyParts := func() []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for i := range maxParts + 1 {
			zw.Create(fmt.Sprintf("x/%d", i))
		}
		zw.Close()
		return buf.Bytes()
	}()
	for _, tc := range []struct {
		name   string
		data   []byte
		lim    Limits
		reason string // contained in the Reason
	}{
		{"too many parts", manyParts, Limits{}, "the workbook has more than 1000 parts"},
		{"parts held in memory too large", sheettest.Raw(header, map[string]string{"xl/styles.xml": styles(strings.Repeat(" ", 5<<20))}), Limits{},
			"the workbook's styles and other parts besides its sheets unpack to more than 4 MiB"},
		{"styles of too many elements", sheettest.Raw(header, map[string]string{"xl/styles.xml": styles(strings.Repeat("<xf/>", MaxParsedElements))}), Limits{},
			"have more than 100000 elements"},
		{"a run longer than 64 KiB", sheettest.Bomb(1 << 20), Limits{}, "the workbook has a cell or tag longer than 64 KiB"},
		{"a tag longer than 64 KiB", sheettest.Raw(`<row x="`+strings.Repeat(">", 70<<10)+`"/>`, nil), Limits{}, "the workbook has a cell or tag longer than 64 KiB"},
		{"a cell longer than a cell may be", sheettest.Raw(header+inline("1", strings.Repeat("y", 51)), nil), small, "cell B2 is longer than 5 characters"},
		{"a cell with its reference", sheettest.Raw(header+`<row r="7"><c r="C7" t="inlineStr"><is><t>`+strings.Repeat("y", 51)+`</t></is></c></row>`, nil), small,
			"cell C7 is longer than 5 characters"},
		{"too many cells with text in a row", sheettest.Raw(header+inline("1", "2", "3", "4"), nil), small, "line 2 has more than 3 columns"},
		{"too many cells in a row", sheettest.Raw("<row>"+strings.Repeat("<c/>", 16_385)+"</row>", nil), Limits{}, "line 1 has more than 16384 cells"},
		{"too many rows", sheettest.Raw(header+strings.Repeat("<row/>", 22), nil), small, "the worksheet has more than 22 rows, empty or not"},
		{"too many cells", sheettest.Raw(header+strings.Repeat("<row><c/><c/><c/><c/><c/><c/></row>", 11), nil), small,
			"the worksheet has more than 66 cells, empty or not"},
		{"too many shared strings", sheettest.Raw(header, map[string]string{"xl/sharedStrings.xml": sst(strings.Repeat("<si><t>s</t></si>", 81))}), small,
			"the workbook holds more than 80 different texts"},
		{"a shared string longer than a cell may be", sheettest.Raw(header, map[string]string{"xl/sharedStrings.xml": sst("<si><t>" + strings.Repeat("z", 51) + "</t></si>")}), small,
			"the workbook holds a text longer than 5 characters"},
		{"a shared string named by every cell", sheettest.Raw(header+strings.Repeat(`<row><c t="s"><v>0</v></c></row>`, 20),
			map[string]string{"xl/sharedStrings.xml": sst("<si><t>" + strings.Repeat("z", 1000) + "</t></si>")}), Limits{MaxRows: 1000, MaxCols: 3, MaxCell: 100, MaxUnzipped: 16 << 10},
			"the worksheet's cells hold more than 16 KiB of text by line 18"},
		{"a number format repeating the text", sheettest.Raw(header, map[string]string{"xl/styles.xml": styles(`<numFmts count="1"><numFmt numFmtId="164" formatCode="@@@@@"/></numFmts>`)}), Limits{},
			"a number format longer or more repetitive than Excel allows"},
		{"a long number format", sheettest.Raw(header, map[string]string{"xl/styles.xml": styles(`<numFmts count="1"><numFmt numFmtId="164" formatCode="` + strings.Repeat("0", 3000) + `"/></numFmts>`)}), Limits{},
			"a number format longer or more repetitive than Excel allows"},
		{"more text than the table may hold", sheettest.Raw(header+strings.Repeat(inline("12345", "12345"), 9), nil), Limits{MaxRows: 10, MaxCols: 3, MaxCell: 5, MaxText: 60},
			"the file holds more than 60 bytes of text by line 7"},
		{"a document type declaration", sheettest.Raw(header, map[string]string{"xl/styles.xml": `<!DOCTYPE x [<!ENTITY a "aaaa">]>` + styles("")}), Limits{},
			"not a readable XLSX workbook"},
		{"a cell inside a cell", sheettest.Raw(`<row><c t="inlineStr"><is><t>a</t></is><c/></c></row>`, nil), Limits{}, "not a readable XLSX workbook"},
		{"a shared string out of place", sheettest.Raw(header, map[string]string{"xl/sharedStrings.xml": sst("<x><si><t>a</t></si></x>")}), Limits{}, "not a readable XLSX workbook"},
		{"a part twice", sheettest.Raw(header, map[string]string{"xl/Styles.xml": styles("")}), Limits{}, "not a readable XLSX workbook"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mustFail(t, tc.data, tc.lim)
			if !strings.Contains(e.Reason, tc.reason) {
				t.Errorf("Reason = %q, want it to contain %q", e.Reason, tc.reason)
			}
		})
	}
}

// What stays within the bounds is read as before: a workbook as Excel writes it (shared strings,
// references, styles, a formula with its cached value, a comment and CDATA), the parts a table does
// not need left out however large, and the shared-string index read as excelize reads it.
func TestReadXLSXWithinBounds(t *testing.T) {
	shared := sst(`<si><t>姓名</t></si>`, `<si><r><t>张</t></r><r><rPr><b/></rPr><t>三</t></r></si>`, `<si><t xml:space="preserve"> 备注 </t></si>`)
	rows := `<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>2</v></c></row>` +
		`<!-- a comment with a > in it -->` +
		`<row r="3" spans="1:2"><c r="A3" t="s"><v> 1 </v></c><c r="B3"><f>1+1</f><v>2</v></c></row>` +
		`<x:row r="4" xmlns:x="` + sheettest.NS + `"><x:c r="A4" x:t="inlineStr"><x:is><x:t><![CDATA[a>b]]></x:t></x:is></x:c></x:row>`
	big := strings.Repeat(`<c r="A1" i="1"/>`, 400_000) // 6.4 MiB of calculation chain, more than maxHeld
	data := sheettest.Raw(rows, map[string]string{
		"xl/sharedStrings.xml":      shared,
		"xl/calcChain.xml":          `<calcChain xmlns="` + sheettest.NS + `">` + big + `</calcChain>`,
		"xl/media/image1.png":       strings.Repeat("\x89PNG", 1<<20),
		"xl/theme/theme1.xml":       "<not even XML",
		"docProps/core.xml":         strings.Repeat("<x/>", MaxParsedElements+1),
		"xl/worksheets/_rels/x.xml": "<", // a sheet's relationships: drawings, comments
	})
	got := mustRead(t, data, Limits{})
	want := [][]string{{"张三", "2"}, {"a>b", ""}}
	if !reflect.DeepEqual(got.Header, []string{"姓名", "备注"}) || len(got.Rows) != 2 {
		t.Fatalf("header %q, %d rows", got.Header, len(got.Rows))
	}
	for i, r := range got.Rows {
		if !reflect.DeepEqual(r.Cells, want[i]) {
			t.Errorf("line %d: %q, want %q", r.Line, r.Cells, want[i])
		}
	}
	if got.Rows[0].Line != 3 || got.Rows[1].Line != 4 {
		t.Errorf("lines %d, %d; want 3, 4", got.Rows[0].Line, got.Rows[1].Line)
	}

	// At every limit at once: accepted, and read whole.
	lim := Limits{MaxRows: 2_000, MaxCols: 8, MaxCell: 20}
	res := lim.withDefaults()
	wb := sheettest.Workbook{Header: []string{"a", "b", "c", "d", "e", "f", "g", "h"}, Rows: lim.MaxRows, Shared: true, Styles: MaxParsedElements - 100,
		Row: func(i int) []string {
			return []string{fmt.Sprintf("%020d", i), fmt.Sprintf("%020d", -i), "x", "y", "", "", "", strings.Repeat("长", 20)}
		}}
	file, written, err := wb.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if written.Shared > lim.MaxRows*sharedPerRow || written.Unpacked > res.MaxUnzipped || written.Text > res.MaxText {
		t.Fatalf("the workbook is past a limit: %+v against %+v", written, res)
	}
	tab := mustRead(t, file, lim)
	if len(tab.Rows) != lim.MaxRows || tab.Rows[lim.MaxRows-1].Cells[7] != strings.Repeat("长", 20) || tab.Rows[1].Cells[1] != fmt.Sprintf("%020d", -1) {
		t.Fatalf("%d rows; last %q", len(tab.Rows), tab.Rows[len(tab.Rows)-1].Cells)
	}
}

func TestReadKeep(t *testing.T) {
	text := "序号,姓名,部门,身份证号 (id_number),备注\n1,张三,销售部,110105194912310025,很长很长的备注\n2,李四,,11010519491231002X,\n"
	lim := Limits{Keep: [][]string{{"身份证号", "id_number"}, {"姓名"}, {"absent"}}}
	for _, data := range [][]byte{[]byte(text), mustXLSX(t, strings.Split("序号,姓名,部门,身份证号 (id_number),备注", ","),
		[][]string{{"1", "张三", "销售部", "110105194912310025", "很长很长的备注"}, {"2", "李四", "", "11010519491231002X", ""}})} {
		tab := mustRead(t, data, lim)
		if len(tab.Header) != 5 {
			t.Fatalf("header %q: every column is listed", tab.Header)
		}
		name, id := tab.Column("姓名"), tab.Column("id_number")
		if name != 0 || id != 1 || tab.Column("部门") != -1 || tab.Letter(name) != "B" || tab.Letter(id) != "D" {
			t.Fatalf("Column 姓名 %d, id_number %d, 部门 %d; letters %s %s", name, id, tab.Column("部门"), tab.Letter(name), tab.Letter(id))
		}
		if !reflect.DeepEqual(tab.Rows[0].Cells, []string{"张三", "110105194912310025"}) || !reflect.DeepEqual(tab.Rows[1].Cells, []string{"李四", "11010519491231002X"}) {
			t.Fatalf("rows %v", tab.Rows)
		}
	}
	// MaxText counts only what is kept; the limits still hold every column.
	wide := "a,b\n" + strings.Repeat("1,"+strings.Repeat("长", 30)+"\n", 10)
	if _, err := ReadBytes([]byte(wide), Limits{MaxText: 100, Keep: [][]string{{"a"}}}); err != nil {
		t.Errorf("dropped text counted: %v", err)
	}
	mustFail(t, []byte(wide), Limits{MaxText: 100})
	if e := mustFail(t, []byte("a,b\n1,2,3\n"), Limits{Keep: [][]string{{"a"}}}); e.Column != "C" {
		t.Errorf("a value under no header in a dropped column: %+v", e)
	}
}

func TestReadCSVLineLength(t *testing.T) {
	lim := Limits{MaxCols: 2, MaxCell: 3} // lines of at most 2 × (2×3 + 3) = 18 characters
	mustRead(t, []byte("a,b\n\"\"\"\"\"\"\"\",\"xy\"\n"), lim)
	e := mustFail(t, []byte("a,b\n1,2\n\"一\n二三四五六七八九十一二三四五六七八\"\n"), lim)
	if e.Line != 3 || e.Reason != "line 3 is longer than 18 characters" {
		t.Errorf("%+v", e)
	}
}

// A table costs what its limits say: holding it takes about its text and its cells' headers,
// whatever the parser allocated on the way.
func TestTableCost(t *testing.T) {
	header, rows := bigRows(20_000)
	data := mustXLSX(t, header, rows)
	var text int
	for _, r := range rows {
		for _, c := range r {
			text += len(c)
		}
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	tab := mustRead(t, data, Limits{})
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := int(after.HeapAlloc) - int(before.HeapAlloc)
	ceiling := len(rows)*(32+16*len(header)) + text*2 // allocation sizes round text up
	if held > ceiling {
		t.Errorf("the table holds %d bytes; its rows, cells and text come to at most %d", held, ceiling)
	}
	runtime.KeepAlive(tab)
}
