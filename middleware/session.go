package middleware

import (
	"context"
	"errors"
	"sync"

	"github.com/mcpauth/mcpauth"
)

const sessionHeader = "Mcp-Session-Id"

// maxSessionIDBytes bounds an Mcp-Session-Id header; the MCP transport allows only
// visible ASCII in it.
const maxSessionIDBytes = 256

// validSessionID reports whether id is at most maxSessionIDBytes of visible ASCII.
func validSessionID(id string) bool {
	if len(id) > maxSessionIDBytes {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// Principal is who owns a session: a token's issuer, subject and client. Two tokens are
// the same caller only when all three match.
type Principal struct{ Issuer, Subject, ClientID string }

// PrincipalOf returns the principal of a verified token.
func PrincipalOf(tok *mcpauth.AccessToken) Principal {
	return Principal{tok.Issuer, tok.Subject, tok.ClientID}
}

// ErrSessionLimit is returned by SessionBinder.Bind when the binder holds as many
// sessions as it may; the new session is refused (503), never an existing one evicted.
var ErrSessionLimit = errors.New("middleware: the session binder is full")

// SessionBinder remembers which principal (issuer, subject, client) each MCP session
// was issued to, so that a session is refused to anyone else. Only sessions the MCP
// server issued in a reply that passed through the bearer middleware are bound; a
// session id the binder has never seen is neither bound nor stored. A binding lives
// exactly as long as mcp-go's session: ServerOptions with ServerConfig.Sessions forgets
// it when mcp-go ends the session (DELETE, idle timeout). When the binder is full, new
// sessions are refused; existing bindings are never evicted.
//
// With several replicas, a SessionStore shares the bindings: a session issued by one
// replica is refused to anyone else on every replica. A binding already seen by a
// replica is answered from its memory (bindings never change once made), so a request
// on a known session costs no round trip. Owners learnt from the store are kept apart
// from the sessions this replica bound: they never count against maxSessions, and when
// as many are held, one is dropped to make room (it is looked up again if needed).
type SessionBinder struct {
	mu       sync.Mutex
	bindings map[string]Principal // sessions bound here
	seen     map[string]Principal // owners looked up in the shared store
	max      int
	shared   SessionStore
}

// SessionStore shares session bindings between replicas (redisstore.SessionStore is
// one). Its errors make the request fail closed (503).
type SessionStore interface {
	// Claim binds id to p unless it is bound already, atomically, and returns the
	// owner: p, or the principal id was bound to before.
	Claim(ctx context.Context, id string, p Principal) (Principal, error)
	// Lookup returns the owner of id, if it is bound.
	Lookup(ctx context.Context, id string) (Principal, bool, error)
	// Release drops the binding of id.
	Release(ctx context.Context, id string) error
}

// ErrSessionTaken is returned by SessionBinder.Bind when another replica bound the same
// session id to another principal first.
var ErrSessionTaken = errors.New("middleware: the session id is bound to another principal")

// DefaultMaxSessions is the binder size NewSessionBinder uses for maxSessions <= 0.
const DefaultMaxSessions = 100000

// NewSessionBinder returns a binder holding at most maxSessions bindings
// (DefaultMaxSessions when <= 0).
func NewSessionBinder(maxSessions int) *SessionBinder {
	if maxSessions <= 0 {
		maxSessions = DefaultMaxSessions
	}
	return &SessionBinder{bindings: map[string]Principal{}, max: maxSessions}
}

// NewSharedSessionBinder returns a binder that shares its bindings through shared (none
// when nil). It holds in memory at most maxSessions bindings of its own
// (DefaultMaxSessions when <= 0), and as many owners looked up in the shared store,
// dropping one of those when full.
func NewSharedSessionBinder(maxSessions int, shared SessionStore) *SessionBinder {
	b := NewSessionBinder(maxSessions)
	if shared != nil {
		b.shared, b.seen = shared, map[string]Principal{}
	}
	return b
}

// Owner returns the principal session id is bound to, if it is bound: from memory, or
// else from the shared store (remembered then). An error means the shared store could
// not answer.
func (b *SessionBinder) Owner(ctx context.Context, id string) (Principal, bool, error) {
	b.mu.Lock()
	p, known := b.bindings[id]
	if !known {
		p, known = b.seen[id]
	}
	b.mu.Unlock()
	if known || b.shared == nil {
		return p, known, nil
	}
	p, known, err := b.shared.Lookup(ctx, id)
	if err != nil || !known {
		return Principal{}, false, err
	}
	b.remember(id, p)
	return p, true, nil
}

// remember keeps an owner found in the shared store, dropping another when full.
func (b *SessionBinder) remember(id string, p Principal) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.seen) >= b.max {
		for old := range b.seen {
			delete(b.seen, old)
			break
		}
	}
	b.seen[id] = p
}

// Bind records that session id was issued to p. It returns ErrSessionLimit when the
// binder is full, ErrSessionTaken when another replica bound id to someone else, or the
// shared store's error.
func (b *SessionBinder) Bind(ctx context.Context, id string, p Principal) error {
	b.mu.Lock()
	room := b.roomLocked(id)
	b.mu.Unlock()
	if !room {
		return ErrSessionLimit
	}
	if b.shared != nil {
		owner, err := b.shared.Claim(ctx, id, p)
		if err != nil {
			return err
		}
		if owner != p {
			return ErrSessionTaken
		}
	}
	b.mu.Lock()
	if !b.roomLocked(id) {
		// Filled up while the store was asked: refuse, and release the claim made.
		b.mu.Unlock()
		if b.shared != nil {
			_ = b.shared.Release(ctx, id)
		}
		return ErrSessionLimit
	}
	b.bindings[id] = p
	delete(b.seen, id)
	b.mu.Unlock()
	return nil
}

// roomLocked reports whether session id is bound here or may be; b.mu is held.
func (b *SessionBinder) roomLocked(id string) bool {
	_, exists := b.bindings[id]
	return exists || len(b.bindings) < b.max
}

// Forget drops the binding of session id (its owner ended it with DELETE), here and in
// the shared store (where, if that fails, it expires by itself).
func (b *SessionBinder) Forget(ctx context.Context, id string) {
	b.forgetLocal(id)
	if b.shared != nil {
		_ = b.shared.Release(ctx, id)
	}
}

// forgetLocal drops the binding of session id from this replica's memory only.
func (b *SessionBinder) forgetLocal(id string) {
	b.mu.Lock()
	delete(b.bindings, id)
	delete(b.seen, id)
	b.mu.Unlock()
}

// Len returns the number of sessions bound here (not counting owners looked up in the
// shared store).
func (b *SessionBinder) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.bindings)
}
