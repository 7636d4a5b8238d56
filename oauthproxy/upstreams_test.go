package oauthproxy

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/keyring"
	"github.com/mcpauth/mcpauth/internal/testutil"
	"github.com/mcpauth/mcpauth/providers/github"
	"github.com/mcpauth/mcpauth/providers/google"
	"github.com/mcpauth/mcpauth/providers/workos"
)

// ---- shared fake authorization server machinery ----

const (
	testState        = "state-9f2c1d7e5b"
	upstreamCallback = "https://proxy.example.com/oauth/callback"
)

// testVerifier is a PKCE verifier of RFC 7636's shape (43 characters).
const testVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

// s256 is the PKCE S256 challenge, computed here independently of x/oauth2.
func expectedChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// pendingCode is what a fake authorization server remembers of one authorization
// request: who signed in and the parameters the code is bound to.
type pendingCode struct {
	clientID, redirectURI, challenge, nonce string
	who                                     string
}

// codeBook issues and redeems single-use authorization codes the way an OAuth 2.1
// server does: the code is bound to the client, the redirect URI and the PKCE challenge.
type codeBook struct {
	mu    sync.Mutex
	codes map[string]pendingCode
	n     int
}

// authorize plays the browser's visit to authURL (which must be served under authPath)
// and the person's approval as who, and returns the code the upstream would send to
// the callback.
func (b *codeBook) authorize(t *testing.T, authURL, authPath, who string) string {
	t.Helper()
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatalf("AuthCodeURL %q: %v", authURL, err)
	}
	if u.Path != authPath {
		t.Fatalf("AuthCodeURL path = %q, want %q", u.Path, authPath)
	}
	q := u.Query()
	if q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		t.Fatalf("AuthCodeURL is not a PKCE S256 code request: %s", authURL)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.codes == nil {
		b.codes = map[string]pendingCode{}
	}
	b.n++
	code := fmt.Sprintf("code-%d-%s", b.n, strings.Repeat("Zq", 10))
	b.codes[code] = pendingCode{
		clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"),
		challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), who: who,
	}
	return code
}

// redeem checks a token request's code, redirect URI and verifier, for clientID. It
// returns the pending code, or the OAuth error code to answer (the code is spent
// either way, as RFC 6749 §4.1.2 asks).
func (b *codeBook) redeem(form url.Values, clientID string) (pendingCode, string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.codes[form.Get("code")]
	delete(b.codes, form.Get("code"))
	switch {
	case !ok:
		return p, "invalid_grant"
	case p.clientID != clientID:
		return p, "invalid_grant"
	case p.redirectURI != form.Get("redirect_uri"):
		return p, "invalid_grant"
	case expectedChallenge(form.Get("code_verifier")) != p.challenge:
		return p, "invalid_grant"
	}
	return p, ""
}

// tokenRequest is one request a fake token endpoint received.
type tokenRequest struct {
	form             url.Values
	basicUser        string
	basicPass        string
	hasBasic         bool
	accept, userAgnt string
}

type requestLog struct {
	mu   sync.Mutex
	reqs []tokenRequest
}

func (l *requestLog) record(r *http.Request) tokenRequest {
	_ = r.ParseForm()
	tr := tokenRequest{form: r.PostForm, accept: r.Header.Get("Accept"), userAgnt: r.UserAgent()}
	tr.basicUser, tr.basicPass, tr.hasBasic = r.BasicAuth()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, tr)
	return tr
}

func (l *requestLog) last(t *testing.T) tokenRequest {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.reqs) == 0 {
		t.Fatal("the token endpoint was not called")
	}
	return l.reqs[len(l.reqs)-1]
}

func (l *requestLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.reqs)
}

func sendJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func newKeyring(t *testing.T) *keyring.Keyring {
	t.Helper()
	kr, err := keyring.New()
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// closedURL returns the URL of a loopback server that is no longer listening.
func closedURL() string {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	return u
}

func queryOf(t *testing.T, raw string) (*url.URL, url.Values) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u, u.Query()
}

// wantQuery checks that q holds exactly want for each key of want.
func wantQuery(t *testing.T, q url.Values, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := q[k]; len(got) != 1 || got[0] != v {
			t.Errorf("authorization parameter %s = %q, want %q", k, got, v)
		}
	}
}

// wantClass checks err's class and that no secret appears in any form of its text.
func wantClass(t *testing.T, err error, class error, secrets ...string) *mcpauth.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %v", class)
	}
	if !errors.Is(err, class) {
		t.Fatalf("err = %v, want class %v", err, class)
	}
	for _, other := range []error{mcpauth.ErrAccessDenied, mcpauth.ErrUpstreamUnavailable, mcpauth.ErrInvalidToken, mcpauth.ErrInvalidRequest} {
		if other != class && errors.Is(err, other) {
			t.Errorf("err %v is also of class %v", err, other)
		}
	}
	noSecrets(t, err, secrets...)
	var e *mcpauth.Error
	if !errors.As(err, &e) {
		t.Fatalf("err %T is not an *mcpauth.Error", err)
	}
	return e
}

func noSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("the error text holds a secret %q: %s", s, text)
			}
		}
	}
	if e := mcpauth.AsError(err); e != nil {
		for _, s := range secrets {
			if s != "" && strings.Contains(e.Description, s) {
				t.Errorf("the description holds a secret: %s", e.Description)
			}
		}
	}
}

func wantIdentity(t *testing.T, got *Identity, want Identity) {
	t.Helper()
	if got == nil {
		t.Fatal("Identity is nil")
	}
	if got.Subject != want.Subject || got.TenantID != want.TenantID || got.Name != want.Name || got.Email != want.Email {
		t.Errorf("Identity = {Subject:%q TenantID:%q Name:%q Email:%q}, want {Subject:%q TenantID:%q Name:%q Email:%q}",
			got.Subject, got.TenantID, got.Name, got.Email, want.Subject, want.TenantID, want.Name, want.Email)
	}
	if (got.Scopes == nil) != (want.Scopes == nil) || !slices.Equal(got.Scopes, want.Scopes) {
		t.Errorf("Identity.Scopes = %#v, want %#v", got.Scopes, want.Scopes)
	}
	if got.Token == nil || got.Token.AccessToken == "" {
		t.Errorf("Identity.Token = %v, want the upstream token", got.Token)
	}
}

// quietLogger drops the warnings of key set fetches that tests make fail on purpose.
var quietLogger = slog.New(slog.DiscardHandler)

func testClock() *testutil.Clock { return testutil.NewClock(time.Unix(1_750_000_000, 0)) }

// ---- GitHub ----

// fakeGitHub serves, on loopback, GitHub's OAuth web flow endpoints (under the web
// origin) and the REST API calls providers/github makes (under /api/v3, as on Enterprise
// Server):
//
//	POST /login/oauth/access_token            form or JSON (by Accept); errors as HTTP 200
//	POST /api/v3/applications/{client_id}/token  "Check a token", basic auth of the app
//	GET  /api/v3/user/memberships/orgs/{org}  the user's own token
type fakeGitHub struct {
	srv          *httptest.Server
	clientID     string
	clientSecret string
	book         codeBook
	log          requestLog

	mu      sync.Mutex
	users   map[string]map[string]any // by login: the user document
	orgs    map[string][]string       // org → active member logins
	tokens  map[string]string         // access token → login
	n       int
	fail    int // status the token endpoint answers with, 0 for none
	apiHits atomic.Int64
}

func newFakeGitHub(t *testing.T) *fakeGitHub {
	f := &fakeGitHub{
		clientID: "Iv1.8a61f9b3a7aba766", clientSecret: "gh-secret-4c6e1f0d9b2a7e3c",
		users:  map[string]map[string]any{},
		orgs:   map[string][]string{},
		tokens: map[string]string{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGitHub) addUser(login string, id int64, email string, orgs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	doc := map[string]any{"login": login, "id": id, "node_id": "MDQ6VXNlcjE=", "type": "User", "name": "The " + login, "email": nil}
	if email != "" {
		doc["email"] = email
	}
	f.users[login] = doc
	for _, o := range orgs {
		f.orgs[o] = append(f.orgs[o], login)
	}
}

func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/login/oauth/access_token":
		f.accessToken(w, r)
	case strings.HasPrefix(r.URL.Path, "/api/v3/"):
		f.apiHits.Add(1)
		if r.UserAgent() == "" {
			sendJSON(w, http.StatusForbidden, map[string]any{"message": "Request forbidden by administrative rules. Please make sure your request has a User-Agent header"})
			return
		}
		f.api(w, r, strings.TrimPrefix(r.URL.Path, "/api/v3"))
	default:
		http.NotFound(w, r)
	}
}

// accessToken is GitHub's token endpoint: it answers form-encoded unless JSON is
// accepted, and reports errors with HTTP 200.
func (f *fakeGitHub) accessToken(w http.ResponseWriter, r *http.Request) {
	tr := f.log.record(r)
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail != 0 {
		w.Header().Set("Retry-After", "30")
		http.Error(w, "<html>Unicorn!</html>", fail)
		return
	}
	answer := func(v url.Values) {
		if strings.Contains(tr.accept, "application/json") {
			m := map[string]string{}
			for k := range v {
				m[k] = v.Get(k)
			}
			sendJSON(w, http.StatusOK, m)
			return
		}
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		_, _ = io.WriteString(w, v.Encode())
	}
	if tr.form.Get("client_id") != f.clientID || tr.form.Get("client_secret") != f.clientSecret {
		answer(url.Values{"error": {"incorrect_client_credentials"}, "error_description": {"The client_id and/or client_secret passed are incorrect."},
			"error_uri": {"https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#incorrect-client-credentials"}})
		return
	}
	p, bad := f.book.redeem(tr.form, f.clientID)
	if bad != "" {
		answer(url.Values{"error": {"bad_verification_code"}, "error_description": {"The code passed is incorrect or expired."},
			"error_uri": {"https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code"}})
		return
	}
	f.mu.Lock()
	f.n++
	token := fmt.Sprintf("gho_%036d", f.n)
	f.tokens[token] = p.who
	f.mu.Unlock()
	answer(url.Values{"access_token": {token}, "scope": {"read:org,read:user"}, "token_type": {"bearer"}})
}

func (f *fakeGitHub) api(w http.ResponseWriter, r *http.Request, path string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	notFound := map[string]any{"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}
	switch {
	case r.Method == http.MethodPost && path == "/applications/"+f.clientID+"/token":
		user, pass, ok := r.BasicAuth()
		if !ok || user != f.clientID || pass != f.clientSecret {
			sendJSON(w, http.StatusUnauthorized, map[string]any{"message": "Bad credentials"})
			return
		}
		var body struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		login, ok := f.tokens[body.AccessToken]
		if !ok {
			sendJSON(w, http.StatusNotFound, notFound)
			return
		}
		sendJSON(w, http.StatusOK, map[string]any{
			"id": 1, "token": body.AccessToken, "scopes": []string{"read:org", "read:user"}, "expires_at": nil,
			"app":  map[string]any{"client_id": f.clientID, "name": "mcpauth test", "url": "https://example.com"},
			"user": f.users[login],
		})
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/user/memberships/orgs/"):
		login, ok := f.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		if !ok {
			sendJSON(w, http.StatusUnauthorized, map[string]any{"message": "Bad credentials"})
			return
		}
		org := strings.TrimPrefix(path, "/user/memberships/orgs/")
		if !slices.Contains(f.orgs[org], login) {
			sendJSON(w, http.StatusNotFound, notFound)
			return
		}
		sendJSON(w, http.StatusOK, map[string]any{"state": "active", "role": "member", "organization": map[string]any{"login": org}})
	default:
		sendJSON(w, http.StatusNotFound, notFound)
	}
}

func (f *fakeGitHub) config() github.Config {
	return github.Config{
		AllowedOrgs:  []string{"acme"},
		Scopes:       []string{"notes:read"},
		OrgScopes:    map[string][]string{"acme": {"notes:write"}},
		ClientID:     f.clientID,
		ClientSecret: mcpauth.NewSecret(f.clientSecret),
		// Only the API root is given: the web origin (OAuth endpoints) is derived from
		// it, as for Enterprise Server.
		APIBaseURL: f.srv.URL + "/api/v3",
		Now:        testClock().Now,
	}
}

func TestGitHubAuthCodeURL(t *testing.T) {
	f := newFakeGitHub(t)
	up, err := GitHub(f.config())
	if err != nil {
		t.Fatal(err)
	}
	if up.Name() != "github" {
		t.Errorf("Name = %q", up.Name())
	}
	u, q := queryOf(t, up.AuthCodeURL(testState, testVerifier, upstreamCallback))
	if got := u.Scheme + "://" + u.Host + u.Path; got != f.srv.URL+"/login/oauth/authorize" {
		t.Errorf("authorization endpoint = %q, want %q", got, f.srv.URL+"/login/oauth/authorize")
	}
	wantQuery(t, q, map[string]string{
		"client_id": f.clientID, "redirect_uri": upstreamCallback, "state": testState, "response_type": "code",
		"code_challenge": expectedChallenge(testVerifier), "code_challenge_method": "S256", "scope": "read:user read:org",
	})
	if q.Has("code_verifier") || strings.Contains(u.String(), testVerifier) || strings.Contains(u.String(), f.clientSecret) {
		t.Errorf("the authorization URL leaks the verifier or the secret: %s", u)
	}

	// Without org or team rules, read:org is not requested; WithScopes replaces both.
	cfg := f.config()
	cfg.AllowedOrgs, cfg.OrgScopes, cfg.Enabled = nil, nil, true
	up, err = GitHub(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, q = queryOf(t, up.AuthCodeURL(testState, testVerifier, upstreamCallback))
	wantQuery(t, q, map[string]string{"scope": "read:user"})
	up, err = GitHub(cfg, WithScopes("read:user", "user:email"))
	if err != nil {
		t.Fatal(err)
	}
	_, q = queryOf(t, up.AuthCodeURL(testState, testVerifier, upstreamCallback))
	wantQuery(t, q, map[string]string{"scope": "read:user user:email"})

	// The default web origin is github.com.
	cfg = github.Config{Enabled: true, ClientID: "Iv1.x", ClientSecret: mcpauth.NewSecret("s")}
	up, err = GitHub(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := queryOf(t, up.AuthCodeURL(testState, testVerifier, upstreamCallback)); u.Host != "github.com" || u.Path != "/login/oauth/authorize" {
		t.Errorf("default authorization endpoint = %s", u)
	}
}

func TestGitHubExchange(t *testing.T) {
	f := newFakeGitHub(t)
	f.addUser("octocat", 583231, "octocat@github.com", "acme")
	f.addUser("mallory", 9001, "")
	up, err := GitHub(f.config())
	if err != nil {
		t.Fatal(err)
	}
	code := f.book.authorize(t, up.AuthCodeURL(testState, testVerifier, upstreamCallback), "/login/oauth/authorize", "octocat")
	id, err := up.Exchange(context.Background(), code, testVerifier, upstreamCallback)
	if err != nil {
		t.Fatal(err)
	}
	wantIdentity(t, id, Identity{Subject: "github:583231", Name: "octocat", Email: "octocat@github.com", Scopes: []string{"notes:read", "notes:write"}})
	if !strings.HasPrefix(id.Token.AccessToken, "gho_") || id.Token.Type() != "Bearer" {
		t.Errorf("Token = %+v", id.Token)
	}
	tr := f.log.last(t)
	wantQuery(t, tr.form, map[string]string{
		"grant_type": "authorization_code", "code": code, "code_verifier": testVerifier, "redirect_uri": upstreamCallback,
		"client_id": f.clientID, "client_secret": f.clientSecret,
	})
	if tr.hasBasic {
		t.Error("GitHub's credentials go in the form, not in basic authentication")
	}

	// The code is single use: GitHub answers bad_verification_code with HTTP 200.
	_, err = up.Exchange(context.Background(), code, testVerifier, upstreamCallback)
	e := wantClass(t, err, mcpauth.ErrAccessDenied, code, testVerifier, f.clientSecret)
	if !strings.Contains(e.Err.Error(), "bad_verification_code") {
		t.Errorf("cause = %v, want GitHub's error code", e.Err)
	}

	// A wrong verifier is refused the same way.
	code = f.book.authorize(t, up.AuthCodeURL(testState, testVerifier, upstreamCallback), "/login/oauth/authorize", "octocat")
	_, err = up.Exchange(context.Background(), code, "another-verifier-000000000000000000000000000", upstreamCallback)
	wantClass(t, err, mcpauth.ErrAccessDenied, code, testVerifier, f.clientSecret)

	// A person outside the allowed organizations is refused by the provider's rules.
	code = f.book.authorize(t, up.AuthCodeURL(testState, testVerifier, upstreamCallback), "/login/oauth/authorize", "mallory")
	_, err = up.Exchange(context.Background(), code, testVerifier, upstreamCallback)
	e = wantClass(t, err, mcpauth.ErrAccessDenied, code, testVerifier, f.clientSecret, "gho_")
	if !strings.Contains(e.Description, "mallory") || !strings.Contains(e.Description, "organization") {
		t.Errorf("description = %q, want the provider's org refusal", e.Description)
	}

	// An empty code never reaches GitHub.
	n := f.log.count()
	_, err = up.Exchange(context.Background(), "", testVerifier, upstreamCallback)
	wantClass(t, err, mcpauth.ErrAccessDenied)
	if f.log.count() != n {
		t.Error("an empty code was sent to GitHub")
	}
}

func TestGitHubScopeEntitlement(t *testing.T) {
	f := newFakeGitHub(t)
	f.addUser("octocat", 583231, "", "acme")
	f.addUser("hubot", 42, "")

	exchange := func(cfg github.Config, who string) *Identity {
		t.Helper()
		up, err := GitHub(cfg)
		if err != nil {
			t.Fatal(err)
		}
		code := f.book.authorize(t, up.AuthCodeURL(testState, testVerifier, upstreamCallback), "/login/oauth/authorize", who)
		id, err := up.Exchange(context.Background(), code, testVerifier, upstreamCallback)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	// No scope rule at all: the upstream does not limit scopes (nil).
	cfg := f.config()
	cfg.AllowedOrgs, cfg.Scopes, cfg.OrgScopes, cfg.Enabled = nil, nil, nil, true
	if id := exchange(cfg, "hubot"); id.Scopes != nil || id.Email != "" || id.Subject != "github:42" {
		t.Errorf("Identity = %+v, want unlimited scopes, no e-mail", id)
	}
	// Scope rules that grant this person nothing: limited to nothing, not unlimited.
	cfg.Enabled, cfg.AllowedUsers = false, []string{"hubot", "octocat"}
	cfg.OrgScopes = map[string][]string{"acme": {"admin"}}
	if id := exchange(cfg, "hubot"); id.Scopes == nil || len(id.Scopes) != 0 {
		t.Errorf("Scopes = %#v, want an empty non-nil slice", id.Scopes)
	}
	if id := exchange(cfg, "octocat"); !slices.Equal(id.Scopes, []string{"admin"}) {
		t.Errorf("Scopes = %#v, want [admin]", id.Scopes)
	}
}

func TestGitHubUpstreamFailures(t *testing.T) {
	f := newFakeGitHub(t)
	f.addUser("octocat", 583231, "", "acme")
	up, err := GitHub(f.config())
	if err != nil {
		t.Fatal(err)
	}

	// The token endpoint fails: temporarily unavailable, with GitHub's Retry-After.
	f.mu.Lock()
	f.fail = http.StatusBadGateway
	f.mu.Unlock()
	code := f.book.authorize(t, up.AuthCodeURL(testState, testVerifier, upstreamCallback), "/login/oauth/authorize", "octocat")
	_, err = up.Exchange(context.Background(), code, testVerifier, upstreamCallback)
	e := wantClass(t, err, mcpauth.ErrUpstreamUnavailable, code, testVerifier, f.clientSecret)
	if e.RetryAfter != 30*time.Second {
		t.Errorf("RetryAfter = %s, want 30s", e.RetryAfter)
	}
	f.mu.Lock()
	f.fail = 0
	f.mu.Unlock()

	// A wrong client secret is this server's problem, not the person's.
	cfg := f.config()
	cfg.ClientSecret = mcpauth.NewSecret("wrong-secret-0123456789")
	bad, err := GitHub(cfg)
	if err != nil {
		t.Fatal(err)
	}
	code = f.book.authorize(t, bad.AuthCodeURL(testState, testVerifier, upstreamCallback), "/login/oauth/authorize", "octocat")
	_, err = bad.Exchange(context.Background(), code, testVerifier, upstreamCallback)
	e = wantClass(t, err, mcpauth.ErrUpstreamUnavailable, code, testVerifier, "wrong-secret-0123456789")
	if !strings.Contains(e.Err.Error(), "incorrect_client_credentials") {
		t.Errorf("cause = %v", e.Err)
	}

	// GitHub unreachable.
	down := closedURL()
	up, err = GitHub(f.config(), WithEndpoint(oauth2.Endpoint{AuthURL: down + "/login/oauth/authorize", TokenURL: down + "/login/oauth/access_token"}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = up.Exchange(context.Background(), "code-unreachable-123456", testVerifier, upstreamCallback)
	wantClass(t, err, mcpauth.ErrUpstreamUnavailable, "code-unreachable-123456", testVerifier, f.clientSecret)

	// A cancelled request.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	up, _ = GitHub(f.config())
	_, err = up.Exchange(ctx, "code-cancelled-123456", testVerifier, upstreamCallback)
	wantClass(t, err, mcpauth.ErrUpstreamUnavailable, "code-cancelled-123456", testVerifier)
}

// countingTransport counts the requests it forwards.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func TestGitHubWithHTTPClient(t *testing.T) {
	f := newFakeGitHub(t)
	f.addUser("octocat", 583231, "", "acme")
	rt := &countingTransport{}
	up, err := GitHub(f.config(), WithHTTPClient(&http.Client{Transport: rt}))
	if err != nil {
		t.Fatal(err)
	}
	code := f.book.authorize(t, up.AuthCodeURL(testState, testVerifier, upstreamCallback), "/login/oauth/authorize", "octocat")
	if _, err := up.Exchange(context.Background(), code, testVerifier, upstreamCallback); err != nil {
		t.Fatal(err)
	}
	// The token endpoint, the token check and one membership: all through the client.
	if got := rt.n.Load(); got != 3 {
		t.Errorf("the client made %d requests, want 3", got)
	}
	if _, ok := up.(Refresher); !ok {
		t.Error("the GitHub upstream does not implement Refresher")
	}
}

func TestUpstreamConstructorsRefuse(t *testing.T) {
	for name, build := range map[string]func() (Upstream, error){
		"github without client": func() (Upstream, error) { return GitHub(github.Config{Enabled: true}) },
		"github without rules": func() (Upstream, error) {
			return GitHub(github.Config{ClientID: "x", ClientSecret: mcpauth.NewSecret("y")})
		},
		"github http endpoint": func() (Upstream, error) {
			return GitHub(github.Config{Enabled: true, ClientID: "x", ClientSecret: mcpauth.NewSecret("y")},
				WithEndpoint(oauth2.Endpoint{AuthURL: "http://github.example/a", TokenURL: "https://github.example/t"}))
		},
		"google without secret": func() (Upstream, error) { return Google(google.Config{ClientIDs: []string{"a"}}) },
		"google without openid": func() (Upstream, error) {
			return Google(google.Config{ClientIDs: []string{"a"}, ClientSecret: mcpauth.NewSecret("s")}, WithScopes("email"))
		},
		"workos without selection": func() (Upstream, error) {
			return WorkOS(workos.Config{ClientID: "client_1", APIKey: mcpauth.NewSecret("sk_test")}, WorkOSSelection{})
		},
		"workos two selections": func() (Upstream, error) {
			return WorkOS(workos.Config{ClientID: "client_1", APIKey: mcpauth.NewSecret("sk_test")}, WorkOSSelection{Organization: "org_1", Connection: "conn_1"})
		},
		"workos organization not allowed": func() (Upstream, error) {
			return WorkOS(workos.Config{ClientID: "client_1", APIKey: mcpauth.NewSecret("sk_test"), AllowedOrganizations: []string{"org_2"}}, WorkOSSelection{Organization: "org_1"})
		},
		"workos without key": func() (Upstream, error) {
			return WorkOS(workos.Config{ClientID: "client_1"}, WorkOSSelection{Organization: "org_1"})
		},
		"workos scopes": func() (Upstream, error) {
			return WorkOS(workos.Config{ClientID: "client_1", APIKey: mcpauth.NewSecret("sk_test")}, WorkOSSelection{Organization: "org_1"}, WithScopes("openid"))
		},
		"oidc without client": func() (Upstream, error) { return OIDC(OIDCConfig{Issuer: "https://idp.example.com"}) },
		"oidc http issuer": func() (Upstream, error) {
			return OIDC(OIDCConfig{Issuer: "http://idp.example.com", ClientID: "c"})
		},
		"oidc without openid": func() (Upstream, error) {
			return OIDC(OIDCConfig{Issuer: "https://idp.example.com", ClientID: "c", Scopes: []string{"email"}})
		},
	} {
		t.Run(name, func(t *testing.T) {
			up, err := build()
			if err == nil {
				t.Fatalf("got %T, want an error", up)
			}
			noSecrets(t, err, "sk_test")
		})
	}
}

// ---- Google ----

// fakeGoogle serves Google's token endpoint (POST /token: authorization_code and
// refresh_token grants, credentials in the form, JSON answers with an id_token; errors
// as HTTP 400/401 JSON) and its ID-token keys (GET /certs).
type fakeGoogle struct {
	srv      *httptest.Server
	kr       *keyring.Keyring
	clientID string
	secret   string
	now      func() time.Time
	book     codeBook
	log      requestLog

	mu       sync.Mutex
	people   map[string]map[string]any // by sub: claims of the ID token
	refresh  map[string]string         // refresh token → sub
	override map[string]any            // claims forced into the next ID tokens
	signer   *keyring.Keyring          // signs the ID tokens instead of kr when set
	n        int
}

func newFakeGoogle(t *testing.T, now func() time.Time) *fakeGoogle {
	f := &fakeGoogle{
		kr: newKeyring(t), clientID: "1234-abc.apps.googleusercontent.com", secret: "GOCSPX-test-secret-77",
		now: now, people: map[string]map[string]any{}, refresh: map[string]string{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGoogle) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/certs":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(f.kr.JWKS())
	case r.Method == http.MethodPost && r.URL.Path == "/token":
		f.token(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeGoogle) token(w http.ResponseWriter, r *http.Request) {
	tr := f.log.record(r)
	if tr.form.Get("client_id") != f.clientID || tr.form.Get("client_secret") != f.secret {
		sendJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "Unauthorized"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch tr.form.Get("grant_type") {
	case "authorization_code":
		p, bad := f.book.redeem(tr.form, f.clientID)
		if bad != "" {
			sendJSON(w, http.StatusBadRequest, map[string]string{"error": bad, "error_description": "Bad Request"})
			return
		}
		f.n++
		rt := fmt.Sprintf("1//0g-refresh-%d", f.n)
		f.refresh[rt] = p.who
		now := f.now()
		claims := map[string]any{
			"iss": "https://accounts.google.com", "azp": f.clientID, "aud": f.clientID,
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "at_hash": "HK6E_P6Dh8Y93mRNtsDB1Q",
		}
		if p.nonce != "" {
			claims["nonce"] = p.nonce
		}
		for k, v := range f.people[p.who] {
			claims[k] = v
		}
		for k, v := range f.override {
			claims[k] = v
		}
		sendJSON(w, http.StatusOK, map[string]any{
			"access_token": fmt.Sprintf("ya29.a0-access-%d", f.n), "expires_in": 3599, "refresh_token": rt,
			"scope":      "openid https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/userinfo.profile",
			"token_type": "Bearer", "id_token": signJWT(cmp.Or(f.signer, f.kr), claims),
		})
	case "refresh_token":
		if _, ok := f.refresh[tr.form.Get("refresh_token")]; !ok {
			sendJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
			return
		}
		f.n++
		sendJSON(w, http.StatusOK, map[string]any{"access_token": fmt.Sprintf("ya29.a0-access-%d", f.n), "expires_in": 3599, "token_type": "Bearer", "scope": "openid"})
	default:
		sendJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
	}
}

// signJWT signs claims with RS256 and the keyring's current key, typ JWT (as ID tokens
// are).
func signJWT(kr *keyring.Keyring, claims map[string]any) string {
	k := kr.Current()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims(claims))
	tok.Header["kid"] = k.KID
	tok.Header["typ"] = "JWT"
	s, _ := tok.SignedString(k.Private)
	return s
}

func (f *fakeGoogle) config(now func() time.Time) google.Config {
	return google.Config{
		ClientIDs:     []string{f.clientID},
		ClientSecret:  mcpauth.NewSecret(f.secret),
		HostedDomains: []string{"example.com"},
		DomainScopes:  map[string][]string{"example.com": {"notes:read"}},
		JWKSURI:       f.srv.URL + "/certs",
		TokenInfoURL:  f.srv.URL + "/tokeninfo",
		Now:           now,
		Logger:        quietLogger,
	}
}

func (f *fakeGoogle) endpoint() UpstreamOption {
	return WithEndpoint(oauth2.Endpoint{AuthURL: f.srv.URL + "/o/oauth2/v2/auth", TokenURL: f.srv.URL + "/token"})
}

func newGoogle(t *testing.T, f *fakeGoogle, cfg google.Config, opts ...UpstreamOption) Upstream {
	t.Helper()
	up, err := Google(cfg, append([]UpstreamOption{f.endpoint()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = up.(io.Closer).Close() })
	return up
}

func TestGoogleAuthCodeURL(t *testing.T) {
	clock := testClock()
	f := newFakeGoogle(t, clock.Now)
	up, err := Google(f.config(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = up.(io.Closer).Close() }()
	if up.Name() != "google" {
		t.Errorf("Name = %q", up.Name())
	}
	u, q := queryOf(t, up.AuthCodeURL(testState, testVerifier, upstreamCallback))
	if got := u.Scheme + "://" + u.Host + u.Path; got != "https://accounts.google.com/o/oauth2/v2/auth" {
		t.Errorf("authorization endpoint = %q", got)
	}
	wantQuery(t, q, map[string]string{
		"client_id": f.clientID, "redirect_uri": upstreamCallback, "state": testState, "response_type": "code",
		"code_challenge": expectedChallenge(testVerifier), "code_challenge_method": "S256", "scope": "openid email profile",
		"access_type": "offline", "prompt": "consent",
	})
	if n := q.Get("nonce"); n == "" || n == expectedChallenge(testVerifier) || strings.Contains(n, testVerifier) {
		t.Errorf("nonce = %q, want one that is neither the verifier nor the challenge", n)
	}
	_, q2 := queryOf(t, up.AuthCodeURL(testState, "another-verifier-aaaaaaaaaaaaaaaaaaaaaaaaaaaa", upstreamCallback))
	if q2.Get("nonce") == q.Get("nonce") {
		t.Error("two sign-ins share a nonce")
	}
}

func TestGoogleExchange(t *testing.T) {
	clock := testClock()
	f := newFakeGoogle(t, clock.Now)
	f.people["110169484474386276334"] = map[string]any{"sub": "110169484474386276334", "email": "ada@example.com", "email_verified": true, "hd": "example.com", "name": "Ada Lovelace"}
	f.people["999"] = map[string]any{"sub": "999", "email": "eve@other.example", "email_verified": true, "hd": "other.example", "name": "Eve"}
	up := newGoogle(t, f, f.config(clock.Now))

	code := f.book.authorize(t, up.AuthCodeURL(testState, testVerifier, upstreamCallback), "/o/oauth2/v2/auth", "110169484474386276334")
	id, err := up.Exchange(context.Background(), code, testVerifier, upstreamCallback)
	if err != nil {
		t.Fatal(err)
	}
	wantIdentity(t, id, Identity{Subject: "google:110169484474386276334", TenantID: "example.com", Name: "Ada Lovelace", Email: "ada@example.com", Scopes: []string{"notes:read"}})
	if id.Token.RefreshToken == "" || id.Token.Extra("id_token") == nil {
		t.Errorf("Token = %+v, want the refresh token and the ID token kept", id.Token)
	}
	tr := f.log.last(t)
	wantQuery(t, tr.form, map[string]string{
		"grant_type": "authorization_code", "code": code, "code_verifier": testVerifier, "redirect_uri": upstreamCallback,
		"client_id": f.clientID, "client_secret": f.secret,
	})

	// Another Workspace domain: refused by the HostedDomains rule.
	code = f.book.authorize(t, up.AuthCodeURL(testState, testVerifier, upstreamCallback), "/o/oauth2/v2/auth", "999")
	_, err = up.Exchange(context.Background(), code, testVerifier, upstreamCallback)
	wantClass(t, err, mcpauth.ErrAccessDenied, code, testVerifier, f.secret, "ya29.")

	// A spent code: invalid_grant.
	_, err = up.Exchange(context.Background(), code, testVerifier, upstreamCallback)
	e := wantClass(t, err, mcpauth.ErrAccessDenied, code, testVerifier, f.secret)
	if !strings.Contains(e.Err.Error(), "invalid_grant") || !strings.Contains(e.Err.Error(), "HTTP 400") {
		t.Errorf("cause = %v", e.Err)
	}
}

func TestGoogleRefusesForeignIDTokens(t *testing.T) {
	clock := testClock()
	f := newFakeGoogle(t, clock.Now)
	f.people["1"] = map[string]any{"sub": "1", "email": "ada@example.com", "email_verified": true, "hd": "example.com"}
	up := newGoogle(t, f, f.config(clock.Now))
	for name, override := range map[string]map[string]any{
		"audience":  {"aud": "other.apps.googleusercontent.com"},
		"issuer":    {"iss": "https://evil.example.com"},
		"nonce":     {"nonce": "a-nonce-of-another-sign-in"},
		"expired":   {"exp": clock.Now().Add(-time.Minute).Unix(), "iat": clock.Now().Add(-time.Hour).Unix()},
		"signature": {"_resign": true},
	} {
		t.Run(name, func(t *testing.T) {
			f.mu.Lock()
			f.override, f.signer = override, nil
			if override["_resign"] == true {
				// Signed with a key the published key set does not hold.
				f.override, f.signer = nil, newKeyring(t)
			}
			f.mu.Unlock()
			code := f.book.authorize(t, up.AuthCodeURL(testState, testVerifier, upstreamCallback), "/o/oauth2/v2/auth", "1")
			_, err := up.Exchange(context.Background(), code, testVerifier, upstreamCallback)
			e := wantClass(t, err, mcpauth.ErrAccessDenied, code, testVerifier, f.secret, "eyJ")
			if !strings.HasPrefix(e.Description, "the sign-in at Google could not be verified: ") {
				t.Errorf("description = %q", e.Description)
			}
		})
	}
	f.mu.Lock()
	f.override, f.signer = nil, nil
	f.mu.Unlock()
}

func TestGoogleUnavailable(t *testing.T) {
	clock := testClock()
	f := newFakeGoogle(t, clock.Now)
	down := closedURL()
	up := newGoogle(t, f, f.config(clock.Now), WithEndpoint(oauth2.Endpoint{AuthURL: down + "/auth", TokenURL: down + "/token"}))
	_, err := up.Exchange(context.Background(), "4/0AX4XfWh-code-123", testVerifier, upstreamCallback)
	wantClass(t, err, mcpauth.ErrUpstreamUnavailable, "4/0AX4XfWh-code-123", testVerifier, f.secret)

	// Google answers 503 with Retry-After.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		sendJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "temporarily_unavailable"})
	}))
	defer srv.Close()
	up = newGoogle(t, f, f.config(clock.Now), WithEndpoint(oauth2.Endpoint{AuthURL: srv.URL + "/auth", TokenURL: srv.URL + "/token"}))
	_, err = up.Exchange(context.Background(), "4/0AX4XfWh-code-123", testVerifier, upstreamCallback)
	if e := wantClass(t, err, mcpauth.ErrUpstreamUnavailable, "4/0AX4XfWh-code-123", testVerifier, f.secret); e.RetryAfter != 7*time.Second {
		t.Errorf("RetryAfter = %s", e.RetryAfter)
	}

	// The key set cannot be fetched: the ID token cannot be checked, which is no
	// verdict on the person.
	f.people["1"] = map[string]any{"sub": "1", "email": "ada@example.com", "email_verified": true, "hd": "example.com"}
	cfg := f.config(clock.Now)
	cfg.JWKSURI = down + "/certs"
	up = newGoogle(t, f, cfg)
	code := f.book.authorize(t, up.AuthCodeURL(testState, testVerifier, upstreamCallback), "/o/oauth2/v2/auth", "1")
	_, err = up.Exchange(context.Background(), code, testVerifier, upstreamCallback)
	wantClass(t, err, mcpauth.ErrUpstreamUnavailable, code, testVerifier, f.secret)
}

func TestGoogleRefresh(t *testing.T) {
	clock := testClock()
	f := newFakeGoogle(t, clock.Now)
	f.refresh["1//0g-known"] = "1"
	up := newGoogle(t, f, f.config(clock.Now))
	r, ok := up.(Refresher)
	if !ok {
		t.Fatal("the Google upstream does not implement Refresher")
	}

	// A valid token is returned as it is, without a call.
	valid := &oauth2.Token{AccessToken: "ya29.still-valid", RefreshToken: "1//0g-known", Expiry: time.Now().Add(time.Hour)}
	if got, err := r.Refresh(context.Background(), valid); err != nil || got != valid {
		t.Fatalf("Refresh(valid) = %v, %v", got, err)
	}
	if f.log.count() != 0 {
		t.Error("a valid token was refreshed")
	}

	expired := &oauth2.Token{AccessToken: "ya29.expired", RefreshToken: "1//0g-known", Expiry: time.Unix(1, 0)}
	got, err := r.Refresh(context.Background(), expired)
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken == expired.AccessToken || got.RefreshToken != "1//0g-known" {
		t.Errorf("refreshed token = %+v", got)
	}
	wantQuery(t, f.log.last(t).form, map[string]string{
		"grant_type": "refresh_token", "refresh_token": "1//0g-known", "client_id": f.clientID, "client_secret": f.secret,
	})

	// A revoked refresh token: the person must sign in again.
	_, err = r.Refresh(context.Background(), &oauth2.Token{AccessToken: "ya29.x", RefreshToken: "1//0g-revoked", Expiry: time.Unix(1, 0)})
	wantClass(t, err, mcpauth.ErrInvalidToken, "1//0g-revoked", f.secret, "ya29.x")
	_, err = r.Refresh(context.Background(), &oauth2.Token{AccessToken: "ya29.x", Expiry: time.Unix(1, 0)})
	wantClass(t, err, mcpauth.ErrInvalidToken)
}

// ---- WorkOS ----

// fakeWorkOS serves WorkOS SSO: POST /sso/token (form client_id, client_secret = the API
// key, grant_type, code; JSON {access_token, profile}) and GET /sso/profile (Bearer
// access token).
type fakeWorkOS struct {
	srv      *httptest.Server
	clientID string
	apiKey   string
	book     codeBook
	log      requestLog

	mu       sync.Mutex
	profiles map[string]map[string]any // by profile id
	tokens   map[string]string         // access token → profile id
	n        int
}

func newFakeWorkOS(t *testing.T) *fakeWorkOS {
	f := &fakeWorkOS{clientID: "client_01HZBC6Q2N2C7G1F6E8X0Y9Z8A", apiKey: "sk_test_a1b2c3d4e5f6", profiles: map[string]map[string]any{}, tokens: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeWorkOS) addProfile(id, org, conn, connType, email, first, last string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.profiles[id] = map[string]any{
		"object": "profile", "id": id, "idp_id": "00u1a0ufowBJlzPlk357", "organization_id": org,
		"connection_id": conn, "connection_type": connType, "email": email, "first_name": first, "last_name": last,
		"role": map[string]any{"slug": "admin"}, "groups": []string{"Engineering"}, "raw_attributes": map[string]any{},
	}
}

func (f *fakeWorkOS) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/sso/token":
		tr := f.log.record(r)
		if tr.form.Get("client_id") != f.clientID || tr.form.Get("client_secret") != f.apiKey {
			sendJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "Invalid client secret."})
			return
		}
		if tr.form.Get("grant_type") != "authorization_code" {
			sendJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
			return
		}
		p, bad := f.book.redeem(tr.form, f.clientID)
		if bad != "" {
			// WorkOS quotes the code in its description.
			sendJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": fmt.Sprintf("The code '%s' has expired or is invalid.", tr.form.Get("code"))})
			return
		}
		f.mu.Lock()
		f.n++
		token := fmt.Sprintf("01HZBCACCESS%014d", f.n)
		f.tokens[token] = p.who
		profile := f.profiles[p.who]
		f.mu.Unlock()
		sendJSON(w, http.StatusOK, map[string]any{"access_token": token, "profile": profile})
	case r.Method == http.MethodGet && r.URL.Path == "/sso/profile":
		f.mu.Lock()
		who, ok := f.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		profile := f.profiles[who]
		f.mu.Unlock()
		if !ok {
			sendJSON(w, http.StatusUnauthorized, map[string]string{"message": "Unauthorized"})
			return
		}
		sendJSON(w, http.StatusOK, profile)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeWorkOS) config() workos.Config {
	return workos.Config{
		ClientID: f.clientID, APIKey: mcpauth.NewSecret(f.apiKey), APIBaseURL: f.srv.URL,
		Scopes: []string{"notes:read"}, RoleScopes: map[string][]string{"admin": {"notes:admin"}},
		Now: testClock().Now,
	}
}

func TestWorkOSExchange(t *testing.T) {
	f := newFakeWorkOS(t)
	f.addProfile("prof_01DMC79VCBZ0NY2099737PSVF1", "org_01EHZNVPK3SFK441A1RGBFSHRT", "conn_01E4ZCR3C56J083X43JQXF3JK5", "OktaSAML", "todd@example.com", "Todd", "Rundgren")
	f.addProfile("prof_other", "org_OTHER", "conn_OTHER", "OktaSAML", "eve@evil.example", "Eve", "")
	up, err := WorkOS(f.config(), WorkOSSelection{Organization: "org_01EHZNVPK3SFK441A1RGBFSHRT"})
	if err != nil {
		t.Fatal(err)
	}
	if up.Name() != "workos" {
		t.Errorf("Name = %q", up.Name())
	}
	if _, ok := up.(Refresher); ok {
		t.Error("WorkOS SSO tokens cannot be refreshed, yet the upstream is a Refresher")
	}
	authURL := up.AuthCodeURL(testState, testVerifier, upstreamCallback)
	u, q := queryOf(t, authURL)
	if got := u.Scheme + "://" + u.Host + u.Path; got != f.srv.URL+"/sso/authorize" {
		t.Errorf("authorization endpoint = %q", got)
	}
	wantQuery(t, q, map[string]string{
		"client_id": f.clientID, "redirect_uri": upstreamCallback, "state": testState, "response_type": "code",
		"organization": "org_01EHZNVPK3SFK441A1RGBFSHRT", "code_challenge": expectedChallenge(testVerifier), "code_challenge_method": "S256",
	})
	if q.Has("scope") || q.Has("nonce") {
		t.Errorf("unexpected parameters: %s", authURL)
	}

	code := f.book.authorize(t, authURL, "/sso/authorize", "prof_01DMC79VCBZ0NY2099737PSVF1")
	id, err := up.Exchange(context.Background(), code, testVerifier, upstreamCallback)
	if err != nil {
		t.Fatal(err)
	}
	wantIdentity(t, id, Identity{
		Subject: "workos:prof_01DMC79VCBZ0NY2099737PSVF1", TenantID: "org_01EHZNVPK3SFK441A1RGBFSHRT",
		Name: "Todd Rundgren", Email: "todd@example.com", Scopes: []string{"notes:read", "notes:admin"},
	})
	wantQuery(t, f.log.last(t).form, map[string]string{
		"grant_type": "authorization_code", "code": code, "client_id": f.clientID, "client_secret": f.apiKey, "code_verifier": testVerifier,
	})

	// The browser swapped the organization parameter for its own: refused.
	code = f.book.authorize(t, authURL, "/sso/authorize", "prof_other")
	_, err = up.Exchange(context.Background(), code, testVerifier, upstreamCallback)
	wantClass(t, err, mcpauth.ErrAccessDenied, code, testVerifier, f.apiKey, "01HZBCACCESS")

	// An invalid code: WorkOS quotes it in its description, which must not leak.
	_, err = up.Exchange(context.Background(), code, testVerifier, upstreamCallback)
	e := wantClass(t, err, mcpauth.ErrAccessDenied, code, testVerifier, f.apiKey)
	if !strings.Contains(e.Err.Error(), "invalid_grant") {
		t.Errorf("cause = %v", e.Err)
	}
}

func TestWorkOSRules(t *testing.T) {
	f := newFakeWorkOS(t)
	f.addProfile("prof_A", "org_A", "conn_A", "GoogleOAuth", "a@a.example", "Ann", "")
	f.addProfile("prof_B", "org_B", "conn_B", "GoogleOAuth", "b@b.example", "", "Bo")
	cfg := f.config()
	cfg.AllowedOrganizations = []string{"org_A"}
	cfg.Scopes, cfg.RoleScopes = nil, nil

	// A provider selection: WorkOS's AllowedOrganizations rule decides.
	up, err := WorkOS(cfg, WorkOSSelection{Provider: "GoogleOAuth"})
	if err != nil {
		t.Fatal(err)
	}
	_, q := queryOf(t, up.AuthCodeURL(testState, testVerifier, upstreamCallback))
	wantQuery(t, q, map[string]string{"provider": "GoogleOAuth"})
	code := f.book.authorize(t, up.AuthCodeURL(testState, testVerifier, upstreamCallback), "/sso/authorize", "prof_A")
	id, err := up.Exchange(context.Background(), code, testVerifier, upstreamCallback)
	if err != nil {
		t.Fatal(err)
	}
	wantIdentity(t, id, Identity{Subject: "workos:prof_A", TenantID: "org_A", Name: "Ann", Email: "a@a.example"})
	code = f.book.authorize(t, up.AuthCodeURL(testState, testVerifier, upstreamCallback), "/sso/authorize", "prof_B")
	_, err = up.Exchange(context.Background(), code, testVerifier, upstreamCallback)
	wantClass(t, err, mcpauth.ErrAccessDenied, code, testVerifier, f.apiKey)

	// A zero selection means the one allowed organization.
	up, err = WorkOS(cfg, WorkOSSelection{})
	if err != nil {
		t.Fatal(err)
	}
	_, q = queryOf(t, up.AuthCodeURL(testState, testVerifier, upstreamCallback))
	wantQuery(t, q, map[string]string{"organization": "org_A"})

	// A connection selection is checked against the profile's connection.
	up, err = WorkOS(f.config(), WorkOSSelection{Connection: "conn_A"})
	if err != nil {
		t.Fatal(err)
	}
	code = f.book.authorize(t, up.AuthCodeURL(testState, testVerifier, upstreamCallback), "/sso/authorize", "prof_B")
	_, err = up.Exchange(context.Background(), code, testVerifier, upstreamCallback)
	wantClass(t, err, mcpauth.ErrAccessDenied, code, testVerifier, f.apiKey)
}

func TestWorkOSUnavailable(t *testing.T) {
	f := newFakeWorkOS(t)
	f.addProfile("prof_A", "org_A", "conn_A", "OktaSAML", "a@a.example", "Ann", "")
	up, err := WorkOS(f.config(), WorkOSSelection{Organization: "org_A"})
	if err != nil {
		t.Fatal(err)
	}
	code := f.book.authorize(t, up.AuthCodeURL(testState, testVerifier, upstreamCallback), "/sso/authorize", "prof_A")
	f.srv.Close()
	_, err = up.Exchange(context.Background(), code, testVerifier, upstreamCallback)
	wantClass(t, err, mcpauth.ErrUpstreamUnavailable, code, testVerifier, f.apiKey)

	// The profile endpoint fails after a successful exchange.
	f2 := newFakeWorkOS(t)
	f2.addProfile("prof_A", "org_A", "conn_A", "OktaSAML", "a@a.example", "Ann", "")
	cfg := f2.config()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/sso/profile" {
			sendJSON(w, http.StatusInternalServerError, map[string]string{"message": "Internal Server Error"})
			return
		}
		f2.serve(w, r)
	}))
	defer broken.Close()
	cfg.APIBaseURL = broken.URL
	up, err = WorkOS(cfg, WorkOSSelection{Organization: "org_A"})
	if err != nil {
		t.Fatal(err)
	}
	code = f2.book.authorize(t, up.AuthCodeURL(testState, testVerifier, upstreamCallback), "/sso/authorize", "prof_A")
	_, err = up.Exchange(context.Background(), code, testVerifier, upstreamCallback)
	wantClass(t, err, mcpauth.ErrUpstreamUnavailable, code, testVerifier, f2.apiKey, "01HZBCACCESS")
}

// ---- OpenID Connect ----

// fakeOIDC is an OpenID provider: discovery, JWKS, and a token endpoint that takes
// client_secret_basic and answers with an ID token (and refreshes tokens).
type fakeOIDC struct {
	srv      *httptest.Server
	kr       *keyring.Keyring
	clientID string
	secret   string
	now      func() time.Time
	book     codeBook
	log      requestLog

	mu        sync.Mutex
	issuer    string         // the discovery document's issuer ("" for the server's URL)
	discovery map[string]any // replaces fields of the discovery document
	discFail  int
	override  map[string]any // claims forced into the next ID tokens
	people    map[string]map[string]any
	refresh   map[string]bool
	n         int
}

func newFakeOIDC(t *testing.T, now func() time.Time) *fakeOIDC {
	f := &fakeOIDC{kr: newKeyring(t), clientID: "mcp-proxy", secret: "oidc-secret-3f9a7c1e", now: now,
		people: map[string]map[string]any{}, refresh: map[string]bool{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeOIDC) issuerURL() string { return f.srv.URL + "/realms/acme" }

func (f *fakeOIDC) serve(w http.ResponseWriter, r *http.Request) {
	base := f.issuerURL()
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/realms/acme/.well-known/openid-configuration":
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.discFail != 0 {
			sendJSON(w, f.discFail, map[string]string{"error": "unavailable"})
			return
		}
		doc := map[string]any{
			"issuer": base, "authorization_endpoint": base + "/protocol/openid-connect/auth",
			"token_endpoint": base + "/protocol/openid-connect/token", "jwks_uri": base + "/protocol/openid-connect/certs",
			"response_types_supported": []string{"code", "id_token", "code id_token"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"HS256", "RS256"},
			"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
			"code_challenge_methods_supported":      []string{"plain", "S256"},
		}
		if f.issuer != "" {
			doc["issuer"] = f.issuer
		}
		for k, v := range f.discovery {
			doc[k] = v
		}
		sendJSON(w, http.StatusOK, doc)
	case r.Method == http.MethodGet && r.URL.Path == "/realms/acme/protocol/openid-connect/certs":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(f.kr.JWKS())
	case r.Method == http.MethodPost && r.URL.Path == "/realms/acme/protocol/openid-connect/token":
		f.token(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeOIDC) token(w http.ResponseWriter, r *http.Request) {
	tr := f.log.record(r)
	user, _ := url.QueryUnescape(tr.basicUser)
	pass, _ := url.QueryUnescape(tr.basicPass)
	if !tr.hasBasic || user != f.clientID || pass != f.secret || tr.form.Has("client_secret") {
		w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
		sendJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch tr.form.Get("grant_type") {
	case "authorization_code":
		p, bad := f.book.redeem(tr.form, f.clientID)
		if bad != "" {
			sendJSON(w, http.StatusBadRequest, map[string]string{"error": bad, "error_description": "Code not valid"})
			return
		}
		f.n++
		now := f.now()
		claims := map[string]any{"iss": f.issuerURL(), "aud": f.clientID, "azp": f.clientID, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
		if p.nonce != "" {
			claims["nonce"] = p.nonce
		}
		for k, v := range f.people[p.who] {
			claims[k] = v
		}
		for k, v := range f.override {
			claims[k] = v
		}
		rt := fmt.Sprintf("oidc-refresh-%d", f.n)
		f.refresh[rt] = true
		sendJSON(w, http.StatusOK, map[string]any{
			"access_token": fmt.Sprintf("oidc-access-%d", f.n), "token_type": "Bearer", "expires_in": 300,
			"refresh_token": rt, "id_token": signJWT(f.kr, claims), "scope": "openid email profile",
		})
	case "refresh_token":
		if !f.refresh[tr.form.Get("refresh_token")] {
			sendJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "Token is not active"})
			return
		}
		f.n++
		sendJSON(w, http.StatusOK, map[string]any{"access_token": fmt.Sprintf("oidc-access-%d", f.n), "token_type": "Bearer", "expires_in": 300, "refresh_token": fmt.Sprintf("oidc-refresh-%d", f.n)})
	default:
		sendJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
	}
}

func (f *fakeOIDC) config(now func() time.Time) OIDCConfig {
	return OIDCConfig{
		Issuer: f.issuerURL(), ClientID: f.clientID, ClientSecret: mcpauth.NewSecret(f.secret),
		Entitlements: []string{"notes:read"}, TenantClaim: "org", Now: now,
	}
}

func newOIDC(t *testing.T, cfg OIDCConfig) Upstream {
	t.Helper()
	up, err := OIDC(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = up.(io.Closer).Close() })
	return up
}

func TestOIDCExchange(t *testing.T) {
	clock := testClock()
	f := newFakeOIDC(t, clock.Now)
	f.people["f:2c7d:alice"] = map[string]any{"sub": "f:2c7d:alice", "name": "Alice Liddell", "preferred_username": "alice", "email": "alice@acme.example", "email_verified": true, "org": "acme"}
	f.people["bob"] = map[string]any{"sub": "bob", "preferred_username": "bob", "email": "bob@unverified.example", "email_verified": false}
	up := newOIDC(t, f.config(clock.Now))
	if up.Name() != "oidc" {
		t.Errorf("Name = %q", up.Name())
	}

	authURL := up.AuthCodeURL(testState, testVerifier, upstreamCallback)
	u, q := queryOf(t, authURL)
	if got := u.Scheme + "://" + u.Host + u.Path; got != f.issuerURL()+"/protocol/openid-connect/auth" {
		t.Errorf("authorization endpoint = %q", got)
	}
	wantQuery(t, q, map[string]string{
		"client_id": f.clientID, "redirect_uri": upstreamCallback, "state": testState, "response_type": "code",
		"code_challenge": expectedChallenge(testVerifier), "code_challenge_method": "S256", "scope": "openid email profile",
	})
	if q.Get("nonce") == "" {
		t.Error("no nonce")
	}

	code := f.book.authorize(t, authURL, "/realms/acme/protocol/openid-connect/auth", "f:2c7d:alice")
	id, err := up.Exchange(context.Background(), code, testVerifier, upstreamCallback)
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(f.srv.URL, "http://")
	wantIdentity(t, id, Identity{
		Subject: "oidc:" + host + "/realms/acme#f:2c7d:alice", TenantID: "acme",
		Name: "Alice Liddell", Email: "alice@acme.example", Scopes: []string{"notes:read"},
	})
	tr := f.log.last(t)
	wantQuery(t, tr.form, map[string]string{"grant_type": "authorization_code", "code": code, "code_verifier": testVerifier, "redirect_uri": upstreamCallback})

	// An unverified e-mail address is not shown; the name falls back to the username;
	// no tenant claim, no tenant; nil entitlements: unlimited.
	cfg := f.config(clock.Now)
	cfg.Entitlements, cfg.TenantClaim = nil, ""
	up2 := newOIDC(t, cfg)
	code = f.book.authorize(t, up2.AuthCodeURL(testState, testVerifier, upstreamCallback), "/realms/acme/protocol/openid-connect/auth", "bob")
	id, err = up2.Exchange(context.Background(), code, testVerifier, upstreamCallback)
	if err != nil {
		t.Fatal(err)
	}
	wantIdentity(t, id, Identity{Subject: "oidc:" + host + "/realms/acme#bob", Name: "bob"})

	// A spent code.
	_, err = up2.Exchange(context.Background(), code, testVerifier, upstreamCallback)
	wantClass(t, err, mcpauth.ErrAccessDenied, code, testVerifier, f.secret)
}

func TestOIDCRefusesForeignIDTokens(t *testing.T) {
	clock := testClock()
	f := newFakeOIDC(t, clock.Now)
	f.people["alice"] = map[string]any{"sub": "alice"}
	up := newOIDC(t, f.config(clock.Now))
	for name, override := range map[string]map[string]any{
		"audience":       {"aud": "another-client", "azp": "another-client"},
		"issuer":         {"iss": f.srv.URL + "/realms/other"},
		"azp":            {"aud": []string{f.clientID, "another-client"}, "azp": "another-client"},
		"nonce":          {"nonce": "replayed-nonce"},
		"expired":        {"exp": clock.Now().Add(-time.Second).Unix()},
		"no subject":     {"sub": ""},
		"non-string org": {"org": 42},
	} {
		t.Run(name, func(t *testing.T) {
			f.mu.Lock()
			f.override = override
			f.mu.Unlock()
			code := f.book.authorize(t, up.AuthCodeURL(testState, testVerifier, upstreamCallback), "/realms/acme/protocol/openid-connect/auth", "alice")
			_, err := up.Exchange(context.Background(), code, testVerifier, upstreamCallback)
			e := wantClass(t, err, mcpauth.ErrAccessDenied, code, testVerifier, f.secret, "eyJ", "oidc-access-")
			if !strings.HasPrefix(e.Description, "the sign-in at the OpenID provider could not be verified: ") {
				t.Errorf("description = %q", e.Description)
			}
		})
	}
	// Several audiences with azp naming this client are accepted.
	f.mu.Lock()
	f.override = map[string]any{"aud": []string{f.clientID, "another-client"}}
	f.mu.Unlock()
	code := f.book.authorize(t, up.AuthCodeURL(testState, testVerifier, upstreamCallback), "/realms/acme/protocol/openid-connect/auth", "alice")
	if _, err := up.Exchange(context.Background(), code, testVerifier, upstreamCallback); err != nil {
		t.Fatal(err)
	}
}

func TestOIDCDiscovery(t *testing.T) {
	clock := testClock()
	f := newFakeOIDC(t, clock.Now)

	// The issuer of the document must be the configured one, exactly.
	for _, iss := range []string{f.issuerURL() + "/", "https://evil.example.com/realms/acme", strings.ToUpper(f.issuerURL()[:4]) + f.issuerURL()[4:]} {
		f.mu.Lock()
		f.issuer = iss
		f.mu.Unlock()
		_, err := OIDC(f.config(clock.Now))
		if err == nil || !strings.Contains(err.Error(), "issuer") {
			t.Errorf("discovery issuer %q: err = %v, want an issuer mismatch", iss, err)
		}
		noSecrets(t, err, f.secret)
	}
	f.mu.Lock()
	f.issuer = ""
	f.mu.Unlock()

	for name, change := range map[string]map[string]any{
		"no usable algorithm": {"id_token_signing_alg_values_supported": []string{"HS256", "none"}},
		"no PKCE S256":        {"code_challenge_methods_supported": []string{"plain"}},
		"no code flow":        {"response_types_supported": []string{"id_token"}},
		"http token endpoint": {"token_endpoint": "http://idp.example.com/token"},
		"no jwks_uri":         {"jwks_uri": ""},
		"no auth method":      {"token_endpoint_auth_methods_supported": []string{"private_key_jwt"}},
	} {
		f.mu.Lock()
		f.discovery = change
		f.mu.Unlock()
		if _, err := OIDC(f.config(clock.Now)); err == nil {
			t.Errorf("%s: OIDC accepted the provider", name)
		}
	}
	f.mu.Lock()
	f.discovery = nil
	f.discFail = http.StatusServiceUnavailable
	f.mu.Unlock()
	_, err := OIDC(f.config(clock.Now))
	wantClass(t, err, mcpauth.ErrUpstreamUnavailable, f.secret)

	cfg := f.config(clock.Now)
	cfg.Issuer = closedURL()
	_, err = OIDC(cfg)
	wantClass(t, err, mcpauth.ErrUpstreamUnavailable, f.secret)
}

func TestOIDCClientSecretPost(t *testing.T) {
	clock := testClock()
	f := newFakeOIDC(t, clock.Now)
	f.discovery = map[string]any{"token_endpoint_auth_methods_supported": []string{"client_secret_post"}}
	up := newOIDC(t, f.config(clock.Now))
	code := f.book.authorize(t, up.AuthCodeURL(testState, testVerifier, upstreamCallback), "/realms/acme/protocol/openid-connect/auth", "x")
	_, err := up.Exchange(context.Background(), code, testVerifier, upstreamCallback)
	// The fake takes only client_secret_basic: invalid_client is this server's problem.
	wantClass(t, err, mcpauth.ErrUpstreamUnavailable, code, testVerifier, f.secret)
	tr := f.log.last(t)
	if tr.hasBasic || tr.form.Get("client_secret") != f.secret || tr.form.Get("client_id") != f.clientID {
		t.Errorf("client_secret_post request: basic=%v form=%v", tr.hasBasic, tr.form.Has("client_secret"))
	}
}

func TestOIDCRefresh(t *testing.T) {
	clock := testClock()
	f := newFakeOIDC(t, clock.Now)
	f.refresh["oidc-refresh-known"] = true
	up := newOIDC(t, f.config(clock.Now))
	r := up.(Refresher)
	got, err := r.Refresh(context.Background(), &oauth2.Token{AccessToken: "oidc-access-old", RefreshToken: "oidc-refresh-known", Expiry: time.Unix(1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken == "oidc-access-old" || got.RefreshToken == "oidc-refresh-known" || got.RefreshToken == "" {
		t.Errorf("refreshed token = %+v, want new access and rotated refresh tokens", got)
	}
	tr := f.log.last(t)
	if !tr.hasBasic {
		t.Error("the refresh request is not authenticated with client_secret_basic")
	}
	wantQuery(t, tr.form, map[string]string{"grant_type": "refresh_token", "refresh_token": "oidc-refresh-known"})

	_, err = r.Refresh(context.Background(), &oauth2.Token{AccessToken: "oidc-access-old", RefreshToken: "oidc-refresh-unknown", Expiry: time.Unix(1, 0)})
	wantClass(t, err, mcpauth.ErrInvalidToken, "oidc-refresh-unknown", f.secret, "oidc-access-old")
}

func TestNonceIsBoundToTheVerifier(t *testing.T) {
	a, b := nonceFor(testVerifier), nonceFor(testVerifier+"x")
	if a == b || a == expectedChallenge(testVerifier) || len(a) != 43 {
		t.Errorf("nonceFor = %q, %q", a, b)
	}
}
