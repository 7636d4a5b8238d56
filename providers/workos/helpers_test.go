package workos

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/testutil"
	"github.com/mcpauth/mcpauth/mcpauthtest"
	"github.com/mcpauth/mcpauth/providers/bearer"
	"github.com/stretchr/testify/require"
)

const (
	notesResource = "https://mcp.example.com/notes/mcp"
	adminResource = "https://mcp.example.com/admin/mcp"
	orgAcme       = "org_01EHQMYV6MBK39QC5PZXHY59C3"
	orgGlobex     = "org_01HRDMC6CM357W30QMHMQ96Q0S"
	userAlice     = "user_01HBEQKA6K4QJAS93VPE39W1JT"
)

// testClock is an injectable clock.
type testClock = testutil.Clock

func newTestClock() *testClock { return testutil.NewClock(time.Now().Truncate(time.Second)) }

// fakeAuthKit serves what an AuthKit domain serves to a resource server: its key set at
// /oauth2/jwks and its RFC 8414 metadata at /.well-known/oauth-authorization-server,
// with the issuer "http://127.0.0.1:<port>" (no trailing slash, as AuthKit writes it).
type fakeAuthKit struct {
	srv    *httptest.Server
	dev    *mcpauthtest.DevIssuer
	issuer string

	jwksHits atomic.Int64
	mdHits   atomic.Int64
	jwksDown atomic.Bool

	mu           sync.Mutex
	mdStatus     int    // 0 means 200
	mdBody       []byte // nil means the realistic document
	cacheControl string
	age          string
	hang         chan struct{} // when non-nil, metadata requests wait for it or their context
}

func newFakeAuthKit(t testing.TB) *fakeAuthKit {
	t.Helper()
	f := &fakeAuthKit{cacheControl: "public, max-age=300"}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.issuer = "http://" + f.srv.Listener.Addr().String()
	dev, err := mcpauthtest.NewDevIssuer(f.issuer)
	require.NoError(t, err)
	f.dev = dev
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	return f
}

// document is a metadata document shaped like the one AuthKit publishes.
func (f *fakeAuthKit) document() []byte {
	iss := f.issuer
	b, _ := json.Marshal(map[string]any{
		"authorization_endpoint":                iss + "/oauth2/authorize",
		"code_challenge_methods_supported":      []string{"S256"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token"},
		"introspection_endpoint":                iss + "/oauth2/introspection",
		"issuer":                                iss,
		"jwks_uri":                              iss + "/oauth2/jwks",
		"registration_endpoint":                 iss + "/oauth2/register",
		"response_modes_supported":              []string{"query"},
		"response_types_supported":              []string{"code"},
		"scopes_supported":                      []string{"email", "offline_access", "openid", "profile"},
		"token_endpoint":                        iss + "/oauth2/token",
		"token_endpoint_auth_methods_supported": []string{"none", "client_secret_post", "client_secret_basic"},
		"userinfo_endpoint":                     iss + "/oauth2/userinfo",
	})
	return b
}

func (f *fakeAuthKit) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/oauth2/jwks":
		f.jwksHits.Add(1)
		if f.jwksDown.Load() {
			writeAPIError(w, http.StatusServiceUnavailable, "Service Unavailable")
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/jwks.json"
		f.dev.Handler().ServeHTTP(w, r2)
	case "/.well-known/oauth-authorization-server":
		f.mdHits.Add(1)
		f.mu.Lock()
		status, body, cc, age, hang := f.mdStatus, f.mdBody, f.cacheControl, f.age, f.hang
		f.mu.Unlock()
		if hang != nil {
			select {
			case <-hang:
			case <-r.Context().Done():
				return
			}
		}
		if status != 0 && status != http.StatusOK {
			writeAPIError(w, status, http.StatusText(status))
			return
		}
		if body == nil {
			body = f.document()
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		if age != "" {
			w.Header().Set("Age", age)
		}
		_, _ = w.Write(body)
	default:
		writeAPIError(w, http.StatusNotFound, "Not Found")
	}
}

func (f *fakeAuthKit) setMetadata(status int, body []byte, cacheControl string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mdStatus, f.mdBody, f.cacheControl = status, body, cacheControl
}

// config returns a Config trusting the fake with the given clock.
func (f *fakeAuthKit) config(clock *testClock) Config {
	return Config{AuthKitDomain: f.issuer, Now: clock.Now}
}

// claims returns AuthKit-shaped access token claims for alice of acme, for resource.
func (f *fakeAuthKit) claims(clock *testClock, resource string) *bearer.Claims {
	return bearer.NewClaims(userAlice).
		IssuedAt(clock.Now()).
		ExpiresIn(5*time.Minute).
		WithAudience(resource).
		AddClaim("org_id", orgAcme).
		AddClaim("sid", "session_01HQSXZGF8FHF7A9ZZFCW4387R").
		AddClaim("role", "member").
		AddClaim("roles", []string{"member"}).
		AddClaim("permissions", []string{"notes:read"}).
		AddClaim("client_id", "client_01JP8BD0CZ401TDF9X54NT5ZEK")
}

func (f *fakeAuthKit) sign(t testing.TB, c *bearer.Claims) string {
	t.Helper()
	tok, err := f.dev.Sign(c)
	require.NoError(t, err)
	return tok
}

// writeAPIError answers like the WorkOS API does: a JSON body with a message, and a
// request ID header.
func writeAPIError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Request-ID", "req_test")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"message": message})
	_, _ = w.Write(b)
}

// fakeAPI is the part of the WorkOS API that the profile verifier uses:
// GET /sso/profile with the SSO access token as bearer token.
type fakeAPI struct {
	t     testing.TB
	srv   *httptest.Server
	calls atomic.Int64

	mu       sync.Mutex
	profiles map[string]map[string]any // by access token
	respond  func(w http.ResponseWriter, r *http.Request) bool
}

func newFakeAPI(t testing.TB) *fakeAPI {
	t.Helper()
	f := &fakeAPI{t: t, profiles: map[string]map[string]any{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/sso/profile" {
		writeAPIError(w, http.StatusNotFound, "Not Found")
		return
	}
	f.calls.Add(1)
	if r.Method != http.MethodGet || r.URL.RawQuery != "" {
		// The verifier must use GET and never put the token in the URL.
		writeAPIError(w, http.StatusBadRequest, "unexpected request")
		return
	}
	f.mu.Lock()
	respond := f.respond
	f.mu.Unlock()
	if respond != nil && respond(w, r) {
		return
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	p, known := f.profiles[token]
	f.mu.Unlock()
	if !ok || !known {
		writeAPIError(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Request-ID", "req_test")
	_ = json.NewEncoder(w).Encode(p)
}

// addProfile registers a profile for token, shaped like the WorkOS Profile object.
func (f *fakeAPI) addProfile(token, id, org string) map[string]any {
	p := map[string]any{
		"object":          "profile",
		"id":              id,
		"organization_id": org,
		"connection_id":   "conn_01E4ZCR3C56J083X43JQXF3JK5",
		"connection_type": "OktaSAML",
		"idp_id":          "00u1a0ufowBJlzPlk357",
		"email":           "todd@example.com",
		"first_name":      "Todd",
		"last_name":       "Rundgren",
		"role":            map[string]any{"slug": "admin"},
		"roles":           []any{map[string]any{"slug": "admin"}},
		"groups":          []any{"Engineering", "Admins"},
		"custom_attributes": map[string]any{
			"department": "Engineering",
		},
		"raw_attributes": map[string]any{"id": "00u1a0ufowBJlzPlk357"},
	}
	if org == "" {
		p["organization_id"] = nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.profiles[token] = p
	return p
}

func (f *fakeAPI) revoke(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.profiles, token)
}

func (f *fakeAPI) setRespond(fn func(w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.respond = fn
}

// requireClass asserts err is an *mcpauth.Error of class want, with status and a
// description containing desc.
func requireClass(t testing.TB, err error, want error, status int, desc string) *mcpauth.Error {
	t.Helper()
	require.Error(t, err)
	require.Truef(t, errors.Is(err, want), "want %s, got %v", mcpauth.AsError(want).Code, err)
	var e *mcpauth.Error
	require.True(t, errors.As(err, &e))
	require.Equal(t, status, e.Status)
	require.Containsf(t, e.Description, desc, "description %q", e.Description)
	return e
}

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

// httptestServer serves h on loopback for the test and returns its URL.
func httptestServer(t testing.TB, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
