package registry

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
)

// StaffOp is an employer's HR operation.
type StaffOp string

const (
	OpAdd        StaffOp = "add"         // 增员
	OpRemove     StaffOp = "remove"      // 减员
	OpChangeBase StaffOp = "change_base" // 调基
)

// legacyRemovalReasons are the reasons a person leaves an employer under a policy written before
// its benefits section named them. Whether the loss of the job was involuntary matters for
// unemployment benefit (Social Insurance Law Art. 45), so the reason is a code, not free text.
var legacyRemovalReasons = []struct{ Code, ZH, EN string }{
	{"resigned", "辞职", "resigned"},
	{"dismissed", "辞退", "dismissed by the employer"},
	{"contract_expired", "合同到期", "contract expired"},
	{"retired", "退休", "retired"},
	{"deceased", "死亡", "deceased"},
	{"transferred", "调出", "transferred"},
	{"other", "其他", "other"},
}

// removalReasons are the reasons of the policy in force for the month a person leaves: the
// policy's benefits section names them and which are involuntary; a policy without one (written
// before benefits existed) has the list above.
func (s *Service) removalReasons(ctx context.Context, r db.Reader, region string, m period.Month) ([]policy.Named, error) {
	v, err := s.policies.Effective(ctx, r, region, m)
	if err != nil {
		return nil, err
	}
	if b, ok := v.Policy.Benefits(); ok {
		return b.RemovalReasons, nil
	}
	out := make([]policy.Named, len(legacyRemovalReasons))
	for i, x := range legacyRemovalReasons {
		out[i] = policy.Named{Code: x.Code, NameZH: x.ZH, NameEN: x.EN}
	}
	return out, nil
}

// RemovalReasons are the reasons an employer may give this month in region, for its forms.
func (s *Service) RemovalReasons(ctx context.Context, region string) ([]policy.Named, error) {
	return s.removalReasons(ctx, s.db.R(), region, period.MonthOf(s.now()))
}

// checkReasons turns each removal's reason, a code or its Chinese name, into the policy's code;
// a reason not on the list is a problem naming the codes.
func (s *Service) checkReasons(ctx context.Context, r db.Reader, region string, changes []change) ([]problem, error) {
	var ps []problem
	lists := map[period.Month][]policy.Named{}
	for i := range changes {
		c := &changes[i]
		if c.op != OpRemove {
			continue
		}
		list, ok := lists[c.month]
		if !ok {
			var err error
			if list, err = s.removalReasons(ctx, r, region, c.month); err != nil {
				return nil, err
			}
			lists[c.month] = list
		}
		code, codes := "", make([]string, len(list))
		alias := c.reason // the short Chinese names of the older list stand for their codes
		for _, x := range legacyRemovalReasons {
			if c.reason == x.ZH {
				alias = x.Code
			}
		}
		for k, n := range list {
			codes[k] = n.Code
			if strings.EqualFold(c.reason, n.Code) || c.reason == n.NameZH || alias == n.Code {
				code = n.Code
			}
		}
		if code == "" {
			ps = append(ps, problem{line: c.line, field: "reason", reason: "one of " + strings.Join(codes, ", ")})
			continue
		}
		c.reason = code
	}
	return ps, nil
}

func parseOp(s string) (StaffOp, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "add", "增员":
		return OpAdd, true
	case "remove", "减员":
		return OpRemove, true
	case "change_base", "调基", "基数调整":
		return OpChangeBase, true
	}
	return "", false
}

// StaffChange is one HR operation as typed in the portal, sent to the API or read from a file row.
type StaffChange struct {
	Op        StaffOp
	IDNumber  string
	Name      string
	Base      string // yuan (add, change_base)
	Month     string // YYYYMM: the first insured month (add) or the first month of the new base (change_base)
	EndDate   string // YYYY-MM-DD, the last working day (remove)
	Reason    string // a removal reason code or its Chinese name (remove)
	Hukou     string // local/non_local; optional: derived from the ID number when empty (add)
	Ethnicity string
	Phone     string
	Address   string
}

// change is a validated StaffChange.
type change struct {
	line    int
	op      StaffOp
	n       ident.IDNumber
	person  Person // fields for a person not registered yet (add)
	base    money.Fen
	month   period.Month
	endDate time.Time
	reason  string
}

// problem is a field problem found while validating a change.
type problem struct {
	line   int
	field  string
	reason string
}

// errOtherRegion is the refusal for a person registered in another pooling region. Moving a
// person's insurance between regions is a transfer (转移接续, internal/transfer): the old region
// closes the person's participation and hands over their accounts, the new one takes them on, and
// only then may the person be insured here. The region is not named: the caller is not entitled
// to another region's records.
const errOtherRegion = "this person is insured in another region: apply for a transfer of their insurance to this region (转移接续, POST /api/v1/transfers or the portal's transfers page) and enrol them once it is done"

// Window of months an employer may declare without going to the window: a year back (late
// declarations happen, and the late fee applies to them) and one month ahead.
const monthsBack, monthsAhead = 12, 1

// parseChange validates one change on its own, without looking at the database.
func (s *Service) parseChange(c StaffChange, line int, region string) (change, []problem) {
	var ps []problem
	add := func(field, reason string) { ps = append(ps, problem{line, field, reason}) }
	ch := change{line: line, op: c.Op}
	if c.Op != OpAdd && c.Op != OpRemove && c.Op != OpChangeBase {
		add("operation", "add, remove or change_base (增员/减员/调基)")
		return ch, ps
	}
	n, err := ident.ParseIDNumber(c.IDNumber, s.today())
	if err != nil {
		add("id_number", err.Error())
	}
	ch.n = n
	now := period.MonthOf(s.now())
	month := func() {
		m, err := period.ParseMonth(c.Month)
		switch {
		case err != nil:
			add("month", err.Error())
		case m < now.Add(-monthsBack) || m > now.Add(monthsAhead):
			add("month", fmt.Sprintf("must be between %s and %s", now.Add(-monthsBack), now.Add(monthsAhead)))
		}
		ch.month = m
	}
	base := func() {
		b, err := money.ParseYuan(c.Base)
		if err != nil {
			add("base", err.Error())
		} else if b == 0 {
			add("base", "must be more than zero")
		}
		ch.base = b
	}
	switch c.Op {
	case OpAdd:
		f := errs.Fields{}
		ch.person = personFields(f, NewPerson{Name: c.Name, Ethnicity: c.Ethnicity, Hukou: c.Hukou, Phone: c.Phone, Address: c.Address},
			func() bool { return sameCity(n, region) })
		for k, v := range f {
			add(k, v)
		}
		base()
		month()
	case OpChangeBase:
		base()
		month()
	case OpRemove:
		d, err := period.ParseDate(c.EndDate)
		if err != nil {
			add("end_date", err.Error())
		} else if d.After(s.today().AddDate(0, 0, 31)) {
			add("end_date", "more than a month ahead")
		}
		ch.endDate = d
		ch.month = period.Month(d.Year()*100 + int(d.Month()))
		// Checked against the policy's list by checkReasons, once the database is at hand.
		if ch.reason = strings.TrimSpace(c.Reason); ch.reason == "" {
			add("reason", "required: why the person leaves (a code of the policy's removal reasons)")
		}
	}
	return ch, ps
}

// staffState is what the database says about the people a batch of changes names.
type staffState struct {
	persons map[ident.IDNumber]Person
	open    map[int64]openStaff     // person id → their open employment with this employer
	pension map[int64]Participation // person id → their open pension participation, with any employer
}

type openStaff struct {
	id    int64
	start period.Month
}

// loadState reads, in chunks, everything the checks need about the people in changes.
func loadState(ctx context.Context, r db.Reader, employerID int64, changes []change) (staffState, error) {
	st := staffState{persons: map[ident.IDNumber]Person{}, open: map[int64]openStaff{}, pension: map[int64]Participation{}}
	var ids []string
	for _, c := range changes {
		if c.n != "" {
			ids = append(ids, string(c.n))
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if err := loadPersons(ctx, r, ids, st.persons); err != nil {
		return st, err
	}
	if len(st.persons) == 0 {
		return st, nil
	}
	pids := make([]int64, 0, len(st.persons))
	for _, p := range st.persons {
		pids = append(pids, p.ID)
	}
	slices.Sort(pids)
	const chunk = 500
	for i := 0; i < len(pids); i += chunk {
		part := pids[i:min(i+chunk, len(pids))]
		args := []any{employerID}
		ph := make([]string, len(part))
		for j, id := range part {
			args = append(args, id)
			ph[j] = "$" + strconv.Itoa(j+2)
		}
		in := "(" + strings.Join(ph, ", ") + ")"
		rows, err := r.QueryContext(ctx, "SELECT person_id, id, start_month FROM staff WHERE employer_id = $1 AND end_month = 0 AND person_id IN "+in, args...)
		if err != nil {
			return st, fmt.Errorf("registry: load staff: %w", err)
		}
		for rows.Next() {
			var pid int64
			var o openStaff
			var start int
			if err := rows.Scan(&pid, &o.id, &start); err != nil {
				rows.Close()
				return st, err
			}
			o.start = period.Month(start)
			st.open[pid] = o
		}
		rows.Close()
		// The same ids, numbered from $1 for this query.
		in1 := make([]string, len(part))
		for j := range part {
			in1[j] = "$" + strconv.Itoa(j+1)
		}
		rows, err = r.QueryContext(ctx, `SELECT person_id, COALESCE(employer_id, 0), start_month FROM participations
			WHERE insurance = 'pension' AND end_month = 0 AND person_id IN (`+strings.Join(in1, ", ")+")", args[1:]...)
		if err != nil {
			return st, fmt.Errorf("registry: load participations: %w", err)
		}
		for rows.Next() {
			var p Participation
			var start int
			if err := rows.Scan(&p.PersonID, &p.EmployerID, &start); err != nil {
				rows.Close()
				return st, err
			}
			p.Start = period.Month(start)
			st.pension[p.PersonID] = p
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return st, err
		}
	}
	return st, nil
}

// loadPersons reads the persons with the given ID numbers into into, 500 at a time.
func loadPersons(ctx context.Context, r db.Reader, ids []string, into map[ident.IDNumber]Person) error {
	const chunk = 500
	for i := 0; i < len(ids); i += chunk {
		part := ids[i:min(i+chunk, len(ids))]
		args := make([]any, len(part))
		ph := make([]string, len(part))
		for j, id := range part {
			args[j], ph[j] = id, "$"+strconv.Itoa(j+1)
		}
		rows, err := r.QueryContext(ctx, "SELECT "+personColumns+" FROM persons WHERE id_number IN ("+strings.Join(ph, ", ")+")", args...)
		if err != nil {
			return fmt.Errorf("registry: load persons: %w", err)
		}
		for rows.Next() {
			p, err := scanPerson(rows)
			if err != nil {
				rows.Close()
				return err
			}
			into[p.IDNumber] = p
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// checkAgainst checks each change against the database and against the changes before it in the
// same batch (a person added twice, removed twice, …). region is the employer's: a person
// registered in another region cannot join its staff.
func checkAgainst(st staffState, employerID int64, region string, changes []change) []problem {
	var ps []problem
	seen := map[ident.IDNumber]map[StaffOp]int{} // the line that first did op for a person
	for _, c := range changes {
		if c.n == "" {
			continue
		}
		add := func(field, reason string) { ps = append(ps, problem{c.line, field, reason}) }
		if first, ok := seen[c.n][c.op]; ok {
			add("id_number", fmt.Sprintf("the same person has the same operation on line %d", first))
			continue
		}
		if seen[c.n] == nil {
			seen[c.n] = map[StaffOp]int{}
		}
		seen[c.n][c.op] = c.line
		p, registered := st.persons[c.n]
		o, onStaff := st.open[p.ID]
		switch c.op {
		case OpAdd:
			if registered && p.Region != region {
				add("id_number", errOtherRegion)
				continue
			}
			if registered && strings.TrimSpace(c.person.Name) != p.Name {
				add("name", "does not match the name registered for this ID number")
			}
			if onStaff {
				add("id_number", "already on your staff since "+o.start.String())
			} else if pen, ok := st.pension[p.ID]; registered && ok {
				who := "as a self-insured person"
				if pen.EmployerID != 0 && pen.EmployerID != employerID {
					who = "by another employer"
				}
				add("id_number", fmt.Sprintf("already insured %s since %s; that insurance must end first", who, pen.Start))
			}
		case OpRemove, OpChangeBase:
			if !onStaff {
				add("id_number", "not on your staff")
			} else if c.month < o.start {
				field := "month"
				if c.op == OpRemove {
					field = "end_date"
				}
				add(field, "before the employment started ("+o.start.String()+")")
			}
		}
	}
	return ps
}

// staffCategory is the policy's enrolment category for employees.
func staffCategory(p *policy.Policy) (*policy.Category, error) {
	for i := range p.Categories {
		if p.Categories[i].InsuredBy == policy.ByEmployer {
			return &p.Categories[i], nil
		}
	}
	return nil, errs.E(errs.Unavailable, "the policy in force has no category for employees")
}

// apply writes validated, checked changes in tx. New persons, employments and participation
// intervals are written with multi-row inserts, so a large file costs few statements; removals and
// base changes, which touch existing rows, are written one by one. It returns how many changes it
// applied.
func (s *Service) apply(ctx context.Context, tx *db.Tx, e *Employer, st staffState, changes []change, source string) (int, error) {
	now := db.FormatTime(tx.Now)
	cats := map[period.Month]*policy.Category{}
	// Persons first: their ids are needed for the rows that refer to them.
	persons := tx.Inserter("persons", "region", "id_number", "id_kind", "name", "gender", "birth_date", "ethnicity", "hukou_type",
		"hukou_place", "residence_permit", "phone", "address", "created_at", "created_by", "updated_at")
	fresh := map[ident.IDNumber]Person{}
	persons.Returning("id, id_number", func(rows *sql.Rows) error {
		var id int64
		var n string
		if err := rows.Scan(&id, &n); err != nil {
			return err
		}
		p := fresh[ident.IDNumber(n)]
		p.ID = id
		st.persons[p.IDNumber] = p
		return nil
	})
	for _, c := range changes {
		if c.op != OpAdd {
			continue
		}
		if _, ok := cats[c.month]; !ok {
			v, err := s.policies.Effective(ctx, tx, e.Region, c.month)
			if err != nil {
				return 0, err
			}
			if cats[c.month], err = staffCategory(v.Policy); err != nil {
				return 0, err
			}
		}
		if _, registered := st.persons[c.n]; registered {
			continue
		}
		p := c.person
		p.Region, p.IDNumber, p.Gender, p.BirthDate, p.CreatedAt = e.Region, c.n, c.n.Gender(), c.n.BirthDate(), tx.Now
		fresh[c.n] = p
		if err := persons.Add(ctx, e.Region, string(c.n), string(c.n.Kind()), p.Name, string(c.n.Gender()),
			c.n.BirthDate().Format("2006-01-02"), p.Ethnicity, string(p.Hukou), "", "", p.Phone, p.Address, now, source, now); err != nil {
			return 0, err
		}
	}
	if err := persons.Close(ctx); err != nil {
		if db.IsUniqueViolation(err) {
			return 0, errs.E(errs.Conflict, "a person in this file was registered by someone else meanwhile; upload again")
		}
		return 0, fmt.Errorf("registry: add persons: %w", err)
	}
	staffRows := tx.Inserter("staff", "region", "employer_id", "person_id", "start_month", "base", "created_at")
	parts := tx.Inserter("participations", "region", "person_id", "employer_id", "insurance", "start_month", "source", "created_at")
	for _, c := range changes {
		p := st.persons[c.n]
		switch c.op {
		case OpAdd:
			if err := staffRows.Add(ctx, e.Region, e.ID, p.ID, int(c.month), int64(c.base), now); err != nil {
				return 0, err
			}
			for _, ins := range cats[c.month].Insurances {
				if err := parts.Add(ctx, e.Region, p.ID, e.ID, string(ins), int(c.month), source, now); err != nil {
					return 0, err
				}
			}
		case OpRemove:
			o := st.open[p.ID]
			if _, err := tx.ExecContext(ctx, "UPDATE staff SET end_month = $1, end_date = $2, end_reason = $3 WHERE id = $4 AND end_month = 0",
				int(c.month), c.endDate.Format("2006-01-02"), c.reason, o.id); err != nil {
				return 0, fmt.Errorf("registry: remove staff: %w", err)
			}
			if err := closeParticipations(ctx, tx, p.ID, e.ID, c.month, c.reason); err != nil {
				return 0, err
			}
		case OpChangeBase:
			o := st.open[p.ID]
			if _, err := tx.ExecContext(ctx, `INSERT INTO staff_bases(staff_id, from_month, base, declared_at) VALUES($1, $2, $3, $4)
				ON CONFLICT (staff_id, from_month) DO UPDATE SET base = excluded.base, declared_at = excluded.declared_at`,
				o.id, int(c.month), int64(c.base), now); err != nil {
				return 0, fmt.Errorf("registry: change base: %w", err)
			}
		}
	}
	if err := staffRows.Close(ctx); err != nil {
		return 0, fmt.Errorf("registry: add staff: %w", err)
	}
	if err := parts.Close(ctx); err != nil {
		return 0, fmt.Errorf("registry: open participations: %w", err)
	}
	if err := markRestated(ctx, tx, e, changes, period.MonthOf(tx.Now)); err != nil {
		return 0, err
	}
	return len(changes), nil
}

// markRestated marks every month up to this one that an addition or a base change reaches into,
// in the transaction of the change: if the month is billed already, contributions bill the
// difference by a supplementary bill (contrib.Supplements) and remove the mark. A removal asks for
// nothing more (the month a person leaves in is still a month insured), so it marks nothing. The
// payer is written as contributions name an employer.
func markRestated(ctx context.Context, tx *db.Tx, e *Employer, changes []change, now period.Month) error {
	months := map[period.Month]bool{}
	for _, c := range changes {
		if c.op != OpAdd && c.op != OpChangeBase {
			continue
		}
		for m := c.month; m <= now; m = m.Add(1) {
			months[m] = true
		}
	}
	if len(months) == 0 {
		return nil
	}
	marks := tx.Inserter("restated_months", "region", "payer", "month", "marked_at").SkipConflicts("region, payer, month")
	payer := fmt.Sprintf("employer:%d", e.ID)
	for _, m := range slices.Sorted(maps.Keys(months)) {
		if err := marks.Add(ctx, e.Region, payer, int(m), db.FormatTime(tx.Now)); err != nil {
			return err
		}
	}
	if err := marks.Close(ctx); err != nil {
		return fmt.Errorf("registry: mark restated months: %w", err)
	}
	return nil
}

// employerFor loads the employer an HR operator acts for and checks the principal may.
func (s *Service) employerFor(ctx context.Context, by *auth.Principal, uscc string) (Employer, error) {
	if err := by.Require(auth.ManageStaff); err != nil {
		return Employer{}, err
	}
	return s.Employer(ctx, by, uscc)
}

// ChangeStaff applies one HR operation.
func (s *Service) ChangeStaff(ctx context.Context, by *auth.Principal, uscc string, c StaffChange) error {
	e, err := s.employerFor(ctx, by, uscc)
	if err != nil {
		return err
	}
	ch, ps := s.parseChange(c, 0, e.Region)
	if len(ps) > 0 {
		// The reason is named too when the date is wrong: checked against this month's list.
		if ch.op == OpRemove && ch.reason != "" && ch.endDate.IsZero() {
			probe := []change{ch}
			probe[0].month = period.MonthOf(s.now())
			more, err := s.checkReasons(ctx, s.db.R(), e.Region, probe)
			if err != nil {
				return err
			}
			ps = append(ps, more...)
		}
		return fieldsError(ps)
	}
	return s.db.Write(ctx, func(tx *db.Tx) error {
		chs := []change{ch}
		if ps, err := s.checkReasons(ctx, tx, e.Region, chs); err != nil {
			return err
		} else if len(ps) > 0 {
			return fieldsError(ps)
		}
		ch = chs[0]
		st, err := loadState(ctx, tx, e.ID, chs)
		if err != nil {
			return err
		}
		if ps := checkAgainst(st, e.ID, e.Region, chs); len(ps) > 0 {
			err := fieldsError(ps).(*errs.Error)
			if strings.HasPrefix(ps[0].reason, "already") {
				err.Code = errs.Conflict
				err.Message = ps[0].reason
			}
			return err
		}
		if _, err := s.apply(ctx, tx, &e, st, chs, "staff:"+strconv.FormatInt(e.ID, 10)); err != nil {
			return err
		}
		detail := map[string]any{"op": ch.op, "person": ch.n.Masked(), "month": ch.month.String()}
		if ch.op != OpRemove {
			detail["base"] = ch.base.String()
		} else {
			detail["reason"] = ch.reason
		}
		return audit.Record(ctx, tx, by.Actor(), "staff."+string(ch.op), "employer:"+string(e.USCC), e.Region, detail)
	})
}

func fieldsError(ps []problem) error {
	if len(ps) == 0 {
		return nil
	}
	f := errs.Fields{}
	for _, p := range ps {
		f.Add(p.field, p.reason)
	}
	return f.Err()
}

// StaffMember is a person on an employer's staff.
type StaffMember struct {
	Person    Person
	Start     period.Month
	End       period.Month
	EndReason string
	Base      money.Fen // the base in force now
}

// StaffKey is where a member of staff stands in the list: by name, then person id.
type StaffKey struct {
	Name     string
	PersonID int64 // 0: before everyone
}

// Key is the member's place in the list, the cursor of the page they end.
func (m StaffMember) Key() StaffKey { return StaffKey{Name: m.Person.Name, PersonID: m.Person.ID} }

// Staff lists an employer's current staff (or, with all, everyone ever employed), by name: at most
// limit of them after the member at after, and how many there are in all.
func (s *Service) Staff(ctx context.Context, by *auth.Principal, uscc string, all bool, limit int, after StaffKey) ([]StaffMember, int, error) {
	if err := by.Require(auth.ReadStaff); err != nil {
		return nil, 0, err
	}
	e, err := s.Employer(ctx, by, uscc)
	if err != nil {
		return nil, 0, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	cond := "s.employer_id = $1 AND ($2 OR s.end_month = 0)"
	var total int
	if err := s.db.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM staff s WHERE "+cond, e.ID, all).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("registry: count staff: %w", err)
	}
	now := int(period.MonthOf(s.now()))
	rows, err := s.db.R().QueryContext(ctx, `SELECT `+prefixCols("p.", personColumns)+`, s.start_month, s.end_month, s.end_reason,
		COALESCE((SELECT b.base FROM staff_bases b WHERE b.staff_id = s.id AND b.from_month <= $5 ORDER BY b.from_month DESC LIMIT 1), s.base)
		FROM staff s JOIN persons p ON p.id = s.person_id WHERE `+cond+` AND ($4 = 0 OR p.name > $6 OR p.name = $6 AND p.id > $4)
		ORDER BY p.name, p.id LIMIT $3`, e.ID, all, limit, after.PersonID, now, after.Name)
	if err != nil {
		return nil, 0, fmt.Errorf("registry: staff: %w", err)
	}
	defer rows.Close()
	var out []StaffMember
	for rows.Next() {
		var m StaffMember
		var start, end int
		var base int64
		var extra = []any{&start, &end, &m.EndReason, &base}
		p, err := scanPerson(scanWith{rows, extra})
		if err != nil {
			return nil, 0, err
		}
		m.Person, m.Start, m.End, m.Base = p, period.Month(start), period.Month(end), money.Fen(base)
		out = append(out, m)
	}
	return out, total, rows.Err()
}

// scanWith lets scanPerson read a row that has more columns after the person's.
type scanWith struct {
	row   interface{ Scan(...any) error }
	extra []any
}

func (s scanWith) Scan(dest ...any) error { return s.row.Scan(append(dest, s.extra...)...) }

func prefixCols(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = p + parts[i]
	}
	return strings.Join(parts, ", ")
}
