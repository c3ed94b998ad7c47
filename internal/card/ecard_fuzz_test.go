package card

import (
	"encoding/base64"
	"strings"
	"testing"
)

// ParseQR reads what any phone camera hands the counter: it must never panic, and what it accepts
// has the form VerifyQR relies on.
func FuzzParseQR(f *testing.F) {
	b64 := base64.RawURLEncoding
	payload := `{"a":"330100202611000001","r":"330100","n":"0123456789abcdef0123456789abcdef","t":1795000000,"e":1795000060}`
	good := qrPrefix + b64.EncodeToString([]byte(payload)) + "." + b64.EncodeToString([]byte("signature")) + ".1"
	for _, s := range []string{good, good + ".2", strings.Replace(good, ".1", ".0", 1), qrPrefix, qrPrefix + "..", "SBQR1.e30.e30.1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		payload, p, sig, version, err := ParseQR(token)
		if err != nil {
			return
		}
		if len(token) > 2048 || !strings.HasPrefix(token, qrPrefix) || len(payload) == 0 || sig == nil {
			t.Fatalf("accepted %q", token)
		}
		if version < 1 || version > 255 || len(p.Region) != 6 || len(p.Nonce) != 32 || p.App == "" {
			t.Fatalf("accepted %q as %+v version %d", token, p, version)
		}
	})
}
