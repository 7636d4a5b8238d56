package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/server"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/audit"
	"github.com/mcpauth/mcpauth/middleware"
	"github.com/mcpauth/mcpauth/scopes"
)

// Config configures a Hub. Service-level options given to Mount override these defaults.
type Config struct {
	// BaseURL is the public URL of the hub, such as "https://mcp.example.com". Each
	// service's resource URI is BaseURL + "/<name>/mcp". Required.
	BaseURL string
	// Verifier checks tokens for every service that has no verifier of its own. It is
	// used as it is, with whatever audience it was configured with.
	Verifier mcpauth.TokenVerifier
	// VerifierFor builds a verifier per service from the service's resource URI, so that
	// by default a token minted for one service is refused by another (RFC 8707).
	// Set Verifier or VerifierFor, not both.
	VerifierFor mcpauth.VerifierFactory
	// RequiredScopes must be granted for every service that does not set its own.
	RequiredScopes scopes.Requirement
	// AllowedTenants, when not empty, restricts every service that does not set its own.
	AllowedTenants []string
	// AuthorizationServers are the issuer URLs advertised in protected resource metadata.
	AuthorizationServers []string
	// AuthorizationServerMetadata, when set, answers /.well-known/oauth-authorization-server
	// (RFC 8414), for a hub that fronts its own authorization server.
	AuthorizationServerMetadata http.Handler
	// HideForbiddenTools removes from tools/list, prompts/list, resources/list and
	// resources/templates/list what the caller may not use (middleware.ServerConfig.HideForbidden).
	HideForbiddenTools bool
	// ScopeHierarchy declares which narrower scopes a broader scope includes
	// (scopes.Hierarchy); each token's granted scopes are expanded once, under the
	// cache. Empty (the default): no scope implies another.
	ScopeHierarchy scopes.Hierarchy
	// DisableCache turns off the verified-token cache put in front of each verifier.
	DisableCache bool
	// CacheOptions configure that cache.
	CacheOptions []mcpauth.CacheOption
	// Audit receives every decision (default audit.NewSlogSink(nil)).
	Audit audit.Sink
	// MaxBodyBytes bounds request bodies (default middleware.DefaultMaxBodyBytes); a
	// larger body gets 413.
	MaxBodyBytes int64
	// MaxSessions bounds the MCP sessions bound to their owners across all services
	// (default middleware.DefaultMaxSessions); past it, new sessions get 503.
	MaxSessions int
	// SessionStore, when set, shares the binding of each MCP session to its owner
	// between the replicas of a hub (redisstore.Store.Sessions): a session is refused
	// to anyone but its owner on every replica. Default: bindings in this process only.
	SessionStore middleware.SessionStore
	// SessionIdleTTL ends an MCP session idle this long, in mcp-go and in the binding
	// of the session to its owner (default DefaultSessionIdleTTL).
	SessionIdleTTL time.Duration
	// CORSOrigins lists the browser origins allowed to call the services (for example
	// "http://localhost:6274" for MCP Inspector in direct mode), or "*" for any. When
	// set, the hub answers CORS preflights and exposes WWW-Authenticate and
	// Mcp-Session-Id to those origins (401 challenges included). Whatever it holds, a
	// request whose Origin header is neither the hub's own origin nor listed here gets
	// 403 (MCP's Origin validation against DNS rebinding); requests without Origin
	// (non-browser clients) are unaffected.
	CORSOrigins []string
}

// Hub serves several MCP services behind one front door: each at /<name>/mcp with its
// own protected resource metadata, its verifier and its rules. A Hub is an http.Handler.
type Hub struct {
	cfg      Config
	base     *url.URL
	mux      *http.ServeMux
	sessions *middleware.SessionBinder

	// routes maps each service's endpoint and metadata paths to their handlers; it is
	// replaced whole (copy on write) by Mount and Unmount, so requests read it without a
	// lock.
	routes atomic.Pointer[map[string]http.Handler]

	mu       sync.RWMutex
	as       AuthorizationServer
	services map[string]*service
	servers  map[*server.MCPServer]string
}

type service struct {
	// scopes caches middleware.ServerScopes for scopesTTL: every 401 and every metadata
	// request needs it, and computing it lists the whole server.
	scopesMu sync.Mutex
	scopesAt time.Time
	scopes   []string

	name         string
	resource     string
	endpoint     string // the MCP endpoint's path on the service's own server: /<name>/mcp
	path         string // the pattern the hub routes: the base URL's path + endpoint
	metadataPath string
	srv          *server.MCPServer
	public       bool
	verifier     mcpauth.TokenVerifier
	required     scopes.Requirement
	requiredSet  bool
	tenants      []string
	tenantsSet   bool
	authServers  []string
	hide         *bool
	httpOpts     []server.StreamableHTTPOption
	available    func() error
	// transport is the service's Streamable HTTP server, shut down by Unmount.
	transport *server.StreamableHTTPServer
	// ready is set, under Hub.mu, once Mount has published the service's routes: until
	// then the service is being built and cannot be unmounted.
	ready bool
}

// Option configures one mounted service.
type Option func(*service)

// WithVerifier gives the service its own verifier, used instead of the hub's.
func WithVerifier(v mcpauth.TokenVerifier) Option { return func(s *service) { s.verifier = v } }

// WithRequiredScopes sets the scopes every request to the service needs, replacing the
// hub-level default.
func WithRequiredScopes(r scopes.Requirement) Option {
	return func(s *service) { s.required, s.requiredSet = r, true }
}

// WithAllowedTenants restricts the service to tokens of these tenants, replacing the
// hub-level default.
func WithAllowedTenants(tenants ...string) Option {
	return func(s *service) { s.tenants, s.tenantsSet = tenants, true }
}

// WithAuthorizationServers advertises these authorization servers for the service,
// replacing the hub-level list.
func WithAuthorizationServers(issuers ...string) Option {
	return func(s *service) { s.authServers = issuers }
}

// Public serves the service without authentication. Tools annotated with scopes can
// still not be called there, since an anonymous caller holds no scope.
func Public() Option { return func(s *service) { s.public = true } }

// WithHideForbiddenTools overrides the hub's HideForbiddenTools for the service.
func WithHideForbiddenTools(hide bool) Option { return func(s *service) { s.hide = &hide } }

// WithAvailability makes the service answer 503 with Retry-After while available returns
// an error (an upstream that is down: gateway.Service.Available). The token and the
// service's rules are checked first: a caller without a valid token gets its 401
// challenge, and learns nothing of the upstream. On a protected service the refusal is
// the bearer middleware's (middleware.Config.Available): the JSON-RPC refusal body, one
// audit event with the unavailable decision. A Public service, which has no middleware
// and no audit, answers a plain 503 with the OAuth error object. The error itself never
// reaches the caller.
func WithAvailability(available func() error) Option {
	return func(s *service) { s.available = available }
}

// WithStreamableHTTPOptions passes extra options to the service's mcp-go Streamable HTTP
// server (the endpoint path is set by the hub).
func WithStreamableHTTPOptions(opts ...server.StreamableHTTPOption) Option {
	return func(s *service) { s.httpOpts = append(s.httpOpts, opts...) }
}

// New returns a Hub. Configuration mistakes are reported here, naming the field.
func New(cfg Config) (*Hub, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("hub: Config.BaseURL is empty: set the public URL clients use to reach the hub, such as https://mcp.example.com")
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("hub: Config.BaseURL %q is not an absolute http(s) URL: use a value like https://mcp.example.com", cfg.BaseURL)
	}
	if base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("hub: Config.BaseURL %q has a query or fragment: a resource URI may not (RFC 8707)", cfg.BaseURL)
	}
	if cfg.Verifier != nil && cfg.VerifierFor != nil {
		return nil, errors.New("hub: both Config.Verifier and Config.VerifierFor are set: keep VerifierFor for per-service audiences, or Verifier for one shared verifier")
	}
	if cfg.MaxBodyBytes < 0 {
		return nil, errors.New("hub: Config.MaxBodyBytes is negative: leave it 0 for the default")
	}
	if err := cfg.ScopeHierarchy.Validate(); err != nil {
		return nil, fmt.Errorf("hub: Config.ScopeHierarchy: %w", err)
	}
	for _, o := range cfg.CORSOrigins {
		if o != "*" && (!strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") || strings.Count(o, "/") != 2) {
			return nil, fmt.Errorf("hub: Config.CORSOrigins entry %q is not an origin: use scheme://host[:port] with no path, such as http://localhost:6274, or \"*\"", o)
		}
	}
	if cfg.Audit == nil {
		cfg.Audit = audit.NewSlogSink(nil)
	}
	if cfg.SessionIdleTTL < 0 {
		return nil, errors.New("hub: Config.SessionIdleTTL is negative: leave it 0 for the default or set a positive duration")
	}
	if cfg.SessionIdleTTL == 0 {
		cfg.SessionIdleTTL = DefaultSessionIdleTTL
	}
	h := &Hub{
		cfg:      cfg,
		base:     base,
		mux:      http.NewServeMux(),
		sessions: middleware.NewSharedSessionBinder(cfg.MaxSessions, cfg.SessionStore),
		services: map[string]*service{},
		servers:  map[*server.MCPServer]string{},
	}
	h.routes.Store(&map[string]http.Handler{})
	h.mux.HandleFunc("GET /healthz", h.health)
	// RFC 9728 §3.1: the metadata of resource https://host/base is at
	// https://host/.well-known/oauth-protected-resource/base.
	h.mux.HandleFunc("GET /.well-known/oauth-protected-resource"+base.Path, h.hubMetadata)
	if cfg.AuthorizationServerMetadata != nil {
		h.mux.Handle("/.well-known/oauth-authorization-server", cfg.AuthorizationServerMetadata)
		h.mux.Handle("/.well-known/oauth-authorization-server/", cfg.AuthorizationServerMetadata)
	}
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found", "error_description": "no MCP service at " + r.URL.Path})
	})
	return h, nil
}

// scopesTTL is how long a service's operation scopes are reused before they are listed
// again: a tool added at run time shows in challenges and metadata within it.
const scopesTTL = time.Second

// operationScopes returns the scopes the service's tools, prompts, resources and
// templates use (middleware.ServerScopes), listed at most once per scopesTTL. The slice
// is shared: callers must not modify it.
func (s *service) operationScopes() []string {
	s.scopesMu.Lock()
	defer s.scopesMu.Unlock()
	if now := time.Now(); s.scopesAt.IsZero() || now.Sub(s.scopesAt) >= scopesTTL {
		s.scopes, s.scopesAt = middleware.ServerScopes(s.srv), now
	}
	return s.scopes
}

// DefaultSessionIdleTTL is how long an idle MCP session lives by default.
const DefaultSessionIdleTTL = time.Hour

var serviceName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// Mount serves srv at /<name>/mcp (at /mcp when name is ""), with its protected resource
// metadata at /.well-known/oauth-protected-resource/<name>/mcp. It also installs the
// in-server scope enforcement (middleware.ServerOptions) on srv, so srv must not be
// given those options again.
func (h *Hub) Mount(name string, srv *server.MCPServer, opts ...Option) error {
	if name != "" && !serviceName.MatchString(name) {
		return fmt.Errorf("hub: service name %q is invalid: use lowercase letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	if srv == nil {
		return fmt.Errorf("hub: service %q has a nil server", name)
	}
	path := "/mcp"
	if name != "" {
		path = "/" + name + "/mcp"
	}
	s := &service{name: name, resource: h.base.String() + path, endpoint: path, path: h.base.Path + path, metadataPath: "/.well-known/oauth-protected-resource" + h.base.Path + path, srv: srv}
	for _, o := range opts {
		o(s)
	}

	// Reserve the name and the server, then build the service without holding the lock:
	// building calls code of the caller's (VerifierFor, options), which may call the hub.
	h.mu.Lock()
	if _, dup := h.services[name]; dup {
		h.mu.Unlock()
		return fmt.Errorf("hub: service %q is already mounted", name)
	}
	if other, dup := h.servers[srv]; dup {
		h.mu.Unlock()
		return fmt.Errorf("hub: this MCP server was already mounted as %q, and carries that mount's enforcement; create one server per service", other)
	}
	h.services[name] = s
	h.servers[srv] = name
	h.mu.Unlock()
	handler, err := h.build(s)
	if err != nil {
		h.mu.Lock()
		delete(h.services, name)
		delete(h.servers, srv)
		h.mu.Unlock()
		return err
	}
	h.mu.Lock()
	routes := maps.Clone(*h.routes.Load())
	routes[s.path] = handler
	if !s.public {
		routes[s.metadataPath] = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				w.Header().Set("Allow", "GET, HEAD")
				writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method_not_allowed"})
				return
			}
			h.serviceMetadata(w, s)
		})
	}
	h.routes.Store(&routes)
	s.ready = true
	h.mu.Unlock()
	return nil
}

// Unmount stops serving the named service: its endpoint and its metadata answer 404
// from then on (requests already running finish), its event streams are closed and its
// transport's idle-session sweeper stops, and the name and the server may be mounted
// again with a new server. The server itself keeps the enforcement Mount installed on
// it, so it cannot be mounted again. A service still being mounted is not mounted yet.
// Other services, and their sessions, are untouched.
func (h *Hub) Unmount(name string) error {
	h.mu.Lock()
	s, ok := h.services[name]
	if !ok || !s.ready {
		h.mu.Unlock()
		return fmt.Errorf("hub: no service %q is mounted", name)
	}
	delete(h.services, name)
	routes := maps.Clone(*h.routes.Load())
	delete(routes, s.path)
	delete(routes, s.metadataPath)
	h.routes.Store(&routes)
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.transport.Shutdown(ctx)
}

// build completes s with the hub's defaults and returns its handler: the mcp-go server
// with the in-server enforcement, behind the bearer middleware unless s is public, and
// the Origin guard.
func (h *Hub) build(s *service) (http.Handler, error) {
	name, srv := s.name, s.srv
	if !s.requiredSet {
		s.required = h.cfg.RequiredScopes
	}
	if !s.tenantsSet {
		s.tenants = h.cfg.AllowedTenants
	}
	if s.authServers == nil {
		s.authServers = h.cfg.AuthorizationServers
	}
	hide := h.cfg.HideForbiddenTools
	if s.hide != nil {
		hide = *s.hide
	}
	if !s.public && s.verifier == nil {
		switch {
		case h.cfg.VerifierFor != nil:
			v, err := h.cfg.VerifierFor(s.resource)
			if err != nil {
				return nil, fmt.Errorf("hub: building the verifier of service %q: %w", name, err)
			}
			s.verifier = v
		case h.cfg.Verifier != nil:
			s.verifier = h.cfg.Verifier
		default:
			return nil, fmt.Errorf("hub: service %q has no verifier: set Config.VerifierFor or Config.Verifier, pass hub.WithVerifier, or mount it with hub.Public()", name)
		}
	}
	if s.verifier != nil {
		// Under the hub's cache the hierarchy runs once per token; over a verifier the
		// caller cached already, once per request.
		_, cached := s.verifier.(*mcpauth.CachedVerifier)
		s.verifier = h.cfg.ScopeHierarchy.Verifier(s.verifier)
		if !cached && !h.cfg.DisableCache {
			s.verifier = mcpauth.Cached(s.verifier, h.cfg.CacheOptions...)
		}
	}

	// Everything that can fail comes before the server is changed.
	wrap := func(h http.Handler) http.Handler { return h }
	if !s.public {
		mw, err := middleware.NewBearer(middleware.Config{
			Verifier:            s.verifier,
			ResourceMetadataURL: h.base.Scheme + "://" + h.base.Host + s.metadataPath,
			RequiredScopes:      s.required,
			ChallengeScopes:     s.operationScopes,
			AllowedTenants:      s.tenants,
			Sessions:            h.sessions,
			Available:           s.available,
			Service:             name,
			Audit:               h.cfg.Audit,
			MaxBodyBytes:        h.cfg.MaxBodyBytes,
		})
		if err != nil {
			return nil, fmt.Errorf("hub: service %q: %w", name, err)
		}
		wrap = mw
	}
	for _, o := range middleware.ServerOptions(middleware.ServerConfig{HideForbidden: hide, Service: name, Audit: h.cfg.Audit, Sessions: h.sessions}) {
		o(srv)
	}
	httpOpts := append([]server.StreamableHTTPOption{server.WithEndpointPath(s.endpoint), server.WithSessionIdleTTL(h.cfg.SessionIdleTTL)}, s.httpOpts...)
	s.transport = server.NewStreamableHTTPServer(srv, httpOpts...)
	var mcpHandler http.Handler = s.transport
	if s.available != nil && s.public {
		// A protected service's bearer middleware refuses (and audits) while it is
		// down; a public one has no middleware.
		mcpHandler = unavailableWhile(s.available, mcpHandler)
	}
	return h.guard(name, wrap(mcpHandler)), nil
}

// unavailableWhile answers a public service's requests 503 with Retry-After while
// available returns an error.
func unavailableWhile(available func() error, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if available() != nil {
			w.Header().Set("Retry-After", strconv.Itoa(int(middleware.UnavailableRetryAfter/time.Second)))
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "temporarily_unavailable", "error_description": "the service is unavailable: try again shortly"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ResourceURL returns the resource URI of the named service ("" when not mounted).
func (h *Hub) ResourceURL(name string) string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if s, ok := h.services[name]; ok {
		return s.resource
	}
	return ""
}

// Handle registers an extra route on the hub, such as a development issuer's JWKS. The
// services' endpoints and metadata are matched first: a pattern that overlaps one of
// them never sees its requests.
func (h *Hub) Handle(pattern string, handler http.Handler) { h.mux.Handle(pattern, handler) }

// ServeHTTP routes to the services, their metadata, the health endpoint and extra routes.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if hd, ok := (*h.routes.Load())[r.URL.Path]; ok {
		hd.ServeHTTP(w, r)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// ProtectedResourceMetadata is an RFC 9728 protected resource metadata document.
type ProtectedResourceMetadata struct {
	Resource               string   `json:"resource"`
	AuthorizationServers   []string `json:"authorization_servers,omitempty"`
	ScopesSupported        []string `json:"scopes_supported,omitempty"`
	BearerMethodsSupported []string `json:"bearer_methods_supported"`
	ResourceName           string   `json:"resource_name,omitempty"`
}

func (h *Hub) serviceMetadata(w http.ResponseWriter, s *service) {
	supported := s.supportedScopes()
	name := s.name
	if name == "" {
		name = "mcp"
	}
	writeMetadata(w, ProtectedResourceMetadata{
		Resource:               s.resource,
		AuthorizationServers:   s.authServers,
		ScopesSupported:        supported,
		BearerMethodsSupported: []string{"header"},
		ResourceName:           name,
	})
}

func (h *Hub) hubMetadata(w http.ResponseWriter, r *http.Request) {
	writeMetadata(w, ProtectedResourceMetadata{
		Resource:               h.base.String(),
		AuthorizationServers:   h.cfg.AuthorizationServers,
		ScopesSupported:        slices.DeleteFunc(h.cfg.RequiredScopes.Scopes(), func(sc string) bool { return sc == "offline_access" }),
		BearerMethodsSupported: []string{"header"},
	})
}

func (h *Hub) health(w http.ResponseWriter, r *http.Request) {
	h.mu.RLock()
	names := make([]string, 0, len(h.services))
	for n := range h.services {
		names = append(names, n)
	}
	h.mu.RUnlock()
	sort.Strings(names)
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "services": names})
}

func writeMetadata(w http.ResponseWriter, v any) {
	// Metadata is public and read by browser-based clients too.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", "max-age=300")
	writeJSON(w, http.StatusOK, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
