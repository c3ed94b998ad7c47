package sheet

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/width"
)

// damaged is the answer for a ZIP that excelize cannot read as a workbook.
func damaged() *Error {
	return &Error{Reason: "the file is a ZIP archive but not a readable XLSX workbook"}
}

func readXLSX(data []byte, lim Limits) (t *Table, err error) {
	// excelize is a large parser facing hostile input; should some archive
	// still find a panic in it, the person gets an answer and the process (a
	// bulk import in the CLI has no net/http recover around it) lives on.
	defer func() {
		if p := recover(); p != nil {
			t, err = nil, damaged()
		}
	}()
	if err := checkUnzipped(data, lim.MaxUnzipped); err != nil {
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
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{
		TmpDir: tmp,
		// Bounds what excelize unpacks, checked against each entry's declared
		// size (archive/zip refuses to inflate past it).
		UnzipSizeLimit: lim.MaxUnzipped,
		// A worksheet or string table larger than this is unpacked to a
		// temporary file and streamed from there instead of from memory.
		UnzipXMLSizeLimit: min(lim.MaxUnzipped/4, 16<<20),
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

// checkUnzipped refuses a ZIP whose entries would unpack to more than limit
// bytes in all, before excelize starts inflating it, so the person is told
// what is wrong in words rather than by excelize's message.
func checkUnzipped(data []byte, limit int64) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return damaged() // most often a download cut short
	}
	var total uint64
	for _, f := range zr.File {
		// Checking each entry first keeps the sum from overflowing.
		if f.UncompressedSize64 > uint64(limit) || total+f.UncompressedSize64 > uint64(limit) {
			return &Error{Reason: "the workbook unpacks to more than " + formatBytes(limit)}
		}
		total += f.UncompressedSize64
	}
	return nil
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
