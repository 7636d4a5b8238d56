package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth/internal/testutil"
	"github.com/mcpauth/mcpauth/oauthproxy"
)

// stdioServerEnv makes the test binary the tiny MCP server of the configurations below.
const stdioServerEnv = "MCPAUTH_CMD_TEST_STDIO_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(stdioServerEnv) == "1" {
		if err := server.ServeStdio(tinyServer()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// tinyServer offers echo, admin_reset and debug_dump, knowing nothing of scopes.
func tinyServer() *server.MCPServer {
	s := server.NewMCPServer("tiny", "1.0.0", server.WithToolCapabilities(true))
	s.AddTool(mcp.NewTool("echo", mcp.WithString("text")), func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText("echo: " + r.GetString("text", "")), nil
	})
	s.AddTool(mcp.NewTool("admin_reset"), func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText("reset done"), nil
	})
	s.AddTool(mcp.NewTool("debug_dump"), func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText("internals"), nil
	})
	return s
}

// tinyConfig mounts the tiny server as "tiny", with the dev upstream, the aggregate,
// and extra appended.
func tinyConfig(t *testing.T, extra string) string {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	return `listen: 127.0.0.1:0
auth:
  upstream: dev
  devUsers: [{name: alice, tenant: acme, scopes: [tools:call, ops:admin]}]
aggregate: {enabled: true}
log: {level: info, format: json}
mcpServers:
  tiny:
    command: ` + strconv.Quote(exe) + `
    env: {` + stdioServerEnv + `: "1"}
    defaultToolScopes: [tools:call]
    tools:
      "admin_*": {scopes: [ops:admin]}
      "debug_*": {hidden: true}
` + extra
}

// startApp builds the app of the configuration file for base, waits until the named
// service's upstream is connected, and serves the hub on a loopback listener.
func startApp(t *testing.T, file, base, service string) (*app, *httptest.Server) {
	t.Helper()
	c, err := LoadConfig(file)
	require.NoError(t, err)
	a, err := newApp(c, base, slog.New(slog.DiscardHandler), io.Discard)
	require.NoError(t, err)
	t.Cleanup(a.Close)
	require.NoError(t, a.services[service].svc.WaitReady(t.Context()))
	hs := httptest.NewServer(a.hub)
	t.Cleanup(hs.Close)
	return a, hs
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(f, []byte(content), 0o600))
	return f
}

// useSigningKey sets a fresh MCPAUTH_PROXY_SIGNING_KEY for the test.
func useSigningKey(t *testing.T) {
	t.Helper()
	key, err := oauthproxy.GenerateSigningKey()
	require.NoError(t, err)
	t.Setenv("MCPAUTH_PROXY_SIGNING_KEY", key.Reveal())
	t.Setenv("MCPAUTH_PROXY_SIGNING_KEY_FILE", "")
	t.Setenv("MCPAUTH_PROXY_ENCRYPTION_KEYS", "")
	t.Setenv("MCPAUTH_PROXY_ENCRYPTION_KEYS_FILE", "")
}

func runCmd(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCheck(t *testing.T) {
	useSigningKey(t)
	good := writeFile(t, "hub.yaml", tinyConfig(t, ""))
	code, out, errOut := runCmd("serve", "--config", good, "--check")
	assert.Equal(t, 0, code, errOut)
	assert.Equal(t, good+": OK: 1 MCP server(s), aggregate at /mcp, sign-in: dev\n", out)

	bad := writeFile(t, "bad.yaml", "auth: {upstream: dev}\nmcpServers:\n  everything: {command: npx, url: https://x.example.com/mcp}\n")
	code, _, errOut = runCmd("serve", "--config", bad, "--check")
	assert.Equal(t, 1, code)
	assert.Equal(t, bad+":1: auth.devUsers: the dev upstream has no users: list them, such as devUsers: [{name: alice, tenant: acme, scopes: [tools:call]}]\n"+
		bad+":3: mcpServers.everything: set command (a local server) or url (a remote one), not both\n", errOut)

	// The providers' configurations come from the environment, checked without I/O.
	for _, k := range []string{"CLIENT_ID", "CLIENT_SECRET", "CLIENT_SECRET_FILE"} {
		t.Setenv("MCPAUTH_GITHUB_"+k, "")
	}
	gh := writeFile(t, "gh.yaml", "baseURL: https://hub.example.com\nauth:\n  upstream: github\nmcpServers: {s: {url: https://x.example.com/mcp}}\n")
	code, _, errOut = runCmd("serve", "--config", gh, "--check")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, gh+":3: auth.upstream: oauthproxy: GitHub needs the OAuth app's github.Config.ClientID and ClientSecret")
	assert.Contains(t, errOut, gh+":3: auth.upstream: the github upstream reads MCPAUTH_GITHUB_CLIENT_ID")

	t.Setenv("MCPAUTH_GITHUB_CLIENT_ID", "Iv1.0123456789abcdef")
	t.Setenv("MCPAUTH_GITHUB_CLIENT_SECRET", "s3cret")
	t.Setenv("MCPAUTH_GITHUB_ALLOWED_ORGS", "acme")
	t.Setenv("MCPAUTH_PROXY_SIGNING_KEY", "")
	code, _, errOut = runCmd("serve", "--config", gh, "--check")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, gh+":3: auth.upstream: oauthproxy: Config.SigningKey is empty")
	assert.Contains(t, errOut, gh+":3: auth.upstream: oauthproxy: Config.EncryptionKeys is empty")
	assert.NotContains(t, errOut, "s3cret")

	t.Setenv("MCPAUTH_REDIS_URL", "")
	t.Setenv("MCPAUTH_REDIS_SENTINEL_MASTER", "")
	t.Setenv("MCPAUTH_REDIS_CLUSTER_ADDRS", "")
	rd := writeFile(t, "redis.yaml", tinyConfig(t, "redis: {}\n"))
	code, _, errOut = runCmd("serve", "--config", rd, "--check")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, rd+":15: redis: redis has no url and MCPAUTH_REDIS_URL")

	code, _, _ = runCmd("serve", "--check")
	assert.Equal(t, 2, code, "no --config")
	code, _, _ = runCmd("frobnicate")
	assert.Equal(t, 2, code)
	code, _, errOut = runCmd("serve", "--config", filepath.Join(t.TempDir(), "nope.yaml"), "--check")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "nope.yaml: cannot read the configuration")
}

// post sends a tools/call of the stateless protocol (2026-07-28) to url.
func post(t *testing.T, url, token, tool string) (*http.Response, string) {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"` + tool + `","arguments":{"text":"hi"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}`
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
	req.Header.Set("Mcp-Method", "tools/call")
	req.Header.Set("Mcp-Name", tool)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func token(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := runCmd(append([]string{"token"}, args...)...)
	require.Equal(t, 0, code, errOut)
	return strings.TrimSpace(out)
}

// A token from `mcpauth token` is accepted by the hub built from the same file, for
// its service only.
func TestToken(t *testing.T) {
	useSigningKey(t)
	const base = "http://127.0.0.1:8080"
	file := writeFile(t, "hub.yaml", tinyConfig(t, "baseURL: "+base+"\n"))
	_, hs := startApp(t, file, base, "tiny")

	tok := token(t, "--config", file, "--sub", "alice", "--scope", "tools:call", "--service", "tiny", "--tenant", "acme")
	resp, body := post(t, hs.URL+"/tiny/mcp", tok, "echo")
	assert.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, "echo: hi")
	resp, _ = post(t, hs.URL+"/mcp", tok, "tiny_echo")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "a token for /tiny/mcp is refused at /mcp")

	agg := token(t, "--config", file, "--sub", "alice", "--scope", "tools:call", "--aggregate", "--ttl", "5m")
	resp, body = post(t, hs.URL+"/mcp", agg, "tiny_echo")
	assert.Equal(t, http.StatusOK, resp.StatusCode, body)

	// Another key: refused.
	key, err := oauthproxy.GenerateSigningKey()
	require.NoError(t, err)
	t.Setenv("MCPAUTH_PROXY_SIGNING_KEY", key.Reveal())
	other := token(t, "--config", file, "--sub", "alice", "--scope", "tools:call", "--service", "tiny")
	resp, _ = post(t, hs.URL+"/tiny/mcp", other, "echo")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	t.Setenv("MCPAUTH_PROXY_SIGNING_KEY", "")
	code, _, errOut := runCmd("token", "--config", file, "--sub", "alice", "--service", "tiny")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "mcpauth token: no signing key: set MCPAUTH_PROXY_SIGNING_KEY")

	useSigningKey(t)
	code, _, errOut = runCmd("token", "--config", file, "--sub", "alice", "--service", "nope")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, `--service "nope" is not in mcpServers: use one of tiny`)
	code, _, _ = runCmd("token", "--config", file, "--sub", "alice", "--service", "tiny", "--ttl", "48h")
	assert.Equal(t, 2, code)
	code, _, _ = runCmd("token", "--config", file, "--service", "tiny")
	assert.Equal(t, 2, code, "no --sub")

	noBase := writeFile(t, "nobase.yaml", tinyConfig(t, ""))
	code, _, errOut = runCmd("token", "--config", noBase, "--sub", "alice", "--service", "tiny")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "no baseURL and listens on port 0")
}

// TestServe runs the binary's serve command: a stdio server behind the hub, a tool
// called with a token from `token`, the 403 step-up, the aggregate, /metrics, /healthz,
// a reload on SIGHUP that adds then removes a service while the other keeps serving,
// shutdown.
func TestServe(t *testing.T) {
	useSigningKey(t)
	cfg := tinyConfig(t, "")
	file := writeFile(t, "hub.yaml", cfg)
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	stdout, stderr := testutil.FollowLines(outR), testutil.FollowLines(errR)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--config", file}, outW, errW)
		outW.Close()
		errW.Close()
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})

	line := stdout.Wait(t, "mcpauth: listening on ")
	addr := strings.Fields(strings.TrimPrefix(line, "mcpauth: listening on "))[0]
	base := "http://" + addr
	stdout.Wait(t, "mcpauth: upstream tiny connected")

	// The token command, with the same file and the base URL the hub chose.
	tokFile := writeFile(t, "token.yaml", cfg+"baseURL: "+base+"\n")
	tok := token(t, "--config", tokFile, "--sub", "alice", "--scope", "tools:call", "--service", "tiny", "--tenant", "acme")

	resp, body := post(t, base+"/tiny/mcp", tok, "echo")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, "echo: hi")

	resp, body = post(t, base+"/tiny/mcp", tok, "admin_reset")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, body)
	assert.Contains(t, resp.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`)
	assert.Contains(t, resp.Header.Get("WWW-Authenticate"), `scope="tools:call ops:admin"`)
	assert.NotContains(t, body, "reset done")

	resp, body = post(t, base+"/tiny/mcp", tok, "debug_dump")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
	assert.Contains(t, body, `"message":"tool 'debug_dump' not found`, "hidden")
	assert.NotContains(t, body, "internals", "hidden")

	resp, _ = post(t, base+"/tiny/mcp", "not-a-token", "echo")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	agg := token(t, "--config", tokFile, "--sub", "alice", "--scope", "tools:call", "--aggregate")
	resp, body = post(t, base+"/mcp", agg, "tiny_echo")
	assert.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, "echo: hi")
	resp, _ = post(t, base+"/mcp", agg, "tiny_admin_reset")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "the tool's scopes apply in the aggregate")

	resp, _ = post(t, base+"/tiny/mcp", tok, "echo")
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, health := get("/healthz")
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"status":"ok","services":["","tiny"]}`, health)

	code, metrics := get("/metrics")
	require.Equal(t, http.StatusOK, code)
	for _, want := range []string{
		`mcpauth_decisions_total{decision="allow",reason="",service="tiny"} 3`,
		`mcpauth_decisions_total{decision="deny",reason="insufficient_scope",service="tiny"} 1`,
		`mcpauth_decisions_total{decision="auth_failure",reason="invalid_token",service="tiny"} 1`,
		`mcpauth_decisions_total{decision="allow",reason="",service="_aggregate"} 1`,
		`mcpauth_decisions_total{decision="deny",reason="insufficient_scope",service="_aggregate"} 1`,
		`mcpauth_upstream_up{service="tiny"} 1`,
		`mcpauth_upstream_request_seconds_count{method="tools/call",outcome="ok",service="tiny"} 3`,
		`mcpauth_verification_cache_misses_total{service="tiny"} 2`,
		`mcpauth_verification_cache_hits_total{service="tiny"} 3`,
		`mcpauth_verification_cache_misses_total{service="_aggregate"} 1`,
	} {
		assert.Contains(t, metrics, want)
	}

	// SIGHUP reloads the file: a second service appears, the first goes on untouched.
	second := strings.Replace(cfg, "mcpServers:\n", "mcpServers:\n  tiny2:\n    command: "+strconv.Quote(os.Args[0])+"\n    env: {"+stdioServerEnv+": \"1\"}\n", 1)
	require.NoError(t, os.WriteFile(file, []byte(second), 0o600))
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	stdout.WaitAll(t, "mcpauth: upstream tiny2 connected", "mcpauth: reloaded") // in either order
	resp, body = post(t, base+"/tiny/mcp", tok, "echo")
	assert.Equal(t, http.StatusOK, resp.StatusCode, body)
	tok2 := token(t, "--config", writeFile(t, "token2.yaml", second+"baseURL: "+base+"\n"), "--sub", "alice", "--scope", "tools:call", "--service", "tiny2", "--tenant", "acme")
	resp, body = post(t, base+"/tiny2/mcp", tok2, "echo")
	assert.Equal(t, http.StatusOK, resp.StatusCode, body)
	code, health = get("/healthz")
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"status":"ok","services":["","tiny","tiny2"]}`, health)

	// A file that does not load leaves the running configuration in place.
	require.NoError(t, os.WriteFile(file, []byte("mcpServers: [\n"), 0o600))
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	stderr.Wait(t, "the configuration does not load; still serving the previous one")
	resp, body = post(t, base+"/tiny2/mcp", tok2, "echo")
	assert.Equal(t, http.StatusOK, resp.StatusCode, body)

	// And back: tiny2 is unmounted and its child stopped; a changed log setting is
	// reported as needing a restart.
	require.NoError(t, os.WriteFile(file, []byte(strings.Replace(cfg, "level: info", "level: warn", 1)), 0o600))
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	stdout.Wait(t, "mcpauth: reloaded")
	assert.Contains(t, stderr.Wait(t, "need a restart to apply"), `"settings":["log"]`)
	resp, _ = post(t, base+"/tiny2/mcp", tok2, "echo")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, body = post(t, base+"/tiny/mcp", tok, "echo")
	assert.Equal(t, http.StatusOK, resp.StatusCode, body)

	cancel()
	assert.Equal(t, 0, <-done)
	done <- 0 // for the cleanup
}

// TestRemovedServiceLeavesTheMetrics: a service a reload removes has no upstream gauge
// nor cache counters any more (they said "up" forever).
func TestRemovedServiceLeavesTheMetrics(t *testing.T) {
	a, _ := startApp(t, writeFile(t, "hub.yaml", tinyConfig(t, "")), "http://127.0.0.1:8080", "tiny")
	scrape := func() string {
		rec := httptest.NewRecorder()
		a.metrics.handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		return rec.Body.String()
	}
	assert.Contains(t, scrape(), `mcpauth_upstream_up{service="tiny"} 1`)
	assert.Contains(t, scrape(), `mcpauth_verification_cache_misses_total{service="tiny"} 0`)

	next := *a.cfg
	next.Servers = nil
	require.NoError(t, a.reload(&next))
	assert.NotContains(t, scrape(), `service="tiny"`)
}

// TestReloadKeepsUnchangedServices: a reload leaves a service whose configuration did not
// change as it is (the same upstream connection), so the MCP sessions opened on it go on.
func TestReloadKeepsUnchangedServices(t *testing.T) {
	useSigningKey(t)
	const base = "http://127.0.0.1:8080"
	file := writeFile(t, "hub.yaml", tinyConfig(t, "baseURL: "+base+"\n"))
	a, hs := startApp(t, file, base, "tiny")
	tok := token(t, "--config", file, "--sub", "alice", "--scope", "tools:call", "--service", "tiny", "--tenant", "acme")
	send := func(sid, body string) *http.Response {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, hs.URL+"/tiny/mcp", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Authorization", "Bearer "+tok)
		if sid != "" {
			req.Header.Set("Mcp-Session-Id", sid)
			req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	resp := send("", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	sid := resp.Header.Get("Mcp-Session-Id")
	require.NotEmpty(t, sid)
	const list = `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`
	require.Equal(t, http.StatusOK, send(sid, list).StatusCode)

	before := a.services["tiny"].svc
	next := *a.cfg
	next.Aggregate.Enabled = false // a change elsewhere
	require.NoError(t, a.reload(&next))
	assert.Same(t, before, a.services["tiny"].svc, "the unchanged service was not rebuilt")
	assert.Equal(t, http.StatusOK, send(sid, list).StatusCode, "its session goes on")
}
