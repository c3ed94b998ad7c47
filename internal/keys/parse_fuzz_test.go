package keys

import (
	"crypto/rand"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// A component is what a custodian types: whatever is accepted is a whole key's worth of bytes.
func FuzzParseComponent(f *testing.F) {
	for _, s := range []string{"0123456789abcdeffedcba9876543210", "0123 4567 89ab cdef-fedc ba98 7654 3210", "0123", "zz23456789abcdeffedcba9876543210", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseComponent(s)
		if err == nil && len(b) != KeySize {
			t.Fatalf("%q gave %d bytes", s, len(b))
		}
	})
}

// The recipient of an exported key is a PEM the requester pastes: anything accepted is an SM2
// public key, and nothing panics.
func FuzzParseRecipient(f *testing.F) {
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	der, err := smx509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		f.Fatal(err)
	}
	good := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	for _, s := range []string{good, strings.Replace(good, "A", "B", 3), good[:len(good)/2], "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pub, err := parseRecipient(s)
		if err == nil && (pub == nil || !sm2.IsSM2PublicKey(pub)) {
			t.Fatalf("accepted %q as %v", s, pub)
		}
	})
}
