package card

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/keys"
)

// The electronic social security card follows its physical card one to one: it exists only for an
// active card, and whatever happens to the card (loss, cancellation) happens to it. Its QR code is
// a token signed by the region's SM2 key, valid for 60 seconds and usable once:
//
//	SBQR1.<payload, base64url>.<signature, base64url>.<key version>
//
// The payload is JSON: {"a": application number, "r": region, "n": 16 random bytes in hex,
// "t": issued (Unix seconds), "e": expires}. An institution posts the scanned text to
// /api/v1/ecard/verify; nothing in the token is secret, and nothing in it can be changed unnoticed.

// QRValidity is how long a QR code can be scanned.
const QRValidity = 60 * time.Second

const qrPrefix = "SBQR1."

type qrPayload struct {
	App     string `json:"a"`
	Region  string `json:"r"`
	Nonce   string `json:"n"`
	Issued  int64  `json:"t"`
	Expires int64  `json:"e"`
}

// usableCard finds the resident's usable social security card.
func (s *Service) usableCard(ctx context.Context, by *auth.Principal) (Card, error) {
	cards, err := s.Mine(ctx, by)
	if err != nil {
		return Card{}, err
	}
	for _, c := range cards {
		if c.Kind == SocialSecurity && c.State.Usable() {
			return c, nil
		}
	}
	return Card{}, errs.E(errs.Conflict, "you have no active social security card; the electronic card follows an active card")
}

// SignUpECard opens the electronic card of the resident's active card.
func (s *Service) SignUpECard(ctx context.Context, by *auth.Principal) (Card, error) {
	c, err := s.usableCard(ctx, by)
	if err != nil {
		return Card{}, err
	}
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, "INSERT INTO ecards(card_id, signed_up_at) VALUES($1, $2) ON CONFLICT (card_id) DO NOTHING", c.ID, db.FormatTime(tx.Now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // already signed up: nothing to change
		}
		return audit.Record(ctx, tx, by.Actor(), "ecard.sign_up", cardObject(c), c.Region, nil)
	})
	return c, err
}

// HasECard reports whether the card has an electronic card.
func (s *Service) HasECard(ctx context.Context, cardID int64) (bool, error) {
	var n int
	err := s.db.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM ecards WHERE card_id = $1", cardID).Scan(&n)
	return n > 0, err
}

// QR makes a fresh QR token for the resident's electronic card.
func (s *Service) QR(ctx context.Context, by *auth.Principal) (string, time.Time, error) {
	c, err := s.usableCard(ctx, by)
	if err != nil {
		return "", time.Time{}, err
	}
	if ok, err := s.HasECard(ctx, c.ID); err != nil {
		return "", time.Time{}, err
	} else if !ok {
		return "", time.Time{}, errs.E(errs.Conflict, "sign up for the electronic card first")
	}
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return "", time.Time{}, err
	}
	now := s.now()
	exp := now.Add(QRValidity)
	payload, _ := json.Marshal(qrPayload{App: c.ApplicationNo, Region: c.Region, Nonce: hex.EncodeToString(nonce[:]), Issued: now.Unix(), Expires: exp.Unix()})
	sig, version, err := s.keys.Sign(ctx, c.Region, payload)
	if err != nil {
		return "", time.Time{}, err
	}
	b64 := base64.RawURLEncoding
	return qrPrefix + b64.EncodeToString(payload) + "." + b64.EncodeToString(sig) + "." + strconv.Itoa(version), exp, nil
}

// ScanResult is what an institution learns from a genuine QR code: enough to identify the card
// holder at the counter, with the ID number masked.
type ScanResult struct {
	ApplicationNo string
	CardNumber    string
	Name          string
	MaskedID      string
	Region        string
}

// ParseQR checks a token's form and returns its parts; it never panics on any input.
func ParseQR(token string) (payload []byte, p qrPayload, sig []byte, version int, err error) {
	bad := errs.Field("qr", "not a shebao electronic card code")
	if len(token) > 2048 || !strings.HasPrefix(token, qrPrefix) {
		return nil, p, nil, 0, bad
	}
	parts := strings.Split(strings.TrimPrefix(token, qrPrefix), ".")
	if len(parts) != 3 {
		return nil, p, nil, 0, bad
	}
	b64 := base64.RawURLEncoding
	if payload, err = b64.DecodeString(parts[0]); err != nil {
		return nil, p, nil, 0, bad
	}
	if sig, err = b64.DecodeString(parts[1]); err != nil {
		return nil, p, nil, 0, bad
	}
	if version, err = strconv.Atoi(parts[2]); err != nil || version < 1 || version > 255 {
		return nil, p, nil, 0, bad
	}
	if err := json.Unmarshal(payload, &p); err != nil || len(p.Region) != 6 || len(p.Nonce) != 32 || p.App == "" {
		return nil, p, nil, 0, bad
	}
	return payload, p, sig, version, nil
}

// ErrQRRefused is the answer for any QR code that is not genuine, unaltered and fresh.
var ErrQRRefused = errs.E(errs.Invalid, "the code is not genuine, or it was altered")

// VerifyQR checks a scanned QR code: the signature (with the published public key of the version
// named), the 60 seconds, that it was not scanned before, and that the card is still usable. A
// code passes once.
func (s *Service) VerifyQR(ctx context.Context, by *auth.Principal, token string) (ScanResult, error) {
	if err := by.Require(auth.VerifyECard); err != nil {
		return ScanResult{}, err
	}
	payload, p, sig, version, err := ParseQR(strings.TrimSpace(token))
	if err != nil {
		return ScanResult{}, err
	}
	pub, _, err := s.keys.PublicKeyPEM(ctx, p.Region, version)
	if err != nil {
		return ScanResult{}, ErrQRRefused
	}
	if err := keys.Verify(pub, payload, sig); err != nil {
		return ScanResult{}, ErrQRRefused
	}
	now := s.now()
	if now.Unix() > p.Expires || p.Expires-p.Issued > int64(QRValidity/time.Second) || p.Issued > now.Add(5*time.Second).Unix() {
		return ScanResult{}, errs.E(errs.Conflict, "the code has expired; ask for a fresh one")
	}
	var out ScanResult
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		c, err := scanCard(tx.QueryRowContext(ctx, "SELECT "+cardColumns+cardFrom+"WHERE c.application_no = $1", p.App))
		if err != nil {
			return ErrQRRefused
		}
		if !c.State.Usable() {
			return errs.E(errs.Conflict, "the card is %s; its electronic card cannot be used", c.State)
		}
		var e int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM ecards WHERE card_id = $1", c.ID).Scan(&e); err != nil || e == 0 {
			return ErrQRRefused
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO ecard_scans(nonce, card_id, scanned_by, scanned_at) VALUES($1, $2, $3, $4)",
			p.Nonce, c.ID, by.Username, db.FormatTime(tx.Now)); err != nil {
			if db.IsUniqueViolation(err) {
				return errs.E(errs.Conflict, "this code was already used; ask for a fresh one")
			}
			return err
		}
		out = ScanResult{ApplicationNo: c.ApplicationNo, CardNumber: c.CardNumber, Name: c.Name, MaskedID: c.IDNumber.Masked(), Region: c.Region}
		return audit.Record(ctx, tx, by.Actor(), "ecard.scan", cardObject(c), c.Region, nil)
	})
	if err != nil && !errors.Is(err, ErrQRRefused) {
		if _, ok := errs.As(err); !ok {
			return ScanResult{}, fmt.Errorf("card: verify QR: %w", err)
		}
	}
	return out, err
}
