package introspect

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/mcpauth/mcpauth"
	audiences "github.com/mcpauth/mcpauth/internal/audience"
)

// Verifier verifies opaque access tokens by asking the authorization server's RFC 7662
// introspection endpoint. It implements mcpauth.TokenVerifier, is safe for concurrent
// use and keeps no state besides its configuration: it has no cache, so wrap it with
// mcpauth.CachedOpaque. Create it with New or NewFactory.
type Verifier struct {
	s        *settings
	up       *upstream
	audience audiences.Matcher
}

var _ mcpauth.TokenVerifier = (*Verifier)(nil)

// New validates cfg (see Config.Validate) and returns a Verifier. It makes no request:
// the introspection endpoint is first called by VerifyToken.
func New(cfg Config) (*Verifier, error) {
	s, err := cfg.prepare(true)
	if err != nil {
		return nil, err
	}
	return &Verifier{s: s, up: newUpstream(s), audience: audiences.NewMatcher(s.audience)}, nil
}

// NewFactory validates cfg like New, except that Config.Audience may be empty, and
// returns a factory of verifiers, one per protected resource, that share one HTTP client.
// Each call factory(resource) returns a *Verifier whose accepted audience is cfg.Audience
// when set, and []string{resource} otherwise (RFC 8707: a token must name the resource
// it is used at).
//
// A hub wraps each verifier with mcpauth.Cached unless it is already a
// *mcpauth.CachedVerifier; for opaque tokens prefer mcpauth.CachedOpaque, which remembers
// rejected tokens and bounds concurrent upstream calls:
//
//	VerifierFor: func(resource string) (mcpauth.TokenVerifier, error) {
//		v, err := factory(resource)
//		if err != nil {
//			return nil, err
//		}
//		return mcpauth.CachedOpaque(v), nil
//	},
func NewFactory(cfg Config) (mcpauth.VerifierFactory, error) {
	s, err := cfg.prepare(false)
	if err != nil {
		return nil, err
	}
	up := newUpstream(s)
	fixed := audiences.NewMatcher(s.audience) // normalised once, shared by every verifier
	return func(resource string) (mcpauth.TokenVerifier, error) {
		aud := fixed
		if len(s.audience) == 0 && !s.skipAud {
			if strings.TrimSpace(resource) == "" {
				return nil, errors.New("introspect: the resource URI is empty and Config.Audience is not set: pass the resource URI of the service or set Config.Audience")
			}
			aud = audiences.NewMatcher([]string{resource})
		}
		return &Verifier{s: s, up: up, audience: aud}, nil
	}, nil
}

// Descriptions of refusals, safe to send to clients.
const (
	descEmpty        = "token is empty"
	descTooLarge     = "token is too large"
	descCharset      = "malformed token: it contains characters that a bearer token cannot contain"
	descInactive     = "token is not active"
	descExpired      = "token is expired"
	descNotYetValid  = "token is not valid yet (nbf)"
	descNoIssuer     = "token has no issuer (iss)"
	descIssuer       = "token issuer is not accepted"
	descNoAudience   = "token has no audience (aud)"
	descAudience     = "token audience does not match this resource"
	descRefreshToken = "a refresh token is not an access token"
	descBound        = "token is bound to a key (DPoP or mTLS, cnf) and cannot be used as a bearer token here"
	descNoSubject    = "the token has no subject (sub)"
	descNoPrincipal  = "token names no subject (sub) and no client (client_id)"
)

// CacheOptions implements mcpauth.CachePolicy: the options for opaque tokens
// (mcpauth.OpaqueCachePolicy), since each verification is a call to the introspection endpoint. mcpauth.Cached (and so
// the hub) applies them without being asked.
func (v *Verifier) CacheOptions() []mcpauth.CacheOption { return mcpauth.OpaqueCachePolicy() }

var _ mcpauth.CachePolicy = (*Verifier)(nil)

// VerifyToken checks the token's shape locally, introspects it, and returns an
// AccessToken when the authorization server says it is active and it passes this
// resource's checks.
//
// Errors are *mcpauth.Error values. invalid_token (401): the token is empty, too large or
// contains bytes no bearer token has (no upstream call is made); the authorization
// server says it is not active; it is expired or not yet valid by Config.Now; its
// audience does not include this resource; its issuer is not accepted; it is a refresh
// token or a sender-constrained (DPoP/mTLS) token; it has no subject ("sub"; see
// Config.AllowMissingSubject) or, with AllowMissingSubject, names no principal at all.
// temporarily_unavailable (503): the authorization server could not answer usefully —
// it is unreachable, slow, rate-limiting, failing, answering malformed JSON, or rejecting
// this resource server's own credentials (errors.Is(err, ErrClientAuthentication)), which
// is a configuration problem and never the caller's fault.
func (v *Verifier) VerifyToken(ctx context.Context, token string) (*mcpauth.AccessToken, error) {
	if err := v.prefilter(token); err != nil {
		return nil, err
	}
	resp, err := v.up.introspect(ctx, token)
	if err != nil {
		return nil, err
	}
	return v.accessToken(resp)
}

// b64token marks the bytes of RFC 6750's b64token: ALPHA DIGIT - . _ ~ + / and trailing =.
var b64token = func() (t [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=" {
		t[c] = true
	}
	return t
}()

// prefilter refuses, without an upstream call, what cannot be a bearer token: empty,
// larger than MaxTokenSize, or not an RFC 6750 b64token (1*( ALPHA / DIGIT / "-" / "." /
// "_" / "~" / "+" / "/" ) *"=").
func (v *Verifier) prefilter(token string) error {
	if token == "" {
		return mcpauth.InvalidToken(descEmpty, nil)
	}
	if len(token) > v.s.maxSize {
		return mcpauth.InvalidToken(descTooLarge, nil)
	}
	body := strings.TrimRight(token, "=")
	if body == "" {
		return mcpauth.InvalidToken(descCharset, nil)
	}
	for i := 0; i < len(body); i++ {
		if c := body[i]; !b64token[c] || c == '=' {
			return mcpauth.InvalidToken(descCharset, nil)
		}
	}
	return nil
}

// accessToken applies this resource's checks to an active introspection response and
// builds the AccessToken. Members of the wrong JSON type make the response malformed
// (temporarily_unavailable): the authorization server is broken, not the token.
func (v *Verifier) accessToken(resp map[string]any) (*mcpauth.AccessToken, error) {
	s := v.s
	now := s.now()
	tok := &mcpauth.AccessToken{Claims: resp, Provider: s.provider}

	exp, ok, err := numericDate(resp, "exp")
	switch {
	case err != nil:
		return nil, err
	case ok && !now.Before(exp.Add(s.leeway)):
		return nil, mcpauth.InvalidToken(descExpired, nil)
	case ok:
		tok.ExpiresAt = exp.Add(s.leeway)
	}
	nbf, ok, err := numericDate(resp, "nbf")
	switch {
	case err != nil:
		return nil, err
	case ok && now.Add(s.leeway).Before(nbf):
		return nil, mcpauth.InvalidToken(descNotYetValid, nil)
	}
	if tok.IssuedAt, _, err = numericDate(resp, "iat"); err != nil {
		return nil, err
	}

	iss, ok, err := stringMember(resp, "iss")
	switch {
	case err != nil:
		return nil, err
	case len(s.issuers) == 0:
	case !ok:
		return nil, mcpauth.InvalidToken(descNoIssuer, nil)
	case !slices.Contains(s.issuers, iss):
		return nil, mcpauth.InvalidToken(descIssuer, nil)
	}
	tok.Issuer = iss

	aud, err := audience(resp)
	if err != nil {
		return nil, err
	}
	if !s.skipAud {
		if len(aud) == 0 {
			return nil, mcpauth.InvalidToken(descNoAudience, nil)
		}
		// Scheme and host of an http(s) URI are compared case-insensitively (RFC 3986).
		if !v.audience.Match(aud) {
			return nil, mcpauth.InvalidToken(descAudience, nil)
		}
	}
	tok.Audience = aud

	tt, _, err := stringMember(resp, "token_type")
	if err != nil {
		return nil, err
	}
	switch {
	case strings.EqualFold(tt, "refresh_token"):
		return nil, mcpauth.InvalidToken(descRefreshToken, nil)
	case strings.EqualFold(tt, "DPoP"):
		return nil, mcpauth.InvalidToken(descBound, nil)
	}
	if cnf, bound := resp["cnf"]; bound && cnf != nil {
		return nil, mcpauth.InvalidToken(descBound, nil)
	}

	if tok.ClientID, _, err = stringMember(resp, "client_id"); err != nil {
		return nil, err
	}
	if tok.Subject, _, err = stringMember(resp, "sub"); err != nil {
		return nil, err
	}
	if _, _, err = stringMember(resp, "username"); err != nil {
		return nil, err
	}
	if tok.Subject == "" && !s.allowNoSub {
		return nil, mcpauth.InvalidToken(descNoSubject, nil)
	}
	if tok.Subject == "" {
		// RFC 9068 §2.2: without a resource owner (client credentials), the subject is
		// the client; authorization servers put the client id in a JWT's "sub" then.
		tok.Subject = tok.ClientID
	}
	if tok.Subject == "" {
		return nil, mcpauth.InvalidToken(descNoPrincipal, nil)
	}
	if tok.ID, _, err = stringMember(resp, "jti"); err != nil {
		return nil, err
	}
	if tok.TenantID, _, err = stringMember(resp, s.tenantClaim); err != nil {
		return nil, err
	}

	scope, _, err := stringMember(resp, "scope")
	if err != nil {
		return nil, err
	}
	var granted []string
	for f := range strings.FieldsSeq(scope) {
		if !slices.Contains(granted, f) {
			granted = append(granted, f)
		}
	}
	for _, f := range s.scopes {
		if !slices.Contains(granted, f) {
			granted = append(granted, f)
		}
	}
	tok.Scopes = granted
	return tok, nil
}

// malformedMember reports a member of the wrong type in an introspection response.
func malformedMember(name, want string) error {
	return mcpauth.UpstreamUnavailable("the authorization server's introspection response is malformed", 0,
		errors.New("introspection response member "+name+" must be "+want))
}

// numericDate reads an optional NumericDate member (seconds since the epoch).
func numericDate(m map[string]any, name string) (time.Time, bool, error) {
	raw, ok := m[name]
	if !ok || raw == nil {
		return time.Time{}, false, nil
	}
	f, ok := raw.(float64)
	if !ok || math.IsNaN(f) || math.Abs(f) > 1<<53 {
		return time.Time{}, false, malformedMember(name, "a number of seconds since the epoch")
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true, nil
}

// stringMember reads an optional string member; null counts as absent.
func stringMember(m map[string]any, name string) (string, bool, error) {
	raw, ok := m[name]
	if !ok || raw == nil {
		return "", false, nil
	}
	s, ok := raw.(string)
	if !ok {
		return "", false, malformedMember(name, "a string")
	}
	return s, true, nil
}

// audience reads "aud": a string or an array of strings.
func audience(m map[string]any) ([]string, error) {
	switch x := m["aud"].(type) {
	case nil:
		return nil, nil
	case string:
		return []string{x}, nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, malformedMember("aud", "a string or an array of strings")
			}
			out = append(out, s)
		}
		return out, nil
	default:
		return nil, malformedMember("aud", "a string or an array of strings")
	}
}
