package gateway_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/audit"
	"github.com/mcpauth/mcpauth/gateway"
	"github.com/mcpauth/mcpauth/hub"
)

// TestMountedOnAHub: tools the hub did not write get the same enforcement as native
// ones: the policy's scopes are required, with the 403 step-up; the caller's token never
// reaches the upstream.
func TestMountedOnAHub(t *testing.T) {
	var upstreamAuth []string
	up := server.NewMCPServer("third-party", "1.0.0", server.WithToolCapabilities(true))
	up.AddTool(mcp.NewTool("echo"), func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText("echoed"), nil
	})
	up.AddTool(mcp.NewTool("delete_repo"), func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText("deleted"), nil
	})
	upHTTP := server.NewStreamableHTTPServer(up)
	ups := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upstreamAuth = append(upstreamAuth, r.Header.Get("Authorization")+"|"+r.Header.Get("X-Api-Key"))
		upHTTP.ServeHTTP(w, r)
	}))
	t.Cleanup(ups.Close)

	svc, err := gateway.New(gateway.Config{
		Name: "third-party", URL: ups.URL + "/mcp",
		Headers: map[string]mcpauth.Secret{"X-Api-Key": mcpauth.NewSecret("service-key")},
		Policy:  gateway.Policy{Rules: []gateway.Rule{{Match: "delete_*", Scopes: []string{"repo:admin"}}}, Default: []string{"repo:read"}},
	})
	require.NoError(t, err)
	t.Cleanup(func() { svc.Close() })
	require.NoError(t, svc.WaitReady(t.Context()))

	tokens := map[string]*mcpauth.AccessToken{
		"reader": {Subject: "r", Issuer: "iss", Scopes: []string{"repo:read"}},
		"admin":  {Subject: "a", Issuer: "iss", Scopes: []string{"repo:read", "repo:admin"}},
	}
	h, err := hub.New(hub.Config{BaseURL: "http://127.0.0.1", Audit: audit.Discard, Verifier: mcpauth.TokenVerifierFunc(func(_ context.Context, tok string) (*mcpauth.AccessToken, error) {
		if at, ok := tokens[tok]; ok {
			return at, nil
		}
		return nil, mcpauth.InvalidToken("unknown", nil)
	})})
	require.NoError(t, err)
	require.NoError(t, h.Mount("repos", svc.Server()))
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)

	post := func(token, tool, body string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodPost, hs.URL+"/repos/mcp", strings.NewReader(body))
		req.Header.Set("Mcp-Method", "tools/call")
		req.Header.Set("Mcp-Name", tool)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	call := func(name string) string {
		return `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"` + name + `","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}`
	}
	resp, body := post("reader", "echo", call("echo"))
	assert.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, "echoed")
	resp, body = post("reader", "delete_repo", call("delete_repo"))
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, body)
	assert.Contains(t, resp.Header.Get("WWW-Authenticate"), `scope="repo:read repo:admin"`)
	assert.NotContains(t, body, "deleted")
	resp, body = post("admin", "delete_repo", call("delete_repo"))
	assert.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, "deleted")

	for _, a := range upstreamAuth {
		assert.Equal(t, "|service-key", a, "the upstream sees the service's key, never the caller's token")
	}
}
