package google

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/testutil"
	"github.com/mcpauth/mcpauth/internal/upstream"
	"github.com/stretchr/testify/require"
)

func newVerifierT(t testing.TB, cfg Config) *Verifier {
	t.Helper()
	v, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	return v
}

// requireErr asserts the class, HTTP status and description of a verification error.
func requireErr(t testing.TB, err error, class error, wantDesc string) *mcpauth.Error {
	t.Helper()
	require.Error(t, err)
	want := mcpauth.AsError(class)
	require.Truef(t, errors.Is(err, class), "want %s, got %v", want.Code, err)
	var me *mcpauth.Error
	require.True(t, errors.As(err, &me))
	require.Equal(t, want.Status, me.Status)
	require.Containsf(t, me.Description, wantDesc, "description %q", me.Description)
	return me
}

var ctx = context.Background()

func alice() grant {
	return grant{Sub: "110169484474386276334", Email: "alice@example.com", EmailVerified: true}
}

func TestAccessTokenAccepted(t *testing.T) {
	clock := newTestClock()
	f := newFakeGoogle(t, clock.Now)
	cfg := f.config(clock)
	cfg.Scopes = []string{"notes:read"}
	cfg.DomainScopes = map[string][]string{"example.com": {"notes:write"}, "other.com": {"admin"}}
	v := newVerifierT(t, cfg)

	g := alice()
	g.Scope = "openid https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/drive.readonly"
	token := f.issue(g)
	tok, err := v.VerifyToken(ctx, token)
	require.NoError(t, err)

	require.Equal(t, "google", tok.Provider)
	require.Equal(t, g.Sub, tok.Subject)
	require.Equal(t, testClientID, tok.ClientID)
	require.Equal(t, "https://accounts.google.com", tok.Issuer)
	require.Equal(t, []string{testClientID}, tok.Audience)
	require.Equal(t, clock.Now().Add(time.Hour), tok.ExpiresAt)
	require.Equal(t, []string{"notes:read", "notes:write"}, tok.Scopes, "Google's scopes are not MCP scopes")
	require.Empty(t, tok.TenantID, "no hosted-domain rule: no tenant for access tokens")
	require.Equal(t, "alice@example.com", tok.Claims["email"])
	require.Equal(t, true, tok.Claims["email_verified"], "normalised to a boolean")
	require.Equal(t, []string{"openid", "https://www.googleapis.com/auth/userinfo.email", "https://www.googleapis.com/auth/drive.readonly"}, tok.Claims["google_scopes"])
	require.Equal(t, g.Scope, tok.Claims["scope"])
	require.Equal(t, "online", tok.Claims["access_type"])
	require.Equal(t, "3600", tok.Claims["expires_in"])
	require.Equal(t, testClientID, tok.Claims["azp"])
	require.Equal(t, "access_token", tok.Claims["google_token_type"])
	require.False(t, tok.HasScope("https://www.googleapis.com/auth/drive.readonly"))

	require.Equal(t, int64(1), f.tokeninfoCalls.Load())
	require.Equal(t, int64(0), f.tokenInQuery.Load(), "the token travels in the POST body, never in the URL")
	require.Equal(t, int64(0), f.notForm.Load())
	require.Equal(t, int64(0), f.certsCalls.Load(), "access tokens never need the JWKS")
}

func TestAccessTokenAudience(t *testing.T) {
	clock := newTestClock()
	f := newFakeGoogle(t, clock.Now)
	cfg := f.config(clock)
	cfg.ClientIDs = []string{"web-client.apps.googleusercontent.com", testClientID}
	v := newVerifierT(t, cfg)

	t.Run("aud is ours", func(t *testing.T) {
		g := alice()
		g.Aud, g.Azp = testClientID, "android-client.apps.googleusercontent.com"
		tok, err := v.VerifyToken(ctx, f.issue(g))
		require.NoError(t, err)
		require.Equal(t, "android-client.apps.googleusercontent.com", tok.ClientID, "ClientID is the authorized party")
	})
	t.Run("azp is ours", func(t *testing.T) {
		g := alice()
		g.Aud, g.Azp = "android-client.apps.googleusercontent.com", testClientID
		tok, err := v.VerifyToken(ctx, f.issue(g))
		require.NoError(t, err)
		require.Equal(t, testClientID, tok.ClientID)
	})
	t.Run("issued to another application", func(t *testing.T) {
		g := alice()
		g.Aud, g.Azp = otherClientID, otherClientID
		_, err := v.VerifyToken(ctx, f.issue(g))
		requireErr(t, err, mcpauth.ErrInvalidToken, "the token was not issued to this application")
	})
}

func TestAccessTokenExpiry(t *testing.T) {
	googleClock, localClock := newTestClock(), newTestClock()
	f := newFakeGoogle(t, googleClock.Now)
	token := f.issue(grant{Sub: "1", ExpiresIn: time.Minute})

	// Google still says the token is live, but the local clock is past exp.
	localClock.Advance(61 * time.Second)
	v := newVerifierT(t, f.config(localClock))
	_, err := v.VerifyToken(ctx, token)
	requireErr(t, err, mcpauth.ErrInvalidToken, "token is expired")

	// With leeway the token is accepted, and its expiry is pushed by the leeway.
	cfg := f.config(localClock)
	cfg.Leeway = 30 * time.Second
	v = newVerifierT(t, cfg)
	tok, err := v.VerifyToken(ctx, token)
	require.NoError(t, err)
	require.Equal(t, googleClock.Now().Add(time.Minute+30*time.Second), tok.ExpiresAt)

	// Google's own verdict wins once it expires there.
	googleClock.Advance(time.Minute)
	_, err = v.VerifyToken(ctx, token)
	requireErr(t, err, mcpauth.ErrInvalidToken, "the Google access token is invalid or expired")
}

func TestAccessTokenWithoutSubject(t *testing.T) {
	clock := newTestClock()
	f := newFakeGoogle(t, clock.Now)
	v := newVerifierT(t, f.config(clock))
	_, err := v.VerifyToken(ctx, f.issue(grant{Scope: "https://www.googleapis.com/auth/drive.readonly"}))
	requireErr(t, err, mcpauth.ErrInvalidToken, "does not identify a Google account")
}

func TestInvalidTokenAnswers(t *testing.T) {
	clock := newTestClock()
	f := newFakeGoogle(t, clock.Now)
	v := newVerifierT(t, f.config(clock))

	unknown := "ya29.a0AfH6SMBxNotIssuedByTheFake"
	_, err := v.VerifyToken(ctx, unknown)
	requireErr(t, err, mcpauth.ErrInvalidToken, "the Google access token is invalid or expired")

	revoked := f.issue(alice())
	f.revoke(revoked)
	_, err = v.VerifyToken(ctx, revoked)
	requireErr(t, err, mcpauth.ErrInvalidToken, "the Google access token is invalid or expired")

	expired := f.issue(grant{Sub: "1", ExpiresIn: time.Minute})
	clock.Advance(time.Minute)
	_, err = v.VerifyToken(ctx, expired)
	requireErr(t, err, mcpauth.ErrInvalidToken, "the Google access token is invalid or expired")

	f.setLegacyErrors(true)
	_, err = v.VerifyToken(ctx, unknown)
	requireErr(t, err, mcpauth.ErrInvalidToken, "the Google access token is invalid or expired")
}

func TestUpstreamFailures(t *testing.T) {
	clock := newTestClock()
	f := newFakeGoogle(t, clock.Now)
	v := newVerifierT(t, f.config(clock))
	token := f.issue(alice())

	jsonHeader := http.Header{"Content-Type": {"application/json; charset=UTF-8"}}
	httpDate := clock.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	cases := []struct {
		name       string
		fail       failure
		class      error
		desc       string
		retryAfter time.Duration
	}{
		{"401", failure401, mcpauth.ErrInvalidToken, "the Google access token is invalid or expired", 0},
		{"400 without a JSON body", failure{status: 400, body: "<html>Bad Request</html>"}, mcpauth.ErrUpstreamUnavailable, "unexpected answer", 0},
		{"403 rate limited", failure403, mcpauth.ErrUpstreamUnavailable, "rate limiting", 0},
		{"403 rate limited with Retry-After", failure{status: 403, header: http.Header{"Retry-After": {"7"}}, body: failure403.body}, mcpauth.ErrUpstreamUnavailable, "rate limiting", 7 * time.Second},
		{"429 Retry-After seconds", failure429, mcpauth.ErrUpstreamUnavailable, "rate limiting", 30 * time.Second},
		{"429 Retry-After HTTP-date", failure{status: 429, header: http.Header{"Retry-After": {httpDate}}, body: failure429.body}, mcpauth.ErrUpstreamUnavailable, "rate limiting", 90 * time.Second},
		{"429 Retry-After garbage", failure{status: 429, header: http.Header{"Retry-After": {"soon"}}}, mcpauth.ErrUpstreamUnavailable, "rate limiting", 0},
		{"500 HTML", failure500, mcpauth.ErrUpstreamUnavailable, "Google is unavailable", 0},
		{"502", failure{status: 502, body: "Bad Gateway"}, mcpauth.ErrUpstreamUnavailable, "Google is unavailable", 0},
		{"503 Retry-After", failure503, mcpauth.ErrUpstreamUnavailable, "Google is unavailable", 120 * time.Second},
		{"200 truncated JSON", failureMalformed, mcpauth.ErrUpstreamUnavailable, "unexpected answer", 0},
		{"200 HTML", failure{status: 200, header: http.Header{"Content-Type": {"text/html"}}, body: "<html>captive portal</html>"}, mcpauth.ErrUpstreamUnavailable, "unexpected answer", 0},
		{"200 JSON array", failure{status: 200, header: jsonHeader, body: `[]`}, mcpauth.ErrUpstreamUnavailable, "unexpected answer", 0},
		{"200 JSON null", failure{status: 200, header: jsonHeader, body: `null`}, mcpauth.ErrUpstreamUnavailable, "unexpected answer", 0},
		{"200 empty", failure{status: 200, header: jsonHeader}, mcpauth.ErrUpstreamUnavailable, "unexpected answer", 0},
		{"200 without exp", failure{status: 200, header: jsonHeader, body: `{"aud":"` + testClientID + `","sub":"1"}`}, mcpauth.ErrUpstreamUnavailable, "unexpected answer", 0},
		{"200 exp not a number", failure{status: 200, header: jsonHeader, body: `{"aud":"` + testClientID + `","sub":"1","exp":"tomorrow"}`}, mcpauth.ErrUpstreamUnavailable, "unexpected answer", 0},
		{"200 aud not a string", failure{status: 200, header: jsonHeader, body: `{"aud":42,"sub":"1","exp":"9999999999"}`}, mcpauth.ErrUpstreamUnavailable, "unexpected answer", 0},
		{"200 sub not a string", failure{status: 200, header: jsonHeader, body: `{"aud":"` + testClientID + `","sub":1,"exp":"9999999999"}`}, mcpauth.ErrUpstreamUnavailable, "unexpected answer", 0},
		{"200 with an error", failure{status: 200, header: jsonHeader, body: `{"error":"invalid_token"}`}, mcpauth.ErrInvalidToken, "invalid or expired", 0},
		{"200 too large", failure{status: 200, header: jsonHeader, body: `{"pad":"` + strings.Repeat("x", upstream.MaxBody) + `"}`}, mcpauth.ErrUpstreamUnavailable, "Google answered with an unexpected response", 0},
		{"302 redirect", failure{status: 302, header: http.Header{"Location": {"https://accounts.google.com/ServiceLogin"}}}, mcpauth.ErrUpstreamUnavailable, "unexpected answer", 0},
		{"404", failure{status: 404, body: "Not Found"}, mcpauth.ErrUpstreamUnavailable, "unexpected answer", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.setFailure(&tc.fail)
			defer f.setFailure(nil)
			_, err := v.VerifyToken(ctx, token)
			me := requireErr(t, err, tc.class, tc.desc)
			require.Equal(t, tc.retryAfter, me.RetryAfter)
		})
	}

	// Service restored: the same token is accepted (no state was poisoned).
	_, err := v.VerifyToken(ctx, token)
	require.NoError(t, err)
}

func TestUpstreamTimeout(t *testing.T) {
	clock := newTestClock()
	f := newFakeGoogle(t, clock.Now)
	token := f.issue(alice())
	f.setFailure(&failureHang)

	cfg := f.config(clock)
	cfg.HTTPTimeout = 50 * time.Millisecond
	v := newVerifierT(t, cfg)
	_, err := v.VerifyToken(ctx, token)
	requireErr(t, err, mcpauth.ErrUpstreamUnavailable, "Google did not answer in time")

	// A caller's HTTP client without any timeout is still bounded by HTTPTimeout.
	cfg.HTTPClient = &http.Client{}
	v = newVerifierT(t, cfg)
	_, err = v.VerifyToken(ctx, token)
	requireErr(t, err, mcpauth.ErrUpstreamUnavailable, "Google did not answer in time")
}

func TestUpstreamUnreachable(t *testing.T) {
	clock := newTestClock()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more: connection refused
	v := newVerifierT(t, Config{ClientIDs: []string{testClientID}, TokenInfoURL: url + "/tokeninfo", Now: clock.Now})
	_, err := v.VerifyToken(ctx, "ya29.a0AfH6SMBx")
	requireErr(t, err, mcpauth.ErrUpstreamUnavailable, "Google could not be reached")
}

func TestPrefilter(t *testing.T) {
	clock := newTestClock()
	f := newFakeGoogle(t, clock.Now)
	v := newVerifierT(t, f.config(clock))

	cases := []struct{ name, token, desc string }{
		{"empty", "", "token is empty"},
		{"GitHub token", "ghp_16C7e42F292c6912E7710c838347Ae178B4a", "neither a Google access token nor a Google ID token"},
		{"WorkOS-style opaque token", "sk_test_abc123", "neither a Google access token nor a Google ID token"},
		{"prefix only", "ya29.", "neither a Google access token nor a Google ID token"},
		{"wrong case prefix", "YA29.a0AfH6SMBx", "neither a Google access token nor a Google ID token"},
		{"scheme included", "Bearer ya29.a0AfH6SMBx", "spaces or control characters"},
		{"space", "ya29.a0AfH6 SMBx", "spaces or control characters"},
		{"newline", "ya29.a0AfH6SMBx\n", "spaces or control characters"},
		{"NUL", "ya29.a0\x00", "spaces or control characters"},
		{"non-ASCII", "ya29.a0é", "spaces or control characters"},
		{"outside b64token", "ya29.a0<script>", "characters not allowed"},
		{"quote", `ya29.a0"x`, "characters not allowed"},
		{"too large", "ya29." + strings.Repeat("a", MaxTokenSize), "token is too large"},
		{"JWT-like with two segments", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0", "neither a Google access token nor a Google ID token"},
		{"JWT-like with four segments", "eyJhbGciOiJSUzI1NiJ9.e.e.e", "neither a Google access token nor a Google ID token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.VerifyToken(ctx, tc.token)
			requireErr(t, err, mcpauth.ErrInvalidToken, tc.desc)
		})
	}
	require.Equal(t, int64(0), f.tokeninfoCalls.Load(), "garbage costs no tokeninfo call")
	require.Equal(t, int64(0), f.certsCalls.Load(), "garbage costs no JWKS fetch")

	t.Run("AnyTokenFormat sends unusual tokens to tokeninfo", func(t *testing.T) {
		cfg := f.config(clock)
		cfg.AnyTokenFormat = true
		v := newVerifierT(t, cfg)
		_, err := v.VerifyToken(ctx, "opaque-token-from-a-gateway")
		requireErr(t, err, mcpauth.ErrInvalidToken, "the Google access token is invalid or expired")
		require.Equal(t, int64(1), f.tokeninfoCalls.Load())
		// Still refused locally: empty, oversized, whitespace.
		for _, bad := range []string{"", "a b", strings.Repeat("a", MaxTokenSize+1)} {
			_, err := v.VerifyToken(ctx, bad)
			require.ErrorIs(t, err, mcpauth.ErrInvalidToken)
		}
		require.Equal(t, int64(1), f.tokeninfoCalls.Load())
	})
}

// ---- ID tokens ----

func TestIDTokenAccepted(t *testing.T) {
	clock := newTestClock()
	f := newFakeGoogle(t, clock.Now)
	cfg := f.config(clock)
	cfg.Scopes = []string{"notes:read"}
	cfg.DomainScopes = map[string][]string{"example.com": {"notes:write"}}
	v := newVerifierT(t, cfg)

	claims := f.idClaims("110169484474386276334", "alice@example.com", true, "example.com")
	tok, err := v.VerifyToken(ctx, f.signID(t, claims))
	require.NoError(t, err)
	require.Equal(t, "google", tok.Provider)
	require.Equal(t, "110169484474386276334", tok.Subject)
	require.Equal(t, testClientID, tok.ClientID)
	require.Equal(t, "https://accounts.google.com", tok.Issuer)
	require.Equal(t, []string{testClientID}, tok.Audience)
	require.Equal(t, "example.com", tok.TenantID, "the hosted domain is the tenant")
	require.Equal(t, []string{"notes:read", "notes:write"}, tok.Scopes)
	require.Equal(t, clock.Now().Add(time.Hour), tok.ExpiresAt)
	require.Equal(t, clock.Now(), tok.IssuedAt)
	require.Equal(t, "alice@example.com", tok.Claims["email"])
	require.Equal(t, true, tok.Claims["email_verified"])
	require.Equal(t, "Alice Example", tok.Claims["name"])
	require.Equal(t, "https://lh3.googleusercontent.com/a/ACg8ocK", tok.Claims["picture"])
	require.Equal(t, "example.com", tok.Claims["hd"])
	require.Equal(t, "id_token", tok.Claims["google_token_type"])
	require.Equal(t, int64(0), f.tokeninfoCalls.Load(), "ID tokens are verified locally")
	require.Equal(t, int64(1), f.certsCalls.Load())

	// The legacy issuer spelling is Google's too.
	claims = f.idClaims("2", "bob@gmail.com", true, "")
	claims["iss"] = "accounts.google.com"
	tok, err = v.VerifyToken(ctx, f.signID(t, claims))
	require.NoError(t, err)
	require.Equal(t, "accounts.google.com", tok.Issuer)
	require.Empty(t, tok.TenantID, "consumer accounts have no hosted domain")
	require.Equal(t, []string{"notes:read"}, tok.Scopes)

	// More ID tokens cost no more JWKS fetches.
	for range 10 {
		_, err := v.VerifyToken(ctx, f.signID(t, f.idClaims("3", "", false, "")))
		require.NoError(t, err)
	}
	require.Equal(t, int64(1), f.certsCalls.Load())
}

func TestIDTokenRefused(t *testing.T) {
	clock := newTestClock()
	f := newFakeGoogle(t, clock.Now)
	v := newVerifierT(t, f.config(clock))
	keys := testKeys(t)
	good := func() jwt.MapClaims { return f.idClaims("1", "alice@example.com", true, "") }

	// A stranger's key that claims the published kid.
	impostor := &fakeKey{kid: keys[0].kid, priv: keys[1].priv}
	hmacToken := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, good())
		tok.Header["kid"] = keys[0].kid
		s, err := tok.SignedString([]byte("0123456789abcdef0123456789abcdef"))
		require.NoError(t, err)
		return s
	}
	rs512 := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS512, good())
		tok.Header["kid"] = keys[0].kid
		s, err := tok.SignedString(keys[0].priv)
		require.NoError(t, err)
		return s
	}
	with := func(name string, v any) jwt.MapClaims {
		c := good()
		if v == nil {
			delete(c, name)
		} else {
			c[name] = v
		}
		return c
	}

	cases := []struct {
		name  string
		token string
		desc  string
	}{
		{"signed by an unknown key", sign(t, keys[2], good()), "unknown signing key"},
		{"signed by another key under the published kid", sign(t, impostor, good()), "token signature is invalid"},
		{"HS256 with a guessed secret", hmacToken(), "unexpected signing algorithm"},
		{"RS512 (Google signs RS256)", rs512(), "unexpected signing algorithm"},
		{"another issuer", f.signID(t, with("iss", "https://evil.example.com")), "token issuer is not accepted"},
		{"no issuer", f.signID(t, with("iss", nil)), "token has no issuer"},
		{"another audience", f.signID(t, with("aud", otherClientID)), "token audience does not match this resource"},
		{"expired", f.signID(t, with("exp", clock.Now().Add(-time.Second).Unix())), "token is expired"},
		{"no expiry", f.signID(t, with("exp", nil)), "token has no expiry"},
		{"issued in the future", f.signID(t, with("iat", clock.Now().Add(time.Minute).Unix())), "issued in the future"},
		{"no subject", f.signID(t, with("sub", nil)), "does not identify a Google account"},
		{"hd not a string", f.signID(t, with("hd", 7)), "hd claim must be a string"},
		{"tampered payload", tamper(f.signID(t, good())), "token signature is invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.VerifyToken(ctx, tc.token)
			requireErr(t, err, mcpauth.ErrInvalidToken, tc.desc)
		})
	}
	require.Equal(t, int64(0), f.tokeninfoCalls.Load())
}

// tamper replaces the subject in a signed token's payload.
func tamper(token string) string {
	parts := strings.Split(token, ".")
	payload, _ := jwt.NewParser().DecodeSegment(parts[1])
	payload = []byte(strings.Replace(string(payload), `"sub":"1"`, `"sub":"2"`, 1))
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

func TestIDTokenLeeway(t *testing.T) {
	clock := newTestClock()
	f := newFakeGoogle(t, clock.Now)
	c := f.idClaims("1", "", false, "")
	c["iat"] = clock.Now().Add(5 * time.Second).Unix() // Google's clock is 5s ahead of ours
	token := f.signID(t, c)

	_, err := newVerifierT(t, f.config(clock)).VerifyToken(ctx, token)
	requireErr(t, err, mcpauth.ErrInvalidToken, "issued in the future")

	cfg := f.config(clock)
	cfg.Leeway = 30 * time.Second
	_, err = newVerifierT(t, cfg).VerifyToken(ctx, token)
	require.NoError(t, err)
}

func TestIDTokenJWKSUnavailable(t *testing.T) {
	clock := newTestClock()
	f := newFakeGoogle(t, clock.Now)
	f.setCertsDown(true)
	v := newVerifierT(t, f.config(clock))
	token := f.signID(t, f.idClaims("1", "", false, ""))
	_, err := v.VerifyToken(ctx, token)
	require.ErrorIs(t, err, mcpauth.ErrUpstreamUnavailable, "a token that cannot be judged is not called invalid")
	var me *mcpauth.Error
	require.True(t, errors.As(err, &me))
	require.Equal(t, http.StatusServiceUnavailable, me.Status)
}

// A failed fetch of the ID-token key set is a warning on Config.Logger, without the
// token or the client secret.
func TestIDTokenJWKSFailureLogged(t *testing.T) {
	clock := newTestClock()
	f := newFakeGoogle(t, clock.Now)
	f.setCertsDown(true)
	logger, logs := testutil.NewLogger()
	cfg := f.config(clock)
	cfg.ClientSecret = mcpauth.NewSecret("GOCSPX-the-client-secret")
	cfg.Logger = logger
	v := newVerifierT(t, cfg)
	require.Empty(t, logs.Lines(), "New fetches nothing")

	token := f.signID(t, f.idClaims("1", "", false, ""))
	_, err := v.VerifyToken(ctx, token)
	require.ErrorIs(t, err, mcpauth.ErrUpstreamUnavailable)
	// One warning for the fetch when the ID-token verifier is created, one for the
	// fetch the token's key triggered.
	line := `level=WARN msg="bearer: JWKS fetch failed" jwks_uri=` + f.srv.URL + `/oauth2/v3/certs error="invalid HTTP status code: 500"`
	require.Equal(t, []string{line, line}, logs.Lines())
	require.NotContains(t, logs.String(), token)
	require.NotContains(t, logs.String(), "GOCSPX-the-client-secret")
}

func TestClose(t *testing.T) {
	clock := newTestClock()
	f := newFakeGoogle(t, clock.Now)
	v, err := New(f.config(clock))
	require.NoError(t, err)
	_, err = v.VerifyToken(ctx, f.signID(t, f.idClaims("1", "", false, "")))
	require.NoError(t, err)
	require.NoError(t, v.Close())
	require.NoError(t, v.Close(), "Close is idempotent")
	_, err = v.VerifyToken(ctx, f.issue(alice()))
	require.NoError(t, err, "access tokens keep working after Close")

	// A verifier closed before its first ID token never starts the key set.
	v2, err := New(f.config(clock))
	require.NoError(t, err)
	require.NoError(t, v2.Close())
	_, err = v2.VerifyToken(ctx, f.signID(t, f.idClaims("1", "", false, "")))
	requireErr(t, err, mcpauth.ErrUpstreamUnavailable, "closed")
	require.Equal(t, int64(1), f.certsCalls.Load())
}

// ---- rules ----

func TestRules(t *testing.T) {
	clock := newTestClock()
	f := newFakeGoogle(t, clock.Now)

	access := func(email string, verified bool) func(t *testing.T) string {
		return func(t *testing.T) string { return f.issue(grant{Sub: "1", Email: email, EmailVerified: verified}) }
	}
	id := func(email string, verified bool, hd string) func(t *testing.T) string {
		return func(t *testing.T) string { return f.signID(t, f.idClaims("1", email, verified, hd)) }
	}
	type check struct {
		name   string
		token  func(t *testing.T) string
		denied string // "" when accepted
		tenant string
	}
	rules := []struct {
		name   string
		cfg    func(*Config)
		checks []check
	}{
		{"no rule", func(*Config) {}, []check{
			{"any verified account", access("carol@gmail.com", true), "", ""},
			{"unverified e-mail", access("carol@gmail.com", false), "", ""},
			{"no e-mail at all", access("", false), "", ""},
			{"consumer ID token", id("carol@gmail.com", true, ""), "", ""},
		}},
		{"hosted domain", func(c *Config) { c.HostedDomains = []string{"Example.com"} }, []check{
			{"ID token of the domain", id("alice@example.com", true, "example.com"), "", "example.com"},
			{"ID token of another domain", id("eve@evil.com", true, "evil.com"), descNotInDomain, ""},
			{"consumer ID token with the domain's e-mail", id("mallory@example.com", true, ""), descNotInDomain, ""},
			{"access token, verified e-mail of the domain", access("alice@example.com", true), "", "example.com"},
			{"access token, e-mail in upper case", access("ALICE@EXAMPLE.COM", true), "", "example.com"},
			{"access token, unverified e-mail of the domain", access("alice@example.com", false), descUnverified, ""},
			{"access token, another domain", access("eve@evil.com", true), descNotInDomain, ""},
			{"access token, subdomain is another domain", access("eve@sub.example.com", true), descNotInDomain, ""},
			{"access token, lookalike domain", access("eve@notexample.com", true), descNotInDomain, ""},
			{"access token without e-mail", access("", false), descNoEmail, ""},
		}},
		{"strict hosted domain", func(c *Config) { c.HostedDomains = []string{"example.com"}; c.StrictHostedDomain = true }, []check{
			{"ID token of the domain", id("alice@example.com", true, "example.com"), "", "example.com"},
			{"access token, verified e-mail of the domain", access("alice@example.com", true), descStrictDomain, ""},
		}},
		{"e-mail domains", func(c *Config) { c.AllowedEmailDomains = []string{"example.com"} }, []check{
			{"verified", access("alice@example.com", true), "", ""},
			{"verified, mixed case", access("Alice@Example.COM", true), "", ""},
			{"unverified", access("alice@example.com", false), descUnverified, ""},
			{"another domain", access("eve@evil.com", true), descEmailNotListed, ""},
			{"no e-mail", access("", false), descNoEmail, ""},
			{"ID token verified", id("alice@example.com", true, "example.com"), "", "example.com"},
			{"ID token unverified", id("alice@example.com", false, ""), descUnverified, ""},
			{"ID token without e-mail", id("", false, "example.com"), descNoEmail, ""},
		}},
		{"e-mails and e-mail domains form one allowlist", func(c *Config) {
			c.AllowedEmails = []string{"Bob@gmail.com"}
			c.AllowedEmailDomains = []string{"example.com"}
		}, []check{
			{"listed address", access("bob@gmail.com", true), "", ""},
			{"listed domain", access("alice@example.com", true), "", ""},
			{"unlisted address of a listed address's domain", access("carol@gmail.com", true), descEmailNotListed, ""},
			{"listed address unverified", access("bob@gmail.com", false), descUnverified, ""},
			{"ID token of the listed address", id("bob@gmail.com", true, ""), "", ""},
		}},
		{"hosted domain and e-mails must both pass", func(c *Config) {
			c.HostedDomains = []string{"example.com"}
			c.AllowedEmails = []string{"alice@example.com"}
		}, []check{
			{"both", id("alice@example.com", true, "example.com"), "", "example.com"},
			{"domain only", id("bob@example.com", true, "example.com"), descEmailNotListed, ""},
			{"address only", id("alice@example.com", true, ""), descNotInDomain, ""},
		}},
	}
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			cfg := f.config(clock)
			r.cfg(&cfg)
			v := newVerifierT(t, cfg)
			for _, c := range r.checks {
				t.Run(c.name, func(t *testing.T) {
					tok, err := v.VerifyToken(ctx, c.token(t))
					if c.denied != "" {
						requireErr(t, err, mcpauth.ErrAccessDenied, c.denied)
						return
					}
					require.NoError(t, err)
					require.Equal(t, "1", tok.Subject)
					require.Equal(t, c.tenant, tok.TenantID)
				})
			}
		})
	}
}

func TestDomainScopes(t *testing.T) {
	clock := newTestClock()
	f := newFakeGoogle(t, clock.Now)
	cfg := f.config(clock)
	cfg.Scopes = []string{"tools:basic"}
	cfg.DomainScopes = map[string][]string{
		"example.com":         {"notes:read", "notes:write"},
		"contractors.example": {"notes:read"},
		"gmail.com":           {"guest"},
	}
	v := newVerifierT(t, cfg)

	cases := []struct {
		name  string
		token string
		want  []string
	}{
		{"ID token, hosted domain", f.signID(t, f.idClaims("1", "alice@example.com", true, "example.com")), []string{"tools:basic", "notes:read", "notes:write"}},
		{"ID token, hosted domain and another e-mail domain", f.signID(t, f.idClaims("1", "alice@contractors.example", true, "example.com")), []string{"tools:basic", "notes:read", "notes:write"}},
		{"ID token, consumer account", f.signID(t, f.idClaims("1", "bob@gmail.com", true, "")), []string{"tools:basic", "guest"}},
		{"ID token, unverified e-mail domain grants nothing", f.signID(t, f.idClaims("1", "bob@gmail.com", false, "")), []string{"tools:basic"}},
		{"access token, verified e-mail domain", f.issue(grant{Sub: "1", Email: "carol@contractors.example", EmailVerified: true}), []string{"tools:basic", "notes:read"}},
		{"access token, unverified e-mail domain grants nothing", f.issue(grant{Sub: "1", Email: "carol@example.com"}), []string{"tools:basic"}},
		{"access token, no e-mail", f.issue(grant{Sub: "1"}), []string{"tools:basic"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := v.VerifyToken(ctx, tc.token)
			require.NoError(t, err)
			require.Equal(t, tc.want, tok.Scopes)
		})
	}
}

func TestDomainScopesWithoutConfig(t *testing.T) {
	clock := newTestClock()
	f := newFakeGoogle(t, clock.Now)
	v := newVerifierT(t, f.config(clock))
	tok, err := v.VerifyToken(ctx, f.issue(alice()))
	require.NoError(t, err)
	require.Empty(t, tok.Scopes, "no configured scopes: nothing granted")
}

// The tests' RSA keys are 2048 bits, like Google's.
func TestFakeKeys(t *testing.T) {
	for _, k := range testKeys(t) {
		require.Equal(t, 2048, k.priv.N.BitLen())
		require.NoError(t, k.priv.Validate())
	}
}
