package workos

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/config"
	"github.com/mcpauth/mcpauth/internal/upstream"
	"github.com/mcpauth/mcpauth/scopes"
)

// Defaults and limits.
const (
	// DefaultAPIBaseURL is the default Config.APIBaseURL.
	DefaultAPIBaseURL = "https://api.workos.com"
	// DefaultHTTPTimeout is the default Config.HTTPTimeout.
	DefaultHTTPTimeout = 5 * time.Second
	// MaxLeeway is the largest Config.Leeway accepted.
	MaxLeeway = 5 * time.Minute
	// ProviderName is the AccessToken.Provider of every token this package accepts.
	ProviderName = "workos"
)

// Config configures the WorkOS verifiers and the AuthKit metadata proxy. AuthKit (New,
// NewFactory, MetadataHandler) needs AuthKitDomain; WorkOS SSO (NewProfileVerifier)
// needs nothing, its call being authenticated by the access token itself. ClientID and
// APIKey are not used by the verifiers: they are for the OAuth facade, which exchanges
// WorkOS authorization codes with them (see SSOEndpoint and UserManagementEndpoint).
// APIKey is an mcpauth.Secret: fmt, log/slog and encoding/json show it as "[redacted]".
type Config struct {
	// AuthKitDomain is the AuthKit domain that issues the MCP access tokens, such as
	// "https://example.authkit.app", a bare host (meaning https) or a custom domain; http
	// only on loopback hosts (tests). Normalised to scheme://host (see Issuer), it is the
	// "iss" AuthKit puts in its tokens and metadata, compared exactly.
	AuthKitDomain string `env:"WORKOS_AUTHKIT_DOMAIN"`
	// ClientID is the WorkOS client ID ("client_..."), for the OAuth facade.
	ClientID string `env:"WORKOS_CLIENT_ID"`
	// APIKey is the WorkOS API key ("sk_..."), the OAuth facade's client secret.
	APIKey mcpauth.Secret `env:"WORKOS_API_KEY,trim" noun:"API key" filenoun:"API key"`
	// APIBaseURL is the WorkOS API base URL (default https://api.workos.com). Override it
	// only for tests (a fake on loopback, where http is allowed) or an enterprise host.
	APIBaseURL string `env:"WORKOS_API_URL"`

	// Audience, when set, lists the accepted AuthKit token audiences of every verifier,
	// replacing the per-resource audience of NewFactory; New requires it. A client that
	// sends no resource parameter gets a token whose audience is the client ID, refused
	// unless listed here (set a default resource indicator in the WorkOS dashboard).
	Audience []string `env:"AUDIENCE"`
	// AllowedOrganizations, when not empty, lists the only WorkOS organization IDs
	// ("org_...") accepted: a token (AuthKit "org_id" claim, SSO profile's
	// "organization_id") of another organization, or of none, gets access_denied (403).
	AllowedOrganizations []string `env:"WORKOS_ALLOWED_ORGANIZATIONS"`

	// Scopes are MCP scopes granted to every accepted identity.
	Scopes []string `env:"WORKOS_SCOPES"`
	// OrganizationScopes grants MCP scopes by WorkOS organization ID.
	OrganizationScopes map[string][]string
	// RoleScopes grants MCP scopes by WorkOS role slug: AuthKit's "role" and "roles"
	// claims, or the SSO profile's role and roles.
	RoleScopes scopes.RoleMap

	// Leeway is the clock skew allowed on AuthKit token times (0 to 5 minutes).
	Leeway time.Duration
	// HTTPClient, when set, makes every request to AuthKit and the WorkOS API, its
	// redirect policy replaced: redirects are never followed. Default: one with HTTPTimeout.
	HTTPClient *http.Client `json:"-"`
	// HTTPTimeout bounds each request to AuthKit or the WorkOS API (default 5s).
	HTTPTimeout time.Duration
	// Now is the clock (default time.Now) of token times, Retry-After and the metadata cache.
	Now func() time.Time `json:"-"`
	// Logger receives a warning when fetching AuthKit's key set or metadata fails (never
	// a token or a secret). Default: slog.Default() as it is when the constructor runs.
	Logger *slog.Logger `json:"-"`
}

// env names the environment variable that sets a field, with the default prefix.
func (Config) env(suffix string) string { return config.VarName("", "", suffix) }

// Configured reports whether the configuration names WorkOS at all: an AuthKit domain or
// an API key is set. Applications use it to select providers from the environment.
func (c Config) Configured() bool {
	return strings.TrimSpace(c.AuthKitDomain) != "" || !c.APIKey.IsZero()
}

// Issuer returns the normalised AuthKit domain, "scheme://host" without a trailing slash
// ("https://example.authkit.app"): the "iss" of AuthKit tokens and the authorization
// server to advertise in protected resource metadata; "" if AuthKitDomain is not valid.
func (c Config) Issuer() string {
	iss, _ := normaliseDomain(c.AuthKitDomain)
	return iss
}

// JWKSURI returns the AuthKit key set URL, Issuer() + "/oauth2/jwks", or "".
func (c Config) JWKSURI() string {
	if iss := c.Issuer(); iss != "" {
		return iss + "/oauth2/jwks"
	}
	return ""
}

// Validate reports every problem of the configuration, one error per problem joined with
// errors.Join, each naming the field, its environment variable (with the default prefix
// MCPAUTH) and the fix. It requires that WorkOS is configured at all (AuthKitDomain or
// APIKey); New, NewFactory and MetadataHandler require AuthKitDomain instead, and
// NewProfileVerifier checks the fields that are set but requires neither.
func (c Config) Validate() error {
	_, err := c.prepare(!c.Configured(), fmt.Sprintf("nothing is configured: set Config.AuthKitDomain (%s) to verify AuthKit tokens, or Config.APIKey (%s) for WorkOS SSO",
		c.env("WORKOS_AUTHKIT_DOMAIN"), c.env("WORKOS_API_KEY")))
	return err
}

// prepareAuthKit is prepare for the AuthKit verifiers and the metadata proxy.
func (c Config) prepareAuthKit() (*settings, error) {
	return c.prepare(strings.TrimSpace(c.AuthKitDomain) == "", fmt.Sprintf("Config.AuthKitDomain is empty: set it (%s) to your AuthKit domain, such as https://example.authkit.app (WorkOS dashboard, Domains)",
		c.env("WORKOS_AUTHKIT_DOMAIN")))
}

// prepare checks the fields that are set and returns the settings they make. When
// missing, the problem of a required field left empty is reported first.
func (c Config) prepare(missing bool, problem string) (*settings, error) {
	p := &config.Problems{Pkg: "workos"}
	if missing {
		p.Add("%s", problem)
	}
	if _, err := normaliseDomain(c.AuthKitDomain); err != nil && strings.TrimSpace(c.AuthKitDomain) != "" {
		p.Add("Config.AuthKitDomain: %v (%s)", err, c.env("WORKOS_AUTHKIT_DOMAIN"))
	}
	if base := strings.TrimSpace(c.APIBaseURL); base != "" {
		if _, err := config.CheckURL(base, config.URL{NoQuery: true, Of: " of your WorkOS API host (the default is https://api.workos.com)"}); err != nil {
			p.Add("Config.APIBaseURL: %v (%s)", err, c.env("WORKOS_API_URL"))
		}
	}
	if key := c.APIKey.Reveal(); key != strings.TrimSpace(key) {
		p.Add("Config.APIKey has leading or trailing white space: remove it (%s or %s)", c.env("WORKOS_API_KEY"), c.env("WORKOS_API_KEY_FILE"))
	}
	for i, a := range c.Audience {
		if strings.TrimSpace(a) == "" {
			p.Add("Config.Audience[%d] is empty: remove it or give the MCP server's resource URI (%s)", i, c.env("AUDIENCE"))
		}
	}
	for i, o := range c.AllowedOrganizations {
		if !strings.HasPrefix(o, "org_") || strings.ContainsAny(o, " \t\r\n") {
			p.Add("Config.AllowedOrganizations[%d] = %q is not a WorkOS organization ID: use the ID shown in the WorkOS dashboard, such as org_01EHZNVPK3SFK441A1RGBFSHRT (%s)", i, o, c.env("WORKOS_ALLOWED_ORGANIZATIONS"))
		}
	}
	checkScopes := func(field string, list []string) {
		for i, s := range list {
			if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
				p.Add("%s[%d] = %q is not a scope: a scope is one non-empty token without spaces, quotes or backslashes (%s)", field, i, s, c.env("WORKOS_SCOPES"))
			}
		}
	}
	checkScopes("Config.Scopes", c.Scopes)
	for _, org := range slices.Sorted(maps.Keys(c.OrganizationScopes)) {
		if !strings.HasPrefix(org, "org_") {
			p.Add("Config.OrganizationScopes key %q is not a WorkOS organization ID: key it by the org_... ID", org)
		}
		checkScopes(fmt.Sprintf("Config.OrganizationScopes[%q]", org), c.OrganizationScopes[org])
	}
	for _, role := range slices.Sorted(maps.Keys(c.RoleScopes)) {
		checkScopes(fmt.Sprintf("Config.RoleScopes[%q]", role), c.RoleScopes[role])
	}
	if c.Leeway < 0 || c.Leeway > MaxLeeway {
		p.Add("Config.Leeway is %s: use a value between 0 and %s", c.Leeway, MaxLeeway)
	}
	if c.HTTPTimeout < 0 {
		p.Add("Config.HTTPTimeout is negative: leave it 0 for the default (%s)", DefaultHTTPTimeout)
	}
	if err := p.Err(); err != nil {
		return nil, err
	}

	s := &settings{Config: c, issuer: c.Issuer(), apiBase: apiBase(c.APIBaseURL)}
	s.Audience, s.AllowedOrganizations, s.Scopes = slices.Clone(c.Audience), slices.Clone(c.AllowedOrganizations), slices.Clone(c.Scopes)
	if s.Now == nil {
		s.Now = time.Now
	}
	s.Logger = cmp.Or(c.Logger, slog.Default())
	s.HTTPTimeout = cmp.Or(c.HTTPTimeout, DefaultHTTPTimeout)
	// A copy of the caller's client (or a fresh one) that never follows redirects: a
	// redirect is never part of the documented answers, and following one could send
	// an access token to another host.
	s.client = &upstream.Client{HTTP: upstream.NewHTTPClient(c.HTTPClient, s.HTTPTimeout), Name: "WorkOS", Timeout: s.HTTPTimeout, Now: s.Now}
	return s, nil
}

// normaliseDomain turns an AuthKit domain into its issuer URL, scheme://host.
func normaliseDomain(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", errors.New("the AuthKit domain is empty: give it as https://<subdomain>.authkit.app or your custom domain")
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	if u, err := url.Parse(s); err != nil || u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("%q is not a host name or URL: give it as https://<subdomain>.authkit.app", raw)
	}
	u, err := config.CheckURL(s, config.URL{NoQuery: true, Query: "give only the domain"})
	if err != nil {
		return "", err
	}
	if u.Path != "" && u.Path != "/" {
		return "", fmt.Errorf("%q has a path: the AuthKit domain is a host name; remove %q", raw, u.Path)
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host), nil
}

// ConfigFromEnv reads a Config from the variables listed in the package documentation,
// prefix replacing MCPAUTH ("" means MCPAUTH); lists are comma- or space-separated, and
// unset or empty variables leave their field zero. It does not call Validate (the
// constructors do) and returns the Config a literal with the same fields would be.
func ConfigFromEnv(prefix string) (Config, error) {
	return config.Load[Config]("workos", prefix, "")
}

// settings is a validated Config, its lists copied and its defaults applied, shared by
// the verifiers.
type settings struct {
	Config
	issuer  string // normalised AuthKit domain, "" when not configured
	apiBase string // normalised APIBaseURL
	client  *upstream.Client
}

// get sends GET url to AuthKit or the WorkOS API, with token as bearer token when set.
func (s *settings) get(ctx context.Context, url, token string) (*upstream.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, mcpauth.UpstreamUnavailable("", 0, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "mcpauth-workos")
	return s.client.Do(req, token)
}

// checkOrganization refuses an identity outside AllowedOrganizations with access_denied.
func (s *settings) checkOrganization(org string) error {
	if len(s.AllowedOrganizations) == 0 || slices.Contains(s.AllowedOrganizations, org) {
		return nil
	}
	if org == "" {
		return mcpauth.AccessDenied("the token is not bound to a WorkOS organization, and this server accepts only members of its allowed organizations")
	}
	return mcpauth.AccessDenied("the token's WorkOS organization is not allowed on this server")
}

// scopesFor returns base plus the configured grants for org and roles, without
// duplicates, in a stable order: base, Scopes, OrganizationScopes[org], RoleScopes.
// (Validate refuses empty scopes and scopes with spaces, which RoleMap.Expand would
// split.)
func (s *settings) scopesFor(base []string, org string, roles []string) []string {
	withOrg := scopes.RoleMap(s.OrganizationScopes).Expand(slices.Concat(base, s.Scopes), []string{org})
	return s.RoleScopes.Expand(withOrg, roles)
}

// apiBase normalises a WorkOS API base URL: "" means DefaultAPIBaseURL.
func apiBase(raw string) string {
	if b := strings.TrimRight(strings.TrimSpace(raw), "/"); b != "" {
		return b
	}
	return DefaultAPIBaseURL
}
