package workos

import (
	"github.com/mcpauth/mcpauth/internal/testutil"

	"testing"

	"github.com/mcpauth/mcpauth"
)

// TestLiteralAndEnvConfigsAlike: a Config read by ConfigFromEnv, whatever its prefix, is
// the Config written literally with the same fields, and validates to the same result:
// valid, or with the same mistakes, named with the default prefix's variables.
func TestLiteralAndEnvConfigsAlike(t *testing.T) {
	testutil.LiteralMatchesEnv(t, "", func() (Config, error) { return ConfigFromEnv("APP") }, []testutil.EnvCase[Config]{
		{Name: "valid", Env: map[string]string{"WORKOS_AUTHKIT_DOMAIN": "example.authkit.app", "WORKOS_SCOPES": "notes:read",
			"WORKOS_API_KEY": " sk_test_x ", "AUDIENCE": "https://mcp.example.com"}, Lit: Config{AuthKitDomain: "example.authkit.app", Scopes: []string{"notes:read"}, APIKey: mcpauth.NewSecret("sk_test_x"),
			Audience: []string{"https://mcp.example.com"}}},
		{Name: "mistakes", Env: map[string]string{"WORKOS_AUTHKIT_DOMAIN": "http://example.authkit.app", "WORKOS_ALLOWED_ORGANIZATIONS": "Acme",
			"WORKOS_API_URL": "ftp://api.example.com"}, Lit: Config{AuthKitDomain: "http://example.authkit.app", AllowedOrganizations: []string{"Acme"}, APIBaseURL: "ftp://api.example.com"}, Want: []string{"Config.AuthKitDomain: ", "(MCPAUTH_WORKOS_AUTHKIT_DOMAIN)", "Config.APIBaseURL: ", "(MCPAUTH_WORKOS_API_URL)",
			`Config.AllowedOrganizations[0] = "Acme" is not a WorkOS organization ID`, "(MCPAUTH_WORKOS_ALLOWED_ORGANIZATIONS)"}},
		{Name: "nothing", Lit: Config{}, Want: []string{"nothing is configured: set Config.AuthKitDomain (MCPAUTH_WORKOS_AUTHKIT_DOMAIN)"}},
	})
}
