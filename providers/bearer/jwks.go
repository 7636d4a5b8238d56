package bearer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/config"
	"github.com/mcpauth/mcpauth/internal/upstream"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"
)

// maxJWKSSize bounds a JWKS response body.
const maxJWKSSize = upstream.MaxBody

// retryBackoff is the minimum time between on-demand fetches while no JWKS was ever
// fetched successfully; it is also the Retry-After of temporarily_unavailable.
const retryBackoff = time.Second

// jwksSource serves keys from a JWKS URI through jwkset. Every successful fetch of
// jwkset's HTTP storage (at construction, every RefreshInterval, and when its HTTP client
// is asked for a kid it does not hold) replaces the keys of a keyStore, which indexes
// them: a lookup is one atomic load and one map access.
//
// A token whose kid is not in the index makes jwkset fetch again. jwkset's own
// unknown-kid limiter blocks on the wall clock, so it is left unlimited and the rate is
// decided here, without blocking and on the configured clock: at most once per
// UnknownKIDRefreshInterval once keys were fetched, and once per retryBackoff while none
// ever was (an issuer that started after the server).
type jwksSource struct {
	s       *settings
	client  jwkset.Storage // jwkset's HTTP client: KeyRead of an unknown kid fetches
	store   *keyStore
	limiter *rate.Limiter      // on-demand fetches once keys were fetched
	backoff *rate.Limiter      // on-demand fetches while none ever was
	fetches singleflight.Group // the on-demand fetch, shared by concurrent requests
	ctx     context.Context    // lives until close; bounds every fetch
	cancel  context.CancelFunc
}

// keyStore is the jwkset storage of the fetched keys; it indexes them when they change.
type keyStore struct {
	*jwkset.MemoryJWKSet
	index atomic.Pointer[keySet] // nil until a fetch succeeded
}

// errEmptyJWKS refuses a fetched key set without keys once keys were loaded: an issuer
// whose JWKS answers an empty set is far more likely broken than revoking every key, and
// dropping the keys would turn an outage into every valid token being refused.
var errEmptyJWKS = errors.New("the JWKS has no keys; keeping the keys fetched before")

// KeyReplaceAll is called by jwkset with the keys of every successful fetch. The index
// applies the same filters ("use", "key_ops", key type and size) as key files.
func (s *keyStore) KeyReplaceAll(ctx context.Context, given []jwkset.JWK) error {
	if len(given) == 0 && s.index.Load() != nil {
		return errEmptyJWKS
	}
	keys := make([]*verificationKey, 0, len(given))
	for _, j := range given {
		if vk, err := keyFromJWK(j); err == nil && vk != nil {
			keys = append(keys, vk)
		}
	}
	s.index.Store(newKeySet(keys, false))
	return s.MemoryJWKSet.KeyReplaceAll(ctx, given)
}

func newJWKSSource(s *settings) (*jwksSource, error) {
	ctx, cancel := context.WithCancel(context.Background())
	src := &jwksSource{
		s:       s,
		store:   &keyStore{MemoryJWKSet: jwkset.NewMemoryStorage()},
		limiter: rate.NewLimiter(rate.Every(s.jwks.UnknownKIDRefreshInterval), 1),
		backoff: rate.NewLimiter(rate.Every(retryBackoff), 1),
		ctx:     ctx,
		cancel:  cancel,
	}
	// The first fetch happens here, synchronously (bounded by HTTPTimeout); a failure
	// is logged and left to the periodic and unknown-kid refreshes.
	httpStore, err := jwkset.NewStorageFromHTTP(s.jwks.URI, jwkset.HTTPClientStorageOptions{
		Client:                    jwksHTTPClient(s.jwks.HTTPClient, s.jwks.HTTPTimeout),
		Ctx:                       ctx,
		HTTPTimeout:               s.jwks.HTTPTimeout,
		NoErrorReturnFirstHTTPReq: true,
		RefreshErrorHandler:       src.fetchFailed,
		RefreshInterval:           s.jwks.RefreshInterval,
		Storage:                   src.store,
	})
	if err == nil {
		src.client, err = jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
			HTTPURLs: map[string]jwkset.Storage{s.jwks.URI: httpStore},
			// Bounds the on-demand fetch: jwkset uses this context for the request too.
			RateLimitWaitMax:  s.jwks.HTTPTimeout,
			RefreshUnknownKID: rate.NewLimiter(rate.Inf, 1), // the rate is decided in refreshFor
		})
	}
	if err != nil {
		cancel()
		return nil, fmt.Errorf("bearer: Config.Keys: JWKS.URI: %w", err)
	}
	return src, nil
}

// fetchFailed logs a failed fetch. The URI has no credentials (see config.CheckURL).
func (s *jwksSource) fetchFailed(ctx context.Context, err error) {
	if s.ctx.Err() == nil { // not closed
		s.s.Logger.WarnContext(ctx, "bearer: JWKS fetch failed", "jwks_uri", s.s.jwks.URI, "error", err)
	}
}

func (s *jwksSource) key(ctx context.Context, kid string, hasKID bool, alg string) (any, error) {
	set := s.store.index.Load()
	k, known := set.find(kid, hasKID, alg)
	if !known && (hasKID || set == nil) {
		s.refreshFor(ctx, kid)
		set = s.store.index.Load()
		k, known = set.find(kid, hasKID, alg)
	}
	if set == nil {
		// No key set was ever fetched: the token may well be valid.
		return nil, mcpauth.UpstreamUnavailable("the signing keys of the issuer could not be fetched", retryBackoff, nil)
	}
	return lookup(k, known)
}

// refreshFor fetches the JWKS again for a token whose kid is unknown (or for any token
// while no key set was ever fetched) when the rate allows it; requests that come while a
// fetch runs share it. It waits at most HTTPTimeout; then the caller looks the kid up
// again.
func (s *jwksSource) refreshFor(ctx context.Context, kid string) {
	done := s.fetches.DoChan("", func() (any, error) {
		limiter := s.limiter
		if s.store.index.Load() == nil {
			limiter = s.backoff
		}
		if limiter.AllowN(s.s.Now(), 1) {
			// jwkset fetches because the kid is not in its storage, under the source's
			// context (not the request's: other requests share the fetch), bounded by
			// RateLimitWaitMax. The key it returns is not used: the caller looks it up
			// in the index.
			_, _ = s.client.KeyRead(s.ctx, kid)
		}
		return nil, nil
	})
	ctx, cancel := context.WithTimeout(ctx, s.s.jwks.HTTPTimeout)
	defer cancel()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

func (s *jwksSource) close() error { s.cancel(); return nil } // cancel is idempotent

// jwksHTTPClient returns a copy of base (or a new client) whose responses are bounded in
// size and whose redirects must stay on https (or loopback).
func jwksHTTPClient(base *http.Client, timeout time.Duration) *http.Client {
	c := http.Client{Timeout: timeout}
	if base != nil {
		c = *base
	}
	if c.Transport == nil {
		c.Transport = http.DefaultTransport
	}
	c.Transport = jwksTransport{next: c.Transport}
	prev := c.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		switch err := config.CheckScheme(req.URL); {
		case err != nil:
			return fmt.Errorf("JWKS redirect refused: %w", err)
		case len(via) >= 5:
			return errors.New("JWKS fetch stopped after 5 redirects")
		case prev != nil:
			return prev(req, via)
		}
		return nil
	}
	return &c
}

type jwksTransport struct{ next http.RoundTripper }

// RoundTrip asks for a JWK Set and reads the response, failing when it is larger than
// maxJWKSSize rather than truncating it.
func (t jwksTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := upstream.ReadBody(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("JWKS response: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}
