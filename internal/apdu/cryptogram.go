package apdu

import (
	"github.com/emmansun/gmsm/sm4"
)

// The cryptogram formulas live here, not in the key service, so that the card and the key service
// compute the same thing from one definition: the card with its own diversified key, the key
// service with the same key derived again from the issuer key.

// InternalAuthCryptogram is the card's answer to INTERNAL AUTHENTICATE: the 16 data bytes sent by
// the terminal, encrypted as one block with SM4-ECB under the card's internal authentication key.
// The domain facts describe the data as an 8-byte process factor ‖ 8 random bytes; shebao's key
// service issues all 16 bytes itself.
func InternalAuthCryptogram(key [16]byte, data [16]byte) [16]byte {
	return sm4Block(key, data)
}

// ExternalAuthCryptogram is what the terminal must send in EXTERNAL AUTHENTICATE after an 8-byte
// GET CHALLENGE: SM4-ECB of challenge ‖ (challenge XOR FF…FF) under the card's external
// authentication key. The complement fills the 16-byte block without padding rules that both sides
// would have to agree on.
func ExternalAuthCryptogram(key [16]byte, challenge [8]byte) [16]byte {
	var block [16]byte
	for i, b := range challenge {
		block[i] = b
		block[8+i] = ^b
	}
	return sm4Block(key, block)
}

func sm4Block(key, in [16]byte) [16]byte {
	c, err := sm4.NewCipher(key[:])
	if err != nil {
		// NewCipher fails only for a key that is not 16 bytes, which the array type rules out.
		panic("apdu: sm4: " + err.Error())
	}
	var out [16]byte
	c.Encrypt(out[:], in[:])
	return out
}

// The transaction cryptogram (GENERATE TRANSACTION CRYPTOGRAM, docs/keys.md), modelled on the
// ARQC of EMV and PBOC 3.0: a session key for the transaction's counter, then a CBC-MAC over the
// transaction data and the counter.

// TransactionSessionKey is SK = SM4(card transaction key, 14 zero bytes ‖ ATC): a key used for one
// counter value only, so that no two cryptograms of a card are ever made under the same key.
func TransactionSessionKey(key [16]byte, atc uint16) [16]byte {
	var block [16]byte
	block[14], block[15] = byte(atc>>8), byte(atc)
	return sm4Block(key, block)
}

// Cryptogram is the card's transaction cryptogram for data at counter atc, under the card's
// transaction key: the first 8 bytes of the SM4 CBC-MAC (ISO/IEC 9797-1 MAC algorithm 1, zero IV,
// padding method 2) under TransactionSessionKey(key, atc) over data ‖ ATC. The SoftCard and the key
// service both come here. It fails only when data does not encode (see TransactionData.Encode).
func Cryptogram(key [16]byte, atc uint16, data TransactionData) ([8]byte, error) {
	b, err := data.Encode()
	if err != nil {
		return [8]byte{}, err
	}
	return transactionMAC(key, atc, b), nil
}

// transactionMAC is Cryptogram over the encoded data, as the card receives it.
func transactionMAC(key [16]byte, atc uint16, data []byte) [8]byte {
	sk := TransactionSessionKey(key, atc)
	defer clear(sk[:])
	c, err := sm4.NewCipher(sk[:])
	if err != nil {
		panic("apdu: sm4: " + err.Error())
	}
	// Padding method 2: one 80 byte, then zeros to a whole block, even when the message already
	// fills one.
	msg := make([]byte, 0, len(data)+2+16)
	msg = append(msg, data...)
	msg = append(msg, byte(atc>>8), byte(atc), 0x80)
	for len(msg)%16 != 0 {
		msg = append(msg, 0)
	}
	var chain [16]byte
	for i := 0; i < len(msg); i += 16 {
		for j := range chain {
			chain[j] ^= msg[i+j]
		}
		c.Encrypt(chain[:], chain[:])
	}
	return [8]byte(chain[:8])
}
