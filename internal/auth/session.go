package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
)

// Sessions: the cookie holds a random 256-bit value; the database holds its SHA-256, so a copy of
// the database cannot be used to log in. Sessions expire after a fixed lifetime and end at logout
// or when the account is disabled.

// StartSession opens a portal session for a user who has just logged in and returns the cookie
// value and its expiry.
func (s *Service) StartSession(ctx context.Context, u User, requestID string) (string, time.Time, error) {
	token := randomToken("")
	var expires time.Time
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		expires = tx.Now.Add(s.ttl)
		// Expired sessions of this user are removed as new ones begin, which keeps the table small
		// without a sweeper.
		if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = $1 AND expires_at < $2", u.ID, db.FormatTime(tx.Now)); err != nil {
			return fmt.Errorf("auth: session: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO sessions(id_hash, user_id, created_at, expires_at) VALUES($1, $2, $3, $4)",
			hashToken(token), u.ID, db.FormatTime(tx.Now), db.FormatTime(expires)); err != nil {
			return fmt.Errorf("auth: session: %w", err)
		}
		return audit.Record(ctx, tx, audit.Actor{Name: u.Username, Role: string(u.Role), RequestID: requestID},
			"session.start", "user:"+u.Username, firstRegion(u), nil)
	})
	return token, expires, err
}

func firstRegion(u User) string {
	if len(u.Regions) > 0 {
		return u.Regions[0]
	}
	return ""
}

// SessionUser returns the user of a live session.
func (s *Service) SessionUser(ctx context.Context, token string) (User, error) {
	if token == "" || len(token) > 100 {
		return User{}, errs.E(errs.Unauthorized, "please log in")
	}
	h := hashToken(token)
	if u, ok := s.sessions.get(h, s.now()); ok {
		return u, nil
	}
	var expires string
	u, err := scanUser(s.db.R().QueryRowContext(ctx, "SELECT "+userColumns("u.")+", s.expires_at"+
		" FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1", h), &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, errs.E(errs.Unauthorized, "please log in")
	}
	if err != nil {
		return User{}, fmt.Errorf("auth: session: %w", err)
	}
	exp, err := db.ParseTime(expires)
	if err != nil || !s.now().Before(exp) || u.Disabled {
		return User{}, errs.E(errs.Unauthorized, "your session has ended; please log in again")
	}
	if err := s.loadRegions(ctx, s.db.R(), &u); err != nil {
		return User{}, err
	}
	s.sessions.put(h, u, exp, s.now())
	return u, nil
}

// EndSession logs a session out.
func (s *Service) EndSession(ctx context.Context, token string, who audit.Actor) error {
	h := hashToken(token)
	s.sessions.drop(h)
	return s.db.Write(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE id_hash = $1", h)
		if err != nil {
			return fmt.Errorf("auth: end session: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return audit.Record(ctx, tx, who, "session.end", "user:"+who.Name, "", nil)
	})
}

// sessionCache keeps recently seen sessions for a short time so that every portal request does not
// cost a database read. Entries live at most cacheTTL, so a session ended by another process (the
// CLI disabling a user) stops working within that time; one ended here stops at once.
type sessionCache struct {
	mu sync.Mutex
	m  map[string]cachedSession
}

type cachedSession struct {
	u     User
	until time.Time
}

const cacheTTL = 10 * time.Second

func (c *sessionCache) get(h string, now time.Time) (User, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[h]
	if !ok || !now.Before(e.until) {
		return User{}, false
	}
	return e.u, true
}

func (c *sessionCache) put(h string, u User, expires, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 10_000 {
		c.m = map[string]cachedSession{}
	}
	until := now.Add(cacheTTL)
	if expires.Before(until) {
		until = expires
	}
	c.m[h] = cachedSession{u: u, until: until}
}

func (c *sessionCache) drop(h string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, h)
}

func (c *sessionCache) dropUser(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for h, e := range c.m {
		if e.u.ID == id {
			delete(c.m, h)
		}
	}
}
