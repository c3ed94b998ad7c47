package card

import (
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/sheet"
)

// FuzzResultFile feeds arbitrary files to the manufacturer's result file reader: it must never
// panic, must answer a field error naming the file or lines within the batch's size, and must list
// a problem for every line it would not apply.
func FuzzResultFile(f *testing.F) {
	f.Add([]byte("application_no,card_number,chip_serial,atr\n330100202611000001,A12345678,AD930001,3B6C00\n"))
	f.Add([]byte("application_no,card_number,chip_serial,atr\n\n330100202611000001,a12345678,ad930001,3b6c\r\nx,,,\n"))
	f.Add([]byte("a,b,c\n1,2,3\n"))
	f.Add([]byte("application_no,card_number,chip_serial,atr\n1,2,3,4,5\n"))
	f.Add([]byte("\xef\xbb\xbfapplication_no;card_number;chip_serial;atr\n1;2;3;4\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, problems, end, err := parseResult(data)
		if err != nil {
			e, ok := errs.As(err)
			if !ok || e.Fields["file"] == "" {
				t.Fatalf("error %v does not name the file", err)
			}
			return
		}
		if len(lines) == 0 || len(lines) > sheet.Limits.Resolved(ResultLimits).MaxRows || end <= lines[len(lines)-1].line {
			t.Fatalf("%d lines, end %d", len(lines), end)
		}
		bad := map[int]bool{}
		for _, p := range problems.List {
			if p.Line < 2 || p.Line >= end || p.Reason == "" {
				t.Fatalf("problem %+v", p)
			}
			bad[p.Line] = true
		}
		for _, l := range lines {
			if bad[l.line] {
				continue
			}
			if len(l.serial) != 8 || len(l.atr) < 4 || strings.ToUpper(l.number) != l.number {
				t.Fatalf("line %d passed: %+v", l.line, l)
			}
		}
	})
}
