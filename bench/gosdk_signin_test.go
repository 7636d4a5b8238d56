package bench_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/audit"
	"github.com/mcpauth/mcpauth/hub"
	"github.com/mcpauth/mcpauth/internal/testutil"
	"github.com/mcpauth/mcpauth/oauthproxy"
	"github.com/mcpauth/mcpauth/scopes"
)

// signInRedirectURI is the application's redirect URI: a loopback URI nothing listens
// on. The browser stops at the redirect to it and hands its query to the SDK, as the
// AuthorizationCodeFetcher of go-sdk's own tests does.
const signInRedirectURI = "http://127.0.0.1:1/callback"

// TestGoSDKSignIn: the official Go SDK's OAuth client (go-sdk v1.8.0,
// auth.AuthorizationCodeHandler on a StreamableClientTransport) signs in to a hub that is
// its own authorization server (oauthproxy) in front of the development identity
// provider: discovery from the 401 (RFC 9728, then RFC 8414), registration by a Client ID
// Metadata Document served over TLS on loopback or by dynamic client registration,
// authorization with PKCE, resource and state, the consent form approved with every
// scope ticked, sign-in as alice, the code and the RFC 9207 iss back (checked by the
// SDK), tokens, and tools/call whoami = dev:alice. Also: the SDK refuses an authorization
// response whose iss is not the issuer, and it steps up on a 403 insufficient_scope.
func TestGoSDKSignIn(t *testing.T) {
	t.Run("cimd", func(t *testing.T) {
		t.Parallel()
		h := newGoSDKSignInHub(t)
		b := h.browser(t, nil)
		handler := h.handler(t, b, &auth.ClientIDMetadataDocumentConfig{URL: h.cimdURL}, nil)
		h.signIn(t, handler, b, h.cimdURL)
	})

	t.Run("dcr", func(t *testing.T) {
		t.Parallel()
		h := newGoSDKSignInHub(t)
		b := h.browser(t, nil)
		handler := h.handler(t, b, nil, &auth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			ClientName:              "mcpauth bench (go-sdk, dcr)",
			RedirectURIs:            []string{signInRedirectURI},
			GrantTypes:              []string{"authorization_code", "refresh_token"},
			ResponseTypes:           []string{"code"},
			TokenEndpointAuthMethod: "none",
		}})
		clientID := h.signIn(t, handler, b, "")
		if clientID == "" || strings.HasPrefix(clientID, "https://") {
			t.Errorf("client_id %q: want the one the registration endpoint issued", clientID)
		}
		regs := h.rec.calls("/oauth/register")
		if len(regs) != 1 || regs[0].status != http.StatusCreated {
			t.Errorf("registrations %+v, want one 201", regs)
		}
	})

	t.Run("iss mismatch refused", func(t *testing.T) {
		t.Parallel()
		h := newGoSDKSignInHub(t)
		b := h.browser(t, nil)
		b.tamperIss = "http://127.0.0.1:1"
		handler := h.handler(t, b, &auth.ClientIDMetadataDocumentConfig{URL: h.cimdURL}, nil)
		_, err := h.connect(t, handler)
		if err == nil || !strings.Contains(err.Error(), `authorization response issuer "http://127.0.0.1:1" does not match expected issuer "`+h.base+`"`) {
			t.Fatalf("connect: %v, want the SDK's RFC 9207 issuer mismatch", err)
		}
		if got := h.rec.calls("/oauth/token"); len(got) != 0 {
			t.Errorf("token requests %+v: the code must not be redeemed", got)
		}
	})

	t.Run("step-up", func(t *testing.T) {
		t.Parallel()
		h := newGoSDKSignInHub(t)
		// The first consent grants notes:read only; the step-up's grants everything.
		b := h.browser(t, func(n int, offered []string) []string {
			if n == 1 {
				return []string{"notes:read"}
			}
			return offered
		})
		handler := h.handler(t, b, &auth.ClientIDMetadataDocumentConfig{URL: h.cimdURL}, nil)
		cs, err := h.connect(t, handler)
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		defer cs.Close()
		if got := callText(t, cs, "whoami", nil); got != "dev:alice" {
			t.Errorf("whoami = %q", got)
		}
		if got := scopeSet(h.grantedScope(t, handler)); !slices.Equal(got, []string{"notes:read"}) {
			t.Errorf("first grant %q, want notes:read", got)
		}
		// add_note needs notes:write: 403 insufficient_scope, the SDK authorizes again
		// for the granted scopes plus the challenged ones and retries the call.
		if got := callText(t, cs, "add_note", map[string]any{"text": "from go-sdk"}); got != "ok" {
			t.Errorf("add_note = %q", got)
		}
		auths := b.all()
		if len(auths) != 2 {
			t.Fatalf("authorizations %d, want a sign-in and a step-up", len(auths))
		}
		if got := scopeSet(auths[1].params.Get("scope")); !slices.Equal(got, bothScopes) {
			t.Errorf("step-up scope %q, want notes:read and notes:write", got)
		}
		if !slices.Equal(scopeSet(strings.Join(auths[1].consentScopes, " ")), bothScopes) {
			t.Errorf("step-up consent page offered %v: notes:write was never approved, the page must be shown", auths[1].consentScopes)
		}
		if got := scopeSet(h.grantedScope(t, handler)); !slices.Equal(got, bothScopes) {
			t.Errorf("step-up grant %q, want notes:read and notes:write", got)
		}
	})
}

// signIn connects with handler from no token, checks every step of the sign-in and
// returns the client_id the SDK used (wantClientID, when set, is the expected one).
func (h *goSDKSignInHub) signIn(t *testing.T, handler *auth.AuthorizationCodeHandler, b *signInBrowser, wantClientID string) string {
	t.Helper()
	cs, err := h.connect(t, handler)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer cs.Close()
	if got := callText(t, cs, "whoami", nil); got != "dev:alice" {
		t.Errorf("whoami = %q, want dev:alice", got)
	}

	// The 401 that started it.
	mcps := h.rec.calls("/notes/mcp")
	if len(mcps) == 0 || mcps[0].status != http.StatusUnauthorized || mcps[0].authorization {
		t.Fatalf("first MCP request %+v, want a 401 without a token", mcps)
	}
	wantChallenge := `Bearer resource_metadata="` + h.base + `/.well-known/oauth-protected-resource/notes/mcp", scope="notes:read notes:write"`
	if mcps[0].wwwAuthenticate != wantChallenge {
		t.Errorf("challenge %q, want %q", mcps[0].wwwAuthenticate, wantChallenge)
	}
	if len(h.rec.calls("/.well-known/oauth-protected-resource/notes/mcp")) == 0 || len(h.rec.calls("/.well-known/oauth-authorization-server")) == 0 {
		t.Errorf("discovery: requests %v, want the RFC 9728 and RFC 8414 documents", h.rec.paths())
	}

	auths := b.all()
	if len(auths) != 1 {
		t.Fatalf("authorizations %d, want 1", len(auths))
	}
	a := auths[0]
	clientID := a.params.Get("client_id")
	if wantClientID != "" && clientID != wantClientID {
		t.Errorf("client_id %q, want %q", clientID, wantClientID)
	}
	for k, want := range map[string]string{
		"response_type": "code", "redirect_uri": signInRedirectURI, "resource": h.resource,
		"code_challenge_method": "S256",
	} {
		if got := a.params.Get(k); got != want {
			t.Errorf("authorization request %s = %q, want %q", k, got, want)
		}
	}
	// go-sdk requests the union of the granted and challenged scopes, in map order.
	if got := scopeSet(a.params.Get("scope")); !slices.Equal(got, bothScopes) {
		t.Errorf("authorization request scope %q, want the challenge's notes:read notes:write", a.params.Get("scope"))
	}
	if len(a.params.Get("code_challenge")) != 43 || a.params.Get("state") == "" {
		t.Errorf("authorization request without PKCE challenge or state: %v", a.params)
	}
	if !slices.Equal(scopeSet(strings.Join(a.consentScopes, " ")), bothScopes) {
		t.Errorf("consent page offered %v", a.consentScopes)
	}
	if a.redirect.Get("iss") != h.base || a.redirect.Get("state") != a.params.Get("state") || a.redirect.Get("code") == "" {
		t.Errorf("redirect to the application %v: want code, the state and iss=%s", a.redirect, h.base)
	}

	// The code redeemed once, with the verifier and the resource.
	var redeemed []signInCallRecord
	for _, c := range h.rec.calls("/oauth/token") {
		if c.form.Get("grant_type") == "authorization_code" && c.status == http.StatusOK {
			redeemed = append(redeemed, c)
		}
	}
	if len(redeemed) != 1 {
		t.Fatalf("successful code redemptions %+v, want 1", h.rec.calls("/oauth/token"))
	}
	// go-sdk sends the public client's id in HTTP Basic with an empty password first;
	// the proxy takes that as the none method, so no request is refused and retried.
	if all := h.rec.calls("/oauth/token"); len(all) != 1 {
		t.Errorf("token requests %+v, want exactly the one redemption", all)
	}
	if f := redeemed[0].form; f.Get("resource") != h.resource || f.Get("code_verifier") == "" || f.Get("redirect_uri") != signInRedirectURI {
		t.Errorf("token request %v: want resource, code_verifier and redirect_uri", f)
	}

	// The token: for alice, this client, the notes service only, every scope.
	tok := h.accessToken(t, handler)
	v, err := h.proxy.VerifierFor(h.resource)
	if err != nil {
		t.Fatal(err)
	}
	at, err := v.VerifyToken(t.Context(), tok)
	if err != nil {
		t.Fatalf("the access token does not verify for %s: %v", h.resource, err)
	}
	if at.Subject != "dev:alice" || at.ClientID != clientID || !slices.Equal(at.Audience, []string{h.resource}) || !slices.Equal(scopeSet(strings.Join(at.Scopes, " ")), bothScopes) {
		t.Errorf("access token sub=%q client_id=%q aud=%v scope=%v", at.Subject, at.ClientID, at.Audience, at.Scopes)
	}
	if got := scopeSet(h.grantedScope(t, handler)); !slices.Equal(got, bothScopes) {
		t.Errorf("granted scope %q", got)
	}
	other, err := h.proxy.VerifierFor(h.base + "/admin/mcp")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.VerifyToken(t.Context(), tok); err == nil {
		t.Error("the notes token verifies for the admin service")
	}
	return clientID
}

// bothScopes are the notes service's scopes, sorted.
var bothScopes = []string{"notes:read", "notes:write"}

// scopeSet returns the scopes of a space-separated scope string, sorted.
func scopeSet(scope string) []string {
	f := strings.Fields(scope)
	slices.Sort(f)
	return f
}

// goSDKSignInHub is a hub that is its own authorization server (oauthproxy) in front of
// the development identity provider, as e2e's newSignInHub composes it, with an injected
// clock, and a Client ID Metadata Document served over TLS on loopback (allowed for that
// one host only). rec records the SDK's HTTP requests.
type goSDKSignInHub struct {
	base, resource, cimdURL string
	proxy                   *oauthproxy.Server
	rec                     *signInRecorder
}

func newGoSDKSignInHub(t *testing.T) *goSDKSignInHub {
	t.Helper()
	clock := testutil.NewClock(time.Now())
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	cimd := httptest.NewTLSServer(nil)
	t.Cleanup(cimd.Close)
	cimdURL := cimd.URL + "/client.json"
	cimd.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/client.json" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=3600")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"client_id": cimdURL, "client_name": "mcpauth bench (go-sdk, cimd)", "redirect_uris": []string{signInRedirectURI},
			"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"},
			"token_endpoint_auth_method": "none", "application_type": "native",
		})
	})
	roots := x509.NewCertPool()
	roots.AddCert(cimd.Certificate())

	h, err := hub.New(hub.Config{
		BaseURL:      srv.URL,
		Audit:        audit.Discard,
		CacheOptions: []mcpauth.CacheOption{mcpauth.WithCacheClock(clock.Now)},
	})
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := oauthproxy.New(oauthproxy.Config{
		Issuer:                srv.URL,
		Upstream:              oauthproxy.NewDevUpstream(srv.URL, clock.Now, oauthproxy.DevUser{Name: "alice", Scopes: []string{"notes:read", "notes:write"}}),
		Resources:             h,
		DevMode:               true,
		MetadataDocumentHosts: []string{strings.TrimPrefix(cimd.URL, "https://")},
		MetadataDocumentRoots: roots,
		Now:                   clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.UseAuthorizationServer(proxy); err != nil {
		t.Fatal(err)
	}
	if err := h.Mount("notes", signInNotesServer()); err != nil {
		t.Fatal(err)
	}
	admin := server.NewMCPServer("admin", "1.0.0")
	admin.AddTool(mcpgo.NewTool("stats"), func(context.Context, mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		return mcpgo.NewToolResultText("42"), nil
	})
	if err := h.Mount("admin", admin, hub.WithRequiredScopes(scopes.All("admin"))); err != nil {
		t.Fatal(err)
	}
	mux.Handle("/", h)
	return &goSDKSignInHub{base: srv.URL, resource: srv.URL + "/notes/mcp", cimdURL: cimdURL, proxy: proxy, rec: &signInRecorder{}}
}

// signInNotesServer: whoami answers the signed-in subject; add_note needs notes:write.
func signInNotesServer() *server.MCPServer {
	s := server.NewMCPServer("notes", "1.0.0")
	s.AddTool(mcpgo.NewTool("whoami"), func(ctx context.Context, _ mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		return mcpgo.NewToolResultText(mcpauth.AccessTokenFromContext(ctx).Subject), nil
	})
	s.AddTool(mcpgo.NewTool("list_notes", scopes.Required("notes:read")), func(context.Context, mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		return mcpgo.NewToolResultText("buy milk"), nil
	})
	s.AddTool(mcpgo.NewTool("add_note", mcpgo.WithString("text", mcpgo.Required()), scopes.Required("notes:write")), func(context.Context, mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		return mcpgo.NewToolResultText("ok"), nil
	})
	return s
}

// handler is go-sdk's authorization code handler, registering by cimd or dcr, whose
// AuthorizationCodeFetcher is the browser b.
func (h *goSDKSignInHub) handler(t *testing.T, b *signInBrowser, cimd *auth.ClientIDMetadataDocumentConfig, dcr *auth.DynamicClientRegistrationConfig) *auth.AuthorizationCodeHandler {
	t.Helper()
	cfg := &auth.AuthorizationCodeHandlerConfig{
		ClientIDMetadataDocumentConfig:  cimd,
		DynamicClientRegistrationConfig: dcr,
		AuthorizationCodeFetcher:        b.fetch,
		Client:                          &http.Client{Transport: h.rec},
	}
	if cimd != nil {
		cfg.RedirectURL = signInRedirectURI
	}
	handler, err := auth.NewAuthorizationCodeHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return handler
}

func (h *goSDKSignInHub) connect(t *testing.T, handler auth.OAuthHandler) (*mcp.ClientSession, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "mcpauth-bench-signin", Version: "1.0.0"}, nil)
	return client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:     h.resource,
		HTTPClient:   &http.Client{Transport: h.rec},
		OAuthHandler: handler,
		MaxRetries:   -1,
	}, nil)
}

func (h *goSDKSignInHub) token(t *testing.T, handler *auth.AuthorizationCodeHandler) (access, scope string) {
	t.Helper()
	ts, err := handler.TokenSource(t.Context())
	if err != nil || ts == nil {
		t.Fatalf("no token source: %v", err)
	}
	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	scope, _ = tok.Extra("scope").(string)
	return tok.AccessToken, scope
}

func (h *goSDKSignInHub) accessToken(t *testing.T, handler *auth.AuthorizationCodeHandler) string {
	t.Helper()
	a, _ := h.token(t, handler)
	return a
}

func (h *goSDKSignInHub) grantedScope(t *testing.T, handler *auth.AuthorizationCodeHandler) string {
	t.Helper()
	_, s := h.token(t, handler)
	return s
}

// signInBrowser plays the person's browser for the SDK's AuthorizationCodeFetcher: it
// keeps cookies, follows redirects, submits the consent form and the development
// provider's sign-in form as alice, and stops at the redirect to the application.
type signInBrowser struct {
	c         *http.Client
	grant     func(n int, offered []string) []string // the scopes to tick on the nth consent page
	tamperIss string                                 // when set, the iss handed to the SDK

	mu    sync.Mutex
	auths []*signInAuthorization
	pages int
}

type signInAuthorization struct {
	params        url.Values // of the authorization request
	consentScopes []string   // offered on the consent page (nil: none shown)
	redirect      url.Values // of the redirect back to the application
}

func (h *goSDKSignInHub) browser(t *testing.T, grant func(n int, offered []string) []string) *signInBrowser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	if grant == nil {
		grant = func(_ int, offered []string) []string { return offered }
	}
	return &signInBrowser{grant: grant, c: &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), signInRedirectURI) {
			return http.ErrUseLastResponse
		}
		if len(via) >= 10 {
			return errors.New("too many redirects")
		}
		return nil
	}}}
}

func (b *signInBrowser) all() []signInAuthorization {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]signInAuthorization, len(b.auths))
	for i, a := range b.auths {
		out[i] = *a
	}
	return out
}

var (
	formAction  = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	formScopes  = regexp.MustCompile(`name="scope" value="([^"]+)"`)
	hiddenField = func(page, name string) string {
		m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(page)
		if m == nil {
			return ""
		}
		return html.UnescapeString(m[1])
	}
)

// fetch is the AuthorizationCodeFetcher.
func (b *signInBrowser) fetch(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
	u, err := url.Parse(args.URL)
	if err != nil {
		return nil, err
	}
	a := &signInAuthorization{params: u.Query()}
	defer func() {
		b.mu.Lock()
		b.auths = append(b.auths, a)
		b.mu.Unlock()
	}()

	resp, page, err := b.do(ctx, http.MethodGet, args.URL, nil)
	if err != nil {
		return nil, err
	}
	if resp.Request.URL.Path == "/oauth/authorize" {
		m := formAction.FindStringSubmatch(page)
		if resp.StatusCode != http.StatusOK || m == nil {
			return nil, fmt.Errorf("authorize: %d %.300s", resp.StatusCode, page)
		}
		for _, s := range formScopes.FindAllStringSubmatch(page, -1) {
			a.consentScopes = append(a.consentScopes, html.UnescapeString(s[1]))
		}
		b.mu.Lock()
		b.pages++
		n := b.pages
		b.mu.Unlock()
		form := url.Values{"tx": {hiddenField(page, "tx")}, "csrf": {hiddenField(page, "csrf")}, "action": {"approve"}, "scope": b.grant(n, a.consentScopes)}
		if resp, page, err = b.do(ctx, http.MethodPost, html.UnescapeString(m[1]), form); err != nil {
			return nil, err
		}
	}
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/oauth/dev/login" {
		return nil, fmt.Errorf("want the development sign-in page, got %d at %s: %.300s", resp.StatusCode, resp.Request.URL, page)
	}
	login := url.Values{"state": {hiddenField(page, "state")}, "code_challenge": {hiddenField(page, "code_challenge")}, "redirect_uri": {hiddenField(page, "redirect_uri")}, "user": {"alice"}}
	if resp, page, err = b.do(ctx, http.MethodPost, resp.Request.URL.String(), login); err != nil {
		return nil, err
	}
	loc, err := resp.Location()
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), signInRedirectURI) {
		return nil, fmt.Errorf("want the redirect to the application, got %d: %.300s", resp.StatusCode, page)
	}
	a.redirect = loc.Query()
	q := loc.Query()
	if e := q.Get("error"); e != "" {
		return nil, fmt.Errorf("authorization error %s: %s", e, q.Get("error_description"))
	}
	res := &auth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}
	if b.tamperIss != "" {
		res.Iss = b.tamperIss
	}
	return res, nil
}

func (b *signInBrowser) do(ctx context.Context, method, target string, form url.Values) (*http.Response, string, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	return resp, string(page), err
}

// signInRecorder is the SDK's http.RoundTripper: it records the path, status, challenge
// and form of every request.
type signInRecorder struct {
	mu  sync.Mutex
	all []signInCallRecord
}

type signInCallRecord struct {
	method, path    string
	status          int
	wwwAuthenticate string
	authorization   bool
	form            url.Values
}

func (r *signInRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	c := signInCallRecord{method: req.Method, path: req.URL.Path, authorization: req.Header.Get("Authorization") != ""}
	if req.Body != nil && req.Header.Get("Content-Type") == "application/x-www-form-urlencoded" {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		c.form, _ = url.ParseQuery(string(b))
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(strings.NewReader(string(b)))
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	c.status = resp.StatusCode
	c.wwwAuthenticate = resp.Header.Get("WWW-Authenticate")
	r.mu.Lock()
	r.all = append(r.all, c)
	r.mu.Unlock()
	return resp, nil
}

// calls returns the recorded requests to path.
func (r *signInRecorder) calls(path string) []signInCallRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []signInCallRecord
	for _, c := range r.all {
		if c.path == path {
			out = append(out, c)
		}
	}
	return out
}

func (r *signInRecorder) paths() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.all {
		out = append(out, c.method+" "+c.path)
	}
	return out
}
