package sheet

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
)

const utf8BOM = "\ufeff"

func readCSV(data []byte, lim Limits) (*Table, error) {
	text, err := decodeText(data)
	if err != nil {
		return nil, err
	}
	// Old Macintosh CSV ends lines with a lone CR, which encoding/csv would
	// read as one long line.
	if bytes.IndexByte(text, '\n') < 0 {
		text = bytes.ReplaceAll(text, []byte("\r"), []byte("\n"))
	}
	delim := sniffDelimiter(text)
	// encoding/csv builds a whole record before handing it over, and a line
	// of nothing but commas would make that millions of fields, each a
	// 16-byte string header: refuse what Excel could never have written
	// before parsing, so memory stays near the file's size. A record longer
	// than MaxCols cells of MaxCell characters can hold (each cell's quotes
	// doubled, the two around it and its delimiter) must have a cell too long
	// or too many; say so before encoding/csv buffers it whole.
	m := measureRecords(text, delim)
	if m.fields > maxXLSXCols {
		return nil, &Error{Line: m.widest, Reason: fmt.Sprintf("line %d has more than %d columns", m.widest, maxXLSXCols)}
	}
	if maxLine := lim.MaxCols * (2*lim.MaxCell + 3); m.chars > maxLine {
		return nil, &Error{Line: m.longest, Reason: fmt.Sprintf("line %d is longer than %d characters", m.longest, maxLine)}
	}
	cr := csv.NewReader(bytes.NewReader(text))
	cr.Comma = delim
	cr.FieldsPerRecord = -1 // rows of any length; builder pads and checks them
	cr.ReuseRecord = true

	// encoding/csv skips empty lines without a word, yet each is a row in
	// Excel. So a record's row number is worked out from where it starts: the
	// text lines between the end of the last record and the start of this one
	// are the skipped empty rows.
	var (
		b        = newBuilder(CSV, lim)
		row      int   // Excel row number of the last record read
		nlBefore int   // newlines in text before offset
		offset   int64 // where the last record ended
	)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line := row + pe.StartLine - nlBefore
				return nil, &Error{Line: line, Reason: fmt.Sprintf("line %d %s", line, quoteProblem(pe.Err))}
			}
			return nil, &Error{Reason: "the file could not be read as CSV", Err: err}
		}
		start, _ := cr.FieldPos(0)
		row += start - nlBefore
		end := cr.InputOffset()
		nlBefore += bytes.Count(text[offset:end], []byte("\n"))
		offset = end
		if err := b.add(row, rec); err != nil {
			return nil, err
		}
	}
	return b.finish()
}

func quoteProblem(err error) string {
	switch {
	case errors.Is(err, csv.ErrBareQuote):
		return `has a double quote (") inside a cell that does not start with one; double it ("") or put the whole cell in quotes`
	case errors.Is(err, csv.ErrQuote):
		return "has a cell in double quotes that is not closed properly"
	default:
		return "could not be read as CSV"
	}
}

// decodeText turns the file into UTF-8 text, or says it is not text. Text
// that is UTF-8 already is the file itself, not a copy.
func decodeText(data []byte) ([]byte, error) {
	var text []byte
	switch {
	case bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}):
		// UTF-16 is never guessed at without its BOM: GB18030 is far more
		// likely here, and any bytes at all decode as one or the other.
		out, err := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder().Bytes(data)
		if err != nil {
			return nil, notTable()
		}
		text = out
	case utf8.Valid(data):
		text = data
	default:
		// GB18030 contains GBK and GB2312, so one decoder covers what every
		// version of Chinese Excel and WPS writes. Bytes it cannot place come
		// back as U+FFFD, and that is how binary files are told from text.
		out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
		if err != nil || bytes.ContainsRune(out, utf8.RuneError) {
			return nil, notTable()
		}
		text = out
	}
	text = bytes.TrimPrefix(text, []byte(utf8BOM))
	// Text tables hold no control characters but tab and line ends; anything
	// else (NUL above all) means a binary file, and reading it as CSV would
	// give the person a confusing complaint about columns or quotes.
	for _, r := range string(text) { // ranging over the conversion copies nothing
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f {
			return nil, notTable()
		}
	}
	return text, nil
}

// records describes a text's widest and longest records, counted as Read
// counts lines.
type records struct {
	widest, fields int // the line with the most fields, and how many
	longest, chars int // the line with the most characters, and how many
}

// measureRecords finds the record with the most fields and the one with the
// most characters. Quotes are followed simply, each one toggling: a doubled
// quote toggles twice, and malformed quoting is left for encoding/csv to
// report.
func measureRecords(text []byte, delim rune) records {
	var m records
	row, n, chars, quoted := 1, 1, 0, false
	end := func() {
		if n > m.fields {
			m.widest, m.fields = row, n
		}
		if chars > m.chars {
			m.longest, m.chars = row, chars
		}
	}
	for _, r := range string(text) {
		chars++
		switch {
		case r == '"':
			quoted = !quoted
		case quoted:
		case r == delim:
			n++
		case r == '\n':
			chars-- // the line end is not part of the line
			end()
			row, n, chars = row+1, 1, 0
		}
	}
	end()
	return m
}

// sniffDelimiter picks the delimiter from the header line, the first line
// with any text: a tab or semicolon when it occurs there more often than a
// comma (outside quotes), else a comma. European-locale Excel writes
// semicolons, and copying from Excel gives tabs.
func sniffDelimiter(text []byte) rune {
	for len(text) > 0 {
		line, rest, _ := bytes.Cut(text, []byte("\n"))
		text = rest
		if len(bytes.Trim(line, " \t\r,;\"")) == 0 {
			continue
		}
		var comma, tab, semi int
		quoted := false
		for _, r := range string(line) {
			switch {
			case r == '"':
				quoted = !quoted
			case quoted:
			case r == ',':
				comma++
			case r == '\t':
				tab++
			case r == ';':
				semi++
			}
		}
		switch {
		case tab > comma && tab >= semi:
			return '\t'
		case semi > comma:
			return ';'
		}
		return ','
	}
	return ','
}

// WriteCSV writes UTF-8 CSV with a BOM (without it Excel reads the file in the
// local code page and garbles Chinese text) and CRLF line ends.
//
// A cell that could start a formula is written with a leading apostrophe
// (see defuse): Excel would otherwise run it when the file is opened, and a
// name typed by one person must not become a formula on another's desk. Read
// removes that apostrophe again, so what WriteCSV wrote reads back unchanged.
//
// Excel turns long digit strings in CSV into rounded numbers when it opens
// them; files meant for people to edit should be written with WriteXLSX.
func WriteCSV(w io.Writer, header []string, rows [][]string) error {
	if _, err := io.WriteString(w, utf8BOM); err != nil {
		return fmt.Errorf("sheet: write csv: %w", err)
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	var rec []string
	write := func(cells []string) error {
		if len(cells) > len(header) {
			return fmt.Errorf("a row has %d cells but the header only %d", len(cells), len(header))
		}
		rec = rec[:0]
		for _, c := range cells {
			rec = append(rec, defuse(c))
		}
		return cw.Write(rec)
	}
	if err := write(header); err != nil {
		return fmt.Errorf("sheet: write csv: %w", err)
	}
	for _, r := range rows {
		if err := write(r); err != nil {
			return fmt.Errorf("sheet: write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("sheet: write csv: %w", err)
	}
	return nil
}
