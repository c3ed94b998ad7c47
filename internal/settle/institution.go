package settle

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
)

// Institution kinds.
const (
	Hospital = "hospital"
	Pharmacy = "pharmacy"
)

// Institution statuses.
const (
	Pending  = "pending"
	Approved = "approved"
)

// Institution is a designated hospital or pharmacy (定点医药机构).
type Institution struct {
	Region       string
	Code         string
	Name         string
	Kind         string // Hospital or Pharmacy
	Level        int    // a hospital's 1, 2 or 3 (一级, 二级, 三级); 0 for a pharmacy
	BankAccount  string
	Status       string
	RegisteredBy string
	RegisteredAt time.Time
	ApprovedBy   string
	ApprovedAt   time.Time
}

// codeRE is the shape of a designated institution's 12-character code as the national medical
// insurance coding writes it: H for a hospital or P for a pharmacy, the 6-digit administrative
// division, and a 5-digit number.
var codeRE = regexp.MustCompile(`^[HP][0-9]{11}$`)

// NewInstitution is what a clerk registers.
type NewInstitution struct {
	Code        string
	Name        string
	Kind        string
	Level       int
	BankAccount string
	Region      string // "" = the clerk's only region
}

const codeProblem = "12 characters: H (hospital) or P (pharmacy), the 6-digit region code, and a 5-digit number, like H33010600001"

// ParseCode checks an institution code.
func ParseCode(s string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(s))
	if !codeRE.MatchString(c) {
		return "", errs.Field("code", codeProblem)
	}
	return c, nil
}

// RegisterInstitution records a designated institution for a reviewer to approve.
func (s *Service) RegisterInstitution(ctx context.Context, by *auth.Principal, in NewInstitution) (Institution, error) {
	if err := by.Require(auth.RegisterInstitution); err != nil {
		return Institution{}, err
	}
	f := errs.Fields{}
	code, err := ParseCode(in.Code)
	if err != nil {
		f.Add("code", codeProblem)
		code = ""
	}
	region := in.Region
	if region == "" && len(by.Regions) == 1 {
		region = by.Regions[0]
	}
	switch {
	case region == "":
		f.Add("region", "required: you serve several regions")
	case !by.InRegion(region):
		f.Add("region", "not one of your regions")
	case code != "" && code[1:7] != region:
		f.Add("code", "the code's region digits are not the region "+region)
	}
	name := strings.TrimSpace(in.Name)
	if name == "" || utf8.RuneCountInString(name) > 100 || strings.ContainsFunc(name, isControl) {
		f.Add("name", "1–100 characters")
	}
	switch in.Kind {
	case Hospital:
		if in.Level < 1 || in.Level > 3 {
			f.Add("level", "a hospital's level is 1, 2 or 3")
		}
		if code != "" && code[0] != 'H' {
			f.Add("code", "a hospital's code starts with H")
		}
	case Pharmacy:
		if in.Level != 0 {
			f.Add("level", "a pharmacy has no level")
		}
		if code != "" && code[0] != 'P' {
			f.Add("code", "a pharmacy's code starts with P")
		}
	default:
		f.Add("kind", "hospital or pharmacy")
	}
	account := strings.TrimSpace(in.BankAccount)
	if len(account) < 8 || len(account) > 32 || strings.Trim(account, "0123456789") != "" {
		f.Add("bank_account", "8–32 digits: where the bureau pays the monthly clearing")
	}
	if err := f.Err(); err != nil {
		return Institution{}, err
	}
	inst := Institution{Region: region, Code: code, Name: name, Kind: in.Kind, Level: in.Level, BankAccount: account, Status: Pending, RegisteredBy: by.Username}
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		inst.RegisteredAt = tx.Now
		if _, err := tx.ExecContext(ctx, "INSERT INTO institution_codes(code, region) VALUES($1, $2)", code, region); err != nil {
			if db.IsUniqueViolation(err) {
				return errs.E(errs.Conflict, "institution %s is registered already", code)
			}
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO institutions(region, code, name, kind, level, bank_account, status, registered_by, registered_at)
			VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9)`, region, code, name, in.Kind, in.Level, account, Pending, by.Username, db.FormatTime(tx.Now)); err != nil {
			return fmt.Errorf("settle: register institution: %w", err)
		}
		return audit.Record(ctx, tx, by.Actor(), "institution.register", "institution:"+code, region, map[string]any{"kind": in.Kind, "level": in.Level})
	})
	return inst, err
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// ApproveInstitution makes a registered institution designated: a reviewer independent of the
// clerk who registered it.
func (s *Service) ApproveInstitution(ctx context.Context, by *auth.Principal, code string) (Institution, error) {
	if err := by.Require(auth.ReviewInstitution); err != nil {
		return Institution{}, err
	}
	var inst Institution
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		var err error
		if inst, err = s.institution(ctx, tx, by, code, tx.ForUpdate()); err != nil {
			return err
		}
		if inst.Status != Pending {
			return errs.E(errs.Conflict, "institution %s is already %s", inst.Code, inst.Status)
		}
		if err := auth.Independent(ctx, tx, by.Username, inst.RegisteredBy); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE institutions SET status = $1, approved_by = $2, approved_at = $3 WHERE region = $4 AND code = $5",
			Approved, by.Username, db.FormatTime(tx.Now), inst.Region, inst.Code); err != nil {
			return err
		}
		inst.Status, inst.ApprovedBy, inst.ApprovedAt = Approved, by.Username, tx.Now
		return audit.Record(ctx, tx, by.Actor(), "institution.approve", "institution:"+inst.Code, inst.Region, nil)
	})
	s.forget(inst.Code)
	return inst, err
}

// Institution returns one institution as the principal may see it: the bureau's staff in their
// regions, an institution's operator only their own.
func (s *Service) Institution(ctx context.Context, by *auth.Principal, code string) (Institution, error) {
	if err := by.Require(auth.ReadInstitution); err != nil {
		return Institution{}, err
	}
	return s.institution(ctx, s.db.R(), by, code, "")
}

func (s *Service) institution(ctx context.Context, r db.Reader, by *auth.Principal, code, lock string) (Institution, error) {
	c, err := ParseCode(code)
	if err != nil {
		return Institution{}, errs.E(errs.NotFound, "no institution %q", clip(code))
	}
	var region string
	if err := r.QueryRowContext(ctx, "SELECT region FROM institution_codes WHERE code = $1", c).Scan(&region); err != nil {
		return Institution{}, errs.E(errs.NotFound, "no institution %s", c)
	}
	if !by.InRegion(region) || (by.Role == auth.Institution && by.InstitutionCode != c) {
		return Institution{}, errs.E(errs.NotFound, "no institution %s", c)
	}
	inst, err := scanInstitution(r.QueryRowContext(ctx, "SELECT "+institutionColumns+" FROM institutions WHERE region = $1 AND code = $2"+lock, region, c))
	if errors.Is(err, sql.ErrNoRows) {
		return Institution{}, errs.E(errs.NotFound, "no institution %s", c)
	}
	return inst, err
}

const institutionColumns = "region, code, name, kind, level, bank_account, status, registered_by, registered_at, approved_by, approved_at"

func scanInstitution(row interface{ Scan(...any) error }) (Institution, error) {
	var in Institution
	var reg, appr string
	if err := row.Scan(&in.Region, &in.Code, &in.Name, &in.Kind, &in.Level, &in.BankAccount, &in.Status, &in.RegisteredBy, &reg, &in.ApprovedBy, &appr); err != nil {
		return Institution{}, err
	}
	in.RegisteredAt, _ = db.ParseTime(reg)
	if appr != "" {
		in.ApprovedAt, _ = db.ParseTime(appr)
	}
	return in, nil
}

// Institutions lists the institutions of the principal's regions (an operator: their own), by
// code, after the code after (for paging), at most limit.
func (s *Service) Institutions(ctx context.Context, by *auth.Principal, after string, limit int) ([]Institution, error) {
	if err := by.Require(auth.ReadInstitution); err != nil {
		return nil, err
	}
	var out []Institution
	err := db.EachRow(ctx, s.db.R(), func(scan func(...any) error) error {
		in, err := scanInstitution(scanRow(scan))
		if err != nil {
			return err
		}
		if by.InRegion(in.Region) && (by.Role != auth.Institution || by.InstitutionCode == in.Code) {
			out = append(out, in)
		}
		return nil
	}, "SELECT "+institutionColumns+" FROM institutions WHERE code > $1 ORDER BY code LIMIT $2", after, limit)
	return out, err
}

type scanRow func(...any) error

func (f scanRow) Scan(dest ...any) error { return f(dest...) }

// CreateOperator gives an approved institution an operator login (role institution), as the
// window does for an employer's HR: its holder sets the password with the code sent to phone.
func (s *Service) CreateOperator(ctx context.Context, auths *auth.Service, by *auth.Principal, code, username, name, phone string) (auth.User, error) {
	inst, err := s.Institution(ctx, by, code)
	if err != nil {
		return auth.User{}, err
	}
	if inst.Status != Approved {
		return auth.User{}, errs.E(errs.Conflict, "institution %s is not approved yet", inst.Code)
	}
	if strings.TrimSpace(name) == "" {
		name = inst.Name
	}
	return auths.CreateLogin(ctx, by, auth.NewUser{Username: username, DisplayName: name, Role: auth.Institution, Regions: []string{inst.Region},
		InstitutionCode: inst.Code, Phone: phone})
}

func clip(s string) string {
	if len(s) > 20 {
		return s[:20] + "…"
	}
	return s
}
