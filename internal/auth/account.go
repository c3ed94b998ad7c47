package auth

import (
	"context"
	"fmt"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
)

// ChangePassword sets a new password for the principal after checking the current one, and ends
// every other session of the account (keep is the session to keep: the cookie value of the one
// making the change, or "" when it comes over the API). Its API tokens stay: they are separate
// credentials the holder manages on their own.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, current, next, keep string) error {
	var hash string
	if err := s.db.R().QueryRowContext(ctx, "SELECT password_hash FROM users WHERE id = $1", p.ID).Scan(&hash); err != nil {
		return fmt.Errorf("auth: change password: %w", err)
	}
	if ok, err := CheckPassword(hash, current); err != nil || !ok {
		return errs.Field("current_password", "does not match")
	}
	if err := CheckStrength(next, p.Username, p.DisplayName); err != nil {
		return errs.Field("new_password", err.Error())
	}
	newHash, err := HashPassword(next)
	if err != nil {
		return err
	}
	defer s.sessions.dropUser(p.ID)
	return s.db.Write(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3", newHash, db.FormatTime(tx.Now), p.ID); err != nil {
			return fmt.Errorf("auth: change password: %w", err)
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2", p.ID, hashToken(keep))
		if err != nil {
			return fmt.Errorf("auth: change password: %w", err)
		}
		ended, _ := res.RowsAffected()
		return audit.Record(ctx, tx, p.Actor(), "user.password", "user:"+p.Username, firstRegion(p.User), map[string]int64{"sessions_ended": ended})
	})
}

// TOTPSetup is what a user needs to add shebao to an authenticator app.
type TOTPSetup struct {
	Secret string `json:"secret"`
	URL    string `json:"otpauth_url"`
}

// BeginTOTP offers a new TOTP secret to the principal. It takes effect only when confirmed with a
// code from the app, so a mistyped secret cannot lock anyone out.
func (s *Service) BeginTOTP(ctx context.Context, p *Principal) (TOTPSetup, error) {
	secret := NewTOTPSecret()
	sealed, err := s.sealSecret(secret)
	if err != nil {
		return TOTPSetup{}, err
	}
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE users SET totp_pending = $1, updated_at = $2 WHERE id = $3", sealed, db.FormatTime(tx.Now), p.ID)
		if err != nil {
			return fmt.Errorf("auth: totp: %w", err)
		}
		return audit.Record(ctx, tx, p.Actor(), "user.totp_offer", "user:"+p.Username, firstRegion(p.User), nil)
	})
	if err != nil {
		return TOTPSetup{}, err
	}
	return TOTPSetup{Secret: secret, URL: TOTPURL(s.issuer, p.Username, secret)}, nil
}

// ConfirmTOTP turns the offered secret on when code matches it. From then on every login of this
// account needs a code.
func (s *Service) ConfirmTOTP(ctx context.Context, p *Principal, code string) error {
	var pending string
	if err := s.db.R().QueryRowContext(ctx, "SELECT totp_pending FROM users WHERE id = $1", p.ID).Scan(&pending); err != nil {
		return fmt.Errorf("auth: totp: %w", err)
	}
	if pending == "" {
		return errs.E(errs.Conflict, "no TOTP setup is in progress; start one first")
	}
	plain, err := s.openSecret(pending)
	if err != nil {
		return err
	}
	step, ok := MatchTOTP(plain, code, s.now())
	if !ok {
		return errs.Field("code", "does not match the authenticator app")
	}
	s.sessions.dropUser(p.ID)
	return s.db.Write(ctx, func(tx *db.Tx) error {
		// The confirming code's step counts as used, so it cannot log in a second time.
		if _, err := tx.ExecContext(ctx, "UPDATE users SET totp_secret = totp_pending, totp_pending = '', totp_last_step = $1, updated_at = $2 WHERE id = $3",
			step, db.FormatTime(tx.Now), p.ID); err != nil {
			return fmt.Errorf("auth: totp: %w", err)
		}
		return audit.Record(ctx, tx, p.Actor(), "user.totp_on", "user:"+p.Username, firstRegion(p.User), nil)
	})
}
