package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/mcpauth/mcpauth/internal/testutil"
	"github.com/mcpauth/mcpauth/oauthproxy"
)

// front is a round-robin load balancer in front of the replicas, recording which replica
// answered each request.
type front struct {
	srv      *httptest.Server
	backends []*url.URL
	next     atomic.Uint64
	mu       sync.Mutex
	served   map[string][]int // path -> replicas, in order
}

func newFront(t *testing.T) *front {
	f := &front{served: map[string][]int{}}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			f.mu.Lock()
			i := int(f.next.Add(1)-1) % len(f.backends)
			f.served[r.In.URL.Path] = append(f.served[r.In.URL.Path], i)
			backend := f.backends[i]
			f.mu.Unlock()
			r.SetURL(backend)
			r.Out.Host = r.In.Host // the replicas see the public host
		},
		FlushInterval: -1,
	}
	f.srv = httptest.NewServer(rp)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *front) replicasOf(path string) []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.served[path]...)
}

// TestReplicasShareOneRedis: two example processes share one Redis behind a round-robin
// front. The TypeScript SDK registers, authorizes and exchanges its code across both,
// calls tools alternating between them, and steps up. A refresh works on either replica;
// two replicas redeeming the same refresh token at once leave at most one winner and a
// revoked family, refused on both. Redis holds no token in clear.
func TestReplicasShareOneRedis(t *testing.T) {
	node := requireNode(t, "mcp-sdk-2025-11-25")
	redis := testutil.StartRedis(t)
	key, err := oauthproxy.GenerateSigningKey()
	require.NoError(t, err)
	fr := newFront(t)
	env := []string{
		"MCPAUTH_BASE_URL=" + fr.srv.URL,
		"MCPAUTH_REDIS_URL=redis://" + redis.Addr + "/0",
		"MCPAUTH_PROXY_SIGNING_KEY=" + key.Reveal(),
		"MCPAUTH_PROXY_ENCRYPTION_KEYS=" + oauthproxy.GenerateEncryptionKey().Reveal(),
	}
	var replicas []string
	for range 2 {
		base := startExample(t, env...)
		replicas = append(replicas, base)
		u, _ := url.Parse(base)
		fr.mu.Lock() // the front's goroutines see it only through other processes
		fr.backends = append(fr.backends, u)
		fr.mu.Unlock()
	}

	// The TypeScript SDK through the front.
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("clients", "signin.mjs"), "2025-11-25", fr.srv.URL+"/notes/mcp", "dcr")
	cmd.Env = append(os.Environ(), "MCP_USER=alice", "MCP_FIRST_GRANT=notes:read", "MCP_ADVANCE_URL=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "signin.mjs failed; stderr:\n%s", stderr.String())
	var run signInRun
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &run), "signin.mjs output: %s", stdout.String())
	require.True(t, run.SignIn.Connected, "%+v", run.SignIn.Error)
	assert.JSONEq(t, `{"subject":"dev:alice","tenant":"acme","scopes":["notes:read"]}`, run.SignIn.Whoami.Text)
	assert.Equal(t, "notes:read notes:write", run.StepUp.GrantedScope)
	assert.JSONEq(t, `{"tenant":"acme","count":1}`, run.StepUp.Retried.Text, "%+v", run.StepUp.Retried)
	assert.Equal(t, run.StepUp.SessionBefore, run.StepUp.SessionAfter)

	// Both replicas took part in the sign-in and the MCP traffic.
	for _, path := range []string{"/oauth/authorize", "/oauth/token", "/notes/mcp"} {
		seen := map[int]bool{}
		for _, i := range fr.replicasOf(path) {
			seen[i] = true
		}
		if path == "/notes/mcp" || len(fr.replicasOf(path)) > 1 {
			assert.Len(t, seen, 2, "%s served by both replicas: %v", path, fr.replicasOf(path))
		}
	}
	assert.NotEqual(t, fr.replicasOf("/oauth/consent")[0], fr.replicasOf("/oauth/callback")[0], "consent on one replica, callback on the other")

	// A Go client signs in through the front, then refreshes on each replica directly.
	conf := registerPublicClient(t, fr.srv.URL)
	b := newMCPGoBrowser(t)
	verifier := oauth2.GenerateVerifier()
	back := b.authorize(t, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("resource", fr.srv.URL+"/notes/mcp")), nil)
	tok, err := conf.Exchange(t.Context(), back.Get("code"), oauth2.VerifierOption(verifier))
	require.NoError(t, err)
	refresh := func(replica int, rt string) (int, map[string]any) {
		resp, err := http.PostForm(replicas[replica]+"/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {conf.ClientID}})
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		return resp.StatusCode, out
	}
	status, out := refresh(0, tok.RefreshToken)
	require.Equal(t, http.StatusOK, status, out)
	status, out = refresh(1, out["refresh_token"].(string))
	require.Equal(t, http.StatusOK, status, out, "the rotated token works on the other replica")

	// Both replicas redeem the same refresh token at once.
	rt := out["refresh_token"].(string)
	var wg sync.WaitGroup
	codes := make([]int, 2)
	start := make(chan struct{})
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			codes[i], _ = refresh(i, rt)
		}()
	}
	close(start)
	wg.Wait()
	wins := 0
	for _, c := range codes {
		if c == http.StatusOK {
			wins++
		}
	}
	assert.LessOrEqual(t, wins, 1, "statuses %v", codes)
	for i := range 2 {
		status, out = refresh(i, rt)
		assert.Equal(t, http.StatusBadRequest, status, "replica %d", i)
		assert.Equal(t, "invalid_grant", out["error"], "replica %d", i)
	}
	if wins == 1 {
		// The winner's new token belongs to a family the loser revoked.
		assert.Contains(t, []string{"the refresh token was revoked", "the refresh token was already used; the grant is revoked"}, out["error_description"])
	}

	// What Redis holds: no token, code, verifier or secret in clear.
	rc := newRedisClient(t, redis.Addr)
	keys := rc.Keys(t.Context(), "*").Val()
	require.NotEmpty(t, keys)
	secrets := []string{tok.AccessToken, tok.RefreshToken, rt, verifier, key.Reveal(), "dev-", "devr-"}
	for _, k := range keys {
		v := rc.Get(t.Context(), k).Val()
		for _, s := range secrets {
			assert.NotContains(t, v, s, k)
			assert.NotContains(t, k, s, k)
		}
		assert.Positive(t, rc.PTTL(t.Context(), k).Val(), "every key expires: %s", k)
		assert.True(t, strings.HasPrefix(k, "mcpauth:"), k)
	}
}

func newRedisClient(t *testing.T, addr string) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	return c
}

// registerPublicClient registers a public client with the redirect URI of the mcp-go
// browser at the authorization server of base, found in its RFC 8414 metadata.
func registerPublicClient(t *testing.T, base string) *oauth2.Config {
	t.Helper()
	resp, err := http.Get(base + "/.well-known/oauth-authorization-server")
	require.NoError(t, err)
	var as map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&as))
	resp.Body.Close()
	body, _ := json.Marshal(map[string]any{"client_name": "e2e", "redirect_uris": []string{mcpgoRedirectURI},
		"grant_types": []string{"authorization_code", "refresh_token"}, "token_endpoint_auth_method": "none"})
	resp, err = http.Post(as["registration_endpoint"].(string), "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	var reg map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&reg))
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode, reg)
	return &oauth2.Config{
		ClientID: reg["client_id"].(string), RedirectURL: mcpgoRedirectURI, Scopes: []string{"notes:read", "notes:write"},
		Endpoint: oauth2.Endpoint{AuthURL: as["authorization_endpoint"].(string), TokenURL: as["token_endpoint"].(string), AuthStyle: oauth2.AuthStyleInParams},
	}
}
