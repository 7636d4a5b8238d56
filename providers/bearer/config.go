package bearer

import (
	"cmp"
	"crypto"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/config"
	"github.com/mcpauth/mcpauth/scopes"
)

// Defaults and limits of Config.
const (
	// DefaultMaxTokenSize is the default Config.MaxTokenSize, in bytes.
	DefaultMaxTokenSize = 8192
	// DefaultHTTPTimeout is the default Config.HTTPTimeout.
	DefaultHTTPTimeout = 5 * time.Second
	// DefaultRefreshInterval is the default Config.RefreshInterval.
	DefaultRefreshInterval = time.Hour
	// DefaultUnknownKIDRefreshInterval is the default Config.UnknownKIDRefreshInterval.
	DefaultUnknownKIDRefreshInterval = time.Minute
	// MaxLeeway is the largest Config.Leeway accepted.
	MaxLeeway = 5 * time.Minute
	// MinHMACSecretSize is the smallest Config.HMACSecret accepted, in bytes.
	MinHMACSecretSize = 32
	// MinRSAKeyBits is the smallest RSA modulus accepted, from any key source.
	MinRSAKeyBits = 2048
)

// asymmetricAlgorithms is the default allowlist for public keys and JWKS.
var asymmetricAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// hmacAlgorithms is the default allowlist for an HMAC secret.
var hmacAlgorithms = []string{"HS256", "HS384", "HS512"}

// Config configures a Verifier. Exactly one key source must be set: JWKSURI, public keys
// (PublicKeyFiles and/or PublicKeys) or HMACSecret. The zero value of every other field
// is a safe default, except Issuers and Audience, which must be set unless their checks
// are skipped explicitly.
//
// HMACSecret is an mcpauth.Secret, so a Config printed with fmt (any verb), logged with
// log/slog or encoded with encoding/json shows it as "[redacted]".
type Config struct {
	// JWKSURI is the URL of a JSON Web Key Set to fetch the verification keys from.
	// It must use https, except for loopback hosts (127.0.0.0/8, ::1, localhost).
	JWKSURI string `env:"JWKS_URI"`
	// PublicKeyFiles are files holding verification keys: PEM (PKIX "PUBLIC KEY",
	// PKCS #1 "RSA PUBLIC KEY" or "CERTIFICATE" blocks, several per file allowed) or JSON
	// (one JWK or a JWK Set). Keys from JSON keep their "kid" and "alg".
	PublicKeyFiles []string `env:"PUBLIC_KEY_FILE"`
	// PublicKeys are verification keys given directly: *rsa.PublicKey, *ecdsa.PublicKey
	// (P-256, P-384, P-521) or ed25519.PublicKey. They have no key ID, so they are tried
	// for any token whose algorithm fits them, whatever its "kid".
	PublicKeys []crypto.PublicKey
	// HMACSecret is a shared secret for HS256/HS384/HS512 tokens (development and
	// closed systems). It must be at least 32 bytes.
	HMACSecret mcpauth.Secret `env:"HMAC_SECRET"`

	// Issuers lists the accepted "iss" values, compared exactly. At least one is
	// required unless SkipIssuerCheck is set.
	Issuers []string `env:"ISSUER"`
	// SkipIssuerCheck accepts tokens from any issuer (or none). Only safe when the keys
	// belong to a single issuer.
	SkipIssuerCheck bool
	// Audience lists accepted audiences: the token's "aud" must contain at least one of
	// them. Required by New unless SkipAudienceCheck is set; NewFactory fills it with
	// each resource's URI when it is empty. An audience that is an http(s) URI matches
	// whatever the letter case of its scheme and host, and with or without a default
	// port (RFC 3986): "HTTPS://MCP.Example.COM:443/mcp" matches
	// "https://mcp.example.com/mcp". Its path, query and fragment, and any other
	// audience, must match exactly.
	Audience []string `env:"AUDIENCE"`
	// SkipAudienceCheck accepts tokens whatever their audience. A token minted for
	// another service is then accepted here too.
	SkipAudienceCheck bool

	// Algorithms is the allowlist of signing algorithms (case-insensitive). The default
	// is RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA for asymmetric keys
	// and HS256 HS384 HS512 for an HMAC secret. "none" is always refused, HMAC
	// algorithms are refused with asymmetric keys and asymmetric algorithms with an HMAC
	// secret.
	Algorithms []string `env:"ALGORITHMS"`
	// Leeway is the allowed clock skew for exp, nbf and iat: 0 (the default) to 5 minutes.
	Leeway time.Duration `env:"LEEWAY" example:"30s or 1m"`
	// ExpirationOptional accepts tokens without an "exp" claim. By default exp is required.
	ExpirationOptional bool
	// AllowMissingSubject accepts tokens without a "sub" claim (or with an empty one);
	// their AccessToken.Subject is then "". By default such tokens are refused
	// (invalid_token), because every sub-less token would otherwise be the same caller
	// for whatever keys on the subject (sessions, per-user data, audit). Set it only when
	// nothing downstream relies on the subject.
	AllowMissingSubject bool

	// ScopeClaims are extra claim names read as scopes, besides "scope" (a
	// space-delimited string) and "scp" (an array of strings or a space-delimited
	// string). Each may be a string or an array of strings.
	ScopeClaims []string
	// RolesClaim names the claim holding the principal's roles (a string or an array of
	// strings). Default "roles".
	RolesClaim string `env:"ROLES_CLAIM"`
	// RoleScopes expands roles into scopes: a token with role r is granted RoleScopes[r].
	RoleScopes scopes.RoleMap
	// TenantClaim names the string claim copied to AccessToken.TenantID. Default "tenant_id".
	TenantClaim string `env:"TENANT_CLAIM"`
	// MaxTokenSize is the largest token accepted, in bytes (default 8192). Larger tokens
	// are refused before any decoding or cryptography.
	MaxTokenSize int

	// HTTPClient fetches the JWKS. The default is a client with HTTPTimeout. Either way,
	// responses larger than 1 MiB and redirects to non-https URLs are refused.
	HTTPClient *http.Client `json:"-"`
	// HTTPTimeout bounds each JWKS fetch (default 5s).
	HTTPTimeout time.Duration
	// RefreshInterval is how often the JWKS is fetched again in the background (default 1h).
	RefreshInterval time.Duration
	// UnknownKIDRefreshInterval is the minimum time between JWKS fetches triggered by a
	// token whose "kid" is unknown (default 1 minute). Between two such fetches, tokens
	// with an unknown kid fail at once with invalid_token. While no JWKS was ever fetched
	// successfully, tokens retry the fetch at most once per second instead.
	UnknownKIDRefreshInterval time.Duration

	// Logger receives a warning when a JWKS fetch fails (never a token or a key).
	// Default: slog.Default() as it is when New or NewFactory is called.
	Logger *slog.Logger `json:"-"`

	// Now is the clock (default time.Now). It drives token time checks and the
	// unknown-kid refresh limiter.
	Now func() time.Time `json:"-"`
	// ProviderName is copied to AccessToken.Provider (default "bearer").
	ProviderName string
}

// settings is a validated, defaulted Config.
type settings struct {
	kind        sourceKind
	algs        []string
	issuers     []string
	skipIss     bool
	audience    []string
	skipAud     bool
	leeway      time.Duration
	expOptional bool
	allowNoSub  bool
	scopeClaims []string
	rolesClaim  string
	roleScopes  scopes.RoleMap
	tenantClaim string
	maxSize     int
	now         func() time.Time
	provider    string
	logger      *slog.Logger

	jwksURI        string
	httpTimeout    time.Duration
	refresh        time.Duration
	unknownRefresh time.Duration
	staticKeys     []*verificationKey
}

type sourceKind int

const (
	sourceNone sourceKind = iota
	sourceJWKS
	sourceStatic
	sourceHMAC
)

// env names the environment variable that sets a field, with the default prefix.
func (Config) env(suffix string) string { return config.VarName("", "", suffix) }

// Validate reports every problem of the configuration, as one error per problem joined
// with errors.Join. Each message names the Config field, and in parentheses the variable
// that sets it (with the default prefix MCPAUTH), and says how to fix it. Validate reads
// no file and makes no request: PublicKeyFiles are read by New and NewFactory, which
// report a missing, unreadable or malformed key file together with every problem
// Validate finds. Calling Validate early checks a configuration at startup.
func (c Config) Validate() error {
	_, err := c.prepare(true, false)
	return err
}

// prepare validates c and returns its defaulted settings. requireAudience is false for
// NewFactory, which fills the audience per resource. readFiles is false for Validate:
// PublicKeyFiles are then only checked for being named, and the settings returned lack
// their keys.
func (c Config) prepare(requireAudience, readFiles bool) (*settings, error) {
	problems := &config.Problems{Pkg: "bearer"}
	add := problems.Add
	s := &settings{
		skipIss:        c.SkipIssuerCheck,
		skipAud:        c.SkipAudienceCheck,
		leeway:         c.Leeway,
		expOptional:    c.ExpirationOptional,
		allowNoSub:     c.AllowMissingSubject,
		rolesClaim:     c.RolesClaim,
		roleScopes:     c.RoleScopes,
		tenantClaim:    c.TenantClaim,
		maxSize:        c.MaxTokenSize,
		now:            c.Now,
		provider:       c.ProviderName,
		logger:         c.Logger,
		jwksURI:        c.JWKSURI,
		httpTimeout:    c.HTTPTimeout,
		refresh:        c.RefreshInterval,
		unknownRefresh: c.UnknownKIDRefreshInterval,
	}

	// Key source: exactly one.
	var sources []string
	if c.JWKSURI != "" {
		sources = append(sources, "Config.JWKSURI")
		s.kind = sourceJWKS
	}
	if len(c.PublicKeyFiles) > 0 || len(c.PublicKeys) > 0 {
		sources = append(sources, "Config.PublicKeyFiles/PublicKeys")
		s.kind = sourceStatic
	}
	if !c.HMACSecret.IsZero() {
		sources = append(sources, "Config.HMACSecret")
		s.kind = sourceHMAC
	}
	switch len(sources) {
	case 0:
		add("no signing keys are configured: set Config.JWKSURI (%s), Config.PublicKeyFiles (%s), Config.PublicKeys or Config.HMACSecret (%s)",
			c.env("JWKS_URI"), c.env("PUBLIC_KEY_FILE"), c.env("HMAC_SECRET"))
	case 1:
	default:
		add("%s are all set: configure exactly one key source", strings.Join(sources, " and "))
		s.kind = sourceNone
	}

	if c.JWKSURI != "" {
		if _, err := config.CheckURL(c.JWKSURI, config.URL{Of: " of the JWKS"}); err != nil {
			add("Config.JWKSURI: %v (%s)", err, c.env("JWKS_URI"))
		}
	}
	if n := len(c.HMACSecret.Reveal()); n > 0 && n < MinHMACSecretSize {
		add("Config.HMACSecret is %d bytes: an HMAC secret must be at least %d bytes (%s; generate one with `openssl rand -base64 48`)",
			n, MinHMACSecretSize, c.env("HMAC_SECRET"))
	}
	for i, f := range c.PublicKeyFiles {
		if strings.TrimSpace(f) == "" {
			add("Config.PublicKeyFiles[%d] is empty: remove it or give the path of a PEM or JWK file (%s)", i, c.env("PUBLIC_KEY_FILE"))
			continue
		}
		if !readFiles {
			continue
		}
		keys, err := loadKeyFile(f)
		if err != nil {
			add("Config.PublicKeyFiles[%d]: %v (%s)", i, err, c.env("PUBLIC_KEY_FILE"))
			continue
		}
		s.staticKeys = append(s.staticKeys, keys...)
	}
	for i, k := range c.PublicKeys {
		vk, err := newStaticKey(k)
		if err != nil {
			add("Config.PublicKeys[%d]: %v", i, err)
			continue
		}
		s.staticKeys = append(s.staticKeys, vk)
	}

	// Algorithms.
	algs := c.Algorithms
	if len(algs) == 0 {
		if s.kind == sourceHMAC {
			algs = hmacAlgorithms
		} else {
			algs = asymmetricAlgorithms
		}
	}
	for _, a := range algs {
		canon, ok := canonicalAlg(a)
		switch {
		case strings.EqualFold(strings.TrimSpace(a), "none"):
			add(`Config.Algorithms: "none" (unsigned tokens) is never accepted: remove it (%s)`, c.env("ALGORITHMS"))
		case !ok:
			add("Config.Algorithms: unknown algorithm %q: use some of %s (%s)", a,
				strings.Join(asymmetricAlgorithms, " ")+" "+strings.Join(hmacAlgorithms, " "), c.env("ALGORITHMS"))
		case algFamily(canon) == famHMAC && (s.kind == sourceJWKS || s.kind == sourceStatic):
			add("Config.Algorithms: %s needs an HMAC secret but the keys are asymmetric: remove it (accepting HMAC with public keys enables key-confusion attacks) (%s)", canon, c.env("ALGORITHMS"))
		case algFamily(canon) != famHMAC && s.kind == sourceHMAC:
			add("Config.Algorithms: %s needs an asymmetric key but only Config.HMACSecret is set: use HS256, HS384 or HS512, or configure public keys (%s)", canon, c.env("ALGORITHMS"))
		default:
			if !slices.Contains(s.algs, canon) {
				s.algs = append(s.algs, canon)
			}
		}
	}
	// Without the key files' keys (Validate), which algorithms fit is not known yet.
	if s.kind == sourceStatic && len(s.staticKeys) > 0 && len(s.algs) > 0 && (readFiles || len(c.PublicKeyFiles) == 0) {
		usable := false
		for _, k := range s.staticKeys {
			for _, a := range s.algs {
				if k.fits(a, algFamily(a)) {
					usable = true
				}
			}
		}
		if !usable {
			add("Config.Algorithms (%s) contains no algorithm that the configured public keys can verify: add the algorithm your issuer signs with (%s)",
				strings.Join(s.algs, " "), c.env("ALGORITHMS"))
		}
	}

	// Issuers and audience.
	if len(c.Issuers) == 0 && !c.SkipIssuerCheck {
		add(`Config.Issuers is empty: set %s (the "iss" value of the tokens to accept) or set SkipIssuerCheck`, c.env("ISSUER"))
	}
	problems.NoBlank("Issuers", c.Issuers, c.env("ISSUER"))
	s.issuers = slices.Clone(c.Issuers)
	if len(c.Audience) == 0 && !c.SkipAudienceCheck && requireAudience {
		add("Config.Audience is empty: set %s (the resource URI of the service) or set SkipAudienceCheck", c.env("AUDIENCE"))
	}
	problems.NoBlank("Audience", c.Audience, c.env("AUDIENCE"))
	s.audience = slices.Clone(c.Audience)

	// Limits and durations.
	if c.Leeway < 0 || c.Leeway > MaxLeeway {
		add("Config.Leeway %s is out of range: use a duration from 0 to %s (%s)", c.Leeway, MaxLeeway, c.env("LEEWAY"))
	}
	if c.MaxTokenSize < 0 {
		add("Config.MaxTokenSize %d is negative: leave it 0 for the default (%d bytes) or give a positive size", c.MaxTokenSize, DefaultMaxTokenSize)
	}
	if c.HTTPTimeout < 0 {
		add("Config.HTTPTimeout %s is negative: leave it 0 for the default (%s)", c.HTTPTimeout, DefaultHTTPTimeout)
	}
	if c.RefreshInterval < 0 {
		add("Config.RefreshInterval %s is negative: leave it 0 for the default (%s)", c.RefreshInterval, DefaultRefreshInterval)
	}
	if c.UnknownKIDRefreshInterval < 0 {
		add("Config.UnknownKIDRefreshInterval %s is negative: leave it 0 for the default (%s)", c.UnknownKIDRefreshInterval, DefaultUnknownKIDRefreshInterval)
	}
	problems.NoBlank("ScopeClaims", c.ScopeClaims, "")
	s.scopeClaims = slices.Clone(c.ScopeClaims)

	if err := problems.Err(); err != nil {
		return nil, err
	}

	s.rolesClaim = cmp.Or(s.rolesClaim, "roles")
	s.tenantClaim = cmp.Or(s.tenantClaim, "tenant_id")
	s.maxSize = cmp.Or(s.maxSize, DefaultMaxTokenSize)
	if s.now == nil {
		s.now = time.Now
	}
	s.provider = cmp.Or(s.provider, "bearer")
	s.logger = cmp.Or(s.logger, slog.Default())
	s.httpTimeout = cmp.Or(s.httpTimeout, DefaultHTTPTimeout)
	s.refresh = cmp.Or(s.refresh, DefaultRefreshInterval)
	s.unknownRefresh = cmp.Or(s.unknownRefresh, DefaultUnknownKIDRefreshInterval)
	if s.kind == sourceHMAC {
		s.staticKeys = []*verificationKey{{family: famHMAC, key: []byte(c.HMACSecret.Reveal())}}
	}
	return s, nil
}

// canonicalAlg returns the registered spelling of a supported algorithm name.
func canonicalAlg(a string) (string, bool) {
	a = strings.TrimSpace(a)
	for _, known := range asymmetricAlgorithms {
		if strings.EqualFold(a, known) {
			return known, true
		}
	}
	for _, known := range hmacAlgorithms {
		if strings.EqualFold(a, known) {
			return known, true
		}
	}
	return "", false
}

// ---- environment ----

// ConfigFromEnv reads a Config from environment variables named prefix + "_" + NAME
// (prefix "" means "MCPAUTH"):
//
//	PREFIX_JWKS_URI          Config.JWKSURI
//	PREFIX_ISSUER            Config.Issuers (comma- or space-separated)
//	PREFIX_AUDIENCE          Config.Audience (list)
//	PREFIX_ALGORITHMS        Config.Algorithms (list)
//	PREFIX_PUBLIC_KEY_FILE   Config.PublicKeyFiles (list)
//	PREFIX_HMAC_SECRET       Config.HMACSecret (the raw bytes of the value)
//	PREFIX_HMAC_SECRET_FILE  Config.HMACSecret read from a file, trailing newline trimmed
//	PREFIX_LEEWAY            Config.Leeway (a Go duration such as "30s")
//	PREFIX_TENANT_CLAIM      Config.TenantClaim
//	PREFIX_ROLES_CLAIM       Config.RolesClaim
//
// Unset or empty variables leave the field zero. Errors name the variable and the fix.
// ConfigFromEnv does not call Validate (New and NewFactory do), so the caller may still
// adjust the result. The Config it returns is the one a literal with the same fields
// would be: validation errors name the field and its variable, with the default prefix
// MCPAUTH whatever prefix was read.
func ConfigFromEnv(prefix string) (Config, error) {
	return config.Load[Config]("bearer", prefix, "")
}
