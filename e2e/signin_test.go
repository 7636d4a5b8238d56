package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/audit"
	"github.com/mcpauth/mcpauth/hub"
	"github.com/mcpauth/mcpauth/internal/testutil"
	"github.com/mcpauth/mcpauth/middleware"
	"github.com/mcpauth/mcpauth/oauthproxy"
	"github.com/mcpauth/mcpauth/scopes"
)

// signInHub is a hub that is its own authorization server (oauthproxy) in front of the
// development identity provider, as go run ./example composes it, with an injected
// clock the client moves through a test-only endpoint, and a Client ID Metadata Document
// served over TLS on loopback (allowed for that one host only).
type signInHub struct {
	base, cimdURL string
	clock         *testutil.Clock
}

func newSignInHub(t *testing.T) *signInHub { return newSignInHubWith(t, nil, nil) }

// newSignInHubWith is newSignInHub with the proxy's state in store and the session
// owners in sessions (memory when nil).
func newSignInHubWith(t *testing.T, store oauthproxy.Store, sessions middleware.SessionStore) *signInHub {
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
			"client_id": cimdURL, "client_name": "mcpauth e2e (cimd)", "redirect_uris": []string{"http://127.0.0.1:1/callback"},
			"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"},
			"token_endpoint_auth_method": "none", "application_type": "native",
		})
	})
	roots := x509.NewCertPool()
	roots.AddCert(cimd.Certificate())

	var proxy *oauthproxy.Server
	h, err := hub.New(hub.Config{
		BaseURL:      srv.URL,
		Audit:        audit.Discard,
		CacheOptions: []mcpauth.CacheOption{mcpauth.WithCacheClock(clock.Now)},
		SessionStore: sessions,
	})
	require.NoError(t, err)
	proxy, err = oauthproxy.New(oauthproxy.Config{
		Issuer:                srv.URL,
		Upstream:              oauthproxy.NewDevUpstream(srv.URL, clock.Now, oauthproxy.DevUser{Name: "alice", TenantID: "acme", Scopes: []string{"notes:read", "notes:write"}}),
		Resources:             h,
		DevMode:               true,
		MetadataDocumentHosts: []string{strings.TrimPrefix(cimd.URL, "https://")},
		MetadataDocumentRoots: roots,
		Store:                 store,
		Now:                   clock.Now,
	})
	require.NoError(t, err)
	require.NoError(t, h.UseAuthorizationServer(proxy))
	require.NoError(t, h.Mount("notes", notesServer(map[string][]string{"acme": {"buy milk"}})))
	require.NoError(t, h.Mount("admin", adminServer(), hub.WithRequiredScopes(scopes.All("admin"))))
	mux.HandleFunc("POST /_test/advance", func(w http.ResponseWriter, r *http.Request) {
		d, err := time.ParseDuration(r.URL.Query().Get("by"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		clock.Advance(d)
	})
	mux.Handle("/", h)
	return &signInHub{base: srv.URL, cimdURL: cimdURL, clock: clock}
}

// signInRun is the output of e2e/clients/signin.mjs (see its header).
type signInRun struct {
	SDK    struct{ Alias, Version string } `json:"sdk"`
	SignIn struct {
		FirstConnect bool            `json:"firstConnect"`
		FinishAuth   json.RawMessage `json:"finishAuth"`
		ClientID     string          `json:"clientId"`
		GrantedScope string          `json:"grantedScope"`
		Connected    bool            `json:"connected"`
		Error        *jsError        `json:"error"`
		Whoami       toolOutcome     `json:"whoami"`
	} `json:"signIn"`
	StepUp struct {
		SessionBefore string          `json:"sessionBefore"`
		Forbidden     toolOutcome     `json:"forbidden"`
		Challenges    []string        `json:"challenges"`
		FinishAuth    json.RawMessage `json:"finishAuth"`
		GrantedScope  string          `json:"grantedScope"`
		Retried       toolOutcome     `json:"retried"`
		SessionAfter  string          `json:"sessionAfter"`
	} `json:"stepUp"`
	Refresh struct {
		Call                toolOutcome `json:"call"`
		NewAuthorizations   int         `json:"newAuthorizations"`
		AccessTokenChanged  bool        `json:"accessTokenChanged"`
		RefreshTokenRotated bool        `json:"refreshTokenRotated"`
	} `json:"refresh"`
	Revoke struct {
		Status                  int         `json:"status"`
		Call                    toolOutcome `json:"call"`
		TokenCalls              []tokenCall `json:"tokenCalls"`
		NewAuthorizationStarted bool        `json:"newAuthorizationStarted"`
	} `json:"revoke"`
	Authorizations []struct {
		Params                   map[string]string `json:"params"`
		AuthorizeStatus          int               `json:"authorizeStatus"`
		ConsentScopes            []string          `json:"consentScopes"`
		ConsentNamesRedirectHost bool              `json:"consentNamesRedirectHost"`
		Redirect                 map[string]string `json:"redirect"`
		StateEchoed              bool              `json:"stateEchoed"`
		Error                    string            `json:"error"`
	} `json:"authorizations"`
	TokenCalls []tokenCall `json:"tokenCalls"`
}

type tokenCall struct {
	GrantType string `json:"grantType"`
	Status    int    `json:"status"`
	Resource  string `json:"resource"`
	Body      string `json:"body"`
}

// TestTypeScriptSDKSignIn: the official TypeScript SDK client, in a release speaking
// 2025-06-18 and one speaking 2025-11-25, signs in to a hub that is its own
// authorization server, registering by dynamic client registration and by a Client ID
// Metadata Document: discovery from the 401, authorize with PKCE, resource and state,
// consent approved by submitting the form (notes:read only at first), the code and iss
// back, tokens, tools/call; the 403 step-up to notes:write with a second consent; a
// refresh after the access token expired; and after revocation, a refused refresh.
func TestTypeScriptSDKSignIn(t *testing.T) {
	versions := []string{"2025-06-18", "2025-11-25"}
	aliases := make([]string, len(versions))
	for i, v := range versions {
		aliases[i] = "mcp-sdk-" + v
	}
	node := requireNode(t, aliases...)
	for _, version := range versions {
		for _, reg := range []string{"dcr", "cimd"} {
			t.Run(version+"/"+reg, func(t *testing.T) {
				t.Parallel()
				h := newSignInHub(t)
				run := runSignIn(t, node, version, reg, h)
				checkSignIn(t, h, reg, run)
			})
		}
	}
}

func runSignIn(t *testing.T, node, version, reg string, h *signInHub) signInRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("clients", "signin.mjs"), version, h.base+"/notes/mcp", reg)
	cmd.Env = append(os.Environ(), "MCP_USER=alice", "MCP_FIRST_GRANT=notes:read", "MCP_CIMD_URL="+h.cimdURL, "MCP_ADVANCE_URL="+h.base+"/_test/advance")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("signin.mjs %s %s did not finish in 60s; stderr:\n%s", version, reg, stderr.String())
	}
	require.NoError(t, err, "signin.mjs %s %s failed; stderr:\n%s", version, reg, stderr.String())
	var run signInRun
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &run), "signin.mjs output: %s", stdout.String())
	t.Logf("%s is @modelcontextprotocol/sdk %s", run.SDK.Alias, run.SDK.Version)
	return run
}

func checkSignIn(t *testing.T, h *signInHub, reg string, run signInRun) {
	defer func() {
		if t.Failed() {
			b, _ := json.MarshalIndent(run, "", "  ")
			t.Logf("signin.mjs output:\n%s", b)
		}
	}()
	resource := h.base + "/notes/mcp"
	// Sign-in from the 401: registered, consented to notes:read only, signed in.
	si := run.SignIn
	assert.False(t, si.FirstConnect, "the first connect has no token")
	assert.JSONEq(t, `"ok"`, string(si.FinishAuth))
	if reg == "cimd" {
		assert.Equal(t, h.cimdURL, si.ClientID, "the client_id is the metadata document's URL")
	} else {
		assert.NotEmpty(t, si.ClientID)
		assert.NotContains(t, si.ClientID, "https://")
	}
	assert.Equal(t, "notes:read", si.GrantedScope)
	require.True(t, si.Connected, "%+v", si.Error)
	assert.Equal(t, "dev:alice@acme", si.Whoami.Text)

	require.GreaterOrEqual(t, len(run.Authorizations), 2, "a sign-in and a step-up")
	first := run.Authorizations[0]
	assert.Equal(t, resource, first.Params["resource"])
	assert.Equal(t, "S256", first.Params["code_challenge_method"])
	assert.Equal(t, "notes:read notes:write", first.Params["scope"], "the scope of the 401 challenge")
	assert.Equal(t, si.ClientID, first.Params["client_id"])
	assert.Equal(t, http.StatusOK, first.AuthorizeStatus, "the consent page")
	assert.Equal(t, []string{"notes:read", "notes:write"}, first.ConsentScopes)
	assert.True(t, first.ConsentNamesRedirectHost, "the consent page names the redirect host")
	assert.Equal(t, h.base, first.Redirect["iss"], "RFC 9207")
	assert.True(t, first.StateEchoed)
	assert.Empty(t, first.Error)

	// The 403 step-up: consent again for notes:write, the same call retried.
	su := run.StepUp
	require.Len(t, su.Challenges, 1)
	assert.Equal(t, `Bearer resource_metadata="`+h.base+`/.well-known/oauth-protected-resource/notes/mcp", scope="notes:read notes:write", error="insufficient_scope", error_description="tool 'add_note' requires notes:write"`, su.Challenges[0])
	require.NotNil(t, su.Forbidden.Error, "the SDK stops the call to let the person authorize")
	assert.Equal(t, "Unauthorized", su.Forbidden.Error.Message)
	second := run.Authorizations[1]
	assert.Equal(t, "notes:read notes:write", second.Params["scope"], "granted + needed")
	assert.Equal(t, http.StatusOK, second.AuthorizeStatus, "notes:write was never approved: the consent page again")
	assert.JSONEq(t, `"ok"`, string(su.FinishAuth))
	assert.Equal(t, "notes:read notes:write", su.GrantedScope)
	assert.Equal(t, "ok", su.Retried.Text, "%+v", su.Retried)
	assert.Equal(t, su.SessionBefore, su.SessionAfter, "the MCP session survives the step-up")

	// Refresh after expiry, without a new authorization.
	rf := run.Refresh
	assert.Equal(t, "buy milk|from the TypeScript SDK", rf.Call.Text, "%+v", rf.Call)
	assert.Equal(t, 0, rf.NewAuthorizations)
	assert.True(t, rf.AccessTokenChanged)
	assert.True(t, rf.RefreshTokenRotated)
	var refreshes []tokenCall
	for _, c := range run.TokenCalls {
		if c.GrantType == "refresh_token" {
			refreshes = append(refreshes, c)
		}
	}
	require.NotEmpty(t, refreshes)
	assert.Equal(t, http.StatusOK, refreshes[0].Status, refreshes[0].Body)

	// Revocation: the next refresh is refused and a new authorization begins.
	rv := run.Revoke
	assert.Equal(t, http.StatusOK, rv.Status)
	require.NotEmpty(t, rv.TokenCalls)
	assert.Equal(t, "refresh_token", rv.TokenCalls[0].GrantType)
	assert.Equal(t, http.StatusBadRequest, rv.TokenCalls[0].Status)
	assert.Contains(t, rv.TokenCalls[0].Body, `"error":"invalid_grant"`)
	assert.Contains(t, rv.TokenCalls[0].Body, "revoked")
	assert.True(t, rv.NewAuthorizationStarted)
	assert.NotNil(t, rv.Call.Error, "the call fails until the person signs in again")
}

// TestTypeScriptSDKSignInToTheExample runs the sign-in and the step-up of signin.mjs
// against the example itself (go run ./example, built and started here with no
// provider configured): the TypeScript SDK registers, the person approves notes:read
// only, signs in as alice at the development provider, then steps up to notes:write.
// The refresh and revoke phases need an injected clock the example has not: they run
// against newSignInHub in TestTypeScriptSDKSignIn.
func TestTypeScriptSDKSignInToTheExample(t *testing.T) {
	node := requireNode(t, "mcp-sdk-2025-11-25")
	base := startExample(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("clients", "signin.mjs"), "2025-11-25", base+"/notes/mcp", "dcr")
	cmd.Env = append(os.Environ(), "MCP_USER=alice", "MCP_FIRST_GRANT=notes:read", "MCP_ADVANCE_URL=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "signin.mjs failed; stderr:\n%s", stderr.String())
	var run signInRun
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &run), "signin.mjs output: %s", stdout.String())

	assert.Equal(t, "notes:read", run.SignIn.GrantedScope)
	require.True(t, run.SignIn.Connected, "%+v", run.SignIn.Error)
	assert.JSONEq(t, `{"subject":"dev:alice","tenant":"acme","scopes":["notes:read"]}`, run.SignIn.Whoami.Text)
	require.Len(t, run.Authorizations, 2)
	assert.Equal(t, base, run.Authorizations[0].Redirect["iss"])
	assert.Equal(t, []string{"notes:read", "notes:write"}, run.Authorizations[1].ConsentScopes)
	assert.Equal(t, "notes:read notes:write", run.StepUp.GrantedScope)
	assert.JSONEq(t, `{"tenant":"acme","count":1}`, run.StepUp.Retried.Text, "%+v", run.StepUp.Retried)
	assert.Equal(t, run.StepUp.SessionBefore, run.StepUp.SessionAfter)
}

// exampleBinary builds the example once per test binary and returns its path.
var exampleBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "mcpauth-example")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "example")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/mcpauth/mcpauth/example").CombinedOutput(); err != nil {
		return "", errors.New("go build ./example: " + err.Error() + "\n" + string(out))
	}
	return bin, nil
})

// startExample starts the example on a free loopback port with no provider configured
// and the given extra environment (NAME=value), and returns its base URL; it is stopped
// when the test ends.
func startExample(t *testing.T, env ...string) string {
	t.Helper()
	bin, err := exampleBinary()
	require.NoError(t, err)
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), "mcpauth example listening on "); ok {
			go func() { _, _ = io.Copy(io.Discard, stdout) }() // keep the pipe drained
			return "http://" + addr
		}
	}
	t.Fatalf("the example exited before listening: %v", sc.Err())
	return ""
}
