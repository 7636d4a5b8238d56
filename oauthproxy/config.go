package oauthproxy

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/config"
)

// Resources are the protected services the proxy issues tokens for. A hub implements it
// (hub.Hub); StaticResources serves a single mcp-go server without a hub.
type Resources interface {
	// ResourceScopes reports whether resource (an RFC 8707 resource URI) is a protected
	// service, and the scopes it offers.
	ResourceScopes(resource string) (scopes []string, ok bool)
	// ScopesSupported returns every scope any protected service offers.
	ScopesSupported() []string
}

// StaticResources maps each protected resource URI to the scopes it offers.
type StaticResources map[string][]string

// ResourceScopes implements Resources.
func (s StaticResources) ResourceScopes(resource string) ([]string, bool) {
	sc, ok := s[resource]
	return sc, ok
}

// ScopesSupported implements Resources.
func (s StaticResources) ScopesSupported() []string {
	var out []string
	for _, sc := range s {
		for _, v := range sc {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return out
}

// Defaults.
const (
	DefaultAccessTokenTTL   = 15 * time.Minute
	DefaultRefreshTokenTTL  = 30 * 24 * time.Hour
	DefaultCodeTTL          = 5 * time.Minute
	MaxCodeTTL              = 10 * time.Minute
	DefaultAuthorizationTTL = 10 * time.Minute
	DefaultConsentTTL       = 90 * 24 * time.Hour
	DefaultRegistrationRate = 20 // per minute and client address
)

// Config configures a Server. Validate checks it without I/O; New does the I/O.
type Config struct {
	// Issuer is the proxy's issuer URL (RFC 8414), usually the hub's base URL, such as
	// https://mcp.example.com. Its endpoints live under Issuer + "/oauth/". Required.
	Issuer string
	// Upstream is the identity provider people sign in with. Required.
	Upstream Upstream
	// Resources are the services tokens are issued for (the hub). Required.
	Resources Resources
	// SigningKey signs the access tokens: a PEM PKCS #8 EC P-256 (ES256) or Ed25519
	// (EdDSA) private key. Required unless DevMode.
	SigningKey mcpauth.Secret
	// PreviousSigningKeys are keys rotated out: still published and accepted, never used
	// to sign. Remove one once the tokens it signed have expired (AccessTokenTTL).
	PreviousSigningKeys []mcpauth.Secret
	// EncryptionKeys encrypt upstream tokens at rest with AES-256-GCM: each 32 random
	// bytes in base64. The first encrypts, all decrypt. Required unless DevMode.
	EncryptionKeys []mcpauth.Secret
	// DevMode generates a signing key and an encryption key when they are not set (and
	// logs that it did): tokens then do not survive a restart. Never for production.
	DevMode bool
	// AutoApprove skips the consent page. Allowed only when Issuer is a loopback URL.
	AutoApprove bool
	// Store keeps the state (default: a MemoryStore, for one replica).
	Store Store
	// AccessTokenTTL (default 15 minutes), RefreshTokenTTL (default 30 days), CodeTTL
	// (default 5 minutes, at most 10), AuthorizationTTL (how long a sign-in may take,
	// default 10 minutes) and ConsentTTL (how long an approval is remembered, default
	// 90 days).
	AccessTokenTTL, RefreshTokenTTL, CodeTTL, AuthorizationTTL, ConsentTTL time.Duration
	// RegistrationRate bounds dynamic client registrations per minute and client
	// address (default DefaultRegistrationRate); negative disables registration.
	RegistrationRate int
	// MetadataDocumentHosts lets Client ID Metadata Documents be fetched from these
	// host:port values although they resolve to loopback or private addresses. For
	// tests only: refused unless Issuer is a loopback URL.
	MetadataDocumentHosts []string
	// MetadataDocumentRoots, when set, replaces the system roots to verify the TLS
	// certificates of metadata document hosts (tests).
	MetadataDocumentRoots *x509.CertPool
	// Logger receives operational messages (default slog.Default()). No token, code or
	// secret is ever logged.
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Validate reports every problem of c at once, naming the field and the fix.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf("oauthproxy: "+format, a...)) }
	iss, err := config.CheckURL(c.Issuer, config.URL{NoQuery: true, Query: "an issuer has none (RFC 8414 §2)", Of: ", such as https://mcp.example.com"})
	switch {
	case c.Issuer == "":
		add("Config.Issuer is empty: set the proxy's public URL, usually the hub's base URL, such as https://mcp.example.com")
	case err != nil:
		add("Config.Issuer %v", err)
	case strings.HasSuffix(c.Issuer, "/"):
		add("Config.Issuer %q ends with a slash: remove it (its endpoints are Issuer + \"/oauth/...\")", c.Issuer)
	}
	loopback := err == nil && config.IsLoopbackHost(iss.Hostname())
	if c.Upstream == nil {
		add("Config.Upstream is nil: choose the identity provider people sign in with (oauthproxy.GitHub, Google, WorkOS, OIDC, or NewDevUpstream for development)")
	}
	if _, dev := c.Upstream.(*DevUpstream); dev && !c.DevMode {
		add("Config.Upstream is the development upstream, where anyone signs in as anyone, but DevMode is not set: set DevMode for development, or choose a real identity provider")
	}
	if c.Resources == nil {
		add("Config.Resources is nil: pass the hub (it implements oauthproxy.Resources) or an oauthproxy.StaticResources")
	}
	if c.SigningKey.IsZero() && !c.DevMode {
		add("Config.SigningKey is empty: give a PEM EC P-256 or Ed25519 private key (MCPAUTH_PROXY_SIGNING_KEY_FILE), or set DevMode for a throwaway key")
	}
	if len(c.EncryptionKeys) == 0 && !c.DevMode {
		add("Config.EncryptionKeys is empty: give at least one key of 32 random bytes in base64 (openssl rand -base64 32), or set DevMode for a throwaway key")
	}
	if c.AutoApprove && !loopback {
		add("Config.AutoApprove is set but Issuer %q is not a loopback URL: consent may only be skipped for local development", c.Issuer)
	}
	if len(c.MetadataDocumentHosts) > 0 && !loopback {
		add("Config.MetadataDocumentHosts is set but Issuer %q is not a loopback URL: it is a test-only allowance", c.Issuer)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"AccessTokenTTL", c.AccessTokenTTL}, {"RefreshTokenTTL", c.RefreshTokenTTL}, {"CodeTTL", c.CodeTTL}, {"AuthorizationTTL", c.AuthorizationTTL}, {"ConsentTTL", c.ConsentTTL}} {
		if d.v < 0 {
			add("Config.%s is negative: leave it 0 for the default", d.name)
		}
	}
	if c.CodeTTL > MaxCodeTTL {
		add("Config.CodeTTL is %s: authorization codes live at most %s", c.CodeTTL, MaxCodeTTL)
	}
	return errors.Join(errs...)
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.AccessTokenTTL, DefaultAccessTokenTTL)
	def(&c.RefreshTokenTTL, DefaultRefreshTokenTTL)
	def(&c.CodeTTL, DefaultCodeTTL)
	def(&c.AuthorizationTTL, DefaultAuthorizationTTL)
	def(&c.ConsentTTL, DefaultConsentTTL)
	if c.RegistrationRate == 0 {
		c.RegistrationRate = DefaultRegistrationRate
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Store == nil {
		c.Store = NewMemoryStore(c.Now)
	}
}
