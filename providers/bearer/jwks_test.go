package bearer

import (
	"context"
	"errors"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/testutil"
	"github.com/stretchr/testify/require"
)

// unknownKIDToken is a well-formed token signed by a key nobody published.
func unknownKIDToken(t *testing.T, clock *testClock, is *issuerServer, kid string) string {
	other, err := newTestIssuer(is.iss.Issuer())
	require.NoError(t, err)
	return devSign(t, other, jwt.SigningMethodRS256, map[string]any{"kid": kid}, claimsAt(clock).WithIssuer(is.iss.Issuer()).Map())
}

func TestJWKSUnknownKIDRefreshIsRateLimited(t *testing.T) {
	clock := newTestClock()
	is := newIssuerServer(t)
	cfg := is.config(clock)
	cfg.Keys = JWKS{URI: is.iss.JWKSURI(), UnknownKIDRefreshInterval: time.Hour}
	v := newVerifierT(t, cfg)
	ctx := context.Background()
	require.Equal(t, int64(1), is.jwksHits.Load(), "New fetches the JWKS once")

	// A known kid never causes a fetch.
	for range 5 {
		_, err := v.VerifyToken(ctx, mustSign(t, is.iss, claimsAt(clock)))
		require.NoError(t, err)
	}
	require.Equal(t, int64(1), is.jwksHits.Load())

	bad := unknownKIDToken(t, clock, is, "nobody")
	for i := range 50 {
		_, err := v.VerifyToken(ctx, bad)
		requireInvalid(t, err, "unknown signing key")
		require.Equal(t, int64(2), is.jwksHits.Load(), "after %d unknown-kid tokens", i+1)
	}

	// Once the interval has passed, one more fetch is allowed.
	clock.Advance(time.Hour)
	for range 10 {
		_, err := v.VerifyToken(ctx, bad)
		requireInvalid(t, err, "unknown signing key")
	}
	require.Equal(t, int64(3), is.jwksHits.Load())
	clock.Advance(59 * time.Minute)
	_, err := v.VerifyToken(ctx, bad)
	requireInvalid(t, err, "unknown signing key")
	require.Equal(t, int64(3), is.jwksHits.Load())
}

func TestJWKSUnknownKIDFailsFastWhileJWKSHangs(t *testing.T) {
	clock := newTestClock()
	is := newIssuerServer(t)
	v := newVerifierT(t, is.config(clock))
	ctx := context.Background()
	bad := unknownKIDToken(t, clock, is, "nobody")

	// The first unknown kid uses the limiter's token.
	_, err := v.VerifyToken(ctx, bad)
	requireInvalid(t, err, "unknown signing key")
	require.Equal(t, int64(2), is.jwksHits.Load())

	// From now on the JWKS would hang forever; an unknown kid must not wait for it.
	release := make(chan struct{})
	defer close(release)
	is.hang.Store(&release)
	done := make(chan error, 1)
	go func() {
		_, err := v.VerifyToken(ctx, bad)
		done <- err
	}()
	select {
	case err := <-done:
		requireInvalid(t, err, "unknown signing key")
	case <-time.After(10 * time.Second):
		t.Fatal("an unknown kid waited for the JWKS")
	}
	// The known key still verifies.
	_, err = v.VerifyToken(ctx, mustSign(t, is.iss, claimsAt(clock)))
	require.NoError(t, err)
}

func TestJWKSKeyRotation(t *testing.T) {
	clock := newTestClock()
	is := newIssuerServer(t)
	v := newVerifierT(t, is.config(clock))
	ctx := context.Background()

	oldTok := mustSign(t, is.iss, claimsAt(clock))
	_, err := v.VerifyToken(ctx, oldTok)
	require.NoError(t, err)

	require.NoError(t, is.iss.Rotate())
	newTok := mustSign(t, is.iss, claimsAt(clock))
	for range 3 {
		_, err = v.VerifyToken(ctx, newTok)
		require.NoError(t, err)
	}
	require.Equal(t, int64(2), is.jwksHits.Load(), "one refresh picks up the new key")
	_, err = v.VerifyToken(ctx, oldTok)
	require.NoError(t, err, "the previous key is still published")

	// Retire the old key; the next allowed refresh drops it.
	is.iss.RetirePrevious()
	clock.Advance(time.Minute)
	_, err = v.VerifyToken(ctx, unknownKIDToken(t, clock, is, "trigger"))
	requireInvalid(t, err, "unknown signing key")
	require.Equal(t, int64(3), is.jwksHits.Load())
	_, err = v.VerifyToken(ctx, oldTok)
	requireInvalid(t, err, "unknown signing key")
	_, err = v.VerifyToken(ctx, newTok)
	require.NoError(t, err)
	require.Equal(t, int64(3), is.jwksHits.Load())
}

func TestJWKSDownAtStartup(t *testing.T) {
	clock := newTestClock()
	is := newIssuerServer(t)
	is.down.Store(true)
	v, err := New(is.config(clock))
	require.NoError(t, err, "New must not fail while the JWKS is down")
	defer v.Close()
	require.Equal(t, int64(1), is.jwksHits.Load())
	ctx := context.Background()
	tok := mustSign(t, is.iss, claimsAt(clock))

	// No key set was ever fetched: the token cannot be judged.
	_, err = v.VerifyToken(ctx, tok)
	require.True(t, errors.Is(err, mcpauth.ErrUpstreamUnavailable), "got %v", err)
	require.False(t, errors.Is(err, mcpauth.ErrInvalidToken))
	require.Equal(t, int64(2), is.jwksHits.Load(), "the token triggered one fetch")
	var me *mcpauth.Error
	require.True(t, errors.As(err, &me))
	require.Equal(t, 503, me.Status)
	require.Positive(t, me.RetryAfter)

	_, err = v.VerifyToken(ctx, tok)
	require.True(t, errors.Is(err, mcpauth.ErrUpstreamUnavailable))
	require.Equal(t, int64(2), is.jwksHits.Load(), "rate limited")

	is.down.Store(false)
	clock.Advance(time.Minute)
	at, err := v.VerifyToken(ctx, tok)
	require.NoError(t, err)
	require.Equal(t, "alice", at.Subject)
	require.Equal(t, int64(3), is.jwksHits.Load())

	// Once keys are known, a later outage turns unknown kids into invalid_token.
	is.down.Store(true)
	clock.Advance(time.Minute)
	_, err = v.VerifyToken(ctx, unknownKIDToken(t, clock, is, "nobody"))
	requireInvalid(t, err, "unknown signing key")
	require.Equal(t, int64(4), is.jwksHits.Load())
	_, err = v.VerifyToken(ctx, tok)
	require.NoError(t, err, "keys survive a failed refresh")
}

func TestJWKSPeriodicRefresh(t *testing.T) {
	clock := newTestClock()
	is := newIssuerServer(t)
	cfg := is.config(clock)
	cfg.Keys = JWKS{URI: is.iss.JWKSURI(), RefreshInterval: 10 * time.Millisecond, UnknownKIDRefreshInterval: time.Hour}
	v := newVerifierT(t, cfg)
	ctx := context.Background()
	wait := func() {
		select {
		case <-is.fetched:
		case <-time.After(10 * time.Second):
			t.Fatal("no periodic JWKS fetch")
		}
	}
	drain := func() {
		for len(is.fetched) > 0 {
			<-is.fetched
		}
	}

	// Use up the unknown-kid fetch, so only the periodic refresh can find the new key.
	_, err := v.VerifyToken(ctx, unknownKIDToken(t, clock, is, "nobody"))
	requireInvalid(t, err, "unknown signing key")

	require.NoError(t, is.iss.Rotate())
	// Every fetch that signals after the drain was served after the rotation, and the
	// second one starts only once the first has stored its keys.
	drain()
	wait()
	wait()
	_, err = v.VerifyToken(ctx, mustSign(t, is.iss, claimsAt(clock)))
	require.NoError(t, err)

	// Close stops the refresh goroutine and further fetches.
	require.NoError(t, v.Close())
	hits := is.jwksHits.Load()
	clock.Advance(2 * time.Hour)
	_, err = v.VerifyToken(ctx, unknownKIDToken(t, clock, is, "after-close"))
	requireInvalid(t, err, "unknown signing key")
	require.LessOrEqual(t, is.jwksHits.Load(), hits+1, "at most a tick already in flight")
}

func TestJWKSHTTPSOnly(t *testing.T) {
	base := Config{Issuers: []string{"https://issuer.example"}, Audience: []string{"a"}}
	refused := map[string]string{
		"http://example.com/jwks.json":           "must use https: http is accepted only for loopback hosts",
		"http://10.0.0.1/jwks.json":              "must use https",
		"http://127.0.0.1.example.com/jwks.json": "must use https",
		"ftp://example.com/jwks.json":            `has scheme "ftp": use an https:// URL`,
		"/jwks.json":                             "is not an absolute URL",
		"https://user:pass@example.com/jwks":     "contains credentials",
	}
	for uri, want := range refused {
		cfg := base
		cfg.Keys = JWKS{URI: uri}
		err := cfg.Validate()
		require.ErrorContains(t, err, "Config.Keys: JWKS.URI", uri)
		require.ErrorContains(t, err, want, uri)
		require.NotContains(t, err.Error(), "pass@", "credentials leaked")
		_, err = New(cfg)
		require.ErrorContains(t, err, want, uri)
	}
	for _, uri := range []string{"https://example.com/jwks.json", "http://127.0.0.1:1/jwks.json", "http://127.8.9.10/jwks", "http://localhost:1/jwks", "http://[::1]:1/jwks"} {
		cfg := base
		cfg.Keys = JWKS{URI: uri}
		require.NoError(t, cfg.Validate(), uri)
	}
	cfg := base
	cfg.Keys = JWKS{URI: "http://127.0.0.1:1/jwks.json", HTTPTimeout: time.Second} // nothing listens: construction still succeeds
	v, err := New(cfg)
	require.NoError(t, err)
	require.NoError(t, v.Close())
}

func TestJWKSResponseLimits(t *testing.T) {
	clock := newTestClock()
	is := newIssuerServer(t)
	huge := []byte(`{"keys":[],"pad":"` + strings.Repeat("x", maxJWKSSize) + `"}`)
	is.override.Store(&huge)
	v := newVerifierT(t, is.config(clock))
	_, err := v.VerifyToken(context.Background(), mustSign(t, is.iss, claimsAt(clock)))
	require.True(t, errors.Is(err, mcpauth.ErrUpstreamUnavailable), "an oversized JWKS is refused, got %v", err)

	is.override.Store(nil)
	clock.Advance(time.Minute)
	_, err = v.VerifyToken(context.Background(), mustSign(t, is.iss, claimsAt(clock)))
	require.NoError(t, err)
}

func TestJWKSRedirectToHTTPRefused(t *testing.T) {
	clock := newTestClock()
	is := newIssuerServer(t)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://jwks.example.com/jwks.json", http.StatusFound)
	}))
	defer redirect.Close()
	cfg := is.config(clock)
	cfg.Keys = JWKS{URI: redirect.URL + "/jwks.json"}
	v := newVerifierT(t, cfg)
	_, err := v.VerifyToken(context.Background(), mustSign(t, is.iss, claimsAt(clock)))
	require.True(t, errors.Is(err, mcpauth.ErrUpstreamUnavailable), "got %v", err)
}

func TestJWKSSkipsUnusableKeys(t *testing.T) {
	clock := newTestClock()
	is := newIssuerServer(t)
	// Publish the issuer's key twice: once for encryption only, once with key_ops sign.
	cur := is.iss.Current()
	pub, kid := &cur.Private.PublicKey, cur.KID
	enc := rsaJWK(pub, kid, "enc")
	signOnly := rsaJWK(pub, "ops", "")
	signOnly["key_ops"] = []string{"sign"}
	body := mustJSON(t, map[string]any{"keys": []any{enc, signOnly}})
	is.override.Store(&body)
	v := newVerifierT(t, is.config(clock))
	_, err := v.VerifyToken(context.Background(), mustSign(t, is.iss, claimsAt(clock)))
	requireInvalid(t, err, "unknown signing key")
	_, err = v.VerifyToken(context.Background(), devSign(t, is.iss, jwt.SigningMethodRS256, map[string]any{"kid": "ops"}, claimsAt(clock).WithIssuer(is.iss.Issuer()).Map()))
	requireInvalid(t, err, "unknown signing key")
}

// TestJWKSOneBrokenKeyRejectsTheWholeSet pins a jwkset behaviour: one undecodable key
// fails the whole fetch (only keys of unsupported types are skipped), so the verifier
// keeps what it had; at startup that is nothing, hence temporarily_unavailable.
func TestJWKSOneBrokenKeyRejectsTheWholeSet(t *testing.T) {
	clock := newTestClock()
	is := newIssuerServer(t)
	cur := is.iss.Current()
	good := rsaJWK(&cur.Private.PublicKey, cur.KID, "sig")
	broken := map[string]any{"kty": "RSA", "kid": "broken", "n": "!!!", "e": "AQAB"}
	unsupported := map[string]any{"kty": "OKP", "crv": "X448", "kid": "x448", "x": "AAAA"}
	body := mustJSON(t, map[string]any{"keys": []any{good, broken}})
	is.override.Store(&body)
	v := newVerifierT(t, is.config(clock))
	tok := mustSign(t, is.iss, claimsAt(clock))
	_, err := v.VerifyToken(context.Background(), tok)
	require.True(t, errors.Is(err, mcpauth.ErrUpstreamUnavailable), "got %v", err)

	body2 := mustJSON(t, map[string]any{"keys": []any{unsupported, good}})
	is.override.Store(&body2)
	clock.Advance(time.Minute)
	_, err = v.VerifyToken(context.Background(), tok)
	require.NoError(t, err, "keys of unsupported types are skipped")
}

// A failed JWKS fetch is a warning on Config.Logger, without the token or any key.
func TestJWKSFetchFailureLogged(t *testing.T) {
	clock := newTestClock()
	is := newIssuerServer(t)
	is.down.Store(true)
	logger, logs := testutil.NewLogger()
	cfg := is.config(clock)
	cfg.Logger = logger
	v := newVerifierT(t, cfg)
	tok := mustSign(t, is.iss, claimsAt(clock))
	_, err := v.VerifyToken(context.Background(), tok)
	require.ErrorIs(t, err, mcpauth.ErrUpstreamUnavailable)

	// One warning for the fetch in New, one for the fetch the token triggered.
	line := `level=WARN msg="bearer: JWKS fetch failed" jwks_uri=` + is.srv.URL + `/jwks.json error="invalid HTTP status code: 503"`
	require.Equal(t, []string{line, line}, logs.Lines())
	require.NotContains(t, logs.String(), tok)
	require.NotContains(t, logs.String(), strings.Split(tok, ".")[2], "no part of the token")
}

// Without Config.Logger, warnings go to the slog.Default() of the time New was called.
func TestJWKSFetchFailureDefaultLogger(t *testing.T) {
	clock := newTestClock()
	is := newIssuerServer(t)
	is.down.Store(true)
	logger, logs := testutil.NewLogger()
	// slog.SetDefault redirects the log package too: restore both.
	before, out, flags := slog.Default(), log.Writer(), log.Flags()
	slog.SetDefault(logger)
	v, err := New(is.config(clock))
	slog.SetDefault(before)
	log.SetOutput(out)
	log.SetFlags(flags)
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	line := `level=WARN msg="bearer: JWKS fetch failed" jwks_uri=` + is.srv.URL + `/jwks.json error="invalid HTTP status code: 503"`
	require.Equal(t, []string{line}, logs.Lines())

	// A later change of the default does not move the verifier's warnings.
	_, err = v.VerifyToken(context.Background(), mustSign(t, is.iss, claimsAt(clock)))
	require.ErrorIs(t, err, mcpauth.ErrUpstreamUnavailable)
	require.Equal(t, []string{line, line}, logs.Lines())
}

// An issuer that starts after the server: while no JWKS was ever fetched, a token
// retries the fetch at most once per second, not once per UnknownKIDRefreshInterval.
func TestJWKSIssuerStartsLate(t *testing.T) {
	clock := newTestClock()
	is := newIssuerServer(t)
	is.down.Store(true)
	cfg := is.config(clock)
	cfg.Keys = JWKS{URI: is.iss.JWKSURI(), UnknownKIDRefreshInterval: time.Hour}
	v := newVerifierT(t, cfg)
	ctx := context.Background()
	tok := mustSign(t, is.iss, claimsAt(clock))
	noKID := devSign(t, is.iss, jwt.SigningMethodRS256, map[string]any{"kid": nil}, claimsAt(clock).WithIssuer(is.iss.Issuer()).Map())

	_, err := v.VerifyToken(ctx, tok)
	require.ErrorIs(t, err, mcpauth.ErrUpstreamUnavailable)
	var me *mcpauth.Error
	require.ErrorAs(t, err, &me)
	require.Equal(t, time.Second, me.RetryAfter)
	require.Equal(t, int64(2), is.jwksHits.Load(), "New, then the token")
	// Within the backoff, no request reaches the JWKS, with or without a kid.
	clock.Advance(999 * time.Millisecond)
	for _, token := range []string{tok, noKID} {
		_, err = v.VerifyToken(ctx, token)
		require.ErrorIs(t, err, mcpauth.ErrUpstreamUnavailable)
	}
	require.Equal(t, int64(2), is.jwksHits.Load())

	// A second later the issuer is up: the first request fetches and is accepted.
	clock.Advance(time.Millisecond)
	is.down.Store(false)
	at, err := v.VerifyToken(ctx, noKID)
	require.NoError(t, err)
	require.Equal(t, "alice", at.Subject)
	require.Equal(t, int64(3), is.jwksHits.Load())
	_, err = v.VerifyToken(ctx, tok)
	require.NoError(t, err)

	// Keys are known now: unknown kids are limited by UnknownKIDRefreshInterval again.
	bad := unknownKIDToken(t, clock, is, "nobody")
	for range 3 {
		clock.Advance(time.Second)
		_, err = v.VerifyToken(ctx, bad)
		requireInvalid(t, err, "unknown signing key")
	}
	require.Equal(t, int64(4), is.jwksHits.Load())
}

// A request does not wait on a fetch that another request started for longer than
// HTTPTimeout.
func TestJWKSWaitForInflightFetchIsBounded(t *testing.T) {
	clock := newTestClock()
	is := newIssuerServer(t)
	cfg := is.config(clock)
	cfg.Keys = JWKS{URI: is.iss.JWKSURI(), HTTPTimeout: 200 * time.Millisecond}
	v := newVerifierT(t, cfg)
	release := make(chan struct{})
	defer close(release)
	is.hang.Store(&release)
	drain := func() {
		for len(is.fetched) > 0 {
			<-is.fetched
		}
	}
	drain()
	bad := unknownKIDToken(t, clock, is, "nobody")
	first := make(chan error, 1)
	go func() {
		_, err := v.VerifyToken(context.Background(), bad)
		first <- err
	}()
	<-is.fetched // the first request's fetch is running
	start := time.Now()
	_, err := v.VerifyToken(context.Background(), bad)
	requireInvalid(t, err, "unknown signing key")
	require.Less(t, time.Since(start), 5*time.Second)
	requireInvalid(t, <-first, "unknown signing key")
}
