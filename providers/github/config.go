package github

import (
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/config"
	"github.com/mcpauth/mcpauth/internal/upstream"
)

// DefaultHTTPTimeout is the default Config.HTTPTimeout.
const DefaultHTTPTimeout = 5 * time.Second

// DefaultUserAgent is the default Config.UserAgent. GitHub refuses API requests without
// a User-Agent.
const DefaultUserAgent = "mcpauth-github"

// Config configures a Verifier.
//
// Access rules: a user is accepted when it passes every rule that is set: its login is in
// AllowedUsers (if set), it is an active member of at least one of AllowedOrgs (if set),
// and of at least one of AllowedTeams (if set). A Config with no rule accepts every GitHub
// account, so Validate refuses it unless Enabled is set.
//
// MCP scopes: an accepted user is granted Scopes, plus OrgScopes[org] for every
// organization it is an active member of, plus TeamScopes["org/team"] for every team it
// is an active member of. GitHub's own OAuth scopes never become MCP scopes; they are
// reported in Claims["github_scopes"].
//
// ClientSecret is an mcpauth.Secret, so a Config printed with fmt (any verb), logged
// with log/slog or encoded with encoding/json shows it as "[redacted]".
type Config struct {
	// AllowedUsers lists the GitHub logins allowed in, compared case-insensitively.
	// Logins can be renamed on GitHub (and the old name re-registered by someone else);
	// the accepted user's stable numeric id is AccessToken.Subject.
	AllowedUsers []string `env:"ALLOWED_USERS"`
	// AllowedOrgs lists organizations; the user must be an active member of at least one
	// (GET /user/memberships/orgs/{org} answers state "active"; invitations that are
	// still "pending" do not count). Case-insensitive.
	AllowedOrgs []string `env:"ALLOWED_ORGS"`
	// AllowedTeams lists teams as "org/team-slug" (the slug is the last part of the
	// team's URL, https://github.com/orgs/ORG/teams/SLUG); the user must be an active
	// member of at least one (GET /orgs/{org}/teams/{team_slug}/memberships/{username}).
	// Case-insensitive.
	AllowedTeams []string `env:"ALLOWED_TEAMS"`
	// AllowedClientIDs, when set, accepts only OAuth tokens issued to one of these OAuth
	// apps, as named by GitHub's X-OAuth-Client-Id response header (or by the token
	// check's app.client_id, see ClientID). Personal access
	// tokens carry no client id and are then refused. Use it so that a token a user gave
	// to some other application cannot be replayed here.
	AllowedClientIDs []string `env:"ALLOWED_CLIENT_IDS"`

	// Scopes are the MCP scopes granted to every accepted user.
	Scopes []string `env:"SCOPES"`
	// OrgScopes grants MCP scopes to active members of an organization (key: org
	// name, case-insensitive). An org named here is checked even when it is not in
	// AllowedOrgs: membership grants scopes without being required.
	OrgScopes map[string][]string `env:"ORG_SCOPES" grants:"org=scope scope; org2=scope"`
	// TeamScopes grants MCP scopes to active members of a team (key: "org/team-slug").
	// As with OrgScopes, a team named here is checked even when not in AllowedTeams.
	TeamScopes map[string][]string `env:"TEAM_SCOPES" grants:"org/team=scope scope; org/team2=scope"`

	// Enabled turns the provider on without any access rule, so that every GitHub
	// account is accepted (MCPAUTH_GITHUB_ENABLED=true). It changes nothing when a rule
	// is set.
	Enabled bool `env:"ENABLED"`
	// Disabled switches the provider off: Configured reports false whatever else is set
	// (MCPAUTH_GITHUB_ENABLED=false sets it). It cannot be set with Enabled.
	Disabled bool `env:"ENABLED,false"`

	// APIBaseURL is the REST API root: https://api.github.com (the default) or, for
	// GitHub Enterprise Server, https://HOST/api/v3. When empty and WebBaseURL names
	// another host, it defaults to WebBaseURL + "/api/v3". It must be https, except on
	// loopback hosts; overriding it is meant for Enterprise Server and for tests against a
	// fake GitHub.
	APIBaseURL string `env:"API_URL"`
	// WebBaseURL is the web origin hosting the OAuth endpoints (see Endpoint):
	// https://github.com (the default) or https://HOST for Enterprise Server. When empty
	// and APIBaseURL names another host, it defaults to APIBaseURL without its
	// "/api/v3" suffix. It is also AccessToken.Issuer.
	WebBaseURL string `env:"WEB_URL"`

	// ClientID and ClientSecret are the credentials of the GitHub OAuth app (or GitHub
	// App) that signs users in. When both are set, the Verifier checks OAuth app tokens
	// (gho_) and GitHub App user tokens (ghu_) with GitHub's "Check a token" API
	// (POST /applications/{client_id}/token, authenticated with these credentials),
	// which answers only for tokens issued to this app: a gho_ or ghu_ token of any other
	// app is then refused. Personal access tokens are still checked with GET /user.
	// Without both, every token is checked with GET /user. ClientSecret is never
	// printed.
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
	// SkipFormatCheck sends tokens that do not look like GitHub tokens to GitHub anyway.
	// By default such tokens are refused before any call (so garbage costs nothing);
	// set it only if GitHub introduces a token format this package does not know yet.
	SkipFormatCheck bool
	// Now is the clock (default time.Now), used to turn X-RateLimit-Reset into a
	// Retry-After.
	Now func() time.Time `json:"-"`
}

// settings is a validated, normalized Config.
type settings struct {
	users      []string // lower-case
	orgs       []string // lower-case
	teams      []team
	clientIDs  []string
	scopes     []string
	orgScopes  map[string][]string // lower-case keys
	teamScopes map[string][]string // lower-case "org/slug" keys
	checkOrgs  []string            // orgs to ask GitHub about: orgs + orgScopes keys, sorted
	checkTeams []team              // teams to ask GitHub about: teams + teamScopes keys, sorted
	apiBase    *url.URL
	apiRoot    string // apiBase without trailing slash
	webBase    string
	timeout    time.Duration
	userAgent  string
	skipFormat bool
	now        func() time.Time
	client     *upstream.Client
	// appClientID and appSecret are set when ClientID and ClientSecret both are: gho_ and
	// ghu_ tokens are then checked with POST /applications/{client_id}/token.
	appClientID string
	appSecret   mcpauth.Secret
}

type team struct{ org, slug string }

func (t team) key() string { return t.org + "/" + t.slug }

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

func (c Config) prepare() (*settings, error) {
	problems := &config.Problems{Pkg: "github"}
	add := problems.Add
	s := &settings{
		timeout:    c.HTTPTimeout,
		userAgent:  strings.TrimSpace(c.UserAgent),
		skipFormat: c.SkipFormatCheck,
		now:        c.Now,
		orgScopes:  map[string][]string{},
		teamScopes: map[string][]string{},
	}

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
			s.users = appendUnique(s.users, strings.ToLower(name))
		}
	}
	for i, o := range c.AllowedOrgs {
		name, err := parseOrg(o)
		if err != nil {
			add("Config.AllowedOrgs[%d] %q %v (%s)", i, o, err, c.env("ALLOWED_ORGS"))
			continue
		}
		s.orgs = appendUnique(s.orgs, name)
	}
	for i, tm := range c.AllowedTeams {
		t, err := parseTeam(tm)
		if err != nil {
			add("Config.AllowedTeams[%d] %q %v (%s)", i, tm, err, c.env("ALLOWED_TEAMS"))
			continue
		}
		if !slices.Contains(s.teams, t) {
			s.teams = append(s.teams, t)
		}
	}
	for i, id := range c.AllowedClientIDs {
		id = strings.TrimSpace(id)
		if id == "" {
			add("Config.AllowedClientIDs[%d] is empty: remove it (%s)", i, c.env("ALLOWED_CLIENT_IDS"))
			continue
		}
		s.clientIDs = appendUnique(s.clientIDs, id)
	}
	s.scopes = cleanScopes(c.Scopes)
	for _, o := range slices.Sorted(maps.Keys(c.OrgScopes)) {
		name, err := parseOrg(o)
		if err != nil {
			add("Config.OrgScopes key %q %v (%s)", o, err, c.env("ORG_SCOPES"))
			continue
		}
		s.orgScopes[name] = cleanScopes(append(s.orgScopes[name], c.OrgScopes[o]...))
	}
	for _, tm := range slices.Sorted(maps.Keys(c.TeamScopes)) {
		t, err := parseTeam(tm)
		if err != nil {
			add("Config.TeamScopes key %q %v (%s)", tm, err, c.env("TEAM_SCOPES"))
			continue
		}
		s.teamScopes[t.key()] = cleanScopes(append(s.teamScopes[t.key()], c.TeamScopes[tm]...))
	}
	if len(c.AllowedUsers) == 0 && len(c.AllowedOrgs) == 0 && len(c.AllowedTeams) == 0 && !c.Enabled {
		add("no access rule is set, so every GitHub account would be accepted: set AllowedUsers (%s), AllowedOrgs (%s) or AllowedTeams (%s), or set Enabled (%s=true) to accept any GitHub user",
			c.env("ALLOWED_USERS"), c.env("ALLOWED_ORGS"), c.env("ALLOWED_TEAMS"), c.env("ENABLED"))
	}

	if c.Enabled && c.Disabled {
		add("Config.Enabled and Config.Disabled are both set: unset one of them (%s)", c.env("ENABLED"))
	}

	api, web := strings.TrimSpace(c.APIBaseURL), strings.TrimSpace(c.WebBaseURL)
	apiURL, webURL := (*url.URL)(nil), (*url.URL)(nil)
	if api != "" {
		u, err := config.CheckURL(strings.TrimRight(api, "/"), baseURL)
		if err != nil {
			add("Config.APIBaseURL: %v (%s)", err, c.env("API_URL"))
		}
		apiURL = u
	}
	if web != "" {
		u, err := config.CheckURL(strings.TrimRight(web, "/"), baseURL)
		if err != nil {
			add("Config.WebBaseURL: %v (%s)", err, c.env("WEB_URL"))
		}
		webURL = u
	}
	switch {
	case api == "" && web == "":
		apiURL, _ = url.Parse(DefaultAPIBaseURL)
		web = DefaultWebBaseURL
	case api == "" && webURL != nil:
		if strings.EqualFold(webURL.Host, "github.com") {
			apiURL, _ = url.Parse(DefaultAPIBaseURL)
		} else {
			apiURL, _ = url.Parse(strings.TrimRight(web, "/") + "/api/v3")
		}
	case web == "" && apiURL != nil:
		if strings.EqualFold(apiURL.Host, "api.github.com") {
			web = DefaultWebBaseURL
		} else {
			w := *apiURL
			w.Path = strings.TrimSuffix(strings.TrimRight(w.Path, "/"), "/api/v3")
			w.RawPath = ""
			web = w.String()
		}
	}
	s.apiBase = apiURL
	if apiURL != nil {
		s.apiRoot = strings.TrimRight(apiURL.String(), "/")
	}
	s.webBase = strings.TrimRight(web, "/")

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
		s.appClientID, s.appSecret = id, c.ClientSecret
	}

	if err := problems.Err(); err != nil {
		return nil, err
	}

	s.checkOrgs = slices.Clone(s.orgs)
	for o := range s.orgScopes {
		s.checkOrgs = appendUnique(s.checkOrgs, o)
	}
	slices.Sort(s.checkOrgs)
	s.checkTeams = slices.Clone(s.teams)
	for k := range s.teamScopes {
		t, _ := parseTeam(k)
		if !slices.Contains(s.checkTeams, t) {
			s.checkTeams = append(s.checkTeams, t)
		}
	}
	slices.SortFunc(s.checkTeams, func(a, b team) int { return strings.Compare(a.key(), b.key()) })

	if s.timeout == 0 {
		s.timeout = DefaultHTTPTimeout
	}
	if s.userAgent == "" {
		s.userAgent = DefaultUserAgent
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.client = &upstream.Client{HTTP: upstream.NewHTTPClient(c.HTTPClient, s.timeout), Name: "GitHub", Timeout: s.timeout, Now: s.now}
	return s, nil
}

// baseURL is the rule of APIBaseURL and WebBaseURL.
var baseURL = config.URL{NoQuery: true, Query: "give the base URL only"}

// validName reports whether s looks like a GitHub login or organization name. GitHub
// allows letters, digits and single hyphens on github.com; Enterprise Server may add
// underscores.
func validName(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

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

func parseTeam(s string) (team, error) {
	org, slug, ok := strings.Cut(strings.TrimSpace(s), "/")
	org, slug = strings.TrimSpace(org), strings.TrimSpace(slug)
	if !ok || org == "" || slug == "" || strings.Contains(slug, "/") {
		return team{}, errors.New(`is not "org/team-slug": give the organization and the team's slug, as in https://github.com/orgs/ORG/teams/SLUG`)
	}
	if !validName(org) {
		return team{}, errors.New("has an invalid organization name: use letters, digits and hyphens only")
	}
	if !validName(slug) {
		return team{}, errors.New(`has an invalid team slug: use the slug (lower-case, hyphens instead of spaces), not the team's display name`)
	}
	return team{org: strings.ToLower(org), slug: strings.ToLower(slug)}, nil
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

// ---- environment ----

// ConfigFromEnv reads a Config from environment variables named prefix + "_GITHUB_" +
// NAME (prefix "" means "MCPAUTH"). Lists are comma- or space-separated.
//
//	PREFIX_GITHUB_ALLOWED_USERS       Config.AllowedUsers
//	PREFIX_GITHUB_ALLOWED_ORGS        Config.AllowedOrgs
//	PREFIX_GITHUB_ALLOWED_TEAMS       Config.AllowedTeams ("org/team-slug" entries)
//	PREFIX_GITHUB_ALLOWED_CLIENT_IDS  Config.AllowedClientIDs
//	PREFIX_GITHUB_SCOPES              Config.Scopes
//	PREFIX_GITHUB_ORG_SCOPES          Config.OrgScopes: "org=scope scope; org2=scope"
//	PREFIX_GITHUB_TEAM_SCOPES         Config.TeamScopes: "org/team=scope scope; ..."
//	PREFIX_GITHUB_ENABLED             Config.Enabled when true, Config.Disabled when false
//	PREFIX_GITHUB_API_URL             Config.APIBaseURL
//	PREFIX_GITHUB_WEB_URL             Config.WebBaseURL
//	PREFIX_GITHUB_CLIENT_ID           Config.ClientID
//	PREFIX_GITHUB_CLIENT_SECRET       Config.ClientSecret
//	PREFIX_GITHUB_CLIENT_SECRET_FILE  Config.ClientSecret read from a file, trailing newline trimmed
//	PREFIX_GITHUB_HTTP_TIMEOUT        Config.HTTPTimeout (a Go duration such as "3s")
//
// Unset or empty variables leave the field zero. Errors name the variable and the fix.
// ConfigFromEnv does not call Validate (New does). The Config it returns is the one a
// literal with the same fields would be; Config.Configured reports whether any of these
// variables set a field.
func ConfigFromEnv(prefix string) (Config, error) {
	return config.Load[Config]("github", prefix, "GITHUB")
}
