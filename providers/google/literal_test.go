package google

import (
	"github.com/mcpauth/mcpauth/internal/testutil"

	"testing"
	"time"
)

// TestLiteralAndEnvConfigsAlike: a Config read by ConfigFromEnv, whatever its prefix, is
// the Config written literally with the same fields, and validates to the same result:
// valid, or with the same mistakes, named with the default prefix's variables.
func TestLiteralAndEnvConfigsAlike(t *testing.T) {
	testutil.LiteralMatchesEnv(t, "GOOGLE_", func() (Config, error) { return ConfigFromEnv("APP") }, []testutil.EnvCase[Config]{
		{Name: "valid", Env: map[string]string{"CLIENT_ID": "x.apps.googleusercontent.com", "HOSTED_DOMAINS": "example.com",
			"DOMAIN_SCOPES": "example.com=notes:read notes:write\ncorp.example=admin", "LEEWAY": "5s"}, Lit: Config{ClientIDs: []string{"x.apps.googleusercontent.com"}, HostedDomains: []string{"example.com"},
			DomainScopes: map[string][]string{"example.com": {"notes:read", "notes:write"}, "corp.example": {"admin"}},
			Leeway:       5 * time.Second}},
		{Name: "mistakes", Env: map[string]string{"HOSTED_DOMAINS": "a@b.com", "STRICT_HOSTED_DOMAIN": "true", "LEEWAY": "10m",
			"TOKENINFO_URL": "http://tokeninfo.example.com"}, Lit: Config{HostedDomains: []string{"a@b.com"}, StrictHostedDomain: true, Leeway: 10 * time.Minute,
			TokenInfoURL: "http://tokeninfo.example.com"}, Want: []string{"Config.ClientIDs is empty: set MCPAUTH_GOOGLE_CLIENT_ID", `Config.HostedDomains[0] = "a@b.com" is not a domain name`,
			"(MCPAUTH_GOOGLE_HOSTED_DOMAINS)", "Config.TokenInfoURL: ", "(MCPAUTH_GOOGLE_TOKENINFO_URL)",
			"Config.Leeway 10m0s is out of range: use a duration from 0 to 5m0s (MCPAUTH_GOOGLE_LEEWAY)"}},
	})
}
