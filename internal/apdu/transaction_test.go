package apdu_test

import (
	"bytes"
	"context"
	"crypto/cipher"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm4"

	"github.com/shebao/shebao/internal/apdu"
)

// testTransaction is 123.45 yuan at institution H33010200001 on 20 November 2026.
func testTransaction() apdu.TransactionData {
	var digest [32]byte
	for i := range digest {
		digest[i] = byte(i)
	}
	return apdu.TransactionData{Amount: 12345, Date: date(2026, 11, 20), Institution: "H33010200001",
		Unpredictable: [4]byte{0xDE, 0xAD, 0xBE, 0xEF}, Digest: digest}
}

// testTransactionHex is testTransaction encoded, written out field by field.
const testTransactionHex = "000000012345" + "20261120" + "483333303130323030303031" + "DEADBEEF" +
	"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"

// cryptogramAPDU is GENERATE TRANSACTION CRYPTOGRAM over data given in hex.
func cryptogramAPDU(dataHex string) string { return "80AE80003A" + dataHex + "00" }

var genTx = cryptogramAPDU(testTransactionHex)

func TestTransactionDataEncode(t *testing.T) {
	b, err := testTransaction().Encode()
	if err != nil {
		t.Fatal(err)
	}
	if want := mustHex(testTransactionHex); !bytes.Equal(b, want) || len(b) != apdu.TransactionDataLen || apdu.TransactionDataLen != 58 {
		t.Fatalf("encoded % X\nwant    % X", b, want)
	}
	back, err := apdu.ParseTransactionData(b)
	if err != nil || back != testTransaction() {
		t.Fatalf("parsed back %+v, %v", back, err)
	}
	// The extremes of every field encode.
	edge := testTransaction()
	edge.Amount, edge.Date, edge.Institution = apdu.MaxTransactionAmount, date(9999, 12, 31), " ~!\"#$%&'()*"
	if b, err := edge.Encode(); err != nil || hex.EncodeToString(b[:10]) != "99999999999999991231" {
		t.Fatalf("largest amount, last date: % X %v", b, err)
	}
	edge.Amount, edge.Date = 0, date(1, 1, 2)
	if b, err := edge.Encode(); err != nil || hex.EncodeToString(b[:10]) != "00000000000000010102" {
		t.Fatalf("zero amount, early date: % X %v", b, err)
	}

	shanghai := time.FixedZone("CST", 8*3600)
	tests := []struct {
		name   string
		change func(*apdu.TransactionData)
		want   error
	}{
		{"negative amount", func(d *apdu.TransactionData) { d.Amount = -1 }, apdu.ErrTransactionAmount},
		{"13-digit amount", func(d *apdu.TransactionData) { d.Amount = apdu.MaxTransactionAmount + 1 }, apdu.ErrTransactionAmount},
		{"zero date", func(d *apdu.TransactionData) { d.Date = time.Time{} }, apdu.ErrTransactionDate},
		{"an instant, not a date", func(d *apdu.TransactionData) { d.Date = d.Date.Add(time.Hour) }, apdu.ErrTransactionDate},
		{"midnight in Beijing", func(d *apdu.TransactionData) { d.Date = time.Date(2026, 11, 20, 0, 0, 0, 0, shanghai) }, apdu.ErrTransactionDate},
		{"year 10000", func(d *apdu.TransactionData) { d.Date = date(10000, 1, 1) }, apdu.ErrTransactionDate},
		{"year 0", func(d *apdu.TransactionData) { d.Date = date(0, 6, 1) }, apdu.ErrTransactionDate},
		{"11 characters", func(d *apdu.TransactionData) { d.Institution = "H3301020000" }, apdu.ErrTransactionInstitution},
		{"13 characters", func(d *apdu.TransactionData) { d.Institution = "H330102000011" }, apdu.ErrTransactionInstitution},
		{"empty institution", func(d *apdu.TransactionData) { d.Institution = "" }, apdu.ErrTransactionInstitution},
		{"Chinese", func(d *apdu.TransactionData) { d.Institution = "H3301医院01" }, apdu.ErrTransactionInstitution},
		{"control character", func(d *apdu.TransactionData) { d.Institution = "H3301020000\n" }, apdu.ErrTransactionInstitution},
		{"DEL", func(d *apdu.TransactionData) { d.Institution = "H3301020000\x7F" }, apdu.ErrTransactionInstitution},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := testTransaction()
			tc.change(&d)
			if _, err := d.Encode(); !errors.Is(err, tc.want) {
				t.Fatalf("Encode: %v, want %v", err, tc.want)
			}
			if _, err := apdu.Cryptogram(testKeys.Transaction, 1, d); !errors.Is(err, tc.want) {
				t.Fatalf("Cryptogram: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestParseTransactionDataRefuses(t *testing.T) {
	good := testTransactionHex
	tests := []struct {
		name, in string
		want     error
	}{
		{"57 bytes", good[:len(good)-2], apdu.ErrTransactionData},
		{"59 bytes", good + "00", apdu.ErrTransactionData},
		{"amount not BCD", "00000001234A" + good[12:], apdu.ErrTransactionData},
		{"date not BCD", good[:12] + "2026112F" + good[20:], apdu.ErrTransactionData},
		{"30 February", good[:12] + "20260230" + good[20:], apdu.ErrTransactionDate},
		{"month 13", good[:12] + "20261320" + good[20:], apdu.ErrTransactionDate},
		{"year 0", good[:12] + "00000101" + good[20:], apdu.ErrTransactionDate},
		{"the zero time", good[:12] + "00010101" + good[20:], apdu.ErrTransactionDate},
		{"institution with a NUL", good[:20] + "00" + good[22:], apdu.ErrTransactionInstitution},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := apdu.ParseTransactionData(mustHex(tc.in)); !errors.Is(err, tc.want) {
				t.Fatalf("%v, want %v", err, tc.want)
			}
		})
	}
}

// independentCryptogram computes the transaction cryptogram from the SM4 primitive and the
// standard library's CBC mode, without the package's code: the session key, padding method 2, the
// last CBC block, its first 8 bytes.
func independentCryptogram(t *testing.T, key [16]byte, atc uint16, data []byte) [8]byte {
	t.Helper()
	kc, err := sm4.NewCipher(key[:])
	if err != nil {
		t.Fatal(err)
	}
	sk := make([]byte, 16)
	kc.Encrypt(sk, append(make([]byte, 14), byte(atc>>8), byte(atc)))
	msg := append(append(bytes.Clone(data), byte(atc>>8), byte(atc)), 0x80)
	msg = append(msg, make([]byte, (16-len(msg)%16)%16)...)
	sc, err := sm4.NewCipher(sk)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, len(msg))
	cipher.NewCBCEncrypter(sc, make([]byte, 16)).CryptBlocks(out, msg)
	return [8]byte(out[len(out)-16:])
}

func TestTransactionCryptogramVector(t *testing.T) {
	// The SM4 primitive is the standard one (GB/T 32907-2016, appendix A.1).
	std := mustHex("0123456789ABCDEFFEDCBA9876543210")
	c, _ := sm4.NewCipher(std)
	out := make([]byte, 16)
	c.Encrypt(out, std)
	if hex.EncodeToString(out) != "681edf34d206965e86b3e94f536e4246" {
		t.Fatalf("SM4 standard vector: %x", out)
	}

	key := [16]byte(std)
	data := mustHex(testTransactionHex)
	for _, atc := range []uint16{1, 2, 0x0100, 0xFFFF} {
		want := independentCryptogram(t, key, atc, data)
		got, err := apdu.Cryptogram(key, atc, testTransaction())
		if err != nil || got != want {
			t.Fatalf("ATC %04X: cryptogram % X, %v; independently % X", atc, got, err, want)
		}
	}
	// The bytes themselves, so that a change to both implementations at once is seen too.
	got, _ := apdu.Cryptogram(key, 1, testTransaction())
	if h := strings.ToUpper(hex.EncodeToString(got[:])); h != pinnedCryptogram {
		t.Fatalf("cryptogram for ATC 0001 is %s, pinned %s", h, pinnedCryptogram)
	}
	sk := apdu.TransactionSessionKey(key, 1)
	c.Encrypt(out, append(make([]byte, 15), 1))
	if !bytes.Equal(sk[:], out) {
		t.Fatalf("session key % X, want % X", sk, out)
	}
}

// pinnedCryptogram is the cryptogram under key 0123…3210, ATC 0001, over testTransaction, as
// OpenSSL 3's SM4 computes it too: the session key is
//
//	printf 00000000000000000000000000000001 | xxd -r -p | openssl enc -sm4-ecb -K 0123456789ABCDEFFEDCBA9876543210 -nopad
//
// (4E595BF03F23BD10329BAF5698E898EC), and the cryptogram the first 8 bytes of the last block of
// openssl enc -sm4-cbc -K <session key> -iv 0 -nopad over testTransactionHex ‖ 0001 ‖ 80000000.
const pinnedCryptogram = "1230EC3A7AFB10D1"

func TestSoftCardTransactionCryptogram(t *testing.T) {
	want := func(atc uint16) string { return cardAnswer(t, atc) }
	notBCD := cryptogramAPDU("0000000123A5" + testTransactionHex[12:])
	tests := []struct {
		name  string
		steps []step
	}{
		{"before selection", []step{{verifyOK, apdu.SWConditionsNotSatisfied, "-"}, {genTx, apdu.SWConditionsNotSatisfied, "-"}}},
		{"without the PIN", []step{{selectSSSE, apdu.SWOK, ""}, {genTx, apdu.SWSecurityNotSatisfied, "-"}}},
		{"after a wrong PIN", []step{{selectSSSE, apdu.SWOK, ""}, {verifyBad, 0x63C2, ""}, {genTx, apdu.SWSecurityNotSatisfied, "-"}}},
		{"counter goes up from 1", []step{
			{selectSSSE, apdu.SWOK, ""}, {verifyOK, apdu.SWOK, ""},
			{genTx, apdu.SWOK, want(1)},
			{genTx, apdu.SWOK, want(2)},
			{genTx[:len(genTx)-2], apdu.SWOK, want(3)}, // Le absent
		}},
		{"a new session needs the PIN again", []step{
			{selectSSSE, apdu.SWOK, ""}, {verifyOK, apdu.SWOK, ""}, {genTx, apdu.SWOK, want(1)},
			{selectSSSE, apdu.SWOK, ""}, {genTx, apdu.SWSecurityNotSatisfied, "-"},
			{verifyOK, apdu.SWOK, ""}, {genTx, apdu.SWOK, want(2)},
		}},
		{"refusals do not count", []step{
			{selectSSSE, apdu.SWOK, ""}, {verifyOK, apdu.SWOK, ""},
			{"80AE00003A" + testTransactionHex + "00", apdu.SWIncorrectP1P2, "-"}, // P1 00 (AAC)
			{"80AE40003A" + testTransactionHex + "00", apdu.SWIncorrectP1P2, "-"}, // P1 40 (TC)
			{"80AE80013A" + testTransactionHex + "00", apdu.SWIncorrectP1P2, "-"},
			{"80AE800039" + testTransactionHex[:114] + "00", apdu.SWWrongLength, "-"},
			{"80AE80003B" + testTransactionHex + "0000", apdu.SWWrongLength, "-"},
			{"80AE800000", apdu.SWWrongLength, "-"},
			{"80AE8000", apdu.SWWrongLength, "-"},
			{"00AE80003A" + testTransactionHex + "00", apdu.SWClaNotSupported, "-"},
			{notBCD, apdu.SWWrongData, "-"},
			{genTx[:len(genTx)-2] + "09", apdu.SWWrongLe(10), "-"},
			{"80AE80003A" + testTransactionHex, apdu.SWOK, want(1)},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runSteps(t, mustCard(t), tc.steps) })
	}
	t.Run("a card without a transaction key", func(t *testing.T) {
		k := testKeys
		k.Transaction = [16]byte{}
		c, err := apdu.NewSoftCard(personalization(t, testIssuer(), testHolder(), k))
		if err != nil {
			t.Fatal(err)
		}
		runSteps(t, c, []step{{selectSSSE, apdu.SWOK, ""}, {verifyOK, apdu.SWOK, ""}, {genTx, apdu.SWConditionsNotSatisfied, "-"},
			{verifyAsk, apdu.SWOK, "-"}}) // the rest of the card works
	})
}

func TestSoftCardCounterPersists(t *testing.T) {
	c := mustCard(t)
	runSteps(t, c, []step{{selectSSSE, apdu.SWOK, ""}, {verifyOK, apdu.SWOK, ""}, {genTx, apdu.SWOK, ""}, {genTx, apdu.SWOK, ""}})
	saved := save(t, c)
	var s struct {
		Version int
		ATC     int
		Keys    struct{ Transaction string }
	}
	if err := json.Unmarshal(saved, &s); err != nil || s.Version != 2 || s.ATC != 2 ||
		s.Keys.Transaction != strings.ToUpper(hex.EncodeToString(testKeys.Transaction[:])) {
		t.Fatalf("saved %+v, %v", s, err)
	}
	d := load(t, saved)
	r := runAndGet(t, d, selectSSSE, verifyOK, genTx)
	if r.Data[0] != 0 || r.Data[1] != 3 {
		t.Fatalf("after loading, the next counter is %X, want 0003", r.Data[:2])
	}

	// The counter stops at FFFF: the last value is used once, then the card refuses for good.
	last := bytes.Replace(saved, []byte(`"atc": 2`), []byte(`"atc": 65534`), 1)
	e := load(t, last)
	runSteps(t, e, []step{{selectSSSE, apdu.SWOK, ""}, {verifyOK, apdu.SWOK, ""},
		{genTx, apdu.SWOK, cardAnswer(t, 0xFFFF)},
		{genTx, apdu.SWConditionsNotSatisfied, "-"}})
	again := load(t, save(t, e))
	runSteps(t, again, []step{{selectSSSE, apdu.SWOK, ""}, {verifyOK, apdu.SWOK, ""}, {genTx, apdu.SWConditionsNotSatisfied, "-"}})
}

// cardAnswer is the test card's answer to genTx at counter atc, in hex: ATC ‖ cryptogram.
func cardAnswer(t *testing.T, atc uint16) string {
	c := independentCryptogram(t, testKeys.Transaction, atc, mustHex(testTransactionHex))
	return hex.EncodeToString([]byte{byte(atc >> 8), byte(atc)}) + hex.EncodeToString(c[:])
}

// runAndGet sends APDUs that must all succeed and returns the last answer.
func runAndGet(t *testing.T, c apdu.Card, apdus ...string) apdu.Response {
	t.Helper()
	var r apdu.Response
	for _, a := range apdus {
		if r = send(t, c, a); !r.OK() {
			t.Fatalf("%s: %04X", a, r.SW)
		}
	}
	return r
}

// A card file written before transaction keys existed (version 1) still loads and works, cannot
// make cryptograms, and is saved as version 2 without a transaction key.
func TestLoadVersion1Card(t *testing.T) {
	old, err := os.ReadFile("testdata/card-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	c := load(t, old)
	runSteps(t, c, []step{
		{selectSSSE, apdu.SWOK, ""}, {verifyOK, apdu.SWOK, ""},
		{genTx, apdu.SWConditionsNotSatisfied, "-"},
		{selectEF05, apdu.SWOK, ""}, {"00B2010400", apdu.SWOK, "0110320200D156000005AD932A48BDC3B9E9"},
	})
	saved := save(t, c)
	if !bytes.Contains(saved, []byte(`"version": 2`)) || bytes.Contains(saved, []byte(`"transaction"`)) || !bytes.Contains(saved, []byte(`"atc": 0`)) {
		t.Fatalf("a version 1 card saved as\n%s", saved)
	}
	runSteps(t, load(t, saved), []step{{selectSSSE, apdu.SWOK, ""}, {verifyOK, apdu.SWOK, ""}, {genTx, apdu.SWConditionsNotSatisfied, "-"}})
	if _, _, err := (&apdu.Terminal{Card: c}).TransactionCryptogram(context.Background(), testTransaction()); !isSW(err, apdu.SWConditionsNotSatisfied) {
		t.Fatalf("terminal on a version 1 card: %v", err)
	}
}

func isSW(err error, sw uint16) bool {
	var se *apdu.StatusError
	return errors.As(err, &se) && se.SW == sw
}

func TestTerminalTransactionCryptogram(t *testing.T) {
	ctx := context.Background()
	card := mustCard(t)
	term := &apdu.Terminal{Card: card}

	// Without the PIN the card refuses.
	if err := term.SelectSSSE(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := term.TransactionCryptogram(ctx, testTransaction()); !isSW(err, apdu.SWSecurityNotSatisfied) {
		t.Fatalf("without PIN: %v", err)
	}
	var se *apdu.StatusError
	_, _, err := term.TransactionCryptogram(ctx, testTransaction())
	if !errors.As(err, &se) || se.Command != "GENERATE TRANSACTION CRYPTOGRAM" {
		t.Fatalf("the error names the command: %v", err)
	}

	if err := term.VerifyPIN(ctx, testPIN); err != nil {
		t.Fatal(err)
	}
	for want := uint16(1); want <= 3; want++ {
		d := testTransaction()
		d.Amount += int64(want)
		atc, crypt, err := term.TransactionCryptogram(ctx, d)
		if err != nil || atc != want {
			t.Fatalf("cryptogram %d: ATC %d, %v", want, atc, err)
		}
		if exp, _ := apdu.Cryptogram(testKeys.Transaction, atc, d); crypt != exp {
			t.Fatalf("ATC %d: card % X, Cryptogram % X", atc, crypt, exp)
		}
	}

	// Pay does the whole card side in one session.
	p, err := (&apdu.Terminal{Card: card}).Pay(ctx, testPIN, testTransaction())
	if err != nil || p.ATC != 4 || p.CardID != testIssuer().CardID || p.KeyVersion != 2 {
		t.Fatalf("pay: %+v %v", p, err)
	}
	if exp, _ := apdu.Cryptogram(testKeys.Transaction, 4, testTransaction()); p.Cryptogram != exp {
		t.Fatalf("pay: cryptogram % X, want % X", p.Cryptogram, exp)
	}
	if _, err := (&apdu.Terminal{Card: card}).Pay(ctx, "000000", testTransaction()); !isSW(err, 0x63C2) {
		t.Fatalf("pay with a wrong PIN: %v", err)
	}
	if p, err := (&apdu.Terminal{Card: card}).Pay(ctx, testPIN, testTransaction()); err != nil || p.ATC != 5 {
		t.Fatalf("a wrong PIN made no cryptogram: %+v %v", p, err)
	}

	// Data that does not encode is refused before anything is sent.
	counting := &rewriteCard{inner: card}
	bad := testTransaction()
	bad.Institution = "short"
	if _, _, err := (&apdu.Terminal{Card: counting}).TransactionCryptogram(ctx, bad); !errors.Is(err, apdu.ErrTransactionInstitution) || counting.sent != 0 {
		t.Fatalf("bad institution: %v, %d APDUs sent", err, counting.sent)
	}
	if _, err := (&apdu.Terminal{Card: counting}).Pay(ctx, testPIN, bad); !errors.Is(err, apdu.ErrTransactionInstitution) || counting.sent != 0 {
		t.Fatalf("pay with a bad institution: %v, %d APDUs sent", err, counting.sent)
	}
	if _, err := (&apdu.Terminal{Card: counting}).Pay(ctx, "12345", testTransaction()); !errors.Is(err, apdu.ErrPINFormat) || counting.sent != 0 {
		t.Fatalf("pay with a 5-digit PIN: %v, %d APDUs sent", err, counting.sent)
	}
}

func TestTerminalTransactionCryptogramBadAnswers(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		resp string
	}{
		{"short", "0001AABBCCDDEEFF009000"},
		{"long", "0001AABBCCDDEEFF00112233" + "9000"},
		{"counter 0", "0000AABBCCDDEEFF00119000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := (&apdu.Terminal{Card: scripted{resp: mustHex(tc.resp)}}).TransactionCryptogram(ctx, testTransaction())
			var se *apdu.StatusError
			if err == nil || errors.As(err, &se) {
				t.Fatalf("answer %s: %v", tc.resp, err)
			}
		})
	}
	if atc, c, err := (&apdu.Terminal{Card: scripted{resp: mustHex("0102AABBCCDDEEFF00119000")}}).TransactionCryptogram(ctx, testTransaction()); err != nil ||
		atc != 0x0102 || hex.EncodeToString(c[:]) != "aabbccddeeff0011" {
		t.Fatalf("a good answer: %04X % X %v", atc, c, err)
	}
}
