package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer safe for the example's goroutine and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type running struct {
	baseURL string
	out     *syncBuffer
	stop    func() error
}

// start runs the example on a free loopback port until the test ends.
func start(t *testing.T) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, out, func(_, base string) { ready <- base })
	}()
	var base string
	select {
	case base = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("example exited early: %v\n%s", err, out.String())
	}
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { _ = stop() })
	return &running{baseURL: base, out: out, stop: stop}
}

// tokens parses the printed demo tokens: user -> service -> token.
func tokens(t *testing.T, out string) map[string]map[string]string {
	t.Helper()
	res := map[string]map[string]string{}
	user := ""
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		for _, u := range demoUsers {
			if strings.HasPrefix(line, u.name+" (scopes: ") {
				user = u.name
				res[user] = map[string]string{}
			}
		}
		for _, svc := range []string{"notes", "admin"} {
			if rest, ok := strings.CutPrefix(line, "  "+svc+" token: "); ok && user != "" {
				res[user][svc] = rest
			}
		}
	}
	return res
}

func connect(t *testing.T, url, token string) (*client.Client, error) {
	t.Helper()
	opts := []transport.StreamableHTTPCOption{}
	if token != "" {
		opts = append(opts, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	}
	c, err := client.NewStreamableHttpClient(url, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		return c, err
	}
	_, err = c.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{
		ProtocolVersion: mcp.LATEST_LEGACY_PROTOCOL_VERSION,
		ClientInfo:      mcp.Implementation{Name: "example-test", Version: "1"},
	}})
	return c, err
}

func callText(t *testing.T, c *client.Client, tool string, args map[string]any) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = tool
	req.Params.Arguments = args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		return "", err
	}
	require.NotEmpty(t, res.Content)
	return res.Content[0].(mcp.TextContent).Text, nil
}

// post sends one raw JSON-RPC POST and returns the status and challenge. A request
// other than initialize is sent in a session the same token opened first.
func post(t *testing.T, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if body != initialize {
		req.Header.Set("Mcp-Session-Id", openSession(t, url, token))
		req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
}

// openSession initializes an MCP session as the holder of token and returns its id.
func openSession(t *testing.T, url, token string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(initialize))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return resp.Header.Get("Mcp-Session-Id")
}

const initialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`

func TestExampleDevMode(t *testing.T) {
	t.Setenv("MCPAUTH_JWKS_URI", "")
	t.Setenv("MCPAUTH_AUDIENCE", "")
	r := start(t)
	out := r.out.String()
	assert.Contains(t, out, "Development issuer: "+r.baseURL+"/dev")
	assert.Contains(t, out, "curl -s -X POST "+r.baseURL+"/notes/mcp")
	toks := tokens(t, out)
	for _, u := range []string{"alice", "bob", "carol", "root"} {
		require.NotEmpty(t, toks[u]["notes"], u)
		require.NotEmpty(t, toks[u]["admin"], u)
	}
	notes, admin := r.baseURL+"/notes/mcp", r.baseURL+"/admin/mcp"

	alice, err := connect(t, notes, toks["alice"]["notes"])
	require.NoError(t, err)
	who, err := callText(t, alice, "whoami", nil)
	require.NoError(t, err)
	var w map[string]any
	require.NoError(t, json.Unmarshal([]byte(who), &w))
	assert.Equal(t, "alice", w["subject"])
	assert.Equal(t, "acme", w["tenant"])
	assert.Equal(t, []any{"notes:read", "notes:write"}, w["scopes"])

	_, err = callText(t, alice, "add_note", map[string]any{"text": "acme roadmap"})
	require.NoError(t, err)

	// bob (same tenant, read-only) sees the note but cannot add one.
	bob, err := connect(t, notes, toks["bob"]["notes"])
	require.NoError(t, err)
	list, err := callText(t, bob, "list_notes", nil)
	require.NoError(t, err)
	assert.Contains(t, list, "acme roadmap")
	_, err = callText(t, bob, "add_note", map[string]any{"text": "x"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `insufficient_scope: tool "add_note" requires notes:write`)

	// carol (another tenant) does not see acme's notes.
	carol, err := connect(t, notes, toks["carol"]["notes"])
	require.NoError(t, err)
	list, err = callText(t, carol, "list_notes", nil)
	require.NoError(t, err)
	assert.NotContains(t, list, "acme roadmap")
	assert.Contains(t, list, `"tenant":"globex"`)

	// admin needs scope admin; alice's admin-audience token lacks it.
	status, challenge := post(t, admin, toks["alice"]["admin"], initialize)
	assert.Equal(t, http.StatusForbidden, status)
	assert.Contains(t, challenge, `error="insufficient_scope"`)
	root, err := connect(t, admin, toks["root"]["admin"])
	require.NoError(t, err)
	stats, err := callText(t, root, "stats", nil)
	require.NoError(t, err)
	assert.Contains(t, stats, `"tenant:acme":1`)

	// A notes token is refused by admin (audience), and no token gets the challenge.
	status, challenge = post(t, admin, toks["root"]["notes"], initialize)
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Contains(t, challenge, `error="invalid_token"`)
	status, challenge = post(t, notes, "", initialize)
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Equal(t, `Bearer resource_metadata="`+r.baseURL+`/.well-known/oauth-protected-resource/notes/mcp", scope="notes:read notes:write"`, challenge,
		"a 401 asks for the scopes the service's tools use")

	// Discovery: the service metadata names the hub's own authorization server, whose
	// RFC 8414 document has the endpoints a client signs in with.
	resp, err := http.Get(r.baseURL + "/.well-known/oauth-protected-resource/notes/mcp")
	require.NoError(t, err)
	var md map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&md))
	resp.Body.Close()
	assert.Equal(t, notes, md["resource"])
	assert.Equal(t, []any{r.baseURL}, md["authorization_servers"])
	var as map[string]any
	getJSON(t, r.baseURL+"/.well-known/oauth-authorization-server", &as)
	assert.Equal(t, r.baseURL, as["issuer"])
	assert.Equal(t, r.baseURL+"/oauth/authorize", as["authorization_endpoint"])
	assert.Equal(t, r.baseURL+"/oauth/token", as["token_endpoint"])
	assert.Equal(t, []any{"admin", "notes:read", "notes:write"}, as["scopes_supported"])
	// The embedded issuer of the printed tokens still publishes its keys.
	resp, err = http.Get(r.baseURL + "/dev/jwks.json")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	// Clean shutdown.
	require.NoError(t, r.stop())
	assert.Contains(t, r.out.String(), "mcpauth example stopped")
}

// thirdPartyIssuer is an issuer the library has never seen: its own RSA key, its own
// hand-written JWKS document, tokens minted with golang-jwt directly.
type thirdPartyIssuer struct {
	key *rsa.PrivateKey
	srv *httptest.Server
}

func newThirdParty(t *testing.T) *thirdPartyIssuer {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	p := &thirdPartyIssuer{key: key}
	jwks := map[string]any{"keys": []any{map[string]any{
		"kty": "RSA", "kid": "tp-1", "use": "sig", "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
	}}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(jwks)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *thirdPartyIssuer) mint(t *testing.T, claims jwt.MapClaims) string {
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = "tp-1"
	s, err := tok.SignedString(p.key)
	require.NoError(t, err)
	return s
}

func TestExampleWithThirdPartyIssuer(t *testing.T) {
	tp := newThirdParty(t)
	issuer := "https://login.thirdparty.example"
	t.Setenv("MCPAUTH_JWKS_URI", tp.srv.URL+"/jwks")
	t.Setenv("MCPAUTH_ISSUER", issuer)
	t.Setenv("MCPAUTH_AUDIENCE", "")
	r := start(t)
	out := r.out.String()
	assert.NotContains(t, out, "token:", "no demo token is printed with an external issuer")
	assert.Contains(t, out, "trusting the providers configured by the environment: bearer")
	notes := r.baseURL + "/notes/mcp"
	prm := r.baseURL + "/.well-known/oauth-protected-resource/notes/mcp"

	claims := func(aud string, scope string) jwt.MapClaims {
		now := time.Now()
		return jwt.MapClaims{"iss": issuer, "sub": "ext-user", "aud": aud, "scope": scope, "tenant_id": "acme",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	}

	status, challenge := post(t, notes, "", initialize)
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Equal(t, `Bearer resource_metadata="`+prm+`", scope="notes:read notes:write"`, challenge)

	status, challenge = post(t, notes, tp.mint(t, claims(r.baseURL+"/admin/mcp", "notes:read")), initialize)
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Contains(t, challenge, `error="invalid_token"`)

	expired := claims(notes, "notes:read")
	expired["exp"] = time.Now().Add(-time.Minute).Unix()
	status, _ = post(t, notes, tp.mint(t, expired), initialize)
	assert.Equal(t, http.StatusUnauthorized, status)

	readOnly := tp.mint(t, claims(notes, "notes:read"))
	status, _ = post(t, notes, readOnly, initialize)
	assert.Equal(t, http.StatusOK, status)
	status, challenge = post(t, notes, readOnly, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add_note","arguments":{"text":"x"}}}`)
	assert.Equal(t, http.StatusForbidden, status)
	assert.Equal(t, `Bearer resource_metadata="`+prm+`", scope="notes:read notes:write", error="insufficient_scope", error_description="tool 'add_note' requires notes:write"`, challenge)

	c, err := connect(t, notes, tp.mint(t, claims(notes, "notes:read notes:write")))
	require.NoError(t, err)
	_, err = callText(t, c, "add_note", map[string]any{"text": "from a third party"})
	require.NoError(t, err)
	list, err := callText(t, c, "list_notes", nil)
	require.NoError(t, err)
	assert.Contains(t, list, "from a third party")

	status, _ = post(t, r.baseURL+"/admin/mcp", tp.mint(t, claims(r.baseURL+"/admin/mcp", "admin")), initialize)
	assert.Equal(t, http.StatusOK, status)
}

func TestExampleAudienceOverride(t *testing.T) {
	tp := newThirdParty(t)
	t.Setenv("MCPAUTH_JWKS_URI", tp.srv.URL+"/jwks")
	t.Setenv("MCPAUTH_ISSUER", "https://login.thirdparty.example")
	t.Setenv("MCPAUTH_AUDIENCE", "api://shared")
	r := start(t)
	now := time.Now()
	tok := tp.mint(t, jwt.MapClaims{"iss": "https://login.thirdparty.example", "sub": "u", "aud": "api://shared", "scope": "notes:read", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	status, _ := post(t, r.baseURL+"/notes/mcp", tok, initialize)
	assert.Equal(t, http.StatusOK, status)
}

func TestExampleConfigError(t *testing.T) {
	t.Setenv("MCPAUTH_JWKS_URI", "https://login.example/jwks")
	t.Setenv("MCPAUTH_ISSUER", "")
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0"}, &syncBuffer{}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "MCPAUTH_ISSUER")
}

func TestExampleCORSOrigins(t *testing.T) {
	t.Setenv("MCPAUTH_JWKS_URI", "")
	t.Setenv("MCPAUTH_CORS_ORIGINS", "http://localhost:6274")
	r := start(t)
	req, err := http.NewRequest(http.MethodOptions, r.baseURL+"/notes/mcp", nil)
	require.NoError(t, err)
	req.Header.Set("Origin", "http://localhost:6274")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Equal(t, "http://localhost:6274", resp.Header.Get("Access-Control-Allow-Origin"))
}

// The printed curl sequence works as printed: a session is opened, then a tool runs in it.
func TestExamplePrintedCurlSequence(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh: " + err.Error())
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("no curl: " + err.Error())
	}
	t.Setenv("MCPAUTH_JWKS_URI", "")
	r := start(t)
	out := r.out.String()
	_, seq, ok := strings.Cut(out, "Try it (alice opens a session, then calls a tool in it):\n")
	require.True(t, ok, out)
	var script []string
	for _, line := range strings.Split(seq, "\n") {
		if cmd, ok := strings.CutPrefix(line, "  "); ok {
			script = append(script, cmd)
		}
	}
	require.Len(t, script, 3, "TOKEN=, SID=$(curl ...), curl ...")
	res, err := exec.Command(sh, "-c", strings.Join(script, "\n")).CombinedOutput()
	require.NoError(t, err, string(res))
	assert.Contains(t, string(res), `"result":{"content":[{"type":"text","text":"{\"count\":1,\"tenant\":\"acme\"}"}]`, string(res))
	assert.NotContains(t, string(res), `"error"`, string(res))
}

// dave has notes scopes and no tenant: his notes are his own, not a space shared by every
// tenant-less caller.
func TestExampleTenantlessUser(t *testing.T) {
	t.Setenv("MCPAUTH_JWKS_URI", "")
	r := start(t)
	toks := tokens(t, r.out.String())
	require.NotEmpty(t, toks["dave"]["notes"])
	notes := r.baseURL + "/notes/mcp"
	dave, err := connect(t, notes, toks["dave"]["notes"])
	require.NoError(t, err)
	_, err = callText(t, dave, "add_note", map[string]any{"text": "dave's"})
	require.NoError(t, err)
	list, err := callText(t, dave, "list_notes", nil)
	require.NoError(t, err)
	assert.Contains(t, list, `dave's`)
	alice, err := connect(t, notes, toks["alice"]["notes"])
	require.NoError(t, err)
	list, err = callText(t, alice, "list_notes", nil)
	require.NoError(t, err)
	assert.NotContains(t, list, `dave's`)
	assert.Contains(t, r.out.String(), "dave (scopes: notes:read notes:write, tenant: none (a personal notes space))")
	assert.Contains(t, r.out.String(), "(expected refusal: add_note gets a 403 step-up to notes:write)")
}
