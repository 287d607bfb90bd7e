// Package errs defines MLE's status codes and the error type every layer returns.
//
// Codes follow SQLite's scheme: the low 8 bits are the primary code (what a
// binding maps to an exception class) and the upper bits refine it into an
// extended code that names the exact failure (what tests assert).
package errs

import (
	"errors"
	"fmt"
)

// Code is an MLE status code. The values are part of the C ABI: never reuse one.
// The codes and their names (codes_gen.go) are generated from the table in
// cmd/mle-gentables/tables.go, with every other language's copy: `make gen`.
type Code uint32

// Primary returns the primary code of c.
func (c Code) Primary() Code { return c & 0xff }

// String returns the C constant name of c, e.g. "MLE_ERR_FORMAT_BAD_MAGIC".
func (c Code) String() string {
	if s, ok := names[c]; ok {
		return s
	}
	if s, ok := names[c.Primary()]; ok {
		return fmt.Sprintf("%s(extended %d)", s, uint32(c)>>8)
	}
	return fmt.Sprintf("MLE_STATUS_%d", uint32(c))
}

// AllCodes lists every named code, for tests.
func AllCodes() []Code {
	out := make([]Code, 0, len(names))
	for c := range names {
		out = append(out, c)
	}
	return out
}

// Error is the error type of every MLE layer: a code plus a message that
// names what failed and where.
type Error struct {
	Code Code
	Msg  string
	Err  error // optional cause
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Msg, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Message returns the error's text without the status-code prefix (for
// APIs that report the code separately).
func Message(err error) string {
	var e *Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Msg, e.Err)
	}
	return e.Msg
}

// New returns an *Error with a formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error carrying cause.
func Wrap(code Code, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...), Err: cause}
}

// CodeOf returns the code of the first *Error in err's chain, OK for nil and
// Internal for errors that carry no code.
func CodeOf(err error) Code {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Prefix adds context to err's message while keeping its code.
func Prefix(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return &Error{Code: e.Code, Msg: fmt.Sprintf(format, args...) + ": " + e.Msg, Err: e.Err}
	}
	return Wrap(Internal, err, format, args...)
}
