package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// TOTP is RFC 6238 with the parameters every authenticator app understands: HMAC-SHA1, six digits,
// 30-second steps. A code from the step before or after is accepted to allow for clock drift.

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewTOTPSecret returns a random 160-bit secret in base32.
func NewTOTPSecret() string {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b32.EncodeToString(b)
}

// TOTPCode returns the code for secret at time t.
func TOTPCode(secret string, t time.Time) (string, error) {
	key, err := b32.DecodeString(strings.ToUpper(strings.TrimSpace(secret)))
	if err != nil {
		return "", fmt.Errorf("auth: totp secret: %w", err)
	}
	return hotp(key, uint64(t.Unix()/30), 6), nil
}

func hotp(key []byte, counter uint64, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, v%mod)
}

// CheckTOTP reports whether code is valid for secret at t, one step either side.
func CheckTOTP(secret, code string, t time.Time) bool {
	_, ok := MatchTOTP(secret, code, t)
	return ok
}

// MatchTOTP is CheckTOTP that also says which 30-second step the code belongs to, so that a login
// can refuse a code whose step was used already.
func MatchTOTP(secret, code string, t time.Time) (int64, bool) {
	key, err := b32.DecodeString(strings.ToUpper(strings.TrimSpace(secret)))
	if err != nil || len(code) != 6 {
		return 0, false
	}
	now := t.Unix() / 30
	var step int64
	found := false
	for d := int64(-1); d <= 1; d++ {
		if subtle.ConstantTimeCompare([]byte(hotp(key, uint64(now+d), 6)), []byte(code)) == 1 {
			step, found = now+d, true
		}
	}
	return step, found
}

// TOTPURL is the otpauth:// URL an authenticator app reads from a QR code or a link.
func TOTPURL(issuer, username, secret string) string {
	v := url.Values{}
	v.Set("secret", secret)
	v.Set("issuer", issuer)
	return "otpauth://totp/" + url.PathEscape(issuer+":"+username) + "?" + v.Encode()
}
