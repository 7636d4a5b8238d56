package bearer

import (
	"fmt"
	"testing"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/stretchr/testify/require"
)

// TestLiteralAndEnvConfigsAlike: a Config read by ConfigFromEnv, whatever its prefix, is
// the Config written literally with the same fields, and validates to the same result:
// valid, or with the same mistakes, named with the default prefix's variables.
func TestLiteralAndEnvConfigsAlike(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		lit  Config
		want []string // in Validate's error; none: valid
	}{
		{"valid", map[string]string{"JWKS_URI": "https://idp.example.com/jwks.json", "ISSUER": "https://idp.example.com",
			"AUDIENCE": "https://mcp.example.com", "LEEWAY": "30s"},
			Config{Keys: JWKS{URI: "https://idp.example.com/jwks.json"}, Issuers: []string{"https://idp.example.com"},
				Audience: []string{"https://mcp.example.com"}, Leeway: 30 * time.Second}, nil},
		{"missing key file, which Validate does not read", map[string]string{"PUBLIC_KEY_FILE": "/nonexistent/key.pem",
			"ISSUER": "i", "AUDIENCE": "a"},
			Config{Keys: KeyFiles("/nonexistent/key.pem"), Issuers: []string{"i"}, Audience: []string{"a"}}, nil},
		{"mistakes", map[string]string{"JWKS_URI": "http://idp.example.com/jwks.json", "ALGORITHMS": "none HS256",
			"LEEWAY": "10m"},
			Config{Keys: JWKS{URI: "http://idp.example.com/jwks.json"}, Algorithms: []string{"none", "HS256"}, Leeway: 10 * time.Minute},
			[]string{"Config.Keys: JWKS.URI: ", "(MCPAUTH_JWKS_URI)", `"none"`,
				"Config.Leeway 10m0s is out of range: use a duration from 0 to 5m0s (MCPAUTH_LEEWAY)", "set MCPAUTH_ISSUER", "set MCPAUTH_AUDIENCE"}},
		{"short HMAC secret", map[string]string{"HMAC_SECRET": "short", "ALGORITHMS": "RS256"},
			Config{Keys: HMAC(mcpauth.NewSecret("short")), Algorithms: []string{"RS256"}},
			[]string{"Config.Keys: the HMAC secret is 5 bytes", "RS256 needs an asymmetric key", "set MCPAUTH_ISSUER"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv("APP_"+k, v)
			}
			c, err := ConfigFromEnv("APP")
			require.NoError(t, err)
			require.Equal(t, tc.lit, c)
			lerr, eerr := tc.lit.Validate(), c.Validate()
			require.Equal(t, fmt.Sprint(lerr), fmt.Sprint(eerr))
			if len(tc.want) == 0 {
				require.NoError(t, eerr)
			}
			for _, w := range tc.want {
				require.ErrorContains(t, eerr, w)
			}
		})
	}
}
