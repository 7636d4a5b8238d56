package middleware

import (
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
type SessionBinder struct {
	mu       sync.Mutex
	bindings map[string]Principal
	max      int
}

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

// Owner returns the principal session id is bound to, if it is bound.
func (b *SessionBinder) Owner(id string) (p Principal, known bool) {
	b.mu.Lock()
	p, known = b.bindings[id]
	b.mu.Unlock()
	return p, known
}

// Bind records that session id was issued to p. It returns ErrSessionLimit when the
// binder is full.
func (b *SessionBinder) Bind(id string, p Principal) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, exists := b.bindings[id]; !exists && len(b.bindings) >= b.max {
		return ErrSessionLimit
	}
	b.bindings[id] = p
	return nil
}

// Forget drops the binding of session id (the session has ended).
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
