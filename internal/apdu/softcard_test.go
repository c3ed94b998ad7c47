package apdu_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/shebao/shebao/internal/apdu"
)

const fciHex = "6F16" + "840F7378312E73682EC9E7BBE1B1A3D5CF" + "A503860101"

// predictableCard is a personalised card whose random source is counter: the salt takes bytes
// 00..0F, so the first 8-byte challenge is 10..17.
func predictableCard(t *testing.T) *apdu.SoftCard {
	t.Helper()
	c, err := apdu.NewSoftCardWithRand(personalization(t, testIssuer(), testHolder(), testKeys), &counter{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func extAuthAPDU(key [16]byte, challenge []byte) string {
	crypt := apdu.ExternalAuthCryptogram(key, [8]byte(challenge))
	return "0082000A10" + hex.EncodeToString(crypt[:])
}

var firstChallenge = mustHex("1011121314151617")

func TestSoftCardSelect(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{"application with FCI", []step{{selectSSSE, apdu.SWOK, fciHex}}},
		{"application without Le answers the FCI", []step{{selectSSSE[:len(selectSSSE)-2], apdu.SWOK, fciHex}}},
		{"application with short Le", []step{{selectSSSE[:len(selectSSSE)-2] + "10", apdu.SWWrongLe(24), "-"}}},
		{"unknown AID", []step{{"00A4040007A0000000031010", apdu.SWFileNotFound, "-"}}},
		{"AID prefix is not enough", []step{{"00A40400077378312E73682E", apdu.SWFileNotFound, "-"}}},
		{"AID without data", []step{{"00A40400", apdu.SWWrongLength, "-"}}},
		{"AID with P2 0C", []step{{"00A4040C0F7378312E73682EC9E7BBE1B1A3D5CF", apdu.SWIncorrectP1P2, "-"}}},
		{"unknown P1", []step{{"00A4080002EF05", apdu.SWIncorrectP1P2, "-"}}},
		{"EF before the application", []step{{selectEF05, apdu.SWFileNotFound, "-"}}},
		{"EF05 with P1=02", []step{{selectSSSE, apdu.SWOK, ""}, {selectEF05, apdu.SWOK, "-"}}},
		{"EF06 with P1=00", []step{{selectSSSE, apdu.SWOK, ""}, {"00A4000002EF06", apdu.SWOK, "-"}}},
		{"unknown EF", []step{{selectSSSE, apdu.SWOK, ""}, {"00A4020002EF07", apdu.SWFileNotFound, "-"}}},
		{"file id of 3 bytes", []step{{selectSSSE, apdu.SWOK, ""}, {"00A4020003EF0500", apdu.SWWrongLength, "-"}}},
		{"EF with P2 04", []step{{selectSSSE, apdu.SWOK, ""}, {"00A4020402EF05", apdu.SWIncorrectP1P2, "-"}}},
		{"MF leaves the application", []step{
			{selectSSSE, apdu.SWOK, ""}, {selectEF05, apdu.SWOK, ""},
			{"00A40000023F00", apdu.SWOK, "-"},
			{"00B2010400", apdu.SWNoCurrentEF, "-"},
			{selectEF05, apdu.SWFileNotFound, "-"},
		}},
		{"MF is not an EF (P1=02)", []step{{selectSSSE, apdu.SWOK, ""}, {"00A40200023F00", apdu.SWFileNotFound, "-"}}},
		{"failed SELECT keeps the selection", []step{
			{selectSSSE, apdu.SWOK, ""}, {selectEF05, apdu.SWOK, ""},
			{"00A4020002EF09", apdu.SWFileNotFound, ""},
			{"00A4040003AABBCC", apdu.SWFileNotFound, ""},
			{"00B2020400", apdu.SWOK, "020101"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runSteps(t, mustCard(t), tc.steps) })
	}
}

func TestSoftCardReadRecord(t *testing.T) {
	idHex := "320200D156000005AD932A48BDC3B9E9"
	tests := []struct {
		name  string
		steps []step
	}{
		{"no current EF", []step{{selectSSSE, apdu.SWOK, ""}, {"00B2010400", apdu.SWNoCurrentEF, "-"}}},
		{"before anything", []step{{"00B2010400", apdu.SWNoCurrentEF, "-"}}},
		{"EF05 records", []step{
			{selectSSSE, apdu.SWOK, ""}, {selectEF05, apdu.SWOK, ""},
			{"00B2010400", apdu.SWOK, "0110" + idHex},
			{"00B2020400", apdu.SWOK, "020101"},
			{"00B2030400", apdu.SWOK, "0304332E3030"},
			{"00B2050400", apdu.SWOK, "050420240315"},
			{"00B2060400", apdu.SWOK, "060420340315"},
			{"00B2070400", apdu.SWOK, "0709" + hex.EncodeToString([]byte("B7K334774"))},
			{"00B2200400", apdu.SWOK, "200102"},
			{"00B2010412", apdu.SWOK, "0110" + idHex}, // Le exactly the record
			{"00B2010420", apdu.SWOK, "0110" + idHex}, // Le larger is fine
			{"00B20104", apdu.SWOK, "0110" + idHex},   // Le absent means up to 256
		}},
		{"tag not present", []step{{selectSSSE, apdu.SWOK, ""}, {selectEF05, apdu.SWOK, ""}, {"00B2040400", apdu.SWRecordNotFound, "-"}}},
		{"wrong P2", []step{{selectSSSE, apdu.SWOK, ""}, {selectEF05, apdu.SWOK, ""}, {"00B2010C00", apdu.SWIncorrectP1P2, "-"}}},
		{"short Le gets 6Cxx", []step{{selectSSSE, apdu.SWOK, ""}, {selectEF05, apdu.SWOK, ""}, {"00B2010405", apdu.SWWrongLe(0x12), "-"}}},
		{"command data", []step{{selectSSSE, apdu.SWOK, ""}, {selectEF05, apdu.SWOK, ""}, {"00B201040100", apdu.SWWrongLength, "-"}}},
		{"EF06 before external auth", []step{
			{selectSSSE, apdu.SWOK, ""}, {selectEF06, apdu.SWOK, ""},
			{"00B2080400", apdu.SWSecurityNotSatisfied, "-"},
			{"00B2770400", apdu.SWSecurityNotSatisfied, "-"}, // does not tell which tags exist
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runSteps(t, mustCard(t), tc.steps) })
	}
}

func TestSoftCardExternalAuth(t *testing.T) {
	good := extAuthAPDU(testKeys.ExternalAuth, firstChallenge)
	name := hex.EncodeToString([]byte("\xCD\xF5\xD0\xA1\xC3\xF7")) + strings.Repeat("20", 24)
	tests := []struct {
		name  string
		steps []step
	}{
		{"success opens EF06", []step{
			{selectSSSE, apdu.SWOK, ""},
			{getChal8, apdu.SWOK, "1011121314151617"},
			{good, apdu.SWOK, "-"},
			{selectEF06, apdu.SWOK, ""},
			{"00B2080400", apdu.SWOK, "0812" + hex.EncodeToString([]byte("11010519491231002X"))},
			{"00B2090400", apdu.SWOK, "091E" + name},
			{"00B20A0400", apdu.SWOK, "0A0131"},
			{"00B20B0400", apdu.SWOK, "0B0101"},
			{"00B20C0400", apdu.SWOK, "0C03110105"},
			{"00B20D0400", apdu.SWOK, "0D0419491231"},
			{"00B24E0400", apdu.SWRecordNotFound, "-"},
		}},
		{"authentication survives EF selection but not application selection", []step{
			{selectSSSE, apdu.SWOK, ""}, {getChal8, apdu.SWOK, ""}, {good, apdu.SWOK, ""},
			{selectEF05, apdu.SWOK, ""}, {selectEF06, apdu.SWOK, ""}, {"00B2080400", apdu.SWOK, ""},
			{selectSSSE, apdu.SWOK, ""},
			{"00B2080400", apdu.SWNoCurrentEF, "-"},
			{selectEF06, apdu.SWOK, ""},
			{"00B2080400", apdu.SWSecurityNotSatisfied, "-"},
		}},
		{"without a challenge", []step{{selectSSSE, apdu.SWOK, ""}, {good, apdu.SWConditionsNotSatisfied, "-"}}},
		{"wrong cryptogram", []step{
			{selectSSSE, apdu.SWOK, ""}, {getChal8, apdu.SWOK, ""},
			{extAuthAPDU(testKeys.InternalAuth, firstChallenge), apdu.SWAuthFailed, "-"},
			{selectEF06, apdu.SWOK, ""}, {"00B2080400", apdu.SWSecurityNotSatisfied, "-"},
		}},
		{"failure ends an earlier success", []step{
			{selectSSSE, apdu.SWOK, ""}, {getChal8, apdu.SWOK, ""}, {good, apdu.SWOK, ""},
			{getChal8, apdu.SWOK, "18191A1B1C1D1E1F"},
			{good, apdu.SWAuthFailed, ""},
			{selectEF06, apdu.SWOK, ""}, {"00B2080400", apdu.SWSecurityNotSatisfied, "-"},
		}},
		{"challenge is used once", []step{
			{selectSSSE, apdu.SWOK, ""}, {getChal8, apdu.SWOK, ""},
			{good, apdu.SWOK, ""},
			{good, apdu.SWConditionsNotSatisfied, "-"},
		}},
		{"a malformed command uses the challenge up", []step{
			{selectSSSE, apdu.SWOK, ""}, {getChal8, apdu.SWOK, ""},
			{"0082000B10" + good[10:], apdu.SWIncorrectP1P2, "-"},
			{good, apdu.SWConditionsNotSatisfied, "-"},
		}},
		{"a 4-byte challenge cannot be answered", []step{
			{selectSSSE, apdu.SWOK, ""}, {"0084000004", apdu.SWOK, "10111213"},
			{good, apdu.SWConditionsNotSatisfied, "-"},
		}},
		{"wrong Lc", []step{{selectSSSE, apdu.SWOK, ""}, {getChal8, apdu.SWOK, ""}, {good[:len(good)-2], apdu.SWWrongLength, "-"}}},
		{"Le is ignored", []step{{selectSSSE, apdu.SWOK, ""}, {getChal8, apdu.SWOK, ""}, {good + "00", apdu.SWOK, "-"}}},
		{"before the application", []step{{getChal8, apdu.SWOK, ""}, {good, apdu.SWConditionsNotSatisfied, "-"}}},
		{"selecting the application forgets the challenge", []step{
			{getChal8, apdu.SWOK, ""}, {selectSSSE, apdu.SWOK, ""}, {good, apdu.SWConditionsNotSatisfied, "-"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runSteps(t, predictableCard(t), tc.steps) })
	}
}

func TestSoftCardGetChallenge(t *testing.T) {
	runSteps(t, predictableCard(t), []step{
		{"0084000004", apdu.SWOK, "10111213"},
		{"0084000008", apdu.SWOK, "1415161718191A1B"},
		{"0084000005", apdu.SWWrongLength, "-"},
		{"00840000", apdu.SWWrongLength, "-"},
		{"0084000000", apdu.SWWrongLength, "-"},
		{"008400000100", apdu.SWWrongLength, "-"},
		{"0084010008", apdu.SWIncorrectP1P2, "-"},
	})

	// With crypto/rand two challenges differ (a collision has probability 2^-64).
	c := mustCard(t)
	a, b := send(t, c, getChal8), send(t, c, getChal8)
	if !a.OK() || len(a.Data) != 8 || bytes.Equal(a.Data, b.Data) {
		t.Fatalf("challenges % X and % X", a.Data, b.Data)
	}

	// A card without random bytes says so and remembers no challenge.
	c = predictableCard(t)
	runSteps(t, c, []step{{selectSSSE, apdu.SWOK, ""}, {getChal8, apdu.SWOK, ""}})
	c.SetRand(failing{})
	runSteps(t, c, []step{
		{getChal8, apdu.SWNoPreciseDiagnosis, "-"},
		{extAuthAPDU(testKeys.ExternalAuth, firstChallenge), apdu.SWConditionsNotSatisfied, "-"},
	})
}

func TestSoftCardInternalAuth(t *testing.T) {
	data := [16]byte(mustHex("000102030405060708090A0B0C0D0E0F"))
	want := apdu.InternalAuthCryptogram(testKeys.InternalAuth, data)
	cmd := "0088000010" + hex.EncodeToString(data[:])
	runSteps(t, mustCard(t), []step{
		{cmd, apdu.SWConditionsNotSatisfied, "-"},
		{selectSSSE, apdu.SWOK, ""},
		{cmd, apdu.SWOK, hex.EncodeToString(want[:])},
		{cmd + "10", apdu.SWOK, hex.EncodeToString(want[:])},
		{cmd + "00", apdu.SWOK, hex.EncodeToString(want[:])},
		{cmd + "08", apdu.SWWrongLe(16), "-"},
		{"008800000F" + hex.EncodeToString(data[:15]), apdu.SWWrongLength, "-"},
		{"00880000", apdu.SWWrongLength, "-"},
		{"0088000110" + hex.EncodeToString(data[:]), apdu.SWIncorrectP1P2, "-"},
	})
}

func TestSoftCardPINSequence(t *testing.T) {
	// The acceptance sequence: limit 3, three wrong PINs give 63C2, 63C1, 6983, and then even the
	// right PIN is refused.
	runSteps(t, mustCard(t), []step{
		{selectSSSE, apdu.SWOK, ""},
		{verifyBad, 0x63C2, "-"},
		{verifyBad, 0x63C1, "-"},
		{verifyBad, apdu.SWAuthBlocked, "-"},
		{verifyOK, apdu.SWAuthBlocked, "-"},
		{verifyAsk, apdu.SWAuthBlocked, "-"},
		{"805E0100077391 64FF123456", apdu.SWAuthBlocked, "-"},
		{"0020000003AB0000", apdu.SWAuthBlocked, "-"},
	})
}

func TestSoftCardVerify(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{"right PIN", []step{{selectSSSE, apdu.SWOK, ""}, {verifyOK, apdu.SWOK, "-"}, {verifyAsk, apdu.SWOK, "-"}}},
		{"right PIN restores the tries", []step{
			{selectSSSE, apdu.SWOK, ""},
			{verifyBad, 0x63C2, ""}, {verifyBad, 0x63C1, ""},
			{verifyOK, apdu.SWOK, ""},
			{verifyBad, 0x63C2, ""},
			{verifyAsk, 0x63C2, "-"},
		}},
		{"asking", []step{{selectSSSE, apdu.SWOK, ""}, {verifyAsk, 0x63C3, "-"}}},
		{"asking with Le (ignored)", []step{{selectSSSE, apdu.SWOK, ""}, {verifyAsk + "00", 0x63C3, "-"}}},
		{"non-BCD digits use no try", []step{
			{selectSSSE, apdu.SWOK, ""},
			{"00200000037391A4", apdu.SWWrongData, "-"},
			{"0020000003F39164", apdu.SWWrongData, "-"},
			{verifyAsk, 0x63C3, "-"},
		}},
		{"wrong Lc uses no try", []step{
			{selectSSSE, apdu.SWOK, ""},
			{"002000000473916400", apdu.SWWrongLength, "-"},
			{"00200000027391", apdu.SWWrongLength, "-"},
			{"0020000008267391 64FFFFFFFF", apdu.SWWrongLength, "-"},
			{verifyAsk, 0x63C3, "-"},
		}},
		{"wrong P1P2", []step{{selectSSSE, apdu.SWOK, ""}, {"0020008103739164", apdu.SWIncorrectP1P2, "-"}}},
		{"before the application", []step{{verifyOK, apdu.SWConditionsNotSatisfied, "-"}}},
		{"selecting the application forgets verification", []step{
			{selectSSSE, apdu.SWOK, ""}, {verifyOK, apdu.SWOK, ""}, {selectSSSE, apdu.SWOK, ""}, {verifyAsk, 0x63C3, "-"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runSteps(t, mustCard(t), tc.steps) })
	}
}

func TestSoftCardChangePIN(t *testing.T) {
	const change = "805E010007" + "739164" + "FF" + "246810"
	tests := []struct {
		name  string
		steps []step
	}{
		{"change and verify", []step{
			{selectSSSE, apdu.SWOK, ""},
			{change, apdu.SWOK, "-"},
			{verifyOK, 0x63C2, "-"},
			{"0020000003246810", apdu.SWOK, "-"},
		}},
		{"wrong old PIN counts", []step{
			{selectSSSE, apdu.SWOK, ""},
			{"805E010007111111FF246810", 0x63C2, "-"},
			{"805E010007111111FF246810", 0x63C1, "-"},
			{"805E010007111111FF246810", apdu.SWAuthBlocked, "-"},
			{change, apdu.SWAuthBlocked, "-"},
		}},
		{"no separator", []step{{selectSSSE, apdu.SWOK, ""}, {"805E01000773916400246810", apdu.SWWrongData, "-"}}},
		{"new PIN not BCD", []step{{selectSSSE, apdu.SWOK, ""}, {"805E010007739164FF2468A0", apdu.SWWrongData, "-"}}},
		{"new PIN of 4 digits", []step{{selectSSSE, apdu.SWOK, ""}, {"805E010006739164FF2468", apdu.SWWrongData, "-"}}},
		{"new PIN of 8 digits", []step{{selectSSSE, apdu.SWOK, ""}, {"805E010008739164FF24681012", apdu.SWWrongData, "-"}}},
		{"no new PIN", []step{{selectSSSE, apdu.SWOK, ""}, {"805E010004739164FF", apdu.SWWrongData, "-"}}},
		{"malformed data uses no try", []step{
			{selectSSSE, apdu.SWOK, ""},
			{"805E010007111111FF2468A0", apdu.SWWrongData, "-"},
			{"805E0100071111A1FF246810", apdu.SWWrongData, "-"},
			{verifyAsk, 0x63C3, "-"},
		}},
		{"too short", []step{{selectSSSE, apdu.SWOK, ""}, {"805E010003739164", apdu.SWWrongLength, "-"}, {"805E0100", apdu.SWWrongLength, "-"}}},
		{"wrong P1", []step{{selectSSSE, apdu.SWOK, ""}, {"805E000007739164FF246810", apdu.SWIncorrectP1P2, "-"}}},
		{"wrong class", []step{{selectSSSE, apdu.SWOK, ""}, {"005E010007739164FF246810", apdu.SWClaNotSupported, "-"}}},
		{"before the application", []step{{change, apdu.SWConditionsNotSatisfied, "-"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runSteps(t, mustCard(t), tc.steps) })
	}

	// If the card has no random bytes for the new salt, the old PIN stays.
	c := mustCard(t)
	runSteps(t, c, []step{{selectSSSE, apdu.SWOK, ""}})
	c.SetRand(failing{})
	runSteps(t, c, []step{{change, apdu.SWNoPreciseDiagnosis, "-"}, {verifyOK, apdu.SWOK, "-"}})
}

func TestSoftCardClassAndInstruction(t *testing.T) {
	runSteps(t, mustCard(t), []step{
		{"84A404000F7378312E73682EC9E7BBE1B1A3D5CF", apdu.SWClaNotSupported, "-"},
		{"0CB2010400", apdu.SWClaNotSupported, "-"},
		{"FFCA000000", apdu.SWClaNotSupported, "-"},
		{"80A404000000", apdu.SWWrongLength, "-"}, // malformed first: Lc=00 then more bytes
		{"80A40400", apdu.SWClaNotSupported, "-"},
		{"00CA000000", apdu.SWInsNotSupported, "-"},
		{"00C0000010", apdu.SWInsNotSupported, "-"},
		{"80CA9F7F00", apdu.SWInsNotSupported, "-"},
		{"", apdu.SWWrongLength, "-"},
		{"00A404", apdu.SWWrongLength, "-"},
		{"00B20104000100", apdu.SWWrongLength, "-"},
		{"00A4020002EF", apdu.SWWrongLength, "-"},
		{"00A4020002EF05000000", apdu.SWWrongLength, "-"},
	})
}

func TestNewSoftCardRefuses(t *testing.T) {
	base := func() apdu.Personalization { return personalization(t, testIssuer(), testHolder(), testKeys) }
	tests := []struct {
		name   string
		change func(*apdu.Personalization)
	}{
		{"PIN of 5 digits", func(p *apdu.Personalization) { p.PIN = "12345" }},
		{"PIN of 7 digits", func(p *apdu.Personalization) { p.PIN = "1234567" }},
		{"PIN with a letter", func(p *apdu.Personalization) { p.PIN = "12345A" }},
		{"no tries", func(p *apdu.Personalization) { p.PINTries = 0 }},
		{"16 tries", func(p *apdu.Personalization) { p.PINTries = 16 }},
		{"no ATR", func(p *apdu.Personalization) { p.ATR = nil }},
		{"ATR of 34 bytes", func(p *apdu.Personalization) { p.ATR = append([]byte{0x3B}, make([]byte, 33)...) }},
		{"ATR with a bad TS", func(p *apdu.Personalization) { p.ATR = []byte{0x3A, 0x00} }},
		{"duplicate tag", func(p *apdu.Personalization) { p.EF05 = append(p.EF05, apdu.Record{Tag: 0x01}) }},
		{"tag 00", func(p *apdu.Personalization) { p.EF06 = append(p.EF06, apdu.Record{Tag: 0x00}) }},
		{"tag FF", func(p *apdu.Personalization) { p.EF06 = append(p.EF06, apdu.Record{Tag: 0xFF}) }},
		{"value of 255 bytes", func(p *apdu.Personalization) {
			p.EF05 = append(p.EF05, apdu.Record{Tag: 0x30, Value: make([]byte, 255)})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := base()
			tc.change(&p)
			if _, err := apdu.NewSoftCard(p); err == nil {
				t.Fatal("NewSoftCard accepted it")
			}
		})
	}

	// The limits themselves are fine: 1 and 15 tries, 254-byte values, a 33-byte ATR.
	p := base()
	p.PINTries = 15
	p.ATR = append([]byte{0x3F}, make([]byte, 32)...)
	p.EF05 = append(p.EF05, apdu.Record{Tag: 0x30, Value: bytes.Repeat([]byte{0xAA}, 254)})
	c, err := apdu.NewSoftCard(p)
	if err != nil {
		t.Fatal(err)
	}
	runSteps(t, c, []step{
		{selectSSSE, apdu.SWOK, ""}, {selectEF05, apdu.SWOK, ""},
		{"00B2300400", apdu.SWOK, "30FE" + strings.Repeat("AA", 254)},
		{"00B23004FF", apdu.SWWrongLe(256), "-"},
		{verifyAsk, 0x63CF, "-"},
	})
	p.PINTries = 1
	c, err = apdu.NewSoftCard(p)
	if err != nil {
		t.Fatal(err)
	}
	runSteps(t, c, []step{{selectSSSE, apdu.SWOK, ""}, {verifyBad, apdu.SWAuthBlocked, "-"}})
}

func TestSoftCardCopiesPersonalization(t *testing.T) {
	p := personalization(t, testIssuer(), testHolder(), testKeys)
	c, err := apdu.NewSoftCard(p)
	if err != nil {
		t.Fatal(err)
	}
	p.EF05[1].Value[0] = 0x99
	p.ATR[0] = 0x00
	runSteps(t, c, []step{{selectSSSE, apdu.SWOK, ""}, {selectEF05, apdu.SWOK, ""}, {"00B2020400", apdu.SWOK, "020101"}})
	if atr := c.ATR(); !bytes.Equal(atr, testATR) {
		t.Fatalf("ATR % X", atr)
	}
	c.ATR()[0] = 0x00
	if atr := c.Reset(); !bytes.Equal(atr, testATR) {
		t.Fatalf("Reset ATR % X", atr)
	}
}

func TestSoftCardReset(t *testing.T) {
	c := predictableCard(t)
	runSteps(t, c, []step{
		{selectSSSE, apdu.SWOK, ""}, {getChal8, apdu.SWOK, ""},
		{extAuthAPDU(testKeys.ExternalAuth, firstChallenge), apdu.SWOK, ""},
		{verifyBad, 0x63C2, ""},
	})
	c.Reset()
	runSteps(t, c, []step{
		{selectEF06, apdu.SWFileNotFound, ""}, // no application after reset
		{selectSSSE, apdu.SWOK, ""}, {selectEF06, apdu.SWOK, ""},
		{"00B2080400", apdu.SWSecurityNotSatisfied, ""},
		{verifyAsk, 0x63C2, ""}, // the PIN counter is application state, not session state
	})
}

func TestSoftCardTransmitContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := mustCard(t).Transmit(ctx, mustHex(selectSSSE)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestSoftCardConcurrent(t *testing.T) {
	c := mustCard(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				for _, cmd := range []string{selectSSSE, selectEF05, "00B2010400", getChal8, verifyAsk} {
					b, err := c.Transmit(context.Background(), mustHex(cmd))
					if err != nil || len(b) < 2 {
						t.Errorf("%s: % X, %v", cmd, b, err)
						return
					}
				}
			}
		})
	}
	var buf bytes.Buffer
	if err := c.Save(&buf); err != nil {
		t.Error(err)
	}
	wg.Wait()
}
