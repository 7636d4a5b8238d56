package github

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
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
// Config values print safely: String, GoString, Format, MarshalJSON and LogValue show
// ClientSecret as "[redacted]".
type Config struct {
	// AllowedUsers lists the GitHub logins allowed in, compared case-insensitively.
	// Logins can be renamed on GitHub (and the old name re-registered by someone else);
	// the accepted user's stable numeric id is AccessToken.Subject.
	AllowedUsers []string
	// AllowedOrgs lists organizations; the user must be an active member of at least one
	// (GET /user/memberships/orgs/{org} answers state "active"; invitations that are
	// still "pending" do not count). Case-insensitive.
	AllowedOrgs []string
	// AllowedTeams lists teams as "org/team-slug" (the slug is the last part of the
	// team's URL, https://github.com/orgs/ORG/teams/SLUG); the user must be an active
	// member of at least one (GET /orgs/{org}/teams/{team_slug}/memberships/{username}).
	// Case-insensitive.
	AllowedTeams []string
	// AllowedClientIDs, when set, accepts only OAuth tokens issued to one of these OAuth
	// apps, as named by GitHub's X-OAuth-Client-Id response header. Personal access
	// tokens carry no client id and are then refused. Use it so that a token a user gave
	// to some other application cannot be replayed here.
	AllowedClientIDs []string

	// Scopes are the MCP scopes granted to every accepted user.
	Scopes []string
	// OrgScopes grants MCP scopes to active members of an organization (key: org
	// name, case-insensitive). An org named here is checked even when it is not in
	// AllowedOrgs: membership grants scopes without being required.
	OrgScopes map[string][]string
	// TeamScopes grants MCP scopes to active members of a team (key: "org/team-slug").
	// As with OrgScopes, a team named here is checked even when not in AllowedTeams.
	TeamScopes map[string][]string

	// Enabled turns the provider on without any access rule, so that every GitHub
	// account is accepted (MCPAUTH_GITHUB_ENABLED=true). It changes nothing when a rule
	// is set.
	Enabled bool

	// APIBaseURL is the REST API root: https://api.github.com (the default) or, for
	// GitHub Enterprise Server, https://HOST/api/v3. When empty and WebBaseURL names
	// another host, it defaults to WebBaseURL + "/api/v3". It must be https, except on
	// loopback hosts; overriding it is meant for Enterprise Server and for tests against a
	// fake GitHub.
	APIBaseURL string
	// WebBaseURL is the web origin hosting the OAuth endpoints (see Endpoint):
	// https://github.com (the default) or https://HOST for Enterprise Server. When empty
	// and APIBaseURL names another host, it defaults to APIBaseURL without its
	// "/api/v3" suffix. It is also AccessToken.Issuer.
	WebBaseURL string

	// ClientID and ClientSecret are the credentials of the GitHub OAuth app used by the
	// OAuth facade that signs users in. The Verifier does not use them; they are carried
	// here so that one configuration describes the provider. ClientSecret is never
	// printed.
	ClientID     string
	ClientSecret string

	// HTTPClient makes the API calls. The default is a client with HTTPTimeout. A
	// client given here is copied: its Timeout is set to HTTPTimeout when zero, and
	// redirects are followed only within APIBaseURL's host.
	HTTPClient *http.Client
	// HTTPTimeout bounds each API call (default 5s).
	HTTPTimeout time.Duration
	// UserAgent is sent with every API call (default "mcpauth-github"). GitHub asks for
	// the name of the application or of its owner.
	UserAgent string
	// SkipFormatCheck sends tokens that do not look like GitHub tokens to GitHub anyway.
	// By default such tokens are refused before any call (so garbage costs nothing);
	// set it only if GitHub introduces a token format this package does not know yet.
	SkipFormatCheck bool
	// Now is the clock (default time.Now), used to turn X-RateLimit-Reset into a
	// Retry-After.
	Now func() time.Time

	envPrefix string // the prefix ConfigFromEnv read, so that errors name the variables
	envSeen   bool   // ConfigFromEnv saw at least one PREFIX_GITHUB_* variable
	disabled  bool   // PREFIX_GITHUB_ENABLED=false
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
	client     *http.Client
}

type team struct{ org, slug string }

func (t team) key() string { return t.org + "/" + t.slug }

// env names the environment variable for suffix, with the Config's prefix.
func (c Config) env(suffix string) string {
	p := c.envPrefix
	if p == "" {
		p = "MCPAUTH"
	}
	return p + "_GITHUB_" + suffix
}

// Configured reports whether the provider was asked for: ConfigFromEnv saw a
// PREFIX_GITHUB_* variable, or a field that configures GitHub is set. It is false when
// PREFIX_GITHUB_ENABLED is false, which switches the provider off whatever else is set.
// Use it to pick providers from the environment.
func (c Config) Configured() bool {
	if c.disabled {
		return false
	}
	return c.envSeen || c.Enabled || len(c.AllowedUsers) > 0 || len(c.AllowedOrgs) > 0 ||
		len(c.AllowedTeams) > 0 || len(c.AllowedClientIDs) > 0 || len(c.Scopes) > 0 ||
		len(c.OrgScopes) > 0 || len(c.TeamScopes) > 0 || c.APIBaseURL != "" ||
		c.WebBaseURL != "" || c.ClientID != "" || c.ClientSecret != ""
}

// Validate reports every problem of the configuration, one error per problem joined
// with errors.Join. Each message names the field (and its environment variable) and
// says how to fix it. New calls Validate.
func (c Config) Validate() error {
	_, err := c.prepare()
	return err
}

func (c Config) prepare() (*settings, error) {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("github: "+format, args...))
	}
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
	for _, o := range sortedKeys(c.OrgScopes) {
		name, err := parseOrg(o)
		if err != nil {
			add("Config.OrgScopes key %q %v (%s)", o, err, c.env("ORG_SCOPES"))
			continue
		}
		s.orgScopes[name] = cleanScopes(append(s.orgScopes[name], c.OrgScopes[o]...))
	}
	for _, tm := range sortedKeys(c.TeamScopes) {
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

	api, web := strings.TrimSpace(c.APIBaseURL), strings.TrimSpace(c.WebBaseURL)
	apiURL, webURL := (*url.URL)(nil), (*url.URL)(nil)
	if api != "" {
		u, err := checkBaseURL(api)
		if err != nil {
			add("Config.APIBaseURL: %v (%s)", err, c.env("API_URL"))
		}
		apiURL = u
	}
	if web != "" {
		u, err := checkBaseURL(web)
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
	if c.ClientSecret != "" && strings.TrimSpace(c.ClientID) == "" {
		add("Config.ClientSecret is set without Config.ClientID: set %s too, or remove the secret", c.env("CLIENT_ID"))
	}

	if len(errs) > 0 {
		return nil, errors.Join(errs...)
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
	s.client = buildClient(c.HTTPClient, s.timeout, s.apiBase)
	return s, nil
}

// buildClient returns the client for API calls: base (copied) or a new one, with a
// timeout and a redirect policy that never leaves the API host.
func buildClient(base *http.Client, timeout time.Duration, api *url.URL) *http.Client {
	var c http.Client
	if base != nil {
		c = *base
	}
	if c.Timeout == 0 {
		c.Timeout = timeout
	}
	next := c.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if !strings.EqualFold(req.URL.Scheme, api.Scheme) || !strings.EqualFold(req.URL.Host, api.Host) {
			return fmt.Errorf("refusing a redirect from the GitHub API to %s", req.URL.Redacted())
		}
		if len(via) >= 5 {
			return errors.New("stopped after 5 redirects")
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
	return &c
}

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

// checkBaseURL enforces an absolute https URL (http only on loopback hosts) without
// credentials, query or fragment.
func checkBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil {
		return nil, fmt.Errorf("%q is not a valid URL", raw)
	}
	if !u.IsAbs() || u.Host == "" {
		return nil, fmt.Errorf("%q is not an absolute URL: give the full https:// URL", u.Redacted())
	}
	if u.User != nil {
		return nil, fmt.Errorf("%q contains credentials: remove them from the URL", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%q has a query or fragment: give the base URL only", u.Redacted())
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !isLoopbackHost(u.Hostname()) {
			return nil, fmt.Errorf("%q must use https: http is accepted only for loopback hosts (tests)", u.Redacted())
		}
	default:
		return nil, fmt.Errorf("%q has scheme %q: use an https:// URL", u.Redacted(), u.Scheme)
	}
	return u, nil
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
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

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ---- redaction ----

const redacted = "[redacted]"

// fields lists the non-zero fields of c as name/value pairs, the secret redacted.
func (c Config) fields() [][2]string {
	var out [][2]string
	add := func(name, value string) { out = append(out, [2]string{name, value}) }
	list := func(v []string) string {
		q := make([]string, len(v))
		for i, s := range v {
			q[i] = strconv.Quote(s)
		}
		return "[" + strings.Join(q, " ") + "]"
	}
	grants := func(m map[string][]string) string {
		parts := make([]string, 0, len(m))
		for _, k := range sortedKeys(m) {
			parts = append(parts, strconv.Quote(k)+":"+list(m[k]))
		}
		return "map[" + strings.Join(parts, " ") + "]"
	}
	shownURL := func(raw string) string {
		if u, err := url.Parse(raw); err == nil {
			return strconv.Quote(u.Redacted())
		}
		return strconv.Quote(raw)
	}
	if len(c.AllowedUsers) > 0 {
		add("AllowedUsers", list(c.AllowedUsers))
	}
	if len(c.AllowedOrgs) > 0 {
		add("AllowedOrgs", list(c.AllowedOrgs))
	}
	if len(c.AllowedTeams) > 0 {
		add("AllowedTeams", list(c.AllowedTeams))
	}
	if len(c.AllowedClientIDs) > 0 {
		add("AllowedClientIDs", list(c.AllowedClientIDs))
	}
	if len(c.Scopes) > 0 {
		add("Scopes", list(c.Scopes))
	}
	if len(c.OrgScopes) > 0 {
		add("OrgScopes", grants(c.OrgScopes))
	}
	if len(c.TeamScopes) > 0 {
		add("TeamScopes", grants(c.TeamScopes))
	}
	if c.Enabled {
		add("Enabled", "true")
	}
	if c.APIBaseURL != "" {
		add("APIBaseURL", shownURL(c.APIBaseURL))
	}
	if c.WebBaseURL != "" {
		add("WebBaseURL", shownURL(c.WebBaseURL))
	}
	if c.ClientID != "" {
		add("ClientID", strconv.Quote(c.ClientID))
	}
	if c.ClientSecret != "" {
		add("ClientSecret", redacted)
	}
	if c.HTTPClient != nil {
		add("HTTPClient", "(set)")
	}
	if c.HTTPTimeout != 0 {
		add("HTTPTimeout", c.HTTPTimeout.String())
	}
	if c.UserAgent != "" {
		add("UserAgent", strconv.Quote(c.UserAgent))
	}
	if c.SkipFormatCheck {
		add("SkipFormatCheck", "true")
	}
	if c.Now != nil {
		add("Now", "(set)")
	}
	return out
}

// String describes c for logs and error messages: the fields that are set, with
// ClientSecret shown as "[redacted]".
func (c Config) String() string {
	var b strings.Builder
	b.WriteString("github.Config{")
	for i, f := range c.fields() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f[0])
		b.WriteString(":")
		b.WriteString(f[1])
	}
	b.WriteString("}")
	return b.String()
}

// GoString is used by the %#v verb; it is String, with ClientSecret redacted.
func (c Config) GoString() string { return c.String() }

// Format implements fmt.Formatter so that every verb prints the redacted form of String
// and never the client secret.
func (c Config) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, c.GoString())
		return
	}
	_, _ = fmt.Fprintf(f, fmt.FormatString(f, verb), c.String())
}

// LogValue implements slog.LogValuer: the fields that are set, ClientSecret redacted.
func (c Config) LogValue() slog.Value {
	fs := c.fields()
	attrs := make([]slog.Attr, len(fs))
	for i, f := range fs {
		v := f[1]
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		}
		attrs[i] = slog.String(f[0], v)
	}
	return slog.GroupValue(attrs...)
}

// MarshalJSON renders the same redacted view as LogValue.
func (c Config) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteString("{")
	for i, f := range c.fields() {
		if i > 0 {
			b.WriteString(",")
		}
		v := f[1]
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		}
		b.WriteString(strconv.Quote(f[0]))
		b.WriteString(":")
		b.WriteString(strconv.Quote(v))
	}
	b.WriteString("}")
	return []byte(b.String()), nil
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
//	PREFIX_GITHUB_ENABLED             Config.Enabled (true/false; false switches the provider off)
//	PREFIX_GITHUB_API_URL             Config.APIBaseURL
//	PREFIX_GITHUB_WEB_URL             Config.WebBaseURL
//	PREFIX_GITHUB_CLIENT_ID           Config.ClientID
//	PREFIX_GITHUB_CLIENT_SECRET       Config.ClientSecret
//	PREFIX_GITHUB_CLIENT_SECRET_FILE  Config.ClientSecret read from a file, trailing newline trimmed
//	PREFIX_GITHUB_HTTP_TIMEOUT        Config.HTTPTimeout (a Go duration such as "3s")
//
// Unset or empty variables leave the field zero. Errors name the variable and the fix.
// ConfigFromEnv does not call Validate (New does). Config.Configured reports whether any
// of these variables was set.
func ConfigFromEnv(prefix string) (Config, error) {
	prefix = strings.TrimSuffix(prefix, "_")
	if prefix == "" {
		prefix = "MCPAUTH"
	}
	c := Config{envPrefix: prefix}
	seen := false
	raw := func(name string) string {
		v := os.Getenv(prefix + "_GITHUB_" + name)
		if v != "" {
			seen = true
		}
		return v
	}
	get := func(name string) string { return strings.TrimSpace(raw(name)) }
	list := func(name string) []string {
		return strings.FieldsFunc(get(name), func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	}
	var errs []error

	c.AllowedUsers = list("ALLOWED_USERS")
	c.AllowedOrgs = list("ALLOWED_ORGS")
	c.AllowedTeams = list("ALLOWED_TEAMS")
	c.AllowedClientIDs = list("ALLOWED_CLIENT_IDS")
	c.Scopes = list("SCOPES")
	c.APIBaseURL = get("API_URL")
	c.WebBaseURL = get("WEB_URL")
	c.ClientID = get("CLIENT_ID")
	for _, g := range []struct {
		name string
		dst  *map[string][]string
		form string
	}{{"ORG_SCOPES", &c.OrgScopes, "org=scope scope; org2=scope"}, {"TEAM_SCOPES", &c.TeamScopes, "org/team=scope scope; org/team2=scope"}} {
		v := get(g.name)
		if v == "" {
			continue
		}
		m, err := parseGrants(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("github: %s: %v: write it as %q", c.env(g.name), err, g.form))
			continue
		}
		*g.dst = m
	}
	if v := get("ENABLED"); v != "" {
		b, err := strconv.ParseBool(v)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("github: %s=%q is not a boolean: use true or false", c.env("ENABLED"), v))
		case b:
			c.Enabled = true
		default:
			c.disabled = true
		}
	}
	if v := get("HTTP_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("github: %s=%q is not a duration: use a Go duration such as 5s", c.env("HTTP_TIMEOUT"), v))
		} else {
			c.HTTPTimeout = d
		}
	}
	secret := raw("CLIENT_SECRET")
	secretFile := get("CLIENT_SECRET_FILE")
	switch {
	case secret != "" && secretFile != "":
		errs = append(errs, fmt.Errorf("github: %s and %s are both set: set only one of them", c.env("CLIENT_SECRET"), c.env("CLIENT_SECRET_FILE")))
	case secret != "":
		c.ClientSecret = secret
	case secretFile != "":
		b, err := os.ReadFile(secretFile)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("github: %s: cannot read the secret file: %w: check the path and its permissions", c.env("CLIENT_SECRET_FILE"), err))
		default:
			b = bytes.TrimRight(b, "\r\n")
			if len(b) == 0 {
				errs = append(errs, fmt.Errorf("github: %s: the file %q is empty: write the client secret into it", c.env("CLIENT_SECRET_FILE"), secretFile))
			}
			c.ClientSecret = string(b)
		}
	}
	c.envSeen = seen
	if len(errs) > 0 {
		return Config{envPrefix: prefix, envSeen: seen}, errors.Join(errs...)
	}
	return c, nil
}

// parseGrants parses "key=scope scope; key2=scope,scope" (entries separated by ";" or
// new lines, scopes by spaces or commas).
func parseGrants(v string) (map[string][]string, error) {
	m := map[string][]string{}
	for _, entry := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == '\n' }) {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		key, val, ok := strings.Cut(entry, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return nil, fmt.Errorf("entry %q has no key=", entry)
		}
		scopes := strings.FieldsFunc(val, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
		if len(scopes) == 0 {
			return nil, fmt.Errorf("entry %q grants no scope", entry)
		}
		m[key] = append(m[key], scopes...)
	}
	return m, nil
}
