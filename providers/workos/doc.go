// Package workos authenticates MCP clients with WorkOS: AuthKit as the MCP server's
// standards-compliant authorization server, and WorkOS SSO access tokens checked against
// the WorkOS API.
//
// # AuthKit
//
// AuthKit implements the MCP authorization flow itself (RFC 8414 metadata, dynamic client
// registration, PKCE) and issues RS256 JWT access tokens whose audience is the MCP
// resource the client asked for. [New] and [NewFactory] verify them locally (wrap them
// with mcpauth.Cached; the hub does) against the key set at AuthKitDomain +
// "/oauth2/jwks", the issuer [Config.Issuer] and the resource's audience, so a token of
// another AuthKit domain or for another service is refused. The hub advertises AuthKit
// as the authorization server and can serve its metadata at its own origin through a
// [MetadataProxy]:
//
//	md, _ := cfg.MetadataHandler()
//	factory, _ := workos.NewFactory(cfg)
//	h, _ := hub.New(hub.Config{
//		BaseURL:                     "https://mcp.example.com",
//		VerifierFor:                 factory,
//		AuthorizationServers:        []string{cfg.Issuer()},
//		AuthorizationServerMetadata: md,
//	})
//
// # WorkOS SSO
//
// [NewProfileVerifier] verifies the opaque access tokens of WorkOS SSO with one call to
// GET {APIBaseURL}/sso/profile; tokens that cannot be WorkOS tokens are refused before
// any call. Wrap it with mcpauth.CachedOpaque, which collapses concurrent checks of one
// token into one call, remembers rejected tokens for a few seconds and bounds concurrent
// calls. [SSOEndpoint] and [UserManagementEndpoint] are the golang.org/x/oauth2
// endpoints of WorkOS SSO and User Management, for the OAuth facade in front of them.
//
// # Scopes
//
// An AuthKit token's MCP scopes are its "scope", "scp" and "permissions" values (the
// WorkOS RBAC permissions of the user's role); SSO tokens carry none. To both, the
// configuration adds Config.Scopes (every accepted identity), Config.OrganizationScopes
// (by organization ID) and Config.RoleScopes (by WorkOS role slug).
//
// # Errors
//
// Every failure is an *mcpauth.Error:
//
//   - invalid_token (401): a bad, expired or foreign JWT, or WorkOS answering 401 for an
//     SSO token: deliberately, only 401 is a verdict on an SSO token.
//   - temporarily_unavailable (503), never invalid_token: the AuthKit key set never
//     fetched, or WorkOS answering 403, 404, 429, 5xx, a redirect (never followed),
//     something unexpected or over 1 MiB, or not within Config.HTTPTimeout. RetryAfter
//     comes from Retry-After or X-RateLimit-Reset, rounded up to whole seconds, at most
//     one hour: the HTTP policy of every provider of this module (internal/upstream).
//   - access_denied (403): a valid token of an organization outside
//     Config.AllowedOrganizations. mcpauth.CachedOpaque remembers it for 10 seconds; the
//     hub's AllowedTenants (on TenantID, the organization ID) refuses it with no call.
//
// # Environment
//
// [Config] comes from code or from the environment: ConfigFromEnv("MCPAUTH") reads
//
//   - MCPAUTH_WORKOS_AUTHKIT_DOMAIN: AuthKit domain (example.authkit.app or https://…;
//     http only on loopback); the token issuer, JWKS at /oauth2/jwks
//   - MCPAUTH_WORKOS_CLIENT_ID: WorkOS client ID (client_…), for a sign-in flow
//   - MCPAUTH_WORKOS_API_KEY / _FILE: WorkOS API key (never printed); enables SSO profile
//     verification
//   - MCPAUTH_WORKOS_ALLOWED_ORGANIZATIONS: only these organization IDs (org_…); others
//     get 403 access_denied
//   - MCPAUTH_WORKOS_SCOPES: MCP scopes granted to every accepted WorkOS identity
//   - MCPAUTH_WORKOS_API_URL: WorkOS API base URL (default https://api.workos.com; tests
//     against a fake on loopback, enterprise hosts)
//   - MCPAUTH_AUDIENCE: accepted token audiences, replacing the per-service resource URI
//     (the variable providers/bearer reads)
package workos
