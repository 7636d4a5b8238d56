package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/scopes"
)

// TestMain lets the test binary be the child MCP server of the stdio tests.
func TestMain(m *testing.M) {
	if os.Getenv("GATEWAY_TEST_STDIO_SERVER") == "1" {
		up := upstreamServer(nil)
		// process tells the test how the child was started: its environment and
		// whether it leads its own process group.
		up.AddTool(mcp.NewTool("process"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText(fmt.Sprintf("own group: %v\n%s", ownProcessGroup(), strings.Join(os.Environ(), "\n"))), nil
		})
		if err := server.ServeStdio(up); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// upstreamServer is an MCP server nobody wrapped: tools (one slow, reporting progress),
// a prompt, a resource, a template. release, when set, lets the slow tool finish.
func upstreamServer(release chan struct{}) *server.MCPServer {
	s := server.NewMCPServer("upstream", "1.0.0", server.WithToolCapabilities(true), server.WithPromptCapabilities(true), server.WithResourceCapabilities(false, true))
	s.AddTool(mcp.NewTool("echo", mcp.WithString("text")), func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText("echo: " + r.GetString("text", "")), nil
	})
	s.AddTool(mcp.NewTool("delete_everything"), func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText("deleted"), nil
	})
	s.AddTool(mcp.NewTool("debug_dump"), func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText("secret internals"), nil
	})
	s.AddTool(mcp.NewTool("slow"), func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if m := r.Params.Meta; m != nil && m.ProgressToken != nil {
			for i := 1; i <= 3; i++ {
				_ = server.ServerFromContext(ctx).SendNotificationToClient(ctx, "notifications/progress", map[string]any{"progressToken": m.ProgressToken, "progress": i, "total": 3})
			}
		}
		if release != nil {
			select {
			case <-release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return mcp.NewToolResultText("slow done"), nil
	})
	s.AddTool(mcp.NewTool("block"), func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		blockStarted <- struct{}{}
		<-ctx.Done()
		blockCancelled <- struct{}{}
		return nil, ctx.Err()
	})
	s.AddPrompt(mcp.NewPrompt("greet", mcp.WithArgument("name")), func(ctx context.Context, r mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		return mcp.NewGetPromptResult("greeting", []mcp.PromptMessage{mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent("hello "+r.Params.Arguments["name"]))}), nil
	})
	s.AddResource(mcp.NewResource("mem://notes", "notes"), func(ctx context.Context, r mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		return []mcp.ResourceContents{mcp.TextResourceContents{URI: r.Params.URI, Text: "buy milk"}}, nil
	})
	return s
}

var policy = Policy{
	Rules: []Rule{
		{Match: "delete_*", Scopes: []string{"admin"}},
		{Match: "debug_*", Hidden: true},
		{Kind: "prompt", Match: "*", Scopes: []string{"prompts:read"}},
		{Kind: "resource", Match: "mem://*", Scopes: []string{"notes:read"}},
	},
	Default: []string{"tools:call"},
}

// connectTo is a downstream client of the mirror, in process.
func connectTo(t *testing.T, svc *Service, onNotify func(mcp.JSONRPCNotification)) *client.Client {
	t.Helper()
	c, err := client.NewInProcessClient(svc.Server())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	if onNotify != nil {
		c.OnNotification(onNotify)
	}
	require.NoError(t, c.Start(t.Context()))
	_, err = c.Initialize(t.Context(), mcp.InitializeRequest{Params: mcp.InitializeParams{ProtocolVersion: mcp.LATEST_LEGACY_PROTOCOL_VERSION, ClientInfo: mcp.Implementation{Name: "t", Version: "1"}}})
	require.NoError(t, err)
	return c
}

func text(t *testing.T, r *mcp.CallToolResult) string {
	t.Helper()
	require.NotEmpty(t, r.Content)
	return r.Content[0].(mcp.TextContent).Text
}

func call(ctx context.Context, c *client.Client, name string, args map[string]any, progress mcp.ProgressToken) (*mcp.CallToolResult, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	if progress != nil {
		req.Params.Meta = &mcp.Meta{ProgressToken: progress}
	}
	return c.CallTool(ctx, req)
}

func newRemote(t *testing.T, up *server.MCPServer) (*Service, *httptest.Server) {
	t.Helper()
	hs := httptest.NewServer(server.NewStreamableHTTPServer(up))
	t.Cleanup(hs.Close)
	svc, err := New(Config{Name: "remote", URL: hs.URL + "/mcp", Policy: policy, Headers: map[string]mcpauth.Secret{"X-Api-Key": mcpauth.NewSecret("k1")}})
	require.NoError(t, err)
	t.Cleanup(func() { svc.Close() })
	require.NoError(t, svc.WaitReady(t.Context()))
	return svc, hs
}

func TestMirrorAppliesThePolicy(t *testing.T) {
	svc, _ := newRemote(t, upstreamServer(nil))
	c := connectTo(t, svc, nil)
	tools, err := c.ListTools(t.Context(), mcp.ListToolsRequest{})
	require.NoError(t, err)
	got := map[string][]string{}
	for _, tl := range tools.Tools {
		got[tl.Name] = scopes.ForTool(tl).Scopes()
	}
	assert.Equal(t, map[string][]string{"echo": {"tools:call"}, "slow": {"tools:call"}, "block": {"tools:call"}, "delete_everything": {"admin"}}, got, "debug_dump is hidden")
	prompts, err := c.ListPrompts(t.Context(), mcp.ListPromptsRequest{})
	require.NoError(t, err)
	require.Len(t, prompts.Prompts, 1)
	assert.Equal(t, []string{"prompts:read"}, scopes.ForPrompt(prompts.Prompts[0]).Scopes())
	res, err := c.ListResources(t.Context(), mcp.ListResourcesRequest{})
	require.NoError(t, err)
	require.Len(t, res.Resources, 1)
	assert.Equal(t, []string{"notes:read"}, scopes.ForResource(res.Resources[0]).Scopes())

	r, err := call(t.Context(), c, "echo", map[string]any{"text": "hi"}, nil)
	require.NoError(t, err)
	assert.Equal(t, "echo: hi", text(t, r))
	_, err = call(t.Context(), c, "debug_dump", nil, nil)
	require.Error(t, err, "a hidden tool cannot be called")

	p, err := c.GetPrompt(t.Context(), mcp.GetPromptRequest{Params: mcp.GetPromptParams{Name: "greet", Arguments: map[string]string{"name": "ada"}}})
	require.NoError(t, err)
	assert.Equal(t, "hello ada", p.Messages[0].Content.(mcp.TextContent).Text)
	rr, err := c.ReadResource(t.Context(), mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: "mem://notes"}})
	require.NoError(t, err)
	assert.Equal(t, "buy milk", rr.Contents[0].(mcp.TextResourceContents).Text)
}

func TestProgressAndCancellationAreForwarded(t *testing.T) {
	release := make(chan struct{})
	svc, _ := newRemote(t, upstreamServer(release))
	var mu sync.Mutex
	var progress []any
	got3 := make(chan struct{})
	c := connectTo(t, svc, func(n mcp.JSONRPCNotification) {
		if n.Method != "notifications/progress" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, "my-token", n.Params.AdditionalFields["progressToken"], "the caller's own token")
		progress = append(progress, n.Params.AdditionalFields["progress"])
		if len(progress) == 3 {
			close(got3)
		}
	})
	done := make(chan error, 1)
	go func() {
		r, err := call(t.Context(), c, "slow", nil, "my-token")
		if err == nil && text(t, r) != "slow done" {
			err = fmt.Errorf("unexpected %v", r)
		}
		done <- err
	}()
	<-got3
	close(release)
	require.NoError(t, <-done)
	assert.ElementsMatch(t, []any{float64(1), float64(2), float64(3)}, progress, "mcp-go delivers notifications concurrently: their order may change")

	// A cancelled call ends upstream too.
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := call(ctx, c, "block", nil, nil)
		errc <- err
	}()
	<-blockStarted
	cancel()
	assert.Error(t, <-errc)
	select {
	case <-blockCancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream call was not cancelled")
	}
}

// TestCallTimeoutEndsTheUpstreamCall: a forwarded call that outlives CallTimeout fails,
// and the upstream's handler sees its context end.
func TestCallTimeoutEndsTheUpstreamCall(t *testing.T) {
	hs := httptest.NewServer(server.NewStreamableHTTPServer(upstreamServer(nil)))
	t.Cleanup(hs.Close)
	svc, err := New(Config{Name: "slowpoke", URL: hs.URL + "/mcp", CallTimeout: 200 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { svc.Close() })
	require.NoError(t, svc.WaitReady(t.Context()))
	c := connectTo(t, svc, nil)
	r, err := call(t.Context(), c, "block", nil, nil)
	if err == nil {
		assert.True(t, r.IsError, "a call past CallTimeout succeeded: %v", r)
	}
	<-blockStarted
	select {
	case <-blockCancelled:
	case <-time.After(30 * time.Second):
		t.Fatal("the upstream call went on past CallTimeout")
	}
}

// TestStdioChildEnvironment: a child runs with PATH, HOME and Config.Env as its whole
// environment (nothing else of the hub's), in a process group of its own.
func TestStdioChildEnvironment(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("process groups are a Unix matter")
	}
	t.Setenv("GATEWAY_TEST_HUB_SECRET", "the hub's own")
	exe, err := os.Executable()
	require.NoError(t, err)
	svc, err := New(Config{Name: "stdio", Command: exe, Args: []string{"-test.run=^$"}, Env: []string{"GATEWAY_TEST_STDIO_SERVER=1", "GIVEN=yes"}})
	require.NoError(t, err)
	t.Cleanup(func() { svc.Close() })
	require.NoError(t, svc.WaitReady(t.Context()))
	r, err := call(t.Context(), connectTo(t, svc, nil), "process", nil, nil)
	require.NoError(t, err)
	lines := strings.Split(text(t, r), "\n")
	assert.Equal(t, "own group: true", lines[0])
	var names []string
	for _, kv := range lines[1:] {
		names = append(names, strings.SplitN(kv, "=", 2)[0])
	}
	want := []string{"GATEWAY_TEST_STDIO_SERVER", "GIVEN"}
	for _, k := range []string{"PATH", "HOME"} {
		if _, ok := os.LookupEnv(k); ok {
			want = append(want, k)
		}
	}
	assert.ElementsMatch(t, want, names)
	assert.Contains(t, lines, "GIVEN=yes")
}

// blockStarted and blockCancelled report the upstream's "block" tool.
var blockStarted, blockCancelled = make(chan struct{}, 1), make(chan struct{}, 1)

func TestListChangesAreFollowed(t *testing.T) {
	up := upstreamServer(nil)
	svc, _ := newRemote(t, up)
	changed := make(chan struct{}, 4)
	svc.Server() // mirrored
	c := connectTo(t, svc, func(n mcp.JSONRPCNotification) {
		if n.Method == "notifications/tools/list_changed" {
			changed <- struct{}{}
		}
	})
	up.AddTool(mcp.NewTool("new_tool"), func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText("new"), nil
	})
	up.DeleteTools("echo")
	// The mirror follows: its own list_changed reaches the caller once it has.
	deadline := time.After(10 * time.Second)
	for {
		tools, err := c.ListTools(t.Context(), mcp.ListToolsRequest{})
		require.NoError(t, err)
		names := []string{}
		for _, tl := range tools.Tools {
			names = append(names, tl.Name)
		}
		if strings.Contains(strings.Join(names, ","), "new_tool") && !strings.Contains(strings.Join(names, ","), "echo") {
			break
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("the mirror did not follow: %v", names)
		}
	}
}

// TestDroppedResourceTemplatesGo: a resource template the upstream no longer lists is no
// longer served by the mirror.
func TestDroppedResourceTemplatesGo(t *testing.T) {
	up := upstreamServer(nil)
	read := func(ctx context.Context, r mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		return []mcp.ResourceContents{mcp.TextResourceContents{URI: r.Params.URI, Text: "x"}}, nil
	}
	up.AddResourceTemplate(mcp.NewResourceTemplate("mem://notes/{id}", "note"), read)
	svc, _ := newRemote(t, up)
	changed := make(chan struct{}, 8)
	c := connectTo(t, svc, func(n mcp.JSONRPCNotification) {
		if n.Method == "notifications/resources/list_changed" {
			changed <- struct{}{}
		}
	})
	templates := func() []string {
		res, err := c.ListResourceTemplates(t.Context(), mcp.ListResourceTemplatesRequest{})
		require.NoError(t, err)
		var out []string
		for _, rt := range res.ResourceTemplates {
			out = append(out, rt.URITemplate.Raw())
		}
		return out
	}
	require.Equal(t, []string{"mem://notes/{id}"}, templates())
	up.SetResourceTemplates(server.ServerResourceTemplate{Template: mcp.NewResourceTemplate("mem://tasks/{id}", "task"), Handler: read})
	deadline := time.After(10 * time.Second)
	for !slices.Equal(templates(), []string{"mem://tasks/{id}"}) {
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("the mirror still serves %v", templates())
		}
	}
}

func TestStdioChildRestartsAfterACrash(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	connected := make(chan struct{}, 4)
	disconnected := make(chan error, 4)
	svc, err := New(Config{Name: "stdio", Command: exe, Args: []string{"-test.run=^$"}, Env: []string{"GATEWAY_TEST_STDIO_SERVER=1"}, Policy: policy,
		OnConnect: func() { connected <- struct{}{} }, OnDisconnect: func(err error) { disconnected <- err }})
	require.NoError(t, err)
	t.Cleanup(func() { svc.Close() })
	<-connected
	c := connectTo(t, svc, nil)
	r, err := call(t.Context(), c, "echo", map[string]any{"text": "one"}, nil)
	require.NoError(t, err)
	assert.Equal(t, "echo: one", text(t, r))

	// The child dies: a call in between fails clearly, then the child is back.
	svc.mu.Lock()
	svc.proc.kill()
	svc.mu.Unlock()
	select {
	case err := <-disconnected:
		assert.Contains(t, err.Error(), "the process exited")
	case <-time.After(30 * time.Second):
		t.Fatal("the child's exit was not reported")
	}
	select {
	case <-connected:
	case <-time.After(30 * time.Second):
		t.Fatal("the child was not restarted")
	}
	r, err = call(t.Context(), c, "echo", map[string]any{"text": "two"}, nil)
	require.NoError(t, err)
	assert.Equal(t, "echo: two", text(t, r))
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Name: "x"}, `gateway: service "x": set URL (a remote MCP server) or Command (a local one started with stdio)`},
		{Config{Name: "x", URL: "https://a/mcp", Command: "b"}, "URL and Command are both set"},
		{Config{Name: "x", URL: "http://example.com/mcp"}, `URL "http://example.com/mcp" must use https: http is accepted only for loopback hosts`},
		{Config{Name: "x", URL: "https://admin:hunter2@example.com/mcp"}, `URL "https://admin:xxxxx@example.com/mcp" contains credentials: remove them from the URL`},
		{Config{Name: "x", URL: "https://example.com/mcp", ClientCredentials: &clientcredentials.Config{TokenURL: "http://auth.example.com/token"}}, `ClientCredentials.TokenURL "http://auth.example.com/token" must use https`},
		{Config{Name: "x", Command: "npx", Headers: map[string]mcpauth.Secret{"A": mcpauth.NewSecret("b")}}, "Headers, SSE, ClientCredentials and CallerTokens are for a URL, not a Command"},
		{Config{Name: "x", Command: "npx", Policy: Policy{Rules: []Rule{{Kind: "tools", Match: "*"}}}}, `Policy.Rules[0].Kind "tools": use tool, prompt or resource`},
		{Config{Name: "x", Command: "npx", Policy: Policy{Rules: []Rule{{Match: "[a"}}}}, `Policy.Rules[0].Match "[a" is not a glob`},
	} {
		err := tc.cfg.Validate()
		require.Error(t, err)
		assert.Contains(t, err.Error(), tc.want)
	}
	assert.NoError(t, Config{Name: "x", URL: "http://127.0.0.1:9/mcp"}.Validate())
}

func TestAggregate(t *testing.T) {
	upA, upB := upstreamServer(nil), upstreamServer(nil)
	a, _ := newRemote(t, upA)
	b, _ := newRemote(t, upB)
	agg, err := Aggregate("", map[string]*Service{"alpha": a, "beta": b})
	require.NoError(t, err)
	c, err := client.NewInProcessClient(agg)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.Start(t.Context()))
	_, err = c.Initialize(t.Context(), mcp.InitializeRequest{Params: mcp.InitializeParams{ProtocolVersion: mcp.LATEST_LEGACY_PROTOCOL_VERSION, ClientInfo: mcp.Implementation{Name: "t", Version: "1"}}})
	require.NoError(t, err)

	tools, err := c.ListTools(t.Context(), mcp.ListToolsRequest{})
	require.NoError(t, err)
	got := map[string][]string{}
	for _, tl := range tools.Tools {
		got[tl.Name] = scopes.ForTool(tl).Scopes()
	}
	assert.Equal(t, []string{"admin"}, got["alpha_delete_everything"], "each tool keeps its service's rules")
	assert.Equal(t, []string{"tools:call"}, got["beta_echo"])
	assert.NotContains(t, got, "alpha_debug_dump")
	assert.Len(t, got, 8)
	r, err := call(t.Context(), c, "beta_echo", map[string]any{"text": "hi"}, nil)
	require.NoError(t, err)
	assert.Equal(t, "echo: hi", text(t, r))

	// A tool added upstream appears in the aggregate.
	changed := make(chan struct{}, 4)
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method == "notifications/tools/list_changed" {
			changed <- struct{}{}
		}
	})
	upA.AddTool(mcp.NewTool("fresh"), func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText("fresh"), nil
	})
	deadline := time.After(10 * time.Second)
	for {
		if r, err := call(t.Context(), c, "alpha_fresh", nil, nil); err == nil {
			assert.Equal(t, "fresh", text(t, r))
			break
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatal("the aggregate did not follow the upstream's change")
		}
	}

	_, err = Aggregate("_", map[string]*Service{"a": a, "a_b": b})
	assert.EqualError(t, err, `gateway: Aggregate: service names "a" and "a_b" overlap with the separator "_": tool names could collide`)
}

// TestClientCredentials: the service's own token, from the OAuth 2 client credentials
// grant, goes with every request to the upstream, and outlives a reconnection.
func TestClientCredentials(t *testing.T) {
	var grants atomic.Int32
	tokenSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		id, secret, _ := r.BasicAuth()
		if r.PostForm.Get("grant_type") != "client_credentials" || id != "svc" || secret != "svc-secret" {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		grants.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"svc-token","token_type":"Bearer","expires_in":3600}`))
	}))
	t.Cleanup(tokenSrv.Close)
	upHTTP := server.NewStreamableHTTPServer(upstreamServer(nil))
	ups := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer svc-token" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		upHTTP.ServeHTTP(w, r)
	}))
	t.Cleanup(ups.Close)
	connected := make(chan struct{}, 2)
	svc, err := New(Config{Name: "cc", URL: ups.URL + "/mcp", ClientCredentials: &clientcredentials.Config{ClientID: "svc", ClientSecret: "svc-secret", TokenURL: tokenSrv.URL},
		OnConnect: func() { connected <- struct{}{} }})
	require.NoError(t, err)
	t.Cleanup(func() { svc.Close() })
	require.NoError(t, svc.WaitReady(t.Context()))
	<-connected
	svc.wake <- struct{}{} // as a failed forward does: reconnect
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("the service did not reconnect")
	}
	c := connectTo(t, svc, nil)
	r, err := call(t.Context(), c, "echo", map[string]any{"text": "x"}, nil)
	require.NoError(t, err)
	assert.Equal(t, "echo: x", text(t, r))
	assert.Equal(t, int32(1), grants.Load(), "one token, reused across the reconnection until it expires")
}

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"delete_*", "delete_repo", true},
		{"delete_*", "delete_a/b", false},
		{"demo://docs/*", "demo://docs/a", true},
		{"demo://docs/*", "demo://docs/a/b", false},
		{"demo://docs/**", "demo://docs/a/b", true},
		{"demo://**/readme", "demo://x/y/readme", true},
		{"demo://**/readme", "demo://x/y/readme.md", false},
		{"**", "anything/at/all", true},
		{"file-[a-c]?.**", "file-b1.tar.gz", true},
		{"file-[a-c]?.**", "file-d1.tar.gz", false},
		{"file-[^a-c]*", "file-d", true},
		{"a.b", "axb", false},
		{"[a", "[a", false},
	} {
		if got := globMatch(tc.pattern, tc.name); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}

// TestInvalidHeaderAnnotationsAreNotMirrored: an upstream tool whose x-mcp-header
// annotations break SEP-2243 (mcp-go's server panics on it, and its client lets it
// through below protocol 2026-07-28) is left out of the mirror; the others are offered.
func TestInvalidHeaderAnnotationsAreNotMirrored(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		var msg struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if err := json.NewDecoder(r.Body).Decode(&msg); err != nil || msg.ID == nil {
			w.WriteHeader(http.StatusAccepted) // a notification
			return
		}
		var result string
		switch msg.Method {
		case "initialize":
			result = `{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"raw","version":"1"}}`
		case "tools/list":
			result = `{"tools":[` +
				`{"name":"bad","inputSchema":{"type":"object","properties":{"a":{"type":"object","x-mcp-header":"A"}}}},` +
				`{"name":"good","inputSchema":{"type":"object","properties":{"b":{"type":"string","x-mcp-header":"B"}}}}]}`
		case "ping":
			result = `{}`
		default:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":"no"}}`, msg.ID)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":%s}`, msg.ID, result)
	}))
	t.Cleanup(up.Close)
	svc, err := New(Config{Name: "raw", URL: up.URL + "/mcp"})
	require.NoError(t, err)
	t.Cleanup(func() { svc.Close() })
	require.NoError(t, svc.WaitReady(t.Context()))
	var names []string
	for _, st := range svc.mirroredTools() {
		names = append(names, st.Tool.Name)
	}
	assert.Equal(t, []string{"good"}, names)
}

// FuzzGlobMatchesPathMatch: without **, globMatch means exactly what path.Match means
// (classes, escapes in and out of them, ranges, negation, multi-byte characters), and a
// pattern path.Match refuses matches nothing.
func FuzzGlobMatchesPathMatch(f *testing.F) {
	for _, seed := range [][2]string{
		{"delete_*", "delete_repo"}, {"file-[a-c]?", "file-b1"}, {"[^a-c]*", "d/e"}, {`[\]]`, "]"},
		{`[\?a]`, `\`}, {`a\*b`, "a*b"}, {"é*", "éa"}, {"[é-ü]", "ö"}, {"[a", "[a"}, {`x\`, `x\`},
		{"a/?/c", "a/b/c"}, {"*", "a/b"}, {"[!a]", "!"}, {"[-a]", "-"}, {"[]a]", "]"}, {"a.b+c", "a.b+c"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if strings.Contains(pattern, "**") || !utf8.ValidString(pattern) || !utf8.ValidString(name) {
			return
		}
		want, err := path.Match(pattern, name)
		if err != nil {
			want = false
		}
		if got := globMatch(pattern, name); got != want {
			t.Errorf("globMatch(%q, %q) = %v, path.Match says %v", pattern, name, got, want)
		}
	})
}
