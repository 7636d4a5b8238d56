package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth/middleware"
)

// nodeEnv turns on the tests that run Node (scripts/test sets it unless
// MCPAUTH_SKIP_NODE_E2E=1).
const nodeEnv = "MCPAUTH_E2E_NODE"

// requireNode skips the test unless MCPAUTH_E2E_NODE=1, and then fails it when node or
// the installed e2e/clients packages are missing. It returns the path of node.
func requireNode(t *testing.T, aliases ...string) string {
	t.Helper()
	if os.Getenv(nodeEnv) != "1" {
		t.Skip("needs Node: set MCPAUTH_E2E_NODE=1 after npm ci --prefix e2e/clients (./scripts/test does both)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("MCPAUTH_E2E_NODE=1 but node is not on PATH (%v): install Node.js 20+ or unset MCPAUTH_E2E_NODE", err)
	}
	for _, a := range aliases {
		p := filepath.Join("clients", "node_modules", a, "package.json")
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("MCPAUTH_E2E_NODE=1 but %s is missing (%v): run npm ci --prefix e2e/clients", p, err)
		}
	}
	return node
}

// The output of e2e/clients/client.mjs (see its header for the phases).
type clientRun struct {
	SDK struct {
		Alias                 string `json:"alias"`
		Version               string `json:"version"`
		LatestProtocolVersion string `json:"latestProtocolVersion"`
	} `json:"sdk"`
	Session struct {
		HTTP            []httpExchange             `json:"http"`
		Connected       bool                       `json:"connected"`
		Error           *jsError                   `json:"error"`
		ProtocolVersion string                     `json:"protocolVersion"`
		Tools           []string                   `json:"tools"`
		ToolScopes      map[string]json.RawMessage `json:"toolScopes"`
		Allowed         map[string]toolOutcome     `json:"allowed"`
		Forbidden       struct {
			toolOutcome
			HTTP []httpExchange `json:"http"`
		} `json:"forbidden"`
		AfterForbidden  toolOutcome `json:"afterForbidden"`
		TransportErrors []jsError   `json:"transportErrors"`
	} `json:"session"`
	NoToken       connectOutcome `json:"noToken"`
	WrongAudience connectOutcome `json:"wrongAudience"`
	SignIn        struct {
		HTTP                  []httpExchange         `json:"http"`
		FirstConnect          connectOutcome         `json:"firstConnect"`
		AuthorizationRequests []authorizationRequest `json:"authorizationRequests"`
		FinishAuthError       *jsError               `json:"finishAuthError"`
		GrantedScope          string                 `json:"grantedScope"`
		Connected             bool                   `json:"connected"`
		Error                 *jsError               `json:"error"`
		ProtocolVersion       string                 `json:"protocolVersion"`
		Allowed               map[string]toolOutcome `json:"allowed"`
	} `json:"signIn"`
	StepUp struct {
		HTTP                  []httpExchange         `json:"http"`
		Connected             bool                   `json:"connected"`
		Error                 *jsError               `json:"error"`
		SessionBefore         string                 `json:"sessionBefore"`
		Forbidden             toolOutcome            `json:"forbidden"`
		AuthorizationRequests []authorizationRequest `json:"authorizationRequests"`
		FinishAuthError       *jsError               `json:"finishAuthError"`
		GrantedScope          string                 `json:"grantedScope"`
		Retried               toolOutcome            `json:"retried"`
		SessionAfter          string                 `json:"sessionAfter"`
		Allowed               map[string]toolOutcome `json:"allowed"`
	} `json:"stepUp"`
}

type jsError struct {
	Name    string `json:"name"`
	Message string `json:"message"`
	Code    *int   `json:"code"`
}

type toolOutcome struct {
	Text    string   `json:"text"`
	IsError bool     `json:"isError"`
	Error   *jsError `json:"error"`
}

type connectOutcome struct {
	Connected bool           `json:"connected"`
	Error     *jsError       `json:"error"`
	HTTP      []httpExchange `json:"http"`
}

type httpExchange struct {
	Method                string          `json:"method"`
	URL                   string          `json:"url"`
	Status                int             `json:"status"`
	Authorization         bool            `json:"authorization"`
	RPC                   string          `json:"rpc"`
	ID                    json.RawMessage `json:"id"`
	Tool                  string          `json:"tool"`
	ProtocolVersionHeader string          `json:"protocolVersionHeader"`
	WWWAuthenticate       *string         `json:"wwwAuthenticate"`
	ContentType           string          `json:"contentType"`
	Body                  string          `json:"body"`
}

type authorizationRequest struct {
	Endpoint string            `json:"endpoint"`
	Params   map[string]string `json:"params"`
	Status   int               `json:"status"`
	Redirect map[string]string `json:"redirect"`
}

// rpcError is a JSON-RPC error response body.
type rpcError struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Error   struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Data    struct {
			Error            string `json:"error"`
			ErrorDescription string `json:"error_description"`
			WWWAuthenticate  string `json:"www_authenticate"`
		} `json:"data"`
	} `json:"error"`
}

// TestTypeScriptSDKClients runs the official TypeScript SDK, in the last release whose
// client speaks protocol 2025-06-18 and in one speaking 2025-11-25, against a hub: each
// signs in with a token granting notes:read only and gets exactly that access; the
// add_note call is refused with the 403 step-up challenge; no token and a token for
// another service get 401; and with an OAuth client provider the SDK signs in from the
// 401 challenge and steps up from the 403 one through a real authorization code flow.
func TestTypeScriptSDKClients(t *testing.T) {
	versions := []string{"2025-06-18", "2025-11-25"}
	aliases := make([]string, len(versions))
	for i, v := range versions {
		aliases[i] = "mcp-sdk-" + v
	}
	node := requireNode(t, aliases...)
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			run := runClient(t, node, version, f)
			checkClientRun(t, f, version, run)
		})
	}
}

func runClient(t *testing.T, node, version string, f *fixture) clientRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("clients", "client.mjs"), version, f.base+"/notes/mcp")
	cmd.Env = append(os.Environ(),
		"MCP_TOKEN="+f.token(alice, "notes", "notes:read"),
		"MCP_WRONG_AUDIENCE_TOKEN="+f.token(alice, "admin", "notes:read", "admin"),
		"MCP_CLIENT_ID="+clientID,
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("client.mjs %s did not finish in 30s; stderr:\n%s", version, stderr.String())
	}
	require.NoError(t, err, "client.mjs %s failed; stderr:\n%s", version, stderr.String())
	var run clientRun
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &run), "client.mjs output: %s", stdout.String())
	t.Logf("%s is @modelcontextprotocol/sdk %s (LATEST_PROTOCOL_VERSION %s)", run.SDK.Alias, run.SDK.Version, run.SDK.LatestProtocolVersion)
	return run
}

func checkClientRun(t *testing.T, f *fixture, version string, run clientRun) {
	resource := f.base + "/notes/mcp"
	metadata := f.metadataURL("notes")
	challenge401 := `Bearer resource_metadata="` + metadata + `", scope="notes:read notes:write"`
	challenge403 := stepUpChallenge(metadata)
	defer func() {
		if t.Failed() {
			out, _ := json.Marshal(run)
			t.Logf("parsed run: %s", out)
		}
	}()

	require.Equal(t, version, run.SDK.LatestProtocolVersion, "npm alias mcp-sdk-%s installs SDK %s", version, run.SDK.Version)

	t.Run("session", func(t *testing.T) {
		s := run.Session
		require.True(t, s.Connected, "connect: %+v", s.Error)
		assert.Equal(t, version, s.ProtocolVersion, "negotiated protocol version")
		init := findExchange(t, s.HTTP, func(e httpExchange) bool { return e.RPC == "initialize" })
		var initRes struct {
			Result struct {
				ProtocolVersion string `json:"protocolVersion"`
			} `json:"result"`
		}
		require.NoError(t, json.Unmarshal([]byte(init.Body), &initRes), "initialize reply: %s", init.Body)
		assert.Equal(t, version, initRes.Result.ProtocolVersion, "protocolVersion of the initialize reply on the wire")
		for _, e := range s.HTTP {
			assert.True(t, e.Authorization, "%s %s without Authorization", e.Method, e.RPC)
			if e.RPC != "initialize" {
				assert.Equal(t, version, e.ProtocolVersionHeader, "MCP-Protocol-Version of %s %s", e.Method, e.RPC)
			}
		}

		assert.Equal(t, []string{"add_note", "list_notes", "whoami"}, s.Tools, "tools/list (forbidden tools stay visible for step-up)")
		assert.JSONEq(t, `{"allOf":["notes:write"]}`, string(s.ToolScopes["add_note"]))
		assert.JSONEq(t, `{"allOf":["notes:read"]}`, string(s.ToolScopes["list_notes"]))
		assert.JSONEq(t, `null`, string(s.ToolScopes["whoami"]))

		assert.Equal(t, map[string]toolOutcome{
			"whoami":     {Text: "alice@acme"},
			"list_notes": {Text: "buy milk|call bob"},
		}, s.Allowed)

		// The forbidden call: one HTTP exchange, 403 with the step-up challenge and the
		// JSON-RPC error body (code middleware.CodeForbidden); the SDK surfaces it as a
		// StreamableHTTPError with code 403 whose message carries the body.
		require.Len(t, s.Forbidden.HTTP, 1, "add_note exchanges")
		x := s.Forbidden.HTTP[0]
		assert.Equal(t, 403, x.Status)
		require.NotNil(t, x.WWWAuthenticate, "403 without WWW-Authenticate")
		assert.Equal(t, challenge403, *x.WWWAuthenticate)
		assert.Equal(t, map[string]string{
			"resource_metadata": metadata,
			"scope":             "notes:read notes:write",
			"error":             "insufficient_scope",
			"error_description": parseChallenge(t, challenge403)["error_description"],
		}, parseChallenge(t, *x.WWWAuthenticate))
		assert.Equal(t, "application/json", x.ContentType)
		var body rpcError
		require.NoError(t, json.Unmarshal([]byte(x.Body), &body), "403 body: %s", x.Body)
		assert.Equal(t, "2.0", body.JSONRPC)
		assert.JSONEq(t, string(x.ID), string(body.ID), "the error answers the request's id")
		assert.Equal(t, middleware.CodeForbidden, body.Error.Code)
		assert.Equal(t, `insufficient_scope: tool "add_note" requires notes:write`, body.Error.Message)
		assert.Equal(t, "insufficient_scope", body.Error.Data.Error)
		assert.Equal(t, `tool "add_note" requires notes:write`, body.Error.Data.ErrorDescription)
		assert.Equal(t, challenge403, body.Error.Data.WWWAuthenticate)

		require.NotNil(t, s.Forbidden.Error, "add_note succeeded: %+v", s.Forbidden.toolOutcome)
		assert.Equal(t, "StreamableHTTPError", s.Forbidden.Error.Name)
		if assert.NotNil(t, s.Forbidden.Error.Code) {
			assert.Equal(t, 403, *s.Forbidden.Error.Code)
		}
		assert.Equal(t, "Streamable HTTP error: Error POSTing to endpoint: "+x.Body, s.Forbidden.Error.Message)

		// The session stays usable after the refusal.
		assert.Equal(t, toolOutcome{Text: "alice@acme"}, s.AfterForbidden)
	})

	t.Run("no token", func(t *testing.T) {
		checkRefusedConnect(t, run.NoToken, false, challenge401, map[string]string{
			"resource_metadata": metadata,
			"scope":             "notes:read notes:write",
		})
	})

	t.Run("wrong audience", func(t *testing.T) {
		x := checkRefusedConnect(t, run.WrongAudience, true, "", nil)
		if x.WWWAuthenticate != nil {
			c := parseChallenge(t, *x.WWWAuthenticate)
			assert.NotEmpty(t, c["error_description"])
			delete(c, "error_description")
			assert.Equal(t, map[string]string{
				"resource_metadata": metadata,
				"scope":             "notes:read notes:write",
				"error":             "invalid_token",
			}, c)
		}
	})

	t.Run("sign in", func(t *testing.T) {
		s := run.SignIn
		require.NotNil(t, s.FirstConnect.Error, "connected without a token")
		assert.Equal(t, "UnauthorizedError", s.FirstConnect.Error.Name)
		// The SDK found the metadata through the challenge's resource_metadata.
		md := findExchange(t, s.HTTP, func(e httpExchange) bool { return e.Method == "GET" && e.URL == metadata })
		assert.Equal(t, 200, md.Status)
		require.Len(t, s.AuthorizationRequests, 1)
		checkAuthorizationRequest(t, f, resource, s.AuthorizationRequests[0])
		require.Nil(t, s.FinishAuthError)
		assert.Equal(t, "notes:read notes:write", s.GrantedScope)
		require.True(t, s.Connected, "connect with the new token: %+v", s.Error)
		assert.Equal(t, version, s.ProtocolVersion)
		assert.Equal(t, map[string]toolOutcome{
			"whoami":     {Text: "alice@acme"},
			"list_notes": {Text: "buy milk|call bob"},
		}, s.Allowed)
	})

	t.Run("step up", func(t *testing.T) {
		s := run.StepUp
		require.True(t, s.Connected, "connect: %+v", s.Error)
		// With an OAuth client provider the SDK answers the 403 by asking for the
		// challenge's scopes; the application sees UnauthorizedError until it has the
		// code.
		refused := findExchange(t, s.HTTP, func(e httpExchange) bool { return e.Tool == "add_note" })
		assert.Equal(t, 403, refused.Status)
		if assert.NotNil(t, refused.WWWAuthenticate) {
			assert.Equal(t, challenge403, *refused.WWWAuthenticate)
		}
		require.NotNil(t, s.Forbidden.Error, "add_note succeeded with notes:read")
		assert.Equal(t, "UnauthorizedError", s.Forbidden.Error.Name)
		require.Len(t, s.AuthorizationRequests, 1)
		checkAuthorizationRequest(t, f, resource, s.AuthorizationRequests[0])
		require.Nil(t, s.FinishAuthError)
		assert.Equal(t, "notes:read notes:write", s.GrantedScope)
		// The same call with the stepped-up token succeeds, on the same session.
		assert.Equal(t, toolOutcome{Text: "ok"}, s.Retried)
		assert.NotEmpty(t, s.SessionBefore)
		assert.Equal(t, s.SessionBefore, s.SessionAfter, "Mcp-Session-Id after the step-up")
		assert.Equal(t, map[string]toolOutcome{
			"whoami":     {Text: "alice@acme"},
			"list_notes": {Text: "buy milk|call bob|e2e"},
		}, s.Allowed)
	})
}

// stepUpChallenge is the WWW-Authenticate header of the 403 refusing add_note to a token
// holding notes:read, as the library renders it (middleware.Challenge).
func stepUpChallenge(metadata string) string {
	return middleware.Challenge{
		ResourceMetadata: metadata,
		Scope:            []string{"notes:read", "notes:write"},
		Error:            "insufficient_scope",
		Description:      `tool "add_note" requires notes:write`,
	}.String()
}

// checkRefusedConnect checks a connect refused with 401 at initialize; when challenge is
// not empty the WWW-Authenticate header must be exactly it.
func checkRefusedConnect(t *testing.T, c connectOutcome, withToken bool, challenge string, params map[string]string) httpExchange {
	t.Helper()
	assert.False(t, c.Connected, "connected")
	require.Len(t, c.HTTP, 1, "exchanges")
	x := c.HTTP[0]
	assert.Equal(t, "initialize", x.RPC)
	assert.Equal(t, withToken, x.Authorization)
	assert.Equal(t, 401, x.Status)
	if assert.NotNil(t, x.WWWAuthenticate, "401 without WWW-Authenticate") && challenge != "" {
		assert.Equal(t, challenge, *x.WWWAuthenticate)
		assert.Equal(t, params, parseChallenge(t, *x.WWWAuthenticate))
	}
	if assert.NotNil(t, c.Error) {
		assert.Equal(t, "StreamableHTTPError", c.Error.Name)
		if assert.NotNil(t, c.Error.Code) {
			assert.Equal(t, 401, *c.Error.Code)
		}
	}
	return x
}

func checkAuthorizationRequest(t *testing.T, f *fixture, resource string, r authorizationRequest) {
	t.Helper()
	assert.Equal(t, strings.TrimSuffix(f.issuer, "/")+authorizePath, r.Endpoint)
	p := r.Params
	assert.NotEmpty(t, p["code_challenge"])
	delete(p, "code_challenge")
	assert.Equal(t, map[string]string{
		"response_type":         "code",
		"client_id":             clientID,
		"code_challenge_method": "S256",
		"redirect_uri":          "http://127.0.0.1:1/callback",
		"scope":                 "notes:read notes:write",
		"resource":              resource,
	}, p)
	assert.Equal(t, 302, r.Status)
	assert.Equal(t, map[string]string{"iss": f.dev.Issuer()}, r.Redirect, "redirect back (code removed)")
}

func findExchange(t *testing.T, xs []httpExchange, match func(httpExchange) bool) httpExchange {
	t.Helper()
	for _, x := range xs {
		if match(x) {
			return x
		}
	}
	t.Fatalf("no such HTTP exchange among %d", len(xs))
	return httpExchange{}
}

// parseChallenge parses a `Bearer k="v", ...` challenge (quoted values, backslash escapes).
func parseChallenge(t *testing.T, h string) map[string]string {
	t.Helper()
	rest, ok := strings.CutPrefix(h, "Bearer ")
	require.True(t, ok, "not a Bearer challenge: %q", h)
	out := map[string]string{}
	for rest != "" {
		name, after, ok := strings.Cut(rest, `="`)
		require.True(t, ok, "malformed challenge %q", h)
		var v strings.Builder
		i := 0
		for ; i < len(after) && after[i] != '"'; i++ {
			if after[i] == '\\' && i+1 < len(after) {
				i++
			}
			v.WriteByte(after[i])
		}
		require.Less(t, i, len(after), "unterminated value in %q", h)
		out[name] = v.String()
		rest = strings.TrimPrefix(after[i+1:], ", ")
	}
	return out
}
