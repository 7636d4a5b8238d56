package mcpauth

import (
	"context"
	"slices"
	"time"

	"github.com/mcpauth/mcpauth/internal/ctxkey"
)

// A TokenVerifier turns a bearer token into an AccessToken or an error. Implementations
// return an *Error (or an error wrapping one) so that callers can map the failure to an
// HTTP status: invalid_token for a token that is wrong, temporarily_unavailable when an
// upstream needed to decide is down.
//
// VerifyToken must be safe for concurrent use.
type TokenVerifier interface {
	VerifyToken(ctx context.Context, token string) (*AccessToken, error)
}

// TokenVerifierFunc adapts a function to the TokenVerifier interface.
type TokenVerifierFunc func(ctx context.Context, token string) (*AccessToken, error)

// VerifyToken calls f.
func (f TokenVerifierFunc) VerifyToken(ctx context.Context, token string) (*AccessToken, error) {
	return f(ctx, token)
}

// VerifierFactory builds a verifier bound to one protected resource (RFC 8707 / RFC 9728
// resource URI), typically so that the token's audience must name that resource. The hub
// calls it once per mounted service.
type VerifierFactory func(resource string) (TokenVerifier, error)

// AccessToken is a verified token: who the caller is and what it was granted.
// Treat it as read-only; it may be shared between requests by a cache.
type AccessToken struct {
	// Subject identifies the principal (the "sub" claim or the provider's user id).
	Subject string
	// ClientID is the OAuth client the token was issued to ("client_id" or "azp").
	ClientID string
	// Issuer is the token's issuer.
	Issuer string
	// TenantID is the tenant the principal belongs to, from the configured tenant claim.
	TenantID string
	// Audience lists the audiences the token was issued for.
	Audience []string
	// Scopes lists the granted scopes, after role expansion.
	Scopes []string
	// ExpiresAt is when the token stops being valid; zero means the provider gave no expiry.
	ExpiresAt time.Time
	// IssuedAt is when the token was issued; zero when unknown.
	IssuedAt time.Time
	// ID is the token identifier ("jti") when the provider has one.
	ID string
	// Claims holds every claim or attribute the provider saw.
	Claims map[string]any
	// Provider names the verifier that accepted the token, for example "bearer".
	Provider string
}

// HasScope reports whether the token was granted scope s.
func (t *AccessToken) HasScope(s string) bool {
	return t != nil && slices.Contains(t.Scopes, s)
}

// Expired reports whether the token has an expiry and it is not after now.
func (t *AccessToken) Expired(now time.Time) bool {
	return t != nil && !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)
}

// Claim returns the named claim, or nil.
func (t *AccessToken) Claim(name string) any {
	if t == nil {
		return nil
	}
	return t.Claims[name]
}

// WithAccessToken returns a copy of ctx that carries tok.
func WithAccessToken(ctx context.Context, tok *AccessToken) context.Context {
	return context.WithValue(ctx, ctxkey.AccessToken{}, tok)
}

// AccessTokenFromContext returns the verified token of the current request, or nil when
// the request was not authenticated (for example on a public service).
func AccessTokenFromContext(ctx context.Context) *AccessToken {
	tok, _ := ctx.Value(ctxkey.AccessToken{}).(*AccessToken)
	return tok
}
