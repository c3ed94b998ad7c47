package keys

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/emmansun/gmsm/sm4"
)

// The SM4 test vector of GB/T 32907-2016 Appendix A, to be sure the library is SM4.
func TestSM4Vector(t *testing.T) {
	key, _ := hex.DecodeString("0123456789abcdeffedcba9876543210")
	want, _ := hex.DecodeString("681edf34d206965e86b3e94f536e4246")
	c, err := sm4.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 16)
	c.Encrypt(out, key)
	if !bytes.Equal(out, want) {
		t.Fatalf("SM4 = %x; want %x", out, want)
	}
}

func TestKCVAndComponents(t *testing.T) {
	key, _ := hex.DecodeString("0123456789abcdeffedcba9876543210")
	kcv, err := KCV(key)
	if err != nil || len(kcv) != 6 {
		t.Fatalf("KCV = %q, %v", kcv, err)
	}
	// KCV of a key is the first three bytes of SM4(key, 0…0).
	c, _ := sm4.NewCipher(key)
	z, out := make([]byte, 16), make([]byte, 16)
	c.Encrypt(out, z)
	if kcv != hex.EncodeToString(out[:3]) && kcv != bytesUpper(out[:3]) {
		t.Fatalf("KCV = %s; want %X", kcv, out[:3])
	}
	comp, ckcv, err := NewComponent()
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseComponent(comp)
	if err != nil {
		t.Fatal(err)
	}
	if k, _ := KCV(b); k != ckcv {
		t.Fatalf("component KCV %s; printed %s", k, ckcv)
	}
	for _, bad := range []string{"", "12", "zz" + comp[2:], comp + "00"} {
		if _, err := ParseComponent(bad); err == nil {
			t.Errorf("ParseComponent(%q) accepted", bad)
		}
	}
}

func bytesUpper(b []byte) string {
	const h = "0123456789ABCDEF"
	out := make([]byte, 0, 2*len(b))
	for _, x := range b {
		out = append(out, h[x>>4], h[x&15])
	}
	return string(out)
}

func TestWrapBindsMetadata(t *testing.T) {
	kek := bytes.Repeat([]byte{7}, 16)
	plain := bytes.Repeat([]byte{9}, 16)
	w, err := wrap(kek, plain, "330100|internal_auth|1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(w, plain) {
		t.Fatal("wrapped key contains the plain key")
	}
	got, err := unwrap(kek, w, "330100|internal_auth|1")
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("unwrap = %x, %v", got, err)
	}
	if _, err := unwrap(kek, w, "330100|external_auth|1"); err == nil {
		t.Fatal("a key unwrapped under another purpose")
	}
	w[len(w)-1] ^= 1
	if _, err := unwrap(kek, w, "330100|internal_auth|1"); err == nil {
		t.Fatal("an altered wrapped key unwrapped")
	}
}

func TestDiversifyIsPerCard(t *testing.T) {
	c, _ := sm4.NewCipher(bytes.Repeat([]byte{1}, 16))
	var a, b [16]byte
	copy(a[:], bytes.Repeat([]byte{0x33}, 16))
	b = a
	b[15] ^= 1
	ka, kb := Diversify(c, a), Diversify(c, b)
	if ka == kb {
		t.Fatal("two cards got the same key")
	}
	if Diversify(c, a) != ka {
		t.Fatal("diversification is not deterministic")
	}
}
