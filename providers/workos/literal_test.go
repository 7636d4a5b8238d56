package workos

import (
	"fmt"
	"testing"

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
		{"valid", map[string]string{"WORKOS_AUTHKIT_DOMAIN": "example.authkit.app", "WORKOS_SCOPES": "notes:read",
			"WORKOS_API_KEY": " sk_test_x ", "AUDIENCE": "https://mcp.example.com"},
			Config{AuthKitDomain: "example.authkit.app", Scopes: []string{"notes:read"}, APIKey: mcpauth.NewSecret("sk_test_x"),
				Audience: []string{"https://mcp.example.com"}}, nil},
		{"mistakes", map[string]string{"WORKOS_AUTHKIT_DOMAIN": "http://example.authkit.app", "WORKOS_ALLOWED_ORGANIZATIONS": "Acme",
			"WORKOS_API_URL": "ftp://api.example.com"},
			Config{AuthKitDomain: "http://example.authkit.app", AllowedOrganizations: []string{"Acme"}, APIBaseURL: "ftp://api.example.com"},
			[]string{"Config.AuthKitDomain: ", "(MCPAUTH_WORKOS_AUTHKIT_DOMAIN)", "Config.APIBaseURL: ", "(MCPAUTH_WORKOS_API_URL)",
				`Config.AllowedOrganizations[0] = "Acme" is not a WorkOS organization ID`, "(MCPAUTH_WORKOS_ALLOWED_ORGANIZATIONS)"}},
		{"nothing", nil, Config{}, []string{"nothing is configured: set Config.AuthKitDomain (MCPAUTH_WORKOS_AUTHKIT_DOMAIN)"}},
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
