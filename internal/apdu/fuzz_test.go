package apdu_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/apdu"
)

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		"", "00", "00A404", "00A40000", "0084000008", "00B2010400", "00A4020002EF05",
		"0088000002AABB10", "805E010001FF00", "00B20104000100", "00A4040000AA", "00A404000000",
		"00A4040005AABBCC", "00A4020002EF050000", selectSSSE,
		"00DA0000FF" + string(bytes.Repeat([]byte("AB"), 255)) + "00",
	} {
		f.Add(mustHex(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := apdu.ParseCommand(b)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed command is not valid: %v", err)
		}
		if got := c.Bytes(); !bytes.Equal(got, b) {
			t.Fatalf("re-encoded % X, parsed from % X", got, b)
		}
	})
}

// apduSequence frames APDUs for FuzzSoftCard: each is preceded by its length in one byte.
func apduSequence(apdus ...string) []byte {
	var out []byte
	for _, a := range apdus {
		b := mustHex(a)
		out = append(out, byte(len(b)))
		out = append(out, b...)
	}
	return out
}

// splitSequence undoes apduSequence on any bytes; a short last frame is taken as it is.
func splitSequence(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		n := int(b[0])
		b = b[1:]
		n = min(n, len(b))
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

// allowedSW reports whether sw is one the SoftCard is documented to answer.
func allowedSW(sw uint16) bool {
	switch sw {
	case apdu.SWOK, apdu.SWAuthFailed, apdu.SWWrongLength, apdu.SWSecurityNotSatisfied, apdu.SWAuthBlocked,
		apdu.SWConditionsNotSatisfied, apdu.SWNoCurrentEF, apdu.SWWrongData, apdu.SWFileNotFound,
		apdu.SWRecordNotFound, apdu.SWIncorrectP1P2, apdu.SWInsNotSupported, apdu.SWClaNotSupported:
		return true
	}
	return sw&0xFFF0 == 0x63C0 && sw != 0x63C0 || sw&0xFF00 == 0x6C00
}

func FuzzSoftCard(f *testing.F) {
	// The fuzzed card draws from counter, so its first 8-byte challenge is 10..17 and a seed can
	// hold the right EXTERNAL AUTHENTICATE and reach EF06.
	good := extAuthAPDU(testKeys.ExternalAuth, firstChallenge)
	seeds := [][]string{
		{selectSSSE, selectEF05, "00B2010400", "00B2070400", "00B2200405", "00B2040400"},
		{selectSSSE, getChal8, good, selectEF06, "00B2090400", "00B24E0400", "00B20D0400"},
		{selectSSSE, verifyBad, verifyBad, verifyBad, verifyOK, verifyAsk},
		{selectSSSE, "805E010007739164FF246810", "0020000003246810", "0020000003739164A0"},
		{selectSSSE, "0088000010000102030405060708090A0B0C0D0E0F08", "0084000004", good, "00A40000023F00"},
		{"", "00", "00A404000000", "00B20104000100", "FFFFFFFF", "80A40400", "00CA000000"},
		{selectSSSE, genTx, verifyOK, genTx, genTx[:len(genTx)-2], genTx[:len(genTx)-2] + "05", selectSSSE, genTx},
		{selectSSSE, verifyOK, "80AE00003A" + testTransactionHex + "00", "80AE800039" + testTransactionHex[:114], "80AE800000",
			cryptogramAPDU("99999999999999991231" + testTransactionHex[20:]), cryptogramAPDU("0000000123A5" + testTransactionHex[12:])},
	}
	for _, s := range seeds {
		f.Add(apduSequence(s...))
	}
	p := personalization(f, testIssuer(), testHolder(), testKeys)
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := apdu.NewSoftCardWithRand(p, &counter{})
		if err != nil {
			t.Fatal(err)
		}
		var lastATC uint16
		for _, cmd := range splitSequence(in) {
			out, err := c.Transmit(context.Background(), cmd)
			if err != nil {
				t.Fatalf("% X: %v", cmd, err)
			}
			if len(out) < 2 {
				t.Fatalf("% X: answer % X has no status word", cmd, out)
			}
			r, _ := apdu.ParseResponse(out)
			if _, perr := apdu.ParseCommand(cmd); perr != nil && !bytes.Equal(out, []byte{0x67, 0x00}) {
				t.Fatalf("% X is malformed but got % X, want 6700", cmd, out)
			}
			if !allowedSW(r.SW) {
				t.Fatalf("% X: status word %04X is not one the card answers", cmd, r.SW)
			}
			if len(r.Data) > 0 && !r.OK() || len(r.Data) > apdu.MaxLe {
				t.Fatalf("% X: %d data bytes with %04X", cmd, len(r.Data), r.SW)
			}
			checkTransactionAnswer(t, cmd, r, &lastATC)
		}
	})
}

// checkTransactionAnswer: a cryptogram the card makes is over well-formed data, at the next
// counter value, and is the one Cryptogram computes.
func checkTransactionAnswer(t *testing.T, cmd []byte, r apdu.Response, lastATC *uint16) {
	t.Helper()
	c, err := apdu.ParseCommand(cmd)
	if err != nil || c.INS != 0xAE || !r.OK() {
		return
	}
	d, err := apdu.ParseTransactionData(c.Data)
	if c.CLA != 0x80 || c.P1 != 0x80 || c.P2 != 0 || err != nil || len(r.Data) != 10 {
		t.Fatalf("% X answered % X: data %v", cmd, r.Bytes(), err)
	}
	atc := uint16(r.Data[0])<<8 | uint16(r.Data[1])
	if atc != *lastATC+1 {
		t.Fatalf("% X: counter %d after %d", cmd, atc, *lastATC)
	}
	*lastATC = atc
	if want, _ := apdu.Cryptogram(testKeys.Transaction, atc, d); !bytes.Equal(r.Data[2:], want[:]) {
		t.Fatalf("% X: cryptogram % X, want % X", cmd, r.Data[2:], want)
	}
}

// What parses encodes back to the same bytes; what does not parse is refused with a named error.
func FuzzParseTransactionData(f *testing.F) {
	for _, s := range []string{testTransactionHex, "99999999999999991231" + testTransactionHex[20:],
		"000000000000" + "00010101" + testTransactionHex[20:], "000000000000" + "20240229" + testTransactionHex[20:],
		"0000000123A5" + testTransactionHex[12:], testTransactionHex[:20] + strings.Repeat("FF", 12) + testTransactionHex[44:], ""} {
		f.Add(mustHex(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := apdu.ParseTransactionData(b)
		if err != nil {
			for _, named := range []error{apdu.ErrTransactionData, apdu.ErrTransactionAmount, apdu.ErrTransactionDate, apdu.ErrTransactionInstitution} {
				if errors.Is(err, named) {
					return
				}
			}
			t.Fatalf("% X: unnamed error %v", b, err)
		}
		back, err := d.Encode()
		if err != nil || !bytes.Equal(back, b) {
			t.Fatalf("% X parsed as %+v, encodes to % X, %v", b, d, back, err)
		}
	})
}

func FuzzLoadSoftCard(f *testing.F) {
	var buf bytes.Buffer
	c, err := apdu.NewSoftCardWithRand(personalization(f, testIssuer(), testHolder(), testKeys), &counter{})
	if err != nil {
		f.Fatal(err)
	}
	if err := c.Save(&buf); err != nil {
		f.Fatal(err)
	}
	saved := buf.Bytes()
	f.Add(saved)
	f.Add(bytes.Replace(saved, []byte(`"blocked": false`), []byte(`"blocked": true`), 1))
	f.Add(bytes.Replace(saved, []byte(`"triesLeft": 3`), []byte(`"triesLeft": 0`), 1))
	f.Add(bytes.Replace(saved, []byte(`"version": 2`), []byte(`"version": 3`), 1))
	f.Add(bytes.Replace(saved, []byte(`"atc": 0`), []byte(`"atc": 65535`), 1))
	old, err := os.ReadFile("testdata/card-v1.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(old)
	f.Add([]byte(`{"format":"shebao-softcard","version":1}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := apdu.LoadSoftCard(bytes.NewReader(in))
		if err != nil {
			return
		}
		// Whatever loads must save and load again to the same card.
		var a, b bytes.Buffer
		if err := c.Save(&a); err != nil {
			t.Fatal(err)
		}
		d, err := apdu.LoadSoftCard(bytes.NewReader(a.Bytes()))
		if err != nil {
			t.Fatalf("a saved card does not load: %v\n%s", err, a.Bytes())
		}
		if err := d.Save(&b); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Fatalf("save, load, save changed the card:\n%s\n%s", a.Bytes(), b.Bytes())
		}
		if r := send(t, d, selectSSSE); !r.OK() {
			t.Fatalf("loaded card answers SELECT with %04X", r.SW)
		}
	})
}

// recordsFrom reads simple-TLV records (tag, length, value) until the bytes run out.
func recordsFrom(b []byte) []apdu.Record {
	var rs []apdu.Record
	for len(b) >= 2 {
		n := min(int(b[1]), len(b)-2)
		rs = append(rs, apdu.Record{Tag: b[0], Value: b[2 : 2+n]})
		b = b[2+n:]
	}
	return rs
}

func FuzzParseCardData(f *testing.F) {
	flatten := func(rs []apdu.Record) []byte {
		var out []byte
		for _, r := range rs {
			out = append(out, r.Tag, byte(len(r.Value)))
			out = append(out, r.Value...)
		}
		return out
	}
	f.Add(flatten(testIssuer().Records()))
	holder, err := testHolder().Records()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(flatten(holder))
	long := testHolder()
	long.Name = "A" + string(bytes.Repeat([]byte("王"), 20))
	holder, err = long.Records()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(flatten(holder))
	f.Fuzz(func(t *testing.T, in []byte) {
		rs := recordsFrom(in)
		if d, err := apdu.ParseIssuerData(rs); err == nil {
			// What parses is valid and survives a round trip.
			if err := d.Validate(); err != nil {
				t.Fatalf("parsed issuer data is not valid: %v", err)
			}
			if again, err := apdu.ParseIssuerData(d.Records()); err != nil || again != d {
				t.Fatalf("issuer data round trip: %+v, %v; want %+v", again, err, d)
			}
		}
		if d, err := apdu.ParseHolderData(rs); err == nil {
			// A card may hold a name this package would not write (leading spaces, say), so only
			// what Records accepts must round-trip.
			if recs, err := d.Records(); err == nil {
				if again, err := apdu.ParseHolderData(recs); err != nil || again != d {
					t.Fatalf("holder data round trip: %+v, %v; want %+v", again, err, d)
				}
			}
		}
	})
}

// A card identification code that parses writes back as the same 32 hex digits.
func FuzzParseCardID(f *testing.F) {
	for _, s := range []string{"330100D15600000512345678000000AA", "330100d15600000512345678000000aa", "330100D1560000051234567800000", "ZZ0100D15600000512345678000000AA", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := apdu.ParseCardID(s)
		if err != nil {
			return
		}
		if back := apdu.FormatCardID(id); !strings.EqualFold(back, s) {
			t.Fatalf("%q read as %s", s, back)
		}
	})
}
