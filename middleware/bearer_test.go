package middleware_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
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

// notesMCP is the protected MCP server of these tests: real mcp-go with the in-server
// enforcement, so that the middleware renders the decisions mcp-go's side takes.
func notesMCP(cfg middleware.ServerConfig, extra ...server.ServerOption) *server.MCPServer {
	opts := append(extra, middleware.ServerOptions(cfg)...)
	opts = append(opts, server.WithResourceCapabilities(true, false), server.WithCompletions())
	srv := server.NewMCPServer("notes", "1.0.0", opts...)
	text := func(s string) server.ToolHandlerFunc {
		return func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText(s), nil
		}
	}
	srv.AddTool(mcp.NewTool("whoami"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText(mcpauth.AccessTokenFromContext(ctx).Subject), nil
	})
	srv.AddTool(mcp.NewTool("list_notes", scopes.Required("notes:read")), text("notes"))
	srv.AddTool(mcp.NewTool("add_note", mcp.WithString("text"), scopes.Required("notes:write")), text("added"))
	srv.AddTool(mcp.NewTool("purge", scopes.Required("admin")), text("purged"))
	srv.AddPrompt(mcp.NewPrompt("summary", scopes.PromptRequired("notes:write"), mcp.WithArgument("topic")), func(context.Context, mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		return mcp.NewGetPromptResult("summary", nil), nil
	})
	srv.AddResource(mcp.NewResource("notes://secret", "secret", scopes.ResourceRequired("notes:write")), func(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		return []mcp.ResourceContents{mcp.TextResourceContents{URI: "notes://secret", Text: "the secret"}}, nil
	})
	srv.AddResourceTemplate(mcp.NewResourceTemplate("notes://{id}", "note", scopes.ResourceTemplateRequired("notes:write")), func(_ context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, Text: "note body"}}, nil
	})
	return srv
}

func newHandler(t *testing.T, mod func(*middleware.Config)) (http.Handler, *audit.Recorder) {
	t.Helper()
	h, sink, _ := newMCPHandler(t, mod)
	return h, sink
}

// newMCPHandler is the bearer middleware in front of notesMCP over mcp-go's Streamable
// HTTP transport; it also returns the MCP server.
func newMCPHandler(t *testing.T, mod func(*middleware.Config), extra ...server.ServerOption) (http.Handler, *audit.Recorder, *server.MCPServer) {
	t.Helper()
	sink := &audit.Recorder{}
	cfg := middleware.Config{
		Verifier:            fakeVerifier,
		ResourceMetadataURL: prm,
		Service:             "notes",
		Audit:               sink,
		Sessions:            middleware.NewSessionBinder(0),
		Now:                 func() time.Time { return now },
	}
	if mod != nil {
		mod(&cfg)
	}
	srv := notesMCP(middleware.ServerConfig{Service: "notes", Audit: sink, Sessions: cfg.Sessions}, extra...)
	mw, err := middleware.NewBearer(cfg)
	require.NoError(t, err)
	return mw(server.NewStreamableHTTPServer(srv, server.WithEndpointPath("/notes/mcp"))), sink, srv
}

// initialize opens an MCP session as the holder of token and returns its id.
func initialize(t *testing.T, h http.Handler, token string) string {
	t.Helper()
	w := do(h, "POST", "/notes/mcp", token, initBody)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	sid := w.Header().Get("Mcp-Session-Id")
	require.NotEmpty(t, sid)
	return sid
}

const initBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`

// setMCPHeaders sets the headers of a Streamable HTTP POST of protocol 2025-06-18: the
// bearer token and the session id when not empty.
func setMCPHeaders(h http.Header, token, sid string) {
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json, text/event-stream")
	h.Set("Mcp-Protocol-Version", "2025-06-18")
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	if sid != "" {
		h.Set("Mcp-Session-Id", sid)
	}
}

func do(h http.Handler, method, target, token, body string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	setMCPHeaders(r.Header, token, "")
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Mcp-Protocol-Version" {
			r.Header.Del(hdr[i])
		}
		r.Header.Add(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// errorBody returns the OAuth error fields of a refusal, from either body shape.
func errorBody(t *testing.T, w *httptest.ResponseRecorder) map[string]string {
	t.Helper()
	var e rpcError
	if json.Unmarshal(w.Body.Bytes(), &e) == nil && e.JSONRPC == "2.0" {
		return e.Error.Data
	}
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
	ev := sink.Events()
	require.Len(t, ev, 1)
	assert.Equal(t, audit.AuthFailure, ev[0].Decision)
	assert.Equal(t, audit.ReasonMissingToken, ev[0].Reason)

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

	for _, e := range sink.Events() {
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
	assert.Equal(t, audit.Unavailable, sink.Events()[0].Decision)
}

// TestServiceUnavailable: while Config.Available reports the service down, an
// authenticated caller gets 503 with Retry-After and the JSON-RPC refusal body, one
// audit event records it as unavailable, and nothing of the upstream's error reaches the
// reply; a caller without a token, or without the service's scope, is refused first.
func TestServiceUnavailable(t *testing.T) {
	down := errors.New("dial tcp 10.0.0.7:8080: connection refused")
	var state error = down
	h, sink := newHandler(t, func(c *middleware.Config) {
		c.RequiredScopes = scopes.All("notes:read")
		c.Available = func() error { return state }
	})

	w := do(h, "POST", "/notes/mcp", "", callList)
	assert.Equal(t, http.StatusUnauthorized, w.Code, "no token: the challenge first")
	w = do(h, "POST", "/notes/mcp", "expired-token", callList)
	assert.Equal(t, http.StatusUnauthorized, w.Code, "a bad token: its refusal first")

	w = do(h, "POST", "/notes/mcp", "alice-token", callList)
	assertRefusal(t, w, http.StatusServiceUnavailable, float64(2), "temporarily_unavailable", "")
	assert.Equal(t, "5", w.Header().Get("Retry-After"))
	assert.NotContains(t, w.Body.String(), "10.0.0.7")
	ev := sink.Events()
	require.Len(t, ev, 3)
	assert.Equal(t, audit.Unavailable, ev[2].Decision)
	assert.Equal(t, audit.ReasonUpstreamUnavailable, ev[2].Reason)
	assert.Equal(t, "tools/call", ev[2].RPCMethod)
	assert.Equal(t, http.StatusServiceUnavailable, ev[2].Status)
	assert.Equal(t, "alice", ev[2].Subject)

	h2, _ := newHandler(t, func(c *middleware.Config) {
		c.RequiredScopes = scopes.All("admin")
		c.Available = func() error { return down }
	})
	w = do(h2, "POST", "/notes/mcp", "alice-token", callList)
	assert.Equal(t, http.StatusForbidden, w.Code, "a caller the service refuses learns nothing of its upstream")

	state = nil
	sid := initialize(t, h, "alice-token")
	w = do(h, "POST", "/notes/mcp", "alice-token", callList, "Mcp-Session-Id", sid)
	assert.Equal(t, http.StatusOK, w.Code, w.Body.String())
}

// rpcError is the JSON-RPC error body of a refused JSON-RPC request.
type rpcError struct {
	JSONRPC string `json:"jsonrpc"`
	ID      any    `json:"id"`
	Error   struct {
		Code    int               `json:"code"`
		Message string            `json:"message"`
		Data    map[string]string `json:"data"`
	} `json:"error"`
}

func rpcErrorOf(t *testing.T, w *httptest.ResponseRecorder) rpcError {
	t.Helper()
	var e rpcError
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &e), w.Body.String())
	require.Equal(t, "2.0", e.JSONRPC, w.Body.String())
	return e
}

// assertRefusal checks the one shape of every refusal of a JSON-RPC request: status,
// challenge, and a JSON-RPC error for the request's id carrying the OAuth fields.
func assertRefusal(t *testing.T, w *httptest.ResponseRecorder, status int, id any, code, challenge string) {
	t.Helper()
	assert.Equal(t, status, w.Code, w.Body.String())
	assert.Equal(t, challenge, w.Header().Get("WWW-Authenticate"))
	e := rpcErrorOf(t, w)
	assert.Equal(t, id, e.ID)
	assert.Equal(t, middleware.CodeForbidden, e.Error.Code)
	assert.Equal(t, code, e.Error.Data["error"])
	assert.Equal(t, challenge, e.Error.Data["www_authenticate"])
	assert.True(t, strings.HasPrefix(e.Error.Message, code+": "), e.Error.Message)
}

func TestServiceScopeMissing(t *testing.T) {
	h, sink := newHandler(t, func(c *middleware.Config) { c.RequiredScopes = scopes.All("admin") })
	w := do(h, "POST", "/admin/mcp", "alice-token", initBody)
	assertRefusal(t, w, http.StatusForbidden, float64(1), "insufficient_scope",
		`Bearer resource_metadata="`+prm+`", scope="notes:read notes:write admin", error="insufficient_scope", error_description="this resource requires scope admin"`)
	ev := sink.Events()
	require.Len(t, ev, 1)
	assert.Equal(t, audit.ReasonInsufficientScope, ev[0].Reason)
	assert.Equal(t, "initialize", ev[0].RPCMethod)
}

func TestToolScopeStepUp(t *testing.T) {
	h, sink := newHandler(t, nil)
	sid := initialize(t, h, "bob-token")
	w := do(h, "POST", "/notes/mcp", "bob-token", callAdd, "Mcp-Session-Id", sid)
	assertRefusal(t, w, http.StatusForbidden, float64(1), "insufficient_scope",
		`Bearer resource_metadata="`+prm+`", scope="notes:read notes:write", error="insufficient_scope", error_description="tool 'add_note' requires notes:write"`)
	assert.Equal(t, `insufficient_scope: tool "add_note" requires notes:write`, rpcErrorOf(t, w).Error.Message)
	ev := sink.Events()
	require.Len(t, ev, 2, "one event per request: initialize, then the refused call")
	d := ev[1]
	assert.Equal(t, audit.Deny, d.Decision)
	assert.Equal(t, audit.ReasonInsufficientScope, d.Reason)
	assert.Equal(t, "POST", d.HTTPMethod)
	assert.Equal(t, "tools/call", d.RPCMethod)
	assert.Equal(t, "tool", d.TargetKind)
	assert.Equal(t, "add_note", d.Target)
	assert.Equal(t, http.StatusForbidden, d.Status)
	assert.Equal(t, []string{"notes:write"}, d.RequiredScopes)
	assert.Equal(t, []string{"notes:read"}, d.GrantedScopes)
	assert.Equal(t, "bob", d.Subject)

	// Allowed: the call runs.
	w = do(h, "POST", "/notes/mcp", "bob-token", callList, "Mcp-Session-Id", sid)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Body.String(), `"text":"notes"`)
	ev = sink.Events()
	require.Len(t, ev, 3)
	assert.Equal(t, audit.Allow, ev[2].Decision)
	assert.Equal(t, "list_notes", ev[2].Target)
	assert.Equal(t, http.StatusOK, ev[2].Status)
}

// The method written with JSON escapes is the same method to mcp-go, so it gets the
// same step-up (the HTTP layer reads no body to decide).
func TestEscapedMethodGetsTheSameStepUp(t *testing.T) {
	h, _ := newHandler(t, nil)
	sid := initialize(t, h, "bob-token")
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":7,"method":"tools\u002fcall","params":{"name":"add_note"}}`,
		`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"add_\u006eote"}}`,
		`{"jsonrpc":"2.0","id":7,"METHOD":"tools/call","params":{"NAME":"add_note"}}`,
		`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"whoami","name":"add_note"}}`,
	} {
		w := do(h, "POST", "/notes/mcp", "bob-token", body, "Mcp-Session-Id", sid)
		assertRefusal(t, w, http.StatusForbidden, float64(7), "insufficient_scope",
			`Bearer resource_metadata="`+prm+`", scope="notes:read notes:write", error="insufficient_scope", error_description="tool 'add_note' requires notes:write"`)
	}
}

// A session's own tool shadows the server's tool of the same name: the decision is on
// the tool mcp-go runs.
func TestSessionToolShadowingDecidesOnTheToolThatRuns(t *testing.T) {
	h, _, srv := newMCPHandler(t, nil)
	sid := initialize(t, h, "bob-token")
	require.NoError(t, srv.AddSessionTool(sid, mcp.NewTool("purge"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText("session purge"), nil
	}))
	w := do(h, "POST", "/notes/mcp", "bob-token", `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"purge"}}`, "Mcp-Session-Id", sid)
	assert.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Contains(t, w.Body.String(), "session purge")
	// Another session still sees the server's tool, which needs admin.
	other := initialize(t, h, "bob-token")
	w = do(h, "POST", "/notes/mcp", "bob-token", `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"purge"}}`, "Mcp-Session-Id", other)
	assert.Equal(t, http.StatusForbidden, w.Code)
}

func TestPromptsResourcesSubscribeAndCompletionStepUp(t *testing.T) {
	h, sink := newHandler(t, nil)
	sid := initialize(t, h, "bob-token")
	cases := []struct{ body, desc string }{
		{`{"jsonrpc":"2.0","id":4,"method":"prompts/get","params":{"name":"summary"}}`, `prompt 'summary' requires notes:write`},
		{`{"jsonrpc":"2.0","id":4,"method":"resources/read","params":{"uri":"notes://secret"}}`, `resource 'notes://secret' requires notes:write`},
		{`{"jsonrpc":"2.0","id":4,"method":"resources/subscribe","params":{"uri":"notes://secret"}}`, `resource 'notes://secret' requires notes:write`},
		{`{"jsonrpc":"2.0","id":4,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"summary"},"argument":{"name":"topic","value":"a"}}}`, `prompt 'summary' requires notes:write`},
		{`{"jsonrpc":"2.0","id":4,"method":"completion/complete","params":{"ref":{"type":"ref/resource","uri":"notes://secret"},"argument":{"name":"x","value":"a"}}}`, `resource 'notes://secret' requires notes:write`},
		{`{"jsonrpc":"2.0","id":4,"method":"resources/read","params":{"uri":"notes://42"}}`, `resource 'notes://42' requires notes:write`},
		{`{"jsonrpc":"2.0","id":4,"method":"resources/subscribe","params":{"uri":"notes://42"}}`, `resource 'notes://42' requires notes:write`},
		{`{"jsonrpc":"2.0","id":4,"method":"completion/complete","params":{"ref":{"type":"ref/resource","uri":"notes://{id}"},"argument":{"name":"id","value":"4"}}}`, `resource 'notes://{id}' requires notes:write`},
	}
	for _, c := range cases {
		before := len(sink.Events())
		w := do(h, "POST", "/notes/mcp", "bob-token", c.body, "Mcp-Session-Id", sid)
		assertRefusal(t, w, http.StatusForbidden, float64(4), "insufficient_scope",
			`Bearer resource_metadata="`+prm+`", scope="notes:read notes:write", error="insufficient_scope", error_description="`+c.desc+`"`)
		ev := sink.Events()
		require.Len(t, ev, before+1, "exactly one audit event: %s", c.body)
		assert.Equal(t, audit.Deny, ev[before].Decision)
	}
	// Allowed with the scope, with one event each.
	bobSession := sid
	sid = initialize(t, h, "alice-token")
	for _, c := range cases {
		before := len(sink.Events())
		w := do(h, "POST", "/notes/mcp", "alice-token", c.body, "Mcp-Session-Id", sid)
		assert.Equal(t, http.StatusOK, w.Code, c.body)
		assert.Contains(t, w.Body.String(), `"result"`, c.body)
		ev := sink.Events()
		require.Len(t, ev, before+1, c.body)
		assert.Equal(t, audit.Allow, ev[before].Decision)
		assert.NotEmpty(t, ev[before].Target)
	}
	// Prompts and resources stay listed, like tools.
	w := do(h, "POST", "/notes/mcp", "bob-token", `{"jsonrpc":"2.0","id":5,"method":"prompts/list"}`, "Mcp-Session-Id", bobSession)
	assert.Contains(t, w.Body.String(), `"summary"`)
	w = do(h, "POST", "/notes/mcp", "bob-token", `{"jsonrpc":"2.0","id":5,"method":"resources/list"}`, "Mcp-Session-Id", bobSession)
	assert.Contains(t, w.Body.String(), `"notes://secret"`)
	w = do(h, "POST", "/notes/mcp", "bob-token", `{"jsonrpc":"2.0","id":5,"method":"resources/templates/list"}`, "Mcp-Session-Id", bobSession)
	assert.Contains(t, w.Body.String(), `"notes://{id}"`)
}

// With hiding asked for, lists show only what the caller may use, and hiding never
// weakens a decision.
func TestHideForbiddenGatesListEntries(t *testing.T) {
	sink := &audit.Recorder{}
	binder := middleware.NewSessionBinder(0)
	srv := notesMCP(middleware.ServerConfig{HideForbidden: true, Audit: sink, Sessions: binder})
	mw, err := middleware.NewBearer(middleware.Config{Verifier: fakeVerifier, ResourceMetadataURL: prm, Audit: sink, Sessions: binder, Now: func() time.Time { return now }})
	require.NoError(t, err)
	h := mw(server.NewStreamableHTTPServer(srv, server.WithEndpointPath("/notes/mcp")))
	for token, visible := range map[string]bool{"bob-token": false, "alice-token": true} {
		sid := initialize(t, h, token)
		for _, c := range []struct{ method, item string }{
			{"tools/list", `"add_note"`}, {"prompts/list", `"summary"`}, {"resources/list", `"notes://secret"`}, {"resources/templates/list", `"notes://{id}"`},
		} {
			w := do(h, "POST", "/notes/mcp", token, `{"jsonrpc":"2.0","id":8,"method":"`+c.method+`"}`, "Mcp-Session-Id", sid)
			require.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, visible, strings.Contains(w.Body.String(), c.item), "%s %s", token, c.method)
		}
		w := do(h, "POST", "/notes/mcp", token, `{"jsonrpc":"2.0","id":8,"method":"resources/read","params":{"uri":"notes://7"}}`, "Mcp-Session-Id", sid)
		if visible {
			assert.Equal(t, http.StatusOK, w.Code, w.Body.String())
		} else {
			assert.Equal(t, http.StatusForbidden, w.Code, "a hidden template still protects its resources")
		}
	}
}

// The enforcer runs before the server's own tool middlewares, even those registered
// before it: a refused call never reaches them.
func TestEnforcerIsOutermost(t *testing.T) {
	var reached []string
	userMW := server.WithToolHandlerMiddleware(func(next server.ToolHandlerFunc) server.ToolHandlerFunc {
		return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			reached = append(reached, req.Params.Name)
			return next(ctx, req)
		}
	})
	h, _, _ := newMCPHandler(t, nil, userMW)
	sid := initialize(t, h, "bob-token")
	assert.Equal(t, http.StatusForbidden, do(h, "POST", "/notes/mcp", "bob-token", callAdd, "Mcp-Session-Id", sid).Code)
	assert.Equal(t, http.StatusOK, do(h, "POST", "/notes/mcp", "bob-token", callList, "Mcp-Session-Id", sid).Code)
	assert.Equal(t, []string{"list_notes"}, reached)
}

func TestBodyTooLarge(t *testing.T) {
	h, sink := newHandler(t, func(c *middleware.Config) { c.MaxBodyBytes = 300 })
	sid := initialize(t, h, "alice-token")
	big := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add_note","arguments":{"text":"` + strings.Repeat("x", 400) + `"}}}`
	w := do(h, "POST", "/notes/mcp", "alice-token", big, "Mcp-Session-Id", sid)
	assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code, w.Body.String())
	assert.Equal(t, audit.ReasonBodyTooLarge, sink.Events()[1].Reason)

	// Without an announced length (chunked) too; and a body under the limit runs.
	r := httptest.NewRequest("POST", "/notes/mcp", io.NopCloser(strings.NewReader(big)))
	r.ContentLength = -1
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer alice-token")
	r.Header.Set("Mcp-Session-Id", sid)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	assert.Equal(t, http.StatusOK, do(h, "POST", "/notes/mcp", "alice-token", callAdd, "Mcp-Session-Id", sid).Code)
}

func TestAllowedTenants(t *testing.T) {
	h, sink := newHandler(t, func(c *middleware.Config) { c.AllowedTenants = []string{"acme"} })
	initialize(t, h, "alice-token")
	w := do(h, "POST", "/notes/mcp", "carol-token", initBody)
	assertRefusal(t, w, http.StatusForbidden, float64(1), "access_denied",
		`Bearer resource_metadata="`+prm+`", scope="notes:read notes:write", error="access_denied", error_description="tenant 'globex' is not allowed on this resource"`)
	assert.Equal(t, audit.ReasonTenantNotAllowed, sink.Events()[1].Reason)
}

func TestSessionBinding(t *testing.T) {
	h, sink := newHandler(t, nil)
	sid := initialize(t, h, "alice-token")
	assert.Equal(t, http.StatusOK, do(h, "POST", "/notes/mcp", "alice-token", callList, "Mcp-Session-Id", sid).Code)
	w := do(h, "POST", "/notes/mcp", "carol-token", callList, "Mcp-Session-Id", sid)
	assertRefusal(t, w, http.StatusForbidden, float64(2), "access_denied",
		`Bearer resource_metadata="`+prm+`", scope="notes:read notes:write", error="access_denied", error_description="this MCP session belongs to another principal"`)
	assert.Equal(t, audit.ReasonSessionMismatch, sink.Events()[len(sink.Events())-1].Reason)

	// The same subject from another issuer or through another client is someone else.
	users["alice-other-client"] = &mcpauth.AccessToken{Subject: "alice", Issuer: "iss", ClientID: "other", Scopes: []string{"notes:read"}, ExpiresAt: now.Add(time.Hour)}
	t.Cleanup(func() { delete(users, "alice-other-client") })
	assert.Equal(t, http.StatusForbidden, do(h, "POST", "/notes/mcp", "alice-other-client", callList, "Mcp-Session-Id", sid).Code)

	// After alice deletes the session, the binding is gone with it.
	assert.Equal(t, http.StatusOK, do(h, "DELETE", "/notes/mcp", "alice-token", "", "Mcp-Session-Id", sid).Code)
	assert.NotEqual(t, http.StatusForbidden, do(h, "POST", "/notes/mcp", "carol-token", callList, "Mcp-Session-Id", sid).Code)
}

func TestSessionIDsNeverBoundUnlessIssued(t *testing.T) {
	binder := middleware.NewSessionBinder(0)
	h, sink := newHandler(t, func(c *middleware.Config) { c.Sessions = binder })
	// A made-up id is not bound to whoever uses it first, nor stored.
	madeUp := "mcp-session-6f1c2a9e-5d7b-4c1e-9a3f-0b2d4e6f8a1c"
	do(h, "POST", "/notes/mcp", "carol-token", callList, "Mcp-Session-Id", madeUp)
	assert.Equal(t, 0, binder.Len())
	sid := initialize(t, h, "alice-token")
	assert.Equal(t, 1, binder.Len())
	assert.Equal(t, http.StatusOK, do(h, "POST", "/notes/mcp", "alice-token", callList, "Mcp-Session-Id", sid).Code)

	// Malformed ids are refused before anything is stored.
	for _, bad := range []string{strings.Repeat("a", 257), "has space", "tab\tid", "caf\xc3\xa9"} {
		w := do(h, "POST", "/notes/mcp", "alice-token", callList, "Mcp-Session-Id", bad)
		assert.Equal(t, http.StatusBadRequest, w.Code, bad)
		assert.Equal(t, audit.ReasonInvalidSessionID, sink.Events()[len(sink.Events())-1].Reason)
	}
	assert.Equal(t, 1, binder.Len())
}

// A full binder refuses new sessions; it never evicts an existing one.
func TestSessionBinderFullRefusesNewSessions(t *testing.T) {
	binder := middleware.NewSessionBinder(2)
	h, sink := newHandler(t, func(c *middleware.Config) { c.Sessions = binder })
	owned := initialize(t, h, "alice-token")
	initialize(t, h, "bob-token")
	w := do(h, "POST", "/notes/mcp", "carol-token", initBody)
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.Equal(t, "30", w.Header().Get("Retry-After"))
	assert.Empty(t, w.Header().Get("Mcp-Session-Id"), "the refused session's id is not handed out")
	assert.Equal(t, audit.ReasonSessionLimit, sink.Events()[2].Reason)
	// A flood of 200,000 made-up ids changes nothing: none is stored, and the owner
	// keeps the session while the attacker stays refused. (The flood goes through the
	// same binder in front of a handler that answers at once, to keep the test fast.)
	mw, err := middleware.NewBearer(middleware.Config{Verifier: fakeVerifier, ResourceMetadataURL: prm, Sessions: binder, Audit: audit.Discard, Now: func() time.Time { return now }})
	require.NoError(t, err)
	quick := mw(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) }))
	flood := httptest.NewRequest("POST", "/notes/mcp", nil)
	flood.Header.Set("Content-Type", "application/json")
	for i := range 200000 {
		flood.Header.Set("Mcp-Session-Id", fmt.Sprintf("mcp-session-%08x-0000-4000-8000-000000000000", i))
		flood.Header.Set("Authorization", "Bearer carol-token") // the middleware removes it
		w := httptest.NewRecorder()
		quick.ServeHTTP(w, flood)
		require.Equal(t, http.StatusAccepted, w.Code)
	}
	assert.Equal(t, 2, binder.Len())
	assert.Equal(t, http.StatusForbidden, do(h, "POST", "/notes/mcp", "carol-token", callList, "Mcp-Session-Id", owned).Code)
	assert.Equal(t, http.StatusOK, do(h, "POST", "/notes/mcp", "alice-token", callList, "Mcp-Session-Id", owned).Code)
}

// Oversized session ids are refused before anything is stored: memory stays flat.
func TestHugeSessionIDsLeaveTheHeapFlat(t *testing.T) {
	binder := middleware.NewSessionBinder(0)
	h, _ := newHandler(t, func(c *middleware.Config) { c.Sessions = binder; c.Audit = audit.Discard })
	id := make([]byte, 512<<10)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 400 {
		_, _ = rand.Read(id)
		w := do(h, "POST", "/notes/mcp", "alice-token", callList, "Mcp-Session-Id", hex.EncodeToString(id)[:len(id)])
		require.Equal(t, http.StatusBadRequest, w.Code)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	assert.Equal(t, 0, binder.Len())
	// 400 stored ids would hold 200 MiB.
	assert.Less(t, int64(after.HeapAlloc)-int64(before.HeapAlloc), int64(8<<20), "heap grew by %d bytes", int64(after.HeapAlloc)-int64(before.HeapAlloc))
}

func TestMissingTokenChallengeNamesOperationScopes(t *testing.T) {
	h, _ := newHandler(t, func(c *middleware.Config) {
		c.ChallengeScopes = func() []string { return []string{"notes:read", "notes:write", "offline_access"} }
	})
	w := do(h, "POST", "/notes/mcp", "", initBody)
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Equal(t, `Bearer resource_metadata="`+prm+`", scope="notes:read notes:write"`, w.Header().Get("WWW-Authenticate"))
	e := rpcErrorOf(t, w)
	assert.Equal(t, "unauthorized", e.Error.Data["error"])
}

func TestAuditNeverLogsToken(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h, _ := newHandler(t, func(c *middleware.Config) { c.Audit = audit.NewSlogSink(logger) })
	sa := initialize(t, h, "alice-token")
	sb := initialize(t, h, "bob-token")
	do(h, "POST", "/notes/mcp", "alice-token", callList, "Mcp-Session-Id", sa)
	do(h, "POST", "/notes/mcp", "bob-token", callAdd, "Mcp-Session-Id", sb)
	do(h, "POST", "/notes/mcp", "forged-secret-token", callAdd)
	out := buf.String()
	assert.Equal(t, 5, strings.Count(out, `"msg":"mcpauth.audit"`), "exactly one event per request")
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
	assert.Contains(t, err.Error(), "Config.Verifier is nil")
	assert.Contains(t, err.Error(), `Config.ResourceMetadataURL "" is not an absolute http(s) URL`)
	_, err = middleware.NewBearer(middleware.Config{Verifier: fakeVerifier, ResourceMetadataURL: "/.well-known/oauth-protected-resource"})
	assert.ErrorContains(t, err, "Config.ResourceMetadataURL")
	assert.Panics(t, func() { middleware.Bearer(middleware.Config{}) })
}

func TestChallengeEscaping(t *testing.T) {
	c := middleware.Challenge{
		ResourceMetadata: "https://x/y",
		Scope:            []string{"a", "b"},
		Error:            "invalid_token",
		Description:      "bad \"quote\" \\ and\r\nnewline é",
	}
	// error_description may not hold '"' or '\' (RFC 6750 §3): they are replaced.
	assert.Equal(t, `Bearer resource_metadata="https://x/y", scope="a b", error="invalid_token", error_description="bad 'quote' / and??newline ??"`, c.String())
	assert.Equal(t, `Bearer resource_metadata="https://x/\"y\\"`, middleware.Challenge{ResourceMetadata: `https://x/"y\`}.String())
	assert.Equal(t, "Bearer", middleware.Challenge{}.String())
}

// Long-lived replies end when the token does: a GET event stream closes at expiry, and
// a streamed POST reply carries nothing sent after it.
func TestStreamsEndWhenTheTokenExpires(t *testing.T) {
	exp := time.Now().Add(2 * time.Second) // a 2-second token
	users["short-token"] = &mcpauth.AccessToken{Subject: "sam", Issuer: "iss", Scopes: []string{"notes:read"}, ExpiresAt: exp}
	t.Cleanup(func() { delete(users, "short-token") })
	h, _, srv := newMCPHandler(t, func(c *middleware.Config) { c.Now = time.Now })
	srv.AddTool(mcp.NewTool("tick"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		for range 30 { // three seconds of ticks, each carrying the time it was sent
			_ = srv.SendNotificationToClient(ctx, "notifications/message", map[string]any{"level": "info", "data": time.Now().UnixMilli()})
			select {
			case <-time.After(100 * time.Millisecond):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return mcp.NewToolResultText("finished after expiry"), nil
	})
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	sid := initialize(t, h, "short-token")
	send := func(method, body string) *http.Response {
		req, err := http.NewRequest(method, ts.URL+"/notes/mcp", strings.NewReader(body))
		require.NoError(t, err)
		setMCPHeaders(req.Header, "short-token", sid)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}

	get := send(http.MethodGet, "")
	require.Equal(t, http.StatusOK, get.StatusCode)
	getDone := make(chan time.Time, 1)
	go func() {
		_, _ = io.Copy(io.Discard, get.Body)
		getDone <- time.Now()
	}()

	post := send(http.MethodPost, `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"tick"}}`)
	require.Equal(t, http.StatusOK, post.StatusCode)
	require.Equal(t, "text/event-stream", post.Header.Get("Content-Type"))
	body, _ := io.ReadAll(post.Body)
	var ticks int
	for _, line := range strings.Split(string(body), "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		var msg struct {
			Params struct {
				Data int64 `json:"data"`
			} `json:"params"`
		}
		require.NoError(t, json.Unmarshal([]byte(data), &msg))
		require.NotZero(t, msg.Params.Data, "only ticks arrive, never the reply sent after expiry: %s", data)
		assert.Less(t, msg.Params.Data, exp.UnixMilli(), "a tick sent after the token expired reached the client")
		ticks++
	}
	assert.Greater(t, ticks, 0, "ticks sent before expiry arrive")
	assert.NotContains(t, string(body), "finished after expiry")

	closed := <-getDone
	assert.False(t, closed.Before(exp.Add(-50*time.Millisecond)), "the GET stream closed before the token expired")
}

// No token passthrough: the MCP server and its tools never see the caller's token.
func TestTokenNeverReachesTheServer(t *testing.T) {
	var seen []string
	h, _, srv := newMCPHandler(t, nil)
	srv.AddTool(mcp.NewTool("peek"), func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		seen = append(seen, req.Header.Get("Authorization"))
		return mcp.NewToolResultText("peeked"), nil
	})
	sid := initialize(t, h, "alice-token")
	w := do(h, "POST", "/notes/mcp", "alice-token", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"peek"}}`, "Mcp-Session-Id", sid)
	require.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, []string{""}, seen)
}

// A stateless (2026-07-28) request has no session: an Mcp-Session-Id on it is ignored,
// never checked against its owner nor refused as malformed.
func TestStatelessRequestsIgnoreSessionIDs(t *testing.T) {
	h, _ := newHandler(t, nil)
	alices := initialize(t, h, "alice-token")
	for _, sid := range []string{alices, strings.Repeat("x", 300)} {
		w := do(h, "POST", "/notes/mcp", "bob-token", modern(3, "tools/call", `{"name":"list_notes"}`), append(modernHeaders("tools/call", "list_notes"), "Mcp-Session-Id", sid)...)
		assert.Equal(t, http.StatusOK, w.Code, w.Body.String())
	}
	// The same id on a legacy request is still refused to anyone but its owner.
	assert.Equal(t, http.StatusForbidden, do(h, "POST", "/notes/mcp", "bob-token", callList, "Mcp-Session-Id", alices).Code)
}

// A session id alone authenticates nothing.
func TestSessionIDWithoutTokenIs401(t *testing.T) {
	h, _ := newHandler(t, nil)
	sid := initialize(t, h, "alice-token")
	w := do(h, "POST", "/notes/mcp", "", callList, "Mcp-Session-Id", sid)
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.NotEqual(t, sid, initialize(t, h, "alice-token"), "every initialize gets a new session id")
}

// A 403 step-up never asks for offline_access, even for an operation annotated with it.
func TestStepUpNeverAsksForOfflineAccess(t *testing.T) {
	h, _, srv := newMCPHandler(t, nil)
	srv.AddTool(mcp.NewTool("sync", scopes.Required("notes:sync", "offline_access")), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText("synced"), nil
	})
	sid := initialize(t, h, "bob-token")
	w := do(h, "POST", "/notes/mcp", "bob-token", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"sync"}}`, "Mcp-Session-Id", sid)
	assert.Equal(t, http.StatusForbidden, w.Code)
	assert.Contains(t, w.Header().Get("WWW-Authenticate"), `scope="notes:read notes:sync"`, "offline_access is never asked for")
}

func TestOriginValidation(t *testing.T) {
	sink := &audit.Recorder{}
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := middleware.Origin(middleware.OriginConfig{Allowed: []string{"https://mcp.example.com", "http://localhost:6274"}, Service: "notes", Audit: sink})(ok)
	for origin, want := range map[string]int{
		"":                         http.StatusNoContent, // a non-browser client
		"https://mcp.example.com":  http.StatusNoContent,
		"HTTP://LOCALHOST:6274":    http.StatusNoContent,
		"https://evil.example":     http.StatusForbidden,
		"https://mcp.example.com.": http.StatusForbidden,
		"null":                     http.StatusForbidden,
	} {
		r := httptest.NewRequest("POST", "/notes/mcp", nil)
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		assert.Equal(t, want, w.Code, origin)
	}
	ev := sink.Events()
	require.Len(t, ev, 3)
	assert.Equal(t, audit.ReasonOriginNotAllowed, ev[0].Reason)
	assert.Equal(t, http.StatusForbidden, ev[0].Status)
}

// A stream ends once its token is found revoked, not only at expiry; an outage of the
// verifier does not end it.
func TestStreamEndsWhenItsTokenIsRevoked(t *testing.T) {
	var mu sync.Mutex
	state := "valid"
	checks := 0
	verifier := mcpauth.TokenVerifierFunc(func(context.Context, string) (*mcpauth.AccessToken, error) {
		mu.Lock()
		defer mu.Unlock()
		checks++
		switch state {
		case "down":
			state = "revoked" // one outage, then the revocation is seen
			return nil, mcpauth.UpstreamUnavailable("down", 0, nil)
		case "revoked":
			return nil, mcpauth.InvalidToken("token revoked", nil)
		}
		return &mcpauth.AccessToken{Subject: "sam", Issuer: "iss", Scopes: []string{"notes:read"}, ExpiresAt: time.Now().Add(time.Hour)}, nil
	})
	h, _, _ := newMCPHandler(t, func(c *middleware.Config) {
		c.Verifier, c.Now, c.StreamRecheck = verifier, time.Now, 20*time.Millisecond
	})
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	sid := initialize(t, h, "sam-token")
	req, err := http.NewRequest(http.MethodGet, ts.URL+"/notes/mcp", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer sam-token")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Mcp-Session-Id", sid)
	req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	client := &http.Client{Timeout: 20 * time.Second} // fails the test, rather than hangs, if the stream never ends
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	mu.Lock()
	state = "down"
	mu.Unlock()
	_, err = io.Copy(io.Discard, resp.Body) // returns when the server ends the stream
	require.NoError(t, err, "the server ended the stream (not the client's timeout)")
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, "revoked", state)
	assert.GreaterOrEqual(t, checks, 4, "initialize, the GET, the outage, then the revocation")
}

// A binding ends with mcp-go's session, whoever ends it (DELETE, mcp-go's idle sweeper,
// the application).
func TestBindingEndsWithTheSession(t *testing.T) {
	binder := middleware.NewSessionBinder(0)
	h, _, srv := newMCPHandler(t, func(c *middleware.Config) { c.Sessions = binder })
	sid := initialize(t, h, "alice-token")
	other := initialize(t, h, "bob-token")
	require.Equal(t, 2, binder.Len())
	srv.UnregisterSession(context.Background(), sid) // what the idle sweeper does
	assert.Equal(t, 1, binder.Len())
	_, known, err := binder.Owner(context.Background(), sid)
	require.NoError(t, err)
	assert.False(t, known)
	assert.Equal(t, http.StatusOK, do(h, "DELETE", "/notes/mcp", "bob-token", "", "Mcp-Session-Id", other).Code)
	assert.Equal(t, 0, binder.Len())
}

// The context a tool runs in behind the middleware is the request's own: it carries the
// verified token, keeps the request's values, and ends when the client goes away.
func TestToolContextIsTheRequests(t *testing.T) {
	type marker struct{}
	h, _, srv := newMCPHandler(t, nil)
	started, ended := make(chan *mcpauth.AccessToken, 1), make(chan error, 1)
	release := make(chan struct{})
	srv.AddTool(mcp.NewTool("wait"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if ctx.Value(marker{}) != "outer" {
			ended <- errors.New("the request's own context value is lost")
			return nil, nil
		}
		started <- mcpauth.AccessTokenFromContext(ctx)
		select {
		case <-ctx.Done():
			ended <- context.Cause(ctx)
		case <-release: // the test gave up: let the server close
		}
		return nil, ctx.Err()
	})
	outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), marker{}, "outer")))
	})
	ts := httptest.NewServer(outer)
	t.Cleanup(ts.Close)
	t.Cleanup(func() { close(release) }) // runs before ts.Close
	sid := initialize(t, h, "alice-token")

	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/notes/mcp",
		strings.NewReader(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"wait"}}`))
	require.NoError(t, err)
	setMCPHeaders(req.Header, "alice-token", sid)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
	}()
	select {
	case tok := <-started:
		require.NotNil(t, tok)
		assert.Equal(t, "alice", tok.Subject)
	case err := <-ended:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("the tool never ran")
	}
	cancel() // the client goes away
	select {
	case cause := <-ended:
		assert.ErrorIs(t, cause, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("the tool's context did not end when the client went away")
	}
}
