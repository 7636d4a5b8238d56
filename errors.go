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

// Sentinel errors, one per class. Compare with errors.Is.
var (
	ErrInvalidToken        = &Error{Code: CodeInvalidToken, Status: http.StatusUnauthorized, Description: "the access token is invalid"}
	ErrInsufficientScope   = &Error{Code: CodeInsufficientScope, Status: http.StatusForbidden, Description: "the access token lacks a required scope"}
	ErrInvalidRequest      = &Error{Code: CodeInvalidRequest, Status: http.StatusBadRequest, Description: "the request is malformed"}
	ErrAccessDenied        = &Error{Code: CodeAccessDenied, Status: http.StatusForbidden, Description: "access to this resource is denied"}
	ErrUpstreamUnavailable = &Error{Code: CodeTemporarilyUnavailable, Status: http.StatusServiceUnavailable, Description: "the token could not be checked because an upstream service is unavailable"}
)

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

// Is reports whether target is an *Error of the same code, so that errors.Is works
// against the sentinel values.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

func newError(base *Error, desc string, cause error) *Error {
	if desc == "" {
		desc = base.Description
	}
	return &Error{Code: base.Code, Status: base.Status, Description: desc, Err: cause}
}

// InvalidToken returns an invalid_token error (HTTP 401) with a client-safe description
// and an optional cause.
func InvalidToken(desc string, cause error) *Error { return newError(ErrInvalidToken, desc, cause) }

// InsufficientScope returns an insufficient_scope error (HTTP 403).
func InsufficientScope(desc string) *Error { return newError(ErrInsufficientScope, desc, nil) }

// InvalidRequest returns an invalid_request error (HTTP 400).
func InvalidRequest(desc string, cause error) *Error {
	return newError(ErrInvalidRequest, desc, cause)
}

// AccessDenied returns an access_denied error (HTTP 403) for a valid token that is not
// allowed here for a reason other than scope, such as its tenant.
func AccessDenied(desc string) *Error { return newError(ErrAccessDenied, desc, nil) }

// UpstreamUnavailable returns an error (HTTP 503) saying the token could not be checked
// because an upstream (a JWKS endpoint, an identity provider's API) is unavailable.
// A valid token must never be reported as invalid for that reason.
func UpstreamUnavailable(desc string, retryAfter time.Duration, cause error) *Error {
	e := newError(ErrUpstreamUnavailable, desc, cause)
	e.RetryAfter = retryAfter
	return e
}

// AsError converts any error into an *Error. An error that is not an *Error (nor wraps
// one) becomes invalid_token, so unknown failures fail closed.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return InvalidToken("", err)
}
