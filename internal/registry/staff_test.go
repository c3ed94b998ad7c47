package registry_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/registry"
)

func TestStaffOneByOne(t *testing.T) {
	withDB(t, func(t *testing.T, f *fixture) {
		empA, hrA := f.employer(1)
		empB, hrB := f.employer(2)
		id := idFor(30)
		add := registry.StaffChange{Op: registry.OpAdd, IDNumber: id, Name: "钱七", Base: "7500.50", Month: "202611"}
		if err := f.reg.ChangeStaff(ctx, hrA, string(empA.USCC), add); err != nil {
			t.Fatal(err)
		}
		p, ps, err := f.reg.Participations(ctx, f.clerk, id)
		if err != nil || len(ps) != 5 || p.Hukou != registry.LocalHukou {
			t.Fatalf("after add: %+v %+v %v", p, ps, err)
		}
		if err := f.reg.ChangeStaff(ctx, hrA, string(empA.USCC), add); !errs.Is(err, errs.Conflict) {
			t.Fatalf("add twice: %v", err)
		}
		// Another employer cannot enrol someone insured elsewhere, and cannot see or change A's staff.
		addB := add
		if err := f.reg.ChangeStaff(ctx, hrB, string(empB.USCC), addB); !errs.Is(err, errs.Conflict) {
			t.Fatalf("B adds A's employee: %v", err)
		}
		if err := f.reg.ChangeStaff(ctx, hrB, string(empA.USCC), add); !errs.Is(err, errs.NotFound) {
			t.Fatalf("B acts for A: %v", err)
		}
		if _, _, err := f.reg.Staff(ctx, hrB, string(empA.USCC), false, 10, registry.StaffKey{}); !errs.Is(err, errs.NotFound) {
			t.Fatalf("B lists A's staff: %v", err)
		}
		if _, err := f.reg.Person(ctx, hrB, id); !errs.Is(err, errs.NotFound) {
			t.Fatalf("B reads A's employee: %v", err)
		}
		if _, err := f.reg.Person(ctx, hrA, id); err != nil {
			t.Fatalf("A reads its employee: %v", err)
		}
		wrongName := registry.StaffChange{Op: registry.OpAdd, IDNumber: id, Name: "别名", Base: "7500", Month: "202611"}
		err = f.reg.ChangeStaff(ctx, hrB, string(empB.USCC), wrongName)
		if e, ok := errs.As(err); !ok || e.Fields["name"] == "" {
			t.Fatalf("wrong name: %v", err)
		}
		if err := f.reg.ChangeStaff(ctx, hrA, string(empA.USCC), registry.StaffChange{Op: registry.OpChangeBase, IDNumber: id, Base: "9000", Month: "202612"}); err != nil {
			t.Fatal(err)
		}
		list, total, err := f.reg.Staff(ctx, hrA, string(empA.USCC), false, 10, registry.StaffKey{})
		if err != nil || total != 1 || list[0].Base != 750050 {
			t.Fatalf("staff = %+v %d %v (the 202612 base is not in force in 202611)", list, total, err)
		}
		bad := registry.StaffChange{Op: registry.OpRemove, IDNumber: id, EndDate: "2026-13-01", Reason: "lazy"}
		err = f.reg.ChangeStaff(ctx, hrA, string(empA.USCC), bad)
		if e, ok := errs.As(err); !ok || e.Fields["end_date"] == "" || e.Fields["reason"] == "" {
			t.Fatalf("bad removal: %v", err)
		}
		if err := f.reg.ChangeStaff(ctx, hrA, string(empA.USCC), registry.StaffChange{Op: registry.OpRemove, IDNumber: id, EndDate: "2026-11-10", Reason: "合同到期"}); err != nil {
			t.Fatal(err)
		}
		_, ps, _ = f.reg.Participations(ctx, f.clerk, id)
		for _, p := range ps {
			if p.End != 202611 || p.EndReason != "contract_expired" {
				t.Fatalf("after removal: %+v", p)
			}
		}
		// Now B may enrol them from December; A's closed intervals stay as they were.
		addB.Month = "202612"
		if err := f.reg.ChangeStaff(ctx, hrB, string(empB.USCC), addB); err != nil {
			t.Fatalf("B adds after A removed: %v", err)
		}
		_, ps2, _ := f.reg.Participations(ctx, f.clerk, id)
		if len(ps2) != 10 || !slices.Equal(idsOf(ps2[:5]), idsOf(ps)) || ps2[0].End != 202611 {
			t.Fatalf("history rewritten: before %+v after %+v", ps, ps2)
		}
	})
}

func idsOf(ps []registry.Participation) []int64 {
	var out []int64
	for _, p := range ps {
		out = append(out, p.ID)
	}
	slices.Sort(out)
	return out
}

// TestBulkTenThousand: a 10,000-row XLSX with three bad rows is refused whole, naming exactly those
// rows; the corrected file imports every row; the same file again changes nothing.
func TestBulkTenThousand(t *testing.T) {
	withDB(t, func(t *testing.T, f *fixture) {
		emp, hr := f.employer(7)
		const n = 10_000
		rows := make([][]string, n)
		for i := range rows {
			rows[i] = addRow(idFor(1000+i), fmt.Sprintf("职工%05d", i), "8000.00", 202611)
		}
		good := staffFile(t, rows)
		bad := make([][]string, n)
		copy(bad, rows)
		bad[41] = slices.Clone(rows[41])
		bad[41][1] = bad[41][1][:17] + "0" // wrong check character (line 43: header is line 1)
		if bad[41][1] == rows[41][1] {
			bad[41][1] = bad[41][1][:17] + "1"
		}
		bad[5000] = slices.Clone(rows[5000])
		bad[5000][3] = "eight thousand" // base, line 5002
		bad[9998] = slices.Clone(rows[9998])
		bad[9998][4] = "202613" // month, line 10000
		_, err := f.reg.ImportStaff(ctx, hr, string(emp.USCC), "staff.xlsx", staffFile(t, bad))
		e, ok := errs.As(err)
		if !ok || e.Code != errs.Invalid {
			t.Fatalf("bad file: %v", err)
		}
		var got []string
		for _, r := range e.Rows {
			got = append(got, fmt.Sprintf("%d:%s:%s", r.Line, r.Column, r.Field))
		}
		want := []string{"43:B:id_number", "5002:D:base", "10000:E:month"}
		if !slices.Equal(got, want) {
			t.Fatalf("reported rows %v; want %v", got, want)
		}
		if _, total, _ := f.reg.Staff(ctx, hr, string(emp.USCC), true, 1, registry.StaffKey{}); total != 0 {
			t.Fatalf("a refused file wrote %d staff", total)
		}
		res, err := f.reg.ImportStaff(ctx, hr, string(emp.USCC), "staff.xlsx", good)
		if err != nil || res.Applied != n || res.Repeated {
			t.Fatalf("good file: %+v %v", res, err)
		}
		var persons, parts int
		f.d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM persons").Scan(&persons)
		f.d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM participations").Scan(&parts)
		if persons != n || parts != 5*n {
			t.Fatalf("persons %d, participations %d; want %d, %d", persons, parts, n, 5*n)
		}
		res, err = f.reg.ImportStaff(ctx, hr, string(emp.USCC), "staff-again.xlsx", good)
		if err != nil || !res.Repeated || res.Applied != 0 {
			t.Fatalf("same file again: %+v %v", res, err)
		}
		var persons2, parts2 int
		f.d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM persons").Scan(&persons2)
		f.d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM participations").Scan(&parts2)
		if persons2 != persons || parts2 != parts {
			t.Fatalf("re-upload changed the registry: %d→%d persons, %d→%d participations", persons, persons2, parts, parts2)
		}
		// A different file that adds the same people again is refused row by row against the
		// database: they are already on the staff.
		again := staffFile(t, rows[:3])
		_, err = f.reg.ImportStaff(ctx, hr, string(emp.USCC), "three.xlsx", again)
		if e, ok := errs.As(err); !ok || len(e.Rows) != 3 || e.Rows[0].Line != 2 || e.Rows[0].Field != "id_number" {
			t.Fatalf("re-adding: %v", err)
		}
	})
}

func TestBulkFileProblems(t *testing.T) {
	withDB(t, func(t *testing.T, f *fixture) {
		emp, hr := f.employer(8)
		_, err := f.reg.ImportStaff(ctx, hr, string(emp.USCC), "x.xlsx", []byte("\x00\x01garbage"))
		wantField(t, err, errs.Invalid, "file")
		_, err = f.reg.ImportStaff(ctx, hr, string(emp.USCC), "x.csv", []byte("姓名,备注\n张三,x\n"))
		wantField(t, err, errs.Invalid, "file")
		// CSV works as well as XLSX, with duplicated rows reported against the first.
		id := idFor(77)
		csv := "操作,身份证号,姓名,缴费基数,月份\n增员," + id + ",孙八,8000,202611\n增员," + id + ",孙八,8000,202611\n"
		_, err = f.reg.ImportStaff(ctx, hr, string(emp.USCC), "x.csv", []byte(csv))
		if e, ok := errs.As(err); !ok || len(e.Rows) != 1 || e.Rows[0].Line != 3 {
			t.Fatalf("duplicate rows: %v", err)
		}
		res, err := f.reg.ImportStaff(ctx, hr, string(emp.USCC), "x.csv", []byte(csv[:len(csv)-len("增员,"+id+",孙八,8000,202611\n")]))
		if err != nil || res.Applied != 1 {
			t.Fatalf("csv: %+v %v", res, err)
		}
	})
}

// A declaration more than twelve months back is refused (the window handles it), unless the
// registry is taken as of a day when it was within reach, as when history is loaded.
func TestDeclarationWindowAndAsOf(t *testing.T) {
	withDB(t, func(t *testing.T, f *fixture) {
		emp, hr := f.employer(1)
		add := registry.StaffChange{Op: registry.OpAdd, IDNumber: idFor(40), Name: "孙八", Base: "8000", Month: "202503"}
		err := f.reg.ChangeStaff(ctx, hr, string(emp.USCC), add)
		if e, ok := errs.As(err); !ok || e.Fields["month"] == "" {
			t.Fatalf("20 months back: %v; want a month field error", err)
		}
		yearAgo := f.reg.AsOf(func() time.Time { return now.AddDate(-1, 0, 0) })
		if err := yearAgo.ChangeStaff(ctx, hr, string(emp.USCC), add); err != nil {
			t.Fatalf("as of a year ago: %v", err)
		}
		list, total, err := f.reg.Staff(ctx, hr, string(emp.USCC), false, 10, registry.StaffKey{})
		if err != nil || total != 1 || list[0].Start != 202503 {
			t.Fatalf("staff = %+v %d %v", list, total, err)
		}
	})
}
