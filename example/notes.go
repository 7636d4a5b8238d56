package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/scopes"
)

// noteStore keeps notes per space (a tenant, or one user without a tenant): one space
// never sees another's.
type noteStore struct {
	mu    sync.Mutex
	notes map[string][]note
}

type note struct {
	Author string `json:"author"`
	Text   string `json:"text"`
}

func newNoteStore() *noteStore { return &noteStore{notes: map[string][]note{}} }

func (s *noteStore) add(space string, n note) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notes[space] = append(s.notes[space], n)
	return len(s.notes[space])
}

func (s *noteStore) list(space string) []note {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]note{}, s.notes[space]...)
}

func (s *noteStore) counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for t, ns := range s.notes {
		out[t] = len(ns)
	}
	return out
}

func jsonResult(v any) (*mcp.CallToolResult, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return mcp.NewToolResultText(string(b)), nil
}

// space returns where a caller's notes live: its tenant, or, for an identity that
// belongs to no tenant (a GitHub user, say), a personal space, so that tenant-less
// callers never share notes by accident.
func space(tok *mcpauth.AccessToken) string {
	if tok.TenantID != "" {
		return "tenant:" + tok.TenantID
	}
	return "user:" + tok.Issuer + "|" + tok.Subject
}

// caller returns the verified token of the request; the hub guarantees one on a
// protected service, so a missing token is an error, never an anonymous caller.
func caller(ctx context.Context) (*mcpauth.AccessToken, error) {
	tok := mcpauth.AccessTokenFromContext(ctx)
	if tok == nil {
		return nil, fmt.Errorf("no authenticated caller")
	}
	return tok, nil
}

// newNotesServer builds the "notes" MCP service.
func newNotesServer(store *noteStore) *server.MCPServer {
	srv := server.NewMCPServer("notes", "1.0.0", server.WithToolCapabilities(false))

	srv.AddTool(mcp.NewTool("whoami",
		mcp.WithDescription("Returns the caller's subject, tenant and scopes."),
	), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		tok, err := caller(ctx)
		if err != nil {
			return nil, err
		}
		return jsonResult(map[string]any{"subject": tok.Subject, "tenant": tok.TenantID, "scopes": tok.Scopes})
	})

	srv.AddTool(mcp.NewTool("list_notes",
		mcp.WithDescription("Lists the notes of the caller's tenant."),
		scopes.Required("notes:read"),
	), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		tok, err := caller(ctx)
		if err != nil {
			return nil, err
		}
		return jsonResult(map[string]any{"tenant": tok.TenantID, "notes": store.list(space(tok))})
	})

	srv.AddTool(mcp.NewTool("add_note",
		mcp.WithDescription("Adds a note to the caller's tenant."),
		mcp.WithString("text", mcp.Required(), mcp.Description("The note's text.")),
		scopes.Required("notes:write"),
	), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		tok, err := caller(ctx)
		if err != nil {
			return nil, err
		}
		text, err := req.RequireString("text")
		if err != nil {
			return mcp.NewToolResultError(err.Error()), nil
		}
		n := store.add(space(tok), note{Author: tok.Subject, Text: text})
		return jsonResult(map[string]any{"tenant": tok.TenantID, "count": n})
	})
	return srv
}

// newAdminServer builds the "admin" MCP service; the hub requires scope "admin" for it.
func newAdminServer(store *noteStore) *server.MCPServer {
	srv := server.NewMCPServer("admin", "1.0.0", server.WithToolCapabilities(false))
	srv.AddTool(mcp.NewTool("stats",
		mcp.WithDescription("Counts notes per tenant."),
	), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		counts := store.counts()
		tenants := make([]string, 0, len(counts))
		for t := range counts {
			tenants = append(tenants, t)
		}
		sort.Strings(tenants)
		return jsonResult(map[string]any{"notes_per_space": counts, "spaces": tenants})
	})
	return srv
}
