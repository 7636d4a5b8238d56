package middleware

import (
	"context"
	"encoding/json"
	"slices"
	"sort"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcpauth/mcpauth/scopes"
)

// This file reads what an operation needs from the annotations of the item mcp-go will
// use for it, looked up the way mcp-go looks it up.

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

func promptRequirement(ctx context.Context, name string) scopes.Requirement {
	if srv := server.ServerFromContext(ctx); srv != nil {
		if p, ok := srv.ListPrompts()[name]; ok && p != nil {
			return scopes.ForPrompt(p.Prompt)
		}
	}
	return scopes.Requirement{}
}

// resourceRequirement returns what reading uri needs, in mcp-go's order: the session's
// own resource, the server's resource, the session's first matching template, and
// otherwise every server template that matches (mcp-go uses any one of them).
func resourceRequirement(ctx context.Context, uri string) scopes.Requirement {
	session := server.ClientSessionFromContext(ctx)
	if sr, ok := session.(server.SessionWithResources); ok {
		if r, ok := sr.GetSessionResources()[uri]; ok {
			return scopes.ForResource(r.Resource)
		}
	}
	srv := server.ServerFromContext(ctx)
	if srv == nil {
		return scopes.Requirement{}
	}
	if r, ok := srv.ListResources()[uri]; ok && r != nil {
		return scopes.ForResource(r.Resource)
	}
	if st, ok := session.(server.SessionWithResourceTemplates); ok {
		for _, t := range st.GetSessionResourceTemplates() {
			if t.Template.URITemplate != nil && t.Template.URITemplate.Regexp().MatchString(uri) {
				return scopes.ForResourceTemplate(t.Template)
			}
		}
	}
	var need scopes.Requirement
	for _, t := range serverTemplates(srv) {
		if t.URITemplate != nil && t.URITemplate.Regexp().MatchString(uri) {
			need = need.And(scopes.ForResourceTemplate(t))
		}
	}
	return need
}

// referenceRequirement returns what a completion of a resource reference needs: the
// reference names a resource template by its URI template, or a resource by its URI.
func referenceRequirement(ctx context.Context, ref string) scopes.Requirement {
	if st, ok := server.ClientSessionFromContext(ctx).(server.SessionWithResourceTemplates); ok {
		for _, t := range st.GetSessionResourceTemplates() {
			if t.Template.URITemplate != nil && t.Template.URITemplate.Raw() == ref {
				return scopes.ForResourceTemplate(t.Template)
			}
		}
	}
	if srv := server.ServerFromContext(ctx); srv != nil {
		for _, t := range serverTemplates(srv) {
			if t.URITemplate != nil && t.URITemplate.Raw() == ref {
				return scopes.ForResourceTemplate(t)
			}
		}
	}
	return resourceRequirement(ctx, ref)
}

// internalListKey marks the context of serverTemplates' own listing, which the
// enforcer's list filters leave whole.
type internalListKey struct{}

func internalList(ctx context.Context) bool { return ctx.Value(internalListKey{}) != nil }

// maxTemplatePages bounds the pages serverTemplates reads.
const maxTemplatePages = 1000

// serverTemplates lists the server's own resource templates. mcp-go has no accessor
// for them, so they are listed through the server itself (with no session, so that
// only the server's own come back).
func serverTemplates(srv *server.MCPServer) []mcp.ResourceTemplate {
	var out []mcp.ResourceTemplate
	var cursor mcp.Cursor
	for range maxTemplatePages {
		params := map[string]any{}
		if cursor != "" {
			params["cursor"] = cursor
		}
		msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": mcp.MethodResourcesTemplatesList, "params": params})
		resp, ok := srv.HandleMessage(context.WithValue(context.Background(), internalListKey{}, true), msg).(mcp.JSONRPCResponse)
		if !ok {
			return out
		}
		res, ok := resp.Result.(mcp.ListResourceTemplatesResult)
		if !ok {
			return out
		}
		out = append(out, res.ResourceTemplates...)
		if res.NextCursor == "" {
			return out
		}
		cursor = res.NextCursor
	}
	return out
}

// ServerScopes lists, sorted and without duplicates, every scope the server's tools,
// prompts, resources and resource templates are annotated with, never offline_access
// (refresh is the authorization server's business, not a resource's to ask for). The
// hub advertises them in protected resource metadata and asks for them in a 401
// challenge when a service sets no required scopes.
func ServerScopes(srv *server.MCPServer) []string {
	var out []string
	add := func(r scopes.Requirement) {
		for _, sc := range r.Scopes() {
			if sc != "offline_access" && !slices.Contains(out, sc) {
				out = append(out, sc)
			}
		}
	}
	for _, t := range srv.ListTools() {
		add(scopes.ForTool(t.Tool))
	}
	for _, p := range srv.ListPrompts() {
		add(scopes.ForPrompt(p.Prompt))
	}
	for _, r := range srv.ListResources() {
		add(scopes.ForResource(r.Resource))
	}
	for _, t := range serverTemplates(srv) {
		add(scopes.ForResourceTemplate(t))
	}
	sort.Strings(out)
	return out
}
