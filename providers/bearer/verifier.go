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

var _ mcpauth.TokenVerifier = (*Verifier)(nil)

// New validates cfg (see Config.Validate), reads the files of KeyFiles and returns a
// Verifier.
//
// With a JWKS, New fetches the key set once before returning (bounded by
// JWKS.HTTPTimeout) and starts a goroutine that fetches it again every
// JWKS.RefreshInterval; a token with an unknown "kid" triggers a fetch too, at most once
// per JWKS.UnknownKIDRefreshInterval. New does not fail when the JWKS cannot be fetched: tokens
// then retry the fetch (at most once per second) and are answered with
// temporarily_unavailable (503) until one succeeds, since no key set was ever seen. Call Close to stop the goroutine.
func New(cfg Config) (*Verifier, error) {
	s, err := cfg.prepare(true, true)
	if err != nil {
		return nil, err
	}
	src, err := newSource(s)
	if err != nil {
		return nil, err
	}
	return newVerifier(s, src, audience.NewMatcher(s.audience)), nil
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
	s, err := cfg.prepare(false, true)
	if err != nil {
		return nil, err
	}
	src, err := newSource(s)
	if err != nil {
		return nil, err
	}
	fixed := audience.NewMatcher(s.audience) // normalised once, shared by every verifier
	return func(resource string) (mcpauth.TokenVerifier, error) {
		aud := fixed
		if len(s.audience) == 0 && !s.skipAud {
			if strings.TrimSpace(resource) == "" {
				return nil, errors.New("bearer: the resource URI is empty and Config.Audience is not set: pass the resource URI of the service or set Config.Audience")
			}
			aud = audience.NewMatcher([]string{resource})
		}
		return newVerifier(s, src, aud), nil
	}, nil
}

func newSource(s *settings) (keySource, error) {
	switch s.kind {
	case sourceJWKS:
		return newJWKSSource(s)
	default:
		return &staticSource{set: newKeySet(s.staticKeys, true, 0)}, nil
	}
}

func newVerifier(s *settings, src keySource, aud audience.Matcher) *Verifier {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(append([]string{}, s.algs...)), // never nil: nil would allow all
		jwt.WithStrictDecoding(),
		jwt.WithLeeway(s.leeway),
		jwt.WithTimeFunc(s.now),
		jwt.WithIssuedAt(),
	}
	if !s.expOptional {
		opts = append(opts, jwt.WithExpirationRequired())
	}
	return &Verifier{s: s, src: src, audience: aud, parser: jwt.NewParser(opts...)}
}

// Close stops the background JWKS refresh. Verifiers made by one factory share their
// key source, so closing any of them closes it for all. Keys already fetched keep
// working; no more fetches happen. Close is idempotent and always returns nil.
func (v *Verifier) Close() error { return v.src.close() }

// Descriptions of header and structure problems.
const (
	descAlgType   = "malformed token: header alg must be a string"
	descCrit      = "token header has a crit parameter"
	descTyp       = "token type (typ header) is not accepted"
	descKIDType   = "token header kid must be a string"
	descNoAlg     = "malformed token: header has no alg"
	descBadAlg    = "unexpected signing algorithm"
	descAlphabet  = "malformed token: it contains characters outside the base64url alphabet"
	descNotObject = "malformed token: payload is not a JSON object"
	// descNoSubject refuses a token without "sub" (unless Config.AllowMissingSubject).
	descNoSubject = "the token has no subject (sub)"
)

func invalid(desc string) error { return mcpauth.InvalidToken(desc, nil) }

// VerifyToken verifies the token's signature, algorithm, header, issuer, audience and
// validity period, and returns its claims as an AccessToken. Failures are *mcpauth.Error
// values of class invalid_token (errors.Is(err, mcpauth.ErrInvalidToken)) with a
// client-safe description of the reason; the only exception is a JWKS that was never
// fetched successfully, reported as temporarily_unavailable.
//
// The size is checked first; golang-jwt then parses the compact JWS (three strict
// base64url segments, a JSON header and payload), pins the algorithm to the allowlist,
// asks the key lookup (which refuses "crit", an unexpected "typ", a non-string "kid" and
// the key-carrying jku, x5u, jwk and x5c parameters), verifies the signature and checks
// exp, nbf and iat on the configured clock; the other claims are checked here.
func (v *Verifier) VerifyToken(ctx context.Context, token string) (*mcpauth.AccessToken, error) {
	switch {
	case token == "":
		return nil, invalid("token is empty")
	case len(token) > v.s.maxSize:
		return nil, invalid("token is too large")
	case strings.IndexByte(token, '\n') >= 0 || strings.IndexByte(token, '\r') >= 0:
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

// key is the golang-jwt Keyfunc: header checks, then the key source's lookup by kid,
// algorithm and key family.
func (v *Verifier) key(ctx context.Context, t *jwt.Token) (any, error) {
	h := t.Header
	if _, ok := h["crit"]; ok {
		return nil, invalid(descCrit)
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
			return nil, invalid(descTyp)
		}
	}
	raw, hasKID := h["kid"]
	kid, ok := raw.(string)
	if hasKID && !ok {
		return nil, invalid(descKIDType)
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
		if errors.As(err, new(base64.CorruptInputError)) {
			if strings.IndexFunc(token, notBase64URL) >= 0 {
				return invalid(descAlphabet)
			}
			return invalid("malformed token: " + part + " is not valid base64url")
		}
		if part == "header" {
			return invalid("malformed token: header is not a JSON object")
		}
		return invalid(descNotObject)
	case errors.Is(err, jwt.ErrTokenUnverifiable): // alg unspecified or unknown
		alg, ok := tok.Header["alg"]
		switch _, isString := alg.(string); {
		case tok.Header == nil:
			return invalid("malformed token: header is not a JSON object")
		case !ok:
			return invalid(descNoAlg)
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
// and Validate refuses a JSON null payload, which decodes without error (it leaves the
// map nil).
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

// accessToken checks the registered claims and builds the AccessToken.
func (v *Verifier) accessToken(claims map[string]any) (*mcpauth.AccessToken, error) {
	s := v.s
	tok := &mcpauth.AccessToken{Claims: claims, Provider: s.provider}

	// golang-jwt has checked exp, nbf and iat.
	if exp, _ := jwt.MapClaims(claims).GetExpirationTime(); exp != nil {
		// The leeway extends validity everywhere the token is checked again (the
		// middleware's expiry check, the cache's entry lifetime), not only here.
		tok.ExpiresAt = exp.Add(s.leeway)
	}
	if iat, _ := jwt.MapClaims(claims).GetIssuedAt(); iat != nil {
		tok.IssuedAt = iat.Time
	}

	iss, ok, err := stringClaim(claims, "iss")
	switch {
	case err != nil:
		return nil, err
	case s.skipIss:
	case !ok:
		return nil, mcpauth.InvalidToken("token has no issuer (iss claim)", nil)
	case !slices.Contains(s.issuers, iss):
		return nil, mcpauth.InvalidToken("token issuer is not accepted", nil)
	}
	tok.Issuer = iss

	aud, err := stringsClaim(claims, "aud", "aud claim must be a string or an array of strings")
	if err != nil {
		return nil, err
	}
	if !s.skipAud {
		if len(aud) == 0 {
			return nil, mcpauth.InvalidToken("token has no audience (aud claim)", nil)
		}
		// Scheme and host of an http(s) URI are compared case-insensitively (RFC 3986).
		if !v.audience.Match(aud) {
			return nil, mcpauth.InvalidToken("token audience does not match this resource", nil)
		}
	}
	tok.Audience = aud

	if tok.Subject, _, err = stringClaim(claims, "sub"); err != nil {
		return nil, err
	}
	if tok.Subject == "" && !s.allowNoSub {
		return nil, mcpauth.InvalidToken(descNoSubject, nil)
	}
	if tok.ID, _, err = stringClaim(claims, "jti"); err != nil {
		return nil, err
	}
	if tok.ClientID, ok, err = stringClaim(claims, "client_id"); err != nil {
		return nil, err
	} else if !ok {
		if tok.ClientID, _, err = stringClaim(claims, "azp"); err != nil {
			return nil, err
		}
	}
	if tok.TenantID, _, err = stringClaim(claims, s.tenantClaim); err != nil {
		return nil, err
	}

	// Scopes: "scope" (a space-delimited string), "scp" and the extra scope claims (a
	// string or an array of strings), in that order and without duplicates.
	var granted []string
	add := func(list string) {
		for f := range strings.FieldsSeq(list) {
			if !slices.Contains(granted, f) {
				granted = append(granted, f)
			}
		}
	}
	if raw, ok := claims["scope"]; ok {
		str, ok := raw.(string)
		if !ok {
			return nil, mcpauth.InvalidToken("scope claim must be a string", nil)
		}
		add(str)
	}
	for i := -1; i < len(s.scopeClaims); i++ {
		name := "scp"
		if i >= 0 {
			name = s.scopeClaims[i]
		}
		switch raw := claims[name].(type) {
		case nil:
			if _, present := claims[name]; present {
				return nil, mcpauth.InvalidToken(name+" claim must be a string or an array of strings", nil)
			}
		case string:
			add(raw)
		case []any:
			for _, e := range raw {
				str, ok := e.(string)
				if !ok {
					return nil, mcpauth.InvalidToken(name+" claim must be a string or an array of strings", nil)
				}
				add(str)
			}
		default:
			return nil, mcpauth.InvalidToken(name+" claim must be a string or an array of strings", nil)
		}
	}
	roles, err := stringsClaim(claims, s.rolesClaim, s.rolesClaim+" claim must be a string or an array of strings")
	if err != nil {
		return nil, err
	}
	if len(roles) > 0 {
		granted = s.roleScopes.Expand(granted, roles)
	}
	tok.Scopes = granted
	return tok, nil
}

// stringClaim reads an optional string claim; any other type is an error.
func stringClaim(claims map[string]any, name string) (string, bool, error) {
	raw, ok := claims[name]
	if !ok {
		return "", false, nil
	}
	s, ok := raw.(string)
	if !ok {
		return "", false, mcpauth.InvalidToken(name+" claim must be a string", nil)
	}
	return s, true, nil
}

// stringsClaim reads a claim that is a string (one value, or space-separated values for
// scope-like claims, split by the caller) or an array of strings.
func stringsClaim(claims map[string]any, name, typeErr string) ([]string, error) {
	raw, ok := claims[name]
	if !ok {
		return nil, nil
	}
	switch x := raw.(type) {
	case string:
		return []string{x}, nil
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, mcpauth.InvalidToken(typeErr, nil)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, mcpauth.InvalidToken(typeErr, nil)
}
