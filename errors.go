package mcpauth

import (
	"errors"
	"net/http"
	"time"
)

// OAuth error codes used by this library (RFC 6750 §3.1, RFC 6749 §5.2).
const (
	CodeInvalidToken           = "invalid_token"
	CodeInsufficientScope      = "insufficient_scope"
	CodeInvalidRequest         = "invalid_request"
	CodeAccessDenied           = "access_denied"
	CodeTemporarilyUnavailable = "temporarily_unavailable"
)

// Error is a typed authentication or authorization failure. It carries the OAuth error
// code and the HTTP status the failure maps to, a description that is safe to show to
// the client, and optionally the underlying cause (which is never shown to clients).
//
// errors.Is(err, ErrInvalidToken) (and the other sentinels) matches any *Error with the
// same code, so callers can test the class of a failure without caring about its text.
type Error struct {
	// Code is the OAuth error code, for example "invalid_token".
	Code string
	// Status is the HTTP status code the failure maps to.
	Status int
	// Description is a short human-readable explanation, safe to send to clients.
	Description string
	// RetryAfter, when positive, tells clients when an unavailable upstream may be
	// tried again (sent as the Retry-After header).
	RetryAfter time.Duration
	// Err is the underlying cause. It is reported by Unwrap and never sent to clients.
	Err error
}

// Sentinel errors, one per class. Compare with errors.Is: errors.Is(err, ErrInvalidToken)
// holds for every *Error of code invalid_token, wrapped or not.
//
// They are constants that carry only their code, so no caller can change what they
// mean (for every other caller) by assigning to them or to their fields.
// errors.As(sentinel, &e) and AsError(sentinel) give a fresh *Error of that class with
// its default status and description, so a verifier may return a sentinel directly.
const (
	ErrInvalidToken        sentinel = CodeInvalidToken
	ErrInsufficientScope   sentinel = CodeInsufficientScope
	ErrInvalidRequest      sentinel = CodeInvalidRequest
	ErrAccessDenied        sentinel = CodeAccessDenied
	ErrUpstreamUnavailable sentinel = CodeTemporarilyUnavailable
)

// sentinel is the type of the sentinel errors: an OAuth error code. It is unexported and
// comparable, and its values are constants, so the sentinels cannot be modified.
type sentinel string

// classes gives the HTTP status and default description of each sentinel's code.
var classes = map[sentinel]struct {
	status int
	desc   string
}{
	ErrInvalidToken:        {http.StatusUnauthorized, "the access token is invalid"},
	ErrInsufficientScope:   {http.StatusForbidden, "the access token lacks a required scope"},
	ErrInvalidRequest:      {http.StatusBadRequest, "the request is malformed"},
	ErrAccessDenied:        {http.StatusForbidden, "access to this resource is denied"},
	ErrUpstreamUnavailable: {http.StatusServiceUnavailable, "the token could not be checked because an upstream service is unavailable"},
}

// Error returns the code and the default description, as (*Error).Error would.
func (s sentinel) Error() string { return s.new("", nil).Error() }

// Is reports whether target is an *Error of the same code (errors.Is(ErrX, e)).
func (s sentinel) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t != nil && t.Code == string(s)
}

// As sets target, a **Error, to a fresh *Error of the sentinel's class, so that
// errors.As and AsError map a sentinel (or an error wrapping one) to its status.
func (s sentinel) As(target any) bool {
	p, ok := target.(**Error)
	if ok {
		*p = s.new("", nil)
	}
	return ok
}

// new returns a new *Error of the sentinel's class: its code, status, the description
// desc (the class's default when empty) and cause.
func (s sentinel) new(desc string, cause error) *Error {
	c := classes[s]
	if desc == "" {
		desc = c.desc
	}
	return &Error{Code: string(s), Status: c.status, Description: desc, Err: cause}
}

func (e *Error) Error() string {
	msg := e.Code
	if e.Description != "" {
		msg += ": " + e.Description
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is a sentinel (ErrInvalidToken, ...) or an *Error of the
// same code, so that errors.Is works against the sentinel values.
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case sentinel:
		return string(t) == e.Code
	case *Error:
		return t != nil && t.Code == e.Code
	}
	return false
}

// InvalidToken returns an invalid_token error (HTTP 401) with a client-safe description
// and an optional cause.
func InvalidToken(desc string, cause error) *Error { return ErrInvalidToken.new(desc, cause) }

// InsufficientScope returns an insufficient_scope error (HTTP 403).
func InsufficientScope(desc string) *Error { return ErrInsufficientScope.new(desc, nil) }

// InvalidRequest returns an invalid_request error (HTTP 400).
func InvalidRequest(desc string, cause error) *Error {
	return ErrInvalidRequest.new(desc, cause)
}

// AccessDenied returns an access_denied error (HTTP 403) for a valid token that is not
// allowed here for a reason other than scope, such as its tenant.
func AccessDenied(desc string) *Error { return ErrAccessDenied.new(desc, nil) }

// UpstreamUnavailable returns an error (HTTP 503) saying the token could not be checked
// because an upstream (a JWKS endpoint, an identity provider's API) is unavailable.
// A valid token must never be reported as invalid for that reason.
func UpstreamUnavailable(desc string, retryAfter time.Duration, cause error) *Error {
	e := ErrUpstreamUnavailable.new(desc, cause)
	e.RetryAfter = retryAfter
	return e
}

// descUnknownFailure describes an error AsError does not know.
const descUnknownFailure = "the access token could not be checked; try again later"

// AsError converts any error into an *Error: the *Error err is or wraps, or a fresh one
// for a sentinel err is or wraps. Any other error (a bug, or a failure of a verifier
// that does not return *Error values) becomes temporarily_unavailable (HTTP 503) with
// err as its cause: the request fails closed, without blaming the token, and the
// failure is not remembered by a negative cache as a rejected token.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return UpstreamUnavailable(descUnknownFailure, 0, err)
}
