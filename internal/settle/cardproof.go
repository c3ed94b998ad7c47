package settle

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/shebao/shebao/internal/apdu"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/keys"
)

// acceptCard checks the social security card's proof against this very settlement, inside tx: the
// card must be active, and its cryptogram over the total, the date, the institution, the
// terminal's random number and the settlement's digest must be the card's, with a transaction
// counter never accepted before. What the key service accepts is taken in tx, so a proof pays
// once and only if the settlement commits.
func (s *Service) acceptCard(ctx context.Context, tx *db.Tx, inst Institution, p CardProof, v validated) (card.Holder, error) {
	proof, err := parseProof(p)
	if err != nil {
		return card.Holder{}, err
	}
	holder, err := s.cards.HolderByChip(ctx, tx, apdu.FormatCardID(proof.CardID))
	if err != nil {
		return card.Holder{}, err
	}
	bindProof(&proof, inst, v)
	if err := proofRefusal(s.keys.AcceptTransaction(ctx, tx, proof)); err != nil {
		return card.Holder{}, err
	}
	return holder, nil
}

// parseProof reads the card's answer as the terminal sent it, naming each field that is wrong.
func parseProof(p CardProof) (keys.TransactionProof, error) {
	f := errs.Fields{}
	var proof keys.TransactionProof
	if b, err := hex.DecodeString(strings.TrimSpace(p.CardID)); err != nil || len(b) != 16 {
		f.Add("identity.social_security_card.card_id", "the card identification code: 32 hexadecimal characters")
	} else {
		copy(proof.CardID[:], b)
	}
	if p.KeyVersion < 1 || p.KeyVersion > 255 {
		f.Add("identity.social_security_card.key_version", "1–255, as EF05 holds it")
	}
	if p.ATC < 1 || p.ATC > 0xFFFF {
		f.Add("identity.social_security_card.atc", "the card's transaction counter, 1–65535")
	}
	if b, err := hex.DecodeString(strings.TrimSpace(p.Unpredictable)); err != nil || len(b) != 4 {
		f.Add("identity.social_security_card.unpredictable_number", "the terminal's 4 random bytes: 8 hexadecimal characters")
	} else {
		copy(proof.Data.Unpredictable[:], b)
	}
	if b, err := hex.DecodeString(strings.TrimSpace(p.Cryptogram)); err != nil || len(b) != 8 {
		f.Add("identity.social_security_card.cryptogram", "the card's answer: 16 hexadecimal characters")
	} else {
		copy(proof.Cryptogram[:], b)
	}
	if err := f.Err(); err != nil {
		return keys.TransactionProof{}, err
	}
	proof.KeyVersion, proof.ATC = byte(p.KeyVersion), uint16(p.ATC)
	return proof, nil
}

// bindProof gives a proof what the card must have signed: this settlement's figures.
func bindProof(proof *keys.TransactionProof, inst Institution, v validated) {
	proof.Data.Amount, proof.Data.Date, proof.Data.Institution, proof.Data.Digest = int64(v.total), v.date, inst.Code, v.digest
}

// proofRefusal turns the key service's answer about a card's proof into the settlement's.
func proofRefusal(err error) error {
	if errors.Is(err, keys.ErrProofMismatch) {
		// Not 401: the institution's own credentials are good; the card's proof is not this
		// settlement's.
		return errs.E(errs.Invalid, "the card's proof does not match this settlement")
	}
	return err
}

// CardData is what a terminal gives the card to sign for a settlement: the figures in clear and
// the digest of the whole bill, as acceptCard will recompute them.
func CardData(institution string, r Request, unpredictable [4]byte) (apdu.TransactionData, error) {
	items, err := ItemsOf(r.Items)
	if err != nil {
		return apdu.TransactionData{}, err
	}
	var total int64
	for _, it := range items {
		total += int64(it.Amount)
	}
	d, err := periodDate(r.Date)
	if err != nil {
		return apdu.TransactionData{}, err
	}
	use := r.UseAccount == nil || *r.UseAccount
	return apdu.TransactionData{Amount: total, Date: d, Institution: institution, Unpredictable: unpredictable,
		Digest: Digest(institution, r.Kind, d, use, items)}, nil
}
