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

// asymmetricAlgorithms is the default allowlist for public keys and JWKS.
var asymmetricAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// hmacAlgorithms is the default allowlist for an HMAC secret.
var hmacAlgorithms = []string{"HS256", "HS384", "HS512"}

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

	jwks       JWKS // defaulted
	staticKeys []*verificationKey
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
// no file and makes no request: KeyFiles are read by New and NewFactory, which
// report a missing, unreadable or malformed key file together with every problem
// Validate finds. Calling Validate early checks a configuration at startup.
func (c Config) Validate() error {
	_, err := c.prepare(true, false)
	return err
}

// prepare validates c and returns its defaulted settings. requireAudience is false for
// NewFactory, which fills the audience per resource. readFiles is false for Validate:
// KeyFiles are then only checked for being named, and the settings returned lack their
// keys.
func (c Config) prepare(requireAudience, readFiles bool) (*settings, error) {
	problems := &config.Problems{Pkg: "bearer"}
	add := problems.Add
	s := &settings{
		skipIss:     c.SkipIssuerCheck,
		skipAud:     c.SkipAudienceCheck,
		leeway:      c.Leeway,
		expOptional: c.ExpirationOptional,
		allowNoSub:  c.AllowMissingSubject,
		rolesClaim:  c.RolesClaim,
		roleScopes:  c.RoleScopes,
		tenantClaim: c.TenantClaim,
		maxSize:     c.MaxTokenSize,
		now:         c.Now,
		provider:    c.ProviderName,
		logger:      c.Logger,
	}

	c.prepareKeys(s, add, readFiles)

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
			add("Config.Algorithms: %s needs an asymmetric key but Config.Keys is an HMAC secret: use HS256, HS384 or HS512, or configure public keys (%s)", canon, c.env("ALGORITHMS"))
		default:
			if !slices.Contains(s.algs, canon) {
				s.algs = append(s.algs, canon)
			}
		}
	}
	// Without the key files' keys (Validate), which algorithms fit is not known yet.
	if _, files := c.Keys.(keyFiles); s.kind == sourceStatic && len(s.staticKeys) > 0 && len(s.algs) > 0 && (readFiles || !files) {
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
	return s, nil
}

// prepareKeys checks c.Keys and fills the key source of s: its kind, the JWKS settings,
// or the static keys (those of KeyFiles only with readFiles).
func (c Config) prepareKeys(s *settings, add func(string, ...any), readFiles bool) {
	keys := c.Keys
	if p, ok := keys.(*JWKS); ok && p != nil {
		keys = *p
	}
	switch k := keys.(type) {
	case JWKS:
		s.kind = sourceJWKS
		if _, err := config.CheckURL(k.URI, config.URL{Of: " of the JWKS"}); err != nil {
			add("Config.Keys: JWKS.URI: %v (%s)", err, c.env("JWKS_URI"))
		}
		for _, d := range []struct {
			name string
			v    *time.Duration
			dflt time.Duration
		}{
			{"HTTPTimeout", &k.HTTPTimeout, DefaultHTTPTimeout},
			{"RefreshInterval", &k.RefreshInterval, DefaultRefreshInterval},
			{"UnknownKIDRefreshInterval", &k.UnknownKIDRefreshInterval, DefaultUnknownKIDRefreshInterval},
		} {
			if *d.v < 0 {
				add("Config.Keys: JWKS.%s %s is negative: leave it 0 for the default (%s)", d.name, *d.v, d.dflt)
			}
			*d.v = cmp.Or(*d.v, d.dflt)
		}
		s.jwks = k
	case staticKeys:
		s.kind = sourceStatic
		if len(k.Keys) == 0 {
			add("Config.Keys: StaticKeys has no keys: give at least one public key")
		}
		for i, key := range k.Keys {
			vk, err := newStaticKey(key)
			if err != nil {
				add("Config.Keys: StaticKeys[%d]: %v", i, err)
				continue
			}
			s.staticKeys = append(s.staticKeys, vk)
		}
	case keyFiles:
		s.kind = sourceStatic
		if len(k.Files) == 0 {
			add("Config.Keys: KeyFiles has no files: give the path of a PEM or JWK file (%s)", c.env("PUBLIC_KEY_FILE"))
		}
		for i, f := range k.Files {
			if strings.TrimSpace(f) == "" {
				add("Config.Keys: KeyFiles[%d] is empty: remove it or give the path of a PEM or JWK file (%s)", i, c.env("PUBLIC_KEY_FILE"))
				continue
			}
			if !readFiles {
				continue
			}
			keys, err := loadKeyFile(f)
			if err != nil {
				add("Config.Keys: KeyFiles[%d]: %v (%s)", i, err, c.env("PUBLIC_KEY_FILE"))
				continue
			}
			s.staticKeys = append(s.staticKeys, keys...)
		}
	case hmacKey:
		s.kind = sourceHMAC
		if n := len(k.Secret.Reveal()); n < MinHMACSecretSize {
			add("Config.Keys: the HMAC secret is %d bytes: an HMAC secret must be at least %d bytes (%s; generate one with `openssl rand -base64 48`)",
				n, MinHMACSecretSize, c.env("HMAC_SECRET"))
		}
		s.staticKeys = []*verificationKey{{family: famHMAC, key: []byte(k.Secret.Reveal())}}
	default: // nil, or a nil *JWKS
		add("Config.Keys is unset: use bearer.JWKS{URI: ...} (%s), bearer.KeyFiles(...) (%s), bearer.StaticKeys(...) or bearer.HMAC(...) (%s)",
			c.env("JWKS_URI"), c.env("PUBLIC_KEY_FILE"), c.env("HMAC_SECRET"))
	}
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
//	PREFIX_JWKS_URI          Config.Keys = JWKS{URI: value}
//	PREFIX_PUBLIC_KEY_FILE   Config.Keys = KeyFiles(list...)
//	PREFIX_HMAC_SECRET       Config.Keys = HMAC(the raw bytes of the value)
//	PREFIX_HMAC_SECRET_FILE  Config.Keys = HMAC(the file's content, trailing newline trimmed)
//	PREFIX_ISSUER            Config.Issuers (comma- or space-separated)
//	PREFIX_AUDIENCE          Config.Audience (list)
//	PREFIX_ALGORITHMS        Config.Algorithms (list)
//	PREFIX_LEEWAY            Config.Leeway (a Go duration such as "30s")
//	PREFIX_TENANT_CLAIM      Config.TenantClaim
//	PREFIX_ROLES_CLAIM       Config.RolesClaim
//
// Unset or empty variables leave the field zero; setting more than one of the key
// variables is an error. Errors name the variable and the fix. ConfigFromEnv does not
// call Validate (New and NewFactory do), so the caller may still adjust the result. The
// Config it returns is the one a literal with the same fields would be: validation
// errors name the field and its variable, with the default prefix MCPAUTH whatever
// prefix was read.
func ConfigFromEnv(prefix string) (Config, error) {
	env := &config.Env{Pkg: "bearer", Prefix: config.Prefix(prefix)}
	keys := keysFromEnv(env)
	c, err := config.Load[Config]("bearer", prefix, "")
	if err = errors.Join(env.Err(), err); err != nil {
		return Config{}, err
	}
	c.Keys = keys
	return c, nil
}

// keysFromEnv reads the key variables; more than one set is an error.
func keysFromEnv(e *config.Env) Keys {
	var keys Keys
	var set []string
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
		return nil
	}
	return keys
}
