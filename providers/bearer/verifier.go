package bearer

import (
	"context"
	"encoding/base64"
	"errors"
	"math"
	"slices"
	"strings"
	"time"

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
	methods  []pinnedMethod
}

// pinnedMethod is an allowed algorithm and its golang-jwt implementation.
type pinnedMethod struct {
	alg    string
	method jwt.SigningMethod
}

var _ mcpauth.TokenVerifier = (*Verifier)(nil)

// New validates cfg (see Config.Validate) and returns a Verifier.
//
// With Config.JWKSURI, New fetches the key set once before returning (bounded by
// HTTPTimeout) and starts a goroutine that fetches it again every RefreshInterval; a
// token with an unknown "kid" triggers a fetch too, at most once per
// UnknownKIDRefreshInterval. New does not fail when the JWKS cannot be fetched: tokens are
// then answered with temporarily_unavailable (503) until a fetch succeeds, since no key
// set was ever seen. Call Close to stop the goroutine.
func New(cfg Config) (*Verifier, error) {
	s, err := cfg.prepare(true)
	if err != nil {
		return nil, err
	}
	src, err := newSource(s, cfg)
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
	s, err := cfg.prepare(false)
	if err != nil {
		return nil, err
	}
	src, err := newSource(s, cfg)
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

func newSource(s *settings, cfg Config) (keySource, error) {
	switch s.kind {
	case sourceJWKS:
		return newJWKSSource(s, cfg.HTTPClient)
	default:
		return &staticSource{set: newKeySet(s.staticKeys, true, 0)}, nil
	}
}

func newVerifier(s *settings, src keySource, aud audience.Matcher) *Verifier {
	v := &Verifier{s: s, src: src, audience: aud}
	for _, alg := range s.algs {
		if m := jwt.GetSigningMethod(alg); m != nil {
			v.methods = append(v.methods, pinnedMethod{alg: alg, method: m})
		}
	}
	return v
}

// Close stops the background JWKS refresh. Verifiers made by one factory share their
// key source, so closing any of them closes it for all. Keys already fetched keep
// working; no more fetches happen. Close is idempotent and always returns nil.
func (v *Verifier) Close() error { return v.src.close() }

// tokenHeader is what the Verifier reads from a JOSE header.
type tokenHeader struct {
	alg    string
	kid    string
	hasAlg bool
	hasKID bool
	// problem is the first reason to refuse the header, "" when none.
	problem string
}

// Descriptions of header problems.
const (
	descAlgType  = "malformed token: header alg must be a string"
	descCrit     = "token header has a crit parameter"
	descTyp      = "token type (typ header) is not accepted"
	descKIDType  = "token header kid must be a string"
	descNoAlg    = "malformed token: header has no alg"
	descBadAlg   = "unexpected signing algorithm"
	descDupParam = "malformed token: duplicate header parameter"
)

// parseHeader reads the JOSE header. The jku, x5u, jwk and x5c parameters are never
// used: keys come only from the configured source, selected by kid.
func parseHeader(b []byte) (tokenHeader, error) {
	var h tokenHeader
	var seen [8]string
	names := seen[:0]
	err := decodeMembers(b, func(name string, v any) error {
		if slices.Contains(names, name) {
			return errDuplicate
		}
		names = append(names, name)
		switch name {
		case "alg":
			h.alg, h.hasAlg = v.(string)
			if !h.hasAlg && h.problem == "" {
				h.problem = descAlgType
			}
		case "kid":
			var ok bool
			h.hasKID = true
			if h.kid, ok = v.(string); !ok && h.problem == "" {
				h.problem = descKIDType
			}
		case "typ":
			s, ok := v.(string)
			if (!ok || !(strings.EqualFold(s, "JWT") || strings.EqualFold(s, "at+jwt") || strings.EqualFold(s, "application/at+jwt"))) && h.problem == "" {
				h.problem = descTyp
			}
		case "crit":
			if h.problem == "" {
				h.problem = descCrit
			}
		}
		return nil
	})
	return h, err
}

// segmentEncoding is base64url without padding, refusing non-zero trailing bits.
var segmentEncoding = base64.RawURLEncoding.Strict()

// tokenAlphabet marks the bytes allowed in a compact JWS: base64url and '.'.
var tokenAlphabet = func() (t [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_." {
		t[c] = true
	}
	return t
}()

func invalid(desc string) error { return mcpauth.InvalidToken(desc, nil) }

// VerifyToken verifies the token's signature, algorithm, header, issuer, audience and
// validity period, and returns its claims as an AccessToken. Failures are *mcpauth.Error
// values of class invalid_token (errors.Is(err, mcpauth.ErrInvalidToken)) with a
// client-safe description of the reason; the only exception is a JWKS that was never
// fetched successfully, reported as temporarily_unavailable.
//
// The steps, each refusing the token with its own description: size; compact JWS shape
// (three base64url segments); header (a JSON object without duplicate parameters, an
// allowed "alg", no "crit", an accepted "typ"); key lookup by "kid"; signature; then the
// payload (a JSON object, parsed only once the signature is verified) and its claims.
func (v *Verifier) VerifyToken(ctx context.Context, token string) (*mcpauth.AccessToken, error) {
	if token == "" {
		return nil, invalid("token is empty")
	}
	if len(token) > v.s.maxSize {
		return nil, invalid("token is too large")
	}
	i1 := strings.IndexByte(token, '.')
	i2 := -1
	if i1 >= 0 {
		if j := strings.IndexByte(token[i1+1:], '.'); j >= 0 {
			i2 = i1 + 1 + j
		}
	}
	if i2 < 0 || strings.IndexByte(token[i2+1:], '.') >= 0 {
		if strings.Count(token, ".") == 4 {
			return nil, invalid("malformed token: encrypted tokens (JWE) are not supported")
		}
		return nil, invalid("malformed token: a JWT has exactly three segments")
	}
	// The base64 decoder skips line breaks; every other byte outside the alphabet fails
	// decoding, reported below with a precise description.
	if strings.IndexByte(token, '\n') >= 0 || strings.IndexByte(token, '\r') >= 0 {
		return nil, invalid(descAlphabet)
	}
	hSeg, pSeg, sSeg := token[:i1], token[i1+1:i2], token[i2+1:]

	// One buffer for the three decoded segments.
	hLen, pLen := segmentEncoding.DecodedLen(len(hSeg)), segmentEncoding.DecodedLen(len(pSeg))
	buf := make([]byte, hLen+pLen+segmentEncoding.DecodedLen(len(sSeg)))
	n, err := segmentEncoding.Decode(buf, []byte(hSeg))
	if err != nil {
		return nil, v.badSegment(token, "header")
	}
	h, err := parseHeader(buf[:n])
	switch {
	case errors.Is(err, errDuplicate):
		return nil, invalid(descDupParam)
	case err != nil:
		return nil, invalid("malformed token: header is not a JSON object")
	case h.problem == descAlgType:
		return nil, invalid(descAlgType)
	case !h.hasAlg:
		return nil, invalid(descNoAlg)
	}
	// The algorithm is pinned: only the allowed algorithms have a method here.
	var method jwt.SigningMethod
	for i := range v.methods {
		if v.methods[i].alg == h.alg {
			method = v.methods[i].method
			break
		}
	}
	if method == nil {
		return nil, invalid(descBadAlg)
	}
	if h.problem != "" {
		return nil, invalid(h.problem)
	}
	payload := buf[hLen : hLen+pLen]
	if n, err = segmentEncoding.Decode(payload, []byte(pSeg)); err != nil {
		return nil, v.badSegment(token, "payload")
	}
	payload = payload[:n]
	sig := buf[hLen+pLen:]
	if n, err = segmentEncoding.Decode(sig, []byte(sSeg)); err != nil {
		return nil, v.badSegment(token, "signature")
	}
	sig = sig[:n]

	key, err := v.src.key(ctx, h.kid, h.hasKID, h.alg, method)
	if err != nil {
		return nil, err
	}
	signingInput := token[:i2]
	if set, ok := key.(jwt.VerificationKeySet); ok {
		err = errNoKey
		for _, k := range set.Keys {
			if err = method.Verify(signingInput, sig, k); err == nil {
				break
			}
		}
	} else {
		err = method.Verify(signingInput, sig, key)
	}
	if err != nil {
		return nil, mcpauth.InvalidToken("token signature is invalid", err)
	}

	claims, err := decodeClaims(payload)
	switch {
	case errors.Is(err, errDuplicate):
		return nil, invalid("malformed token: duplicate claim")
	case err != nil:
		return nil, invalid("malformed token: payload is not a JSON object")
	}
	return v.accessToken(claims)
}

var errNoKey = errors.New("no key")

// descNoSubject refuses a token without "sub" (unless Config.AllowMissingSubject).
const descNoSubject = "the token has no subject (sub)"

const descAlphabet = "malformed token: it contains characters outside the base64url alphabet"

// badSegment describes a segment that is not base64url.
func (v *Verifier) badSegment(token, part string) error {
	for i := 0; i < len(token); i++ {
		if !tokenAlphabet[token[i]] {
			return invalid(descAlphabet)
		}
	}
	return invalid("malformed token: " + part + " is not valid base64url")
}

// accessToken checks the registered claims and builds the AccessToken.
func (v *Verifier) accessToken(claims map[string]any) (*mcpauth.AccessToken, error) {
	s := v.s
	now := s.now()
	tok := &mcpauth.AccessToken{Claims: claims, Provider: s.provider}

	exp, ok, err := numericDate(claims, "exp")
	switch {
	case err != nil:
		return nil, err
	case !ok && !s.expOptional:
		return nil, mcpauth.InvalidToken("token has no expiry (exp claim)", nil)
	case ok && !now.Before(exp.Add(s.leeway)):
		return nil, mcpauth.InvalidToken("token is expired", nil)
	}
	if ok {
		// The leeway extends validity everywhere the token is checked again (the
		// middleware's expiry check, the cache's entry lifetime), not only here.
		tok.ExpiresAt = exp.Add(s.leeway)
	}
	nbf, ok, err := numericDate(claims, "nbf")
	switch {
	case err != nil:
		return nil, err
	case ok && now.Add(s.leeway).Before(nbf):
		return nil, mcpauth.InvalidToken("token is not valid yet (nbf)", nil)
	}
	iat, ok, err := numericDate(claims, "iat")
	switch {
	case err != nil:
		return nil, err
	case ok && now.Add(s.leeway).Before(iat):
		return nil, mcpauth.InvalidToken("token was issued in the future (iat)", nil)
	}
	tok.IssuedAt = iat

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

// numericDate reads a NumericDate claim (seconds since the epoch, a JSON number).
func numericDate(claims map[string]any, name string) (time.Time, bool, error) {
	raw, ok := claims[name]
	if !ok {
		return time.Time{}, false, nil
	}
	f, ok := raw.(float64)
	if !ok {
		return time.Time{}, false, mcpauth.InvalidToken(name+" claim must be a number", nil)
	}
	if math.IsNaN(f) || math.Abs(f) > 1<<53 {
		return time.Time{}, false, mcpauth.InvalidToken(name+" claim is out of range", nil)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true, nil
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
