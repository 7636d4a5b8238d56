package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"github.com/mcpauth/mcpauth"
)

// Decision is the outcome an event records.
type Decision string

// Decisions.
const (
	// Allow: the request was authenticated and authorized.
	Allow Decision = "allow"
	// Deny: the caller was authenticated but is not allowed (scope, tenant, session).
	Deny Decision = "deny"
	// AuthFailure: the caller could not be authenticated (no token, bad token).
	AuthFailure Decision = "auth_failure"
	// Unavailable: an upstream was down, the one that checks tokens or the one the
	// service depends on (middleware.Config.Available); nothing was decided about the
	// caller.
	Unavailable Decision = "unavailable"
	// Cancelled: the caller went away (its request's context ended) before the token
	// was checked; nothing was decided about it.
	Cancelled Decision = "cancelled"
)

// Reason is a short machine-friendly reason for a decision other than an allow.
type Reason string

// Reasons. An allow event has no reason.
const (
	ReasonMissingToken           Reason = "missing_token"
	ReasonMalformedAuthorization Reason = "malformed_authorization"
	ReasonTokenInQuery           Reason = "token_in_query"
	ReasonInvalidToken           Reason = "invalid_token"
	ReasonInvalidRequest         Reason = "invalid_request"
	ReasonUpstreamUnavailable    Reason = "upstream_unavailable"
	ReasonInsufficientScope      Reason = "insufficient_scope"
	ReasonTenantNotAllowed       Reason = "tenant_not_allowed"
	ReasonSessionMismatch        Reason = "session_mismatch"
	ReasonInvalidSessionID       Reason = "invalid_session_id"
	ReasonSessionLimit           Reason = "session_limit"
	ReasonOriginNotAllowed       Reason = "origin_not_allowed"
	ReasonBodyTooLarge           Reason = "body_too_large"
	ReasonAccessDenied           Reason = "access_denied"
	ReasonCancelled              Reason = "cancelled"
)

// Event is one decision: exactly one is recorded per HTTP request (and one per message
// on stdio, where there is no HTTP request).
type Event struct {
	Time     time.Time
	Decision Decision
	// Reason says why a request was not allowed; empty for an allow.
	Reason Reason
	// Description is the human-readable detail given to the client, if any.
	Description string
	Subject     string
	ClientID    string
	TenantID    string
	Issuer      string
	Provider    string
	// TokenRef identifies the token without revealing it: its jti or a hash prefix.
	TokenRef string
	Service  string
	// HTTPMethod is the HTTP request method ("POST", "GET", "DELETE"); empty on stdio.
	HTTPMethod string
	// RPCMethod is the JSON-RPC method ("tools/call", "prompts/get", ...), when the
	// request reached the MCP server or named it.
	RPCMethod string
	// Target is what the operation acts on: a tool or prompt name, a resource URI.
	Target string
	// TargetKind is "tool", "prompt", "resource" or "resource_template" when Target is set.
	TargetKind     string
	RequiredScopes []string
	GrantedScopes  []string
	RemoteAddr     string
	RequestID      string
	Status         int
	Latency        time.Duration
}

// SetCaller fills the event's caller fields from a verified token (nil: none), and its
// TokenRef from the token's jti or, failing that, from raw, the bearer token as received
// ("" when unknown). An unverified token's jti is never trusted: pass tok nil for it.
func (e *Event) SetCaller(tok *mcpauth.AccessToken, raw string) {
	if tok == nil {
		e.TokenRef = TokenRef("", raw)
		return
	}
	e.Subject, e.ClientID, e.TenantID, e.Issuer = tok.Subject, tok.ClientID, tok.TenantID, tok.Issuer
	e.Provider, e.GrantedScopes = tok.Provider, tok.Scopes
	e.TokenRef = TokenRef(tok.ID, raw)
}

// Sink receives audit events. Record must be safe for concurrent use and should not block
// for long: it runs on the request path.
type Sink interface {
	Record(ctx context.Context, e Event)
}

// Enabler is implemented by sinks that can say, before an event is built, whether they
// would record a decision (a log sink whose level hides allow events, say). Building an
// event costs allocations on the request path; callers skip it when Enabled is false.
type Enabler interface {
	Enabled(ctx context.Context, d Decision) bool
}

// Enabled reports whether s records decisions of kind d: Enabler's answer, or true for
// sinks that do not implement it.
func Enabled(ctx context.Context, s Sink, d Decision) bool {
	if e, ok := s.(Enabler); ok {
		return e.Enabled(ctx, d)
	}
	return true
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, e Event)

// Record calls f.
func (f SinkFunc) Record(ctx context.Context, e Event) { f(ctx, e) }

// Discard is a Sink that drops every event.
var Discard Sink = discard{}

type discard struct{}

func (discard) Record(context.Context, Event)          {}
func (discard) Enabled(context.Context, Decision) bool { return false }

// Recorder is a Sink that keeps every event in memory, for tests that assert on them.
// The zero Recorder is ready to use and safe for concurrent use.
type Recorder struct {
	mu     sync.Mutex
	events []Event
}

// Record keeps e.
func (r *Recorder) Record(_ context.Context, e Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

// Events returns a copy of the events recorded so far, in order.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// Multi returns a Sink that records every event in each of sinks.
func Multi(sinks ...Sink) Sink {
	ss := append([]Sink(nil), sinks...)
	return SinkFunc(func(ctx context.Context, e Event) {
		for _, s := range ss {
			s.Record(ctx, e)
		}
	})
}

// SlogSink writes events as structured log records.
type SlogSink struct {
	logger *slog.Logger
	// AllowLevel is the level of allow events (default slog.LevelDebug, so that a busy
	// server does not log every call unless asked to).
	AllowLevel slog.Level
	// DenyLevel is the level of every other decision (default slog.LevelWarn).
	DenyLevel slog.Level
}

// NewSlogSink returns a sink writing to logger (slog.Default() when nil).
func NewSlogSink(logger *slog.Logger) *SlogSink {
	return &SlogSink{logger: logger, AllowLevel: slog.LevelDebug, DenyLevel: slog.LevelWarn}
}

func (s *SlogSink) loggerAndLevel(d Decision) (*slog.Logger, slog.Level) {
	logger := s.logger
	if logger == nil {
		logger = slog.Default()
	}
	if d == Allow {
		return logger, s.AllowLevel
	}
	return logger, s.DenyLevel
}

// Enabled reports whether the logger would write a record of decision d.
func (s *SlogSink) Enabled(ctx context.Context, d Decision) bool {
	logger, level := s.loggerAndLevel(d)
	return logger.Enabled(ctx, level)
}

// Record logs e as one record with message "mcpauth.audit".
func (s *SlogSink) Record(ctx context.Context, e Event) {
	logger, level := s.loggerAndLevel(e.Decision)
	if !logger.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 20)
	attrs = append(attrs, slog.String("decision", string(e.Decision)))
	add := func(k, v string) {
		if v != "" {
			attrs = append(attrs, slog.String(k, v))
		}
	}
	add("reason", string(e.Reason))
	add("description", e.Description)
	add("subject", e.Subject)
	add("client_id", e.ClientID)
	add("tenant", e.TenantID)
	add("issuer", e.Issuer)
	add("provider", e.Provider)
	add("token", e.TokenRef)
	add("service", e.Service)
	add("http_method", e.HTTPMethod)
	add("rpc_method", e.RPCMethod)
	add("target_kind", e.TargetKind)
	add("target", e.Target)
	if len(e.RequiredScopes) > 0 {
		attrs = append(attrs, slog.Any("required_scopes", e.RequiredScopes))
	}
	if len(e.GrantedScopes) > 0 {
		attrs = append(attrs, slog.Any("granted_scopes", e.GrantedScopes))
	}
	add("remote_addr", e.RemoteAddr)
	add("request_id", e.RequestID)
	if e.Status != 0 {
		attrs = append(attrs, slog.Int("status", e.Status))
	}
	if e.Latency > 0 {
		attrs = append(attrs, slog.Duration("latency", e.Latency))
	}
	logger.LogAttrs(ctx, level, "mcpauth.audit", attrs...)
}

// TokenRef returns a reference to a token that is safe to log: "jti:<jti>" when the
// token has an identifier, else "sha256:" and the first 12 hex digits of the token's
// SHA-256. It returns "" for an empty token.
func TokenRef(jti, token string) string {
	if jti != "" {
		return "jti:" + jti
	}
	if token == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(token))
	return "sha256:" + hex.EncodeToString(sum[:6])
}
