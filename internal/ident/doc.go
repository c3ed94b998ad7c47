// Package ident parses, validates and derives facts from the three identifiers shebao takes from
// the outside world (SPEC 2): the citizen ID number, which is also the social security number
// (GB 11643-1999; Social Insurance Law Art. 58), the unified social credit code of an employer
// (GB 32100-2015), and the social security card number.
//
// Every value of IDNumber, USCC or CardNumber that comes out of a Parse or Make function is
// normalised (upper case, no surrounding space) and valid, so the rest of shebao stores and compares
// them as plain strings and never validates them again. Gender and birth date are derived from the
// ID number here, so they are never typed twice. An IDNumber given to slog is written masked, so
// that logging a person does not put a full ID number in a log file.
//
// This package is pure: it must never do I/O, read the clock, touch a database or import anything
// outside the standard library. The business date is always passed in by the caller, so the same
// input gives the same answer in a test, in a batch run and at the service window.
//
// Errors are *Error values whose message is a short English reason meant to be shown next to the
// form field. A message never quotes more than a few characters of the input (a check character, a
// date, an address code), so that a pasted paragraph or a binary blob cannot end up in a page or a
// log line, and no input, however long or malformed, makes a function panic.
//
// Where this package is stricter or looser than a reference implementation it says so at the rule:
// the USCC parser accepts letters in characters 1–2 (python-stdnum does not), and the ID parser
// checks the province of a resident ID's address code but not the county (python-stdnum checks
// both against its own table, which shebao does not carry).
package ident
