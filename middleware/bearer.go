package middleware

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/audit"
	"github.com/mcpauth/mcpauth/scopes"
)

// DefaultMaxBodyBytes bounds the JSON-RPC body the middleware reads to find tool calls.
const DefaultMaxBodyBytes = 4 << 20

// CodeForbidden is the JSON-RPC error code (in the implementation-defined server error
// range) of the error body sent with a 403 for a single tools/call request.
const CodeForbidden = -32003

// DefaultMaxTokenBytes bounds the bearer token accepted from the Authorization header.
const DefaultMaxTokenBytes = 16 << 10

// Requirements looks up what an MCP operation needs. The middleware asks it for the tool
// named by each tools/call so it can answer 403 with a step-up challenge before the MCP
// server runs anything. ok is false for an unknown tool (the server then answers).
type Requirements interface {
	ToolRequirement(name string) (req scopes.Requirement, ok bool)
}

// Config configures the HTTP bearer middleware.
type Config struct {
	// Verifier checks bearer tokens. Required.
	Verifier mcpauth.TokenVerifier
	// ResourceMetadataURL is the URL of this resource's protected resource metadata
	// (RFC 9728), sent in every challenge so clients can discover how to sign in.
	ResourceMetadataURL string
	// RequiredScopes must be granted for any request to this resource.
	RequiredScopes scopes.Requirement
	// AllowedTenants, when not empty, lists the only tenants (AccessToken.TenantID)
	// allowed here; others get 403 access_denied.
	AllowedTenants []string
	// Tools, when set, enables the HTTP-level per-tool check of tools/call requests.
	Tools Requirements
	// Sessions, when set, binds each Mcp-Session-Id to the principal that created it.
	Sessions *SessionBinder
	// Service names the protected service in audit events.
	Service string
	// Audit receives one event per decision (default: audit.NewSlogSink(nil)).
	Audit audit.Sink
	// MaxBodyBytes bounds the request body read to inspect tool calls
	// (default DefaultMaxBodyBytes); a larger body gets 413.
	MaxBodyBytes int64
	// MaxTokenBytes bounds the bearer token (default DefaultMaxTokenBytes); a larger
	// token gets 401 invalid_token before any verification.
	MaxTokenBytes int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Validate reports a configuration mistake, naming the field.
func (c *Config) Validate() error {
	if c.Verifier == nil {
		return errors.New("middleware: Config.Verifier is nil: set a token verifier (for example bearer.New) or serve the handler without this middleware if it is meant to be public")
	}
	if c.MaxBodyBytes < 0 {
		return errors.New("middleware: Config.MaxBodyBytes is negative: leave it 0 for the default or set a positive limit")
	}
	return nil
}

// Bearer returns net/http middleware that authenticates every request with an
// Authorization: Bearer token and authorizes it against the configured rules:
//
//   - no token: 401 with a challenge naming the resource metadata and required scopes;
//   - a token in the query string: 400 invalid_request (tokens travel in the header only);
//   - a bad, expired or wrong-audience token: 401 error="invalid_token";
//   - an upstream needed to check the token is down: 503 with Retry-After;
//   - a valid token lacking a service-level scope: 403 error="insufficient_scope";
//   - a tenant not allowed: 403 access_denied;
//   - a tools/call for a tool whose scopes are not granted: 403 insufficient_scope whose
//     scope attribute lists the granted scopes plus those the call needs (step-up);
//   - a session ID used by a principal other than the one that created it: 403.
//
// The verified token is put in the request context (mcpauth.AccessTokenFromContext).
// Bearer panics if cfg is invalid; use NewBearer to get the error instead.
func Bearer(cfg Config) func(http.Handler) http.Handler {
	mw, err := NewBearer(cfg)
	if err != nil {
		panic(err)
	}
	return mw
}

// NewBearer is Bearer with the configuration error returned instead of a panic.
func NewBearer(cfg Config) (func(http.Handler) http.Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Audit == nil {
		cfg.Audit = audit.NewSlogSink(nil)
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxTokenBytes <= 0 {
		cfg.MaxTokenBytes = DefaultMaxTokenBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return func(next http.Handler) http.Handler {
		return &bearerHandler{cfg: cfg, next: next, serviceScopes: cfg.RequiredScopes.Scopes()}
	}, nil
}

type bearerHandler struct {
	cfg           Config
	next          http.Handler
	serviceScopes []string
}

// decision is what the handler decided for one request, filled in as it goes and
// recorded as one audit event.
type decision struct {
	start    time.Time
	r        *http.Request
	token    string
	tok      *mcpauth.AccessToken
	method   string
	tool     string
	required scopes.Requirement
	// rpcID is the id of the single JSON-RPC request in the body, when there is one; a
	// tool denial is then also answered as a JSON-RPC error for that id.
	rpcID json.RawMessage
}

func (h *bearerHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d := decision{start: h.cfg.Now(), r: r}
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		// CORS preflight requests never carry credentials; the MCP handler answers them.
		h.next.ServeHTTP(w, r)
		return
	}
	if hasQueryToken(r) {
		h.fail(w, &d, mcpauth.InvalidRequest("access tokens are accepted only in the Authorization header, never in the query string", nil), "token_in_query")
		return
	}
	token, present, perr := bearerToken(r, h.cfg.MaxTokenBytes)
	d.token = token
	if perr != nil {
		h.fail(w, &d, perr, "malformed_authorization")
		return
	}
	if !present {
		h.challengeMissing(w, &d)
		return
	}
	tok, err := h.cfg.Verifier.VerifyToken(r.Context(), token)
	if err == nil && tok == nil {
		err = mcpauth.InvalidToken("the token was not accepted", nil)
	}
	if err == nil && tok.Expired(h.cfg.Now()) {
		err = mcpauth.InvalidToken("token is expired", nil)
	}
	if err != nil {
		h.fail(w, &d, err, "")
		return
	}
	d.tok = tok

	// Service-level rules.
	if !h.cfg.RequiredScopes.Satisfied(tok.Scopes) {
		d.required = h.cfg.RequiredScopes
		m := h.cfg.RequiredScopes.Missing(tok.Scopes)
		h.fail(w, &d, mcpauth.InsufficientScope("this resource requires scope "+m.String()), "")
		return
	}
	if len(h.cfg.AllowedTenants) > 0 && !slices.Contains(h.cfg.AllowedTenants, tok.TenantID) {
		h.fail(w, &d, mcpauth.AccessDenied(fmt.Sprintf("tenant %q is not allowed on this resource", tok.TenantID)), "tenant_not_allowed")
		return
	}

	// Per-tool rules on the JSON-RPC body.
	if r.Method == http.MethodPost && h.cfg.Tools != nil {
		if !h.checkTools(w, &d) {
			return
		}
	}

	// Session binding.
	if h.cfg.Sessions != nil {
		principal := tok.Issuer + "\x00" + tok.Subject
		if sid := r.Header.Get("Mcp-Session-Id"); sid != "" {
			if !h.cfg.Sessions.Check(sid, principal) {
				h.fail(w, &d, mcpauth.AccessDenied("this MCP session belongs to another principal"), "session_mismatch")
				return
			}
			if r.Method == http.MethodDelete {
				defer h.cfg.Sessions.Forget(sid)
			}
		} else if r.Method == http.MethodPost {
			w = &sessionCapture{ResponseWriter: w, binder: h.cfg.Sessions, principal: principal}
		}
	}

	h.record(r.Context(), &d, audit.Allow, "", "", http.StatusOK)
	ctx := mcpauth.WithAccessToken(r.Context(), tok)
	if d.method == "tools/call" && d.tool != "" {
		ctx = context.WithValue(ctx, httpDecidedKey{}, d.tool)
	}
	h.next.ServeHTTP(w, r.WithContext(ctx))
}

// checkTools reads the body, finds every tools/call and checks its tool's requirement.
// It restores the body for the MCP server. It returns false when it answered.
func (h *bearerHandler) checkTools(w http.ResponseWriter, d *decision) bool {
	r := d.r
	body, err := readBody(r, h.cfg.MaxBodyBytes)
	_ = r.Body.Close()
	if err != nil {
		h.fail(w, d, mcpauth.InvalidRequest("the request body could not be read", err), "body_read_error")
		return false
	}
	if int64(len(body)) > h.cfg.MaxBodyBytes {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{
			"error":             mcpauth.CodeInvalidRequest,
			"error_description": fmt.Sprintf("the request body exceeds %d bytes", h.cfg.MaxBodyBytes),
		})
		h.record(r.Context(), d, audit.Deny, "body_too_large", "", http.StatusRequestEntityTooLarge)
		return false
	}
	r.Body = &restoredBody{Reader: bytes.NewReader(body)}
	if !bytes.Contains(body, toolsCall) {
		// No tool call to check (a client writing the method with JSON escapes only
		// loses the early 403: the MCP server still refuses the call).
		return true
	}
	calls, ok := inspectBody(body)
	if !ok {
		// The MCP server answers malformed JSON-RPC itself with a parse error.
		return true
	}
	var need scopes.Requirement
	var denied []string
	for i, c := range calls {
		if i == 0 {
			d.method = c.Method
		}
		if c.Method != "tools/call" {
			continue
		}
		if d.tool == "" {
			d.tool = c.Params.Name
		}
		req, known := h.cfg.Tools.ToolRequirement(c.Params.Name)
		if !known || req.IsZero() {
			continue
		}
		if need.IsZero() {
			need = req
		} else {
			need = need.And(req)
		}
		if !req.Satisfied(d.tok.Scopes) {
			denied = append(denied, fmt.Sprintf("tool %q requires %s", c.Params.Name, req.Missing(d.tok.Scopes)))
		}
	}
	if len(calls) > 1 {
		d.method = "batch"
	} else if len(calls) == 1 && len(calls[0].ID) > 0 && string(calls[0].ID) != "null" {
		d.rpcID = calls[0].ID
	}
	if len(denied) > 0 {
		d.required = need
		h.fail(w, d, mcpauth.InsufficientScope(strings.Join(denied, "; ")), "")
		return false
	}
	return true
}

// readBody reads at most limit+1 bytes of the body (one more than allowed, so the caller
// can tell an oversized body), in one allocation when the length is announced.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if n := r.ContentLength; n >= 0 && n <= limit {
		body := make([]byte, n)
		_, err := io.ReadFull(r.Body, body)
		return body, err
	}
	return io.ReadAll(io.LimitReader(r.Body, limit+1))
}

// restoredBody gives the MCP server the body the middleware read.
type restoredBody struct{ *bytes.Reader }

// Close does nothing: the original body was closed once read.
func (restoredBody) Close() error { return nil }

func (h *bearerHandler) challengeMissing(w http.ResponseWriter, d *decision) {
	ch := Challenge{ResourceMetadata: h.cfg.ResourceMetadataURL, Scope: h.cfg.RequiredScopes.StepUp(nil)}
	w.Header().Set("WWW-Authenticate", ch.String())
	writeJSON(w, http.StatusUnauthorized, map[string]any{
		"error":             "unauthorized",
		"error_description": "authentication required: send an access token in the Authorization: Bearer header",
	})
	h.record(d.r.Context(), d, audit.AuthFailure, "missing_token", "", http.StatusUnauthorized)
}

// fail answers with the status, challenge and JSON body err maps to, and records it.
func (h *bearerHandler) fail(w http.ResponseWriter, d *decision, err error, reason string) {
	e := mcpauth.AsError(err)
	status := e.Status
	if status == 0 {
		status = http.StatusUnauthorized
	}
	if reason == "" {
		reason = e.Code
	}
	var dec audit.Decision
	switch e.Code {
	case mcpauth.CodeInvalidToken, mcpauth.CodeInvalidRequest:
		dec = audit.AuthFailure
		if d.tok != nil {
			dec = audit.Deny
		}
		w.Header().Set("WWW-Authenticate", Challenge{
			ResourceMetadata: h.cfg.ResourceMetadataURL,
			Scope:            h.cfg.RequiredScopes.StepUp(nil),
			Error:            e.Code,
			Description:      e.Description,
		}.String())
	case mcpauth.CodeInsufficientScope:
		dec = audit.Deny
		var granted []string
		if d.tok != nil {
			granted = d.tok.Scopes
		}
		w.Header().Set("WWW-Authenticate", Challenge{
			ResourceMetadata: h.cfg.ResourceMetadataURL,
			Scope:            h.cfg.RequiredScopes.And(d.required).StepUp(granted),
			Error:            e.Code,
			Description:      e.Description,
		}.String())
	case mcpauth.CodeTemporarilyUnavailable:
		dec = audit.Unavailable
		retry := e.RetryAfter
		if retry <= 0 {
			retry = 5 * time.Second
		}
		w.Header().Set("Retry-After", strconv.Itoa(int((retry+time.Second-1)/time.Second)))
	default:
		dec = audit.Deny
	}
	oauth := map[string]any{"error": e.Code, "error_description": e.Description}
	if d.rpcID != nil {
		// A JSON-RPC client reading the body gets an error for its request, with the
		// OAuth fields as data; the status and challenge are the same.
		if ch := w.Header().Get("WWW-Authenticate"); ch != "" {
			oauth["www_authenticate"] = ch
		}
		writeJSON(w, status, map[string]any{
			"jsonrpc": "2.0",
			"id":      d.rpcID,
			"error":   map[string]any{"code": CodeForbidden, "message": e.Code + ": " + e.Description, "data": oauth},
		})
	} else {
		writeJSON(w, status, oauth)
	}
	h.record(d.r.Context(), d, dec, reason, e.Description, status)
}

func (h *bearerHandler) record(ctx context.Context, d *decision, dec audit.Decision, reason, desc string, status int) {
	if !audit.Enabled(ctx, h.cfg.Audit, dec) {
		return
	}
	ev := audit.Event{
		Time:           d.start,
		Decision:       dec,
		Reason:         reason,
		Description:    desc,
		Service:        h.cfg.Service,
		Method:         d.method,
		Tool:           d.tool,
		RemoteAddr:     d.r.RemoteAddr,
		RequestID:      d.r.Header.Get("X-Request-Id"),
		Status:         status,
		Latency:        h.cfg.Now().Sub(d.start),
		RequiredScopes: h.serviceScopes,
	}
	if d.method == "" {
		ev.Method = d.r.Method
	}
	if !d.required.IsZero() {
		ev.RequiredScopes = h.cfg.RequiredScopes.And(d.required).Scopes()
	}
	if d.tok != nil {
		ev.Subject, ev.ClientID, ev.TenantID = d.tok.Subject, d.tok.ClientID, d.tok.TenantID
		ev.Issuer, ev.Provider, ev.GrantedScopes = d.tok.Issuer, d.tok.Provider, d.tok.Scopes
		ev.TokenRef = audit.TokenRef(d.tok.ID, d.token)
	} else {
		// An unverified token's jti is not trusted; refer to it by hash only.
		ev.TokenRef = audit.TokenRef("", d.token)
	}
	h.cfg.Audit.Record(ctx, ev)
}

// bearerToken extracts the token from the Authorization header. present is false when
// there is no Bearer credential at all (another scheme counts as none).
func bearerToken(r *http.Request, maxBytes int) (token string, present bool, err error) {
	values := r.Header.Values("Authorization")
	if len(values) == 0 {
		return "", false, nil
	}
	if len(values) > 1 {
		return "", true, mcpauth.InvalidRequest("more than one Authorization header", nil)
	}
	scheme, rest, _ := strings.Cut(values[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false, nil
	}
	token = strings.TrimLeft(rest, " ")
	if token == "" {
		return "", true, mcpauth.InvalidToken("the bearer token is empty", nil)
	}
	if len(token) > maxBytes {
		return "", true, mcpauth.InvalidToken("token is too large", nil)
	}
	if !isB64Token(token) {
		return "", true, mcpauth.InvalidToken("the bearer token has characters RFC 6750 does not allow", nil)
	}
	return token, true, nil
}

// b64TokenChars marks the characters of RFC 6750's b64token before the "=" padding.
var b64TokenChars = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-._~+/" {
		t[c] = true
	}
	return t
}()

// isB64Token reports whether s matches RFC 6750's b64token:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	i := 0
	for i < len(s) && b64TokenChars[s[i]] {
		i++
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

func hasQueryToken(r *http.Request) bool {
	if r.URL.RawQuery == "" {
		return false
	}
	q := r.URL.Query()
	return q.Has("access_token") || q.Has("token")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

var toolsCall = []byte(`"tools/call"`)

type httpDecidedKey struct{}

// decidedByHTTP reports whether the HTTP middleware already authorized and recorded this
// request's call of tool, so that the in-server check, which still runs (a session's own
// tool may shadow the server's), does not record a second allow event.
func decidedByHTTP(ctx context.Context, tool string) bool {
	v, _ := ctx.Value(httpDecidedKey{}).(string)
	return v != "" && v == tool
}

// sessionCapture binds the session ID that the MCP server mints in its response to an
// initialize request.
type sessionCapture struct {
	http.ResponseWriter
	binder    *SessionBinder
	principal string
	done      bool
}

func (s *sessionCapture) capture() {
	if s.done {
		return
	}
	s.done = true
	if sid := s.Header().Get("Mcp-Session-Id"); sid != "" {
		s.binder.Bind(sid, s.principal)
	}
}

func (s *sessionCapture) WriteHeader(code int) {
	s.capture()
	s.ResponseWriter.WriteHeader(code)
}

func (s *sessionCapture) Write(b []byte) (int, error) {
	s.capture()
	return s.ResponseWriter.Write(b)
}

// Flush keeps streaming (SSE) responses working through the wrapper.
func (s *sessionCapture) Flush() {
	s.capture()
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *sessionCapture) Unwrap() http.ResponseWriter { return s.ResponseWriter }
