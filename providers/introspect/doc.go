// Package introspect verifies opaque access tokens for mcpauth with OAuth 2.0 Token
// Introspection (RFC 7662), so that an MCP server can sit behind any authorization server
// that issues opaque tokens (Keycloak, ORY Hydra, Okta, node-oidc-provider, Authlete, ...).
//
// A [Verifier] POSTs the token (never in a URL) to Config.IntrospectionURL as
// application/x-www-form-urlencoded "token=...&token_type_hint=access_token", with
// Accept: application/json, authenticating this resource server with its own client id
// and secret: in an HTTP Basic header (client_secret_basic, the default, each value
// form-urlencoded first as RFC 6749 §2.3.1 requires) or in the body (client_secret_post).
// Redirects are never followed, each request is bounded by Config.HTTPTimeout (default 5s)
// and the response by 1 MiB: the HTTP policy shared by every provider of this module
// (internal/upstream), which also reads Retry-After and X-RateLimit-Reset (rounded up to
// whole seconds, at most one hour).
//
// Every VerifyToken call is one upstream request: the verifier has no cache. Wrap it with
// mcpauth.CachedOpaque (the hub's mcpauth.Cached does the same): concurrent requests with
// one token then cost one introspection, an accepted token is trusted until its "exp"
// (at most 5 minutes by default, so a revocation takes effect within that bound),
// rejected tokens are remembered for 10 seconds and at most 32 introspections run at
// once. Tokens that cannot be bearer tokens (empty, larger than Config.MaxTokenSize,
// bytes outside RFC 6750's b64token alphabet) are refused before any request.
//
// # Checks
//
// "active": false is invalid_token ("token is not active"). For an active token:
//
//   - "exp" and "nbf", when present, are checked against Config.Now with Config.Leeway;
//     "exp" becomes AccessToken.ExpiresAt, which bounds the cache entry.
//   - "aud" (a string or an array) must contain one of Config.Audience (see there), the
//     resource URI of this service (RFC 8707), unless Config.SkipAudienceCheck is set. A
//     token without an audience is refused: an authorization server that issues tokens
//     usable at every resource server lets any of them replay the token here.
//   - "iss" must be one of Config.Issuers when that list is set.
//   - "token_type", when present, must not be "refresh_token", and sender-constrained
//     tokens ("token_type": "DPoP", or a "cnf" member) are refused: this verifier sees a
//     bearer token and cannot check the proof of possession the binding requires.
//   - "sub" must be set: sessions and audit records are bound to the subject, and two
//     callers without one must never be taken for one. With Config.AllowMissingSubject,
//     a response without "sub" (a client credentials token, typically) gets "client_id"
//     as its subject (RFC 9068 §2.2), and one with neither is still refused. "username",
//     a human-readable, possibly mutable name in another namespace, is never the subject.
//
// AccessToken.Subject is then "sub", ClientID "client_id", Issuer "iss", Audience "aud",
// ID "jti", IssuedAt "iat", TenantID the string member named by Config.TenantClaim
// (default "tenant_id"), and Claims the whole response. Scopes are the space-delimited
// "scope" member (the token was issued for this resource, so the authorization server's
// scopes are its scopes) followed by Config.Scopes.
//
// # Errors
//
// Every failure is an *mcpauth.Error: invalid_token (401) for a token refused by the
// checks above, before any request or by HTTP 400 unsupported_token_type
// (node-oidc-provider's answer for a JWT); temporarily_unavailable (503), never
// invalid_token, for connection failures, timeouts, HTTP 403 (RFC 7662's "not allowed to
// introspect"), 429 and 5xx (with RetryAfter from Retry-After or X-RateLimit-Reset),
// malformed responses (not a JSON object, "active" missing or not a boolean, a member
// of the wrong type) and any other status. HTTP 401, or 400 invalid_client, means the
// authorization server rejected this resource server's own credentials: a configuration
// error, not the caller's, whose cause matches errors.Is(err, [ErrClientAuthentication]).
// Upstream failures are logged to Config.Logger at most once a minute per verifier,
// never with a token or a secret.
//
// # Configuration
//
// A Config comes from code or from the environment ([ConfigFromEnv]; [Config.Configured]
// tells whether the environment selected this provider); [NewFactory] makes one verifier
// per protected resource. A Config never prints its client secret. The endpoint must be
// https except on loopback hosts, which exist for tests and local authorization servers.
// ConfigFromEnv("MCPAUTH") reads these variables (another prefix replaces MCPAUTH; unset
// or empty variables leave their field zero):
//
//   - MCPAUTH_INTROSPECTION_URL: Config.IntrospectionURL; setting it selects this provider
//   - MCPAUTH_INTROSPECTION_CLIENT_ID: Config.ClientID, this resource server's client id
//   - MCPAUTH_INTROSPECTION_CLIENT_SECRET, or _FILE naming a file holding it (trailing
//     new line trimmed): Config.ClientSecret
//   - MCPAUTH_INTROSPECTION_AUTH_METHOD: Config.AuthMethod, client_secret_basic (default)
//     or client_secret_post
//   - MCPAUTH_INTROSPECTION_TOKEN_TYPE_HINT: Config.TokenTypeHint (default access_token;
//     "-" for none)
//   - MCPAUTH_INTROSPECTION_SCOPES: Config.Scopes (comma- or space-separated)
//   - MCPAUTH_INTROSPECTION_TIMEOUT: Config.HTTPTimeout (a Go duration such as 3s)
//   - MCPAUTH_AUDIENCE, MCPAUTH_ISSUER (lists), MCPAUTH_TENANT_CLAIM, MCPAUTH_LEEWAY:
//     Config.Audience, Issuers, TenantClaim and Leeway, shared with providers/bearer
//
// The package is tested against a fake introspection endpoint and, end to end, against
// node-oidc-provider (see e2e/oidc-provider in the repository).
package introspect
