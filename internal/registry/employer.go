package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ident"
)

// Employer is a registered employer (用人单位).
type Employer struct {
	ID          int64
	Region      string
	USCC        ident.USCC
	Name        string
	LegalRep    string
	Address     string
	Industry    string
	RiskClass   int // work-injury industry risk class, 1–8
	BankAccount string
	CreatedAt   time.Time
}

// NewEmployer is what a clerk registers.
type NewEmployer struct {
	Region      string
	USCC        string
	Name        string
	LegalRep    string
	Address     string
	Industry    string
	RiskClass   int
	BankAccount string
}

func validBankAccount(s string) bool {
	if len(s) < 8 || len(s) > 32 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// RegisterEmployer registers an employer. The same USCC twice is a conflict.
func (s *Service) RegisterEmployer(ctx context.Context, by *auth.Principal, in NewEmployer) (Employer, error) {
	if err := by.Require(auth.RegisterEmployer); err != nil {
		return Employer{}, err
	}
	region, err := regionFor(by, in.Region)
	if err != nil {
		return Employer{}, err
	}
	f := errs.Fields{}
	e := Employer{
		Region:      region,
		Name:        checkText(f, "name", in.Name, true, 100),
		LegalRep:    checkName(f, "legal_rep", in.LegalRep, 50),
		Address:     checkText(f, "address", in.Address, false, 200),
		Industry:    checkText(f, "industry", in.Industry, false, 100),
		RiskClass:   in.RiskClass,
		BankAccount: strings.ReplaceAll(strings.TrimSpace(in.BankAccount), " ", ""),
	}
	if u, err := ident.ParseUSCC(in.USCC); err != nil {
		f.Add("uscc", err.Error())
	} else {
		e.USCC = u
	}
	if e.RiskClass < 1 || e.RiskClass > 8 {
		f.Add("risk_class", "a work-injury risk class from 1 to 8")
	}
	if e.BankAccount != "" && !validBankAccount(e.BankAccount) {
		f.Add("bank_account", "8–32 digits")
	}
	if err := f.Err(); err != nil {
		return Employer{}, err
	}
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		if err := insertEmployer(ctx, tx, &e, by.Username); err != nil {
			return err
		}
		return audit.Record(ctx, tx, by.Actor(), "employer.register", "employer:"+string(e.USCC), region,
			map[string]any{"name": e.Name, "risk_class": e.RiskClass})
	})
	return e, err
}

func insertEmployer(ctx context.Context, tx *db.Tx, e *Employer, by string) error {
	e.CreatedAt = tx.Now
	err := tx.QueryRowContext(ctx, `INSERT INTO employers(region, uscc, name, legal_rep, address, industry, risk_class, bank_account, created_at, created_by)
		VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		e.Region, string(e.USCC), e.Name, e.LegalRep, e.Address, e.Industry, e.RiskClass, e.BankAccount, db.FormatTime(tx.Now), by).Scan(&e.ID)
	if db.IsUniqueViolation(err) {
		return &errs.Error{Code: errs.Conflict, Message: "an employer with this unified social credit code is already registered",
			Fields: map[string]string{"uscc": "already registered"}}
	}
	if err != nil {
		return fmt.Errorf("registry: insert employer: %w", err)
	}
	return nil
}

const employerColumns = "id, region, uscc, name, legal_rep, address, industry, risk_class, bank_account, created_at"

func scanEmployer(row interface{ Scan(...any) error }) (Employer, error) {
	var e Employer
	var uscc, created string
	err := row.Scan(&e.ID, &e.Region, &uscc, &e.Name, &e.LegalRep, &e.Address, &e.Industry, &e.RiskClass, &e.BankAccount, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Employer{}, notFound("employer")
	}
	if err != nil {
		return Employer{}, fmt.Errorf("registry: read employer: %w", err)
	}
	e.USCC = ident.USCC(uscc)
	e.CreatedAt, _ = db.ParseTime(created)
	return e, nil
}

// Employer returns an employer by USCC if the principal may see it: its own HR operators and the
// region's staff.
func (s *Service) Employer(ctx context.Context, by *auth.Principal, uscc string) (Employer, error) {
	if err := by.Require(auth.ReadEmployer); err != nil {
		return Employer{}, err
	}
	u, err := ident.ParseUSCC(uscc)
	if err != nil {
		return Employer{}, errs.Field("uscc", err.Error())
	}
	e, err := scanEmployer(s.db.R().QueryRowContext(ctx, "SELECT "+employerColumns+" FROM employers WHERE uscc = $1", string(u)))
	if err != nil {
		return Employer{}, err
	}
	if !mayActFor(by, &e) {
		return Employer{}, notFound("employer")
	}
	return e, nil
}

// mayActFor: an employer's own operators, or bureau staff of its region.
func mayActFor(by *auth.Principal, e *Employer) bool {
	if by.Role == auth.Employer {
		return by.EmployerID == e.ID
	}
	return by.Role.Staff() && by.InRegion(e.Region)
}

// Employers lists the employers of the principal's regions (staff only), by name.
func (s *Service) Employers(ctx context.Context, by *auth.Principal, q string, limit int) ([]Employer, error) {
	if !by.Role.Staff() {
		return nil, errs.E(errs.Forbidden, "your role may not list employers")
	}
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	args := []any{"%" + strings.TrimSpace(q) + "%", limit}
	where := "(name LIKE $1 OR uscc LIKE $1)"
	ph := []string{}
	for _, r := range by.Regions {
		args = append(args, r)
		ph = append(ph, "$"+strconv.Itoa(len(args)))
	}
	rows, err := s.db.R().QueryContext(ctx, "SELECT "+employerColumns+" FROM employers WHERE "+where+
		" AND region IN ("+strings.Join(ph, ", ")+") ORDER BY name LIMIT $2", args...)
	if err != nil {
		return nil, fmt.Errorf("registry: list employers: %w", err)
	}
	defer rows.Close()
	var out []Employer
	for rows.Next() {
		e, err := scanEmployer(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// CreateOperatorLogin gives an employer an HR operator login (role employer). The operator sets
// the password with the one-time code sent to phone; the clerk never sees it.
func (s *Service) CreateOperatorLogin(ctx context.Context, by *auth.Principal, uscc, username, name, phone string) (auth.User, error) {
	if err := by.Require(auth.CreateLogin); err != nil {
		return auth.User{}, err
	}
	e, err := s.Employer(ctx, by, uscc)
	if err != nil {
		return auth.User{}, err
	}
	return s.auth.CreateLogin(ctx, by, auth.NewUser{
		Username: username, DisplayName: name, Role: auth.Employer, Regions: []string{e.Region}, EmployerID: e.ID, Phone: phone,
	})
}
