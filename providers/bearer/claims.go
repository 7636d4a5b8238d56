package bearer

import (
	"crypto/rand"
	"encoding/hex"
	"slices"
	"strings"
	"time"
)

// Claims builds the claims of a token to sign, for tests and the development issuer
// (mcpauthtest.DevIssuer.Sign).
// Methods modify the receiver and return it, so calls chain:
//
//	c := bearer.NewClaims("alice").AddScopes("notes:read").WithAudience(resource).ExpiresIn(time.Hour)
//
// A Claims is not safe for concurrent modification.
type Claims struct {
	subject   string
	issuer    string
	audience  []string
	scopes    []string
	issuedAt  time.Time
	expiresIn time.Duration // relative to issuedAt, unless expiresAt is set
	expiresAt time.Time
	noExpiry  bool
	notBefore time.Time
	id        string
	extra     map[string]any
}

// NewClaims returns claims for subject ("sub"), issued now, expiring in one hour, with a
// random 128-bit hex "jti". An empty subject renders no "sub" claim;
// mcpauthtest.DevIssuer.Sign refuses such claims.
func NewClaims(subject string) *Claims {
	var id [16]byte
	_, _ = rand.Read(id[:])
	return &Claims{
		subject:   subject,
		issuedAt:  time.Now(),
		expiresIn: time.Hour,
		id:        hex.EncodeToString(id[:]),
	}
}

// AddScopes adds scopes; they are rendered as one space-delimited "scope" claim.
func (c *Claims) AddScopes(s ...string) *Claims {
	for _, v := range s {
		c.scopes = append(c.scopes, strings.Fields(v)...)
	}
	return c
}

// AddClaim sets claim name to v. It overrides the value the builder would render for
// the same name (so tests can craft claims of any shape); a time.Time is rendered as
// NumericDate seconds.
func (c *Claims) AddClaim(name string, v any) *Claims {
	if c.extra == nil {
		c.extra = make(map[string]any)
	}
	c.extra[name] = v
	return c
}

// ExpiresIn sets the expiry to d after the issue time.
func (c *Claims) ExpiresIn(d time.Duration) *Claims {
	c.expiresIn, c.expiresAt, c.noExpiry = d, time.Time{}, false
	return c
}

// ExpiresAt sets the expiry to t.
func (c *Claims) ExpiresAt(t time.Time) *Claims { c.expiresAt, c.noExpiry = t, false; return c }

// NotBefore sets the "nbf" claim.
func (c *Claims) NotBefore(t time.Time) *Claims { c.notBefore = t; return c }

// IssuedAt sets the "iat" claim; it is also the base time of ExpiresIn.
func (c *Claims) IssuedAt(t time.Time) *Claims { c.issuedAt = t; return c }

// WithIssuer sets the "iss" claim.
func (c *Claims) WithIssuer(iss string) *Claims { c.issuer = iss; return c }

// WithAudience sets the "aud" claim: a string for one audience, an array for several,
// no claim for none.
func (c *Claims) WithAudience(aud ...string) *Claims { c.audience = slices.Clone(aud); return c }

// WithoutExpiry removes the "exp" claim.
func (c *Claims) WithoutExpiry() *Claims { c.noExpiry = true; return c }

// Map renders the claims: sub, iat, exp, jti, scope, and iss, aud, nbf when set, then
// the claims added with AddClaim. Numeric dates are int64 seconds. Each call returns a
// new map.
func (c *Claims) Map() map[string]any {
	m := map[string]any{"iat": c.issuedAt.Unix()}
	for name, v := range map[string]string{"sub": c.subject, "jti": c.id, "scope": strings.Join(c.scopes, " "), "iss": c.issuer} {
		if v != "" {
			m[name] = v
		}
	}
	if exp := c.expiresAt; !c.noExpiry {
		if exp.IsZero() {
			exp = c.issuedAt.Add(c.expiresIn)
		}
		m["exp"] = exp.Unix()
	}
	if !c.notBefore.IsZero() {
		m["nbf"] = c.notBefore.Unix()
	}
	switch len(c.audience) {
	case 0:
	case 1:
		m["aud"] = c.audience[0]
	default:
		m["aud"] = slices.Clone(c.audience)
	}
	for k, v := range c.extra {
		if t, ok := v.(time.Time); ok {
			v = t.Unix()
		}
		m[k] = v
	}
	return m
}
