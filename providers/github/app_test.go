package github

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/stretchr/testify/require"
)

// checkCall is the request line of the token check for the world's app.
const checkCall = "POST /applications/" + appClientID + "/token"

// An OAuth app token is checked with GitHub's "Check a token" API when the app's
// credentials are configured: GET /user is never called for it, and its scopes, expiry
// and client id come from the check's document. Memberships still use the user's token.
func TestAppTokenVerifiedWithCheckAPI(t *testing.T) {
	w := newWorld(t)
	exp := w.clock.Now().Add(8 * time.Hour)
	oauth := ghToken("gho_", "checkedByTheApp")
	w.gh.addToken(oauth, fakeToken{User: octocat, Scopes: []string{"read:user", "read:org"}, ClientID: appClientID, ExpiresAt: exp})
	v := w.verifier(t, func(c *Config) {
		withApp(c)
		c.AllowedOrgs = []string{"acme"}
		c.Scopes = []string{"notes:read"}
	})

	tok := mustVerify(t, v, oauth)
	require.Equal(t, "583231", tok.Subject)
	require.Equal(t, ProviderName, tok.Provider)
	require.Equal(t, appClientID, tok.ClientID)
	require.True(t, exp.Equal(tok.ExpiresAt), "ExpiresAt %v, want %v", tok.ExpiresAt, exp)
	require.Equal(t, []string{"notes:read"}, tok.Scopes)
	c := tok.Claims
	require.Equal(t, "octocat", c["login"])
	require.Equal(t, int64(583231), c["id"])
	require.Equal(t, "User", c["type"])
	require.Equal(t, []string{"read:user", "read:org"}, c["github_scopes"])
	require.Equal(t, "classic", c["github_token_kind"])
	require.Equal(t, TokenTypeOAuth, c["github_token_type"])
	require.Equal(t, []string{"acme"}, c["github_orgs"])
	for _, k := range []string{"token", "hashed_token", "token_last_eight", "app", "fingerprint"} {
		require.NotContains(t, c, k, "only the user's attributes become claims")
	}

	require.EqualValues(t, 0, w.gh.userCalls.Load(), "GET /user is not called for an app token")
	require.EqualValues(t, 1, w.gh.appCalls.Load())
	require.Equal(t, []string{checkCall, "GET /user/memberships/orgs/acme"}, w.gh.callLog())
}

func TestAppUserTokenVerifiedWithCheckAPI(t *testing.T) {
	w := newWorld(t)
	exp := w.clock.Now().Add(8 * time.Hour)
	ghu := ghToken("ghu_", "appUser")
	w.gh.addToken(ghu, fakeToken{User: hubot, FineGrained: true, MembersRead: []string{"acme"}, ClientID: appClientID, ExpiresAt: exp})
	v := w.verifier(t, func(c *Config) { withApp(c); c.AllowedTeams = []string{"acme/security"} })

	tok := mustVerify(t, v, ghu)
	require.Equal(t, "7", tok.Subject)
	require.Equal(t, appClientID, tok.ClientID)
	require.True(t, exp.Equal(tok.ExpiresAt))
	require.Equal(t, "fine-grained", tok.Claims["github_token_kind"])
	require.Equal(t, TokenTypeAppUser, tok.Claims["github_token_type"])
	require.NotContains(t, tok.Claims, "github_scopes", "a GitHub App user token has permissions, not scopes")
	require.Equal(t, []string{"acme/security"}, tok.Claims["github_teams"])
	require.EqualValues(t, 0, w.gh.userCalls.Load())
	require.Equal(t, []string{checkCall, "GET /orgs/acme/teams/security/memberships/Hubot"}, w.gh.callLog())
}

func TestAppTokenOfAnotherApp(t *testing.T) {
	w := newWorld(t)
	for _, prefix := range []string{"gho_", "ghu_"} {
		other := ghToken(prefix, "otherApp")
		w.gh.addToken(other, fakeToken{User: octocat, Scopes: []string{"read:org"}, ClientID: "Iv1.someOtherApp"})
		_, err := verify(t, w.verifier(t, withApp), other)
		e := requireErr(t, err, mcpauth.ErrInvalidToken, descNotThisApp, 0)
		require.Equal(t, http.StatusUnauthorized, e.Status)
		require.Equal(t, "invalid_token", e.Code)
		require.ErrorContains(t, e.Err, checkCall+": GitHub answered 404: Not Found")
	}
	// The same token is accepted by a server without app credentials (GET /user tells
	// nothing about the app): binding needs the credentials.
	mustVerify(t, w.verifier(t, nil), ghToken("gho_", "otherApp"))
	require.EqualValues(t, 2, w.gh.appCalls.Load())
	require.EqualValues(t, 1, w.gh.userCalls.Load())
}

// A 200 naming another app (a proxy mixing answers, say) is refused too.
func TestAppCheckDocumentNamesAnotherApp(t *testing.T) {
	srv := checkServer(t, http.StatusOK, `{"scopes":[],"expires_at":null,"app":{"client_id":"Iv1.other","name":"x","url":"https://x"},"user":{"login":"octocat","id":1}}`)
	v, err := New(Config{APIBaseURL: srv.URL, Enabled: true, ClientID: appClientID, ClientSecret: mcpauth.NewSecret(appSecret)})
	require.NoError(t, err)
	_, err = verify(t, v, ghToken("gho_", "mixedUp"))
	e := requireErr(t, err, mcpauth.ErrInvalidToken, descNotThisApp, 0)
	require.ErrorContains(t, e.Err, `the token was issued to the app "Iv1.other"`)
}

func TestRevokedAppToken(t *testing.T) {
	w := newWorld(t)
	c := w.cached(t, withApp)
	mustVerify(t, c, w.aliceOAuth)
	w.gh.revoke(w.aliceOAuth)
	w.clock.Advance(5 * time.Minute) // the positive entry ends
	for range 3 {
		_, err := verify(t, c, w.aliceOAuth)
		requireErr(t, err, mcpauth.ErrInvalidToken, descNotThisApp, 0)
	}
	require.EqualValues(t, 2, w.gh.appCalls.Load(), "the refusal is remembered for the negative TTL")
	require.EqualValues(t, 0, w.gh.userCalls.Load())

	// Expired app tokens answer 404 too.
	short := ghToken("gho_", "expiresSoon")
	w.gh.addToken(short, fakeToken{User: octocat, ClientID: appClientID, ExpiresAt: w.clock.Now().Add(time.Minute)})
	v := w.verifier(t, withApp)
	mustVerify(t, v, short)
	w.clock.Advance(time.Minute)
	_, err := verify(t, v, short)
	requireErr(t, err, mcpauth.ErrInvalidToken, descNotThisApp, 0)
}

// GitHub refusing this server's own credentials (401) is not a verdict on the caller's
// token: 503, and never cached as a refusal.
func TestWrongAppCredentials(t *testing.T) {
	w := newWorld(t)
	c := w.cached(t, withApp)
	w.gh.addApp(appClientID, "rotated-on-github")
	for range 3 {
		_, err := verify(t, c, w.aliceOAuth)
		e := requireErr(t, err, mcpauth.ErrUpstreamUnavailable, descAppCredentials, 0)
		require.Equal(t, http.StatusServiceUnavailable, e.Status)
		require.Equal(t, "temporarily_unavailable", e.Code)
		require.NotErrorIs(t, err, mcpauth.ErrInvalidToken)
		require.ErrorContains(t, e.Err, checkCall+": GitHub answered 401: Requires authentication")
	}
	require.EqualValues(t, 3, w.gh.appCalls.Load(), "every failure asked GitHub again: none was cached")
	require.EqualValues(t, 0, c.Stats().Hits)

	// An unknown client id is the same failure.
	_, err := verify(t, w.verifier(t, func(c *Config) {
		c.ClientID, c.ClientSecret = "Iv1.notRegistered", mcpauth.NewSecret(appSecret)
	}), w.aliceOAuth)
	requireErr(t, err, mcpauth.ErrUpstreamUnavailable, descAppCredentials, 0)

	// Once the credentials match again, the same token is accepted.
	w.gh.addApp(appClientID, appSecret)
	tok := mustVerify(t, c, w.aliceOAuth)
	require.Equal(t, appClientID, tok.ClientID)
}

func TestAppCheck422IsInvalidToken(t *testing.T) {
	srv := checkServer(t, http.StatusUnprocessableEntity, `{"message":"Validation Failed","documentation_url":"https://docs.github.com/rest","status":"422"}`)
	v, err := New(Config{APIBaseURL: srv.URL, Enabled: true, ClientID: appClientID, ClientSecret: mcpauth.NewSecret(appSecret)})
	require.NoError(t, err)
	_, err = verify(t, v, ghToken("ghu_", "unprocessable"))
	e := requireErr(t, err, mcpauth.ErrInvalidToken, descNotThisApp, 0)
	require.ErrorContains(t, e.Err, checkCall+": GitHub answered 422: Validation Failed")
}

// The fake answers the documented validation failure.
func TestFakeCheckTokenValidation(t *testing.T) {
	w := newWorld(t)
	for _, body := range []string{`{}`, `{"access_token":""}`, `not json`} {
		req, err := http.NewRequest(http.MethodPost, w.gh.URL()+"/applications/"+appClientID+"/token", bytes.NewBufferString(body))
		require.NoError(t, err)
		req.SetBasicAuth(appClientID, appSecret)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/vnd.github+json")
		req.Header.Set("X-GitHub-Api-Version", APIVersion)
		req.Header.Set("User-Agent", "test")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, body)
		require.Contains(t, string(b), `wasn't supplied`)
	}
}

func TestPersonalTokensStillUseGetUserWithAppCredentials(t *testing.T) {
	w := newWorld(t)
	v := w.verifier(t, withApp)
	for _, tc := range []struct {
		token, kind string
	}{{w.alice, "classic"}, {w.aliceFine, "fine-grained"}, {w.mona, "classic"}} {
		tok := mustVerify(t, v, tc.token)
		require.Equal(t, tc.kind, tok.Claims["github_token_kind"])
		require.Empty(t, tok.ClientID)
	}
	require.EqualValues(t, 3, w.gh.userCalls.Load())
	require.EqualValues(t, 0, w.gh.appCalls.Load())
}

func TestAppTokensUseGetUserWithoutAppCredentials(t *testing.T) {
	w := newWorld(t)
	for name, edit := range map[string]func(c *Config){
		"no credentials":          nil,
		"client id but no secret": func(c *Config) { c.ClientID = appClientID },
	} {
		t.Run(name, func(t *testing.T) {
			before := w.gh.userCalls.Load()
			tok := mustVerify(t, w.verifier(t, edit), w.aliceOAuth)
			require.Equal(t, appClientID, tok.ClientID, "from X-OAuth-Client-Id")
			require.Equal(t, []string{"read:user", "read:org"}, tok.Claims["github_scopes"])
			require.Equal(t, "classic", tok.Claims["github_token_kind"])
			mustVerify(t, w.verifier(t, edit), w.hubot)
			require.EqualValues(t, before+2, w.gh.userCalls.Load())
		})
	}
	require.EqualValues(t, 0, w.gh.appCalls.Load())
}

// The kind is read from the prefix, not from whether GitHub sent X-OAuth-Scopes.
func TestTokenKindFromPrefix(t *testing.T) {
	w := newWorld(t)
	classicNoHeader := ghToken("ghp_", "noScopesHeader")
	fineWithHeader := ghToken("github_pat_", "11AAAAAAA0withScopesHeader")
	w.gh.addToken(classicNoHeader, fakeToken{User: octocat, FineGrained: true}) // no X-OAuth-Scopes
	w.gh.addToken(fineWithHeader, fakeToken{User: octocat, Scopes: []string{"repo"}})
	v := w.verifier(t, nil)

	tok := mustVerify(t, v, classicNoHeader)
	require.Equal(t, "classic", tok.Claims["github_token_kind"])
	require.Equal(t, TokenTypePersonal, tok.Claims["github_token_type"])
	require.NotContains(t, tok.Claims, "github_scopes", "GitHub reported no scopes")

	tok = mustVerify(t, v, fineWithHeader)
	require.Equal(t, "fine-grained", tok.Claims["github_token_kind"])
	require.Equal(t, TokenTypeFineGrainedPersonal, tok.Claims["github_token_type"])
	require.NotContains(t, tok.Claims, "github_scopes", "fine-grained tokens have permissions, not scopes")

	for typ, kind := range map[string]string{
		TokenTypePersonal: "classic", TokenTypeOAuth: "classic", TokenTypeLegacy: "classic",
		TokenTypeFineGrainedPersonal: "fine-grained", TokenTypeAppUser: "fine-grained", TokenTypeUnknown: "",
	} {
		require.Equal(t, kind, tokenKind(typ), typ)
	}
}

// A classic token whose scopes GitHub did not report gets no read:org hint: nothing says
// the scope is missing.
func TestReadOrgHintNeedsReportedScopes(t *testing.T) {
	w := newWorld(t)
	tokStr := ghToken("ghp_", "scopesUnknown")
	w.gh.addToken(tokStr, fakeToken{User: mona, FineGrained: true, MembersRead: []string{"acme"}})
	_, err := verify(t, w.verifier(t, func(c *Config) { c.AllowedOrgs = []string{"acme"} }), tokStr)
	requireErr(t, err, mcpauth.ErrAccessDenied, `GitHub user "mona" is not an active member of an organization allowed here`, 0)
}

func TestUpstreamFailuresOnTokenCheck(t *testing.T) {
	unavailable := mcpauth.ErrUpstreamUnavailable
	const rateDesc = "GitHub's API rate limit was reached; try again later"
	for _, tc := range []struct {
		name string
		mode fakeMode
		desc string
		wait time.Duration
	}{
		{"primary rate limit 403", modePrimaryLimit, rateDesc, 90 * time.Second},
		{"primary rate limit 429", modePrimaryLimit429, rateDesc, 90 * time.Second},
		{"secondary rate limit 403", modeSecondaryLimit, rateDesc, 30 * time.Second},
		{"429 with Retry-After", modeTooMany, rateDesc, 30 * time.Second},
		{"500", modeServerError, "GitHub is unavailable; try again later", 0},
		{"502 HTML", modeBadGateway, "GitHub is unavailable; try again later", 0},
		{"503 with Retry-After", modeUnavailable, "GitHub is unavailable; try again later", 30 * time.Second},
		{"malformed JSON", modeMalformed, "GitHub answered with an unexpected token document", 0},
		{"JSON of the wrong shape", modeWrongShape, "GitHub answered with an unexpected token document", 0},
		{"HTML 404 (API URL wrong)", modeHTMLNotFound, "GitHub answered with an unexpected status", 0},
		{"403 without rate-limit signals", modeForbidden, descUserForbidden, 0},
		{"403 HTML from an edge", modeForbiddenHTML, descUserForbidden, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			c := w.cached(t, withApp)
			w.gh.setFailure(tc.mode, "/applications/", 1)
			_, err := verify(t, c, w.aliceOAuth)
			e := requireErr(t, err, unavailable, tc.desc, tc.wait)
			require.Equal(t, http.StatusServiceUnavailable, e.Status)
			// Not cached: once GitHub recovers, the same token is accepted.
			mustVerify(t, c, w.aliceOAuth)
			require.EqualValues(t, 2, w.gh.appCalls.Load())
			require.EqualValues(t, 0, w.gh.userCalls.Load())
		})
	}
	t.Run("timeout", func(t *testing.T) {
		w := newWorld(t)
		v := w.verifier(t, func(c *Config) { withApp(c); c.HTTPTimeout = 50 * time.Millisecond })
		w.gh.setFailure(modeHang, "/applications/", 0)
		_, err := verify(t, v, w.aliceOAuth)
		requireErr(t, err, unavailable, "GitHub did not answer in time", 0)
	})
}

func TestAppCheckDocumentChecks(t *testing.T) {
	const app = `"app":{"client_id":"` + appClientID + `","name":"x","url":"https://x"}`
	for _, tc := range []struct {
		body  string
		class error
		desc  string
	}{
		{`{"scopes":[],"user":{"login":"octocat","id":1}}`, mcpauth.ErrUpstreamUnavailable, "GitHub answered with an unexpected token document"},
		{`{"scopes":[],"app":{},"user":{"login":"octocat","id":1}}`, mcpauth.ErrUpstreamUnavailable, "GitHub answered with an unexpected token document"},
		{`{"scopes":[],"expires_at":"tomorrow",` + app + `,"user":{"login":"octocat","id":1}}`, mcpauth.ErrUpstreamUnavailable, "GitHub answered with an unexpected token document"},
		{`{"scopes":[],` + app + `,"user":{"login":"octocat"}}`, mcpauth.ErrUpstreamUnavailable, "GitHub answered with an unexpected token document"},
		{`{"scopes":"repo",` + app + `,"user":{"login":"octocat","id":1}}`, mcpauth.ErrUpstreamUnavailable, "GitHub answered with an unexpected token document"},
		{`{"scopes":[],` + app + `,"user":null}`, mcpauth.ErrInvalidToken, "the GitHub token does not identify a user"},
		{`{"scopes":[],` + app + `}`, mcpauth.ErrInvalidToken, "the GitHub token does not identify a user"},
	} {
		t.Run(tc.body, func(t *testing.T) {
			srv := checkServer(t, http.StatusOK, tc.body)
			v, err := New(Config{APIBaseURL: srv.URL, Enabled: true, ClientID: appClientID, ClientSecret: mcpauth.NewSecret(appSecret)})
			require.NoError(t, err)
			_, err = verify(t, v, ghToken("gho_", "doc"))
			requireErr(t, err, tc.class, tc.desc, 0)
		})
	}
	t.Run("expires_at null: no expiry", func(t *testing.T) {
		srv := checkServer(t, http.StatusOK, `{"scopes":["repo","repo"],"expires_at":null,`+app+`,"user":{"login":"octocat","id":1}}`)
		v, err := New(Config{APIBaseURL: srv.URL, Enabled: true, ClientID: appClientID, ClientSecret: mcpauth.NewSecret(appSecret)})
		require.NoError(t, err)
		tok := mustVerify(t, v, ghToken("gho_", "doc"))
		require.True(t, tok.ExpiresAt.IsZero())
		require.Equal(t, []string{"repo"}, tok.Claims["github_scopes"])
	})
}

// The check sends what GitHub documents: POST, basic authentication with the app's
// credentials, the token in the JSON body only (never in the URL or Authorization).
func TestAppCheckRequestShape(t *testing.T) {
	w := newWorld(t)
	var seen atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		id, secret, _ := r.BasicAuth()
		seen.Store(fmt.Sprintf("%s %s?%s|%s:%s|%s|%s|%s|%s|%s", r.Method, r.URL.Path, r.URL.RawQuery, id, secret,
			r.Header.Get("Content-Type"), r.Header.Get("Accept"), r.Header.Get("X-GitHub-Api-Version"), r.UserAgent(), b))
		r.Body = io.NopCloser(bytes.NewReader(b))
		w.gh.srv.Config.Handler.ServeHTTP(rw, r)
	}))
	defer srv.Close()
	v, err := New(Config{APIBaseURL: srv.URL, Enabled: true, ClientID: appClientID, ClientSecret: mcpauth.NewSecret(appSecret), UserAgent: "notes-mcp"})
	require.NoError(t, err)
	mustVerify(t, v, w.aliceOAuth)
	body, _ := json.Marshal(map[string]string{"access_token": w.aliceOAuth})
	require.Equal(t, checkCall+"?|"+appClientID+":"+appSecret+"|application/json|application/vnd.github+json|2022-11-28|notes-mcp|"+string(body), seen.Load())
}

func TestClientIDValidation(t *testing.T) {
	_, err := New(Config{Enabled: true, ClientID: "Iv1.a:b", ClientSecret: mcpauth.NewSecret("s")})
	require.EqualError(t, err, `github: Config.ClientID "Iv1.a:b" is not a GitHub client id: it must not contain ":", spaces or control characters (MCPAUTH_GITHUB_CLIENT_ID)`)
}

// checkServer answers every request with status and body (a JSON document).
func checkServer(t *testing.T, status int, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/applications/"+appClientID+"/token" {
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		}
		rw.Header().Set("Content-Type", "application/json; charset=utf-8")
		rw.WriteHeader(status)
		_, _ = io.WriteString(rw, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}
