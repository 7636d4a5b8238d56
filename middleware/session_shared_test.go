package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth/audit"
	"github.com/mcpauth/mcpauth/middleware"
)

// sharedSessions is a SessionStore in memory, counting its calls, that can be made to
// fail.
type sharedSessions struct {
	mu       sync.Mutex
	bindings map[string]middleware.Principal
	calls    int
	down     bool
	// onClaim, when set, runs once at the start of the next Claim, before the store is
	// changed (to act while a binder waits for the store).
	onClaim func()
}

var errStoreDown = errors.New("store down")

func (s *sharedSessions) call() error {
	s.calls++
	if s.down {
		return errStoreDown
	}
	return nil
}

func (s *sharedSessions) Claim(_ context.Context, id string, p middleware.Principal) (middleware.Principal, error) {
	if hook := s.onClaim; hook != nil {
		s.onClaim = nil
		hook()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call(); err != nil {
		return middleware.Principal{}, err
	}
	if owner, ok := s.bindings[id]; ok {
		return owner, nil
	}
	s.bindings[id] = p
	return p, nil
}

func (s *sharedSessions) Lookup(_ context.Context, id string) (middleware.Principal, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call(); err != nil {
		return middleware.Principal{}, false, err
	}
	p, ok := s.bindings[id]
	return p, ok, nil
}

func (s *sharedSessions) Release(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call(); err != nil {
		return err
	}
	delete(s.bindings, id)
	return nil
}

func (s *sharedSessions) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// TestSharedSessionBindings: two replicas share session bindings. A session issued on
// one is refused to anyone else on the other; a binding a replica has seen costs no
// round trip; a store that cannot answer fails closed (503) for sessions the replica
// does not know, and does not touch those it knows.
func TestSharedSessionBindings(t *testing.T) {
	shared := &sharedSessions{bindings: map[string]middleware.Principal{}}
	a, _, _ := newMCPHandler(t, func(c *middleware.Config) { c.Sessions = middleware.NewSharedSessionBinder(0, shared) })
	b, sinkB, _ := newMCPHandler(t, func(c *middleware.Config) { c.Sessions = middleware.NewSharedSessionBinder(0, shared) })

	sid := initialize(t, a, "alice-token")
	assert.Equal(t, middleware.Principal{Issuer: "iss", Subject: "alice"}, shared.bindings[sid], "claimed in the shared store")

	// On replica b, bob may not use alice's session.
	w := do(b, "POST", "/notes/mcp", "bob-token", callList, "Mcp-Session-Id", sid)
	assert.Equal(t, http.StatusForbidden, w.Code)
	assert.Contains(t, w.Header().Get("WWW-Authenticate"), `error_description="this MCP session belongs to another principal"`)
	assert.Equal(t, audit.ReasonSessionMismatch, last(sinkB).Reason)

	// alice may; from then on b answers from memory: no round trip.
	do(b, "POST", "/notes/mcp", "alice-token", callList, "Mcp-Session-Id", sid)
	before := shared.count()
	for range 5 {
		assert.NotEqual(t, http.StatusForbidden, do(b, "POST", "/notes/mcp", "alice-token", callList, "Mcp-Session-Id", sid).Code)
		assert.Equal(t, http.StatusForbidden, do(b, "POST", "/notes/mcp", "bob-token", callList, "Mcp-Session-Id", sid).Code)
	}
	assert.Equal(t, before, shared.count(), "a known session costs no round trip")

	// The store goes down: known sessions still work, unknown ones get 503.
	shared.mu.Lock()
	shared.down = true
	shared.mu.Unlock()
	assert.NotEqual(t, http.StatusServiceUnavailable, do(b, "POST", "/notes/mcp", "alice-token", callList, "Mcp-Session-Id", sid).Code)
	w = do(b, "POST", "/notes/mcp", "alice-token", callList, "Mcp-Session-Id", "some-other-session")
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.Equal(t, "5", w.Header().Get("Retry-After"))
	assert.Equal(t, audit.ReasonUpstreamUnavailable, last(sinkB).Reason)
	w = do(a, "POST", "/notes/mcp", "bob-token", initBody)
	assert.Equal(t, http.StatusServiceUnavailable, w.Code, "a new session cannot be bound: refused, not left unbound")
	assert.Empty(t, w.Header().Get("Mcp-Session-Id"))
}

// TestSharedSessionIDTakenElsewhere: a session id another replica bound to someone else
// is never bound here to the new caller.
func TestSharedSessionIDTakenElsewhere(t *testing.T) {
	shared := &sharedSessions{bindings: map[string]middleware.Principal{}}
	binder := middleware.NewSharedSessionBinder(0, shared)
	ctx := context.Background()
	alice := middleware.Principal{Issuer: "iss", Subject: "alice"}
	require.NoError(t, binder.Bind(ctx, "s1", alice))
	other := middleware.NewSharedSessionBinder(0, shared)
	err := other.Bind(ctx, "s1", middleware.Principal{Issuer: "iss", Subject: "mallory"})
	assert.ErrorIs(t, err, middleware.ErrSessionTaken)
	owner, known, err := other.Owner(ctx, "s1")
	require.NoError(t, err)
	assert.True(t, known)
	assert.Equal(t, alice, owner)

	// DELETE by the owner releases it in the shared store: a replica that has not seen
	// the session finds no owner.
	binder.Forget(ctx, "s1")
	_, known, err = middleware.NewSharedSessionBinder(0, shared).Owner(ctx, "s1")
	require.NoError(t, err)
	assert.False(t, known)
	assert.NotContains(t, shared.bindings, "s1")
}

// TestSharedOwnersDoNotFillTheBinder: owners a replica looked up in the shared store
// (sessions another replica bound) never take the room of sessions it binds itself, and
// are held in bounded memory.
func TestSharedOwnersDoNotFillTheBinder(t *testing.T) {
	shared := &sharedSessions{bindings: map[string]middleware.Principal{}}
	ctx := context.Background()
	alice := middleware.Principal{Issuer: "iss", Subject: "alice"}
	a := middleware.NewSharedSessionBinder(0, shared)
	for _, id := range []string{"a1", "a2", "a3"} {
		require.NoError(t, a.Bind(ctx, id, alice))
	}
	b := middleware.NewSharedSessionBinder(1, shared)
	for _, id := range []string{"a1", "a2", "a3"} {
		owner, known, err := b.Owner(ctx, id)
		require.NoError(t, err)
		require.True(t, known)
		assert.Equal(t, alice, owner)
	}
	assert.Equal(t, 0, b.Len(), "owners looked up are not sessions bound here")
	require.NoError(t, b.Bind(ctx, "b1", alice), "room is left for this replica's own session")
	assert.ErrorIs(t, b.Bind(ctx, "b2", alice), middleware.ErrSessionLimit)

	// One looked-up owner is held (the binder's size), the last: a3 is answered from
	// memory, a1 was dropped and is looked up again.
	calls := shared.calls
	owner, known, err := b.Owner(ctx, "a3")
	require.NoError(t, err)
	assert.True(t, known)
	assert.Equal(t, alice, owner)
	assert.Equal(t, calls, shared.calls, "a3 is answered from memory")
	owner, known, err = b.Owner(ctx, "a1")
	require.NoError(t, err)
	assert.True(t, known, "an owner dropped from memory is looked up again")
	assert.Equal(t, alice, owner)
	assert.Equal(t, calls+1, shared.calls, "a1 was dropped from memory: one lookup")
}

// TestClaimReleasedWhenTheBinderFillsMeanwhile: a session claimed in the shared store
// while the binder filled up (another session bound during the claim) is refused, and
// its claim released.
func TestClaimReleasedWhenTheBinderFillsMeanwhile(t *testing.T) {
	shared := &sharedSessions{bindings: map[string]middleware.Principal{}}
	ctx := context.Background()
	alice := middleware.Principal{Issuer: "iss", Subject: "alice"}
	b := middleware.NewSharedSessionBinder(1, shared)
	shared.onClaim = func() { require.NoError(t, b.Bind(ctx, "first", alice)) }
	assert.ErrorIs(t, b.Bind(ctx, "second", alice), middleware.ErrSessionLimit)
	assert.Contains(t, shared.bindings, "first")
	assert.NotContains(t, shared.bindings, "second", "the refused session's claim is released")
	assert.Equal(t, 1, b.Len())
}

// last is the last event a recorder received.
func last(r *audit.Recorder) audit.Event {
	ev := r.Events()
	if len(ev) == 0 {
		return audit.Event{}
	}
	return ev[len(ev)-1]
}
