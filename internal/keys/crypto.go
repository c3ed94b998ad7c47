package keys

import (
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/emmansun/gmsm/sm4"
)

// KeySize is the size of every SM4 key: 128 bits.
const KeySize = 16

// KCV is a key check value: the first three bytes of SM4-encrypting a zero block under the key,
// in upper-case hex. It identifies a key (a custodian checks their component against it) without
// revealing it; the same construction payment HSMs use with DES and AES.
func KCV(key []byte) (string, error) {
	c, err := sm4.NewCipher(key)
	if err != nil {
		return "", err
	}
	var zero, out [KeySize]byte
	c.Encrypt(out[:], zero[:])
	return strings.ToUpper(hex.EncodeToString(out[:3])), nil
}

// ParseComponent reads a key component typed or pasted by a custodian: 32 hex digits, spaces and
// dashes allowed between groups.
func ParseComponent(s string) ([]byte, error) {
	clean := strings.NewReplacer(" ", "", "-", "", "\t", "").Replace(strings.TrimSpace(s))
	if len(clean) != 2*KeySize {
		return nil, errors.New("a component is 32 hexadecimal digits")
	}
	b, err := hex.DecodeString(clean)
	if err != nil {
		return nil, errors.New("a component is 32 hexadecimal digits")
	}
	return b, nil
}

// NewComponent makes a random component for one custodian, with its check value.
func NewComponent() (component, kcv string, err error) {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	defer zero(b)
	kcv, err = KCV(b)
	if err != nil {
		return "", "", err
	}
	h := strings.ToUpper(hex.EncodeToString(b))
	// Groups of four are easier to read aloud and copy by hand.
	var parts []string
	for i := 0; i < len(h); i += 4 {
		parts = append(parts, h[i:i+4])
	}
	return strings.Join(parts, " "), kcv, nil
}

// xorInto sets dst ^= src.
func xorInto(dst, src []byte) {
	for i := range dst {
		dst[i] ^= src[i]
	}
}

// zero overwrites key material. Go may have copied it elsewhere (the garbage collector moves
// nothing, but slices passed by value to libraries can be copied), so this narrows the window
// rather than closing it.
func zero(b []byte) {
	for i := range b {
		b[i] = 0
	}
}

func equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// wrap encrypts key material under a wrapping key with SM4-GCM. The additional data names what
// the key is (region, purpose, version), so a wrapped key moved to another row does not unwrap.
func wrap(kek, plain []byte, aad string) ([]byte, error) {
	g, err := gcm(kek)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, g.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return g.Seal(nonce, nonce, plain, []byte(aad)), nil
}

func unwrap(kek, wrapped []byte, aad string) ([]byte, error) {
	g, err := gcm(kek)
	if err != nil {
		return nil, err
	}
	if len(wrapped) < g.NonceSize()+g.Overhead() {
		return nil, errors.New("keys: wrapped key is too short")
	}
	plain, err := g.Open(nil, wrapped[:g.NonceSize()], wrapped[g.NonceSize():], []byte(aad))
	if err != nil {
		return nil, fmt.Errorf("keys: a stored key does not unwrap (altered, or under another master key): %w", err)
	}
	return plain, nil
}

func gcm(key []byte) (cipher.AEAD, error) {
	b, err := sm4.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// Diversify derives a card's own key from an issuer key and the card identification code
// (一卡一密). The diversification factor is the code's last eight bytes (chip serial and issuer
// sequence, unique per issuer); the card key is SM4(issuer key, factor ‖ NOT factor), the one-level
// SM4 diversification of PBOC 3.0. The official MOHRSS method (card specification §10.3) was not
// available; any issuer that has it can replace this function, and nothing else changes.
func Diversify(issuer cipher.Block, cardID [16]byte) [KeySize]byte {
	var in, out [KeySize]byte
	copy(in[:8], cardID[8:])
	for i := range 8 {
		in[8+i] = ^cardID[8+i]
	}
	issuer.Encrypt(out[:], in[:])
	return out
}

// SessionKey derives a session key from a card key and eight bytes of random data the same way.
func SessionKey(cardKey []byte, rnd [8]byte) ([KeySize]byte, error) {
	c, err := sm4.NewCipher(cardKey)
	if err != nil {
		return [KeySize]byte{}, err
	}
	var in, out [KeySize]byte
	copy(in[:8], rnd[:])
	for i := range 8 {
		in[8+i] = ^rnd[i]
	}
	c.Encrypt(out[:], in[:])
	return out, nil
}

func newCipher(key []byte) (cipher.Block, error) { return sm4.NewCipher(key) }
