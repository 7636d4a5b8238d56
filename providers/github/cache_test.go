package github

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/stretchr/testify/require"
)

// cached wraps a verifier for the world the way applications are told to.
func (w *world) cached(t testing.TB, edit func(c *Config)) *mcpauth.CachedVerifier {
	return mcpauth.CachedOpaque(w.verifier(t, edit), mcpauth.WithCacheClock(w.clock.Now))
}

func TestCachedConcurrentIdenticalRequests(t *testing.T) {
	w := newWorld(t)
	c := w.cached(t, func(c *Config) { c.AllowedOrgs = []string{"acme"} })
	release := w.gh.holdUser()
	defer release()

	const n = 1000
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := c.VerifyToken(context.Background(), w.alice)
			if err == nil && tok.Subject != "583231" {
				err = fmt.Errorf("subject %q", tok.Subject)
			}
			errs <- err
		}()
	}
	// The first verification is now waiting inside GitHub; let every request miss the
	// cache before GitHub answers, so that all of them share that one call.
	<-w.gh.arrived
	deadline := time.Now().Add(10 * time.Second)
	for c.Stats().Misses < n {
		require.True(t, time.Now().Before(deadline), "only %d of %d requests reached the cache", c.Stats().Misses, n)
		runtime.Gosched()
	}
	release()
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.EqualValues(t, 1, w.gh.userCalls.Load(), "one GET /user for 1,000 identical requests")
	require.EqualValues(t, 1, w.gh.orgCalls.Load())
	require.EqualValues(t, 1, c.Stats().Verifications)
}

func TestCachedEntryExpiresAndIsVerifiedAgain(t *testing.T) {
	w := newWorld(t)
	c := w.cached(t, nil)
	mustVerify(t, c, w.alice)
	mustVerify(t, c, w.alice)
	require.EqualValues(t, 1, w.gh.userCalls.Load())

	w.clock.Advance(5*time.Minute - time.Second)
	mustVerify(t, c, w.alice)
	require.EqualValues(t, 1, w.gh.userCalls.Load(), "still cached")

	w.clock.Advance(time.Second)
	mustVerify(t, c, w.alice)
	require.EqualValues(t, 2, w.gh.userCalls.Load(), "the 5-minute entry ended: GitHub is asked again")
}

func TestCachedRevokedTokenRefusedOnceItsEntryEnds(t *testing.T) {
	w := newWorld(t)
	c := w.cached(t, nil)
	mustVerify(t, c, w.alice)
	w.gh.revoke(w.alice)

	w.clock.Advance(4 * time.Minute)
	mustVerify(t, c, w.alice) // the cache may trust a revoked token until its entry ends
	w.clock.Advance(time.Minute)
	_, err := verify(t, c, w.alice)
	requireErr(t, err, mcpauth.ErrInvalidToken, "the GitHub token is invalid, expired or revoked", 0)

	// The refusal is cached for the negative TTL: hammering costs no more calls.
	calls := w.gh.userCalls.Load()
	for range 100 {
		_, err = verify(t, c, w.alice)
		require.ErrorIs(t, err, mcpauth.ErrInvalidToken)
	}
	require.Equal(t, calls, w.gh.userCalls.Load())
}

func TestCachedEntryEndsWithTheTokensExpiration(t *testing.T) {
	w := newWorld(t)
	tokStr := ghToken("ghu_", "oneMinuteLeft")
	w.gh.addToken(tokStr, fakeToken{User: octocat, FineGrained: true, ExpiresAt: w.clock.Now().Add(time.Minute)})
	c := w.cached(t, nil)
	tok := mustVerify(t, c, tokStr)
	require.Equal(t, w.clock.Now().Add(time.Minute), tok.ExpiresAt)

	w.clock.Advance(time.Minute)
	_, err := verify(t, c, tokStr)
	requireErr(t, err, mcpauth.ErrInvalidToken, "the GitHub token is invalid, expired or revoked", 0)
	require.EqualValues(t, 2, w.gh.userCalls.Load(), "the entry ended at the token's expiry, not 5 minutes later")
}

func TestCachedGarbageCostsNoUpstreamCall(t *testing.T) {
	w := newWorld(t)
	c := w.cached(t, nil)
	for i := range 1000 {
		_, err := verify(t, c, fmt.Sprintf("garbage-%d", i))
		requireErr(t, err, mcpauth.ErrInvalidToken, "not a GitHub token", 0)
	}
	require.EqualValues(t, 0, w.gh.calls.Load())
}

func TestCachedOutageIsNotCached(t *testing.T) {
	w := newWorld(t)
	c := w.cached(t, nil)
	w.gh.setFailure(modePrimaryLimit, "", 0)
	for range 3 {
		_, err := verify(t, c, w.alice)
		requireErr(t, err, mcpauth.ErrUpstreamUnavailable, "GitHub's API rate limit was reached; try again later", 90*time.Second)
	}
	require.EqualValues(t, 3, w.gh.userCalls.Load(), "an outage is never remembered as a verdict")
	w.gh.clearFailure()
	mustVerify(t, c, w.alice)
}

// upstream calls per request under load: 10,000 requests over 100 distinct tokens from
// 64 concurrent clients, through CachedOpaque.
func TestUpstreamCallsPerRequestUnderLoad(t *testing.T) {
	for _, tc := range []struct {
		name          string
		edit          func(c *Config)
		callsPerToken int64
	}{
		{"no org rule", nil, 1},
		{"one org and one team rule", func(c *Config) {
			c.Enabled = false
			c.AllowedOrgs = []string{"acme"}
			c.AllowedTeams = []string{"acme/platform"}
		}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			const tokens, requests, workers = 100, 10000, 64
			list := make([]string, tokens)
			for i := range list {
				u := &fakeUser{ID: int64(10000 + i), Login: fmt.Sprintf("user%d", i)}
				list[i] = ghToken("gho_", fmt.Sprintf("load%d", i))
				w.gh.addToken(list[i], fakeToken{User: u, Scopes: []string{"read:org"}})
				w.gh.addTeamMember("acme", "platform", u.Login, "active", "member")
			}
			c := w.cached(t, tc.edit)
			var wg sync.WaitGroup
			next := make(chan int)
			failures := make(chan error, requests)
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range next {
						if _, err := c.VerifyToken(context.Background(), list[i%tokens]); err != nil {
							failures <- err
						}
					}
				}()
			}
			for i := range requests {
				next <- i
			}
			close(next)
			wg.Wait()
			close(failures)
			for err := range failures {
				require.NoError(t, err)
			}
			calls := w.gh.calls.Load()
			require.EqualValues(t, tokens, w.gh.userCalls.Load())
			require.EqualValues(t, tokens*tc.callsPerToken, calls)
			t.Logf("%d requests, %d distinct tokens: %d upstream calls (%.4f per request; GET /user %.4f per request)",
				requests, tokens, calls, float64(calls)/requests, float64(w.gh.userCalls.Load())/requests)
		})
	}
}

func BenchmarkCachedVerifyHit(b *testing.B) {
	w := newWorld(b)
	c := w.cached(b, nil)
	mustVerify(b, c, w.alice)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.VerifyToken(context.Background(), w.alice); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkVerifyUncached(b *testing.B) {
	w := newWorld(b)
	v := w.verifier(b, func(c *Config) { c.AllowedOrgs = []string{"acme"} })
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.VerifyToken(context.Background(), w.alice); err != nil {
			b.Fatal(err)
		}
	}
}
