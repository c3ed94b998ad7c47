package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
	"golang.org/x/crypto/argon2"
)

// Passwords are hashed with argon2id (RFC 9106) at OWASP's recommended minimum: 19 MiB of memory,
// two passes, one lane. The parameters travel inside the encoded hash so they can be raised later
// without invalidating stored hashes.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	saltLen        = 16

	// maxArgonMemoryKiB bounds the memory a stored hash may ask for (1 GiB, far above any setting
	// shebao would choose).
	maxArgonMemoryKiB = 1 << 20
)

// MinPasswordLen is the shortest password a user may choose.
const MinPasswordLen = 10

// HashPassword returns the encoded argon2id hash of password.
func HashPassword(password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

var errBadHash = errors.New("auth: stored password hash is not in argon2id form")

// CheckPassword reports whether password matches the encoded hash, in constant time.
func CheckPassword(encoded, password string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var v int
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false, errBadHash
	}
	// argon2.IDKey panics on zero passes or lanes, and a corrupt memory figure could ask for
	// terabytes and kill the process, so such a hash is refused as malformed.
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || t < 1 || p < 1 || m > maxArgonMemoryKiB {
		return false, errBadHash
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false, errBadHash
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is checked against when a username does not exist, so that a wrong username takes as
// long as a wrong password and logins do not reveal which usernames exist.
var dummyHash = func() string {
	h, err := HashPassword("not a real password, only spends time")
	if err != nil {
		panic(err)
	}
	return h
}()

// GeneratePassword returns a random password of 16 characters from an alphabet without look-alikes.
func GeneratePassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// MinPasswordScore is the zxcvbn score (0–4) a chosen password must reach: 3 is "safely
// unguessable: moderate protection from an offline slow-hash scenario" (about 10^8 guesses and
// more), which argon2id at our parameters makes an offline attack on one stolen hash take years.
const MinPasswordScore = 3

// CheckStrength refuses a password that is short or easy to guess: common passwords, keyboard
// runs, repeats, dates, and the account's own name, by the zxcvbn estimator (Dropbox's, which
// knows the common-password and name lists).
func CheckStrength(password string, userInputs ...string) error {
	if utf8.RuneCountInString(password) < MinPasswordLen {
		return fmt.Errorf("at least %d characters", MinPasswordLen)
	}
	if len(password) > 200 {
		return fmt.Errorf("at most 200 characters")
	}
	if r := zxcvbn.PasswordStrength(password, userInputs); r.Score < MinPasswordScore {
		return fmt.Errorf("too easy to guess; use a longer phrase of unrelated words, or a password manager")
	}
	return nil
}
