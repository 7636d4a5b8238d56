package workos

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/tokenformat"
)

// MinSSOTokenSize and MaxSSOTokenSize bound the length, in bytes, of the SSO access
// tokens sent to WorkOS; others are refused before any call.
const (
	MinSSOTokenSize = 16
	MaxSSOTokenSize = 4096
)

// ProfileVerifier verifies opaque WorkOS SSO access tokens (the access_token of
// POST /sso/token) with GET {APIBaseURL}/sso/profile, the token as bearer token. It is
// safe for concurrent use and caches nothing: wrap it with mcpauth.CachedOpaque.
type ProfileVerifier struct{ s *settings }

var _ mcpauth.TokenVerifier = (*ProfileVerifier)(nil)
var _ mcpauth.CachePolicy = (*ProfileVerifier)(nil)

// NewProfileVerifier returns a ProfileVerifier. It checks the fields of cfg that are set
// (see Config.Validate) but needs none: the call is authenticated by the access token
// itself (the API key is not sent).
func NewProfileVerifier(cfg Config) (*ProfileVerifier, error) {
	s, err := cfg.prepare(false, "")
	if err != nil {
		return nil, err
	}
	return &ProfileVerifier{s: s}, nil
}

// CacheOptions implements mcpauth.CachePolicy: each verification is a call to WorkOS,
// so mcpauth.Cached (and so the hub) applies mcpauth.OpaqueCachePolicy unasked.
func (v *ProfileVerifier) CacheOptions() []mcpauth.CacheOption { return mcpauth.OpaqueCachePolicy() }

// VerifyToken asks WorkOS for the token's Profile, after a format prefilter (16 to 4096
// RFC 6750 b64token characters) that refuses anything else as invalid_token without a
// call. The AccessToken has Subject = the profile "id" ("prof_..."), TenantID =
// "organization_id", Issuer = the API base URL, Provider = "workos", Claims = the whole
// Profile (email, first_name, last_name, idp_id, connection_id, connection_type, role,
// roles, groups, custom_attributes, raw_attributes...), Scopes = the grants of Scopes,
// OrganizationScopes[organization_id] and the RoleScopes of role.slug and roles[].slug,
// and ExpiresAt the token's own "exp" when it is a JWT (read only after WorkOS accepted
// it), zero otherwise. The package documentation lists the errors.
func (v *ProfileVerifier) VerifyToken(ctx context.Context, token string) (*mcpauth.AccessToken, error) {
	if len(token) < MinSSOTokenSize || len(token) > MaxSSOTokenSize || !tokenformat.IsB64Token(token) {
		return nil, mcpauth.InvalidToken("malformed token: not a WorkOS access token", nil)
	}
	resp, err := v.s.get(ctx, v.s.apiBase+"/sso/profile", token)
	if err != nil {
		return nil, err
	}
	switch resp.Status {
	case http.StatusOK:
	case http.StatusUnauthorized:
		return nil, mcpauth.InvalidToken("the WorkOS access token is invalid or expired", nil)
	default:
		if err := v.s.client.Check(resp, nil); err != nil {
			return nil, err
		}
		return nil, mcpauth.UpstreamUnavailable("WorkOS could not check the token; try again later", v.s.client.RetryAfter(resp.Header), fmt.Errorf("%s: HTTP %d", resp.Call, resp.Status))
	}

	var claims map[string]any
	err = json.Unmarshal(resp.Body, &claims)
	id, org, roles, ok := readProfile(claims)
	if err != nil || !ok {
		return nil, mcpauth.UpstreamUnavailable("WorkOS returned an unexpected answer", 0, fmt.Errorf("%s: the response is not a JSON Profile object", resp.Call))
	}
	if err := v.s.checkOrganization(org); err != nil {
		return nil, err
	}
	return &mcpauth.AccessToken{
		Subject:   id,
		Issuer:    v.s.apiBase,
		TenantID:  org,
		Scopes:    v.s.scopesFor(nil, org, roles),
		ExpiresAt: jwtExpiry(token),
		Claims:    claims,
		Provider:  ProviderName,
	}, nil
}

// readProfile reads the attributes the verifier relies on from a decoded Profile: a
// non-empty string "id", "object" equal to "profile" when present, a string (or null)
// "organization_id". The role slugs ("role": {"slug"}, "roles": [{"slug"}]) are read
// leniently: a shape WorkOS did not document grants no role rather than failing.
func readProfile(claims map[string]any) (id, org string, roles []string, ok bool) {
	id, _ = claims["id"].(string)
	org, isString := claims["organization_id"].(string)
	obj, hasObject := claims["object"]
	if id == "" || (hasObject && obj != "profile") || (!isString && claims["organization_id"] != nil) {
		return "", "", nil, false
	}
	list, _ := claims["roles"].([]any)
	for _, r := range append([]any{claims["role"]}, list...) {
		if m, ok := r.(map[string]any); ok {
			if s, ok := m["slug"].(string); ok && s != "" {
				roles = append(roles, s)
			}
		}
	}
	return id, org, roles, true
}

// jwtExpiry returns the "exp" of a token that is a JWT, or zero. The signature is not
// checked: it is called only once WorkOS accepted the token, so the claims are the
// ones WorkOS issued, and the value only shortens how long the token is trusted.
func jwtExpiry(token string) time.Time {
	var claims jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &claims); err != nil {
		return time.Time{}
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil || exp.Unix() <= 0 || exp.Unix() > 1<<40 {
		return time.Time{}
	}
	return exp.Time
}

// UserManagementEndpoint is the OAuth 2.0 endpoint of WorkOS User Management (AuthKit
// as an identity provider behind an application of its own): GET
// {apiBase}/user_management/authorize and POST {apiBase}/user_management/authenticate
// (apiBase "" means https://api.workos.com). The token endpoint takes the client ID and
// the API key (as client_secret) in the form (oauth2.AuthStyleInParams) and answers with
// the access and refresh tokens and the "user" object (oauth2.Token.Extra("user")); the
// access token is a JWT signed with the keys of {apiBase}/sso/jwks/{clientID}.
func UserManagementEndpoint(apiBase string) oauth2.Endpoint {
	return endpoint(apiBase, "/user_management/authorize", "/user_management/authenticate")
}

// SSOEndpoint is the OAuth 2.0 endpoint of WorkOS SSO (enterprise SAML/OIDC
// connections): GET {apiBase}/sso/authorize and POST {apiBase}/sso/token (apiBase ""
// means https://api.workos.com). The token endpoint takes the client ID and the API key
// (as client_secret) in the form (oauth2.AuthStyleInParams) and answers with an access
// token, to verify with NewProfileVerifier, and the user's Profile
// (oauth2.Token.Extra("profile")).
func SSOEndpoint(apiBase string) oauth2.Endpoint {
	return endpoint(apiBase, "/sso/authorize", "/sso/token")
}

func endpoint(base, authPath, tokenPath string) oauth2.Endpoint {
	b := apiBase(base)
	return oauth2.Endpoint{AuthURL: b + authPath, TokenURL: b + tokenPath, AuthStyle: oauth2.AuthStyleInParams}
}
