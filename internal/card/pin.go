package card

import (
	"crypto/sha256"

	"github.com/shebao/shebao/internal/auth"
)

// hashPIN keeps a PIN the way passwords are kept: argon2id with a salt. A six-digit PIN has only a
// million values, so the slow hash and the try counter are what protect it.
func hashPIN(pin string) (string, error) { return auth.HashPassword(pin) }

func sha256sum(b []byte) [32]byte { return sha256.Sum256(b) }
