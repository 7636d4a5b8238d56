package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/audit"
	"github.com/mcpauth/mcpauth/internal/tokenformat"
	"github.com/mcpauth/mcpauth/scopes"
)

// DefaultMaxBodyBytes bounds the request body the MCP server may read; a larger body
// gets 413.
const DefaultMaxBodyBytes = 4 << 20

// CodeForbidden is the JSON-RPC error code of the error body sent with every refusal of
// a JSON-RPC request. It is outside the range JSON-RPC reserves for implementations
// (-32000 to -32099), which MCP 2026-07-28 marks legacy or takes for its own codes.
const CodeForbidden = -31000

// DefaultMaxTokenBytes bounds the bearer token accepted from the Authorization header.
const DefaultMaxTokenBytes = 16 << 10

// Config configures the HTTP bearer middleware.
type Config struct {
	// Verifier checks bearer tokens. Required.
	Verifier mcpauth.TokenVerifier
	// ResourceMetadataURL is the URL of this resource's protected resource metadata
	// (RFC 9728), sent in every challenge so clients can discover how to sign in.
	ResourceMetadataURL string
	// RequiredScopes must be granted for any request to this resource.
	RequiredScopes scopes.Requirement
	// ChallengeScopes are the scopes a 401 challenge asks for when RequiredScopes is
	// empty: typically every scope the service's tools, prompts and resources use. It
	// is called for each 401 (refusals only), so it may read a changing tool set.
	ChallengeScopes func() []string
	// AllowedTenants, when not empty, lists the only tenants (AccessToken.TenantID)
	// allowed here; others get 403 access_denied.
	AllowedTenants []string
	// Sessions, when set, binds each Mcp-Session-Id the MCP server issues to the
	// principal (issuer, subject, client) it was issued to.
	Sessions *SessionBinder
	// Available, when set, is asked about every request whose token and service-level
	// rules passed: while it returns an error (an upstream the service depends on is
	// down, such as gateway.Service.Available), the request is refused with 503
	// temporarily_unavailable and Retry-After (UnavailableRetryAfter), recorded as an
	// unavailable decision. Its error is never shown to the caller (whatever it names
	// of the upstream stays on the server). A caller without a valid token still gets
	// its 401 first, and learns nothing of the upstream.
	Available func() error
	// Service names the protected service in audit events.
	Service string
	// Audit receives exactly one event per request (default: audit.NewSlogSink(nil)).
	Audit audit.Sink
	// MaxBodyBytes bounds the request body (default DefaultMaxBodyBytes); a larger
	// body gets 413.
	MaxBodyBytes int64
	// MaxTokenBytes bounds the bearer token (default DefaultMaxTokenBytes); a larger
	// token gets 401 invalid_token before any verification.
	MaxTokenBytes int
	// StreamRecheck is how often the token of a long-lived reply (a GET event stream,
	// a streamed POST reply) is verified again, so that a stream ends once its token is
	// found revoked, not only when it expires (default DefaultStreamRecheck; negative:
	// never). With a cached verifier, the cache answers until its entry lapses.
	StreamRecheck time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// UnavailableRetryAfter is the Retry-After of a request refused because Config.Available
// reported the service down.
const UnavailableRetryAfter = 5 * time.Second

// DefaultStreamRecheck is how often a stream's token is verified again by default.
const DefaultStreamRecheck = time.Minute

// Validate reports every configuration mistake at once, naming the field and the fix.
func (c *Config) Validate() error {
	var problems []string
	if c.Verifier == nil {
		problems = append(problems, "Config.Verifier is nil: set a token verifier (for example bearer.New) or serve the handler without this middleware if it is meant to be public")
	}
	if u, err := url.Parse(c.ResourceMetadataURL); c.ResourceMetadataURL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		problems = append(problems, fmt.Sprintf("Config.ResourceMetadataURL %q is not an absolute http(s) URL: set the URL of this resource's protected resource metadata (RFC 9728), such as https://mcp.example.com/.well-known/oauth-protected-resource/mcp, which every challenge names so that clients can find where to sign in", c.ResourceMetadataURL))
	}
	if c.MaxBodyBytes < 0 {
		problems = append(problems, "Config.MaxBodyBytes is negative: leave it 0 for the default or set a positive limit")
	}
	if len(problems) > 0 {
		return errors.New("middleware: " + strings.Join(problems, "; "))
	}
	return nil
}

// Bearer returns net/http middleware that authenticates every request with an
// Authorization: Bearer token and enforces the rules only the HTTP layer can know:
//
//   - no token: 401 with a challenge naming the resource metadata and scopes;
//   - a token in the query string: 400 invalid_request (tokens travel in the header only);
//   - a bad, expired or wrong-audience token: 401 error="invalid_token";
//   - an upstream needed to check the token is down: 503 with Retry-After;
//   - a valid token lacking a service-level scope: 403 error="insufficient_scope";
//   - a tenant not allowed: 403 access_denied;
//   - the service down (Config.Available): 503 with Retry-After;
//   - an Mcp-Session-Id issued to another principal: 403 access_denied; a malformed
//     one: 400.
//
// Whether the caller may run the operation the request names (a tool, a prompt, a
// resource) is decided inside the MCP server by ServerOptions, which sees what mcp-go
// will really run; this middleware only renders that decision: a refusal becomes 403
// with error="insufficient_scope" and a scope attribute listing the granted scopes plus
// those needed (step-up). Every refusal of a JSON-RPC request carries the same
// JSON-RPC error body (code CodeForbidden, the OAuth fields in data).
//
// The verified token is put in the request context (mcpauth.AccessTokenFromContext).
// Exactly one audit event is recorded per request.
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
	if cfg.StreamRecheck == 0 {
		cfg.StreamRecheck = DefaultStreamRecheck
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

// challengeScopes is the scope attribute of a challenge: for a caller without a valid
// token, the service's scopes; for a caller holding tok, the scopes it holds plus those
// it lacks for the service and for need (step-up).
func (h *bearerHandler) challengeScopes(tok *mcpauth.AccessToken, need scopes.Requirement) []string {
	if tok == nil {
		if h.cfg.RequiredScopes.IsZero() && h.cfg.ChallengeScopes != nil {
			return withoutOfflineAccess(h.cfg.ChallengeScopes())
		}
		return withoutOfflineAccess(h.serviceScopes)
	}
	return withoutOfflineAccess(h.cfg.RequiredScopes.And(need).StepUp(tok.Scopes))
}

// withoutOfflineAccess drops offline_access: refresh is the authorization server's
// business, never a resource's challenge (MCP authorization, scope selection).
func withoutOfflineAccess(s []string) []string {
	if !slices.Contains(s, "offline_access") {
		return s
	}
	return slices.DeleteFunc(slices.Clone(s), func(v string) bool { return v == "offline_access" })
}

// ServeHTTP admits the request (every check of the HTTP layer), then hands it to the MCP
// server with the exchange as its response writer and its context.
func (h *bearerHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		// CORS preflight requests never carry credentials; the MCP handler answers them.
		h.next.ServeHTTP(w, r)
		return
	}
	x := h.admit(w, r)
	if x == nil {
		return
	}
	if r.Method == http.MethodGet {
		h.serveStream(x, r)
		return
	}
	x.req = *r.WithContext(x) // r.WithContext is inlined: only x holds the copy
	h.next.ServeHTTP(x, &x.req)
	x.finish()
}

// serveStream serves a GET, which opens a server-to-client event stream: it must not
// outlive the token, nor its revocation.
func (h *bearerHandler) serveStream(x *exchange, r *http.Request) {
	var ctx context.Context
	var cancel context.CancelFunc
	if x.tok.ExpiresAt.IsZero() {
		ctx, cancel = context.WithCancel(x)
	} else {
		ctx, cancel = context.WithTimeout(x, x.tok.ExpiresAt.Sub(h.cfg.Now()))
	}
	defer cancel()
	x.watch(cancel)
	h.next.ServeHTTP(x, r.WithContext(ctx))
	x.finish()
}

// admit runs every check the HTTP layer makes before the MCP server sees the request. It
// returns the request's exchange (also its context for the MCP server: it carries the
// verified token and the slot), or nil when it refused the request, which it answered.
func (h *bearerHandler) admit(w http.ResponseWriter, r *http.Request) *exchange {
	x := &exchange{ResponseWriter: w, h: h, r: r, start: h.cfg.Now()}
	if hasQueryToken(r) {
		x.refuse(mcpauth.InvalidRequest("access tokens are accepted only in the Authorization header, never in the query string", nil), audit.ReasonTokenInQuery)
		return nil
	}
	token, present, perr := bearerToken(r, h.cfg.MaxTokenBytes)
	x.token = token
	if perr != nil {
		x.refuse(perr, audit.ReasonMalformedAuthorization)
		return nil
	}
	if !present {
		x.refuse(errMissingToken, audit.ReasonMissingToken)
		return nil
	}
	tok, err := h.cfg.Verifier.VerifyToken(r.Context(), token)
	if err == nil && tok == nil {
		err = mcpauth.InvalidToken("the token was not accepted", nil)
	}
	if err == nil && tok.Expired(x.start) {
		err = mcpauth.InvalidToken("token is expired", nil)
	}
	if err != nil {
		var reason audit.Reason
		if r.Context().Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
			// The caller went away while its token was being checked: not an outage.
			reason, err = audit.ReasonCancelled, mcpauth.UpstreamUnavailable("the request ended before its token was checked", 0, err)
		}
		x.refuse(err, reason)
		return nil
	}
	x.tok = tok

	// Service-level rules.
	if !h.cfg.RequiredScopes.Satisfied(tok.Scopes) {
		m := h.cfg.RequiredScopes.Missing(tok.Scopes)
		x.refuse(mcpauth.InsufficientScope("this resource requires scope "+m.String()), audit.ReasonInsufficientScope)
		return nil
	}
	if len(h.cfg.AllowedTenants) > 0 && !slices.Contains(h.cfg.AllowedTenants, tok.TenantID) {
		x.refuse(mcpauth.AccessDenied(fmt.Sprintf("tenant %q is not allowed on this resource", tok.TenantID)), audit.ReasonTenantNotAllowed)
		return nil
	}
	if h.cfg.Available != nil {
		if err := h.cfg.Available(); err != nil {
			x.refuse(mcpauth.UpstreamUnavailable("the service is unavailable: try again shortly", UnavailableRetryAfter, err), audit.ReasonUpstreamUnavailable)
			return nil
		}
	}

	// Session ownership. A request of the stateless protocol (2026-07-28) has no
	// session: mcp-go ignores an Mcp-Session-Id on it, and so does this check.
	if h.cfg.Sessions != nil && !mcp.IsModernProtocol(headerValue(r.Header, protocolVersionHeader)) {
		sid := headerValue(r.Header, sessionHeader)
		if sid != "" {
			if !validSessionID(sid) {
				x.refuse(mcpauth.InvalidRequest("the Mcp-Session-Id header is malformed: at most 256 visible ASCII characters", nil), audit.ReasonInvalidSessionID)
				return nil
			}
			owner, known, err := h.cfg.Sessions.Owner(r.Context(), sid)
			if err != nil {
				x.refuse(mcpauth.UpstreamUnavailable("the session store is unavailable: try again shortly", storeRetryAfter, err), audit.ReasonUpstreamUnavailable)
				return nil
			}
			if known && owner != PrincipalOf(tok) {
				x.refuse(mcpauth.AccessDenied("this MCP session belongs to another principal"), audit.ReasonSessionMismatch)
				return nil
			}
			x.sessionID = sid
		} else if r.Method == http.MethodPost {
			x.bindSession = true
		}
	}

	// No token passthrough: the MCP server, its tools and anything they call never see
	// the caller's token, only the verified AccessToken in the context.
	delete(r.Header, authorizationHeader)
	if r.Body != nil && r.Body != http.NoBody {
		x.body = limitedBody{rc: r.Body, left: h.cfg.MaxBodyBytes}
		r.Body = &x.body
	}
	return x
}

var errMissingToken = mcpauth.InvalidToken("authentication required: send an access token in the Authorization: Bearer header", nil)

// bearerToken extracts the token from the Authorization header. present is false when
// there is no Bearer credential at all (another scheme counts as none).
func bearerToken(r *http.Request, maxBytes int) (token string, present bool, err error) {
	values := r.Header[authorizationHeader]
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
	if !tokenformat.IsB64Token(token) {
		return "", true, mcpauth.InvalidToken("the bearer token has characters RFC 6750 does not allow", nil)
	}
	return token, true, nil
}

// Header names in canonical form, the form net/http stores them in, read straight from
// the map on the request path: http.Header.Get canonicalizes its key on every call.
// TestHeaderNamesAreCanonical keeps them so.
const (
	authorizationHeader   = "Authorization"
	protocolVersionHeader = mcp.HeaderProtocolVersion
	contentTypeHeader     = "Content-Type"
	originHeader          = "Origin"
)

// headerValue is h.Get(key) for a key already in canonical form.
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func hasQueryToken(r *http.Request) bool {
	if r.URL.RawQuery == "" {
		return false
	}
	q := r.URL.Query()
	return q.Has("access_token") || q.Has("token")
}
