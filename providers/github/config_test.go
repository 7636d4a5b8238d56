package github

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/testutil"
)

func TestValidateNamesTheField(t *testing.T) {
	ok := Config{AllowedOrgs: []string{"acme"}}
	require.NoError(t, ok.Validate())

	cases := []struct {
		name string
		edit func(c *Config)
		want []string
	}{
		{"no rule", func(c *Config) { c.AllowedOrgs = nil }, []string{
			"github: no access rule is set, so every GitHub account would be accepted: set AllowedUsers (MCPAUTH_GITHUB_ALLOWED_USERS), AllowedOrgs (MCPAUTH_GITHUB_ALLOWED_ORGS) or AllowedTeams (MCPAUTH_GITHUB_ALLOWED_TEAMS), or set Enabled (MCPAUTH_GITHUB_ENABLED=true) to accept any GitHub user"}},
		{"scopes are not rules", func(c *Config) { c.AllowedOrgs = nil; c.OrgScopes = map[string][]string{"acme": {"a"}} }, []string{"no access rule is set"}},
		{"empty user", func(c *Config) { c.AllowedUsers = []string{"ok", " "} }, []string{"github: Config.AllowedUsers[1] is empty: remove it (MCPAUTH_GITHUB_ALLOWED_USERS)"}},
		{"user with @", func(c *Config) { c.AllowedUsers = []string{"@octocat"} }, []string{`github: Config.AllowedUsers[0] "@octocat" starts with @: give the bare login, "octocat" (MCPAUTH_GITHUB_ALLOWED_USERS)`}},
		{"user with a space", func(c *Config) { c.AllowedUsers = []string{"octo cat"} }, []string{`Config.AllowedUsers[0] "octo cat" is not a GitHub login: use letters, digits and hyphens only`}},
		{"empty org", func(c *Config) { c.AllowedOrgs = []string{""} }, []string{`github: Config.AllowedOrgs[0] "" is empty: remove it (MCPAUTH_GITHUB_ALLOWED_ORGS)`}},
		{"team given as org", func(c *Config) { c.AllowedOrgs = []string{"acme/platform"} }, []string{`Config.AllowedOrgs[0] "acme/platform" contains "/": give the organization's name alone (teams go in AllowedTeams / TeamScopes as "org/team-slug")`}},
		{"org URL", func(c *Config) { c.AllowedOrgs = []string{"https://github.com/acme"} }, []string{`Config.AllowedOrgs[0] "https://github.com/acme" contains "/"`}},
		{"team without org", func(c *Config) { c.AllowedTeams = []string{"platform"} }, []string{`github: Config.AllowedTeams[0] "platform" is not "org/team-slug": give the organization and the team's slug, as in https://github.com/orgs/ORG/teams/SLUG (MCPAUTH_GITHUB_ALLOWED_TEAMS)`}},
		{"team with display name", func(c *Config) { c.AllowedTeams = []string{"acme/Platform Team"} }, []string{`Config.AllowedTeams[0] "acme/Platform Team" has an invalid team slug: use the slug (lower-case, hyphens instead of spaces), not the team's display name`}},
		{"team with three parts", func(c *Config) { c.AllowedTeams = []string{"acme/a/b"} }, []string{`Config.AllowedTeams[0] "acme/a/b" is not "org/team-slug"`}},
		{"bad OrgScopes key", func(c *Config) { c.OrgScopes = map[string][]string{"acme/x": {"a"}} }, []string{`github: Config.OrgScopes key "acme/x" contains "/"`, "(MCPAUTH_GITHUB_ORG_SCOPES)"}},
		{"bad TeamScopes key", func(c *Config) { c.TeamScopes = map[string][]string{"acme": {"a"}} }, []string{`github: Config.TeamScopes key "acme" is not "org/team-slug"`, "(MCPAUTH_GITHUB_TEAM_SCOPES)"}},
		{"empty client id", func(c *Config) { c.AllowedClientIDs = []string{""} }, []string{"Config.AllowedClientIDs[0] is empty: remove it (MCPAUTH_GITHUB_ALLOWED_CLIENT_IDS)"}},
		{"http API URL", func(c *Config) { c.APIBaseURL = "http://ghe.example.com/api/v3" }, []string{`github: Config.APIBaseURL: "http://ghe.example.com/api/v3" must use https: http is accepted only for loopback hosts (127.0.0.0/8, ::1, localhost) (MCPAUTH_GITHUB_API_URL)`}},
		{"relative API URL", func(c *Config) { c.APIBaseURL = "api.github.com" }, []string{`Config.APIBaseURL: "api.github.com" is not an absolute URL: give the full https:// URL`}},
		{"API URL with credentials", func(c *Config) { c.APIBaseURL = "https://u:p@ghe.example.com/api/v3" }, []string{`Config.APIBaseURL: "https://u:xxxxx@ghe.example.com/api/v3" contains credentials`}},
		{"API URL with query", func(c *Config) { c.APIBaseURL = "https://ghe.example.com/api/v3?x=1" }, []string{"has a query or fragment: give the base URL only"}},
		{"ftp web URL", func(c *Config) { c.WebBaseURL = "ftp://ghe.example.com" }, []string{`github: Config.WebBaseURL: "ftp://ghe.example.com" has scheme "ftp": use an https:// URL (MCPAUTH_GITHUB_WEB_URL)`}},
		{"negative timeout", func(c *Config) { c.HTTPTimeout = -time.Second }, []string{"github: Config.HTTPTimeout -1s is negative: leave it 0 for the default (5s) (MCPAUTH_GITHUB_HTTP_TIMEOUT)"}},
		{"user agent with a line break", func(c *Config) { c.UserAgent = "a\r\nX: y" }, []string{"Config.UserAgent contains a line break"}},
		{"secret without id", func(c *Config) { c.ClientSecret = mcpauth.NewSecret("s") }, []string{"github: Config.ClientSecret is set without Config.ClientID: set MCPAUTH_GITHUB_CLIENT_ID too, or remove the secret"}},
		{"several problems", func(c *Config) { c.AllowedOrgs = []string{"a/b"}; c.HTTPTimeout = -1 }, []string{"Config.AllowedOrgs[0]", "Config.HTTPTimeout"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			err := c.Validate()
			require.Error(t, err)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
			_, err = New(c)
			require.ErrorContains(t, err, tc.want[0], "New validates")
		})
	}

	t.Run("enabled without rules", func(t *testing.T) {
		require.NoError(t, Config{Enabled: true}.Validate())
	})
	t.Run("errors name the variables with the default prefix", func(t *testing.T) {
		t.Setenv("APP_GITHUB_ALLOWED_ORGS", "a/b")
		c, err := ConfigFromEnv("APP")
		require.NoError(t, err)
		require.ErrorContains(t, c.Validate(), "(MCPAUTH_GITHUB_ALLOWED_ORGS)")
	})
}

func TestBaseURLs(t *testing.T) {
	cases := []struct{ api, web, wantAPI, wantWeb string }{
		{"", "", "https://api.github.com", "https://github.com"},
		{"https://api.github.com/", "", "https://api.github.com", "https://github.com"},
		{"", "https://github.com", "https://api.github.com", "https://github.com"},
		{"", "https://ghe.example.com/", "https://ghe.example.com/api/v3", "https://ghe.example.com"},
		{"https://ghe.example.com/api/v3/", "", "https://ghe.example.com/api/v3", "https://ghe.example.com"},
		{"https://api.ghe.example.com", "https://ghe.example.com", "https://api.ghe.example.com", "https://ghe.example.com"},
		{"http://127.0.0.1:8080", "", "http://127.0.0.1:8080", "http://127.0.0.1:8080"},
	}
	for _, tc := range cases {
		s, err := Config{Enabled: true, APIBaseURL: tc.api, WebBaseURL: tc.web}.prepare()
		require.NoError(t, err)
		require.Equal(t, tc.wantAPI, s.apiRoot, "%+v", tc)
		require.Equal(t, tc.wantWeb, s.webBase, "%+v", tc)
	}
}

func TestEndpoint(t *testing.T) {
	e := Endpoint("")
	require.Equal(t, "https://github.com/login/oauth/authorize", e.AuthURL)
	require.Equal(t, "https://github.com/login/oauth/access_token", e.TokenURL)
	require.Equal(t, "https://github.com/login/device/code", e.DeviceAuthURL)
	e = Endpoint("https://ghe.example.com/")
	require.Equal(t, "https://ghe.example.com/login/oauth/authorize", e.AuthURL)
	require.Equal(t, "https://ghe.example.com/login/oauth/access_token", e.TokenURL)
	require.Equal(t, []string{"read:user", "read:org"}, DefaultScopes())
	DefaultScopes()[0] = "admin:org"
	require.Equal(t, []string{"read:user", "read:org"}, DefaultScopes(), "a caller's change stays in its copy")
}

func TestConfigFromEnv(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(secretFile, []byte("file-secret\n"), 0o600))

	t.Run("every variable", func(t *testing.T) {
		t.Setenv("MCPAUTH_GITHUB_ALLOWED_USERS", "octocat, hubot")
		t.Setenv("MCPAUTH_GITHUB_ALLOWED_ORGS", "acme globex")
		t.Setenv("MCPAUTH_GITHUB_ALLOWED_TEAMS", "acme/platform,acme/security")
		t.Setenv("MCPAUTH_GITHUB_ALLOWED_CLIENT_IDS", "Iv1.abc")
		t.Setenv("MCPAUTH_GITHUB_SCOPES", "notes:read")
		t.Setenv("MCPAUTH_GITHUB_ORG_SCOPES", "acme=notes:write, notes:admin; globex=globex:read")
		t.Setenv("MCPAUTH_GITHUB_TEAM_SCOPES", "acme/platform=admin\nacme/security=audit")
		t.Setenv("MCPAUTH_GITHUB_ENABLED", "true")
		t.Setenv("MCPAUTH_GITHUB_API_URL", "https://ghe.example.com/api/v3")
		t.Setenv("MCPAUTH_GITHUB_WEB_URL", "https://ghe.example.com")
		t.Setenv("MCPAUTH_GITHUB_CLIENT_ID", "Iv1.abc")
		t.Setenv("MCPAUTH_GITHUB_CLIENT_SECRET", "s3cret")
		t.Setenv("MCPAUTH_GITHUB_HTTP_TIMEOUT", "3s")
		c, err := ConfigFromEnv("")
		require.NoError(t, err)
		require.Equal(t, []string{"octocat", "hubot"}, c.AllowedUsers)
		require.Equal(t, []string{"acme", "globex"}, c.AllowedOrgs)
		require.Equal(t, []string{"acme/platform", "acme/security"}, c.AllowedTeams)
		require.Equal(t, []string{"Iv1.abc"}, c.AllowedClientIDs)
		require.Equal(t, []string{"notes:read"}, c.Scopes)
		require.Equal(t, map[string][]string{"acme": {"notes:write", "notes:admin"}, "globex": {"globex:read"}}, c.OrgScopes)
		require.Equal(t, map[string][]string{"acme/platform": {"admin"}, "acme/security": {"audit"}}, c.TeamScopes)
		require.True(t, c.Enabled)
		require.Equal(t, "https://ghe.example.com/api/v3", c.APIBaseURL)
		require.Equal(t, "https://ghe.example.com", c.WebBaseURL)
		require.Equal(t, "Iv1.abc", c.ClientID)
		require.Equal(t, "s3cret", c.ClientSecret.Reveal())
		require.Equal(t, 3*time.Second, c.HTTPTimeout)
		require.True(t, c.Configured())
		require.NoError(t, c.Validate())
	})
	t.Run("prefix", func(t *testing.T) {
		t.Setenv("APP_GITHUB_ALLOWED_USERS", "octocat")
		for _, p := range []string{"APP", "APP_"} {
			c, err := ConfigFromEnv(p)
			require.NoError(t, err)
			require.Equal(t, []string{"octocat"}, c.AllowedUsers)
		}
		c, err := ConfigFromEnv("")
		require.NoError(t, err)
		require.False(t, c.Configured(), "MCPAUTH_GITHUB_* is not set")
	})
	t.Run("secret file", func(t *testing.T) {
		t.Setenv("MCPAUTH_GITHUB_CLIENT_ID", "Iv1.abc")
		t.Setenv("MCPAUTH_GITHUB_CLIENT_SECRET_FILE", secretFile)
		c, err := ConfigFromEnv("MCPAUTH")
		require.NoError(t, err)
		require.Equal(t, "file-secret", c.ClientSecret.Reveal())
	})
	t.Run("enabled alone", func(t *testing.T) {
		t.Setenv("MCPAUTH_GITHUB_ENABLED", "1")
		c, err := ConfigFromEnv("")
		require.NoError(t, err)
		require.True(t, c.Configured())
		require.NoError(t, c.Validate())
	})
	t.Run("any variable makes it configured", func(t *testing.T) {
		t.Setenv("MCPAUTH_GITHUB_CLIENT_ID", "Iv1.abc")
		c, err := ConfigFromEnv("")
		require.NoError(t, err)
		require.True(t, c.Configured())
		require.ErrorContains(t, c.Validate(), "no access rule is set")
	})
	t.Run("enabled=false switches it off", func(t *testing.T) {
		t.Setenv("MCPAUTH_GITHUB_ENABLED", "false")
		t.Setenv("MCPAUTH_GITHUB_ALLOWED_ORGS", "acme")
		c, err := ConfigFromEnv("")
		require.NoError(t, err)
		require.False(t, c.Configured())
	})
	errCases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"both secrets", map[string]string{"MCPAUTH_GITHUB_CLIENT_SECRET": "a", "MCPAUTH_GITHUB_CLIENT_SECRET_FILE": secretFile},
			"github: MCPAUTH_GITHUB_CLIENT_SECRET and MCPAUTH_GITHUB_CLIENT_SECRET_FILE are both set: set only one of them"},
		{"missing secret file", map[string]string{"MCPAUTH_GITHUB_CLIENT_SECRET_FILE": filepath.Join(dir, "nope")},
			"github: MCPAUTH_GITHUB_CLIENT_SECRET_FILE: cannot read the secret file"},
		{"bad boolean", map[string]string{"MCPAUTH_GITHUB_ENABLED": "yes please"},
			`github: MCPAUTH_GITHUB_ENABLED="yes please" is not a boolean: use true or false`},
		{"bad duration", map[string]string{"MCPAUTH_GITHUB_HTTP_TIMEOUT": "5"},
			`github: MCPAUTH_GITHUB_HTTP_TIMEOUT="5" is not a duration: use a Go duration such as 5s`},
		{"grant without key", map[string]string{"MCPAUTH_GITHUB_ORG_SCOPES": "notes:read"},
			`github: MCPAUTH_GITHUB_ORG_SCOPES: entry "notes:read" has no key=: write it as "org=scope scope; org2=scope"`},
		{"grant without scope", map[string]string{"MCPAUTH_GITHUB_TEAM_SCOPES": "acme/platform="},
			`github: MCPAUTH_GITHUB_TEAM_SCOPES: entry "acme/platform=" grants no scope: write it as "org/team=scope scope; org/team2=scope"`},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := ConfigFromEnv("")
			require.ErrorContains(t, err, tc.want)
		})
	}
	t.Run("empty secret file", func(t *testing.T) {
		empty := filepath.Join(dir, "empty")
		require.NoError(t, os.WriteFile(empty, []byte("\n"), 0o600))
		t.Setenv("MCPAUTH_GITHUB_CLIENT_SECRET_FILE", empty)
		_, err := ConfigFromEnv("")
		require.ErrorContains(t, err, "is empty: write the client secret into it")
	})
}

func TestConfigPrintsNoSecret(t *testing.T) {
	const secret = "very-secret-value"
	c := Config{
		AllowedOrgs:  []string{"acme"},
		OrgScopes:    map[string][]string{"acme": {"notes:write"}},
		ClientID:     "Iv1.abc",
		ClientSecret: mcpauth.NewSecret(secret),
		APIBaseURL:   "https://ghe.example.com/api/v3",
	}
	// Default printing shows every field, the secret as [redacted].
	require.Equal(t, "{AllowedUsers:[] AllowedOrgs:[acme] AllowedTeams:[] AllowedClientIDs:[] Scopes:[] OrgScopes:map[acme:[notes:write]] "+
		"TeamScopes:map[] Enabled:false Disabled:false APIBaseURL:https://ghe.example.com/api/v3 WebBaseURL: ClientID:Iv1.abc ClientSecret:[redacted] "+
		"HTTPClient:<nil> HTTPTimeout:0s UserAgent: SkipFormatCheck:false Now:<nil>}", fmt.Sprintf("%+v", c))
	b, err := json.Marshal(c)
	require.NoError(t, err)
	require.Equal(t, `{"AllowedUsers":null,"AllowedOrgs":["acme"],"AllowedTeams":null,"AllowedClientIDs":null,"Scopes":null,`+
		`"OrgScopes":{"acme":["notes:write"]},"TeamScopes":null,"Enabled":false,"Disabled":false,"APIBaseURL":"https://ghe.example.com/api/v3","WebBaseURL":"",`+
		`"ClientID":"Iv1.abc","ClientSecret":"[redacted]","HTTPTimeout":0,"UserAgent":"","SkipFormatCheck":false}`, string(b))
	testutil.NoSecret(t, c, secret)

	// With every kind of field set, and from the environment.
	c.HTTPClient, c.Now = http.DefaultClient, time.Now
	testutil.NoSecret(t, c, secret)
	t.Setenv("MCPAUTH_GITHUB_CLIENT_SECRET", secret)
	fromEnv, err := ConfigFromEnv("")
	require.NoError(t, err)
	require.Equal(t, secret, fromEnv.ClientSecret.Reveal())
	testutil.NoSecret(t, fromEnv, secret)
}
