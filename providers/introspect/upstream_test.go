package introspect

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/testutil"
	"github.com/stretchr/testify/require"
)

// hang answers nothing until the client goes away. It reads the body first: the server
// notices a closed connection (and cancels the request's context) only after that.
func hang(_ http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	<-r.Context().Done()
}

func TestUpstreamFailures(t *testing.T) {
	clock := newTestClock()
	as := newFakeAS(t, clock)
	as.issue("tok", nil)

	jsonError := func(status int, code, desc string, headers ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			for i := 0; i+1 < len(headers); i += 2 {
				w.Header().Set(headers[i], headers[i+1])
			}
			writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
		}
	}
	raw := func(status int, contentType, body string, headers ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			for i := 0; i+1 < len(headers); i += 2 {
				w.Header().Set(headers[i], headers[i+1])
			}
			w.Header().Set("Content-Type", contentType)
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}
	}
	resetAt := strconv.FormatInt(clock.Now().Add(42*time.Second).Unix(), 10)
	httpDate := clock.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)

	cases := []struct {
		name    string
		handler http.HandlerFunc
		want    string
		retry   time.Duration
		cause   error
	}{
		{"400 invalid_client", jsonError(400, "invalid_client", "client authentication failed"), "rejected this resource server's credentials", 0, ErrClientAuthentication},
		{"401 without a body", raw(401, "text/plain", "Unauthorized"), "rejected this resource server's credentials", 0, ErrClientAuthentication},
		{"403 forbidden", jsonError(403, "access_denied", "introspection not allowed", "Retry-After", "30"), "refused the introspection request", 30 * time.Second, nil},
		{"403 rate limited (X-RateLimit-Reset)", raw(403, "application/json", `{"message":"rate limit exceeded"}`, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", resetAt), "refused the introspection request", 42 * time.Second, nil},
		{"429 Retry-After seconds", raw(429, "application/json", `{"error":"slow_down"}`, "Retry-After", "7"), "rate limiting", 7 * time.Second, nil},
		{"429 Retry-After HTTP date", raw(429, "text/plain", "Too Many Requests", "Retry-After", httpDate), "rate limiting", 90 * time.Second, nil},
		{"429 huge Retry-After is capped", raw(429, "text/plain", "", "Retry-After", "999999"), "rate limiting", time.Hour, nil},
		{"429 without hint", raw(429, "text/plain", ""), "rate limiting", 0, nil},
		{"500", jsonError(500, "server_error", "oops! something went wrong"), "unavailable", 0, nil},
		{"502 HTML from a proxy", raw(502, "text/html", "<html><body>Bad Gateway</body></html>"), "unavailable", 0, nil},
		{"503 Retry-After", raw(503, "text/plain", "maintenance", "Retry-After", "120"), "unavailable", 2 * time.Minute, nil},
		{"200 malformed JSON", raw(200, "application/json", `{"active": tru`), "malformed", 0, ErrUnexpectedResponse},
		{"200 HTML login page", raw(200, "text/html", "<html>sign in</html>"), "malformed", 0, ErrUnexpectedResponse},
		{"200 JSON array", raw(200, "application/json", `[{"active":true}]`), "malformed", 0, ErrUnexpectedResponse},
		{"200 JSON null", raw(200, "application/json", `null`), "malformed", 0, ErrUnexpectedResponse},
		{"200 without active", raw(200, "application/json", `{"sub":"alice","aud":"`+testResource+`"}`), "malformed", 0, ErrUnexpectedResponse},
		{"200 active as a string", raw(200, "application/json", `{"active":"true","sub":"alice","aud":"`+testResource+`"}`), "malformed", 0, ErrUnexpectedResponse},
		{"200 JWT response (RFC 9701) not asked for", raw(200, "application/token-introspection+jwt", "eyJhbGciOiJSUzI1NiJ9.e30.sig"), "malformed", 0, ErrUnexpectedResponse},
		{"200 larger than 1 MiB", raw(200, "application/json", `{"active":true,"pad":"`+strings.Repeat("x", MaxResponseSize)+`"}`), "unexpected response", 0, ErrUnexpectedResponse},
		{"404 wrong URL", raw(404, "text/plain", "404 page not found"), "unexpected answer", 0, ErrUnexpectedResponse},
		{"400 invalid_request", jsonError(400, "invalid_request", "missing required parameter 'token'"), "unexpected answer", 0, ErrUnexpectedResponse},
		{"405", raw(405, "text/plain", "", "Allow", "POST"), "unexpected answer", 0, ErrUnexpectedResponse},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			as.answer(tc.handler)
			defer as.answer(nil)
			_, err := newVerifierT(t, as.config()).VerifyToken(context.Background(), "tok")
			requireUnavailable(t, err, tc.want, tc.retry)
			if tc.cause != nil {
				require.ErrorIs(t, err, tc.cause)
			}
		})
	}

	t.Run("400 unsupported_token_type is an answer about the token", func(t *testing.T) {
		as.answer(jsonError(400, "unsupported_token_type", "Structured JWT Tokens cannot be introspected via the introspection_endpoint"))
		defer as.answer(nil)
		_, err := newVerifierT(t, as.config()).VerifyToken(context.Background(), "tok")
		requireInvalid(t, err, "token cannot be introspected by the authorization server (unsupported token type)")
	})

	t.Run("401 from the real fake: wrong secret", func(t *testing.T) {
		cfg := as.config()
		cfg.ClientSecret = mcpauth.NewSecret("wrong")
		_, err := newVerifierT(t, cfg).VerifyToken(context.Background(), "tok")
		me := requireUnavailable(t, err, "rejected this resource server's credentials", 0)
		require.ErrorIs(t, err, ErrClientAuthentication)
		require.Contains(t, me.Err.Error(), "HTTP 401 invalid_client: client authentication failed")
		require.NotContains(t, err.Error(), "wrong", "the secret is not in the error")
	})

	t.Run("an error description repeating the token is dropped", func(t *testing.T) {
		as.answer(jsonError(500, "server_error", "cannot look up tok"))
		defer as.answer(nil)
		_, err := newVerifierT(t, as.config()).VerifyToken(context.Background(), "tok")
		requireUnavailable(t, err, "unavailable", 0)
		require.NotContains(t, err.Error(), "look up tok")
		require.Contains(t, err.Error(), "HTTP 500 server_error")
	})

	t.Run("redirects are not followed", func(t *testing.T) {
		var elsewhere atomic.Int64
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			elsewhere.Add(1)
			writeJSON(w, 200, map[string]any{"active": true, "sub": "mallory", "aud": testResource})
		}))
		defer other.Close()
		for _, code := range []int{301, 302, 307, 308} {
			as.answer(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.URL+"/introspect", code)
			})
			_, err := newVerifierT(t, as.config()).VerifyToken(context.Background(), "tok")
			requireUnavailable(t, err, "unexpected answer", 0)
			require.ErrorContains(t, err, "HTTP "+strconv.Itoa(code))
		}
		as.answer(nil)
		require.Equal(t, int64(0), elsewhere.Load(), "neither the token nor the credentials went to the redirect target")
	})

	t.Run("timeout", func(t *testing.T) {
		as.answer(hang)
		defer as.answer(nil)
		cfg := as.config()
		cfg.HTTPTimeout = 50 * time.Millisecond
		_, err := newVerifierT(t, cfg).VerifyToken(context.Background(), "tok")
		requireUnavailable(t, err, "the authorization server did not answer in time", 0)
	})

	t.Run("timeout with a caller-supplied client", func(t *testing.T) {
		as.answer(hang)
		defer as.answer(nil)
		cfg := as.config()
		cfg.HTTPClient = &http.Client{} // no timeout of its own
		cfg.HTTPTimeout = 50 * time.Millisecond
		_, err := newVerifierT(t, cfg).VerifyToken(context.Background(), "tok")
		requireUnavailable(t, err, "the authorization server did not answer in time", 0)
	})

	t.Run("body cut short", func(t *testing.T) {
		as.answer(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(200)
			_, _ = w.Write([]byte(`{"active":true`))
		})
		defer as.answer(nil)
		_, err := newVerifierT(t, as.config()).VerifyToken(context.Background(), "tok")
		requireUnavailable(t, err, "could not be read", 0)
	})

	t.Run("caller cancelled", func(t *testing.T) {
		as.answer(hang)
		defer as.answer(nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := newVerifierT(t, as.config()).VerifyToken(ctx, "tok")
		requireUnavailable(t, err, "the request was cancelled", 0)
	})

	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())
		cfg := as.config()
		cfg.IntrospectionURL = "http://" + addr + "/introspect"
		_, err = newVerifierT(t, cfg).VerifyToken(context.Background(), "tok")
		requireUnavailable(t, err, "could not be reached", 0)
	})

	t.Run("recovers after the outage", func(t *testing.T) {
		v := newVerifierT(t, as.config())
		as.answer(raw(503, "text/plain", ""))
		_, err := v.VerifyToken(context.Background(), "tok")
		requireUnavailable(t, err, "unavailable", 0)
		as.answer(nil)
		_, err = v.VerifyToken(context.Background(), "tok")
		require.NoError(t, err)
	})
}

// Upstream failures are logged, rate-limited, without the token or the secret.
func TestFailureLogs(t *testing.T) {
	clock := newTestClock()
	as := newFakeAS(t, clock)
	logger, logs := testutil.NewLogger()
	cfg := as.config()
	cfg.ClientSecret = mcpauth.NewSecret("the-wrong-secret-value")
	cfg.Logger = logger
	v := newVerifierT(t, cfg)
	const token = "secret-token-value-123"

	_, err := v.VerifyToken(context.Background(), token)
	require.ErrorIs(t, err, ErrClientAuthentication)
	first := `level=ERROR msg="introspect: token introspection failed" provider=introspect introspection_url=` + as.url() + ` client_id=rs-basic ` +
		`reason="the token could not be introspected: the authorization server rejected this resource server's credentials" ` +
		`error="introspect: the authorization server rejected this resource server's client credentials: check ClientID, ClientSecret and AuthMethod (HTTP 401 invalid_client: client authentication failed)"`
	require.Equal(t, []string{first}, logs.Lines())

	// Within a minute: no second line.
	for range 5 {
		_, err = v.VerifyToken(context.Background(), token)
		require.ErrorIs(t, err, ErrClientAuthentication)
	}
	require.Equal(t, []string{first}, logs.Lines())

	clock.Advance(time.Minute)
	as.answer(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) })
	_, err = v.VerifyToken(context.Background(), token)
	require.True(t, errors.Is(err, mcpauth.ErrUpstreamUnavailable))
	second := `level=WARN msg="introspect: token introspection failed" provider=introspect introspection_url=` + as.url() + ` client_id=rs-basic ` +
		`reason="the authorization server is unavailable; try again later" error="introspect: HTTP 500"`
	require.Equal(t, []string{first, second}, logs.Lines())
	require.NotContains(t, logs.String(), token)
	require.NotContains(t, logs.String(), "the-wrong-secret-value")
}
