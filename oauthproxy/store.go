package oauthproxy

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"
)

// ErrNotFound is returned by a Store for a key that is absent or expired.
var ErrNotFound = errors.New("oauthproxy: not found")

// Store keeps the proxy's state: registered clients, pending authorizations, codes,
// refresh-token families, consents and encrypted upstream tokens. Every value is an
// opaque byte string the proxy encoded (tokens and codes only as hashes, upstream tokens
// encrypted), and every key has a time to live. Each method is one operation, so a
// shared store (Redis) answers each in one round trip.
//
// Implementations must be safe for concurrent use. An error other than ErrNotFound means
// the store could not answer; the proxy then fails closed (503 with Retry-After).
type Store interface {
	// Put sets key to value for ttl.
	Put(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Get returns the value of key, or ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// Take returns the value of key and deletes it, atomically: of several callers
	// taking one key, exactly one gets the value; the others get ErrNotFound.
	Take(ctx context.Context, key string) ([]byte, error)
	// Delete removes key; an absent key is not an error.
	Delete(ctx context.Context, key string) error
	// CompareAndSwap sets key to value for ttl only if its current value equals old
	// (old nil: only if key is absent), atomically, and reports whether it did.
	CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) (bool, error)
}

// MemoryStore is the embedded Store: a map in this process, for a single replica. Expired
// entries are never returned and are swept as new ones are written.
type MemoryStore struct {
	now func() time.Time

	mu      sync.Mutex
	entries map[string]memoryEntry
	writes  int
}

type memoryEntry struct {
	value   []byte
	expires time.Time
}

// NewMemoryStore returns an empty MemoryStore; now is its clock (time.Now when nil).
func NewMemoryStore(now func() time.Time) *MemoryStore {
	if now == nil {
		now = time.Now
	}
	return &MemoryStore{now: now, entries: map[string]memoryEntry{}}
}

// sweepEvery is how many writes pass between two sweeps of expired entries.
const sweepEvery = 1024

func (m *MemoryStore) getLocked(key string, now time.Time) ([]byte, bool) {
	e, ok := m.entries[key]
	if !ok {
		return nil, false
	}
	if !now.Before(e.expires) {
		delete(m.entries, key)
		return nil, false
	}
	return e.value, true
}

func (m *MemoryStore) putLocked(key string, value []byte, ttl time.Duration, now time.Time) {
	m.entries[key] = memoryEntry{value: bytes.Clone(value), expires: now.Add(ttl)}
	if m.writes++; m.writes >= sweepEvery {
		m.writes = 0
		for k, e := range m.entries {
			if !now.Before(e.expires) {
				delete(m.entries, k)
			}
		}
	}
}

// Put implements Store.
func (m *MemoryStore) Put(_ context.Context, key string, value []byte, ttl time.Duration) error {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.putLocked(key, value, ttl, now)
	return nil
}

// Get implements Store.
func (m *MemoryStore) Get(_ context.Context, key string) ([]byte, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.getLocked(key, now); ok {
		return bytes.Clone(v), nil
	}
	return nil, ErrNotFound
}

// Take implements Store.
func (m *MemoryStore) Take(_ context.Context, key string) ([]byte, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.getLocked(key, now)
	if !ok {
		return nil, ErrNotFound
	}
	delete(m.entries, key)
	return v, nil
}

// Delete implements Store.
func (m *MemoryStore) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, key)
	return nil
}

// CompareAndSwap implements Store.
func (m *MemoryStore) CompareAndSwap(_ context.Context, key string, old, value []byte, ttl time.Duration) (bool, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.getLocked(key, now)
	if ok != (old != nil) || (ok && !bytes.Equal(cur, old)) {
		return false, nil
	}
	m.putLocked(key, value, ttl, now)
	return true, nil
}

// Len returns the number of entries held, expired ones not yet swept included.
func (m *MemoryStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}
