package hub_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcpauth/mcpauth/audit"
	"github.com/mcpauth/mcpauth/hub"
	"github.com/mcpauth/mcpauth/mcpauthtest"
	"github.com/mcpauth/mcpauth/providers/bearer"
	"github.com/mcpauth/mcpauth/scopes"
)

func Example() {
	// A development issuer stands in for the real identity provider.
	dev, _ := mcpauthtest.NewDevIssuer("https://issuer.example.com")
	cfg := dev.VerifierConfig()
	cfg.Keys = bearer.StaticKeys(dev.PublicKey())
	factory, _ := bearer.NewFactory(cfg)

	h, _ := hub.New(hub.Config{
		BaseURL:              "https://mcp.example.com",
		VerifierFor:          factory, // each service accepts only tokens minted for it
		AuthorizationServers: []string{dev.Issuer()},
		Audit:                audit.Discard,
	})
	notes := server.NewMCPServer("notes", "1.0.0")
	notes.AddTool(mcp.NewTool("add_note", scopes.Required("notes:write")),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText("ok"), nil
		})
	_ = h.Mount("notes", notes)
	_ = h.Mount("admin", server.NewMCPServer("admin", "1.0.0"), hub.WithRequiredScopes(scopes.All("admin")))

	send := func(service, token, session, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", h.ResourceURL(service), strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		if session != "" {
			r.Header.Set("Mcp-Session-Id", session)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	// ask opens a session and calls add_note in it.
	ask := func(service, token string) {
		init := send(service, token, "", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`)
		w := send(service, token, init.Header().Get("Mcp-Session-Id"), `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add_note"}}`)
		fmt.Println(service, w.Code, w.Header().Get("WWW-Authenticate"))
	}
	bob, _ := dev.Mint("bob", h.ResourceURL("notes"), "notes:read")
	ask("notes", "")
	ask("notes", bob)
	ask("admin", bob) // minted for notes: refused by admin

	md := httptest.NewRecorder()
	h.ServeHTTP(md, httptest.NewRequest(http.MethodGet, "/.well-known/oauth-protected-resource/notes/mcp", nil))
	fmt.Print(md.Body.String())
	// Output:
	// notes 401 Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/notes/mcp", scope="notes:write"
	// notes 403 Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/notes/mcp", scope="notes:read notes:write", error="insufficient_scope", error_description="tool 'add_note' requires notes:write"
	// admin 401 Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/admin/mcp", scope="admin", error="invalid_token", error_description="token audience does not match this resource"
	// {"resource":"https://mcp.example.com/notes/mcp","authorization_servers":["https://issuer.example.com"],"scopes_supported":["notes:write"],"bearer_methods_supported":["header"],"resource_name":"notes"}
}
