package main

// The example with each sign-in provider selected by the environment, against small
// fakes of the upstreams' documented answers on loopback. The providers' own packages
// test their fakes in depth; these tests show the example's wiring: the provider is
// picked from the environment, sits behind the hub, and grants exactly its scopes.

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth/mcpauthtest"
	"github.com/mcpauth/mcpauth/providers/bearer"
)

// clearProviderEnv makes sure no provider variable leaks in from the machine.
func clearProviderEnv(t *testing.T) {
	for _, k := range []string{"MCPAUTH_JWKS_URI", "MCPAUTH_ISSUER", "MCPAUTH_AUDIENCE", "MCPAUTH_PUBLIC_KEY_FILE",
		"MCPAUTH_HMAC_SECRET", "MCPAUTH_HMAC_SECRET_FILE", "MCPAUTH_GITHUB_ENABLED", "MCPAUTH_GITHUB_API_URL",
		"MCPAUTH_GITHUB_SCOPES", "MCPAUTH_GOOGLE_CLIENT_ID", "MCPAUTH_GOOGLE_TOKENINFO_URL", "MCPAUTH_GOOGLE_SCOPES",
		"MCPAUTH_WORKOS_AUTHKIT_DOMAIN", "MCPAUTH_WORKOS_API_KEY", "MCPAUTH_WORKOS_SCOPES",
		"MCPAUTH_INTROSPECTION_URL", "MCPAUTH_INTROSPECTION_CLIENT_ID", "MCPAUTH_INTROSPECTION_CLIENT_SECRET",
		"MCPAUTH_UPSTREAM", "MCPAUTH_PROXY_SIGNING_KEY", "MCPAUTH_PROXY_ENCRYPTION_KEYS", "MCPAUTH_GITHUB_CLIENT_ID", "MCPAUTH_GITHUB_CLIENT_SECRET"} {
		t.Setenv(k, "")
	}
}

// captureAudit sends slog.Default (where the example's audit events go) to a buffer.
func captureAudit(t *testing.T) *syncBuffer {
	buf := &syncBuffer{}
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return buf
}

// whoami connects like a real client (initialize, then tools/call) and returns the
// example's whoami answer.
func whoami(t *testing.T, notesURL, token string) map[string]any {
	t.Helper()
	c, err := connect(t, notesURL, token)
	require.NoError(t, err)
	out, err := callText(t, c, "whoami", nil)
	require.NoError(t, err)
	var w map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &w))
	return w
}

const ghToken = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"

func TestExampleWithGitHub(t *testing.T) {
	clearProviderEnv(t)
	var calls sync.Map
	gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Store(r.URL.Path, true)
		if r.URL.Path != "/user" || r.Header.Get("Authorization") != "Bearer "+ghToken {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-OAuth-Scopes", "read:user, read:org")
		_, _ = w.Write([]byte(`{"login":"octocat","id":583231,"type":"User","name":"The Octocat"}`))
	}))
	defer gh.Close()
	t.Setenv("MCPAUTH_GITHUB_ENABLED", "true")
	t.Setenv("MCPAUTH_GITHUB_API_URL", gh.URL)
	t.Setenv("MCPAUTH_GITHUB_SCOPES", "notes:read")
	logs := captureAudit(t)

	r := start(t)
	assert.Contains(t, r.out.String(), "trusting the providers configured by the environment: github")
	w := whoami(t, r.baseURL+"/notes/mcp", ghToken)
	assert.Equal(t, "583231", w["subject"])
	assert.Equal(t, []any{"notes:read"}, w["scopes"])
	assert.Contains(t, logs.String(), `"provider":"github"`)

	// A user without a tenant gets a personal space, not a space shared by every
	// tenant-less identity.
	c, err := connect(t, r.baseURL+"/notes/mcp", ghToken)
	require.NoError(t, err)
	list, err := callText(t, c, "list_notes", nil)
	require.NoError(t, err)
	assert.Equal(t, `{"notes":[],"tenant":""}`, list)

	// GitHub grants notes:read only: add_note is refused with a step-up challenge.
	status, challenge := post(t, r.baseURL+"/notes/mcp", ghToken, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add_note","arguments":{"text":"x"}}}`)
	assert.Equal(t, http.StatusForbidden, status)
	assert.Contains(t, challenge, `scope="notes:read notes:write"`)
	// Not a GitHub token: refused without asking GitHub.
	status, _ = post(t, r.baseURL+"/notes/mcp", "not-a-github-token", initialize)
	assert.Equal(t, http.StatusUnauthorized, status)
}

func TestExampleWithGoogle(t *testing.T) {
	clearProviderEnv(t)
	const access = "ya29.a0AfB_byExampleAccessToken0123456789"
	tokeninfo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		if r.Method != http.MethodPost || r.FormValue("access_token") != access {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_token","error_description":"Invalid Value"}`))
			return
		}
		exp := time.Now().Add(time.Hour).Unix()
		_ = json.NewEncoder(w).Encode(map[string]string{
			"azp": "client-123.apps.googleusercontent.com", "aud": "client-123.apps.googleusercontent.com",
			"sub": "110169484474386276334", "scope": "openid https://www.googleapis.com/auth/userinfo.email",
			"exp": jsonNumber(exp), "expires_in": "3599", "email": "ada@example.com", "email_verified": "true",
			"access_type": "online",
		})
	}))
	defer tokeninfo.Close()
	t.Setenv("MCPAUTH_GOOGLE_CLIENT_ID", "client-123.apps.googleusercontent.com")
	t.Setenv("MCPAUTH_GOOGLE_TOKENINFO_URL", tokeninfo.URL+"/tokeninfo")
	t.Setenv("MCPAUTH_GOOGLE_SCOPES", "notes:read notes:write")
	logs := captureAudit(t)

	r := start(t)
	w := whoami(t, r.baseURL+"/notes/mcp", access)
	assert.Equal(t, "110169484474386276334", w["subject"])
	assert.Equal(t, []any{"notes:read", "notes:write"}, w["scopes"])
	assert.Contains(t, logs.String(), `"provider":"google"`)
	status, _ := post(t, r.baseURL+"/notes/mcp", "ya29.revoked-or-made-up-token", initialize)
	assert.Equal(t, http.StatusUnauthorized, status)
}

func jsonNumber(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestExampleWithWorkOSAuthKit(t *testing.T) {
	clearProviderEnv(t)
	// A fake AuthKit domain: its JWKS at /oauth2/jwks and its RFC 8414 document.
	mux := http.NewServeMux()
	authkit := httptest.NewServer(mux)
	defer authkit.Close()
	dev, err := mcpauthtest.NewDevIssuer(authkit.URL)
	require.NoError(t, err)
	mux.HandleFunc("/oauth2/jwks", func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = "/jwks.json"
		dev.Handler().ServeHTTP(w, r)
	})
	mux.HandleFunc("/.well-known/oauth-authorization-server", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": authkit.URL, "authorization_endpoint": authkit.URL + "/oauth2/authorize",
			"token_endpoint": authkit.URL + "/oauth2/token", "registration_endpoint": authkit.URL + "/oauth2/register",
			"jwks_uri": authkit.URL + "/oauth2/jwks", "code_challenge_methods_supported": []string{"S256"},
			"response_types_supported": []string{"code"},
		})
	})
	t.Setenv("MCPAUTH_WORKOS_AUTHKIT_DOMAIN", authkit.URL)
	logs := captureAudit(t)

	r := start(t)
	tok, err := dev.Sign(bearer.NewClaims("user_01HXYZ").AddScopes("notes:read").
		WithAudience(r.baseURL+"/notes/mcp").AddClaim("org_id", "org_01ACME"))
	require.NoError(t, err)
	w := whoami(t, r.baseURL+"/notes/mcp", tok)
	assert.Equal(t, "user_01HXYZ", w["subject"])
	assert.Equal(t, "org_01ACME", w["tenant"])
	assert.Contains(t, logs.String(), `"provider":"workos"`)

	// The hub advertises AuthKit and serves its metadata at its own origin.
	var prm, asm map[string]any
	getJSON(t, r.baseURL+"/.well-known/oauth-protected-resource/notes/mcp", &prm)
	assert.Equal(t, []any{authkit.URL}, prm["authorization_servers"])
	getJSON(t, r.baseURL+"/.well-known/oauth-authorization-server", &asm)
	assert.Equal(t, authkit.URL, asm["issuer"])
	assert.Equal(t, authkit.URL+"/oauth2/register", asm["registration_endpoint"])
}

func TestExampleWithIntrospection(t *testing.T) {
	clearProviderEnv(t)
	var notesURL string
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok || id != "mcp-rs" || secret != "rs-secret-0123456789" {
			w.Header().Set("WWW-Authenticate", `Basic realm="as"`)
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.FormValue("token") != "opaque-token-for-notes" {
			_, _ = w.Write([]byte(`{"active":false}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"active": true, "sub": "svc-reporter", "client_id": "reporting-job", "scope": "notes:read",
			"aud": notesURL, "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(),
			"token_type": "Bearer", "tenant_id": "acme",
		})
	}))
	defer as.Close()
	t.Setenv("MCPAUTH_INTROSPECTION_URL", as.URL+"/introspect")
	t.Setenv("MCPAUTH_INTROSPECTION_CLIENT_ID", "mcp-rs")
	t.Setenv("MCPAUTH_INTROSPECTION_CLIENT_SECRET", "rs-secret-0123456789")
	logs := captureAudit(t)

	r := start(t)
	notesURL = r.baseURL + "/notes/mcp"
	w := whoami(t, notesURL, "opaque-token-for-notes")
	assert.Equal(t, "svc-reporter", w["subject"])
	assert.Equal(t, "acme", w["tenant"])
	assert.Contains(t, logs.String(), `"provider":"introspect"`)
	assert.NotContains(t, logs.String(), "rs-secret-0123456789")
	assert.NotContains(t, logs.String(), "opaque-token-for-notes")
	// The token's audience is notes: the admin service refuses it.
	status, _ := post(t, r.baseURL+"/admin/mcp", "opaque-token-for-notes", initialize)
	assert.Equal(t, http.StatusUnauthorized, status)
}

func TestExampleWithSeveralProviders(t *testing.T) {
	clearProviderEnv(t)
	gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer "+ghToken {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"message":"Bad credentials"}`))
			return
		}
		_, _ = w.Write([]byte(`{"login":"octocat","id":583231,"type":"User"}`))
	}))
	defer gh.Close()
	tp := newThirdParty(t)
	t.Setenv("MCPAUTH_GITHUB_ENABLED", "true")
	t.Setenv("MCPAUTH_GITHUB_API_URL", gh.URL)
	t.Setenv("MCPAUTH_GITHUB_SCOPES", "notes:read notes:write")
	t.Setenv("MCPAUTH_JWKS_URI", tp.srv.URL+"/jwks")
	t.Setenv("MCPAUTH_ISSUER", "https://login.thirdparty.example")
	logs := captureAudit(t)

	r := start(t)
	notes := r.baseURL + "/notes/mcp"
	// A GitHub user and a machine JWT on the same service; the audit names each provider.
	assert.Equal(t, "583231", whoami(t, notes, ghToken)["subject"])
	now := time.Now()
	machine := tp.mint(t, map[string]any{"iss": "https://login.thirdparty.example", "sub": "ci-bot", "aud": notes,
		"scope": "notes:read", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	assert.Equal(t, "ci-bot", whoami(t, notes, machine)["subject"])

	// Neither has a tenant: each gets a personal space, so the bot cannot read what the
	// GitHub user wrote.
	gc, err := connect(t, notes, ghToken)
	require.NoError(t, err)
	_, err = callText(t, gc, "add_note", map[string]any{"text": "octocat's draft"})
	require.NoError(t, err)
	mc, err := connect(t, notes, machine)
	require.NoError(t, err)
	list, err := callText(t, mc, "list_notes", nil)
	require.NoError(t, err)
	assert.NotContains(t, list, "octocat's draft")
	list, err = callText(t, gc, "list_notes", nil)
	require.NoError(t, err)
	assert.Contains(t, list, "octocat's draft")
	out := logs.String()
	assert.Contains(t, out, `"provider":"github"`)
	assert.Contains(t, out, `"provider":"bearer"`)
	assert.True(t, strings.Contains(out, `"subject":"ci-bot"`))
	assert.False(t, bytes.Contains([]byte(out), []byte(ghToken)))
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
}
