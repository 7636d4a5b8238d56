package introspect

import (
	"cmp"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/config"
	upstreamhttp "github.com/mcpauth/mcpauth/internal/upstream"
)

// Defaults and limits of Config.
const (
	// DefaultHTTPTimeout is the default Config.HTTPTimeout.
	DefaultHTTPTimeout = 5 * time.Second
	// DefaultMaxTokenSize is the default Config.MaxTokenSize, in bytes.
	DefaultMaxTokenSize = 8192
	// DefaultTokenTypeHint is the default Config.TokenTypeHint.
	DefaultTokenTypeHint = "access_token"
	// DefaultTenantClaim is the default Config.TenantClaim.
	DefaultTenantClaim = "tenant_id"
	// DefaultProviderName is the default Config.ProviderName.
	DefaultProviderName = "introspect"
	// MaxLeeway is the largest Config.Leeway accepted.
	MaxLeeway = 5 * time.Minute
	// MaxResponseSize is the largest introspection response read, in bytes. A larger
	// response is treated as malformed (temporarily_unavailable).
	MaxResponseSize = upstreamhttp.MaxBody
)

// Client authentication methods at the introspection endpoint (RFC 6749 §2.3.1, the
// token_endpoint_auth_method values of RFC 7591).
const (
	// AuthMethodClientSecretBasic sends the client credentials in an HTTP Basic
	// Authorization header, each form-urlencoded first as RFC 6749 §2.3.1 requires.
	AuthMethodClientSecretBasic = "client_secret_basic"
	// AuthMethodClientSecretPost sends client_id and client_secret in the form body.
	AuthMethodClientSecretPost = "client_secret_post"
)

// Config configures a Verifier. IntrospectionURL, ClientID and ClientSecret are required,
// and so is Audience unless SkipAudienceCheck is set (NewFactory fills it per resource).
// The zero value of every other field is a safe default.
//
// ClientSecret is an mcpauth.Secret, so a Config printed with fmt (any verb), logged
// with log/slog or encoded with encoding/json shows it as "[redacted]".
type Config struct {
	// IntrospectionURL is the authorization server's RFC 7662 introspection endpoint
	// (its metadata's "introspection_endpoint"). It must use https, except for loopback
	// hosts (127.0.0.0/8, ::1, localhost), and must not contain credentials.
	IntrospectionURL string `env:"INTROSPECTION_URL"`
	// ClientID identifies this resource server to the authorization server.
	ClientID string `env:"INTROSPECTION_CLIENT_ID"`
	// ClientSecret authenticates this resource server. It is never printed or logged.
	ClientSecret mcpauth.Secret `env:"INTROSPECTION_CLIENT_SECRET"`
	// AuthMethod is how the credentials are sent: AuthMethodClientSecretBasic (the
	// default) or AuthMethodClientSecretPost.
	AuthMethod string `env:"INTROSPECTION_AUTH_METHOD"`

	// Audience lists this resource's identifiers (RFC 8707 resource URIs): the
	// introspection response's "aud" must contain at least one of them. Required by New
	// unless SkipAudienceCheck is set; NewFactory fills it with each resource's URI when
	// it is empty. An audience that is an http(s) URI matches whatever the letter case
	// of its scheme and host, and with or without a default port (RFC 3986):
	// "HTTPS://MCP.Example.COM:443/mcp" matches "https://mcp.example.com/mcp". Its path,
	// query and fragment, and any other audience, must match exactly.
	Audience []string `env:"AUDIENCE"`
	// SkipAudienceCheck accepts tokens whatever their audience. A token issued for
	// another resource server of the same authorization server is then accepted too.
	SkipAudienceCheck bool
	// Issuers, when set, lists the accepted "iss" values (compared exactly): the
	// response must then carry one of them. Empty means "iss" is not checked, since the
	// introspection endpoint already speaks for one authorization server.
	Issuers []string `env:"ISSUER"`

	// AllowMissingSubject accepts active tokens whose introspection response has no
	// "sub" (or an empty one), typically client-credentials tokens: their
	// AccessToken.Subject is then the response's "client_id" (RFC 9068 §2.2), and a
	// response with neither is still refused. By default a response without "sub" is
	// refused (invalid_token), so that a client is never taken for a user whose subject
	// equals its client id.
	AllowMissingSubject bool

	// TokenTypeHint is sent as token_type_hint (default "access_token"). Use "-" to send
	// none.
	TokenTypeHint string `env:"INTROSPECTION_TOKEN_TYPE_HINT"`
	// Scopes are granted to every accepted token, in addition to the scopes of the
	// response's "scope" member.
	Scopes []string `env:"INTROSPECTION_SCOPES"`
	// TenantClaim names the string member of the response copied to
	// AccessToken.TenantID (default "tenant_id").
	TenantClaim string `env:"TENANT_CLAIM"`
	// Leeway is the allowed clock skew when checking "exp" and "nbf": 0 (the default)
	// to 5 minutes.
	Leeway time.Duration `env:"LEEWAY" example:"3s or 1m"`
	// MaxTokenSize is the largest token sent for introspection, in bytes (default 8192).
	// Larger tokens are refused without an upstream call.
	MaxTokenSize int

	// HTTPClient sends the introspection requests. The default is a client with
	// HTTPTimeout. Either way, redirects are never followed (the request carries the
	// token and the credentials) and responses larger than 1 MiB are refused.
	HTTPClient *http.Client `json:"-"`
	// HTTPTimeout bounds each introspection request (default 5s).
	HTTPTimeout time.Duration `env:"INTROSPECTION_TIMEOUT" example:"3s or 1m"`
	// Logger receives one line, at most once a minute, when introspection fails for a
	// reason the operator must fix or watch (rejected credentials, an endpoint that is
	// down). It never contains a token or a secret. Default: slog.Default() as it is
	// when New or NewFactory is called.
	Logger *slog.Logger `json:"-"`

	// Now is the clock for "exp" and "nbf" (default time.Now).
	Now func() time.Time `json:"-"`
	// ProviderName is copied to AccessToken.Provider (default "introspect").
	ProviderName string
}

// Configured reports whether c names an introspection endpoint at all, that is whether
// the environment read by ConfigFromEnv selected this provider (PREFIX_INTROSPECTION_URL
// is set). It says nothing about the rest of the configuration being valid.
func (c Config) Configured() bool { return strings.TrimSpace(c.IntrospectionURL) != "" }

// settings is a validated, defaulted Config.
type settings struct {
	endpoint     string
	clientID     string
	clientSecret mcpauth.Secret
	authMethod   string
	audience     []string
	skipAud      bool
	issuers      []string
	allowNoSub   bool
	hint         string
	scopes       []string
	tenantClaim  string
	leeway       time.Duration
	maxSize      int
	client       *upstreamhttp.Client
	timeout      time.Duration
	logger       *slog.Logger
	now          func() time.Time
	provider     string
}

// env names the environment variable that sets a field, with the default prefix.
func (Config) env(suffix string) string { return config.VarName("", "", suffix) }

// Validate reports every problem of the configuration, as one error per problem joined
// with errors.Join. Each message names the Config field and its environment variable
// (with the default prefix MCPAUTH) and says how to fix it. New calls Validate; calling it earlier checks a configuration at
// startup.
func (c Config) Validate() error {
	_, err := c.prepare(true)
	return err
}

// prepare validates c and returns its defaulted settings. requireAudience is false for
// NewFactory, which fills the audience per resource.
func (c Config) prepare(requireAudience bool) (*settings, error) {
	problems := &config.Problems{Pkg: "introspect"}
	add := problems.Add
	s := &settings{
		endpoint:     strings.TrimSpace(c.IntrospectionURL),
		clientID:     c.ClientID,
		clientSecret: c.ClientSecret,
		authMethod:   strings.TrimSpace(c.AuthMethod),
		skipAud:      c.SkipAudienceCheck,
		allowNoSub:   c.AllowMissingSubject,
		hint:         strings.TrimSpace(c.TokenTypeHint),
		tenantClaim:  strings.TrimSpace(c.TenantClaim),
		leeway:       c.Leeway,
		maxSize:      c.MaxTokenSize,
		timeout:      c.HTTPTimeout,
		logger:       c.Logger,
		now:          c.Now,
		provider:     c.ProviderName,
	}

	if s.endpoint == "" {
		add("Config.IntrospectionURL is empty: set %s to the authorization server's introspection_endpoint (RFC 7662)", c.env("INTROSPECTION_URL"))
	} else if _, err := config.CheckURL(s.endpoint, config.URL{Of: " of the introspection endpoint", NoFragment: true, Credentials: " and set the client id and secret instead"}); err != nil {
		add("Config.IntrospectionURL: %v (%s)", err, c.env("INTROSPECTION_URL"))
	}
	if strings.TrimSpace(c.ClientID) == "" {
		add("Config.ClientID is empty: set %s to the client_id this resource server was registered with", c.env("INTROSPECTION_CLIENT_ID"))
	}
	if c.ClientSecret.IsZero() {
		add("Config.ClientSecret is empty: set %s (or %s) to this resource server's client secret", c.env("INTROSPECTION_CLIENT_SECRET"), c.env("INTROSPECTION_CLIENT_SECRET_FILE"))
	}
	switch s.authMethod {
	case "":
		s.authMethod = AuthMethodClientSecretBasic
	case AuthMethodClientSecretBasic, AuthMethodClientSecretPost:
	default:
		add("Config.AuthMethod %q is not supported: use %q (the default) or %q (%s)", c.AuthMethod,
			AuthMethodClientSecretBasic, AuthMethodClientSecretPost, c.env("INTROSPECTION_AUTH_METHOD"))
	}

	if len(c.Audience) == 0 && !c.SkipAudienceCheck && requireAudience {
		add("Config.Audience is empty: set %s (the resource URI of this service, RFC 8707) or set SkipAudienceCheck", c.env("AUDIENCE"))
	}
	problems.NoBlank("Audience", c.Audience, c.env("AUDIENCE"))
	s.audience = slices.Clone(c.Audience)
	problems.NoBlank("Issuers", c.Issuers, c.env("ISSUER"))
	s.issuers = slices.Clone(c.Issuers)
	for i, sc := range c.Scopes {
		if strings.TrimSpace(sc) == "" {
			add("Config.Scopes[%d] is empty: remove it (%s)", i, c.env("INTROSPECTION_SCOPES"))
		}
		for f := range strings.FieldsSeq(sc) {
			if !slices.Contains(s.scopes, f) {
				s.scopes = append(s.scopes, f)
			}
		}
	}
	if strings.ContainsAny(s.hint, " \t\r\n") {
		add("Config.TokenTypeHint %q contains white space: use a token type such as access_token, or \"-\" to send none", c.TokenTypeHint)
	}

	if c.Leeway < 0 || c.Leeway > MaxLeeway {
		add("Config.Leeway %s is out of range: use a duration from 0 to %s (%s)", c.Leeway, MaxLeeway, c.env("LEEWAY"))
	}
	if c.MaxTokenSize < 0 {
		add("Config.MaxTokenSize %d is negative: leave it 0 for the default (%d bytes) or give a positive size", c.MaxTokenSize, DefaultMaxTokenSize)
	}
	if c.HTTPTimeout < 0 {
		add("Config.HTTPTimeout %s is negative: leave it 0 for the default (%s) (%s)", c.HTTPTimeout, DefaultHTTPTimeout, c.env("INTROSPECTION_TIMEOUT"))
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}

	switch s.hint {
	case "":
		s.hint = DefaultTokenTypeHint
	case "-":
		s.hint = ""
	}
	s.tenantClaim = cmp.Or(s.tenantClaim, DefaultTenantClaim)
	s.maxSize = cmp.Or(s.maxSize, DefaultMaxTokenSize)
	s.timeout = cmp.Or(s.timeout, DefaultHTTPTimeout)
	s.logger = cmp.Or(s.logger, slog.Default())
	if s.now == nil {
		s.now = time.Now
	}
	s.provider = cmp.Or(s.provider, DefaultProviderName)
	// Redirects are never followed: a 307/308 would replay the token and the
	// credentials to another location. The caller's client is copied, not modified.
	s.client = &upstreamhttp.Client{HTTP: upstreamhttp.NewHTTPClient(c.HTTPClient, s.timeout), Name: "the authorization server",
		Timeout: s.timeout, Now: s.now, Unexpected: ErrUnexpectedResponse}
	return s, nil
}

// ---- environment ----

// ConfigFromEnv reads a Config from environment variables named prefix + "_" + NAME
// (prefix "" means "MCPAUTH"):
//
//	PREFIX_INTROSPECTION_URL                 Config.IntrospectionURL (selects this provider)
//	PREFIX_INTROSPECTION_CLIENT_ID           Config.ClientID
//	PREFIX_INTROSPECTION_CLIENT_SECRET       Config.ClientSecret
//	PREFIX_INTROSPECTION_CLIENT_SECRET_FILE  Config.ClientSecret read from a file, trailing newline trimmed
//	PREFIX_INTROSPECTION_AUTH_METHOD         Config.AuthMethod (client_secret_basic or client_secret_post)
//	PREFIX_INTROSPECTION_TOKEN_TYPE_HINT     Config.TokenTypeHint
//	PREFIX_INTROSPECTION_SCOPES              Config.Scopes (comma- or space-separated)
//	PREFIX_INTROSPECTION_TIMEOUT             Config.HTTPTimeout (a Go duration such as "3s")
//	PREFIX_AUDIENCE                          Config.Audience (list; shared with providers/bearer)
//	PREFIX_ISSUER                            Config.Issuers (list; shared with providers/bearer)
//	PREFIX_TENANT_CLAIM                      Config.TenantClaim (shared with providers/bearer)
//	PREFIX_LEEWAY                            Config.Leeway (shared with providers/bearer)
//
// Unset or empty variables leave the field zero. Errors name the variable and the fix.
// ConfigFromEnv does not call Validate (New and NewFactory do), so the caller may still
// adjust the result. The Config it returns is the one a literal with the same fields
// would be; validation errors name these variables with the default prefix MCPAUTH. Use
// Config.Configured to learn whether the environment selected this provider.
func ConfigFromEnv(prefix string) (Config, error) {
	return config.Load[Config]("introspect", prefix, "")
}
