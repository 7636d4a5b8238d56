package bearer

import (
	"cmp"
	"crypto"
	"errors"
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
	// DefaultHTTPTimeout is the default JWKS.HTTPTimeout.
	DefaultHTTPTimeout = 5 * time.Second
	// DefaultRefreshInterval is the default JWKS.RefreshInterval.
	DefaultRefreshInterval = time.Hour
	// DefaultUnknownKIDRefreshInterval is the default JWKS.UnknownKIDRefreshInterval.
	DefaultUnknownKIDRefreshInterval = time.Minute
	// MaxLeeway is the largest Config.Leeway accepted.
	MaxLeeway = 5 * time.Minute
	// MinHMACSecretSize is the smallest HMAC secret accepted (see HMAC), in bytes.
	MinHMACSecretSize = 32
	// MinRSAKeyBits is the smallest RSA modulus accepted, from any key source.
	MinRSAKeyBits = 2048
)

// The default algorithm allowlists: for public keys and JWKS, and for an HMAC secret.
var (
	asymmetricAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
	hmacAlgorithms       = []string{"HS256", "HS384", "HS512"}
)

// Keys is where a Verifier gets its verification keys: a JWKS (a JWKS value, with its
// fetch settings), public keys given directly (StaticKeys) or in files (KeyFiles), or an
// HMAC secret (HMAC). One Keys value is one source, so a Config cannot name two.
type Keys interface{ isKeys() }

// JWKS is a JSON Web Key Set fetched from URI, the key source of a real issuer. Its
// other fields tune the fetches; their zero values are the defaults.
type JWKS struct {
	// URI is the URL of the key set. It must use https, except for loopback hosts
	// (127.0.0.0/8, ::1, localhost).
	URI string
	// HTTPClient fetches the key set. The default is a client with HTTPTimeout. Either
	// way, responses larger than 1 MiB and redirects to non-https URLs are refused.
	HTTPClient *http.Client `json:"-"`
	// HTTPTimeout bounds each fetch (default 5s).
	HTTPTimeout time.Duration
	// RefreshInterval is how often the key set is fetched again in the background
	// (default 1h).
	RefreshInterval time.Duration
	// UnknownKIDRefreshInterval is the minimum time between fetches triggered by a token
	// whose "kid" is unknown (default 1 minute). Between two such fetches, tokens with an
	// unknown kid fail at once with invalid_token. While no key set was ever fetched
	// successfully, tokens retry the fetch at most once per second instead.
	UnknownKIDRefreshInterval time.Duration
}

// StaticKeys are verification keys given directly: *rsa.PublicKey, *ecdsa.PublicKey
// (P-256, P-384, P-521) or ed25519.PublicKey. They have no key ID, so they are tried for
// any token whose algorithm fits them, whatever its "kid".
func StaticKeys(keys ...crypto.PublicKey) Keys { return staticKeys{Keys: keys} }

// KeyFiles are files holding verification keys, read by New and NewFactory (not by
// Validate): PEM (PKIX "PUBLIC KEY", PKCS #1 "RSA PUBLIC KEY" or "CERTIFICATE" blocks,
// several per file allowed) or JSON (one JWK or a JWK Set). Keys from JSON keep their
// "kid" and "alg".
func KeyFiles(paths ...string) Keys { return keyFiles{Files: paths} }

// HMAC is a shared secret for HS256/HS384/HS512 tokens (development and closed
// systems). It must be at least 32 bytes. A Config printed with fmt (any verb), logged
// with log/slog or encoded with encoding/json shows it as "[redacted]".
func HMAC(secret mcpauth.Secret) Keys { return hmacKey{Secret: secret} }

// The unexported sources keep exported fields, so that fmt, log/slog and encoding/json
// reach the Secret's redacting methods.
type (
	staticKeys struct{ Keys []crypto.PublicKey }
	keyFiles   struct{ Files []string }
	hmacKey    struct{ Secret mcpauth.Secret }
)

func (JWKS) isKeys()       {}
func (staticKeys) isKeys() {}
func (keyFiles) isKeys()   {}
func (hmacKey) isKeys()    {}

// Config configures a Verifier. Keys must be set; the zero value of every other field is
// a safe default, except Issuers and Audience, which must be set unless their checks are
// skipped explicitly.
type Config struct {
	// Keys is the source of the verification keys: JWKS{URI: ...}, StaticKeys,
	// KeyFiles or HMAC. ConfigFromEnv sets it from one of MCPAUTH_JWKS_URI,
	// MCPAUTH_PUBLIC_KEY_FILE and MCPAUTH_HMAC_SECRET (or MCPAUTH_HMAC_SECRET_FILE).
	Keys Keys

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

	// Logger receives a warning when a JWKS fetch fails (never a token or a key).
	// Default: slog.Default() as it is when New or NewFactory is called.
	Logger *slog.Logger `json:"-"`

	// Now is the clock (default time.Now). It drives token time checks and the
	// unknown-kid refresh limiter.
	Now func() time.Time `json:"-"`
	// ProviderName is copied to AccessToken.Provider (default "bearer").
	ProviderName string
}

// settings is a validated Config with its defaults filled in, and its keys.
type settings struct {
	Config
	hmac        bool     // Keys is an HMAC secret
	asymmetric  bool     // Keys is a JWKS, StaticKeys or KeyFiles
	jwks        *JWKS    // with its defaults, when Keys is a JWKS
	algs        []string // canonical names
	scopeClaims []string // "scp", then Config.ScopeClaims
	staticKeys  []*verificationKey
}

// env names the environment variable that sets a field, with the default prefix.
func (Config) env(suffix string) string { return config.VarName("", "", suffix) }

// Validate reports every problem of the configuration, one error each, joined with
// errors.Join. Each message names the Config field, in parentheses the variable that
// sets it (with the default prefix MCPAUTH), and the fix. Validate reads no file and
// makes no request: New and NewFactory read KeyFiles, and report a missing, unreadable
// or malformed key file together with every problem Validate finds.
func (c Config) Validate() error {
	_, err := c.prepare(true, false)
	return err
}

// prepare validates c and returns its settings. requireAudience is false for NewFactory,
// which fills the audience per resource. readFiles is false for Validate: KeyFiles are
// then only checked for being named, and the settings lack their keys.
func (c Config) prepare(requireAudience, readFiles bool) (*settings, error) {
	problems := &config.Problems{Pkg: "bearer"}
	add := problems.Add
	s := &settings{Config: c, scopeClaims: append([]string{"scp"}, c.ScopeClaims...)}
	c.prepareKeys(s, add, readFiles)

	algs := c.Algorithms
	if len(algs) == 0 {
		algs = asymmetricAlgorithms
		if s.hmac {
			algs = hmacAlgorithms
		}
	}
	for _, a := range algs {
		canon, ok := canonicalAlg(a)
		hmac := algFamilies[canon] == "HMAC"
		switch {
		case strings.EqualFold(strings.TrimSpace(a), "none"):
			add(`Config.Algorithms: "none" (unsigned tokens) is never accepted: remove it (%s)`, c.env("ALGORITHMS"))
		case !ok:
			add("Config.Algorithms: unknown algorithm %q: use some of %s %s (%s)", a,
				strings.Join(asymmetricAlgorithms, " "), strings.Join(hmacAlgorithms, " "), c.env("ALGORITHMS"))
		case hmac && s.asymmetric:
			add("Config.Algorithms: %s needs an HMAC secret but the keys are asymmetric: remove it (accepting HMAC with public keys enables key-confusion attacks) (%s)", canon, c.env("ALGORITHMS"))
		case !hmac && s.hmac:
			add("Config.Algorithms: %s needs an asymmetric key but Config.Keys is an HMAC secret: use HS256, HS384 or HS512, or configure public keys (%s)", canon, c.env("ALGORITHMS"))
		case !slices.Contains(s.algs, canon):
			s.algs = append(s.algs, canon)
		}
	}
	if len(s.staticKeys) > 0 && len(s.algs) > 0 &&
		!slices.ContainsFunc(s.staticKeys, func(k *verificationKey) bool { return slices.ContainsFunc(s.algs, k.fits) }) {
		add("Config.Algorithms (%s) contains no algorithm that the configured public keys can verify: add the algorithm your issuer signs with (%s)",
			strings.Join(s.algs, " "), c.env("ALGORITHMS"))
	}

	if len(c.Issuers) == 0 && !c.SkipIssuerCheck {
		add(`Config.Issuers is empty: set %s (the "iss" value of the tokens to accept) or set SkipIssuerCheck`, c.env("ISSUER"))
	}
	problems.NoBlank("Issuers", c.Issuers, c.env("ISSUER"))
	if len(c.Audience) == 0 && !c.SkipAudienceCheck && requireAudience {
		add("Config.Audience is empty: set %s (the resource URI of the service) or set SkipAudienceCheck", c.env("AUDIENCE"))
	}
	problems.NoBlank("Audience", c.Audience, c.env("AUDIENCE"))
	if c.Leeway < 0 || c.Leeway > MaxLeeway {
		add("Config.Leeway %s is out of range: use a duration from 0 to %s (%s)", c.Leeway, MaxLeeway, c.env("LEEWAY"))
	}
	if c.MaxTokenSize < 0 {
		add("Config.MaxTokenSize %d is negative: leave it 0 for the default (%d bytes) or give a positive size", c.MaxTokenSize, DefaultMaxTokenSize)
	}
	problems.NoBlank("ScopeClaims", c.ScopeClaims, "")
	if err := problems.Err(); err != nil {
		return nil, err
	}

	s.Issuers, s.Audience = slices.Clone(c.Issuers), slices.Clone(c.Audience)
	s.RolesClaim = cmp.Or(c.RolesClaim, "roles")
	s.TenantClaim = cmp.Or(c.TenantClaim, "tenant_id")
	s.MaxTokenSize = cmp.Or(c.MaxTokenSize, DefaultMaxTokenSize)
	s.Logger = cmp.Or(c.Logger, slog.Default())
	s.ProviderName = cmp.Or(c.ProviderName, "bearer")
	if s.Now == nil {
		s.Now = time.Now
	}
	return s, nil
}

// prepareKeys checks c.Keys and fills the key source of s: its type, the JWKS settings,
// or the static keys (those of KeyFiles only with readFiles).
func (c Config) prepareKeys(s *settings, add func(string, ...any), readFiles bool) {
	keys := c.Keys
	if p, ok := keys.(*JWKS); ok && p != nil {
		keys = *p
	}
	switch k := keys.(type) {
	case JWKS:
		s.asymmetric, s.jwks = true, &k
		if _, err := config.CheckURL(k.URI, config.URL{Of: " of the JWKS"}); err != nil {
			add("Config.Keys: JWKS.URI: %v (%s)", err, c.env("JWKS_URI"))
		}
		orDefault := func(name string, d *time.Duration, dflt time.Duration) {
			if *d < 0 {
				add("Config.Keys: JWKS.%s %s is negative: leave it 0 for the default (%s)", name, *d, dflt)
			}
			*d = cmp.Or(*d, dflt)
		}
		orDefault("HTTPTimeout", &k.HTTPTimeout, DefaultHTTPTimeout)
		orDefault("RefreshInterval", &k.RefreshInterval, DefaultRefreshInterval)
		orDefault("UnknownKIDRefreshInterval", &k.UnknownKIDRefreshInterval, DefaultUnknownKIDRefreshInterval)
	case staticKeys:
		s.asymmetric = true
		if len(k.Keys) == 0 {
			add("Config.Keys: StaticKeys has no keys: give at least one public key")
		}
		for i, key := range k.Keys {
			if vk, err := newKey(key, "", ""); err != nil {
				add("Config.Keys: StaticKeys[%d]: %v", i, err)
			} else {
				s.staticKeys = append(s.staticKeys, vk)
			}
		}
	case keyFiles:
		s.asymmetric = true
		if len(k.Files) == 0 {
			add("Config.Keys: KeyFiles has no files: give the path of a PEM or JWK file (%s)", c.env("PUBLIC_KEY_FILE"))
		}
		for i, f := range k.Files {
			if strings.TrimSpace(f) == "" {
				add("Config.Keys: KeyFiles[%d] is empty: remove it or give the path of a PEM or JWK file (%s)", i, c.env("PUBLIC_KEY_FILE"))
			} else if readFiles {
				keys, err := loadKeyFile(f)
				if err != nil {
					add("Config.Keys: KeyFiles[%d]: %v (%s)", i, err, c.env("PUBLIC_KEY_FILE"))
				}
				s.staticKeys = append(s.staticKeys, keys...)
			}
		}
	case hmacKey:
		s.hmac = true
		if n := len(k.Secret.Reveal()); n < MinHMACSecretSize {
			add("Config.Keys: the HMAC secret is %d bytes: an HMAC secret must be at least %d bytes (%s; generate one with `openssl rand -base64 48`)",
				n, MinHMACSecretSize, c.env("HMAC_SECRET"))
		}
		s.staticKeys = []*verificationKey{{family: "HMAC", key: []byte(k.Secret.Reveal())}}
	default: // nil, or a nil *JWKS
		add("Config.Keys is unset: use bearer.JWKS{URI: ...} (%s), bearer.KeyFiles(...) (%s), bearer.StaticKeys(...) or bearer.HMAC(...) (%s)",
			c.env("JWKS_URI"), c.env("PUBLIC_KEY_FILE"), c.env("HMAC_SECRET"))
	}
}

// canonicalAlg returns the registered spelling of a supported algorithm name.
func canonicalAlg(a string) (string, bool) {
	for known := range algFamilies {
		if strings.EqualFold(strings.TrimSpace(a), known) {
			return known, true
		}
	}
	return "", false
}

// ConfigFromEnv reads a Config from the variables listed in the package documentation
// (see Environment), named prefix + "_" + NAME (prefix "" means "MCPAUTH"). Unset or
// empty variables leave their field zero; setting more than one of the key variables is
// an error. Errors name the variable and the fix. ConfigFromEnv does not call Validate
// (New and NewFactory do). The Config it returns is the one a literal with the same
// fields would be: validation errors name the variables with the default prefix MCPAUTH
// whatever prefix was read.
func ConfigFromEnv(prefix string) (Config, error) {
	e := &config.Env{Pkg: "bearer", Prefix: config.Prefix(prefix)}
	var keys Keys
	var set []string // the key variables set: one at most
	if uri := e.Get("JWKS_URI"); uri != "" {
		keys, set = JWKS{URI: uri}, append(set, e.Name("JWKS_URI"))
	}
	if files := e.List("PUBLIC_KEY_FILE"); len(files) > 0 {
		keys, set = KeyFiles(files...), append(set, e.Name("PUBLIC_KEY_FILE"))
	}
	if secret := e.Secret(config.Secret{Name: "HMAC_SECRET"}); !secret.IsZero() {
		keys, set = HMAC(secret), append(set, e.Name("HMAC_SECRET"))
	}
	if len(set) > 1 {
		e.Errorf("%s are all set: set one of %s, %s or %s (or %s) for the one key source", strings.Join(set, " and "),
			e.Name("JWKS_URI"), e.Name("PUBLIC_KEY_FILE"), e.Name("HMAC_SECRET"), e.Name("HMAC_SECRET_FILE"))
	}
	c, err := config.Load[Config]("bearer", prefix, "")
	if err = errors.Join(e.Err(), err); err != nil {
		return Config{}, err
	}
	c.Keys = keys
	return c, nil
}
