package apdu

import (
	"context"
	"errors"
	"fmt"
)

// CardAuthenticator is what the terminal asks for online card authentication: the key service, in
// process or over the API. It alone knows the card's internal authentication key.
type CardAuthenticator interface {
	// Challenge issues the 16 bytes to send in INTERNAL AUTHENTICATE. The key service chooses them
	// so that a terminal cannot replay an old answer.
	Challenge(ctx context.Context) ([16]byte, error)
	// Verify checks the card's answer to challenge; nil means the card is genuine.
	Verify(ctx context.Context, cardID [16]byte, keyVersion byte, challenge, answer [16]byte) error
}

// ExternalAuthenticator computes EXTERNAL AUTHENTICATE cryptograms, which open EF06 for reading. The
// key service implements it; a terminal never holds the key.
type ExternalAuthenticator interface {
	ExternalAuth(ctx context.Context, cardID [16]byte, keyVersion byte, challenge [8]byte) ([16]byte, error)
}

// ErrPINFormat is returned before anything is sent when a PIN is not PINLength digits.
var ErrPINFormat = fmt.Errorf("apdu: PIN must be %d digits", PINLength)

// Terminal runs the reader procedures on a Card. Every method but TransactionCryptogram first
// selects the SSSE application, which starts a new card session, so the methods can be called in
// any order and each one carries out its whole procedure; the cost is a few APDUs.
// TransactionCryptogram continues the session of the VerifyPIN before it (or use Pay for both). A refusal by the card is a *StatusError;
// anything else is a transport failure, a malformed answer, or the authenticator's error.
type Terminal struct {
	Card Card
}

// Bounds on the T=0 answers a real reader may pass up: GET RESPONSE rounds and data collected.
const (
	maxGetResponse = 16
	maxChained     = 4096
)

// transmit sends cmd and returns the card's final answer. It follows the two ISO 7816-4 answers that
// ask the terminal to go on: 61xx (more bytes: GET RESPONSE) and 6Cxx (send again with Le = xx).
// The SoftCard uses only 6Cxx, and only if Le is too small; the rest is for real T=0 cards.
func (t *Terminal) transmit(ctx context.Context, name string, cmd Command) (Response, error) {
	r, err := t.exchange(ctx, name, cmd)
	if err != nil {
		return Response{}, err
	}
	if r.SW&0xFF00 == 0x6C00 {
		cmd.Le = decodeLe(byte(r.SW))
		if r, err = t.exchange(ctx, name, cmd); err != nil {
			return Response{}, err
		}
	}
	data := r.Data
	for i := 0; r.SW&0xFF00 == 0x6100; i++ {
		if i == maxGetResponse || len(data) > maxChained {
			return Response{}, fmt.Errorf("apdu: %s: card keeps answering 61xx", name)
		}
		get := Command{CLA: 0x00, INS: 0xC0, Le: decodeLe(byte(r.SW))}
		if r, err = t.exchange(ctx, name, get); err != nil {
			return Response{}, err
		}
		data = append(data, r.Data...)
	}
	r.Data = data
	return r, nil
}

func (t *Terminal) exchange(ctx context.Context, name string, cmd Command) (Response, error) {
	if t.Card == nil {
		return Response{}, fmt.Errorf("apdu: %s: terminal has no card", name)
	}
	b, err := t.Card.Transmit(ctx, cmd.Bytes())
	if err != nil {
		return Response{}, fmt.Errorf("apdu: %s: %w", name, err)
	}
	r, err := ParseResponse(b)
	if err != nil {
		return Response{}, fmt.Errorf("apdu: %s: %w", name, err)
	}
	return r, nil
}

// run is transmit for a command that must succeed.
func (t *Terminal) run(ctx context.Context, name string, cmd Command) ([]byte, error) {
	r, err := t.transmit(ctx, name, cmd)
	if err != nil {
		return nil, err
	}
	if !r.OK() {
		return nil, &StatusError{Command: name, SW: r.SW}
	}
	return r.Data, nil
}

// SelectSSSE selects the SSSE application.
func (t *Terminal) SelectSSSE(ctx context.Context) error {
	_, err := t.run(ctx, "SELECT SSSE", Command{CLA: 0x00, INS: insSelect, P1: 0x04, P2: 0x00, Data: []byte(SSSEAID), Le: MaxLe})
	return err
}

func (t *Terminal) selectEF(ctx context.Context, id uint16) error {
	_, err := t.run(ctx, fmt.Sprintf("SELECT EF%04X", id),
		Command{CLA: 0x00, INS: insSelect, P1: 0x02, P2: 0x00, Data: []byte{byte(id >> 8), byte(id)}, Le: -1})
	return err
}

// readRecord reads one record of the current EF and checks that the answer is that record.
func (t *Terminal) readRecord(ctx context.Context, tag byte) ([]byte, error) {
	name := fmt.Sprintf("READ RECORD %02X", tag)
	b, err := t.run(ctx, name, Command{CLA: 0x00, INS: insReadRecord, P1: tag, P2: 0x04, Le: MaxLe})
	if err != nil {
		return nil, err
	}
	if len(b) < 2 || b[0] != tag || int(b[1]) != len(b)-2 {
		return nil, fmt.Errorf("apdu: %s: answer is not a %02X record", name, tag)
	}
	return b[2:], nil
}

// readFile selects an EF and reads the given tags. A missing optional record (6A83) is left out; a
// missing required one is an error.
func (t *Terminal) readFile(ctx context.Context, id uint16, required, optional []byte) ([]Record, error) {
	if err := t.selectEF(ctx, id); err != nil {
		return nil, err
	}
	var rs []Record
	for i, tag := range append(append([]byte(nil), required...), optional...) {
		v, err := t.readRecord(ctx, tag)
		var se *StatusError
		if i >= len(required) && errors.As(err, &se) && se.SW == SWRecordNotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		rs = append(rs, Record{Tag: tag, Value: v})
	}
	return rs, nil
}

var (
	issuerRequired = []byte{TagCardID, TagCardType, TagVersion, TagIssueDate, TagExpiryDate, TagCardNumber}
	issuerOptional = []byte{TagKeyVersion}
	holderRequired = []byte{TagIDNumber, TagName, TagGender, TagEthnicity, TagBirthDate}
	holderOptional = []byte{TagBirthPlace, TagNameExt}
)

// ReadIssuerData selects the application and reads EF05.
func (t *Terminal) ReadIssuerData(ctx context.Context) (IssuerData, error) {
	if err := t.SelectSSSE(ctx); err != nil {
		return IssuerData{}, err
	}
	rs, err := t.readFile(ctx, EFIssuer, issuerRequired, issuerOptional)
	if err != nil {
		return IssuerData{}, err
	}
	return ParseIssuerData(rs)
}

// cardKeyInfo reads what the key service needs to find the card's keys: the card id (EF05 01) and
// the key version (EF05 20, 0 if absent). The application must be selected.
func (t *Terminal) cardKeyInfo(ctx context.Context) (id [16]byte, keyVersion byte, err error) {
	rs, err := t.readFile(ctx, EFIssuer, []byte{TagCardID}, []byte{TagKeyVersion})
	if err != nil {
		return id, 0, err
	}
	for _, r := range rs {
		switch {
		case r.Tag == TagCardID && len(r.Value) == 16:
			id = [16]byte(r.Value)
		case r.Tag == TagCardID:
			return id, 0, fmt.Errorf("apdu: card id of %d bytes, want 16", len(r.Value))
		case r.Tag == TagKeyVersion && len(r.Value) == 1:
			keyVersion = r.Value[0]
		case r.Tag == TagKeyVersion:
			return id, 0, fmt.Errorf("apdu: key version of %d bytes, want 1", len(r.Value))
		}
	}
	return id, keyVersion, nil
}

// ReadHolderData reads EF06: it reads the card id and key version from EF05, gets an 8-byte
// challenge from the card, has ea compute the cryptogram, sends EXTERNAL AUTHENTICATE with key 0A,
// and then reads the holder records.
func (t *Terminal) ReadHolderData(ctx context.Context, ea ExternalAuthenticator) (HolderData, error) {
	if err := t.SelectSSSE(ctx); err != nil {
		return HolderData{}, err
	}
	id, kv, err := t.cardKeyInfo(ctx)
	if err != nil {
		return HolderData{}, err
	}
	ch, err := t.run(ctx, "GET CHALLENGE", Command{CLA: 0x00, INS: insGetChallenge, Le: 8})
	if err != nil {
		return HolderData{}, err
	}
	if len(ch) != 8 {
		return HolderData{}, fmt.Errorf("apdu: GET CHALLENGE: %d bytes, want 8", len(ch))
	}
	crypt, err := ea.ExternalAuth(ctx, id, kv, [8]byte(ch))
	if err != nil {
		return HolderData{}, fmt.Errorf("apdu: external authentication of card %s: %w", FormatCardID(id), err)
	}
	if _, err := t.run(ctx, "EXTERNAL AUTHENTICATE", Command{
		CLA: 0x00, INS: insExternalAuth, P1: 0x00, P2: ExternalAuthKeyIndex, Data: crypt[:], Le: -1,
	}); err != nil {
		return HolderData{}, err
	}
	rs, err := t.readFile(ctx, EFHolder, holderRequired, holderOptional)
	if err != nil {
		return HolderData{}, err
	}
	return ParseHolderData(rs)
}

// Authenticate checks online that the card is genuine: it reads the card id and key version, gets
// a challenge from ca, sends it in INTERNAL AUTHENTICATE and has ca verify the card's answer. An
// error from ca.Verify is returned wrapped, so that errors.Is finds the key service's reason.
func (t *Terminal) Authenticate(ctx context.Context, ca CardAuthenticator) error {
	if err := t.SelectSSSE(ctx); err != nil {
		return err
	}
	id, kv, err := t.cardKeyInfo(ctx)
	if err != nil {
		return err
	}
	ch, err := ca.Challenge(ctx)
	if err != nil {
		return fmt.Errorf("apdu: authenticate card %s: challenge: %w", FormatCardID(id), err)
	}
	ans, err := t.run(ctx, "INTERNAL AUTHENTICATE", Command{CLA: 0x00, INS: insInternalAuth, Data: ch[:], Le: 16})
	if err != nil {
		return err
	}
	if len(ans) != 16 {
		return fmt.Errorf("apdu: INTERNAL AUTHENTICATE: %d bytes, want 16", len(ans))
	}
	if err := ca.Verify(ctx, id, kv, ch, [16]byte(ans)); err != nil {
		return fmt.Errorf("apdu: authenticate card %s: %w", FormatCardID(id), err)
	}
	return nil
}

// VerifyPIN presents a PIN. A wrong PIN is a *StatusError whose TriesLeft says how many tries are
// left; a blocked PIN is one whose Blocked is true.
func (t *Terminal) VerifyPIN(ctx context.Context, pin string) error {
	bcd, err := pinBCD(pin)
	if err != nil {
		return err
	}
	if err := t.SelectSSSE(ctx); err != nil {
		return err
	}
	_, err = t.run(ctx, "VERIFY", Command{CLA: 0x00, INS: insVerify, Data: bcd, Le: -1})
	return err
}

// ChangePIN replaces the PIN; the old PIN counts against the tries as in VerifyPIN.
func (t *Terminal) ChangePIN(ctx context.Context, old, newPIN string) error {
	o, err := pinBCD(old)
	if err != nil {
		return err
	}
	n, err := pinBCD(newPIN)
	if err != nil {
		return err
	}
	if err := t.SelectSSSE(ctx); err != nil {
		return err
	}
	data := append(append(o, 0xFF), n...)
	_, err = t.run(ctx, "CHANGE PIN", Command{CLA: 0x80, INS: insChangePIN, P1: 0x01, Data: data, Le: -1})
	return err
}

func pinBCD(pin string) ([]byte, error) {
	if checkPIN(pin) != nil {
		return nil, ErrPINFormat
	}
	b, _ := packBCD(pin)
	return b, nil
}

// TransactionCryptogram has the card sign a payment: it sends GENERATE TRANSACTION CRYPTOGRAM with
// d and returns the card's transaction counter and cryptogram, which the key service checks
// (keys.Service.AcceptTransaction). Data that does not encode is refused before anything is sent,
// with one of the ErrTransaction… errors. Unlike the other methods it does not select the
// application, which would end the session: it continues the one in which VerifyPIN presented the
// holder's PIN. Without it the card answers 6982; with a card that cannot make cryptograms (no
// transaction key, or its counter used up) 6985; both come back as a *StatusError.
func (t *Terminal) TransactionCryptogram(ctx context.Context, d TransactionData) (atc uint16, cryptogram [8]byte, err error) {
	b, err := d.Encode()
	if err != nil {
		return 0, cryptogram, err
	}
	const name = "GENERATE TRANSACTION CRYPTOGRAM"
	ans, err := t.run(ctx, name, Command{CLA: 0x80, INS: insTransaction, P1: p1ARQC, P2: 0x00, Data: b, Le: MaxLe})
	if err != nil {
		return 0, cryptogram, err
	}
	if len(ans) != transactionAnswerLen {
		return 0, cryptogram, fmt.Errorf("apdu: %s: %d bytes, want %d (ATC and cryptogram)", name, len(ans), transactionAnswerLen)
	}
	atc = uint16(ans[0])<<8 | uint16(ans[1])
	if atc == 0 {
		// The first cryptogram has counter 1; 0 is no card's answer.
		return 0, cryptogram, fmt.Errorf("apdu: %s: transaction counter 0", name)
	}
	return atc, [8]byte(ans[2:]), nil
}

// Payment is what a card gives the terminal for one payment: what the key service needs, with the
// transaction data, to check the card's proof.
type Payment struct {
	CardID     [16]byte // EF05 tag 01
	KeyVersion byte     // EF05 tag 20
	ATC        uint16
	Cryptogram [8]byte
}

// Pay carries out the whole card side of a payment in one session: select the application, read
// the card id and key version, verify the holder's PIN and generate the transaction cryptogram
// over d. A wrong PIN is a *StatusError as in VerifyPIN, and no cryptogram is made.
func (t *Terminal) Pay(ctx context.Context, pin string, d TransactionData) (Payment, error) {
	bcd, err := pinBCD(pin)
	if err != nil {
		return Payment{}, err
	}
	if err := d.Validate(); err != nil {
		return Payment{}, err
	}
	if err := t.SelectSSSE(ctx); err != nil {
		return Payment{}, err
	}
	var p Payment
	if p.CardID, p.KeyVersion, err = t.cardKeyInfo(ctx); err != nil {
		return Payment{}, err
	}
	if _, err := t.run(ctx, "VERIFY", Command{CLA: 0x00, INS: insVerify, Data: bcd, Le: -1}); err != nil {
		return Payment{}, err
	}
	if p.ATC, p.Cryptogram, err = t.TransactionCryptogram(ctx, d); err != nil {
		return Payment{}, err
	}
	return p, nil
}
