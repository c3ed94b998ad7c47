package sheet

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// The scan reads every part excelize will be given as a stream of tags and
// text, in memory that does not grow with the part (a 64 KiB buffer, and four
// bytes a shared string), and refuses what would make excelize or the Table
// large. It does not parse the workbook: what it counts is an estimate from
// above, and the builder still checks the cells excelize returns.
//
// Why each bound:
//   - a tag or a run of text longer than maxRun: encoding/xml (inside
//     excelize) buffers a whole run, so one 190 MiB cell would become a
//     190 MiB string; no cell of MaxCell characters, and no tag of a real
//     workbook, is near it;
//   - a cell's text, and a shared string's: longer than MaxCell characters
//     can be written (10 bytes a character at most, as &#1114111;) is
//     refused before excelize builds the row;
//   - markup excelize and the scan could read differently (a cell inside a
//     cell, a shared string that is not a child of the table's root, a DTD):
//     refused as damaged, so that what the scan measured is what excelize
//     reads;
//   - a row with more than MaxCols cells with text, or more than Excel's
//     16,384 cells: excelize builds a whole row before the builder sees it;
//   - rows and cells in all, a few times what MaxRows rows of MaxCols
//     columns need: each costs excelize time even when empty;
//   - a part's text, MaxUnzipped: a cell that names a shared string costs
//     20 bytes of XML however long the string, so a small worksheet can make
//     excelize produce gigabytes of text; the scan counts each reference at
//     its string's length, and allows as much text as the workbook may
//     unpack to (what the Table keeps of it is held to MaxText by the
//     builder);
//   - shared strings, sharedPerRow a row: excelize keeps an index entry (some
//     50 bytes) for each;
//   - XML elements in the parts excelize parses into structures (styles
//     above all, some 150 bytes a parsed element): MaxParsedElements;
//   - a number format of more than maxFormatCode bytes or maxFormatAt "@":
//     every "@" repeats the cell's text, so "@@@…" multiplies it.
const (
	maxRun          = 64 << 10
	maxExcelCols    = 16_384
	rowsPerRow      = 2 // row elements allowed for each row MaxRows allows: room for formatted empty rows
	cellsPerCol     = 2 // cell elements allowed for each cell MaxRows × MaxCols allows: room for formatted empty cells
	sharedPerRow    = 8 // shared strings allowed for each row MaxRows allows
	maxFormatCode   = 2 << 10
	maxFormatAt     = 4
	maxBytesPerChar = 10
)

// MaxParsedElements bounds the XML elements of the parts excelize parses into structures (the
// workbook, its relationships, the styles), in all: room for the styles of tens of thousands of
// cell formats, which HR files copied from file to file for years do reach (Excel's own maximum is
// 64,000).
const MaxParsedElements = 100_000

// scanParts scans the kept parts, the shared strings first: a worksheet's
// cells are measured by the strings they name.
func scanParts(kept []part, lim Limits) error {
	s := &scanner{lim: lim, buf: bufio.NewReaderSize(nil, maxRun), tag: make([]byte, 0, 1024)}
	for _, want := range []bool{true, false} {
		for _, p := range kept {
			if (p.kind == shared) != want {
				continue
			}
			if err := s.part(p); err != nil {
				return err
			}
		}
	}
	return nil
}

type scanner struct {
	lim    Limits
	buf    *bufio.Reader
	tag    []byte   // one tag's bytes, reused
	shared []uint32 // the text bytes of each shared string, in order
	// sharedMax is the longest shared string, taken for a reference the scan
	// cannot read as excelize would.
	sharedMax uint32
	parsed    int // elements seen in parsed parts
}

// errLong is a run of text or a tag longer than maxRun.
var errLong = errors.New("run too long")

// cellState is what the scan knows of the part, row and cell it is in.
type cellState struct {
	rows, cells int   // row and c elements in the part
	line        int   // the current row's number, as excelize counts them
	rowCells    int   // c elements in the current row
	rowValued   int   // cells with text in the current row
	text        int64 // text of the part's cells
	depth       int   // open elements
	inCell      bool
	isShared    bool // the cell names a shared string (t="s")
	inV, inF    bool
	cellText    int64
	ref         []byte // the cell's r attribute, when it is a plain reference
	v           []byte // the text of <v>, up to 16 bytes; longer is not an index
	vPlain      bool   // no markup inside or around <v>
	inSI        bool
	siText      int64
}

func (s *scanner) part(p part) error {
	rc, err := p.f.Open()
	if err != nil {
		return damaged()
	}
	defer rc.Close()
	s.buf.Reset(rc)
	st := cellState{v: make([]byte, 0, 16), ref: make([]byte, 0, 16)}
	if err := s.tokens(p, &st); err != nil {
		var se *Error
		if errors.As(err, &se) {
			return se
		}
		if errors.Is(err, errLong) {
			return &Error{Reason: "the workbook has a cell or tag longer than " + formatBytes(maxRun)}
		}
		return damaged() // archive/zip's checksum or size errors, or broken markup
	}
	return nil
}

// tokens walks the part: text up to each '<', then the tag up to its '>'.
func (s *scanner) tokens(p part, st *cellState) error {
	for {
		text, err := s.buf.ReadSlice('<')
		switch {
		case err == bufio.ErrBufferFull:
			return errLong
		case err == io.EOF:
			s.text(st, text)
			return nil
		case err != nil:
			return err
		}
		s.text(st, text[:len(text)-1])
		tag, err := s.readTag()
		if err != nil {
			return err
		}
		if err := s.element(p, st, tag); err != nil {
			return err
		}
	}
}

// readTag reads what follows a '<' up to the '>' that ends it: a '>' inside
// quotes does not, nor one inside a comment, CDATA section or processing
// instruction before its own end.
func (s *scanner) readTag() ([]byte, error) {
	s.tag = s.tag[:0]
	var quote byte
	for {
		b, err := s.buf.ReadSlice('>')
		if err == bufio.ErrBufferFull || len(s.tag)+len(b) > maxRun {
			return nil, errLong
		}
		if err != nil {
			return nil, io.ErrUnexpectedEOF // a tag cut short
		}
		from := len(s.tag)
		s.tag = append(s.tag, b...)
		t := s.tag
		switch {
		case bytes.HasPrefix(t, []byte("!--")):
			if len(t) >= 6 && bytes.HasSuffix(t, []byte("-->")) {
				return t[:len(t)-1], nil
			}
		case bytes.HasPrefix(t, []byte("![CDATA[")):
			if len(t) >= 11 && bytes.HasSuffix(t, []byte("]]>")) {
				return t[:len(t)-1], nil
			}
		case t[0] == '?':
			if len(t) >= 3 && bytes.HasSuffix(t, []byte("?>")) {
				return t[:len(t)-1], nil
			}
		case t[0] == '!' && len(t) < 9 && (bytes.HasPrefix([]byte("!--"), t[:len(t)-1]) || bytes.HasPrefix([]byte("![CDATA["), t[:len(t)-1])):
			// The start of a comment or CDATA section cut by an early '>':
			// read on; what it is is judged when it ends.
		default:
			// Only the bytes added are looked at, so a tag of many quoted
			// '>' costs its length, not its length squared.
			for _, c := range t[from : len(t)-1] {
				switch {
				case quote == 0 && (c == '"' || c == '\''):
					quote = c
				case c == quote:
					quote = 0
				}
			}
			if quote == 0 {
				return t[:len(t)-1], nil
			}
		}
	}
}

// text takes a run of character data.
func (s *scanner) text(st *cellState, b []byte) {
	if len(b) == 0 {
		return
	}
	if st.inSI {
		st.siText += int64(len(b))
	}
	if !st.inCell || st.inF {
		return
	}
	st.cellText += int64(len(b))
	if st.inV {
		if len(st.v)+len(b) <= cap(st.v) {
			st.v = append(st.v, b...)
		} else {
			st.vPlain = false
		}
	}
}

// element takes one tag (without its '<' and '>').
func (s *scanner) element(p part, st *cellState, tag []byte) error {
	if len(tag) == 0 {
		return io.ErrUnexpectedEOF
	}
	switch tag[0] {
	case '?':
		return nil
	case '!':
		switch {
		case bytes.HasPrefix(tag, []byte("!--")):
			return nil
		case bytes.HasPrefix(tag, []byte("![CDATA[")):
			st.vPlain = false // excelize decodes it; the scan only counts it
			s.text(st, tag[8:len(tag)-2])
			return nil
		}
		// A document type declaration: no workbook has one, and entity
		// definitions are the oldest XML bomb.
		return errors.New("sheet: DTD in a workbook part")
	case '/':
		st.depth--
		return s.end(st, localName(tag[1:]))
	}
	selfClosing := tag[len(tag)-1] == '/'
	name := localName(tag)
	depth := st.depth // the element's parents
	if !selfClosing {
		st.depth++
	}
	if p.kind == parsed {
		if s.parsed++; s.parsed > MaxParsedElements {
			return &Error{Reason: fmt.Sprintf("the workbook's styles and other parts besides its sheets have more than %d elements", MaxParsedElements)}
		}
	}
	if st.inV {
		st.vPlain = false // markup inside <v>: not the plain case
	}
	switch string(name) {
	case "row", "c":
		// A row or cell inside a cell: excelize would end the outer cell at
		// the inner one's end, or swallow it whole, and the scan would have
		// to guess which. No spreadsheet writes one.
		if st.inCell {
			return errors.New("sheet: a cell inside a cell")
		}
		if string(name) == "row" {
			return s.row(st, tag)
		}
		if err := s.cell(st, tag); err != nil {
			return err
		}
		if selfClosing {
			return s.endCell(st)
		}
	case "v":
		if st.inCell && !selfClosing {
			if st.inV || len(st.v) > 0 {
				st.vPlain = false // a second <v>: excelize keeps the last
			}
			st.inV = true
		}
	case "f":
		st.inF = st.inCell && !selfClosing
	case "si":
		if p.kind != shared {
			break
		}
		// excelize reads the table two ways, as a stream (any si) or whole
		// (the root's si children only); they agree, and the scan with them,
		// only when every si is a child of the root.
		if depth != 1 {
			return errors.New("sheet: a shared string out of place")
		}
		if max := s.lim.MaxRows * sharedPerRow; len(s.shared) >= max {
			return &Error{Reason: fmt.Sprintf("the workbook holds more than %d different texts", max)}
		}
		st.inSI, st.siText = !selfClosing, 0
		if selfClosing {
			return s.endSI(st)
		}
	case "numFmt":
		return numFmt(tag)
	}
	return nil
}

func (s *scanner) end(st *cellState, name []byte) error {
	switch string(name) {
	case "c":
		if st.inCell {
			return s.endCell(st)
		}
	case "v":
		st.inV = false
	case "f":
		st.inF = false
	case "si":
		if st.inSI {
			return s.endSI(st)
		}
	}
	return nil
}

// row starts a row: counted, numbered as excelize numbers it (its r
// attribute, else one past the last).
func (s *scanner) row(st *cellState, tag []byte) error {
	if max := rowsPerRow * (s.lim.MaxRows + 1); st.rows >= max {
		return &Error{Reason: fmt.Sprintf("the worksheet has more than %d rows, empty or not", max)}
	}
	st.rows++
	st.line++
	if r, ok := attr(tag, "r"); ok {
		if n, ok := smallNumber(r); ok {
			st.line = n
		}
	}
	st.rowCells, st.rowValued = 0, 0
	return nil
}

// cell starts a cell.
func (s *scanner) cell(st *cellState, tag []byte) error {
	if max := cellsPerCol * (s.lim.MaxRows + 1) * s.lim.MaxCols; st.cells >= max {
		return &Error{Reason: fmt.Sprintf("the worksheet has more than %d cells, empty or not", max)}
	}
	if st.rowCells >= maxExcelCols {
		return &Error{Line: st.line, Reason: fmt.Sprintf("line %d has more than %d cells", st.line, maxExcelCols)}
	}
	st.cells++
	st.rowCells++
	st.inCell, st.inV, st.inF, st.cellText = true, false, false, 0
	st.v, st.vPlain = st.v[:0], true
	// excelize takes the attribute's local name and its decoded value; an
	// entity in it ("&#115;") is not read here, so the cell is taken as
	// naming a shared string, the costlier reading.
	t, _ := attr(tag, "t")
	st.isShared = string(t) == "s" || bytes.IndexByte(t, '&') >= 0
	st.ref = st.ref[:0]
	if r, ok := attr(tag, "r"); ok && plainRef(r) {
		st.ref = append(st.ref, r...)
	}
	return nil
}

// endCell measures the cell: its own text, or the shared string it names.
func (s *scanner) endCell(st *cellState) error {
	st.inCell, st.inV, st.inF = false, false, false
	size := st.cellText
	if st.isShared {
		size = int64(s.sharedMax)
		if i, ok := sharedIndex(st.v); ok && st.vPlain {
			size = 0 // excelize answers an index past the table with an error
			if i < len(s.shared) {
				size = int64(s.shared[i])
			}
		}
	}
	if size == 0 {
		return nil
	}
	if max := int64(s.lim.MaxCell) * maxBytesPerChar; size > max {
		at := string(st.ref)
		if at == "" {
			at = ColumnName(st.rowCells-1) + fmt.Sprint(st.line)
		}
		return &Error{Line: st.line, Reason: fmt.Sprintf("cell %s is longer than %d characters", at, s.lim.MaxCell)}
	}
	if st.rowValued++; st.rowValued > s.lim.MaxCols {
		return &Error{Line: st.line, Reason: fmt.Sprintf("line %d has more than %d columns", st.line, s.lim.MaxCols)}
	}
	if st.text += size; st.text > s.lim.MaxUnzipped {
		return &Error{Line: st.line, Reason: fmt.Sprintf("the worksheet's cells hold more than %s of text by line %d, more than the workbook may unpack to", formatBytes(s.lim.MaxUnzipped), st.line)}
	}
	return nil
}

// endSI records a shared string's length. One longer than a cell may be is
// refused whether a cell names it or not: Excel keeps only strings its cells
// use, and the bound keeps every reference's cost known.
func (s *scanner) endSI(st *cellState) error {
	st.inSI = false
	if max := int64(s.lim.MaxCell) * maxBytesPerChar; st.siText > max {
		return &Error{Reason: fmt.Sprintf("the workbook holds a text longer than %d characters", s.lim.MaxCell)}
	}
	n := uint32(st.siText)
	s.shared = append(s.shared, n)
	s.sharedMax = max(s.sharedMax, n)
	return nil
}

// sharedIndex reads v as excelize does (strconv.Atoi of the trimmed text) in
// the plain case, digits with white space around them.
func sharedIndex(v []byte) (int, bool) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || len(v) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// numFmt checks a number format: see maxFormatCode and maxFormatAt.
func numFmt(tag []byte) error {
	for _, name := range []string{"formatCode", "formatCode16"} {
		code, _ := attr(tag, name)
		if len(code) > maxFormatCode || bytes.Count(code, []byte("@")) > maxFormatAt {
			return &Error{Reason: "the workbook has a number format longer or more repetitive than Excel allows"}
		}
	}
	return nil
}

// localName is an element's name without its namespace prefix, as
// encoding/xml gives excelize its Local name.
func localName(tag []byte) []byte {
	end := len(tag)
	for i, c := range tag {
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '/' {
			end = i
			break
		}
	}
	name := tag[:end]
	if i := bytes.IndexByte(name, ':'); i >= 0 {
		name = name[i+1:]
	}
	return name
}

// attr finds an attribute by local name in a start tag and returns its raw
// value; when it occurs more than once, the last, as excelize keeps.
func attr(tag []byte, name string) (value []byte, found bool) {
	i := bytes.IndexAny(tag, " \t\n\r")
	if i < 0 {
		return nil, false
	}
	rest := tag[i:]
	for {
		rest = bytes.TrimLeft(rest, " \t\n\r")
		eq := bytes.IndexByte(rest, '=')
		if eq < 0 {
			return value, found
		}
		key := bytes.TrimRight(rest[:eq], " \t\n\r")
		if j := bytes.IndexByte(key, ':'); j >= 0 {
			key = key[j+1:]
		}
		rest = bytes.TrimLeft(rest[eq+1:], " \t\n\r")
		if len(rest) == 0 || (rest[0] != '"' && rest[0] != '\'') {
			return value, found
		}
		q := rest[0]
		end := bytes.IndexByte(rest[1:], q)
		if end < 0 {
			return value, found
		}
		if string(key) == name {
			value, found = rest[1:1+end], true
		}
		rest = rest[end+2:]
	}
}

// smallNumber reads a row number of at most seven digits.
func smallNumber(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 7 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// plainRef reports whether b is a cell reference fit to quote in a message:
// up to three letters and seven digits.
func plainRef(b []byte) bool {
	i := 0
	for i < len(b) && i < 3 && b[i] >= 'A' && b[i] <= 'Z' {
		i++
	}
	if i == 0 || i == len(b) || len(b)-i > 7 {
		return false
	}
	for _, c := range b[i:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
