package apdu

import (
	"context"
	"errors"
	"fmt"
)

// Card is anything that carries a command APDU to a card and brings back its response APDU: the
// SoftCard in this package, or a PC/SC reader. The error is for transport failures only (no card,
// reader gone, context ended); a card's refusal is a status word in the response bytes.
type Card interface {
	Transmit(ctx context.Context, apdu []byte) ([]byte, error)
}

// Status words (ISO/IEC 7816-4 5.6) the SoftCard answers and the Terminal understands.
const (
	SWOK                     uint16 = 0x9000
	SWAuthFailed             uint16 = 0x6300 // EXTERNAL AUTHENTICATE cryptogram wrong
	SWWrongLength            uint16 = 0x6700 // Lc, Le or the APDU's own shape is wrong
	SWSecurityNotSatisfied   uint16 = 0x6982 // e.g. EF06 before EXTERNAL AUTHENTICATE
	SWAuthBlocked            uint16 = 0x6983 // PIN blocked
	SWConditionsNotSatisfied uint16 = 0x6985 // e.g. no challenge, application not selected
	SWNoCurrentEF            uint16 = 0x6986
	SWWrongData              uint16 = 0x6A80
	SWFileNotFound           uint16 = 0x6A82
	SWRecordNotFound         uint16 = 0x6A83
	SWIncorrectP1P2          uint16 = 0x6A86
	SWInsNotSupported        uint16 = 0x6D00
	SWClaNotSupported        uint16 = 0x6E00
	SWNoPreciseDiagnosis     uint16 = 0x6F00 // the card failed inside (the SoftCard: no random bytes)
)

// SWTriesLeft is the status word 63Cx of a wrong PIN with n tries left (0 ≤ n ≤ 15).
func SWTriesLeft(n int) uint16 { return 0x63C0 | uint16(n&0x0F) }

// SWWrongLe is the status word 6Cxx: Le was too small and the answer is n bytes long (1 ≤ n ≤
// 256; 256 is written 6C00). The command should be sent again with Le = n.
func SWWrongLe(n int) uint16 { return 0x6C00 | uint16(n&0xFF) }

// Short APDU limits (ISO/IEC 7816-4 5.1).
const (
	MaxData = 255 // Nc, bytes of command data
	MaxLe   = 256 // Ne, bytes of response data; written 00
)

// ErrMalformed is wrapped by every error of ParseCommand and ParseResponse.
var ErrMalformed = errors.New("apdu: malformed APDU")

// Command is one short command APDU. Data is nil when there is no command data (Lc absent). Le is
// the number of response bytes expected: -1 when the Le field is absent, 1..256 otherwise, 256
// being written as 00. Le 0 is not valid: a literal without Le must say -1, so that "no data
// expected" and "up to 256" can never be confused.
type Command struct {
	CLA, INS, P1, P2 byte
	Data             []byte
	Le               int
}

// ParseCommand decodes a short command APDU of ISO/IEC 7816-3 case 1 (header), 2 (header Le), 3
// (header Lc data) or 4 (header Lc data Le). It refuses fewer than 4 bytes, extended length (and
// the Lc=00 that begins it), an APDU shorter than its Lc, and bytes after Le. It never panics, and
// the command it returns does not share memory with b.
func ParseCommand(b []byte) (Command, error) {
	if len(b) < 4 {
		return Command{}, fmt.Errorf("%w: %d bytes, a command has a 4-byte header", ErrMalformed, len(b))
	}
	c := Command{CLA: b[0], INS: b[1], P1: b[2], P2: b[3], Le: -1}
	body := b[4:]
	switch {
	case len(body) == 0: // case 1
		return c, nil
	case len(body) == 1: // case 2
		c.Le = decodeLe(body[0])
		return c, nil
	case body[0] == 0:
		// A short Lc is never 00; 00 followed by more bytes is an extended-length field.
		return Command{}, fmt.Errorf("%w: Lc=00 with more bytes (extended length is not supported)", ErrMalformed)
	}
	lc := int(body[0])
	rest := body[1:]
	switch {
	case len(rest) < lc:
		return Command{}, fmt.Errorf("%w: Lc=%d but only %d data bytes", ErrMalformed, lc, len(rest))
	case len(rest) == lc: // case 3
	case len(rest) == lc+1: // case 4
		c.Le = decodeLe(rest[lc])
	default:
		return Command{}, fmt.Errorf("%w: %d bytes after the data and Le", ErrMalformed, len(rest)-lc-1)
	}
	c.Data = append([]byte(nil), rest[:lc]...)
	return c, nil
}

func decodeLe(b byte) int {
	if b == 0 {
		return MaxLe
	}
	return int(b)
}

// Validate reports whether c can be written as a short APDU: at most 255 data bytes and Le -1 or
// 1..256.
func (c Command) Validate() error {
	if len(c.Data) > MaxData {
		return fmt.Errorf("apdu: command data of %d bytes, a short APDU carries at most %d", len(c.Data), MaxData)
	}
	if c.Le != -1 && (c.Le < 1 || c.Le > MaxLe) {
		return fmt.Errorf("apdu: Le %d, want -1 (absent) or 1..%d", c.Le, MaxLe)
	}
	return nil
}

// Bytes encodes c. It panics if c is not valid (see Validate): a command is built by program code,
// and one that cannot be sent is a bug to be found at once, not a status word to be found later.
// Every command that ParseCommand returns is valid and encodes to the bytes it was parsed from.
func (c Command) Bytes() []byte {
	if err := c.Validate(); err != nil {
		panic(err)
	}
	b := make([]byte, 0, 4+1+len(c.Data)+1)
	b = append(b, c.CLA, c.INS, c.P1, c.P2)
	if len(c.Data) > 0 {
		b = append(b, byte(len(c.Data)))
		b = append(b, c.Data...)
	}
	if c.Le != -1 {
		b = append(b, byte(c.Le)) // 256 becomes 00
	}
	return b
}

// Response is one response APDU: data, then the two status bytes SW1 SW2.
type Response struct {
	Data []byte
	SW   uint16
}

// ParseResponse splits a response APDU into its data and status word. It refuses fewer than 2
// bytes and does not share memory with b.
func ParseResponse(b []byte) (Response, error) {
	if len(b) < 2 {
		return Response{}, fmt.Errorf("%w: response of %d bytes, want at least the 2 status bytes", ErrMalformed, len(b))
	}
	n := len(b) - 2
	r := Response{SW: uint16(b[n])<<8 | uint16(b[n+1])}
	if n > 0 {
		r.Data = append([]byte(nil), b[:n]...)
	}
	return r, nil
}

// Bytes encodes r as data ‖ SW1 ‖ SW2.
func (r Response) Bytes() []byte {
	b := make([]byte, 0, len(r.Data)+2)
	b = append(b, r.Data...)
	return append(b, byte(r.SW>>8), byte(r.SW))
}

// OK reports whether the status word is 9000.
func (r Response) OK() bool { return r.SW == SWOK }

// StatusError is the error for a card's answer other than 9000: Command names the command ("READ
// RECORD"), SW is the status word.
type StatusError struct {
	Command string
	SW      uint16
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("apdu: %s: card answered %04X (%s)", e.Command, e.SW, swMeaning(e.SW))
}

// TriesLeft returns the number of PIN tries left when the answer was 63Cx.
func (e *StatusError) TriesLeft() (int, bool) {
	if e.SW&0xFFF0 == 0x63C0 {
		return int(e.SW & 0x0F), true
	}
	return 0, false
}

// Blocked reports whether the card answered that the PIN is blocked (6983).
func (e *StatusError) Blocked() bool { return e.SW == SWAuthBlocked }

// swMeaning is a short English name of a status word, for error messages and logs.
func swMeaning(sw uint16) string {
	switch sw {
	case SWOK:
		return "success"
	case SWAuthFailed:
		return "authentication failed"
	case SWWrongLength:
		return "wrong length"
	case SWSecurityNotSatisfied:
		return "security status not satisfied"
	case SWAuthBlocked:
		return "PIN blocked"
	case SWConditionsNotSatisfied:
		return "conditions of use not satisfied"
	case SWNoCurrentEF:
		return "no current EF"
	case SWWrongData:
		return "wrong data"
	case SWFileNotFound:
		return "file not found"
	case SWRecordNotFound:
		return "record not found"
	case SWIncorrectP1P2:
		return "incorrect P1 P2"
	case SWInsNotSupported:
		return "instruction not supported"
	case SWClaNotSupported:
		return "class not supported"
	case SWNoPreciseDiagnosis:
		return "no precise diagnosis"
	}
	switch sw & 0xFF00 {
	case 0x6100:
		return "more response bytes available"
	case 0x6C00:
		return "wrong Le"
	}
	if sw&0xFFF0 == 0x63C0 {
		return fmt.Sprintf("wrong PIN, %d tries left", sw&0x0F)
	}
	return "error"
}
