// Package e2e holds end-to-end tests of mcpauth with third-party software run from
// outside the library, against a hub on loopback:
//
//   - the official TypeScript MCP SDK clients (e2e/clients, two releases) with tokens,
//     and signing in through oauthproxy by dynamic registration and by a Client ID
//     Metadata Document: consent, step-up, refresh, revocation (signin.mjs), also
//     against the example itself;
//   - mcp-go's own OAuth client signing in through oauthproxy;
//   - the reference MCP servers everything and memory (e2e/servers) behind the gateway,
//     over stdio, Streamable HTTP and SSE, and behind the mcpauth binary configured by a
//     file, driven by the TypeScript SDK signed in through the proxy (gateway.mjs);
//   - two example processes sharing one Redis behind a round-robin front, and Redis
//     killed and restarted mid-run;
//   - the MCP conformance suite's authorization-server scenarios (e2e/conformance, with
//     its own Node 22).
//
// go-sdk's OAuth client is tested in bench/, whose module may depend on go-sdk. The
// package has no API.
//
// The tests that need Node run only with MCPAUTH_E2E_NODE=1 (scripts/test sets it, after
// installing each package with npm ci), and then fail, rather than skip, when node or
// the installed packages are missing.
package e2e
