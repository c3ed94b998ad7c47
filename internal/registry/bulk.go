package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/sheet"
)

// The staff file: one row per operation, the columns HR already keeps. A header cell may carry the
// Chinese name, the English field name or both ("身份证号 (id_number)"), in any order; optional
// columns may be left out.
type staffColumn struct {
	Field    string
	ZH       string
	Required bool
	Example  string
}

// StaffColumns lists the columns of the staff file in template order.
var StaffColumns = []staffColumn{
	{"operation", "操作", true, "增员"},
	{"id_number", "身份证号", true, "11010519491231002X"},
	{"name", "姓名", true, "张三"},
	{"base", "缴费基数", false, "8000.00"},
	{"month", "月份", false, "202611"},
	{"end_date", "离职日期", false, ""},
	{"reason", "减员原因", false, ""},
	{"hukou_type", "户籍类型", false, "本地"},
	{"ethnicity", "民族", false, "汉族"},
	{"phone", "手机", false, "13800000000"},
	{"address", "地址", false, ""},
}

// StaffHeader is the template's header row.
func StaffHeader() []string {
	h := make([]string, len(StaffColumns))
	for i, c := range StaffColumns {
		h[i] = c.ZH + " (" + c.Field + ")"
	}
	return h
}

// StaffTemplate writes the downloadable template: the header and one example row per operation.
func StaffTemplate(w io.Writer) error {
	rows := [][]string{
		{"增员", "11010519491231002X", "张三", "8000.00", "202611", "", "", "本地", "汉族", "13800000000", ""},
		{"调基", "11010519491231002X", "张三", "9000.00", "202701", "", "", "", "", "", ""},
		{"减员", "11010519491231002X", "张三", "", "", "2027-06-30", "合同到期", "", "", "", ""},
	}
	return sheet.WriteXLSX(w, "staff", StaffHeader(), rows)
}

// BulkResult says what an upload did.
type BulkResult struct {
	Rows     int  // data rows in the file
	Applied  int  // operations applied now
	Repeated bool // the same file was applied before; nothing changed
}

// MaxBulkRows bounds one upload: 100,000 rows, the file of `shebao bench import`. Only a handful
// of employers have more staff in one pooling region; they split the file, which is applied whole
// file by file.
const MaxBulkRows = 100_000

// StaffLimits are the limits a staff file is read within: MaxBulkRows rows of at most 32 columns
// (the template's 11 and what HR adds of its own, which is read and dropped), and what follows
// from them (sheet.Limits): 49 MiB of text in the template's columns, 512 bytes a row where a long
// real row takes some 250; 99 MiB unpacked, 1 KiB a row where a row as Excel writes it takes some
// 500 bytes.
var StaffLimits = sheet.Limits{MaxRows: MaxBulkRows, MaxCols: 32, Keep: staffKeep()}

func staffKeep() [][]string {
	keep := make([][]string, len(StaffColumns))
	for i, c := range StaffColumns {
		keep[i] = []string{c.ZH, c.Field}
	}
	return keep
}

// ImportStaff validates a whole staff file and applies it only when every row is good. Every bad
// row is reported with its line, column and reason, and nothing is written. The same file (by its
// SHA-256) uploaded again changes nothing.
func (s *Service) ImportStaff(ctx context.Context, by *auth.Principal, uscc, fileName string, data []byte) (BulkResult, error) {
	e, err := s.employerFor(ctx, by, uscc)
	if err != nil {
		return BulkResult{}, err
	}
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	var done int
	if err := s.db.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM bulk_uploads WHERE employer_id = $1 AND sha256 = $2", e.ID, digest).Scan(&done); err != nil {
		return BulkResult{}, fmt.Errorf("registry: bulk: %w", err)
	}
	table, err := sheet.ReadBytes(data, StaffLimits)
	if err != nil {
		if se, ok := err.(*sheet.Error); ok {
			return BulkResult{}, &errs.Error{Code: errs.Invalid, Message: "the file cannot be read: " + se.Reason,
				Fields: map[string]string{"file": se.Reason}, Rows: rowsIf(se)}
		}
		return BulkResult{}, errs.Field("file", "the file cannot be read as an XLSX or CSV table")
	}
	if done > 0 {
		return BulkResult{Rows: len(table.Rows), Repeated: true}, nil
	}
	changes, problems, err := s.parseTable(table, e.Region)
	if err != nil {
		return BulkResult{}, err
	}
	rows := len(table.Rows)
	if problems.Lines > 0 {
		return BulkResult{}, bulkError(problems, rows)
	}
	// The changes hold what the rows said; the rows themselves (a string header a cell) can go
	// while the changes are checked and applied. The header stays, to locate problems.
	table.Rows = nil
	var res BulkResult
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		// A concurrent upload of the same file loses here rather than applying twice.
		var again int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM bulk_uploads WHERE employer_id = $1 AND sha256 = $2", e.ID, digest).Scan(&again); err != nil {
			return err
		}
		if again > 0 {
			res = BulkResult{Rows: rows, Repeated: true}
			return nil
		}
		if ps, err := s.checkReasons(ctx, tx, e.Region, changes); err != nil {
			return err
		} else if len(ps) > 0 {
			return bulkError(locate(ps, table), rows)
		}
		st, err := loadState(ctx, tx, e.ID, changes)
		if err != nil {
			return err
		}
		if ps := checkAgainst(st, e.ID, e.Region, changes); len(ps) > 0 {
			return bulkError(locate(ps, table), rows)
		}
		var uploadID int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO bulk_uploads(employer_id, sha256, file_name, rows_applied, uploaded_by, uploaded_at)
			VALUES($1, $2, $3, $4, $5, $6) RETURNING id`, e.ID, digest, clipName(fileName), len(changes), by.Username, db.FormatTime(tx.Now)).Scan(&uploadID); err != nil {
			return fmt.Errorf("registry: bulk: %w", err)
		}
		n, err := s.apply(ctx, tx, &e, st, changes, "bulk:"+strconv.FormatInt(uploadID, 10))
		if err != nil {
			return err
		}
		counts := map[StaffOp]int{}
		for _, c := range changes {
			counts[c.op]++
		}
		res = BulkResult{Rows: rows, Applied: n}
		return audit.Record(ctx, tx, by.Actor(), "staff.bulk", "employer:"+string(e.USCC), e.Region, map[string]any{
			"upload": uploadID, "sha256": digest, "rows": rows, "add": counts[OpAdd], "remove": counts[OpRemove], "change_base": counts[OpChangeBase]})
	})
	return res, err
}

func clipName(s string) string {
	r := []rune(s)
	if len(r) > 200 {
		r = r[:200]
	}
	return string(r)
}

func rowsIf(se *sheet.Error) []errs.RowProblem {
	if se.Line == 0 {
		return nil
	}
	return []errs.RowProblem{{Line: se.Line, Column: se.Column, Reason: se.Reason}}
}

// parseTable maps the header and validates every row on its own. Problems carry their line and
// spreadsheet column; the first errs.MaxRowProblems are kept, and every row with one counted.
func (s *Service) parseTable(t *sheet.Table, region string) ([]change, *errs.RowProblems, error) {
	col := map[string]int{}
	var missing []string
	for _, c := range StaffColumns {
		i := t.Column(c.ZH, c.Field)
		col[c.Field] = i
		if i < 0 && c.Required {
			missing = append(missing, c.ZH+" ("+c.Field+")")
		}
	}
	if len(missing) > 0 {
		return nil, nil, &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("the header lacks the column(s) %v; download the template", missing),
			Fields: map[string]string{"file": "missing columns"}}
	}
	if len(t.Rows) == 0 {
		return nil, nil, errs.Field("file", "the file has no data rows")
	}
	cell := func(r sheet.Row, field string) string {
		if i := col[field]; i >= 0 && i < len(r.Cells) {
			return r.Cells[i]
		}
		return ""
	}
	changes := make([]change, 0, len(t.Rows))
	problems := &errs.RowProblems{}
	for _, r := range t.Rows {
		op, ok := parseOp(cell(r, "operation"))
		if !ok {
			problems.Add(errs.RowProblem{Line: r.Line, Column: t.Letter(col["operation"]), Field: "operation",
				Reason: "增员, 减员 or 调基 (add, remove, change_base)"})
			continue
		}
		ch, ps := s.parseChange(StaffChange{Op: op, IDNumber: cell(r, "id_number"), Name: cell(r, "name"), Base: cell(r, "base"),
			Month: cell(r, "month"), EndDate: cell(r, "end_date"), Reason: cell(r, "reason"), Hukou: cell(r, "hukou_type"),
			Ethnicity: cell(r, "ethnicity"), Phone: cell(r, "phone"), Address: cell(r, "address")}, r.Line, region)
		for _, p := range ps {
			c := ""
			if i, ok := col[p.field]; ok && i >= 0 {
				c = t.Letter(i)
			}
			problems.Add(errs.RowProblem{Line: r.Line, Column: c, Field: p.field, Reason: p.reason})
		}
		if problems.Lines == 0 {
			changes = append(changes, ch) // once a row is bad nothing will be applied: keep no more
		}
	}
	if problems.Lines > 0 {
		return nil, problems, nil
	}
	// Checks against the database run after the file is whole, in loadState/checkAgainst; their
	// problems are located with locate.
	return changes, problems, nil
}

// locate turns database-check problems into row problems with their column letters, in line
// order.
func locate(ps []problem, t *sheet.Table) *errs.RowProblems {
	slices.SortStableFunc(ps, func(a, b problem) int { return a.line - b.line })
	col := map[string]string{}
	for _, sc := range StaffColumns {
		if i := t.Column(sc.ZH, sc.Field); i >= 0 {
			col[sc.Field] = t.Letter(i)
		}
	}
	out := &errs.RowProblems{}
	for _, p := range ps {
		out.Add(errs.RowProblem{Line: p.line, Column: col[p.field], Field: p.field, Reason: p.reason})
	}
	return out
}

// bulkError reports the bad rows; nothing was written.
func bulkError(ps *errs.RowProblems, rows int) error {
	return ps.Err(fmt.Sprintf("%d of %d rows have problems; nothing was imported. Fix them and upload the file again.", ps.Lines, rows))
}
