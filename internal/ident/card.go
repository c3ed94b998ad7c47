package ident

// CardNumber is a validated social security card number (卡号, SSSE EF05 record 07): an 8-character
// body of digits and capital letters and a check character, 9 characters printed on the card.
type CardNumber string

const cardLen = 9

// cardWeights and the rule in cardCheck are those of the GB 11714-1997 organisation code. No
// official statement of the card number's check rule has been found (reference/domain-facts.md
// 1.1); this rule is derived from, and agrees with, the real card numbers B7K334774, X00000019 and
// 188347080 found in public card-reader code. If the MOHRSS card specification says otherwise, it
// wins and this changes.
var cardWeights = [8]int{3, 7, 9, 10, 5, 8, 4, 2}

// ParseCardNumber validates s as a card number. It accepts surrounding white space and lower case,
// and refuses a wrong length, a body character that is not a digit or letter, a check character
// that is not a digit or X, and a wrong check character.
func ParseCardNumber(s string) (CardNumber, error) {
	v, err := prepare(s, cardLen, checkCardChar)
	if err != nil {
		return "", err
	}
	if want := cardCheck(v[:8]); v[8] != want {
		return "", fail(ErrCheck, "check character should be %c", want)
	}
	return CardNumber(v), nil
}

// MakeCardNumber builds a card number from its 8-character body by appending the check character.
func MakeCardNumber(body8 string) (CardNumber, error) {
	v, err := prepare(body8, 8, checkCardChar)
	if err != nil {
		return "", err
	}
	return CardNumber(v + string(cardCheck(v))), nil
}

// CardCheckChar returns the check character of an 8-character body, which is checked and
// normalised as ParseCardNumber does.
func CardCheckChar(body8 string) (byte, error) {
	v, err := prepare(body8, 8, checkCardChar)
	if err != nil {
		return 0, err
	}
	return cardCheck(v), nil
}

func (c CardNumber) String() string { return string(c) }

// cardCheck computes the check character of a body already known to be digits and capital letters:
// values 0–9 and A=10 … Z=35; C = 11 − (Σ mod 11); C = 10 is written X and C = 11 is written 0.
func cardCheck(body8 string) byte {
	sum := 0
	for i := range 8 {
		c := body8[i]
		v := int(c - '0')
		if c >= 'A' {
			v = int(c-'A') + 10
		}
		sum += v * cardWeights[i]
	}
	switch c := 11 - sum%11; c {
	case 10:
		return 'X'
	case 11:
		return '0'
	default:
		return byte('0' + c)
	}
}

func checkCardChar(pos int, c rune) error {
	if pos < cardLen {
		if !isDigit(c) && (c < 'A' || c > 'Z') {
			return fail(ErrCharacter, "character %d must be a digit or a letter", pos)
		}
		return nil
	}
	if !isDigit(c) && c != 'X' {
		return fail(ErrCharacter, "character %d must be a digit or X", pos)
	}
	return nil
}
