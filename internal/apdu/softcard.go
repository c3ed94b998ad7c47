package apdu

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"io"
	"sync"

	"github.com/emmansun/gmsm/sm3"
)

// SSSEAID is the AID of the SSSE application used by 1.0, 2.0 and 3.0 cards: ASCII "sx1.sh."
// followed by 社会保障 in GBK (domain facts 1.1).
const SSSEAID = "sx1.sh.\xC9\xE7\xBB\xE1\xB1\xA3\xD5\xCF"

// File identifiers of the SSSE application (domain facts 1.2).
const (
	EFIssuer uint16 = 0xEF05 // 发卡机构数据, readable after selection
	EFHolder uint16 = 0xEF06 // 持卡人基本信息, readable after EXTERNAL AUTHENTICATE
	fileMF   uint16 = 0x3F00
)

// ExternalAuthKeyIndex is P2 of EXTERNAL AUTHENTICATE: key 0A, the RKSSSE read key of the domain
// facts 2.
const ExternalAuthKeyIndex byte = 0x0A

// AlgorithmSM4 is the algorithm id the SoftCard puts in its FCI (86 01 01). The meaning of the
// values on real cards is unknown; for shebao 01 means SM4.
const AlgorithmSM4 byte = 0x01

// Instructions the SoftCard knows, with the class each belongs to.
const (
	insSelect       = 0xA4 // CLA 00
	insReadRecord   = 0xB2 // CLA 00
	insGetChallenge = 0x84 // CLA 00
	insInternalAuth = 0x88 // CLA 00
	insExternalAuth = 0x82 // CLA 00
	insVerify       = 0x20 // CLA 00
	insChangePIN    = 0x5E // CLA 80, proprietary
	insTransaction  = 0xAE // CLA 80, GENERATE TRANSACTION CRYPTOGRAM (after EMV GENERATE AC)
)

// P1 of GENERATE TRANSACTION CRYPTOGRAM: 80 asks for an authorisation request cryptogram, as in
// EMV's GENERATE AC. It is the only kind the card makes: every payment is authorised online.
const p1ARQC = 0x80

// MaxATC is the last value of the application transaction counter. A card that has reached it
// makes no more cryptograms (6985): the counter never wraps, so no counter value is ever used twice.
const MaxATC uint16 = 0xFFFF

// transactionAnswerLen is ATC (2) ‖ cryptogram (8).
const transactionAnswerLen = 10

// PINLength is the number of digits of a SoftCard PIN.
const PINLength = 6

// MaxRecordValue is the longest record value: tag, length and value must fit one 256-byte short
// response.
const MaxRecordValue = MaxLe - 2

// CardKeys are the card's own (already diversified) 16-byte SM4 keys. The card holds them; they never
// leave it through the card interface.
type CardKeys struct {
	InternalAuth [16]byte // answers INTERNAL AUTHENTICATE
	ExternalAuth [16]byte // checks EXTERNAL AUTHENTICATE, which opens EF06
	PIN          [16]byte // reserved for PIN reload (84 24), which the SoftCard does not yet offer
	// Transaction makes transaction cryptograms. All zeros means the card has none (a card made
	// before transaction keys were personalised); it then answers 6985 to GENERATE TRANSACTION
	// CRYPTOGRAM.
	Transaction [16]byte
}

// Record is one simple-TLV record of EF05 or EF06.
type Record struct {
	Tag   byte
	Value []byte
}

// Personalization is everything written into a card when it is made.
type Personalization struct {
	EF05     []Record // issuer data records
	EF06     []Record // holder data records
	Keys     CardKeys
	PIN      string // PINLength digits
	PINTries int    // try limit, 1..15 (63Cx has one nibble for it)
	ATR      []byte // 2..33 bytes, starting 3B or 3F
}

// SoftCard is a software SSSE card: the application state of a personalised chip (files, keys, PIN
// and its try counter) and the state of the one session a card has with its reader. It implements
// Card. It is safe for concurrent use in that each APDU is processed whole under a mutex; like a
// real card it has one session, so two terminals interleaving their commands interleave their
// sessions too — give each terminal its own card.
type SoftCard struct {
	mu   sync.Mutex
	rand io.Reader // challenges and salts; crypto/rand except in tests

	atr   []byte
	files map[uint16][]Record
	keys  CardKeys
	pin   pinState
	atc   uint16 // application transaction counter: the counter of the last cryptogram, 0 before the first

	s session
}

// pinState is the PIN as the card stores it. The card is blocked exactly when left is 0.
type pinState struct {
	salt  [16]byte
	hash  [sm3.Size]byte // SM3(salt ‖ PIN digits)
	limit int
	left  int
}

// session is what the card forgets when the application is selected again, the MF is selected or
// the card is reset.
type session struct {
	app       bool   // SSSE selected
	ef        uint16 // current EF, 0 for none
	challenge []byte // last GET CHALLENGE, until the next EXTERNAL AUTHENTICATE
	extAuth   bool   // EXTERNAL AUTHENTICATE succeeded
	pinOK     bool   // VERIFY or CHANGE PIN succeeded
}

// NewSoftCard personalises a card. It checks that the PIN has six digits, the try limit is 1..15,
// the ATR is plausible, and that every record has a valid tag, unique in its file, and a value of
// at most MaxRecordValue bytes. The card keeps copies of everything in p.
func NewSoftCard(p Personalization) (*SoftCard, error) {
	return newSoftCard(p, rand.Reader)
}

func newSoftCard(p Personalization, r io.Reader) (*SoftCard, error) {
	if err := checkPIN(p.PIN); err != nil {
		return nil, fmt.Errorf("apdu: personalise: %w", err)
	}
	if p.PINTries < 1 || p.PINTries > 15 {
		return nil, fmt.Errorf("apdu: personalise: PIN try limit %d, want 1..15", p.PINTries)
	}
	c := &SoftCard{rand: r, keys: p.Keys}
	if err := c.setContent(p.ATR, p.EF05, p.EF06); err != nil {
		return nil, fmt.Errorf("apdu: personalise: %w", err)
	}
	if err := c.setPIN(p.PIN); err != nil {
		return nil, fmt.Errorf("apdu: personalise: %w", err)
	}
	c.pin.limit, c.pin.left = p.PINTries, p.PINTries
	return c, nil
}

// setContent checks and copies the ATR and files; shared by NewSoftCard and LoadSoftCard.
func (c *SoftCard) setContent(atr []byte, ef05, ef06 []Record) error {
	if err := checkATR(atr); err != nil {
		return err
	}
	c.atr = bytes.Clone(atr)
	c.files = make(map[uint16][]Record, 2)
	for _, f := range []struct {
		id      uint16
		records []Record
	}{{EFIssuer, ef05}, {EFHolder, ef06}} {
		if err := checkRecords(f.records); err != nil {
			return fmt.Errorf("EF%04X: %w", f.id, err)
		}
		cp := make([]Record, len(f.records))
		for i, r := range f.records {
			cp[i] = Record{Tag: r.Tag, Value: bytes.Clone(r.Value)}
		}
		c.files[f.id] = cp
	}
	return nil
}

func checkPIN(pin string) error {
	if len(pin) != PINLength || !allDigits(pin) {
		return fmt.Errorf("PIN must be %d digits", PINLength)
	}
	return nil
}

// checkATR asks only for the ISO 7816-3 frame: a known initial character and at most 33 bytes.
// The ATR is given by the issuer and read back as it is; the SoftCard does not interpret it.
func checkATR(atr []byte) error {
	if len(atr) < 2 || len(atr) > 33 {
		return fmt.Errorf("ATR of %d bytes, want 2..33", len(atr))
	}
	if atr[0] != 0x3B && atr[0] != 0x3F {
		return fmt.Errorf("ATR starts %02X, want 3B or 3F", atr[0])
	}
	return nil
}

func checkRecords(records []Record) error {
	var seen [256]bool
	for _, r := range records {
		if r.Tag == 0x00 || r.Tag == 0xFF {
			return fmt.Errorf("record tag %02X is not valid in simple-TLV", r.Tag)
		}
		if seen[r.Tag] {
			return fmt.Errorf("record tag %02X appears twice", r.Tag)
		}
		seen[r.Tag] = true
		if len(r.Value) > MaxRecordValue {
			return fmt.Errorf("record %02X has %d bytes, at most %d fit a response", r.Tag, len(r.Value), MaxRecordValue)
		}
	}
	return nil
}

// setPIN stores a new PIN under a fresh salt. The PIN itself is never kept.
func (c *SoftCard) setPIN(pin string) error {
	var salt [16]byte
	if _, err := io.ReadFull(c.rand, salt[:]); err != nil {
		return fmt.Errorf("PIN salt: %w", err)
	}
	c.pin.salt = salt
	c.pin.hash = pinHash(salt, pin)
	return nil
}

func pinHash(salt [16]byte, pin string) [sm3.Size]byte {
	b := make([]byte, 0, len(salt)+len(pin))
	b = append(b, salt[:]...)
	b = append(b, pin...)
	return sm3.Sum(b)
}

func (p *pinState) matches(pin string) bool {
	h := pinHash(p.salt, pin)
	return subtle.ConstantTimeCompare(h[:], p.hash[:]) == 1
}

// ATR returns a copy of the card's answer to reset.
func (c *SoftCard) ATR() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.atr)
}

// Reset is a power cycle: the session ends, as when the card is taken out of the reader and put
// back, and the ATR is returned. Application state (PIN counter included) is kept.
func (c *SoftCard) Reset() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.s = session{}
	return bytes.Clone(c.atr)
}

// Transmit processes one command APDU and returns the response APDU. The only error is the
// context's; every problem with the command is a status word.
func (c *SoftCard) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.process(apdu).Bytes(), nil
}

func sw(w uint16) Response { return Response{SW: w} }

// answer returns data with 9000, or 6Cxx when Le (if present) is too small for it.
func answer(data []byte, le int) Response {
	if le != -1 && le < len(data) {
		return sw(SWWrongLe(len(data)))
	}
	return Response{Data: data, SW: SWOK}
}

func (c *SoftCard) process(b []byte) Response {
	cmd, err := ParseCommand(b)
	if err != nil {
		return sw(SWWrongLength)
	}
	if cmd.CLA != 0x00 && cmd.CLA != 0x80 {
		return sw(SWClaNotSupported)
	}
	var (
		cla    byte
		handle func(Command) Response
	)
	switch cmd.INS {
	case insSelect:
		cla, handle = 0x00, c.selectFile
	case insReadRecord:
		cla, handle = 0x00, c.readRecord
	case insGetChallenge:
		cla, handle = 0x00, c.getChallenge
	case insInternalAuth:
		cla, handle = 0x00, c.internalAuth
	case insExternalAuth:
		cla, handle = 0x00, c.externalAuth
	case insVerify:
		cla, handle = 0x00, c.verify
	case insChangePIN:
		cla, handle = 0x80, c.changePIN
	case insTransaction:
		cla, handle = 0x80, c.transactionCryptogram
	default:
		return sw(SWInsNotSupported)
	}
	if cmd.CLA != cla {
		// The instruction exists, but not in this class (e.g. 80 A4 or 00 5E).
		return sw(SWClaNotSupported)
	}
	return handle(cmd)
}

// fci is the answer to SELECT of the application: 6F [84 AID] [A5 [86 01 alg]].
func fci() []byte {
	b := []byte{0x6F, byte(2 + len(SSSEAID) + 5), 0x84, byte(len(SSSEAID))}
	b = append(b, SSSEAID...)
	return append(b, 0xA5, 0x03, 0x86, 0x01, AlgorithmSM4)
}

func (c *SoftCard) selectFile(cmd Command) Response {
	switch cmd.P1 {
	case 0x04: // by DF name (AID)
		if cmd.P2 != 0x00 {
			return sw(SWIncorrectP1P2)
		}
		if len(cmd.Data) == 0 {
			return sw(SWWrongLength)
		}
		if string(cmd.Data) != SSSEAID {
			return sw(SWFileNotFound) // the current selection stays, as ISO 7816-4 asks
		}
		c.s = session{app: true}
		return answer(fci(), cmd.Le)
	case 0x00, 0x02: // by file id: 00 = MF, DF or EF; 02 = EF under the current DF
		if cmd.P2 != 0x00 {
			return sw(SWIncorrectP1P2)
		}
		if len(cmd.Data) != 2 {
			return sw(SWWrongLength)
		}
		id := uint16(cmd.Data[0])<<8 | uint16(cmd.Data[1])
		if id == fileMF && cmd.P1 == 0x00 {
			c.s = session{}
			return sw(SWOK)
		}
		if !c.s.app || (id != EFIssuer && id != EFHolder) {
			return sw(SWFileNotFound)
		}
		c.s.ef = id
		return sw(SWOK)
	default:
		return sw(SWIncorrectP1P2)
	}
}

func (c *SoftCard) readRecord(cmd Command) Response {
	if cmd.P2 != 0x04 {
		return sw(SWIncorrectP1P2)
	}
	if cmd.Data != nil {
		return sw(SWWrongLength)
	}
	if c.s.ef == 0 {
		return sw(SWNoCurrentEF)
	}
	// Access is checked before the tag is looked up, so an unauthenticated reader cannot learn
	// which holder records exist.
	if c.s.ef == EFHolder && !c.s.extAuth {
		return sw(SWSecurityNotSatisfied)
	}
	for _, r := range c.files[c.s.ef] {
		if r.Tag == cmd.P1 {
			out := make([]byte, 0, 2+len(r.Value))
			out = append(out, r.Tag, byte(len(r.Value)))
			return answer(append(out, r.Value...), cmd.Le)
		}
	}
	return sw(SWRecordNotFound)
}

func (c *SoftCard) getChallenge(cmd Command) Response {
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return sw(SWIncorrectP1P2)
	}
	if cmd.Data != nil || (cmd.Le != 4 && cmd.Le != 8) {
		return sw(SWWrongLength)
	}
	ch := make([]byte, cmd.Le)
	if _, err := io.ReadFull(c.rand, ch); err != nil {
		c.s.challenge = nil
		return sw(SWNoPreciseDiagnosis)
	}
	c.s.challenge = ch
	return answer(bytes.Clone(ch), cmd.Le)
}

func (c *SoftCard) internalAuth(cmd Command) Response {
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return sw(SWIncorrectP1P2)
	}
	if len(cmd.Data) != 16 {
		return sw(SWWrongLength)
	}
	if !c.s.app {
		return sw(SWConditionsNotSatisfied)
	}
	out := InternalAuthCryptogram(c.keys.InternalAuth, [16]byte(cmd.Data))
	return answer(out[:], cmd.Le)
}

func (c *SoftCard) externalAuth(cmd Command) Response {
	// Taken before anything else is checked: whatever this command is, the challenge is used up.
	ch := c.s.challenge
	c.s.challenge = nil
	if cmd.P1 != 0 || cmd.P2 != ExternalAuthKeyIndex {
		return sw(SWIncorrectP1P2)
	}
	if len(cmd.Data) != 16 {
		return sw(SWWrongLength)
	}
	if !c.s.app || len(ch) != 8 {
		return sw(SWConditionsNotSatisfied)
	}
	want := ExternalAuthCryptogram(c.keys.ExternalAuth, [8]byte(ch))
	if subtle.ConstantTimeCompare(want[:], cmd.Data) != 1 {
		c.s.extAuth = false
		return sw(SWAuthFailed)
	}
	c.s.extAuth = true
	return sw(SWOK)
}

func (c *SoftCard) verify(cmd Command) Response {
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return sw(SWIncorrectP1P2)
	}
	if cmd.Data != nil && len(cmd.Data) != PINLength/2 {
		return sw(SWWrongLength)
	}
	if !c.s.app {
		return sw(SWConditionsNotSatisfied)
	}
	if c.pin.left == 0 {
		return sw(SWAuthBlocked)
	}
	if cmd.Data == nil { // ISO 7816-4 case 1: how does the PIN stand?
		if c.s.pinOK {
			return sw(SWOK)
		}
		return sw(SWTriesLeft(c.pin.left))
	}
	pin, ok := unpackBCD(cmd.Data)
	if !ok {
		return sw(SWWrongData)
	}
	return c.presentPIN(pin)
}

// presentPIN compares a well-formed PIN and keeps the counter: a right PIN restores all tries, a
// wrong one uses one, and the last one blocks.
func (c *SoftCard) presentPIN(pin string) Response {
	if c.pin.matches(pin) {
		c.pin.left = c.pin.limit
		c.s.pinOK = true
		return sw(SWOK)
	}
	c.pin.left--
	c.s.pinOK = false
	if c.pin.left == 0 {
		return sw(SWAuthBlocked)
	}
	return sw(SWTriesLeft(c.pin.left))
}

func (c *SoftCard) changePIN(cmd Command) Response {
	if cmd.P1 != 0x01 || cmd.P2 != 0x00 {
		return sw(SWIncorrectP1P2)
	}
	const oldLen = PINLength / 2
	if len(cmd.Data) < oldLen+1 {
		return sw(SWWrongLength)
	}
	if !c.s.app {
		return sw(SWConditionsNotSatisfied)
	}
	if c.pin.left == 0 {
		return sw(SWAuthBlocked)
	}
	oldPIN, okOld := unpackBCD(cmd.Data[:oldLen])
	newBCD := cmd.Data[oldLen+1:]
	newPIN, okNew := unpackBCD(newBCD)
	if cmd.Data[oldLen] != 0xFF || !okOld || !okNew || len(newBCD) != PINLength/2 {
		return sw(SWWrongData)
	}
	if r := c.presentPIN(oldPIN); !r.OK() {
		return r
	}
	if err := c.setPIN(newPIN); err != nil {
		return sw(SWNoPreciseDiagnosis)
	}
	return sw(SWOK)
}

// transactionCryptogram is GENERATE TRANSACTION CRYPTOGRAM (80 AE 80 00 3A data): with the PIN
// verified in this session, it counts one more transaction and answers ATC ‖ the cryptogram over
// data ‖ ATC. Every refusal comes before the counter moves, so a refused command costs nothing.
func (c *SoftCard) transactionCryptogram(cmd Command) Response {
	if cmd.P1 != p1ARQC || cmd.P2 != 0x00 {
		return sw(SWIncorrectP1P2)
	}
	if len(cmd.Data) != TransactionDataLen {
		return sw(SWWrongLength)
	}
	if !c.s.app || c.keys.Transaction == ([16]byte{}) {
		return sw(SWConditionsNotSatisfied)
	}
	if !c.s.pinOK {
		return sw(SWSecurityNotSatisfied)
	}
	if c.atc == MaxATC {
		return sw(SWConditionsNotSatisfied)
	}
	if _, err := ParseTransactionData(cmd.Data); err != nil {
		return sw(SWWrongData)
	}
	// Le is checked here rather than by answer, so that a terminal told to send again with Le=0A
	// does not spend a counter value on the first attempt.
	if cmd.Le != -1 && cmd.Le < transactionAnswerLen {
		return sw(SWWrongLe(transactionAnswerLen))
	}
	c.atc++
	mac := transactionMAC(c.keys.Transaction, c.atc, cmd.Data)
	out := make([]byte, 0, transactionAnswerLen)
	out = append(out, byte(c.atc>>8), byte(c.atc))
	return answer(append(out, mac[:]...), cmd.Le)
}
