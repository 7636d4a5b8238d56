package introspect

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mcpauth/mcpauth"
	"github.com/stretchr/testify/require"
)

// TestUpstreamCallsUnderLoad measures upstream calls per request through CachedOpaque:
// 10,000 requests from 100 concurrent workers over 100 distinct valid tokens.
func TestUpstreamCallsUnderLoad(t *testing.T) {
	clock := newTestClock()
	as := newFakeAS(t, clock)
	const tokens, requests, workers = 100, 10_000, 100
	for i := range tokens {
		as.issue(fmt.Sprintf("load-token-%03d", i), map[string]any{"sub": fmt.Sprintf("user-%03d", i)})
	}
	c := cachedT(t, as)

	var next atomic.Int64
	var failures atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1) - 1
				if n >= requests {
					return
				}
				i := int(n*7919) % tokens // spread the tokens over time
				tok, err := c.VerifyToken(context.Background(), fmt.Sprintf("load-token-%03d", i))
				if err != nil || tok.Subject != fmt.Sprintf("user-%03d", i) {
					failures.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	require.Zero(t, failures.Load())
	calls := as.calls.Load()
	t.Logf("upstream calls per request: %d / %d = %.4f", calls, requests, float64(calls)/requests)
	require.Equal(t, int64(tokens), calls, "one introspection per distinct token")
}

// BenchmarkCachedVerify measures a cache hit and an uncached introspection round trip
// against the loopback fake.
func BenchmarkCachedVerify(b *testing.B) {
	clock := newTestClock()
	as := newFakeAS(b, clock)
	as.issue("bench-token", nil)
	v := newVerifierT(b, as.config())
	ctx := context.Background()

	b.Run("introspection", func(b *testing.B) {
		for b.Loop() {
			if _, err := v.VerifyToken(ctx, "bench-token"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		c := mcpauth.CachedOpaque(v, mcpauth.WithCacheClock(clock.Now))
		for b.Loop() {
			if _, err := c.VerifyToken(ctx, "bench-token"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
