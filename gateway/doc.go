// Package gateway protects MCP servers nobody wrote in Go: it mirrors an upstream MCP
// server, remote (Streamable HTTP or legacy SSE) or a local program speaking stdio, as an
// mcp-go server that a hub mounts like any other, so that the hub's sign-in, scopes,
// challenges and audit apply to tools it did not write.
//
//	svc, err := gateway.New(gateway.Config{
//	    Name:    "everything",
//	    Command: "npx", Args: []string{"-y", "@modelcontextprotocol/server-everything"},
//	    Policy: gateway.Policy{
//	        Rules:   []gateway.Rule{{Match: "delete_*", Scopes: []string{"admin"}}, {Match: "debug_*", Hidden: true}},
//	        Default: []string{"tools:call"},
//	    },
//	})
//	h.Mount("everything", svc.Server())
//
// What the upstream offers (tools, prompts, resources, templates) is listed at connection
// and again on each list-changed notification, with the policy's scopes written into each
// item's _meta (scopes.Required and friends), so the hub enforces and advertises them.
// Calls are forwarded with the caller's progress token (its progress notifications are
// routed back; one that mcp-go's client delivers after the call's result is dropped, as
// MCP allows no progress after a response), cancellation (the caller's context) and a
// timeout.
//
// The caller's token is never forwarded. A remote upstream gets the service's own
// credentials: static Headers (an API key), a token of the OAuth 2 client credentials
// grant (ClientCredentials), or, for an upstream that trusts the hub, a one-minute JWT the
// hub signs for each caller (CallerTokens, RFC 9068: sub, tenant_id, scope, client_id,
// jti, aud = the upstream), verifiable with the keys TokenSigner.JWKSHandler publishes.
//
// A lost upstream is reconnected, a child process restarted, with backoff from 100 ms to
// 30 s; meanwhile forwarded requests fail with ErrUnavailable, and a service mounted with
// hub.WithAvailability(svc.Available) answers 503 with Retry-After. OnConnect,
// OnDisconnect and OnRequest report the upstream's state and each request's latency. A
// child runs in its own process group, with PATH, HOME and Config.Env as its whole
// environment; its stderr goes to the log; Close kills the group.
//
// Aggregate offers the tools of several services on one server (<service>_<tool>), each
// with its own service's scopes; mount it at the hub's /mcp with h.Mount("", agg).
//
// The mcpauth binary (cmd/mcpauth) serves gateways from a configuration file.
package gateway
