package bearer

import (
	"context"
	"encoding/base64"
	"errors"
	"math"
	"slices"
	"strings"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/audience"
)

// Verifier verifies JWT access tokens against one key source, issuer list and audience.
// It implements mcpauth.TokenVerifier and is safe for concurrent use. Create it with New
// or NewFactory, and Close it when done to stop background JWKS refreshes.
type Verifier struct {
	s        *settings
	src      keySource
	audience audience.Matcher
	parser   *jwt.Parser
}

// New validates cfg (see Config.Validate), reads the files of KeyFiles and returns a
// Verifier.
//
// With a JWKS, New fetches the key set once before returning (bounded by
// JWKS.HTTPTimeout) and starts a goroutine that fetches it again every
// JWKS.RefreshInterval; a token with an unknown "kid" triggers a fetch too, at most once
// per JWKS.UnknownKIDRefreshInterval. New does not fail when the JWKS cannot be fetched:
// tokens then retry the fetch (at most once per second) and are answered with
// temporarily_unavailable (503) until one succeeds, since no key set was ever seen. Call
// Close to stop the goroutine.
func New(cfg Config) (*Verifier, error) {
	s, src, err := cfg.build(true)
	if err != nil {
		return nil, err
	}
	return newVerifier(s, src, audience.NewMatcher(s.Audience)), nil
}

// NewFactory validates cfg like New, except that Config.Audience may be empty, and
// returns a factory of verifiers that share ONE key source (one JWKS fetcher). Each call
// factory(resource) returns a *Verifier whose accepted audience is cfg.Audience when set,
// and []string{resource} otherwise.
//
// The verifiers share the key source: Close on any of them stops it for all (the type
// assertion v.(*bearer.Verifier) or v.(io.Closer) reaches Close). Call it once, when the
// last verifier is no longer used.
func NewFactory(cfg Config) (mcpauth.VerifierFactory, error) {
	s, src, err := cfg.build(false)
	if err != nil {
		return nil, err
	}
	fixed := audience.NewMatcher(s.Audience) // normalised once, shared by every verifier
	return func(resource string) (mcpauth.TokenVerifier, error) {
		aud := fixed
		if len(s.Audience) == 0 && !s.SkipAudienceCheck {
			if strings.TrimSpace(resource) == "" {
				return nil, errors.New("bearer: the resource URI is empty and Config.Audience is not set: pass the resource URI of the service or set Config.Audience")
			}
			aud = audience.NewMatcher([]string{resource})
		}
		return newVerifier(s, src, aud), nil
	}, nil
}

// build validates c, reads its key files and starts its key source.
func (c Config) build(requireAudience bool) (*settings, keySource, error) {
	s, err := c.prepare(requireAudience, true)
	if err != nil {
		return nil, nil, err
	}
	if s.jwks == nil {
		return s, newKeySet(s.staticKeys, true), nil
	}
	src, err := newJWKSSource(s)
	if err != nil {
		return nil, nil, err
	}
	return s, src, nil
}

func newVerifier(s *settings, src keySource, aud audience.Matcher) *Verifier {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(append([]string{}, s.algs...)), // never nil: nil would allow all
		jwt.WithStrictDecoding(),
		jwt.WithLeeway(s.Leeway),
		jwt.WithTimeFunc(s.Now),
		jwt.WithIssuedAt(),
	}
	if !s.ExpirationOptional {
		opts = append(opts, jwt.WithExpirationRequired())
	}
	return &Verifier{s: s, src: src, audience: aud, parser: jwt.NewParser(opts...)}
}

// Close stops the background JWKS refresh. Verifiers made by one factory share their
// key source, so closing any of them closes it for all. Keys already fetched keep
// working; no more fetches happen. Close is idempotent and always returns nil.
func (v *Verifier) Close() error { return v.src.close() }

// Descriptions of malformed tokens.
const (
	descAlgType   = "malformed token: header alg must be a string"
	descBadAlg    = "unexpected signing algorithm"
	descAlphabet  = "malformed token: it contains characters outside the base64url alphabet"
	descNotObject = "malformed token: payload is not a JSON object"
)

func invalid(desc string) error { return mcpauth.InvalidToken(desc, nil) }

// VerifyToken verifies the token's signature, algorithm, header, issuer, audience and
// validity period, and returns its claims as an AccessToken. Failures are *mcpauth.Error
// values of class invalid_token (errors.Is(err, mcpauth.ErrInvalidToken)) with a
// client-safe description of the reason; the only exception is a JWKS that was never
// fetched successfully, reported as temporarily_unavailable. The package documentation
// lists the checks (see Checks).
func (v *Verifier) VerifyToken(ctx context.Context, token string) (*mcpauth.AccessToken, error) {
	switch {
	case token == "":
		return nil, invalid("token is empty")
	case len(token) > v.s.MaxTokenSize:
		return nil, invalid("token is too large")
	case strings.ContainsAny(token, "\r\n"):
		// The base64 decoder would skip line breaks.
		return nil, invalid(descAlphabet)
	}
	var claims tokenClaims // stays nil for a JSON null payload
	tok, err := v.parser.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		return v.key(ctx, t)
	})
	if err != nil {
		return nil, v.describe(token, tok, err)
	}
	return v.accessToken(claims)
}

// key is the golang-jwt Keyfunc: it refuses "crit", an unexpected "typ", a non-string
// "kid" and the key-carrying jku, x5u, jwk and x5c, then asks the key source.
func (v *Verifier) key(ctx context.Context, t *jwt.Token) (any, error) {
	h := t.Header
	if _, ok := h["crit"]; ok {
		return nil, invalid("token header has a crit parameter")
	}
	// Keys come only from the configured source, never from the token.
	for _, name := range [...]string{"jku", "x5u", "jwk", "x5c"} {
		if _, ok := h[name]; ok {
			return nil, invalid("token header parameter " + name + " is not accepted")
		}
	}
	if raw, ok := h["typ"]; ok {
		typ, _ := raw.(string)
		if !strings.EqualFold(typ, "JWT") && !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
			return nil, invalid("token type (typ header) is not accepted")
		}
	}
	raw, hasKID := h["kid"]
	kid, ok := raw.(string)
	if hasKID && !ok {
		return nil, invalid("token header kid must be a string")
	}
	return v.src.key(ctx, kid, hasKID, t.Method.Alg())
}

// describe turns a golang-jwt error into an *mcpauth.Error with a precise description.
func (v *Verifier) describe(token string, tok *jwt.Token, err error) error {
	var me *mcpauth.Error
	switch {
	case errors.As(err, &me): // from the key lookup or tokenClaims
		return me
	case tok == nil:
		if strings.Count(token, ".") == 4 {
			return invalid("malformed token: encrypted tokens (JWE) are not supported")
		}
		return invalid("malformed token: a JWT has exactly three segments")
	case errors.Is(err, jwt.ErrTokenMalformed):
		part := "signature" // golang-jwt decodes the header, the payload, then the signature
		switch {
		case tok.Header == nil:
			part = "header"
		case tok.Method == nil:
			part = "payload"
		}
		switch {
		case !errors.As(err, new(base64.CorruptInputError)):
			return invalid("malformed token: " + part + " is not a JSON object")
		case strings.IndexFunc(token, notBase64URL) >= 0:
			return invalid(descAlphabet)
		}
		return invalid("malformed token: " + part + " is not valid base64url")
	case errors.Is(err, jwt.ErrTokenUnverifiable): // alg unspecified or unknown
		alg, ok := tok.Header["alg"]
		switch _, isString := alg.(string); {
		case tok.Header == nil:
			return invalid("malformed token: header is not a JSON object")
		case !ok:
			return invalid("malformed token: header has no alg")
		case !isString:
			return invalid(descAlgType)
		}
		return invalid(descBadAlg)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		if !slices.Contains(v.s.algs, tok.Method.Alg()) {
			return invalid(descBadAlg)
		}
		return mcpauth.InvalidToken("token signature is invalid", err)
	case errors.Is(err, jwt.ErrTokenExpired):
		return invalid("token is expired")
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return invalid("token is not valid yet (nbf)")
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return invalid("token was issued in the future (iat)")
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing): // only exp is required
		return invalid("token has no expiry (exp claim)")
	}
	return mcpauth.InvalidToken("token is not valid", err)
}

func notBase64URL(r rune) bool {
	return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
}

// tokenClaims is the payload, decoded by golang-jwt as a jwt.MapClaims would be. Its
// dates report a wrong type or an out-of-range value with this package's descriptions,
// and Validate refuses a JSON null payload, which decodes to a nil map without error.
type tokenClaims jwt.MapClaims

// Validate is called by golang-jwt after the signature check.
func (c *tokenClaims) Validate() error {
	if *c == nil {
		return invalid(descNotObject)
	}
	return nil
}

func (c *tokenClaims) date(name string, get func(jwt.MapClaims) (*jwt.NumericDate, error)) (*jwt.NumericDate, error) {
	d, err := get(jwt.MapClaims(*c))
	if err != nil {
		return nil, invalid(name + " claim must be a number")
	}
	if f, ok := (*c)[name].(float64); ok && math.Abs(f) > 1<<53 {
		return nil, invalid(name + " claim is out of range")
	}
	return d, nil
}

func (c *tokenClaims) GetExpirationTime() (*jwt.NumericDate, error) {
	return c.date("exp", jwt.MapClaims.GetExpirationTime)
}
func (c *tokenClaims) GetNotBefore() (*jwt.NumericDate, error) {
	return c.date("nbf", jwt.MapClaims.GetNotBefore)
}
func (c *tokenClaims) GetIssuedAt() (*jwt.NumericDate, error) {
	return c.date("iat", jwt.MapClaims.GetIssuedAt)
}
func (c *tokenClaims) GetAudience() (jwt.ClaimStrings, error) { return jwt.MapClaims(*c).GetAudience() }
func (c *tokenClaims) GetIssuer() (string, error)             { return jwt.MapClaims(*c).GetIssuer() }
func (c *tokenClaims) GetSubject() (string, error)            { return jwt.MapClaims(*c).GetSubject() }

// accessToken checks the types of the claims it reads, the issuer, the audience and the
// subject (golang-jwt has checked exp, nbf and iat), and builds the AccessToken.
func (v *Verifier) accessToken(claims map[string]any) (*mcpauth.AccessToken, error) {
	s := v.s
	r := claimReader{claims: claims}
	tok := &mcpauth.AccessToken{
		Claims:   claims,
		Provider: s.ProviderName,
		Issuer:   r.str("iss"),
		Audience: r.strs("aud"),
		Subject:  r.str("sub"),
		ID:       r.str("jti"),
		ClientID: r.str("client_id"),
		TenantID: r.str(s.TenantClaim),
	}
	if _, ok := claims["client_id"]; !ok {
		tok.ClientID = r.str("azp")
	}
	// Scopes: "scope" (a space-delimited string), then "scp" and Config.ScopeClaims;
	// RoleMap.Expand splits them, drops duplicates and adds the scopes of the roles.
	granted := []string{r.str("scope")}
	for _, name := range s.scopeClaims {
		granted = append(granted, r.strs(name)...)
	}
	tok.Scopes = s.RoleScopes.Expand(granted, r.strs(s.RolesClaim))
	if exp, _ := jwt.MapClaims(claims).GetExpirationTime(); exp != nil {
		// The leeway extends validity everywhere the token is checked again (the
		// middleware's expiry check, the cache's entry lifetime), not only here.
		tok.ExpiresAt = exp.Add(s.Leeway)
	}
	if iat, _ := jwt.MapClaims(claims).GetIssuedAt(); iat != nil {
		tok.IssuedAt = iat.Time
	}

	switch {
	case r.err != nil:
		return nil, r.err
	case !s.SkipIssuerCheck && tok.Issuer == "":
		return nil, invalid("token has no issuer (iss claim)")
	case !s.SkipIssuerCheck && !slices.Contains(s.Issuers, tok.Issuer):
		return nil, invalid("token issuer is not accepted")
	case !s.SkipAudienceCheck && len(tok.Audience) == 0:
		return nil, invalid("token has no audience (aud claim)")
	case !s.SkipAudienceCheck && !v.audience.Match(tok.Audience): // see Config.Audience
		return nil, invalid("token audience does not match this resource")
	case tok.Subject == "" && !s.AllowMissingSubject:
		// Every token without a subject would be the same caller.
		return nil, invalid("the token has no subject (sub)")
	}
	return tok, nil
}

// claimReader reads optional claims. A claim of another type than the one read is an
// error, and the first one is kept in err.
type claimReader struct {
	claims map[string]any
	err    error
}

// str reads a string claim.
func (r *claimReader) str(name string) string {
	raw, present := r.claims[name]
	s, ok := raw.(string)
	if present && !ok && r.err == nil {
		r.err = invalid(name + " claim must be a string")
	}
	return s
}

// strs reads a claim that is a string or an array of strings.
func (r *claimReader) strs(name string) []string {
	raw, present := r.claims[name]
	switch x := raw.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				break
			}
			out = append(out, s)
		}
		if len(out) == len(x) {
			return out
		}
	}
	if present && r.err == nil {
		r.err = invalid(name + " claim must be a string or an array of strings")
	}
	return nil
}
