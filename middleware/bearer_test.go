package middleware_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/audit"
	"github.com/mcpauth/mcpauth/middleware"
	"github.com/mcpauth/mcpauth/scopes"
)

const prm = "https://mcp.example.com/.well-known/oauth-protected-resource/notes/mcp"

var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// users maps test tokens to the tokens a real verifier would return.
var users = map[string]*mcpauth.AccessToken{
	"alice-token":   {Subject: "alice", Issuer: "iss", TenantID: "acme", Scopes: []string{"notes:read", "notes:write"}, ExpiresAt: now.Add(time.Hour), ID: "jti-alice"},
	"bob-token":     {Subject: "bob", Issuer: "iss", TenantID: "acme", Scopes: []string{"notes:read"}, ExpiresAt: now.Add(time.Hour)},
	"carol-token":   {Subject: "carol", Issuer: "iss", TenantID: "globex", Scopes: []string{"notes:read", "notes:write"}, ExpiresAt: now.Add(time.Hour)},
	"expired-token": {Subject: "dave", Issuer: "iss", Scopes: []string{"notes:read"}, ExpiresAt: now.Add(-time.Second)},
}

var fakeVerifier = mcpauth.TokenVerifierFunc(func(_ context.Context, token string) (*mcpauth.AccessToken, error) {
	if token == "upstream-down" {
		return nil, mcpauth.UpstreamUnavailable("the identity provider is unavailable", 30*time.Second, nil)
	}
	if tok, ok := users[token]; ok {
		return tok, nil
	}
	return nil, mcpauth.InvalidToken("token signature is invalid", nil)
})

type toolTable map[string]scopes.Requirement

func (t toolTable) ToolRequirement(name string) (scopes.Requirement, bool) {
	r, ok := t[name]
	return r, ok
}

var tools = toolTable{
	"whoami":     {},
	"list_notes": scopes.All("notes:read"),
	"add_note":   scopes.All("notes:write"),
}

// recordingSink collects audit events.
type recordingSink struct {
	mu     sync.Mutex
	events []audit.Event
}

func (s *recordingSink) Record(_ context.Context, e audit.Event) {
	s.mu.Lock()
	s.events = append(s.events, e)
	s.mu.Unlock()
}

func (s *recordingSink) all() []audit.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]audit.Event(nil), s.events...)
}

// echo is the protected handler: it reports the subject and the body it received.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	tok := mcpauth.AccessTokenFromContext(r.Context())
	sub := ""
	if tok != nil {
		sub = tok.Subject
	}
	if r.Header.Get("X-Mint-Session") != "" {
		w.Header().Set("Mcp-Session-Id", r.Header.Get("X-Mint-Session"))
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"subject": sub, "body": string(body)})
})

func newHandler(t *testing.T, mod func(*middleware.Config)) (http.Handler, *recordingSink) {
	t.Helper()
	sink := &recordingSink{}
	cfg := middleware.Config{
		Verifier:            fakeVerifier,
		ResourceMetadataURL: prm,
		Tools:               tools,
		Service:             "notes",
		Audit:               sink,
		Sessions:            middleware.NewSessionBinder(0, 0, func() time.Time { return now }),
		Now:                 func() time.Time { return now },
	}
	if mod != nil {
		mod(&cfg)
	}
	mw, err := middleware.NewBearer(cfg)
	require.NoError(t, err)
	return mw(echo), sink
}

func do(h http.Handler, method, target, token, body string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func errorBody(t *testing.T, w *httptest.ResponseRecorder) map[string]string {
	t.Helper()
	var m map[string]string
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &m), w.Body.String())
	return m
}

const callAdd = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add_note","arguments":{"text":"hi"}}}`
const callList = `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_notes"}}`

func TestMissingToken(t *testing.T) {
	h, sink := newHandler(t, func(c *middleware.Config) { c.RequiredScopes = scopes.All("notes:read") })
	w := do(h, "POST", "/notes/mcp", "", callList)
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Equal(t, `Bearer resource_metadata="`+prm+`", scope="notes:read"`, w.Header().Get("WWW-Authenticate"))
	assert.Equal(t, "unauthorized", errorBody(t, w)["error"])
	ev := sink.all()
	require.Len(t, ev, 1)
	assert.Equal(t, audit.AuthFailure, ev[0].Decision)
	assert.Equal(t, "missing_token", ev[0].Reason)

	// Another scheme counts as no bearer token.
	w = do(h, "POST", "/notes/mcp", "", callList, "Authorization", "Basic YWxpY2U6cHc=")
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.NotContains(t, w.Header().Get("WWW-Authenticate"), "error=")
}

func TestInvalidAndExpiredTokens(t *testing.T) {
	h, sink := newHandler(t, nil)
	w := do(h, "POST", "/notes/mcp", "forged", callList)
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Equal(t, `Bearer resource_metadata="`+prm+`", error="invalid_token", error_description="token signature is invalid"`, w.Header().Get("WWW-Authenticate"))
	assert.Equal(t, "invalid_token", errorBody(t, w)["error"])

	// A verifier that does not check expiry is backed up by the middleware.
	w = do(h, "POST", "/notes/mcp", "expired-token", callList)
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Contains(t, w.Header().Get("WWW-Authenticate"), `error_description="token is expired"`)

	// Characters outside RFC 6750's b64token never reach the verifier.
	w = do(h, "POST", "/notes/mcp", "", callList, "Authorization", "Bearer a\"b")
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Contains(t, w.Header().Get("WWW-Authenticate"), `error="invalid_token"`)

	// Oversized token: refused before verification.
	w = do(h, "POST", "/notes/mcp", strings.Repeat("a", middleware.DefaultMaxTokenBytes+1), callList)
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Contains(t, w.Header().Get("WWW-Authenticate"), `error_description="token is too large"`)

	for _, e := range sink.all() {
		assert.Equal(t, audit.AuthFailure, e.Decision)
		assert.NotContains(t, e.TokenRef, "forged")
	}
}

func TestTokenInQueryRefused(t *testing.T) {
	h, _ := newHandler(t, nil)
	w := do(h, "POST", "/notes/mcp?access_token=alice-token", "", callList)
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Equal(t, "invalid_request", errorBody(t, w)["error"])
	// Even alongside a valid header.
	w = do(h, "POST", "/notes/mcp?access_token=alice-token", "alice-token", callList)
	assert.Equal(t, http.StatusBadRequest, w.Code)
}

func TestTwoAuthorizationHeaders(t *testing.T) {
	h, _ := newHandler(t, nil)
	w := do(h, "POST", "/notes/mcp", "alice-token", callList, "Authorization", "Bearer bob-token")
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Contains(t, w.Header().Get("WWW-Authenticate"), `error="invalid_request"`)
}

func TestUpstreamUnavailable(t *testing.T) {
	h, sink := newHandler(t, nil)
	w := do(h, "POST", "/notes/mcp", "upstream-down", callList)
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.Equal(t, "30", w.Header().Get("Retry-After"))
	assert.Empty(t, w.Header().Get("WWW-Authenticate"), "an outage is not a reason to re-authenticate")
	assert.Equal(t, audit.Unavailable, sink.all()[0].Decision)
}

func TestServiceScopeMissing(t *testing.T) {
	h, _ := newHandler(t, func(c *middleware.Config) { c.RequiredScopes = scopes.All("admin") })
	w := do(h, "POST", "/admin/mcp", "alice-token", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`)
	assert.Equal(t, http.StatusForbidden, w.Code)
	assert.Equal(t, `Bearer resource_metadata="`+prm+`", scope="notes:read notes:write admin", error="insufficient_scope", error_description="this resource requires scope admin"`, w.Header().Get("WWW-Authenticate"))
}

func TestToolScopeStepUp(t *testing.T) {
	h, sink := newHandler(t, nil)
	w := do(h, "POST", "/notes/mcp", "bob-token", callAdd)
	assert.Equal(t, http.StatusForbidden, w.Code)
	assert.Equal(t, `Bearer resource_metadata="`+prm+`", scope="notes:read notes:write", error="insufficient_scope", error_description="tool \"add_note\" requires notes:write"`, w.Header().Get("WWW-Authenticate"))
	var rpcErr struct {
		ID    int `json:"id"`
		Error struct {
			Code    int            `json:"code"`
			Message string         `json:"message"`
			Data    map[string]any `json:"data"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &rpcErr))
	assert.Equal(t, 1, rpcErr.ID)
	assert.Equal(t, middleware.CodeForbidden, rpcErr.Error.Code)
	assert.Equal(t, `insufficient_scope: tool "add_note" requires notes:write`, rpcErr.Error.Message)
	assert.Equal(t, "insufficient_scope", rpcErr.Error.Data["error"])
	ev := sink.all()
	require.Len(t, ev, 1)
	assert.Equal(t, audit.Deny, ev[0].Decision)
	assert.Equal(t, "add_note", ev[0].Tool)
	assert.Equal(t, "tools/call", ev[0].Method)
	assert.Equal(t, []string{"notes:write"}, ev[0].RequiredScopes)
	assert.Equal(t, []string{"notes:read"}, ev[0].GrantedScopes)
	assert.Equal(t, "bob", ev[0].Subject)

	// Allowed: the body reaches the handler intact.
	w = do(h, "POST", "/notes/mcp", "bob-token", callList)
	assert.Equal(t, http.StatusOK, w.Code)
	var got map[string]string
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
	assert.Equal(t, "bob", got["subject"])
	assert.Equal(t, callList, got["body"])
	assert.Equal(t, audit.Allow, sink.all()[1].Decision)
}

func TestBatchAndNonToolMethods(t *testing.T) {
	h, _ := newHandler(t, nil)
	// One forbidden call in a batch refuses the batch, naming it.
	w := do(h, "POST", "/notes/mcp", "bob-token", "["+callList+","+callAdd+"]")
	assert.Equal(t, http.StatusForbidden, w.Code)
	assert.Contains(t, w.Header().Get("WWW-Authenticate"), `scope="notes:read notes:write"`)

	// initialize, tools/list and unknown tools are never refused for tool scopes.
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"no_such_tool"}}`,
		`not json at all`,
	} {
		w = do(h, "POST", "/notes/mcp", "bob-token", body)
		assert.Equal(t, http.StatusOK, w.Code, body)
	}
}

func TestBodyTooLarge(t *testing.T) {
	h, _ := newHandler(t, func(c *middleware.Config) { c.MaxBodyBytes = 64 })
	w := do(h, "POST", "/notes/mcp", "alice-token", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add_note","arguments":{"text":"`+strings.Repeat("x", 100)+`"}}}`)
	assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
}

func TestAllowedTenants(t *testing.T) {
	h, sink := newHandler(t, func(c *middleware.Config) { c.AllowedTenants = []string{"acme"} })
	assert.Equal(t, http.StatusOK, do(h, "POST", "/notes/mcp", "alice-token", callList).Code)
	w := do(h, "POST", "/notes/mcp", "carol-token", callList)
	assert.Equal(t, http.StatusForbidden, w.Code)
	assert.Equal(t, "access_denied", errorBody(t, w)["error"])
	assert.Equal(t, "tenant_not_allowed", sink.all()[1].Reason)
}

func TestSessionBinding(t *testing.T) {
	h, sink := newHandler(t, nil)
	// alice's initialize response mints session s1: it is bound to alice.
	w := do(h, "POST", "/notes/mcp", "alice-token", `{"jsonrpc":"2.0","id":1,"method":"initialize"}`, "X-Mint-Session", "s1")
	require.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, http.StatusOK, do(h, "POST", "/notes/mcp", "alice-token", callList, "Mcp-Session-Id", "s1").Code)
	w = do(h, "POST", "/notes/mcp", "carol-token", callList, "Mcp-Session-Id", "s1")
	assert.Equal(t, http.StatusForbidden, w.Code)
	assert.Equal(t, "session_mismatch", sink.all()[len(sink.all())-1].Reason)
	// After alice deletes the session, the binding is gone.
	assert.Equal(t, http.StatusOK, do(h, "DELETE", "/notes/mcp", "alice-token", "", "Mcp-Session-Id", "s1").Code)
	assert.Equal(t, http.StatusOK, do(h, "POST", "/notes/mcp", "carol-token", callList, "Mcp-Session-Id", "s1").Code)
}

func TestSessionBinderBounded(t *testing.T) {
	b := middleware.NewSessionBinder(10, time.Hour, func() time.Time { return now })
	for i := range 100 {
		b.Bind(strings.Repeat("s", i+1), "p")
	}
	assert.LessOrEqual(t, b.Len(), 10)
}

func TestAuditNeverLogsToken(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h, _ := newHandler(t, func(c *middleware.Config) { c.Audit = audit.NewSlogSink(logger) })
	do(h, "POST", "/notes/mcp", "alice-token", callList)
	do(h, "POST", "/notes/mcp", "bob-token", callAdd)
	do(h, "POST", "/notes/mcp", "forged-secret-token", callAdd)
	out := buf.String()
	assert.Equal(t, 3, strings.Count(out, `"msg":"mcpauth.audit"`))
	for _, secret := range []string{"alice-token", "bob-token", "forged-secret-token"} {
		assert.NotContains(t, out, secret)
	}
	assert.Contains(t, out, `"token":"jti:jti-alice"`)
	assert.Contains(t, out, `"decision":"deny"`)
	assert.Contains(t, out, `"decision":"auth_failure"`)
}

func TestConfigValidation(t *testing.T) {
	_, err := middleware.NewBearer(middleware.Config{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Config.Verifier")
	assert.Panics(t, func() { middleware.Bearer(middleware.Config{}) })
}

func TestChallengeEscaping(t *testing.T) {
	c := middleware.Challenge{
		ResourceMetadata: "https://x/y",
		Scope:            []string{"a", "b"},
		Error:            "invalid_token",
		Description:      "bad \"quote\" \\ and\r\nnewline é",
	}
	assert.Equal(t, `Bearer resource_metadata="https://x/y", scope="a b", error="invalid_token", error_description="bad \"quote\" \\ and??newline ??"`, c.String())
	assert.Equal(t, "Bearer", middleware.Challenge{}.String())
}

func TestBodyWithoutContentLength(t *testing.T) {
	h, _ := newHandler(t, func(c *middleware.Config) { c.MaxBodyBytes = 200 })
	send := func(body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/notes/mcp", io.NopCloser(strings.NewReader(body)))
		r.ContentLength = -1 // chunked: the length is not announced
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer bob-token")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	assert.Equal(t, http.StatusForbidden, send(callAdd).Code, "the tool check also reads chunked bodies")
	w := send(callList)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Body.String(), "list_notes", "the body reaches the handler intact")
	assert.Equal(t, http.StatusRequestEntityTooLarge, send(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add_note","arguments":{"text":"`+strings.Repeat("x", 300)+`"}}}`).Code)
}
