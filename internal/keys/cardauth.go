package keys

import (
	"context"
	"crypto/cipher"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shebao/shebao/internal/apdu"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/period"
)

var errTooManyChallenges = errs.E(errs.TooMany, "too many card authentications are in progress; try again")

// regionOfCard is the issuing region at the start of a card identification code.
func regionOfCard(cardID [16]byte) string {
	return strings.ToUpper(apdu.FormatCardID(cardID))[:6]
}

// Challenge issues the data a terminal sends to the card in INTERNAL AUTHENTICATE.
func (s *Service) Challenge(ctx context.Context) ([16]byte, error) {
	if s.Sealed() {
		return [16]byte{}, ErrSealed
	}
	return s.challenges.issue()
}

// ErrNotGenuine is the answer for a card that fails authentication, whatever the reason, so that
// a forger learns nothing from the refusal.
var ErrNotGenuine = errs.E(errs.Invalid, "the card is not genuine, or its answer was not to a challenge of ours")

// Verify checks a card's answer to a challenge it was given: the challenge must be one this service
// issued, unused and under a minute old; the answer must be the card key's cryptogram, the card key
// being diversified from the region's internal authentication key of the card's key version. The
// challenge is used up either way.
func (s *Service) Verify(ctx context.Context, cardID [16]byte, keyVersion byte, challenge, answer [16]byte) error {
	if s.Sealed() {
		return ErrSealed
	}
	if !s.challenges.take(challenge) {
		return ErrNotGenuine
	}
	if keyVersion == 0 {
		return ErrNotGenuine
	}
	issuer, _, err := s.block(ctx, regionOfCard(cardID), InternalAuth, int(keyVersion), OpDiversify)
	if errs.Is(err, errs.NotFound) {
		return ErrNotGenuine
	}
	if err != nil {
		return err
	}
	if !verifyInternal(issuer, cardID, challenge, answer) {
		return ErrNotGenuine
	}
	return nil
}

// verifyInternal diversifies the card key and checks the cryptogram in constant time. It is the
// work measured by shebao bench keys.
func verifyInternal(issuer interface{ Encrypt(dst, src []byte) }, cardID, challenge, answer [16]byte) bool {
	var in, key [16]byte
	copy(in[:8], cardID[8:])
	for i := range 8 {
		in[8+i] = ^cardID[8+i]
	}
	issuer.Encrypt(key[:], in[:])
	want := apdu.InternalAuthCryptogram(key, challenge)
	clear(key[:])
	return subtle.ConstantTimeCompare(want[:], answer[:]) == 1
}

// ExternalAuth computes the cryptogram a terminal sends in EXTERNAL AUTHENTICATE to read a card's
// holder data: the card's external authentication key applied to the card's challenge. The key
// never leaves the service; only the one-time cryptogram does.
func (s *Service) ExternalAuth(ctx context.Context, cardID [16]byte, keyVersion byte, challenge [8]byte) ([16]byte, error) {
	issuer, _, err := s.block(ctx, regionOfCard(cardID), ExternalAuth, int(keyVersion), OpDiversify)
	if err != nil {
		return [16]byte{}, err
	}
	key := Diversify(issuer, cardID)
	defer clear(key[:])
	return apdu.ExternalAuthCryptogram(key, challenge), nil
}

// CardSpec is what a new card carries: its identity, its holder, and its initial PIN.
type CardSpec struct {
	CardNumber string
	CardID     [16]byte
	ChipSerial [4]byte
	IssueDate  time.Time
	ExpiryDate time.Time
	Holder     apdu.HolderData
	PIN        string
	PINTries   int
}

// Personalise derives the card's keys from the region's active issuer keys and writes a new
// software card with its files, keys and PIN. The card's key version is written into EF05 so
// terminals can tell the key service which issuer key version to diversify from.
func (s *Service) Personalise(ctx context.Context, spec CardSpec) (*apdu.SoftCard, error) {
	region := regionOfCard(spec.CardID)
	var ck apdu.CardKeys
	var version int
	for _, p := range []struct {
		purpose Purpose
		dst     *[16]byte
	}{{InternalAuth, &ck.InternalAuth}, {ExternalAuth, &ck.ExternalAuth}, {PINKey, &ck.PIN}, {TransactionMAC, &ck.Transaction}} {
		issuer, k, err := s.block(ctx, region, p.purpose, version, OpDiversify)
		if err != nil {
			return nil, fmt.Errorf("keys: personalise: %w", err)
		}
		version = k.Version // every key of one card comes from the same version
		*p.dst = Diversify(issuer, spec.CardID)
	}
	defer clear(ck.InternalAuth[:])
	defer clear(ck.ExternalAuth[:])
	defer clear(ck.PIN[:])
	defer clear(ck.Transaction[:])
	if version > 255 {
		return nil, errors.New("keys: key version does not fit the card")
	}
	// The chip holds calendar dates: Beijing's dates of the instants given (SPEC 2).
	issuerData := apdu.IssuerData{CardID: spec.CardID, CardType: 3, Version: "3.00", IssueDate: period.Today(spec.IssueDate),
		ExpiryDate: period.Today(spec.ExpiryDate), CardNumber: spec.CardNumber, KeyVersion: byte(version)}
	holder, err := spec.Holder.Records()
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "the holder data does not fit the card")
	}
	tries := spec.PINTries
	if tries == 0 {
		tries = 3
	}
	atr := append([]byte{0x3B, 0x6C, 0x00, 0x00, 0x00, 0x81, 0x54, 0x4C}, spec.ChipSerial[:]...)
	card, err := apdu.NewSoftCard(apdu.Personalization{EF05: issuerData.Records(), EF06: holder, Keys: ck, PIN: spec.PIN, PINTries: tries, ATR: atr})
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "the card cannot be personalised: %v", err)
	}
	return card, nil
}

// VerifyCardAnswer is the cryptographic core of Verify, exposed for the benchmark: diversify the
// card key from the issuer key and check the card's answer to a challenge.
func VerifyCardAnswer(issuer cipher.Block, cardID, challenge, answer [16]byte) bool {
	return verifyInternal(issuer, cardID, challenge, answer)
}

// CardAnswer is what a genuine card answers, for the benchmark and tests.
func CardAnswer(issuer cipher.Block, cardID, challenge [16]byte) [16]byte {
	key := Diversify(issuer, cardID)
	return apdu.InternalAuthCryptogram(key, challenge)
}
