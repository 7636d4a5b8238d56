package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/audit"
	"github.com/mcpauth/mcpauth/internal/ctxkey"
	"github.com/mcpauth/mcpauth/scopes"
)

// exchange is one HTTP request on its way through the bearer middleware and the MCP
// server. It is the per-request slot the in-server enforcer writes its decision into,
// and the response writer that renders that decision: a refusal recorded by the
// enforcer turns the first WriteHeader of mcp-go's reply into the refusal's status,
// challenge and body. It records the request's one audit event.
type exchange struct {
	http.ResponseWriter
	h *bearerHandler
	// r is the request as received. The exchange is itself the context the MCP server
	// sees (see Value): r's context, answering also the verified token and the slot,
	// which so cost no allocation of their own.
	r *http.Request
	// req is the request handed to the MCP server: r with the exchange as its context,
	// held here so that it costs no allocation of its own.
	req   http.Request
	start time.Time
	token string
	tok   *mcpauth.AccessToken
	body  limitedBody

	// sessionID is the session the request names; bindSession asks to bind the
	// session the reply issues, if any.
	sessionID   string
	bindSession bool

	mu sync.Mutex
	// Written by the enforcer (ServerOptions) inside mcp-go.
	rpcMethod string
	rpcID     any
	op        operation // meaningful when decided
	decided   bool
	// Response state.
	expiry      *time.Timer // ends a streamed reply when the token expires
	recheck     *time.Timer // verifies a stream's token again (watch)
	expired     bool        // the token expired or was found revoked: nothing more is written
	wroteHeader bool
	finished    bool // finish ran: no more timers
	swallow     bool // a refusal was rendered: mcp-go's own reply is dropped
	status      int
	dec         audit.Decision
	reason      audit.Reason
	desc        string
}

// operation is the in-server decision about what a request runs.
type operation struct {
	kind, target string
	need         scopes.Requirement
	err          *mcpauth.Error // nil when allowed
}

type exchangeKey struct{}

// The exchange is a context.Context: its request's context, answering also the verified
// token (mcpauth.AccessTokenFromContext) and the slot itself (exchangeFrom).
func (x *exchange) Deadline() (time.Time, bool) { return x.r.Context().Deadline() }
func (x *exchange) Done() <-chan struct{}       { return x.r.Context().Done() }
func (x *exchange) Err() error                  { return x.r.Context().Err() }
func (x *exchange) Value(key any) any {
	switch key.(type) {
	case exchangeKey:
		return x
	case ctxkey.AccessToken:
		return x.tok
	}
	return x.r.Context().Value(key)
}

func exchangeFrom(ctx context.Context) *exchange {
	x, _ := ctx.Value(exchangeKey{}).(*exchange)
	return x
}

// setRPC records the JSON-RPC method and id of the message mcp-go is handling.
func (x *exchange) setRPC(method string, id any) {
	x.mu.Lock()
	x.rpcMethod, x.rpcID = method, id
	x.mu.Unlock()
}

// rpc returns the JSON-RPC method recorded by setRPC.
func (x *exchange) rpc() string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.rpcMethod
}

// decide records the in-server decision about the request's operation. A refusal
// stands against any later allow.
func (x *exchange) decide(kind, target string, need scopes.Requirement, refusal *mcpauth.Error) {
	x.mu.Lock()
	if !x.decided || (x.op.err == nil && refusal != nil) {
		x.op, x.decided = operation{kind: kind, target: target, need: need, err: refusal}, true
	}
	x.mu.Unlock()
}

// decidedOn reports whether the request's operation on target was already decided.
func (x *exchange) decidedOn(kind, target string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.decided && x.op.kind == kind && x.op.target == target
}

// WriteHeader renders the request's outcome on mcp-go's first reply header: a refusal
// the enforcer recorded, a body over the limit, a session that cannot be bound.
func (x *exchange) WriteHeader(code int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.writeHeaderLocked(code)
}

func (x *exchange) writeHeaderLocked(code int) {
	if x.wroteHeader {
		if !x.swallow {
			x.ResponseWriter.WriteHeader(code)
		}
		return
	}
	x.wroteHeader = true
	switch {
	case x.body.exceeded:
		x.renderLocked(errBodyTooLarge, audit.ReasonBodyTooLarge, scopes.Requirement{})
		return
	case x.decided && x.op.err != nil:
		x.renderLocked(x.op.err, audit.ReasonInsufficientScope, x.op.need)
		return
	}
	if x.bindSession && code < 300 {
		if sid := headerValue(x.Header(), sessionHeader); sid != "" {
			if err := x.h.cfg.Sessions.Bind(x.r.Context(), sid, PrincipalOf(x.tok)); err != nil {
				x.Header().Del(sessionHeader)
				desc, reason, wait := "the session store is unavailable: try again shortly", audit.ReasonUpstreamUnavailable, storeRetryAfter
				switch {
				case errors.Is(err, ErrSessionLimit):
					desc, reason, wait = "too many MCP sessions are open: try again later", audit.ReasonSessionLimit, sessionRetryAfter
				case errors.Is(err, ErrSessionTaken):
					desc, reason = "the new session's id is already bound: open another session", audit.ReasonSessionMismatch
				}
				x.renderLocked(mcpauth.UpstreamUnavailable(desc, wait, err), reason, scopes.Requirement{})
				return
			}
		}
	}
	if x.r.Method == http.MethodDelete && code < 300 && x.sessionID != "" {
		x.h.cfg.Sessions.Forget(x.r.Context(), x.sessionID)
	}
	x.dec, x.status = audit.Allow, code
	if x.r.Method == http.MethodPost && !x.tok.ExpiresAt.IsZero() && strings.HasPrefix(headerValue(x.Header(), contentTypeHeader), "text/event-stream") {
		// A streamed reply must not outlive the token: nothing more is written once it
		// expires. (A GET stream's context ends then; see bearerHandler.)
		x.expiry = time.AfterFunc(x.tok.ExpiresAt.Sub(x.h.cfg.Now()), x.expire)
		x.watchLocked(nil)
	}
	x.ResponseWriter.WriteHeader(code)
}

// watch verifies the token of a long-lived reply again every StreamRecheck, and ends
// the reply (cancel, when not nil, and no more writes) once the token is refused. An
// upstream outage is not a refusal: the stream goes on and is checked again later.
func (x *exchange) watch(cancel context.CancelFunc) {
	x.mu.Lock()
	x.watchLocked(cancel)
	x.mu.Unlock()
}

func (x *exchange) watchLocked(cancel context.CancelFunc) {
	if x.h.cfg.StreamRecheck < 0 || x.finished {
		return
	}
	x.recheck = time.AfterFunc(x.h.cfg.StreamRecheck, func() {
		ctx, done := context.WithTimeout(context.Background(), x.h.cfg.StreamRecheck)
		tok, err := x.h.cfg.Verifier.VerifyToken(ctx, x.token)
		done()
		refused := (err != nil && !errors.Is(err, mcpauth.ErrUpstreamUnavailable)) || tok == nil && err == nil || tok != nil && tok.Expired(x.h.cfg.Now())
		if refused {
			x.expire()
			if cancel != nil {
				cancel()
			}
			return
		}
		x.watch(cancel)
	})
}

// errTokenExpired is what writing a streamed reply returns once its token has expired.
var errTokenExpired = errors.New("middleware: the access token of this stream has expired")

func (x *exchange) expire() {
	x.mu.Lock()
	x.expired = true
	x.mu.Unlock()
}

// sessionRetryAfter is the Retry-After of a new session refused because the binder is
// full; storeRetryAfter that of a request the shared session store could not answer.
const (
	sessionRetryAfter = 30 * time.Second
	storeRetryAfter   = 5 * time.Second
)

func (x *exchange) Write(b []byte) (int, error) {
	x.mu.Lock()
	if !x.wroteHeader {
		x.writeHeaderLocked(http.StatusOK)
	}
	swallow, expired := x.swallow, x.expired
	x.mu.Unlock()
	if swallow {
		return len(b), nil
	}
	if expired {
		return 0, errTokenExpired
	}
	return x.ResponseWriter.Write(b)
}

// Flush keeps streaming (SSE) responses working through the wrapper.
func (x *exchange) Flush() {
	x.mu.Lock()
	if !x.wroteHeader {
		x.writeHeaderLocked(http.StatusOK)
	}
	stop := x.swallow || x.expired
	x.mu.Unlock()
	if stop {
		return
	}
	if f, ok := x.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (x *exchange) Unwrap() http.ResponseWriter { return x.ResponseWriter }

// refuse answers a request the HTTP layer refused before it reached the MCP server.
func (x *exchange) refuse(err error, reason audit.Reason) {
	x.mu.Lock()
	x.wroteHeader = true
	x.renderLocked(mcpauth.AsError(err), reason, scopes.Requirement{})
	x.mu.Unlock()
	x.finish()
}

// renderLocked writes a refusal: its status, its challenge, and one body shape (a
// JSON-RPC error for a JSON-RPC request, the OAuth error object otherwise). It is the
// only place that writes a refusal.
func (x *exchange) renderLocked(e *mcpauth.Error, reason audit.Reason, need scopes.Requirement) {
	x.swallow = true
	status := e.Status
	if status == 0 {
		status = http.StatusUnauthorized
	}
	if reason == "" {
		reason = audit.Reason(e.Code)
		if e.Code == mcpauth.CodeTemporarilyUnavailable {
			reason = audit.ReasonUpstreamUnavailable
		}
	}
	hd := x.ResponseWriter.Header()
	var challenge string
	code := e.Code
	switch {
	case e.Code == mcpauth.CodeTemporarilyUnavailable:
		retry := e.RetryAfter
		if retry <= 0 {
			retry = 5 * time.Second
		}
		hd.Set("Retry-After", strconv.Itoa(int((retry+time.Second-1)/time.Second)))
	case status == http.StatusRequestEntityTooLarge:
	default:
		ch := Challenge{
			ResourceMetadata: x.h.cfg.ResourceMetadataURL,
			Scope:            x.h.challengeScopes(x.tok, need),
			Error:            e.Code,
			Description:      e.Description,
		}
		if reason == audit.ReasonMissingToken {
			// RFC 6750 §3.1: no error attribute when the request had no credentials.
			ch.Error, ch.Description, code = "", "", "unauthorized"
		}
		challenge = ch.String()
		hd.Set("WWW-Authenticate", challenge)
	}
	hd.Del("Content-Length")
	hd.Set("Content-Type", "application/json")
	hd.Set("Cache-Control", "no-store")

	oauth := map[string]any{"error": code, "error_description": e.Description}
	var body any = oauth
	if id, ok := x.jsonrpcIDLocked(); ok {
		if challenge != "" {
			oauth["www_authenticate"] = challenge
		}
		body = map[string]any{
			"jsonrpc": "2.0",
			"id":      id,
			"error":   map[string]any{"code": CodeForbidden, "message": code + ": " + e.Description, "data": oauth},
		}
	}
	x.ResponseWriter.WriteHeader(status)
	_ = json.NewEncoder(x.ResponseWriter).Encode(body)

	dec := audit.Deny
	switch {
	case reason == audit.ReasonUpstreamUnavailable:
		dec = audit.Unavailable
	case reason == audit.ReasonCancelled:
		dec = audit.Cancelled
	case x.tok == nil:
		dec = audit.AuthFailure
	}
	x.dec, x.reason, x.desc, x.status = dec, reason, e.Description, status
}

// maxIDScan bounds the body read on a refusal path to find the JSON-RPC id.
const maxIDScan = 64 << 10

// jsonrpcIDLocked returns the id of the request's JSON-RPC message: the one mcp-go
// parsed, or for a request refused before the MCP server read it, the body's (read on
// this refusal path only, at most maxIDScan bytes).
func (x *exchange) jsonrpcIDLocked() (any, bool) {
	if x.rpcMethod != "" {
		return x.rpcID, x.rpcID != nil
	}
	if x.r.Method != http.MethodPost || x.r.Body == nil || x.body.read {
		return nil, false
	}
	b, err := io.ReadAll(io.LimitReader(x.r.Body, maxIDScan+1))
	if err != nil || len(b) > maxIDScan {
		return nil, false
	}
	var msg struct {
		JSONRPC string `json:"jsonrpc"`
		ID      any    `json:"id"`
		Method  string `json:"method"`
	}
	if json.Unmarshal(b, &msg) != nil || msg.JSONRPC != "2.0" || msg.ID == nil || msg.Method == "" {
		return nil, false
	}
	x.rpcMethod = msg.Method
	return msg.ID, true
}

// finish records the request's audit event, once the reply has been written.
func (x *exchange) finish() {
	x.mu.Lock()
	x.finished = true
	if x.expiry != nil {
		x.expiry.Stop()
	}
	if x.recheck != nil {
		x.recheck.Stop()
	}
	if !x.wroteHeader {
		// The handler wrote nothing: net/http answers 200.
		x.wroteHeader, x.dec, x.status = true, audit.Allow, http.StatusOK
	}
	x.mu.Unlock()
	if !audit.Enabled(x.r.Context(), x.h.cfg.Audit, x.dec) {
		return
	}
	x.mu.Lock()
	ev := audit.Event{
		Time:           x.start,
		Decision:       x.dec,
		Reason:         x.reason,
		Description:    x.desc,
		Service:        x.h.cfg.Service,
		HTTPMethod:     x.r.Method,
		RPCMethod:      x.rpcMethod,
		RemoteAddr:     x.r.RemoteAddr,
		RequestID:      x.r.Header.Get("X-Request-Id"),
		Status:         x.status,
		Latency:        x.h.cfg.Now().Sub(x.start),
		RequiredScopes: x.h.serviceScopes,
	}
	var need scopes.Requirement
	if op := x.op; x.decided {
		ev.TargetKind, ev.Target, need = op.kind, op.target, op.need
	}
	x.mu.Unlock()
	if !need.IsZero() {
		ev.RequiredScopes = x.h.cfg.RequiredScopes.And(need).Scopes()
	}
	ev.SetCaller(x.tok, x.token)
	x.h.cfg.Audit.Record(x.r.Context(), ev)
}

// limitedBody bounds what the MCP server reads of the request body. Past the limit the
// read fails, and the exchange answers 413 instead of whatever mcp-go replies.
type limitedBody struct {
	rc       io.ReadCloser
	left     int64
	exceeded bool
	read     bool
}

var errBodyTooLarge = &mcpauth.Error{Code: mcpauth.CodeInvalidRequest, Status: http.StatusRequestEntityTooLarge, Description: "the request body is too large"}

func (b *limitedBody) Read(p []byte) (int, error) {
	b.read = true
	if b.exceeded {
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	if int64(n) > b.left {
		b.exceeded = true
		return int(b.left), errBodyTooLarge
	}
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
