package introspect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mcpauth/mcpauth"
	upstreamhttp "github.com/mcpauth/mcpauth/internal/upstream"
)

// ErrClientAuthentication is the cause (errors.Is) of the temporarily_unavailable error
// returned when the authorization server rejects this resource server's own client
// credentials (HTTP 401, or 400 invalid_client). The caller's token was never judged:
// the fix is Config.ClientID, ClientSecret or AuthMethod, hence 503, not invalid_token.
var ErrClientAuthentication = errors.New("introspect: the authorization server rejected this resource server's client credentials: check ClientID, ClientSecret and AuthMethod")

// ErrUnexpectedResponse is the cause (errors.Is) of the temporarily_unavailable error
// returned when the introspection endpoint answers with a status that RFC 7662 does not
// give it (a redirect, 404, 400 other than invalid_client, ...) or with a malformed body.
var ErrUnexpectedResponse = errors.New("introspect: unexpected response from the introspection endpoint")

const (
	// logEvery bounds how often one verifier logs upstream failures.
	logEvery = time.Minute
	// descMalformed describes a response that is not an RFC 7662 answer.
	descMalformed = "the authorization server's introspection response is malformed"
)

// upstream sends introspection requests; it is shared by the verifiers of one factory.
type upstream struct {
	s       *settings
	lastLog atomic.Int64 // when a failure was last logged, in Unix nanoseconds
}

// introspect POSTs the token and returns the response of an active token, or an
// *mcpauth.Error: invalid_token when the server says the token is not active (or cannot
// be introspected), temporarily_unavailable for any answer that is not about the token.
func (u *upstream) introspect(ctx context.Context, token string) (map[string]any, error) {
	s := u.s
	form := url.Values{"token": {token}}
	if s.hint != "" {
		form.Set("token_type_hint", s.hint)
	}
	if s.AuthMethod == AuthMethodClientSecretPost {
		form.Set("client_id", s.ClientID)
		form.Set("client_secret", s.ClientSecret.Reveal())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.IntrospectionURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, u.fail(slog.LevelError, "the token could not be introspected", 0, fmt.Errorf("introspect: building the request: %w", err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if s.AuthMethod == AuthMethodClientSecretBasic {
		// RFC 6749 §2.3.1: both values are form-urlencoded before Basic encoding.
		req.SetBasicAuth(url.QueryEscape(s.ClientID), url.QueryEscape(s.ClientSecret.Reveal()))
	}

	// The request carries the token in its body, never in the URL, so a transport
	// error (which names the URL) is safe to keep as the cause.
	resp, err := s.client.Do(req, token)
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, err // the caller gave up: nothing to log
	case errors.Is(err, ErrUnexpectedResponse): // larger than MaxResponseSize
		return nil, u.log(slog.LevelError, mcpauth.AsError(err))
	case err != nil:
		return nil, u.log(slog.LevelWarn, mcpauth.AsError(err))
	case resp.Status == http.StatusOK:
		var m map[string]any
		if err := json.Unmarshal(resp.Body, &m); err != nil || m == nil {
			return nil, u.fail(slog.LevelError, descMalformed, 0, fmt.Errorf("%w: HTTP 200 with a body that is not a JSON object (Content-Type %q)",
				ErrUnexpectedResponse, resp.Header.Get("Content-Type")))
		}
		active, ok := m["active"].(bool)
		if !ok {
			return nil, u.fail(slog.LevelError, descMalformed, 0, fmt.Errorf("%w: the \"active\" member is missing or not a boolean", ErrUnexpectedResponse))
		}
		if !active {
			return nil, mcpauth.InvalidToken(descInactive, nil)
		}
		return m, nil
	}

	code, detail := oauthError(resp, token)
	retry := s.client.RetryAfter(resp.Header)
	if err := s.client.Check(resp, fmt.Errorf("introspect: %s", detail)); err != nil { // 429, 5xx
		return nil, u.log(slog.LevelWarn, mcpauth.AsError(err))
	}
	switch {
	case resp.Status == http.StatusUnauthorized || (resp.Status == http.StatusBadRequest && code == "invalid_client"):
		return nil, u.fail(slog.LevelError, "the token could not be introspected: the authorization server rejected this resource server's credentials", 0,
			fmt.Errorf("%w (%s)", ErrClientAuthentication, detail))
	case resp.Status == http.StatusBadRequest && code == "unsupported_token_type":
		// The server refuses to introspect this kind of token (oidc-provider answers so
		// for JWTs): an answer about the token, which no retry changes.
		return nil, mcpauth.InvalidToken("token cannot be introspected by the authorization server (unsupported token type)", nil)
	case resp.Status == http.StatusForbidden:
		return nil, u.fail(slog.LevelError, "the token could not be introspected: the authorization server refused the introspection request", retry,
			fmt.Errorf("introspect: introspection refused (%s): the resource server may not be allowed to introspect, or is rate limited", detail))
	default:
		return nil, u.fail(slog.LevelError, "the token could not be introspected: the authorization server gave an unexpected answer", retry,
			fmt.Errorf("%w (%s)", ErrUnexpectedResponse, detail))
	}
}

// fail builds a temporarily_unavailable error and logs it (see log).
func (u *upstream) fail(level slog.Level, desc string, retry time.Duration, cause error) error {
	return u.log(level, mcpauth.UpstreamUnavailable(desc, retry, cause))
}

// log logs an upstream failure, at most once per logEvery, and returns it. Neither the
// token nor the client secret is ever part of its cause.
func (u *upstream) log(level slog.Level, e *mcpauth.Error) error {
	now := u.s.Now().UnixNano()
	last := u.lastLog.Load()
	if (last == 0 || now-last >= int64(logEvery) || now < last) && u.lastLog.CompareAndSwap(last, now) {
		// The URL holds no credentials: Validate refuses them.
		u.s.Logger.Log(context.Background(), level, "introspect: token introspection failed",
			slog.String("provider", u.s.ProviderName),
			slog.String("introspection_url", u.s.IntrospectionURL),
			slog.String("client_id", u.s.ClientID),
			slog.String("reason", e.Description),
			slog.String("error", fmt.Sprint(e.Err)))
	}
	return e
}

// oauthError reads the RFC 6749 §5.2 error body of a non-200 answer. It returns the error
// code and a detail for causes and logs, "HTTP 400 invalid_request: description", with
// the code and the description only when each is short printable ASCII, and the
// description only when it does not repeat the token.
func oauthError(resp *upstreamhttp.Response, token string) (code, detail string) {
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(resp.Body, &e) // a body that is not JSON, or a member that is not a string, stays empty
	printable := func(v string, max int) bool {
		return v != "" && len(v) <= max && !strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r > 0x7e })
	}
	detail = fmt.Sprintf("HTTP %d", resp.Status)
	if !printable(e.Error, 64) {
		return "", detail
	}
	detail += " " + e.Error
	if printable(e.Description, 200) && !strings.Contains(e.Description, token) {
		detail += ": " + e.Description
	}
	return e.Error, detail
}
