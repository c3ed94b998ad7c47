package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/notify"
)

// Hukou says whether a person's household registration (户籍) is in the region.
type Hukou string

const (
	LocalHukou    Hukou = "local"
	NonLocalHukou Hukou = "non_local"
)

// Person is a registered person. The ID number is the social security number; gender and birth
// date come from it and are never typed.
type Person struct {
	ID              int64
	Region          string
	IDNumber        ident.IDNumber
	Name            string
	Gender          ident.Gender
	BirthDate       time.Time
	Ethnicity       string
	Hukou           Hukou
	HukouPlace      string
	ResidencePermit string
	Phone           string
	Address         string
	CreatedAt       time.Time
	// RetirementGroup is the group a clerk recorded for the retirement age (policy.GroupMale, …);
	// empty when none was, and the group follows from gender and insurance (RetirementGroupOf).
	RetirementGroup string
}

// Local reports whether the household registration is in the region.
func (p *Person) Local() bool { return p.Hukou == LocalHukou }

// NewPerson is what a clerk registers. IDNumber may be empty only with AssignNumber, for a person
// without any Chinese identity document; BirthDate and Gender are then required.
type NewPerson struct {
	Region          string
	IDNumber        string
	AssignNumber    bool
	BirthDate       string // YYYY-MM-DD, only with AssignNumber
	Gender          string // male/female, only with AssignNumber
	Name            string
	Ethnicity       string
	Hukou           string
	HukouPlace      string
	ResidencePermit string
	Phone           string
	Address         string
}

var phoneRE = regexp.MustCompile(`^(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})$`)

// checkText bounds a free-text field.
func checkText(f errs.Fields, field, v string, required bool, max int) string {
	v = strings.TrimSpace(v)
	switch {
	case required && v == "":
		f.Add(field, "required")
	case !utf8.ValidString(v):
		f.Add(field, "not valid text")
	case utf8.RuneCountInString(v) > max:
		f.Add(field, fmt.Sprintf("at most %d characters", max))
	case strings.ContainsAny(v, "\r\n\t"):
		f.Add(field, "must be one line")
	case strings.ContainsFunc(v, hiddenControl):
		f.Add(field, "must not contain control characters")
	}
	return v
}

// hiddenControl reports the characters no text typed at a window or in a spreadsheet holds, and
// that change what other people see or run: control characters (NUL, ESC and the rest, which
// terminals and spreadsheets act on) and the bidirectional overrides and isolates, which make a
// name display as something else ("Trojan Source").
func hiddenControl(r rune) bool {
	return unicode.IsControl(r) || (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069')
}

// checkName is checkText for a person's name. No name on an ID card or a passport starts with
// = + - or @ (nor their full-width forms), and such a name is what starts a formula in the
// spreadsheets that names reach (the card manufacturer file); the files escape it anyway
// (sheet.WriteCSV), and refusing it here keeps it out of every other file and system too.
func checkName(f errs.Fields, field, v string, max int) string {
	v = checkText(f, field, v, true, max)
	if v != "" && strings.ContainsRune("=+-@＝＋－＠", []rune(v)[0]) {
		f.Add(field, "must not start with = + - or @")
	}
	return v
}

// personFields validates the fields shared by window registration and HR's staff rows. It returns
// the cleaned values in a Person (without ID number and region).
func personFields(f errs.Fields, in NewPerson, idLocal func() bool) Person {
	p := Person{
		Name:            checkName(f, "name", in.Name, 50),
		Ethnicity:       checkText(f, "ethnicity", in.Ethnicity, false, 20),
		HukouPlace:      checkText(f, "hukou_place", in.HukouPlace, false, 100),
		ResidencePermit: checkText(f, "residence_permit", in.ResidencePermit, false, 40),
		Phone:           checkText(f, "phone", in.Phone, false, 20),
		Address:         checkText(f, "address", in.Address, false, 200),
	}
	if p.Phone != "" && !phoneRE.MatchString(p.Phone) {
		f.Add("phone", "a mobile number of 11 digits starting with 1, or a landline like 0571-12345678")
	}
	switch h := parseHukou(in.Hukou); {
	case h != "":
		p.Hukou = h
	case strings.TrimSpace(in.Hukou) == "" && idLocal != nil:
		// Not given: a person whose ID number was issued in this city is taken as locally
		// registered. The clerk or HR can always say otherwise.
		p.Hukou = NonLocalHukou
		if idLocal() {
			p.Hukou = LocalHukou
		}
	default:
		f.Add("hukou_type", "local or non_local (本地/外地)")
	}
	if p.Hukou == NonLocalHukou && p.ResidencePermit == "" && idLocal == nil {
		f.Add("residence_permit", "required when the household registration is not local")
	}
	return p
}

func parseHukou(s string) Hukou {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "local", "本地", "本市":
		return LocalHukou
	case "non_local", "non-local", "nonlocal", "外地", "非本市", "外埠":
		return NonLocalHukou
	}
	return ""
}

// sameCity reports whether an ID number was issued in the region's city (same first four digits).
func sameCity(n ident.IDNumber, region string) bool {
	return n.Kind() == ident.Resident && len(region) == 6 && n.AddressCode()[:4] == region[:4]
}

// RegisterPerson registers a person at the window. The same ID number twice is a conflict, never a
// second person.
func (s *Service) RegisterPerson(ctx context.Context, by *auth.Principal, in NewPerson) (Person, error) {
	if err := by.Require(auth.RegisterPerson); err != nil {
		return Person{}, err
	}
	f := errs.Fields{}
	region, err := regionFor(by, in.Region)
	if err != nil {
		return Person{}, err
	}
	p := personFields(f, in, nil)
	p.Region = region
	var birth time.Time
	var gender ident.Gender
	if in.AssignNumber {
		if strings.TrimSpace(in.IDNumber) != "" {
			f.Add("id_number", "leave empty when asking for an assigned number")
		}
		b, err := time.Parse("2006-01-02", strings.TrimSpace(in.BirthDate))
		if err != nil {
			f.Add("birth_date", "a date YYYY-MM-DD")
		}
		birth = b
		gender = ident.Gender(in.Gender)
		if gender != ident.Male && gender != ident.Female {
			f.Add("gender", "male or female")
		}
	} else if n, err := ident.ParseIDNumber(in.IDNumber, s.today()); err != nil {
		f.Add("id_number", err.Error())
	} else {
		p.IDNumber = n
	}
	if err := f.Err(); err != nil {
		return Person{}, err
	}
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		if in.AssignNumber {
			n, err := s.assignNumber(ctx, tx, region, birth, gender)
			if err != nil {
				return err
			}
			p.IDNumber = n
		}
		if err := insertPerson(ctx, tx, &p, by.Username); err != nil {
			return err
		}
		return audit.Record(ctx, tx, by.Actor(), "person.register", "person:"+p.IDNumber.Masked(), region,
			map[string]any{"id_kind": p.IDNumber.Kind(), "hukou": p.Hukou})
	})
	if err != nil {
		return Person{}, err
	}
	return p, nil
}

// assignNumber finds the next free system-assigned number for a birth date and gender.
func (s *Service) assignNumber(ctx context.Context, tx *db.Tx, region string, birth time.Time, g ident.Gender) (ident.IDNumber, error) {
	for seq := 1; seq <= 499; seq++ {
		n, err := ident.AssignIDNumber(region, birth, g, seq, s.today())
		if err != nil {
			return "", errs.Field("birth_date", err.Error())
		}
		var exists int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM persons WHERE id_number = $1", string(n)).Scan(&exists); err != nil {
			return "", err
		}
		if exists == 0 {
			return n, nil
		}
	}
	return "", errs.E(errs.Conflict, "no assigned number is left for this birth date")
}

func insertPerson(ctx context.Context, tx *db.Tx, p *Person, by string) error {
	p.Gender, p.BirthDate, p.CreatedAt = p.IDNumber.Gender(), p.IDNumber.BirthDate(), tx.Now
	now := db.FormatTime(tx.Now)
	err := tx.QueryRowContext(ctx, `INSERT INTO persons(region, id_number, id_kind, name, gender, birth_date, ethnicity, hukou_type,
		hukou_place, residence_permit, phone, address, created_at, created_by, updated_at)
		VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $13) RETURNING id`,
		p.Region, string(p.IDNumber), string(p.IDNumber.Kind()), p.Name, string(p.Gender), p.BirthDate.Format("2006-01-02"),
		p.Ethnicity, string(p.Hukou), p.HukouPlace, p.ResidencePermit, p.Phone, p.Address, now, by).Scan(&p.ID)
	if db.IsUniqueViolation(err) {
		return &errs.Error{Code: errs.Conflict, Message: "a person with this ID number is already registered",
			Fields: map[string]string{"id_number": "already registered"}}
	}
	if err != nil {
		return fmt.Errorf("registry: insert person: %w", err)
	}
	return nil
}

const personColumns = "id, region, id_number, name, gender, birth_date, ethnicity, hukou_type, hukou_place, residence_permit, phone, address, created_at, retirement_group"

func scanPerson(row interface{ Scan(...any) error }) (Person, error) {
	var p Person
	var idn, gender, birth, hukou, created string
	err := row.Scan(&p.ID, &p.Region, &idn, &p.Name, &gender, &birth, &p.Ethnicity, &hukou, &p.HukouPlace, &p.ResidencePermit, &p.Phone, &p.Address, &created, &p.RetirementGroup)
	if errors.Is(err, sql.ErrNoRows) {
		return Person{}, notFound("person")
	}
	if err != nil {
		return Person{}, fmt.Errorf("registry: read person: %w", err)
	}
	p.IDNumber, p.Gender, p.Hukou = ident.IDNumber(idn), ident.Gender(gender), Hukou(hukou)
	p.BirthDate, _ = time.Parse("2006-01-02", birth)
	p.CreatedAt, _ = db.ParseTime(created)
	return p, nil
}

// Person returns a person by ID number, if the principal may see them: staff of the region, the
// person themself, or an employer they work or worked for. Anyone else gets NotFound, so the API
// does not even reveal that the number is registered.
func (s *Service) Person(ctx context.Context, by *auth.Principal, idNumber string) (Person, error) {
	if err := by.Require(auth.ReadPerson); err != nil {
		return Person{}, err
	}
	n, err := ident.ParseIDNumber(idNumber, s.today())
	if err != nil {
		return Person{}, errs.Field("id_number", err.Error())
	}
	p, err := scanPerson(s.db.R().QueryRowContext(ctx, "SELECT "+personColumns+" FROM persons WHERE id_number = $1", string(n)))
	if err != nil {
		return Person{}, err
	}
	if ok, err := s.maySeePerson(ctx, by, &p); err != nil || !ok {
		return Person{}, errors.Join(err, notFound("person"))
	}
	return p, nil
}

func (s *Service) maySeePerson(ctx context.Context, by *auth.Principal, p *Person) (bool, error) {
	switch by.Role {
	case auth.Resident:
		return by.PersonID == p.ID, nil
	case auth.Employer:
		var n int
		err := s.db.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM staff WHERE employer_id = $1 AND person_id = $2", by.EmployerID, p.ID).Scan(&n)
		return n > 0, err
	}
	return by.Role.Staff() && by.InRegion(p.Region), nil
}

// PersonByID loads a person by row id, without any check: for callers that already checked.
func (s *Service) personByID(ctx context.Context, r db.Reader, id int64) (Person, error) {
	return scanPerson(r.QueryRowContext(ctx, "SELECT "+personColumns+" FROM persons WHERE id = $1", id))
}

// Me returns the person a resident login belongs to.
func (s *Service) Me(ctx context.Context, by *auth.Principal) (Person, error) {
	if by.Role != auth.Resident || by.PersonID == 0 {
		return Person{}, errs.E(errs.NotFound, "this login is not linked to a registered person")
	}
	return s.personByID(ctx, s.db.R(), by.PersonID)
}

// CreateResidentLogin gives a registered person their online account: one per person, its
// username the ID number in lower case. The clerk never sees its password: the person sets it with
// a one-time code sent to the mobile number on file (docs/security.md).
func (s *Service) CreateResidentLogin(ctx context.Context, by *auth.Principal, idNumber string) (auth.User, error) {
	if err := by.Require(auth.CreateLogin); err != nil {
		return auth.User{}, err
	}
	p, err := s.Person(ctx, by, idNumber)
	if err != nil {
		return auth.User{}, err
	}
	if _, err := s.auth.LoginOf(ctx, p.ID); err == nil {
		return auth.User{}, errs.E(errs.Conflict, "this person already has an online account; if they cannot log in, reset it at the window with their ID card")
	}
	if !notify.ValidMobile(p.Phone) {
		return auth.User{}, errs.Field("phone", "the person has no mobile number on file for the activation code; record one first")
	}
	return s.auth.CreateLogin(ctx, by, auth.NewUser{
		Username: strings.ToLower(string(p.IDNumber)), DisplayName: p.Name, Role: auth.Resident,
		Regions: []string{p.Region}, PersonID: p.ID, Phone: p.Phone,
	})
}

// ResetResidentLogin sends a person who lost their password a new one-time code, at the window:
// the clerk checks the ID card the person presents (presentedID, as read from the card) against the
// record; the old sessions and tokens end. Audited as user.reset.
func (s *Service) ResetResidentLogin(ctx context.Context, by *auth.Principal, idNumber, presentedID string) (auth.User, error) {
	if err := by.Require(auth.ResetAccount); err != nil {
		return auth.User{}, err
	}
	p, err := s.Person(ctx, by, idNumber)
	if err != nil {
		return auth.User{}, err
	}
	shown, err := ident.ParseIDNumber(presentedID, s.today())
	if err != nil {
		return auth.User{}, errs.Field("presented_id_number", err.Error())
	}
	if shown != p.IDNumber {
		return auth.User{}, errs.Field("presented_id_number", "the ID card presented is not this person's")
	}
	u, err := s.auth.LoginOf(ctx, p.ID)
	if err != nil {
		return auth.User{}, err
	}
	return s.auth.ResetAccount(ctx, by, by.Actor(), u.Username)
}
