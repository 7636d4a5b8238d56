package mcpauth_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth"
)

// fakeClock is a manually advanced clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }
func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// countingVerifier accepts tokens starting with "good" and counts its calls.
type countingVerifier struct {
	calls atomic.Int64
	exp   time.Time
	gate  chan struct{} // when set, each call waits for it to close
}

func (v *countingVerifier) VerifyToken(ctx context.Context, token string) (*mcpauth.AccessToken, error) {
	v.calls.Add(1)
	if v.gate != nil {
		<-v.gate
	}
	if len(token) >= 4 && token[:4] == "good" {
		return &mcpauth.AccessToken{Subject: token, ExpiresAt: v.exp}, nil
	}
	if token == "down" {
		return nil, mcpauth.UpstreamUnavailable("", 0, nil)
	}
	if token == "outsider" {
		return nil, mcpauth.AccessDenied("not a member of the allowed organizations")
	}
	return nil, mcpauth.InvalidToken("bad token", nil)
}

func TestCachedHitAndExpiry(t *testing.T) {
	clk := newClock()
	v := &countingVerifier{exp: clk.Now().Add(time.Minute)}
	c := mcpauth.Cached(v, mcpauth.WithCacheClock(clk.Now), mcpauth.WithMaxTTL(time.Hour))

	for range 3 {
		tok, err := c.VerifyToken(context.Background(), "good-1")
		require.NoError(t, err)
		assert.Equal(t, "good-1", tok.Subject)
	}
	assert.EqualValues(t, 1, v.calls.Load(), "hits must not reach the verifier")

	// The entry never outlives the token's expiry, even with a longer max TTL.
	clk.Advance(time.Minute)
	_, _ = c.VerifyToken(context.Background(), "good-1")
	assert.EqualValues(t, 2, v.calls.Load(), "an entry past the token's expiry must be re-verified")
}

func TestCachedMaxTTL(t *testing.T) {
	clk := newClock()
	v := &countingVerifier{} // no expiry
	c := mcpauth.Cached(v, mcpauth.WithCacheClock(clk.Now), mcpauth.WithMaxTTL(10*time.Second))
	_, _ = c.VerifyToken(context.Background(), "good")
	clk.Advance(9 * time.Second)
	_, _ = c.VerifyToken(context.Background(), "good")
	assert.EqualValues(t, 1, v.calls.Load())
	clk.Advance(time.Second)
	_, _ = c.VerifyToken(context.Background(), "good")
	assert.EqualValues(t, 2, v.calls.Load())
}

func TestCachedErrorsNotCachedByDefault(t *testing.T) {
	v := &countingVerifier{}
	c := mcpauth.Cached(v)
	for range 3 {
		_, err := c.VerifyToken(context.Background(), "bad")
		require.ErrorIs(t, err, mcpauth.ErrInvalidToken)
	}
	assert.EqualValues(t, 3, v.calls.Load())
}

func TestCachedNegativeTTL(t *testing.T) {
	clk := newClock()
	v := &countingVerifier{}
	c := mcpauth.Cached(v, mcpauth.WithCacheClock(clk.Now), mcpauth.WithNegativeTTL(5*time.Second))
	for range 3 {
		_, err := c.VerifyToken(context.Background(), "bad")
		require.ErrorIs(t, err, mcpauth.ErrInvalidToken)
	}
	assert.EqualValues(t, 1, v.calls.Load())
	// An upstream outage is never cached.
	for range 2 {
		_, err := c.VerifyToken(context.Background(), "down")
		require.ErrorIs(t, err, mcpauth.ErrUpstreamUnavailable)
	}
	assert.EqualValues(t, 3, v.calls.Load())
	clk.Advance(5 * time.Second)
	_, _ = c.VerifyToken(context.Background(), "bad")
	assert.EqualValues(t, 4, v.calls.Load())

	// A valid identity refused by a provider's rule is remembered too.
	for range 3 {
		_, err := c.VerifyToken(context.Background(), "outsider")
		require.ErrorIs(t, err, mcpauth.ErrAccessDenied)
	}
	assert.EqualValues(t, 5, v.calls.Load())
}

func TestCachedCollapsesConcurrentMisses(t *testing.T) {
	v := &countingVerifier{gate: make(chan struct{})}
	c := mcpauth.Cached(v)
	const n = 1000
	var wg sync.WaitGroup
	var started sync.WaitGroup
	started.Add(n)
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			tok, err := c.VerifyToken(context.Background(), "good-shared")
			if err == nil && tok.Subject != "good-shared" {
				err = fmt.Errorf("wrong subject %q", tok.Subject)
			}
			errs <- err
		}()
	}
	started.Wait()
	// Wait until every goroutine is parked on the shared call: misses are counted
	// before joining the flight.
	for c.Stats().Misses < n {
		runtime.Gosched()
	}
	close(v.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.EqualValues(t, 1, v.calls.Load(), "1,000 concurrent requests with one token must cost one verification")
}

func TestCachedBoundedMemory(t *testing.T) {
	v := &countingVerifier{}
	c := mcpauth.Cached(v, mcpauth.WithMaxEntries(1000))
	for i := range 100000 {
		_, err := c.VerifyToken(context.Background(), fmt.Sprintf("good-%d", i))
		require.NoError(t, err)
	}
	assert.LessOrEqual(t, c.Stats().Entries, 1000)
	assert.Greater(t, c.Stats().Entries, 500, "the cache should stay close to full")
}

func TestCachedCancelledWaiter(t *testing.T) {
	v := &countingVerifier{gate: make(chan struct{})}
	c := mcpauth.Cached(v)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.VerifyToken(ctx, "good-x")
	require.ErrorIs(t, err, context.Canceled, "the caller's own cancellation, not an upstream outage")
	assert.NotErrorIs(t, err, mcpauth.ErrUpstreamUnavailable)
	close(v.gate)
}

func TestAny(t *testing.T) {
	bad := mcpauth.TokenVerifierFunc(func(context.Context, string) (*mcpauth.AccessToken, error) {
		return nil, mcpauth.InvalidToken("not mine", nil)
	})
	down := mcpauth.TokenVerifierFunc(func(context.Context, string) (*mcpauth.AccessToken, error) {
		return nil, mcpauth.UpstreamUnavailable("github is down", time.Second, nil)
	})
	good := mcpauth.TokenVerifierFunc(func(_ context.Context, tok string) (*mcpauth.AccessToken, error) {
		return &mcpauth.AccessToken{Subject: tok, Provider: "good"}, nil
	})

	tok, err := mcpauth.Any(bad, down, good).VerifyToken(context.Background(), "x")
	require.NoError(t, err)
	assert.Equal(t, "good", tok.Provider)

	_, err = mcpauth.Any(bad, down).VerifyToken(context.Background(), "x")
	require.ErrorIs(t, err, mcpauth.ErrUpstreamUnavailable, "an outage must not become a rejection")
	assert.Equal(t, 503, mcpauth.AsError(err).Status)

	_, err = mcpauth.Any(bad, bad).VerifyToken(context.Background(), "x")
	require.ErrorIs(t, err, mcpauth.ErrInvalidToken)
	assert.Equal(t, "not mine", mcpauth.AsError(err).Description)

	_, err = mcpauth.Any().VerifyToken(context.Background(), "x")
	require.ErrorIs(t, err, mcpauth.ErrInvalidToken)

	// A verifier failing with a plain error could not decide: not a rejection either.
	broken := mcpauth.TokenVerifierFunc(func(context.Context, string) (*mcpauth.AccessToken, error) {
		return nil, errors.New("bug")
	})
	_, err = mcpauth.Any(bad, broken).VerifyToken(context.Background(), "x")
	assert.Equal(t, 503, mcpauth.AsError(err).Status)
	assert.NotErrorIs(t, err, mcpauth.ErrInvalidToken)

	// Any carries the cache policies of its verifiers.
	p, ok := mcpauth.Any(bad, &policyVerifier{}).(mcpauth.CachePolicy)
	require.True(t, ok)
	assert.Len(t, p.CacheOptions(), len(mcpauth.OpaqueCachePolicy()))
}

func TestErrors(t *testing.T) {
	cause := errors.New("signature mismatch")
	err := fmt.Errorf("wrapped: %w", mcpauth.InvalidToken("token is expired", cause))
	assert.ErrorIs(t, err, mcpauth.ErrInvalidToken)
	assert.NotErrorIs(t, err, mcpauth.ErrInsufficientScope)
	assert.ErrorIs(t, err, cause)
	e := mcpauth.AsError(err)
	assert.Equal(t, 401, e.Status)
	assert.Equal(t, "invalid_token", e.Code)

	assert.Equal(t, 403, mcpauth.InsufficientScope("x").Status)
	assert.Equal(t, 400, mcpauth.InvalidRequest("x", nil).Status)
	assert.Equal(t, 403, mcpauth.AccessDenied("x").Status)
	assert.Equal(t, 503, mcpauth.UpstreamUnavailable("x", 0, nil).Status)
	// Unknown errors fail closed as temporarily_unavailable, without blaming the token.
	assert.Equal(t, 503, mcpauth.AsError(errors.New("boom")).Status)
	assert.Nil(t, mcpauth.AsError(nil))
}

func TestContextAndToken(t *testing.T) {
	ctx := context.Background()
	assert.Nil(t, mcpauth.AccessTokenFromContext(ctx))
	tok := &mcpauth.AccessToken{Subject: "alice", Scopes: []string{"a"}, ExpiresAt: time.Unix(100, 0), Claims: map[string]any{"x": 1}}
	ctx = mcpauth.WithAccessToken(ctx, tok)
	assert.Same(t, tok, mcpauth.AccessTokenFromContext(ctx))
	assert.True(t, tok.HasScope("a"))
	assert.False(t, tok.HasScope("b"))
	assert.False(t, tok.Expired(time.Unix(99, 0)))
	assert.True(t, tok.Expired(time.Unix(100, 0)))
	assert.Equal(t, 1, tok.Claim("x"))
	var none *mcpauth.AccessToken
	assert.False(t, none.HasScope("a"))
	assert.Nil(t, none.Claim("x"))
}

// gatedVerifier counts calls in flight and records the highest count.
type gatedVerifier struct {
	mu            sync.Mutex
	inFlight, max int
	release       chan struct{}
	entered       chan struct{}
}

func (g *gatedVerifier) VerifyToken(ctx context.Context, token string) (*mcpauth.AccessToken, error) {
	g.mu.Lock()
	g.inFlight++
	if g.inFlight > g.max {
		g.max = g.inFlight
	}
	g.mu.Unlock()
	g.entered <- struct{}{}
	<-g.release
	g.mu.Lock()
	g.inFlight--
	g.mu.Unlock()
	return &mcpauth.AccessToken{Subject: token}, nil
}

func TestCachedMaxConcurrent(t *testing.T) {
	g := &gatedVerifier{release: make(chan struct{}), entered: make(chan struct{}, 100)}
	c := mcpauth.CachedOpaque(g, mcpauth.WithMaxConcurrent(3))
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.VerifyToken(context.Background(), fmt.Sprintf("tok-%d", i))
			assert.NoError(t, err)
		}()
	}
	for range 3 {
		<-g.entered
	}
	// Three are in flight; the others wait for a slot.
	select {
	case <-g.entered:
		t.Fatal("a fourth upstream call started while three were in flight")
	default:
	}
	close(g.release)
	wg.Wait()
	assert.Equal(t, 3, g.max)
	assert.EqualValues(t, 10, c.Stats().Verifications)
}

// 500 callers that give up during a slow upstream cause at most the concurrency limit in
// upstream calls: a verification nobody waits for never reaches the upstream, queued
// verifications past 4x the limit fail fast with 503, and no goroutine is left behind.
func TestCachedAbandonedVerificationsNeverReachTheUpstream(t *testing.T) {
	before := runtime.NumGoroutine()
	g := &gatedVerifier{release: make(chan struct{}), entered: make(chan struct{}, 1000)}
	c := mcpauth.Cached(g, mcpauth.WithMaxConcurrent(3))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 500)
	for i := range 500 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.VerifyToken(ctx, fmt.Sprintf("tok-%d", i))
			errs <- err
		}()
	}
	for range 3 {
		<-g.entered // three verifications are at the upstream
	}
	// Every caller is parked (counted as a miss) before they all give up.
	for c.Stats().Misses < 500 {
		runtime.Gosched()
	}
	cancel()
	wg.Wait()
	close(errs)
	var cancelled, overflow int
	for err := range errs {
		switch {
		case errors.Is(err, context.Canceled):
			cancelled++
		case errors.Is(err, mcpauth.ErrUpstreamUnavailable):
			overflow++
		default:
			t.Fatalf("unexpected answer: %v", err)
		}
	}
	assert.Equal(t, 500, cancelled+overflow, "every caller got its own cancellation or a fast 503")
	close(g.release)
	// The three running verifications end; nothing else ever reaches the upstream.
	for runtime.NumGoroutine() > before {
		runtime.Gosched()
	}
	assert.EqualValues(t, 3, c.Stats().Verifications)
	assert.Equal(t, 3, g.max)
	select {
	case <-g.entered:
		t.Fatal("an abandoned verification reached the upstream")
	default:
	}
	assert.Zero(t, c.Stats().Entries, "answers nobody waited for are not kept")
}

type policyVerifier struct{ countingVerifier }

func (*policyVerifier) CacheOptions() []mcpauth.CacheOption { return mcpauth.OpaqueCachePolicy() }

// A verifier that declares its cache policy gets it from Cached without asking.
func TestCachedAppliesTheVerifiersPolicy(t *testing.T) {
	v := &policyVerifier{}
	c := mcpauth.Cached(v)
	for range 3 {
		_, err := c.VerifyToken(context.Background(), "bad-token")
		require.ErrorIs(t, err, mcpauth.ErrInvalidToken)
	}
	assert.EqualValues(t, 1, v.calls.Load(), "the policy's negative TTL remembers the refusal")
	// Options given to Cached still win.
	c = mcpauth.Cached(&policyVerifier{}, mcpauth.WithNegativeTTL(0))
	for range 2 {
		_, _ = c.VerifyToken(context.Background(), "bad-token")
	}
	assert.EqualValues(t, 2, c.Stats().Verifications)
}

// Past four times the concurrency limit, a verification waiting for a slot fails at once
// with 503 instead of queueing.
func TestCachedQueueOverflowFailsFast(t *testing.T) {
	g := &gatedVerifier{release: make(chan struct{}), entered: make(chan struct{}, 10)}
	c := mcpauth.Cached(g, mcpauth.WithMaxConcurrent(1))
	var wg sync.WaitGroup
	for i := range 5 { // one runs, four wait
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.VerifyToken(context.Background(), fmt.Sprintf("tok-%d", i))
			assert.NoError(t, err)
		}()
	}
	<-g.entered
	for c.Stats().Waiting < 4 {
		runtime.Gosched()
	}
	_, err := c.VerifyToken(context.Background(), "tok-overflow")
	require.ErrorIs(t, err, mcpauth.ErrUpstreamUnavailable)
	assert.Equal(t, time.Second, mcpauth.AsError(err).RetryAfter)
	close(g.release)
	wg.Wait()
	assert.EqualValues(t, 5, c.Stats().Verifications)
}
