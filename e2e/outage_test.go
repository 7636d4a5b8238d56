package e2e_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/mcpauth/mcpauth/internal/testutil"
	"github.com/mcpauth/mcpauth/store/redisstore"
)

// TestRedisOutage: Redis is killed in the middle of a run and restarted. In between,
// what needs no Redis (a tool call on a session this replica knows, discovery) answers
// 200 and everything else 503 with Retry-After: never a 500, never a wrong decision.
// After the restart the flows work again, and what was acknowledged before the crash (a
// registration, a refresh-token rotation) is still there (append-only persistence).
func TestRedisOutage(t *testing.T) {
	redis := testutil.StartRedis(t)
	rc := goredis.NewClient(&goredis.Options{Addr: redis.Addr, MaxRetries: -1})
	t.Cleanup(func() { rc.Close() })
	rs, err := redisstore.New(redisstore.Config{Client: rc, Timeout: time.Second})
	require.NoError(t, err)
	h := newSignInHubWith(t, rs, rs.Sessions(0))
	notes := h.base + "/notes/mcp"

	conf := registerPublicClient(t, h.base)
	verifier := oauth2.GenerateVerifier()
	back := newMCPGoBrowser(t).authorize(t, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("resource", notes)), nil)
	tok, err := conf.Exchange(t.Context(), back.Get("code"), oauth2.VerifierOption(verifier))
	require.NoError(t, err)
	// Acknowledged before the crash: a rotation and a second client.
	tok, err = conf.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	require.NoError(t, err)
	second := registerPublicClient(t, h.base)
	sid := mcpPost(t, notes, tok.AccessToken, "", initBody).Header.Get("Mcp-Session-Id")
	require.NotEmpty(t, sid)

	redis.Kill()
	type probe struct {
		name   string
		do     func() *http.Response
		status int
	}
	authorize := func(c *oauth2.Config) func() *http.Response {
		return func() *http.Response {
			resp, err := http.Get(c.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("resource", notes)))
			require.NoError(t, err)
			return resp
		}
	}
	refresh := func() *http.Response {
		resp, err := http.PostForm(conf.Endpoint.TokenURL, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {conf.ClientID}})
		require.NoError(t, err)
		return resp
	}
	for _, p := range []probe{
		{"a tool call on a known session", func() *http.Response { return mcpPost(t, notes, tok.AccessToken, sid, listNotesBody) }, http.StatusOK},
		{"discovery", func() *http.Response { return get(t, h.base+"/.well-known/oauth-authorization-server") }, http.StatusOK},
		{"resource metadata", func() *http.Response { return get(t, h.base+"/.well-known/oauth-protected-resource/notes/mcp") }, http.StatusOK},
		{"a new session", func() *http.Response { return mcpPost(t, notes, tok.AccessToken, "", initBody) }, http.StatusServiceUnavailable},
		{"a session this replica never saw", func() *http.Response { return mcpPost(t, notes, tok.AccessToken, "unknown-session", listNotesBody) }, http.StatusServiceUnavailable},
		{"a refresh", refresh, http.StatusServiceUnavailable},
		{"a registration", func() *http.Response {
			resp, err := http.Post(h.base+"/oauth/register", "application/json", strings.NewReader(`{"redirect_uris":["http://127.0.0.1:1/cb"],"token_endpoint_auth_method":"none"}`))
			require.NoError(t, err)
			return resp
		}, http.StatusServiceUnavailable},
		{"an authorization", authorize(second), http.StatusServiceUnavailable},
	} {
		for range 3 {
			resp := p.do()
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, p.status, resp.StatusCode, "%s: %s", p.name, body)
			if resp.StatusCode == http.StatusServiceUnavailable {
				assert.NotEmpty(t, resp.Header.Get("Retry-After"), p.name)
			}
		}
	}

	redis.Start()
	resp := refresh()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the rotation acknowledged before the crash survived, and the refused refresh wrote nothing: %v", out)
	resp = authorize(second)()
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the registration acknowledged before the crash survived (its consent page)")
	resp = mcpPost(t, notes, tok.AccessToken, "", initBody)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "new sessions again")
}

const (
	initBody      = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}`
	listNotesBody = `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_notes","arguments":{}}}`
)

// mcpPost sends one JSON-RPC POST of protocol 2025-06-18 with token, in session sid
// ("" for none), and returns the answer with its body read.
func mcpPost(t *testing.T, endpoint, token, sid, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	if sid != "" {
		req.Header.Set("Mcp-Session-Id", sid)
		req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp
}

func get(t *testing.T, u string) *http.Response {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	return resp
}
