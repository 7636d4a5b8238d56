package middleware_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/audit"
	"github.com/mcpauth/mcpauth/middleware"
	"github.com/mcpauth/mcpauth/scopes"
)

func Example() {
	// One mcp-go server with a scoped tool and in-server enforcement: the server
	// decides, the bearer middleware renders a refusal as a step-up challenge.
	srv := server.NewMCPServer("notes", "1.0.0", middleware.ServerOptions(middleware.ServerConfig{Audit: audit.Discard})...)
	srv.AddTool(mcp.NewTool("add_note", scopes.Required("notes:write")),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText("ok"), nil
		})

	verifier := mcpauth.TokenVerifierFunc(func(_ context.Context, token string) (*mcpauth.AccessToken, error) {
		if token == "bob" {
			return &mcpauth.AccessToken{Subject: "bob", Scopes: []string{"notes:read"}}, nil
		}
		return nil, mcpauth.InvalidToken("unknown token", nil)
	})
	handler := middleware.Bearer(middleware.Config{
		Verifier:            verifier,
		ResourceMetadataURL: "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
		Audit:               audit.Discard,
	})(server.NewStreamableHTTPServer(srv, server.WithStateLess(true)))

	ts := httptest.NewServer(handler)
	defer ts.Close()

	req, _ := http.NewRequest("POST", ts.URL+"/mcp", strings.NewReader(
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add_note"}}`))
	req.Header.Set("Authorization", "Bearer bob")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	fmt.Println(resp.Header.Get("WWW-Authenticate"))
	// Output:
	// 403
	// Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", scope="notes:read notes:write", error="insufficient_scope", error_description="tool 'add_note' requires notes:write"
}
