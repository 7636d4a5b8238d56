package workos

import (
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

// Config configures the WorkOS verifiers and the AuthKit metadata proxy.
//
// For AuthKit (New, NewFactory, MetadataHandler) set AuthKitDomain. For opaque WorkOS SSO
// access tokens (NewProfileVerifier) nothing is required: the profile endpoint is
// authenticated by the access token itself. ClientID and APIKey are not used by the
// verifiers; they are carried for the OAuth authorization-server facade, which
// exchanges WorkOS authorization codes with them (see SSOEndpoint and
// UserManagementEndpoint).
//
// APIKey is an mcpauth.Secret, so a Config printed with fmt (any verb), logged with
// log/slog or encoded with encoding/json shows it as "[redacted]".
type Config struct {
	// AuthKitDomain is the AuthKit domain that issues the MCP access tokens, such as
	// "https://example.authkit.app" or a custom domain. A bare host ("example.authkit.app")
	// is accepted and means https. http is accepted only for loopback hosts (tests). The
	// domain is normalised to scheme://host, without a path or trailing slash: that is the
	// issuer ("iss") AuthKit puts in its tokens and metadata, compared exactly.
	AuthKitDomain string `env:"WORKOS_AUTHKIT_DOMAIN"`
	// ClientID is the WorkOS client ID ("client_..."), for the OAuth facade.
	ClientID string `env:"WORKOS_CLIENT_ID"`
	// APIKey is the WorkOS API key ("sk_..."), the client secret of the OAuth facade's
	// code exchange. It is never printed.
	APIKey mcpauth.Secret `env:"WORKOS_API_KEY,trim" noun:"API key" filenoun:"API key"`
	// APIBaseURL is the WorkOS API base URL (default https://api.workos.com). Override it
	// only for tests (a fake on loopback, where http is allowed) or an enterprise host.
	APIBaseURL string `env:"WORKOS_API_URL"`

	// Audience, when set, is the list of accepted AuthKit token audiences for every
	// verifier, replacing the per-resource audience of NewFactory. New requires it.
	// AuthKit puts the MCP resource indicator in "aud"; a client that sends no resource
	// parameter gets a token whose audience is the client ID instead, which is refused
	// unless listed here (set a default resource indicator in the WorkOS dashboard).
	Audience []string `env:"AUDIENCE"`
	// AllowedOrganizations, when not empty, lists the only WorkOS organization IDs
	// ("org_...") accepted: a valid token (AuthKit "org_id" claim, or the SSO profile's
	// "organization_id") of another organization, or of none, is refused with
	// access_denied (HTTP 403).
	AllowedOrganizations []string `env:"WORKOS_ALLOWED_ORGANIZATIONS"`

	// Scopes are MCP scopes granted to every accepted identity.
	Scopes []string `env:"WORKOS_SCOPES"`
	// OrganizationScopes grants MCP scopes to the identities of a WorkOS organization,
	// keyed by organization ID.
	OrganizationScopes map[string][]string
	// RoleScopes grants MCP scopes by WorkOS role slug: AuthKit's "role" and "roles"
	// claims, or the SSO profile's role and roles.
	RoleScopes scopes.RoleMap

	// Leeway is the clock skew allowed on AuthKit token times (0 to 5 minutes).
	Leeway time.Duration
	// HTTPClient, when set, makes every request to AuthKit and the WorkOS API. Its
	// redirect policy is replaced: redirects are never followed. The default is a
	// client with HTTPTimeout.
	HTTPClient *http.Client `json:"-"`
	// HTTPTimeout bounds each request to AuthKit or the WorkOS API (default 5s).
	HTTPTimeout time.Duration
	// Now is the clock (default time.Now): token times, Retry-After dates and the
	// metadata cache.
	Now func() time.Time `json:"-"`
	// Logger receives a warning when fetching AuthKit's key set or authorization server
	// metadata fails (never a token or a secret). Default: slog.Default() as it is when
	// New, NewFactory or MetadataHandler is called.
	Logger *slog.Logger `json:"-"`
}

// env names the environment variable that sets a field, with the default prefix.
func (Config) env(suffix string) string { return config.VarName("", "", suffix) }

// Configured reports whether the configuration names WorkOS at all: an AuthKit domain or
// an API key is set. Applications use it to select providers from the environment.
func (c Config) Configured() bool {
	return strings.TrimSpace(c.AuthKitDomain) != "" || !c.APIKey.IsZero()
}

// Issuer returns the normalised AuthKit domain, "scheme://host" without a trailing
// slash (for example "https://example.authkit.app"): the "iss" of AuthKit tokens and the
// value to advertise as the authorization server in protected resource metadata. It is
// "" when AuthKitDomain is empty or invalid.
func (c Config) Issuer() string {
	iss, err := normaliseDomain(c.AuthKitDomain)
	if err != nil {
		return ""
	}
	return iss
}

// JWKSURI returns the AuthKit key set URL, Issuer() + "/oauth2/jwks", or "".
func (c Config) JWKSURI() string {
	if iss := c.Issuer(); iss != "" {
		return iss + "/oauth2/jwks"
	}
	return ""
}

// apiBase returns the normalised API base URL (default DefaultAPIBaseURL).
func (c Config) apiBase() string {
	b := strings.TrimSpace(c.APIBaseURL)
	if b == "" {
		return DefaultAPIBaseURL
	}
	return strings.TrimRight(b, "/")
}

// Validate reports every problem of the configuration, one error per problem joined with
// errors.Join, each naming the field, its environment variable (with the default prefix
// MCPAUTH) and the fix. It requires
// that WorkOS is configured at all (AuthKitDomain or APIKey); New and NewFactory also
// require AuthKitDomain. NewProfileVerifier checks the fields but requires neither.
func (c Config) Validate() error {
	errs := c.check()
	if !c.Configured() {
		errs = append(errs, fmt.Errorf("workos: nothing is configured: set Config.AuthKitDomain (%s) to verify AuthKit tokens, or Config.APIKey (%s) for WorkOS SSO",
			c.env("WORKOS_AUTHKIT_DOMAIN"), c.env("WORKOS_API_KEY")))
	}
	return errors.Join(errs...)
}

// check reports the problems of the fields that are set.
func (c Config) check() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("workos: "+format, args...)) }

	if strings.TrimSpace(c.AuthKitDomain) != "" {
		if _, err := normaliseDomain(c.AuthKitDomain); err != nil {
			add("Config.AuthKitDomain: %v (%s)", err, c.env("WORKOS_AUTHKIT_DOMAIN"))
		}
	}
	if strings.TrimSpace(c.APIBaseURL) != "" {
		if _, err := config.CheckURL(strings.TrimSpace(c.APIBaseURL), config.URL{NoQuery: true,
			Of: " of your WorkOS API host (the default is https://api.workos.com)"}); err != nil {
			add("Config.APIBaseURL: %v (%s)", err, c.env("WORKOS_API_URL"))
		}
	}
	if key := c.APIKey.Reveal(); key != strings.TrimSpace(key) {
		add("Config.APIKey has leading or trailing white space: remove it (%s or %s)", c.env("WORKOS_API_KEY"), c.env("WORKOS_API_KEY_FILE"))
	}
	for i, a := range c.Audience {
		if strings.TrimSpace(a) == "" {
			add("Config.Audience[%d] is empty: remove it or give the MCP server's resource URI (%s)", i, c.env("AUDIENCE"))
		}
	}
	for i, o := range c.AllowedOrganizations {
		if !strings.HasPrefix(o, "org_") || strings.ContainsAny(o, " \t\r\n") {
			add("Config.AllowedOrganizations[%d] = %q is not a WorkOS organization ID: use the ID shown in the WorkOS dashboard, such as org_01EHZNVPK3SFK441A1RGBFSHRT (%s)", i, o, c.env("WORKOS_ALLOWED_ORGANIZATIONS"))
		}
	}
	checkScopes := func(field string, list []string) {
		for i, s := range list {
			if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
				add("%s[%d] = %q is not a scope: a scope is one non-empty token without spaces, quotes or backslashes (%s)", field, i, s, c.env("WORKOS_SCOPES"))
			}
		}
	}
	checkScopes("Config.Scopes", c.Scopes)
	for _, org := range slices.Sorted(maps.Keys(c.OrganizationScopes)) {
		if !strings.HasPrefix(org, "org_") {
			add("Config.OrganizationScopes key %q is not a WorkOS organization ID: key it by the org_... ID", org)
		}
		checkScopes(fmt.Sprintf("Config.OrganizationScopes[%q]", org), c.OrganizationScopes[org])
	}
	for _, role := range slices.Sorted(maps.Keys(c.RoleScopes)) {
		checkScopes(fmt.Sprintf("Config.RoleScopes[%q]", role), c.RoleScopes[role])
	}
	if c.Leeway < 0 || c.Leeway > MaxLeeway {
		add("Config.Leeway is %s: use a value between 0 and %s", c.Leeway, MaxLeeway)
	}
	if c.HTTPTimeout < 0 {
		add("Config.HTTPTimeout is negative: leave it 0 for the default (%s)", DefaultHTTPTimeout)
	}
	return errs
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
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("%q is not a host name or URL: give it as https://<subdomain>.authkit.app", raw)
	}
	if u.User != nil {
		return "", fmt.Errorf("%q contains credentials: remove them", u.Redacted())
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", fmt.Errorf("%q has a query or fragment: give only the domain", raw)
	}
	if u.Path != "" && u.Path != "/" {
		return "", fmt.Errorf("%q has a path: the AuthKit domain is a host name; remove %q", raw, u.Path)
	}
	if err := config.CheckScheme(u); err != nil {
		return "", err
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host), nil
}

// ---- environment ----

// ConfigFromEnv reads a Config from environment variables named prefix + "_" + NAME
// (prefix "" means "MCPAUTH"):
//
//	PREFIX_WORKOS_AUTHKIT_DOMAIN         Config.AuthKitDomain
//	PREFIX_WORKOS_CLIENT_ID              Config.ClientID
//	PREFIX_WORKOS_API_KEY                Config.APIKey
//	PREFIX_WORKOS_API_KEY_FILE           Config.APIKey read from a file (trailing newline trimmed)
//	PREFIX_WORKOS_ALLOWED_ORGANIZATIONS  Config.AllowedOrganizations (comma- or space-separated)
//	PREFIX_WORKOS_SCOPES                 Config.Scopes (comma- or space-separated)
//	PREFIX_WORKOS_API_URL                Config.APIBaseURL (tests and enterprise hosts only)
//	PREFIX_AUDIENCE                      Config.Audience (list; the same variable providers/bearer reads)
//
// Unset or empty variables leave the field zero. ConfigFromEnv does not call Validate (the
// constructors do), so the caller may adjust the result. The Config it returns is the
// one a literal with the same fields would be; validation errors name these variables
// with the default prefix MCPAUTH.
func ConfigFromEnv(prefix string) (Config, error) {
	return config.Load[Config]("workos", prefix, "")
}
