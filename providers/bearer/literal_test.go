package bearer

import (
	"github.com/mcpauth/mcpauth/internal/testutil"

	"testing"
	"time"

	"github.com/mcpauth/mcpauth"
)

// TestLiteralAndEnvConfigsAlike: a Config read by ConfigFromEnv, whatever its prefix, is
// the Config written literally with the same fields, and validates to the same result:
// valid, or with the same mistakes, named with the default prefix's variables.
func TestLiteralAndEnvConfigsAlike(t *testing.T) {
	testutil.LiteralMatchesEnv(t, "", func() (Config, error) { return ConfigFromEnv("APP") }, []testutil.EnvCase[Config]{
		{Name: "valid", Env: map[string]string{"JWKS_URI": "https://idp.example.com/jwks.json", "ISSUER": "https://idp.example.com",
			"AUDIENCE": "https://mcp.example.com", "LEEWAY": "30s"}, Lit: Config{Keys: JWKS{URI: "https://idp.example.com/jwks.json"}, Issuers: []string{"https://idp.example.com"},
			Audience: []string{"https://mcp.example.com"}, Leeway: 30 * time.Second}},
		{Name: "missing key file, which Validate does not read", Env: map[string]string{"PUBLIC_KEY_FILE": "/nonexistent/key.pem",
			"ISSUER": "i", "AUDIENCE": "a"}, Lit: Config{Keys: KeyFiles("/nonexistent/key.pem"), Issuers: []string{"i"}, Audience: []string{"a"}}},
		{Name: "mistakes", Env: map[string]string{"JWKS_URI": "http://idp.example.com/jwks.json", "ALGORITHMS": "none HS256",
			"LEEWAY": "10m"}, Lit: Config{Keys: JWKS{URI: "http://idp.example.com/jwks.json"}, Algorithms: []string{"none", "HS256"}, Leeway: 10 * time.Minute}, Want: []string{"Config.Keys: JWKS.URI: ", "(MCPAUTH_JWKS_URI)", `"none"`,
			"Config.Leeway 10m0s is out of range: use a duration from 0 to 5m0s (MCPAUTH_LEEWAY)", "set MCPAUTH_ISSUER", "set MCPAUTH_AUDIENCE"}},
		{Name: "short HMAC secret", Env: map[string]string{"HMAC_SECRET": "short", "ALGORITHMS": "RS256"}, Lit: Config{Keys: HMAC(mcpauth.NewSecret("short")), Algorithms: []string{"RS256"}}, Want: []string{"Config.Keys: the HMAC secret is 5 bytes", "RS256 needs an asymmetric key", "set MCPAUTH_ISSUER"}},
	})
}
