package auth_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"

	"github.com/shebao/shebao/internal/auth"
)

// hashFor hashes once per test; argon2id at the production setting costs tens of milliseconds.
func hashFor(t *testing.T, password string) string {
	t.Helper()
	h, err := auth.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHashPasswordRoundTrip(t *testing.T) {
	const password = "correct horse battery staple"
	h := hashFor(t, password)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q does not carry the argon2id parameters", h)
	}
	if strings.Contains(h, password) {
		t.Errorf("hash %q contains the password", h)
	}
	tests := []struct {
		name     string
		password string
		want     bool
	}{
		{"right", password, true},
		{"wrong", "correct horse battery stapler", false},
		{"empty", "", false},
		{"case differs", "Correct horse battery staple", false},
		{"prefix", "correct horse", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := auth.CheckPassword(h, tc.password)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.want {
				t.Errorf("CheckPassword(%q) = %v, want %v", tc.password, ok, tc.want)
			}
		})
	}
}

func TestHashPasswordUnicode(t *testing.T) {
	const password = "社会保险密码🔑ünïcødé"
	h := hashFor(t, password)
	if ok, err := auth.CheckPassword(h, password); err != nil || !ok {
		t.Fatalf("CheckPassword = %v, %v; want true", ok, err)
	}
	if ok, err := auth.CheckPassword(h, "社会保险密码"); err != nil || ok {
		t.Fatalf("CheckPassword(prefix) = %v, %v; want false", ok, err)
	}
}

func TestHashPasswordIsSalted(t *testing.T) {
	const password = "same password twice"
	h1, h2 := hashFor(t, password), hashFor(t, password)
	if h1 == h2 {
		t.Fatalf("two hashes of one password are equal: %q", h1)
	}
	salt := func(h string) string { return strings.Split(h, "$")[4] }
	if salt(h1) == salt(h2) {
		t.Errorf("two hashes share the salt %q", salt(h1))
	}
	for _, h := range []string{h1, h2} {
		if ok, err := auth.CheckPassword(h, password); err != nil || !ok {
			t.Errorf("CheckPassword(%q) = %v, %v; want true", h, ok, err)
		}
	}
}

// The parameters travel in the hash: a hash made with other (here cheaper) parameters still verifies.
func TestCheckPasswordUsesStoredParameters(t *testing.T) {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte("old password"), salt, 1, 64, 1, 24)
	h := fmt.Sprintf("$argon2id$v=%d$m=64,t=1,p=1$%s$%s", argon2.Version,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
	if ok, err := auth.CheckPassword(h, "old password"); err != nil || !ok {
		t.Fatalf("CheckPassword = %v, %v; want true", ok, err)
	}
	if ok, err := auth.CheckPassword(h, "new password"); err != nil || ok {
		t.Fatalf("CheckPassword(wrong) = %v, %v; want false", ok, err)
	}
}

func TestCheckPasswordMalformedHash(t *testing.T) {
	salt := base64.RawStdEncoding.EncodeToString([]byte("0123456789abcdef"))
	key := base64.RawStdEncoding.EncodeToString(make([]byte, 32))
	good := func(params string) string { return "$argon2id$v=19$" + params + "$" + salt + "$" + key }
	tests := []struct {
		name, hash string
	}{
		{"empty", ""},
		{"plain text", "hunter2hunter2"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"too few parts", "$argon2id$v=19$m=19456,t=2,p=1$" + salt},
		{"too many parts", good("m=19456,t=2,p=1") + "$extra"},
		{"argon2i", "$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + key},
		{"no leading dollar", "argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key + "$"},
		{"old version", "$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key},
		{"version not a number", "$argon2id$v=x$m=19456,t=2,p=1$" + salt + "$" + key},
		{"parameters garbled", good("m=a,t=b,p=c")},
		{"parameters missing", good("")},
		{"negative memory", good("m=-1,t=2,p=1")},
		{"memory overflows", good("m=99999999999,t=2,p=1")},
		{"lanes overflow", good("m=19456,t=2,p=256")},
		{"zero passes", good("m=19456,t=0,p=1")},
		{"zero lanes", good("m=19456,t=2,p=0")},
		{"absurd memory", good("m=4294967295,t=2,p=1")},
		{"salt not base64", "$argon2id$v=19$m=19456,t=2,p=1$!!!$" + key},
		{"key not base64", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$***"},
		{"empty key", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("CheckPassword(%q) panicked: %v", tc.hash, p)
				}
			}()
			ok, err := auth.CheckPassword(tc.hash, "any password")
			if err == nil || ok {
				t.Errorf("CheckPassword(%q) = %v, %v; want false and an error", tc.hash, ok, err)
			}
		})
	}
}

func TestGeneratePassword(t *testing.T) {
	const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	seen := map[string]bool{}
	used := map[rune]bool{}
	for range 200 {
		p := auth.GeneratePassword()
		if len(p) != 16 {
			t.Fatalf("GeneratePassword() = %q, length %d; want 16", p, len(p))
		}
		if len(p) < auth.MinPasswordLen {
			t.Fatalf("GeneratePassword() = %q, shorter than MinPasswordLen %d", p, auth.MinPasswordLen)
		}
		for _, r := range p {
			if !strings.ContainsRune(alphabet, r) {
				t.Fatalf("GeneratePassword() = %q contains %q, outside the alphabet", p, r)
			}
			used[r] = true
		}
		if seen[p] {
			t.Fatalf("GeneratePassword() repeated %q", p)
		}
		seen[p] = true
	}
	for _, r := range "0O1lIio" {
		if used[r] {
			t.Errorf("look-alike %q was generated", r)
		}
	}
	// 3,200 draws from 55 characters: every character should have turned up.
	if len(used) != len(alphabet) {
		t.Errorf("only %d of %d alphabet characters were ever generated", len(used), len(alphabet))
	}
}
