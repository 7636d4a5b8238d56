// Package e2e holds end-to-end tests of mcpauth with third-party software run from
// outside the library: the official TypeScript MCP SDK clients (e2e/clients, installed
// with npm ci by scripts/test) against a hub on loopback. The package has no API.
//
// The tests that need Node run only with MCPAUTH_E2E_NODE=1 (scripts/test sets it), and
// then fail, rather than skip, when node or the installed packages are missing.
package e2e
