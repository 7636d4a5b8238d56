package middleware

import (
	"sync"
	"time"
)

// SessionBinder remembers which principal created each MCP session (Mcp-Session-Id) so
// that a session created under one subject is refused for another. It is bounded: at
// most MaxSessions bindings are kept, idle bindings older than IdleTTL are dropped, and
// when full the least recently used of a small sample is evicted.
//
// A session ID the binder has never seen is bound to the first principal that uses it.
type SessionBinder struct {
	mu       sync.Mutex
	bindings map[string]binding
	max      int
	idle     time.Duration
	now      func() time.Time
}

type binding struct {
	principal string
	lastSeen  time.Time
}

// NewSessionBinder returns a binder holding at most maxSessions bindings (default
// 100,000 when <= 0) that forgets a session idle for idleTTL (default 24h when <= 0).
// now is the clock (time.Now when nil).
func NewSessionBinder(maxSessions int, idleTTL time.Duration, now func() time.Time) *SessionBinder {
	if maxSessions <= 0 {
		maxSessions = 100000
	}
	if idleTTL <= 0 {
		idleTTL = 24 * time.Hour
	}
	if now == nil {
		now = time.Now
	}
	return &SessionBinder{bindings: map[string]binding{}, max: maxSessions, idle: idleTTL, now: now}
}

// Check reports whether principal may use session id, binding the session to principal
// when it is not bound yet.
func (b *SessionBinder) Check(id, principal string) bool {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if cur, ok := b.bindings[id]; ok && now.Sub(cur.lastSeen) < b.idle {
		if cur.principal != principal {
			return false
		}
		b.bindings[id] = binding{principal: principal, lastSeen: now}
		return true
	}
	b.bindLocked(id, principal, now)
	return true
}

// Bind records that principal created session id.
func (b *SessionBinder) Bind(id, principal string) {
	now := b.now()
	b.mu.Lock()
	b.bindLocked(id, principal, now)
	b.mu.Unlock()
}

func (b *SessionBinder) bindLocked(id, principal string, now time.Time) {
	if _, exists := b.bindings[id]; !exists && len(b.bindings) >= b.max {
		var victim string
		var oldest time.Time
		n := 0
		for k, v := range b.bindings {
			if n == 0 || v.lastSeen.Before(oldest) {
				victim, oldest = k, v.lastSeen
			}
			n++
			if n == 8 {
				break
			}
		}
		delete(b.bindings, victim)
	}
	b.bindings[id] = binding{principal: principal, lastSeen: now}
}

// Forget drops the binding of session id (after the session is deleted).
func (b *SessionBinder) Forget(id string) {
	b.mu.Lock()
	delete(b.bindings, id)
	b.mu.Unlock()
}

// Len returns the number of bindings held.
func (b *SessionBinder) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.bindings)
}
