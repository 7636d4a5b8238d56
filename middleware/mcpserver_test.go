package middleware_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/audit"
	"github.com/mcpauth/mcpauth/middleware"
	"github.com/mcpauth/mcpauth/scopes"
)

func newMCPServer(cfg middleware.ServerConfig) *server.MCPServer {
	srv := server.NewMCPServer("t", "1.0.0", append(middleware.ServerOptions(cfg), server.WithTaskCapabilities(true, true, true))...)
	ok := func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText("ran"), nil
	}
	srv.AddTool(mcp.NewTool("whoami"), ok)
	srv.AddTool(mcp.NewTool("list_notes", scopes.Required("notes:read")), ok)
	srv.AddTool(mcp.NewTool("add_note", scopes.Required("notes:write")), ok)
	srv.AddTool(mcp.NewTool("export", scopes.Required("notes:write"), mcp.WithTaskSupport(mcp.TaskSupportOptional)), ok)
	srv.AddPrompt(mcp.NewPrompt("summary", scopes.PromptRequired("notes:read")), func(context.Context, mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		return mcp.NewGetPromptResult("s", nil), nil
	})
	srv.AddResource(mcp.NewResource("notes://all", "all", scopes.ResourceRequired("notes:read")), func(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		return []mcp.ResourceContents{mcp.TextResourceContents{URI: "notes://all", Text: "n"}}, nil
	})
	return srv
}

// rpc sends one JSON-RPC request to srv as the given principal and returns the decoded
// response.
func rpc(t *testing.T, srv *server.MCPServer, tok *mcpauth.AccessToken, method string, params any) map[string]any {
	t.Helper()
	ctx := context.Background()
	if tok != nil {
		ctx = mcpauth.WithAccessToken(ctx, tok)
	}
	msg, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	require.NoError(t, err)
	resp := srv.HandleMessage(ctx, msg)
	b, err := json.Marshal(resp)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

func toolNames(resp map[string]any) []string {
	var names []string
	for _, t := range resp["result"].(map[string]any)["tools"].([]any) {
		names = append(names, t.(map[string]any)["name"].(string))
	}
	return names
}

var bob = &mcpauth.AccessToken{Subject: "bob", Scopes: []string{"notes:read"}}
var alice = &mcpauth.AccessToken{Subject: "alice", Scopes: []string{"notes:read", "notes:write"}}

func TestInServerToolDenialNamesMissingScopes(t *testing.T) {
	sink := &audit.Recorder{}
	srv := newMCPServer(middleware.ServerConfig{Audit: sink, Service: "notes"})
	resp := rpc(t, srv, bob, "tools/call", map[string]any{"name": "add_note"})
	require.Contains(t, resp, "error", resp)
	msg := resp["error"].(map[string]any)["message"].(string)
	assert.Contains(t, msg, `insufficient_scope: tool "add_note" requires notes:write`)
	ev := sink.Events()
	require.Len(t, ev, 1)
	assert.Equal(t, audit.Deny, ev[0].Decision)
	assert.Equal(t, "add_note", ev[0].Target)
	assert.Equal(t, "tool", ev[0].TargetKind)
	assert.Equal(t, "tools/call", ev[0].RPCMethod)
	assert.Equal(t, audit.ReasonInsufficientScope, ev[0].Reason)

	resp = rpc(t, srv, alice, "tools/call", map[string]any{"name": "add_note"})
	assert.Equal(t, "ran", resp["result"].(map[string]any)["content"].([]any)[0].(map[string]any)["text"])
	assert.Equal(t, audit.Allow, sink.Events()[1].Decision, "without the HTTP layer, the server records the allow")

	// No token at all: no scope.
	resp = rpc(t, srv, nil, "tools/call", map[string]any{"name": "list_notes"})
	require.Contains(t, resp, "error")
	resp = rpc(t, srv, nil, "tools/call", map[string]any{"name": "whoami"})
	require.Contains(t, resp, "result")
}

func TestToolsListVisibleByDefault(t *testing.T) {
	srv := newMCPServer(middleware.ServerConfig{Audit: audit.Discard})
	// Visible mode keeps sync tools for step-up but never lists a task-capable tool the
	// caller cannot run (the task path bypasses tool middleware).
	assert.Equal(t, []string{"add_note", "list_notes", "whoami"}, toolNames(rpc(t, srv, bob, "tools/list", nil)))
	assert.Equal(t, []string{"add_note", "export", "list_notes", "whoami"}, toolNames(rpc(t, srv, alice, "tools/list", nil)))
}

func TestToolsListHidden(t *testing.T) {
	srv := newMCPServer(middleware.ServerConfig{HideForbidden: true, Audit: audit.Discard})
	assert.Equal(t, []string{"list_notes", "whoami"}, toolNames(rpc(t, srv, bob, "tools/list", nil)))
	assert.Equal(t, []string{"whoami"}, toolNames(rpc(t, srv, nil, "tools/list", nil)))
	// A hidden tool cannot be called either.
	resp := rpc(t, srv, bob, "tools/call", map[string]any{"name": "add_note"})
	require.Contains(t, resp, "error")
}

func TestTaskToolRefusedWithoutScope(t *testing.T) {
	srv := newMCPServer(middleware.ServerConfig{Audit: audit.Discard})
	resp := rpc(t, srv, bob, "tools/call", map[string]any{"name": "export", "task": map[string]any{}})
	require.Contains(t, resp, "error", "a task-augmented call must not bypass the scope check")
	resp = rpc(t, srv, alice, "tools/call", map[string]any{"name": "export", "task": map[string]any{}})
	require.Contains(t, resp, "result", resp)
}

func TestPromptsAndResources(t *testing.T) {
	srv := newMCPServer(middleware.ServerConfig{Audit: audit.Discard})
	resp := rpc(t, srv, nil, "prompts/get", map[string]any{"name": "summary"})
	require.Contains(t, resp, "error")
	assert.Contains(t, resp["error"].(map[string]any)["message"], `prompt "summary" requires notes:read`)
	assert.Contains(t, rpc(t, srv, bob, "prompts/get", map[string]any{"name": "summary"}), "result")
	// Prompts stay visible, like tools, so that a client can step up.
	list := rpc(t, srv, nil, "prompts/list", nil)["result"].(map[string]any)["prompts"].([]any)
	require.Len(t, list, 1)
	assert.Equal(t, "summary", list[0].(map[string]any)["name"])
	hidden := newMCPServer(middleware.ServerConfig{Audit: audit.Discard, HideForbidden: true})
	assert.Empty(t, rpc(t, hidden, nil, "prompts/list", nil)["result"].(map[string]any)["prompts"])
	assert.Len(t, rpc(t, hidden, bob, "prompts/list", nil)["result"].(map[string]any)["prompts"], 1)

	resp = rpc(t, srv, nil, "resources/read", map[string]any{"uri": "notes://all"})
	require.Contains(t, resp, "error")
	assert.Contains(t, resp["error"].(map[string]any)["message"], `resource "notes://all" requires notes:read`)
	assert.Contains(t, rpc(t, srv, bob, "resources/read", map[string]any{"uri": "notes://all"}), "result")
}

func TestStdioPrincipal(t *testing.T) {
	t.Setenv("MCPAUTH_STDIO_SUBJECT", "ci-bot")
	t.Setenv("MCPAUTH_STDIO_SCOPES", "notes:read, notes:write")
	t.Setenv("MCPAUTH_STDIO_TENANT", "acme")
	p, err := middleware.PrincipalFromEnv("")
	require.NoError(t, err)
	assert.Equal(t, "ci-bot", p.Subject)
	assert.Equal(t, []string{"notes:read", "notes:write"}, p.Scopes)
	assert.Equal(t, "acme", p.TenantID)

	t.Setenv("MCPAUTH_STDIO_SUBJECT", "")
	_, err = middleware.PrincipalFromEnv("")
	require.ErrorContains(t, err, "MCPAUTH_STDIO_SUBJECT")

	// Over real stdio pipes, the same rules apply.
	srv := newMCPServer(middleware.ServerConfig{Audit: audit.Discard})
	stdio := server.NewStdioServer(srv)
	stdio.SetContextFunc(middleware.StdioContext(bob))
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- stdio.Listen(ctx, inR, outW) }()
	dec := json.NewDecoder(outR)
	send := func(id int, method string, params any) map[string]any {
		b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
		_, err := fmt.Fprintf(inW, "%s\n", b)
		require.NoError(t, err)
		var resp map[string]any
		require.NoError(t, dec.Decode(&resp))
		return resp
	}
	send(1, "initialize", map[string]any{"protocolVersion": "2025-06-18", "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "t", "version": "1"}})
	denied := send(2, "tools/call", map[string]any{"name": "add_note"})
	require.Contains(t, denied, "error")
	assert.True(t, strings.Contains(denied["error"].(map[string]any)["message"].(string), "notes:write"))
	allowed := send(3, "tools/call", map[string]any{"name": "list_notes"})
	require.Contains(t, allowed, "result")
	cancel()
	inW.Close()
	<-done
}

// toolSession is a client session with its own tools, which shadow the server's.
type toolSession struct {
	tools map[string]server.ServerTool
	ch    chan mcp.JSONRPCNotification
}

func (s *toolSession) Initialize()                                         {}
func (s *toolSession) Initialized() bool                                   { return true }
func (s *toolSession) NotificationChannel() chan<- mcp.JSONRPCNotification { return s.ch }
func (s *toolSession) SessionID() string                                   { return "session-with-tools" }
func (s *toolSession) GetSessionTools() map[string]server.ServerTool       { return s.tools }
func (s *toolSession) SetSessionTools(t map[string]server.ServerTool)      { s.tools = t }

func TestSessionToolShadowingIsChecked(t *testing.T) {
	srv := newMCPServer(middleware.ServerConfig{Audit: audit.Discard})
	// The session's own "whoami" needs a scope the server's "whoami" does not.
	sess := &toolSession{ch: make(chan mcp.JSONRPCNotification, 1), tools: map[string]server.ServerTool{
		"whoami": {Tool: mcp.NewTool("whoami", scopes.Required("admin")), Handler: func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText("secret"), nil
		}},
	}}
	ctx := srv.WithContext(mcpauth.WithAccessToken(context.Background(), bob), sess)
	msg := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami"}}`)
	b, err := json.Marshal(srv.HandleMessage(ctx, msg))
	require.NoError(t, err)
	assert.Contains(t, string(b), `tool \"whoami\" requires admin`)
	assert.NotContains(t, string(b), "secret")
}
