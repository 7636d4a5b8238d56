package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcpauth/mcpauth/scopes"
)

// ErrUnavailable is the error of a request forwarded while the upstream is down.
var ErrUnavailable = errors.New("the upstream MCP server is unavailable; try again shortly")

// Service mirrors one upstream MCP server as an mcp-go server the hub can mount: its
// tools, prompts, resources and templates, with the policy's scopes in their _meta so
// that the hub enforces them like native ones. Calls are forwarded with their progress
// notifications, cancellation and a timeout; list changes are followed; a lost upstream
// is reconnected (a child process restarted) with backoff.
type Service struct {
	cfg Config
	srv *server.MCPServer
	log *slog.Logger

	// remote is the HTTP client of a remote upstream, built once: its client-credentials
	// token outlives reconnections.
	remote *http.Client

	mu      sync.Mutex
	c       *client.Client
	proc    *process
	ready   chan struct{} // closed once the first mirror is done
	readyOK bool
	wake    chan struct{} // asks the supervisor to reconnect now

	// progress routes the upstream's progress notifications to the caller they are for.
	progress sync.Map // upstream token (string) -> *progressRoute

	// mirrorMu serializes mirroring; the mirrored names, to delete what the upstream
	// drops, and the mirrored tools (for aggregates) are under it.
	mirrorMu           sync.Mutex
	prompts, resources []string
	mirrored           []server.ServerTool

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	// connected is Config.OnConnect.
	connected func()

	// watchers are told when the mirrored tools change (aggregates).
	watchMu  sync.Mutex
	watchers []func()
}

type progressRoute struct {
	ctx   context.Context
	token mcp.ProgressToken
}

// New validates cfg and starts the service: it connects in the background, and keeps
// reconnecting until Close. Until the first connection, the service lists nothing and
// its calls fail with ErrUnavailable.
func New(cfg Config) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{
		cfg:       cfg,
		log:       cfg.Logger.With("service", cfg.Name),
		ready:     make(chan struct{}),
		wake:      make(chan struct{}, 1),
		ctx:       ctx,
		cancel:    cancel,
		done:      make(chan struct{}),
		connected: cfg.OnConnect,
	}
	if cfg.URL != "" {
		s.remote = s.httpClient()
	}
	s.srv = server.NewMCPServer(cfg.Name, "mcpauth-gateway",
		server.WithToolCapabilities(true), server.WithPromptCapabilities(true), server.WithResourceCapabilities(false, true))
	go s.supervise()
	return s, nil
}

// Server is the mirror, to mount on a hub.
func (s *Service) Server() *server.MCPServer { return s.srv }

// WaitReady waits for the first successful connection (or ctx).
func (s *Service) WaitReady(ctx context.Context) error {
	select {
	case <-s.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the service: the connection is closed and a child process group killed.
func (s *Service) Close() error {
	s.cancel()
	<-s.done
	return nil
}

// Backoff of reconnections: from minBackoff, doubling, up to maxBackoff.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 30 * time.Second
)

// supervise connects, mirrors and waits for the connection to be lost, again and again.
func (s *Service) supervise() {
	defer close(s.done)
	backoff := minBackoff
	for {
		lost, err := s.connect()
		if err == nil {
			backoff = minBackoff
			s.log.Info("gateway: upstream connected")
			select {
			case <-s.ctx.Done():
				s.disconnect()
				return
			case err = <-lost:
			}
			s.log.Warn("gateway: upstream lost", "error", err)
		} else {
			s.log.Warn("gateway: upstream unavailable", "error", err, "retry_in", backoff)
		}
		if s.cfg.OnDisconnect != nil {
			s.cfg.OnDisconnect(err)
		}
		s.disconnect()
		t := time.NewTimer(backoff)
		select {
		case <-s.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// connect starts the client and mirrors the upstream. The returned channel receives
// once the connection is lost.
func (s *Service) connect() (<-chan error, error) {
	lost := make(chan error, 1)
	report := func(err error) {
		select {
		case lost <- err:
		default:
		}
	}
	var c *client.Client
	var proc *process
	var err error
	switch {
	case s.cfg.Command != "":
		proc, c, err = s.startProcess()
	case s.cfg.SSE:
		c, err = client.NewSSEMCPClient(s.cfg.URL, transport.WithHTTPClient(s.remote))
	default:
		// The gateway speaks the session protocol (2025-11-25) upstream, whose GET stream
		// carries list changes and progress.
		//lint:ignore SA1019 the stream is what this legacy protocol version uses
		c, err = client.NewStreamableHttpClient(s.cfg.URL, transport.WithHTTPBasicClient(s.remote), transport.WithContinuousListening())
	}
	if err != nil {
		return nil, err
	}
	c.OnConnectionLost(report)
	c.OnNotification(func(n mcp.JSONRPCNotification) { s.notified(n) })
	// The transport lives as long as the service: Start gets the service's context.
	if err := c.Start(s.ctx); err != nil {
		_ = c.Close()
		proc.kill()
		return nil, err
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.CallTimeout)
	defer cancel()
	if _, err := c.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{
		ProtocolVersion: mcp.LATEST_LEGACY_PROTOCOL_VERSION, // sessions: list changes and progress arrive on its stream
		ClientInfo:      mcp.Implementation{Name: "mcpauth-gateway", Version: "1"},
	}}); err != nil {
		_ = c.Close()
		proc.kill()
		return nil, fmt.Errorf("initialize: %w", err)
	}
	s.mu.Lock()
	s.c, s.proc = c, proc
	s.mu.Unlock()
	if err := s.mirror(ctx, "all"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if !s.readyOK {
		s.readyOK = true
		close(s.ready)
	}
	s.mu.Unlock()
	if s.connected != nil {
		s.connected()
	}
	if proc != nil {
		go func() { report(proc.wait()) }()
	}
	go func() {
		select {
		case <-s.wake:
			report(errors.New("a forwarded request failed at the transport"))
		case <-s.ctx.Done():
		}
	}()
	return lost, nil
}

// disconnect closes the client and kills a child process group.
func (s *Service) disconnect() {
	s.mu.Lock()
	c, proc := s.c, s.proc
	s.c, s.proc = nil, nil
	s.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
	proc.kill()
}

// Available returns nil while the upstream is connected, else ErrUnavailable: give it to
// hub.WithAvailability so that requests get 503 with Retry-After while it is down.
func (s *Service) Available() error {
	_, err := s.client()
	return err
}

// client returns the connected client, or ErrUnavailable.
func (s *Service) client() (*client.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c == nil {
		return nil, ErrUnavailable
	}
	return s.c, nil
}

// notified handles the upstream's notifications: list changes and progress.
func (s *Service) notified(n mcp.JSONRPCNotification) {
	switch n.Method {
	case "notifications/tools/list_changed":
		go s.remirror("tools")
	case "notifications/prompts/list_changed":
		go s.remirror("prompts")
	case "notifications/resources/list_changed":
		go s.remirror("resources")
	case "notifications/progress":
		tok, ok := n.Params.AdditionalFields["progressToken"].(string)
		if !ok {
			return
		}
		v, ok := s.progress.Load(tok)
		if !ok {
			return
		}
		route := v.(*progressRoute)
		params := map[string]any{"progressToken": route.token}
		for k, v := range n.Params.AdditionalFields {
			if k != "progressToken" {
				params[k] = v
			}
		}
		_ = s.srv.SendNotificationToClient(route.ctx, "notifications/progress", params)
	}
}

func (s *Service) remirror(what string) {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.CallTimeout)
	defer cancel()
	if err := s.mirror(ctx, what); err != nil {
		s.log.Warn("gateway: following a list change failed", "list", what, "error", err)
	}
}

// mirror lists what the upstream offers ("tools", "prompts", "resources" or "all") and
// makes the mirror offer the same, with the policy applied.
func (s *Service) mirror(ctx context.Context, what string) error {
	toolsChanged, err := s.mirrorLocked(ctx, what)
	if toolsChanged {
		s.notifyWatchers()
	}
	return err
}

func (s *Service) mirrorLocked(ctx context.Context, what string) (toolsChanged bool, err error) {
	s.mirrorMu.Lock()
	defer s.mirrorMu.Unlock()
	c, err := s.client()
	if err != nil {
		return false, err
	}
	caps := c.GetServerCapabilities()
	if (what == "all" || what == "tools") && caps.Tools != nil {
		res, err := c.ListTools(ctx, mcp.ListToolsRequest{})
		if err != nil {
			return toolsChanged, fmt.Errorf("tools/list: %w", err)
		}
		var tools []server.ServerTool
		for _, t := range res.Tools {
			need, hidden := s.cfg.Policy.decide("tool", t.Name)
			if hidden {
				continue
			}
			if err := mcp.ValidateParamHeaderAnnotations(&t); err != nil {
				// mcp-go's server panics on such a tool; its client drops them only on
				// Streamable HTTP at 2026-07-28.
				s.log.Warn("gateway: an upstream tool has invalid x-mcp-header annotations; not offered", "tool", t.Name, "error", err)
				continue
			}
			if len(need) > 0 {
				scopes.Required(need...)(&t)
			}
			tools = append(tools, server.ServerTool{Tool: t, Handler: s.callTool})
		}
		// The whole set at once, with one list_changed.
		s.srv.SetTools(tools...)
		s.mirrored = tools
		toolsChanged = true
	}
	if (what == "all" || what == "prompts") && caps.Prompts != nil {
		res, err := c.ListPrompts(ctx, mcp.ListPromptsRequest{})
		if err != nil {
			return toolsChanged, fmt.Errorf("prompts/list: %w", err)
		}
		var prompts []server.ServerPrompt
		var names []string
		for _, p := range res.Prompts {
			need, hidden := s.cfg.Policy.decide("prompt", p.Name)
			if hidden {
				continue
			}
			if len(need) > 0 {
				scopes.PromptRequired(need...)(&p)
			}
			prompts = append(prompts, server.ServerPrompt{Prompt: p, Handler: s.getPrompt})
			names = append(names, p.Name)
		}
		s.srv.DeletePrompts(drop(s.prompts, names)...)
		s.srv.AddPrompts(prompts...)
		s.prompts = names
	}
	if (what == "all" || what == "resources") && caps.Resources != nil {
		res, err := c.ListResources(ctx, mcp.ListResourcesRequest{})
		if err != nil {
			return toolsChanged, fmt.Errorf("resources/list: %w", err)
		}
		var names []string
		for _, r := range res.Resources {
			need, hidden := s.cfg.Policy.decide("resource", r.URI)
			if hidden {
				continue
			}
			if len(need) > 0 {
				scopes.ResourceRequired(need...)(&r)
			}
			s.srv.AddResource(r, s.readResource)
			names = append(names, r.URI)
		}
		for _, uri := range drop(s.resources, names) {
			s.srv.RemoveResource(uri)
		}
		s.resources = names
		tres, err := c.ListResourceTemplates(ctx, mcp.ListResourceTemplatesRequest{})
		if err != nil {
			return toolsChanged, fmt.Errorf("resources/templates/list: %w", err)
		}
		var templates []server.ServerResourceTemplate
		for _, t := range tres.ResourceTemplates {
			need, hidden := s.cfg.Policy.decide("resource", t.URITemplate.Raw())
			if hidden {
				continue
			}
			if len(need) > 0 {
				scopes.ResourceTemplateRequired(need...)(&t)
			}
			templates = append(templates, server.ServerResourceTemplate{Template: t, Handler: s.readResource})
		}
		// The whole set at once: a template the upstream dropped goes too.
		s.srv.SetResourceTemplates(templates...)
	}
	return toolsChanged, nil
}

// drop returns the names of old that are not in current.
func drop(old, current []string) []string {
	var out []string
	for _, n := range old {
		if !slices.Contains(current, n) {
			out = append(out, n)
		}
	}
	return out
}

// forward runs call (the upstream's method) on the upstream with the caller's deadline
// bounded by CallTimeout. A failure of the transport (not an MCP error answer) asks for a
// reconnection.
func forward[T any](s *Service, ctx context.Context, method string, call func(context.Context, *client.Client) (T, error)) (T, error) {
	var zero T
	c, err := s.client()
	if err != nil {
		return zero, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	start := time.Now()
	res, err := call(ctx, c)
	if s.cfg.OnRequest != nil {
		s.cfg.OnRequest(method, time.Since(start), err)
	}
	if err != nil && ctx.Err() == nil && isTransportError(err) {
		select {
		case s.wake <- struct{}{}:
		default:
		}
		return zero, fmt.Errorf("%w (%v)", ErrUnavailable, err)
	}
	return res, err
}

// isTransportError reports whether err is a failure to reach the upstream, not the
// upstream's own error answer.
func isTransportError(err error) bool {
	var e *transport.Error
	return errors.As(err, &e)
}

func (s *Service) callTool(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	out := mcp.CallToolRequest{}
	out.Params.Name = req.Params.Name
	out.Params.Arguments = req.Params.Arguments
	if m := req.Params.Meta; m != nil && m.ProgressToken != nil {
		// The upstream reports progress under a token of ours, routed back to this
		// caller under theirs.
		tok := randomID()
		s.progress.Store(tok, &progressRoute{ctx: ctx, token: m.ProgressToken})
		defer s.progress.Delete(tok)
		out.Params.Meta = &mcp.Meta{ProgressToken: tok}
	}
	return forward(s, ctx, "tools/call", func(ctx context.Context, c *client.Client) (*mcp.CallToolResult, error) { return c.CallTool(ctx, out) })
}

func (s *Service) getPrompt(ctx context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
	out := mcp.GetPromptRequest{}
	out.Params.Name, out.Params.Arguments = req.Params.Name, req.Params.Arguments
	return forward(s, ctx, "prompts/get", func(ctx context.Context, c *client.Client) (*mcp.GetPromptResult, error) {
		return c.GetPrompt(ctx, out)
	})
}

func (s *Service) readResource(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
	out := mcp.ReadResourceRequest{}
	out.Params.URI = req.Params.URI
	res, err := forward(s, ctx, "resources/read", func(ctx context.Context, c *client.Client) (*mcp.ReadResourceResult, error) {
		return c.ReadResource(ctx, out)
	})
	if err != nil {
		return nil, err
	}
	return res.Contents, nil
}

func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// childEnv is a child process's environment: PATH and HOME of the hub, then cfg.Env.
func childEnv(env []string) []string {
	out := []string{}
	for _, k := range []string{"PATH", "HOME"} {
		if v, ok := os.LookupEnv(k); ok {
			out = append(out, k+"="+v)
		}
	}
	return append(out, env...)
}

// watch registers f to be called after each change of the mirrored tools.
func (s *Service) watch(f func()) {
	s.watchMu.Lock()
	s.watchers = append(s.watchers, f)
	s.watchMu.Unlock()
}

func (s *Service) notifyWatchers() {
	s.watchMu.Lock()
	ws := slices.Clone(s.watchers)
	s.watchMu.Unlock()
	for _, f := range ws {
		f()
	}
}

// mirroredTools returns the tools the mirror offers now.
func (s *Service) mirroredTools() []server.ServerTool {
	s.mirrorMu.Lock()
	defer s.mirrorMu.Unlock()
	return slices.Clone(s.mirrored)
}
