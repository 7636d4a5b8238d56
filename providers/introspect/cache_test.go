package introspect

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/stretchr/testify/require"
)

// cachedT wraps a verifier for the fake with mcpauth.CachedOpaque on the test clock.
func cachedT(t testing.TB, as *fakeAS, opts ...mcpauth.CacheOption) *mcpauth.CachedVerifier {
	t.Helper()
	return mcpauth.CachedOpaque(newVerifierT(t, as.config()), append([]mcpauth.CacheOption{mcpauth.WithCacheClock(as.clock.Now)}, opts...)...)
}

func TestCachedConcurrentIdenticalRequests(t *testing.T) {
	clock := newTestClock()
	as := newFakeAS(t, clock)
	as.issue("hot-token", nil)
	// Hold the first introspection until every request has started, so that the 1,000
	// requests really overlap with the upstream call.
	release := make(chan struct{})
	as.gate.Store(&release)
	c := cachedT(t, as)

	const n = 1000
	var started, done sync.WaitGroup
	errs := make(chan error, n)
	subjects := make(chan string, n)
	started.Add(n)
	done.Add(n)
	for range n {
		go func() {
			defer done.Done()
			started.Done()
			tok, err := c.VerifyToken(context.Background(), "hot-token")
			if err != nil {
				errs <- err
				return
			}
			subjects <- tok.Subject
		}()
	}
	started.Wait()
	close(release)
	done.Wait()
	close(errs)
	close(subjects)
	for err := range errs {
		t.Fatalf("unexpected error: %v", err)
	}
	count := 0
	for s := range subjects {
		require.Equal(t, "alice", s)
		count++
	}
	require.Equal(t, n, count)
	require.Equal(t, int64(1), as.calls.Load(), "exactly one upstream introspection for 1,000 concurrent requests")
	require.Equal(t, uint64(1), c.Stats().Verifications)
}

func TestCachedExpiredEntriesAreVerifiedAgain(t *testing.T) {
	clock := newTestClock()
	as := newFakeAS(t, clock)
	// The token lives 2 minutes; the cache trusts entries at most 5 minutes by default,
	// so the entry ends with the token.
	as.issue("short", map[string]any{"exp": clock.Now().Add(2 * time.Minute).Unix()})
	as.issue("long", map[string]any{"exp": clock.Now().Add(time.Hour).Unix()})
	c := cachedT(t, as)
	ctx := context.Background()

	for range 3 {
		_, err := c.VerifyToken(ctx, "short")
		require.NoError(t, err)
		_, err = c.VerifyToken(ctx, "long")
		require.NoError(t, err)
	}
	require.Equal(t, int64(2), as.calls.Load())

	clock.Advance(2 * time.Minute)
	_, err := c.VerifyToken(ctx, "short")
	requireInvalid(t, err, descInactive) // asked again: the server says it is no longer active
	_, err = c.VerifyToken(ctx, "long")
	require.NoError(t, err) // still cached
	require.Equal(t, int64(3), as.calls.Load())

	clock.Advance(3 * time.Minute) // the 5-minute bound of the long token's entry
	_, err = c.VerifyToken(ctx, "long")
	require.NoError(t, err)
	require.Equal(t, int64(4), as.calls.Load(), "an entry past the cache's max TTL is introspected again")
}

func TestCachedRevocationTakesEffectWhenTheEntryEnds(t *testing.T) {
	clock := newTestClock()
	as := newFakeAS(t, clock)
	as.issue("revoked-later", nil)
	c := cachedT(t, as, mcpauth.WithMaxTTL(time.Minute))
	ctx := context.Background()

	_, err := c.VerifyToken(ctx, "revoked-later")
	require.NoError(t, err)
	as.revoke("revoked-later")

	clock.Advance(59 * time.Second)
	_, err = c.VerifyToken(ctx, "revoked-later")
	require.NoError(t, err, "still trusted within the cache TTL: the documented revocation delay")
	require.Equal(t, int64(1), as.calls.Load())

	clock.Advance(time.Second)
	_, err = c.VerifyToken(ctx, "revoked-later")
	requireInvalid(t, err, descInactive)
	require.Equal(t, int64(2), as.calls.Load())

	// The refusal is remembered for the negative TTL (10s), then asked again.
	_, err = c.VerifyToken(ctx, "revoked-later")
	requireInvalid(t, err, descInactive)
	require.Equal(t, int64(2), as.calls.Load())
	clock.Advance(10 * time.Second)
	_, err = c.VerifyToken(ctx, "revoked-later")
	requireInvalid(t, err, descInactive)
	require.Equal(t, int64(3), as.calls.Load())
}

func TestCachedGarbageCostsNothing(t *testing.T) {
	clock := newTestClock()
	as := newFakeAS(t, clock)
	c := cachedT(t, as)
	ctx := context.Background()
	for i := range 200 {
		_, err := c.VerifyToken(ctx, fmt.Sprintf("garbage token %d", i)) // a space: not a b64token
		requireInvalid(t, err, descCharset)
		_, err = c.VerifyToken(ctx, "")
		requireInvalid(t, err, descEmpty)
	}
	require.Equal(t, int64(0), as.calls.Load())

	// Well-formed but unknown: one call, then the negative cache.
	for range 50 {
		_, err := c.VerifyToken(ctx, "well-formed-but-unknown")
		requireInvalid(t, err, descInactive)
	}
	require.Equal(t, int64(1), as.calls.Load())
}

// An outage is never cached: the next request asks again and succeeds.
func TestCachedOutageIsNotRemembered(t *testing.T) {
	clock := newTestClock()
	as := newFakeAS(t, clock)
	as.issue("tok", nil)
	c := cachedT(t, as)
	ctx := context.Background()

	as.answer(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	_, err := c.VerifyToken(ctx, "tok")
	requireUnavailable(t, err, "unavailable", 5*time.Second)
	as.answer(nil)
	_, err = c.VerifyToken(ctx, "tok")
	require.NoError(t, err)
	require.Equal(t, int64(2), as.calls.Load())
}
