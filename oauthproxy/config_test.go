package oauthproxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/testutil"
)

// validConfig is a production configuration Validate accepts.
func validConfig(t *testing.T) Config {
	t.Helper()
	const iss = "https://auth.example.com"
	key, err := GenerateSigningKey()
	require.NoError(t, err)
	return Config{
		Issuer:         iss,
		Upstream:       otherUpstream{NewDevUpstream(iss, nil, DevUser{Name: "alice"})},
		Resources:      StaticResources{iss + "/mcp": {"read"}},
		SigningKey:     key,
		EncryptionKeys: []mcpauth.Secret{GenerateEncryptionKey()},
		Logger:         discard,
	}
}

// otherUpstream stands for a real identity provider in configuration tests: it is not
// the development upstream, which needs DevMode.
type otherUpstream struct{ *DevUpstream }

// problems returns the messages of a Validate error, one per problem.
func problems(err error) []string {
	if err == nil {
		return nil
	}
	var out []string
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, e.Error())
		}
		return out
	}
	return []string{err.Error()}
}

func TestValidateReportsEveryProblemAtOnce(t *testing.T) {
	err := Config{
		AutoApprove:           true,
		MetadataDocumentHosts: []string{"127.0.0.1:8443"},
		AccessTokenTTL:        -time.Second,
		RefreshTokenTTL:       -time.Second,
		CodeTTL:               MaxCodeTTL + time.Second,
		AuthorizationTTL:      -time.Second,
		ConsentTTL:            -time.Second,
	}.Validate()
	want := []string{
		"oauthproxy: Config.Issuer is empty",
		"oauthproxy: Config.Upstream is nil",
		"oauthproxy: Config.Resources is nil",
		"oauthproxy: Config.SigningKey is empty",
		"oauthproxy: Config.EncryptionKeys is empty",
		"oauthproxy: Config.AutoApprove is set but Issuer \"\" is not a loopback URL",
		"oauthproxy: Config.MetadataDocumentHosts is set but Issuer \"\" is not a loopback URL",
		"oauthproxy: Config.AccessTokenTTL is negative",
		"oauthproxy: Config.RefreshTokenTTL is negative",
		"oauthproxy: Config.AuthorizationTTL is negative",
		"oauthproxy: Config.ConsentTTL is negative",
		"oauthproxy: Config.CodeTTL is 10m1s: authorization codes live at most 10m0s",
	}
	got := problems(err)
	require.Len(t, got, len(want), "%q", got)
	for i, w := range want {
		assert.True(t, strings.HasPrefix(got[i], w), "problem %d: %q, want it to start with %q", i, got[i], w)
	}

	_, nerr := New(Config{})
	assert.Equal(t, Config{}.Validate().Error(), nerr.Error(), "New reports what Validate does")
}

func TestValidate(t *testing.T) {
	require.NoError(t, validConfig(t).Validate())
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string // "" : valid
	}{
		{"trailing slash", func(c *Config) { c.Issuer = "https://auth.example.com/" }, `Config.Issuer "https://auth.example.com/" ends with a slash: remove it`},
		{"query", func(c *Config) { c.Issuer = "https://auth.example.com?x=1" }, `Config.Issuer "https://auth.example.com?x=1" has a query or fragment: an issuer has none (RFC 8414 §2)`},
		{"empty query", func(c *Config) { c.Issuer = "https://auth.example.com?" }, `has a query or fragment`},
		{"fragment", func(c *Config) { c.Issuer = "https://auth.example.com#x" }, `Config.Issuer "https://auth.example.com#x" has a query or fragment`},
		{"relative", func(c *Config) { c.Issuer = "auth.example.com" }, `Config.Issuer "auth.example.com" is not an absolute URL: give the full https:// URL, such as https://mcp.example.com`},
		{"credentials", func(c *Config) { c.Issuer = "https://admin:hunter2@auth.example.com" }, `Config.Issuer "https://admin:xxxxx@auth.example.com" contains credentials: remove them`},
		{"another scheme", func(c *Config) { c.Issuer = "ftp://auth.example.com" }, `has scheme "ftp": use an https:// URL`},
		{"http on a public host", func(c *Config) { c.Issuer = "http://auth.example.com" }, `Config.Issuer "http://auth.example.com" must use https`},
		{"http on a loopback-looking name", func(c *Config) { c.Issuer = "http://localhost.example.com" }, `must use https`},
		{"http on 127.0.0.1", func(c *Config) { c.Issuer = "http://127.0.0.1:8080" }, ""},
		{"http on localhost", func(c *Config) { c.Issuer = "http://localhost:8080" }, ""},
		{"http on ::1", func(c *Config) { c.Issuer = "http://[::1]:8080" }, ""},
		{"with a path", func(c *Config) { c.Issuer = "https://example.com/auth" }, ""},
		{"AutoApprove on https", func(c *Config) { c.AutoApprove = true }, `Config.AutoApprove is set but Issuer "https://auth.example.com" is not a loopback URL`},
		{"AutoApprove on loopback", func(c *Config) { c.AutoApprove, c.Issuer = true, "http://127.0.0.1:8080" }, ""},
		{"MetadataDocumentHosts on https", func(c *Config) { c.MetadataDocumentHosts = []string{"127.0.0.1:1"} }, `Config.MetadataDocumentHosts is set but Issuer "https://auth.example.com" is not a loopback URL`},
		{"MetadataDocumentHosts on loopback", func(c *Config) { c.MetadataDocumentHosts, c.Issuer = []string{"127.0.0.1:1"}, "http://127.0.0.1:8080" }, ""},
		{"CodeTTL at the most", func(c *Config) { c.CodeTTL = MaxCodeTTL }, ""},
		{"CodeTTL too long", func(c *Config) { c.CodeTTL = MaxCodeTTL + time.Nanosecond }, "Config.CodeTTL is 10m0.000000001s: authorization codes live at most 10m0s"},
		{"CodeTTL negative", func(c *Config) { c.CodeTTL = -1 }, "Config.CodeTTL is negative"},
		{"no signing key", func(c *Config) { c.SigningKey = mcpauth.Secret{} }, "Config.SigningKey is empty"},
		{"no encryption key", func(c *Config) { c.EncryptionKeys = nil }, "Config.EncryptionKeys is empty"},
		{"no keys in DevMode", func(c *Config) { c.SigningKey, c.EncryptionKeys, c.DevMode = mcpauth.Secret{}, nil, true }, ""},
		{"nil Upstream", func(c *Config) { c.Upstream = nil }, "Config.Upstream is nil"},
		{"development upstream without DevMode", func(c *Config) { c.Upstream = NewDevUpstream(c.Issuer, nil) }, "Config.Upstream is the development upstream, where anyone signs in as anyone, but DevMode is not set"},
		{"development upstream in DevMode", func(c *Config) { c.Upstream, c.DevMode = NewDevUpstream(c.Issuer, nil), true }, ""},
		{"nil Resources", func(c *Config) { c.Resources = nil }, "Config.Resources is nil"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig(t)
			tc.mutate(&c)
			got := problems(c.Validate())
			if tc.want == "" {
				assert.Empty(t, got)
				return
			}
			require.Len(t, got, 1, "%q", got)
			assert.Contains(t, got[0], tc.want)
		})
	}
}

func ecKeyPEM(t *testing.T, curve elliptic.Curve, sec1 bool) mcpauth.Secret {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	require.NoError(t, err)
	if sec1 {
		der, err := x509.MarshalECPrivateKey(k)
		require.NoError(t, err)
		return mcpauth.NewSecret(string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})))
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	require.NoError(t, err)
	return mcpauth.NewSecret(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
}

func TestNewRefusesBadKeysWithoutShowingThem(t *testing.T) {
	const secretText = "s3cr3t-k3y-m4t3r14l-do-not-print"
	garbagePEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte(secretText)}))
	good, err := GenerateSigningKey()
	require.NoError(t, err)
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string
		secret string
	}{
		{"signing key not PEM", func(c *Config) { c.SigningKey = mcpauth.NewSecret(secretText) }, "oauthproxy: Config.SigningKey: it is not PEM", secretText},
		{"signing key PEM of garbage", func(c *Config) { c.SigningKey = mcpauth.NewSecret(garbagePEM) }, "oauthproxy: Config.SigningKey: the private key cannot be parsed", secretText},
		{"signing key a public key", func(c *Config) {
			c.SigningKey = mcpauth.NewSecret(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte(secretText)})))
		}, `oauthproxy: Config.SigningKey: PEM block "PUBLIC KEY" is not a private key`, secretText},
		{"signing key on P-384", func(c *Config) { c.SigningKey = ecKeyPEM(t, elliptic.P384(), false) }, "oauthproxy: Config.SigningKey: the EC key is on P-384: only P-256 (ES256) is supported", ""},
		{"previous signing key", func(c *Config) { c.PreviousSigningKeys = []mcpauth.Secret{good, mcpauth.NewSecret(secretText)} }, "oauthproxy: Config.PreviousSigningKeys[1]: it is not PEM", secretText},
		{"encryption key not base64", func(c *Config) { c.EncryptionKeys = []mcpauth.Secret{mcpauth.NewSecret(secretText + "!")} }, "oauthproxy: Config.EncryptionKeys: encryption key 1 is not 32 bytes in base64", secretText},
		{"encryption key too short", func(c *Config) {
			c.EncryptionKeys = []mcpauth.Secret{GenerateEncryptionKey(), mcpauth.NewSecret(base64.StdEncoding.EncodeToString([]byte(secretText[:16])))}
		}, "oauthproxy: Config.EncryptionKeys: encryption key 2 is not 32 bytes in base64", secretText[:16]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig(t)
			logger, logs := testutil.NewLogger()
			c.Logger = logger
			tc.mutate(&c)
			require.NoError(t, c.Validate(), "Validate does no parsing; New does")
			s, err := New(c)
			require.Error(t, err)
			assert.Nil(t, s)
			assert.True(t, strings.HasPrefix(err.Error(), tc.want), "%q, want it to start with %q", err, tc.want)
			if tc.secret != "" {
				for _, shown := range []string{err.Error(), logs.String()} {
					assert.NotContains(t, shown, tc.secret)
					assert.NotContains(t, shown, base64.StdEncoding.EncodeToString([]byte(tc.secret)))
				}
			}
		})
	}
}

func TestNewAcceptsKeyFormats(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  mcpauth.Secret
		alg  string
	}{
		{"Ed25519 PKCS #8", must(GenerateSigningKey()), "EdDSA"},
		{"P-256 PKCS #8", ecKeyPEM(t, elliptic.P256(), false), "ES256"},
		{"P-256 SEC 1", ecKeyPEM(t, elliptic.P256(), true), "ES256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig(t)
			c.SigningKey = tc.key
			key := GenerateEncryptionKey().Reveal()
			c.EncryptionKeys = []mcpauth.Secret{
				mcpauth.NewSecret(key),
				mcpauth.NewSecret(" " + base64.RawURLEncoding.EncodeToString(must(base64.StdEncoding.DecodeString(key))) + "\n"),
			}
			s, err := New(c)
			require.NoError(t, err)
			assert.Equal(t, tc.alg, s.signer.Method.Alg())
			assert.Contains(t, string(s.jwks), `"alg":"`+tc.alg+`"`)
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestNewInDevModeWarns(t *testing.T) {
	c := validConfig(t)
	c.SigningKey, c.EncryptionKeys, c.DevMode = mcpauth.Secret{}, nil, true
	logger, logs := testutil.NewLogger()
	c.Logger = logger
	s, err := New(c)
	require.NoError(t, err)
	assert.Equal(t, []string{
		`level=WARN msg="oauthproxy: DevMode: generated a throwaway signing key; tokens will not survive a restart (set Config.SigningKey for anything but development)"`,
		`level=WARN msg="oauthproxy: DevMode: generated a throwaway encryption key; stored upstream tokens will not survive a restart (set Config.EncryptionKeys for anything but development)"`,
	}, logs.Lines())
	for _, secret := range []string{s.cfg.SigningKey.Reveal(), s.cfg.EncryptionKeys[0].Reveal()} {
		require.NotEmpty(t, secret)
		assert.NotContains(t, logs.String(), secret)
	}

	// Keys given: nothing generated, nothing said, DevMode or not.
	for _, dev := range []bool{false, true} {
		c := validConfig(t)
		c.DevMode = dev
		logger, logs := testutil.NewLogger()
		c.Logger = logger
		_, err := New(c)
		require.NoError(t, err)
		assert.Empty(t, logs.Lines())
	}
}

func TestNewDefaults(t *testing.T) {
	s, err := New(validConfig(t))
	require.NoError(t, err)
	assert.Equal(t, DefaultAccessTokenTTL, s.cfg.AccessTokenTTL)
	assert.Equal(t, DefaultRefreshTokenTTL, s.cfg.RefreshTokenTTL)
	assert.Equal(t, DefaultCodeTTL, s.cfg.CodeTTL)
	assert.Equal(t, DefaultAuthorizationTTL, s.cfg.AuthorizationTTL)
	assert.Equal(t, DefaultConsentTTL, s.cfg.ConsentTTL)
	assert.Equal(t, DefaultRegistrationRate, s.cfg.RegistrationRate)
	assert.IsType(t, &MemoryStore{}, s.cfg.Store)
	assert.NotNil(t, s.cfg.Now)
	assert.Equal(t, "https://auth.example.com/oauth/callback", s.CallbackURL())
	assert.Equal(t, "https://auth.example.com", s.Issuer())
}

func TestConfigDoesNotPrintItsKeys(t *testing.T) {
	// Every key field of Config is an mcpauth.Secret (or a list of them), which redacts
	// itself wherever it is printed or encoded: a key field of plain string or []byte
	// would fail here.
	secret := reflect.TypeFor[mcpauth.Secret]()
	keys := 0
	for f := range reflect.TypeFor[Config]().Fields() {
		if !strings.Contains(f.Name, "Key") {
			continue
		}
		keys++
		if ft := f.Type; ft != secret && !(ft.Kind() == reflect.Slice && ft.Elem() == secret) {
			t.Errorf("Config.%s is %s: hold keys as mcpauth.Secret", f.Name, ft)
		}
	}
	if keys != 3 {
		t.Errorf("found %d key fields, want 3 (SigningKey, PreviousSigningKeys, EncryptionKeys)", keys)
	}
	c := validConfig(t)
	type printed struct {
		SigningKey          mcpauth.Secret
		PreviousSigningKeys []mcpauth.Secret
		EncryptionKeys      []mcpauth.Secret
	}
	testutil.NoSecret(t, printed{c.SigningKey, c.PreviousSigningKeys, c.EncryptionKeys}, c.SigningKey.Reveal())
}
