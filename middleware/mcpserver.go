package middleware

import (
	"context"
	"fmt"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/audit"
	"github.com/mcpauth/mcpauth/scopes"
)

// ToolsOf returns the Requirements of the tools registered on srv, read from their
// scopes annotations at call time (tools added later are seen too).
func ToolsOf(srv *server.MCPServer) Requirements { return serverTools{srv} }

type serverTools struct{ srv *server.MCPServer }

func (s serverTools) ToolRequirement(name string) (scopes.Requirement, bool) {
	t := s.srv.GetTool(name)
	if t == nil {
		return scopes.Requirement{}, false
	}
	return scopes.ForTool(t.Tool), true
}

// ServerConfig configures the enforcement inside an mcp-go server.
type ServerConfig struct {
	// HideForbidden removes tools the caller may not call from tools/list. By default
	// they stay visible, so that a client can see what exists
	// and step up its authorization when a call is refused.
	HideForbidden bool
	// Service names the server in audit events.
	Service string
	// Audit receives an event for each decision taken inside the server that the HTTP
	// middleware did not already record (default: audit.NewSlogSink(nil)).
	Audit audit.Sink
}

// ServerOptions returns mcp-go server options that enforce the scopes annotated on tools
// (scopes.Required), prompts (scopes.PromptRequired) and resources
// (scopes.ResourceRequired) against the token in the request context. It is the defense
// in depth behind the HTTP middleware and the only enforcement on stdio.
//
//   - tools/call of a tool whose scopes are not granted fails with an insufficient_scope
//     error naming the missing scopes;
//   - a tool that can run as a task (its task path does not pass through tool
//     middleware) is filtered out when not allowed, so it can be neither listed nor called;
//   - resources/read of a resource whose scopes are not granted fails the same way;
//   - prompts the caller may not get are filtered out: neither listed nor gettable
//     (mcp-go cannot tell a list from a get inside a prompt filter);
//   - with HideForbidden, tools/list shows only the tools the caller may call.
//
// A request with no token in its context is treated as having no scopes.
func ServerOptions(cfg ServerConfig) []server.ServerOption {
	if cfg.Audit == nil {
		cfg.Audit = audit.NewSlogSink(nil)
	}
	e := enforcer{cfg: cfg}
	return []server.ServerOption{
		server.WithToolFilter(e.filterTools),
		server.WithToolHandlerMiddleware(e.toolMiddleware),
		server.WithPromptFilter(e.filterPrompts),
		server.WithResourceHandlerMiddleware(e.resourceMiddleware),
	}
}

type enforcer struct{ cfg ServerConfig }

func granted(ctx context.Context) (*mcpauth.AccessToken, []string) {
	tok := mcpauth.AccessTokenFromContext(ctx)
	if tok == nil {
		return nil, nil
	}
	return tok, tok.Scopes
}

func canRunAsTask(t mcp.Tool) bool {
	return t.Execution != nil && (t.Execution.TaskSupport == mcp.TaskSupportOptional || t.Execution.TaskSupport == mcp.TaskSupportRequired)
}

func (e enforcer) filterTools(ctx context.Context, tools []mcp.Tool) []mcp.Tool {
	_, have := granted(ctx)
	out := tools[:0:0]
	for _, t := range tools {
		req := scopes.ForTool(t)
		if req.Satisfied(have) || (!e.cfg.HideForbidden && !canRunAsTask(t)) {
			out = append(out, t)
		}
	}
	return out
}

func (e enforcer) filterPrompts(ctx context.Context, prompts []mcp.Prompt) []mcp.Prompt {
	_, have := granted(ctx)
	out := prompts[:0:0]
	for _, p := range prompts {
		if scopes.ForPrompt(p).Satisfied(have) {
			out = append(out, p)
		}
	}
	return out
}

func (e enforcer) toolMiddleware(next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if err := e.authorize(ctx, "tools/call", req.Params.Name, "tool", toolRequirement(ctx, req.Params.Name)); err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

// toolRequirement returns the requirement of the tool mcp-go runs for name: the
// session's own tool when the session has one by that name (it shadows the server's),
// else the server's.
func toolRequirement(ctx context.Context, name string) scopes.Requirement {
	if st, ok := server.ClientSessionFromContext(ctx).(server.SessionWithTools); ok {
		if t, ok := st.GetSessionTools()[name]; ok {
			return scopes.ForTool(t.Tool)
		}
	}
	if srv := server.ServerFromContext(ctx); srv != nil {
		if t := srv.GetTool(name); t != nil {
			return scopes.ForTool(t.Tool)
		}
	}
	return scopes.Requirement{}
}

func (e enforcer) resourceMiddleware(next server.ResourceHandlerFunc) server.ResourceHandlerFunc {
	return func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		if err := e.authorize(ctx, "resources/read", req.Params.URI, "resource", resourceRequirement(ctx, req.Params.URI)); err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

// resourceRequirement returns the requirement of the resource mcp-go reads for uri: the
// session's own resource when it has one, else the server's.
func resourceRequirement(ctx context.Context, uri string) scopes.Requirement {
	if sr, ok := server.ClientSessionFromContext(ctx).(server.SessionWithResources); ok {
		if r, ok := sr.GetSessionResources()[uri]; ok {
			return scopes.ForResource(r.Resource)
		}
	}
	if srv := server.ServerFromContext(ctx); srv != nil {
		if r, ok := srv.ListResources()[uri]; ok && r != nil {
			return scopes.ForResource(r.Resource)
		}
	}
	return scopes.Requirement{}
}

// authorize checks need against the caller's scopes and records the decision, unless the
// HTTP middleware already decided and recorded this call.
func (e enforcer) authorize(ctx context.Context, method, name, kind string, need scopes.Requirement) error {
	tok, have := granted(ctx)
	if need.Satisfied(have) {
		if !decidedByHTTP(ctx, name) {
			e.record(ctx, tok, audit.Allow, "", method, name, need, "")
		}
		return nil
	}
	desc := fmt.Sprintf("%s %q requires %s", kind, name, need.Missing(have))
	e.record(ctx, tok, audit.Deny, mcpauth.CodeInsufficientScope, method, name, need, desc)
	return mcpauth.InsufficientScope(desc)
}

func (e enforcer) record(ctx context.Context, tok *mcpauth.AccessToken, dec audit.Decision, reason, method, name string, need scopes.Requirement, desc string) {
	if !audit.Enabled(ctx, e.cfg.Audit, dec) {
		return
	}
	ev := audit.Event{
		Time:           time.Now(),
		Decision:       dec,
		Reason:         reason,
		Description:    desc,
		Service:        e.cfg.Service,
		Method:         method,
		Tool:           name,
		RequiredScopes: need.Scopes(),
	}
	if tok != nil {
		ev.Subject, ev.ClientID, ev.TenantID, ev.Issuer = tok.Subject, tok.ClientID, tok.TenantID, tok.Issuer
		ev.Provider, ev.GrantedScopes = tok.Provider, tok.Scopes
		if tok.ID != "" {
			ev.TokenRef = "jti:" + tok.ID
		}
	}
	e.cfg.Audit.Record(ctx, ev)
}
