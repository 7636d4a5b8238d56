package middleware

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/audit"
	"github.com/mcpauth/mcpauth/scopes"
)

// ServerConfig configures the enforcement inside an mcp-go server.
type ServerConfig struct {
	// HideForbidden removes the tools, prompts and resources the caller may not use
	// from tools/list, prompts/list and resources/list. By default they stay visible,
	// so that a client can see what exists and step up its authorization when a call
	// is refused.
	HideForbidden bool
	// Service names the server in audit events.
	Service string
	// Audit receives the decisions taken where no bearer middleware records the
	// request's event: over stdio and for in-process calls (default:
	// audit.NewSlogSink(nil)). Over HTTP the bearer middleware records the one event
	// of each request, with this decision in it.
	Audit audit.Sink
	// Sessions, when set, is told when mcp-go ends a session (DELETE, idle timeout),
	// so that the session's binding ends with it.
	Sessions *SessionBinder
}

// ServerOptions returns mcp-go server options that decide, for every operation, whether
// the caller may run it: the scopes annotated on tools (scopes.Required), prompts
// (scopes.PromptRequired) and resources (scopes.ResourceRequired) against the token in
// the request context. This is the only place that decides per operation; behind
// middleware.Bearer the decision is rendered as a 403 step-up challenge.
//
//   - tools/call is decided on the tool mcp-go will really run (a session's own tool
//     shadows the server's), before any tool middleware of the server's own and before
//     a call is routed to a task: mcp-go checks its tool filters first;
//   - prompts/get, resources/read, resources/subscribe, the resource subscriptions of
//     subscriptions/listen and completion/complete (for a prompt or a resource) are
//     decided the same way;
//   - a resource read through a template needs the template's scopes
//     (scopes.ResourceTemplateRequired; when several of the server's templates match
//     a URI, all of their scopes, since mcp-go may use any of them). Finding the
//     server's templates lists them through the server, so hooks of your own on
//     resources/templates/list see those internal calls;
//   - tools, prompts, resources and resource templates stay visible in lists unless
//     HideForbidden is set;
//     a tool that can run as a task is hidden when not allowed, since over stdio its
//     task path skips tool middleware;
//   - a refused operation fails with an insufficient_scope error naming the missing
//     scopes (for subscribe and completion, mcp-go's own invalid-parameter error, since
//     mcp-go offers no way to refuse them otherwise).
//
// A request with no token in its context is treated as having no scopes. Install the
// options last if the server also sets its own server.WithHooks, which would replace
// the hooks installed here.
func ServerOptions(cfg ServerConfig) []server.ServerOption {
	if cfg.Audit == nil {
		cfg.Audit = audit.NewSlogSink(nil)
	}
	e := &enforcer{cfg: cfg}
	return []server.ServerOption{
		e.installHooks,
		server.WithToolFilter(e.filterTools),
		server.WithToolHandlerMiddleware(e.toolMiddleware),
		server.WithPromptFilter(e.filterPrompts),
		server.WithPromptHandlerMiddleware(e.promptMiddleware),
		server.WithResourceHandlerMiddleware(e.resourceMiddleware),
	}
}

type enforcer struct{ cfg ServerConfig }

const (
	kindTool     = "tool"
	kindPrompt   = "prompt"
	kindResource = "resource"
)

func (e *enforcer) installHooks(s *server.MCPServer) {
	hooks := s.GetHooks()
	if hooks == nil {
		hooks = &server.Hooks{}
		server.WithHooks(hooks)(s)
	}
	hooks.AddBeforeAny(func(ctx context.Context, id any, method mcp.MCPMethod, _ any) {
		if x := exchangeFrom(ctx); x != nil {
			x.setRPC(string(method), id)
		}
	})
	hooks.AddBeforeSubscribe(func(ctx context.Context, _ any, req *mcp.SubscribeRequest) {
		uri := req.Params.URI
		if e.authorize(ctx, string(mcp.MethodResourcesSubscribe), kindResource, uri, resourceRequirement(ctx, uri)) != nil {
			req.Params.URI = "" // mcp-go refuses a subscription without a URI, with no side effect
		}
	})
	hooks.AddBeforeSubscriptionsListen(func(ctx context.Context, _ any, req *mcp.SubscriptionsListenRequest) {
		// The stateless protocol's subscriptions: each resource is decided like a
		// resources/subscribe. A forbidden one is dropped from the request (mcp-go's
		// acknowledgement then leaves it out), and behind the bearer middleware the
		// refusal is rendered as a 403 step-up.
		uris := req.Params.Notifications.ResourceSubscriptions
		kept := uris[:0:0]
		for _, uri := range uris {
			if e.authorize(ctx, string(mcp.MethodSubscriptionsListen), kindResource, uri, resourceRequirement(ctx, uri)) == nil {
				kept = append(kept, uri)
			}
		}
		req.Params.Notifications.ResourceSubscriptions = kept
	})
	hooks.AddBeforeComplete(func(ctx context.Context, _ any, req *mcp.CompleteRequest) {
		var err error
		switch ref := req.Params.Ref.(type) {
		case mcp.PromptReference:
			err = e.authorize(ctx, string(mcp.MethodCompletionComplete), kindPrompt, ref.Name, promptRequirement(ctx, ref.Name))
		case mcp.ResourceReference:
			err = e.authorize(ctx, string(mcp.MethodCompletionComplete), kindResource, ref.URI, referenceRequirement(ctx, ref.URI))
		}
		if err != nil {
			req.Params.Ref = nil // mcp-go refuses a completion without a reference before any provider runs
		}
	})
	if e.cfg.HideForbidden {
		hooks.AddAfterListResources(func(ctx context.Context, _ any, _ *mcp.ListResourcesRequest, res *mcp.ListResourcesResult) {
			_, have := granted(ctx)
			res.Resources = slices.DeleteFunc(slices.Clone(res.Resources), func(r mcp.Resource) bool {
				return !scopes.ForResource(r).Satisfied(have)
			})
		})
		hooks.AddAfterListResourceTemplates(func(ctx context.Context, _ any, _ *mcp.ListResourceTemplatesRequest, res *mcp.ListResourceTemplatesResult) {
			if internalList(ctx) {
				return
			}
			_, have := granted(ctx)
			res.ResourceTemplates = slices.DeleteFunc(slices.Clone(res.ResourceTemplates), func(t mcp.ResourceTemplate) bool {
				return !scopes.ForResourceTemplate(t).Satisfied(have)
			})
		})
	}
	if e.cfg.Sessions != nil {
		hooks.AddOnUnregisterSession(func(_ context.Context, cs server.ClientSession) {
			// mcp-go ended the session here (idle, or DELETE): another replica may still
			// serve it, so the shared binding stays until a DELETE or its expiry.
			e.cfg.Sessions.forgetLocal(cs.SessionID())
		})
	}
}

func granted(ctx context.Context) (*mcpauth.AccessToken, []string) {
	tok := mcpauth.AccessTokenFromContext(ctx)
	if tok == nil {
		return nil, nil
	}
	return tok, tok.Scopes
}

func canRunAsTask(t *mcp.Tool) bool {
	return t.Execution != nil && (t.Execution.TaskSupport == mcp.TaskSupportOptional || t.Execution.TaskSupport == mcp.TaskSupportRequired)
}

// filterTools is mcp-go's tool filter. mcp-go runs it on the whole list for tools/list,
// and on the one tool it is about to run for tools/call, before tool middlewares and
// task routing: that call-time check is where a tools/call is decided. It reads the
// tools in place (an mcp.Tool is some 400 bytes to copy).
func (e *enforcer) filterTools(ctx context.Context, tools []mcp.Tool) []mcp.Tool {
	if x := exchangeFrom(ctx); x != nil && len(tools) == 1 && x.rpc() == string(mcp.MethodToolsCall) {
		t := &tools[0]
		need, _ := scopes.FromMeta(t.Meta)
		if e.authorizeIn(ctx, x, string(mcp.MethodToolsCall), kindTool, t.Name, need) != nil {
			return nil
		}
		return tools
	}
	_, have := granted(ctx)
	out := tools[:0:0]
	for i := range tools {
		t := &tools[i]
		if need, _ := scopes.FromMeta(t.Meta); (!e.cfg.HideForbidden && !canRunAsTask(t)) || need.Satisfied(have) {
			out = append(out, *t)
		}
	}
	return out
}

// filterPrompts is mcp-go's prompt filter: the whole list for prompts/list, the one
// prompt it is about to get for prompts/get (where a prompts/get is decided).
func (e *enforcer) filterPrompts(ctx context.Context, prompts []mcp.Prompt) []mcp.Prompt {
	if x := exchangeFrom(ctx); x != nil && len(prompts) == 1 && x.rpc() == string(mcp.MethodPromptsGet) {
		if e.authorizeIn(ctx, x, string(mcp.MethodPromptsGet), kindPrompt, prompts[0].Name, scopes.ForPrompt(prompts[0])) != nil {
			return nil
		}
		return prompts
	}
	if !e.cfg.HideForbidden {
		return prompts
	}
	_, have := granted(ctx)
	out := prompts[:0:0]
	for _, p := range prompts {
		if scopes.ForPrompt(p).Satisfied(have) {
			out = append(out, p)
		}
	}
	return out
}

// toolMiddleware decides a tools/call the tool filter could not tell from a list (no
// bearer middleware around the server: stdio, in-process calls).
func (e *enforcer) toolMiddleware(next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if !decidedHere(ctx, kindTool, req.Params.Name) {
			if err := e.authorize(ctx, string(mcp.MethodToolsCall), kindTool, req.Params.Name, toolRequirement(ctx, req.Params.Name)); err != nil {
				return nil, err
			}
		}
		return next(ctx, req)
	}
}

// promptMiddleware decides a prompts/get the prompt filter could not tell from a list.
func (e *enforcer) promptMiddleware(next server.PromptHandlerFunc) server.PromptHandlerFunc {
	return func(ctx context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		if !decidedHere(ctx, kindPrompt, req.Params.Name) {
			if err := e.authorize(ctx, string(mcp.MethodPromptsGet), kindPrompt, req.Params.Name, promptRequirement(ctx, req.Params.Name)); err != nil {
				return nil, err
			}
		}
		return next(ctx, req)
	}
}

func (e *enforcer) resourceMiddleware(next server.ResourceHandlerFunc) server.ResourceHandlerFunc {
	return func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		if err := e.authorize(ctx, string(mcp.MethodResourcesRead), kindResource, req.Params.URI, resourceRequirement(ctx, req.Params.URI)); err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

// decidedHere reports whether this request's operation on target was already decided
// (and allowed: a refusal never reaches a handler) by a filter.
func decidedHere(ctx context.Context, kind, target string) bool {
	x := exchangeFrom(ctx)
	return x != nil && x.decidedOn(kind, target)
}

// authorize is the one decision: need against the caller's scopes. Behind the bearer
// middleware it writes the decision into the request's slot, which renders it and
// records the request's audit event; elsewhere (stdio, in-process) it records the event
// itself. It returns the refusal, if any.
func (e *enforcer) authorize(ctx context.Context, method, kind, target string, need scopes.Requirement) error {
	return e.authorizeIn(ctx, exchangeFrom(ctx), method, kind, target, need)
}

// authorizeIn is authorize for a caller that already looked up the request's slot x
// (nil when there is none).
func (e *enforcer) authorizeIn(ctx context.Context, x *exchange, method, kind, target string, need scopes.Requirement) error {
	var tok *mcpauth.AccessToken
	if x != nil {
		tok = x.tok
	} else {
		tok = mcpauth.AccessTokenFromContext(ctx)
	}
	var have []string
	if tok != nil {
		have = tok.Scopes
	}
	var refusal *mcpauth.Error
	if !need.Satisfied(have) {
		refusal = mcpauth.InsufficientScope(fmt.Sprintf("%s %q requires %s", kind, target, need.Missing(have)))
	}
	if x != nil {
		x.decide(kind, target, need, refusal)
	} else {
		e.record(ctx, tok, method, kind, target, need, refusal)
	}
	if refusal != nil {
		return refusal
	}
	return nil
}

func (e *enforcer) record(ctx context.Context, tok *mcpauth.AccessToken, method, kind, target string, need scopes.Requirement, refusal *mcpauth.Error) {
	dec := audit.Allow
	if refusal != nil {
		dec = audit.Deny
	}
	if !audit.Enabled(ctx, e.cfg.Audit, dec) {
		return
	}
	ev := audit.Event{
		Time:           time.Now(),
		Decision:       dec,
		Service:        e.cfg.Service,
		RPCMethod:      method,
		TargetKind:     kind,
		Target:         target,
		RequiredScopes: need.Scopes(),
	}
	if refusal != nil {
		ev.Reason, ev.Description = audit.ReasonInsufficientScope, refusal.Description
	}
	ev.SetCaller(tok, "")
	e.cfg.Audit.Record(ctx, ev)
}
