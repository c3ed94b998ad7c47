package ident

import (
	"errors"
	"fmt"
)

// The classes of *Error, for callers that need to react differently to, say, a future birth date
// (ask the clerk to check the document) than to a typo (ask the person to retype).
var (
	ErrLength    = errors.New("wrong length")
	ErrCharacter = errors.New("character not allowed")
	ErrBirthDate = errors.New("bad birth date")
	ErrRegion    = errors.New("bad region code")
	ErrCheck     = errors.New("wrong check character")
	ErrArgument  = errors.New("bad argument") // a caller's mistake in AssignIDNumber, not a user's
)

// Error is why an input was refused. Reason is short, English and safe to show next to the form
// field; errors.Is(err, ErrCheck) etc. tells the class.
type Error struct {
	Reason string
	class  error
}

func (e *Error) Error() string { return e.Reason }

// Unwrap makes errors.Is match the class.
func (e *Error) Unwrap() error { return e.class }

// fail returns error, not *Error, so that no function here can return a typed nil by accident.
func fail(class error, format string, args ...any) error {
	return &Error{Reason: fmt.Sprintf(format, args...), class: class}
}
