// Package oauthproxy is an OAuth 2.1 authorization server that sits in front of an
// identity provider MCP clients cannot use directly (GitHub, Google, WorkOS SSO, any
// OpenID Connect provider, or the built-in development provider), so that standard MCP
// clients can sign in to a hub's services.
//
// A hub mounts it with hub.Hub.UseAuthorizationServer. It serves, under its issuer URL:
//
//	/.well-known/oauth-authorization-server   RFC 8414 metadata (and the OIDC discovery paths)
//	/oauth/register     dynamic client registration (RFC 7591), rate-limited per address
//	/oauth/authorize    the authorization endpoint: PKCE S256, resource (RFC 8707), state
//	/oauth/consent      the consent form's target
//	/oauth/callback     the upstream's redirect URI (register it with the provider)
//	/oauth/token        authorization_code and refresh_token grants
//	/oauth/revoke       revocation (RFC 7009)
//	/oauth/jwks.json    the keys of the access tokens
//
// Clients are known by a Client ID Metadata Document (an https client_id, fetched behind
// an SSRF guard, cached per its HTTP cache headers) or by dynamic registration. At
// /oauth/authorize the redirect URI is matched exactly against the client's before
// anything else: a mismatch is an error page, never a redirect. The resource must be a
// protected service of the hub (Config.Resources); requested scopes it does not offer are
// dropped. The person sees a consent page naming the client and its redirect host (bound
// to the browser by a cookie and to the form by a CSRF token; framing refused) and may
// untick scopes; approvals are remembered per person and client. Then the browser goes
// upstream with the proxy's own client, PKCE and single-use state. At the callback the
// provider says who signed in and applies its rules; the browser must be the one that
// approved; the client gets a one-time code and iss (RFC 9207).
//
// Access tokens are JWTs signed by the proxy (Ed25519 or ES256), with aud = the
// resource, scope, client_id, a stable sub naming the provider ("github:12345") and
// tenant_id where the provider has one; VerifierFor checks them with no network call.
// Refresh tokens rotate on every use; presenting a rotated one revokes its family, as does
// a reused code. Upstream tokens never leave the server: they are sealed with AES-GCM in
// the Store, and tools reach them only through UpstreamTokenSource.
//
// State lives behind Store, five operations (put, get, take, delete,
// compare-and-swap) with TTLs; MemoryStore is the embedded default, for one replica.
package oauthproxy
