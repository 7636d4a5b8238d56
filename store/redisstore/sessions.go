package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/mcpauth/mcpauth/middleware"
)

// DefaultSessionTTL is how long a shared session binding lives after it is made. It is
// not renewed by use (that would cost a round trip per request): keep it above the
// longest MCP session you expect; a session older than it is refused to nobody else
// only on the replicas that remember it.
const DefaultSessionTTL = 24 * time.Hour

// SessionStore shares MCP session bindings between replicas (middleware.SessionStore):
// one round trip to bind (SET NX GET, Redis 7.0 or later), one to look up a session a
// replica has not seen yet, none afterwards.
type SessionStore struct {
	s   *Store
	ttl time.Duration
}

var _ middleware.SessionStore = (*SessionStore)(nil)

// Sessions returns the session store over the same Redis and prefix; ttl is the life of
// a binding (DefaultSessionTTL when 0).
func (s *Store) Sessions(ttl time.Duration) *SessionStore {
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	return &SessionStore{s: s, ttl: ttl}
}

func (ss *SessionStore) key(id string) string { return ss.s.prefix + "session:" + id }

// Claim implements middleware.SessionStore.
func (ss *SessionStore) Claim(ctx context.Context, id string, p middleware.Principal) (middleware.Principal, error) {
	ctx, cancel := ss.s.ctx(ctx)
	defer cancel()
	v, _ := json.Marshal(p)
	old, err := ss.s.c.SetArgs(ctx, ss.key(id), v, goredis.SetArgs{Mode: "NX", Get: true, TTL: ss.ttl}).Bytes()
	if errors.Is(err, goredis.Nil) {
		return p, nil // set: it was free
	}
	if err != nil {
		return middleware.Principal{}, ss.s.fail("claim session", err)
	}
	var owner middleware.Principal
	if err := json.Unmarshal(old, &owner); err != nil {
		return middleware.Principal{}, ss.s.fail("claim session", err)
	}
	return owner, nil
}

// Lookup implements middleware.SessionStore.
func (ss *SessionStore) Lookup(ctx context.Context, id string) (middleware.Principal, bool, error) {
	ctx, cancel := ss.s.ctx(ctx)
	defer cancel()
	b, err := ss.s.c.Get(ctx, ss.key(id)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return middleware.Principal{}, false, nil
	}
	var p middleware.Principal
	if err == nil {
		err = json.Unmarshal(b, &p)
	}
	if err != nil {
		return middleware.Principal{}, false, ss.s.fail("look up session", err)
	}
	return p, true, nil
}

// Release implements middleware.SessionStore.
func (ss *SessionStore) Release(ctx context.Context, id string) error {
	ctx, cancel := ss.s.ctx(ctx)
	defer cancel()
	return ss.s.fail("release session", ss.s.c.Del(ctx, ss.key(id)).Err())
}
