package workos

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/upstream"
	"github.com/mcpauth/mcpauth/providers/bearer"
)

// Verifier verifies the JWT access tokens of WorkOS AuthKit, the MCP server's
// authorization server. It is safe for concurrent use. Create it with New or NewFactory;
// Close it to stop the background refresh of AuthKit's key set.
type Verifier struct {
	jwt *bearer.Verifier
	s   *settings
}

// bearerConfig is the providers/bearer configuration trusting the AuthKit domain.
func (s *settings) bearerConfig() bearer.Config {
	return bearer.Config{
		Keys:     bearer.JWKS{URI: s.issuer + "/oauth2/jwks", HTTPClient: s.client.HTTP, HTTPTimeout: s.HTTPTimeout},
		Issuers:  []string{s.issuer},
		Audience: s.Audience,
		// AuthKit signs its access tokens with RS256 (its metadata lists RS256 only).
		Algorithms:   []string{"RS256"},
		Leeway:       s.Leeway,
		ScopeClaims:  []string{"permissions"},
		RolesClaim:   "roles",
		TenantClaim:  "org_id",
		Now:          s.Now,
		Logger:       s.Logger,
		ProviderName: ProviderName,
	}
}

// New returns a Verifier of AuthKit access tokens for the fixed audience cfg.Audience
// (required; NewFactory takes each service's resource URI instead). As providers/bearer
// does, it fetches the key set once before returning (bounded by HTTPTimeout; a failure
// is not fatal: tokens get temporarily_unavailable until a fetch succeeds), then hourly
// and when a token names an unknown key.
func New(cfg Config) (*Verifier, error) {
	s, err := cfg.prepareAuthKit()
	if err != nil {
		return nil, err
	}
	if len(cfg.Audience) == 0 {
		return nil, fmt.Errorf("workos: Config.Audience is empty: set it to the MCP server's resource URI (%s), or use NewFactory, which takes each service's resource URI", cfg.env("AUDIENCE"))
	}
	v, err := bearer.New(s.bearerConfig())
	if err != nil {
		return nil, fmt.Errorf("workos: %w", err)
	}
	return &Verifier{jwt: v, s: s}, nil
}

// NewFactory returns an mcpauth.VerifierFactory of AuthKit verifiers sharing one key
// source (Close on any of them stops it for all). factory(resource) accepts the audience
// cfg.Audience when set, else the resource URI (AuthKit puts the resource indicator the
// client asked for in "aud"), so a token minted for one service is refused by another.
func NewFactory(cfg Config) (mcpauth.VerifierFactory, error) {
	s, err := cfg.prepareAuthKit()
	if err != nil {
		return nil, err
	}
	f, err := bearer.NewFactory(s.bearerConfig())
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

// VerifyToken verifies an AuthKit access token with providers/bearer (an RS256 JWT
// signed by a key of the AuthKit JWKS, "iss" the AuthKit domain, "aud" this resource,
// within its validity period), then refuses a token outside Config.AllowedOrganizations
// with access_denied (403). The AccessToken has Subject = "sub" (the WorkOS user ID,
// "user_..."), TenantID = "org_id", ClientID = "client_id" or "azp", Provider = "workos",
// every claim in Claims ("sid", "role", "roles", "permissions", ...), and Scopes = the
// token's "scope", "scp" and "permissions" values, then the grants of Scopes,
// OrganizationScopes[org_id] and the RoleScopes of "role" and "roles".
func (v *Verifier) VerifyToken(ctx context.Context, token string) (*mcpauth.AccessToken, error) {
	tok, err := v.jwt.VerifyToken(ctx, token)
	if err != nil {
		return nil, err
	}
	if err := v.s.checkOrganization(tok.TenantID); err != nil {
		return nil, err
	}
	// The role slugs: "role", a string, and "roles", whose type the bearer verifier checked.
	var roles []string
	if raw, ok := tok.Claims["role"]; ok {
		r, ok := raw.(string)
		if !ok {
			return nil, mcpauth.InvalidToken("role claim must be a string", nil)
		}
		roles = append(roles, r)
	}
	switch x := tok.Claims["roles"].(type) {
	case string:
		roles = append(roles, x)
	case []any:
		for _, e := range x {
			if r, ok := e.(string); ok {
				roles = append(roles, r)
			}
		}
	}
	tok.Scopes = v.s.scopesFor(tok.Scopes, tok.TenantID, roles)
	return tok, nil
}

// Lifetimes of the cached authorization server metadata.
const (
	// DefaultMetadataTTL is how long the metadata is kept when AuthKit's answer says
	// nothing of its freshness (no Cache-Control max-age, no Expires).
	DefaultMetadataTTL = time.Hour
	// MinMetadataTTL and MaxMetadataTTL bound how long the metadata is kept, whatever
	// the answer says.
	MinMetadataTTL = time.Minute
	MaxMetadataTTL = 24 * time.Hour
	// MetadataRetryInterval is how long the proxy waits after a failed fetch before
	// fetching again; meanwhile it serves the last good copy (or 503 without one).
	MetadataRetryInterval = 10 * time.Second
)

// MetadataProxy is an http.Handler serving AuthKit's OAuth 2.0 authorization server
// metadata (RFC 8414), fetched from AuthKitDomain + "/.well-known/oauth-authorization-server",
// at the MCP server's own origin (mount it as hub.Config.AuthorizationServerMetadata).
//
// The document is served verbatim (application/json, CORS-enabled, GET and HEAD), and
// used only if it is a JSON object whose "issuer" is exactly the AuthKit issuer. It is
// kept for the max-age of AuthKit's Cache-Control, else until its Expires (by its Date),
// minus Age, clamped to [1m, 24h]; 1h when it says neither. A request finding the copy stale fetches it again (concurrent requests
// share one fetch); if that fails, the last good copy is served and no fetch is tried for
// MetadataRetryInterval. Without any copy the proxy answers 503 temporarily_unavailable
// with Retry-After. It starts no goroutine (call Refresh at startup to warm it) and is
// safe for concurrent use.
type MetadataProxy struct {
	s       *settings
	url     string
	group   singleflight.Group
	fetches atomic.Int64

	mu      sync.Mutex
	doc     []byte
	expires time.Time
	retryAt time.Time // no fetch before this time, after a failure
}

// MetadataHandler returns a MetadataProxy for the AuthKit domain (required). It does not
// fetch anything yet.
func (c Config) MetadataHandler() (*MetadataProxy, error) {
	s, err := c.prepareAuthKit()
	if err != nil {
		return nil, err
	}
	return &MetadataProxy{s: s, url: s.issuer + "/.well-known/oauth-authorization-server"}, nil
}

// Issuer returns the AuthKit issuer whose metadata the proxy serves.
func (p *MetadataProxy) Issuer() string { return p.s.issuer }

// Fetches returns how many times the proxy has asked AuthKit for the document.
func (p *MetadataProxy) Fetches() int64 { return p.fetches.Load() }

// Refresh fetches the document now, whether or not the cached copy is fresh, and
// reports why it failed (the last good copy is kept then).
func (p *MetadataProxy) Refresh(ctx context.Context) error { return p.join(ctx, false) }

// Document returns the current metadata document and how long it stays fresh (0 for a
// stale copy), fetching it when the copy is stale and no recent fetch failed. Its error,
// only when no copy was ever fetched, is a *MetadataUnavailableError.
func (p *MetadataProxy) Document(ctx context.Context) ([]byte, time.Duration, error) {
	var cause error
	if p.due() {
		cause = p.join(ctx, true)
	}
	now := p.s.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.doc == nil {
		// The wait the failed fetch set, or a whole interval if ctx ended before the fetch.
		retry := cmp.Or(max(p.retryAt.Sub(now), 0), MetadataRetryInterval)
		return nil, 0, &MetadataUnavailableError{RetryAfter: retry, Err: cause}
	}
	return p.doc, max(p.expires.Sub(now), 0), nil
}

// due reports whether a fetch is due: the copy is stale or missing, and no failed
// fetch holds the next one back.
func (p *MetadataProxy) due() bool {
	now := p.s.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	return (p.doc == nil || !now.Before(p.expires)) && !now.Before(p.retryAt)
}

// join waits for the shared fetch, starting one if none is running (when ifDue, only if
// one is still due: another may have finished since the caller looked), or for ctx.
func (p *MetadataProxy) join(ctx context.Context, ifDue bool) error {
	ch := p.group.DoChan("fetch", func() (any, error) {
		if ifDue && !p.due() {
			return nil, nil
		}
		return nil, p.fetch(context.WithoutCancel(ctx))
	})
	select {
	case r := <-ch:
		return r.Err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fetch asks AuthKit for the document and stores it, or records and logs the failure.
func (p *MetadataProxy) fetch(ctx context.Context) error {
	p.fetches.Add(1)
	resp, err := p.s.get(ctx, p.url, "")
	var doc map[string]any
	switch {
	case err != nil:
	case resp.Status != http.StatusOK:
		err = fmt.Errorf("AuthKit answered HTTP %d", resp.Status)
	case json.Unmarshal(resp.Body, &doc) != nil || doc["issuer"] != p.s.issuer:
		err = fmt.Errorf("the document is not a JSON object whose issuer is %q", p.s.issuer)
	}
	now := p.s.Now()
	p.mu.Lock()
	if err != nil {
		p.retryAt = now.Add(MetadataRetryInterval)
		stale := p.doc != nil
		p.mu.Unlock()
		p.s.Logger.Warn("workos: fetching the AuthKit authorization server metadata failed",
			"url", p.url, "error", err, "serving_stale_copy", stale)
		return err
	}
	p.doc, p.expires, p.retryAt = bytes.TrimSpace(resp.Body), now.Add(metadataTTL(resp.Header, now)), time.Time{}
	p.mu.Unlock()
	return nil
}

// metadataTTL is how long the metadata is kept, per its cache headers, within
// [MinMetadataTTL, MaxMetadataTTL]; DefaultMetadataTTL when they say nothing. now is
// the configured clock's (an Expires without a Date is measured from it).
func metadataTTL(h http.Header, now time.Time) time.Duration {
	return upstream.CacheTTL(h, now, DefaultMetadataTTL, MinMetadataTTL, MaxMetadataTTL)
}

// MetadataUnavailableError is returned by MetadataProxy.Document when no copy of the
// metadata was ever fetched.
type MetadataUnavailableError struct {
	// RetryAfter is when a new fetch will be tried.
	RetryAfter time.Duration
	// Err is the cause of the last failure, when known.
	Err error
}

func (e *MetadataUnavailableError) Error() string {
	if e.Err == nil {
		return "workos: the AuthKit authorization server metadata is unavailable"
	}
	return "workos: the AuthKit authorization server metadata is unavailable: " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *MetadataUnavailableError) Unwrap() error { return e.Err }

// ServeHTTP answers GET and HEAD with the metadata document (200, or 503 when no copy
// was ever fetched), OPTIONS with the CORS preflight answer, and other methods with 405.
func (p *MetadataProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "*")
		h.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		h.Set("Allow", "GET, HEAD, OPTIONS")
		writeJSONError(w, http.StatusMethodNotAllowed, "invalid_request", "use GET")
		return
	}
	doc, fresh, err := p.Document(r.Context())
	var unavailable *MetadataUnavailableError
	if errors.As(err, &unavailable) { // RetryAfter > 0, rounded up to whole seconds
		h.Set("Retry-After", strconv.Itoa(int((unavailable.RetryAfter+time.Second-1)/time.Second)))
		h.Set("Cache-Control", "no-store")
		writeJSONError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the authorization server metadata could not be fetched from WorkOS AuthKit; try again later")
		return
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(fresh/time.Second)))
	h.Set("Content-Length", strconv.Itoa(len(doc)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(doc)
	}
}

func writeJSONError(w http.ResponseWriter, status int, code, desc string) {
	b, _ := json.Marshal(map[string]string{"error": code, "error_description": desc})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
