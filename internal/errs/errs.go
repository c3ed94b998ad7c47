// Package errs is shebao's one error type. Every capability returns *errs.Error for anything a
// caller did wrong (bad field, not found, conflict, not allowed) so that the web layer can turn it
// into the right status and a message that is safe to show, in exactly one place. Anything that is
// not an *errs.Error is an internal failure: it is logged, and the caller sees only "internal error".
//
// This package must never import anything from shebao: it sits at the very bottom.
package errs

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Code classifies an error. Each code maps to one HTTP status in the web layer.
type Code string

const (
	Invalid      Code = "invalid"      // a field is wrong (422), Fields names each one
	BadRequest   Code = "bad_request"  // the request itself is malformed, e.g. not JSON (400)
	Unauthorized Code = "unauthorized" // no or bad credentials (401)
	Forbidden    Code = "forbidden"    // authenticated but not allowed (403)
	NotFound     Code = "not_found"    // (404)
	Conflict     Code = "conflict"     // duplicate, or a state that forbids the change (409)
	TooMany      Code = "too_many"     // rate-limited (429)
	BadMethod    Code = "bad_method"   // the path exists but not with this method (405)
	Unavailable  Code = "unavailable"  // a dependency is not ready, e.g. the key service is sealed (503)
	Internal     Code = "internal"     // anything else; never shown in detail (500)
)

// Error is an error a user may see. Message and Fields are written for the user; Err is the
// underlying cause, kept for logs and errors.Is, never shown.
type Error struct {
	Code    Code
	Message string
	Fields  map[string]string // field name → what is wrong with it
	Rows    []RowProblem      // for uploaded tables: the bad rows, at most MaxRowProblems
	Err     error
}

// RowProblem is what is wrong with one row of an uploaded table.
type RowProblem struct {
	Line   int    `json:"line"`   // the row as a spreadsheet shows it
	Column string `json:"column"` // the spreadsheet column letter, "" when about the whole row
	Field  string `json:"field"`  // the API field name of the column
	Reason string `json:"reason"`
}

// MaxRowProblems is how many row problems an error lists. A file with more has something wrong
// throughout (the wrong columns, the wrong file) that the first ones show, and listing each of a
// hundred thousand rows would cost the server a hundred megabytes to say nothing more.
const MaxRowProblems = 1_000

// RowProblems gathers an uploaded table's problems as they are found, a row at a time: it keeps
// the first MaxRowProblems and counts every row that has one. A row's problems must be added
// together, as a loop over the rows does.
type RowProblems struct {
	List  []RowProblem
	Lines int // rows with a problem, all of them
	last  int
	more  bool // some problems are not in List
}

// Add records one problem.
func (p *RowProblems) Add(rp RowProblem) {
	if p.Lines == 0 || rp.Line != p.last {
		p.Lines++
		p.last = rp.Line
	}
	if len(p.List) < MaxRowProblems {
		p.List = append(p.List, rp)
	} else {
		p.more = true
	}
}

// Err is the error for the problems found, or nil when there are none: message, then a note when
// some problems are not listed. Field "file" says "rows with problems".
func (p *RowProblems) Err(message string) error {
	if p.Lines == 0 {
		return nil
	}
	if p.more {
		message += fmt.Sprintf(" The first %d problems are listed.", MaxRowProblems)
	}
	return &Error{Code: Invalid, Message: message, Fields: map[string]string{"file": "rows with problems"}, Rows: p.List}
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Code))
	b.WriteString(": ")
	b.WriteString(e.Message)
	for _, k := range slices.Sorted(maps.Keys(e.Fields)) {
		fmt.Fprintf(&b, "; %s: %s", k, e.Fields[k])
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, &errs.Error{Code: errs.NotFound}) match on the code alone.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Fields == nil && t.Err == nil && t.Code == e.Code
}

// E returns an error with a code and a formatted message.
func E(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an error with a code and message that keeps cause for logs.
func Wrap(code Code, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: cause}
}

// Field returns an Invalid error naming one bad field.
func Field(name, problem string) *Error {
	return &Error{Code: Invalid, Message: name + ": " + problem, Fields: map[string]string{name: problem}}
}

// Fields collects per-field problems; Err returns nil when there are none, so validation code can
// check every field and report them all at once.
type Fields map[string]string

// Add records a problem with a field; the first problem per field wins.
func (f Fields) Add(name, problem string) {
	if _, ok := f[name]; !ok {
		f[name] = problem
	}
}

// Err returns an Invalid error naming every field, or nil.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	names := slices.Sorted(maps.Keys(f))
	return &Error{Code: Invalid, Message: "invalid " + strings.Join(names, ", "), Fields: maps.Clone(f)}
}

// CodeOf returns the code of the first *Error in err's chain, or Internal.
func CodeOf(err error) Code {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return Internal
}

// As returns the first *Error in err's chain.
func As(err error) (*Error, bool) { return errors.AsType[*Error](err) }

// Is reports whether err carries the given code.
func Is(err error, code Code) bool { return err != nil && CodeOf(err) == code }
