package mcpauth_test

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth"
)

func TestAsErrorOfUnknownErrorIsUnavailable(t *testing.T) {
	cause := errors.New("x")
	e := mcpauth.AsError(cause)
	require.NotNil(t, e)
	assert.Equal(t, http.StatusServiceUnavailable, e.Status)
	assert.Equal(t, mcpauth.CodeTemporarilyUnavailable, e.Code)
	assert.Equal(t, "the access token could not be checked; try again later", e.Description)
	assert.Same(t, cause, e.Err, "the cause is kept for logs")
	assert.ErrorIs(t, e, mcpauth.ErrUpstreamUnavailable)
	assert.NotErrorIs(t, e, mcpauth.ErrInvalidToken, "an unknown failure never blames the token")

	// Wrapped unknown errors too; wrapped *Error values keep their class.
	assert.Equal(t, http.StatusServiceUnavailable, mcpauth.AsError(fmt.Errorf("verifier: %w", cause)).Status)
	assert.Equal(t, http.StatusUnauthorized, mcpauth.AsError(fmt.Errorf("verifier: %w", mcpauth.InvalidToken("bad", nil))).Status)
}

func TestSentinelsCannotBeChanged(t *testing.T) {
	sentinels := []struct {
		err    error
		code   string
		status int
		desc   string
	}{
		{mcpauth.ErrInvalidToken, mcpauth.CodeInvalidToken, 401, "the access token is invalid"},
		{mcpauth.ErrInsufficientScope, mcpauth.CodeInsufficientScope, 403, "the access token lacks a required scope"},
		{mcpauth.ErrInvalidRequest, mcpauth.CodeInvalidRequest, 400, "the request is malformed"},
		{mcpauth.ErrAccessDenied, mcpauth.CodeAccessDenied, 403, "access to this resource is denied"},
		{mcpauth.ErrUpstreamUnavailable, mcpauth.CodeTemporarilyUnavailable, 503, "the token could not be checked because an upstream service is unavailable"},
	}
	for _, s := range sentinels {
		t.Run(s.code, func(t *testing.T) {
			// A sentinel is a constant that carries only its code: it has no field to
			// assign (mcpauth.ErrInvalidToken.Status = 200 and mcpauth.ErrInvalidToken =
			// nil do not compile) and no pointer to share.
			assert.Equal(t, reflect.String, reflect.TypeOf(s.err).Kind())
			assert.Equal(t, s.code+": "+s.desc, s.err.Error())

			// What a caller can get hold of is a copy: changing it changes nothing else.
			e := mcpauth.AsError(s.err)
			require.NotNil(t, e)
			assert.Equal(t, mcpauth.Error{Code: s.code, Status: s.status, Description: s.desc}, *e)
			e.Status, e.Code, e.Description = http.StatusOK, "ok", "changed"
			var again *mcpauth.Error
			require.True(t, errors.As(s.err, &again))
			assert.NotSame(t, e, again)
			assert.Equal(t, mcpauth.Error{Code: s.code, Status: s.status, Description: s.desc}, *again)
			assert.Equal(t, s.code+": "+s.desc, s.err.Error())
			assert.True(t, errors.Is(again, s.err))
		})
	}
	// The constructors are unaffected by changes to the errors they returned before.
	first := mcpauth.InvalidToken("", nil)
	first.Status, first.Code = http.StatusOK, "ok"
	second := mcpauth.InvalidToken("", nil)
	assert.Equal(t, mcpauth.Error{Code: mcpauth.CodeInvalidToken, Status: 401, Description: "the access token is invalid"}, *second)
	assert.ErrorIs(t, second, mcpauth.ErrInvalidToken)
}

func TestSentinelMatching(t *testing.T) {
	constructed := []struct {
		err      *mcpauth.Error
		sentinel error
		status   int
	}{
		{mcpauth.InvalidToken("expired", nil), mcpauth.ErrInvalidToken, 401},
		{mcpauth.InsufficientScope("needs notes:write"), mcpauth.ErrInsufficientScope, 403},
		{mcpauth.InvalidRequest("bad header", nil), mcpauth.ErrInvalidRequest, 400},
		{mcpauth.AccessDenied("tenant"), mcpauth.ErrAccessDenied, 403},
		{mcpauth.UpstreamUnavailable("down", 0, nil), mcpauth.ErrUpstreamUnavailable, 503},
	}
	all := []error{mcpauth.ErrInvalidToken, mcpauth.ErrInsufficientScope, mcpauth.ErrInvalidRequest, mcpauth.ErrAccessDenied, mcpauth.ErrUpstreamUnavailable}
	for _, c := range constructed {
		assert.Equal(t, c.status, c.err.Status)
		wrapped := fmt.Errorf("outer: %w", fmt.Errorf("inner: %w", c.err))
		for _, s := range all {
			same := s == c.sentinel
			assert.Equal(t, same, errors.Is(c.err, s), "%v is %v", c.err, s)
			assert.Equal(t, same, errors.Is(wrapped, s), "wrapped %v is %v", c.err, s)
		}
		// An *Error target still matches by code.
		assert.ErrorIs(t, wrapped, &mcpauth.Error{Code: c.err.Code})
		assert.ErrorIs(t, c.sentinel, c.err)
	}

	// A verifier may return a sentinel, bare or wrapped: it maps to its class.
	for _, err := range []error{mcpauth.ErrInvalidToken, fmt.Errorf("no such key: %w", mcpauth.ErrInvalidToken)} {
		e := mcpauth.AsError(err)
		assert.Equal(t, 401, e.Status)
		assert.Equal(t, mcpauth.CodeInvalidToken, e.Code)
		assert.ErrorIs(t, err, mcpauth.ErrInvalidToken)
		assert.NotErrorIs(t, err, mcpauth.ErrAccessDenied)
	}
}
