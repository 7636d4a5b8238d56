// Package redisstore is an oauthproxy.Store in Redis (or Valkey), for several replicas
// of a hub behind a load balancer: registered clients, pending sign-ins, codes, refresh
// families, consents and sealed upstream tokens are shared, and each operation is one
// round trip.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/oauthproxy"
)

// DefaultPrefix begins every key the store writes.
const DefaultPrefix = "mcpauth:"

// DefaultTimeout bounds each operation.
const DefaultTimeout = time.Second

// Config configures a Store.
type Config struct {
	// Client is the Redis client: goredis.NewClient (standalone), NewFailoverClient
	// (Sentinel) or NewClusterClient (Cluster), or ClientFromEnv. Required.
	Client goredis.UniversalClient
	// Prefix begins every key (default DefaultPrefix); give each deployment sharing a
	// Redis its own, so that clients registered with one issuer are unknown to another.
	Prefix string
	// Timeout bounds each operation (default DefaultTimeout); past it the operation
	// fails and the proxy answers 503 with Retry-After.
	Timeout time.Duration
}

// Store implements oauthproxy.Store. Values are stored as the proxy gives them (it seals
// them before); every key has the TTL it was written with.
type Store struct {
	c       goredis.UniversalClient
	prefix  string
	timeout time.Duration
}

var _ oauthproxy.Store = (*Store)(nil)

// New returns a Store. It makes no network call: see Ping.
func New(cfg Config) (*Store, error) {
	if cfg.Client == nil {
		return nil, errors.New("redisstore: Config.Client is nil: pass a go-redis client (redisstore.ClientFromEnv reads MCPAUTH_REDIS_URL)")
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("redisstore: Config.Timeout is negative: leave it 0 for the default")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	return &Store{c: cfg.Client, prefix: cfg.Prefix, timeout: cfg.Timeout}, nil
}

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.fail("ping", s.c.Ping(ctx).Err())
}

// fail maps a Redis error: goredis.Nil is oauthproxy.ErrNotFound; anything else is an
// unavailable upstream (the proxy fails closed with 503).
func (s *Store) fail(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, goredis.Nil):
		return oauthproxy.ErrNotFound
	}
	return mcpauth.UpstreamUnavailable("the shared store is unavailable", 5*time.Second, fmt.Errorf("redisstore: %s: %w", op, err))
}

func (s *Store) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// ttl is a positive TTL for Redis (which refuses 0): at least a millisecond.
func ttl(d time.Duration) time.Duration { return max(d, time.Millisecond) }

// Put implements oauthproxy.Store: SET key value PX ttl.
func (s *Store) Put(ctx context.Context, key string, value []byte, d time.Duration) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	return s.fail("put", s.c.Set(ctx, s.prefix+key, value, ttl(d)).Err())
}

// Get implements oauthproxy.Store: GET key.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	b, err := s.c.Get(ctx, s.prefix+key).Bytes()
	return b, s.fail("get", err)
}

// Take implements oauthproxy.Store: GETDEL key, atomic (Redis 6.2 or later).
func (s *Store) Take(ctx context.Context, key string) ([]byte, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	b, err := s.c.GetDel(ctx, s.prefix+key).Bytes()
	return b, s.fail("take", err)
}

// Delete implements oauthproxy.Store: DEL key.
func (s *Store) Delete(ctx context.Context, key string) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	return s.fail("delete", s.c.Del(ctx, s.prefix+key).Err())
}

// casScript sets KEYS[1] to ARGV[2] for ARGV[3] milliseconds if its value is ARGV[1].
var casScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`)

// CompareAndSwap implements oauthproxy.Store: SET NX PX when old is nil, else a Lua
// script comparing and setting in one step (EVALSHA, EVAL the first time).
func (s *Store) CompareAndSwap(ctx context.Context, key string, old, value []byte, d time.Duration) (bool, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if old == nil {
		ok, err := s.c.SetNX(ctx, s.prefix+key, value, ttl(d)).Result()
		return ok, s.fail("compare-and-swap", err)
	}
	n, err := casScript.Run(ctx, s.c, []string{s.prefix + key}, old, value, ttl(d).Milliseconds()).Int()
	return n == 1, s.fail("compare-and-swap", err)
}
