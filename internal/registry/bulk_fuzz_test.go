package registry

import (
	"bytes"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/sheet"
)

// FuzzStaffFile feeds arbitrary files through the whole reading side of a bulk upload — the table
// reader and the row parser — which must never panic and must report a problem with a line for
// every row it refuses.
func FuzzStaffFile(f *testing.F) {
	var tmpl bytes.Buffer
	if err := StaffTemplate(&tmpl); err != nil {
		f.Fatal(err)
	}
	f.Add(tmpl.Bytes())
	f.Add([]byte("操作,身份证号,姓名,缴费基数,月份\n增员,11010519491231002X,王芳,8000,202611\n"))
	f.Add([]byte("operation,id_number,name,end_date,reason\nremove,11010519491231002X,王芳,2026-11-30,辞职\n"))
	f.Add([]byte("operation,id_number,name,base,month\nchange_base,110105194912310021,x,-1,999999\n"))
	f.Add([]byte("\xef\xbb\xbf操作\t身份证号\t姓名\n增员\t1\t\n"))
	s := &Service{now: func() time.Time { return time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC) }}
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := sheet.Read(bytes.NewReader(data), sheet.Limits{MaxRows: 1000, MaxCols: 32, MaxBytes: 1 << 20})
		if err != nil {
			return
		}
		changes, problems, err := s.parseTable(tab, "330100")
		if err != nil {
			return
		}
		for _, p := range problems.List {
			if p.Line < 1 || p.Reason == "" {
				t.Fatalf("problem without a line or reason: %+v", p)
			}
		}
		if len(problems.List) > errs.MaxRowProblems || (problems.Lines > 0) != (len(problems.List) > 0) {
			t.Fatalf("%d problems listed for %d bad rows", len(problems.List), problems.Lines)
		}
		if problems.Lines == 0 && len(changes) != len(tab.Rows) {
			t.Fatalf("%d rows became %d changes", len(tab.Rows), len(changes))
		}
		for _, c := range changes {
			if c.n == "" || c.month == 0 {
				t.Fatalf("accepted change without an ID number or month: %+v", c)
			}
		}
	})
}
