// Package sheettest writes workbooks shaped to test package sheet's limits: the zip bomb of the
// security review, and the largest workbooks the limits still accept. It writes the ZIP and the
// XML itself, so that a workbook is exactly the shape asked for, which no spreadsheet program (nor
// excelize) would write. It is used by tests and by `shebao bench upload`, never by the server.
package sheettest

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Bomb is a small XLSX whose worksheet unpacks to about size bytes: a header cell and, under it,
// one cell of size bytes of text. Deflate packs it about a thousand to one, so Bomb(190 << 20) is
// the security review's 195 KB file that unpacks to 190 MiB.
func Bomb(size int64) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	writeFrame(zw, 0)
	w, _ := zw.Create("xl/worksheets/sheet1.xml")
	io.WriteString(w, sheetHead+`<row r="1"><c r="A1" t="inlineStr"><is><t>姓名</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>`)
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	for n := int64(0); n < size; n += int64(len(chunk)) {
		w.Write(chunk[:min(int64(len(chunk)), size-n)])
	}
	io.WriteString(w, `</t></is></c></row>`+sheetTail)
	zw.Close()
	return buf.Bytes()
}

// Raw is a workbook of the given sheetData and parts: the worksheet is rows (the XML inside
// <sheetData>), and parts adds parts or replaces those of the frame (content types, relationships,
// the workbook, its styles) by name, in the order of their names.
func Raw(rows string, parts map[string]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	frame := map[string]string{}
	writeFrameTo(func(name, body string) { frame[name] = body }, 0)
	frame["xl/worksheets/sheet1.xml"] = sheetHead + rows + sheetTail
	for name, body := range parts {
		frame[name] = body
	}
	names := make([]string, 0, len(frame))
	for name := range frame {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		w, _ := zw.Create(name)
		io.WriteString(w, frame[name])
	}
	zw.Close()
	return buf.Bytes()
}

// NS is the SpreadsheetML namespace, for parts given to Raw.
const NS = ns

// Workbook is a one-sheet workbook to write: a header row and data rows.
type Workbook struct {
	Header []string
	Rows   int
	// Row gives the cells of data row i (from 0); a slice may be reused between calls.
	Row func(i int) []string
	// Shared writes every data cell as a reference to the shared strings table, as Excel does,
	// instead of as an inline string; equal texts share one entry.
	Shared bool
	// Styles adds this many cell formats to the styles part, which excelize parses whole.
	Styles int
}

// Written says what Write wrote.
type Written struct {
	Bytes    int64 // the XLSX file
	Unpacked int64 // its parts unpacked, in all
	Text     int64 // bytes of text in its cells, header included
	Shared   int   // entries of the shared strings table
}

// Write writes the workbook as XLSX.
func (wb Workbook) Write(out io.Writer) (Written, error) {
	cw := &countWriter{w: out}
	zw := zip.NewWriter(cw)
	var res Written
	res.Unpacked += writeFrame(zw, wb.Styles)
	w, err := zw.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		return res, err
	}
	sw := &countWriter{w: w}
	var b strings.Builder
	b.WriteString(sheetHead + `<row r="1">`)
	for _, h := range wb.Header {
		writeInline(&b, h)
		res.Text += int64(len(h))
	}
	b.WriteString(`</row>`)
	index := map[string]int{}
	var table []string
	for i := range wb.Rows {
		b.WriteString(`<row>`)
		for _, c := range wb.Row(i) {
			res.Text += int64(len(c))
			if !wb.Shared || c == "" {
				writeInline(&b, c)
				continue
			}
			n, ok := index[c]
			if !ok {
				n = len(table)
				index[c] = n
				table = append(table, c)
			}
			b.WriteString(`<c t="s"><v>`)
			b.WriteString(strconv.Itoa(n))
			b.WriteString(`</v></c>`)
		}
		b.WriteString(`</row>`)
		if b.Len() > 1<<20 {
			io.WriteString(sw, b.String())
			b.Reset()
		}
	}
	b.WriteString(sheetTail)
	io.WriteString(sw, b.String())
	res.Unpacked += sw.n
	if wb.Shared {
		w, err := zw.Create("xl/sharedStrings.xml")
		if err != nil {
			return res, err
		}
		sw := &countWriter{w: w}
		b.Reset()
		fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`+"\n"+`<sst xmlns="%s" count="%d" uniqueCount="%d">`, ns, len(table), len(table))
		for _, t := range table {
			b.WriteString(`<si><t>`)
			escape(&b, t)
			b.WriteString(`</t></si>`)
			if b.Len() > 1<<20 {
				io.WriteString(sw, b.String())
				b.Reset()
			}
		}
		b.WriteString(`</sst>`)
		io.WriteString(sw, b.String())
		res.Unpacked += sw.n
		res.Shared = len(table)
	}
	if err := zw.Close(); err != nil {
		return res, err
	}
	res.Bytes = cw.n
	return res, nil
}

// Bytes is Write into memory.
func (wb Workbook) Bytes() ([]byte, Written, error) {
	var buf bytes.Buffer
	res, err := wb.Write(&buf)
	return buf.Bytes(), res, err
}

const ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

const sheetHead = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" + `<worksheet xmlns="` + ns + `"><sheetData>`
const sheetTail = `</sheetData></worksheet>`

const sharedRel = `<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>`

// writeFrame writes the parts around the worksheet (content types, relationships, the workbook and
// its styles) and returns their unpacked size. Relationships to a shared strings table are always
// written: excelize finds the table by its name, and a workbook without one is still read.
func writeFrame(zw *zip.Writer, styles int) int64 {
	var n int64
	writeFrameTo(func(name, body string) {
		w, _ := zw.Create(name)
		io.WriteString(w, body)
		n += int64(len(body))
	}, styles)
	return n
}

func writeFrameTo(put func(name, body string), styles int) {
	put("[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`+"\n"+
		`<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">`+
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>`+
		`<Default Extension="xml" ContentType="application/xml"/>`+
		`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>`+
		`<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`+
		`<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>`+
		`<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>`+
		`</Types>`)
	put("_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`+"\n"+
		`<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">`+
		`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>`+
		`</Relationships>`)
	put("xl/workbook.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`+"\n"+
		`<workbook xmlns="`+ns+`" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">`+
		`<sheets><sheet name="staff" sheetId="1" r:id="rId1"/></sheets></workbook>`)
	put("xl/_rels/workbook.xml.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`+"\n"+
		`<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">`+
		`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>`+
		`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>`+
		sharedRel+`</Relationships>`)
	var st strings.Builder
	st.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" + `<styleSheet xmlns="` + ns + `">` +
		`<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>` +
		`<fills count="1"><fill><patternFill patternType="none"/></fill></fills>` +
		`<borders count="1"><border/></borders>` +
		`<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>`)
	fmt.Fprintf(&st, `<cellXfs count="%d"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>`, styles+1)
	for range styles {
		st.WriteString(`<xf numFmtId="49"/>`)
	}
	st.WriteString(`</cellXfs></styleSheet>`)
	put("xl/styles.xml", st.String())
}

// writeInline writes a cell with an inline string; an empty one as an empty cell, which keeps its
// place (cells carry no reference, so each is one column past the last).
func writeInline(b *strings.Builder, text string) {
	if text == "" {
		b.WriteString(`<c/>`)
		return
	}
	b.WriteString(`<c t="inlineStr"><is><t>`)
	escape(b, text)
	b.WriteString(`</t></is></c>`)
}

func escape(b *strings.Builder, s string) {
	if !strings.ContainsAny(s, `<>&"`) {
		b.WriteString(s)
		return
	}
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	r.WriteString(b, s)
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
