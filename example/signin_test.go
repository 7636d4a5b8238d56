package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/mcpauth/mcpauth/oauthproxy"
)

// browser is a person's browser: it keeps cookies and lets the test follow redirects.
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &browser{t: t, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, u string, form url.Values) (int, string, string) {
	b.t.Helper()
	var resp *http.Response
	var err error
	if method == http.MethodPost {
		resp, err = b.c.PostForm(u, form)
	} else {
		resp, err = b.c.Get(u)
	}
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

var formField = regexp.MustCompile(`name="([a-z_]+)" value="([^"]*)"`)

// signInAs opens authURL in the browser, approves the consent page when it is shown,
// signs in at the development provider as user and returns the query of the redirect
// back to the client.
func (b *browser) signInAs(authURL, user string) url.Values {
	b.t.Helper()
	status, loc, page := b.do(http.MethodGet, authURL, nil)
	if status == http.StatusOK {
		form := url.Values{}
		for _, m := range formField.FindAllStringSubmatch(page, -1) {
			form.Add(m[1], m[2]) // tx, csrf and every scope's box, ticked
		}
		form.Set("action", "approve") // the page's two buttons: approve and deny
		require.NotEmpty(b.t, form.Get("csrf"), page)
		status, loc, page = b.do(http.MethodPost, strings.SplitN(authURL, "/oauth/", 2)[0]+"/oauth/consent", form)
	}
	require.Equal(b.t, http.StatusFound, status, page)
	// The development provider's sign-in page.
	status, _, page = b.do(http.MethodGet, loc, nil)
	require.Equal(b.t, http.StatusOK, status)
	require.Contains(b.t, page, "Development sign-in")
	form := url.Values{}
	for _, m := range formField.FindAllStringSubmatch(page, -1) {
		form.Set(m[1], m[2])
	}
	form.Set("user", user) // one button per user
	status, loc, _ = b.do(http.MethodPost, strings.Split(loc, "?")[0], form)
	require.Equal(b.t, http.StatusFound, status)
	status, loc, page = b.do(http.MethodGet, loc, nil) // the proxy's callback
	require.Equal(b.t, http.StatusFound, status, page)
	back, err := url.Parse(loc)
	require.NoError(b.t, err)
	return back.Query()
}

// discover follows a 401 challenge to the authorization server's metadata, as an MCP
// client does, and registers a public client.
func discover(t *testing.T, resource string) (*oauth2.Config, map[string]any) {
	t.Helper()
	resp, err := http.Post(resource, "application/json", strings.NewReader(initialize))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	m := regexp.MustCompile(`resource_metadata="([^"]+)"`).FindStringSubmatch(resp.Header.Get("WWW-Authenticate"))
	require.Len(t, m, 2)
	var prm, as map[string]any
	getJSON(t, m[1], &prm)
	issuer := prm["authorization_servers"].([]any)[0].(string)
	u, _ := url.Parse(issuer)
	getJSON(t, u.Scheme+"://"+u.Host+"/.well-known/oauth-authorization-server"+u.Path, &as)
	require.Equal(t, issuer, as["issuer"])

	reg, _ := json.Marshal(map[string]any{"client_name": "Example Test", "redirect_uris": []string{"http://127.0.0.1:7777/cb"},
		"grant_types": []string{"authorization_code", "refresh_token"}, "token_endpoint_auth_method": "none"})
	resp, err = http.Post(as["registration_endpoint"].(string), "application/json", strings.NewReader(string(reg)))
	require.NoError(t, err)
	var client map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&client))
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode, client)
	return &oauth2.Config{
		ClientID:    client["client_id"].(string),
		RedirectURL: "http://127.0.0.1:7777/cb",
		Endpoint:    oauth2.Endpoint{AuthURL: as["authorization_endpoint"].(string), TokenURL: as["token_endpoint"].(string), AuthStyle: oauth2.AuthStyleInParams},
	}, as
}

// signIn runs a whole sign-in of user through the example's authorization server for
// resource with scopes, and returns the tokens.
func signIn(t *testing.T, b *browser, conf *oauth2.Config, resource, user string, scopes ...string) *oauth2.Token {
	t.Helper()
	c := *conf
	c.Scopes = scopes
	verifier := oauth2.GenerateVerifier()
	back := b.signInAs(c.AuthCodeURL("st-"+user, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("resource", resource)), user)
	require.Equal(t, "st-"+user, back.Get("state"))
	require.NotEmpty(t, back.Get("code"), back)
	tok, err := c.Exchange(context.Background(), back.Get("code"), oauth2.VerifierOption(verifier), oauth2.SetAuthURLParam("resource", resource))
	require.NoError(t, err)
	return tok
}

func TestExampleBrowserSignIn(t *testing.T) {
	clearProviderEnv(t)
	r := start(t)
	notes := r.baseURL + "/notes/mcp"
	assert.Contains(t, r.out.String(), "Sign in from any MCP client")
	conf, as := discover(t, notes)
	assert.Equal(t, []any{"S256"}, as["code_challenge_methods_supported"])

	// alice signs in for reading only, then steps up to writing.
	b := newBrowser(t)
	tok := signIn(t, b, conf, notes, "alice", "notes:read")
	assert.Equal(t, "notes:read", tok.Extra("scope"))
	c, err := connect(t, notes, tok.AccessToken)
	require.NoError(t, err)
	who, err := callText(t, c, "whoami", nil)
	require.NoError(t, err)
	assert.JSONEq(t, `{"subject":"dev:alice","tenant":"acme","scopes":["notes:read"]}`, who)
	_, err = callText(t, c, "add_note", map[string]any{"text": "x"})
	require.ErrorContains(t, err, `insufficient_scope: tool "add_note" requires notes:write`)

	tok = signIn(t, b, conf, notes, "alice", "notes:read", "notes:write")
	c, err = connect(t, notes, tok.AccessToken)
	require.NoError(t, err)
	_, err = callText(t, c, "add_note", map[string]any{"text": "signed in"})
	require.NoError(t, err)

	// The refresh token works and rotates.
	ts := conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken})
	refreshed, err := ts.Token()
	require.NoError(t, err)
	assert.NotEqual(t, tok.RefreshToken, refreshed.RefreshToken)
	assert.Equal(t, "dev:alice", whoami(t, notes, refreshed.AccessToken)["subject"])

	// bob is entitled to notes:read only, whatever he asks for.
	tok = signIn(t, newBrowser(t), conf, notes, "bob", "notes:read", "notes:write")
	assert.Equal(t, "notes:read", tok.Extra("scope"))

	// A token for notes is refused by admin (audience).
	status, challenge := post(t, r.baseURL+"/admin/mcp", tok.AccessToken, initialize)
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Contains(t, challenge, `error="invalid_token"`)
}

func TestExampleUnknownUpstream(t *testing.T) {
	clearProviderEnv(t)
	t.Setenv("MCPAUTH_UPSTREAM", "myspace")
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0"}, io.Discard, nil)
	require.EqualError(t, err, `MCPAUTH_UPSTREAM="myspace" is not an identity provider: use dev, github, google, workos or oidc`)
}

// TestExampleGitHubUpstream: MCPAUTH_UPSTREAM=github puts the sign-in in front of GitHub
// with the proxy's own OAuth app, PKCE and state; production keys are required.
func TestExampleGitHubUpstream(t *testing.T) {
	clearProviderEnv(t)
	t.Setenv("MCPAUTH_UPSTREAM", "github")
	t.Setenv("MCPAUTH_GITHUB_CLIENT_ID", "Iv1.example0123456789")
	t.Setenv("MCPAUTH_GITHUB_CLIENT_SECRET", "github-app-secret-value")
	t.Setenv("MCPAUTH_GITHUB_WEB_URL", "http://127.0.0.1:1") // a fake GitHub: never reached here
	t.Setenv("MCPAUTH_GITHUB_ALLOWED_ORGS", "acme")

	err := run(context.Background(), []string{"-addr", "127.0.0.1:0"}, io.Discard, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Config.SigningKey is empty")
	assert.Contains(t, err.Error(), "MCPAUTH_PROXY_SIGNING_KEY_FILE")
	assert.Contains(t, err.Error(), "Config.EncryptionKeys is empty")
	assert.NotContains(t, err.Error(), "github-app-secret-value")

	key, err := oauthproxy.GenerateSigningKey()
	require.NoError(t, err)
	t.Setenv("MCPAUTH_PROXY_SIGNING_KEY", key.Reveal())
	t.Setenv("MCPAUTH_PROXY_ENCRYPTION_KEYS", oauthproxy.GenerateEncryptionKey().Reveal())
	r := start(t)
	assert.Contains(t, r.out.String(), "through the github identity provider")
	assert.NotContains(t, r.out.String(), "Development issuer", "no demo tokens without the development provider")
	notes := r.baseURL + "/notes/mcp"
	conf, _ := discover(t, notes)
	b := newBrowser(t)
	status, _, page := b.do(http.MethodGet, conf.AuthCodeURL("s1", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("resource", notes)), nil)
	require.Equal(t, http.StatusOK, status)
	form := url.Values{"action": {"approve"}}
	for _, m := range formField.FindAllStringSubmatch(page, -1) {
		if m[1] != "action" {
			form.Add(m[1], m[2])
		}
	}
	status, loc, _ := b.do(http.MethodPost, r.baseURL+"/oauth/consent", form)
	require.Equal(t, http.StatusFound, status)
	up, err := url.Parse(loc)
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:1/login/oauth/authorize", up.Scheme+"://"+up.Host+up.Path)
	q := up.Query()
	assert.Equal(t, "Iv1.example0123456789", q.Get("client_id"))
	assert.Equal(t, r.baseURL+"/oauth/callback", q.Get("redirect_uri"))
	assert.Equal(t, "S256", q.Get("code_challenge_method"))
	assert.Len(t, q.Get("code_challenge"), 43)
	assert.NotEqual(t, "s1", q.Get("state"), "the proxy's own state, not the client's")
	assert.Equal(t, "read:user read:org", q.Get("scope"))
}
