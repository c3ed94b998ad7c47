package certificate

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
)

// Get returns an issued certificate for printing it again: to the account that issued it, or to
// a clerk of its region at the window. Anyone else finds nothing (the public check by serial is
// Check, which shows only the masked data). The PDF printed from it is the same file as the first
// time: its data and signature are the stored ones and its dates the issue's own.
func (s *Service) Get(ctx context.Context, by *auth.Principal, serial string) (Certificate, error) {
	if err := by.Require(auth.IssueCertificate); err != nil {
		return Certificate{}, err
	}
	serial = strings.TrimSpace(serial)
	if !serialRE.MatchString(serial) {
		return Certificate{}, errs.Field("serial", "18 digits, as printed under the QR code")
	}
	var data, sig, issuedBy, issuedAt string
	err := s.db.R().QueryRowContext(ctx, "SELECT data, signature, issued_by, issued_at FROM certificates WHERE region = $1 AND serial = $2",
		serial[:6], serial).Scan(&data, &sig, &issuedBy, &issuedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Certificate{}, errs.E(errs.NotFound, "no certificate %s of yours", serial)
	}
	if err != nil {
		return Certificate{}, fmt.Errorf("certificate: get: %w", err)
	}
	if issuedBy != by.Username && !(by.Role == auth.Clerk && by.InRegion(serial[:6])) {
		return Certificate{}, errs.E(errs.NotFound, "no certificate %s of yours", serial)
	}
	c := Certificate{IssuedBy: issuedBy}
	if err := json.Unmarshal([]byte(data), &c.Data); err != nil {
		return Certificate{}, fmt.Errorf("certificate: get %s: %w", serial, err)
	}
	if c.Signature, err = base64.StdEncoding.DecodeString(sig); err != nil {
		return Certificate{}, fmt.Errorf("certificate: get %s: %w", serial, err)
	}
	if c.IssuedAt, err = db.ParseTime(issuedAt); err != nil {
		return Certificate{}, fmt.Errorf("certificate: get %s: %w", serial, err)
	}
	return c, nil
}

// Masked is the data as the public check shows it: whoever knows a serial may ask, so persons'
// names keep only their first character (the surname) and the amounts paid are left out; the ID
// numbers are masked already. The whole data, amounts included, is what the signature covers, and
// a presented copy is checked whole (CheckPayload).
func (d Data) Masked() Data {
	out := d
	if d.Person != nil {
		p := *d.Person
		p.Name = MaskName(p.Name)
		out.Person = &p
	}
	out.Insurances = make([]Coverage, len(d.Insurances))
	for i, c := range d.Insurances {
		c.AmountFen = 0
		out.Insurances[i] = c
	}
	out.Staff = make([]Staff, len(d.Staff))
	for i, st := range d.Staff {
		st.Name = MaskName(st.Name)
		out.Staff[i] = st
	}
	return out
}

// MaskName keeps a name's first character and stars the rest: 李文静 → 李**.
func MaskName(name string) string {
	r := []rune(strings.TrimSpace(name))
	if len(r) == 0 {
		return ""
	}
	return string(r[0]) + strings.Repeat("*", max(len(r)-1, 1))
}
