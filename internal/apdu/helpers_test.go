package apdu_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/apdu"
)

// The test card's keys. None of their hex forms contains the test PIN's digits.
var testKeys = apdu.CardKeys{
	InternalAuth: [16]byte{0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F, 0x10},
	ExternalAuth: [16]byte{0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x2D, 0x2E, 0x2F, 0x20},
	PIN:          [16]byte{0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E, 0x3F, 0x30},
	Transaction:  [16]byte{0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F, 0x40},
}

const testPIN = "739164"

// testATR has the historical bytes of a real card's ATR (domain facts 1.1) behind 3B 6D 00 00.
var testATR = mustHex("3B6D00000081544C9786843202AD932A48")

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func testIssuer() apdu.IssuerData {
	id, err := apdu.ParseCardID("320200D156000005AD932A48BDC3B9E9")
	if err != nil {
		panic(err)
	}
	return apdu.IssuerData{
		CardID:     id,
		CardType:   0x01,
		Version:    "3.00",
		IssueDate:  date(2024, 3, 15),
		ExpiryDate: date(2034, 3, 15),
		CardNumber: "B7K334774",
		KeyVersion: 2,
	}
}

func testHolder() apdu.HolderData {
	return apdu.HolderData{
		IDNumber:   "11010519491231002X",
		Name:       "王小明",
		Gender:     '1',
		Ethnicity:  1,
		BirthPlace: [3]byte{0x11, 0x01, 0x05},
		BirthDate:  date(1949, 12, 31),
	}
}

func personalization(tb testing.TB, issuer apdu.IssuerData, holder apdu.HolderData, keys apdu.CardKeys) apdu.Personalization {
	tb.Helper()
	ef06, err := holder.Records()
	if err != nil {
		tb.Fatal(err)
	}
	return apdu.Personalization{
		EF05:     issuer.Records(),
		EF06:     ef06,
		Keys:     keys,
		PIN:      testPIN,
		PINTries: 3,
		ATR:      bytes.Clone(testATR),
	}
}

// mustCard is a fresh personalised card with crypto/rand.
func mustCard(tb testing.TB) *apdu.SoftCard {
	tb.Helper()
	c, err := apdu.NewSoftCard(personalization(tb, testIssuer(), testHolder(), testKeys))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// counter is a predictable random source: 00 01 02 … FF 00 …
type counter struct{ n byte }

func (c *counter) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = c.n
		c.n++
	}
	return len(p), nil
}

// failing is a random source that has run dry.
type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

// send transmits an APDU written in hex and parses the answer.
func send(tb testing.TB, c apdu.Card, apduHex string) apdu.Response {
	tb.Helper()
	b, err := c.Transmit(context.Background(), mustHex(apduHex))
	if err != nil {
		tb.Fatalf("%s: %v", apduHex, err)
	}
	r, err := apdu.ParseResponse(b)
	if err != nil {
		tb.Fatalf("%s: %v", apduHex, err)
	}
	return r
}

// step is one command of a scenario and the status word (and, if given, data) expected.
type step struct {
	apdu string
	sw   uint16
	data string // hex; "" = do not check, "-" = must be empty
}

func runSteps(t *testing.T, c apdu.Card, steps []step) {
	t.Helper()
	for i, s := range steps {
		r := send(t, c, s.apdu)
		if r.SW != s.sw {
			t.Fatalf("step %d %s: SW %04X, want %04X", i+1, s.apdu, r.SW, s.sw)
		}
		switch s.data {
		case "":
		case "-":
			if len(r.Data) != 0 {
				t.Fatalf("step %d %s: data % X, want none", i+1, s.apdu, r.Data)
			}
		default:
			if want := mustHex(s.data); string(r.Data) != string(want) {
				t.Fatalf("step %d %s: data % X, want % X", i+1, s.apdu, r.Data, want)
			}
		}
	}
}

// APDUs of the scenarios.
const (
	selectSSSE = "00A404000F" + "7378312E73682EC9E7BBE1B1A3D5CF" + "00"
	selectEF05 = "00A4020002EF05"
	selectEF06 = "00A4020002EF06"
	getChal8   = "0084000008"
	verifyOK   = "0020000003739164"
	verifyBad  = "0020000003123456"
	verifyAsk  = "00200000"
)

// keyAuth is the test's key service: it knows the card keys directly.
type keyAuth struct {
	keys      apdu.CardKeys
	challenge [16]byte

	// what the terminal told it, for the test to check
	gotID      [16]byte
	gotVersion byte
}

var errNotGenuine = errors.New("card is not genuine")

func (a *keyAuth) Challenge(context.Context) ([16]byte, error) { return a.challenge, nil }

func (a *keyAuth) Verify(_ context.Context, id [16]byte, kv byte, challenge, answer [16]byte) error {
	a.gotID, a.gotVersion = id, kv
	if apdu.InternalAuthCryptogram(a.keys.InternalAuth, challenge) != answer {
		return errNotGenuine
	}
	return nil
}

func (a *keyAuth) ExternalAuth(_ context.Context, id [16]byte, kv byte, challenge [8]byte) ([16]byte, error) {
	a.gotID, a.gotVersion = id, kv
	return apdu.ExternalAuthCryptogram(a.keys.ExternalAuth, challenge), nil
}
