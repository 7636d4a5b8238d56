package github

import (
	"fmt"
	"testing"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/stretchr/testify/require"
)

// TestLiteralAndEnvConfigsAlike: a Config read by ConfigFromEnv, whatever its prefix, is
// the Config written literally with the same fields: it validates to the same result
// (valid, or with the same mistakes, named with the default prefix's variables) and is
// Configured alike.
func TestLiteralAndEnvConfigsAlike(t *testing.T) {
	cases := []struct {
		name       string
		env        map[string]string
		lit        Config
		configured bool
		want       []string // in Validate's error; none: valid
	}{
		{"valid", map[string]string{"ALLOWED_ORGS": "acme", "ORG_SCOPES": "acme=notes:read", "HTTP_TIMEOUT": "3s"},
			Config{AllowedOrgs: []string{"acme"}, OrgScopes: map[string][]string{"acme": {"notes:read"}}, HTTPTimeout: 3 * time.Second}, true, nil},
		{"enabled", map[string]string{"ENABLED": "true"}, Config{Enabled: true}, true, nil},
		{"disabled", map[string]string{"ENABLED": "false", "ALLOWED_USERS": "octocat"},
			Config{Disabled: true, AllowedUsers: []string{"octocat"}}, false, nil},
		{"timeout alone", map[string]string{"HTTP_TIMEOUT": "3s"}, Config{HTTPTimeout: 3 * time.Second}, true,
			[]string{"no access rule is set"}},
		{"mistakes", map[string]string{"ALLOWED_ORGS": "a/b", "HTTP_TIMEOUT": "-1s", "CLIENT_SECRET": "s3cret"},
			Config{AllowedOrgs: []string{"a/b"}, HTTPTimeout: -time.Second, ClientSecret: mcpauth.NewSecret("s3cret")}, true,
			[]string{`Config.AllowedOrgs[0] "a/b" contains "/"`, "(MCPAUTH_GITHUB_ALLOWED_ORGS)",
				"Config.HTTPTimeout -1s is negative: leave it 0 for the default (5s) (MCPAUTH_GITHUB_HTTP_TIMEOUT)",
				"Config.ClientSecret is set without Config.ClientID: set MCPAUTH_GITHUB_CLIENT_ID too"}},
		{"nothing", nil, Config{}, false, []string{"no access rule is set"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv("APP_GITHUB_"+k, v)
			}
			c, err := ConfigFromEnv("APP")
			require.NoError(t, err)
			require.Equal(t, tc.lit, c)
			require.Equal(t, tc.configured, c.Configured())
			require.Equal(t, tc.configured, tc.lit.Configured())
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
	t.Run("enabled and disabled", func(t *testing.T) {
		require.EqualError(t, Config{Enabled: true, Disabled: true}.Validate(),
			"github: Config.Enabled and Config.Disabled are both set: unset one of them (MCPAUTH_GITHUB_ENABLED)")
	})
}
