package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
)

// LinkInstitution makes an institution login that acts for no institution yet act for the one
// with code. It is for the server's console only, like CreateUser with a nil principal: the demo
// loader gives demo-institution, made before logins carried an institution, the demo hospital.
// A login that already acts for an institution keeps it — an operator never moves to another
// institution; its institution makes a new login instead — so linking again to the same code
// changes nothing and to another is refused.
func (s *Service) LinkInstitution(ctx context.Context, who audit.Actor, username, code string) error {
	if code == "" {
		return errs.Field("institution_code", "required")
	}
	var u User
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		var role, current string
		err := tx.QueryRowContext(ctx, "SELECT id, role, institution_code FROM users WHERE username = $1"+tx.ForUpdate(), username).Scan(&u.ID, &role, &current)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.NotFound, "no user %q", username)
		}
		if err != nil {
			return fmt.Errorf("auth: link institution: %w", err)
		}
		switch {
		case Role(role) != Institution:
			return errs.Field("role", "only an institution login acts for an institution")
		case current == code:
			return nil
		case current != "":
			return errs.E(errs.Conflict, "%s acts for institution %s already; an operator never moves to another institution", username, current)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE users SET institution_code = $1, updated_at = $2 WHERE id = $3", code, db.FormatTime(tx.Now), u.ID); err != nil {
			return fmt.Errorf("auth: link institution: %w", err)
		}
		var region string
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MIN(region), '') FROM user_regions WHERE user_id = $1", u.ID).Scan(&region); err != nil {
			return fmt.Errorf("auth: link institution: %w", err)
		}
		return audit.Record(ctx, tx, who, "user.link_institution", "user:"+username, region, map[string]string{"institution": code})
	})
	if err == nil {
		s.sessions.dropUser(u.ID) // a cached session must not act without the institution any longer
	}
	return err
}
