package workos

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/testutil"
)

func newProxy(t *testing.T, ak *fakeAuthKit, clock *testClock) *MetadataProxy {
	t.Helper()
	cfg := ak.config(clock)
	cfg.HTTPTimeout = 2 * time.Second
	p, err := cfg.MetadataHandler()
	require.NoError(t, err)
	return p
}

// serve asks the proxy for the document like a client would.
func serve(p http.Handler, method string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest(method, "/.well-known/oauth-authorization-server", nil))
	return rec
}

func TestMetadataProxyCaching(t *testing.T) {
	clock := newTestClock()
	ak := newFakeAuthKit(t)
	p := newProxy(t, ak, clock)
	require.Equal(t, ak.issuer, p.Issuer())

	// A cold start under concurrency costs one fetch.
	const n = 200
	var wg sync.WaitGroup
	bodies := make([]string, n)
	codes := make([]int, n)
	for i := range n {
		wg.Go(func() {
			rec := serve(p, http.MethodGet)
			codes[i], bodies[i] = rec.Code, rec.Body.String()
		})
	}
	wg.Wait()
	for i := range n {
		require.Equal(t, http.StatusOK, codes[i])
		require.JSONEq(t, string(ak.document()), bodies[i])
	}
	require.Equal(t, int64(1), ak.mdHits.Load())
	require.Equal(t, int64(1), p.Fetches())

	rec := serve(p, http.MethodGet)
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	require.Equal(t, "public, max-age=300", rec.Header().Get("Cache-Control"))
	require.Equal(t, "*", rec.Header().Get("Access-Control-Allow-Origin"))
	var doc map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	require.Equal(t, []any{"S256"}, doc["code_challenge_methods_supported"])
	require.Equal(t, ak.issuer+"/oauth2/register", doc["registration_endpoint"])

	// max-age=300: fresh until then, with a decreasing max-age for downstream caches.
	clock.Advance(299 * time.Second)
	rec = serve(p, http.MethodGet)
	require.Equal(t, "public, max-age=1", rec.Header().Get("Cache-Control"))
	require.Equal(t, int64(1), ak.mdHits.Load())

	clock.Advance(time.Second)
	ak.setMetadata(0, nil, "max-age=7200")
	require.Equal(t, http.StatusOK, serve(p, http.MethodGet).Code)
	require.Equal(t, int64(2), ak.mdHits.Load())
	clock.Advance(7199 * time.Second)
	serve(p, http.MethodGet)
	require.Equal(t, int64(2), ak.mdHits.Load())
	clock.Advance(time.Second)
	serve(p, http.MethodGet)
	require.Equal(t, int64(3), ak.mdHits.Load())

	// HEAD: the headers without the body, from the cache.
	rec = serve(p, http.MethodHead)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Empty(t, rec.Body.Bytes())
	require.Equal(t, int64(3), ak.mdHits.Load())
}

func TestMetadataProxyStaleOnError(t *testing.T) {
	clock := newTestClock()
	ak := newFakeAuthKit(t)
	p := newProxy(t, ak, clock)
	good := serve(p, http.MethodGet).Body.String()
	require.Equal(t, int64(1), ak.mdHits.Load())

	// WorkOS goes down after the copy expired: the last good copy is served, with
	// max-age=0, after one failed attempt.
	ak.setMetadata(http.StatusInternalServerError, nil, "")
	clock.Advance(301 * time.Second)
	for range 50 {
		rec := serve(p, http.MethodGet)
		require.Equal(t, http.StatusOK, rec.Code)
		require.Equal(t, good, rec.Body.String())
		require.Equal(t, "public, max-age=0", rec.Header().Get("Cache-Control"))
	}
	require.Equal(t, int64(2), ak.mdHits.Load(), "one attempt, then no fetch until the retry interval passed")

	clock.Advance(MetadataRetryInterval - time.Second)
	serve(p, http.MethodGet)
	require.Equal(t, int64(2), ak.mdHits.Load())
	clock.Advance(time.Second)
	require.Equal(t, good, serve(p, http.MethodGet).Body.String())
	require.Equal(t, int64(3), ak.mdHits.Load())

	// Other failures are failures too: garbage, a document of another issuer.
	clock.Advance(MetadataRetryInterval)
	ak.setMetadata(0, []byte(`<html>maintenance</html>`), "max-age=60")
	require.Equal(t, good, serve(p, http.MethodGet).Body.String())
	require.Equal(t, int64(4), ak.mdHits.Load())
	clock.Advance(MetadataRetryInterval)
	ak.setMetadata(0, []byte(`{"issuer":"https://evil.authkit.app","authorization_endpoint":"https://evil.authkit.app/oauth2/authorize"}`), "max-age=60")
	require.Equal(t, good, serve(p, http.MethodGet).Body.String())
	require.Equal(t, int64(5), ak.mdHits.Load())

	// WorkOS is back: the next due fetch replaces the copy.
	clock.Advance(MetadataRetryInterval)
	ak.setMetadata(0, nil, "max-age=600")
	rec := serve(p, http.MethodGet)
	require.Equal(t, "public, max-age=600", rec.Header().Get("Cache-Control"))
	require.Equal(t, int64(6), ak.mdHits.Load())
}

func TestMetadataProxyNeverFetched(t *testing.T) {
	clock := newTestClock()
	ak := newFakeAuthKit(t)
	ak.setMetadata(http.StatusServiceUnavailable, nil, "")
	p := newProxy(t, ak, clock)

	rec := serve(p, http.MethodGet)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Equal(t, "10", rec.Header().Get("Retry-After"))
	require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	var body map[string]string
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	require.Equal(t, "temporarily_unavailable", body["error"])

	_, _, err := p.Document(context.Background())
	var ue *MetadataUnavailableError
	require.True(t, errors.As(err, &ue))
	require.Equal(t, MetadataRetryInterval, ue.RetryAfter)

	clock.Advance(4 * time.Second)
	rec = serve(p, http.MethodGet)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Equal(t, "6", rec.Header().Get("Retry-After"))
	require.Equal(t, int64(1), ak.mdHits.Load(), "no fetch during the retry interval")

	clock.Advance(6 * time.Second)
	ak.setMetadata(0, nil, "max-age=300")
	require.Equal(t, http.StatusOK, serve(p, http.MethodGet).Code)
	require.Equal(t, int64(2), ak.mdHits.Load())
}

func TestMetadataProxyTimeout(t *testing.T) {
	clock := newTestClock()
	ak := newFakeAuthKit(t)
	cfg := ak.config(clock)
	cfg.HTTPTimeout = 50 * time.Millisecond
	p, err := cfg.MetadataHandler()
	require.NoError(t, err)
	require.NoError(t, p.Refresh(context.Background()))
	good := serve(p, http.MethodGet).Body.String()

	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	ak.mu.Lock()
	ak.hang = hang
	ak.mu.Unlock()
	clock.Advance(time.Hour)
	rec := serve(p, http.MethodGet)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, good, rec.Body.String())
	require.Error(t, p.Refresh(context.Background()))
}

func TestMetadataProxyRefreshAndMethods(t *testing.T) {
	clock := newTestClock()
	ak := newFakeAuthKit(t)
	p := newProxy(t, ak, clock)
	require.NoError(t, p.Refresh(context.Background()))
	require.NoError(t, p.Refresh(context.Background()))
	require.Equal(t, int64(2), ak.mdHits.Load(), "Refresh fetches even when fresh")

	rec := serve(p, http.MethodPost)
	require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	require.Equal(t, "GET, HEAD, OPTIONS", rec.Header().Get("Allow"))

	rec = serve(p, http.MethodOptions)
	require.Equal(t, http.StatusNoContent, rec.Code)
	require.Equal(t, "*", rec.Header().Get("Access-Control-Allow-Origin"))
	require.Contains(t, rec.Header().Get("Access-Control-Allow-Methods"), "GET")
	require.Equal(t, int64(2), ak.mdHits.Load())

	// A client giving up does not fail the shared fetch or the proxy.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	clock.Advance(time.Hour)
	req := httptest.NewRequest(http.MethodGet, "/.well-known/oauth-authorization-server", nil).WithContext(ctx)
	rr := httptest.NewRecorder()
	p.ServeHTTP(rr, req)
	require.Equal(t, http.StatusOK, rr.Code, "a stale copy is served to a cancelled request")
	body, _ := io.ReadAll(rr.Body)
	require.NotEmpty(t, body)
}

func TestMetadataTTL(t *testing.T) {
	cases := []struct {
		cc, age string
		want    time.Duration
	}{
		{"", "", DefaultMetadataTTL},
		{"public", "", DefaultMetadataTTL},
		{"public, max-age=300", "", 300 * time.Second},
		{"max-age=\"120\"", "", 120 * time.Second},
		{"max-age=300", "100", 200 * time.Second},
		{"max-age=300", "1000", MinMetadataTTL},
		{"max-age=5", "", MinMetadataTTL},
		{"max-age=0", "", MinMetadataTTL},
		{"no-store", "", MinMetadataTTL},
		{"no-cache, max-age=600", "", MinMetadataTTL},
		{"max-age=999999999", "", MaxMetadataTTL},
		{"max-age=abc", "", DefaultMetadataTTL},
		{"MAX-AGE=90", "", 90 * time.Second},
	}
	for _, tc := range cases {
		h := http.Header{}
		if tc.cc != "" {
			h.Set("Cache-Control", tc.cc)
		}
		if tc.age != "" {
			h.Set("Age", tc.age)
		}
		require.Equal(t, tc.want, metadataTTL(h, time.Now()), "Cache-Control %q Age %q", tc.cc, tc.age)
	}
	// Expires without Date is measured from the configured clock, not the wall clock.
	now := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	h := http.Header{"Expires": {now.Add(10 * time.Minute).Format(http.TimeFormat)}}
	require.Equal(t, 10*time.Minute, metadataTTL(h, now))
}

// Failed fetches, of the metadata and of the key set, are warnings on Config.Logger,
// without a token or the API key.
func TestFailuresLogged(t *testing.T) {
	clock := newTestClock()
	ak := newFakeAuthKit(t)
	logger, logs := testutil.NewLogger()
	cfg := ak.config(clock)
	cfg.APIKey = mcpauth.NewSecret("sk_test_the_api_key")
	cfg.Audience = []string{"https://mcp.example.com/mcp"}
	cfg.Logger = logger

	// The metadata: the first failure, then the stale copy with a second failure.
	p, err := cfg.MetadataHandler()
	require.NoError(t, err)
	ak.setMetadata(http.StatusInternalServerError, nil, "")
	require.Error(t, p.Refresh(context.Background()))
	ak.setMetadata(0, nil, "max-age=60")
	require.NoError(t, p.Refresh(context.Background()))
	ak.setMetadata(http.StatusServiceUnavailable, nil, "")
	require.Error(t, p.Refresh(context.Background()))
	prefix := `level=WARN msg="workos: fetching the AuthKit authorization server metadata failed" url=` + ak.issuer + `/.well-known/oauth-authorization-server `
	require.Equal(t, []string{
		prefix + `error="AuthKit answered HTTP 500" serving_stale_copy=false`,
		prefix + `error="AuthKit answered HTTP 503" serving_stale_copy=true`,
	}, logs.Lines())

	// The key set, through the AuthKit verifier.
	ak.jwksDown.Store(true)
	v, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	token := ak.sign(t, ak.claims(clock, "https://mcp.example.com/mcp"))
	_, err = v.VerifyToken(context.Background(), token)
	require.ErrorIs(t, err, mcpauth.ErrUpstreamUnavailable)
	jwks := `level=WARN msg="bearer: JWKS fetch failed" jwks_uri=` + ak.issuer + `/oauth2/jwks error="invalid HTTP status code: 503"`
	require.Equal(t, []string{jwks, jwks}, logs.Lines()[2:])
	require.NotContains(t, logs.String(), token)
	require.NotContains(t, logs.String(), "sk_test_the_api_key")
}
