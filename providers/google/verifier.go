package google

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/tokenformat"
	"github.com/mcpauth/mcpauth/providers/bearer"
	"github.com/mcpauth/mcpauth/scopes"
)

// Verifier verifies Google access tokens (through the tokeninfo endpoint) and Google ID
// tokens (signature checked against Google's JWKS), applies the configured rules and
// computes the granted scopes. It implements mcpauth.TokenVerifier and is safe for
// concurrent use. It caches nothing: wrap it with mcpauth.CachedOpaque.
type Verifier struct {
	s     *settings
	idCfg bearer.Config

	mu     sync.Mutex       // guards id and closed
	id     *bearer.Verifier // created on the first ID token
	closed bool
}

var _ mcpauth.TokenVerifier = (*Verifier)(nil)
var _ mcpauth.CachePolicy = (*Verifier)(nil)

// New validates cfg (see Config.Validate) and returns a Verifier. New makes no network
// call: the ID-token key set is fetched when the first ID token arrives.
func New(cfg Config) (*Verifier, error) {
	s, err := cfg.prepare()
	if err != nil {
		return nil, err
	}
	idCfg := bearer.Config{
		Keys:         bearer.JWKS{URI: s.jwksURI, HTTPClient: s.client.HTTP, HTTPTimeout: s.timeout},
		Issuers:      Issuers(),
		Audience:     slices.Clone(s.clientIDs),
		Algorithms:   []string{"RS256"},
		TenantClaim:  "hd",
		MaxTokenSize: MaxTokenSize,
		Leeway:       s.leeway,
		Now:          s.now,
		ProviderName: ProviderName,
		Logger:       s.logger,
		// verifyIDToken refuses an ID token without "sub" itself, with a description
		// that names Google.
		AllowMissingSubject: true,
	}
	if err := idCfg.Validate(); err != nil {
		return nil, fmt.Errorf("google: the ID-token verifier configuration is invalid: %w", err)
	}
	return &Verifier{s: s, idCfg: idCfg}, nil
}

// Close stops the background refresh of the ID-token key set, if one was started.
// ID tokens are refused afterwards (access tokens keep working). Close is idempotent
// and always returns nil.
func (v *Verifier) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.closed = true
	if v.id != nil {
		_ = v.id.Close()
	}
	return nil
}

// CacheOptions implements mcpauth.CachePolicy: the options for opaque tokens
// (mcpauth.OpaqueCachePolicy), since access tokens are checked with a tokeninfo call.
// mcpauth.Cached (and so the hub) applies them without being asked.
func (v *Verifier) CacheOptions() []mcpauth.CacheOption { return mcpauth.OpaqueCachePolicy() }

// VerifyToken verifies a Google ID token (a JWT, locally) or access token (with
// tokeninfo) and returns the account as an AccessToken. Failures are *mcpauth.Error
// values, as the package documentation describes.
func (v *Verifier) VerifyToken(ctx context.Context, token string) (*mcpauth.AccessToken, error) {
	// The prefilter: tokens that cannot be Google's are refused without a network call.
	switch {
	case token == "":
		return nil, mcpauth.InvalidToken("token is empty", nil)
	case len(token) > MaxTokenSize:
		return nil, mcpauth.InvalidToken("token is too large", nil)
	case strings.ContainsFunc(token, func(r rune) bool { return r <= ' ' || r >= 0x7f }):
		return nil, mcpauth.InvalidToken("malformed token: it contains spaces or control characters", nil)
	case strings.HasPrefix(token, "eyJ") && strings.Count(token, ".") == 2:
		return v.verifyIDToken(ctx, token)
	case v.s.anyTokenFormat:
		return v.verifyAccessToken(ctx, token)
	case !strings.HasPrefix(token, "ya29.") || token == "ya29.":
		return nil, mcpauth.InvalidToken("token is neither a Google access token nor a Google ID token", nil)
	case !tokenformat.IsB64Token(token):
		return nil, mcpauth.InvalidToken("malformed token: it contains characters not allowed in a bearer token", nil)
	}
	return v.verifyAccessToken(ctx, token)
}

func (v *Verifier) idVerifier() (*bearer.Verifier, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil, mcpauth.UpstreamUnavailable("the Google ID-token verifier is closed", 0, nil)
	}
	if v.id == nil {
		// bearer.New fetches the key set once (bounded by HTTPTimeout); a failure there is
		// not fatal: tokens get temporarily_unavailable until a fetch works.
		id, err := bearer.New(v.idCfg)
		if err != nil {
			return nil, mcpauth.UpstreamUnavailable("the Google ID-token verifier could not be created", 0, err)
		}
		v.id = id
	}
	return v.id, nil
}

func (v *Verifier) verifyIDToken(ctx context.Context, token string) (*mcpauth.AccessToken, error) {
	idv, err := v.idVerifier()
	if err != nil {
		return nil, err
	}
	tok, err := idv.VerifyToken(ctx, token)
	if err != nil {
		return nil, err
	}
	if tok.Subject == "" {
		return nil, mcpauth.InvalidToken("the ID token does not identify a Google account (no sub claim)", nil)
	}
	email, _ := tok.Claims["email"].(string)
	hd := strings.ToLower(tok.TenantID) // bearer read the "hd" claim as the tenant
	tok.Scopes, tok.TenantID, err = v.s.admit(identity{email: email, verified: emailVerified(tok.Claims), hd: hd})
	if err != nil {
		return nil, err
	}
	tok.Claims["google_token_type"] = "id_token"
	return tok, nil
}

func (v *Verifier) verifyAccessToken(ctx context.Context, token string) (*mcpauth.AccessToken, error) {
	info, err := v.tokenInfo(ctx, token)
	if err != nil {
		return nil, err
	}
	// tokeninfo's values are strings: another type is not its answer.
	var notString error
	str := func(name string) string {
		s, ok := info[name].(string)
		if !ok && info[name] != nil {
			notString = fmt.Errorf("tokeninfo field %q is a %T, not a string", name, info[name])
		}
		return s
	}
	aud, azp, sub, email, scope := str("aud"), str("azp"), str("sub"), str("email"), str("scope")
	exp, err := strconv.ParseInt(strings.TrimSpace(str("exp")), 10, 64)
	expiresAt := time.Unix(exp, 0).Add(v.s.leeway)
	switch {
	case notString != nil:
		return nil, unexpected(notString)
	case !slices.Contains(v.s.clientIDs, aud) && !slices.Contains(v.s.clientIDs, azp):
		return nil, mcpauth.InvalidToken("the token was not issued to this application", nil)
	case err != nil || exp <= 0:
		return nil, unexpected(errors.New(`tokeninfo answer has no valid "exp"`))
	case !v.s.now().Before(expiresAt):
		return nil, mcpauth.InvalidToken("token is expired", nil)
	case sub == "":
		return nil, mcpauth.InvalidToken("the token does not identify a Google account (request the openid scope)", nil)
	}
	scopes, tenant, err := v.s.admit(identity{email: email, verified: emailVerified(info), accessToken: true})
	if err != nil {
		return nil, err
	}

	info["google_scopes"] = strings.Fields(scope)
	info["google_token_type"] = "access_token"
	tok := &mcpauth.AccessToken{
		Subject:   sub,
		ClientID:  cmp.Or(azp, aud),
		Issuer:    issuer,
		TenantID:  tenant,
		Scopes:    scopes,
		ExpiresAt: expiresAt,
		Claims:    info,
		Provider:  ProviderName,
	}
	if aud != "" {
		tok.Audience = []string{aud}
	}
	return tok, nil
}

// tokenInfo asks Google about an access token and returns the decoded answer, or the
// mapped error. The token travels in the POST body, never in the URL.
func (v *Verifier) tokenInfo(ctx context.Context, token string) (map[string]any, error) {
	form := url.Values{"access_token": {token}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.s.tokenInfoURL, strings.NewReader(form))
	if err != nil {
		return nil, mcpauth.UpstreamUnavailable("the Google token check could not be sent", 0, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "mcpauth-google")

	resp, err := v.s.client.Do(req, token)
	if err != nil {
		return nil, err
	}
	cause := fmt.Errorf("tokeninfo: HTTP %d", resp.Status)
	switch resp.Status {
	case http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized:
	case http.StatusForbidden:
		// Google's quota errors are 403 rateLimitExceeded / userRateLimitExceeded.
		return nil, mcpauth.UpstreamUnavailable("Google is rate limiting requests; try again later", v.s.client.RetryAfter(resp.Header), cause)
	default:
		if err := v.s.client.Check(resp, cause); err != nil {
			return nil, err
		}
		return nil, unexpected(cause)
	}

	// Google answers 400 {"error":"invalid_token","error_description":"Invalid Value"}
	// (or only the error_description) for invalid, expired and revoked tokens. A body
	// that is not a JSON object did not come from tokeninfo.
	var info map[string]any
	if err := json.Unmarshal(resp.Body, &info); err != nil || info == nil {
		return nil, unexpected(fmt.Errorf("%w, with a body that is not a JSON object: %v", cause, err))
	}
	e, isError := info["error"]
	desc, hasDesc := info["error_description"]
	switch {
	case resp.Status == http.StatusOK && !(isError && info["aud"] == nil && info["azp"] == nil):
		return info, nil
	case !isError && !hasDesc:
		return nil, unexpected(fmt.Errorf("%w, without a JSON error", cause))
	}
	return nil, mcpauth.InvalidToken("the Google access token is invalid or expired", fmt.Errorf("%w: %v: %.200v", cause, e, desc))
}

// unexpected is the error for an answer tokeninfo would not give.
func unexpected(cause error) error {
	return mcpauth.UpstreamUnavailable("Google gave an unexpected answer to the token check", 0, cause)
}

// emailVerified reads "email_verified", a JSON boolean in ID tokens and "true" or
// "false" in tokeninfo answers, and normalises it in claims to a boolean. Anything else
// is false.
func emailVerified(claims map[string]any) bool {
	x, ok := claims["email_verified"]
	s, _ := x.(string)
	verified := x == true || strings.EqualFold(s, "true")
	if ok {
		claims["email_verified"] = verified
	}
	return verified
}

// identity is what the rules look at.
type identity struct {
	email       string
	verified    bool
	hd          string // the "hd" claim of an ID token, lower case; "" when absent
	accessToken bool   // the tokeninfo path, which has no "hd"
}

// Descriptions of refusals by rules (access_denied).
const (
	descNotInDomain    = "the Google account does not belong to an allowed Workspace domain"
	descStrictDomain   = "a Google ID token is needed to prove membership of an allowed Workspace domain"
	descUnverified     = "the Google account's e-mail address is not verified"
	descNoEmail        = "the token does not carry the account's e-mail address (request the email scope)"
	descEmailNotListed = "this Google account is not allowed here"
)

// admit applies the rules to a verified identity and returns the granted scopes and
// the tenant.
func (s *settings) admit(id identity) ([]string, string, error) {
	email := strings.ToLower(strings.TrimSpace(id.email))
	emailDomain := ""
	if at := strings.LastIndexByte(email, '@'); at > 0 && id.verified {
		emailDomain = email[at+1:]
	}
	// The account's hosted domain: the hd claim, or for access tokens (tokeninfo has
	// no hd) the domain of the verified e-mail address.
	domain := id.hd
	if domain == "" && id.accessToken && !s.strictHD {
		domain = emailDomain
	}
	tenant := id.hd

	if len(s.hostedDomains) > 0 {
		switch {
		case domain != "" && slices.Contains(s.hostedDomains, domain):
			tenant = cmp.Or(tenant, domain)
		case id.accessToken && s.strictHD:
			return nil, "", mcpauth.AccessDenied(descStrictDomain)
		case id.accessToken && email == "":
			return nil, "", mcpauth.AccessDenied(descNoEmail)
		case id.accessToken && !id.verified:
			return nil, "", mcpauth.AccessDenied(descUnverified)
		default:
			return nil, "", mcpauth.AccessDenied(descNotInDomain)
		}
	}

	if len(s.emails) > 0 || len(s.emailDomains) > 0 {
		switch {
		case email == "":
			return nil, "", mcpauth.AccessDenied(descNoEmail)
		case !id.verified:
			return nil, "", mcpauth.AccessDenied(descUnverified)
		case !slices.Contains(s.emails, email) && !slices.Contains(s.emailDomains, emailDomain):
			return nil, "", mcpauth.AccessDenied(descEmailNotListed)
		}
	}

	// Validation keeps "" out of domainScopes: an unknown domain grants nothing.
	return scopes.RoleMap(s.domainScopes).Expand(s.scopes, []string{domain, emailDomain}), tenant, nil
}
