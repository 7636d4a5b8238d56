package e2e_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/audit"
	"github.com/mcpauth/mcpauth/gateway"
	"github.com/mcpauth/mcpauth/hub"
)

// everythingJS is the reference "everything" server's entry point (e2e/servers).
func everythingJS(t *testing.T) (node, script string) {
	t.Helper()
	node = requireNode(t)
	script, err := filepath.Abs(filepath.Join("servers", "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js"))
	require.NoError(t, err)
	if _, err := os.Stat(script); err != nil {
		t.Fatalf("MCPAUTH_E2E_NODE=1 but %s is missing (%v): run npm ci --prefix e2e/servers", script, err)
	}
	return node, script
}

// everythingPolicy: the long operation needs ops:long; get-env (the server's whole
// environment) is hidden; everything else needs tools:call; prompts need prompts:read.
var everythingPolicy = gateway.Policy{
	Rules: []gateway.Rule{
		{Match: "trigger-long-running-operation", Scopes: []string{"tools:call", "ops:long"}},
		{Match: "get-env", Hidden: true},
		{Kind: "prompt", Match: "*", Scopes: []string{"prompts:read"}},
	},
	Default: []string{"tools:call"},
}

// gatewayHub mounts svc on a hub whose tokens are "caller" (tools:call, prompts:read)
// and "operator" (also ops:long).
func gatewayHub(t *testing.T, svcs map[string]*gateway.Service) string {
	t.Helper()
	tokens := map[string]*mcpauth.AccessToken{
		"caller":   {Subject: "caller", Issuer: "iss", Scopes: []string{"tools:call", "prompts:read"}},
		"operator": {Subject: "operator", Issuer: "iss", Scopes: []string{"tools:call", "prompts:read", "ops:long"}},
	}
	h, err := hub.New(hub.Config{BaseURL: "http://127.0.0.1", Audit: audit.Discard, Verifier: mcpauth.TokenVerifierFunc(func(_ context.Context, tok string) (*mcpauth.AccessToken, error) {
		if at, ok := tokens[tok]; ok {
			return at, nil
		}
		return nil, mcpauth.InvalidToken("unknown token", nil)
	})})
	require.NoError(t, err)
	for name, svc := range svcs {
		require.NoError(t, svc.WaitReady(t.Context()), name)
		require.NoError(t, h.Mount(name, svc.Server()))
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs.URL
}

// mcpClient connects to endpoint as token over Streamable HTTP (protocol 2025-11-25, with
// a session: progress arrives on its stream), recording notifications.
type mcpClient struct {
	c        *client.Client
	mu       sync.Mutex
	progress []float64
	gotProg  chan struct{}
}

func newMCPClient(t *testing.T, endpoint, token string) *mcpClient {
	t.Helper()
	c, err := client.NewStreamableHttpClient(endpoint, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	m := &mcpClient{c: c, gotProg: make(chan struct{}, 64)}
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method == "notifications/progress" {
			m.mu.Lock()
			p, _ := n.Params.AdditionalFields["progress"].(float64)
			m.progress = append(m.progress, p)
			m.mu.Unlock()
			m.gotProg <- struct{}{}
		}
	})
	require.NoError(t, c.Start(t.Context()))
	_, err = c.Initialize(t.Context(), mcp.InitializeRequest{Params: mcp.InitializeParams{ProtocolVersion: mcp.LATEST_LEGACY_PROTOCOL_VERSION, ClientInfo: mcp.Implementation{Name: "e2e", Version: "1"}}})
	require.NoError(t, err)
	return m
}

func (m *mcpClient) call(ctx context.Context, name string, args map[string]any, progress mcp.ProgressToken) (*mcp.CallToolResult, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	if progress != nil {
		req.Params.Meta = &mcp.Meta{ProgressToken: progress}
	}
	return m.c.CallTool(ctx, req)
}

func resultText(r *mcp.CallToolResult) string {
	var parts []string
	for _, c := range r.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "")
}

// TestGatewayEverythingStdio: the reference "everything" server as a child process
// behind the hub: a plain call, a call streaming progress, a cancelled long call, a
// resource read, a prompt, a hidden tool, a per-tool scope refusal, and the child
// killed mid-call then back.
func TestGatewayEverythingStdio(t *testing.T) {
	node, script := everythingJS(t)
	connected := make(chan struct{}, 8)
	svc, err := gateway.New(gateway.Config{Name: "everything", Command: node, Args: []string{script, "stdio"}, Policy: everythingPolicy,
		OnConnect: func() { connected <- struct{}{} }})
	require.NoError(t, err)
	t.Cleanup(func() { svc.Close() })
	memory, err := gateway.New(gateway.Config{Name: "memory", Command: node,
		Args: []string{filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(script))), "server-memory", "dist", "index.js")},
		Env:  []string{"MEMORY_FILE_PATH=" + filepath.Join(t.TempDir(), "memory.jsonl")}, Policy: gateway.Policy{Default: []string{"tools:call"}}})
	require.NoError(t, err)
	t.Cleanup(func() { memory.Close() })
	base := gatewayHub(t, map[string]*gateway.Service{"everything": svc, "memory": memory})
	<-connected
	checkEverything(t, base+"/everything/mcp")

	// A second stdio service: the memory server's knowledge graph.
	mem := newMCPClient(t, base+"/memory/mcp", "caller")
	_, err = mem.call(t.Context(), "create_entities", map[string]any{"entities": []map[string]any{{"name": "mcpauth", "entityType": "library", "observations": []string{"written in Go"}}}}, nil)
	require.NoError(t, err)
	r, err := mem.call(t.Context(), "read_graph", nil, nil)
	require.NoError(t, err)
	assert.Contains(t, resultText(r), "written in Go")

	// The child dies in the middle of a call: the call fails clearly, the child is
	// started again, and the next call works.
	op := newMCPClient(t, base+"/everything/mcp", "operator")
	errc := make(chan error, 1)
	go func() {
		_, err := op.call(t.Context(), "trigger-long-running-operation", map[string]any{"duration": 30, "steps": 30}, "op-kill")
		errc <- err
	}()
	<-op.gotProg
	killChild(t, script)
	select {
	case err := <-errc:
		require.Error(t, err)
		assert.Contains(t, err.Error(), gateway.ErrUnavailable.Error())
	case <-time.After(10 * time.Second):
		t.Fatal("the call did not fail when its upstream died")
	}
	select {
	case <-connected:
	case <-time.After(30 * time.Second):
		t.Fatal("the child was not started again")
	}
	r, err = op.call(t.Context(), "echo", map[string]any{"message": "back"}, nil)
	require.NoError(t, err)
	assert.Equal(t, "Echo: back", resultText(r))
}

// killChild kills this test process's child running script with "stdio" (Linux /proc).
func killChild(t *testing.T, script string) {
	t.Helper()
	dirs, err := os.ReadDir("/proc")
	require.NoError(t, err)
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(b), script+"\x00stdio") {
			continue
		}
		status, err := os.ReadFile(filepath.Join("/proc", d.Name(), "status"))
		if err != nil || !strings.Contains(string(status), "\nPPid:\t"+strconv.Itoa(os.Getpid())+"\n") {
			continue // not the gateway's child of this test
		}
		pid, err := strconv.Atoi(d.Name())
		require.NoError(t, err)
		require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
		return
	}
	t.Fatal("the everything server's process was not found")
}

// TestGatewayEverythingHTTP: the same server over Streamable HTTP.
func TestGatewayEverythingHTTP(t *testing.T) {
	port := startEverything(t, "streamableHttp")
	svc, err := gateway.New(gateway.Config{Name: "everything", URL: "http://127.0.0.1:" + port + "/mcp", Policy: everythingPolicy})
	require.NoError(t, err)
	t.Cleanup(func() { svc.Close() })
	base := gatewayHub(t, map[string]*gateway.Service{"everything": svc})
	checkEverything(t, base+"/everything/mcp")
}

// TestGatewayEverythingSSE: the same server over the legacy HTTP+SSE transport.
func TestGatewayEverythingSSE(t *testing.T) {
	port := startEverything(t, "sse")
	svc, err := gateway.New(gateway.Config{Name: "everything", URL: "http://127.0.0.1:" + port + "/sse", SSE: true, Policy: everythingPolicy})
	require.NoError(t, err)
	t.Cleanup(func() { svc.Close() })
	base := gatewayHub(t, map[string]*gateway.Service{"everything": svc})
	checkEverything(t, base+"/everything/mcp")
}

// startEverything starts the everything server with an HTTP transport on a free port
// and returns the port once it listens.
func startEverything(t *testing.T, transport string) string {
	t.Helper()
	node, script := everythingJS(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	cmd := exec.Command(node, script, transport)
	cmd.Env = append(os.Environ(), "PORT="+port)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		// streamableHttp says "listening on port", sse "running on port".
		if strings.Contains(sc.Text(), "listening on port") || strings.Contains(sc.Text(), "running on port") {
			break
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	return port
}

func checkEverything(t *testing.T, endpoint string) {
	caller := newMCPClient(t, endpoint, "caller")
	ctx := t.Context()

	tools, err := caller.c.ListTools(ctx, mcp.ListToolsRequest{})
	require.NoError(t, err)
	names := map[string]bool{}
	for _, tl := range tools.Tools {
		names[tl.Name] = true
	}
	assert.True(t, names["echo"])
	assert.True(t, names["trigger-long-running-operation"], "listed: hiding forbidden tools is off by default")
	assert.False(t, names["get-env"], "hidden by the policy")

	r, err := caller.call(ctx, "echo", map[string]any{"message": "through the gateway"}, nil)
	require.NoError(t, err)
	assert.Equal(t, "Echo: through the gateway", resultText(r))
	_, err = caller.call(ctx, "get-env", nil, nil)
	require.Error(t, err, "a hidden tool cannot be called")

	// The caller lacks ops:long: refused before the upstream sees it.
	_, err = caller.call(ctx, "trigger-long-running-operation", map[string]any{"duration": 1, "steps": 2}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "insufficient_scope")

	// Progress streams back to the operator.
	op := newMCPClient(t, endpoint, "operator")
	r, err = op.call(ctx, "trigger-long-running-operation", map[string]any{"duration": 1, "steps": 3}, "op-1")
	require.NoError(t, err)
	assert.Contains(t, resultText(r), "Long running operation completed")
	// mcp-go's client hands notifications over concurrently with results: a progress
	// notification sent just before the result may come after it, and is then dropped
	// (MCP: no progress after the response). The others arrive.
	op.mu.Lock()
	assert.NotEmpty(t, op.progress)
	assert.Subset(t, []float64{1, 2, 3}, op.progress)
	op.mu.Unlock()

	// A cancelled long call returns at once.
	cctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		_, err := op.call(cctx, "trigger-long-running-operation", map[string]any{"duration": 30, "steps": 30}, "op-2")
		errc <- err
	}()
	<-op.gotProg // it is running upstream
	cancel()
	select {
	case err := <-errc:
		require.Error(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the cancelled call did not return")
	}

	// A resource and a prompt.
	res, err := caller.c.ListResources(ctx, mcp.ListResourcesRequest{})
	require.NoError(t, err)
	require.NotEmpty(t, res.Resources)
	rr, err := caller.c.ReadResource(ctx, mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: res.Resources[0].URI}})
	require.NoError(t, err)
	require.NotEmpty(t, rr.Contents)
	p, err := caller.c.GetPrompt(ctx, mcp.GetPromptRequest{Params: mcp.GetPromptParams{Name: "simple-prompt"}})
	require.NoError(t, err)
	require.NotEmpty(t, p.Messages)
	b, _ := json.Marshal(p.Messages[0])
	assert.Contains(t, string(b), "simple prompt")
}
