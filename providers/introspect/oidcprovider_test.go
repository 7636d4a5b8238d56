package introspect

// End-to-end tests against a real authorization server: node-oidc-provider (pinned in
// e2e/oidc-provider/package.json), started as a child process on a free loopback port.
// They need Node.js and `npm ci --prefix e2e/oidc-provider --no-audit --no-fund`
// (./scripts/test runs it, with MCPAUTH_E2E_NODE=1); without that variable they skip.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/providers/bearer"
	"github.com/stretchr/testify/require"
)

// Clients registered by e2e/oidc-provider/server.mjs.
const (
	opClient       = "mcp-client" // opaque access tokens
	opClientSecret = "mcp-client-secret"
	opJWTClient    = "mcp-jwt-client" // JWT (at+jwt) access tokens
	opJWTSecret    = "mcp-jwt-client-secret"
	opRSBasic      = "rs-basic"
	opRSBasicPass  = "rs-basic-secret:with/special+chars%&="
	opRSPost       = "rs-post"
	opRSPostPass   = "rs-post-secret"

	opResource = "http://127.0.0.1:8080/notes/mcp"
	opOther    = "http://127.0.0.1:8080/admin/mcp"
)

// oidcProvider is a running node-oidc-provider and its discovered endpoints.
type oidcProvider struct {
	Issuer     string `json:"issuer"`
	Token      string `json:"token_endpoint"`
	Introspect string `json:"introspection_endpoint"`
	Revoke     string `json:"revocation_endpoint"`
	JWKSURI    string `json:"jwks_uri"`
}

// startOIDCProvider starts e2e/oidc-provider/server.mjs and waits for its ready line.
// The test is skipped unless MCPAUTH_E2E_NODE=1 (./scripts/test sets it), so that
// `go test ./...` passes on a fresh clone; when it is set, a missing Node.js or
// node_modules fails the test with the command to run.
func startOIDCProvider(t *testing.T) *oidcProvider {
	t.Helper()
	if os.Getenv("MCPAUTH_E2E_NODE") != "1" {
		t.Skip("needs Node: set MCPAUTH_E2E_NODE=1 after npm ci --prefix e2e/oidc-provider (./scripts/test does both)")
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "e2e", "oidc-provider"))
	require.NoError(t, err)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH: install Node.js 20 or later (apt-get install -y nodejs npm), or unset MCPAUTH_E2E_NODE to skip these tests: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider", "package.json")); err != nil {
		t.Fatalf("e2e/oidc-provider/node_modules is missing: run `npm ci --prefix e2e/oidc-provider --no-audit --no-fund` from the repository root (./scripts/test does it), or unset MCPAUTH_E2E_NODE to skip these tests")
	}

	cmd := exec.Command(node, "server.mjs", "0") // port 0: the server picks a free port and prints it
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NODE_ENV=test")
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("oidc-provider stderr:\n%s", stderr.String())
		}
	})

	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
		_, _ = io.Copy(io.Discard, stdout)
	}()
	var line string
	select {
	case line = <-ready:
	case err := <-exited:
		t.Fatalf("oidc-provider exited before it was ready: %v\n%s", err, stderr.String())
	case <-time.After(60 * time.Second): // a deadline, not a synchronization sleep
		t.Fatalf("oidc-provider printed no ready line within 60s\n%s", stderr.String())
	}
	var hello struct {
		Issuer string `json:"issuer"`
	}
	require.NoErrorf(t, json.Unmarshal([]byte(line), &hello), "ready line %q", line)
	require.True(t, strings.HasPrefix(hello.Issuer, "http://127.0.0.1:"), hello.Issuer)

	resp, err := http.Get(hello.Issuer + "/.well-known/openid-configuration")
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var op oidcProvider
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&op))
	require.Equal(t, hello.Issuer, op.Issuer)
	require.NotEmpty(t, op.Introspect, "features.introspection is enabled")
	require.NotEmpty(t, op.Revoke, "features.revocation is enabled")
	return &op
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// post sends a form with client_secret_basic and decodes the JSON answer (if any).
func (op *oidcProvider) post(t *testing.T, endpoint, id, secret string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var m map[string]any
	if len(bytes.TrimSpace(body)) > 0 {
		require.NoErrorf(t, json.Unmarshal(body, &m), "body %q", body)
	}
	return resp.StatusCode, m
}

// clientCredentials obtains an access token with the client credentials grant, for
// resource when it is not empty (RFC 8707).
func (op *oidcProvider) clientCredentials(t *testing.T, id, secret, resource, scope string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}
	if resource != "" {
		form.Set("resource", resource)
	}
	status, m := op.post(t, op.Token, id, secret, form)
	require.Equalf(t, http.StatusOK, status, "token response %v", m)
	require.Equal(t, "Bearer", m["token_type"])
	tok, _ := m["access_token"].(string)
	require.NotEmpty(t, tok)
	return tok
}

// verifier returns a Verifier of op's tokens. node-oidc-provider introspects a client
// credentials token without "sub", so AllowMissingSubject is set (the subject is then
// the client id); "client credentials token without sub" checks the default.
func (op *oidcProvider) verifier(t *testing.T, mutate func(*Config)) *Verifier {
	t.Helper()
	cfg := Config{
		IntrospectionURL:    op.Introspect,
		ClientID:            opRSBasic,
		ClientSecret:        mcpauth.NewSecret(opRSBasicPass),
		Audience:            []string{opResource},
		Issuers:             []string{op.Issuer},
		Logger:              discardLogger,
		AllowMissingSubject: true,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	return newVerifierT(t, cfg)
}

func TestOIDCProvider(t *testing.T) {
	op := startOIDCProvider(t)
	ctx := context.Background()
	opaque := op.clientCredentials(t, opClient, opClientSecret, opResource, "notes:read notes:write")
	require.NotContains(t, opaque, ".", "opaque: not a JWT")

	for _, method := range []string{AuthMethodClientSecretBasic, AuthMethodClientSecretPost} {
		t.Run("opaque token accepted/"+method, func(t *testing.T) {
			v := op.verifier(t, func(c *Config) {
				if method == AuthMethodClientSecretPost {
					c.ClientID, c.ClientSecret, c.AuthMethod = opRSPost, mcpauth.NewSecret(opRSPostPass), AuthMethodClientSecretPost
				}
			})
			before := time.Now()
			tok, err := v.VerifyToken(ctx, opaque)
			require.NoError(t, err)
			require.Equal(t, opClient, tok.ClientID)
			require.Equal(t, opClient, tok.Subject, "client credentials: the subject is the client")
			require.Equal(t, []string{"notes:read", "notes:write"}, tok.Scopes)
			require.Equal(t, op.Issuer, tok.Issuer)
			require.Equal(t, []string{opResource}, tok.Audience)
			require.Equal(t, "introspect", tok.Provider)
			require.WithinDuration(t, before.Add(10*time.Minute), tok.ExpiresAt, 5*time.Second)
			require.Equal(t, true, tok.Claims["active"])
			require.Equal(t, "Bearer", tok.Claims["token_type"])
		})
	}

	t.Run("client credentials token without sub refused by default", func(t *testing.T) {
		_, err := op.verifier(t, func(c *Config) { c.AllowMissingSubject = false }).VerifyToken(ctx, opaque)
		requireInvalid(t, err, descNoSubject)
	})

	t.Run("scope is what the client asked for, within the resource's scopes", func(t *testing.T) {
		tok := op.clientCredentials(t, opClient, opClientSecret, opResource, "notes:read unknown:scope")
		at, err := op.verifier(t, nil).VerifyToken(ctx, tok)
		require.NoError(t, err)
		require.Equal(t, []string{"notes:read"}, at.Scopes)
	})

	t.Run("token for another resource refused (aud)", func(t *testing.T) {
		other := op.clientCredentials(t, opClient, opClientSecret, opOther, "admin")
		_, err := op.verifier(t, nil).VerifyToken(ctx, other)
		requireInvalid(t, err, descAudience)
		// ...and accepted by the resource it was issued for.
		at, err := op.verifier(t, func(c *Config) { c.Audience = []string{opOther} }).VerifyToken(ctx, other)
		require.NoError(t, err)
		require.Equal(t, []string{"admin"}, at.Scopes)
	})

	t.Run("token without a resource refused (no aud)", func(t *testing.T) {
		tok := op.clientCredentials(t, opClient, opClientSecret, "", "notes:read")
		_, err := op.verifier(t, nil).VerifyToken(ctx, tok)
		requireInvalid(t, err, descNoAudience)
	})

	t.Run("garbage token inactive", func(t *testing.T) {
		_, err := op.verifier(t, nil).VerifyToken(ctx, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
		requireInvalid(t, err, descInactive)
	})

	t.Run("issuer check", func(t *testing.T) {
		_, err := op.verifier(t, func(c *Config) { c.Issuers = []string{op.Issuer + "/other"} }).VerifyToken(ctx, opaque)
		requireInvalid(t, err, descIssuer)
	})

	t.Run("wrong resource server secret is a 503, not an invalid token", func(t *testing.T) {
		_, err := op.verifier(t, func(c *Config) { c.ClientSecret = mcpauth.NewSecret("not-the-secret") }).VerifyToken(ctx, opaque)
		requireUnavailable(t, err, "rejected this resource server's credentials", 0)
		require.ErrorIs(t, err, ErrClientAuthentication)
		require.ErrorContains(t, err, "HTTP 401 invalid_client")
	})

	// (oidc-provider treats client_secret_basic and client_secret_post as one family, so
	// a mismatched AuthMethod is accepted there; the fake tests that refusal.)
	t.Run("unknown resource server is a 503, not an invalid token", func(t *testing.T) {
		_, err := op.verifier(t, func(c *Config) { c.ClientID = "rs-unknown" }).VerifyToken(ctx, opaque)
		requireUnavailable(t, err, "rejected this resource server's credentials", 0)
		require.ErrorIs(t, err, ErrClientAuthentication)
	})

	t.Run("revoked token refused", func(t *testing.T) {
		tok := op.clientCredentials(t, opClient, opClientSecret, opResource, "notes:read")
		clock := newTestClock()
		v := op.verifier(t, nil)
		cached := mcpauth.CachedOpaque(v, mcpauth.WithCacheClock(clock.Now), mcpauth.WithMaxTTL(time.Minute))
		_, err := cached.VerifyToken(ctx, tok)
		require.NoError(t, err)

		status, body := op.post(t, op.Revoke, opClient, opClientSecret, url.Values{"token": {tok}, "token_type_hint": {"access_token"}})
		require.Equalf(t, http.StatusOK, status, "revocation response %v", body)

		_, err = v.VerifyToken(ctx, tok)
		requireInvalid(t, err, descInactive)
		_, err = cached.VerifyToken(ctx, tok)
		require.NoError(t, err, "the cache trusts the entry until its TTL ends")
		clock.Advance(time.Minute)
		_, err = cached.VerifyToken(ctx, tok)
		requireInvalid(t, err, descInactive)
	})

	// JWT access tokens from the same server: a real issuer for providers/bearer.
	jwt := op.clientCredentials(t, opJWTClient, opJWTSecret, opResource, "notes:read notes:write")
	require.Equal(t, 2, strings.Count(jwt, "."), "a JWT")
	jwtVerifier, err := bearer.New(bearer.Config{Keys: bearer.JWKS{URI: op.JWKSURI}, Issuers: []string{op.Issuer}, Audience: []string{opResource}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = jwtVerifier.Close() })

	t.Run("at+jwt verified by providers/bearer against the JWKS", func(t *testing.T) {
		tok, err := jwtVerifier.VerifyToken(ctx, jwt)
		require.NoError(t, err)
		require.Equal(t, opJWTClient, tok.Subject)
		require.Equal(t, opJWTClient, tok.ClientID)
		require.Equal(t, op.Issuer, tok.Issuer)
		require.Equal(t, []string{opResource}, tok.Audience)
		require.Equal(t, []string{"notes:read", "notes:write"}, tok.Scopes)
		require.NotEmpty(t, tok.ID)
		require.Equal(t, "bearer", tok.Provider)

		other := op.clientCredentials(t, opJWTClient, opJWTSecret, opOther, "admin")
		_, err = jwtVerifier.VerifyToken(ctx, other)
		require.True(t, errors.Is(err, mcpauth.ErrInvalidToken), "%v", err)
		require.ErrorContains(t, err, "token audience does not match this resource")
	})

	t.Run("the introspection endpoint refuses JWTs: invalid token, not an outage", func(t *testing.T) {
		_, err := op.verifier(t, nil).VerifyToken(ctx, jwt)
		requireInvalid(t, err, "token cannot be introspected by the authorization server (unsupported token type)")
	})

	t.Run("both formats through mcpauth.Any", func(t *testing.T) {
		both := mcpauth.Any(jwtVerifier, op.verifier(t, nil))
		tok, err := both.VerifyToken(ctx, jwt)
		require.NoError(t, err)
		require.Equal(t, "bearer", tok.Provider)
		tok, err = both.VerifyToken(ctx, opaque)
		require.NoError(t, err)
		require.Equal(t, "introspect", tok.Provider)
		require.Equal(t, tok.Subject, opClient)
		_, err = both.VerifyToken(ctx, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
		require.True(t, errors.Is(err, mcpauth.ErrInvalidToken), "%v", err)
	})
}
