package gateway

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// DefaultSeparator joins a service's name and its tool's in an aggregate.
const DefaultSeparator = "_"

// Aggregate returns one mcp-go server offering the tools of every service as
// <service><sep><tool> (sep "" means DefaultSeparator), each with its own service's
// scopes, so that a hub mounted with it (at "", the hub's /mcp) checks every call
// against the rules of the service it belongs to and lists to each caller what they may
// use. It follows each service's tool list as it changes.
func Aggregate(sep string, services map[string]*Service) (*server.MCPServer, error) {
	if sep == "" {
		sep = DefaultSeparator
	}
	names := make([]string, 0, len(services))
	for name := range services {
		names = append(names, name)
	}
	sort.Strings(names)
	for i, a := range names {
		for _, b := range names[i+1:] {
			// a_x could be b's tool when a's name with the separator prefixes b's.
			if strings.HasPrefix(b, a+sep) || strings.HasPrefix(a, b+sep) {
				return nil, fmt.Errorf("gateway: Aggregate: service names %q and %q overlap with the separator %q: tool names could collide", a, b, sep)
			}
		}
	}
	agg := &aggregate{sep: sep, services: services, names: names,
		srv: server.NewMCPServer("mcpauth-aggregate", "1", server.WithToolCapabilities(true))}
	for _, name := range names {
		services[name].watch(agg.rebuild)
	}
	agg.rebuild()
	return agg.srv, nil
}

type aggregate struct {
	sep      string
	services map[string]*Service
	names    []string
	srv      *server.MCPServer

	mu      sync.Mutex
	current []string
}

// rebuild offers the services' current tools under their aggregate names.
func (a *aggregate) rebuild() {
	a.mu.Lock()
	defer a.mu.Unlock()
	var tools []server.ServerTool
	var names []string
	for _, svcName := range a.names {
		svc := a.services[svcName]
		for _, st := range svc.mirroredTools() {
			t := st.Tool
			original := t.Name
			t.Name = svcName + a.sep + original
			tools = append(tools, server.ServerTool{Tool: t, Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				req.Params.Name = original
				return svc.callTool(ctx, req)
			}})
			names = append(names, t.Name)
		}
	}
	a.srv.DeleteTools(drop(a.current, names)...)
	a.srv.AddTools(tools...)
	a.current = names
}
