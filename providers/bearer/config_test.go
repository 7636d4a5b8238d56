package bearer

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/testutil"
	"github.com/mcpauth/mcpauth/scopes"
	"github.com/stretchr/testify/require"
)

func TestValidateNamesTheField(t *testing.T) {
	secret := mcpauth.NewSecret(strings.Repeat("s", 32))
	jwks := "https://idp.example.com/.well-known/jwks.json"
	ok := Config{JWKSURI: jwks, Issuers: []string{"https://idp.example.com"}, Audience: []string{"https://mcp.example.com"}}
	require.NoError(t, ok.Validate())

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)

	cases := []struct {
		name string
		edit func(c *Config)
		want []string
	}{
		{"no key source", func(c *Config) { c.JWKSURI = "" }, []string{
			"bearer: no signing keys are configured: set Config.JWKSURI (MCPAUTH_JWKS_URI), Config.PublicKeyFiles (MCPAUTH_PUBLIC_KEY_FILE), Config.PublicKeys or Config.HMACSecret (MCPAUTH_HMAC_SECRET)"}},
		{"two key sources", func(c *Config) { c.HMACSecret = secret }, []string{"Config.JWKSURI and Config.HMACSecret are all set: configure exactly one key source"}},
		{"three key sources", func(c *Config) { c.HMACSecret = secret; c.PublicKeys = []crypto.PublicKey{&rsaKey.PublicKey} }, []string{"Config.JWKSURI and Config.PublicKeyFiles/PublicKeys and Config.HMACSecret"}},
		{"short HMAC secret", func(c *Config) { c.JWKSURI = ""; c.HMACSecret = mcpauth.NewSecret("short") }, []string{"Config.HMACSecret is 5 bytes: an HMAC secret must be at least 32 bytes"}},
		{"missing issuers", func(c *Config) { c.Issuers = nil }, []string{`bearer: Config.Issuers is empty: set MCPAUTH_ISSUER (the "iss" value of the tokens to accept) or set SkipIssuerCheck`}},
		{"empty issuer", func(c *Config) { c.Issuers = []string{"a", " "} }, []string{"Config.Issuers[1] is empty"}},
		{"missing audience", func(c *Config) { c.Audience = nil }, []string{"bearer: Config.Audience is empty: set MCPAUTH_AUDIENCE (the resource URI of the service) or set SkipAudienceCheck"}},
		{"empty audience", func(c *Config) { c.Audience = []string{""} }, []string{"Config.Audience[0] is empty"}},
		{"alg none", func(c *Config) { c.Algorithms = []string{"RS256", "none"} }, []string{`Config.Algorithms: "none" (unsigned tokens) is never accepted`}},
		{"alg None", func(c *Config) { c.Algorithms = []string{"None"} }, []string{`"none" (unsigned tokens) is never accepted`}},
		{"unknown alg", func(c *Config) { c.Algorithms = []string{"RS1"} }, []string{`Config.Algorithms: unknown algorithm "RS1"`}},
		{"HMAC alg with JWKS", func(c *Config) { c.Algorithms = []string{"RS256", "HS256"} }, []string{"Config.Algorithms: HS256 needs an HMAC secret but the keys are asymmetric"}},
		{"HMAC alg with public keys", func(c *Config) {
			c.JWKSURI = ""
			c.PublicKeys = []crypto.PublicKey{&rsaKey.PublicKey}
			c.Algorithms = []string{"hs384"}
		}, []string{"Config.Algorithms: HS384 needs an HMAC secret but the keys are asymmetric"}},
		{"asymmetric alg with HMAC", func(c *Config) { c.JWKSURI = ""; c.HMACSecret = secret; c.Algorithms = []string{"RS256"} }, []string{"Config.Algorithms: RS256 needs an asymmetric key but only Config.HMACSecret is set"}},
		{"leeway too large", func(c *Config) { c.Leeway = 6 * time.Minute }, []string{"Config.Leeway 6m0s is out of range: use a duration from 0 to 5m0s (MCPAUTH_LEEWAY)"}},
		{"negative leeway", func(c *Config) { c.Leeway = -time.Second }, []string{"Config.Leeway -1s is out of range"}},
		{"negative MaxTokenSize", func(c *Config) { c.MaxTokenSize = -1 }, []string{"Config.MaxTokenSize -1 is negative"}},
		{"negative HTTPTimeout", func(c *Config) { c.HTTPTimeout = -1 }, []string{"Config.HTTPTimeout -1ns is negative"}},
		{"negative RefreshInterval", func(c *Config) { c.RefreshInterval = -1 }, []string{"Config.RefreshInterval -1ns is negative"}},
		{"negative UnknownKIDRefreshInterval", func(c *Config) { c.UnknownKIDRefreshInterval = -1 }, []string{"Config.UnknownKIDRefreshInterval -1ns is negative"}},
		{"empty scope claim", func(c *Config) { c.ScopeClaims = []string{""} }, []string{"Config.ScopeClaims[0] is empty"}},
		{"empty key file", func(c *Config) { c.JWKSURI = ""; c.PublicKeyFiles = []string{""} }, []string{"Config.PublicKeyFiles[0] is empty"}},
		{"http JWKS", func(c *Config) { c.JWKSURI = "http://idp.example.com/jwks" }, []string{"Config.JWKSURI", "must use https"}},
		{"several problems at once", func(c *Config) { c.Issuers = nil; c.Audience = nil; c.Leeway = time.Hour }, []string{"Config.Issuers is empty", "Config.Audience is empty", "Config.Leeway 1h0m0s"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			err := c.Validate()
			require.Error(t, err)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
			_, err = New(c)
			require.ErrorContains(t, err, tc.want[0], "New validates")
		})
	}

	t.Run("skips", func(t *testing.T) {
		c := ok
		c.Issuers, c.Audience = nil, nil
		c.SkipIssuerCheck, c.SkipAudienceCheck = true, true
		require.NoError(t, c.Validate())
	})
	t.Run("factory needs no audience", func(t *testing.T) {
		c := ok
		c.JWKSURI = ""
		c.PublicKeys = []crypto.PublicKey{&rsaKey.PublicKey}
		c.Audience = nil
		require.Error(t, c.Validate())
		f, err := NewFactory(c)
		require.NoError(t, err)
		v, err := f("https://mcp.example.com/x")
		require.NoError(t, err)
		require.Equal(t, []string{"https://mcp.example.com/x"}, v.(*Verifier).audience.Audiences())
	})
}

func TestConfigFromEnv(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(secretFile, []byte("file-secret-0123456789abcdef0123456789\n"), 0o600))

	t.Run("every variable", func(t *testing.T) {
		t.Setenv("MCPAUTH_JWKS_URI", "https://idp.example.com/jwks.json")
		t.Setenv("MCPAUTH_ISSUER", "https://idp.example.com, https://idp2.example.com")
		t.Setenv("MCPAUTH_AUDIENCE", "https://a.example https://b.example")
		t.Setenv("MCPAUTH_ALGORITHMS", "RS256,ES256")
		t.Setenv("MCPAUTH_PUBLIC_KEY_FILE", "/a.pem, /b.pem")
		t.Setenv("MCPAUTH_LEEWAY", "45s")
		t.Setenv("MCPAUTH_TENANT_CLAIM", "org_id")
		t.Setenv("MCPAUTH_ROLES_CLAIM", "groups")
		c, err := ConfigFromEnv("")
		require.NoError(t, err)
		require.Equal(t, "https://idp.example.com/jwks.json", c.JWKSURI)
		require.Equal(t, []string{"https://idp.example.com", "https://idp2.example.com"}, c.Issuers)
		require.Equal(t, []string{"https://a.example", "https://b.example"}, c.Audience)
		require.Equal(t, []string{"RS256", "ES256"}, c.Algorithms)
		require.Equal(t, []string{"/a.pem", "/b.pem"}, c.PublicKeyFiles)
		require.Equal(t, 45*time.Second, c.Leeway)
		require.Equal(t, "org_id", c.TenantClaim)
		require.Equal(t, "groups", c.RolesClaim)
		require.True(t, c.HMACSecret.IsZero())
	})
	t.Run("HMAC secret", func(t *testing.T) {
		t.Setenv("MCPAUTH_HMAC_SECRET", "env-secret-0123456789abcdef0123456789")
		c, err := ConfigFromEnv("MCPAUTH")
		require.NoError(t, err)
		require.Equal(t, "env-secret-0123456789abcdef0123456789", c.HMACSecret.Reveal())
	})
	t.Run("HMAC secret file, trailing newline trimmed", func(t *testing.T) {
		t.Setenv("MCPAUTH_HMAC_SECRET_FILE", secretFile)
		c, err := ConfigFromEnv("MCPAUTH")
		require.NoError(t, err)
		require.Equal(t, "file-secret-0123456789abcdef0123456789", c.HMACSecret.Reveal())
	})
	t.Run("both secrets", func(t *testing.T) {
		t.Setenv("MCPAUTH_HMAC_SECRET", "env-secret-0123456789abcdef0123456789")
		t.Setenv("MCPAUTH_HMAC_SECRET_FILE", secretFile)
		_, err := ConfigFromEnv("MCPAUTH")
		require.ErrorContains(t, err, "MCPAUTH_HMAC_SECRET and MCPAUTH_HMAC_SECRET_FILE are both set: set only one of them")
		require.NotContains(t, err.Error(), "env-secret")
	})
	t.Run("missing secret file", func(t *testing.T) {
		t.Setenv("MCPAUTH_HMAC_SECRET_FILE", filepath.Join(dir, "nope"))
		_, err := ConfigFromEnv("MCPAUTH")
		require.ErrorContains(t, err, "MCPAUTH_HMAC_SECRET_FILE: cannot read the secret file")
	})
	t.Run("empty secret file", func(t *testing.T) {
		empty := filepath.Join(dir, "empty")
		require.NoError(t, os.WriteFile(empty, []byte("\n"), 0o600))
		t.Setenv("MCPAUTH_HMAC_SECRET_FILE", empty)
		_, err := ConfigFromEnv("MCPAUTH")
		require.ErrorContains(t, err, "MCPAUTH_HMAC_SECRET_FILE: the file")
		require.ErrorContains(t, err, "is empty")
	})
	t.Run("bad leeway", func(t *testing.T) {
		t.Setenv("MCPAUTH_LEEWAY", "30")
		_, err := ConfigFromEnv("MCPAUTH")
		require.ErrorContains(t, err, `MCPAUTH_LEEWAY="30" is not a duration: use a Go duration such as 30s`)
	})
	t.Run("custom prefix", func(t *testing.T) {
		t.Setenv("NOTES_JWKS_URI", "https://idp.example.com/jwks.json")
		t.Setenv("MCPAUTH_ISSUER", "https://ignored.example")
		c, err := ConfigFromEnv("NOTES_")
		require.NoError(t, err)
		require.Equal(t, "https://idp.example.com/jwks.json", c.JWKSURI)
		require.Empty(t, c.Issuers)
		// Validation errors are those of the same literal Config: they name the
		// variables with the default prefix.
		err = c.Validate()
		require.EqualError(t, err, Config{JWKSURI: c.JWKSURI}.Validate().Error())
		require.ErrorContains(t, err, "set MCPAUTH_ISSUER")
		require.ErrorContains(t, err, "set MCPAUTH_AUDIENCE")
	})
	t.Run("nothing set", func(t *testing.T) {
		c, err := ConfigFromEnv("EMPTYPREFIX")
		require.NoError(t, err)
		require.Equal(t, Config{}, c)
		require.ErrorContains(t, c.Validate(), "MCPAUTH_JWKS_URI")
	})
	t.Run("end to end", func(t *testing.T) {
		clock := newTestClock()
		is := newIssuerServer(t)
		t.Setenv("MCPAUTH_JWKS_URI", is.iss.JWKSURI())
		t.Setenv("MCPAUTH_ISSUER", is.iss.Issuer())
		t.Setenv("MCPAUTH_AUDIENCE", testAudience)
		c, err := ConfigFromEnv("")
		require.NoError(t, err)
		c.Now = clock.Now
		v := newVerifierT(t, c)
		_, err = v.VerifyToken(t.Context(), mustSign(t, is.iss, claimsAt(clock)))
		require.NoError(t, err)
	})
}

func TestConfigPrintsNoSecret(t *testing.T) {
	const secret = "TOP-SECRET-hmac-value-0123456789abcdef"
	c := Config{
		HMACSecret:  mcpauth.NewSecret(secret),
		Issuers:     []string{"https://issuer.example"},
		Audience:    []string{"https://mcp.example.com"},
		Algorithms:  []string{"HS256"},
		Leeway:      time.Second,
		RoleScopes:  scopes.RoleMap{"admin": {"admin"}},
		ScopeClaims: []string{"permissions"},
	}
	// Default printing shows every field, the secret as [redacted].
	require.Equal(t, "{JWKSURI: PublicKeyFiles:[] PublicKeys:[] HMACSecret:[redacted] Issuers:[https://issuer.example] SkipIssuerCheck:false "+
		"Audience:[https://mcp.example.com] SkipAudienceCheck:false Algorithms:[HS256] Leeway:1s ExpirationOptional:false AllowMissingSubject:false "+
		"ScopeClaims:[permissions] RolesClaim: RoleScopes:map[admin:[admin]] TenantClaim: MaxTokenSize:0 HTTPClient:<nil> HTTPTimeout:0s "+
		"RefreshInterval:0s UnknownKIDRefreshInterval:0s Logger:<nil> Now:<nil> ProviderName:}", fmt.Sprintf("%+v", c))
	b, err := json.Marshal(c)
	require.NoError(t, err)
	require.Equal(t, `{"JWKSURI":"","PublicKeyFiles":null,"PublicKeys":null,"HMACSecret":"[redacted]","Issuers":["https://issuer.example"],`+
		`"SkipIssuerCheck":false,"Audience":["https://mcp.example.com"],"SkipAudienceCheck":false,"Algorithms":["HS256"],"Leeway":1000000000,`+
		`"ExpirationOptional":false,"AllowMissingSubject":false,"ScopeClaims":["permissions"],"RolesClaim":"","RoleScopes":{"admin":["admin"]},`+
		`"TenantClaim":"","MaxTokenSize":0,"HTTPTimeout":0,"RefreshInterval":0,"UnknownKIDRefreshInterval":0,"ProviderName":""}`, string(b))
	testutil.NoSecret(t, c, secret)

	// With every kind of field set, and from the environment.
	c.HTTPClient, c.Now, c.Logger = http.DefaultClient, time.Now, slog.Default()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	c.PublicKeys = []crypto.PublicKey{pub}
	testutil.NoSecret(t, c, secret)
	t.Setenv("MCPAUTH_HMAC_SECRET", secret)
	fromEnv, err := ConfigFromEnv("")
	require.NoError(t, err)
	require.Equal(t, secret, fromEnv.HMACSecret.Reveal())
	testutil.NoSecret(t, fromEnv, secret)
}
