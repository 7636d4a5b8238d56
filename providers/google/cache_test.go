package google

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/stretchr/testify/require"
)

// cachedT wraps a Verifier for the fake with mcpauth.CachedOpaque on the test clock.
func cachedT(t testing.TB, f *fakeGoogle, clock *testClock, cfg func(*Config)) *mcpauth.CachedVerifier {
	t.Helper()
	c := f.config(clock)
	if cfg != nil {
		cfg(&c)
	}
	return mcpauth.CachedOpaque(newVerifierT(t, c), mcpauth.WithCacheClock(clock.Now))
}

func TestCachedConcurrentIdenticalRequests(t *testing.T) {
	clock := newTestClock()
	f := newFakeGoogle(t, clock.Now)
	cv := cachedT(t, f, clock, func(c *Config) { c.Scopes = []string{"notes:read"} })
	token := f.issue(alice())

	const n = 1000
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			tok, err := cv.VerifyToken(ctx, token)
			if err == nil && (tok.Subject != alice().Sub || !tok.HasScope("notes:read")) {
				err = fmt.Errorf("wrong token %+v", tok)
			}
			errs <- err
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, int64(1), f.tokeninfoCalls.Load(), "1,000 concurrent requests with one token cost one tokeninfo call")
}

func TestCachedEntriesExpireAndReverify(t *testing.T) {
	clock := newTestClock()
	f := newFakeGoogle(t, clock.Now)
	cv := cachedT(t, f, clock, nil)
	token := f.issue(alice()) // valid for an hour; the cache trusts it for 5 minutes

	for range 10 {
		_, err := cv.VerifyToken(ctx, token)
		require.NoError(t, err)
	}
	require.Equal(t, int64(1), f.tokeninfoCalls.Load())

	clock.Advance(5*time.Minute - time.Second)
	_, err := cv.VerifyToken(ctx, token)
	require.NoError(t, err)
	require.Equal(t, int64(1), f.tokeninfoCalls.Load(), "still cached")

	clock.Advance(time.Second)
	_, err = cv.VerifyToken(ctx, token)
	require.NoError(t, err)
	require.Equal(t, int64(2), f.tokeninfoCalls.Load(), "the expired entry was verified again")
}

func TestCachedRevokedTokenRefusedWhenEntryEnds(t *testing.T) {
	clock := newTestClock()
	f := newFakeGoogle(t, clock.Now)
	cv := cachedT(t, f, clock, nil)
	token := f.issue(alice())

	_, err := cv.VerifyToken(ctx, token)
	require.NoError(t, err)
	f.revoke(token)

	// Until the entry ends the cache answers (the documented staleness bound).
	clock.Advance(4 * time.Minute)
	_, err = cv.VerifyToken(ctx, token)
	require.NoError(t, err)
	require.Equal(t, int64(1), f.tokeninfoCalls.Load())

	clock.Advance(time.Minute)
	_, err = cv.VerifyToken(ctx, token)
	requireErr(t, err, mcpauth.ErrInvalidToken, "the Google access token is invalid or expired")
	require.Equal(t, int64(2), f.tokeninfoCalls.Load())

	// The refusal is remembered for the negative TTL: hammering costs nothing more.
	for range 100 {
		_, err = cv.VerifyToken(ctx, token)
		require.ErrorIs(t, err, mcpauth.ErrInvalidToken)
	}
	require.Equal(t, int64(2), f.tokeninfoCalls.Load())
}

func TestCachedEntryEndsAtTokenExpiry(t *testing.T) {
	clock := newTestClock()
	f := newFakeGoogle(t, clock.Now)
	cv := cachedT(t, f, clock, nil)
	token := f.issue(grant{Sub: "1", ExpiresIn: 2 * time.Minute}) // shorter than the cache TTL

	_, err := cv.VerifyToken(ctx, token)
	require.NoError(t, err)
	clock.Advance(2 * time.Minute)
	_, err = cv.VerifyToken(ctx, token)
	requireErr(t, err, mcpauth.ErrInvalidToken, "the Google access token is invalid or expired")
	require.Equal(t, int64(2), f.tokeninfoCalls.Load())
}

func TestCachedGarbageCostsNoUpstreamCall(t *testing.T) {
	clock := newTestClock()
	f := newFakeGoogle(t, clock.Now)
	cv := cachedT(t, f, clock, nil)
	for i := range 1000 {
		_, err := cv.VerifyToken(ctx, fmt.Sprintf("garbage-%d", i))
		requireErr(t, err, mcpauth.ErrInvalidToken, "neither a Google access token nor a Google ID token")
	}
	require.Equal(t, int64(0), f.tokeninfoCalls.Load())
	require.Equal(t, int64(0), f.certsCalls.Load())
}

func TestCachedOutageIsNotCached(t *testing.T) {
	clock := newTestClock()
	f := newFakeGoogle(t, clock.Now)
	cv := cachedT(t, f, clock, nil)
	token := f.issue(alice())

	f.setFailure(&failure503)
	_, err := cv.VerifyToken(ctx, token)
	me := requireErr(t, err, mcpauth.ErrUpstreamUnavailable, "Google is unavailable")
	require.Equal(t, 2*time.Minute, me.RetryAfter)

	f.setFailure(nil)
	tok, err := cv.VerifyToken(ctx, token)
	require.NoError(t, err, "an outage is never remembered as an invalid token")
	require.Equal(t, alice().Sub, tok.Subject)
	require.Equal(t, int64(2), f.tokeninfoCalls.Load())
}

// TestCachedLoad measures upstream calls per request: 10,000 requests over 100 distinct
// tokens, from 50 goroutines, through CachedOpaque.
func TestCachedLoad(t *testing.T) {
	clock := newTestClock()
	f := newFakeGoogle(t, clock.Now)
	cv := cachedT(t, f, clock, nil)
	const tokens, requests, workers = 100, 10_000, 50
	list := make([]string, tokens)
	for i := range list {
		list[i] = f.issue(grant{Sub: fmt.Sprint(i)})
	}

	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < requests; i += workers {
				tok, err := cv.VerifyToken(ctx, list[i%tokens])
				if err == nil && tok.Subject != fmt.Sprint(i%tokens) {
					err = fmt.Errorf("request %d: subject %q", i, tok.Subject)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	calls := f.tokeninfoCalls.Load()
	t.Logf("upstream calls per request: %d / %d = %.4f", calls, requests, float64(calls)/requests)
	require.Equal(t, int64(tokens), calls, "one tokeninfo call per distinct token")
	st := cv.Stats()
	require.Equal(t, uint64(tokens), st.Verifications)
	require.Equal(t, uint64(requests), st.Hits+st.Misses)
}

// BenchmarkCachedOpaque reports upstream calls per request for requests spread over 100
// tokens (go test -bench CachedOpaque ./providers/google/).
func BenchmarkCachedOpaque(b *testing.B) {
	clock := newTestClock()
	f := newFakeGoogle(b, clock.Now)
	cv := cachedT(b, f, clock, nil)
	list := make([]string, 100)
	for i := range list {
		list[i] = f.issue(grant{Sub: fmt.Sprint(i)})
	}
	i := 0
	for b.Loop() {
		if _, err := cv.VerifyToken(ctx, list[i%len(list)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(f.tokeninfoCalls.Load())/float64(i), "upstream-calls/op")
}
