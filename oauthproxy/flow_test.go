package oauthproxy

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/testutil"
)

// fixture is a proxy in front of the development upstream, served on loopback, with a
// browser (a cookie jar that does not follow redirects) and an injected clock.
type fixture struct {
	t        testing.TB
	srv      *Server
	base     string
	resource string
	clock    *testutil.Clock
	store    *MemoryStore
	browser  *http.Client
	logs     *testutil.Logs
}

const testRedirect = "http://127.0.0.1:9999/callback"

func newFixture(t testing.TB, mutate ...func(*Config)) *fixture {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	clock := testutil.NewClock(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	logger, logs := testutil.NewLogger()
	store := NewMemoryStore(clock.Now)
	cfg := Config{
		Issuer:    base,
		Upstream:  NewDevUpstream(base, clock.Now, DevUser{Name: "alice", TenantID: "acme", Scopes: []string{"notes:read", "notes:write"}}, DevUser{Name: "bob", TenantID: "acme", Scopes: []string{"notes:read"}}),
		Resources: StaticResources{base + "/notes/mcp": {"notes:read", "notes:write"}, base + "/admin/mcp": {"admin"}},
		DevMode:   true,
		Store:     store,
		Logger:    logger,
		Now:       clock.Now,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	srv, err := New(cfg)
	require.NoError(t, err)
	ts.Config.Handler = srv
	ts.Start()
	t.Cleanup(ts.Close)
	return &fixture{t: t, srv: srv, base: base, resource: base + "/notes/mcp", clock: clock, store: store, browser: newBrowser(t), logs: logs}
}

func newBrowser(t testing.TB) *http.Client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// register registers a public client with DCR and returns its client_id.
func (f *fixture) register(meta map[string]any) (int, map[string]any) {
	f.t.Helper()
	b, _ := json.Marshal(meta)
	resp, err := http.Post(f.base+"/oauth/register", "application/json", strings.NewReader(string(b)))
	require.NoError(f.t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(f.t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

func (f *fixture) publicClient() string {
	status, out := f.register(map[string]any{"redirect_uris": []string{testRedirect}, "token_endpoint_auth_method": "none", "grant_types": []string{"authorization_code", "refresh_token"}, "client_name": "Test Client"})
	require.Equal(f.t, http.StatusCreated, status, out)
	return out["client_id"].(string)
}

// authRequest is one authorization request of a client.
type authRequest struct {
	clientID, redirect, state, verifier, resource, scope string
}

func (f *fixture) newRequest(clientID string) *authRequest {
	return &authRequest{clientID: clientID, redirect: testRedirect, state: "client-state-" + randomToken(4), verifier: randomToken(32), resource: f.resource, scope: "notes:read notes:write"}
}

func (a *authRequest) url(base string) string {
	v := url.Values{"response_type": {"code"}, "client_id": {a.clientID}, "redirect_uri": {a.redirect}, "state": {a.state},
		"code_challenge": {hashKey(a.verifier)}, "code_challenge_method": {"S256"}, "resource": {a.resource}, "scope": {a.scope}}
	return base + "/oauth/authorize?" + v.Encode()
}

func (f *fixture) get(c *http.Client, u string) (*http.Response, string) {
	f.t.Helper()
	resp, err := c.Get(u)
	require.NoError(f.t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func (f *fixture) postForm(c *http.Client, u string, v url.Values) (*http.Response, string) {
	f.t.Helper()
	resp, err := c.PostForm(u, v)
	require.NoError(f.t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

var formField = regexp.MustCompile(`name="(tx|csrf|scope)" value="([^"]+)"`)

// consentForm returns the consent page's form as a browser submits it with every box
// ticked: tx, csrf and each scope.
func consentForm(t testing.TB, page string) url.Values {
	v := url.Values{}
	for _, m := range formField.FindAllStringSubmatch(page, -1) {
		v.Add(m[1], m[2])
	}
	require.NotEmpty(t, v.Get("tx"), page)
	require.NotEmpty(t, v.Get("csrf"), page)
	return v
}

// signIn runs the browser part of a sign-in as user and returns the redirect to the
// client (its query: code, state, iss or error).
func (f *fixture) signIn(b *http.Client, a *authRequest, user string) url.Values {
	f.t.Helper()
	resp, page := f.get(b, a.url(f.base))
	loc := resp.Header.Get("Location")
	if resp.StatusCode == http.StatusOK {
		require.Contains(f.t, page, "Authorize Test Client?")
		form := consentForm(f.t, page)
		form.Set("action", "approve")
		resp, _ = f.postForm(b, f.base+"/oauth/consent", form)
		require.Equal(f.t, http.StatusFound, resp.StatusCode)
		loc = resp.Header.Get("Location")
	} else {
		require.Equal(f.t, http.StatusFound, resp.StatusCode, page)
	}
	return f.upstreamLogin(b, loc, user)
}

// upstreamLogin signs in at the development upstream's page at loc, follows the
// callback and returns the query of the redirect to the client.
func (f *fixture) upstreamLogin(b *http.Client, loc, user string) url.Values {
	f.t.Helper()
	back := f.upstreamRedirect(b, loc, user)
	require.Equal(f.t, "127.0.0.1:9999", back.Host)
	return back.Query()
}

// upstreamRedirect is upstreamLogin returning the whole redirect to the client.
func (f *fixture) upstreamRedirect(b *http.Client, loc, user string) *url.URL {
	f.t.Helper()
	require.True(f.t, strings.HasPrefix(loc, f.base+"/oauth/dev/login?"), loc)
	up, _ := url.Parse(loc)
	form := url.Values{"state": {up.Query().Get("state")}, "code_challenge": {up.Query().Get("code_challenge")}, "redirect_uri": {up.Query().Get("redirect_uri")}, "user": {user}}
	resp, _ := f.postForm(b, f.base+"/oauth/dev/login", form)
	require.Equal(f.t, http.StatusFound, resp.StatusCode)
	resp, page := f.get(b, resp.Header.Get("Location"))
	require.Equal(f.t, http.StatusFound, resp.StatusCode, page)
	back, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(f.t, err)
	return back
}

// tokenRequest posts to the token endpoint and returns the status and JSON body.
func (f *fixture) tokenRequest(v url.Values) (int, map[string]any) {
	f.t.Helper()
	resp, body := f.postForm(http.DefaultClient, f.base+"/oauth/token", v)
	var out map[string]any
	require.NoError(f.t, json.Unmarshal([]byte(body), &out), body)
	assert.Equal(f.t, "no-store", resp.Header.Get("Cache-Control"))
	return resp.StatusCode, out
}

func (f *fixture) redeem(a *authRequest, code string) (int, map[string]any) {
	return f.tokenRequest(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {a.redirect}, "client_id": {a.clientID}, "code_verifier": {a.verifier}, "resource": {a.resource}})
}

func (f *fixture) verify(resource, token string) (*mcpauth.AccessToken, error) {
	v, err := f.srv.VerifierFor(resource)
	require.NoError(f.t, err)
	return v.VerifyToken(context.Background(), token)
}

func TestSignInIssuesTokensForTheResource(t *testing.T) {
	f := newFixture(t)
	id := f.publicClient()
	a := f.newRequest(id)
	back := f.signIn(f.browser, a, "bob")
	assert.Equal(t, a.state, back.Get("state"))
	assert.Equal(t, f.base, back.Get("iss"), "RFC 9207")
	require.NotEmpty(t, back.Get("code"), back)

	status, tok := f.redeem(a, back.Get("code"))
	require.Equal(t, http.StatusOK, status, tok)
	assert.Equal(t, "Bearer", tok["token_type"])
	assert.Equal(t, float64(900), tok["expires_in"])
	assert.Equal(t, "notes:read", tok["scope"], "bob is entitled to notes:read only")
	require.NotEmpty(t, tok["refresh_token"])

	at, err := f.verify(f.resource, tok["access_token"].(string))
	require.NoError(t, err)
	assert.Equal(t, "dev:bob", at.Subject)
	assert.Equal(t, "acme", at.TenantID)
	assert.Equal(t, id, at.ClientID)
	assert.Equal(t, []string{"notes:read"}, at.Scopes)
	assert.Equal(t, f.base, at.Issuer)

	// The audience is the resource: another service refuses it.
	_, err = f.verify(f.base+"/admin/mcp", tok["access_token"].(string))
	assert.ErrorIs(t, err, mcpauth.ErrInvalidToken)
}

// TestSignAccessToken: a token minted outside a sign-in with the proxy's key has the
// shape the proxy's verifier accepts, and the audience it was minted for only.
func TestSignAccessToken(t *testing.T) {
	key, err := GenerateSigningKey()
	require.NoError(t, err)
	f := newFixture(t, func(c *Config) { c.SigningKey = key })
	tok, err := SignAccessToken(key, TokenClaims{Issuer: f.base, Subject: "ops", Resource: f.resource, ClientID: "cli", TenantID: "acme", Scopes: []string{"notes:read"}, TTL: time.Minute}, f.clock.Now())
	require.NoError(t, err)
	at, err := f.verify(f.resource, tok)
	require.NoError(t, err)
	assert.Equal(t, "ops", at.Subject)
	assert.Equal(t, "cli", at.ClientID)
	assert.Equal(t, "acme", at.TenantID)
	assert.Equal(t, []string{"notes:read"}, at.Scopes)
	assert.Nil(t, at.Claim("gid"), "no grant: nothing for UpstreamTokenSource")
	_, err = f.verify(f.base+"/admin/mcp", tok)
	assert.ErrorIs(t, err, mcpauth.ErrInvalidToken)

	_, err = SignAccessToken(mcpauth.NewSecret("not a key"), TokenClaims{}, f.clock.Now())
	assert.ErrorContains(t, err, "oauthproxy: SignAccessToken: it is not PEM")
}
