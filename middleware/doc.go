// Package middleware decides, once per request, whether a caller may do what it asks,
// and renders that decision over HTTP.
//
// Inside mcp-go, [ServerOptions] is the one place that decides per operation: tool and
// prompt filters at call time, prompt, tool and resource middlewares, and hooks for
// resources/subscribe, subscriptions/listen and completion/complete apply the scope
// annotations of package scopes to the item mcp-go will really use (a session's own
// tool shadows the server's) and to the token in the context. On stdio, where
// [StdioContext] supplies the principal, that decision is mcp-go's error reply.
//
// At the HTTP layer, [Bearer] wraps mcp-go's Streamable HTTP server and keeps what only
// it can know: the token from the Authorization header only (never passed on), its
// verification, service-level scopes, tenants, and the owner of each MCP session
// (bound when mcp-go issues it). It puts a per-request slot in the context where the
// in-server decision is written, and turns a refusal into 403 with an
// insufficient_scope step-up challenge on mcp-go's first reply header, reading no body
// itself. Every refusal has one shape (an RFC 6750 challenge with the RFC 9728
// resource_metadata URL and a JSON-RPC error body for a JSON-RPC request), and every
// request exactly one audit event. [Origin] validates the Origin header.
package middleware
