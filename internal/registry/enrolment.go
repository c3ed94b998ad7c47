package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
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

// Status of an enrolment application.
type Status string

const (
	Draft     Status = "draft"
	Submitted Status = "submitted"
	Approved  Status = "approved"
	Rejected  Status = "rejected"
)

// Enrolment is an enrolment application made at the window.
type Enrolment struct {
	ID            int64
	Region        string
	Person        Person
	EmployerID    int64
	EmployerName  string
	Category      string
	PolicyVersion int64
	Start         period.Month
	Base          money.Fen
	Status        Status
	PreparedBy    string
	PreparedAt    time.Time
	SubmittedAt   time.Time
	ReviewedBy    string
	ReviewedAt    time.Time
	RejectReason  string
	Materials     []Material      // every upload, newest first per code
	Checklist     []ChecklistItem // what the category requires for this person, with the latest upload of each
}

// ChecklistItem is one required material and where it stands.
type ChecklistItem struct {
	Material policy.Material
	Upload   *Material // the latest upload of this code, nil when none
}

// Done reports whether the item's latest upload was accepted.
func (c ChecklistItem) Done() bool { return c.Upload != nil && c.Upload.Check == CheckAccepted }

// NewEnrolment is what a clerk prepares.
type NewEnrolment struct {
	IDNumber     string
	Category     string
	EmployerUSCC string // required when the category is insured by an employer
	StartMonth   string // YYYYMM
	Base         string // yuan: the declared (employee) or chosen (self-insured) base
}

// CreateEnrolment prepares a draft application for a registered person.
func (s *Service) CreateEnrolment(ctx context.Context, by *auth.Principal, in NewEnrolment) (Enrolment, error) {
	if err := by.Require(auth.PrepareEnrolment); err != nil {
		return Enrolment{}, err
	}
	f := errs.Fields{}
	n, err := ident.ParseIDNumber(in.IDNumber, s.today())
	if err != nil {
		f.Add("id_number", err.Error())
	}
	start, err := period.ParseMonth(in.StartMonth)
	if now := period.MonthOf(s.now()); err != nil {
		f.Add("start_month", err.Error())
	} else if start > now.Add(monthsAhead) {
		// The same window ahead as an employer's declarations: an application is made for
		// insurance about to start, not reserved for a month years away.
		f.Add("start_month", fmt.Sprintf("at most %s, %d month after this one", now.Add(monthsAhead), monthsAhead))
	}
	base, err := money.ParseYuan(in.Base)
	if err != nil {
		f.Add("base", err.Error())
	} else if base == 0 {
		f.Add("base", "must be more than zero")
	}
	if err := f.Err(); err != nil {
		return Enrolment{}, err
	}
	var e Enrolment
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		p, err := scanPerson(tx.QueryRowContext(ctx, "SELECT "+personColumns+" FROM persons WHERE id_number = $1", string(n)))
		if errs.Is(err, errs.NotFound) {
			return errs.Field("id_number", "no person with this ID number is registered; register them first")
		}
		if err != nil {
			return err
		}
		if !by.InRegion(p.Region) {
			return errs.Field("id_number", errOtherRegion)
		}
		v, err := s.policies.Effective(ctx, tx, p.Region, start)
		if err != nil {
			return err
		}
		cat, ok := v.Policy.Category(in.Category)
		if !ok {
			return errs.Field("category", "not an enrolment category of the policy in force")
		}
		var employerID int64
		if cat.InsuredBy == policy.ByEmployer {
			u, err := ident.ParseUSCC(in.EmployerUSCC)
			if err != nil {
				return errs.Field("employer_uscc", err.Error())
			}
			emp, err := scanEmployer(tx.QueryRowContext(ctx, "SELECT "+employerColumns+" FROM employers WHERE uscc = $1", string(u)))
			if err != nil || !by.InRegion(emp.Region) {
				return errs.Field("employer_uscc", "no employer with this code is registered in your regions")
			}
			if emp.Region != p.Region {
				return errs.Field("id_number", errOtherRegion)
			}
			employerID = emp.ID
		} else if strings.TrimSpace(in.EmployerUSCC) != "" {
			return errs.Field("employer_uscc", "this category is insured by the person, not an employer")
		}
		if err := checkNotInsured(ctx, tx, p.ID, cat.Insurances); err != nil {
			return err
		}
		e = Enrolment{Region: p.Region, Person: p, EmployerID: employerID, Category: cat.Code, PolicyVersion: v.ID,
			Start: start, Base: base, Status: Draft, PreparedBy: by.Username, PreparedAt: tx.Now}
		if err := tx.QueryRowContext(ctx, `INSERT INTO enrolments(region, person_id, employer_id, category, policy_version, start_month,
			chosen_base, status, prepared_by, prepared_at) VALUES($1, $2, $3, $4, $5, $6, $7, 'draft', $8, $9) RETURNING id`,
			p.Region, p.ID, nullID(employerID), cat.Code, v.ID, int(start), int64(base), by.Username, db.FormatTime(tx.Now)).Scan(&e.ID); err != nil {
			return fmt.Errorf("registry: create enrolment: %w", err)
		}
		return audit.Record(ctx, tx, by.Actor(), "enrolment.create", enrolmentObject(e.ID), p.Region,
			map[string]any{"person": p.IDNumber.Masked(), "category": cat.Code, "start_month": start.String()})
	})
	if err != nil {
		return Enrolment{}, err
	}
	return s.Enrolment(ctx, by, e.ID)
}

func enrolmentObject(id int64) string { return "enrolment:" + strconv.FormatInt(id, 10) }

// checkNotInsured refuses a second open participation in any of the types.
func checkNotInsured(ctx context.Context, r db.Reader, personID int64, types []policy.Insurance) error {
	open, err := openInsurance(ctx, r, personID)
	if err != nil {
		return err
	}
	for _, ins := range types {
		if p, ok := open[ins]; ok {
			who := "as a self-insured person"
			if p.Employer != "" {
				who = "by " + p.Employer
			}
			return errs.E(errs.Conflict, "already insured for %s %s since %s", ins, who, p.Start)
		}
	}
	return nil
}

// Enrolment returns an application with its materials and checklist, if the principal may see it.
func (s *Service) Enrolment(ctx context.Context, by *auth.Principal, id int64) (Enrolment, error) {
	if err := by.Require(auth.ReadEnrolment); err != nil {
		return Enrolment{}, err
	}
	var e Enrolment
	err := s.db.Read(ctx, func(tx *db.Tx) error {
		var err error
		e, err = loadEnrolment(ctx, tx, id)
		if err != nil {
			return err
		}
		if by.Role == auth.Resident && by.PersonID != e.Person.ID || by.Role != auth.Resident && !by.InRegion(e.Region) {
			return notFound("enrolment application")
		}
		return s.fillChecklist(ctx, tx, &e)
	})
	return e, err
}

func loadEnrolment(ctx context.Context, r db.Reader, id int64) (Enrolment, error) {
	var e Enrolment
	var personID int64
	var start int
	var base int64
	var st, prepared, submitted, reviewed string
	err := r.QueryRowContext(ctx, `SELECT n.id, n.region, n.person_id, COALESCE(n.employer_id, 0), COALESCE(m.name, ''), n.category, n.policy_version,
		n.start_month, n.chosen_base, n.status, n.prepared_by, n.prepared_at, n.submitted_at, n.reviewed_by, n.reviewed_at, n.reject_reason
		FROM enrolments n LEFT JOIN employers m ON m.id = n.employer_id WHERE n.id = $1`, id).
		Scan(&e.ID, &e.Region, &personID, &e.EmployerID, &e.EmployerName, &e.Category, &e.PolicyVersion, &start, &base, &st,
			&e.PreparedBy, &prepared, &submitted, &e.ReviewedBy, &reviewed, &e.RejectReason)
	if errors.Is(err, sql.ErrNoRows) {
		return Enrolment{}, notFound("enrolment application")
	}
	if err != nil {
		return Enrolment{}, fmt.Errorf("registry: read enrolment: %w", err)
	}
	e.Start, e.Base, e.Status = period.Month(start), money.Fen(base), Status(st)
	e.PreparedAt, _ = db.ParseTime(prepared)
	if submitted != "" {
		e.SubmittedAt, _ = db.ParseTime(submitted)
	}
	if reviewed != "" {
		e.ReviewedAt, _ = db.ParseTime(reviewed)
	}
	e.Person, err = scanPerson(r.QueryRowContext(ctx, "SELECT "+personColumns+" FROM persons WHERE id = $1", personID))
	return e, err
}

func (s *Service) fillChecklist(ctx context.Context, r db.Reader, e *Enrolment) error {
	ms, err := materialsOf(ctx, r, e.ID)
	if err != nil {
		return err
	}
	e.Materials = ms
	v, err := s.policies.Get(ctx, nil, e.PolicyVersion)
	if err != nil {
		return err
	}
	cat, ok := v.Policy.Category(e.Category)
	if !ok {
		return fmt.Errorf("registry: enrolment %d: category %s is not in policy %d", e.ID, e.Category, e.PolicyVersion)
	}
	e.Checklist = nil
	for _, req := range cat.Required(e.Person.Local()) {
		item := ChecklistItem{Material: req}
		for i := range ms { // newest first
			if ms[i].Code == req.Code {
				item.Upload = &ms[i]
				break
			}
		}
		e.Checklist = append(e.Checklist, item)
	}
	return nil
}

// EnrolmentQuery selects applications for a queue.
type EnrolmentQuery struct {
	Status Status // "" = every status
	Limit  int
	Before int64 // the id the previous page ended with; 0: from the newest
}

// Enrolments lists the applications of the principal's regions, newest first.
func (s *Service) Enrolments(ctx context.Context, by *auth.Principal, q EnrolmentQuery) ([]Enrolment, error) {
	if err := by.Require(auth.ReadEnrolment); err != nil {
		return nil, err
	}
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = 100
	}
	if q.Status != "" && !slices.Contains([]Status{Draft, Submitted, Approved, Rejected}, q.Status) {
		return nil, errs.Field("status", "draft, submitted, approved or rejected")
	}
	args := []any{string(q.Status), q.Limit, q.Before}
	where := "($1 = '' OR n.status = $1) AND ($3 = 0 OR n.id < $3)"
	if by.Role == auth.Resident {
		args = append(args, by.PersonID)
		where += " AND n.person_id = $4"
	} else {
		var ph []string
		for _, r := range by.Regions {
			args = append(args, r)
			ph = append(ph, "$"+strconv.Itoa(len(args)))
		}
		where += " AND n.region IN (" + strings.Join(ph, ", ") + ")"
	}
	rows, err := s.db.R().QueryContext(ctx, "SELECT n.id FROM enrolments n WHERE "+where+" ORDER BY n.id DESC LIMIT $2", args...)
	if err != nil {
		return nil, fmt.Errorf("registry: list enrolments: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]Enrolment, 0, len(ids))
	for _, id := range ids {
		e, err := loadEnrolment(ctx, s.db.R(), id)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// draftFor loads an application a clerk is preparing, locked for the change.
func draftFor(ctx context.Context, tx *db.Tx, by *auth.Principal, id int64) (Enrolment, error) {
	var region, st string
	err := tx.QueryRowContext(ctx, "SELECT region, status FROM enrolments WHERE id = $1"+tx.ForUpdate(), id).Scan(&region, &st)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !by.InRegion(region)) {
		return Enrolment{}, notFound("enrolment application")
	}
	if err != nil {
		return Enrolment{}, err
	}
	if Status(st) != Draft {
		return Enrolment{}, errs.E(errs.Conflict, "the application is %s; only a draft can be changed", st)
	}
	return loadEnrolment(ctx, tx, id)
}

// Submit sends a draft for review once every required material has an accepted upload.
func (s *Service) Submit(ctx context.Context, by *auth.Principal, id int64) (Enrolment, error) {
	if err := by.Require(auth.PrepareEnrolment); err != nil {
		return Enrolment{}, err
	}
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		e, err := draftFor(ctx, tx, by, id)
		if err != nil {
			return err
		}
		if err := s.fillChecklist(ctx, tx, &e); err != nil {
			return err
		}
		f := errs.Fields{}
		for _, c := range e.Checklist {
			if !c.Done() {
				f.Add("materials."+c.Material.Code, "needs an accepted upload")
			}
		}
		if err := f.Err(); err != nil {
			e := err.(*errs.Error)
			e.Message = "materials missing or not accepted: " + strings.TrimPrefix(e.Message, "invalid ")
			return e
		}
		if _, err := tx.ExecContext(ctx, "UPDATE enrolments SET status = 'submitted', submitted_at = $1, submitted_by = $3 WHERE id = $2 AND status = 'draft'",
			db.FormatTime(tx.Now), id, by.Username); err != nil {
			return fmt.Errorf("registry: submit: %w", err)
		}
		return audit.Record(ctx, tx, by.Actor(), "enrolment.submit", enrolmentObject(id), e.Region, nil)
	})
	if err != nil {
		return Enrolment{}, err
	}
	return s.Enrolment(ctx, by, id)
}

// Approve opens the person's participation in every insurance type of the category from the start
// month. The reviewer must be independent of everyone who prepared, checked or submitted the
// application (auth.Independent).
func (s *Service) Approve(ctx context.Context, by *auth.Principal, id int64) (Enrolment, error) {
	return s.review(ctx, by, id, Approved, "")
}

// Reject closes an application with a reason; nothing is opened.
func (s *Service) Reject(ctx context.Context, by *auth.Principal, id int64, reason string) (Enrolment, error) {
	f := errs.Fields{}
	reason = checkText(f, "reason", reason, true, 500)
	if err := f.Err(); err != nil {
		return Enrolment{}, err
	}
	return s.review(ctx, by, id, Rejected, reason)
}

func (s *Service) review(ctx context.Context, by *auth.Principal, id int64, to Status, reason string) (Enrolment, error) {
	if err := by.Require(auth.ReviewEnrolment); err != nil {
		return Enrolment{}, err
	}
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		var region, st, preparer, submitter string
		err := tx.QueryRowContext(ctx, "SELECT region, status, prepared_by, submitted_by FROM enrolments WHERE id = $1"+tx.ForUpdate(), id).Scan(&region, &st, &preparer, &submitter)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !by.InRegion(region)) {
			return notFound("enrolment application")
		}
		if err != nil {
			return err
		}
		if Status(st) != Submitted {
			return errs.E(errs.Conflict, "the application is %s; only a submitted one can be reviewed", st)
		}
		if preparer == by.Username {
			return errs.E(errs.Forbidden, "you prepared this application; another reviewer must decide on it")
		}
		e, err := loadEnrolment(ctx, tx, id)
		if err != nil {
			return err
		}
		// The reviewer is a second person: independent of everyone who prepared the application,
		// uploaded or checked its materials, or submitted it — whatever roles their account holds.
		hands := []string{preparer, submitter}
		for _, m := range e.Materials {
			hands = append(hands, m.UploadedBy, m.CheckedBy)
		}
		if err := auth.Independent(ctx, tx, by.Username, hands...); to == Approved && err != nil {
			return err
		}
		if to == Approved {
			if err := s.openFor(ctx, tx, &e); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE enrolments SET status = $1, reviewed_by = $2, reviewed_at = $3, reject_reason = $4 WHERE id = $5 AND status = 'submitted'",
			string(to), by.Username, db.FormatTime(tx.Now), reason, id); err != nil {
			return fmt.Errorf("registry: review: %w", err)
		}
		action := "enrolment.approve"
		if to == Rejected {
			action = "enrolment.reject"
		}
		return audit.Record(ctx, tx, by.Actor(), action, enrolmentObject(id), region, map[string]string{"reason": reason})
	})
	if err != nil {
		return Enrolment{}, err
	}
	return s.Enrolment(ctx, by, id)
}

// openFor opens the participations an approved application grants, and for an employee the
// employment with the declared base.
func (s *Service) openFor(ctx context.Context, tx *db.Tx, e *Enrolment) error {
	v, err := s.policies.Get(ctx, nil, e.PolicyVersion)
	if err != nil {
		return err
	}
	cat, _ := v.Policy.Category(e.Category)
	if err := checkNotInsured(ctx, tx, e.Person.ID, cat.Insurances); err != nil {
		return err
	}
	source := enrolmentObject(e.ID)
	for _, ins := range cat.Insurances {
		if err := openParticipation(ctx, tx, e.Region, e.Person.ID, e.EmployerID, ins, e.Start, source); err != nil {
			return err
		}
	}
	if e.EmployerID != 0 {
		_, err := tx.ExecContext(ctx, `INSERT INTO staff(region, employer_id, person_id, start_month, base, created_at) VALUES($1, $2, $3, $4, $5, $6)`,
			e.Region, e.EmployerID, e.Person.ID, int(e.Start), int64(e.Base), db.FormatTime(tx.Now))
		if err != nil {
			return fmt.Errorf("registry: open employment: %w", err)
		}
	}
	return nil
}

// Material is an uploaded document.
type Material struct {
	ID          int64
	EnrolmentID int64
	Code        string
	FileName    string
	ContentType string
	Size        int64
	SHA256      string
	UploadedBy  string
	UploadedAt  time.Time
	Check       Check
	CheckNote   string
	CheckedBy   string
}

// Check is a clerk's verdict on a material.
type Check string

const (
	CheckPending  Check = "pending"
	CheckAccepted Check = "accepted"
	CheckRejected Check = "rejected"
)

func materialsOf(ctx context.Context, r db.Reader, enrolmentID int64) ([]Material, error) {
	rows, err := r.QueryContext(ctx, `SELECT id, enrolment_id, code, file_name, content_type, size, sha256, uploaded_by, uploaded_at, check_result, check_note, checked_by
		FROM materials WHERE enrolment_id = $1 ORDER BY id DESC`, enrolmentID)
	if err != nil {
		return nil, fmt.Errorf("registry: materials: %w", err)
	}
	defer rows.Close()
	var out []Material
	for rows.Next() {
		var m Material
		var at, check string
		if err := rows.Scan(&m.ID, &m.EnrolmentID, &m.Code, &m.FileName, &m.ContentType, &m.Size, &m.SHA256, &m.UploadedBy, &at, &check, &m.CheckNote, &m.CheckedBy); err != nil {
			return nil, err
		}
		m.UploadedAt, _ = db.ParseTime(at)
		m.Check = Check(check)
		out = append(out, m)
	}
	return out, rows.Err()
}

// sniff identifies a file by its first bytes; the name and the declared type are never trusted.
func sniff(b []byte) (kind, contentType string) {
	switch {
	case bytes.HasPrefix(b, []byte("%PDF-")):
		return "pdf", "application/pdf"
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return "jpeg", "image/jpeg"
	case bytes.HasPrefix(b, []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}):
		return "png", "image/png"
	}
	return "", ""
}

// AddMaterial stores an uploaded material of a draft application. The file's type is decided by
// its content and must be one the policy allows; its size must be within the policy's limit.
func (s *Service) AddMaterial(ctx context.Context, by *auth.Principal, enrolmentID int64, code, fileName string, data []byte) (Material, error) {
	if err := by.Require(auth.PrepareEnrolment); err != nil {
		return Material{}, err
	}
	f := errs.Fields{}
	fileName = checkText(f, "file_name", strings.TrimSpace(fileName), true, 200)
	if err := f.Err(); err != nil {
		return Material{}, err
	}
	var m Material
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		e, err := draftFor(ctx, tx, by, enrolmentID)
		if err != nil {
			return err
		}
		if err := s.fillChecklist(ctx, tx, &e); err != nil {
			return err
		}
		if !slices.ContainsFunc(e.Checklist, func(c ChecklistItem) bool { return c.Material.Code == code }) {
			return errs.Field("code", "not a material this application requires")
		}
		v, err := s.policies.Get(ctx, nil, e.PolicyVersion)
		if err != nil {
			return err
		}
		lim := v.Policy.Upload
		if int64(len(data)) > lim.MaxBytes {
			return errs.Field("file", fmt.Sprintf("larger than %d KiB", lim.MaxBytes>>10))
		}
		if len(data) == 0 {
			return errs.Field("file", "empty")
		}
		kind, ctype := sniff(data)
		if kind == "" || !slices.Contains(lim.Types, kind) {
			return errs.Field("file", "must be a "+strings.ToUpper(strings.Join(lim.Types, ", "))+" file (checked by its content)")
		}
		sum := sha256.Sum256(data)
		m = Material{EnrolmentID: enrolmentID, Code: code, FileName: fileName, ContentType: ctype, Size: int64(len(data)),
			SHA256: hex.EncodeToString(sum[:]), UploadedBy: by.Username, UploadedAt: tx.Now, Check: CheckPending}
		if err := tx.QueryRowContext(ctx, `INSERT INTO materials(enrolment_id, code, file_name, content_type, size, sha256, data, uploaded_by, uploaded_at)
			VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`, enrolmentID, code, fileName, ctype, m.Size, m.SHA256, data,
			by.Username, db.FormatTime(tx.Now)).Scan(&m.ID); err != nil {
			return fmt.Errorf("registry: store material: %w", err)
		}
		return audit.Record(ctx, tx, by.Actor(), "material.upload", enrolmentObject(enrolmentID), e.Region,
			map[string]any{"material": m.ID, "code": code, "sha256": m.SHA256, "size": m.Size, "type": ctype})
	})
	return m, err
}

// CheckMaterial records a clerk's verdict on a material of a draft application.
func (s *Service) CheckMaterial(ctx context.Context, by *auth.Principal, enrolmentID, materialID int64, result Check, note string) (Material, error) {
	if err := by.Require(auth.PrepareEnrolment); err != nil {
		return Material{}, err
	}
	f := errs.Fields{}
	note = checkText(f, "note", note, result == CheckRejected, 500)
	if result != CheckAccepted && result != CheckRejected {
		f.Add("result", "accepted or rejected")
	}
	if err := f.Err(); err != nil {
		return Material{}, err
	}
	var m Material
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		e, err := draftFor(ctx, tx, by, enrolmentID)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "UPDATE materials SET check_result = $1, check_note = $2, checked_by = $3, checked_at = $4 WHERE id = $5 AND enrolment_id = $6",
			string(result), note, by.Username, db.FormatTime(tx.Now), materialID, enrolmentID)
		if err != nil {
			return fmt.Errorf("registry: check material: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("material")
		}
		ms, err := materialsOf(ctx, tx, enrolmentID)
		if err != nil {
			return err
		}
		for _, x := range ms {
			if x.ID == materialID {
				m = x
			}
		}
		return audit.Record(ctx, tx, by.Actor(), "material.check", enrolmentObject(enrolmentID), e.Region,
			map[string]any{"material": materialID, "result": result, "note": note})
	})
	return m, err
}

// MaterialFile returns an uploaded file, only to those who may see its application: the region's
// staff, and the person it belongs to.
func (s *Service) MaterialFile(ctx context.Context, by *auth.Principal, enrolmentID, materialID int64) (Material, []byte, error) {
	if _, err := s.Enrolment(ctx, by, enrolmentID); err != nil {
		return Material{}, nil, err
	}
	var m Material
	var data []byte
	var at string
	err := s.db.R().QueryRowContext(ctx, `SELECT id, enrolment_id, code, file_name, content_type, size, sha256, uploaded_by, uploaded_at, data
		FROM materials WHERE id = $1 AND enrolment_id = $2`, materialID, enrolmentID).
		Scan(&m.ID, &m.EnrolmentID, &m.Code, &m.FileName, &m.ContentType, &m.Size, &m.SHA256, &m.UploadedBy, &at, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return Material{}, nil, notFound("material")
	}
	if err != nil {
		return Material{}, nil, fmt.Errorf("registry: read material: %w", err)
	}
	m.UploadedAt, _ = db.ParseTime(at)
	return m, data, nil
}
