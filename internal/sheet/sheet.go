// Package sheet reads and writes the tables that employers' HR departments
// upload and download: XLSX workbooks and CSV text.
//
// Read turns an uploaded file into a Table of trimmed strings: a header row and
// data rows, each row carrying the line number a person sees in Excel so that
// callers can say "line 7: the ID number is wrong" and be understood. It knows
// nothing of what the columns mean; ID numbers, amounts and dates are checked by
// the packages that own them.
//
// What this package must never do:
//   - panic or run without bound on a hostile upload: every file is read
//     through Limits (bytes, rows, columns, characters per cell, and for XLSX
//     the unpacked size, which is what a ZIP bomb attacks);
//   - repair data: a cell is returned as Excel displays it (numbers in plain
//     digits rather than scientific notation), trimmed of surrounding space,
//     and nothing more, so an ID number that Excel has already rounded is
//     handed on as rounded and is rejected upstream, never guessed back;
//   - drop a value silently: a value under a column with no header is an
//     error, not a truncation, because in CSV it usually means an unquoted
//     comma (an amount written "1,234.50") has shifted the row;
//   - write a cell that a spreadsheet would run as a formula (see defuse); the
//     apostrophe that prevents it is removed again by Read.
package sheet

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// Format is the kind of file a Table was read from.
type Format string

// The formats Read understands.
const (
	XLSX Format = "xlsx"
	CSV  Format = "csv"
)

// Limits protect the server from hostile uploads. A zero field takes its
// default, so Limits{} is the normal choice; callers that know their table
// (how many rows a real file of theirs has) set MaxRows, and the limits that
// follow from it shrink with it.
//
// What a Table costs in memory is bounded by MaxRows, MaxCols and MaxText:
// at most MaxRows × (32 + 16 × MaxCols) bytes of row and cell headers plus
// MaxText bytes of text. Reading an XLSX costs besides a bounded amount
// whatever the table (see xlsx.go: the worksheet and the shared strings are
// streamed from disk, never held unpacked in memory).
type Limits struct {
	MaxBytes int64 // whole file; default 20 MiB
	MaxRows  int   // data rows (excluding the header); default 200_000
	MaxCols  int   // default 64
	MaxCell  int   // characters per cell; default 1_000

	// MaxText bounds the text of all the Table's cells together, in bytes
	// of UTF-8; default 512 bytes a row (MaxRows × 512). A cell may be long,
	// but a file whose every cell is long is not a table anyone typed.
	MaxText int64

	// MaxUnzipped bounds the total unpacked size of an XLSX (a ZIP archive),
	// as its directory declares it (archive/zip refuses to inflate an entry
	// past its declared size). Deflate can expand a kilobyte into a
	// megabyte, so MaxBytes alone bounds nothing for XLSX. Default: 1 KiB a
	// row and 1 MiB for the rest of the workbook, in whole MiB. A row of
	// Excel's own form (shared strings) takes 30–40 bytes of XML a cell
	// besides its text, so 1 KiB holds the 11-column staff file's longest
	// rows and any other of up to 20 columns.
	MaxUnzipped int64

	// Keep, when set, names the columns the Table keeps, each entry the
	// names one column answers to (as Column takes them). The other columns
	// are read and held to the limits like the kept ones (a value under no
	// header is still an error), then dropped: a caller that reads a few
	// columns of a wide file does not hold the rest, and MaxText counts only
	// what is kept. Header still lists every column.
	Keep [][]string
}

// The defaults; see Limits.
const (
	DefaultMaxBytes = 20 << 20
	DefaultMaxRows  = 200_000
	DefaultMaxCols  = 64
	DefaultMaxCell  = 1_000

	textPerRow     = 512     // default MaxText per row
	unzippedPerRow = 1 << 10 // default MaxUnzipped per row
)

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxRows <= 0 {
		l.MaxRows = DefaultMaxRows
	}
	if l.MaxCols <= 0 {
		l.MaxCols = DefaultMaxCols
	}
	if l.MaxCell <= 0 {
		l.MaxCell = DefaultMaxCell
	}
	// Whole MiB, so that messages read well.
	if l.MaxText <= 0 {
		l.MaxText = wholeMiB(int64(l.MaxRows) * textPerRow)
	}
	if l.MaxUnzipped <= 0 {
		l.MaxUnzipped = wholeMiB(int64(l.MaxRows)*unzippedPerRow + 1<<20)
	}
	return l
}

func wholeMiB(n int64) int64 { return (n + 1<<20 - 1) &^ (1<<20 - 1) }

// Resolved returns the limits with every default filled in: what Read will
// apply. Callers use it to state their limits (in documentation, or in the
// upload benchmark) without repeating the rules.
func (l Limits) Resolved() Limits { return l.withDefaults() }

// Table is a file's first sheet: the header row and the data rows, cells
// trimmed of surrounding space.
type Table struct {
	Format Format   // XLSX or CSV
	Header []string // the first row with any text in it
	Rows   []Row    // data rows in file order; entirely empty rows are skipped (but line numbers stay true)
	kept   []int    // with Limits.Keep: the header column of each cell of a row
}

// Row is one data row of a Table.
type Row struct {
	// Line is the 1-based row number as a person sees it in Excel; the header
	// is line 1 when it is the first row. For XLSX it is the worksheet row
	// number. For CSV it counts records, not text lines: a quoted cell that
	// spans several lines is one record, as it is one row when Excel opens
	// the file, and an empty line counts as an (empty) record.
	Line int
	// Cells holds one string per header column (with Limits.Keep, per kept
	// column: see Column and Letter). Short rows are padded with "", and
	// empty cells beyond the header are dropped.
	Cells []string
}

// Error is what Read returns when a file cannot be turned into a Table.
// Reason is plain English for the person who uploaded the file and may be
// shown to them as it is; Line and Column locate the problem for callers that
// mark it up.
type Error struct {
	Line   int    // 1-based line (row) number, 0 when the error is not about one line
	Column string // Excel column letter ("C"), "" when not about one column
	Reason string // for example "cell C5 is longer than 1000 characters"
	Err    error  // the underlying cause, if any (say, a failed read); for logs, not for people
}

func (e *Error) Error() string {
	if e.Err != nil {
		return "sheet: " + e.Reason + ": " + e.Err.Error()
	}
	return "sheet: " + e.Reason
}

func (e *Error) Unwrap() error { return e.Err }

// notTable is the answer for anything that is neither a readable workbook nor
// text; the person can do nothing more with a more precise one.
func notTable() *Error {
	return &Error{Reason: "the file is not an XLSX or CSV table"}
}

// Read reads an uploaded table.
//
// It detects the format by content, not by name: an XLSX is a ZIP and starts
// with "PK\x03\x04"; anything else is treated as CSV text. For XLSX it reads
// the first worksheet. For CSV it accepts UTF-8 with or without a BOM,
// GB18030 (and so GBK, which Excel on Chinese Windows writes) when the text is
// not valid UTF-8, and UTF-16 with a BOM (Excel's "Unicode Text"); the
// delimiter is a comma, or a tab or semicolon when the header line uses it
// more than commas.
//
// Leading empty rows are skipped; the first row with any text is the header,
// which must not name two columns alike. Every error is an *Error.
func Read(r io.Reader, lim Limits) (*Table, error) {
	lim = lim.withDefaults()
	// One byte more than allowed tells a file of exactly MaxBytes from a
	// larger one without reading the larger one to its end.
	data, err := io.ReadAll(io.LimitReader(r, lim.MaxBytes+1))
	if err != nil {
		return nil, &Error{Reason: "the file could not be read", Err: err}
	}
	return ReadBytes(data, lim)
}

// ReadBytes is Read for a file already in memory, which it does not copy.
func ReadBytes(data []byte, lim Limits) (*Table, error) {
	lim = lim.withDefaults()
	if int64(len(data)) > lim.MaxBytes {
		return nil, &Error{Reason: "the file is larger than " + formatBytes(lim.MaxBytes)}
	}
	if len(data) == 0 {
		return nil, &Error{Reason: "the file is empty"}
	}
	switch {
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		return readXLSX(data, lim)
	case bytes.HasPrefix(data, []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")):
		// An OLE compound file: Excel 97–2003 .xls, or an XLSX that Excel
		// encrypted with a password. Both are common from HR departments, and
		// both are fixed the same way.
		return nil, &Error{Reason: "the file is an old-style .xls workbook or has a password; save it in Excel as an .xlsx workbook without a password"}
	default:
		return readCSV(data, lim)
	}
}

func formatBytes(n int64) string {
	switch {
	case n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	default:
		return strconv.FormatInt(n, 10) + " bytes"
	}
}

// ColumnName is the Excel letter of a 0-based column index (0 → "A",
// 26 → "AA"); "" for a negative index.
func ColumnName(i int) string {
	if i < 0 {
		return ""
	}
	var b [16]byte
	n := len(b)
	for i++; i > 0; i = (i - 1) / 26 {
		n--
		b[n] = byte('A' + (i-1)%26)
	}
	return string(b[n:])
}

// Column returns the index in Row.Cells of the first header column matching
// any of names, or -1 (also for a column Limits.Keep did not keep). Matching ignores case, spaces, full-width forms (so "（" is "(" and
// "ＩＤ" is "ID") and an asterisk at either end (templates mark required
// columns "*姓名"). A header that ends in a parenthesised part matches the part
// before it and the part inside too: "身份证号 (id_number)" matches
// "身份证号", "id_number" and the whole.
func (t *Table) Column(names ...string) int {
	want := normalizeAll(names)
	for i, h := range t.Header {
		if matches(h, want) {
			if t.kept == nil {
				return i
			}
			for c, k := range t.kept {
				if k == i {
					return c
				}
			}
		}
	}
	return -1
}

// Letter is the spreadsheet column letter of cell i of a row ("C"), for
// messages.
func (t *Table) Letter(i int) string {
	if t.kept != nil && i >= 0 && i < len(t.kept) {
		i = t.kept[i]
	}
	return ColumnName(i)
}

// matches reports whether header cell h answers to any of the normalized
// names in want.
func matches(h string, want []string) bool {
	for _, k := range headerKeys(h) {
		for _, w := range want {
			if k == w {
				return true
			}
		}
	}
	return false
}

func normalizeAll(names []string) []string {
	want := make([]string, 0, len(names))
	for _, n := range names {
		if k := normalize(n); k != "" {
			want = append(want, k)
		}
	}
	return want
}

// normalize is the form in which header names are compared.
func normalize(s string) string {
	s = strings.ToLower(width.Fold.String(s))
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
	return strings.Trim(s, "*")
}

// headerKeys lists the names a header cell answers to.
func headerKeys(h string) []string {
	k := normalize(h)
	if k == "" {
		return nil
	}
	keys := []string{k}
	if i := strings.LastIndexByte(k, '('); i > 0 && strings.HasSuffix(k, ")") {
		if before := strings.Trim(k[:i], "*"); before != "" {
			keys = append(keys, before)
		}
		if inside := k[i+1 : len(k)-1]; inside != "" {
			keys = append(keys, inside)
		}
	}
	return keys
}

// trim removes what surrounds a cell's text. Besides Unicode spaces
// (including the full-width 　 typed with Chinese input methods) it removes
// byte order marks and zero-width spaces, which arrive invisibly when text is
// pasted from web pages or from CSV files opened and saved again.
func trim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || r == '\ufeff' || r == '\u200b'
	})
}

// builder turns rows as read from a file into a Table, applying the rules
// both formats share: skip empty rows, take the first other row as the
// header, and hold every row to the limits.
type builder struct {
	lim  Limits
	t    *Table
	text int64    // bytes of cell text kept so far
	keep []string // the kept cells of a row, reused
}

func newBuilder(f Format, lim Limits) *builder {
	return &builder{lim: lim, t: &Table{Format: f}}
}

// add takes the cells of one row at line. It may change cells in place and
// does not keep the slice or its strings.
func (b *builder) add(line int, cells []string) error {
	n := 0 // columns up to the last one with text
	size := 0
	for i, c := range cells {
		// The apostrophe a writer put before a formula start is the writer's
		// escape, not data (see defuse).
		c = trim(undefuse(trim(c)))
		cells[i] = c
		if c != "" {
			n = i + 1
		}
		size += len(c)
	}
	if n == 0 {
		return nil
	}
	if n > b.lim.MaxCols {
		return &Error{Line: line, Reason: fmt.Sprintf("line %d has %d columns; at most %d", line, n, b.lim.MaxCols)}
	}
	cells = cells[:n]
	for i, c := range cells {
		// The byte length bounds the character count from above, so most
		// cells are cleared without counting.
		if len(c) > b.lim.MaxCell && utf8.RuneCountInString(c) > b.lim.MaxCell {
			col := ColumnName(i)
			return &Error{Line: line, Column: col, Reason: fmt.Sprintf("cell %s%d is longer than %d characters", col, line, b.lim.MaxCell)}
		}
	}
	if b.t.kept != nil {
		size = 0
		for _, k := range b.t.kept {
			if k < n {
				size += len(cells[k])
			}
		}
	}
	if b.text += int64(size); b.text > b.lim.MaxText {
		return &Error{Line: line, Reason: fmt.Sprintf("the file holds more than %s of text by line %d; a table of at most %d rows holds less", formatBytes(b.lim.MaxText), line, b.lim.MaxRows)}
	}
	if b.t.Header == nil {
		return b.setHeader(line, cells)
	}
	if len(b.t.Rows) == b.lim.MaxRows {
		return &Error{Line: line, Reason: fmt.Sprintf("the file has more than %d rows besides the header", b.lim.MaxRows)}
	}
	width := len(b.t.Header)
	if n > width {
		// n is the last column with text, and it lies beyond the header.
		col := ColumnName(n - 1)
		return &Error{Line: line, Column: col, Reason: fmt.Sprintf("cell %s%d has a value but column %s has no header", col, line, col)}
	}
	if b.t.kept != nil {
		keep := b.keep[:0]
		for _, k := range b.t.kept {
			c := ""
			if k < n {
				c = cells[k]
			}
			keep = append(keep, c)
		}
		b.keep = keep
		cells, width = keep, len(keep)
	}
	b.t.Rows = append(b.t.Rows, Row{Line: line, Cells: packRow(cells, width, size)})
	return nil
}

// packRow copies a row's cells into one string, which the cells then slice:
// a row costs one allocation for its text and one for its cells, whatever
// the parser gave (a string a cell, or a record's string that also holds
// the whitespace trimmed away), and nothing of the parser's is kept.
func packRow(cells []string, width, size int) []string {
	var sb strings.Builder
	sb.Grow(size)
	for _, c := range cells {
		sb.WriteString(c)
	}
	all := sb.String()
	row := make([]string, width)
	at := 0
	for i, c := range cells {
		row[i] = all[at : at+len(c)]
		at += len(c)
	}
	return row
}

func (b *builder) setHeader(line int, cells []string) error {
	seen := make(map[string]bool, len(cells))
	for i, c := range cells {
		k := normalize(c)
		if k == "" {
			// A column without a name cannot be asked for by Column, so it
			// cannot clash with another; its cells are kept all the same.
			continue
		}
		if seen[k] {
			return &Error{Line: line, Column: ColumnName(i), Reason: fmt.Sprintf("the header has two columns named %s", c)}
		}
		seen[k] = true
	}
	b.t.Header = packRow(cells, len(cells), sumLen(cells))
	if b.lim.Keep != nil {
		b.t.kept = []int{}
		for i, h := range b.t.Header {
			for _, names := range b.lim.Keep {
				if matches(h, normalizeAll(names)) {
					b.t.kept = append(b.t.kept, i)
					break
				}
			}
		}
	}
	return nil
}

func sumLen(cells []string) int {
	n := 0
	for _, c := range cells {
		n += len(c)
	}
	return n
}

func (b *builder) finish() (*Table, error) {
	if b.t.Header == nil {
		if b.t.Format == XLSX {
			// Often the data is on another sheet; only the first is read.
			return nil, &Error{Reason: "the first worksheet has no header row: every row is empty"}
		}
		return nil, &Error{Reason: "the file has no header row: every row is empty"}
	}
	return b.t, nil
}
