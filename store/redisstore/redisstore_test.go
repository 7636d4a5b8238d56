package redisstore_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/testutil"
	"github.com/mcpauth/mcpauth/middleware"
	"github.com/mcpauth/mcpauth/oauthproxy"
	"github.com/mcpauth/mcpauth/store/redisstore"
)

func newStore(t *testing.T) (*redisstore.Store, *goredis.Client, *testutil.Redis) {
	t.Helper()
	r := testutil.StartRedis(t)
	c := goredis.NewClient(&goredis.Options{Addr: r.Addr, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	s, err := redisstore.New(redisstore.Config{Client: c, Prefix: "t1:", Timeout: 2 * time.Second})
	require.NoError(t, err)
	require.NoError(t, s.Ping(context.Background()))
	return s, c, r
}

func TestStoreOperations(t *testing.T) {
	s, c, _ := newStore(t)
	ctx := context.Background()

	_, err := s.Get(ctx, "a")
	assert.ErrorIs(t, err, oauthproxy.ErrNotFound)
	require.NoError(t, s.Put(ctx, "a", []byte("one"), time.Minute))
	v, err := s.Get(ctx, "a")
	require.NoError(t, err)
	assert.Equal(t, "one", string(v))
	// The prefix and the TTL reach Redis.
	assert.Equal(t, "one", c.Get(ctx, "t1:a").Val())
	pttl := c.PTTL(ctx, "t1:a").Val()
	assert.True(t, pttl > 59*time.Second && pttl <= time.Minute, "%s", pttl)

	v, err = s.Take(ctx, "a")
	require.NoError(t, err)
	assert.Equal(t, "one", string(v))
	_, err = s.Take(ctx, "a")
	assert.ErrorIs(t, err, oauthproxy.ErrNotFound, "taken once")

	ok, err := s.CompareAndSwap(ctx, "b", nil, []byte("x"), time.Minute)
	require.NoError(t, err)
	assert.True(t, ok, "absent: created")
	ok, err = s.CompareAndSwap(ctx, "b", nil, []byte("y"), time.Minute)
	require.NoError(t, err)
	assert.False(t, ok, "present: not created again")
	ok, err = s.CompareAndSwap(ctx, "b", []byte("wrong"), []byte("y"), time.Minute)
	require.NoError(t, err)
	assert.False(t, ok)
	ok, err = s.CompareAndSwap(ctx, "b", []byte("x"), []byte("y"), 30*time.Second)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, "y", c.Get(ctx, "t1:b").Val())
	assert.LessOrEqual(t, c.PTTL(ctx, "t1:b").Val(), 30*time.Second, "the swap sets the new TTL")
	ok, err = s.CompareAndSwap(ctx, "missing", []byte("x"), []byte("y"), time.Minute)
	require.NoError(t, err)
	assert.False(t, ok, "a swap from a value never creates the key")

	require.NoError(t, s.Delete(ctx, "b"))
	require.NoError(t, s.Delete(ctx, "b"), "deleting an absent key is fine")
	assert.EqualValues(t, 0, c.Exists(ctx, "t1:b").Val())

	// Binary values survive.
	bin := []byte{0, 1, 2, 255, '\n'}
	require.NoError(t, s.Put(ctx, "bin", bin, time.Minute))
	v, err = s.Get(ctx, "bin")
	require.NoError(t, err)
	assert.Equal(t, bin, v)
}

// TestStoreAtomicity: of many replicas taking one code or swapping one family at once,
// exactly one wins.
func TestStoreAtomicity(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	for round := range 20 {
		require.NoError(t, s.Put(ctx, "code", []byte("c"), time.Minute))
		require.NoError(t, s.Put(ctx, "fam", []byte("v0"), time.Minute))
		var took, swapped atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if _, err := s.Take(ctx, "code"); err == nil {
					took.Add(1)
				}
				if ok, err := s.CompareAndSwap(ctx, "fam", []byte("v0"), []byte{'v', byte('1' + i)}, time.Minute); err == nil && ok {
					swapped.Add(1)
				}
			}()
		}
		close(start)
		wg.Wait()
		assert.EqualValues(t, 1, took.Load(), "round %d", round)
		assert.EqualValues(t, 1, swapped.Load(), "round %d", round)
	}
}

// TestStoreDownFailsClosed: with Redis gone every operation fails within the timeout as
// an unavailable upstream (503), never as not-found; after a restart the data written
// before is there (append-only file, fsync per write).
func TestStoreDownFailsClosed(t *testing.T) {
	s, _, r := newStore(t)
	ctx := context.Background()
	require.NoError(t, s.Put(ctx, "kept", []byte("v"), time.Hour))
	r.Kill()
	for name, op := range map[string]func() error{
		"put":    func() error { return s.Put(ctx, "x", []byte("v"), time.Minute) },
		"get":    func() error { _, err := s.Get(ctx, "kept"); return err },
		"take":   func() error { _, err := s.Take(ctx, "kept"); return err },
		"delete": func() error { return s.Delete(ctx, "kept") },
		"cas": func() error {
			_, err := s.CompareAndSwap(ctx, "kept", []byte("v"), []byte("w"), time.Minute)
			return err
		},
	} {
		err := op()
		require.Error(t, err, name)
		assert.False(t, errors.Is(err, oauthproxy.ErrNotFound), name)
		assert.ErrorIs(t, err, mcpauth.ErrUpstreamUnavailable, name)
		assert.Equal(t, 5*time.Second, mcpauth.AsError(err).RetryAfter, name)
	}
	r.Start()
	v, err := s.Get(ctx, "kept")
	require.NoError(t, err, "acknowledged before the crash, kept after it")
	assert.Equal(t, "v", string(v))
}

func TestNewRefusesBadConfig(t *testing.T) {
	_, err := redisstore.New(redisstore.Config{})
	assert.EqualError(t, err, "redisstore: Config.Client is nil: pass a go-redis client (redisstore.ClientFromEnv reads MCPAUTH_REDIS_URL)")
	_, err = redisstore.New(redisstore.Config{Client: goredis.NewClient(&goredis.Options{}), Timeout: -1})
	assert.EqualError(t, err, "redisstore: Config.Timeout is negative: leave it 0 for the default")
}

func TestSessionStore(t *testing.T) {
	s, c, r := newStore(t)
	ss := s.Sessions(time.Hour)
	ctx := context.Background()
	alice := middleware.Principal{Issuer: "https://iss", Subject: "alice", ClientID: "c1"}
	mallory := middleware.Principal{Issuer: "https://iss", Subject: "mallory", ClientID: "c2"}

	_, known, err := ss.Lookup(ctx, "sid-1")
	require.NoError(t, err)
	assert.False(t, known)
	owner, err := ss.Claim(ctx, "sid-1", alice)
	require.NoError(t, err)
	assert.Equal(t, alice, owner)
	owner, err = ss.Claim(ctx, "sid-1", mallory)
	require.NoError(t, err)
	assert.Equal(t, alice, owner, "the first claim wins")
	p, known, err := ss.Lookup(ctx, "sid-1")
	require.NoError(t, err)
	assert.True(t, known)
	assert.Equal(t, alice, p)
	pttl := c.PTTL(ctx, "t1:session:sid-1").Val()
	assert.True(t, pttl > 59*time.Minute && pttl <= time.Hour, "%s", pttl)

	// Two replicas' binders over one Redis.
	a := middleware.NewSharedSessionBinder(0, ss)
	b := middleware.NewSharedSessionBinder(0, s.Sessions(0))
	require.NoError(t, a.Bind(ctx, "sid-2", alice))
	assert.ErrorIs(t, b.Bind(ctx, "sid-2", mallory), middleware.ErrSessionTaken)
	owner, known, err = b.Owner(ctx, "sid-2")
	require.NoError(t, err)
	assert.True(t, known)
	assert.Equal(t, alice, owner)

	require.NoError(t, ss.Release(ctx, "sid-1"))
	_, known, err = ss.Lookup(ctx, "sid-1")
	require.NoError(t, err)
	assert.False(t, known)

	// Redis gone: a replica still answers for what it has seen, and fails closed for
	// the rest.
	r.Kill()
	owner, known, err = b.Owner(ctx, "sid-2")
	require.NoError(t, err, "remembered: no round trip")
	assert.Equal(t, alice, owner)
	assert.True(t, known)
	_, _, err = b.Owner(ctx, "sid-unknown")
	assert.ErrorIs(t, err, mcpauth.ErrUpstreamUnavailable)
	assert.ErrorIs(t, a.Bind(ctx, "sid-3", alice), mcpauth.ErrUpstreamUnavailable)
}
