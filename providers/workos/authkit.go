package workos

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/providers/bearer"
)

// Verifier verifies JWT access tokens issued by WorkOS AuthKit acting as the MCP
// server's authorization server. It implements mcpauth.TokenVerifier and is safe for
// concurrent use. Create it with New or NewFactory; Close it to stop the background
// refresh of AuthKit's key set.
type Verifier struct {
	jwt *bearer.Verifier
	s   *settings
}

var _ mcpauth.TokenVerifier = (*Verifier)(nil)

// validateAuthKit validates cfg for the AuthKit verifiers and the metadata proxy.
func (c Config) validateAuthKit() error {
	if strings.TrimSpace(c.AuthKitDomain) == "" {
		return errors.Join(append([]error{fmt.Errorf("workos: Config.AuthKitDomain is empty: set it (%s) to your AuthKit domain, such as https://example.authkit.app (WorkOS dashboard, Domains)", c.env("WORKOS_AUTHKIT_DOMAIN"))}, c.check()...)...)
	}
	return c.Validate()
}

// bearerConfig is the providers/bearer configuration trusting the AuthKit domain.
func (c Config) bearerConfig(s *settings) bearer.Config {
	return bearer.Config{
		Keys:     bearer.JWKS{URI: s.issuer + "/oauth2/jwks", HTTPClient: s.client.HTTP, HTTPTimeout: s.client.Timeout},
		Issuers:  []string{s.issuer},
		Audience: s.audience,
		// AuthKit signs its access tokens with RS256 (its metadata lists RS256 only).
		Algorithms:   []string{"RS256"},
		Leeway:       c.Leeway,
		ScopeClaims:  []string{"permissions"},
		RolesClaim:   "roles",
		TenantClaim:  "org_id",
		Now:          s.now,
		Logger:       s.logger,
		ProviderName: ProviderName,
	}
}

// New returns a Verifier of AuthKit access tokens for the fixed audience cfg.Audience
// (required; use NewFactory to take each service's resource URI instead).
//
// The key set is fetched from AuthKitDomain + "/oauth2/jwks" once before New returns
// (bounded by HTTPTimeout; a failure is not fatal: tokens are answered with
// temporarily_unavailable until a fetch succeeds), then hourly and when a token names an
// unknown key, as providers/bearer does.
func New(cfg Config) (*Verifier, error) {
	if err := cfg.validateAuthKit(); err != nil {
		return nil, err
	}
	if len(cfg.Audience) == 0 {
		return nil, fmt.Errorf("workos: Config.Audience is empty: set it to the MCP server's resource URI (%s), or use NewFactory, which takes each service's resource URI", cfg.env("AUDIENCE"))
	}
	s := cfg.settings()
	v, err := bearer.New(cfg.bearerConfig(s))
	if err != nil {
		return nil, fmt.Errorf("workos: %w", err)
	}
	return &Verifier{jwt: v, s: s}, nil
}

// NewFactory returns an mcpauth.VerifierFactory of AuthKit verifiers sharing one key
// source. factory(resource) accepts tokens whose audience is cfg.Audience when set, and
// the resource URI otherwise (AuthKit puts the resource indicator the client asked for
// in "aud"), so a token minted for one service is refused by another.
//
// The verifiers share the key source: Close on any of them stops it for all.
func NewFactory(cfg Config) (mcpauth.VerifierFactory, error) {
	if err := cfg.validateAuthKit(); err != nil {
		return nil, err
	}
	s := cfg.settings()
	f, err := bearer.NewFactory(cfg.bearerConfig(s))
	if err != nil {
		return nil, fmt.Errorf("workos: %w", err)
	}
	return func(resource string) (mcpauth.TokenVerifier, error) {
		v, err := f(resource)
		if err != nil {
			return nil, fmt.Errorf("workos: %w", err)
		}
		return &Verifier{jwt: v.(*bearer.Verifier), s: s}, nil
	}, nil
}

// Issuer returns the AuthKit issuer the Verifier trusts.
func (v *Verifier) Issuer() string { return v.s.issuer }

// Close stops the background key set refresh (for every verifier of one factory).
func (v *Verifier) Close() error { return v.jwt.Close() }

// VerifyToken verifies an AuthKit access token: an RS256 JWT signed by a key of the
// AuthKit JWKS, "iss" equal to the AuthKit domain, "aud" naming this resource, within its
// validity period (see providers/bearer for every check). Failures there are
// invalid_token (401), or temporarily_unavailable (503) while the key set was never
// fetched. A valid token outside Config.AllowedOrganizations is refused with
// access_denied (403).
//
// The AccessToken has Subject = "sub" (the WorkOS user ID, "user_..."), TenantID =
// "org_id", ClientID = "client_id" or "azp", Provider = "workos", every claim in Claims
// ("sid", "org_id", "role", "roles", "permissions", ...), and Scopes = the token's
// "scope", "scp" and "permissions" values followed by the configured grants (Scopes,
// OrganizationScopes[org_id], RoleScopes of "role" and "roles").
func (v *Verifier) VerifyToken(ctx context.Context, token string) (*mcpauth.AccessToken, error) {
	tok, err := v.jwt.VerifyToken(ctx, token)
	if err != nil {
		return nil, err
	}
	if err := v.s.grants.checkOrganization(tok.TenantID); err != nil {
		return nil, err
	}
	roles, err := authKitRoles(tok.Claims)
	if err != nil {
		return nil, err
	}
	tok.Scopes = v.s.grants.scopesFor(tok.Scopes, tok.TenantID, roles)
	return tok, nil
}

// authKitRoles reads the role slugs of an AuthKit token: "role" (a string) and "roles"
// (an array of strings; its type was checked by the bearer verifier).
func authKitRoles(claims map[string]any) ([]string, error) {
	var roles []string
	if raw, ok := claims["role"]; ok {
		r, ok := raw.(string)
		if !ok {
			return nil, mcpauth.InvalidToken("role claim must be a string", nil)
		}
		roles = append(roles, r)
	}
	switch x := claims["roles"].(type) {
	case string:
		roles = append(roles, x)
	case []any:
		for _, e := range x {
			if r, ok := e.(string); ok {
				roles = append(roles, r)
			}
		}
	}
	return roles, nil
}
