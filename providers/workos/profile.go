package workos

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/mcpauth/mcpauth"
)

// Limits of the format prefilter applied before any call to WorkOS.
const (
	// MinSSOTokenSize is the shortest SSO access token sent to WorkOS, in bytes.
	MinSSOTokenSize = 16
	// MaxSSOTokenSize is the longest SSO access token sent to WorkOS, in bytes.
	MaxSSOTokenSize = 4096
)

// ProfileVerifier verifies opaque WorkOS SSO access tokens (the access_token of
// POST /sso/token) by asking WorkOS for the user's Profile:
// GET {APIBaseURL}/sso/profile with "Authorization: Bearer <access token>". It
// implements mcpauth.TokenVerifier, is safe for concurrent use and caches nothing: wrap
// it with mcpauth.CachedOpaque.
type ProfileVerifier struct {
	s   *settings
	url string
}

var _ mcpauth.TokenVerifier = (*ProfileVerifier)(nil)

// NewProfileVerifier returns a ProfileVerifier. It checks the fields of cfg that are set
// (see Config.Validate) but needs none of them: the default API base URL is
// https://api.workos.com, and the call is authenticated by the access token itself (the
// API key is not sent).
func NewProfileVerifier(cfg Config) (*ProfileVerifier, error) {
	if errs := cfg.check(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	s := cfg.settings()
	return &ProfileVerifier{s: s, url: s.apiBase + "/sso/profile"}, nil
}

// readProfile reads the attributes the verifier relies on from a decoded Profile: a
// non-empty string "id", "object" equal to "profile" when present, a string (or null)
// "organization_id". The role slugs ("role": {"slug"}, "roles": [{"slug"}]) are read
// leniently: a shape WorkOS did not document grants no role rather than failing.
func readProfile(claims map[string]any) (id, org string, roles []string, ok bool) {
	id, _ = claims["id"].(string)
	if id == "" {
		return "", "", nil, false
	}
	if obj, present := claims["object"]; present && obj != "profile" {
		return "", "", nil, false
	}
	switch o := claims["organization_id"].(type) {
	case nil:
	case string:
		org = o
	default:
		return "", "", nil, false
	}
	slug := func(v any) {
		if m, ok := v.(map[string]any); ok {
			if s, ok := m["slug"].(string); ok && s != "" {
				roles = append(roles, s)
			}
		}
	}
	slug(claims["role"])
	if list, ok := claims["roles"].([]any); ok {
		for _, r := range list {
			slug(r)
		}
	}
	return id, org, roles, true
}

// CacheOptions implements mcpauth.CachePolicy: the options for opaque tokens
// (mcpauth.OpaqueCachePolicy), since each verification is a call to the SSO profile endpoint. mcpauth.Cached (and so
// the hub) applies them without being asked.
func (v *ProfileVerifier) CacheOptions() []mcpauth.CacheOption { return mcpauth.OpaqueCachePolicy() }

var _ mcpauth.CachePolicy = (*ProfileVerifier)(nil)

// VerifyToken asks WorkOS for the token's Profile.
//
// Results: 200 with a Profile → an AccessToken with Subject = the profile "id"
// ("prof_..."), TenantID = "organization_id", Issuer = the API base URL, Provider =
// "workos", Claims = every attribute of the Profile (email, first_name, last_name, idp_id,
// connection_id, connection_type, role, roles, groups, custom_attributes,
// raw_attributes...), Scopes = the configured grants (Scopes,
// OrganizationScopes[organization_id], RoleScopes of role.slug and roles[].slug; WorkOS
// SSO tokens carry no MCP scopes), and ExpiresAt from the token's own "exp" when the
// token is a JWT (read only after WorkOS accepted it), zero otherwise.
//
// Errors: a token failing the format prefilter (length 16 to 4096, RFC 6750 b64token
// characters) → invalid_token without any call; WorkOS 401 → invalid_token; 403, 429,
// 5xx, any other status, a redirect, a timeout, a connection failure or a body that is
// not a Profile → temporarily_unavailable (503) with RetryAfter from Retry-After or
// X-RateLimit-Reset; an organization outside AllowedOrganizations → access_denied (403).
func (v *ProfileVerifier) VerifyToken(ctx context.Context, token string) (*mcpauth.AccessToken, error) {
	if err := prefilter(token); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.url, nil)
	if err != nil {
		return nil, mcpauth.UpstreamUnavailable("", 0, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := v.s.client.Do(req, token)
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
		return nil, mcpauth.UpstreamUnavailable("WorkOS could not check the token; try again later", v.s.client.RetryAfter(resp.Header), fmt.Errorf("GET /sso/profile: HTTP %d", resp.Status))
	}

	body := resp.Body
	var claims map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&claims); err != nil || claims == nil || dec.More() {
		return nil, mcpauth.UpstreamUnavailable("WorkOS returned an unexpected answer", 0, errors.New("GET /sso/profile: the response is not a JSON object"))
	}
	id, org, roles, ok := readProfile(claims)
	if !ok {
		return nil, mcpauth.UpstreamUnavailable("WorkOS returned an unexpected answer", 0, errors.New("GET /sso/profile: the response is not a Profile"))
	}
	if err := v.s.grants.checkOrganization(org); err != nil {
		return nil, err
	}
	return &mcpauth.AccessToken{
		Subject:   id,
		Issuer:    v.s.apiBase,
		TenantID:  org,
		Scopes:    v.s.grants.scopesFor(nil, org, roles),
		ExpiresAt: jwtExpiry(token),
		Claims:    claims,
		Provider:  ProviderName,
	}, nil
}

// b64token marks the characters RFC 6750 allows in a bearer token.
var b64token = func() (t [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=" {
		t[c] = true
	}
	return t
}()

// prefilter refuses, without asking WorkOS, what cannot be a WorkOS access token.
func prefilter(token string) error {
	if len(token) < MinSSOTokenSize || len(token) > MaxSSOTokenSize {
		return mcpauth.InvalidToken("malformed token: not a WorkOS access token", nil)
	}
	for i := 0; i < len(token); i++ {
		if !b64token[token[i]] {
			return mcpauth.InvalidToken("malformed token: not a WorkOS access token", nil)
		}
	}
	return nil
}

// jwtExpiry returns the "exp" of a token that is a JWT, or zero. The signature is not
// checked: it is called only once WorkOS accepted the token, so the claims are the
// ones WorkOS issued, and the value only shortens how long the token is trusted.
func jwtExpiry(token string) time.Time {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}
	}
	var c struct {
		Exp *float64 `json:"exp"`
	}
	if json.Unmarshal(payload, &c) != nil || c.Exp == nil || math.IsNaN(*c.Exp) || *c.Exp <= 0 || *c.Exp > 1<<40 {
		return time.Time{}
	}
	sec, frac := math.Modf(*c.Exp)
	return time.Unix(int64(sec), int64(frac*1e9))
}
