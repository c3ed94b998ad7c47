package cli

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/shebao/shebao/internal/auth"
)

// secretKey reads the server's secret key (hex) from path, making the file with a new random key,
// readable by its owner only, when it does not exist yet. The key seals the TOTP secrets in the
// database, so the file must be backed up with the database but kept apart from its copies.
func secretKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := make([]byte, auth.SecretKeyLen)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("secret key: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return secretKey(path) // made by a process that started at the same moment
		}
		if err != nil {
			return nil, fmt.Errorf("secret key: %w", err)
		}
		if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
			f.Close()
			return nil, fmt.Errorf("secret key: %w", err)
		}
		return key, f.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != auth.SecretKeyLen {
		return nil, fmt.Errorf("secret key: %s must hold %d bytes in hex", path, auth.SecretKeyLen)
	}
	return key, nil
}
