package google

import (
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

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

// issuer is the "iss" of Google ID tokens; some carry it without its scheme.
const issuer = "https://accounts.google.com"

// Issuers returns the "iss" values of Google ID tokens, in a new slice on every call.
func Issuers() []string { return []string{issuer, "accounts.google.com"} }

// Config configures a Verifier. Only ClientIDs is required; the zero value of every
// other field is a safe default.
//
// # Rules
//
// With no rule set, every Google account whose token was issued to one of ClientIDs is
// accepted. The rules narrow that down, and all configured rules must pass:
//
//   - HostedDomains: the account must belong to one of these Google Workspace domains.
//     For ID tokens this is the "hd" claim (absent for consumer accounts). Google's
//     tokeninfo answer for access tokens has no "hd", so for access tokens the domain of
//     the account's e-mail address is used instead, and only when Google reports that
//     address as verified. That is weaker than "hd": a consumer Google account
//     registered with a verified address of the domain passes too. Set
//     StrictHostedDomain to accept only a real "hd" claim (access tokens are then
//     refused).
//   - AllowedEmails and AllowedEmailDomains together form one allowlist: the account's
//     e-mail address must be listed, or belong to a listed domain. Google must report
//     the address as verified; an unverified address is refused.
//
// Domains and addresses are compared case-insensitively. A rule refusing an otherwise
// valid account yields mcpauth.AccessDenied (403 access_denied).
//
// # Scopes
//
// Google's own OAuth scopes (openid, email, https://www.googleapis.com/auth/...) are
// not this server's scopes: they are reported in AccessToken.Claims["google_scopes"].
// AccessToken.Scopes is computed from configuration: Scopes, granted to every accepted
// account, plus DomainScopes[d] where d is the account's hosted domain (as the
// HostedDomains rule sees it) or the domain of its verified e-mail address.
//
// ClientSecret is an mcpauth.Secret, so a Config printed with fmt (any verb), logged
// with log/slog or encoded with encoding/json shows it as "[redacted]".
type Config struct {
	// ClientIDs are the OAuth client IDs of your application
	// ("….apps.googleusercontent.com"). An access token is accepted only when its "aud"
	// or "azp" is one of them, and an ID token only when its "aud" is. Required.
	ClientIDs []string `env:"CLIENT_ID"`
	// ClientSecret is the OAuth client secret. The Verifier does not use it; it is here
	// so that one Config also serves an OAuth authorization-code flow (see Endpoint).
	// It is never printed.
	ClientSecret mcpauth.Secret `env:"CLIENT_SECRET,trim,blank" noun:"client secret"`

	// HostedDomains lists the accepted Google Workspace domains (see Rules).
	HostedDomains []string `env:"HOSTED_DOMAINS"`
	// StrictHostedDomain makes HostedDomains accept only the "hd" claim of ID tokens:
	// access tokens, whose tokeninfo answer has no "hd", are then refused. It requires
	// HostedDomains.
	StrictHostedDomain bool `env:"STRICT_HOSTED_DOMAIN"`
	// AllowedEmailDomains lists accepted domains of verified e-mail addresses (see Rules).
	AllowedEmailDomains []string `env:"ALLOWED_EMAIL_DOMAINS"`
	// AllowedEmails lists accepted verified e-mail addresses (see Rules).
	AllowedEmails []string `env:"ALLOWED_EMAILS"`

	// Scopes are granted to every accepted account.
	Scopes []string `env:"SCOPES"`
	// DomainScopes grants scopes by domain: an account whose hosted domain or verified
	// e-mail domain is d is granted DomainScopes[d], besides Scopes.
	DomainScopes map[string][]string `env:"DOMAIN_SCOPES" grants:"example.com=notes:read notes:write; corp.example=admin"`

	// AnyTokenFormat turns the token-format prefilter off. By default a token must look
	// like a Google access token (it starts with "ya29.") or a JWT (it starts with
	// "eyJ" and has three segments), and anything else is refused as invalid_token
	// without any upstream call. Set it if your tokens come in another format.
	AnyTokenFormat bool `env:"ANY_TOKEN_FORMAT"`

	// TokenInfoURL is the token information endpoint (default DefaultTokenInfoURL).
	// Override it only for tests or an enterprise egress proxy. It must use https,
	// except on loopback hosts.
	TokenInfoURL string `env:"TOKENINFO_URL"`
	// JWKSURI is the JWKS of ID-token signing keys (default DefaultJWKSURI). Override it
	// only for tests or an enterprise egress proxy. It must use https, except on
	// loopback hosts.
	JWKSURI string `env:"JWKS_URI"`
	// HTTPClient makes the upstream calls. The default is a client with HTTPTimeout. A
	// client given here is copied, and the copy follows no redirects. Either way each
	// call is bounded by HTTPTimeout.
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
	clientIDs      []string
	hostedDomains  []string
	strictHD       bool
	emailDomains   []string
	emails         []string
	scopes         []string
	domainScopes   map[string][]string
	anyTokenFormat bool
	tokenInfoURL   string
	jwksURI        string
	client         *upstream.Client
	timeout        time.Duration
	leeway         time.Duration
	now            func() time.Time
	logger         *slog.Logger
}

// env names the environment variable that sets a field, with the default prefix.
func (Config) env(suffix string) string { return config.VarName("", "GOOGLE", suffix) }

// Configured reports whether Google sign-in is configured at all, that is whether
// ClientIDs is set (by ConfigFromEnv: whether MCPAUTH_GOOGLE_CLIENT_ID is set). Use it
// to choose the providers of a server from the environment.
func (c Config) Configured() bool { return len(c.ClientIDs) > 0 }

// Validate reports every problem of the configuration, one error per problem joined
// with errors.Join. Each message names the Config field and, in parentheses, the
// environment variable that sets it (with the default prefix MCPAUTH), and says how to
// fix it. New calls Validate.
func (c Config) Validate() error {
	_, err := c.prepare()
	return err
}

func (c Config) prepare() (*settings, error) {
	problems := &config.Problems{Pkg: "google"}
	add := problems.Add
	s := &settings{
		strictHD:       c.StrictHostedDomain,
		anyTokenFormat: c.AnyTokenFormat,
		tokenInfoURL:   c.TokenInfoURL,
		jwksURI:        c.JWKSURI,
		timeout:        c.HTTPTimeout,
		leeway:         c.Leeway,
		now:            c.Now,
		logger:         c.Logger,
	}

	if len(c.ClientIDs) == 0 {
		add("Config.ClientIDs is empty: set %s to your OAuth client ID (….apps.googleusercontent.com; several may be given, comma separated)", c.env("CLIENT_ID"))
	}
	for i, id := range c.ClientIDs {
		id = strings.TrimSpace(id)
		if id == "" {
			add("Config.ClientIDs[%d] is empty: remove it (%s)", i, c.env("CLIENT_ID"))
			continue
		}
		s.clientIDs = append(s.clientIDs, id)
	}

	domains := func(field, env string, list []string) []string {
		var out []string
		for i, d := range list {
			d = strings.ToLower(strings.TrimSpace(d))
			switch {
			case d == "":
				add("Config.%s[%d] is empty: remove it (%s)", field, i, c.env(env))
			case strings.Contains(d, "@") || strings.ContainsAny(d, " /:"):
				add("Config.%s[%d] = %q is not a domain name: give a bare domain such as example.com (%s)", field, i, d, c.env(env))
			default:
				if !slices.Contains(out, d) {
					out = append(out, d)
				}
			}
		}
		return out
	}
	s.hostedDomains = domains("HostedDomains", "HOSTED_DOMAINS", c.HostedDomains)
	s.emailDomains = domains("AllowedEmailDomains", "ALLOWED_EMAIL_DOMAINS", c.AllowedEmailDomains)
	for i, e := range c.AllowedEmails {
		e = strings.ToLower(strings.TrimSpace(e))
		at := strings.LastIndexByte(e, '@')
		if at <= 0 || at == len(e)-1 || strings.ContainsAny(e, " ,") {
			add("Config.AllowedEmails[%d] = %q is not an e-mail address: give an address such as alice@example.com (%s)", i, e, c.env("ALLOWED_EMAILS"))
			continue
		}
		if !slices.Contains(s.emails, e) {
			s.emails = append(s.emails, e)
		}
	}
	if c.StrictHostedDomain && len(c.HostedDomains) == 0 {
		add("Config.StrictHostedDomain is set but Config.HostedDomains is empty: set %s or unset %s", c.env("HOSTED_DOMAINS"), c.env("STRICT_HOSTED_DOMAIN"))
	}

	scopeList := func(field, env string, list []string) []string {
		var out []string
		for i, sc := range list {
			switch {
			case sc == "":
				add("Config.%s[%d] is empty: remove it (%s)", field, i, c.env(env))
			case strings.ContainsAny(sc, " \t\r\n\"\\"):
				add("Config.%s[%d] = %q is not a scope: a scope has no spaces, quotes or backslashes (%s)", field, i, sc, c.env(env))
			default:
				if !slices.Contains(out, sc) {
					out = append(out, sc)
				}
			}
		}
		return out
	}
	s.scopes = scopeList("Scopes", "SCOPES", c.Scopes)
	if len(c.DomainScopes) > 0 {
		s.domainScopes = make(map[string][]string, len(c.DomainScopes))
		for _, d := range slices.Sorted(maps.Keys(c.DomainScopes)) {
			nd := strings.ToLower(strings.TrimSpace(d))
			if nd == "" || strings.ContainsAny(nd, "@ /:") {
				add("Config.DomainScopes has key %q, which is not a domain name: use bare domains such as example.com (%s)", d, c.env("DOMAIN_SCOPES"))
				continue
			}
			field := "DomainScopes[" + strconv.Quote(d) + "]"
			if len(c.DomainScopes[d]) == 0 {
				add("Config.%s is empty: give the scopes granted to accounts of %s, or remove the entry (%s)", field, d, c.env("DOMAIN_SCOPES"))
				continue
			}
			for _, sc := range scopeList(field, "DOMAIN_SCOPES", c.DomainScopes[d]) {
				if !slices.Contains(s.domainScopes[nd], sc) {
					s.domainScopes[nd] = append(s.domainScopes[nd], sc)
				}
			}
		}
	}

	if s.tokenInfoURL == "" {
		s.tokenInfoURL = DefaultTokenInfoURL
	} else if _, err := config.CheckURL(s.tokenInfoURL, config.URL{}); err != nil {
		add("Config.TokenInfoURL: %v (%s)", err, c.env("TOKENINFO_URL"))
	}
	if s.jwksURI == "" {
		s.jwksURI = DefaultJWKSURI
	} else if _, err := config.CheckURL(s.jwksURI, config.URL{}); err != nil {
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

	if s.timeout == 0 {
		s.timeout = DefaultHTTPTimeout
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	// tokeninfo answers directly; a redirect would turn the POST into a GET without
	// the token, or send the token elsewhere.
	s.client = &upstream.Client{HTTP: upstream.NewHTTPClient(c.HTTPClient, s.timeout), Name: "Google", Timeout: s.timeout, Now: s.now}
	return s, nil
}

// ---- environment ----

// ConfigFromEnv reads a Config from environment variables named prefix + "_GOOGLE_" +
// NAME (prefix "" means "MCPAUTH"):
//
//	PREFIX_GOOGLE_CLIENT_ID              Config.ClientIDs (comma or space separated)
//	PREFIX_GOOGLE_CLIENT_SECRET          Config.ClientSecret
//	PREFIX_GOOGLE_CLIENT_SECRET_FILE     Config.ClientSecret read from a file, trailing newline trimmed
//	PREFIX_GOOGLE_HOSTED_DOMAINS         Config.HostedDomains (list)
//	PREFIX_GOOGLE_STRICT_HOSTED_DOMAIN   Config.StrictHostedDomain (true/false)
//	PREFIX_GOOGLE_ALLOWED_EMAIL_DOMAINS  Config.AllowedEmailDomains (list)
//	PREFIX_GOOGLE_ALLOWED_EMAILS         Config.AllowedEmails (list)
//	PREFIX_GOOGLE_SCOPES                 Config.Scopes (list)
//	PREFIX_GOOGLE_DOMAIN_SCOPES          Config.DomainScopes: "example.com=notes:read notes:write; corp.example=admin"
//	                                     (entries separated by ";" or new lines)
//	PREFIX_GOOGLE_ANY_TOKEN_FORMAT       Config.AnyTokenFormat (true/false)
//	PREFIX_GOOGLE_TOKENINFO_URL          Config.TokenInfoURL (tests, egress proxies)
//	PREFIX_GOOGLE_JWKS_URI               Config.JWKSURI (tests, egress proxies)
//	PREFIX_GOOGLE_HTTP_TIMEOUT           Config.HTTPTimeout (a Go duration such as 3s)
//	PREFIX_GOOGLE_LEEWAY                 Config.Leeway (a Go duration such as 30s)
//
// Unset or empty variables leave the field zero. Errors name the variable and the fix.
// ConfigFromEnv does not call Validate (New does), so the caller may adjust the result.
// The Config it returns is the one a literal with the same fields would be.
func ConfigFromEnv(prefix string) (Config, error) {
	return config.Load[Config]("google", prefix, "GOOGLE")
}
