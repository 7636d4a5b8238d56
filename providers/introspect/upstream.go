package introspect

import (
	"context"
	"encoding/base64"
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
)

// ErrClientAuthentication is the cause (errors.Is) of the temporarily_unavailable error
// returned when the authorization server rejects this resource server's own client
// credentials at the introspection endpoint (HTTP 401, or 400 invalid_client). The
// caller's token was never judged: the fix is Config.ClientID, ClientSecret or
// AuthMethod, so the failure is reported as 503, not as an invalid token.
var ErrClientAuthentication = errors.New("introspect: the authorization server rejected this resource server's client credentials: check ClientID, ClientSecret and AuthMethod")

// ErrUnexpectedResponse is the cause (errors.Is) of the temporarily_unavailable error
// returned when the introspection endpoint answers with a status that RFC 7662 does not
// give it (a redirect, 404, 400 other than invalid_client, ...) or with a malformed body.
var ErrUnexpectedResponse = errors.New("introspect: unexpected response from the introspection endpoint")

// logEvery bounds how often one verifier logs upstream failures.
const logEvery = time.Minute

// upstream sends introspection requests; it is shared by the verifiers of one factory.
type upstream struct {
	s        *settings
	endpoint string // redacted form, for logs and errors
	basic    string // the Authorization header for client_secret_basic
	lastLog  atomic.Int64
}

func newUpstream(s *settings) *upstream {
	u := &upstream{s: s, endpoint: s.endpoint}
	if pu, err := url.Parse(s.endpoint); err == nil {
		u.endpoint = pu.Redacted()
	}
	if s.authMethod == AuthMethodClientSecretBasic {
		// RFC 6749 §2.3.1: both values are form-urlencoded before Basic encoding.
		u.basic = basicAuth(url.QueryEscape(s.clientID), url.QueryEscape(s.clientSecret.Reveal()))
	}
	return u
}

func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// introspect POSTs the token and returns the response object of an active token, or an
// *mcpauth.Error: invalid_token when the server says the token is not active (or cannot
// be introspected), temporarily_unavailable for everything that is not an answer about
// the token.
func (u *upstream) introspect(ctx context.Context, token string) (map[string]any, error) {
	s := u.s
	form := url.Values{"token": {token}}
	if s.hint != "" {
		form.Set("token_type_hint", s.hint)
	}
	if s.authMethod == AuthMethodClientSecretPost {
		form.Set("client_id", s.clientID)
		form.Set("client_secret", s.clientSecret.Reveal())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, u.fail(slog.LevelError, "the token could not be introspected", 0, fmt.Errorf("introspect: building the request: %w", err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if u.basic != "" {
		req.Header.Set("Authorization", u.basic)
	}

	// The request carries the token in its body, never in the URL, so a transport
	// error (which names the URL) is safe to keep as the cause.
	resp, err := s.client.Do(req, token)
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return nil, err // the caller gave up: nothing to log
		case errors.Is(err, ErrUnexpectedResponse): // larger than MaxResponseSize
			return nil, u.log(slog.LevelError, mcpauth.AsError(err))
		}
		return nil, u.log(slog.LevelWarn, mcpauth.AsError(err))
	}
	body := resp.Body

	status := resp.Status
	if status == http.StatusOK {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil || m == nil {
			return nil, u.fail(slog.LevelError, "the authorization server's introspection response is malformed", 0,
				fmt.Errorf("%w: HTTP 200 with a body that is not a JSON object (Content-Type %q)", ErrUnexpectedResponse, resp.Header.Get("Content-Type")))
		}
		active, ok := m["active"].(bool)
		if !ok {
			return nil, u.fail(slog.LevelError, "the authorization server's introspection response is malformed", 0,
				fmt.Errorf("%w: the \"active\" member is missing or not a boolean", ErrUnexpectedResponse))
		}
		if !active {
			return nil, mcpauth.InvalidToken(descInactive, nil)
		}
		return m, nil
	}

	code, desc := oauthError(body, token)
	detail := fmt.Sprintf("HTTP %d", status)
	if code != "" {
		detail += " " + code
		if desc != "" {
			detail += ": " + desc
		}
	}
	retry := s.client.RetryAfter(resp.Header)
	if err := s.client.Check(resp, fmt.Errorf("introspect: %s", detail)); err != nil {
		return nil, u.log(slog.LevelWarn, mcpauth.AsError(err))
	}
	switch {
	case status == http.StatusUnauthorized || (status == http.StatusBadRequest && code == "invalid_client"):
		return nil, u.fail(slog.LevelError, "the token could not be introspected: the authorization server rejected this resource server's credentials", 0,
			fmt.Errorf("%w (%s)", ErrClientAuthentication, detail))
	case status == http.StatusBadRequest && code == "unsupported_token_type":
		// The server refuses to introspect this kind of token (oidc-provider answers so
		// for JWTs): an answer about the token, which no retry changes.
		return nil, mcpauth.InvalidToken("token cannot be introspected by the authorization server (unsupported token type)", nil)
	case status == http.StatusForbidden:
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
	now := u.s.now().UnixNano()
	last := u.lastLog.Load()
	if (last == 0 || now-last >= int64(logEvery) || now < last) && u.lastLog.CompareAndSwap(last, now) {
		u.s.logger.Log(context.Background(), level, "introspect: token introspection failed",
			slog.String("provider", u.s.provider),
			slog.String("introspection_url", u.endpoint),
			slog.String("client_id", u.s.clientID),
			slog.String("reason", e.Description),
			slog.String("error", fmt.Sprint(e.Err)))
	}
	return e
}

// oauthError reads an RFC 6749 §5.2 error body: the error code and the description, each
// when it is short printable ASCII, the description only when it does not repeat the token.
func oauthError(body []byte, token string) (code, desc string) {
	var e struct {
		Error       any `json:"error"`
		Description any `json:"error_description"`
	}
	if json.Unmarshal(body, &e) != nil {
		return "", ""
	}
	code, _ = e.Error.(string)
	desc, _ = e.Description.(string)
	printable := func(v string, max int) bool {
		if len(v) > max {
			return false
		}
		for i := 0; i < len(v); i++ {
			if v[i] < 0x20 || v[i] > 0x7e {
				return false
			}
		}
		return true
	}
	if !printable(code, 64) {
		code = ""
	}
	if !printable(desc, 200) || strings.Contains(desc, token) {
		desc = ""
	}
	return code, desc
}
