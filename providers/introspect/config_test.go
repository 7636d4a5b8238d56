package introspect

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/testutil"
)

func validConfig() Config {
	return Config{
		IntrospectionURL: "https://as.example.com/oauth2/introspect",
		ClientID:         "rs",
		ClientSecret:     mcpauth.NewSecret("top-secret-value"),
		Audience:         []string{testResource},
	}
}

func TestValidate(t *testing.T) {
	require.NoError(t, validConfig().Validate())

	cases := []struct {
		name   string
		mutate func(*Config)
		want   []string
	}{
		{"empty", func(c *Config) { *c = Config{} }, []string{
			"Config.IntrospectionURL is empty: set MCPAUTH_INTROSPECTION_URL",
			"Config.ClientID is empty: set MCPAUTH_INTROSPECTION_CLIENT_ID",
			"Config.ClientSecret is empty: set MCPAUTH_INTROSPECTION_CLIENT_SECRET (or MCPAUTH_INTROSPECTION_CLIENT_SECRET_FILE)",
			"Config.Audience is empty: set MCPAUTH_AUDIENCE",
		}},
		{"http on a public host", func(c *Config) { c.IntrospectionURL = "http://as.example.com/introspect" }, []string{"must use https: http is accepted only for loopback hosts"}},
		{"relative URL", func(c *Config) { c.IntrospectionURL = "/introspect" }, []string{"is not an absolute URL"}},
		{"ftp", func(c *Config) { c.IntrospectionURL = "ftp://as.example.com/x" }, []string{`has scheme "ftp": use an https:// URL`}},
		{"credentials in URL", func(c *Config) { c.IntrospectionURL = "https://rs:pw@as.example.com/x" }, []string{"contains credentials"}},
		{"fragment", func(c *Config) { c.IntrospectionURL = "https://as.example.com/x#frag" }, []string{"has a fragment"}},
		{"unknown auth method", func(c *Config) { c.AuthMethod = "private_key_jwt" }, []string{`Config.AuthMethod "private_key_jwt" is not supported`, "MCPAUTH_INTROSPECTION_AUTH_METHOD"}},
		{"empty audience entry", func(c *Config) { c.Audience = []string{testResource, " "} }, []string{"Config.Audience[1] is empty"}},
		{"empty issuer entry", func(c *Config) { c.Issuers = []string{""} }, []string{"Config.Issuers[0] is empty: remove it (MCPAUTH_ISSUER)"}},
		{"empty scope", func(c *Config) { c.Scopes = []string{""} }, []string{"Config.Scopes[0] is empty"}},
		{"hint with spaces", func(c *Config) { c.TokenTypeHint = "access token" }, []string{"Config.TokenTypeHint"}},
		{"leeway too large", func(c *Config) { c.Leeway = 6 * time.Minute }, []string{"Config.Leeway 6m0s is out of range"}},
		{"negative leeway", func(c *Config) { c.Leeway = -time.Second }, []string{"Config.Leeway -1s is out of range"}},
		{"negative size", func(c *Config) { c.MaxTokenSize = -1 }, []string{"Config.MaxTokenSize -1 is negative"}},
		{"negative timeout", func(c *Config) { c.HTTPTimeout = -time.Second }, []string{"Config.HTTPTimeout -1s is negative"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.mutate(&c)
			err := c.Validate()
			require.Error(t, err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
			require.NotContains(t, err.Error(), "top-secret-value")
			_, err = New(c)
			require.Error(t, err)
		})
	}

	ok := []func(*Config){
		func(c *Config) { c.IntrospectionURL = "http://127.0.0.1:8080/introspect" },
		func(c *Config) { c.IntrospectionURL = "http://[::1]:8080/introspect" },
		func(c *Config) { c.IntrospectionURL = "http://localhost/introspect" },
		func(c *Config) { c.Audience, c.SkipAudienceCheck = nil, true },
		func(c *Config) { c.AuthMethod = AuthMethodClientSecretPost },
		func(c *Config) { c.Leeway = MaxLeeway },
	}
	for i, m := range ok {
		c := validConfig()
		m(&c)
		require.NoError(t, c.Validate(), i)
	}
}

func TestRedirectPolicyDoesNotChangeTheCallersClient(t *testing.T) {
	mine := &http.Client{Timeout: time.Second}
	c := validConfig()
	c.HTTPClient = mine
	s, err := c.prepare(true)
	require.NoError(t, err)
	require.Nil(t, mine.CheckRedirect)
	require.NotSame(t, mine, s.client)
	require.NotNil(t, s.client.HTTP.CheckRedirect)
}

func TestConfigPrintsNoSecret(t *testing.T) {
	const secret = "top-secret-value"
	c := validConfig()
	c.AuthMethod = AuthMethodClientSecretPost
	c.IntrospectionURL = "https://as.example.com/introspect?tenant=acme"
	// Default printing shows every field, the secret as [redacted].
	require.Equal(t, "{IntrospectionURL:https://as.example.com/introspect?tenant=acme ClientID:rs ClientSecret:[redacted] AuthMethod:client_secret_post "+
		"Audience:[https://mcp.example.com/notes/mcp] SkipAudienceCheck:false Issuers:[] AllowMissingSubject:false TokenTypeHint: Scopes:[] "+
		"TenantClaim: Leeway:0s MaxTokenSize:0 HTTPClient:<nil> HTTPTimeout:0s Logger:<nil> Now:<nil> ProviderName:}", fmt.Sprintf("%+v", c))
	b, err := json.Marshal(c)
	require.NoError(t, err)
	require.Equal(t, `{"IntrospectionURL":"https://as.example.com/introspect?tenant=acme","ClientID":"rs","ClientSecret":"[redacted]",`+
		`"AuthMethod":"client_secret_post","Audience":["https://mcp.example.com/notes/mcp"],"SkipAudienceCheck":false,"Issuers":null,`+
		`"AllowMissingSubject":false,"TokenTypeHint":"","Scopes":null,"TenantClaim":"","Leeway":0,"MaxTokenSize":0,"HTTPTimeout":0,"ProviderName":""}`, string(b))
	testutil.NoSecret(t, c, secret)

	// With every kind of field set, and from the environment.
	c.HTTPClient, c.Now, c.Logger = http.DefaultClient, time.Now, slog.Default()
	testutil.NoSecret(t, c, secret)
	t.Setenv("MCPAUTH_INTROSPECTION_CLIENT_SECRET", secret)
	fromEnv, err := ConfigFromEnv("")
	require.NoError(t, err)
	require.Equal(t, secret, fromEnv.ClientSecret.Reveal())
	testutil.NoSecret(t, fromEnv, secret)
}

func TestConfigFromEnv(t *testing.T) {
	t.Run("all variables", func(t *testing.T) {
		t.Setenv("MCPAUTH_INTROSPECTION_URL", " https://as.example.com/introspect ")
		t.Setenv("MCPAUTH_INTROSPECTION_CLIENT_ID", "rs")
		t.Setenv("MCPAUTH_INTROSPECTION_CLIENT_SECRET", "s3cret with spaces ")
		t.Setenv("MCPAUTH_INTROSPECTION_AUTH_METHOD", "client_secret_post")
		t.Setenv("MCPAUTH_INTROSPECTION_TOKEN_TYPE_HINT", "access_token")
		t.Setenv("MCPAUTH_INTROSPECTION_SCOPES", "notes:read, profile")
		t.Setenv("MCPAUTH_INTROSPECTION_TIMEOUT", "3s")
		t.Setenv("MCPAUTH_AUDIENCE", "https://a.example, https://b.example")
		t.Setenv("MCPAUTH_ISSUER", "https://as.example.com")
		t.Setenv("MCPAUTH_TENANT_CLAIM", "org")
		t.Setenv("MCPAUTH_LEEWAY", "20s")
		c, err := ConfigFromEnv("")
		require.NoError(t, err)
		require.True(t, c.Configured())
		require.Equal(t, "https://as.example.com/introspect", c.IntrospectionURL)
		require.Equal(t, "rs", c.ClientID)
		require.Equal(t, "s3cret with spaces ", c.ClientSecret.Reveal(), "the secret is taken verbatim")
		require.Equal(t, AuthMethodClientSecretPost, c.AuthMethod)
		require.Equal(t, "access_token", c.TokenTypeHint)
		require.Equal(t, []string{"notes:read", "profile"}, c.Scopes)
		require.Equal(t, 3*time.Second, c.HTTPTimeout)
		require.Equal(t, []string{"https://a.example", "https://b.example"}, c.Audience)
		require.Equal(t, []string{"https://as.example.com"}, c.Issuers)
		require.Equal(t, "org", c.TenantClaim)
		require.Equal(t, 20*time.Second, c.Leeway)
		require.NoError(t, c.Validate())
	})
	t.Run("not configured", func(t *testing.T) {
		t.Setenv("MCPAUTH_INTROSPECTION_URL", "")
		c, err := ConfigFromEnv("MCPAUTH")
		require.NoError(t, err)
		require.False(t, c.Configured())
	})
	t.Run("secret file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "secret")
		require.NoError(t, os.WriteFile(path, []byte("from-file\n"), 0o600))
		t.Setenv("APP_INTROSPECTION_URL", "https://as.example.com/introspect")
		t.Setenv("APP_INTROSPECTION_CLIENT_SECRET_FILE", path)
		c, err := ConfigFromEnv("APP_")
		require.NoError(t, err)
		require.Equal(t, "from-file", c.ClientSecret.Reveal())
		err = c.Validate()
		require.ErrorContains(t, err, "set MCPAUTH_INTROSPECTION_CLIENT_ID", "errors name the variables with the default prefix")
		require.ErrorContains(t, err, "set MCPAUTH_AUDIENCE")
	})
	t.Run("errors", func(t *testing.T) {
		empty := filepath.Join(t.TempDir(), "empty")
		require.NoError(t, os.WriteFile(empty, []byte("\n"), 0o600))
		cases := []struct {
			env  map[string]string
			want string
		}{
			{map[string]string{"X_INTROSPECTION_CLIENT_SECRET": "a", "X_INTROSPECTION_CLIENT_SECRET_FILE": empty}, "X_INTROSPECTION_CLIENT_SECRET and X_INTROSPECTION_CLIENT_SECRET_FILE are both set"},
			{map[string]string{"X_INTROSPECTION_CLIENT_SECRET_FILE": "/nonexistent/secret"}, "X_INTROSPECTION_CLIENT_SECRET_FILE: cannot read the secret file"},
			{map[string]string{"X_INTROSPECTION_CLIENT_SECRET_FILE": empty}, "is empty: write the secret into it"},
			{map[string]string{"X_INTROSPECTION_TIMEOUT": "5"}, `X_INTROSPECTION_TIMEOUT="5" is not a duration`},
			{map[string]string{"X_LEEWAY": "soon"}, `X_LEEWAY="soon" is not a duration`},
		}
		for _, tc := range cases {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := ConfigFromEnv("X")
			require.ErrorContains(t, err, tc.want)
			for k := range tc.env {
				t.Setenv(k, "")
			}
		}
	})
}

func TestDefaults(t *testing.T) {
	s, err := validConfig().prepare(true)
	require.NoError(t, err)
	require.Equal(t, AuthMethodClientSecretBasic, s.AuthMethod)
	require.Equal(t, "access_token", s.hint)
	require.Equal(t, "tenant_id", s.TenantClaim)
	require.Equal(t, DefaultMaxTokenSize, s.MaxTokenSize)
	require.Equal(t, DefaultHTTPTimeout, s.HTTPTimeout)
	require.Equal(t, DefaultHTTPTimeout, s.client.Timeout)
	require.Equal(t, "introspect", s.ProviderName)
	require.NotNil(t, s.Now)
	require.NotNil(t, s.Logger)
}
