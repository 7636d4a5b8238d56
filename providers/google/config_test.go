package google

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/testutil"
)

func TestValidate(t *testing.T) {
	base := func() Config { return Config{ClientIDs: []string{testClientID}} }
	require.NoError(t, base().Validate())

	cases := []struct {
		name string
		mod  func(*Config)
		want []string // every fragment must appear in the error
	}{
		{"no client ID", func(c *Config) { c.ClientIDs = nil }, []string{"Config.ClientIDs is empty", "MCPAUTH_GOOGLE_CLIENT_ID"}},
		{"empty client ID", func(c *Config) { c.ClientIDs = []string{testClientID, " "} }, []string{"Config.ClientIDs[1] is empty", "MCPAUTH_GOOGLE_CLIENT_ID"}},
		{"hosted domain with @", func(c *Config) { c.HostedDomains = []string{"@example.com"} }, []string{"Config.HostedDomains[0]", "not a domain name", "MCPAUTH_GOOGLE_HOSTED_DOMAINS"}},
		{"hosted domain URL", func(c *Config) { c.HostedDomains = []string{"https://example.com"} }, []string{"Config.HostedDomains[0]", "MCPAUTH_GOOGLE_HOSTED_DOMAINS"}},
		{"empty e-mail domain", func(c *Config) { c.AllowedEmailDomains = []string{""} }, []string{"Config.AllowedEmailDomains[0] is empty", "MCPAUTH_GOOGLE_ALLOWED_EMAIL_DOMAINS"}},
		{"bad e-mail", func(c *Config) { c.AllowedEmails = []string{"alice"} }, []string{"Config.AllowedEmails[0]", "not an e-mail address", "MCPAUTH_GOOGLE_ALLOWED_EMAILS"}},
		{"e-mail without local part", func(c *Config) { c.AllowedEmails = []string{"@example.com"} }, []string{"Config.AllowedEmails[0]"}},
		{"strict without domains", func(c *Config) { c.StrictHostedDomain = true }, []string{"Config.StrictHostedDomain", "MCPAUTH_GOOGLE_HOSTED_DOMAINS"}},
		{"scope with space", func(c *Config) { c.Scopes = []string{"notes:read notes:write"} }, []string{"Config.Scopes[0]", "not a scope", "MCPAUTH_GOOGLE_SCOPES"}},
		{"empty scope", func(c *Config) { c.Scopes = []string{""} }, []string{"Config.Scopes[0] is empty"}},
		{"domain scopes bad key", func(c *Config) { c.DomainScopes = map[string][]string{"a@b.com": {"x"}} }, []string{"Config.DomainScopes has key", "MCPAUTH_GOOGLE_DOMAIN_SCOPES"}},
		{"domain scopes empty", func(c *Config) { c.DomainScopes = map[string][]string{"example.com": nil} }, []string{`Config.DomainScopes["example.com"] is empty`}},
		{"domain scopes bad scope", func(c *Config) { c.DomainScopes = map[string][]string{"example.com": {"a b"}} }, []string{`Config.DomainScopes["example.com"][0]`, "not a scope"}},
		{"tokeninfo over http", func(c *Config) { c.TokenInfoURL = "http://tokeninfo.example.com/tokeninfo" }, []string{"Config.TokenInfoURL", "must use https", "MCPAUTH_GOOGLE_TOKENINFO_URL"}},
		{"tokeninfo relative", func(c *Config) { c.TokenInfoURL = "/tokeninfo" }, []string{"Config.TokenInfoURL", "not an absolute URL"}},
		{"tokeninfo with credentials", func(c *Config) { c.TokenInfoURL = "https://user:pw@proxy.example.com/tokeninfo" }, []string{"Config.TokenInfoURL", "contains credentials"}},
		{"JWKS scheme", func(c *Config) { c.JWKSURI = "ftp://example.com/certs" }, []string{"Config.JWKSURI", `scheme "ftp"`, "MCPAUTH_GOOGLE_JWKS_URI"}},
		{"negative timeout", func(c *Config) { c.HTTPTimeout = -time.Second }, []string{"Config.HTTPTimeout", "negative", "MCPAUTH_GOOGLE_HTTP_TIMEOUT"}},
		{"leeway too large", func(c *Config) { c.Leeway = time.Hour }, []string{"Config.Leeway", "out of range", "MCPAUTH_GOOGLE_LEEWAY"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.mod(&c)
			err := c.Validate()
			require.Error(t, err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
			_, err = New(c)
			require.Error(t, err, "New validates too")
		})
	}

	t.Run("every problem is reported", func(t *testing.T) {
		err := Config{HostedDomains: []string{"a@b"}, Leeway: -1}.Validate()
		require.Error(t, err)
		require.Len(t, strings.Split(err.Error(), "\n"), 3)
	})
	t.Run("loopback http is allowed", func(t *testing.T) {
		c := base()
		c.TokenInfoURL = "http://127.0.0.1:9/tokeninfo"
		c.JWKSURI = "http://localhost:9/oauth2/v3/certs"
		require.NoError(t, c.Validate())
	})
	t.Run("errors name the variables with the default prefix", func(t *testing.T) {
		t.Setenv("ACME_GOOGLE_HOSTED_DOMAINS", "example.com")
		c, err := ConfigFromEnv("ACME")
		require.NoError(t, err)
		err = c.Validate()
		require.ErrorContains(t, err, "MCPAUTH_GOOGLE_CLIENT_ID")
	})
}

func TestValidateNormalises(t *testing.T) {
	s, err := Config{
		ClientIDs:           []string{" " + testClientID + " "},
		HostedDomains:       []string{"Example.COM", "example.com"},
		AllowedEmails:       []string{"Alice@Example.com"},
		AllowedEmailDomains: []string{" Corp.Example "},
		Scopes:              []string{"a", "a", "b"},
		DomainScopes:        map[string][]string{"Example.com": {"x"}, "example.com": {"x", "y"}},
	}.prepare()
	require.NoError(t, err)
	require.Equal(t, []string{testClientID}, s.clientIDs)
	require.Equal(t, []string{"example.com"}, s.hostedDomains)
	require.Equal(t, []string{"alice@example.com"}, s.emails)
	require.Equal(t, []string{"corp.example"}, s.emailDomains)
	require.Equal(t, []string{"a", "b"}, s.scopes)
	require.Equal(t, map[string][]string{"example.com": {"x", "y"}}, s.domainScopes)
	require.Equal(t, DefaultTokenInfoURL, s.tokenInfoURL)
	require.Equal(t, DefaultJWKSURI, s.jwksURI)
	require.Equal(t, DefaultHTTPTimeout, s.timeout)
	require.Equal(t, DefaultHTTPTimeout, s.client.HTTP.Timeout)
}

func clearGoogleEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "MCPAUTH_GOOGLE_") {
			t.Setenv(name, "")
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	clearGoogleEnv(t)
	secretFile := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secretFile, []byte("GOCSPX-file-secret\n"), 0o600))

	t.Setenv("MCPAUTH_GOOGLE_CLIENT_ID", "a.apps.googleusercontent.com, b.apps.googleusercontent.com")
	t.Setenv("MCPAUTH_GOOGLE_CLIENT_SECRET_FILE", secretFile)
	t.Setenv("MCPAUTH_GOOGLE_HOSTED_DOMAINS", "example.com corp.example")
	t.Setenv("MCPAUTH_GOOGLE_STRICT_HOSTED_DOMAIN", "true")
	t.Setenv("MCPAUTH_GOOGLE_ALLOWED_EMAIL_DOMAINS", "example.com")
	t.Setenv("MCPAUTH_GOOGLE_ALLOWED_EMAILS", "bob@gmail.com,carol@gmail.com")
	t.Setenv("MCPAUTH_GOOGLE_SCOPES", "notes:read")
	t.Setenv("MCPAUTH_GOOGLE_DOMAIN_SCOPES", "example.com=notes:write admin; corp.example=notes:write,reports")
	t.Setenv("MCPAUTH_GOOGLE_ANY_TOKEN_FORMAT", "1")
	t.Setenv("MCPAUTH_GOOGLE_TOKENINFO_URL", "http://127.0.0.1:8081/tokeninfo")
	t.Setenv("MCPAUTH_GOOGLE_JWKS_URI", "http://127.0.0.1:8081/oauth2/v3/certs")
	t.Setenv("MCPAUTH_GOOGLE_HTTP_TIMEOUT", "2s")
	t.Setenv("MCPAUTH_GOOGLE_LEEWAY", "30s")

	c, err := ConfigFromEnv("")
	require.NoError(t, err)
	require.True(t, c.Configured())
	require.Equal(t, []string{"a.apps.googleusercontent.com", "b.apps.googleusercontent.com"}, c.ClientIDs)
	require.Equal(t, "GOCSPX-file-secret", c.ClientSecret.Reveal())
	require.Equal(t, []string{"example.com", "corp.example"}, c.HostedDomains)
	require.True(t, c.StrictHostedDomain)
	require.Equal(t, []string{"example.com"}, c.AllowedEmailDomains)
	require.Equal(t, []string{"bob@gmail.com", "carol@gmail.com"}, c.AllowedEmails)
	require.Equal(t, []string{"notes:read"}, c.Scopes)
	require.Equal(t, map[string][]string{"example.com": {"notes:write", "admin"}, "corp.example": {"notes:write", "reports"}}, c.DomainScopes)
	require.True(t, c.AnyTokenFormat)
	require.Equal(t, "http://127.0.0.1:8081/tokeninfo", c.TokenInfoURL)
	require.Equal(t, "http://127.0.0.1:8081/oauth2/v3/certs", c.JWKSURI)
	require.Equal(t, 2*time.Second, c.HTTPTimeout)
	require.Equal(t, 30*time.Second, c.Leeway)
	require.NoError(t, c.Validate())

	// The same with a custom prefix and an inline secret.
	t.Setenv("ACME_GOOGLE_CLIENT_ID", "x.apps.googleusercontent.com")
	t.Setenv("ACME_GOOGLE_CLIENT_SECRET", "GOCSPX-inline")
	c, err = ConfigFromEnv("ACME_")
	require.NoError(t, err)
	require.Equal(t, []string{"x.apps.googleusercontent.com"}, c.ClientIDs)
	require.Equal(t, "GOCSPX-inline", c.ClientSecret.Reveal())
	require.Empty(t, c.HostedDomains)
}

func TestConfigFromEnvErrors(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secretFile, []byte("x"), 0o600))
	emptyFile := filepath.Join(t.TempDir(), "empty")
	require.NoError(t, os.WriteFile(emptyFile, []byte("\n"), 0o600))

	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"secret twice", map[string]string{"CLIENT_SECRET": "a", "CLIENT_SECRET_FILE": secretFile}, "MCPAUTH_GOOGLE_CLIENT_SECRET and MCPAUTH_GOOGLE_CLIENT_SECRET_FILE are both set"},
		{"missing secret file", map[string]string{"CLIENT_SECRET_FILE": "/nonexistent/secret"}, "MCPAUTH_GOOGLE_CLIENT_SECRET_FILE: cannot read the secret file"},
		{"empty secret file", map[string]string{"CLIENT_SECRET_FILE": emptyFile}, "is empty"},
		{"bad boolean", map[string]string{"STRICT_HOSTED_DOMAIN": "yes please"}, "MCPAUTH_GOOGLE_STRICT_HOSTED_DOMAIN=\"yes please\" is not a boolean"},
		{"bad duration", map[string]string{"HTTP_TIMEOUT": "5"}, "MCPAUTH_GOOGLE_HTTP_TIMEOUT=\"5\" is not a duration"},
		{"bad leeway", map[string]string{"LEEWAY": "soon"}, "MCPAUTH_GOOGLE_LEEWAY"},
		{"domain scopes without =", map[string]string{"DOMAIN_SCOPES": "example.com notes:read"}, "MCPAUTH_GOOGLE_DOMAIN_SCOPES"},
		{"domain scopes without scopes", map[string]string{"DOMAIN_SCOPES": "example.com="}, "grants no scope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clearGoogleEnv(t)
			t.Setenv("MCPAUTH_GOOGLE_CLIENT_ID", testClientID)
			for k, v := range tc.env {
				t.Setenv("MCPAUTH_GOOGLE_"+k, v)
			}
			_, err := ConfigFromEnv("MCPAUTH")
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestConfigured(t *testing.T) {
	clearGoogleEnv(t)
	c, err := ConfigFromEnv("")
	require.NoError(t, err)
	require.False(t, c.Configured(), "nothing set")

	t.Setenv("MCPAUTH_GOOGLE_HOSTED_DOMAINS", "example.com")
	c, err = ConfigFromEnv("")
	require.NoError(t, err)
	require.False(t, c.Configured(), "only MCPAUTH_GOOGLE_CLIENT_ID turns Google on")

	t.Setenv("MCPAUTH_GOOGLE_CLIENT_ID", testClientID)
	c, err = ConfigFromEnv("")
	require.NoError(t, err)
	require.True(t, c.Configured())
}

func TestConfigPrintsNoSecret(t *testing.T) {
	const secret = "GOCSPX-very-secret-value"
	c := Config{
		ClientIDs:     []string{testClientID},
		ClientSecret:  mcpauth.NewSecret(secret),
		HostedDomains: []string{"example.com"},
		DomainScopes:  map[string][]string{"example.com": {"notes:write"}},
	}
	// Default printing shows every field, the secret as [redacted].
	require.Equal(t, "{ClientIDs:["+testClientID+"] ClientSecret:[redacted] HostedDomains:[example.com] StrictHostedDomain:false "+
		"AllowedEmailDomains:[] AllowedEmails:[] Scopes:[] DomainScopes:map[example.com:[notes:write]] AnyTokenFormat:false "+
		"TokenInfoURL: JWKSURI: HTTPClient:<nil> HTTPTimeout:0s Leeway:0s Now:<nil> Logger:<nil>}", fmt.Sprintf("%+v", c))
	b, err := json.Marshal(c)
	require.NoError(t, err)
	require.Equal(t, `{"ClientIDs":["`+testClientID+`"],"ClientSecret":"[redacted]","HostedDomains":["example.com"],"StrictHostedDomain":false,`+
		`"AllowedEmailDomains":null,"AllowedEmails":null,"Scopes":null,"DomainScopes":{"example.com":["notes:write"]},"AnyTokenFormat":false,`+
		`"TokenInfoURL":"","JWKSURI":"","HTTPTimeout":0,"Leeway":0}`, string(b))
	testutil.NoSecret(t, c, secret)

	// With every kind of field set, and from the environment.
	c.HTTPClient, c.Now, c.Logger = http.DefaultClient, time.Now, slog.Default()
	testutil.NoSecret(t, c, secret)
	t.Setenv("MCPAUTH_GOOGLE_CLIENT_SECRET", secret)
	fromEnv, err := ConfigFromEnv("")
	require.NoError(t, err)
	require.Equal(t, secret, fromEnv.ClientSecret.Reveal())
	testutil.NoSecret(t, fromEnv, secret)

	// Validation errors never carry the secret either. A URL with credentials is
	// refused, and its password is not repeated.
	c.ClientIDs = nil
	c.TokenInfoURL = "https://user:pw@proxy.example.com/tokeninfo"
	err = c.Validate()
	require.EqualError(t, err, "google: Config.ClientIDs is empty: set MCPAUTH_GOOGLE_CLIENT_ID to your OAuth client ID (….apps.googleusercontent.com; several may be given, comma separated)\n"+
		`google: Config.TokenInfoURL: "https://user:xxxxx@proxy.example.com/tokeninfo" contains credentials: remove them from the URL (MCPAUTH_GOOGLE_TOKENINFO_URL)`)
}

func TestEndpoint(t *testing.T) {
	require.Equal(t, oauth2.Endpoint{
		AuthURL:       "https://accounts.google.com/o/oauth2/v2/auth",
		TokenURL:      "https://oauth2.googleapis.com/token",
		DeviceAuthURL: "https://oauth2.googleapis.com/device/code",
		AuthStyle:     oauth2.AuthStyleInParams,
	}, Endpoint())
	require.Equal(t, []string{"openid", "email", "profile"}, DefaultScopes())
	require.Equal(t, []string{"https://accounts.google.com", "accounts.google.com"}, Issuers())

	// Each call returns a fresh value: a caller changing its copy changes nobody else's.
	e, scopes, issuers := Endpoint(), DefaultScopes(), Issuers()
	e.TokenURL, scopes[0], issuers[0] = "https://evil.example/token", "evil", "https://evil.example"
	require.Equal(t, "https://oauth2.googleapis.com/token", Endpoint().TokenURL)
	require.Equal(t, []string{"openid", "email", "profile"}, DefaultScopes())
	require.Equal(t, []string{"https://accounts.google.com", "accounts.google.com"}, Issuers())

	// It plugs into an oauth2.Config as is.
	oc := oauth2.Config{ClientID: testClientID, Endpoint: Endpoint(), Scopes: DefaultScopes(), RedirectURL: "https://mcp.example.com/oauth/callback"}
	u := oc.AuthCodeURL("state-123")
	require.True(t, strings.HasPrefix(u, Endpoint().AuthURL+"?"))
	require.Contains(t, u, "scope=openid+email+profile")
}
