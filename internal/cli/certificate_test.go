package cli

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/shebao/shebao/internal/certificate"
	"github.com/shebao/shebao/internal/keys"
)

// TestCertificateVerifyOffline: `certificate verify` passes a certificate PDF signed with the key
// it is given, and refuses one with a changed byte of its data or checked with another key.
func TestCertificateVerifyOffline(t *testing.T) {
	dir := t.TempDir()
	key, _ := sm2.GenerateKey(rand.Reader)
	other, _ := sm2.GenerateKey(rand.Reader)
	writePEM := func(name string, k *sm2.PrivateKey) string {
		der, err := smx509.MarshalPKIXPublicKey(&k.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return file
	}
	pub, otherPub := writePEM("region.pem", key), writePEM("other.pem", other)
	d := certificate.Data{Format: 1, Serial: "330100202600000007", Kind: certificate.KindPerson, Region: "330100", BureauZH: "示范市人力资源和社会保障局",
		BureauEN: "Demo City Human Resources and Social Security Bureau", IssuedOn: "2026-12-02", ValidUntil: "2027-03-01", From: "202601", To: "202611",
		KeyVersion: 1, Person: &certificate.Person{Name: "李文静", IDMasked: "3301**********0012", Gender: "female"},
		Insurances: []certificate.Coverage{{Insurance: "pension", Months: 11, Periods: []string{"202601-202611"}, Payers: []string{"示范纺织有限公司"}, AmountFen: 2112000}}}
	signed, _ := json.Marshal(d)
	sig, err := key.SignWithSM2(rand.Reader, keys.SignerID(), signed)
	if err != nil {
		t.Fatal(err)
	}
	pdf, err := certificate.Render(certificate.Certificate{Data: d, Signature: sig}, "https://shebao.example/verify/"+d.Serial)
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.pdf")
	if err := os.WriteFile(good, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, nil, "", "certificate", "verify", "--public-key", pub, good)
	if code != 0 || !strings.Contains(out, "genuine: certificate 330100202600000007 of 李文静") {
		t.Fatalf("a genuine certificate: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := run(t, nil, "", "certificate", "verify", "--public-key", otherPub, good); code == 0 || !strings.Contains(errOut, "NOT GENUINE") {
		t.Errorf("checked with another key: %d %q", code, errOut)
	}
	// One byte of the data changed: a character of the payload's encoded data in the PDF.
	at := bytes.Index(pdf, []byte("shebao-certificate-1:")) + len("shebao-certificate-1:") + 40
	altered := bytes.Clone(pdf)
	if altered[at] == 'A' {
		altered[at] = 'B'
	} else {
		altered[at] = 'A'
	}
	bad := filepath.Join(dir, "bad.pdf")
	if err := os.WriteFile(bad, altered, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run(t, nil, "", "certificate", "verify", "--public-key", pub, bad); code == 0 || !strings.Contains(errOut, "NOT GENUINE") {
		t.Errorf("an altered certificate: %d %q", code, errOut)
	}
	if code, _, _ := run(t, nil, "", "certificate", "verify", good); code != 2 {
		t.Errorf("without --public-key: exit %d, want 2", code)
	}
}
