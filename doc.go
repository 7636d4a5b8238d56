// Package mcpauth is the shared vocabulary of the mcpauth library: authentication and
// authorization for MCP servers built with github.com/mark3labs/mcp-go.
//
// A [TokenVerifier] turns a bearer token into an [AccessToken] or a typed [*Error]
// that carries the OAuth error code and HTTP status it maps to. Verifiers compose:
// [Any] accepts a token when the first of several verifiers does, and [Cached] puts a
// bounded, expiry-aware cache with collapsed concurrent misses in front of any verifier.
//
// The verified token travels in the request context; tool handlers read it with
// [AccessTokenFromContext].
//
// A [Secret] holds a client secret, an HMAC key or an API key in a configuration: it
// shows as "[redacted]" wherever fmt, log/slog or encoding/json print it, and
// [Secret.Reveal] reads it where it is used.
//
// Providers live in subpackages (providers/bearer, …), HTTP and mcp-go enforcement in
// middleware, scope requirements in scopes, audit events in audit, the multi-service
// front door in hub, and test support (a development token issuer) in mcpauthtest. This
// package imports none of them.
package mcpauth
