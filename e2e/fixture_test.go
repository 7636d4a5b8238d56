package e2e_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/audit"
	"github.com/mcpauth/mcpauth/hub"
	"github.com/mcpauth/mcpauth/mcpauthtest"
	"github.com/mcpauth/mcpauth/providers/bearer"
	"github.com/mcpauth/mcpauth/scopes"
)

// fixture is a hub on loopback serving a notes service (and an admin service, whose
// tokens must not open notes), trusting a development issuer on its own loopback server.
type fixture struct {
	t      *testing.T
	hub    *hub.Hub
	base   string // the hub's base URL
	dev    *mcpauthtest.DevIssuer
	issuer string // the issuer's URL
}

// The endpoints of the authorization server (authServer) next to the development issuer.
const (
	authorizePath = "/authorize"
	tokenPath     = "/token"
)

// clientID is the OAuth client ID of the e2e clients. Whoever signs in through it is
// alice of tenant acme, who may be granted notes:read and notes:write.
const clientID = "mcpauth-e2e"

var alice = account{subject: "alice", tenant: "acme", entitled: []string{"notes:read", "notes:write"}}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t}

	issuerMux := http.NewServeMux()
	issuerSrv := httptest.NewServer(issuerMux)
	t.Cleanup(issuerSrv.Close)
	dev, err := mcpauthtest.NewDevIssuer(issuerSrv.URL)
	require.NoError(t, err)
	f.dev, f.issuer = dev, issuerSrv.URL
	issuerMux.Handle(dev.Paths()[0], dev.Handler())
	for _, p := range dev.Paths()[1:] {
		issuerMux.Handle(p, authorizationServerMetadata(dev))
	}
	as := &authServer{dev: dev, accounts: map[string]account{clientID: alice}, codes: map[string]codeGrant{}}
	as.register(issuerMux)

	hubMux := http.NewServeMux()
	hubSrv := httptest.NewServer(hubMux)
	t.Cleanup(hubSrv.Close)
	factory, err := bearer.NewFactory(dev.VerifierConfig())
	require.NoError(t, err)
	h, err := hub.New(hub.Config{
		BaseURL:              hubSrv.URL,
		VerifierFor:          factory,
		AuthorizationServers: []string{dev.Issuer()},
		Audit:                audit.Discard,
	})
	require.NoError(t, err)
	require.NoError(t, h.Mount("notes", notesServer(map[string][]string{"acme": {"buy milk", "call bob"}})))
	require.NoError(t, h.Mount("admin", adminServer(), hub.WithRequiredScopes(scopes.All("admin"))))
	hubMux.Handle("/", h)
	f.hub, f.base = h, hubSrv.URL
	return f
}

// authorizationServerMetadata serves the development issuer's RFC 8414 metadata with the
// authorization and token endpoints an OAuth client needs to start a sign-in (the
// development issuer has none of its own: it only signs tokens and serves its JWKS);
// authServer answers them.
func authorizationServerMetadata(dev *mcpauthtest.DevIssuer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		dev.Handler().ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			w.WriteHeader(rec.Code)
			return
		}
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		iss := strings.TrimSuffix(dev.Issuer(), "/")
		m["authorization_endpoint"] = iss + authorizePath
		m["token_endpoint"] = iss + tokenPath
		m["code_challenge_methods_supported"] = []string{"S256"}
		m["grant_types_supported"] = []string{"authorization_code", "refresh_token"}
		m["token_endpoint_auth_methods_supported"] = []string{"none"}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(m)
	})
}

// token signs a token for acc, issued to clientID, for the named service's resource URI,
// as the authorization server would have issued it.
func (f *fixture) token(acc account, service string, granted ...string) string {
	f.t.Helper()
	aud := f.hub.ResourceURL(service)
	require.NotEmpty(f.t, aud, "service %q is not mounted", service)
	c := bearer.NewClaims(acc.subject).AddScopes(granted...).WithAudience(aud).AddClaim("client_id", clientID)
	if acc.tenant != "" {
		c.AddClaim("tenant_id", acc.tenant)
	}
	tok, err := f.dev.Sign(c)
	require.NoError(f.t, err)
	return tok
}

// metadataURL is the protected resource metadata URL of the named service.
func (f *fixture) metadataURL(service string) string {
	return f.base + "/.well-known/oauth-protected-resource/" + service + "/mcp"
}

// notesServer is the README's notes service: whoami (no scope), list_notes (notes:read),
// add_note (notes:write), with notes kept per tenant.
func notesServer(seed map[string][]string) *server.MCPServer {
	var mu sync.Mutex
	notes := seed
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
		mu.Lock()
		defer mu.Unlock()
		return mcp.NewToolResultText(strings.Join(notes[tok.TenantID], "|")), nil
	})
	s.AddTool(mcp.NewTool("add_note", mcp.WithString("text", mcp.Required()), scopes.Required("notes:write")), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		tok := mcpauth.AccessTokenFromContext(ctx)
		mu.Lock()
		defer mu.Unlock()
		notes[tok.TenantID] = append(notes[tok.TenantID], req.GetString("text", ""))
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
