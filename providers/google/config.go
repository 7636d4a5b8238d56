package google

import (
	"cmp"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/config"
	"github.com/mcpauth/mcpauth/internal/upstream"
)

// Defaults and limits of Config.
const (
	// DefaultTokenInfoURL is Google's token information endpoint, used for access tokens.
	DefaultTokenInfoURL = "https://oauth2.googleapis.com/tokeninfo"
	// DefaultJWKSURI is the JWKS holding the keys that sign Google ID tokens.
	DefaultJWKSURI = "https://www.googleapis.com/oauth2/v3/certs"
	// DefaultHTTPTimeout is the default Config.HTTPTimeout.
	DefaultHTTPTimeout = 5 * time.Second
	// MaxLeeway is the largest Config.Leeway accepted.
	MaxLeeway = 5 * time.Minute
	// MaxTokenSize is the largest token sent to Google or parsed, in bytes. Larger
	// tokens are refused without any upstream call.
	MaxTokenSize = 8192
)

// ProviderName is the AccessToken.Provider of tokens accepted by a Verifier.
const ProviderName = "google"

// issuer is the "iss" of Google ID tokens; some carry it without its scheme.
const issuer = "https://accounts.google.com"

// Issuers returns the "iss" values of Google ID tokens, in a new slice on every call.
func Issuers() []string { return []string{issuer, "accounts.google.com"} }

// Config configures a Verifier. Only ClientIDs is required; the zero value of every
// other field is a safe default.
//
// With no rule set, every Google account whose token was issued to one of ClientIDs is
// accepted. The rules (HostedDomains, AllowedEmails and AllowedEmailDomains) narrow that
// down: all configured rules must pass, domains and addresses are compared
// case-insensitively, and a rule refusing an otherwise valid account yields
// mcpauth.AccessDenied (403 access_denied).
//
// AccessToken.Scopes is computed from configuration: Scopes plus DomainScopes. Google's
// own OAuth scopes (openid, email, https://www.googleapis.com/auth/...) are not this
// server's scopes: they are reported in AccessToken.Claims["google_scopes"].
type Config struct {
	// ClientIDs are the OAuth client IDs of your application
	// ("….apps.googleusercontent.com"). An access token is accepted only when its "aud"
	// or "azp" is one of them, and an ID token only when its "aud" is. Required.
	ClientIDs []string `env:"CLIENT_ID"`
	// ClientSecret is the OAuth client secret. The Verifier does not use it; it is here
	// so that one Config also serves an OAuth authorization-code flow (see Endpoint).
	// It is an mcpauth.Secret: fmt, log/slog and encoding/json show it as "[redacted]".
	ClientSecret mcpauth.Secret `env:"CLIENT_SECRET,trim,blank" noun:"client secret"`

	// HostedDomains is a rule: the account must belong to one of these Google Workspace
	// domains. For ID tokens this is the "hd" claim (absent for consumer accounts).
	// Google's tokeninfo answer for access tokens has no "hd", so for access tokens the
	// domain of the account's e-mail address is used instead, and only when Google
	// reports that address as verified. That is weaker than "hd": a consumer Google
	// account registered with a verified address of the domain passes too.
	HostedDomains []string `env:"HOSTED_DOMAINS"`
	// StrictHostedDomain makes HostedDomains accept only the "hd" claim of ID tokens:
	// access tokens are then refused. It requires HostedDomains.
	StrictHostedDomain bool `env:"STRICT_HOSTED_DOMAIN"`
	// AllowedEmailDomains and AllowedEmails form one rule, an allowlist: the account's
	// e-mail address must be listed, or belong to a listed domain, and Google must
	// report it as verified.
	AllowedEmailDomains []string `env:"ALLOWED_EMAIL_DOMAINS"`
	// AllowedEmails lists accepted addresses (see AllowedEmailDomains).
	AllowedEmails []string `env:"ALLOWED_EMAILS"`

	// Scopes are granted to every accepted account.
	Scopes []string `env:"SCOPES"`
	// DomainScopes grants scopes by domain: an account whose hosted domain (as the
	// HostedDomains rule sees it) or verified e-mail domain is d is granted
	// DomainScopes[d], besides Scopes.
	DomainScopes map[string][]string `env:"DOMAIN_SCOPES" grants:"example.com=notes:read notes:write; corp.example=admin"`

	// AnyTokenFormat turns the token-format prefilter off (see the package
	// documentation): tokens that are neither "ya29.…" nor JWT-shaped then go to
	// tokeninfo too. Set it if your tokens come in another format.
	AnyTokenFormat bool `env:"ANY_TOKEN_FORMAT"`

	// TokenInfoURL overrides DefaultTokenInfoURL, for tests or an enterprise egress
	// proxy only. It must use https, except on loopback hosts.
	TokenInfoURL string `env:"TOKENINFO_URL"`
	// JWKSURI overrides DefaultJWKSURI, likewise.
	JWKSURI string `env:"JWKS_URI"`
	// HTTPClient makes the upstream calls (default: a new client). It is copied, the copy
	// follows no redirects, and each call is bounded by HTTPTimeout.
	HTTPClient *http.Client `json:"-"`
	// HTTPTimeout bounds each upstream call (default 5s).
	HTTPTimeout time.Duration `env:"HTTP_TIMEOUT" example:"5s or 1m"`
	// Leeway is the clock skew allowed when checking expiry (and, for ID tokens, "iat"
	// and "nbf"): 0 (the default) to 5 minutes. Servers whose clock may lag Google's by
	// a few seconds should set it, or fresh ID tokens look issued in the future.
	Leeway time.Duration `env:"LEEWAY" example:"5s or 1m"`
	// Now is the clock (default time.Now).
	Now func() time.Time `json:"-"`
	// Logger receives a warning when fetching the ID-token key set fails (never a
	// token or a secret). Default: slog.Default() as it is when New is called.
	Logger *slog.Logger `json:"-"`
}

// settings is a validated, defaulted and normalised Config.
type settings struct {
	clientIDs, hostedDomains, emailDomains, emails, scopes []string

	domainScopes             map[string][]string
	strictHD, anyTokenFormat bool
	tokenInfoURL, jwksURI    string
	client                   *upstream.Client
	timeout, leeway          time.Duration
	now                      func() time.Time
	logger                   *slog.Logger
}

// env names the environment variable that sets a field, with the default prefix.
func (Config) env(suffix string) string { return config.VarName("", "GOOGLE", suffix) }

// Configured reports whether ClientIDs is set (by ConfigFromEnv: whether
// MCPAUTH_GOOGLE_CLIENT_ID is), so that a server can choose its providers by it.
func (c Config) Configured() bool { return len(c.ClientIDs) > 0 }

// Validate reports every problem of the configuration, one error each, joined with
// errors.Join. Each names the Config field, in parentheses the variable that sets it
// (with the default prefix MCPAUTH), and how to fix it. New calls Validate.
func (c Config) Validate() error {
	_, err := c.prepare()
	return err
}

func (c Config) prepare() (*settings, error) {
	problems := &config.Problems{Pkg: "google"}
	add := problems.Add
	s := &settings{
		domainScopes:   map[string][]string{},
		strictHD:       c.StrictHostedDomain,
		anyTokenFormat: c.AnyTokenFormat,
		tokenInfoURL:   cmp.Or(c.TokenInfoURL, DefaultTokenInfoURL),
		jwksURI:        cmp.Or(c.JWKSURI, DefaultJWKSURI),
		timeout:        cmp.Or(c.HTTPTimeout, DefaultHTTPTimeout),
		leeway:         c.Leeway,
		now:            c.Now,
		logger:         cmp.Or(c.Logger, slog.Default()),
	}

	// list checks Config.<field>, set by the variable env: blank entries, and those check
	// refuses saying why, are problems; it returns the others normalised, without duplicates.
	list := func(field, env string, entries []string, check func(string) (string, string)) []string {
		var out []string
		for i, e := range entries {
			e, why := check(e)
			switch {
			case strings.TrimSpace(e) == "":
				add("Config.%s[%d] is empty: remove it (%s)", field, i, c.env(env))
			case why != "":
				add("Config.%s[%d] = %q %s (%s)", field, i, e, why, c.env(env))
			default:
				out = appendNew(out, e)
			}
		}
		return out
	}
	if len(c.ClientIDs) == 0 {
		add("Config.ClientIDs is empty: set %s to your OAuth client ID (….apps.googleusercontent.com; several may be given, comma separated)", c.env("CLIENT_ID"))
	}
	s.clientIDs = list("ClientIDs", "CLIENT_ID", c.ClientIDs, func(id string) (string, string) { return strings.TrimSpace(id), "" })
	s.hostedDomains = list("HostedDomains", "HOSTED_DOMAINS", c.HostedDomains, domain)
	s.emailDomains = list("AllowedEmailDomains", "ALLOWED_EMAIL_DOMAINS", c.AllowedEmailDomains, domain)
	s.emails = list("AllowedEmails", "ALLOWED_EMAILS", c.AllowedEmails, email)
	if c.StrictHostedDomain && len(c.HostedDomains) == 0 {
		add("Config.StrictHostedDomain is set but Config.HostedDomains is empty: set %s or unset %s", c.env("HOSTED_DOMAINS"), c.env("STRICT_HOSTED_DOMAIN"))
	}
	s.scopes = list("Scopes", "SCOPES", c.Scopes, scope)
	for _, d := range slices.Sorted(maps.Keys(c.DomainScopes)) {
		field := "DomainScopes[" + strconv.Quote(d) + "]"
		switch nd, why := domain(d); {
		case nd == "" || why != "":
			add("Config.DomainScopes has key %q, which is not a domain name: use bare domains such as example.com (%s)", d, c.env("DOMAIN_SCOPES"))
		case len(c.DomainScopes[d]) == 0:
			add("Config.%s is empty: give the scopes granted to accounts of %s, or remove the entry (%s)", field, d, c.env("DOMAIN_SCOPES"))
		default:
			s.domainScopes[nd] = appendNew(s.domainScopes[nd], list(field, "DOMAIN_SCOPES", c.DomainScopes[d], scope)...)
		}
	}

	if _, err := config.CheckURL(c.TokenInfoURL, config.URL{}); c.TokenInfoURL != "" && err != nil {
		add("Config.TokenInfoURL: %v (%s)", err, c.env("TOKENINFO_URL"))
	}
	if _, err := config.CheckURL(c.JWKSURI, config.URL{}); c.JWKSURI != "" && err != nil {
		add("Config.JWKSURI: %v (%s)", err, c.env("JWKS_URI"))
	}
	if c.HTTPTimeout < 0 {
		add("Config.HTTPTimeout %s is negative: leave it 0 for the default (%s) (%s)", c.HTTPTimeout, DefaultHTTPTimeout, c.env("HTTP_TIMEOUT"))
	}
	if c.Leeway < 0 || c.Leeway > MaxLeeway {
		add("Config.Leeway %s is out of range: use a duration from 0 to %s (%s)", c.Leeway, MaxLeeway, c.env("LEEWAY"))
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}
	if s.now == nil {
		s.now = time.Now
	}
	// tokeninfo answers directly; a redirect would turn the POST into a GET without
	// the token, or send the token elsewhere.
	s.client = &upstream.Client{HTTP: upstream.NewHTTPClient(c.HTTPClient, s.timeout), Name: "Google", Timeout: s.timeout, Now: s.now}
	return s, nil
}

// domain normalises a domain name and says why it is not a bare one ("" when it is).
func domain(d string) (string, string) {
	d = strings.ToLower(strings.TrimSpace(d))
	if strings.ContainsAny(d, "@ /:") {
		return d, "is not a domain name: give a bare domain such as example.com"
	}
	return d, ""
}

// email normalises an e-mail address and says why it is not one ("" when it is).
func email(e string) (string, string) {
	e = strings.ToLower(strings.TrimSpace(e))
	if at := strings.LastIndexByte(e, '@'); at <= 0 || at == len(e)-1 || strings.ContainsAny(e, " ,") {
		return e, "is not an e-mail address: give an address such as alice@example.com"
	}
	return e, ""
}

// scope says why s is not a scope ("" when it is).
func scope(s string) (string, string) {
	if strings.ContainsAny(s, " \t\r\n\"\\") {
		return s, "is not a scope: a scope has no spaces, quotes or backslashes"
	}
	return s, ""
}

// appendNew appends the items that list does not hold yet.
func appendNew(list []string, items ...string) []string {
	for _, it := range items {
		if !slices.Contains(list, it) {
			list = append(list, it)
		}
	}
	return list
}

// ConfigFromEnv reads a Config from the variables prefix + "_GOOGLE_" + NAME listed in
// the package documentation (prefix "" means "MCPAUTH"); unset or empty ones leave their
// field zero, and errors name the variable and the fix. The result, the Config a literal
// with the same fields would be, is not validated (New does that), so it may be adjusted.
func ConfigFromEnv(prefix string) (Config, error) {
	return config.Load[Config]("google", prefix, "GOOGLE")
}

// Endpoint returns Google's OAuth 2.0 endpoint, for an oauth2.Config that signs users
// in with Google. Client credentials are sent in the token request's body, as Google
// documents.
func Endpoint() oauth2.Endpoint {
	return oauth2.Endpoint{
		AuthURL:       "https://accounts.google.com/o/oauth2/v2/auth",
		TokenURL:      "https://oauth2.googleapis.com/token",
		DeviceAuthURL: "https://oauth2.googleapis.com/device/code",
		AuthStyle:     oauth2.AuthStyleInParams,
	}
}

// DefaultScopes returns the Google OAuth scopes to request when signing users in, in a
// new slice on every call: an ID token, the account's e-mail address (needed by the
// e-mail and, for access tokens, hosted-domain rules) and basic profile.
func DefaultScopes() []string { return []string{"openid", "email", "profile"} }
