package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mark3labs/mcp-go/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A remote server's service-level scopes and tenants are enforced (hub options), and
// the token command warns about them.
func TestServiceScopesAndTenants(t *testing.T) {
	useSigningKey(t)
	remote := httptest.NewServer(server.NewStreamableHTTPServer(tinyServer()))
	t.Cleanup(remote.Close)
	const base = "http://127.0.0.1:8080"
	file := writeFile(t, "hub.yaml", `baseURL: `+base+`
auth: {upstream: dev, devUsers: [{name: alice}]}
mcpServers:
  remote:
    url: `+remote.URL+`/mcp
    headers: {X-Api-Key: k}
    scopes: [svc:use]
    tenants: [acme]
`)
	_, hs := startApp(t, file, base, "remote")

	ok := token(t, "--config", file, "--sub", "alice", "--scope", "svc:use", "--service", "remote", "--tenant", "acme")
	resp, body := post(t, hs.URL+"/remote/mcp", ok, "echo")
	assert.Equal(t, http.StatusOK, resp.StatusCode, body)

	code, out, errOut := runCmd("token", "--config", file, "--sub", "alice", "--scope", "other", "--service", "remote", "--tenant", "globex")
	require.Equal(t, 0, code)
	assert.Contains(t, errOut, "mcpauth token: warning: service remote requires scope svc:use, which the token lacks")
	assert.Contains(t, errOut, "mcpauth token: warning: service remote allows tenants acme only")
	resp, _ = post(t, hs.URL+"/remote/mcp", out[:len(out)-1], "echo")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
}

// With upstream none, the hub trusts the JWT issuer of the environment only.
func TestUpstreamNone(t *testing.T) {
	for _, k := range []string{"JWKS_URI", "PUBLIC_KEY_FILE", "HMAC_SECRET", "HMAC_SECRET_FILE", "ISSUER", "AUDIENCE", "ALGORITHMS"} {
		t.Setenv("MCPAUTH_"+k, "")
	}
	const base = "http://127.0.0.1:8080"
	noneFile := writeFile(t, "none.yaml", `baseURL: `+base+`
auth: {upstream: none}
mcpServers: {tiny: {url: http://127.0.0.1:1/mcp}}
`)
	code, _, errOut := runCmd("serve", "--config", noneFile, "--check")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "none.yaml:2: auth.upstream: bearer: Config.Keys is unset")
	assert.Contains(t, errOut, "the none upstream reads MCPAUTH_JWKS_URI")

	t.Setenv("MCPAUTH_HMAC_SECRET", "0123456789abcdef0123456789abcdef")
	t.Setenv("MCPAUTH_ISSUER", "https://issuer.example.com")
	code, _, errOut = runCmd("serve", "--config", noneFile, "--check")
	require.Equal(t, 0, code, errOut)

	code, _, errOut = runCmd("token", "--config", noneFile, "--sub", "a", "--service", "tiny")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "auth.upstream is none")

	c, err := LoadConfig(noneFile)
	require.NoError(t, err)
	a, err := newApp(c, base, slog.New(slog.DiscardHandler), io.Discard)
	require.NoError(t, err)
	t.Cleanup(a.Close)
	hs := httptest.NewServer(a.hub)
	t.Cleanup(hs.Close)
	sign := func(aud string) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "https://issuer.example.com", "sub": "a", "aud": aud, "exp": time.Now().Add(time.Minute).Unix()}).
			SignedString([]byte("0123456789abcdef0123456789abcdef"))
		require.NoError(t, err)
		return s
	}
	// The upstream is down: the token passes, and the service answers that it is
	// unavailable.
	resp, _ := post(t, hs.URL+"/tiny/mcp", sign(base+"/tiny/mcp"), "echo")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "5", resp.Header.Get("Retry-After"))
	resp, _ = post(t, hs.URL+"/tiny/mcp", sign(base+"/other/mcp"), "echo")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}
