package bearer

import (
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
	ok := Config{Keys: JWKS{URI: jwks}, Issuers: []string{"https://idp.example.com"}, Audience: []string{"https://mcp.example.com"}}
	require.NoError(t, ok.Validate())

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)

	cases := []struct {
		name string
		edit func(c *Config)
		want []string
	}{
		{"no key source", func(c *Config) { c.Keys = nil }, []string{
			"bearer: Config.Keys is unset: use bearer.JWKS{URI: ...} (MCPAUTH_JWKS_URI), bearer.KeyFiles(...) (MCPAUTH_PUBLIC_KEY_FILE), bearer.StaticKeys(...) or bearer.HMAC(...) (MCPAUTH_HMAC_SECRET)"}},
		{"nil *JWKS", func(c *Config) { c.Keys = (*JWKS)(nil) }, []string{"Config.Keys is unset"}},
		// Two key sources cannot be configured: see "two key variables" in TestConfigFromEnv.
		{"empty StaticKeys", func(c *Config) { c.Keys = StaticKeys() }, []string{"Config.Keys: StaticKeys has no keys"}},
		{"empty KeyFiles", func(c *Config) { c.Keys = KeyFiles() }, []string{"Config.Keys: KeyFiles has no files"}},
		{"empty HMAC secret", func(c *Config) { c.Keys = HMAC(mcpauth.Secret{}) }, []string{"Config.Keys: the HMAC secret is 0 bytes"}},
		{"short HMAC secret", func(c *Config) { c.Keys = HMAC(mcpauth.NewSecret("short")) }, []string{"Config.Keys: the HMAC secret is 5 bytes: an HMAC secret must be at least 32 bytes"}},
		{"missing issuers", func(c *Config) { c.Issuers = nil }, []string{`bearer: Config.Issuers is empty: set MCPAUTH_ISSUER (the "iss" value of the tokens to accept) or set SkipIssuerCheck`}},
		{"empty issuer", func(c *Config) { c.Issuers = []string{"a", " "} }, []string{"Config.Issuers[1] is empty"}},
		{"missing audience", func(c *Config) { c.Audience = nil }, []string{"bearer: Config.Audience is empty: set MCPAUTH_AUDIENCE (the resource URI of the service) or set SkipAudienceCheck"}},
		{"empty audience", func(c *Config) { c.Audience = []string{""} }, []string{"Config.Audience[0] is empty"}},
		{"alg none", func(c *Config) { c.Algorithms = []string{"RS256", "none"} }, []string{`Config.Algorithms: "none" (unsigned tokens) is never accepted`}},
		{"alg None", func(c *Config) { c.Algorithms = []string{"None"} }, []string{`"none" (unsigned tokens) is never accepted`}},
		{"unknown alg", func(c *Config) { c.Algorithms = []string{"RS1"} }, []string{`Config.Algorithms: unknown algorithm "RS1"`}},
		{"HMAC alg with JWKS", func(c *Config) { c.Algorithms = []string{"RS256", "HS256"} }, []string{"Config.Algorithms: HS256 needs an HMAC secret but the keys are asymmetric"}},
		{"HMAC alg with public keys", func(c *Config) {
			c.Keys = StaticKeys(&rsaKey.PublicKey)
			c.Algorithms = []string{"hs384"}
		}, []string{"Config.Algorithms: HS384 needs an HMAC secret but the keys are asymmetric"}},
		{"asymmetric alg with HMAC", func(c *Config) { c.Keys = HMAC(secret); c.Algorithms = []string{"RS256"} }, []string{"Config.Algorithms: RS256 needs an asymmetric key but Config.Keys is an HMAC secret"}},
		{"leeway too large", func(c *Config) { c.Leeway = 6 * time.Minute }, []string{"Config.Leeway 6m0s is out of range: use a duration from 0 to 5m0s (MCPAUTH_LEEWAY)"}},
		{"negative leeway", func(c *Config) { c.Leeway = -time.Second }, []string{"Config.Leeway -1s is out of range"}},
		{"negative MaxTokenSize", func(c *Config) { c.MaxTokenSize = -1 }, []string{"Config.MaxTokenSize -1 is negative"}},
		{"negative HTTPTimeout", func(c *Config) { c.Keys = JWKS{URI: jwks, HTTPTimeout: -1} }, []string{"Config.Keys: JWKS.HTTPTimeout -1ns is negative"}},
		{"negative RefreshInterval", func(c *Config) { c.Keys = JWKS{URI: jwks, RefreshInterval: -1} }, []string{"Config.Keys: JWKS.RefreshInterval -1ns is negative"}},
		{"negative UnknownKIDRefreshInterval", func(c *Config) { c.Keys = JWKS{URI: jwks, UnknownKIDRefreshInterval: -1} }, []string{"Config.Keys: JWKS.UnknownKIDRefreshInterval -1ns is negative"}},
		{"empty scope claim", func(c *Config) { c.ScopeClaims = []string{""} }, []string{"Config.ScopeClaims[0] is empty"}},
		{"empty key file", func(c *Config) { c.Keys = KeyFiles("") }, []string{"Config.Keys: KeyFiles[0] is empty"}},
		{"http JWKS", func(c *Config) { c.Keys = JWKS{URI: "http://idp.example.com/jwks"} }, []string{"Config.Keys: JWKS.URI", "must use https"}},
		{"http *JWKS", func(c *Config) { c.Keys = &JWKS{URI: "http://idp.example.com/jwks"} }, []string{"Config.Keys: JWKS.URI", "must use https"}},
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
		c.Keys = StaticKeys(&rsaKey.PublicKey)
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
		t.Setenv("MCPAUTH_LEEWAY", "45s")
		t.Setenv("MCPAUTH_TENANT_CLAIM", "org_id")
		t.Setenv("MCPAUTH_ROLES_CLAIM", "groups")
		c, err := ConfigFromEnv("")
		require.NoError(t, err)
		require.Equal(t, JWKS{URI: "https://idp.example.com/jwks.json"}, c.Keys)
		require.Equal(t, []string{"https://idp.example.com", "https://idp2.example.com"}, c.Issuers)
		require.Equal(t, []string{"https://a.example", "https://b.example"}, c.Audience)
		require.Equal(t, []string{"RS256", "ES256"}, c.Algorithms)
		require.Equal(t, 45*time.Second, c.Leeway)
		require.Equal(t, "org_id", c.TenantClaim)
		require.Equal(t, "groups", c.RolesClaim)
	})
	t.Run("key files", func(t *testing.T) {
		t.Setenv("MCPAUTH_PUBLIC_KEY_FILE", "/a.pem, /b.pem")
		c, err := ConfigFromEnv("")
		require.NoError(t, err)
		require.Equal(t, KeyFiles("/a.pem", "/b.pem"), c.Keys)
	})
	t.Run("two key variables", func(t *testing.T) {
		t.Setenv("MCPAUTH_JWKS_URI", "https://idp.example.com/jwks.json")
		t.Setenv("MCPAUTH_PUBLIC_KEY_FILE", "/a.pem")
		t.Setenv("MCPAUTH_HMAC_SECRET", "env-secret-0123456789abcdef0123456789")
		_, err := ConfigFromEnv("")
		require.ErrorContains(t, err, "bearer: MCPAUTH_JWKS_URI and MCPAUTH_PUBLIC_KEY_FILE and MCPAUTH_HMAC_SECRET are all set: set one of MCPAUTH_JWKS_URI, MCPAUTH_PUBLIC_KEY_FILE or MCPAUTH_HMAC_SECRET (or MCPAUTH_HMAC_SECRET_FILE)")
		require.NotContains(t, err.Error(), "env-secret")
	})
	t.Run("HMAC secret", func(t *testing.T) {
		t.Setenv("MCPAUTH_HMAC_SECRET", "env-secret-0123456789abcdef0123456789")
		c, err := ConfigFromEnv("MCPAUTH")
		require.NoError(t, err)
		require.Equal(t, "env-secret-0123456789abcdef0123456789", hmacSecret(t, c))
	})
	t.Run("HMAC secret file, trailing newline trimmed", func(t *testing.T) {
		t.Setenv("MCPAUTH_HMAC_SECRET_FILE", secretFile)
		c, err := ConfigFromEnv("MCPAUTH")
		require.NoError(t, err)
		require.Equal(t, "file-secret-0123456789abcdef0123456789", hmacSecret(t, c))
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
		require.Equal(t, JWKS{URI: "https://idp.example.com/jwks.json"}, c.Keys)
		require.Empty(t, c.Issuers)
		// Validation errors are those of the same literal Config: they name the
		// variables with the default prefix.
		err = c.Validate()
		require.EqualError(t, err, Config{Keys: c.Keys}.Validate().Error())
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
		Keys:        HMAC(mcpauth.NewSecret(secret)),
		Issuers:     []string{"https://issuer.example"},
		Audience:    []string{"https://mcp.example.com"},
		Algorithms:  []string{"HS256"},
		Leeway:      time.Second,
		RoleScopes:  scopes.RoleMap{"admin": {"admin"}},
		ScopeClaims: []string{"permissions"},
	}
	// Default printing shows every field, the secret as [redacted].
	require.Equal(t, "{Keys:{Secret:[redacted]} Issuers:[https://issuer.example] SkipIssuerCheck:false "+
		"Audience:[https://mcp.example.com] SkipAudienceCheck:false Algorithms:[HS256] Leeway:1s ExpirationOptional:false AllowMissingSubject:false "+
		"ScopeClaims:[permissions] RolesClaim: RoleScopes:map[admin:[admin]] TenantClaim: MaxTokenSize:0 "+
		"Logger:<nil> Now:<nil> ProviderName:}", fmt.Sprintf("%+v", c))
	b, err := json.Marshal(c)
	require.NoError(t, err)
	require.Equal(t, `{"Keys":{"Secret":"[redacted]"},"Issuers":["https://issuer.example"],`+
		`"SkipIssuerCheck":false,"Audience":["https://mcp.example.com"],"SkipAudienceCheck":false,"Algorithms":["HS256"],"Leeway":1000000000,`+
		`"ExpirationOptional":false,"AllowMissingSubject":false,"ScopeClaims":["permissions"],"RolesClaim":"","RoleScopes":{"admin":["admin"]},`+
		`"TenantClaim":"","MaxTokenSize":0,"ProviderName":""}`, string(b))
	testutil.NoSecret(t, c, secret)

	// With every kind of field set, and from the environment.
	c.Now, c.Logger = time.Now, slog.Default()
	testutil.NoSecret(t, c, secret)
	// The other key sources hold no secret; they print in full.
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	for _, k := range []Keys{StaticKeys(pub), KeyFiles("/k.pem"), JWKS{URI: "https://idp.example/jwks", HTTPClient: http.DefaultClient}} {
		b, err := json.Marshal(Config{Keys: k})
		require.NoError(t, err)
		require.NotContains(t, string(b), "HTTPClient")
		require.NotEmpty(t, fmt.Sprintf("%+v", Config{Keys: k}))
	}
	t.Setenv("MCPAUTH_HMAC_SECRET", secret)
	fromEnv, err := ConfigFromEnv("")
	require.NoError(t, err)
	require.Equal(t, secret, hmacSecret(t, fromEnv))
	testutil.NoSecret(t, fromEnv, secret)
}

// hmacSecret returns the value of the HMAC secret of c.Keys.
func hmacSecret(t *testing.T, c Config) string {
	t.Helper()
	k, ok := c.Keys.(hmacKey)
	require.True(t, ok, "Config.Keys is %T, not HMAC", c.Keys)
	return k.Secret.Reveal()
}
