package sheet

import (
	"bytes"
	"testing"
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
