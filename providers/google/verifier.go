package google

import (
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
	"sync/atomic"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/providers/bearer"
)

// Verifier verifies Google access tokens (through the tokeninfo endpoint) and Google ID
// tokens (signature checked against Google's JWKS), applies the configured rules and
// computes the granted scopes. It implements mcpauth.TokenVerifier and is safe for
// concurrent use. It caches nothing: wrap it with mcpauth.CachedOpaque.
type Verifier struct {
	s     *settings
	idCfg bearer.Config

	id     atomic.Pointer[bearer.Verifier] // created on the first ID token
	mu     sync.Mutex                      // guards the creation of id, and closed
	closed bool
}

var _ mcpauth.TokenVerifier = (*Verifier)(nil)

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
	if id := v.id.Load(); id != nil {
		_ = id.Close()
	}
	return nil
}

// tokenKind is the result of the format prefilter.
type tokenKind int

const (
	kindRefused tokenKind = iota
	kindAccess            // sent to tokeninfo
	kindID                // a JWT: verified as a Google ID token
)

// b64token marks the bytes of RFC 6750's b64token: ALPHA DIGIT - . _ ~ + / =.
var b64token = func() (t [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=" {
		t[c] = true
	}
	return t
}()

// classify decides, without any network call, which path a token takes, or refuses it
// with a client-safe description.
func classify(token string, anyFormat bool) (tokenKind, string) {
	switch {
	case token == "":
		return kindRefused, "token is empty"
	case len(token) > MaxTokenSize:
		return kindRefused, "token is too large"
	}
	for i := 0; i < len(token); i++ {
		if c := token[i]; c <= ' ' || c >= 0x7f {
			return kindRefused, "malformed token: it contains spaces or control characters"
		}
	}
	if strings.HasPrefix(token, "eyJ") && strings.Count(token, ".") == 2 {
		return kindID, ""
	}
	if anyFormat {
		return kindAccess, ""
	}
	if !strings.HasPrefix(token, "ya29.") || len(token) == len("ya29.") {
		return kindRefused, "token is neither a Google access token nor a Google ID token"
	}
	for i := 0; i < len(token); i++ {
		if !b64token[token[i]] {
			return kindRefused, "malformed token: it contains characters not allowed in a bearer token"
		}
	}
	return kindAccess, ""
}

// CacheOptions implements mcpauth.CachePolicy: the options for opaque tokens
// (mcpauth.OpaqueCachePolicy), since access tokens are checked with a tokeninfo call. mcpauth.Cached (and so
// the hub) applies them without being asked.
func (v *Verifier) CacheOptions() []mcpauth.CacheOption { return mcpauth.OpaqueCachePolicy() }

var _ mcpauth.CachePolicy = (*Verifier)(nil)

// VerifyToken verifies a Google access token or ID token and returns the account as an
// AccessToken. Tokens shaped like a JWT ("eyJ…" with three segments) are verified
// locally as ID tokens; others are sent to Google's tokeninfo endpoint, unless the
// prefilter refuses them first (see Config.AnyTokenFormat).
//
// Failures are *mcpauth.Error values: invalid_token (401) when Google says the token is
// invalid or expired, when it was issued to another client or has expired by the local
// clock; access_denied (403) when a rule refuses a valid account; temporarily_unavailable
// (503, with RetryAfter when Google sent Retry-After) when Google could not answer:
// rate limits (403, 429), server errors, timeouts, unreachable hosts, unexpected answers.
func (v *Verifier) VerifyToken(ctx context.Context, token string) (*mcpauth.AccessToken, error) {
	kind, desc := classify(token, v.s.anyTokenFormat)
	switch kind {
	case kindID:
		return v.verifyIDToken(ctx, token)
	case kindAccess:
		return v.verifyAccessToken(ctx, token)
	default:
		return nil, mcpauth.InvalidToken(desc, nil)
	}
}

// ---- ID tokens ----

func (v *Verifier) idVerifier() (*bearer.Verifier, error) {
	if id := v.id.Load(); id != nil {
		return id, nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil, mcpauth.UpstreamUnavailable("the Google ID-token verifier is closed", 0, nil)
	}
	if id := v.id.Load(); id != nil {
		return id, nil
	}
	// bearer.New fetches the key set once (bounded by HTTPTimeout); a failure there is
	// not fatal, tokens are then answered with temporarily_unavailable until it works.
	id, err := bearer.New(v.idCfg)
	if err != nil {
		return nil, mcpauth.UpstreamUnavailable("the Google ID-token verifier could not be created", 0, err)
	}
	v.id.Store(id)
	return id, nil
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
	verified := truthy(tok.Claims["email_verified"])
	if _, ok := tok.Claims["email_verified"]; ok {
		tok.Claims["email_verified"] = verified
	}
	hd := strings.ToLower(tok.TenantID) // bearer read the "hd" claim as the tenant
	scopes, tenant, err := v.s.admit(identity{email: email, verified: verified, hd: hd})
	if err != nil {
		return nil, err
	}
	tok.TenantID = tenant
	tok.Scopes = scopes
	tok.Claims["google_token_type"] = "id_token"
	return tok, nil
}

// ---- access tokens ----

func (v *Verifier) verifyAccessToken(ctx context.Context, token string) (*mcpauth.AccessToken, error) {
	info, err := v.tokenInfo(ctx, token)
	if err != nil {
		return nil, err
	}
	str := func(name string) (string, error) {
		switch x := info[name].(type) {
		case nil:
			return "", nil
		case string:
			return x, nil
		default:
			return "", unexpected(fmt.Errorf("tokeninfo field %q is a %T, not a string", name, x))
		}
	}
	aud, err := str("aud")
	if err != nil {
		return nil, err
	}
	azp, err := str("azp")
	if err != nil {
		return nil, err
	}
	if !slices.Contains(v.s.clientIDs, aud) && !slices.Contains(v.s.clientIDs, azp) {
		return nil, mcpauth.InvalidToken("the token was not issued to this application", nil)
	}

	exp, ok := seconds(info["exp"])
	if !ok {
		return nil, unexpected(errors.New(`tokeninfo answer has no valid "exp"`))
	}
	now := v.s.now()
	expiresAt := exp.Add(v.s.leeway)
	if !now.Before(expiresAt) {
		return nil, mcpauth.InvalidToken("token is expired", nil)
	}

	sub, err := str("sub")
	if err != nil {
		return nil, err
	}
	if sub == "" {
		return nil, mcpauth.InvalidToken("the token does not identify a Google account (request the openid scope)", nil)
	}
	email, err := str("email")
	if err != nil {
		return nil, err
	}
	scope, err := str("scope")
	if err != nil {
		return nil, err
	}
	verified := truthy(info["email_verified"])
	if _, ok := info["email_verified"]; ok {
		info["email_verified"] = verified
	}
	scopes, tenant, err := v.s.admit(identity{email: email, verified: verified, accessToken: true})
	if err != nil {
		return nil, err
	}

	info["google_scopes"] = strings.Fields(scope)
	info["google_token_type"] = "access_token"
	tok := &mcpauth.AccessToken{
		Subject:   sub,
		ClientID:  azp,
		Issuer:    issuer,
		TenantID:  tenant,
		Scopes:    scopes,
		ExpiresAt: expiresAt,
		Claims:    info,
		Provider:  ProviderName,
	}
	if tok.ClientID == "" {
		tok.ClientID = aud
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
	body := resp.Body
	switch code := resp.Status; {
	case code == http.StatusOK:
		var info map[string]any
		if err := json.Unmarshal(body, &info); err != nil || info == nil {
			return nil, unexpected(fmt.Errorf("tokeninfo answered HTTP 200 with a body that is not a JSON object: %v", err))
		}
		if e, ok := info["error"]; ok && info["aud"] == nil && info["azp"] == nil {
			return nil, mcpauth.InvalidToken("the Google access token is invalid or expired", fmt.Errorf("tokeninfo: %v", e))
		}
		return info, nil
	case code == http.StatusBadRequest || code == http.StatusUnauthorized:
		// Google answers 400 {"error":"invalid_token","error_description":"Invalid
		// Value"} (or only the error_description) for invalid, expired and revoked
		// tokens. A body that is not a JSON object did not come from tokeninfo.
		var e struct {
			Error       any    `json:"error"`
			Description string `json:"error_description"`
		}
		if err := json.Unmarshal(body, &e); err != nil || (e.Error == nil && e.Description == "") {
			return nil, unexpected(fmt.Errorf("tokeninfo answered HTTP %d without a JSON error", code))
		}
		return nil, mcpauth.InvalidToken("the Google access token is invalid or expired",
			fmt.Errorf("tokeninfo: HTTP %d: %v: %s", code, e.Error, truncate(e.Description, 200)))
	case code == http.StatusForbidden:
		// Google's quota errors are 403 rateLimitExceeded / userRateLimitExceeded.
		return nil, mcpauth.UpstreamUnavailable("Google is rate limiting requests; try again later",
			v.s.client.RetryAfter(resp.Header), fmt.Errorf("tokeninfo: HTTP %d", code))
	}
	if err := v.s.client.Check(resp, fmt.Errorf("tokeninfo: HTTP %d", resp.Status)); err != nil {
		return nil, err
	}
	return nil, unexpected(fmt.Errorf("tokeninfo: HTTP %d", resp.Status))
}

// unexpected is the error for an answer tokeninfo would not give.
func unexpected(cause error) error {
	return mcpauth.UpstreamUnavailable("Google gave an unexpected answer to the token check", 0, cause)
}

// seconds reads a NumericDate given as a decimal string (tokeninfo) or a number.
func seconds(v any) (time.Time, bool) {
	switch x := v.(type) {
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil || n <= 0 {
			return time.Time{}, false
		}
		return time.Unix(n, 0), true
	case float64:
		if x <= 0 || x > 1<<53 {
			return time.Time{}, false
		}
		return time.Unix(int64(x), 0), true
	}
	return time.Time{}, false
}

// truthy reads a boolean given as a JSON boolean (ID tokens) or as "true"/"false"
// (tokeninfo). Anything else is false.
func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return strings.EqualFold(x, "true")
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// ---- rules ----

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
			if tenant == "" {
				tenant = domain
			}
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

	granted := slices.Clone(s.scopes)
	grant := func(d string) {
		if d == "" {
			return
		}
		for _, sc := range s.domainScopes[d] {
			if !slices.Contains(granted, sc) {
				granted = append(granted, sc)
			}
		}
	}
	grant(domain)
	grant(emailDomain)
	return granted, tenant, nil
}
