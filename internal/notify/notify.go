// Package notify is the outbox of messages to people — text messages (SMS) carrying one-time codes
// today — and the dispatcher that hands them to a gateway.
//
// A message is queued inside the transaction that decides it (Queue takes the caller's *db.Tx), so
// it exists if and only if that business change committed; the dispatcher then sends it at least
// once, retrying with back-off. A gateway receives the message's id and should drop a repeat.
//
// This package must never decide what a message says or whom it goes to: its callers do.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"github.com/shebao/shebao/internal/db"
)

// SMS is the one channel today.
const SMS = "sms"

// Message is one queued message.
type Message struct {
	ID        int64
	Channel   string
	Recipient string // a mobile number, 11 digits
	Purpose   string // what it is for, e.g. "activation"; never the code itself
	Body      string
	CreatedAt time.Time
	SentAt    time.Time // zero until sent
	Attempts  int
	LastError string
}

var mobileRE = regexp.MustCompile(`^1[3-9][0-9]{9}$`)

// ValidMobile reports whether s is a mainland mobile number (11 digits from 13…–19…), the only
// recipients the SMS channel takes.
func ValidMobile(s string) bool { return mobileRE.MatchString(s) }

// MaskMobile shows a mobile number as people recognise their own: 138****0001.
func MaskMobile(s string) string {
	if len(s) != 11 {
		return "***"
	}
	return s[:3] + "****" + s[7:]
}

// Queue adds a text message to the outbox in tx.
func Queue(ctx context.Context, tx *db.Tx, recipient, purpose, body string) error {
	if !ValidMobile(recipient) {
		return fmt.Errorf("notify: %q is not a mobile number", MaskMobile(recipient))
	}
	now := db.FormatTime(tx.Now)
	if _, err := tx.ExecContext(ctx, `INSERT INTO notifications(channel, recipient, purpose, body, created_at, next_attempt_at)
		VALUES($1, $2, $3, $4, $5, $5)`, SMS, recipient, purpose, body, now); err != nil {
		return fmt.Errorf("notify: queue: %w", err)
	}
	return nil
}

// Sender delivers one message; an error means "try again later".
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Gateway sends text messages through an HTTP SMS gateway: a POST of
// {"id": 17, "to": "13800000001", "text": "…", "purpose": "activation"} with the token as a bearer
// credential; any 2xx answer is delivery. The id lets the gateway drop a message sent twice.
type Gateway struct {
	URL    string
	Token  string
	Client *http.Client
}

// Send posts the message to the gateway.
func (g Gateway) Send(ctx context.Context, m Message) error {
	body, _ := json.Marshal(map[string]any{"id": m.ID, "to": m.Recipient, "text": m.Body, "purpose": m.Purpose})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if g.Token != "" {
		req.Header.Set("Authorization", "Bearer "+g.Token)
	}
	c := g.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("gateway answered %s", resp.Status)
	}
	return nil
}

// Inbox is the demo's phone: a message counts as delivered when it is in the outbox, where the
// demo's messages page shows it. It is for demo databases only, whose people are not real.
type Inbox struct{}

// Send delivers nothing further.
func (Inbox) Send(context.Context, Message) error { return nil }

// Dispatcher sends what is due in the outbox.
type Dispatcher struct {
	DB     *db.DB
	Sender Sender
	Log    *slog.Logger
	Every  time.Duration // how often to look; 0 = 2 s
}

// maxAttempts is when the dispatcher gives up on a message (after about a day of back-off); it
// stays in the outbox with its last error for an operator to see.
const maxAttempts = 12

// Run sends due messages until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	every := d.Every
	if every == 0 {
		every = 2 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := d.SendDue(ctx); err != nil && ctx.Err() == nil && d.Log != nil {
			d.Log.Error("notify: send", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SendDue sends every message whose time has come and returns how many were delivered.
func (d *Dispatcher) SendDue(ctx context.Context) (int, error) {
	now := d.DB.Now()
	var due []Message
	err := db.EachRow(ctx, d.DB.R(), func(scan func(...any) error) error {
		var m Message
		if err := scan(&m.ID, &m.Channel, &m.Recipient, &m.Purpose, &m.Body, &m.Attempts); err != nil {
			return err
		}
		due = append(due, m)
		return nil
	}, `SELECT id, channel, recipient, purpose, body, attempts FROM notifications
		WHERE sent_at = '' AND attempts < $1 AND next_attempt_at <= $2 ORDER BY id LIMIT 100`, maxAttempts, db.FormatTime(now))
	if err != nil {
		return 0, fmt.Errorf("notify: read the outbox: %w", err)
	}
	sent := 0
	var errs []error
	for _, m := range due {
		sendErr := d.Sender.Send(ctx, m)
		err := d.DB.Write(ctx, func(tx *db.Tx) error {
			if sendErr == nil {
				_, err := tx.ExecContext(ctx, "UPDATE notifications SET sent_at = $1, attempts = attempts + 1, last_error = '' WHERE id = $2",
					db.FormatTime(tx.Now), m.ID)
				return err
			}
			// Back off 30 s, 1 min, 2 min … up to about 17 hours between tries.
			wait := 30 * time.Second << min(m.Attempts, 11)
			_, err := tx.ExecContext(ctx, "UPDATE notifications SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 WHERE id = $3",
				truncate(sendErr.Error(), 300), db.FormatTime(tx.Now.Add(wait)), m.ID)
			return err
		})
		if err != nil {
			return sent, fmt.Errorf("notify: record delivery: %w", err)
		}
		if sendErr != nil {
			errs = append(errs, fmt.Errorf("message %d to %s: %w", m.ID, MaskMobile(m.Recipient), sendErr))
			continue
		}
		sent++
	}
	return sent, errors.Join(errs...)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// To lists the messages sent to one recipient, newest first, for the demo's messages page.
func To(ctx context.Context, r db.Reader, recipient string, limit int) ([]Message, error) {
	return list(ctx, r, "WHERE recipient = $1 ORDER BY id DESC LIMIT $2", recipient, limit)
}

// Recent lists the newest messages of all recipients.
func Recent(ctx context.Context, r db.Reader, limit int) ([]Message, error) {
	return list(ctx, r, "ORDER BY id DESC LIMIT $1", limit)
}

func list(ctx context.Context, r db.Reader, where string, args ...any) ([]Message, error) {
	var out []Message
	err := db.EachRow(ctx, r, func(scan func(...any) error) error {
		var m Message
		var created, sent string
		if err := scan(&m.ID, &m.Channel, &m.Recipient, &m.Purpose, &m.Body, &created, &sent, &m.Attempts, &m.LastError); err != nil {
			return err
		}
		m.CreatedAt, _ = db.ParseTime(created)
		if sent != "" {
			m.SentAt, _ = db.ParseTime(sent)
		}
		out = append(out, m)
		return nil
	}, "SELECT id, channel, recipient, purpose, body, created_at, sent_at, attempts, last_error FROM notifications "+where, args...)
	if err != nil {
		return nil, fmt.Errorf("notify: list: %w", err)
	}
	return out, nil
}
