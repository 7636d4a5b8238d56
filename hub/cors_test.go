package hub_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth/audit"
	"github.com/mcpauth/mcpauth/hub"
)

func corsRequest(t *testing.T, method, url, origin, token string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"browser","version":"1"}}}`))
	require.NoError(t, err)
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if method == http.MethodOptions {
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization, content-type, mcp-protocol-version")
	} else {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp
}

func TestCORSForBrowserClients(t *testing.T) {
	const inspector = "http://localhost:6274"
	f := newFixture(t, hub.Config{CORSOrigins: []string{inspector}})
	f.mountDefault()
	notes := f.hub.ResourceURL("notes")

	// Preflight from an allowed origin: answered by the hub, Authorization allowed.
	resp := corsRequest(t, http.MethodOptions, notes, inspector, "")
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Equal(t, inspector, resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, resp.Header.Get("Access-Control-Allow-Headers"), "Authorization")
	assert.Contains(t, resp.Header.Get("Access-Control-Allow-Headers"), "Mcp-Session-Id")
	assert.Contains(t, resp.Header.Get("Access-Control-Allow-Methods"), "POST")

	// The 401 challenge is readable by the browser client, so it can start sign-in.
	resp = corsRequest(t, http.MethodPost, notes, inspector, "")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, inspector, resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, resp.Header.Get("Access-Control-Expose-Headers"), "WWW-Authenticate")
	assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "resource_metadata=")

	// An authorized call exposes the session header.
	resp = corsRequest(t, http.MethodPost, notes, inspector, f.token("alice", "acme", "notes", "notes:read"))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.NotEmpty(t, resp.Header.Get("Mcp-Session-Id"))
	assert.Contains(t, resp.Header.Get("Access-Control-Expose-Headers"), "Mcp-Session-Id")

	// Another origin is refused, preflight or not, even with a valid token.
	resp = corsRequest(t, http.MethodOptions, notes, "https://evil.example", "")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
	resp = corsRequest(t, http.MethodPost, notes, "https://evil.example", f.token("alice", "acme", "notes", "notes:read"))
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)

	// Non-browser clients send no Origin and are unaffected.
	resp = corsRequest(t, http.MethodPost, notes, "", f.token("alice", "acme", "notes", "notes:read"))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
}

func TestCORSOffByDefaultAndValidated(t *testing.T) {
	sink := &audit.Recorder{}
	f := newFixture(t, hub.Config{Audit: sink})
	f.mountDefault()
	// Without CORS configured, a foreign Origin is still refused (DNS rebinding), with
	// one audit event; the hub's own origin and no Origin at all pass.
	token := f.token("alice", "acme", "notes", "notes:read")
	for _, service := range []string{"notes", "public"} {
		resp := corsRequest(t, http.MethodPost, f.hub.ResourceURL(service), "http://localhost:6274", token)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, service)
		assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	ev := sink.Events()
	require.Len(t, ev, 2)
	assert.Equal(t, audit.ReasonOriginNotAllowed, ev[0].Reason)
	assert.Equal(t, "notes", ev[0].Service)
	resp := corsRequest(t, http.MethodPost, f.hub.ResourceURL("notes"), f.srv.URL, "")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "same origin")
	assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
	resp = corsRequest(t, http.MethodPost, f.hub.ResourceURL("notes"), "", token)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "no Origin: a non-browser client")

	_, err := hub.New(hub.Config{BaseURL: "https://x", CORSOrigins: []string{"http://localhost:6274/path"}})
	require.ErrorContains(t, err, "Config.CORSOrigins")
	_, err = hub.New(hub.Config{BaseURL: "https://x", CORSOrigins: []string{"localhost"}})
	require.ErrorContains(t, err, "not an origin")

	wild := newFixture(t, hub.Config{CORSOrigins: []string{"*"}})
	wild.mountDefault()
	resp = corsRequest(t, http.MethodOptions, wild.hub.ResourceURL("notes"), "https://app.example", "")
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Equal(t, "*", resp.Header.Get("Access-Control-Allow-Origin"))
}
