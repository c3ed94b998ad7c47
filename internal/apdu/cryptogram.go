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
