// Package certificate is the proof of insurance of SPEC 3.7: the certificate (参保证明) of a person
// — and of an employer for its staff (单位参保证明) — over a chosen period, signed with the region's
// SM2 signing key, printed as a PDF whose QR code leads to a public verification page.
//
// What is signed is the certificate's data as JSON (Data, canonical: Go's encoding of the struct,
// fields in declaration order, no maps). The PDF carries that data and its signature in its
// Keywords (Payload), so a printed or mailed certificate can be checked three ways: by anyone at
// /verify/{serial} (the bureau's stored record, its signature checked again), by a machine over
// the API with the payload, and offline with the region's published public key
// (`shebao certificate verify FILE`). Any changed byte of the data breaks the signature.
//
// A certificate is valid for ValidDays days from its issue: it states the insurance as of its date,
// and those who ask for one (housing, schools, visas) want a recent one.
//
// This package must never sign data it has not read from the registry and the contribution
// records itself, nor print text its font cannot show.
package certificate

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/keys"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
)

// ValidDays is how long a certificate is valid after its issue.
const ValidDays = 90

// Kinds of certificate.
const (
	KindPerson   = "person"
	KindEmployer = "employer"
)

// Data is what a certificate certifies, exactly as signed.
type Data struct {
	Format     int        `json:"format"` // 1
	Serial     string     `json:"serial"`
	Kind       string     `json:"kind"`
	Region     string     `json:"region"`
	BureauZH   string     `json:"bureau_zh"`
	BureauEN   string     `json:"bureau_en"`
	IssuedOn   string     `json:"issued_on"`   // YYYY-MM-DD, Beijing
	ValidUntil string     `json:"valid_until"` // YYYY-MM-DD, the last valid day
	From       string     `json:"from"`        // YYYYMM
	To         string     `json:"to"`          // YYYYMM
	KeyVersion int        `json:"key_version"` // the region's signing key that signed it
	Person     *Person    `json:"person,omitempty"`
	Employer   *Employer  `json:"employer,omitempty"`
	Insurances []Coverage `json:"insurances,omitempty"` // a person's, per insurance type
	Staff      []Staff    `json:"staff,omitempty"`      // an employer's, per person
}

// Person is the person a certificate is of.
type Person struct {
	Name     string `json:"name"`
	IDMasked string `json:"id_masked"`
	Gender   string `json:"gender"` // male or female
}

// Employer is the employer an employer's certificate is of.
type Employer struct {
	Name string `json:"name"`
	USCC string `json:"uscc"`
}

// Coverage is one insurance type of a person over the period: the months paid (bills paid in
// full), as runs of consecutive months, who paid them and how much was paid in all.
type Coverage struct {
	Insurance string   `json:"insurance"`
	Months    int      `json:"months"`
	Periods   []string `json:"periods"`    // "202401-202412", or "202401" for a single month
	Payers    []string `json:"payers"`     // employers' names; flexible workers' own payment as PayerSelf
	AmountFen int64    `json:"amount_fen"` // employer's and employee's parts together
}

// PayerSelf stands for a person's own payment (a flexible worker) among the payers.
const PayerSelf = "self"

// Staff is one person on an employer's certificate: the months the employer paid their
// insurance over the period.
type Staff struct {
	Name     string   `json:"name"`
	IDMasked string   `json:"id_masked"`
	Months   int      `json:"months"`
	Periods  []string `json:"periods"`
}

// Insurances are the types a certificate lists, in order (maternity is paid with medical).
var Insurances = []policy.Insurance{policy.Pension, policy.Medical, policy.Unemployment, policy.WorkInjury}

// Certificate is a signed certificate.
type Certificate struct {
	Data      Data
	Signature []byte
	IssuedBy  string
	IssuedAt  time.Time
}

// Payload is the certificate as the PDF carries it: the signed data and the signature.
func (c Certificate) Payload() (string, error) {
	b, err := json.Marshal(c.Data)
	if err != nil {
		return "", err
	}
	return payloadPrefix + base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString(c.Signature), nil
}

// payloadPrefix marks the payload in a PDF's Keywords, and names its format.
const payloadPrefix = "shebao-certificate-1:"

var payloadRE = regexp.MustCompile(regexp.QuoteMeta(payloadPrefix) + `([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)`)

// ParsePayload splits a payload (or any text holding one, such as a PDF file) into the data as
// signed, the data read from it, and the signature.
func ParsePayload(s []byte) (signed []byte, d Data, sig []byte, err error) {
	m := payloadRE.FindSubmatch(s)
	if m == nil {
		return nil, Data{}, nil, errs.Field("payload", "no shebao certificate in it")
	}
	if signed, err = base64.RawURLEncoding.DecodeString(string(m[1])); err != nil {
		return nil, Data{}, nil, errs.Field("payload", "the certificate's data is damaged")
	}
	if sig, err = base64.RawURLEncoding.DecodeString(string(m[2])); err != nil {
		return nil, Data{}, nil, errs.Field("payload", "the certificate's signature is damaged")
	}
	dec := json.NewDecoder(strings.NewReader(string(signed)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil || d.Format != 1 {
		return nil, Data{}, nil, errs.Field("payload", "the certificate's data is not a shebao certificate of format 1")
	}
	return signed, d, sig, nil
}

// VerifyWith checks a payload's signature with a region's published signing key (PEM): what
// `shebao certificate verify` does offline. It says nothing of validity or of the bureau's record.
func VerifyWith(publicKeyPEM string, payload []byte) (Data, error) {
	signed, d, sig, err := ParsePayload(payload)
	if err != nil {
		return Data{}, err
	}
	if err := keys.Verify(publicKeyPEM, signed, sig); err != nil {
		return d, errs.E(errs.Invalid, "not genuine: the signature does not match the data (altered, or signed by another key)")
	}
	return d, nil
}

// Service issues and checks certificates.
type Service struct {
	db       *db.DB
	keys     *keys.Service
	policies *policy.Store
	reg      *registry.Service
	now      func() time.Time
}

// New returns the certificate service.
func New(d *db.DB, k *keys.Service, p *policy.Store, r *registry.Service) *Service {
	return &Service{db: d, keys: k, policies: p, reg: r, now: d.Now}
}

// period checks a certificate's period: whole months, not after this month, at most fifty years.
func (s *Service) period(from, to string) (period.Month, period.Month, error) {
	f := errs.Fields{}
	a, err := period.ParseMonth(strings.TrimSpace(from))
	if err != nil {
		f.Add("from", err.Error())
	}
	b, err := period.ParseMonth(strings.TrimSpace(to))
	if err != nil {
		f.Add("to", err.Error())
	}
	if len(f) == 0 {
		switch {
		case b > period.MonthOf(s.now()):
			f.Add("to", "not after this month")
		case b < a:
			f.Add("to", "not before from")
		case b.Since(a) >= 600:
			f.Add("from", "a period of at most fifty years")
		}
	}
	return a, b, f.Err()
}

// IssuePerson makes a person's certificate over months [from, to]: a resident their own online,
// a clerk at the window for the person in front of them.
func (s *Service) IssuePerson(ctx context.Context, by *auth.Principal, idNumber, from, to string) (Certificate, error) {
	if err := by.Require(auth.IssueCertificate); err != nil {
		return Certificate{}, err
	}
	if by.Role == auth.Employer {
		return Certificate{}, errs.E(errs.Forbidden, "an employer makes its own certificate for its staff, not a person's")
	}
	a, b, err := s.period(from, to)
	if err != nil {
		return Certificate{}, err
	}
	var p registry.Person
	if by.Role == auth.Resident {
		p, err = s.reg.Me(ctx, by)
	} else {
		p, err = s.reg.Person(ctx, by, idNumber)
	}
	if err != nil {
		return Certificate{}, err
	}
	d := Data{Kind: KindPerson, Region: p.Region, From: a.String(), To: b.String(),
		Person: &Person{Name: p.Name, IDMasked: p.IDNumber.Masked(), Gender: string(p.Gender)}}
	if d.Insurances, err = coverage(ctx, s.db.R(), p.ID, a, b); err != nil {
		return Certificate{}, err
	}
	return s.issue(ctx, by, d, "person:"+p.IDNumber.Masked())
}

// IssueEmployer makes an employer's certificate for its staff over months [from, to]: its HR
// online, or a clerk.
func (s *Service) IssueEmployer(ctx context.Context, by *auth.Principal, uscc, from, to string) (Certificate, error) {
	if err := by.Require(auth.IssueCertificate); err != nil {
		return Certificate{}, err
	}
	if by.Role == auth.Resident {
		return Certificate{}, errs.E(errs.Forbidden, "a resident makes their own certificate")
	}
	a, b, err := s.period(from, to)
	if err != nil {
		return Certificate{}, err
	}
	e, err := s.reg.Employer(ctx, by, uscc)
	if err != nil {
		return Certificate{}, err
	}
	d := Data{Kind: KindEmployer, Region: e.Region, From: a.String(), To: b.String(), Employer: &Employer{Name: e.Name, USCC: string(e.USCC)}}
	if d.Staff, err = staffCoverage(ctx, s.db.R(), e.ID, a, b); err != nil {
		return Certificate{}, err
	}
	return s.issue(ctx, by, d, "employer:"+string(e.USCC))
}

// issue dates, numbers, signs and stores d.
func (s *Service) issue(ctx context.Context, by *auth.Principal, d Data, object string) (Certificate, error) {
	if err := printable(d); err != nil {
		return Certificate{}, err
	}
	v, err := s.policies.Effective(ctx, s.db.R(), d.Region, period.MonthOf(s.now()))
	if err != nil {
		return Certificate{}, err
	}
	d.Format = 1
	d.BureauZH, d.BureauEN = v.Policy.BureauName()
	var c Certificate
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		today := period.Today(tx.Now)
		d.IssuedOn, d.ValidUntil = today.Format("2006-01-02"), today.AddDate(0, 0, ValidDays-1).Format("2006-01-02")
		seq, err := nextSerial(ctx, tx, d.Region, today.Year())
		if err != nil {
			return err
		}
		d.Serial = fmt.Sprintf("%s%04d%08d", d.Region, today.Year(), seq)
		// The key version is part of what is signed, so it is asked for first and the signature
		// made with that very version.
		_, version, err := s.keys.PublicKeyPEM(ctx, d.Region, 0)
		if err != nil {
			return err
		}
		d.KeyVersion = version
		signed, err := json.Marshal(d)
		if err != nil {
			return err
		}
		sig, sv, err := s.keys.Sign(ctx, d.Region, signed)
		if err != nil {
			return err
		}
		if sv != version {
			return errs.E(errs.Conflict, "the region's signing key changed while the certificate was made; make it again")
		}
		c = Certificate{Data: d, Signature: sig, IssuedBy: by.Username, IssuedAt: tx.Now}
		digest := sha256.Sum256(signed)
		if _, err := tx.ExecContext(ctx, `INSERT INTO certificates(region, serial, kind, subject, data, signature, key_version, data_sha256, issued_by, issued_at)
			VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, d.Region, d.Serial, d.Kind, object, string(signed),
			base64.StdEncoding.EncodeToString(sig), version, hex.EncodeToString(digest[:]), by.Username, db.FormatTime(tx.Now)); err != nil {
			return fmt.Errorf("certificate: store: %w", err)
		}
		return audit.Record(ctx, tx, by.Actor(), "certificate.issue", "certificate:"+d.Serial, d.Region,
			map[string]string{"subject": object, "from": d.From, "to": d.To, "sha256": hex.EncodeToString(digest[:])})
	})
	return c, err
}

// printable refuses text the certificate's font cannot show, naming it.
func printable(d Data) error {
	var texts []string
	if d.Person != nil {
		texts = append(texts, d.Person.Name)
	}
	if d.Employer != nil {
		texts = append(texts, d.Employer.Name)
	}
	for _, c := range d.Insurances {
		texts = append(texts, c.Payers...)
	}
	for _, st := range d.Staff {
		texts = append(texts, st.Name)
	}
	for _, t := range texts {
		missing, err := Missing(t)
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			return errs.E(errs.Unavailable, "the certificate's font cannot print %q in %q; the bureau issues this certificate at the window, written by hand",
				string(missing), t)
		}
	}
	return nil
}

func nextSerial(ctx context.Context, tx *db.Tx, region string, year int) (int64, error) {
	var n int64
	err := tx.QueryRowContext(ctx, "UPDATE certificate_sequence SET last = last + 1 WHERE region = $1 AND year = $2 RETURNING last", region, year).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		_, err = tx.ExecContext(ctx, "INSERT INTO certificate_sequence(region, year, last) VALUES($1, $2, 1)", region, year)
		return 1, err
	}
	return n, err
}

// paidLine is one month's contribution line of a bill paid in full.
type paidLine struct {
	month  period.Month
	payer  string
	amount [4]int64 // by Insurances
}

func paidLines(ctx context.Context, r db.Reader, where string, args ...any) ([]paidLine, error) {
	var out []paidLine
	err := db.EachRow(ctx, r, func(scan func(...any) error) error {
		var l paidLine
		var m int
		if err := scan(&m, &l.payer, &l.amount[0], &l.amount[1], &l.amount[2], &l.amount[3]); err != nil {
			return err
		}
		l.month = period.Month(m)
		out = append(out, l)
		return nil
	}, `SELECT l.month, b.payer, l.pension_employer + l.pension_employee, l.medical_employer + l.medical_employee,
		l.unemployment_employer + l.unemployment_employee, l.work_injury_employer
		FROM contribution_lines l JOIN bills b ON b.id = l.bill_id WHERE b.paid >= b.total AND `+where+` ORDER BY l.month`, args...)
	if err != nil {
		return nil, fmt.Errorf("certificate: contributions: %w", err)
	}
	return out, nil
}

// coverage is a person's months paid per insurance over [a, b].
func coverage(ctx context.Context, r db.Reader, personID int64, a, b period.Month) ([]Coverage, error) {
	lines, err := paidLines(ctx, r, "l.person_id = $1 AND l.month >= $2 AND l.month <= $3", personID, int(a), int(b))
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	out := make([]Coverage, 0, len(Insurances))
	for i, ins := range Insurances {
		c := Coverage{Insurance: string(ins), Periods: []string{}, Payers: []string{}}
		var months []period.Month
		for _, l := range lines {
			if l.amount[i] <= 0 {
				continue
			}
			if len(months) == 0 || months[len(months)-1] != l.month {
				months = append(months, l.month)
			}
			c.AmountFen += l.amount[i]
			name, err := payerName(ctx, r, names, l.payer)
			if err != nil {
				return nil, err
			}
			if !contains(c.Payers, name) {
				c.Payers = append(c.Payers, name)
			}
		}
		c.Months, c.Periods = len(months), runs(months)
		out = append(out, c)
	}
	return out, nil
}

// staffCoverage is an employer's staff with the months it paid for each over [a, b].
func staffCoverage(ctx context.Context, r db.Reader, employerID int64, a, b period.Month) ([]Staff, error) {
	var out []Staff
	type row struct {
		person int64
		month  period.Month
	}
	var rows []row
	err := db.EachRow(ctx, r, func(scan func(...any) error) error {
		var x row
		var m int
		err := scan(&x.person, &m)
		x.month = period.Month(m)
		rows = append(rows, x)
		return err
	}, `SELECT DISTINCT l.person_id, l.month FROM contribution_lines l JOIN bills b ON b.id = l.bill_id
		WHERE b.payer = $1 AND b.paid >= b.total AND l.month >= $2 AND l.month <= $3 ORDER BY l.person_id, l.month`,
		fmt.Sprintf("employer:%d", employerID), int(a), int(b))
	if err != nil {
		return nil, fmt.Errorf("certificate: staff: %w", err)
	}
	var months []period.Month
	flush := func(person int64) error {
		if len(months) == 0 {
			return nil
		}
		var name, idn string
		if err := r.QueryRowContext(ctx, "SELECT name, id_number FROM persons WHERE id = $1", person).Scan(&name, &idn); err != nil {
			return fmt.Errorf("certificate: staff: %w", err)
		}
		out = append(out, Staff{Name: name, IDMasked: ident.IDNumber(idn).Masked(), Months: len(months), Periods: runs(months)})
		months = months[:0]
		return nil
	}
	for i, x := range rows {
		months = append(months, x.month)
		if i == len(rows)-1 || rows[i+1].person != x.person {
			if err := flush(x.person); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// payerName is a bill's payer as the certificate names it.
func payerName(ctx context.Context, r db.Reader, cache map[string]string, payer string) (string, error) {
	if n, ok := cache[payer]; ok {
		return n, nil
	}
	kind, id, ok := strings.Cut(payer, ":")
	if !ok {
		return "", fmt.Errorf("certificate: payer %q", payer)
	}
	name := PayerSelf
	if kind == "employer" {
		if err := r.QueryRowContext(ctx, "SELECT name FROM employers WHERE id = $1", id).Scan(&name); err != nil {
			return "", fmt.Errorf("certificate: payer %s: %w", payer, err)
		}
	}
	cache[payer] = name
	return name, nil
}

// runs writes sorted months as runs of consecutive months.
func runs(months []period.Month) []string {
	out := []string{}
	for i := 0; i < len(months); {
		j := i
		for j+1 < len(months) && months[j+1] == months[j].Add(1) {
			j++
		}
		if i == j {
			out = append(out, months[i].String())
		} else {
			out = append(out, months[i].String()+"-"+months[j].String())
		}
		i = j + 1
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// Result is what a check finds.
type Result struct {
	Serial  string
	Found   bool   // the bureau issued a certificate of this serial
	Genuine bool   // its signature matches its data, and (for a presented payload) the data is the bureau's
	Valid   bool   // genuine and not past its last valid day
	Reason  string // why not, in a sentence; empty when valid
	Verdict string // the finding as a code, for pages to say in the reader's language: one of the Verdict… constants
	Data    Data
}

// What a check finds, as codes.
const (
	VerdictValid     = "valid"      // genuine and still valid
	VerdictExpired   = "expired"    // genuine, past its last valid day
	VerdictNotIssued = "not_issued" // no certificate of this serial was issued
	VerdictAltered   = "altered"    // the signature does not match the data, or the data differs from the bureau's record
	VerdictDamaged   = "damaged"    // the record or the key it names cannot be read
)

var serialRE = regexp.MustCompile(`^[0-9]{18}$`)

// Check looks a serial up: what the public verification page shows. The stored record's
// signature is checked again, so a record altered in the database is not passed as genuine.
func (s *Service) Check(ctx context.Context, serial string) (Result, error) {
	serial = strings.TrimSpace(serial)
	if !serialRE.MatchString(serial) {
		return Result{}, errs.Field("serial", "18 digits, as printed under the QR code")
	}
	res := Result{Serial: serial}
	var data, sig string
	err := s.db.R().QueryRowContext(ctx, "SELECT data, signature FROM certificates WHERE region = $1 AND serial = $2", serial[:6], serial).Scan(&data, &sig)
	if errors.Is(err, sql.ErrNoRows) {
		res.Reason, res.Verdict = "no certificate of this serial was issued", VerdictNotIssued
		return res, nil
	}
	if err != nil {
		return Result{}, fmt.Errorf("certificate: check: %w", err)
	}
	res.Found = true
	raw, _ := base64.StdEncoding.DecodeString(sig)
	return s.judge(ctx, res, []byte(data), raw, "")
}

// CheckPayload checks a presented certificate (its payload, or the PDF file holding it): the
// signature over its data, and that the data is what the bureau issued under its serial.
func (s *Service) CheckPayload(ctx context.Context, payload []byte) (Result, error) {
	signed, d, sig, err := ParsePayload(payload)
	if err != nil {
		return Result{}, err
	}
	res := Result{Serial: d.Serial, Data: d}
	if !serialRE.MatchString(d.Serial) {
		res.Reason, res.Verdict = "not genuine: its serial is not one the bureau writes", VerdictNotIssued
		return res, nil
	}
	var stored string
	err = s.db.R().QueryRowContext(ctx, "SELECT data FROM certificates WHERE region = $1 AND serial = $2", d.Serial[:6], d.Serial).Scan(&stored)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		res.Reason, res.Verdict = "not genuine: no certificate of this serial was issued", VerdictNotIssued
		return res, nil
	case err != nil:
		return Result{}, fmt.Errorf("certificate: check: %w", err)
	}
	res.Found = true
	mismatch := ""
	if stored != string(signed) {
		mismatch = "not genuine: its data differs from the certificate the bureau issued under this serial"
	}
	return s.judge(ctx, res, signed, sig, mismatch)
}

// judge checks signed data's signature with the region's key of the version it names.
func (s *Service) judge(ctx context.Context, res Result, signed, sig []byte, mismatch string) (Result, error) {
	dec := json.NewDecoder(strings.NewReader(string(signed)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&res.Data); err != nil {
		res.Reason, res.Verdict = "not genuine: the record is damaged", VerdictDamaged
		return res, nil
	}
	pem, _, err := s.keys.PublicKeyPEM(ctx, res.Data.Region, res.Data.KeyVersion)
	if err != nil {
		if errs.CodeOf(err) == errs.NotFound {
			res.Reason, res.Verdict = "not genuine: the key it names does not exist", VerdictDamaged
			return res, nil
		}
		return Result{}, err
	}
	if keys.Verify(pem, signed, sig) != nil {
		res.Reason, res.Verdict = "not genuine: the signature does not match the data (altered, or signed by another key)", VerdictAltered
		return res, nil
	}
	if mismatch != "" {
		res.Reason, res.Verdict = mismatch, VerdictAltered
		return res, nil
	}
	res.Genuine = true
	if period.Today(s.now()).Format("2006-01-02") > res.Data.ValidUntil {
		res.Reason, res.Verdict = "genuine, but no longer valid: its last valid day was "+res.Data.ValidUntil, VerdictExpired
		return res, nil
	}
	res.Valid, res.Verdict = true, VerdictValid
	return res, nil
}
