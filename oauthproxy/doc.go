// Package oauthproxy is an OAuth 2.1 authorization server that sits in front of an
// identity provider MCP clients cannot use directly (GitHub, Google, WorkOS SSO, any
// OIDC provider, or the built-in development provider), so that standard MCP clients
// can sign in to a hub's services.
package oauthproxy
