package github

import (
	"cmp"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/config"
	"github.com/mcpauth/mcpauth/internal/upstream"
	"golang.org/x/oauth2"
)

const (
	// DefaultAPIBaseURL and DefaultWebBaseURL are github.com's REST API and web origins.
	DefaultAPIBaseURL = "https://api.github.com"
	DefaultWebBaseURL = "https://github.com"
	// DefaultHTTPTimeout is the default Config.HTTPTimeout.
	DefaultHTTPTimeout = 5 * time.Second
	// DefaultUserAgent is the default Config.UserAgent. GitHub refuses API requests
	// without a User-Agent.
	DefaultUserAgent = "mcpauth-github"
)

// DefaultScopes returns, in a new slice on every call, the GitHub OAuth scopes to request
// when signing users in: "read:user" to read the profile, and "read:org", which GitHub
// needs to show memberships (request it only when the Config names orgs or teams).
// GitHub Apps ignore OAuth scopes: their user tokens need the organization's "Members"
// permission (read) instead.
func DefaultScopes() []string { return []string{"read:user", "read:org"} }

// Endpoint returns GitHub's OAuth 2.0 endpoints on webBaseURL: the github.com origin
// when it is empty, or a GitHub Enterprise Server origin such as
// "https://github.example.com". The client authenticates with its id and secret in the
// form, as GitHub documents.
func Endpoint(webBaseURL string) oauth2.Endpoint {
	web := cmp.Or(strings.TrimRight(strings.TrimSpace(webBaseURL), "/"), DefaultWebBaseURL)
	return oauth2.Endpoint{
		AuthURL:       web + "/login/oauth/authorize",
		TokenURL:      web + "/login/oauth/access_token",
		DeviceAuthURL: web + "/login/device/code",
		AuthStyle:     oauth2.AuthStyleInParams,
	}
}

// Endpoint returns the OAuth endpoints of the GitHub whose tokens v checks (its web
// origin, given or derived from the API's).
func (v *Verifier) Endpoint() oauth2.Endpoint { return Endpoint(v.webBase) }

// Config configures a Verifier; the package documentation describes its access rules
// and scopes. ClientSecret is an mcpauth.Secret, so a Config printed with fmt (any
// verb), logged with log/slog or encoded with encoding/json shows it as "[redacted]".
type Config struct {
	// AllowedUsers lists the GitHub logins allowed in, compared case-insensitively.
	// Logins can be renamed on GitHub (and the old name re-registered by someone else);
	// the accepted user's stable numeric id is AccessToken.Subject.
	AllowedUsers []string `env:"ALLOWED_USERS"`
	// AllowedOrgs lists organizations (case-insensitive); the user must be an active
	// member of at least one: a "pending" invitation does not count.
	AllowedOrgs []string `env:"ALLOWED_ORGS"`
	// AllowedTeams lists teams as "org/team-slug" (the slug is the last part of the
	// team's URL, https://github.com/orgs/ORG/teams/SLUG), case-insensitive; the user
	// must be an active member of at least one.
	AllowedTeams []string `env:"ALLOWED_TEAMS"`
	// AllowedClientIDs, when set, accepts only OAuth tokens GitHub reports as issued to
	// one of these OAuth apps (so that a token a user gave to another application cannot
	// be replayed here); personal access tokens are then refused.
	AllowedClientIDs []string `env:"ALLOWED_CLIENT_IDS"`

	// Scopes are the MCP scopes granted to every accepted user.
	Scopes []string `env:"SCOPES"`
	// OrgScopes grants MCP scopes to active members of an organization (key: its name,
	// case-insensitive), which is checked even when it is not in AllowedOrgs.
	OrgScopes map[string][]string `env:"ORG_SCOPES" grants:"org=scope scope; org2=scope"`
	// TeamScopes grants MCP scopes to active members of a team (key: "org/team-slug").
	// As with OrgScopes, a team named here is checked even when not in AllowedTeams.
	TeamScopes map[string][]string `env:"TEAM_SCOPES" grants:"org/team=scope scope; org/team2=scope"`

	// Enabled turns the provider on without any access rule, so that every GitHub
	// account is accepted. It changes nothing when a rule is set.
	Enabled bool `env:"ENABLED"`
	// Disabled switches the provider off: Configured reports false whatever else is set
	// (MCPAUTH_GITHUB_ENABLED=false sets it). It cannot be set with Enabled.
	Disabled bool `env:"ENABLED,false"`

	// APIBaseURL is the REST API root: https://api.github.com (the default) or, for
	// GitHub Enterprise Server, https://HOST/api/v3, the default when WebBaseURL names
	// another host. It must be https, except on loopback hosts (tests against a fake).
	APIBaseURL string `env:"API_URL"`
	// WebBaseURL is the web origin hosting the OAuth endpoints (see Endpoint) and
	// AccessToken.Issuer: https://github.com (the default) or https://HOST for Enterprise
	// Server, the default when APIBaseURL names another host (without "/api/v3").
	WebBaseURL string `env:"WEB_URL"`

	// ClientID and ClientSecret are the credentials of the GitHub OAuth app (or GitHub
	// App) that signs users in. When both are set, gho_ and ghu_ tokens of any other app
	// are refused (see "Two ways to ask GitHub" in the package documentation).
	ClientID     string         `env:"CLIENT_ID"`
	ClientSecret mcpauth.Secret `env:"CLIENT_SECRET" noun:"client secret"`

	// HTTPClient makes the API calls. The default is a client with HTTPTimeout. A
	// client given here is copied: its Timeout is set to HTTPTimeout when zero, and
	// redirects are never followed (a 3xx answer is an upstream failure).
	HTTPClient *http.Client `json:"-"`
	// HTTPTimeout bounds each API call (default 5s).
	HTTPTimeout time.Duration `env:"HTTP_TIMEOUT" example:"5s"`
	// UserAgent is sent with every API call (default "mcpauth-github"). GitHub asks for
	// the name of the application or of its owner.
	UserAgent string
	// SkipFormatCheck sends tokens of no known GitHub format to GitHub anyway, instead of
	// refusing them at no cost; set it only if GitHub introduces a new token format.
	SkipFormatCheck bool
	// Now is the clock (default time.Now) that X-RateLimit-Reset is read with.
	Now func() time.Time `json:"-"`
}

// env names the environment variable that sets a field, with the default prefix.
func (Config) env(suffix string) string { return config.VarName("", "GITHUB", suffix) }

// Configured reports whether the provider was asked for: a field that a
// PREFIX_GITHUB_* variable sets is set. It is false when Disabled is set
// (PREFIX_GITHUB_ENABLED=false), which switches the provider off whatever else is set.
// Use it to pick providers from the environment.
func (c Config) Configured() bool {
	if c.Disabled {
		return false
	}
	return c.Enabled || c.HTTPTimeout != 0 || len(c.AllowedUsers) > 0 || len(c.AllowedOrgs) > 0 ||
		len(c.AllowedTeams) > 0 || len(c.AllowedClientIDs) > 0 || len(c.Scopes) > 0 ||
		len(c.OrgScopes) > 0 || len(c.TeamScopes) > 0 || c.APIBaseURL != "" ||
		c.WebBaseURL != "" || c.ClientID != "" || !c.ClientSecret.IsZero()
}

// Validate reports every problem of the configuration, one error per problem joined
// with errors.Join. Each message names the field, and in parentheses the environment
// variable that sets it (with the default prefix MCPAUTH), and says how to fix it. New
// calls Validate.
func (c Config) Validate() error {
	_, err := c.prepare()
	return err
}

// prepare validates c and returns the Verifier it configures.
func (c Config) prepare() (*Verifier, error) {
	problems := &config.Problems{Pkg: "github"}
	add := problems.Add
	v := &Verifier{skipFormat: c.SkipFormatCheck, scopes: cleanScopes(c.Scopes)}

	for i, u := range c.AllowedUsers {
		name := strings.TrimSpace(u)
		switch {
		case name == "":
			add("Config.AllowedUsers[%d] is empty: remove it (%s)", i, c.env("ALLOWED_USERS"))
		case strings.HasPrefix(name, "@"):
			add("Config.AllowedUsers[%d] %q starts with @: give the bare login, %q (%s)", i, u, name[1:], c.env("ALLOWED_USERS"))
		case !validName(name):
			add("Config.AllowedUsers[%d] %q is not a GitHub login: use letters, digits and hyphens only (%s)", i, u, c.env("ALLOWED_USERS"))
		default:
			v.users = appendUnique(v.users, strings.ToLower(name))
		}
	}
	v.orgs = c.group(add, "Org", "an organization", c.AllowedOrgs, c.OrgScopes, parseOrg)
	v.teams = c.group(add, "Team", "a team", c.AllowedTeams, c.TeamScopes, parseTeam)
	problems.NoBlank("AllowedClientIDs", c.AllowedClientIDs, c.env("ALLOWED_CLIENT_IDS"))
	for _, id := range c.AllowedClientIDs {
		v.clientIDs = append(v.clientIDs, strings.TrimSpace(id))
	}
	if len(c.AllowedUsers) == 0 && len(c.AllowedOrgs) == 0 && len(c.AllowedTeams) == 0 && !c.Enabled {
		add("no access rule is set, so every GitHub account would be accepted: set AllowedUsers (%s), AllowedOrgs (%s) or AllowedTeams (%s), or set Enabled (%s=true) to accept any GitHub user",
			c.env("ALLOWED_USERS"), c.env("ALLOWED_ORGS"), c.env("ALLOWED_TEAMS"), c.env("ENABLED"))
	}
	if c.Enabled && c.Disabled {
		add("Config.Enabled and Config.Disabled are both set: unset one of them (%s)", c.env("ENABLED"))
	}

	api, apiHost := c.baseURL(add, "APIBaseURL", c.APIBaseURL, "API_URL")
	web, webHost := c.baseURL(add, "WebBaseURL", c.WebBaseURL, "WEB_URL")
	// Either one, when the other is unset, derives it: github.com's pair, or Enterprise
	// Server's https://HOST and https://HOST/api/v3.
	switch {
	case api == "" && (web == "" || strings.EqualFold(webHost, "github.com")):
		api = DefaultAPIBaseURL
	case api == "":
		api = web + "/api/v3"
	}
	switch {
	case web == "" && (apiHost == "" || strings.EqualFold(apiHost, "api.github.com")):
		web = DefaultWebBaseURL
	case web == "":
		web = strings.TrimSuffix(api, "/api/v3")
	}
	v.apiRoot, v.webBase = api, web

	if c.HTTPTimeout < 0 {
		add("Config.HTTPTimeout %s is negative: leave it 0 for the default (%s) (%s)", c.HTTPTimeout, DefaultHTTPTimeout, c.env("HTTP_TIMEOUT"))
	}
	if strings.ContainsAny(c.UserAgent, "\r\n") {
		add("Config.UserAgent contains a line break: give a single-line product name")
	}
	if !c.ClientSecret.IsZero() && strings.TrimSpace(c.ClientID) == "" {
		add("Config.ClientSecret is set without Config.ClientID: set %s too, or remove the secret", c.env("CLIENT_ID"))
	}
	if id := strings.TrimSpace(c.ClientID); id != "" && (strings.Contains(id, ":") || !visibleASCII(id)) {
		add("Config.ClientID %q is not a GitHub client id: it must not contain \":\", spaces or control characters (%s)", id, c.env("CLIENT_ID"))
	} else if id != "" && !c.ClientSecret.IsZero() {
		v.appClientID, v.appSecret = id, c.ClientSecret
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}

	v.userAgent = cmp.Or(strings.TrimSpace(c.UserAgent), DefaultUserAgent)
	timeout := cmp.Or(c.HTTPTimeout, DefaultHTTPTimeout)
	v.client = &upstream.Client{HTTP: upstream.NewHTTPClient(c.HTTPClient, timeout), Name: "GitHub", Timeout: timeout, Now: c.Now}
	return v, nil
}

// group reads an allow-list, Config.Allowed<kind>s, and its grants, Config.<kind>Scopes,
// with parse, reporting every entry parse refuses.
func (c Config) group(add func(string, ...any), kind, noun string, allowed []string, grants map[string][]string, parse func(string) (string, error)) group {
	g := group{noun: noun, claim: "github_" + strings.ToLower(kind), scopes: map[string][]string{}}
	for i, a := range allowed {
		name, err := parse(a)
		if err != nil {
			add("Config.Allowed%ss[%d] %q %v (%s)", kind, i, a, err, c.env("ALLOWED_"+strings.ToUpper(kind)+"S"))
			continue
		}
		g.allowed = appendUnique(g.allowed, name)
	}
	for _, k := range slices.Sorted(maps.Keys(grants)) {
		name, err := parse(k)
		if err != nil {
			add("Config.%sScopes key %q %v (%s)", kind, k, err, c.env(strings.ToUpper(kind)+"_SCOPES"))
			continue
		}
		g.scopes[name] = cleanScopes(append(g.scopes[name], grants[k]...))
	}
	g.check = slices.AppendSeq(slices.Clone(g.allowed), maps.Keys(g.scopes))
	slices.Sort(g.check)
	g.check = slices.Compact(g.check)
	return g
}

// baseURL checks the base URL raw of Config.<field>, which the variable suffix sets. It
// returns "" when raw is empty or refused, else the URL without trailing slash and its
// host.
func (c Config) baseURL(add func(string, ...any), field, raw, suffix string) (root, host string) {
	raw = strings.TrimRight(strings.TrimSpace(raw), "/")
	if raw == "" {
		return "", ""
	}
	u, err := config.CheckURL(raw, config.URL{NoQuery: true, Query: "give the base URL only"})
	if err != nil {
		add("Config.%s: %v (%s)", field, err, c.env(suffix))
		return "", ""
	}
	return strings.TrimRight(u.String(), "/"), u.Host
}

// validName reports whether s looks like a GitHub login or organization name. GitHub
// allows letters, digits and single hyphens on github.com; Enterprise Server may add
// underscores.
func validName(s string) bool {
	return s != "" && len(s) <= 100 && strings.Trim(s, wordChars+"-") == ""
}

// parseOrg returns the lower-case name of an organization.
func parseOrg(o string) (string, error) {
	name := strings.TrimSpace(o)
	switch {
	case name == "":
		return "", errors.New("is empty: remove it")
	case strings.Contains(name, "/"):
		return "", errors.New(`contains "/": give the organization's name alone (teams go in AllowedTeams / TeamScopes as "org/team-slug")`)
	case !validName(name):
		return "", errors.New("is not a GitHub organization name: use letters, digits and hyphens only")
	}
	return strings.ToLower(name), nil
}

// parseTeam returns a team as lower-case "org/team-slug".
func parseTeam(s string) (string, error) {
	org, slug, ok := strings.Cut(strings.TrimSpace(s), "/")
	org, slug = strings.TrimSpace(org), strings.TrimSpace(slug)
	switch {
	case !ok || org == "" || slug == "" || strings.Contains(slug, "/"):
		return "", errors.New(`is not "org/team-slug": give the organization and the team's slug, as in https://github.com/orgs/ORG/teams/SLUG`)
	case !validName(org):
		return "", errors.New("has an invalid organization name: use letters, digits and hyphens only")
	case !validName(slug):
		return "", errors.New(`has an invalid team slug: use the slug (lower-case, hyphens instead of spaces), not the team's display name`)
	}
	return strings.ToLower(org + "/" + slug), nil
}

func appendUnique(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

// cleanScopes splits entries on white space and drops duplicates, keeping the order.
func cleanScopes(in []string) []string {
	var out []string
	for _, v := range in {
		for _, f := range strings.Fields(v) {
			out = appendUnique(out, f)
		}
	}
	return out
}

// ConfigFromEnv reads a Config from the variables PREFIX_GITHUB_* listed in the package
// documentation (prefix "" means "MCPAUTH"; PREFIX_GITHUB_CLIENT_SECRET_FILE names a file
// holding the secret, trailing newline trimmed). Unset or empty variables leave the field
// zero; errors name the variable and the fix. It does not call Validate (New does), and
// returns the Config a literal with the same fields would be.
func ConfigFromEnv(prefix string) (Config, error) {
	return config.Load[Config]("github", prefix, "GITHUB")
}
