package bearer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/config"
	"golang.org/x/time/rate"
)

// maxJWKSSize bounds a JWKS response body.
const maxJWKSSize = 1 << 20

// jwksSource serves keys from a JWKS URI through jwkset, with a verifier-local index of
// parsed keys in front of it.
//
// jwkset fetches the JWKS at construction and every RefreshInterval, and again when
// its HTTP client is asked for a key ID it does not hold; every successful fetch
// replaces its storage wholesale. That storage is a genStorage, which counts
// replacements; the index is rebuilt only when the count changes, so a lookup of a known
// kid is one atomic load and one map access.
//
// A token whose kid is not in the index asks jwkset for that kid, which fetches the JWKS
// again. jwkset's own unknown-kid limiter blocks (rate.Limiter.Wait) on the wall clock,
// so it is left unlimited and the rate is decided here, without blocking and on the
// configured clock: at most once per UnknownKIDRefreshInterval once keys were fetched,
// and at most once per retryBackoff while none ever was (an issuer that started after
// the server). Concurrent requests share one fetch and wait for it at most HTTPTimeout.
type jwksSource struct {
	uri     string
	client  jwkset.Storage // jwkset's HTTP client: KeyRead of an unknown kid fetches
	store   *genStorage
	limiter *rate.Limiter
	now     func() time.Time
	timeout time.Duration
	logger  *slog.Logger

	ctx    context.Context // lives until close; bounds every fetch
	cancel context.CancelFunc
	once   sync.Once

	index   atomic.Pointer[keySet]
	indexMu sync.Mutex

	mu       sync.Mutex
	inflight chan struct{} // non-nil while an on-demand fetch runs
	lastTry  time.Time     // of the last on-demand fetch while no keys were loaded
}

// retryBackoff is the minimum time between on-demand fetches while no JWKS was ever
// fetched successfully; it is also the Retry-After of temporarily_unavailable.
const retryBackoff = time.Second

// genStorage is the jwkset storage for fetched keys; it counts replacements.
type genStorage struct {
	*jwkset.MemoryJWKSet
	gen    atomic.Uint64
	loaded atomic.Bool // a fetch has succeeded at least once
}

// errEmptyJWKS refuses a fetched key set without keys once keys were loaded: an issuer
// whose JWKS answers an empty set is far more likely broken than revoking every key, and
// dropping the keys would turn an outage into every valid token being refused.
var errEmptyJWKS = errors.New("the JWKS has no keys; keeping the keys fetched before")

func (g *genStorage) KeyReplaceAll(ctx context.Context, given []jwkset.JWK) error {
	if len(given) == 0 && g.loaded.Load() {
		return errEmptyJWKS
	}
	err := g.MemoryJWKSet.KeyReplaceAll(ctx, given)
	if err == nil {
		g.loaded.Store(true)
	}
	g.gen.Add(1)
	return err
}

func (g *genStorage) KeyWrite(ctx context.Context, jwk jwkset.JWK) error {
	err := g.MemoryJWKSet.KeyWrite(ctx, jwk)
	g.gen.Add(1)
	return err
}

func (g *genStorage) KeyDelete(ctx context.Context, keyID string) (bool, error) {
	ok, err := g.MemoryJWKSet.KeyDelete(ctx, keyID)
	g.gen.Add(1)
	return ok, err
}

func newJWKSSource(s *settings) (*jwksSource, error) {
	ctx, cancel := context.WithCancel(context.Background())
	src := &jwksSource{
		uri:     s.jwks.URI,
		store:   &genStorage{MemoryJWKSet: jwkset.NewMemoryStorage()},
		limiter: rate.NewLimiter(rate.Every(s.jwks.UnknownKIDRefreshInterval), 1),
		now:     s.now,
		timeout: s.jwks.HTTPTimeout,
		logger:  s.logger,
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
	if err != nil {
		cancel()
		return nil, fmt.Errorf("bearer: Config.Keys: JWKS.URI: %w", err)
	}
	src.client, err = jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs: map[string]jwkset.Storage{s.jwks.URI: httpStore},
		// Bounds the on-demand fetch: jwkset uses this context for the request too.
		RateLimitWaitMax:  s.jwks.HTTPTimeout,
		RefreshUnknownKID: rate.NewLimiter(rate.Inf, 1), // the rate is decided in refreshFor
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("bearer: Config.Keys: JWKS.URI: %w", err)
	}
	return src, nil
}

func (s *jwksSource) fetchFailed(ctx context.Context, err error) {
	if s.ctx.Err() != nil {
		return // closed
	}
	u := s.uri
	if p, perr := url.Parse(s.uri); perr == nil {
		u = p.Redacted()
	}
	s.logger.WarnContext(ctx, "bearer: JWKS fetch failed", "jwks_uri", u, "error", err)
}

// current returns the key index, rebuilding it when jwkset replaced the keys.
func (s *jwksSource) current() *keySet {
	g := s.store.gen.Load()
	if set := s.index.Load(); set != nil && set.gen == g {
		return set
	}
	s.indexMu.Lock()
	defer s.indexMu.Unlock()
	g = s.store.gen.Load()
	if set := s.index.Load(); set != nil && set.gen == g {
		return set
	}
	jwks, _ := s.store.KeyReadAll(s.ctx) // a MemoryJWKSet never fails
	keys := make([]*verificationKey, 0, len(jwks))
	for _, j := range jwks {
		if vk, err := keyFromJWK(j); err == nil && vk != nil {
			keys = append(keys, vk)
		}
	}
	set := newKeySet(keys, false, g)
	s.index.Store(set)
	return set
}

func (s *jwksSource) key(ctx context.Context, kid string, hasKID bool, alg string) (any, error) {
	fam := algFamily(alg)
	k, r := s.current().find(kid, hasKID, alg, fam)
	if r == keyUnknown && (hasKID || !s.store.loaded.Load()) {
		s.refreshFor(ctx, kid)
		k, r = s.current().find(kid, hasKID, alg, fam)
	}
	switch {
	case r == keyFound:
		return k, nil
	case r == keyAlgMismatch:
		return nil, mcpauth.InvalidToken(errKeyAlgMismatch, nil)
	case !s.store.loaded.Load():
		// No key set was ever fetched: the token may well be valid.
		return nil, mcpauth.UpstreamUnavailable(errKeysUnavailable, retryBackoff, nil)
	}
	return nil, mcpauth.InvalidToken(errUnknownKey, nil)
}

// refreshFor fetches the JWKS again for a token whose kid is unknown (or for any token
// while no key set was ever fetched) when the rate allows it, or waits for a fetch that
// is already running, at most HTTPTimeout. Either way the caller looks the kid up again.
func (s *jwksSource) refreshFor(ctx context.Context, kid string) {
	s.mu.Lock()
	if ch := s.inflight; ch != nil {
		s.mu.Unlock()
		t := time.NewTimer(s.timeout)
		defer t.Stop()
		select {
		case <-ch:
		case <-ctx.Done():
		case <-t.C:
		}
		return
	}
	now := s.now()
	if s.store.loaded.Load() {
		if !s.limiter.AllowN(now, 1) {
			s.mu.Unlock()
			return
		}
	} else if !s.lastTry.IsZero() && now.Sub(s.lastTry) < retryBackoff {
		s.mu.Unlock()
		return
	} else {
		s.lastTry = now
	}
	ch := make(chan struct{})
	s.inflight = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inflight = nil
		s.mu.Unlock()
		close(ch)
	}()
	// jwkset fetches because the kid is not in its storage, under the source's context
	// (not the request's, since other requests may wait for it), bounded by
	// RateLimitWaitMax. The key it returns is not used: the caller looks it up in the
	// rebuilt index, which applies the same filters ("use", "key_ops", key size,
	// algorithm) to every key.
	_, _ = s.client.KeyRead(s.ctx, kid)
}

func (s *jwksSource) close() error {
	s.once.Do(s.cancel)
	return nil
}

// jwksHTTPClient returns a copy of base (or a new client) whose responses are bounded in
// size and whose redirects must stay on https (or loopback).
func jwksHTTPClient(base *http.Client, timeout time.Duration) *http.Client {
	var c http.Client
	if base != nil {
		c = *base
	} else {
		c.Timeout = timeout
	}
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	c.Transport = jwksTransport{next: rt}
	prev := c.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := config.CheckScheme(req.URL); err != nil {
			return fmt.Errorf("JWKS redirect refused: %w", err)
		}
		if len(via) >= 5 {
			return errors.New("JWKS fetch stopped after 5 redirects")
		}
		if prev != nil {
			return prev(req, via)
		}
		return nil
	}
	return &c
}

type jwksTransport struct{ next http.RoundTripper }

func (t jwksTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: maxJWKSSize}
	return resp, nil
}

// limitedBody fails a read past its limit instead of truncating silently.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// Probe for one more byte: exactly at the limit is fine.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("JWKS response is larger than %d bytes", maxJWKSSize)
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
