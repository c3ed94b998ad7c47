package sheet

import (
	"archive/zip"
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/width"
)

// damaged is the answer for a ZIP that excelize cannot read as a workbook.
func damaged() *Error {
	return &Error{Reason: "the file is a ZIP archive but not a readable XLSX workbook"}
}

// Reading an XLSX goes in three steps, so that what excelize (a large parser
// facing hostile input) is given is bounded before it starts:
//
//  1. the archive's directory: at most maxParts entries, their declared sizes
//     within MaxUnzipped in all and maxHeld for the parts excelize keeps
//     unpacked in memory (see openArchive, keptParts);
//  2. a streaming scan of every part kept, in constant memory (xlsxscan.go):
//     rows, cells, the text they hold, shared strings, styles;
//  3. excelize reads the kept parts from a temporary file, streaming the
//     worksheet and the shared strings from disk, row by row into the Table.
//
// Parts a table does not need (drawings, images, the calculation chain,
// themes, document properties…) are left out of what excelize is given, so
// it neither unpacks nor parses them.
func readXLSX(data []byte, lim Limits) (t *Table, err error) {
	// Should some archive still find a panic in excelize, the person gets an
	// answer and the process (a bulk import in the CLI has no net/http
	// recover around it) lives on.
	defer func() {
		if p := recover(); p != nil {
			t, err = nil, damaged()
		}
	}()
	zr, err := openArchive(data)
	if err != nil {
		return nil, err
	}
	kept, err := keptParts(zr, lim)
	if err != nil {
		return nil, err
	}
	if err := scanParts(kept, lim); err != nil {
		return nil, err
	}
	// excelize unpacks large parts to temporary files and, when opening fails
	// part-way, returns no File to Close; a directory of our own is removed
	// whatever happens, so hostile uploads cannot fill the disk.
	tmp, err := os.MkdirTemp("", "shebao-sheet-")
	if err != nil {
		return nil, &Error{Reason: "the workbook could not be unpacked on the server", Err: err}
	}
	defer os.RemoveAll(tmp)
	book, err := writeParts(tmp, kept)
	if err != nil {
		return nil, &Error{Reason: "the workbook could not be unpacked on the server", Err: err}
	}
	f, err := excelize.OpenFile(book, excelize.Options{
		TmpDir: tmp,
		// Checked already, and enforced again as excelize unpacks.
		UnzipSizeLimit: lim.MaxUnzipped,
		// A worksheet or string table larger than this is unpacked to a
		// temporary file and streamed from there instead of from memory.
		UnzipXMLSizeLimit: streamAbove,
		// Cell values: formatted, not raw. A person checks an upload against
		// what Excel shows them, and error messages quote the cell; raw values
		// would turn dates into serial numbers ("45306") and percentages into
		// fractions. Formatting does keep thousands separators in amounts
		// ("1,234.50"), which callers parse. Dates in the locale's short
		// format come out as ISO dates, and the built-in formats that depend
		// on the locale are read as Chinese Excel shows them.
		ShortDatePattern: "yyyy-mm-dd",
		CultureInfo:      excelize.CultureNameZhCN,
	})
	if f != nil {
		defer f.Close() // closes excelize's temporary files, so they can go
	}
	if err != nil {
		return nil, damaged()
	}
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, damaged()
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		return nil, damaged()
	}
	defer rows.Close()
	b := newBuilder(XLSX, lim)
	// The iterator yields every row number in turn, gaps included (as empty
	// rows), so counting calls to Next gives the worksheet row number.
	line := 0
	for rows.Next() {
		line++
		cells, err := rows.Columns()
		if err != nil {
			return nil, &Error{Line: line, Reason: fmt.Sprintf("line %d of the worksheet is damaged", line)}
		}
		for i, c := range cells {
			cells[i] = unscientific(c)
		}
		if err := b.add(line, cells); err != nil {
			return nil, err
		}
	}
	if rows.Error() != nil {
		return nil, damaged()
	}
	return b.finish()
}

// Bounds on the archive itself. They are far above what any workbook made by
// Excel, WPS or LibreOffice needs, and they keep what excelize holds in
// memory to a few megabytes whatever the table.
const (
	// A workbook made by Excel has a dozen or so parts; one with a hundred
	// sheets and their drawings, a few hundred. Go's archive/zip reads every
	// directory entry into memory (some 200 bytes each) before anything can
	// be checked, so the entries are counted first.
	maxParts = 1_000

	// excelize keeps every part unpacked in memory, except worksheets and the
	// shared strings larger than this, which it unpacks to disk and streams.
	streamAbove = 64 << 10

	// The parts excelize holds in memory, in all (styles, the workbook, its
	// relationships, the content types and small worksheets): the styles of a
	// real HR file take a few tens of kilobytes, those of one that collected
	// tens of thousands of cell formats over the years a few megabytes.
	maxHeld = 4 << 20
)

// openArchive opens the ZIP directory, refusing before archive/zip reads it
// a directory of more than maxParts entries. Every directory entry begins
// with the signature PK\x01\x02, so counting those in the whole file bounds
// what archive/zip can find, wherever the directory claims to start. (The
// four bytes turn up by chance in compressed data about once in 4 GiB.)
func openArchive(data []byte) (*zip.Reader, error) {
	if bytes.Count(data, []byte("PK\x01\x02")) > maxParts {
		return nil, &Error{Reason: fmt.Sprintf("the workbook has more than %d parts", maxParts)}
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, damaged() // most often a download cut short
	}
	return zr, nil
}

// part is one entry of the archive that excelize will be given.
type part struct {
	f    *zip.File
	name string // as excelize names it: backslashes turned to slashes
	kind partKind
}

type partKind int

const (
	parsed    partKind = iota // held in memory and parsed into structures (styles, workbook, rels…)
	worksheet                 // read row by row, from memory or disk
	shared                    // the shared strings table
)

// keptParts chooses the parts a table needs and checks their declared sizes:
// all of them within MaxUnzipped, those excelize would hold in memory within
// maxHeld. It mirrors excelize's own rules (lib.go: ReadZipReader) for which
// parts go to disk.
func keptParts(zr *zip.Reader, lim Limits) ([]part, error) {
	var kept []part
	var total, held uint64
	seen := map[string]bool{}
	limit := uint64(lim.MaxUnzipped)
	for _, f := range zr.File {
		name := strings.ReplaceAll(f.Name, "\\", "/")
		lower := strings.ToLower(name)
		if !needed(lower) {
			continue
		}
		// Two entries that excelize would take for one part leave it to
		// chance which one it reads; the scan must see what excelize reads.
		if seen[lower] {
			return nil, damaged()
		}
		seen[lower] = true
		size := f.UncompressedSize64
		// Checking each entry first keeps the sums from overflowing.
		if size > limit || total+size > limit {
			return nil, &Error{Reason: "the workbook unpacks to more than " + formatBytes(lim.MaxUnzipped)}
		}
		total += size
		p := part{f: f, name: name, kind: parsed}
		switch {
		case lower == "xl/sharedstrings.xml":
			p.kind = shared
		case strings.HasPrefix(lower, "xl/worksheets/sheet"):
			p.kind = worksheet
		}
		if p.kind == parsed || size <= streamAbove {
			if held += size; held > maxHeld {
				return nil, &Error{Reason: "the workbook's styles and other parts besides its sheets unpack to more than " + formatBytes(maxHeld)}
			}
		}
		kept = append(kept, p)
	}
	return kept, nil
}

// needed reports whether a table needs the part of this (lower-case) name:
// the package's content types and relationships, the workbook's own XML
// parts (workbook, styles, shared strings) but not its calculation chain,
// and the worksheets. Anything else — drawings, images, comments, themes,
// document properties, pivot caches, macros — excelize would unpack or parse
// without Read ever using it.
func needed(name string) bool {
	switch {
	case name == "[content_types].xml", name == "_rels/.rels":
		return true
	case name == "xl/calcchain.xml":
		return false
	}
	dir, file := path.Split(name)
	switch dir {
	case "xl/", "xl/worksheets/":
		return strings.HasSuffix(file, ".xml")
	case "xl/_rels/":
		return strings.HasSuffix(file, ".rels")
	}
	return false
}

// writeParts writes the kept parts, still compressed, to a new archive in
// dir and returns its path.
func writeParts(dir string, kept []part) (string, error) {
	name := filepath.Join(dir, "book.xlsx")
	out, err := os.Create(name)
	if err != nil {
		return "", err
	}
	defer out.Close()
	w := bufio.NewWriter(out)
	zw := zip.NewWriter(w)
	for _, p := range kept {
		if err := zw.Copy(p.f); err != nil {
			return "", err
		}
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	if err := w.Flush(); err != nil {
		return "", err
	}
	return name, out.Close()
}

// unscientific rewrites a number that excelize formatted in scientific
// notation ("1.10101199001011E+17") in plain digits ("110101199001011000").
// That happens to ID numbers and account numbers that Excel stored as
// numbers: the plain form is what Excel shows with a "0" format, and what the
// caller can recognise as an ID number that lost its last digits. The digits
// are not repaired; they cannot be.
//
// Only excelize's own form is matched, a single digit before the point and a
// signed exponent of two or three digits, so text such as "12E3" (a room
// number) is left alone; so are exponents past ±20, whose plain form would be
// a line of zeros.
func unscientific(s string) string {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i >= len(s) || !isDigit(s[i]) {
		return s
	}
	i++
	if i < len(s) && s[i] == '.' {
		j := i + 1
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j == i+1 {
			return s
		}
		i = j
	}
	if i >= len(s) || s[i] != 'E' {
		return s
	}
	exp := s[i+1:]
	if len(exp) < 3 || len(exp) > 4 || (exp[0] != '+' && exp[0] != '-') {
		return s
	}
	e, err := strconv.Atoi(exp)
	if err != nil || e > 20 || e < -20 {
		return s
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// Excel's own limits on a worksheet. Past them Excel would refuse the file or
// excelize would cut cells short without a word, and no CSV that Excel wrote
// is wider.
const (
	maxXLSXRows = 1_048_576
	maxXLSXCols = 16_384
	maxXLSXCell = 32_767 // UTF-16 code units
)

// WriteXLSX writes a one-sheet workbook: the header in bold on a frozen first
// row, then the rows. Every cell is a string in a column formatted as text
// ("@"), so ID numbers keep their leading zeros and trailing X, 18-digit
// numbers are not turned into floats, and what a person types into the
// columns later stays text too. A cell that could start a formula gets a
// leading apostrophe, as in WriteCSV, and Read removes it again. sheetName
// defaults to "Sheet1".
func WriteXLSX(w io.Writer, sheetName string, header []string, rows [][]string) error {
	if sheetName == "" {
		sheetName = "Sheet1"
	}
	if len(rows)+1 > maxXLSXRows {
		return fmt.Errorf("sheet: write xlsx: %d rows; a worksheet holds at most %d", len(rows), maxXLSXRows-1)
	}
	// Read would refuse a value under no header; refuse to write one.
	ncols := len(header)
	for i, r := range rows {
		if len(r) > ncols {
			return fmt.Errorf("sheet: write xlsx: row %d has %d cells but the header only %d", i+1, len(r), ncols)
		}
	}
	if ncols > maxXLSXCols {
		return fmt.Errorf("sheet: write xlsx: %d columns; a worksheet holds at most %d", ncols, maxXLSXCols)
	}

	f := excelize.NewFile()
	defer f.Close()
	if sheetName != "Sheet1" {
		if err := f.SetSheetName("Sheet1", sheetName); err != nil {
			return fmt.Errorf("sheet: write xlsx: sheet name %q: %w", sheetName, err)
		}
	}
	const textFormat = 49 // the built-in "@"
	text, err := f.NewStyle(&excelize.Style{NumFmt: textFormat})
	if err != nil {
		return fmt.Errorf("sheet: write xlsx: %w", err)
	}
	bold, err := f.NewStyle(&excelize.Style{NumFmt: textFormat, Font: &excelize.Font{Bold: true}})
	if err != nil {
		return fmt.Errorf("sheet: write xlsx: %w", err)
	}
	sw, err := f.NewStreamWriter(sheetName)
	if err != nil {
		return fmt.Errorf("sheet: write xlsx: %w", err)
	}
	if ncols > 0 {
		if err := sw.SetColStyle(1, ncols, text); err != nil {
			return fmt.Errorf("sheet: write xlsx: %w", err)
		}
	}
	for i, w := range columnWidths(header, rows) {
		if err := sw.SetColWidth(i+1, i+1, w); err != nil {
			return fmt.Errorf("sheet: write xlsx: %w", err)
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return fmt.Errorf("sheet: write xlsx: %w", err)
	}

	buf := make([]any, 0, ncols) // reused: the stream writer copies each row out
	put := func(line int, cells []string, style int) error {
		buf = buf[:0]
		for i, c := range cells {
			// A string cell is not run as a formula when the workbook opens,
			// but its value is once the sheet is saved as CSV and opened
			// again, or pasted where the column is not formatted as text.
			c = defuse(c)
			if utf16Len(c) > maxXLSXCell {
				return fmt.Errorf("cell %s%d is longer than Excel's %d characters", ColumnName(i), line, maxXLSXCell)
			}
			if c == "" {
				buf = append(buf, nil)
				continue
			}
			buf = append(buf, excelize.Cell{StyleID: style, Value: c})
		}
		return sw.SetRow("A"+strconv.Itoa(line), buf)
	}
	if err := put(1, header, bold); err != nil {
		return fmt.Errorf("sheet: write xlsx: %w", err)
	}
	for i, r := range rows {
		if err := put(i+2, r, text); err != nil {
			return fmt.Errorf("sheet: write xlsx: %w", err)
		}
	}
	if err := sw.Flush(); err != nil {
		return fmt.Errorf("sheet: write xlsx: %w", err)
	}
	if err := f.Write(w); err != nil {
		return fmt.Errorf("sheet: write xlsx: %w", err)
	}
	return nil
}

// columnWidths sizes each column to its widest cell among the header and the
// first rows, so that an 18-digit ID number is not cut off on screen. A
// Chinese character takes two units of Excel's width, a Latin one.
func columnWidths(header []string, rows [][]string) []float64 {
	const sample, narrowest, widest = 100, 8, 60
	widths := make([]float64, len(header))
	measure := func(cells []string) {
		for i, c := range cells {
			n := 0
			for _, r := range c {
				switch width.LookupRune(r).Kind() {
				case width.EastAsianWide, width.EastAsianFullwidth:
					n += 2
				default:
					n++
				}
			}
			widths[i] = max(widths[i], float64(n)+2) // +2: padding, and bold headers run wider
		}
	}
	measure(header)
	for _, r := range rows[:min(len(rows), sample)] {
		measure(r)
	}
	for i := range widths {
		widths[i] = min(max(widths[i], narrowest), widest)
	}
	return widths
}

// utf16Len counts a string the way Excel measures cells.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 && r <= utf8.MaxRune {
			n += 2
		} else {
			n++
		}
	}
	return n
}
