// Package hub mounts several mcp-go servers behind one front door.
//
// Each service is served at /<name>/mcp over Streamable HTTP, with its protected
// resource metadata (RFC 9728) at /.well-known/oauth-protected-resource/<name>/mcp whose
// "resource" is the service's URI. Hub-level settings (verifier, required scopes,
// allowed tenants, authorization servers) apply to every service unless the service sets
// its own with an [Option]; [Public] services need no token.
//
// With [Config.VerifierFor], each service gets a verifier whose default audience is its
// own resource URI, so a token minted for one service is refused by another. Verifiers
// are cached (mcpauth.Cached) unless [Config.DisableCache] is set.
//
// The hub validates the Origin of every request (the hub's own and [Config.CORSOrigins]
// pass), binds each MCP session to the principal it was issued to for as long as
// mcp-go keeps it ([Config.SessionIdleTTL], [Config.MaxSessions]), and applies an
// optional [Config.ScopeHierarchy] once per token. It also answers /healthz and, when
// configured, the authorization server metadata of an authorization server it fronts.
// [Config.CORSOrigins] admits browser-based clients: preflights are answered and
// WWW-Authenticate and Mcp-Session-Id are exposed (401 challenges included).
// [ServerOptions] gives the same per-operation decisions to a single mcp-go server used
// without a hub.
package hub
