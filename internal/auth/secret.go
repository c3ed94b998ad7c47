package auth

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/emmansun/gmsm/sm4"

	"github.com/shebao/shebao/internal/db"
)

// TOTP secrets are stored sealed with SM4-GCM under the server's secret key (Options.SecretKey,
// read by the command line from its secret-key file), so that a copy of the database alone does not
// give anyone's second factor. The key service cannot hold this key: custodians log in, with their
// second factor, to unseal it.

// sealedPrefix marks a sealed value; a value without it is from before sealing, read as it is and
// sealed by SealStoredSecrets.
const sealedPrefix = "sm4gcm:"

// SecretKeyLen is the length of the secret key: one SM4 key.
const SecretKeyLen = 16

func newSecretAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != SecretKeyLen {
		return nil, fmt.Errorf("auth: the secret key is %d bytes; want %d", len(key), SecretKeyLen)
	}
	b, err := sm4.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func (s *Service) sealSecret(plain string) (string, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, []byte(plain), []byte("totp"))), nil
}

var errSecretKey = errors.New("auth: a stored TOTP secret does not open with this server's secret key (was the secret-key file changed?)")

func (s *Service) openSecret(stored string) (string, error) {
	enc, ok := strings.CutPrefix(stored, sealedPrefix)
	if !ok {
		return stored, nil
	}
	b, err := base64.RawStdEncoding.DecodeString(enc)
	n := s.aead.NonceSize()
	if err != nil || len(b) < n {
		return "", errSecretKey
	}
	plain, err := s.aead.Open(nil, b[:n], b[n:], []byte("totp"))
	if err != nil {
		return "", errSecretKey
	}
	return string(plain), nil
}

// SealStoredSecrets seals the TOTP secrets stored before sealing existed; the server calls it at
// start. It returns how many it sealed.
func (s *Service) SealStoredSecrets(ctx context.Context) (int, error) {
	n := 0
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		type row struct {
			id              int64
			secret, pending string
		}
		var rows []row
		err := db.EachRow(ctx, tx, func(scan func(...any) error) error {
			var r row
			if err := scan(&r.id, &r.secret, &r.pending); err != nil {
				return err
			}
			rows = append(rows, r)
			return nil
		}, "SELECT id, totp_secret, totp_pending FROM users WHERE (totp_secret <> '' AND totp_secret NOT LIKE 'sm4gcm:%') OR (totp_pending <> '' AND totp_pending NOT LIKE 'sm4gcm:%')")
		if err != nil {
			return fmt.Errorf("auth: seal secrets: %w", err)
		}
		for _, r := range rows {
			for _, v := range []*string{&r.secret, &r.pending} {
				if *v != "" && !strings.HasPrefix(*v, sealedPrefix) {
					if *v, err = s.sealSecret(*v); err != nil {
						return err
					}
				}
			}
			if _, err := tx.ExecContext(ctx, "UPDATE users SET totp_secret = $1, totp_pending = $2 WHERE id = $3", r.secret, r.pending, r.id); err != nil {
				return fmt.Errorf("auth: seal secrets: %w", err)
			}
			n++
		}
		return nil
	})
	return n, err
}
