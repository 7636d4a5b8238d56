package mcpauth

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

const cacheShards = 32

// CacheOption configures Cached.
type CacheOption func(*cacheConfig)

type cacheConfig struct {
	maxEntries    int
	maxTTL        time.Duration
	negativeTTL   time.Duration
	maxConcurrent int
	now           func() time.Time
}

// WithMaxEntries bounds the number of cached tokens (default 10,000). When the cache is
// full, an arbitrary entry is evicted, expired entries first when one is at hand.
func WithMaxEntries(n int) CacheOption { return func(c *cacheConfig) { c.maxEntries = n } }

// WithMaxTTL bounds how long an accepted token is trusted without asking the verifier
// again (default 5 minutes). An entry never outlives the token's own expiry.
func WithMaxTTL(d time.Duration) CacheOption { return func(c *cacheConfig) { c.maxTTL = d } }

// WithNegativeTTL caches rejected tokens for d: invalid tokens, and valid identities a
// provider's rule refused (access_denied, such as a GitHub user outside the allowed
// organizations), so that a client retrying costs one verification per d. An upstream
// outage is never cached.
// Off by default.
func WithNegativeTTL(d time.Duration) CacheOption {
	return func(c *cacheConfig) { c.negativeTTL = d }
}

// WithMaxConcurrent bounds how many verifications (upstream calls, for opaque tokens)
// run at once. Further verifications wait for a slot, at most 4n of them; more fail at
// once with 503 (ErrUpstreamUnavailable). A verification whose every caller has gone
// (their contexts ended) is cancelled, and never reaches the upstream if it had not yet.
// 0, the default, sets no bound.
func WithMaxConcurrent(n int) CacheOption { return func(c *cacheConfig) { c.maxConcurrent = n } }

// CachePolicy is implemented by verifiers that know how they should be cached, such as
// opaque-token verifiers that make an upstream call per verification. Cached applies
// the policy's options before its own, so that wrapping such a verifier (as the hub
// does) gets the right negative TTL and concurrency bound without asking.
type CachePolicy interface {
	CacheOptions() []CacheOption
}

// OpaqueCachePolicy returns the cache options suited to opaque tokens checked by an
// upstream call: rejections remembered for 10 seconds and at most 32 upstream calls at
// once. Opaque-token verifiers return it from CacheOptions.
func OpaqueCachePolicy() []CacheOption {
	return []CacheOption{WithNegativeTTL(10 * time.Second), WithMaxConcurrent(32)}
}

// WithCacheClock sets the clock used for entry lifetimes (default time.Now).
func WithCacheClock(now func() time.Time) CacheOption { return func(c *cacheConfig) { c.now = now } }

// CachedVerifier is a TokenVerifier with a bounded cache of verified tokens in front of
// another verifier. Create it with Cached.
type CachedVerifier struct {
	next   TokenVerifier
	cfg    cacheConfig
	slots  chan struct{} // nil when verifications are not bounded
	perShd int
	shards [cacheShards]cacheShard

	// flights are the verifications in progress, one per token, shared by its callers.
	flightsMu sync.Mutex
	flights   map[[sha256.Size]byte]*flight
	waiting   atomic.Int64 // verifications waiting for a slot

	hits, misses, verifications atomic.Uint64
}

type cacheShard struct {
	mu      sync.Mutex
	entries map[[sha256.Size]byte]cacheEntry
}

type cacheEntry struct {
	tok     *AccessToken
	err     error
	expires time.Time
}

// CacheStats are counters of a CachedVerifier since it was created.
type CacheStats struct {
	// Hits counts lookups answered from the cache.
	Hits uint64
	// Misses counts lookups that were not in the cache.
	Misses uint64
	// Verifications counts calls made to the wrapped verifier. It is lower than Misses
	// when concurrent misses for one token were collapsed into one verification.
	Verifications uint64
	// Entries is the number of entries held now.
	Entries int
	// Waiting is the number of verifications waiting for a slot now
	// (WithMaxConcurrent).
	Waiting int
}

// Cached wraps v with a cache keyed by the SHA-256 of the token (the raw token is never
// kept). An entry lives until the token expires or the maximum TTL passes, whichever is
// first; a token without an expiry is trusted for the maximum TTL. Concurrent misses for
// one token are collapsed into a single call to v. When v is a CachePolicy, its options
// apply first and opts after them.
func Cached(v TokenVerifier, opts ...CacheOption) *CachedVerifier {
	cfg := cacheConfig{maxEntries: 10000, maxTTL: 5 * time.Minute, now: time.Now}
	if p, ok := v.(CachePolicy); ok {
		opts = append(p.CacheOptions(), opts...)
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.maxEntries < cacheShards {
		cfg.maxEntries = cacheShards
	}
	c := &CachedVerifier{next: v, cfg: cfg, perShd: cfg.maxEntries / cacheShards, flights: map[[sha256.Size]byte]*flight{}}
	if cfg.maxConcurrent > 0 {
		c.slots = make(chan struct{}, cfg.maxConcurrent)
	}
	for i := range c.shards {
		c.shards[i].entries = make(map[[sha256.Size]byte]cacheEntry)
	}
	return c
}

// CachedOpaque is Cached with defaults suited to opaque tokens checked by an upstream
// call (GitHub, Google tokeninfo, RFC 7662 introspection): rejected tokens (invalid, or
// refused by a provider's rule) are remembered for 10 seconds so garbage costs one upstream call, at most 32 upstream calls run at
// once, and accepted tokens are trusted for at most 5 minutes (never past their expiry).
// opts override these defaults.
func CachedOpaque(v TokenVerifier, opts ...CacheOption) *CachedVerifier {
	return Cached(v, append(OpaqueCachePolicy(), opts...)...)
}

// VerifyToken answers from the cache when it can and asks the wrapped verifier otherwise.
func (c *CachedVerifier) VerifyToken(ctx context.Context, token string) (*AccessToken, error) {
	// Hash the token's bytes in place: Sum256 only reads them, and copying a token of
	// a kilobyte on every hit would cost more than the lookup.
	key := sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
	shard := &c.shards[key[0]%cacheShards]
	now := c.cfg.now()

	if e, ok := c.lookup(shard, key, now); ok {
		c.hits.Add(1)
		return e.tok, e.err
	}
	c.misses.Add(1)
	return c.verifyMiss(ctx, shard, key, token)
}

// flight is one verification in progress, shared by every caller of its token.
type flight struct {
	done    chan struct{} // closed when tok and err are set
	tok     *AccessToken
	err     error
	waiters int                // callers still waiting; guarded by flightsMu
	cancel  context.CancelFunc // ends the verification once no caller waits
}

// errAbandoned ends a verification nobody waits for any more; no caller sees it.
var errAbandoned = errors.New("mcpauth: every caller of this verification has gone")

// verifyMiss verifies a token the cache does not hold, once for all concurrent callers.
// A caller whose context ends gets its context's error (its own cancellation, not an
// upstream outage); when the last one leaves, the verification is cancelled.
func (c *CachedVerifier) verifyMiss(ctx context.Context, shard *cacheShard, key [sha256.Size]byte, token string) (*AccessToken, error) {
	c.flightsMu.Lock()
	f, ok := c.flights[key]
	if !ok {
		// A flight for this token may have finished and stored its result between our
		// lookup and now: use it rather than verifying again.
		if e, ok := c.lookup(shard, key, c.cfg.now()); ok {
			c.flightsMu.Unlock()
			return e.tok, e.err
		}
		// The verification belongs to no single caller: it outlives the one that
		// started it, until every caller has gone.
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), cancel: cancel}
		c.flights[key] = f
		go c.fly(fctx, f, shard, key, token)
	}
	f.waiters++
	c.flightsMu.Unlock()

	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		c.flightsMu.Lock()
		f.waiters--
		if f.waiters == 0 {
			// Nobody wants the answer: stop the verification, and let the next caller
			// of this token start a new one.
			f.cancel()
			if c.flights[key] == f {
				delete(c.flights, key)
			}
		}
		c.flightsMu.Unlock()
		return nil, ctx.Err()
	}
}

// fly runs one verification: it waits for a slot when verifications are bounded, asks
// the wrapped verifier, and stores the answer, unless every caller has gone first.
func (c *CachedVerifier) fly(ctx context.Context, f *flight, shard *cacheShard, key [sha256.Size]byte, token string) {
	defer func() {
		c.flightsMu.Lock()
		if c.flights[key] == f {
			delete(c.flights, key)
		}
		c.flightsMu.Unlock()
		f.cancel()
		close(f.done)
	}()
	if c.slots != nil {
		select {
		case c.slots <- struct{}{}:
		default:
			if c.waiting.Add(1) > int64(4*cap(c.slots)) {
				c.waiting.Add(-1)
				f.err = UpstreamUnavailable("too many token verifications are in progress", time.Second, nil)
				return
			}
			select {
			case c.slots <- struct{}{}:
				c.waiting.Add(-1)
			case <-ctx.Done():
				c.waiting.Add(-1)
				f.err = errAbandoned // never reached the upstream
				return
			}
		}
		defer func() { <-c.slots }()
	}
	if ctx.Err() != nil {
		f.err = errAbandoned
		return
	}
	c.verifications.Add(1)
	tok, err := c.next.VerifyToken(ctx, token)
	if ctx.Err() != nil {
		// Abandoned midway: whatever the verifier answered, it is not kept.
		f.err = errAbandoned
		return
	}
	c.store(shard, key, tok, err)
	f.tok, f.err = tok, err
}

func (c *CachedVerifier) lookup(shard *cacheShard, key [sha256.Size]byte, now time.Time) (cacheEntry, bool) {
	shard.mu.Lock()
	defer shard.mu.Unlock()
	e, ok := shard.entries[key]
	if ok && !now.Before(e.expires) {
		delete(shard.entries, key)
		return cacheEntry{}, false
	}
	return e, ok
}

func (c *CachedVerifier) store(shard *cacheShard, key [sha256.Size]byte, tok *AccessToken, err error) {
	now := c.cfg.now()
	var expires time.Time
	switch {
	case err == nil && tok != nil:
		expires = now.Add(c.cfg.maxTTL)
		if !tok.ExpiresAt.IsZero() && tok.ExpiresAt.Before(expires) {
			expires = tok.ExpiresAt
		}
	case err != nil && c.cfg.negativeTTL > 0 && (errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrAccessDenied)):
		expires = now.Add(c.cfg.negativeTTL)
	default:
		return
	}
	if !now.Before(expires) {
		return
	}
	shard.mu.Lock()
	defer shard.mu.Unlock()
	if _, exists := shard.entries[key]; !exists && len(shard.entries) >= c.perShd {
		c.evictOne(shard, now)
	}
	shard.entries[key] = cacheEntry{tok: tok, err: err, expires: expires}
}

// evictOne removes one entry from a full shard: the first expired entry among a few
// looked at, or else the first one looked at (map order is unspecified, so this is an
// arbitrary choice that costs O(1)).
func (c *CachedVerifier) evictOne(shard *cacheShard, now time.Time) {
	var victim [sha256.Size]byte
	looked := 0
	for k, e := range shard.entries {
		if looked == 0 {
			victim = k
		}
		if !now.Before(e.expires) {
			victim = k
			break
		}
		looked++
		if looked == 8 {
			break
		}
	}
	delete(shard.entries, victim)
}

// Stats returns the cache's counters.
func (c *CachedVerifier) Stats() CacheStats {
	n := 0
	for i := range c.shards {
		c.shards[i].mu.Lock()
		n += len(c.shards[i].entries)
		c.shards[i].mu.Unlock()
	}
	return CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Verifications: c.verifications.Load(), Entries: n, Waiting: int(c.waiting.Load())}
}

// Purge drops every cached entry.
func (c *CachedVerifier) Purge() {
	for i := range c.shards {
		c.shards[i].mu.Lock()
		clear(c.shards[i].entries)
		c.shards[i].mu.Unlock()
	}
}
