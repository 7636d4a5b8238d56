package hub

import (
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcpauth/mcpauth/middleware"
)

// ServerOptions returns the mcp-go server options that enforce per-tool, per-prompt and
// per-resource scopes inside a single mcp-go server, for use without a hub (for example
// over stdio, or behind your own middleware.Bearer):
//
//	srv := server.NewMCPServer("notes", "1.0.0", hub.ServerOptions(hub.Enforcement{})...)
func ServerOptions(e Enforcement) []server.ServerOption {
	return middleware.ServerOptions(middleware.ServerConfig(e))
}

// Enforcement configures ServerOptions; see middleware.ServerConfig.
type Enforcement middleware.ServerConfig
