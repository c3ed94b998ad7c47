package auth_test

import (
	"encoding/base32"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/auth"
)

// rfcSecret is the SHA-1 seed of RFC 6238 appendix B, the ASCII "12345678901234567890", in base32.
var rfcSecret = base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("12345678901234567890"))

// RFC 6238 appendix B, SHA-1 column; the 8-digit codes are truncated to their last 6 digits, which
// is what a 6-digit HOTP gives.
var rfcVectors = []struct {
	unix   int64
	eight  string
	digits string
}{
	{59, "94287082", "287082"},
	{1111111109, "07081804", "081804"},
	{1111111111, "14050471", "050471"},
	{1234567890, "89005924", "005924"},
	{2000000000, "69279037", "279037"},
	{20000000000, "65353130", "353130"},
}

func TestTOTPCodeRFC6238(t *testing.T) {
	if rfcSecret != "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" {
		t.Fatalf("base32 of the RFC seed = %q", rfcSecret)
	}
	for _, v := range rfcVectors {
		t.Run(v.eight, func(t *testing.T) {
			if !strings.HasSuffix(v.eight, v.digits) {
				t.Fatalf("bad vector: %s does not end in %s", v.eight, v.digits)
			}
			at := time.Unix(v.unix, 0).UTC()
			got, err := auth.TOTPCode(rfcSecret, at)
			if err != nil {
				t.Fatal(err)
			}
			if got != v.digits {
				t.Errorf("TOTPCode(T=%d) = %s, want %s", v.unix, got, v.digits)
			}
			if !auth.CheckTOTP(rfcSecret, v.digits, at) {
				t.Errorf("CheckTOTP(T=%d, %s) = false, want true", v.unix, v.digits)
			}
		})
	}
}

// Authenticator apps show secrets in lower case or in groups; both are the same secret.
func TestTOTPSecretSpelling(t *testing.T) {
	at := time.Unix(59, 0)
	for _, s := range []string{strings.ToLower(rfcSecret), "  " + rfcSecret + "\n"} {
		got, err := auth.TOTPCode(s, at)
		if err != nil || got != "287082" {
			t.Errorf("TOTPCode(%q) = %q, %v; want 287082", s, got, err)
		}
		if !auth.CheckTOTP(s, "287082", at) {
			t.Errorf("CheckTOTP(%q) = false, want true", s)
		}
	}
}

func TestTOTPBadSecret(t *testing.T) {
	for _, s := range []string{"not base32!", "GEZDGNBV1", "0000"} {
		if _, err := auth.TOTPCode(s, time.Unix(59, 0)); err == nil {
			t.Errorf("TOTPCode(%q) succeeded, want an error", s)
		}
		if auth.CheckTOTP(s, "287082", time.Unix(59, 0)) {
			t.Errorf("CheckTOTP(%q) = true, want false", s)
		}
	}
}

func TestCheckTOTPWindow(t *testing.T) {
	now := time.Unix(1111111111, 0)
	code := func(d time.Duration) string {
		t.Helper()
		c, err := auth.TOTPCode(rfcSecret, now.Add(d))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name string
		code string
		want bool
	}{
		{"this step", code(0), true},
		{"one step back", code(-30 * time.Second), true},
		{"one step ahead", code(30 * time.Second), true},
		{"two steps back", code(-60 * time.Second), false},
		{"two steps ahead", code(60 * time.Second), false},
		{"an hour later", code(time.Hour), false},
		{"empty", "", false},
		{"five digits", code(0)[1:], false},
		{"seven digits", "1" + code(0), false},
		{"eight-digit RFC form", "14050471", false},
		{"letters", "abcdef", false},
		{"spaced", code(0)[:3] + " " + code(0)[3:], false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := auth.CheckTOTP(rfcSecret, tc.code, now); got != tc.want {
				t.Errorf("CheckTOTP(%q) = %v, want %v", tc.code, got, tc.want)
			}
		})
	}
	// The neighbouring codes of the test must really differ from this step's, or the test proves
	// nothing.
	if code(-60*time.Second) == code(0) || code(60*time.Second) == code(0) {
		t.Fatal("neighbouring steps share a code; pick another instant")
	}
}

func TestNewTOTPSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		s := auth.NewTOTPSecret()
		b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
		if err != nil {
			t.Fatalf("NewTOTPSecret() = %q: %v", s, err)
		}
		if len(b) != 20 || len(s) != 32 {
			t.Fatalf("NewTOTPSecret() = %q: %d bytes, want 20 (160 bits)", s, len(b))
		}
		if seen[s] {
			t.Fatalf("NewTOTPSecret() repeated %q", s)
		}
		seen[s] = true
		if _, err := auth.TOTPCode(s, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTOTPURL(t *testing.T) {
	raw := auth.TOTPURL("社保 bureau", "alice", rfcSecret)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "otpauth" || u.Host != "totp" {
		t.Errorf("URL %q: scheme %q host %q, want otpauth://totp", raw, u.Scheme, u.Host)
	}
	if u.Path != "/社保 bureau:alice" {
		t.Errorf("URL %q: label %q, want /社保 bureau:alice", raw, u.Path)
	}
	q := u.Query()
	if q.Get("secret") != rfcSecret || q.Get("issuer") != "社保 bureau" {
		t.Errorf("URL %q: query %v", raw, q)
	}
	if strings.Contains(raw, " ") {
		t.Errorf("URL %q is not escaped", raw)
	}
}
