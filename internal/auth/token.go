package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
)

// API tokens authenticate systems (an employer's HR system, a hospital's HIS) as one user. A token
// is "shb_" and 52 base32 characters (256 random bits); only its SHA-256 is stored.

// TokenPrefix starts every API token, so that leaked tokens are easy to find in code and logs.
const TokenPrefix = "shb_"

// IssueToken makes a new API token for username and returns it; it is shown once and never again.
// by is the account's holder, for themselves, or nil for the server's console (shebao token add):
// nobody issues a token for someone else's account, because whoever holds a token is that account.
func (s *Service) IssueToken(ctx context.Context, by *Principal, who audit.Actor, username, name string) (string, error) {
	var u User
	var err error
	if by != nil {
		if err := by.Require(IssueToken); err != nil {
			return "", err
		}
		if username != by.Username {
			return "", errs.E(errs.Forbidden, "API tokens are issued only by their account's holder, for themselves (or at the server's console)")
		}
		u = by.User
	} else {
		u, err = s.UserByName(ctx, username)
	}
	if err != nil {
		return "", err
	}
	if u.Disabled || u.State != Active {
		return "", errs.E(errs.Conflict, "the account is not active")
	}
	name = strings.TrimSpace(name)
	if name == "" {
		name = "api"
	}
	if utf8.RuneCountInString(name) > 100 {
		return "", errs.Field("name", "at most 100 characters")
	}
	token := randomToken(TokenPrefix)
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO api_tokens(user_id, name, token_hash, prefix, created_at) VALUES($1, $2, $3, $4, $5)",
			u.ID, name, hashToken(token), token[:len(TokenPrefix)+6], db.FormatTime(tx.Now)); err != nil {
			return fmt.Errorf("auth: issue token: %w", err)
		}
		return audit.Record(ctx, tx, who, "token.create", "user:"+u.Username, firstRegion(u),
			map[string]string{"name": name, "prefix": token[:len(TokenPrefix)+6]})
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// TokenUser returns the user an API token belongs to.
func (s *Service) TokenUser(ctx context.Context, token string) (User, error) {
	if !strings.HasPrefix(token, TokenPrefix) || len(token) > 100 {
		return User{}, errs.E(errs.Unauthorized, "invalid API token")
	}
	h := hashToken(token)
	// Tokens are cached under their own key space so that a cached token is never taken for a
	// session cookie by SessionUser, which looks up the bare hash.
	key := "token:" + h
	if u, ok := s.sessions.get(key, s.now()); ok {
		return u, nil
	}
	u, err := scanUser(s.db.R().QueryRowContext(ctx, "SELECT "+userColumns("u.")+
		" FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1 AND NOT t.revoked", h))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && u.Disabled) {
		return User{}, errs.E(errs.Unauthorized, "invalid API token")
	}
	if err != nil {
		return User{}, fmt.Errorf("auth: token: %w", err)
	}
	if err := s.loadRegions(ctx, s.db.R(), &u); err != nil {
		return User{}, err
	}
	s.sessions.put(key, u, s.now().Add(cacheTTL), s.now())
	return u, nil
}
