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
	"github.com/mcpauth/mcpauth/internal/tokenformat"
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

// New validates cfg (see Config.Validate) and returns a Verifier. It makes no request:
// the introspection endpoint is first called by VerifyToken.
func New(cfg Config) (*Verifier, error) {
	s, err := cfg.prepare(true)
	if err != nil {
		return nil, err
	}
	return &Verifier{s: s, up: &upstream{s: s}, audience: audiences.NewMatcher(s.Audience)}, nil
}

// NewFactory validates cfg like New, except that Config.Audience may be empty, and
// returns a factory of verifiers, one per protected resource, that share one HTTP client.
// Each call factory(resource) returns a *Verifier whose accepted audience is cfg.Audience
// when set, and []string{resource} otherwise (RFC 8707: a token must name the resource
// it is used at).
func NewFactory(cfg Config) (mcpauth.VerifierFactory, error) {
	s, err := cfg.prepare(false)
	if err != nil {
		return nil, err
	}
	up := &upstream{s: s}
	fixed := audiences.NewMatcher(s.Audience) // normalised once, shared by every verifier
	return func(resource string) (mcpauth.TokenVerifier, error) {
		aud := fixed
		if len(s.Audience) == 0 && !s.SkipAudienceCheck {
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
// (mcpauth.OpaqueCachePolicy), since each verification is a call to the introspection
// endpoint. mcpauth.Cached (and so the hub) applies them without being asked.
func (v *Verifier) CacheOptions() []mcpauth.CacheOption { return mcpauth.OpaqueCachePolicy() }

var _ mcpauth.CachePolicy = (*Verifier)(nil)

// VerifyToken checks the token's shape locally, introspects it, and returns an
// AccessToken when the authorization server says it is active and it passes this
// resource's checks. Errors are *mcpauth.Error values (see the package documentation):
// invalid_token (401) for a refused token; temporarily_unavailable (503) when the
// authorization server could not answer usefully, including when it rejects this
// resource server's own credentials (errors.Is(err, ErrClientAuthentication)).
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

// prefilter refuses, without an upstream call, what cannot be a bearer token: empty,
// larger than MaxTokenSize, or not an RFC 6750 b64token.
func (v *Verifier) prefilter(token string) error {
	switch {
	case token == "":
		return mcpauth.InvalidToken(descEmpty, nil)
	case len(token) > v.s.MaxTokenSize:
		return mcpauth.InvalidToken(descTooLarge, nil)
	case !tokenformat.IsB64Token(token):
		return mcpauth.InvalidToken(descCharset, nil)
	}
	return nil
}

// accessToken applies this resource's checks to an active introspection response and
// builds the AccessToken. A member of the wrong JSON type makes the response malformed
// (temporarily_unavailable): the authorization server is broken, not the token.
func (v *Verifier) accessToken(resp map[string]any) (*mcpauth.AccessToken, error) {
	s := v.s
	r := &members{m: resp}
	tok := &mcpauth.AccessToken{
		Subject:  r.str("sub"),
		ClientID: r.str("client_id"),
		Issuer:   r.str("iss"),
		Audience: r.audience(),
		ID:       r.str("jti"),
		TenantID: r.str(s.TenantClaim),
		Scopes:   scopeList(append([]string{r.str("scope")}, s.Scopes...)),
		IssuedAt: r.date("iat"),
		Claims:   resp,
		Provider: s.ProviderName,
	}
	exp, nbf, tokenType := r.date("exp"), r.date("nbf"), r.str("token_type")
	r.str("username") // never the subject (a name in another namespace), but still a string
	if r.err != nil {
		return nil, r.err
	}

	now := s.Now()
	for _, check := range []struct {
		refused bool
		desc    string
	}{
		{resp["exp"] != nil && !now.Before(exp.Add(s.Leeway)), descExpired},
		{now.Add(s.Leeway).Before(nbf), descNotYetValid}, // never when nbf is absent (zero)
		{len(s.Issuers) > 0 && tok.Issuer == "", descNoIssuer},
		{len(s.Issuers) > 0 && !slices.Contains(s.Issuers, tok.Issuer), descIssuer},
		{!s.SkipAudienceCheck && len(tok.Audience) == 0, descNoAudience},
		{!s.SkipAudienceCheck && !v.audience.Match(tok.Audience), descAudience},
		{strings.EqualFold(tokenType, "refresh_token"), descRefreshToken},
		{strings.EqualFold(tokenType, "DPoP") || resp["cnf"] != nil, descBound},
		{tok.Subject == "" && !s.AllowMissingSubject, descNoSubject},
		{tok.Subject == "" && tok.ClientID == "", descNoPrincipal},
	} {
		if check.refused { // the first refusal of this list is reported
			return nil, mcpauth.InvalidToken(check.desc, nil)
		}
	}
	if tok.Subject == "" {
		// RFC 9068 §2.2: without a resource owner (client credentials), the subject is
		// the client; authorization servers put the client id in a JWT's "sub" then.
		tok.Subject = tok.ClientID
	}
	if resp["exp"] != nil {
		tok.ExpiresAt = exp.Add(s.Leeway)
	}
	return tok, nil
}

// scopeList is the space-delimited scopes of values, without duplicates.
func scopeList(values []string) []string {
	var list []string
	for _, v := range values {
		for f := range strings.FieldsSeq(v) {
			if !slices.Contains(list, f) {
				list = append(list, f)
			}
		}
	}
	return list
}

// members reads the members of an introspection response; null counts as absent. The
// first member of the wrong type is recorded in err as a malformed response.
type members struct {
	m   map[string]any
	err error
}

func (r *members) malformed(name, want string) {
	if r.err == nil {
		r.err = mcpauth.UpstreamUnavailable(descMalformed, 0, errors.New("introspection response member "+name+" must be "+want))
	}
}

// str reads an optional string member ("" when absent).
func (r *members) str(name string) string {
	s, ok := r.m[name].(string)
	if !ok && r.m[name] != nil {
		r.malformed(name, "a string")
	}
	return s
}

// date reads an optional NumericDate member, seconds since the epoch (zero when absent).
func (r *members) date(name string) time.Time {
	f, ok := r.m[name].(float64)
	if !ok || math.IsNaN(f) || math.Abs(f) > 1<<53 {
		if r.m[name] != nil {
			r.malformed(name, "a number of seconds since the epoch")
		}
		return time.Time{}
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9))
}

// audience reads "aud": a string or an array of strings.
func (r *members) audience() []string {
	switch x := r.m["aud"].(type) {
	case nil:
		return nil
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		if len(out) == len(x) {
			return out
		}
	}
	r.malformed("aud", "a string or an array of strings")
	return nil
}
