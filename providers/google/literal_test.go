package google

import (
	"fmt"
	"testing"
	"time"

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
		{"valid", map[string]string{"CLIENT_ID": "x.apps.googleusercontent.com", "HOSTED_DOMAINS": "example.com",
			"DOMAIN_SCOPES": "example.com=notes:read notes:write\ncorp.example=admin", "LEEWAY": "5s"},
			Config{ClientIDs: []string{"x.apps.googleusercontent.com"}, HostedDomains: []string{"example.com"},
				DomainScopes: map[string][]string{"example.com": {"notes:read", "notes:write"}, "corp.example": {"admin"}},
				Leeway:       5 * time.Second}, nil},
		{"mistakes", map[string]string{"HOSTED_DOMAINS": "a@b.com", "STRICT_HOSTED_DOMAIN": "true", "LEEWAY": "10m",
			"TOKENINFO_URL": "http://tokeninfo.example.com"},
			Config{HostedDomains: []string{"a@b.com"}, StrictHostedDomain: true, Leeway: 10 * time.Minute,
				TokenInfoURL: "http://tokeninfo.example.com"},
			[]string{"Config.ClientIDs is empty: set MCPAUTH_GOOGLE_CLIENT_ID", `Config.HostedDomains[0] = "a@b.com" is not a domain name`,
				"(MCPAUTH_GOOGLE_HOSTED_DOMAINS)", "Config.TokenInfoURL: ", "(MCPAUTH_GOOGLE_TOKENINFO_URL)",
				"Config.Leeway 10m0s is out of range: use a duration from 0 to 5m0s (MCPAUTH_GOOGLE_LEEWAY)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv("APP_GOOGLE_"+k, v)
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
