package hub_test

// Fault tests: the JWKS endpoint misbehaving, key rotation under traffic, and the cache
// collapsing concurrent misses, all through the hub on real loopback servers. No sleeps:
// clocks are injected, and every wait is on an event.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/audit"
	"github.com/mcpauth/mcpauth/hub"
	"github.com/mcpauth/mcpauth/mcpauthtest"
	"github.com/mcpauth/mcpauth/providers/bearer"
	"github.com/mcpauth/mcpauth/scopes"
)

type jwksMode int32

const (
	jwksOK jwksMode = iota
	jwksDown
	jwksSlow
	jwks500
	jwksGarbage
	jwksEmpty
)

// faultyJWKS serves a development issuer's JWKS, or misbehaves as told, and counts the
// JWKS requests it receives.
type faultyJWKS struct {
	mode     atomic.Int32
	requests atomic.Int64
	release  chan struct{} // closed at cleanup: frees requests held by jwksSlow
	srv      *httptest.Server
	dev      *mcpauthtest.DevIssuer
}

func newFaultyJWKS(t *testing.T) *faultyJWKS {
	t.Helper()
	f := &faultyJWKS{release: make(chan struct{})}
	f.srv = httptest.NewUnstartedServer(nil)
	f.srv.Start()
	dev, err := mcpauthtest.NewDevIssuer(f.srv.URL)
	require.NoError(t, err)
	f.dev = dev
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/jwks.json") {
			f.requests.Add(1)
		}
		// No keep-alive: a dropped connection is then never retried by the client's
		// transport, so each refresh attempt is exactly one request here.
		w.Header().Set("Connection", "close")
		switch jwksMode(f.mode.Load()) {
		case jwksDown:
			hj, ok := w.(http.Hijacker)
			if !ok {
				panic("no hijacker")
			}
			conn, _, err := hj.Hijack()
			if err == nil {
				conn.Close()
			}
			return
		case jwksSlow:
			select {
			case <-f.release:
			case <-r.Context().Done():
			}
			return
		case jwks500:
			http.Error(w, `{"error":"internal"}`, http.StatusInternalServerError)
			return
		case jwksGarbage:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"keys": [ this is not json`))
			return
		case jwksEmpty:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"keys":[]}`))
			return
		}
		dev.Handler().ServeHTTP(w, r)
	})
	t.Cleanup(func() {
		close(f.release)
		f.srv.Close()
	})
	return f
}

// faultHub is a hub whose only service verifies against the faulty JWKS, with the token
// cache off so that every request reaches the verifier.
type faultHub struct {
	hub     *hub.Hub
	srv     *httptest.Server
	jwks    *faultyJWKS
	clock   *testClock
	foreign *mcpauthtest.DevIssuer
}

// testClock is the real time shifted by what the test advanced it by: tokens minted with
// the real clock stay valid, and the refresh rate limit moves only when told.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

const jwksTimeout = 300 * time.Millisecond

func newFaultHub(t *testing.T) *faultHub {
	t.Helper()
	jwks := newFaultyJWKS(t)
	clock := &testClock{}
	cfg := jwks.dev.VerifierConfig()
	cfg.Keys = bearer.JWKS{URI: jwks.dev.JWKSURI(), HTTPTimeout: jwksTimeout, UnknownKIDRefreshInterval: time.Minute, RefreshInterval: time.Hour}
	cfg.Now = clock.Now
	factory, err := bearer.NewFactory(cfg)
	require.NoError(t, err)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	h, err := hub.New(hub.Config{BaseURL: srv.URL, VerifierFor: factory, DisableCache: true, Audit: audit.Discard})
	require.NoError(t, err)
	require.NoError(t, h.Mount("notes", notesServer(&notesStore{notes: map[string][]string{}})))
	mux.Handle("/", h)
	return &faultHub{hub: h, srv: srv, jwks: jwks, clock: clock}
}

// client bounds every request: a request still running after 20 JWKS timeouts has hung.
var boundedClient = &http.Client{Timeout: 20 * jwksTimeout}

func (f *faultHub) initialize(t *testing.T, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.hub.ResourceURL("notes"), strings.NewReader(
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"f","version":"1"}}}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := boundedClient.Do(req)
	require.NoError(t, err, "no request may hang past the JWKS timeout")
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
}

func (f *faultHub) token(t *testing.T, sub string) string {
	t.Helper()
	tok, err := f.jwks.dev.Mint(sub, f.hub.ResourceURL("notes"), "notes:read")
	require.NoError(t, err)
	return tok
}

// foreignToken is signed by a key the JWKS never published (unknown kid), with the
// right issuer and audience.
func (f *faultHub) foreignToken(t *testing.T, sub string) string {
	t.Helper()
	if f.foreign == nil {
		other, err := mcpauthtest.NewDevIssuer(f.jwks.dev.Issuer())
		require.NoError(t, err)
		f.foreign = other
	}
	tok, err := f.foreign.Mint(sub, f.hub.ResourceURL("notes"), "notes:read")
	require.NoError(t, err)
	return tok
}

func TestJWKSFaults(t *testing.T) {
	for name, mode := range map[string]jwksMode{
		"down": jwksDown, "slow past the timeout": jwksSlow, "500": jwks500,
		"garbage": jwksGarbage, "empty set": jwksEmpty,
	} {
		t.Run(name, func(t *testing.T) {
			f := newFaultHub(t)
			status, _ := f.initialize(t, f.token(t, "warmup"))
			require.Equal(t, http.StatusOK, status)
			require.EqualValues(t, 1, f.jwks.requests.Load(), "one fetch at startup")

			f.jwks.mode.Store(int32(mode))

			// A flood of unknown-kid tokens costs at most one refresh per interval and
			// each is refused with 401, never held.
			for i := range 100 {
				status, challenge := f.initialize(t, f.foreignToken(t, fmt.Sprint("attacker-", i)))
				require.Equal(t, http.StatusUnauthorized, status)
				require.Contains(t, challenge, `error="invalid_token"`)
				require.Contains(t, challenge, "unknown signing key")
			}
			assert.EqualValues(t, 2, f.jwks.requests.Load(), "unknown kids refresh at most once per interval")

			// Known keys keep verifying throughout.
			for i := range 20 {
				status, _ := f.initialize(t, f.token(t, fmt.Sprint("user-", i)))
				require.Equal(t, http.StatusOK, status)
			}

			// After the interval, one more refresh is allowed; it fails too, and the
			// known keys still verify.
			f.clock.Advance(time.Minute)
			status, _ = f.initialize(t, f.foreignToken(t, "late"))
			assert.Equal(t, http.StatusUnauthorized, status)
			assert.EqualValues(t, 3, f.jwks.requests.Load())
			status, _ = f.initialize(t, f.token(t, "after"))
			assert.Equal(t, http.StatusOK, status)
		})
	}
}

func TestJWKSConcurrentUnknownKIDFlood(t *testing.T) {
	f := newFaultHub(t)
	status, _ := f.initialize(t, f.token(t, "warmup"))
	require.Equal(t, http.StatusOK, status)
	f.jwks.mode.Store(int32(jwksSlow))
	bad := f.foreignToken(t, "attacker")
	var wg sync.WaitGroup
	var refused atomic.Int64
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if status, _ := f.initialize(t, bad); status == http.StatusUnauthorized {
				refused.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.EqualValues(t, 64, refused.Load())
	assert.EqualValues(t, 2, f.jwks.requests.Load(), "64 concurrent unknown-kid requests share one refresh")
}

func TestKeyRotationUnderTraffic(t *testing.T) {
	f := newFaultHub(t)
	oldTok := f.token(t, "old")
	status, _ := f.initialize(t, oldTok)
	require.Equal(t, http.StatusOK, status)

	require.NoError(t, f.jwks.dev.Rotate())
	newTok := f.token(t, "new")

	// Old-key and new-key tokens in parallel: none may fail during the switch.
	var wg sync.WaitGroup
	var failures atomic.Int64
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 10 {
				tok := oldTok
				if (i+j)%2 == 0 {
					tok = newTok
				}
				if status, _ := f.initialize(t, tok); status != http.StatusOK {
					failures.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	assert.Zero(t, failures.Load(), "no valid request fails during a key rotation")
	assert.EqualValues(t, 2, f.jwks.requests.Load(), "the new key is picked up by exactly one refresh")
}

// countingVerifier counts the verifications that reach the wrapped verifier and holds
// each until released.
type countingVerifier struct {
	next  mcpauth.TokenVerifier
	calls atomic.Int64
	gate  chan struct{}
}

func (c *countingVerifier) VerifyToken(ctx context.Context, tok string) (*mcpauth.AccessToken, error) {
	c.calls.Add(1)
	<-c.gate
	return c.next.VerifyToken(ctx, tok)
}

func TestConcurrentIdenticalTokensVerifiedOnce(t *testing.T) {
	dev, err := mcpauthtest.NewDevIssuer("https://issuer.example")
	require.NoError(t, err)
	cfg := dev.VerifierConfig("https://hub.example/notes/mcp")
	cfg.Keys = bearer.StaticKeys(dev.PublicKey())
	v, err := bearer.New(cfg)
	require.NoError(t, err)
	counting := &countingVerifier{next: v, gate: make(chan struct{})}
	cache := mcpauth.Cached(counting)

	h, err := hub.New(hub.Config{BaseURL: "https://hub.example", Audit: audit.Discard})
	require.NoError(t, err)
	require.NoError(t, h.Mount("notes", notesServer(&notesStore{notes: map[string][]string{}}), hub.WithVerifier(cache),
		hub.WithRequiredScopes(scopes.All("notes:read"))))
	tok, err := dev.Mint("alice", "https://hub.example/notes/mcp", "notes:read")
	require.NoError(t, err)

	const n = 1000
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := httptest.NewRequest(http.MethodPost, "https://hub.example/notes/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
			r.Header.Set("Authorization", "Bearer "+tok)
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Accept", "application/json, text/event-stream")
			r.Header.Set("Mcp-Protocol-Version", "2025-06-18")
			r.RemoteAddr = net.JoinHostPort("127.0.0.1", "1")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			statuses <- w.Code
		}()
	}
	// Release the verification once every request has missed the cache and joined it.
	for cache.Stats().Misses < n {
		runtime.Gosched()
	}
	close(counting.gate)
	wg.Wait()
	close(statuses)
	for s := range statuses {
		// Stateless tools/list without a session: mcp-go answers 400 for a missing
		// session; what matters here is that auth let every request through.
		require.NotEqual(t, http.StatusUnauthorized, s)
		require.NotEqual(t, http.StatusForbidden, s)
	}
	assert.EqualValues(t, 1, counting.calls.Load(), "1,000 concurrent requests with one token: one verification")
}
