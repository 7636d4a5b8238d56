// Package middleware enforces mcpauth's rules at two depths.
//
// At the HTTP layer, [Bearer] wraps any http.Handler (typically mcp-go's Streamable
// HTTP server): it takes the token from the Authorization header only, verifies it,
// checks service-level scopes and tenants, inspects tools/call requests to answer 403
// insufficient_scope with a step-up challenge before the MCP server runs anything, binds
// MCP sessions to the principal that created them, and puts the verified token in the
// request context. Every failure carries an RFC 6750 challenge with the RFC 9728
// resource_metadata URL, a JSON body, and one audit event.
//
// Inside mcp-go, [ServerOptions] installs a tool filter, tool middleware, a prompt filter
// and resource middleware that apply the same scope annotations (package scopes) to the
// token in the context: the defense in depth behind the HTTP layer, and the only
// enforcement on stdio, where [StdioContext] supplies the principal.
package middleware
