package bearer

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/testutil"
	"github.com/stretchr/testify/require"
)

const testAudience = "https://mcp.example.com/notes"

// testClock is an injectable clock.
type testClock = testutil.Clock

func newTestClock() *testClock { return testutil.NewClock(time.Now().Truncate(time.Second)) }

// issuerServer is a testIssuer served on loopback, counting JWKS requests.
type issuerServer struct {
	iss      *testIssuer
	srv      *httptest.Server
	jwksHits atomic.Int64
	down     atomic.Bool   // answer the JWKS with 503
	fetched  chan struct{} // receives one value per JWKS request (when there is room)
	override atomic.Pointer[[]byte]
	hang     atomic.Pointer[chan struct{}] // when set, JWKS requests wait for it to close
}

func newIssuerServer(t testing.TB) *issuerServer {
	t.Helper()
	is := &issuerServer{fetched: make(chan struct{}, 64)}
	srv := httptest.NewUnstartedServer(nil)
	iss, err := newTestIssuer("http://" + srv.Listener.Addr().String())
	require.NoError(t, err)
	is.iss = iss
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/jwks.json" {
			is.jwksHits.Add(1)
			select {
			case is.fetched <- struct{}{}:
			default:
			}
			if ch := is.hang.Load(); ch != nil {
				select {
				case <-*ch:
				case <-r.Context().Done():
				}
			}
			if is.down.Load() {
				http.Error(w, "unavailable", http.StatusServiceUnavailable)
				return
			}
			if b := is.override.Load(); b != nil {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(*b)
				return
			}
		}
		iss.Handler().ServeHTTP(w, r)
	})
	srv.Start()
	is.srv = srv
	t.Cleanup(srv.Close)
	return is
}

// config returns a Config trusting the issuer's JWKS with a test clock.
func (is *issuerServer) config(clock *testClock) Config {
	cfg := is.iss.VerifierConfig(testAudience)
	cfg.Now = clock.Now
	return cfg
}

func newVerifierT(t testing.TB, cfg Config) *Verifier {
	t.Helper()
	v, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	return v
}

// claimsAt returns claims for alice issued at the clock's time, audience testAudience.
func claimsAt(clock *testClock) *Claims {
	return NewClaims("alice").IssuedAt(clock.Now()).WithAudience(testAudience)
}

func mustSign(t testing.TB, iss *testIssuer, c *Claims) string {
	t.Helper()
	tok, err := iss.Sign(c)
	require.NoError(t, err)
	return tok
}

// seg base64url-encodes raw bytes.
func seg(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// jsonSeg encodes v as a JSON segment.
func jsonSeg(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return seg(b)
}

// signRaw builds a JWS with an arbitrary header and payload, signed by method and key.
func signRaw(t testing.TB, method jwt.SigningMethod, key any, header map[string]any, payload any) string {
	t.Helper()
	if header == nil {
		header = map[string]any{}
	}
	if _, ok := header["alg"]; !ok {
		header["alg"] = method.Alg()
	}
	input := jsonSeg(t, header) + "." + jsonSeg(t, payload)
	sig, err := method.Sign(input, key)
	require.NoError(t, err)
	return input + "." + seg(sig)
}

// devSign signs arbitrary header fields and payload with the issuer's current key.
func devSign(t testing.TB, iss *testIssuer, method jwt.SigningMethod, header map[string]any, payload any) string {
	t.Helper()
	k := iss.Current()
	h := map[string]any{"kid": k.KID, "typ": "at+jwt"}
	for name, v := range header {
		if v == nil {
			delete(h, name)
			continue
		}
		h[name] = v
	}
	return signRaw(t, method, k.Private, h, payload)
}

func currentKID(iss *testIssuer) string { return iss.Current().KID }

// requireInvalid asserts an invalid_token error whose description contains want.
func requireInvalid(t testing.TB, err error, want string) {
	t.Helper()
	require.Error(t, err)
	require.Truef(t, errors.Is(err, mcpauth.ErrInvalidToken), "want invalid_token, got %v", err)
	var me *mcpauth.Error
	require.True(t, errors.As(err, &me))
	require.Equal(t, 401, me.Status)
	require.Containsf(t, me.Description, want, "description %q", me.Description)
}

// countingSource counts key lookups.
type countingSource struct {
	keySource
	calls atomic.Int64
}

func (c *countingSource) key(ctx context.Context, kid string, hasKID bool, alg string) (any, error) {
	c.calls.Add(1)
	return c.keySource.key(ctx, kid, hasKID, alg)
}

func replaceSegment(tok string, i int, s string) string {
	parts := strings.Split(tok, ".")
	parts[i] = s
	return strings.Join(parts, ".")
}
