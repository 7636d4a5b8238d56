package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/audit"
	"github.com/mcpauth/mcpauth/gateway"
	"github.com/mcpauth/mcpauth/hub"
	"github.com/mcpauth/mcpauth/internal/signing"
	"github.com/mcpauth/mcpauth/providers/bearer"
)

// TestMountedOnAHub: tools the hub did not write get the same enforcement as native
// ones: the policy's scopes are required, with the 403 step-up; the caller's token never
// reaches the upstream.
func TestMountedOnAHub(t *testing.T) {
	var authMu sync.Mutex
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
		authMu.Lock()
		upstreamAuth = append(upstreamAuth, r.Header.Get("Authorization")+"|"+r.Header.Get("X-Api-Key"))
		authMu.Unlock()
		upHTTP.ServeHTTP(w, r)
	}))
	t.Cleanup(ups.Close)

	var reqMu sync.Mutex
	var forwarded []string
	svc, err := gateway.New(gateway.Config{
		Name: "third-party", URL: ups.URL + "/mcp",
		OnRequest: func(method string, took time.Duration, err error) {
			reqMu.Lock()
			forwarded = append(forwarded, fmt.Sprint(method, " ", err == nil, " ", took > 0))
			reqMu.Unlock()
		},
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

	reqMu.Lock()
	assert.Equal(t, []string{"tools/call true true", "tools/call true true"}, forwarded, "the calls that reached the upstream, timed")
	reqMu.Unlock()
	authMu.Lock()
	defer authMu.Unlock()
	require.NotEmpty(t, upstreamAuth, "the upstream was reached")
	for _, a := range upstreamAuth {
		assert.Equal(t, "|service-key", a, "the upstream sees the service's key, never the caller's token")
	}
}

// TestCallerTokens: an upstream that trusts the hub gets, for each call, a short-lived
// JWT the hub signed for the caller (their subject and scopes, aud = the upstream),
// verifiable with the published JWKS; listing is done as the gateway itself.
func TestCallerTokens(t *testing.T) {
	key, err := signing.Generate()
	require.NoError(t, err)
	signer, err := gateway.NewTokenSigner("https://hub.example.com", key)
	require.NoError(t, err)
	jwks := httptest.NewServer(signer.JWKSHandler())
	t.Cleanup(jwks.Close)

	var mu sync.Mutex
	var seen []string // sub|scope of each upstream request
	jtis := map[string]bool{}
	up := server.NewMCPServer("trusting", "1.0.0", server.WithToolCapabilities(true))
	up.AddTool(mcp.NewTool("whoami"), func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText("ok"), nil
	})
	var verifier mcpauth.TokenVerifier // the upstream's: the hub's keys, its own URL as audience
	upHTTP := server.NewStreamableHTTPServer(up)
	ups := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		at, err := verifier.VerifyToken(r.Context(), raw)
		if !ok || err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		mu.Lock()
		seen = append(seen, at.Subject+"|"+strings.Join(at.Scopes, " "))
		if at.ClientID != gateway.GatewayClientID || len(at.ID) != 22 || jtis[at.ID] {
			t.Errorf("token with client_id %q and jti %q: want client_id %q and a fresh 128-bit jti (RFC 9068)", at.ClientID, at.ID, gateway.GatewayClientID)
		}
		jtis[at.ID] = true
		if got := at.ExpiresAt.Sub(at.IssuedAt); got != gateway.CallerTokenTTL {
			t.Errorf("token lives %v, want %v", got, gateway.CallerTokenTTL)
		}
		if at.Subject == "ada" && at.TenantID != "acme" {
			t.Errorf("the caller's token has tenant %q, want the caller's, acme", at.TenantID)
		}
		mu.Unlock()
		upHTTP.ServeHTTP(w, r)
	}))
	t.Cleanup(ups.Close)
	upURL := ups.URL + "/mcp"
	verifier, err = bearer.New(bearer.Config{Keys: bearer.JWKS{URI: jwks.URL}, Issuers: []string{"https://hub.example.com"}, Audience: []string{upURL}, Algorithms: []string{"EdDSA"}})
	require.NoError(t, err)

	svc, err := gateway.New(gateway.Config{Name: "trusting", URL: upURL, CallerTokens: signer})
	require.NoError(t, err)
	t.Cleanup(func() { svc.Close() })
	require.NoError(t, svc.WaitReady(t.Context()))
	h, err := hub.New(hub.Config{BaseURL: "http://127.0.0.1", Audit: audit.Discard, Verifier: mcpauth.TokenVerifierFunc(func(_ context.Context, tok string) (*mcpauth.AccessToken, error) {
		return &mcpauth.AccessToken{Subject: "ada", Issuer: "iss", TenantID: "acme", Scopes: []string{"a", "b"}}, nil
	})})
	require.NoError(t, err)
	require.NoError(t, h.Mount("trusting", svc.Server()))
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)

	req, _ := http.NewRequest(http.MethodPost, hs.URL+"/trusting/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
	req.Header.Set("Mcp-Method", "tools/call")
	req.Header.Set("Mcp-Name", "whoami")
	req.Header.Set("Authorization", "Bearer the-callers-own-token")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, seen, "mcpauth-gateway|", "connecting and listing as the gateway")
	assert.Contains(t, seen, "ada|a b", "the call as the caller")
}

// TestUnavailableUpstreamIs503: while its upstream is down, a service mounted with
// hub.WithAvailability answers an authenticated caller 503 with Retry-After, with the
// JSON-RPC body of every refusal, and records one audit event that says so.
func TestUnavailableUpstreamIs503(t *testing.T) {
	ln := httptest.NewServer(http.NotFoundHandler())
	url := ln.URL + "/mcp"
	ln.Close() // nothing listens there
	svc, err := gateway.New(gateway.Config{Name: "down", URL: url})
	require.NoError(t, err)
	t.Cleanup(func() { svc.Close() })
	require.ErrorIs(t, svc.Available(), gateway.ErrUnavailable)
	sink := &audit.Recorder{}
	h, err := hub.New(hub.Config{BaseURL: "http://127.0.0.1", Audit: sink, Verifier: mcpauth.TokenVerifierFunc(func(context.Context, string) (*mcpauth.AccessToken, error) {
		return &mcpauth.AccessToken{Subject: "a", Issuer: "i"}, nil
	})})
	require.NoError(t, err)
	require.NoError(t, h.Mount("down", svc.Server(), hub.WithAvailability(svc.Available)))
	const call = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x"}}`
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/down/mcp", strings.NewReader(call)))
	assert.Equal(t, http.StatusUnauthorized, rec.Code, "no token: the challenge first")
	rec = httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/down/mcp", strings.NewReader(call))
	req.Header.Set("Authorization", "Bearer any")
	h.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "5", rec.Header().Get("Retry-After"))
	var body struct {
		ID    int `json:"id"`
		Error struct {
			Data map[string]string `json:"data"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
	assert.Equal(t, 7, body.ID)
	assert.Equal(t, "temporarily_unavailable", body.Error.Data["error"])
	ev := sink.Events()
	require.Len(t, ev, 2)
	assert.Equal(t, audit.Unavailable, ev[1].Decision)
	assert.Equal(t, audit.ReasonUpstreamUnavailable, ev[1].Reason)
	assert.Equal(t, "tools/call", ev[1].RPCMethod)
}
