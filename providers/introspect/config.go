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

	// Audience lists this resource's identifiers (RFC 8707 resource URIs), one of which
	// the response's "aud" must contain. Required by New unless SkipAudienceCheck is set;
	// NewFactory fills it with each resource's URI when empty. Scheme and host of an
	// http(s) URI match in any letter case, and a default port is ignored (RFC 3986):
	// "HTTPS://MCP.Example.COM:443/mcp" matches "https://mcp.example.com/mcp"; the rest,
	// and any other audience, must match exactly.
	Audience []string `env:"AUDIENCE"`
	// SkipAudienceCheck accepts tokens whatever their audience. A token issued for
	// another resource server of the same authorization server is then accepted too.
	SkipAudienceCheck bool
	// Issuers, when set, lists the accepted "iss" values (compared exactly): the
	// response must then carry one of them. Empty means "iss" is not checked, since the
	// introspection endpoint already speaks for one authorization server.
	Issuers []string `env:"ISSUER"`

	// AllowMissingSubject accepts active tokens without "sub" (or with an empty one),
	// typically client-credentials tokens, with "client_id" as their subject (RFC 9068
	// §2.2). By default they are refused, so that a client is never taken for a user
	// whose subject equals its client id.
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
	// down), never with a token or a secret. Default: slog.Default() at New or NewFactory.
	Logger *slog.Logger `json:"-"`

	// Now is the clock for "exp" and "nbf" (default time.Now).
	Now func() time.Time `json:"-"`
	// ProviderName is copied to AccessToken.Provider (default "introspect").
	ProviderName string
}

// Configured reports whether c names an introspection endpoint, that is whether the
// environment selected this provider; it says nothing about the rest being valid.
func (c Config) Configured() bool { return strings.TrimSpace(c.IntrospectionURL) != "" }

// settings is a validated Config with its defaults filled in.
type settings struct {
	Config
	hint   string // the token_type_hint sent, "" for none
	client *upstreamhttp.Client
}

// env names the environment variable that sets a field, with the default prefix.
func env(suffix string) string { return config.VarName("", "", suffix) }

// Validate reports every problem of the configuration, as one error per problem joined
// with errors.Join. Each message names the Config field and its environment variable
// (with the default prefix MCPAUTH) and says how to fix it. New calls Validate; calling
// it earlier checks a configuration at startup.
func (c Config) Validate() error {
	_, err := c.prepare(true)
	return err
}

// prepare validates c and returns its defaulted settings. requireAudience is false for
// NewFactory, which fills the audience per resource.
func (c Config) prepare(requireAudience bool) (*settings, error) {
	problems := &config.Problems{Pkg: "introspect"}
	// A copy: the lists read per request are cloned, so that the caller's later changes
	// do not reach them (the audience matchers hold their own copies).
	s := &settings{Config: c, hint: strings.TrimSpace(c.TokenTypeHint)}
	s.IntrospectionURL = strings.TrimSpace(c.IntrospectionURL)
	s.AuthMethod = cmp.Or(strings.TrimSpace(c.AuthMethod), AuthMethodClientSecretBasic)
	s.Issuers = slices.Clone(c.Issuers)
	s.Scopes = slices.Clone(c.Scopes)

	if s.IntrospectionURL == "" {
		problems.Add("Config.IntrospectionURL is empty: set %s to the authorization server's introspection_endpoint (RFC 7662)", env("INTROSPECTION_URL"))
	} else if _, err := config.CheckURL(s.IntrospectionURL, config.URL{Of: " of the introspection endpoint", NoFragment: true, Credentials: " and set the client id and secret instead"}); err != nil {
		problems.Add("Config.IntrospectionURL: %v (%s)", err, env("INTROSPECTION_URL"))
	}
	if strings.TrimSpace(c.ClientID) == "" {
		problems.Add("Config.ClientID is empty: set %s to the client_id this resource server was registered with", env("INTROSPECTION_CLIENT_ID"))
	}
	if c.ClientSecret.IsZero() {
		problems.Add("Config.ClientSecret is empty: set %s (or %s) to this resource server's client secret", env("INTROSPECTION_CLIENT_SECRET"), env("INTROSPECTION_CLIENT_SECRET_FILE"))
	}
	if s.AuthMethod != AuthMethodClientSecretBasic && s.AuthMethod != AuthMethodClientSecretPost {
		problems.Add("Config.AuthMethod %q is not supported: use %q (the default) or %q (%s)", c.AuthMethod,
			AuthMethodClientSecretBasic, AuthMethodClientSecretPost, env("INTROSPECTION_AUTH_METHOD"))
	}

	if len(c.Audience) == 0 && !c.SkipAudienceCheck && requireAudience {
		problems.Add("Config.Audience is empty: set %s (the resource URI of this service, RFC 8707) or set SkipAudienceCheck", env("AUDIENCE"))
	}
	problems.NoBlank("Audience", c.Audience, env("AUDIENCE"))
	problems.NoBlank("Issuers", c.Issuers, env("ISSUER"))
	problems.NoBlank("Scopes", c.Scopes, env("INTROSPECTION_SCOPES"))
	if strings.ContainsAny(s.hint, " \t\r\n") {
		problems.Add("Config.TokenTypeHint %q contains white space: use a token type such as access_token, or \"-\" to send none", c.TokenTypeHint)
	}

	if c.Leeway < 0 || c.Leeway > MaxLeeway {
		problems.Add("Config.Leeway %s is out of range: use a duration from 0 to %s (%s)", c.Leeway, MaxLeeway, env("LEEWAY"))
	}
	if c.MaxTokenSize < 0 {
		problems.Add("Config.MaxTokenSize %d is negative: leave it 0 for the default (%d bytes) or give a positive size", c.MaxTokenSize, DefaultMaxTokenSize)
	}
	if c.HTTPTimeout < 0 {
		problems.Add("Config.HTTPTimeout %s is negative: leave it 0 for the default (%s) (%s)", c.HTTPTimeout, DefaultHTTPTimeout, env("INTROSPECTION_TIMEOUT"))
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}

	if s.hint = cmp.Or(s.hint, "access_token"); s.hint == "-" {
		s.hint = "" // send none
	}
	s.TenantClaim = cmp.Or(strings.TrimSpace(c.TenantClaim), "tenant_id")
	s.MaxTokenSize = cmp.Or(c.MaxTokenSize, DefaultMaxTokenSize)
	s.HTTPTimeout = cmp.Or(c.HTTPTimeout, DefaultHTTPTimeout)
	s.Logger = cmp.Or(c.Logger, slog.Default())
	if s.Now == nil {
		s.Now = time.Now
	}
	s.ProviderName = cmp.Or(c.ProviderName, "introspect")
	// Redirects are never followed: a 307/308 would replay the token and the
	// credentials to another location. The caller's client is copied, not modified.
	s.client = &upstreamhttp.Client{HTTP: upstreamhttp.NewHTTPClient(c.HTTPClient, s.HTTPTimeout), Name: "the authorization server",
		Timeout: s.HTTPTimeout, Now: s.Now, Unexpected: ErrUnexpectedResponse}
	return s, nil
}

// ConfigFromEnv reads a Config from the variables listed in the package documentation,
// with prefix instead of MCPAUTH ("" means MCPAUTH); errors name the variable and the
// fix, and Config.Configured tells whether the environment selected this provider. It
// does not call Validate (New and NewFactory do), so the caller may still adjust the
// Config, which is the one a literal with the same fields would be.
func ConfigFromEnv(prefix string) (Config, error) {
	return config.Load[Config]("introspect", prefix, "")
}
