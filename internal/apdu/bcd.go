package apdu

// Packed BCD, two decimal digits a byte, high nibble first: the form of PINs and dates on the card.

// packBCD packs an even number of ASCII digits. It reports false for anything else.
func packBCD(digits string) ([]byte, bool) {
	if len(digits)%2 != 0 || !allDigits(digits) {
		return nil, false
	}
	b := make([]byte, len(digits)/2)
	for i := range b {
		b[i] = (digits[2*i]-'0')<<4 | (digits[2*i+1] - '0')
	}
	return b, true
}

// unpackBCD unpacks bytes whose every nibble is a decimal digit. It reports false if a nibble is
// A–F, which for a PIN is malformed data rather than a wrong PIN.
func unpackBCD(b []byte) (string, bool) {
	out := make([]byte, 0, 2*len(b))
	for _, x := range b {
		hi, lo := x>>4, x&0x0F
		if hi > 9 || lo > 9 {
			return "", false
		}
		out = append(out, '0'+hi, '0'+lo)
	}
	return string(out), true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
