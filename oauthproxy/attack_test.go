package oauthproxy

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/signing"
)

// --- helpers ---------------------------------------------------------------------------

// registerClient registers a client named "Test Client" redirecting to testRedirect,
// public with both grants unless meta says otherwise, and returns the response.
func (f *fixture) registerClient(meta map[string]any) map[string]any {
	f.t.Helper()
	m := map[string]any{"redirect_uris": []string{testRedirect}, "client_name": "Test Client", "token_endpoint_auth_method": "none", "grant_types": []string{"authorization_code", "refresh_token"}}
	maps.Copy(m, meta)
	status, out := f.register(m)
	require.Equal(f.t, http.StatusCreated, status, out)
	return out
}

// code signs in as user in browser b and returns the authorization code.
func (f *fixture) code(b *http.Client, a *authRequest, user string) string {
	f.t.Helper()
	back := f.signIn(b, a, user)
	require.NotEmpty(f.t, back.Get("code"), back)
	return back.Get("code")
}

// tokens signs a new public client in as user and returns its request and tokens.
func (f *fixture) tokens(user string) (*authRequest, map[string]any) {
	f.t.Helper()
	a := f.newRequest(f.publicClient())
	status, tok := f.redeem(a, f.code(f.browser, a, user))
	require.Equal(f.t, http.StatusOK, status, tok)
	return a, tok
}

// refresh redeems a refresh token as the public client clientID; kv are more
// parameters as name, value pairs.
func (f *fixture) refresh(clientID, rt string, kv ...string) (int, map[string]any) {
	f.t.Helper()
	v := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {clientID}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return f.tokenRequest(v)
}

// tokenBasic posts v to the token endpoint with HTTP Basic client credentials.
func (f *fixture) tokenBasic(id, secret string, v url.Values) (*http.Response, map[string]any) {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.base+"/oauth/token", strings.NewReader(v.Encode()))
	require.NoError(f.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(f.t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(f.t, json.NewDecoder(resp.Body).Decode(&out))
	return resp, out
}

// revoke posts token to the revocation endpoint as the public client clientID.
func (f *fixture) revoke(clientID, token string) (*http.Response, string) {
	f.t.Helper()
	return f.postForm(http.DefaultClient, f.base+"/oauth/revoke", url.Values{"token": {token}, "client_id": {clientID}})
}

// query returns the parameters of a's authorization request, to edit.
func (f *fixture) query(a *authRequest) url.Values {
	u, err := url.Parse(a.url(f.base))
	require.NoError(f.t, err)
	return u.Query()
}

// consentPage opens a's authorization request in b and returns the consent form.
func (f *fixture) consentPage(b *http.Client, a *authRequest) url.Values {
	f.t.Helper()
	resp, page := f.get(b, a.url(f.base))
	require.Equal(f.t, http.StatusOK, resp.StatusCode, page)
	return consentForm(f.t, page)
}

// approve opens a's consent page in b, approves, and returns the upstream login URL.
func (f *fixture) approve(b *http.Client, a *authRequest) string {
	f.t.Helper()
	form := f.consentPage(b, a)
	form.Set("action", "approve")
	resp, page := f.postForm(b, f.base+"/oauth/consent", form)
	require.Equal(f.t, http.StatusFound, resp.StatusCode, page)
	loc := resp.Header.Get("Location")
	require.True(f.t, strings.HasPrefix(loc, f.base+"/oauth/dev/login?"), loc)
	return loc
}

// callbackURL signs in as user at the upstream login URL loc, from browser b, and
// returns the callback URL the upstream sends the browser to (not followed).
func (f *fixture) callbackURL(b *http.Client, loc, user string) string {
	f.t.Helper()
	up, err := url.Parse(loc)
	require.NoError(f.t, err)
	q := up.Query()
	form := url.Values{"state": {q.Get("state")}, "code_challenge": {q.Get("code_challenge")}, "redirect_uri": {q.Get("redirect_uri")}, "user": {user}}
	resp, _ := f.postForm(b, f.base+"/oauth/dev/login", form)
	require.Equal(f.t, http.StatusFound, resp.StatusCode)
	cb := resp.Header.Get("Location")
	require.True(f.t, strings.HasPrefix(cb, f.base+"/oauth/callback?"), cb)
	return cb
}

func assertOAuthError(t *testing.T, status int, body map[string]any, wantStatus int, code, desc string) {
	t.Helper()
	assert.Equal(t, wantStatus, status, body)
	assert.Equal(t, code, body["error"], body)
	if desc != "" {
		assert.Contains(t, body["error_description"], desc, body)
	}
}

// assertErrorPage checks an HTML error page that redirects nowhere.
func assertErrorPage(t *testing.T, resp *http.Response, body string, status int, msg string) {
	t.Helper()
	assert.Equal(t, status, resp.StatusCode, body)
	assert.Empty(t, resp.Header.Get("Location"), "an error page never redirects")
	assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Contains(t, body, "<h1>Sign-in error</h1>")
	assert.Contains(t, body, msg)
	assert.NotContains(t, body, "code=")
}

// clientRedirect checks that resp sends the browser to testRedirect and returns the query.
func clientRedirect(t *testing.T, resp *http.Response) url.Values {
	t.Helper()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	u, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:9999/callback", u.Scheme+"://"+u.Host+u.Path)
	return u.Query()
}

// assertRedirectError checks the query of a redirect to the client carrying an error.
func (f *fixture) assertRedirectError(q url.Values, state, code, desc string) {
	f.t.Helper()
	assert.Equal(f.t, code, q.Get("error"), q)
	assert.Equal(f.t, state, q.Get("state"), "the client's state is echoed")
	assert.Equal(f.t, f.base, q.Get("iss"), "RFC 9207")
	assert.False(f.t, q.Has("code"), q)
	if desc != "" {
		assert.Contains(f.t, q.Get("error_description"), desc)
	}
}

func kidOf(t *testing.T, token string) string {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	require.NoError(t, err)
	kid, _ := tok.Header["kid"].(string)
	return kid
}

var discard = slog.New(slog.DiscardHandler)

// --- 1. redirect_uri at /authorize -------------------------------------------------------

func TestAuthorizeRedirectMismatchShowsAPageAndRedirectsNowhere(t *testing.T) {
	f := newFixture(t)
	id := f.publicClient()
	for _, tc := range []struct{ name, redirect string }{
		{"unregistered", "https://attacker.example/callback"},
		{"trailing slash", testRedirect + "/"},
		{"different path", "http://127.0.0.1:9999/other"},
		{"https instead of http", "https://127.0.0.1:9999/callback"},
		{"loopback, other port, other path", "http://127.0.0.1:5555/callback/x"},
		{"loopback, other host", "http://localhost:9999/callback"},
		{"loopback, other port, added query", "http://127.0.0.1:5555/callback?x=1"},
		{"loopback, other port, fragment", "http://127.0.0.1:5555/callback#frag"},
		{"loopback, other port, user info", "http://u@127.0.0.1:5555/callback"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := f.newRequest(id)
			a.redirect = tc.redirect
			resp, body := f.get(newBrowser(t), a.url(f.base))
			assertErrorPage(t, resp, body, http.StatusBadRequest, "redirect_uri does not match any redirect URI the client registered")
			assert.Empty(t, resp.Cookies(), "nothing is started for a request that is refused")
		})
	}
}

func TestAuthorizeUnknownOrMissingClientShowsAPage(t *testing.T) {
	f := newFixture(t)
	id := f.publicClient()
	for _, tc := range []struct{ name, query, msg string }{
		{"unknown client_id", url.Values{"client_id": {"no-such-client"}, "redirect_uri": {testRedirect}, "response_type": {"code"}}.Encode(), "The client cannot be used: the client is not registered"},
		{"no client_id", url.Values{"redirect_uri": {testRedirect}, "response_type": {"code"}}.Encode(), "exactly one client_id"},
		{"client_id twice", url.Values{"client_id": {id, id}, "redirect_uri": {testRedirect}}.Encode(), "exactly one client_id"},
		{"redirect_uri twice", url.Values{"client_id": {id}, "redirect_uri": {testRedirect, testRedirect}}.Encode(), "at most one redirect_uri"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.get(newBrowser(t), f.base+"/oauth/authorize?"+tc.query)
			assertErrorPage(t, resp, body, http.StatusBadRequest, tc.msg)
		})
	}
}

func TestAuthorizeLoopbackRedirectWithAnotherPortIsAccepted(t *testing.T) {
	f := newFixture(t)
	a := f.newRequest(f.publicClient())
	a.redirect = "http://127.0.0.1:5555/callback" // RFC 8252 §7.3: the port is chosen at run time
	b := newBrowser(t)
	loc := f.approve(b, a)
	back := f.upstreamRedirect(b, loc, "alice")
	assert.Equal(t, "127.0.0.1:5555", back.Host)
	assert.Equal(t, "/callback", back.Path)
	assert.Equal(t, a.state, back.Query().Get("state"))

	status, tok := f.redeem(a, back.Query().Get("code"))
	assert.Equal(t, http.StatusOK, status, tok)
}

func TestAuthorizeWithoutRedirectURIUsesTheOnlyRegisteredOne(t *testing.T) {
	f := newFixture(t)
	a := f.newRequest(f.publicClient())
	q := f.query(a)
	q.Del("redirect_uri")
	b := newBrowser(t)
	resp, page := f.get(b, f.base+"/oauth/authorize?"+q.Encode())
	require.Equal(t, http.StatusOK, resp.StatusCode, page)
	form := consentForm(t, page)
	form.Set("action", "approve")
	resp, _ = f.postForm(b, f.base+"/oauth/consent", form)
	require.Equal(t, http.StatusFound, resp.StatusCode)
	back := f.upstreamLogin(b, resp.Header.Get("Location"), "alice")
	require.NotEmpty(t, back.Get("code"))

	// No redirect_uri at the authorization request: none needed at the token endpoint.
	status, tok := f.tokenRequest(url.Values{"grant_type": {"authorization_code"}, "code": {back.Get("code")}, "client_id": {a.clientID}, "code_verifier": {a.verifier}, "resource": {a.resource}})
	assert.Equal(t, http.StatusOK, status, tok)

	// With two registered, it must be given.
	two := f.registerClient(map[string]any{"redirect_uris": []string{testRedirect, "http://127.0.0.1:9999/other"}})
	q.Set("client_id", two["client_id"].(string))
	resp, body := f.get(newBrowser(t), f.base+"/oauth/authorize?"+q.Encode())
	assertErrorPage(t, resp, body, http.StatusBadRequest, "redirect_uri is required: the client registered several")
}

// --- 2. /authorize errors once the redirect is known ---------------------------------------

func TestAuthorizeErrorsGoBackToTheClient(t *testing.T) {
	f := newFixture(t)
	id := f.publicClient()
	for _, tc := range []struct {
		name       string
		edit       func(url.Values)
		code, desc string
	}{
		{"no PKCE", func(v url.Values) { v.Del("code_challenge"); v.Del("code_challenge_method") }, "invalid_request", "PKCE is required"},
		{"no code_challenge_method", func(v url.Values) { v.Del("code_challenge_method") }, "invalid_request", "PKCE is required"},
		{"code_challenge_method plain", func(v url.Values) { v.Set("code_challenge_method", "plain") }, "invalid_request", "PKCE is required"},
		{"malformed challenge", func(v url.Values) { v.Set("code_challenge", "too-short") }, "invalid_request", "code_challenge is not a base64url SHA-256 digest"},
		{"padded challenge", func(v url.Values) { v.Set("code_challenge", v.Get("code_challenge")+"=") }, "invalid_request", "code_challenge is not a base64url SHA-256 digest"},
		{"response_type token", func(v url.Values) { v.Set("response_type", "token") }, "unsupported_response_type", "only response_type=code"},
		{"no response_type", func(v url.Values) { v.Del("response_type") }, "unsupported_response_type", "only response_type=code"},
		{"resource of an unknown service", func(v url.Values) { v.Set("resource", f.base+"/unknown/mcp") }, "invalid_target", "not a protected service"},
		{"no resource", func(v url.Values) { v.Del("resource") }, "invalid_target", "the resource parameter (RFC 8707) is required"},
		{"repeated scope", func(v url.Values) { v.Add("scope", "admin") }, "invalid_request", "parameter scope is repeated"},
		{"repeated resource", func(v url.Values) { v.Add("resource", f.base+"/admin/mcp") }, "invalid_request", "parameter resource is repeated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := f.newRequest(id)
			q := f.query(a)
			tc.edit(q)
			resp, _ := f.get(newBrowser(t), f.base+"/oauth/authorize?"+q.Encode())
			assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
			f.assertRedirectError(clientRedirect(t, resp), a.state, tc.code, tc.desc)
		})
	}
}

func TestAuthorizeDropsScopesTheServiceDoesNotOffer(t *testing.T) {
	f := newFixture(t)
	a := f.newRequest(f.publicClient())
	a.scope = "notes:read admin unknown notes:read"
	resp, page := f.get(f.browser, a.url(f.base))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, page, `name="scope" value="notes:read" checked`)
	assert.NotContains(t, page, "admin")
	assert.NotContains(t, page, "unknown")

	status, tok := f.redeem(a, f.code(f.browser, a, "alice"))
	require.Equal(t, http.StatusOK, status, tok)
	assert.Equal(t, "notes:read", tok["scope"], "alice may have notes:write too, but only notes:read was asked for and offered")
}

// --- 3. token endpoint: authorization_code ---------------------------------------------

func TestTokenAuthorizationCodeRefusals(t *testing.T) {
	f := newFixture(t)
	id := f.publicClient()
	for _, tc := range []struct {
		name       string
		edit       func(a *authRequest, v url.Values)
		code, desc string
	}{
		{"missing code_verifier", func(_ *authRequest, v url.Values) { v.Del("code_verifier") }, "invalid_request", "code_verifier is missing"},
		{"wrong code_verifier", func(_ *authRequest, v url.Values) { v.Set("code_verifier", randomToken(32)) }, "invalid_grant", "code_verifier does not match"},
		{"malformed code_verifier", func(a *authRequest, v url.Values) { v.Set("code_verifier", a.verifier+"!") }, "invalid_grant", "code_verifier does not match"},
		{"another redirect_uri", func(_ *authRequest, v url.Values) { v.Set("redirect_uri", "http://127.0.0.1:9999/other") }, "invalid_grant", "redirect_uri differs"},
		{"redirect_uri omitted although given", func(_ *authRequest, v url.Values) { v.Del("redirect_uri") }, "invalid_grant", "redirect_uri differs"},
		{"another resource", func(_ *authRequest, v url.Values) { v.Set("resource", f.base+"/admin/mcp") }, "invalid_target", "resource differs"},
		{"unknown code", func(_ *authRequest, v url.Values) { v.Set("code", randomToken(32)) }, "invalid_grant", "invalid or expired"},
		{"unsupported grant_type", func(_ *authRequest, v url.Values) { v.Set("grant_type", "password") }, "unsupported_grant_type", "only authorization_code and refresh_token"},
		{"client_credentials", func(_ *authRequest, v url.Values) { v.Set("grant_type", "client_credentials") }, "unsupported_grant_type", ""},
		{"missing grant_type", func(_ *authRequest, v url.Values) { v.Del("grant_type") }, "invalid_request", "grant_type is missing"},
		{"repeated parameter", func(a *authRequest, v url.Values) { v.Add("code_verifier", a.verifier) }, "invalid_request", "parameter code_verifier is repeated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := f.newRequest(id)
			v := url.Values{"grant_type": {"authorization_code"}, "code": {f.code(f.browser, a, "alice")}, "redirect_uri": {a.redirect}, "client_id": {a.clientID}, "code_verifier": {a.verifier}, "resource": {a.resource}}
			tc.edit(a, v)
			status, body := f.tokenRequest(v)
			assertOAuthError(t, status, body, http.StatusBadRequest, tc.code, tc.desc)
			assert.NotContains(t, body, "access_token")
		})
	}
}

func TestTokenUnknownClientIs401(t *testing.T) {
	f := newFixture(t)
	resp, body := f.postForm(http.DefaultClient, f.base+"/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "client_id": {"no-such-client"}})
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, `Basic realm="token"`, resp.Header.Get("WWW-Authenticate"))
	assert.JSONEq(t, `{"error":"invalid_client","error_description":"the client is not registered with this authorization server"}`, body)
}

func TestTokenReusedCodeRevokesWhatItIssued(t *testing.T) {
	f := newFixture(t)
	a := f.newRequest(f.publicClient())
	code := f.code(f.browser, a, "alice")
	status, tok := f.redeem(a, code)
	require.Equal(t, http.StatusOK, status, tok)

	status, body := f.redeem(a, code)
	assertOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant", "already used")

	status, body = f.refresh(a.clientID, tok["refresh_token"].(string))
	assertOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant", "revoked")

	// Without a refresh token family to collide with, the code alone says it was used.
	b := f.newRequest(f.registerClient(map[string]any{"grant_types": []string{"authorization_code"}})["client_id"].(string))
	code = f.code(f.browser, b, "alice")
	status, tok = f.redeem(b, code)
	require.Equal(t, http.StatusOK, status, tok)
	status, body = f.redeem(b, code)
	assertOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant", "already used")
	assert.NotContains(t, body, "access_token")
}

// laxStore keeps every value a year longer than asked, as a shared store
// with coarse expiry might: the server's own expiry checks must hold without the store's.
type laxStore struct{ Store }

const laxExtra = 365 * 24 * time.Hour

func (s laxStore) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	return s.Store.Put(ctx, key, value, ttl+laxExtra)
}

func (s laxStore) CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) (bool, error) {
	return s.Store.CompareAndSwap(ctx, key, old, value, ttl+laxExtra)
}

var storeKinds = []struct {
	name   string
	mutate func(*Config)
}{
	{"exact store", func(*Config) {}},
	{"lax store", func(c *Config) { c.Store = laxStore{c.Store} }},
}

func TestTokenExpiredCode(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			f := newFixture(t, sk.mutate)
			id := f.publicClient()

			a := f.newRequest(id)
			code := f.code(f.browser, a, "alice")
			f.clock.Advance(DefaultCodeTTL - time.Second)
			status, tok := f.redeem(a, code)
			assert.Equal(t, http.StatusOK, status, "a code is good until CodeTTL: %v", tok)

			a = f.newRequest(id)
			code = f.code(f.browser, a, "alice")
			f.clock.Advance(DefaultCodeTTL)
			status, body := f.redeem(a, code)
			assertOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant", "invalid or expired")
		})
	}
}

func TestTokenCodeOfAnotherClient(t *testing.T) {
	f := newFixture(t)
	a := f.newRequest(f.publicClient())
	b := f.publicClient()
	code := f.code(f.browser, a, "alice")

	stolen := *a
	stolen.clientID = b
	status, body := f.redeem(&stolen, code)
	assertOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant", "issued to another client")
}

// --- 4. confidential clients ---------------------------------------------------------

func TestConfidentialClientAuthentication(t *testing.T) {
	f := newFixture(t)

	basic := f.registerClient(map[string]any{"token_endpoint_auth_method": "client_secret_basic"})
	assert.Equal(t, "client_secret_basic", basic["token_endpoint_auth_method"])
	assert.Equal(t, float64(0), basic["client_secret_expires_at"])
	require.NotEmpty(t, basic["client_secret"])
	post := f.registerClient(map[string]any{"token_endpoint_auth_method": "client_secret_post"})
	require.NotEmpty(t, post["client_secret"])
	deflt := f.registerClient(map[string]any{"token_endpoint_auth_method": nil})
	assert.Equal(t, "client_secret_basic", deflt["token_endpoint_auth_method"], "RFC 7591 §2 default")
	assert.NotEmpty(t, deflt["client_secret"])
	public := f.registerClient(nil)
	assert.NotContains(t, public, "client_secret")

	form := func(a *authRequest, code string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {a.redirect}, "code_verifier": {a.verifier}, "resource": {a.resource}}
	}
	with := func(v url.Values, kv ...string) url.Values {
		v = maps.Clone(v)
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	wantInvalidClient := func(t *testing.T, resp *http.Response, body map[string]any, desc string) {
		t.Helper()
		assertOAuthError(t, resp.StatusCode, body, http.StatusUnauthorized, "invalid_client", desc)
		assert.Equal(t, `Basic realm="token"`, resp.Header.Get("WWW-Authenticate"))
	}
	post2 := func(v url.Values) (*http.Response, map[string]any) {
		t.Helper()
		resp, body := f.postForm(http.DefaultClient, f.base+"/oauth/token", v)
		var out map[string]any
		require.NoError(t, json.Unmarshal([]byte(body), &out), body)
		return resp, out
	}

	t.Run("client_secret_basic", func(t *testing.T) {
		id, secret := basic["client_id"].(string), basic["client_secret"].(string)
		a := f.newRequest(id)
		v := form(a, f.code(f.browser, a, "alice"))
		// Failed authentications do not consume the code: the same code is good last.
		resp, body := f.tokenBasic(id, secret+"x", v)
		wantInvalidClient(t, resp, body, "client authentication failed")
		resp, body = post2(with(v, "client_id", id, "client_secret", secret))
		wantInvalidClient(t, resp, body, "registered token_endpoint_auth_method client_secret_basic, not client_secret_post")
		resp, body = post2(with(v, "client_id", id))
		wantInvalidClient(t, resp, body, "not none")
		resp, body = f.tokenBasic(id, secret, with(v, "client_id", "another"))
		assertOAuthError(t, resp.StatusCode, body, http.StatusBadRequest, "invalid_request", "differs from the Basic credentials")

		resp, body = f.tokenBasic(id, secret, v)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		resp, body = f.tokenBasic(id, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {body["refresh_token"].(string)}})
		assert.Equal(t, http.StatusOK, resp.StatusCode, body)
	})
	t.Run("client_secret_post", func(t *testing.T) {
		id, secret := post["client_id"].(string), post["client_secret"].(string)
		a := f.newRequest(id)
		v := form(a, f.code(f.browser, a, "alice"))
		resp, body := post2(with(v, "client_id", id, "client_secret", secret+"x"))
		wantInvalidClient(t, resp, body, "client authentication failed")
		resp, body = post2(with(v, "client_id", id, "client_secret", ""))
		wantInvalidClient(t, resp, body, "client authentication failed")
		resp, body = f.tokenBasic(id, secret, v)
		wantInvalidClient(t, resp, body, "not client_secret_basic")

		resp, body = post2(with(v, "client_id", id, "client_secret", secret))
		assert.Equal(t, http.StatusOK, resp.StatusCode, body)
	})
	t.Run("a public client sending a secret", func(t *testing.T) {
		id := public["client_id"].(string)
		a := f.newRequest(id)
		v := form(a, f.code(f.browser, a, "alice"))
		resp, body := post2(with(v, "client_id", id, "client_secret", "guess"))
		wantInvalidClient(t, resp, body, "registered token_endpoint_auth_method none, not client_secret_post")
		resp, body = f.tokenBasic(id, "guess", v)
		wantInvalidClient(t, resp, body, "registered token_endpoint_auth_method none, not client_secret_basic")
		resp, body = post2(with(v, "client_id", id, "client_secret", ""))
		wantInvalidClient(t, resp, body, "not client_secret_post")

		resp, body = post2(with(v, "client_id", id))
		assert.Equal(t, http.StatusOK, resp.StatusCode, body)
	})
}

// --- 5. refresh ------------------------------------------------------------------------

func TestRefreshRotatesAndReuseRevokesTheFamily(t *testing.T) {
	f := newFixture(t)
	a, tok := f.tokens("alice")
	rt1 := tok["refresh_token"].(string)

	status, tok2 := f.refresh(a.clientID, rt1)
	require.Equal(t, http.StatusOK, status, tok2)
	rt2 := tok2["refresh_token"].(string)
	assert.NotEqual(t, rt1, rt2)
	assert.NotEqual(t, tok["access_token"], tok2["access_token"])
	assert.Equal(t, "notes:read notes:write", tok2["scope"])

	// The rotated-out token is a reuse: refused, and the whole family with it.
	status, body := f.refresh(a.clientID, rt1)
	assertOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant", "already used; the grant is revoked")
	status, body = f.refresh(a.clientID, rt2)
	assertOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant", "revoked")

	for _, rt := range []string{"", "no-dot", ".secret", "gid.", "nosuch.secret"} {
		status, body = f.refresh(a.clientID, rt)
		assertOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant", "the refresh token is invalid")
	}
}

func TestRefreshNeverWidensTheScope(t *testing.T) {
	f := newFixture(t)
	a, tok := f.tokens("bob") // bob is granted notes:read only
	require.Equal(t, "notes:read", tok["scope"])
	rt := tok["refresh_token"].(string)

	status, body := f.refresh(a.clientID, rt, "scope", "notes:read notes:write")
	assertOAuthError(t, status, body, http.StatusBadRequest, "invalid_scope", "scope notes:write was not granted")
	status, body = f.refresh(a.clientID, rt, "scope", "admin")
	assertOAuthError(t, status, body, http.StatusBadRequest, "invalid_scope", "scope admin was not granted")

	// Refused requests did not rotate the token.
	status, body = f.refresh(a.clientID, rt)
	assert.Equal(t, http.StatusOK, status, body)
}

func TestRefreshNarrowsTheScope(t *testing.T) {
	f := newFixture(t)
	a, tok := f.tokens("alice")
	require.Equal(t, "notes:read notes:write", tok["scope"])

	status, narrow := f.refresh(a.clientID, tok["refresh_token"].(string), "scope", "notes:read")
	require.Equal(t, http.StatusOK, status, narrow)
	assert.Equal(t, "notes:read", narrow["scope"])
	at, err := f.verify(f.resource, narrow["access_token"].(string))
	require.NoError(t, err)
	assert.Equal(t, []string{"notes:read"}, at.Scopes)

	// RFC 6749 §6: the refresh token keeps the scope of the grant.
	status, full := f.refresh(a.clientID, narrow["refresh_token"].(string))
	require.Equal(t, http.StatusOK, status, full)
	assert.Equal(t, "notes:read notes:write", full["scope"])
}

func TestRefreshIsBoundToTheResourceAndTheClient(t *testing.T) {
	f := newFixture(t)
	a, tok := f.tokens("alice")
	rt := tok["refresh_token"].(string)

	status, body := f.refresh(a.clientID, rt, "resource", f.base+"/admin/mcp")
	assertOAuthError(t, status, body, http.StatusBadRequest, "invalid_target", "only good for the resource it was issued for")

	other := f.publicClient()
	status, body = f.refresh(other, rt)
	assertOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant", "issued to another client")

	// Neither refusal rotated nor revoked the family.
	status, body = f.refresh(a.clientID, rt, "resource", f.resource)
	assert.Equal(t, http.StatusOK, status, body)
}

func TestRefreshTokenLifetimeCountsFromTheGrant(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			f := newFixture(t, sk.mutate)
			a, tok := f.tokens("alice")
			f.clock.Advance(DefaultRefreshTokenTTL - time.Hour)
			status, tok2 := f.refresh(a.clientID, tok["refresh_token"].(string))
			require.Equal(t, http.StatusOK, status, tok2)

			// Rotation does not extend the grant.
			f.clock.Advance(time.Hour)
			status, body := f.refresh(a.clientID, tok2["refresh_token"].(string))
			assertOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant", "invalid or expired")
		})
	}
}

func TestClientWithoutRefreshGrantGetsNoRefreshToken(t *testing.T) {
	f := newFixture(t)
	id := f.registerClient(map[string]any{"grant_types": []string{"authorization_code"}})["client_id"].(string)
	a := f.newRequest(id)
	status, tok := f.redeem(a, f.code(f.browser, a, "alice"))
	require.Equal(t, http.StatusOK, status, tok)
	assert.NotContains(t, tok, "refresh_token")
	assert.NotEmpty(t, tok["access_token"])

	_, other := f.tokens("alice")
	status, body := f.refresh(id, other["refresh_token"].(string))
	assertOAuthError(t, status, body, http.StatusBadRequest, "unauthorized_client", "did not register the refresh_token grant")
}

func TestRefreshAfterTheAccessTokenExpired(t *testing.T) {
	f := newFixture(t)
	a, tok := f.tokens("alice")
	_, err := f.verify(f.resource, tok["access_token"].(string))
	require.NoError(t, err)

	f.clock.Advance(16 * time.Minute)
	_, err = f.verify(f.resource, tok["access_token"].(string))
	assert.ErrorIs(t, err, mcpauth.ErrInvalidToken)

	status, tok2 := f.refresh(a.clientID, tok["refresh_token"].(string))
	require.Equal(t, http.StatusOK, status, tok2)
	at, err := f.verify(f.resource, tok2["access_token"].(string))
	require.NoError(t, err)
	assert.Equal(t, "dev:alice", at.Subject)
	assert.Equal(t, f.clock.Now().Add(DefaultAccessTokenTTL).Unix(), at.ExpiresAt.Unix())
}

// --- 6. concurrent refresh ----------------------------------------------------------

// postToken is tokenRequest for goroutines: no require.
func postToken(base string, v url.Values) (int, map[string]any, error) {
	resp, err := http.PostForm(base+"/oauth/token", v)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	err = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, err
}

func TestConcurrentRefreshAtMostOneWinsAndTheFamilyIsRevoked(t *testing.T) {
	f := newFixture(t)
	id := f.publicClient()
	for round := range 20 {
		a := f.newRequest(id)
		status, tok := f.redeem(a, f.code(f.browser, a, "alice"))
		require.Equal(t, http.StatusOK, status, tok)
		rt := tok["refresh_token"].(string)

		type result struct {
			status int
			body   map[string]any
			err    error
		}
		var results [2]result
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range results {
			wg.Go(func() {
				<-start
				s, b, err := postToken(f.base, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {id}})
				results[i] = result{s, b, err}
			})
		}
		close(start)
		wg.Wait()

		wins, winner := 0, ""
		for _, r := range results {
			require.NoError(t, r.err)
			switch r.status {
			case http.StatusOK:
				wins++
				winner = r.body["refresh_token"].(string)
			case http.StatusBadRequest:
				assert.Equal(t, "invalid_grant", r.body["error"], "round %d: %v", round, r.body)
			default:
				t.Fatalf("round %d: status %d: %v", round, r.status, r.body)
			}
		}
		require.LessOrEqual(t, wins, 1, "round %d: one refresh token redeemed twice", round)
		// Both presented the same token: the loser revoked the family.
		if winner != "" {
			status, body := f.refresh(id, winner)
			assertOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant", "revoked")
		}
		status, body := f.refresh(id, rt)
		assertOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant", "revoked")
	}
}

// --- 7. consent ---------------------------------------------------------------------

func TestConsentCSRFFailureBurnsTheTransaction(t *testing.T) {
	f := newFixture(t)
	a := f.newRequest(f.publicClient())
	form := f.consentPage(f.browser, a)
	form.Set("action", "approve")

	bad := maps.Clone(form)
	bad.Set("csrf", randomToken(24))
	resp, body := f.postForm(f.browser, f.base+"/oauth/consent", bad)
	assertErrorPage(t, resp, body, http.StatusForbidden, "CSRF check failed")

	resp, body = f.postForm(f.browser, f.base+"/oauth/consent", form)
	assertErrorPage(t, resp, body, http.StatusBadRequest, "This sign-in has expired or was already answered")
}

func TestConsentFromAnotherBrowserIsRefused(t *testing.T) {
	f := newFixture(t)
	id := f.publicClient()
	for _, tc := range []struct {
		name  string
		other func() *http.Client
	}{
		{"without a cookie", func() *http.Client { return newBrowser(t) }},
		{"with a cookie of its own", func() *http.Client {
			b := newBrowser(t)
			f.consentPage(b, f.newRequest(id))
			return b
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := f.consentPage(f.browser, f.newRequest(id)) // tx and csrf of f.browser's page
			form.Set("action", "approve")
			resp, body := f.postForm(tc.other(), f.base+"/oauth/consent", form)
			assertErrorPage(t, resp, body, http.StatusForbidden, "CSRF check failed")
		})
	}
}

func TestConsentDenied(t *testing.T) {
	f := newFixture(t)
	a := f.newRequest(f.publicClient())
	form := f.consentPage(f.browser, a)
	form.Set("action", "deny")
	resp, _ := f.postForm(f.browser, f.base+"/oauth/consent", form)
	f.assertRedirectError(clientRedirect(t, resp), a.state, "access_denied", "declined")

	// Nothing is remembered: the page is shown again.
	f.consentPage(f.browser, f.newRequest(a.clientID))
}

func TestCallbackInABrowserThatDidNotApprove(t *testing.T) {
	f := newFixture(t)
	a := f.newRequest(f.publicClient())
	loc := f.approve(f.browser, a)

	victim := newBrowser(t)
	f.consentPage(victim, f.newRequest(a.clientID)) // the victim has a cookie of its own
	cb := f.callbackURL(victim, loc, "bob")
	resp, body := f.get(victim, cb)
	assertErrorPage(t, resp, body, http.StatusForbidden, "This browser did not approve this sign-in")
}

func TestConsentIsPerClientScopeAndPerson(t *testing.T) {
	f := newFixture(t)
	one, two := f.publicClient(), f.publicClient()
	b := newBrowser(t)

	r1 := f.newRequest(one)
	r1.scope = "notes:read"
	f.code(b, r1, "alice") // shows the page: alice approves

	// Client one, same scope: no page, straight to the upstream.
	again := f.newRequest(one)
	again.scope = "notes:read"
	resp, _ := f.get(b, again.url(f.base))
	require.Equal(t, http.StatusFound, resp.StatusCode)
	assert.True(t, strings.HasPrefix(resp.Header.Get("Location"), f.base+"/oauth/dev/login?"), resp.Header.Get("Location"))

	// Client two does not ride client one's consent, for the very same scope.
	r2 := f.newRequest(two)
	r2.scope = "notes:read"
	f.consentPage(b, r2)

	// notes:read does not cover notes:write.
	wider := f.newRequest(one)
	wider.scope = "notes:write"
	f.consentPage(b, wider)

	// A revoked consent shows the page again.
	require.NoError(t, f.srv.RevokeConsent(context.Background(), "dev:alice", one))
	f.consentPage(b, again)
}

func TestSkippedConsentForSomeoneElseIsDenied(t *testing.T) {
	f := newFixture(t)
	id := f.publicClient()
	b := newBrowser(t)
	f.code(b, f.newRequest(id), "alice")

	// The page is skipped (alice approved), but bob signs in upstream.
	a := f.newRequest(id)
	resp, _ := f.get(b, a.url(f.base))
	require.Equal(t, http.StatusFound, resp.StatusCode)
	back := f.upstreamLogin(b, resp.Header.Get("Location"), "bob")
	f.assertRedirectError(back, a.state, "access_denied", "consent_required")

	// Alice herself still goes through.
	f.code(b, f.newRequest(id), "alice")
}

// --- 8. upstream answers ------------------------------------------------------------

func TestUpstreamDenial(t *testing.T) {
	f := newFixture(t)
	a := f.newRequest(f.publicClient())
	back := f.signIn(f.browser, a, "") // "Cancel (deny)" on the development sign-in page
	f.assertRedirectError(back, a.state, "access_denied", "the identity provider refused the sign-in")
}

func TestCallbackUpstreamErrors(t *testing.T) {
	f := newFixture(t)
	id := f.publicClient()
	for _, tc := range []struct{ name, upstream, code, desc string }{
		{"server_error", "server_error", "server_error", "the identity provider answered with an error"},
		{"unknown error", "something_else", "server_error", "the identity provider answered with an error"},
		{"access_denied", "access_denied", "access_denied", "refused the sign-in"},
		{"temporarily_unavailable", "temporarily_unavailable", "temporarily_unavailable", "unavailable"},
		{"no code", "", "server_error", "sent no code"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := f.newRequest(id)
			b := newBrowser(t)
			up, _ := url.Parse(f.approve(b, a))
			q := url.Values{"state": {up.Query().Get("state")}}
			if tc.upstream != "" {
				q.Set("error", tc.upstream)
			}
			resp, _ := f.get(b, f.base+"/oauth/callback?"+q.Encode())
			f.assertRedirectError(clientRedirect(t, resp), a.state, tc.code, tc.desc)
		})
	}
	t.Run("a code the upstream refuses", func(t *testing.T) {
		a := f.newRequest(id)
		b := newBrowser(t)
		up, _ := url.Parse(f.approve(b, a))
		resp, _ := f.get(b, f.base+"/oauth/callback?"+url.Values{"state": {up.Query().Get("state")}, "code": {"forged"}}.Encode())
		f.assertRedirectError(clientRedirect(t, resp), a.state, "access_denied", "the development sign-in code is invalid")
	})
}

func TestCallbackStateUnknownOrReused(t *testing.T) {
	f := newFixture(t)
	resp, body := f.get(f.browser, f.base+"/oauth/callback?state=nope&code=x")
	assertErrorPage(t, resp, body, http.StatusBadRequest, "This sign-in is unknown, has expired or was already completed")

	a := f.newRequest(f.publicClient())
	cb := f.callbackURL(f.browser, f.approve(f.browser, a), "alice")
	resp, _ = f.get(f.browser, cb)
	q := clientRedirect(t, resp)
	require.NotEmpty(t, q.Get("code"))

	resp, body = f.get(f.browser, cb)
	assertErrorPage(t, resp, body, http.StatusBadRequest, "This sign-in is unknown, has expired or was already completed")
}

// --- 9. page headers and the browser cookie -----------------------------------------

func TestConsentPageHeadersAndCookie(t *testing.T) {
	f := newFixture(t)
	id := f.registerClient(map[string]any{"client_name": `<script>alert(1)</script>`})["client_id"].(string)
	resp, page := f.get(f.browser, f.newRequest(id).url(f.base))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	h := resp.Header
	assert.Contains(t, h.Get("Content-Security-Policy"), "frame-ancestors 'none'")
	assert.Contains(t, h.Get("Content-Security-Policy"), "default-src 'none'")
	assert.Equal(t, "DENY", h.Get("X-Frame-Options"))
	assert.Equal(t, "no-store", h.Get("Cache-Control"))
	assert.Equal(t, "no-referrer", h.Get("Referrer-Policy"))
	assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
	assert.NotContains(t, page, "<script>")
	assert.Contains(t, page, "&lt;script&gt;alert(1)&lt;/script&gt;")

	cookies := resp.Cookies()
	require.Len(t, cookies, 1)
	c := cookies[0]
	assert.Equal(t, "mcpauth-browser", c.Name, "loopback http issuer: no __Host- prefix")
	assert.False(t, c.Secure)
	assert.True(t, c.HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
	assert.Equal(t, "/", c.Path)
	assert.Empty(t, c.Domain)
	assert.Equal(t, int(DefaultConsentTTL/time.Second), c.MaxAge)

	// The browser keeps its cookie on the next request.
	resp, _ = f.get(f.browser, f.newRequest(id).url(f.base))
	assert.Empty(t, resp.Cookies())

	// Error pages carry the same protection.
	resp, _ = f.get(f.browser, f.base+"/oauth/authorize?client_id=nope")
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
	assert.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"))
}

func TestBrowserCookieOnAnHTTPSIssuer(t *testing.T) {
	const iss = "https://auth.example.com"
	s, err := New(Config{Issuer: iss, Upstream: NewDevUpstream(iss, nil, DevUser{Name: "alice"}), Resources: StaticResources{iss + "/mcp": {"read"}}, DevMode: true, Logger: discard})
	require.NoError(t, err)
	assert.Equal(t, "__Host-mcpauth-browser", s.cookieName())

	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, iss+"/oauth/register", strings.NewReader(`{"redirect_uris":["`+testRedirect+`"],"token_endpoint_auth_method":"none"}`)))
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	var reg map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &reg))
	a := &authRequest{clientID: reg["client_id"].(string), redirect: testRedirect, state: "s", verifier: randomToken(32), resource: iss + "/mcp", scope: "read"}

	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, a.url(iss), nil))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	cookies := rec.Result().Cookies()
	require.Len(t, cookies, 1)
	c := cookies[0]
	assert.Equal(t, "__Host-mcpauth-browser", c.Name)
	assert.True(t, c.Secure)
	assert.Equal(t, "/", c.Path)
	assert.Empty(t, c.Domain, "__Host- cookies have no Domain")
	assert.True(t, c.HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, c.SameSite)

	// Presented back, it is kept; the loopback name is not honoured on https.
	req := httptest.NewRequest(http.MethodGet, a.url(iss), nil)
	req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	assert.Empty(t, rec.Result().Cookies())

	req = httptest.NewRequest(http.MethodGet, a.url(iss), nil)
	req.AddCookie(&http.Cookie{Name: "mcpauth-browser", Value: c.Value})
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	require.Len(t, rec.Result().Cookies(), 1)
	assert.NotEqual(t, c.Value, rec.Result().Cookies()[0].Value)
}

// --- 10. dynamic client registration ---------------------------------------------------

func (f *fixture) registerRaw(body string) (*http.Response, map[string]any) {
	f.t.Helper()
	resp, err := http.Post(f.base+"/oauth/register", "application/json", strings.NewReader(body))
	require.NoError(f.t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(f.t, json.NewDecoder(resp.Body).Decode(&out))
	return resp, out
}

func TestRegistrationRefusals(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.RegistrationRate = 1000 })
	for _, tc := range []struct{ name, body, code, desc string }{
		{"http on a public host", `{"redirect_uris":["http://app.example.com/cb"]}`, "invalid_redirect_uri", "must use https, or http on a loopback address"},
		{"fragment", `{"redirect_uris":["https://app.example.com/cb#x"]}`, "invalid_redirect_uri", "has a fragment"},
		{"empty fragment", `{"redirect_uris":["https://app.example.com/cb#"]}`, "invalid_redirect_uri", "has a fragment"},
		{"user info", `{"redirect_uris":["https://u:p@app.example.com/cb"]}`, "invalid_redirect_uri", "has user info"},
		{"relative", `{"redirect_uris":["/cb"]}`, "invalid_redirect_uri", "is not an absolute URL"},
		{"custom scheme", `{"redirect_uris":["com.example.app:/cb"]}`, "invalid_redirect_uri", "is not an absolute URL"},
		{"no redirect_uris", `{"client_name":"x"}`, "invalid_redirect_uri", "redirect_uris is required"},
		{"empty redirect_uris", `{"redirect_uris":[]}`, "invalid_redirect_uri", "redirect_uris is required"},
		{"web app with a loopback redirect", `{"redirect_uris":["` + testRedirect + `"],"application_type":"web"}`, "invalid_redirect_uri", "a web application must use https on a public host"},
		{"implicit grant", `{"redirect_uris":["https://app.example.com/cb"],"grant_types":["authorization_code","implicit"]}`, "invalid_client_metadata", `not "implicit"`},
		{"password grant", `{"redirect_uris":["https://app.example.com/cb"],"grant_types":["password"]}`, "invalid_client_metadata", `not "password"`},
		{"refresh without code", `{"redirect_uris":["https://app.example.com/cb"],"grant_types":["refresh_token"]}`, "invalid_client_metadata", "must include authorization_code"},
		{"token response type", `{"redirect_uris":["https://app.example.com/cb"],"response_types":["token"]}`, "invalid_client_metadata", `not "token"`},
		{"private_key_jwt", `{"redirect_uris":["https://app.example.com/cb"],"token_endpoint_auth_method":"private_key_jwt"}`, "invalid_client_metadata", `token_endpoint_auth_method "private_key_jwt" is not supported`},
		{"not JSON", `redirect_uris=https://app.example.com/cb`, "invalid_client_metadata", "not a JSON object"},
		{"a JSON array", `[{"redirect_uris":["https://app.example.com/cb"]}]`, "invalid_client_metadata", "not a JSON object"},
		{"too large", `{"client_name":"` + strings.Repeat("x", maxRegistrationBody) + `"}`, "invalid_client_metadata", "larger than 64 KiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.registerRaw(tc.body)
			assertOAuthError(t, resp.StatusCode, body, http.StatusBadRequest, tc.code, tc.desc)
			assert.NotContains(t, body, "client_id")
		})
	}
	assert.Equal(t, 0, countPrefix(f.store, "client:"), "no refused registration was stored")
}

func countPrefix(m *MemoryStore, prefix string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for k := range m.entries {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

func TestRegistrationResponse(t *testing.T) {
	f := newFixture(t)
	resp, body := f.registerRaw(`{"redirect_uris":["` + testRedirect + `"],"client_name":"CLI","scope":"notes:read"}`)
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	id, _ := body["client_id"].(string)
	require.NotEmpty(t, id)
	require.NotEmpty(t, body["client_secret"])
	delete(body, "client_id")
	delete(body, "client_secret")
	assert.Equal(t, map[string]any{
		"client_id_issued_at":        float64(f.clock.Now().Unix()),
		"client_secret_expires_at":   float64(0),
		"redirect_uris":              []any{testRedirect},
		"grant_types":                []any{"authorization_code"},
		"response_types":             []any{"code"},
		"token_endpoint_auth_method": "client_secret_basic",
		"application_type":           "native", // a loopback redirect
		"client_name":                "CLI",
		"scope":                      "notes:read",
	}, body)
}

func TestRegistrationRateLimit(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.RegistrationRate = 2 })
	f.publicClient()
	f.publicClient()
	resp, body := f.registerRaw(`{"redirect_uris":["` + testRedirect + `"],"token_endpoint_auth_method":"none"}`)
	assertOAuthError(t, resp.StatusCode, body, http.StatusTooManyRequests, "temporarily_unavailable", "too many registrations")
	assert.Equal(t, "60", resp.Header.Get("Retry-After"))

	f.clock.Advance(30 * time.Second) // 2 a minute: one more after 30 seconds
	f.publicClient()
	resp, _ = f.registerRaw(`{"redirect_uris":["` + testRedirect + `"]}`)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
}

func TestRegistrationDisabled(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.RegistrationRate = -1 })
	resp, body := f.registerRaw(`{"redirect_uris":["` + testRedirect + `"]}`)
	assertOAuthError(t, resp.StatusCode, body, http.StatusNotFound, "invalid_request", "no such endpoint")

	resp, raw := f.get(http.DefaultClient, f.base+"/.well-known/oauth-authorization-server")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(raw), &m))
	assert.NotContains(t, m, "registration_endpoint")
	assert.Equal(t, f.base+"/oauth/token", m["token_endpoint"])
}

// --- 11. metadata and JWKS -----------------------------------------------------------

func TestMetadataDocument(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Resources = StaticResources{
			c.Issuer + "/notes/mcp": {"notes:write", "offline_access", "notes:read"},
			c.Issuer + "/admin/mcp": {"admin", "notes:read"},
		}
	})
	methods := []any{"none", "client_secret_basic", "client_secret_post"}
	want := map[string]any{
		"issuer":                                         f.base,
		"authorization_endpoint":                         f.base + "/oauth/authorize",
		"token_endpoint":                                 f.base + "/oauth/token",
		"registration_endpoint":                          f.base + "/oauth/register",
		"revocation_endpoint":                            f.base + "/oauth/revoke",
		"jwks_uri":                                       f.base + "/oauth/jwks.json",
		"scopes_supported":                               []any{"admin", "notes:read", "notes:write"},
		"response_types_supported":                       []any{"code"},
		"response_modes_supported":                       []any{"query"},
		"grant_types_supported":                          []any{"authorization_code", "refresh_token"},
		"token_endpoint_auth_methods_supported":          methods,
		"revocation_endpoint_auth_methods_supported":     methods,
		"code_challenge_methods_supported":               []any{"S256"},
		"client_id_metadata_document_supported":          true,
		"authorization_response_iss_parameter_supported": true,
		"resource_indicators_supported":                  true,
	}
	for _, p := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		t.Run(p, func(t *testing.T) {
			resp, raw := f.get(http.DefaultClient, f.base+p)
			require.Equal(t, http.StatusOK, resp.StatusCode, raw)
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			assert.Equal(t, "*", resp.Header.Get("Access-Control-Allow-Origin"))
			var got map[string]any
			require.NoError(t, json.Unmarshal([]byte(raw), &got))
			assert.Equal(t, want, got)
		})
	}
}

func TestJWKS(t *testing.T) {
	f := newFixture(t)
	resp, raw := f.get(http.DefaultClient, f.base+"/oauth/jwks.json")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	require.NoError(t, json.Unmarshal([]byte(raw), &set))
	require.Len(t, set.Keys, 1)
	pub := f.srv.signer.Priv.Public().(ed25519.PublicKey)
	assert.Equal(t, map[string]string{"kid": f.srv.signer.KID, "alg": "EdDSA", "use": "sig", "kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(pub)}, set.Keys[0])
	assert.NotContains(t, raw, `"d"`, "no private part")

	_, tok := f.tokens("alice")
	assert.Equal(t, f.srv.signer.KID, kidOf(t, tok["access_token"].(string)))
}

// --- 12. key rotation ---------------------------------------------------------------

// sibling returns a Server sharing f's issuer, upstream, resources, store and clock,
// as a second replica or a restarted process would, with the keys of mutate.
func (f *fixture) sibling(mutate func(*Config)) *Server {
	f.t.Helper()
	cfg := Config{Issuer: f.base, Upstream: f.srv.cfg.Upstream, Resources: f.srv.cfg.Resources, SigningKey: f.srv.cfg.SigningKey, EncryptionKeys: f.srv.cfg.EncryptionKeys, Store: f.store, Now: f.clock.Now, Logger: discard, DevMode: true}
	mutate(&cfg)
	s, err := New(cfg)
	require.NoError(f.t, err)
	return s
}

func TestSigningKeyRotation(t *testing.T) {
	k1, err := GenerateSigningKey()
	require.NoError(t, err)
	k2, err := GenerateSigningKey()
	require.NoError(t, err)
	sk1, err := signing.Parse(k1)
	require.NoError(t, err)
	sk2, err := signing.Parse(k2)
	require.NoError(t, err)
	require.NotEqual(t, sk1.KID, sk2.KID)

	f := newFixture(t, func(c *Config) { c.SigningKey = k1 })
	a, tok := f.tokens("alice")
	old := tok["access_token"].(string)
	assert.Equal(t, sk1.KID, kidOf(t, old))

	s2 := f.sibling(func(c *Config) { c.SigningKey, c.PreviousSigningKeys = k2, []mcpauth.Secret{k1} })
	v2, err := s2.VerifierFor(f.resource)
	require.NoError(t, err)
	_, err = v2.VerifyToken(context.Background(), old)
	require.NoError(t, err, "a token signed with the previous key is still accepted")

	// A refresh at the rotated server signs with the new key.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, f.base+"/oauth/token", strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}, "client_id": {a.clientID}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	s2.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var tok2 map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &tok2))
	fresh := tok2["access_token"].(string)
	assert.Equal(t, sk2.KID, kidOf(t, fresh))
	_, err = v2.VerifyToken(context.Background(), fresh)
	require.NoError(t, err)
	_, err = f.verify(f.resource, fresh)
	assert.ErrorIs(t, err, mcpauth.ErrInvalidToken, "the old server does not know the new key")

	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	rec = httptest.NewRecorder()
	s2.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, f.base+"/oauth/jwks.json", nil))
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &set))
	require.Len(t, set.Keys, 2)
	assert.Equal(t, sk2.KID, set.Keys[0]["kid"], "the signing key first")
	assert.Equal(t, sk1.KID, set.Keys[1]["kid"])
}

func TestEncryptionKeyRotation(t *testing.T) {
	e1, e2 := GenerateEncryptionKey(), GenerateEncryptionKey()
	f := newFixture(t, func(c *Config) { c.EncryptionKeys = []mcpauth.Secret{e1} })
	ctxOf := func(tok map[string]any) (context.Context, string) {
		at, err := f.verify(f.resource, tok["access_token"].(string))
		require.NoError(t, err)
		return mcpauth.WithAccessToken(context.Background(), at), at.Claim("gid").(string)
	}
	_, tok := f.tokens("alice")
	ctx, gid := ctxOf(tok)

	ts, err := f.srv.UpstreamTokenSource(ctx)
	require.NoError(t, err)
	ut, err := ts.Token()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(ut.AccessToken, "dev-"), ut.AccessToken)

	sealed, err := f.store.Get(ctx, "upstream:"+gid)
	require.NoError(t, err)
	assert.NotContains(t, string(sealed), ut.AccessToken, "stored encrypted")
	assert.NotContains(t, string(sealed), ut.RefreshToken)

	t.Run("new key in front of the old one", func(t *testing.T) {
		ts, err := f.sibling(func(c *Config) { c.EncryptionKeys = []mcpauth.Secret{e2, e1} }).UpstreamTokenSource(ctx)
		require.NoError(t, err)
		got, err := ts.Token()
		require.NoError(t, err)
		assert.Equal(t, ut.AccessToken, got.AccessToken)
	})
	t.Run("old key removed", func(t *testing.T) {
		_, err := f.sibling(func(c *Config) { c.EncryptionKeys = []mcpauth.Secret{e2} }).UpstreamTokenSource(ctx)
		assert.ErrorIs(t, err, errSealed)
	})
	t.Run("tampered value", func(t *testing.T) {
		for _, i := range []int{0, 1, 10, len(sealed) - 1} {
			bad := append([]byte(nil), sealed...)
			bad[i] ^= 1
			require.NoError(t, f.store.Put(ctx, "upstream:"+gid, bad, time.Hour))
			_, err := f.srv.UpstreamTokenSource(ctx)
			assert.ErrorIs(t, err, errSealed, "byte %d flipped", i)
		}
		require.NoError(t, f.store.Put(ctx, "upstream:"+gid, sealed[:4], time.Hour))
		_, err := f.srv.UpstreamTokenSource(ctx)
		assert.ErrorIs(t, err, errSealed)
	})
	t.Run("moved to another grant", func(t *testing.T) {
		_, tok2 := f.tokens("bob")
		ctx2, gid2 := ctxOf(tok2)
		require.NoError(t, f.store.Put(ctx, "upstream:"+gid2, sealed, time.Hour))
		_, err := f.srv.UpstreamTokenSource(ctx2)
		assert.ErrorIs(t, err, errSealed, "a sealed value is bound to its key")
	})
	t.Run("not this server's token", func(t *testing.T) {
		_, err := f.srv.UpstreamTokenSource(context.Background())
		assert.ErrorIs(t, err, ErrNoUpstreamToken)
		_, err = f.srv.UpstreamTokenSource(mcpauth.WithAccessToken(context.Background(), &mcpauth.AccessToken{Issuer: "https://elsewhere.example", Claims: map[string]any{"gid": gid}}))
		assert.ErrorIs(t, err, ErrNoUpstreamToken)
	})
}

func TestUpstreamTokenRefresh(t *testing.T) {
	f := newFixture(t)
	_, tok := f.tokens("alice")
	at, err := f.verify(f.resource, tok["access_token"].(string))
	require.NoError(t, err)
	ctx := mcpauth.WithAccessToken(context.Background(), at)

	ts, err := f.srv.UpstreamTokenSource(ctx)
	require.NoError(t, err)
	t1, err := ts.Token()
	require.NoError(t, err)
	again, err := ts.Token()
	require.NoError(t, err)
	assert.Equal(t, t1.AccessToken, again.AccessToken, "not refreshed before it expires")

	f.clock.Advance(time.Hour + time.Second)
	t2, err := ts.Token()
	require.NoError(t, err)
	assert.NotEqual(t, t1.AccessToken, t2.AccessToken)
	assert.True(t, strings.HasPrefix(t2.AccessToken, "dev-"), t2.AccessToken)
	assert.Equal(t, f.clock.Now().Add(time.Hour).Unix(), t2.Expiry.Unix())

	// The refreshed token was stored: a new source (another request) gets it.
	ts3, err := f.srv.UpstreamTokenSource(ctx)
	require.NoError(t, err)
	t3, err := ts3.Token()
	require.NoError(t, err)
	assert.Equal(t, t2.AccessToken, t3.AccessToken)
}

// --- 13. revocation -----------------------------------------------------------------

func TestRevocation(t *testing.T) {
	f := newFixture(t)

	t.Run("refresh token", func(t *testing.T) {
		a, tok := f.tokens("alice")
		resp, body := f.revoke(a.clientID, tok["refresh_token"].(string))
		assert.Equal(t, http.StatusOK, resp.StatusCode, body)
		assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
		status, out := f.refresh(a.clientID, tok["refresh_token"].(string))
		assertOAuthError(t, status, out, http.StatusBadRequest, "invalid_grant", "revoked")
	})
	t.Run("access token revokes its family", func(t *testing.T) {
		a, tok := f.tokens("alice")
		at, err := f.verify(f.resource, tok["access_token"].(string))
		require.NoError(t, err)
		resp, body := f.revoke(a.clientID, tok["access_token"].(string))
		assert.Equal(t, http.StatusOK, resp.StatusCode, body)
		status, out := f.refresh(a.clientID, tok["refresh_token"].(string))
		assertOAuthError(t, status, out, http.StatusBadRequest, "invalid_grant", "revoked")
		_, err = f.srv.UpstreamTokenSource(mcpauth.WithAccessToken(context.Background(), at))
		assert.ErrorIs(t, err, ErrNoUpstreamToken, "the upstream token is forgotten")
	})
	t.Run("unknown tokens", func(t *testing.T) {
		a, tok := f.tokens("alice")
		for _, tok := range []string{"garbage", "gid.secret", "a.b.c", tok["access_token"].(string) + "x"} {
			resp, body := f.revoke(a.clientID, tok)
			assert.Equal(t, http.StatusOK, resp.StatusCode, body)
		}
		status, out := f.refresh(a.clientID, tok["refresh_token"].(string))
		assert.Equal(t, http.StatusOK, status, out)
	})
	t.Run("another client's tokens", func(t *testing.T) {
		a, tok := f.tokens("alice")
		other := f.publicClient()
		for _, tk := range []string{tok["refresh_token"].(string), tok["access_token"].(string)} {
			resp, body := f.revoke(other, tk)
			assert.Equal(t, http.StatusOK, resp.StatusCode, body)
		}
		status, out := f.refresh(a.clientID, tok["refresh_token"].(string))
		assert.Equal(t, http.StatusOK, status, "not revoked: %v", out)
	})
	t.Run("an access token of another issuer", func(t *testing.T) {
		a, tok := f.tokens("alice")
		at, err := f.verify(f.resource, tok["access_token"].(string))
		require.NoError(t, err)
		// Signed with this server's key (shared with another deployment) but issued there.
		forged := jwt.NewWithClaims(f.srv.signer.Method, jwt.MapClaims{"iss": "https://elsewhere.example", "client_id": a.clientID, "gid": at.Claim("gid"), "sub": "dev:alice"})
		forged.Header["kid"] = f.srv.signer.KID
		s, err := forged.SignedString(f.srv.signer.Priv)
		require.NoError(t, err)
		resp, body := f.revoke(a.clientID, s)
		assert.Equal(t, http.StatusOK, resp.StatusCode, body)
		status, out := f.refresh(a.clientID, tok["refresh_token"].(string))
		assert.Equal(t, http.StatusOK, status, "not revoked: %v", out)
	})
	t.Run("refusals", func(t *testing.T) {
		a, _ := f.tokens("alice")
		resp, body := f.revoke(a.clientID, "")
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
		assert.JSONEq(t, `{"error":"invalid_request","error_description":"token is missing"}`, body)
		resp, body = f.revoke("no-such-client", "x")
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		assert.Contains(t, body, `"error":"invalid_client"`)
	})
}

// --- secrets never logged ---------------------------------------------------------------

func TestNoSecretInLogs(t *testing.T) {
	f := newFixture(t)
	reg := f.registerClient(map[string]any{"token_endpoint_auth_method": "client_secret_post"})
	id, secret := reg["client_id"].(string), reg["client_secret"].(string)
	a := f.newRequest(id)
	code := f.code(f.browser, a, "alice")
	v := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {a.redirect}, "code_verifier": {a.verifier}, "client_id": {id}, "client_secret": {secret}}
	status, tok := f.tokenRequest(v)
	require.Equal(t, http.StatusOK, status, tok)
	at, err := f.verify(f.resource, tok["access_token"].(string))
	require.NoError(t, err)
	ts, err := f.srv.UpstreamTokenSource(mcpauth.WithAccessToken(context.Background(), at))
	require.NoError(t, err)
	ut, err := ts.Token()
	require.NoError(t, err)
	status, _ = f.tokenRequest(v) // a reuse, logged or not
	require.Equal(t, http.StatusBadRequest, status)

	// A failed upstream sign-in is logged.
	b := newBrowser(t)
	up, _ := url.Parse(f.approve(b, f.newRequest(id)))
	const forged = "forged-upstream-code-value"
	resp, _ := f.get(b, f.base+"/oauth/callback?"+url.Values{"state": {up.Query().Get("state")}, "code": {forged}}.Encode())
	require.Equal(t, http.StatusFound, resp.StatusCode)

	logs := f.logs.String()
	require.Contains(t, logs, "oauthproxy: the upstream sign-in failed", "the test exercised a logged failure")
	for name, s := range map[string]string{
		"client secret": secret, "code": code, "code verifier": a.verifier, "access token": tok["access_token"].(string),
		"refresh token": tok["refresh_token"].(string), "refresh secret": strings.SplitN(tok["refresh_token"].(string), ".", 2)[1],
		"upstream code": forged, "upstream access token": ut.AccessToken, "upstream refresh token": ut.RefreshToken,
		"signing key": f.srv.cfg.SigningKey.Reveal(), "encryption key": f.srv.cfg.EncryptionKeys[0].Reveal(),
	} {
		assert.NotContains(t, logs, s, name)
	}
}

// TestConsentGrantsOnlyTheTickedScopes: the person may grant less than the client asked.
func TestConsentGrantsOnlyTheTickedScopes(t *testing.T) {
	f := newFixture(t)
	a := f.newRequest(f.publicClient())
	resp, page := f.get(f.browser, a.url(f.base))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	form := consentForm(t, page)
	assert.Equal(t, []string{"notes:read", "notes:write"}, form["scope"], "every asked scope is offered, ticked")
	form["scope"] = []string{"notes:read", "admin"} // notes:write unticked; admin was never asked
	form.Set("action", "approve")
	resp, _ = f.postForm(f.browser, f.base+"/oauth/consent", form)
	require.Equal(t, http.StatusFound, resp.StatusCode)
	back := f.upstreamLogin(f.browser, resp.Header.Get("Location"), "alice")
	status, tok := f.redeem(a, back.Get("code"))
	require.Equal(t, http.StatusOK, status, tok)
	assert.Equal(t, "notes:read", tok["scope"])

	// The approval covers notes:read only: asking for notes:write shows the page again.
	a = f.newRequest(a.clientID)
	resp, _ = f.get(f.browser, a.url(f.base))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// TestConsentWarnsAboutLoopbackOnlyClients: MCP asks for a warning when the client's
// redirect URIs are all on this computer, where any program could impersonate it.
func TestConsentWarnsAboutLoopbackOnlyClients(t *testing.T) {
	f := newFixture(t)
	resp, page := f.get(f.browser, f.newRequest(f.publicClient()).url(f.base))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, page, "<strong>Warning:</strong> this application receives the answer on this computer (127.0.0.1:9999)")

	web := f.registerClient(map[string]any{"redirect_uris": []string{"https://app.example.com/cb"}, "token_endpoint_auth_method": "none", "client_name": "Web"})
	a := f.newRequest(web["client_id"].(string))
	a.redirect = "https://app.example.com/cb"
	resp, page = f.get(f.browser, a.url(f.base))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, page, "sent back to <strong>app.example.com</strong>")
	assert.NotContains(t, page, "Warning")
}

// TestPublicClientInBasicWithoutPassword: a public client's id in HTTP Basic with an
// empty password is the none method (go-sdk sends it); a password is still refused.
func TestPublicClientInBasicWithoutPassword(t *testing.T) {
	f := newFixture(t)
	id := f.publicClient()
	a := f.newRequest(id)
	code := f.code(f.browser, a, "alice")
	v := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {a.redirect}, "code_verifier": {a.verifier}}
	resp, out := f.tokenBasic(id, "x", v)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, "invalid_client", out["error"])
	resp, out = f.tokenBasic(id, "", v)
	assert.Equal(t, http.StatusOK, resp.StatusCode, out)
	assert.NotEmpty(t, out["access_token"])
}

// TestSignInExpiresAfterAuthorizationTTL: a consent form or callback older than
// AuthorizationTTL is refused by the server itself, whatever the store keeps.
func TestSignInExpiresAfterAuthorizationTTL(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Store = laxStore{c.Store} })
	a := f.newRequest(f.publicClient())
	form := f.consentPage(f.browser, a)
	form.Set("action", "approve")
	f.clock.Advance(DefaultAuthorizationTTL)
	resp, page := f.postForm(f.browser, f.base+"/oauth/consent", form)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, page, "This sign-in has expired")

	a = f.newRequest(a.clientID)
	loc := f.approve(f.browser, a)
	callback := f.callbackURL(f.browser, loc, "alice")
	f.clock.Advance(DefaultAuthorizationTTL)
	resp, page = f.get(f.browser, callback)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Empty(t, resp.Header.Get("Location"))
	assert.Contains(t, page, "has expired")
}

// TestBrowserClientsMayCallTheAPIEndpoints: MCP Inspector calls registration, token
// and revocation with fetch from its own origin; the pages are not open to scripts.
func TestBrowserClientsMayCallTheAPIEndpoints(t *testing.T) {
	f := newFixture(t)
	for _, p := range []string{"/oauth/token", "/oauth/register", "/oauth/revoke"} {
		req, err := http.NewRequest(http.MethodOptions, f.base+p, nil)
		require.NoError(t, err)
		req.Header.Set("Origin", "http://localhost:6274")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusNoContent, resp.StatusCode, p)
		assert.Equal(t, "*", resp.Header.Get("Access-Control-Allow-Origin"), p)
		assert.Equal(t, "POST", resp.Header.Get("Access-Control-Allow-Methods"), p)
		assert.Equal(t, "Authorization, Content-Type", resp.Header.Get("Access-Control-Allow-Headers"), p)
	}
	resp, _ := f.postForm(http.DefaultClient, f.base+"/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x.y"}, "client_id": {f.publicClient()}})
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "*", resp.Header.Get("Access-Control-Allow-Origin"), "errors are readable too")

	resp, _ = f.get(f.browser, f.newRequest(f.publicClient()).url(f.base))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"), "the consent page is not readable by scripts")
}

// TestStoredValuesAreSealed: what reaches the store is sealed by the vault for its key
// (a shared store holds no token, code, verifier or upstream credential in clear), and a
// value moved to another key does not open.
func TestStoredValuesAreSealed(t *testing.T) {
	f := newFixture(t)
	a, tok := f.tokens("alice")
	rt := tok["refresh_token"].(string)
	status, tok2 := f.refresh(a.clientID, rt)
	require.Equal(t, http.StatusOK, status, tok2)
	secrets := []string{rt, tok2["refresh_token"].(string), tok2["access_token"].(string), a.verifier, "dev-", "devr-", "dev:alice", "notes:read"}

	f.store.mu.Lock()
	entries := maps.Clone(f.store.entries)
	f.store.mu.Unlock()
	require.NotEmpty(t, entries)
	kinds := map[string]bool{}
	for key, e := range entries {
		kind, _, _ := strings.Cut(key, ":")
		kinds[kind] = true
		if kind == "devcode" {
			continue // the development provider's own codes: a user name and a challenge
		}
		assert.EqualValues(t, vaultVersion, e.value[0], key)
		for _, sec := range secrets {
			assert.NotContains(t, string(e.value), sec, key)
		}
		var v any
		assert.Error(t, f.srv.open(key+"x", e.value, &v), "bound to its key: %s", key)
		assert.NoError(t, f.srv.open(key, e.value, &v), key)
	}
	for _, kind := range []string{"client", "codeused", "family", "consent", "browser", "upstream"} {
		assert.True(t, kinds[kind], "a %s was stored", kind)
	}
}
