package oauthproxy

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth/internal/testutil"
)

func newTestStore() (*MemoryStore, *testutil.Clock) {
	clock := testutil.NewClock(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	return NewMemoryStore(clock.Now), clock
}

func requireValue(t *testing.T, s Store, key, want string) {
	t.Helper()
	got, err := s.Get(context.Background(), key)
	require.NoError(t, err)
	require.Equal(t, want, string(got))
}

func requireAbsent(t *testing.T, s Store, key string) {
	t.Helper()
	_, err := s.Get(context.Background(), key)
	require.ErrorIs(t, err, ErrNotFound)
}

func TestMemoryStorePutGetDelete(t *testing.T) {
	s, _ := newTestStore()
	ctx := context.Background()
	requireAbsent(t, s, "k")

	require.NoError(t, s.Put(ctx, "k", []byte("v1"), time.Minute))
	requireValue(t, s, "k", "v1")
	requireValue(t, s, "k", "v1") // Get does not consume
	require.NoError(t, s.Put(ctx, "k", []byte("v2"), time.Minute))
	requireValue(t, s, "k", "v2")
	require.NoError(t, s.Put(ctx, "other", []byte("o"), time.Minute))

	require.NoError(t, s.Delete(ctx, "k"))
	requireAbsent(t, s, "k")
	requireValue(t, s, "other", "o")
	require.NoError(t, s.Delete(ctx, "k"), "deleting an absent key is not an error")
}

func TestMemoryStoreTake(t *testing.T) {
	s, _ := newTestStore()
	ctx := context.Background()
	require.NoError(t, s.Put(ctx, "k", []byte("v"), time.Minute))
	got, err := s.Take(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "v", string(got))
	requireAbsent(t, s, "k")
	_, err = s.Take(ctx, "k")
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = s.Take(ctx, "never")
	assert.ErrorIs(t, err, ErrNotFound)
}

func TestMemoryStoreTTL(t *testing.T) {
	s, clock := newTestStore()
	ctx := context.Background()
	for _, k := range []string{"get", "take", "cas", "casnil"} {
		require.NoError(t, s.Put(ctx, k, []byte("v"), time.Minute))
	}
	clock.Advance(time.Minute - time.Nanosecond)
	requireValue(t, s, "get", "v")

	clock.Advance(time.Nanosecond) // exactly the TTL: gone
	requireAbsent(t, s, "get")
	_, err := s.Take(ctx, "take")
	assert.ErrorIs(t, err, ErrNotFound)
	ok, err := s.CompareAndSwap(ctx, "cas", []byte("v"), []byte("w"), time.Minute)
	require.NoError(t, err)
	assert.False(t, ok, "an expired value is not the current one")
	ok, err = s.CompareAndSwap(ctx, "casnil", nil, []byte("w"), time.Minute)
	require.NoError(t, err)
	assert.True(t, ok, "an expired key is absent")
	requireValue(t, s, "casnil", "w")

	// The TTL of a swapped value counts from the swap.
	clock.Advance(30 * time.Second)
	ok, err = s.CompareAndSwap(ctx, "casnil", []byte("w"), []byte("x"), time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	clock.Advance(59 * time.Second)
	requireValue(t, s, "casnil", "x")
	clock.Advance(time.Second)
	requireAbsent(t, s, "casnil")

	require.NoError(t, s.Put(ctx, "zero", []byte("v"), 0))
	requireAbsent(t, s, "zero")
}

func TestMemoryStoreCompareAndSwap(t *testing.T) {
	for _, tc := range []struct {
		name      string
		present   string // "" : absent
		old       []byte
		swapped   bool
		wantAfter string // "" : absent
	}{
		{"absent, old nil", "", nil, true, "new"},
		{"present, old nil", "cur", nil, false, "cur"},
		{"absent, old given", "", []byte("cur"), false, ""},
		{"absent, old empty but not nil", "", []byte{}, false, ""},
		{"present, old equal", "cur", []byte("cur"), true, "new"},
		{"present, old different", "cur", []byte("other"), false, "cur"},
		{"present, old a prefix", "cur", []byte("cu"), false, "cur"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestStore()
			ctx := context.Background()
			if tc.present != "" {
				require.NoError(t, s.Put(ctx, "k", []byte(tc.present), time.Minute))
			}
			ok, err := s.CompareAndSwap(ctx, "k", tc.old, []byte("new"), time.Minute)
			require.NoError(t, err)
			assert.Equal(t, tc.swapped, ok)
			if tc.wantAfter == "" {
				requireAbsent(t, s, "k")
			} else {
				requireValue(t, s, "k", tc.wantAfter)
			}
		})
	}
}

func TestMemoryStoreTakeIsExactlyOnce(t *testing.T) {
	s, _ := newTestStore()
	ctx := context.Background()
	const n = 32
	for round := range 50 {
		require.NoError(t, s.Put(ctx, "k", []byte("v"), time.Minute))
		var wg sync.WaitGroup
		start := make(chan struct{})
		got := make([]error, n)
		for i := range n {
			wg.Go(func() {
				<-start
				_, got[i] = s.Take(ctx, "k")
			})
		}
		close(start)
		wg.Wait()
		winners := 0
		for _, err := range got {
			if err == nil {
				winners++
			} else {
				assert.ErrorIs(t, err, ErrNotFound)
			}
		}
		require.Equal(t, 1, winners, "round %d", round)
	}
}

func TestMemoryStoreCompareAndSwapIsAtomic(t *testing.T) {
	s, _ := newTestStore()
	ctx := context.Background()
	const n = 32
	for round := range 50 {
		key := fmt.Sprint("k", round)
		var wg sync.WaitGroup
		start := make(chan struct{})
		won := make([]bool, n)
		for i := range n {
			wg.Go(func() {
				<-start
				ok, err := s.CompareAndSwap(ctx, key, nil, []byte(fmt.Sprint(i)), time.Minute)
				assert.NoError(t, err)
				won[i] = ok
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, ok := range won {
			if ok {
				require.Equal(t, -1, winner, "round %d: two creations of one key", round)
				winner = i
			}
		}
		require.NotEqual(t, -1, winner, "round %d", round)
		requireValue(t, s, key, fmt.Sprint(winner))
	}
}

func TestMemoryStoreDoesNotAlias(t *testing.T) {
	s, _ := newTestStore()
	ctx := context.Background()

	in := []byte("abc")
	require.NoError(t, s.Put(ctx, "k", in, time.Minute))
	in[0] = 'X'
	requireValue(t, s, "k", "abc")

	out, err := s.Get(ctx, "k")
	require.NoError(t, err)
	out[0] = 'Y'
	requireValue(t, s, "k", "abc")

	nv := []byte("def")
	ok, err := s.CompareAndSwap(ctx, "k", []byte("abc"), nv, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	nv[0] = 'Z'
	requireValue(t, s, "k", "def")

	taken, err := s.Take(ctx, "k")
	require.NoError(t, err)
	require.NoError(t, s.Put(ctx, "k", []byte("ghi"), time.Minute))
	taken[0] = 'W'
	requireValue(t, s, "k", "ghi")
}

func TestMemoryStoreSweepsExpiredEntries(t *testing.T) {
	s, clock := newTestStore()
	ctx := context.Background()
	require.NoError(t, s.Put(ctx, "old", []byte("v"), time.Second))
	clock.Advance(2 * time.Second)
	require.NoError(t, s.Put(ctx, "k0", []byte("v"), time.Hour))
	assert.Equal(t, 2, s.Len(), "not swept on every write")
	for i := 1; i < sweepEvery; i++ {
		require.NoError(t, s.Put(ctx, fmt.Sprint("k", i), []byte("v"), time.Hour))
	}
	assert.Equal(t, sweepEvery, s.Len(), "the expired entry was swept")
}

func TestMemoryStoreDefaultClock(t *testing.T) {
	s := NewMemoryStore(nil)
	require.NoError(t, s.Put(context.Background(), "k", []byte("v"), time.Minute))
	requireValue(t, s, "k", "v")
}
