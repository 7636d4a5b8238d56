package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth/gateway"
	"github.com/mcpauth/mcpauth/oauthproxy"
)

const goodConfig = `# the hub of the tests
baseURL: ${TEST_BASE_URL}
listen: 127.0.0.1:8080
auth:
  upstream: dev
  devUsers:
    - {name: alice, tenant: acme, scopes: [tools:call, ops:long]}
    - {name: bob}
redis: {url: ${TEST_REDIS_URL}}
aggregate: {enabled: true, separator: "_"}
corsOrigins: ["http://localhost:6274"]
log: {level: debug, format: text}
mcpServers:
  everything:
    command: npx
    args: ["-y", "@modelcontextprotocol/server-everything"]
    env: {SOME_KEY: ${TEST_SOME_KEY}, PRICE: "$$5"}
    scopes: [tools:call]
    defaultToolScopes: [tools:call]
    tools:
      "trigger-*": {scopes: [ops:long]}
      "get-env": {hidden: true}
      "add": {scopes: [math]}
    prompts: {"*": {scopes: [prompts:read]}}
    resources: {"demo://*": {scopes: [resources:read]}}
    callTimeout: 30s
  remote:
    url: https://mcp.example.com/mcp
    transport: sse
    headers: {X-Api-Key: ${TEST_API_KEY}}
    tenants: [acme]
    aggregate: false
`

func setGoodEnv(t *testing.T) {
	t.Setenv("TEST_BASE_URL", "https://hub.example.com/")
	t.Setenv("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
	t.Setenv("TEST_SOME_KEY", "v, with: {yaml} # syntax\n- and a newline")
	t.Setenv("TEST_API_KEY", "k1")
}

func TestParseGoodConfig(t *testing.T) {
	setGoodEnv(t)
	c, err := ParseConfig("hub.yaml", []byte(goodConfig))
	require.NoError(t, err)
	assert.Equal(t, "https://hub.example.com", c.BaseURL, "trailing slash trimmed")
	assert.Equal(t, "127.0.0.1:8080", c.Listen)
	assert.Equal(t, Auth{Upstream: "dev", DevUsers: []DevUser{
		{Name: "alice", Tenant: "acme", Scopes: []string{"tools:call", "ops:long"}},
		{Name: "bob"},
	}}, c.Auth)
	assert.Equal(t, &Redis{URL: "redis://127.0.0.1:6379/0"}, c.Redis)
	assert.Equal(t, Aggregate{Enabled: true, Separator: "_"}, c.Aggregate)
	assert.Equal(t, []string{"http://localhost:6274"}, c.CORSOrigins)
	assert.Equal(t, Log{Level: "debug", Format: "text"}, c.Log)
	require.Len(t, c.Servers, 2)
	assert.Equal(t, Server{
		Name: "everything", Line: 14,
		Command: "npx", Args: []string{"-y", "@modelcontextprotocol/server-everything"},
		// A value is never YAML: its commas, braces, colons, # and newline stay in it.
		Env:               []string{"SOME_KEY=v, with: {yaml} # syntax\n- and a newline", "PRICE=$5"},
		Scopes:            []string{"tools:call"},
		DefaultToolScopes: []string{"tools:call"},
		Tools: []Rule{
			{Match: "trigger-*", Scopes: []string{"ops:long"}},
			{Match: "get-env", Hidden: true},
			{Match: "add", Scopes: []string{"math"}},
		},
		Prompts:     []Rule{{Match: "*", Scopes: []string{"prompts:read"}}},
		Resources:   []Rule{{Match: "demo://*", Scopes: []string{"resources:read"}}},
		CallTimeout: 30 * time.Second,
		InAggregate: true,
	}, c.Servers[0])
	assert.Equal(t, Server{
		Name: "remote", Line: 27,
		URL: "https://mcp.example.com/mcp", Transport: "sse",
		Headers: map[string]string{"X-Api-Key": "k1"},
		Tenants: []string{"acme"},
	}, c.Servers[1])
}

// The rules keep the file's order (the first match wins), the service's scopes are
// folded into each (for the aggregate), and defaultToolScopes is the last tool rule.
func TestPolicyKeepsTheOrder(t *testing.T) {
	setGoodEnv(t)
	c, err := ParseConfig("hub.yaml", []byte(goodConfig))
	require.NoError(t, err)
	g := gatewayConfig(c.Servers[0], nil)
	assert.Equal(t, gateway.Policy{
		Rules: []gateway.Rule{
			{Kind: "tool", Match: "trigger-*", Scopes: []string{"tools:call", "ops:long"}},
			{Kind: "tool", Match: "get-env", Hidden: true},
			{Kind: "tool", Match: "add", Scopes: []string{"tools:call", "math"}},
			{Kind: "prompt", Match: "*", Scopes: []string{"tools:call", "prompts:read"}},
			{Kind: "resource", Match: "demo://*", Scopes: []string{"tools:call", "resources:read"}},
			{Kind: "tool", Match: "*", Scopes: []string{"tools:call"}},
		},
		Default: []string{"tools:call"},
	}, g.Policy)
	require.NoError(t, g.Validate())
	remote := gatewayConfig(c.Servers[1], nil)
	assert.True(t, remote.SSE)
	assert.Equal(t, "k1", remote.Headers["X-Api-Key"].Reveal())
	assert.Empty(t, remote.Policy.Rules)
	assert.Nil(t, remote.Policy.Default)

	// Reversed in the file, reversed in the policy.
	c, err = ParseConfig("hub.yaml", []byte(`
auth: {upstream: dev, devUsers: [{name: a}]}
mcpServers:
  s:
    command: x
    tools:
      "a*": {scopes: [second]}
      "ab": {scopes: [first]}
`))
	require.NoError(t, err)
	assert.Equal(t, []string{"a*", "ab"}, []string{c.Servers[0].Tools[0].Match, c.Servers[0].Tools[1].Match})
}

func TestVariables(t *testing.T) {
	t.Setenv("TEST_SET", "from-env")
	t.Setenv("TEST_EMPTY", "")
	c, err := ParseConfig("hub.yaml", []byte(`# a comment may mention ${TEST_UNSET_IN_COMMENT}
auth: {upstream: dev, devUsers: [{name: "${TEST_SET}-$${NOT_A_VAR}"}]}
mcpServers: {s: {command: "a$$b", args: ["${TEST_SET}", "x${TEST_SET}y"]}}
`))
	require.NoError(t, err)
	assert.Equal(t, "from-env-${NOT_A_VAR}", c.Auth.DevUsers[0].Name)
	assert.Equal(t, "a$b", c.Servers[0].Command)
	assert.Equal(t, []string{"from-env", "xfrom-envy"}, c.Servers[0].Args)

	_, err = ParseConfig("hub.yaml", []byte(`auth: {upstream: dev, devUsers: [{name: a}]}
mcpServers:
  s:
    command: x
    env: {A: ${TEST_UNSET_VAR}, B: "${TEST_EMPTY}"}
    args: ["${bad-name}", "${UNCLOSED"]
`))
	require.Error(t, err)
	assert.Equal(t, `hub.yaml:5: mcpServers.s.env.A: ${TEST_UNSET_VAR} is not set (or is empty): set the environment variable TEST_UNSET_VAR, or write $$ for a literal $
hub.yaml:5: mcpServers.s.env.B: ${TEST_EMPTY} is not set (or is empty): set the environment variable TEST_EMPTY, or write $$ for a literal $
hub.yaml:6: ${bad-name} is not a variable reference: write ${NAME} with letters, digits and _ (no defaults), or $$ for a literal $
hub.yaml:6: ${ is not closed: write ${NAME}, or $$ for a literal $`, err.Error())
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string
	}{
		{"command and url", `auth: {upstream: dev, devUsers: [{name: a}]}
mcpServers:
  everything:
    command: npx
    url: https://x.example.com/mcp
`, []string{`hub.yaml:3: mcpServers.everything: set command (a local server) or url (a remote one), not both`}},
		{"neither", `auth: {upstream: dev, devUsers: [{name: a}]}
mcpServers:
  everything: {args: [x]}
`, []string{`hub.yaml:3: mcpServers.everything: set command (a local server started with stdio) or url (a remote one)`}},
		{"credentials", `auth: {upstream: dev, devUsers: [{name: a}]}
mcpServers:
  both:
    url: https://x.example.com/mcp
    callerTokens: true
    clientCredentials: {tokenURL: https://auth.example.com/token, clientID: c}
  local:
    command: npx
    callerTokens: true
  half:
    url: https://y.example.com/mcp
    clientCredentials: {clientID: c}
  plain:
    url: https://admin:hunter2@z.example.com/mcp
    clientCredentials: {tokenURL: http://auth.example.com/token, clientID: c}
`, []string{
			`hub.yaml:3: mcpServers.both: clientCredentials and callerTokens are both set: the upstream gets one kind of credentials`,
			`hub.yaml:7: mcpServers.local: transport, headers, clientCredentials and callerTokens are for a url, not a command: remove them`,
			`hub.yaml:12: mcpServers.half.clientCredentials: set tokenURL and clientID (and clientSecret: ${VARIABLE}) of the upstream's authorization server`,
			`hub.yaml:13: mcpServers.plain.url: "https://admin:xxxxx@z.example.com/mcp" contains credentials: remove them from the URL`,
			`hub.yaml:15: mcpServers.plain.clientCredentials.tokenURL: "http://auth.example.com/token" must use https: http is accepted only for loopback hosts (127.0.0.0/8, ::1, localhost) (the client secret travels to it)`,
		}},
		{"unknown keys", `baseURL: http://127.0.0.1:8080
auth: {upstream: dev, devUsers: [{name: a}]}
mcpServer: {}
mcpServers:
  s:
    comand: npx
    tools: {"x": {scope: [a]}}
`, []string{
			`hub.yaml:3: unknown key "mcpServer": did you mean "mcpServers"? (the keys here are baseURL, listen, auth, redis, aggregate, corsOrigins, log, mcpServers)`,
			`hub.yaml:6: mcpServers.s: unknown key "comand": did you mean "command"? (the keys here are command, args, env, url, transport, headers, scopes, tenants, defaultToolScopes, tools, prompts, resources, callTimeout, aggregate, clientCredentials, callerTokens)`,
			`hub.yaml:7: mcpServers.s.tools.x: unknown key "scope": did you mean "scopes"? (the keys here are scopes, hidden)`,
		}},
		{"values", `baseURL: http://mcp.example.com
listen: 0.0.0.0
auth: {upstream: gitlab}
aggregate: {enabled: yes}
mcpServers:
  Bad_Name: {url: http://remote.example.com/mcp, transport: websocket, args: [a]}
  ok:
    command: x
    headers: {A: b}
    scopes: ["tools:call ops:long"]
    tools: {"[": {}, "y": {hidden: true, scopes: [a]}}
    callTimeout: soon
  ok: {command: y}
`, []string{
			`hub.yaml:1: baseURL: "http://mcp.example.com" must use https: the hub signs people in (http only on a loopback address, for development)`,
			`hub.yaml:2: listen: "0.0.0.0" is not host:port: write one such as 127.0.0.1:8080 or 0.0.0.0:8080`,
			`hub.yaml:3: auth.upstream: "gitlab" is not an identity provider: use dev, github, google, workos, oidc, none`,
			`hub.yaml:4: aggregate.enabled: "yes" is not a boolean: write true or false`,
			`hub.yaml:6: mcpServers.Bad_Name: the name is not a service name: use lowercase letters, digits, '.', '_' or '-', starting with a letter or digit (it is the path /<name>/mcp)`,
			`hub.yaml:6: mcpServers.Bad_Name.url: "http://remote.example.com/mcp" must use https: http is accepted only for loopback hosts (127.0.0.0/8, ::1, localhost)`,
			`hub.yaml:6: mcpServers.Bad_Name.transport: "websocket": use streamable (the default) or sse`,
			`hub.yaml:6: mcpServers.Bad_Name: args and env are for a command, not a url: remove them`,
			`hub.yaml:7: mcpServers.ok: transport, headers, clientCredentials and callerTokens are for a url, not a command: remove them`,
			`hub.yaml:10: mcpServers.ok.scopes[0]: scope "tools:call ops:long" is not one scope: list each scope as its own item, without spaces or quotes`,
			`hub.yaml:11: mcpServers.ok.tools.[: "[" is not a glob: use names with *, ? or [...] (path.Match)`,
			`hub.yaml:11: mcpServers.ok.tools.y: hidden and scopes are both set: a hidden item is never offered, so remove scopes (or hidden)`,
			`hub.yaml:12: mcpServers.ok.callTimeout: "soon" is not a positive duration: write one such as 30s or 2m`,
			`hub.yaml:13: mcpServers.ok: duplicate key (first at line 7): keep one`,
		}},
		{"auth", `listen: 127.0.0.1:0
auth: {upstream: github, devUsers: [{name: a}, {name: a}, {tenant: t}]}
mcpServers: {s: {command: x}}
`, []string{
			`hub.yaml:2: auth.devUsers[1]: user "a" is listed twice: keep one`,
			`hub.yaml:2: auth.devUsers[2]: the user has no name: set name`,
			`hub.yaml:2: auth.devUsers: devUsers are for the dev upstream, not github: remove them`,
		}},
		{"auth no users", `auth: {upstream: dev}
mcpServers: {s: {command: x}}
`, []string{`hub.yaml:1: auth.devUsers: the dev upstream has no users: list them, such as devUsers: [{name: alice, tenant: acme, scopes: [tools:call]}]`}},
		{"aggregate", `auth: {upstream: dev, devUsers: [{name: a}]}
aggregate: {enabled: true}
mcpServers:
  a: {command: x, tenants: [acme]}
  a_b: {command: x}
  c: {command: x, tenants: [acme], aggregate: false}
`, []string{
			`hub.yaml:4: mcpServers.a.tenants: the aggregate at /mcp cannot restrict tenants per service: set aggregate: false on this server to leave it out of /mcp, or disable the aggregate`,
			`hub.yaml:5: mcpServers.a_b: its name and "a" overlap with the aggregate's separator "_", so their tools' names could collide at /mcp: rename one, change aggregate.separator, or set aggregate: false on one`,
		}},
		{"types", `auth: [dev]
mcpServers:
  s: {command: [npx], args: npx}
`, []string{
			`hub.yaml:1: auth: expected a mapping (key: value), found a list`,
			`hub.yaml:3: mcpServers.s.command: expected a single value, found a list`,
			`hub.yaml:3: mcpServers.s.args: expected a list, such as [a, b], found a value`,
		}},
		{"missing", `listen: 10.0.0.1:8080
`, []string{
			`hub.yaml: auth.upstream: not set: choose how people sign in: dev, github, google, workos, oidc, none`,
			`hub.yaml: baseURL: not set: set the hub's public URL, such as https://mcp.example.com (it may be left out only when listen is a loopback address)`,
			`hub.yaml: mcpServers: no server: list at least one MCP server, with command (a local one) or url (a remote one)`,
		}},
		{"syntax", "auth: {upstream: dev\nmcpServers: x\n", []string{`hub.yaml:1: did not find expected ',' or '}': fix the YAML syntax`}},
		{"empty", "# nothing\n", []string{`hub.yaml: the file is empty: write the hub's configuration (baseURL, auth, mcpServers)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("hub.yaml", []byte(tc.src))
			require.Error(t, err)
			got := strings.Split(err.Error(), "\n")
			assert.ElementsMatch(t, tc.want, got)
		})
	}
}

// JSON is YAML.
func TestJSONConfig(t *testing.T) {
	t.Setenv("TEST_KEY", "k")
	c, err := ParseConfig("hub.json", []byte(`{
  "auth": {"upstream": "dev", "devUsers": [{"name": "alice"}]},
  "mcpServers": {"remote": {"url": "https://x.example.com/mcp", "headers": {"K": "${TEST_KEY}"}}}
}`))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"K": "k"}, c.Servers[0].Headers)

	_, err = ParseConfig("hub.json", []byte(`{
  "auth": {"upstream": "dev", "devUsers": [{"name": "alice"}]},
  "mcpServers": {"remote": {"url": "https://x.example.com/mcp", "header": {}}}
}`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `hub.json:3: mcpServers.remote: unknown key "header": did you mean "headers"?`)
}

func TestLoadConfigNamesTheFile(t *testing.T) {
	_, err := LoadConfig(filepath.Join(t.TempDir(), "missing.yaml"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "missing.yaml: cannot read the configuration: no such file or directory")

	f := filepath.Join(t.TempDir(), "hub.yaml")
	require.NoError(t, os.WriteFile(f, []byte("auth: {upstream: dev}\nmcpServers: {s: {command: x}}\n"), 0o600))
	_, err = LoadConfig(f)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), f+":1: auth.devUsers: "), err.Error())
}

func TestExampleConfig(t *testing.T) {
	t.Setenv("MCPAUTH_BASE_URL", "https://mcp.example.com")
	t.Setenv("REMOTE_API_KEY", "k")
	c, err := LoadConfig("hub.example.yaml")
	require.NoError(t, err)
	assert.Equal(t, []string{"everything", "remote"}, []string{c.Servers[0].Name, c.Servers[1].Name})
	require.NoError(t, check(c))
}

// TestUpstreamCredentials: clientCredentials and callerTokens reach the gateway, and the
// caller tokens' keys are published at /gateway/jwks.json.
func TestUpstreamCredentials(t *testing.T) {
	t.Setenv("CC_SECRET", "the-client-secret")
	src := `listen: 127.0.0.1:0
auth: {upstream: dev, devUsers: [{name: a}]}
mcpServers:
  cc:
    url: https://cc.example.com/mcp
    clientCredentials: {tokenURL: https://auth.example.com/token, clientID: hub, clientSecret: ${CC_SECRET}, scopes: [mcp]}
  trusting:
    url: https://trusting.example.com/mcp
    callerTokens: true
`
	c, err := ParseConfig("hub.yaml", []byte(src))
	require.NoError(t, err)
	g := gatewayConfig(c.Servers[0], nil)
	require.NotNil(t, g.ClientCredentials)
	assert.Equal(t, "hub", g.ClientCredentials.ClientID)
	assert.Equal(t, "the-client-secret", g.ClientCredentials.ClientSecret)
	assert.Equal(t, "https://auth.example.com/token", g.ClientCredentials.TokenURL)
	assert.Equal(t, []string{"mcp"}, g.ClientCredentials.Scopes)

	t.Setenv("MCPAUTH_GATEWAY_SIGNING_KEY", "")
	_, err = newApp(c, "http://127.0.0.1:1", slog.New(slog.DiscardHandler), io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "callerTokens needs MCPAUTH_GATEWAY_SIGNING_KEY")
	err = check(c) // serve --check says so too
	require.Error(t, err)
	assert.Contains(t, err.Error(), "mcpServers: callerTokens needs MCPAUTH_GATEWAY_SIGNING_KEY")

	key, err := oauthproxy.GenerateSigningKey()
	require.NoError(t, err)
	t.Setenv("MCPAUTH_GATEWAY_SIGNING_KEY", key.Reveal())
	a, err := newApp(c, "http://127.0.0.1:1", slog.New(slog.DiscardHandler), io.Discard)
	require.NoError(t, err)
	t.Cleanup(a.Close)
	assert.Same(t, a.signer, gatewayConfig(c.Servers[1], a.signer).CallerTokens)
	rec := httptest.NewRecorder()
	a.hub.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/gateway/jwks.json", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), `"alg":"EdDSA"`)

	// Started without a server that needs it, the signer is made when a reload adds one.
	first := *c
	first.Servers = c.Servers[:1]
	b, err := newApp(&first, "http://127.0.0.1:1", slog.New(slog.DiscardHandler), io.Discard)
	require.NoError(t, err)
	t.Cleanup(b.Close)
	assert.Nil(t, b.signer)
	require.NoError(t, b.reload(c))
	require.NotNil(t, b.signer)
	rec = httptest.NewRecorder()
	b.hub.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/gateway/jwks.json", nil))
	assert.Equal(t, http.StatusOK, rec.Code, "the reload published the caller tokens' keys")
}
