package hub_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/audit"
	"github.com/mcpauth/mcpauth/hub"
	"github.com/mcpauth/mcpauth/mcpauthtest"
	"github.com/mcpauth/mcpauth/providers/bearer"
	"github.com/mcpauth/mcpauth/scopes"
)

// lastResponse records the status and challenge of the last HTTP response a client saw.
type lastResponse struct {
	mu     sync.Mutex
	status int
	header http.Header
}

func (l *lastResponse) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		l.mu.Lock()
		l.status, l.header = resp.StatusCode, resp.Header.Clone()
		l.mu.Unlock()
	}
	return resp, err
}

func (l *lastResponse) get() (int, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status, l.header.Get("WWW-Authenticate")
}

// fixture is a hub on loopback with a development issuer serving its JWKS.
type fixture struct {
	t      *testing.T
	srv    *httptest.Server
	hub    *hub.Hub
	dev    *mcpauthtest.DevIssuer
	issuer *httptest.Server
	notes  *notesStore
}

type notesStore struct {
	mu    sync.Mutex
	notes map[string][]string
}

func notesServer(store *notesStore) *server.MCPServer {
	s := server.NewMCPServer("notes", "1.0.0")
	s.AddTool(mcp.NewTool("whoami"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		tok := mcpauth.AccessTokenFromContext(ctx)
		if tok == nil {
			return mcp.NewToolResultText("anonymous"), nil
		}
		return mcp.NewToolResultText(tok.Subject + "@" + tok.TenantID), nil
	})
	s.AddTool(mcp.NewTool("list_notes", scopes.Required("notes:read")), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		tok := mcpauth.AccessTokenFromContext(ctx)
		store.mu.Lock()
		defer store.mu.Unlock()
		return mcp.NewToolResultText(strings.Join(store.notes[tok.TenantID], "|")), nil
	})
	s.AddTool(mcp.NewTool("add_note", mcp.WithString("text"), scopes.Required("notes:write")), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		tok := mcpauth.AccessTokenFromContext(ctx)
		store.mu.Lock()
		defer store.mu.Unlock()
		store.notes[tok.TenantID] = append(store.notes[tok.TenantID], req.GetString("text", ""))
		return mcp.NewToolResultText("ok"), nil
	})
	return s
}

func adminServer() *server.MCPServer {
	s := server.NewMCPServer("admin", "1.0.0")
	s.AddTool(mcp.NewTool("stats"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText("42"), nil
	})
	return s
}

func newFixture(t *testing.T, cfg hub.Config) *fixture {
	t.Helper()
	f := &fixture{t: t, notes: &notesStore{notes: map[string][]string{}}}
	// The issuer lives on its own loopback server, like a real IdP.
	mux := http.NewServeMux()
	f.issuer = httptest.NewServer(mux)
	t.Cleanup(f.issuer.Close)
	dev, err := mcpauthtest.NewDevIssuer(f.issuer.URL)
	require.NoError(t, err)
	f.dev = dev
	for _, p := range dev.Paths() {
		mux.Handle(p, dev.Handler())
	}

	hubMux := http.NewServeMux()
	f.srv = httptest.NewServer(hubMux)
	t.Cleanup(f.srv.Close)
	cfg.BaseURL = f.srv.URL
	if cfg.Verifier == nil && cfg.VerifierFor == nil {
		factory, err := bearer.NewFactory(dev.VerifierConfig())
		require.NoError(t, err)
		cfg.VerifierFor = factory
	}
	if cfg.AuthorizationServers == nil {
		cfg.AuthorizationServers = []string{dev.Issuer()}
	}
	if cfg.Audit == nil {
		cfg.Audit = audit.Discard
	}
	h, err := hub.New(cfg)
	require.NoError(t, err)
	f.hub = h
	hubMux.Handle("/", h)
	return f
}

func (f *fixture) mountDefault() {
	f.t.Helper()
	require.NoError(f.t, f.hub.Mount("notes", notesServer(f.notes)))
	require.NoError(f.t, f.hub.Mount("admin", adminServer(), hub.WithRequiredScopes(scopes.All("admin"))))
	require.NoError(f.t, f.hub.Mount("public", notesServer(f.notes), hub.Public()))
	require.NoError(f.t, f.hub.Mount("hidden", notesServer(f.notes), hub.WithHideForbiddenTools(true)))
	require.NoError(f.t, f.hub.Mount("acme", notesServer(f.notes), hub.WithAllowedTenants("acme")))
}

// token mints a token for service with the given claims.
func (f *fixture) token(sub, tenant, service string, scopesGranted ...string) string {
	f.t.Helper()
	c := bearer.NewClaims(sub).AddScopes(scopesGranted...).WithAudience(f.hub.ResourceURL(service))
	if tenant != "" {
		c.AddClaim("tenant_id", tenant)
	}
	tok, err := f.dev.Sign(c)
	require.NoError(f.t, err)
	return tok
}

// connect starts an mcp-go Streamable HTTP client to service with token (none when "").
func (f *fixture) connect(service, token string) (*client.Client, *lastResponse, error) {
	f.t.Helper()
	return f.connectVersion(service, token, mcp.LATEST_LEGACY_PROTOCOL_VERSION)
}

// connectVersion is connect with a chosen protocol version: sessions exist up to
// 2025-11-25; the 2026-07-28 protocol is sessionless.
func (f *fixture) connectVersion(service, token, version string) (*client.Client, *lastResponse, error) {
	f.t.Helper()
	rec := &lastResponse{}
	opts := []transport.StreamableHTTPCOption{transport.WithHTTPBasicClient(&http.Client{Transport: rec})}
	if token != "" {
		opts = append(opts, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	}
	c, err := client.NewStreamableHttpClient(f.hub.ResourceURL(service), opts...)
	require.NoError(f.t, err)
	f.t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		return c, rec, err
	}
	_, err = c.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{
		ProtocolVersion: version,
		ClientInfo:      mcp.Implementation{Name: "test", Version: "1"},
	}})
	return c, rec, err
}

func call(c *client.Client, tool string, args map[string]any) (*mcp.CallToolResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = tool
	req.Params.Arguments = args
	return c.CallTool(ctx, req)
}

func text(t *testing.T, r *mcp.CallToolResult) string {
	t.Helper()
	require.NotNil(t, r)
	require.NotEmpty(t, r.Content)
	tc, ok := r.Content[0].(mcp.TextContent)
	require.True(t, ok)
	return tc.Text
}

func (f *fixture) prmURL(service string) string {
	return f.srv.URL + "/.well-known/oauth-protected-resource/" + service + "/mcp"
}

func TestNoToken(t *testing.T) {
	f := newFixture(t, hub.Config{})
	f.mountDefault()
	_, rec, err := f.connect("notes", "")
	var authErr *transport.AuthorizationRequiredError
	require.ErrorAs(t, err, &authErr)
	assert.Equal(t, f.prmURL("notes"), authErr.ResourceMetadataURL)
	status, challenge := rec.get()
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Equal(t, `Bearer resource_metadata="`+f.prmURL("notes")+`", scope="notes:read notes:write"`, challenge,
		"without service scopes, a 401 asks for the scopes the service's tools use")

	_, rec, err = f.connect("admin", "")
	require.ErrorAs(t, err, &authErr)
	_, challenge = rec.get()
	assert.Equal(t, `Bearer resource_metadata="`+f.prmURL("admin")+`", scope="admin"`, challenge)
}

func TestRejectedTokens(t *testing.T) {
	f := newFixture(t, hub.Config{})
	f.mountDefault()

	other, err := mcpauthtest.NewDevIssuer(f.issuer.URL + "/other")
	require.NoError(t, err)
	otherTok, err := other.Sign(bearer.NewClaims("alice").AddScopes("notes:read").WithAudience(f.hub.ResourceURL("notes")))
	require.NoError(t, err)
	wrongIss, err := f.dev.Sign(bearer.NewClaims("alice").AddScopes("notes:read").WithAudience(f.hub.ResourceURL("notes")).WithIssuer("https://evil.example.com"))
	require.NoError(t, err)
	expired, err := f.dev.Sign(bearer.NewClaims("alice").AddScopes("notes:read").WithAudience(f.hub.ResourceURL("notes")).
		IssuedAt(time.Now().Add(-2 * time.Hour)).ExpiresIn(time.Hour))
	require.NoError(t, err)

	cases := map[string]struct{ token, desc string }{
		"garbage":        {"not-a-jwt", ""},
		"expired":        {expired, "expired"},
		"wrong audience": {f.token("alice", "acme", "admin", "notes:read"), "audience"},
		"wrong issuer":   {wrongIss, "issuer"},
		"unknown key":    {otherTok, ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, rec, err := f.connect("notes", tc.token)
			var authErr *transport.AuthorizationRequiredError
			require.ErrorAs(t, err, &authErr)
			status, challenge := rec.get()
			assert.Equal(t, http.StatusUnauthorized, status)
			assert.Contains(t, challenge, `error="invalid_token"`)
			assert.Contains(t, challenge, `resource_metadata="`+f.prmURL("notes")+`"`)
			assert.Contains(t, challenge, tc.desc)
		})
	}
}

func TestServiceScopeMissing(t *testing.T) {
	f := newFixture(t, hub.Config{})
	f.mountDefault()
	_, rec, err := f.connect("admin", f.token("alice", "acme", "admin", "notes:read"))
	require.Error(t, err)
	status, challenge := rec.get()
	assert.Equal(t, http.StatusForbidden, status)
	assert.Equal(t, `Bearer resource_metadata="`+f.prmURL("admin")+`", scope="notes:read admin", error="insufficient_scope", error_description="this resource requires scope admin"`, challenge)

	c, _, err := f.connect("admin", f.token("root", "", "admin", "admin"))
	require.NoError(t, err)
	r, err := call(c, "stats", nil)
	require.NoError(t, err)
	assert.Equal(t, "42", text(t, r))
}

func TestToolScopeStepUpAndAllowedCall(t *testing.T) {
	f := newFixture(t, hub.Config{})
	f.mountDefault()
	c, rec, err := f.connect("notes", f.token("bob", "acme", "notes", "notes:read"))
	require.NoError(t, err)
	_, err = call(c, "add_note", map[string]any{"text": "x"})
	require.Error(t, err)
	// The JSON-RPC error body tells an SDK client what is missing.
	assert.Contains(t, err.Error(), `insufficient_scope: tool "add_note" requires notes:write`)
	status, challenge := rec.get()
	assert.Equal(t, http.StatusForbidden, status)
	assert.Equal(t, `Bearer resource_metadata="`+f.prmURL("notes")+`", scope="notes:read notes:write", error="insufficient_scope", error_description="tool 'add_note' requires notes:write"`, challenge)

	r, err := call(c, "list_notes", nil)
	require.NoError(t, err)
	assert.False(t, r.IsError)

	// After step-up, the call goes through.
	c2, _, err := f.connect("notes", f.token("bob", "acme", "notes", "notes:read", "notes:write"))
	require.NoError(t, err)
	r, err = call(c2, "add_note", map[string]any{"text": "hello"})
	require.NoError(t, err)
	assert.Equal(t, "ok", text(t, r))

	// The same rules hold for a sessionless 2026-07-28 client.
	modern, rec, err := f.connectVersion("notes", f.token("bob", "acme", "notes", "notes:read"), mcp.LATEST_PROTOCOL_VERSION)
	require.NoError(t, err)
	_, err = call(modern, "add_note", map[string]any{"text": "x"})
	require.Error(t, err)
	status, _ = rec.get()
	assert.Equal(t, http.StatusForbidden, status)
	r, err = call(modern, "list_notes", nil)
	require.NoError(t, err)
	assert.Equal(t, "hello", text(t, r))
}

func listTools(t *testing.T, c *client.Client) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	require.NoError(t, err)
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	return names
}

func TestToolVisibility(t *testing.T) {
	f := newFixture(t, hub.Config{})
	f.mountDefault()
	c, _, err := f.connect("notes", f.token("bob", "acme", "notes", "notes:read"))
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"whoami", "list_notes", "add_note"}, listTools(t, c))

	c, _, err = f.connect("hidden", f.token("bob", "acme", "hidden", "notes:read"))
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"whoami", "list_notes"}, listTools(t, c))

	// The scope annotation is visible to clients in _meta.
	ctx := context.Background()
	res, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	require.NoError(t, err)
	for _, tool := range res.Tools {
		if tool.Name == "list_notes" {
			assert.Equal(t, []string{"notes:read"}, scopes.ForTool(tool).AllOf)
		}
	}
}

func TestTenantIsolation(t *testing.T) {
	f := newFixture(t, hub.Config{})
	f.mountDefault()
	alice, _, err := f.connect("notes", f.token("alice", "acme", "notes", "notes:read", "notes:write"))
	require.NoError(t, err)
	carol, _, err := f.connect("notes", f.token("carol", "globex", "notes", "notes:read", "notes:write"))
	require.NoError(t, err)
	_, err = call(alice, "add_note", map[string]any{"text": "acme secret"})
	require.NoError(t, err)
	_, err = call(carol, "add_note", map[string]any{"text": "globex plan"})
	require.NoError(t, err)
	r, err := call(carol, "list_notes", nil)
	require.NoError(t, err)
	assert.Equal(t, "globex plan", text(t, r))
	r, err = call(alice, "list_notes", nil)
	require.NoError(t, err)
	assert.Equal(t, "acme secret", text(t, r))

	// A service restricted to a tenant refuses the others.
	_, rec, err := f.connect("acme", f.token("carol", "globex", "acme", "notes:read"))
	require.Error(t, err)
	status, _ := rec.get()
	assert.Equal(t, http.StatusForbidden, status)
	_, _, err = f.connect("acme", f.token("alice", "acme", "acme", "notes:read"))
	require.NoError(t, err)
}

func TestSessionBoundToSubject(t *testing.T) {
	f := newFixture(t, hub.Config{})
	f.mountDefault()
	alice, _, err := f.connect("notes", f.token("alice", "acme", "notes", "notes:read"))
	require.NoError(t, err)
	sid := alice.GetSessionId()
	require.NotEmpty(t, sid)

	req, _ := http.NewRequest(http.MethodPost, f.hub.ResourceURL("notes"), strings.NewReader(`{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"whoami"}}`))
	req.Header.Set("Authorization", "Bearer "+f.token("mallory", "acme", "notes", "notes:read"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Session-Id", sid)
	req.Header.Set("Mcp-Protocol-Version", mcp.LATEST_LEGACY_PROTOCOL_VERSION)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Contains(t, string(body), "another principal")

	// alice keeps using her session.
	r, err := call(alice, "whoami", nil)
	require.NoError(t, err)
	assert.Equal(t, "alice@acme", text(t, r))
}

func TestHubLevelVersusServiceLevelRules(t *testing.T) {
	f := newFixture(t, hub.Config{RequiredScopes: scopes.All("mcp"), AllowedTenants: []string{"acme"}})
	require.NoError(t, f.hub.Mount("notes", notesServer(f.notes)))
	require.NoError(t, f.hub.Mount("admin", adminServer(), hub.WithRequiredScopes(scopes.All("admin")), hub.WithAllowedTenants()))

	// The hub's scope applies where the service sets none.
	_, rec, err := f.connect("notes", f.token("alice", "acme", "notes", "notes:read"))
	require.Error(t, err)
	status, challenge := rec.get()
	assert.Equal(t, http.StatusForbidden, status)
	assert.Contains(t, challenge, `scope="notes:read mcp"`)
	_, _, err = f.connect("notes", f.token("alice", "acme", "notes", "mcp"))
	require.NoError(t, err)
	// ... and so does its tenant rule.
	_, rec, err = f.connect("notes", f.token("carol", "globex", "notes", "mcp"))
	require.Error(t, err)
	status, _ = rec.get()
	assert.Equal(t, http.StatusForbidden, status)

	// The service's own rules replace the hub's.
	_, _, err = f.connect("admin", f.token("root", "globex", "admin", "admin"))
	require.NoError(t, err)
	_, rec, err = f.connect("admin", f.token("alice", "acme", "admin", "mcp"))
	require.Error(t, err)
	_, challenge = rec.get()
	assert.Contains(t, challenge, `scope="mcp admin"`)
}

func TestServiceVerifierOverride(t *testing.T) {
	f := newFixture(t, hub.Config{})
	machine := mcpauth.TokenVerifierFunc(func(_ context.Context, tok string) (*mcpauth.AccessToken, error) {
		if tok == "machine-key-123" {
			return &mcpauth.AccessToken{Subject: "robot", Provider: "static"}, nil
		}
		return nil, mcpauth.InvalidToken("unknown machine key", nil)
	})
	require.NoError(t, f.hub.Mount("machines", notesServer(f.notes), hub.WithVerifier(machine)))
	c, _, err := f.connect("machines", "machine-key-123")
	require.NoError(t, err)
	r, err := call(c, "whoami", nil)
	require.NoError(t, err)
	assert.Equal(t, "robot@", text(t, r))
	// The hub's issuer is not trusted there.
	_, _, err = f.connect("machines", f.token("alice", "acme", "machines"))
	require.Error(t, err)
}

func TestPublicService(t *testing.T) {
	f := newFixture(t, hub.Config{})
	f.mountDefault()
	c, _, err := f.connect("public", "")
	require.NoError(t, err)
	r, err := call(c, "whoami", nil)
	require.NoError(t, err)
	assert.Equal(t, "anonymous", text(t, r))
	// Scoped tools stay closed to anonymous callers.
	_, err = call(c, "list_notes", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "notes:read")

	resp, err := http.Get(f.prmURL("public"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func getJSON(t *testing.T, url string, v any) *http.Response {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
	return resp
}

func TestDiscoveryDocuments(t *testing.T) {
	f := newFixture(t, hub.Config{})
	f.mountDefault()

	for service, want := range map[string][]string{
		"notes":  {"notes:read", "notes:write"},
		"admin":  {"admin"},
		"hidden": {"notes:read", "notes:write"},
	} {
		var md hub.ProtectedResourceMetadata
		resp := getJSON(t, f.prmURL(service), &md)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		assert.Equal(t, f.srv.URL+"/"+service+"/mcp", md.Resource)
		assert.Equal(t, []string{f.dev.Issuer()}, md.AuthorizationServers)
		assert.Equal(t, want, md.ScopesSupported)
		assert.Equal(t, []string{"header"}, md.BearerMethodsSupported)
		assert.Equal(t, service, md.ResourceName)
	}

	var root hub.ProtectedResourceMetadata
	getJSON(t, f.srv.URL+"/.well-known/oauth-protected-resource", &root)
	assert.Equal(t, f.srv.URL, root.Resource)

	// The advertised issuer really serves RFC 8414 metadata and its JWKS.
	var as map[string]any
	getJSON(t, f.issuer.URL+"/.well-known/oauth-authorization-server", &as)
	assert.Equal(t, f.dev.Issuer(), as["issuer"])
	assert.Equal(t, f.dev.JWKSURI(), as["jwks_uri"])

	var health map[string]any
	resp := getJSON(t, f.srv.URL+"/healthz", &health)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "ok", health["status"])

	resp, err := http.Get(f.srv.URL + "/nope/mcp")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestConfigErrors(t *testing.T) {
	_, err := hub.New(hub.Config{})
	require.ErrorContains(t, err, "Config.BaseURL")
	_, err = hub.New(hub.Config{BaseURL: "mcp.example.com"})
	require.ErrorContains(t, err, "not an absolute http(s) URL")
	v := mcpauth.TokenVerifierFunc(func(context.Context, string) (*mcpauth.AccessToken, error) { return nil, errors.New("x") })
	_, err = hub.New(hub.Config{BaseURL: "https://x", Verifier: v, VerifierFor: func(string) (mcpauth.TokenVerifier, error) { return v, nil }})
	require.ErrorContains(t, err, "both Config.Verifier and Config.VerifierFor")

	h, err := hub.New(hub.Config{BaseURL: "https://x"})
	require.NoError(t, err)
	require.ErrorContains(t, h.Mount("notes", server.NewMCPServer("n", "1")), "has no verifier")
	require.ErrorContains(t, h.Mount("Bad Name", server.NewMCPServer("n", "1"), hub.Public()), "invalid")
	srv := server.NewMCPServer("n", "1")
	require.NoError(t, h.Mount("a", srv, hub.Public()))
	require.ErrorContains(t, h.Mount("a", server.NewMCPServer("n", "1"), hub.Public()), "already mounted")
	require.ErrorContains(t, h.Mount("b", srv, hub.Public()), "already mounted")
}

func TestSingleServerAtRoot(t *testing.T) {
	f := newFixture(t, hub.Config{})
	require.NoError(t, f.hub.Mount("", notesServer(f.notes)))
	assert.Equal(t, f.srv.URL+"/mcp", f.hub.ResourceURL(""))

	var md hub.ProtectedResourceMetadata
	resp := getJSON(t, f.srv.URL+"/.well-known/oauth-protected-resource/mcp", &md)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, f.srv.URL+"/mcp", md.Resource)

	_, rec, err := f.connect("", "")
	require.Error(t, err)
	_, challenge := rec.get()
	assert.Equal(t, `Bearer resource_metadata="`+f.srv.URL+`/.well-known/oauth-protected-resource/mcp", scope="notes:read notes:write"`, challenge)
	c, _, err := f.connect("", f.token("alice", "acme", "", "notes:read"))
	require.NoError(t, err)
	r, err := call(c, "whoami", nil)
	require.NoError(t, err)
	assert.Equal(t, "alice@acme", text(t, r))
}

// The metadata and the 401 challenge name the scopes of tools, prompts and resources
// alike, and never offline_access (refresh is the authorization server's business).
func TestScopesOfPromptsAndResourcesAreAdvertised(t *testing.T) {
	f := newFixture(t, hub.Config{})
	s := server.NewMCPServer("docs", "1.0.0")
	s.AddTool(mcp.NewTool("search", scopes.Required("docs:read", "offline_access")), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText("x"), nil
	})
	s.AddPrompt(mcp.NewPrompt("summarize", scopes.PromptRequired("docs:summarize")), func(context.Context, mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		return mcp.NewGetPromptResult("s", nil), nil
	})
	s.AddResource(mcp.NewResource("docs://index", "index", scopes.ResourceRequired("docs:export")), func(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		return nil, nil
	})
	require.NoError(t, f.hub.Mount("docs", s))
	require.NoError(t, f.hub.Mount("ops", adminServer(), hub.WithRequiredScopes(scopes.All("ops", "offline_access"))))

	var md hub.ProtectedResourceMetadata
	getJSON(t, f.srv.URL+"/.well-known/oauth-protected-resource/docs/mcp", &md)
	assert.Equal(t, []string{"docs:export", "docs:read", "docs:summarize"}, md.ScopesSupported)
	getJSON(t, f.srv.URL+"/.well-known/oauth-protected-resource/ops/mcp", &md)
	assert.Equal(t, []string{"ops"}, md.ScopesSupported)

	_, rec, err := f.connect("docs", "")
	require.Error(t, err)
	_, challenge := rec.get()
	assert.Equal(t, `Bearer resource_metadata="`+f.prmURL("docs")+`", scope="docs:export docs:read docs:summarize"`, challenge)
	_, rec, err = f.connect("ops", "")
	require.Error(t, err)
	_, challenge = rec.get()
	assert.Equal(t, `Bearer resource_metadata="`+f.prmURL("ops")+`", scope="ops"`, challenge)
}

// A scope hierarchy is explicit: without one, notes:write does not satisfy notes:read.
func TestScopeHierarchyIsExplicit(t *testing.T) {
	for _, tc := range []struct {
		name      string
		hierarchy scopes.Hierarchy
		allowed   bool
	}{
		{"none by default", nil, false},
		{"declared", scopes.Hierarchy{"notes:admin": {"notes:write"}, "notes:write": {"notes:read"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, hub.Config{ScopeHierarchy: tc.hierarchy})
			f.mountDefault()
			c, rec, err := f.connect("notes", f.token("alice", "acme", "notes", "notes:admin"))
			require.NoError(t, err)
			_, err = call(c, "list_notes", nil)
			if tc.allowed {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			status, challenge := rec.get()
			assert.Equal(t, http.StatusForbidden, status)
			assert.Contains(t, challenge, `scope="notes:admin notes:read"`)
		})
	}
	_, err := hub.New(hub.Config{BaseURL: "https://x", ScopeHierarchy: scopes.Hierarchy{"a": {""}}})
	require.ErrorContains(t, err, "Config.ScopeHierarchy")
}

// The hub's own metadata document sits where RFC 9728 puts it for a base URL with a
// path, and names that URL as its resource.
func TestHubMetadataUnderABasePath(t *testing.T) {
	h, err := hub.New(hub.Config{BaseURL: "https://mcp.example.com/base/", AuthorizationServers: []string{"https://as.example.com"}, Audit: audit.Discard})
	require.NoError(t, err)
	require.NoError(t, h.Mount("notes", adminServer(), hub.Public()))
	assert.Equal(t, "https://mcp.example.com/base/notes/mcp", h.ResourceURL("notes"), "a trailing slash does not double")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/.well-known/oauth-protected-resource/base", nil))
	require.Equal(t, http.StatusOK, w.Code)
	var md hub.ProtectedResourceMetadata
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &md))
	assert.Equal(t, "https://mcp.example.com/base", md.Resource)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/.well-known/oauth-protected-resource", nil))
	assert.Equal(t, http.StatusNotFound, w.Code)
}

// Mount calls the caller's code (VerifierFor) without holding the hub's lock, and a
// failed Mount leaves the name free.
func TestMountCallsUserCodeWithoutItsLock(t *testing.T) {
	var h *hub.Hub
	fail := true
	h, err := hub.New(hub.Config{BaseURL: "https://mcp.example.com", AuthorizationServers: []string{"https://as.example.com"}, Audit: audit.Discard,
		VerifierFor: func(resource string) (mcpauth.TokenVerifier, error) {
			_ = h.ResourceURL("notes") // took the hub's lock: a deadlock before
			if fail {
				return nil, errors.New("no keys yet")
			}
			return mcpauth.TokenVerifierFunc(func(context.Context, string) (*mcpauth.AccessToken, error) { return nil, mcpauth.InvalidToken("", nil) }), nil
		}})
	require.NoError(t, err)
	require.ErrorContains(t, h.Mount("notes", adminServer()), `building the verifier of service "notes": no keys yet`)
	assert.Equal(t, "", h.ResourceURL("notes"), "a failed mount leaves nothing behind")
	fail = false
	require.NoError(t, h.Mount("notes", adminServer()))
	assert.Equal(t, "https://mcp.example.com/notes/mcp", h.ResourceURL("notes"))
	require.ErrorContains(t, h.Mount("notes", adminServer()), "already mounted")
}

// MaxSessions bounds the sessions bound across services (a new one gets 503), and
// SessionIdleTTL ends an idle session in mcp-go and its binding with it, which frees
// the room.
func TestSessionLimitAndIdleTTL(t *testing.T) {
	f := newFixture(t, hub.Config{MaxSessions: 1, SessionIdleTTL: 10 * time.Millisecond})
	f.mountDefault()
	initialize := func(token string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, f.hub.ResourceURL("notes"), strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	alice, bob := f.token("alice", "acme", "notes", "notes:read"), f.token("bob", "acme", "notes", "notes:read")
	resp := initialize(alice)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get("Mcp-Session-Id"))
	resp = initialize(bob)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "the binder is full")
	assert.Equal(t, "30", resp.Header.Get("Retry-After"))
	assert.Empty(t, resp.Header.Get("Mcp-Session-Id"))
	// mcp-go's idle sweeper runs on its own clock (every second at least): wait for it to
	// end alice's idle session, which frees the binder.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if resp = initialize(bob); resp.StatusCode == http.StatusOK || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // mcp-go's sweeper cannot be driven by a test clock
	}
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the idle session ended and its binding with it")
}

// TestUnmountEndsTheServicesStreams: Unmount shuts the service's transport down, so an
// event stream open on it ends (and its idle-session sweeper stops with it).
func TestUnmountEndsTheServicesStreams(t *testing.T) {
	f := newFixture(t, hub.Config{})
	f.mountDefault()
	c, _, err := f.connect("admin", f.token("alice", "acme", "admin", "admin"))
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodGet, f.hub.ResourceURL("admin"), nil)
	req.Header.Set("Authorization", "Bearer "+f.token("alice", "acme", "admin", "admin"))
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Mcp-Session-Id", c.GetSessionId())
	req.Header.Set("Mcp-Protocol-Version", mcp.LATEST_LEGACY_PROTOCOL_VERSION)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	require.Equal(t, http.StatusOK, resp.StatusCode)
	ended := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, resp.Body)
		close(ended)
	}()

	require.NoError(t, f.hub.Unmount("admin"))
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the unmounted service's event stream is still open")
	}
}

// TestUnmount: an unmounted service answers 404 at its endpoint and its metadata, its
// name can be mounted again with a new server, and another service's session survives.
func TestUnmount(t *testing.T) {
	f := newFixture(t, hub.Config{})
	f.mountDefault()
	c, _, err := f.connect("notes", f.token("alice", "acme", "notes", "notes:read"))
	require.NoError(t, err)
	_, err = call(c, "list_notes", nil)
	require.NoError(t, err)

	require.NoError(t, f.hub.Unmount("admin"))
	assert.EqualError(t, f.hub.Unmount("admin"), `hub: no service "admin" is mounted`)
	for _, p := range []string{"/admin/mcp", "/.well-known/oauth-protected-resource/admin/mcp"} {
		resp, err := http.Get(f.srv.URL + p)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, p)
	}
	assert.Empty(t, f.hub.ResourceURL("admin"))

	// Mounted again, with a new server and another rule.
	require.NoError(t, f.hub.Mount("admin", adminServer(), hub.WithRequiredScopes(scopes.All("root"))))
	var md hub.ProtectedResourceMetadata
	resp, err := http.Get(f.prmURL("admin"))
	require.NoError(t, err)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&md))
	resp.Body.Close()
	assert.Equal(t, []string{"root"}, md.ScopesSupported)
	resp, err = http.Post(f.prmURL("admin"), "application/json", nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)

	// The notes session went on through all of it.
	_, err = call(c, "list_notes", nil)
	require.NoError(t, err)
}

// TestPublicServiceUnavailable: a public service has no bearer middleware; while it is
// down it answers 503 with Retry-After all the same, without the upstream's error.
func TestPublicServiceUnavailable(t *testing.T) {
	h, err := hub.New(hub.Config{BaseURL: "https://x"})
	require.NoError(t, err)
	down := errors.New("dial tcp 10.0.0.7:8080: connection refused")
	require.NoError(t, h.Mount("open", server.NewMCPServer("n", "1"), hub.Public(), hub.WithAvailability(func() error { return down })))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/open/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`)))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "5", rec.Header().Get("Retry-After"))
	assert.Contains(t, rec.Body.String(), `"error":"temporarily_unavailable"`)
	assert.NotContains(t, rec.Body.String(), "10.0.0.7")
}

// TestUnmountedServerIsNotMountedAgain: an unmounted server still carries the
// enforcement its mount installed, so mounting it again is refused (it would decide and
// audit every call twice); a new server takes the name.
func TestUnmountedServerIsNotMountedAgain(t *testing.T) {
	h, err := hub.New(hub.Config{BaseURL: "https://x"})
	require.NoError(t, err)
	srv := server.NewMCPServer("n", "1")
	require.NoError(t, h.Mount("a", srv, hub.Public()))
	require.NoError(t, h.Unmount("a"))
	require.ErrorContains(t, h.Mount("a", srv, hub.Public()), `this MCP server was already mounted as "a"`)
	require.NoError(t, h.Mount("a", server.NewMCPServer("n", "1"), hub.Public()))
}

// TestUnmountDuringMount: a service whose mount is still building (here, its verifier
// factory asks to unmount it) is not mounted yet: Unmount says so instead of shutting
// down a transport that does not exist, and the mount completes.
func TestUnmountDuringMount(t *testing.T) {
	var h *hub.Hub
	var unmountErr error
	h, err := hub.New(hub.Config{BaseURL: "https://mcp.example.com", AuthorizationServers: []string{"https://as.example.com"}, Audit: audit.Discard,
		VerifierFor: func(string) (mcpauth.TokenVerifier, error) {
			unmountErr = h.Unmount("notes")
			return mcpauth.TokenVerifierFunc(func(context.Context, string) (*mcpauth.AccessToken, error) { return nil, mcpauth.InvalidToken("", nil) }), nil
		}})
	require.NoError(t, err)
	require.NoError(t, h.Mount("notes", adminServer()))
	assert.EqualError(t, unmountErr, `hub: no service "notes" is mounted`)
	assert.Equal(t, "https://mcp.example.com/notes/mcp", h.ResourceURL("notes"))
	require.NoError(t, h.Unmount("notes"))
}
