package introspect

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/testutil"
	"github.com/stretchr/testify/require"
)

const (
	testResource = "https://mcp.example.com/notes/mcp"
	otherRes     = "https://mcp.example.com/admin/mcp"
	basicID      = "rs-basic"
	basicSecret  = "s3cr:t/with+special&chars=%" // exercises RFC 6749 §2.3.1 encoding
	postID       = "rs-post"
	postSecret   = "post-secret"
)

// discardLogger drops the verifier's upstream failure logs.
var discardLogger = slog.New(slog.DiscardHandler)

// testClock is an injectable clock.
type testClock = testutil.Clock

func newTestClock() *testClock { return testutil.NewClock(time.Now().Truncate(time.Second)) }

// seenRequest is what the fake recorded of an introspection request.
type seenRequest struct {
	method, contentType, accept, query string
	authMethod, clientID               string
	token, hint                        string
	form                               url.Values
}

// fakeAS is an RFC 7662 introspection endpoint on loopback, modelled on the behaviour of
// real authorization servers (node-oidc-provider, Keycloak, Hydra): POST only, form body,
// client authentication by Basic header (RFC 6749 §2.3.1 encoding) or body, 401 with
// WWW-Authenticate and an invalid_client JSON error for bad credentials, 400
// invalid_request for a missing token, {"active":false} for anything unknown, revoked or
// expired, and Cache-Control: no-store. It counts the requests it answers.
type fakeAS struct {
	t     testing.TB
	srv   *httptest.Server
	clock *testClock

	mu      sync.Mutex
	tokens  map[string]map[string]any // token -> members of its active response
	clients map[string][2]string      // client id -> {secret, auth method}
	last    seenRequest

	calls    atomic.Int64
	override atomic.Pointer[http.HandlerFunc] // when set, answers instead of the fake
	gate     atomic.Pointer[chan struct{}]    // when set, requests wait for it to close
	lagging  atomic.Bool                      // the server's clock lags: it never sees expiry
}

func newFakeAS(t testing.TB, clock *testClock) *fakeAS {
	t.Helper()
	f := &fakeAS{
		t:      t,
		clock:  clock,
		tokens: map[string]map[string]any{},
		clients: map[string][2]string{
			basicID: {basicSecret, AuthMethodClientSecretBasic},
			postID:  {postSecret, AuthMethodClientSecretPost},
		},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAS) url() string { return f.srv.URL + "/oauth2/introspect" }

// issue registers an active token: client_id, scope, aud (the test resource), iss, iat
// and exp (10 minutes from the clock) unless members overrides them (nil deletes).
func (f *fakeAS) issue(token string, members map[string]any) {
	now := f.clock.Now()
	m := map[string]any{
		"client_id":  "mcp-client",
		"sub":        "alice",
		"scope":      "notes:read notes:write",
		"aud":        testResource,
		"iss":        "https://as.example.com",
		"iat":        now.Unix(),
		"exp":        now.Add(10 * time.Minute).Unix(),
		"token_type": "Bearer",
	}
	for k, v := range members {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	f.mu.Lock()
	f.tokens[token] = m
	f.mu.Unlock()
}

func (f *fakeAS) revoke(token string) {
	f.mu.Lock()
	delete(f.tokens, token)
	f.mu.Unlock()
}

func (f *fakeAS) lastRequest() seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// answer installs a handler that replaces the fake's behaviour (nil restores it).
func (f *fakeAS) answer(h http.HandlerFunc) {
	if h == nil {
		f.override.Store(nil)
		return
	}
	f.override.Store(&h)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeAS) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/oauth2/introspect" {
		http.NotFound(w, r)
		return
	}
	f.calls.Add(1)
	if g := f.gate.Load(); g != nil {
		select {
		case <-*g:
		case <-r.Context().Done():
			return
		}
	}
	if h := f.override.Load(); h != nil {
		(*h)(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "invalid_request", "error_description": "only POST is supported"})
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "only application/x-www-form-urlencoded bodies are supported"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "malformed body"})
		return
	}
	seen := seenRequest{
		method:      r.Method,
		contentType: r.Header.Get("Content-Type"),
		accept:      r.Header.Get("Accept"),
		query:       r.URL.RawQuery,
		token:       r.PostForm.Get("token"),
		hint:        r.PostForm.Get("token_type_hint"),
		form:        r.PostForm,
	}

	// Client authentication: exactly one method (RFC 6749 §2.3).
	var id, secret string
	basic := r.Header.Get("Authorization")
	_, inBody := r.PostForm["client_id"]
	switch {
	case basic != "" && inBody:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "client authentication must only be provided using one mechanism"})
		return
	case basic != "":
		seen.authMethod = AuthMethodClientSecretBasic
		raw, ok := strings.CutPrefix(basic, "Basic ")
		dec, err := base64.StdEncoding.DecodeString(raw)
		user, pass, found := strings.Cut(string(dec), ":")
		var err1, err2 error
		id, err1 = url.QueryUnescape(user)
		secret, err2 = url.QueryUnescape(pass)
		if !ok || err != nil || !found || err1 != nil || err2 != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "invalid authorization header value format"})
			return
		}
	case inBody:
		seen.authMethod = AuthMethodClientSecretPost
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	seen.clientID = id
	f.mu.Lock()
	f.last = seen
	client, known := f.clients[id]
	f.mu.Unlock()
	if !known || client[0] != secret || client[1] != seen.authMethod {
		w.Header().Set("WWW-Authenticate", `Basic realm="fake-as", error="invalid_client", error_description="client authentication failed"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "client authentication failed"})
		return
	}
	if seen.token == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "missing required parameter 'token'"})
		return
	}

	f.mu.Lock()
	m, ok := f.tokens[seen.token]
	if ok {
		m = maps.Clone(m)
	}
	f.mu.Unlock()
	// An expired token is inactive for the server too.
	if exp, isNum := m["exp"].(int64); ok && isNum && !f.lagging.Load() && !f.clock.Now().Before(time.Unix(exp, 0)) {
		ok = false
	}
	if !ok {
		writeJSON(w, http.StatusOK, map[string]any{"active": false})
		return
	}
	m["active"] = true
	writeJSON(w, http.StatusOK, m)
}

// config returns a Config for the fake with client_secret_basic and the test clock.
func (f *fakeAS) config() Config {
	return Config{
		IntrospectionURL: f.url(),
		ClientID:         basicID,
		ClientSecret:     mcpauth.NewSecret(basicSecret),
		Audience:         []string{testResource},
		Now:              f.clock.Now,
		Logger:           discardLogger,
	}
}

func newVerifierT(t testing.TB, cfg Config) *Verifier {
	t.Helper()
	v, err := New(cfg)
	require.NoError(t, err)
	return v
}

// requireInvalid asserts an invalid_token error (401) whose description is want.
func requireInvalid(t testing.TB, err error, want string) {
	t.Helper()
	require.Error(t, err)
	require.Truef(t, errors.Is(err, mcpauth.ErrInvalidToken), "want invalid_token, got %v", err)
	require.False(t, errors.Is(err, mcpauth.ErrUpstreamUnavailable))
	var me *mcpauth.Error
	require.True(t, errors.As(err, &me))
	require.Equal(t, http.StatusUnauthorized, me.Status)
	require.Equal(t, want, me.Description)
}

// requireUnavailable asserts a temporarily_unavailable error (503) whose description
// contains want, with the given RetryAfter.
func requireUnavailable(t testing.TB, err error, want string, retry time.Duration) *mcpauth.Error {
	t.Helper()
	require.Error(t, err)
	require.Truef(t, errors.Is(err, mcpauth.ErrUpstreamUnavailable), "want temporarily_unavailable, got %v", err)
	require.False(t, errors.Is(err, mcpauth.ErrInvalidToken))
	var me *mcpauth.Error
	require.True(t, errors.As(err, &me))
	require.Equal(t, http.StatusServiceUnavailable, me.Status)
	require.Equal(t, mcpauth.CodeTemporarilyUnavailable, me.Code)
	require.Containsf(t, me.Description, want, "description %q", me.Description)
	require.Equal(t, retry, me.RetryAfter)
	return me
}
