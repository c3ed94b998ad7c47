package ident

import (
	"strings"
	"unicode/utf8"
)

// maxInput bounds how much of any input is looked at. A real value with generous surrounding space
// (say a padded fixed-width column) is far shorter; anything longer is refused before it is trimmed
// or counted, so a huge input costs nothing.
const maxInput = 256

// checkFunc says what is wrong with character c at position pos (counted from 1, as a person
// counts), or nil. It sees c after ASCII upper-casing and must refuse anything that is not ASCII.
type checkFunc func(pos int, c rune) error

// prepare trims surrounding white space, checks that exactly want characters remain and that
// each passes check, and returns them upper-cased. Characters are counted as runes, so a
// full-width or Chinese character counts as one and gets a "character N" message rather than a
// confusing length message.
func prepare(s string, want int, check checkFunc) (string, error) {
	if len(s) > maxInput {
		return "", fail(ErrLength, "must be %d characters", want)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fail(ErrLength, "must not be empty")
	}
	if n := utf8.RuneCountInString(s); n != want {
		return "", fail(ErrLength, "must be %d characters, got %d", want, n)
	}
	out := make([]byte, 0, want)
	pos := 0
	for _, c := range s { // invalid UTF-8 arrives as utf8.RuneError, which every check refuses
		pos++
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if err := check(pos, c); err != nil {
			return "", err
		}
		if c >= utf8.RuneSelf { // a check that lets non-ASCII through is a bug here, not bad input
			return "", fail(ErrCharacter, "character %d is not allowed", pos)
		}
		out = append(out, byte(c))
	}
	return string(out), nil
}

func isDigit(c rune) bool { return '0' <= c && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
