package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth/internal/testutil"
	"github.com/mcpauth/mcpauth/oauthproxy"
)

// mcpauthBinary builds cmd/mcpauth (its own module) once per test binary.
var mcpauthBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "mcpauth-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "mcpauth")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Join("..", "cmd", "mcpauth")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", errors.New("go build ./cmd/mcpauth: " + err.Error() + "\n" + string(out))
	}
	return bin, nil
})

// TestGatewayBinary: the reference everything server protected with sign-in and per-tool
// scopes using only a configuration file and mcpauth serve. The TypeScript SDK signs in
// through the proxy (consenting to tools:call only), calls a tool, gets the 403 step-up
// for the long operation and consents again, receives its progress, aborts a long call,
// reads a resource, gets a prompt, and signs in to the aggregate at /mcp. Then the file
// changes and SIGHUP applies it: the hidden tool disappears, the session-free calls go on.
func TestGatewayBinary(t *testing.T) {
	node, script := everythingJS(t)
	requireNode(t, "mcp-sdk-2025-11-25")
	bin, err := mcpauthBinary()
	require.NoError(t, err)
	key, err := oauthproxy.GenerateSigningKey()
	require.NoError(t, err)

	config := func(hide string) string {
		return `listen: 127.0.0.1:0
auth:
  upstream: dev
  devUsers: [{name: alice, tenant: acme, scopes: [tools:call, ops:long, prompts:read, resources:read]}]
aggregate: {enabled: true}
mcpServers:
  everything:
    command: ` + node + `
    args: [` + script + `, stdio]
    defaultToolScopes: [tools:call]
    tools:
      "trigger-long-running-operation": {scopes: [tools:call, ops:long]}
      "` + hide + `": {hidden: true}
    prompts: {"*": {scopes: [prompts:read]}}
    resources: {"demo://resource/static/document/*": {scopes: [resources:read]}}
`
	}
	file := filepath.Join(t.TempDir(), "hub.yaml")
	require.NoError(t, os.WriteFile(file, []byte(config("get-env")), 0o600))
	cmd := exec.Command(bin, "serve", "--config", file)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "MCPAUTH_PROXY_SIGNING_KEY=" + key.Reveal()}
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("mcpauth's log:\n%s", stderr.String())
		}
	})
	lines := testutil.FollowLines(stdout)
	line := lines.Wait(t, "mcpauth: listening on ")
	base := strings.TrimSuffix(strings.SplitN(line, "(base URL ", 2)[1], ")")
	lines.Wait(t, "mcpauth: upstream everything connected")

	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	js := exec.CommandContext(ctx, node, filepath.Join("clients", "gateway.mjs"), base, "everything")
	js.Env = append(os.Environ(), "MCP_USER=alice", "MCP_FIRST_GRANT=tools:call")
	var out, jsErr bytes.Buffer
	js.Stdout, js.Stderr = &out, &jsErr
	require.NoError(t, js.Run(), "gateway.mjs: %s", jsErr.String())
	var run struct {
		SignIn struct {
			GrantedScope string   `json:"grantedScope"`
			Tools        []string `json:"tools"`
			Echo         string   `json:"echo"`
		} `json:"signIn"`
		StepUp struct {
			First        json.RawMessage `json:"first"`
			Challenges   []string        `json:"challenges"`
			GrantedScope string          `json:"grantedScope"`
			Retried      json.RawMessage `json:"retried"`
			Progress     []float64       `json:"progress"`
		} `json:"stepUp"`
		Cancel struct {
			Aborted bool    `json:"aborted"`
			Seconds float64 `json:"seconds"`
		} `json:"cancel"`
		Resource struct{ Count, Contents int } `json:"resource"`
		Prompt   struct {
			Messages int    `json:"messages"`
			Text     string `json:"text"`
		} `json:"prompt"`
		Aggregate struct {
			Echo  string          `json:"echo"`
			Error json.RawMessage `json:"error"`
		} `json:"aggregate"`
		Authorizations int `json:"authorizations"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &run), out.String())

	assert.Equal(t, "tools:call", run.SignIn.GrantedScope)
	assert.Contains(t, run.SignIn.Tools, "echo")
	assert.Contains(t, run.SignIn.Tools, "trigger-long-running-operation")
	assert.NotContains(t, run.SignIn.Tools, "get-env", "hidden by the file")
	assert.Equal(t, "Echo: through the gateway", run.SignIn.Echo)

	require.Len(t, run.StepUp.Challenges, 1, "%s", run.StepUp.First)
	assert.Contains(t, run.StepUp.Challenges[0], `error="insufficient_scope"`)
	assert.Contains(t, run.StepUp.Challenges[0], "ops:long")
	assert.Contains(t, run.StepUp.GrantedScope, "ops:long")
	assert.Contains(t, string(run.StepUp.Retried), "Long running operation completed")
	assert.NotEmpty(t, run.StepUp.Progress, "progress streamed through the gateway")

	assert.True(t, run.Cancel.Aborted)
	assert.Less(t, run.Cancel.Seconds, 20.0, "the aborted 30 s call returned early")
	assert.Positive(t, run.Resource.Count)
	assert.Positive(t, run.Resource.Contents)
	assert.Equal(t, 1, run.Prompt.Messages)
	assert.Equal(t, "Echo: aggregated", run.Aggregate.Echo, "%s", run.Aggregate.Error)
	assert.Equal(t, 5, run.Authorizations, "the sign-in, three step-ups (ops:long, resources:read, prompts:read) and the aggregate's own")

	// The file changes: echo becomes hidden. SIGHUP applies it.
	require.NoError(t, os.WriteFile(file, []byte(config("echo")), 0o600))
	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	lines.WaitAll(t, "mcpauth: reloaded", "mcpauth: upstream everything connected") // the changed service is replaced
	tok := mintToken(t, bin, file, key.Reveal(), base)
	c := newMCPClient(t, base+"/everything/mcp", tok)
	tools, err := c.c.ListTools(t.Context(), mcp.ListToolsRequest{})
	require.NoError(t, err)
	var names []string
	for _, tl := range tools.Tools {
		names = append(names, tl.Name)
	}
	assert.NotContains(t, names, "echo", "hidden after the reload")
	assert.Contains(t, names, "get-env", "no longer hidden")
}

// mintToken runs mcpauth token for alice on the everything service.
func mintToken(t *testing.T, bin, file, key, base string) string {
	t.Helper()
	withBase := filepath.Join(t.TempDir(), "token.yaml")
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(withBase, append(b, []byte("baseURL: "+base+"\n")...), 0o600))
	cmd := exec.Command(bin, "token", "--config", withBase, "--sub", "alice", "--tenant", "acme", "--scope", "tools:call", "--service", "everything")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "MCPAUTH_PROXY_SIGNING_KEY=" + key}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	require.NoError(t, cmd.Run(), errOut.String())
	return strings.TrimSpace(out.String())
}
