package introspect

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
		{Name: "valid", Env: map[string]string{"INTROSPECTION_URL": "https://as.example.com/introspect", "INTROSPECTION_CLIENT_ID": "rs",
			"INTROSPECTION_CLIENT_SECRET": "s3cret", "AUDIENCE": "https://mcp.example.com", "INTROSPECTION_TIMEOUT": "3s"}, Lit: Config{IntrospectionURL: "https://as.example.com/introspect", ClientID: "rs", ClientSecret: mcpauth.NewSecret("s3cret"),
			Audience: []string{"https://mcp.example.com"}, HTTPTimeout: 3 * time.Second}},
		{Name: "mistakes", Env: map[string]string{"INTROSPECTION_URL": "http://as.example.com/introspect", "INTROSPECTION_AUTH_METHOD": "private_key_jwt",
			"INTROSPECTION_TIMEOUT": "-1s", "LEEWAY": "10m"}, Lit: Config{IntrospectionURL: "http://as.example.com/introspect", AuthMethod: "private_key_jwt", HTTPTimeout: -time.Second,
			Leeway: 10 * time.Minute}, Want: []string{"Config.IntrospectionURL: ", "(MCPAUTH_INTROSPECTION_URL)", "set MCPAUTH_INTROSPECTION_CLIENT_ID",
			"set MCPAUTH_INTROSPECTION_CLIENT_SECRET (or MCPAUTH_INTROSPECTION_CLIENT_SECRET_FILE)",
			`Config.AuthMethod "private_key_jwt" is not supported`, "(MCPAUTH_INTROSPECTION_AUTH_METHOD)", "set MCPAUTH_AUDIENCE",
			"Config.Leeway 10m0s is out of range: use a duration from 0 to 5m0s (MCPAUTH_LEEWAY)",
			"Config.HTTPTimeout -1s is negative: leave it 0 for the default (5s) (MCPAUTH_INTROSPECTION_TIMEOUT)"}},
	})
}
