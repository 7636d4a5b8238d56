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
// # No cache inside
//
// Every VerifyToken call is one upstream request. Wrap the verifier with
// mcpauth.CachedOpaque: concurrent requests with one token then cost one introspection,
// an accepted token is trusted until its "exp" (at most 5 minutes by default, so a
// revocation takes effect within that bound), rejected tokens are remembered for 10
// seconds and at most 32 introspections run at once. Tokens that cannot be bearer tokens
// (empty, larger than Config.MaxTokenSize, bytes outside RFC 6750's b64token alphabet)
// are refused before any request.
//
// # Checks
//
// "active": false is invalid_token ("token is not active"). For an active token:
//
//   - "exp" and "nbf", when present, are checked against Config.Now with Config.Leeway
//     (the authorization server's clock and this one may differ); "exp" becomes
//     AccessToken.ExpiresAt, which bounds the cache entry.
//   - "aud" (a string or an array) must contain one of Config.Audience, the resource URI
//     of this service (RFC 8707), unless Config.SkipAudienceCheck is set; the scheme and
//     host of an http(s) URI are compared case-insensitively and a default port is
//     ignored, the rest exactly (see Config.Audience). A token without an audience is
//     refused: an authorization server that issues tokens usable at every resource
//     server lets any of them replay the token here.
//   - "iss" must be one of Config.Issuers when that list is set.
//   - "token_type", when present, must not be "refresh_token", and sender-constrained
//     tokens ("token_type": "DPoP", or a "cnf" member) are refused: this verifier sees a
//     bearer token and cannot check the proof of possession the binding requires.
//
// # Identity and scopes
//
// AccessToken.Subject is "sub". A response without "sub" (or with an empty one) is
// refused by default ("the token has no subject (sub)"), since sessions and audit
// records are bound to the subject and two callers without one must never be taken for
// the same caller. With Config.AllowMissingSubject, such a response (a client
// credentials token, typically: node-oidc-provider introspects those without "sub") gets
// "client_id" as its subject, the RFC 9068 §2.2 convention that authorization servers
// follow in their JWT access tokens, so one client has one subject whatever the token
// format; a response with neither "sub" nor "client_id" is still refused ("token names
// no subject (sub) and no client (client_id)"). "username" is never used as the subject:
// it is a human-readable, possibly mutable name in another namespace; it stays in Claims.
//
// ClientID is "client_id", Issuer "iss", Audience "aud", ID "jti", IssuedAt "iat",
// TenantID the string member named by Config.TenantClaim (default "tenant_id"), and
// Claims the whole response. Scopes are the space-delimited "scope" member — the
// authorization server's scopes are this resource's scopes, since the token was issued
// for it — followed by Config.Scopes, granted to every accepted token.
//
// # Errors
//
// Every failure is an *mcpauth.Error:
//
//   - invalid_token (401): refused by the prefilter, not active, expired, not yet valid,
//     wrong audience or issuer, a refresh or sender-constrained token, no principal, or
//     HTTP 400 unsupported_token_type (node-oidc-provider's answer for a JWT).
//   - temporarily_unavailable (503), never invalid_token: connection failures, timeouts,
//     HTTP 403, 429 and 5xx (with RetryAfter from Retry-After or X-RateLimit-Reset; 403
//     is RFC 7662's "not allowed to introspect", this package's own reading),
//     malformed responses (not a JSON object, "active" missing or not a boolean, a
//     member of the wrong type) and any other status. HTTP 401, or 400 invalid_client,
//     means the authorization server rejected this resource server's own credentials: a
//     configuration error, not the caller's, reported as 503 whose cause matches
//     errors.Is(err, [ErrClientAuthentication]).
//
// Upstream failures are logged to Config.Logger (default slog.Default()) at most once a
// minute per verifier, without any token or secret.
//
// # Configuration
//
// Configuration comes from code or the environment ([ConfigFromEnv], variables
// MCPAUTH_INTROSPECTION_URL, MCPAUTH_INTROSPECTION_CLIENT_ID,
// MCPAUTH_INTROSPECTION_CLIENT_SECRET or _FILE, MCPAUTH_INTROSPECTION_AUTH_METHOD,
// MCPAUTH_AUDIENCE, MCPAUTH_ISSUER, ...); [Config.Configured] tells whether the
// environment selected this provider. A Config never prints its client secret. The
// endpoint must be https except on loopback hosts, which exist for tests and local
// authorization servers. [NewFactory] makes one verifier per protected resource.
//
// The package is tested against a fake introspection endpoint and, end to end, against
// node-oidc-provider (see e2e/oidc-provider in the repository).
//
// # Environment
//
// ConfigFromEnv("MCPAUTH") reads these variables (setting MCPAUTH_INTROSPECTION_URL
// selects the provider):
//
//   - MCPAUTH_INTROSPECTION_URL: introspection endpoint (https; http only on loopback);
//     setting it selects this provider
//   - MCPAUTH_INTROSPECTION_CLIENT_ID: this resource server's client id
//   - MCPAUTH_INTROSPECTION_CLIENT_SECRET / _FILE: its client secret (never printed)
//   - MCPAUTH_INTROSPECTION_AUTH_METHOD: client_secret_basic (default) or
//     client_secret_post
//   - MCPAUTH_INTROSPECTION_TOKEN_TYPE_HINT: token_type_hint sent (default access_token; -
//     for none)
//   - MCPAUTH_INTROSPECTION_SCOPES: extra scopes granted to every accepted token
//   - MCPAUTH_INTROSPECTION_TIMEOUT: per-request timeout (default 5s)
//   - MCPAUTH_AUDIENCE, MCPAUTH_ISSUER, MCPAUTH_TENANT_CLAIM, MCPAUTH_LEEWAY: shared with
//     bearer: audiences, accepted iss, tenant member, clock skew
package introspect
