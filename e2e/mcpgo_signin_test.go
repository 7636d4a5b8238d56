package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
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

// mcpgoRedirectURI is the application's redirect URI: a loopback URI nothing listens
// on. The browser stops at the redirect to it and hands its query to the application.
const mcpgoRedirectURI = "http://127.0.0.1:1/callback"

// TestMCPGoSignIn: mcp-go's own OAuth client (v1.2.1, client.NewOAuthStreamableHttpClient
// and its transport.OAuthHandler) signs in to a hub that is its own authorization server
// (oauthproxy) in front of the development identity provider, the application driving
// the steps mcp-go leaves to it: the first request fails with
// OAuthAuthorizationRequiredError before anything is sent, RegisterClient discovers the
// protected resource metadata (RFC 9728, at the well-known URL derived from the
// endpoint) and the authorization server metadata (RFC 8414) and registers dynamically
// (RFC 7591), GetAuthorizationURL carries PKCE, state and resource (RFC 8707), the
// browser approves the consent form with every scope ticked and signs in as alice, and
// ProcessAuthorizationResponse redeems the code. mcp-go does not check the RFC 9207 iss
// of the redirect (ProcessAuthorizationResponse does not take it): the test checks it.
// Then Initialize and tools/call whoami = dev:alice@acme.
func TestMCPGoSignIn(t *testing.T) {
	t.Run("sign-in", func(t *testing.T) {
		t.Parallel()
		h := newSignInHub(t)
		s := newMCPGoSignIn(t, h)
		redirect := s.signIn(t, nil)

		resource := h.base + "/notes/mcp"
		a := s.browser.auths[0]
		assert.Equal(t, resource, a.params.Get("resource"), "mcp-go sends the resource of the protected resource metadata")
		assert.Equal(t, "S256", a.params.Get("code_challenge_method"))
		assert.Equal(t, transport.GenerateCodeChallenge(s.verifier), a.params.Get("code_challenge"))
		assert.Equal(t, s.handler.GetClientID(), a.params.Get("client_id"))
		assert.Equal(t, "notes:read notes:write", a.params.Get("scope"))
		assert.Equal(t, mcpgoRedirectURI, a.params.Get("redirect_uri"))
		assert.Equal(t, []string{"notes:read", "notes:write"}, a.consentScopes)
		assert.Equal(t, h.base, redirect.Get("iss"), "RFC 9207")
		assert.Equal(t, s.state, redirect.Get("state"))

		// Discovery, registration and the token request, as the proxy saw them.
		assert.Equal(t, []string{
			"GET /.well-known/oauth-protected-resource/notes/mcp 200",
			"GET /.well-known/oauth-authorization-server 200",
			"POST /oauth/register 201",
			"POST /oauth/token 200",
		}, s.rec.summary())
		reg := s.rec.find("/oauth/register")
		assert.Equal(t, "none", reg.json["token_endpoint_auth_method"], "a public client")
		assert.NotContains(t, s.handler.GetClientID(), "https://")
		assert.NotEmpty(t, s.handler.GetClientID())
		tr := s.rec.find("/oauth/token").form
		assert.Equal(t, "authorization_code", tr.Get("grant_type"))
		assert.Equal(t, resource, tr.Get("resource"))
		assert.Equal(t, s.verifier, tr.Get("code_verifier"))
		assert.Equal(t, s.handler.GetClientID(), tr.Get("client_id"))

		// The token: for alice of acme, this client, the notes service only.
		tok, err := s.store.GetToken(t.Context())
		require.NoError(t, err)
		assert.Equal(t, "notes:read notes:write", tok.Scope)
		claims := jwt.MapClaims{}
		_, _, err = jwt.NewParser().ParseUnverified(tok.AccessToken, claims)
		require.NoError(t, err)
		assert.Equal(t, resource, claims["aud"])
		assert.Equal(t, "dev:alice", claims["sub"])
		assert.Equal(t, "acme", claims["tenant_id"])
		assert.Equal(t, s.handler.GetClientID(), claims["client_id"])
		assert.Equal(t, h.base, claims["iss"])

		require.NoError(t, s.initialize(t))
		assert.Equal(t, "dev:alice@acme", s.call(t, "whoami", nil))
		assert.Equal(t, "buy milk", s.call(t, "list_notes", nil))
		for _, x := range s.mcp.list() {
			assert.True(t, x.authorization, "%s %s without the token", x.method, x.path)
			assert.Less(t, x.status, 300, "%s %s", x.method, x.path)
		}
	})

	// mcp-go does not step up: a 403 insufficient_scope is an ordinary error of the
	// call (no OAuthAuthorizationRequiredError, no new authorization); the scopes it
	// asks for are the fixed OAuthConfig.Scopes.
	t.Run("no step-up", func(t *testing.T) {
		t.Parallel()
		h := newSignInHub(t)
		s := newMCPGoSignIn(t, h)
		s.signIn(t, []string{"notes:read"})
		require.NoError(t, s.initialize(t))
		assert.Equal(t, "dev:alice@acme", s.call(t, "whoami", nil))

		err := s.callErr(t, "add_note", map[string]any{"text": "from mcp-go"})
		require.Error(t, err)
		assert.False(t, client.IsOAuthAuthorizationRequiredError(err), "%v", err)
		assert.EqualError(t, err, `insufficient_scope: tool "add_note" requires notes:write`, "the JSON-RPC error of the 403 reply")
		assert.Len(t, s.browser.auths, 1, "no new authorization")
		refused := s.mcp.find("/notes/mcp")
		assert.Equal(t, http.StatusForbidden, refused.status)
		assert.Equal(t, `Bearer resource_metadata="`+h.base+`/.well-known/oauth-protected-resource/notes/mcp", scope="notes:read notes:write", error="insufficient_scope", error_description="tool 'add_note' requires notes:write"`, refused.wwwAuthenticate)
		assert.Equal(t, "buy milk", s.call(t, "list_notes", nil), "the session goes on")
	})
}

// mcpgoSignIn is one application using mcp-go's OAuth client.
type mcpgoSignIn struct {
	c       *client.Client
	handler *transport.OAuthHandler
	store   *transport.MemoryTokenStore
	rec     *mcpgoRecorder // the OAuthHandler's requests
	mcp     *mcpgoRecorder // the MCP requests
	browser *mcpgoBrowser

	state, verifier string
}

func newMCPGoSignIn(t *testing.T, h *signInHub) *mcpgoSignIn {
	t.Helper()
	s := &mcpgoSignIn{store: transport.NewMemoryTokenStore(), rec: &mcpgoRecorder{}, mcp: &mcpgoRecorder{}, browser: newMCPGoBrowser(t)}
	c, err := client.NewOAuthStreamableHttpClient(h.base+"/notes/mcp", client.OAuthConfig{
		RedirectURI: mcpgoRedirectURI,
		Scopes:      []string{"notes:read", "notes:write"},
		TokenStore:  s.store,
		PKCEEnabled: true,
		HTTPClient:  &http.Client{Transport: s.rec, Timeout: 30 * time.Second},
	}, transport.WithHTTPBasicClient(&http.Client{Transport: s.mcp}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.Start(t.Context()))
	s.c = c
	return s
}

// signIn runs the sign-in from the first Initialize, ticking grant on the consent page
// (nil: every scope), and returns the query of the redirect to the application.
func (s *mcpgoSignIn) signIn(t *testing.T, grant []string) url.Values {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	err := s.initialize(t)
	require.True(t, client.IsOAuthAuthorizationRequiredError(err), "the first Initialize: %v", err)
	assert.Empty(t, s.mcp.summary(), "without a token mcp-go fails before sending anything")
	s.handler = client.GetOAuthHandler(err)
	require.NotNil(t, s.handler)

	require.NoError(t, s.handler.RegisterClient(ctx, "mcpauth e2e (mcp-go)"))
	s.verifier, err = client.GenerateCodeVerifier()
	require.NoError(t, err)
	s.state, err = client.GenerateState()
	require.NoError(t, err)
	authURL, err := s.handler.GetAuthorizationURL(ctx, s.state, client.GenerateCodeChallenge(s.verifier))
	require.NoError(t, err)

	redirect := s.browser.authorize(t, authURL, grant)
	require.Empty(t, redirect.Get("error"), redirect.Get("error_description"))
	require.NoError(t, s.handler.ProcessAuthorizationResponse(ctx, redirect.Get("code"), redirect.Get("state"), s.verifier))
	return redirect
}

func (s *mcpgoSignIn) initialize(t *testing.T) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err := s.c.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{
		ProtocolVersion: mcp.LATEST_LEGACY_PROTOCOL_VERSION,
		ClientInfo:      mcp.Implementation{Name: "mcpauth-e2e-mcpgo", Version: "1.0.0"},
	}})
	return err
}

func (s *mcpgoSignIn) callErr(t *testing.T, tool string, args map[string]any) error {
	t.Helper()
	_, err := s.callResult(t, tool, args)
	return err
}

func (s *mcpgoSignIn) call(t *testing.T, tool string, args map[string]any) string {
	t.Helper()
	res, err := s.callResult(t, tool, args)
	require.NoError(t, err, tool)
	require.False(t, res.IsError, "%s: %+v", tool, res)
	require.Len(t, res.Content, 1)
	text, ok := res.Content[0].(mcp.TextContent)
	require.True(t, ok, "%T", res.Content[0])
	return text.Text
}

func (s *mcpgoSignIn) callResult(t *testing.T, tool string, args map[string]any) (*mcp.CallToolResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = tool
	req.Params.Arguments = args
	return s.c.CallTool(ctx, req)
}

// mcpgoBrowser plays the person's browser: it keeps cookies, follows redirects, submits
// the consent form and the development provider's sign-in form as alice, and stops at
// the redirect to the application.
type mcpgoBrowser struct {
	c     *http.Client
	auths []mcpgoAuthorization
}

type mcpgoAuthorization struct {
	params        url.Values // of the authorization request
	consentScopes []string   // offered on the consent page
}

func newMCPGoBrowser(t *testing.T) *mcpgoBrowser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &mcpgoBrowser{c: &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), mcpgoRedirectURI) {
			return http.ErrUseLastResponse
		}
		if len(via) >= 10 {
			return errors.New("too many redirects")
		}
		return nil
	}}}
}

var (
	mcpgoFormAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	mcpgoFormScopes = regexp.MustCompile(`name="scope" value="([^"]+)"`)
)

func mcpgoHidden(page, name string) string {
	m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// authorize goes from the authorization URL to the redirect back to the application,
// ticking grant on the consent page (nil: every scope offered), and returns the query of
// that redirect.
func (b *mcpgoBrowser) authorize(t *testing.T, authURL string, grant []string) url.Values {
	t.Helper()
	u, err := url.Parse(authURL)
	require.NoError(t, err)
	a := mcpgoAuthorization{params: u.Query()}
	defer func() { b.auths = append(b.auths, a) }()

	resp, page := b.do(t, http.MethodGet, authURL, nil)
	require.Equal(t, "/oauth/authorize", resp.Request.URL.Path, "a new client is shown the consent page")
	require.Equal(t, http.StatusOK, resp.StatusCode, page)
	action := mcpgoFormAction.FindStringSubmatch(page)
	require.NotNil(t, action, page)
	for _, m := range mcpgoFormScopes.FindAllStringSubmatch(page, -1) {
		a.consentScopes = append(a.consentScopes, html.UnescapeString(m[1]))
	}
	if grant == nil {
		grant = a.consentScopes
	}
	resp, page = b.do(t, http.MethodPost, html.UnescapeString(action[1]), url.Values{
		"tx": {mcpgoHidden(page, "tx")}, "csrf": {mcpgoHidden(page, "csrf")}, "action": {"approve"}, "scope": grant,
	})
	require.Equal(t, "/oauth/dev/login", resp.Request.URL.Path, page)
	require.Equal(t, http.StatusOK, resp.StatusCode, page)

	resp, page = b.do(t, http.MethodPost, resp.Request.URL.String(), url.Values{
		"state": {mcpgoHidden(page, "state")}, "code_challenge": {mcpgoHidden(page, "code_challenge")},
		"redirect_uri": {mcpgoHidden(page, "redirect_uri")}, "user": {"alice"},
	})
	require.Equal(t, http.StatusFound, resp.StatusCode, page)
	loc, err := resp.Location()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(loc.String(), mcpgoRedirectURI), loc.String())
	return loc.Query()
}

func (b *mcpgoBrowser) do(t *testing.T, method, target string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, target, body)
	require.NoError(t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(page)
}

// mcpgoRecorder is the OAuthHandler's http.RoundTripper: it records every request's
// path, status and body (a form or a JSON object).
type mcpgoRecorder struct {
	mu  sync.Mutex
	all []mcpgoRequest
}

type mcpgoRequest struct {
	method, path    string
	status          int
	wwwAuthenticate string
	authorization   bool
	form            url.Values
	json            map[string]any
}

func (r *mcpgoRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	x := mcpgoRequest{method: req.Method, path: req.URL.Path, authorization: req.Header.Get("Authorization") != ""}
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		switch req.Header.Get("Content-Type") {
		case "application/x-www-form-urlencoded":
			x.form, _ = url.ParseQuery(string(b))
		case "application/json":
			_ = json.Unmarshal(b, &x.json)
		}
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(strings.NewReader(string(b)))
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	x.status = resp.StatusCode
	x.wwwAuthenticate = resp.Header.Get("WWW-Authenticate")
	r.mu.Lock()
	r.all = append(r.all, x)
	r.mu.Unlock()
	return resp, nil
}

// summary lists the requests as "METHOD path status".
func (r *mcpgoRecorder) summary() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, x := range r.all {
		out = append(out, x.method+" "+x.path+" "+strconv.Itoa(x.status))
	}
	return out
}

func (r *mcpgoRecorder) list() []mcpgoRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]mcpgoRequest(nil), r.all...)
}

// find returns the last request to path.
func (r *mcpgoRecorder) find(path string) mcpgoRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.all) - 1; i >= 0; i-- {
		if r.all[i].path == path {
			return r.all[i]
		}
	}
	return mcpgoRequest{}
}
