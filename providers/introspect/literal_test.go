package introspect

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
		{"valid", map[string]string{"INTROSPECTION_URL": "https://as.example.com/introspect", "INTROSPECTION_CLIENT_ID": "rs",
			"INTROSPECTION_CLIENT_SECRET": "s3cret", "AUDIENCE": "https://mcp.example.com", "INTROSPECTION_TIMEOUT": "3s"},
			Config{IntrospectionURL: "https://as.example.com/introspect", ClientID: "rs", ClientSecret: mcpauth.NewSecret("s3cret"),
				Audience: []string{"https://mcp.example.com"}, HTTPTimeout: 3 * time.Second}, nil},
		{"mistakes", map[string]string{"INTROSPECTION_URL": "http://as.example.com/introspect", "INTROSPECTION_AUTH_METHOD": "private_key_jwt",
			"INTROSPECTION_TIMEOUT": "-1s", "LEEWAY": "10m"},
			Config{IntrospectionURL: "http://as.example.com/introspect", AuthMethod: "private_key_jwt", HTTPTimeout: -time.Second,
				Leeway: 10 * time.Minute},
			[]string{"Config.IntrospectionURL: ", "(MCPAUTH_INTROSPECTION_URL)", "set MCPAUTH_INTROSPECTION_CLIENT_ID",
				"set MCPAUTH_INTROSPECTION_CLIENT_SECRET (or MCPAUTH_INTROSPECTION_CLIENT_SECRET_FILE)",
				`Config.AuthMethod "private_key_jwt" is not supported`, "(MCPAUTH_INTROSPECTION_AUTH_METHOD)", "set MCPAUTH_AUDIENCE",
				"Config.Leeway 10m0s is out of range: use a duration from 0 to 5m0s (MCPAUTH_LEEWAY)",
				"Config.HTTPTimeout -1s is negative: leave it 0 for the default (5s) (MCPAUTH_INTROSPECTION_TIMEOUT)"}},
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
