// Package apperr is opsdojo's one application error type: an error with a
// Code that says what kind of failure it is (not found, conflict,
// forbidden…) and a message written for the person who reads it. Domain
// packages declare their errors as *Error values (so errors.Is keeps
// working on them) and wrap them with fmt.Errorf("…: %w", err), which keeps
// the code; the HTTP layer maps codes to statuses in one table
// (server/errors.go). Errors without a code are internal: their text is
// logged, never shown.
//
// The model is benbjohnson/wtf's Error{Code, Message} with ErrorCode and
// ErrorMessage.
package apperr

import (
	"context"
	"errors"
)

// Code is the kind of an application error.
type Code string

// The codes. Each one maps to exactly one HTTP status in the server.
const (
	// Internal: a failure the user cannot act on (a bug, a database
	// error). The default of every error without a code.
	Internal Code = "internal"
	// Invalid: the request names something that cannot be (an unknown
	// hint, a file that is not editable).
	Invalid Code = "invalid"
	// Unprocessable: a form or body field has a wrong value.
	Unprocessable Code = "unprocessable"
	// Unauthorized: not logged in, or wrong credentials.
	Unauthorized Code = "unauthorized"
	// Forbidden: logged in but not allowed (hints turned off, another
	// author's challenge).
	Forbidden Code = "forbidden"
	// NotFound: no such thing, or not one the caller may see.
	NotFound Code = "not_found"
	// Conflict: the thing is in a state that refuses the request (the
	// attempt is over, already submitted).
	Conflict Code = "conflict"
	// Gone: it existed and will not come back (the sandbox expired, the
	// invite link was used).
	Gone Code = "gone"
	// TooLarge: the content is larger than allowed.
	TooLarge Code = "too_large"
	// TooManyRequests: slow down and retry later.
	TooManyRequests Code = "too_many_requests"
	// Unavailable: a dependency is down or full (the Docker daemon, the
	// sandbox capacity, the grader); retry later.
	Unavailable Code = "unavailable"
	// Timeout: the operation took longer than its deadline.
	Timeout Code = "timeout"
)

// Codes lists every code (tests check that each one has an HTTP status).
var Codes = []Code{Internal, Invalid, Unprocessable, Unauthorized, Forbidden, NotFound, Conflict, Gone, TooLarge, TooManyRequests, Unavailable, Timeout}

// Error is an application error.
type Error struct {
	Code Code
	// Message is what the user reads: say what is wrong and what to do.
	Message string
	// Err is the cause, when there is one: it is kept for errors.Is/As
	// and for the logs (Cause), and its text is never part of Error()
	// nor shown to users.
	Err error
}

// New returns an error with code and message.
func New(code Code, message string) *Error { return &Error{Code: code, Message: message} }

// Wrap returns an error with code and message whose hidden cause is err:
// errors.Is sees through it, users and Error() do not.
func Wrap(code Code, message string, err error) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

// Error returns the message (never the cause's text).
func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the code.
func (e *Error) ErrorCode() Code { return e.Code }

// Coder is implemented by error types that carry their own code, such as
// validation errors that name a field. *Error implements it.
type Coder interface {
	error
	ErrorCode() Code
}

// Hide returns an error that reads, and tests with errors.Is, as public
// (a coded domain error), and also keeps cause for errors.Is/As and the
// logs: the cause's text (container ids, daemon messages) is never shown.
func Hide(public, cause error) error {
	if cause == nil {
		return public
	}
	return &hidden{public: public, cause: cause}
}

type hidden struct{ public, cause error }

func (h *hidden) Error() string   { return h.public.Error() }
func (h *hidden) Unwrap() []error { return []error{h.public, h.cause} }

// ErrorCode returns the code of err: the code of the first coded error in
// its chain; Timeout for a context deadline; Internal for any other error;
// "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var c Coder
	if errors.As(err, &c) {
		return c.ErrorCode()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Timeout
	}
	return Internal
}

// InternalMessage is what users read for errors without a code.
const InternalMessage = "internal error"

// TimeoutMessage is what users read for a deadline without a coded error.
const TimeoutMessage = "that took too long; try again"

// ErrorMessage returns the text a user may read: the whole text of a coded
// error's chain (domain packages wrap with context meant for users and keep
// causes hidden with Wrap or Hide); a fixed text for a bare deadline and
// InternalMessage for anything else (its detail belongs in the logs).
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var c Coder
	if errors.As(err, &c) {
		return err.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return TimeoutMessage
	}
	return InternalMessage
}

// Cause returns the text of the hidden causes in err's chain, for logs
// ("" when there are none).
func Cause(err error) string {
	var out string
	var walk func(error)
	walk = func(e error) {
		for e != nil {
			switch x := e.(type) {
			case *hidden:
				if out != "" {
					out += "; "
				}
				out += x.cause.Error()
				walk(x.public)
				return
			case *Error:
				if x.Err != nil {
					if out != "" {
						out += "; "
					}
					out += x.Err.Error()
				}
				return
			case interface{ Unwrap() []error }:
				for _, u := range x.Unwrap() {
					walk(u)
				}
				return
			}
			e = errors.Unwrap(e)
		}
	}
	walk(err)
	return out
}
