package introspect

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
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
	rctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, s.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, u.fail(slog.LevelError, "the token could not be introspected", 0, fmt.Errorf("introspect: building the request: %w", err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if u.basic != "" {
		req.Header.Set("Authorization", u.basic)
	}

	resp, err := s.client.Do(req)
	if err != nil {
		// The request carries the token in its body, never in the URL, so the
		// *url.Error (which names the URL) is safe to keep as the cause.
		switch {
		case ctx.Err() != nil:
			return nil, mcpauth.UpstreamUnavailable("the request was cancelled while the token was being introspected", 0, err)
		case rctx.Err() != nil || isTimeout(err):
			return nil, u.fail(slog.LevelWarn, "the authorization server did not answer the introspection request in time", 0, err)
		default:
			return nil, u.fail(slog.LevelWarn, "the authorization server's introspection endpoint could not be reached", 0, err)
		}
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseSize+1))
	if err != nil {
		if rctx.Err() != nil {
			return nil, u.fail(slog.LevelWarn, "the authorization server did not answer the introspection request in time", 0, err)
		}
		return nil, u.fail(slog.LevelWarn, "the introspection response could not be read", 0, err)
	}
	if len(body) > MaxResponseSize {
		return nil, u.fail(slog.LevelError, "the authorization server's introspection response is malformed", 0,
			fmt.Errorf("%w: the response is larger than %d bytes", ErrUnexpectedResponse, MaxResponseSize))
	}

	status := resp.StatusCode
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
	retry := retryAfter(resp.Header, s.now())
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
	case status == http.StatusTooManyRequests:
		return nil, u.fail(slog.LevelWarn, "the token could not be introspected: the authorization server is rate limiting requests", retry,
			fmt.Errorf("introspect: rate limited (%s)", detail))
	case status >= 500:
		return nil, u.fail(slog.LevelWarn, "the token could not be introspected: the authorization server is unavailable", retry,
			fmt.Errorf("introspect: server error (%s)", detail))
	default:
		return nil, u.fail(slog.LevelError, "the token could not be introspected: the authorization server gave an unexpected answer", retry,
			fmt.Errorf("%w (%s)", ErrUnexpectedResponse, detail))
	}
}

// fail builds a temporarily_unavailable error and logs it, at most once per logEvery.
// Neither the token nor the client secret is ever part of cause.
func (u *upstream) fail(level slog.Level, desc string, retry time.Duration, cause error) error {
	now := u.s.now().UnixNano()
	last := u.lastLog.Load()
	if (last == 0 || now-last >= int64(logEvery) || now < last) && u.lastLog.CompareAndSwap(last, now) {
		u.s.logger.Log(context.Background(), level, "introspect: token introspection failed",
			slog.String("provider", u.s.provider),
			slog.String("introspection_url", u.endpoint),
			slog.String("client_id", u.s.clientID),
			slog.String("reason", desc),
			slog.String("error", cause.Error()))
	}
	return mcpauth.UpstreamUnavailable(desc, retry, cause)
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &te) && te.Timeout())
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

// maxRetryAfter bounds the Retry-After passed on to clients.
const maxRetryAfter = time.Hour

// retryAfter reads Retry-After (seconds or an HTTP date) or, failing that,
// X-RateLimit-Reset (the epoch second the limit resets), relative to now.
func retryAfter(h http.Header, now time.Time) time.Duration {
	var d time.Duration
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			d = time.Duration(min(max(n, 0), int64(maxRetryAfter/time.Second))) * time.Second
		} else if t, err := http.ParseTime(v); err == nil {
			d = t.Sub(now)
		}
	} else if v := strings.TrimSpace(h.Get("X-RateLimit-Reset")); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 && n < 1<<40 {
			d = time.Unix(n, 0).Sub(now)
		}
	}
	if d < 0 {
		return 0
	}
	if d > maxRetryAfter {
		return maxRetryAfter
	}
	// Round up to whole seconds: Retry-After is sent in seconds.
	return (d + time.Second - 1).Truncate(time.Second)
}
