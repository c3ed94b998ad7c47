package keys

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/emmansun/gmsm/sm3"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
)

// Mode marks a keystore.
type Mode string

const (
	Production  Mode = "production"
	Development Mode = "development"
)

// Status is what anyone allowed may know about the key service.
type Status struct {
	Initialised bool
	Mode        Mode
	Sealed      bool
	Required    int      // components needed
	Entered     int      // components entered so far while sealed
	Custodians  []string // who holds each component, in order
	MasterKCV   string
}

// Status reads the keystore and the seal.
func (s *Service) Status(ctx context.Context) (Status, error) {
	var st Status
	var mode string
	err := s.db.R().QueryRowContext(ctx, "SELECT mode, components, master_kcv FROM keystore WHERE id = 1").Scan(&mode, &st.Required, &st.MasterKCV)
	if errors.Is(err, sql.ErrNoRows) {
		return Status{Sealed: true}, nil
	}
	if err != nil {
		return Status{}, fmt.Errorf("keys: status: %w", err)
	}
	st.Initialised, st.Mode = true, Mode(mode)
	rows, err := s.db.R().QueryContext(ctx, "SELECT custodian FROM key_components ORDER BY idx")
	if err != nil {
		return Status{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return Status{}, err
		}
		st.Custodians = append(st.Custodians, c)
	}
	s.mu.RLock()
	st.Sealed, st.Entered = s.master == nil, len(s.entered)
	s.mu.RUnlock()
	return st, rows.Err()
}

// Init sets up the keystore once: one component per custodian, in order (at least two), whose XOR
// is the master key. Only the check values are stored. The components come from the custodians
// (shebao keys component makes one); the caller zeroes them after.
func (s *Service) Init(ctx context.Context, who audit.Actor, mode Mode, custodians []string, components [][]byte) error {
	if len(components) < 2 || len(components) != len(custodians) {
		return errs.Field("components", "at least two components, one per custodian")
	}
	if mode != Production && mode != Development {
		return errs.Field("mode", "production or development")
	}
	seen := map[string]bool{}
	for _, c := range custodians {
		if c == "" || seen[c] {
			return errs.Field("custodians", "each component needs its own custodian")
		}
		seen[c] = true
	}
	master := make([]byte, KeySize)
	defer zero(master)
	kcvs := make([]string, len(components))
	for i, c := range components {
		if len(c) != KeySize {
			return errs.Field("components", "each component is 16 bytes")
		}
		xorInto(master, c)
		var err error
		if kcvs[i], err = KCV(c); err != nil {
			return err
		}
	}
	masterKCV, err := KCV(master)
	if err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *db.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM keystore").Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return errs.E(errs.Conflict, "the keystore is already initialised")
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO keystore(id, mode, components, master_kcv, created_at, created_by) VALUES(1, $1, $2, $3, $4, $5)",
			string(mode), len(components), masterKCV, db.FormatTime(tx.Now), who.Name); err != nil {
			return fmt.Errorf("keys: init: %w", err)
		}
		for i, c := range custodians {
			if _, err := tx.ExecContext(ctx, "INSERT INTO key_components(idx, custodian, kcv) VALUES($1, $2, $3)", i+1, c, kcvs[i]); err != nil {
				return fmt.Errorf("keys: init: %w", err)
			}
		}
		return audit.Record(ctx, tx, who, "keys.init", "keystore", "", map[string]any{
			"mode": mode, "components": len(components), "custodians": custodians, "master_kcv": masterKCV, "component_kcvs": kcvs})
	})
}

// EnterComponent takes one custodian's component while the service is sealed. The component must
// be the one recorded for that custodian (its check value says so); when the last one is in, the
// master key is formed, checked against its check value, and the service is unsealed.
func (s *Service) EnterComponent(ctx context.Context, by *auth.Principal, component []byte) (Status, error) {
	if err := by.Require(auth.UnsealKeys); err != nil {
		return Status{}, err
	}
	st, err := s.Status(ctx)
	if err != nil {
		return Status{}, err
	}
	if !st.Initialised {
		return st, errs.E(errs.Conflict, "the keystore is not initialised (shebao keys init)")
	}
	if !st.Sealed {
		return st, errs.E(errs.Conflict, "the key service is already unsealed")
	}
	if st.Mode != Production {
		return st, errs.E(errs.Conflict, "this keystore is a development keystore; it unseals only in demo mode")
	}
	idx := slices.Index(st.Custodians, by.Username)
	if idx < 0 {
		return st, errs.E(errs.Forbidden, "you hold no component of this keystore")
	}
	kcv, err := KCV(component)
	if err != nil {
		return st, errs.Field("component", "a component is 16 bytes")
	}
	var want string
	if err := s.db.R().QueryRowContext(ctx, "SELECT kcv FROM key_components WHERE idx = $1", idx+1).Scan(&want); err != nil {
		return st, err
	}
	if !equal([]byte(kcv), []byte(want)) {
		s.auditSystem(ctx, by.Actor(), "keys.component_refused", map[string]any{"component": idx + 1})
		return st, errs.Field("component", "this is not your component (its check value does not match)")
	}
	s.mu.Lock()
	if s.master != nil {
		s.mu.Unlock()
		return s.Status(ctx)
	}
	c := make([]byte, KeySize)
	copy(c, component)
	if old, ok := s.entered[idx]; ok {
		zero(old)
	}
	s.entered[idx] = c
	done := len(s.entered) == st.Required
	if done {
		master := make([]byte, KeySize)
		for _, c := range s.entered {
			xorInto(master, c)
		}
		if mk, _ := KCV(master); !equal([]byte(mk), []byte(st.MasterKCV)) {
			zero(master)
			s.sealLocked()
			s.mu.Unlock()
			return Status{}, errs.E(errs.Conflict, "the components do not form the master key; start again")
		}
		s.master = master
		for _, c := range s.entered {
			zero(c)
		}
		s.entered = map[int][]byte{}
	}
	s.mu.Unlock()
	s.auditSystem(ctx, by.Actor(), "keys.component_entered", map[string]any{"component": idx + 1, "kcv": kcv})
	if done {
		s.log.Info("key service unsealed")
		s.auditSystem(ctx, by.Actor(), "keys.unsealed", nil)
	}
	return s.Status(ctx)
}

// SealBy seals on a custodian's or administrator's request.
func (s *Service) SealBy(ctx context.Context, by *auth.Principal) error {
	if err := by.Require(auth.SealKeys); err != nil {
		return err
	}
	s.Seal(ctx)
	s.log.Warn("key service sealed", "by", by.Username)
	s.auditSystem(ctx, by.Actor(), "keys.sealed", nil)
	return nil
}

func (s *Service) auditSystem(ctx context.Context, who audit.Actor, action string, detail any) {
	err := s.db.Write(ctx, func(tx *db.Tx) error { return audit.Record(ctx, tx, who, action, "keystore", "", detail) })
	if err != nil {
		s.log.Error("audit of key service event failed", "action", action, "err", err)
	}
}

// devComponents are the public components of a development keystore: SM3 of a fixed text, so
// every demo database has the same, published master key. They are never secret.
func devComponents() [][]byte {
	var out [][]byte
	for _, label := range []string{"shebao development component 1", "shebao development component 2"} {
		h := sm3.Sum([]byte(label))
		out = append(out, h[:KeySize])
	}
	return out
}

// UnsealDevelopment initialises a development keystore if there is none and unseals it with the
// public development components. It refuses a production keystore.
func (s *Service) UnsealDevelopment(ctx context.Context, custodians []string) error {
	st, err := s.Status(ctx)
	if err != nil {
		return err
	}
	comps := devComponents()
	if !st.Initialised {
		if err := s.Init(ctx, audit.System, Development, custodians, comps); err != nil {
			return err
		}
	} else if st.Mode != Development {
		return errors.New("keys: this database has a production keystore; development unsealing is refused")
	}
	master := make([]byte, KeySize)
	for _, c := range comps {
		xorInto(master, c)
	}
	s.mu.Lock()
	s.master = master
	s.mu.Unlock()
	s.log.Warn("DEVELOPMENT KEYS: the key service is unsealed with public components; nothing it protects is secret")
	return nil
}
