// Package workos authenticates MCP clients with WorkOS: AuthKit as the MCP server's
// standards-compliant authorization server, and WorkOS SSO access tokens checked against
// the WorkOS API.
//
// # AuthKit
//
// AuthKit implements the MCP authorization flow itself (RFC 8414 metadata, dynamic client
// registration, PKCE) and issues RS256 JWT access tokens whose audience is the MCP
// resource the client asked for. [New] and [NewFactory] verify them with providers/bearer
// against the key set at AuthKitDomain + "/oauth2/jwks": "iss" must be exactly the
// normalised AuthKit domain ([Config.Issuer], for example "https://example.authkit.app",
// no trailing slash, as WorkOS writes it in its tokens and metadata), "aud" must name the
// resource (each service's resource URI with NewFactory, or Config.Audience). A token
// from another AuthKit domain fails on its key or its issuer. The AccessToken's Subject is
// the WorkOS user ID ("user_..."), its TenantID the "org_id" claim, and Claims hold every
// claim (sid, org_id, role, roles, permissions, ...).
//
// The hub advertises AuthKit as the authorization server and can serve AuthKit's
// metadata at its own origin through a [MetadataProxy] (cached with the max-age AuthKit
// sends, stale copy served while WorkOS is down):
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
// AuthKit tokens are verified locally, so wrap them with mcpauth.Cached (the hub does).
//
// # WorkOS SSO
//
// [NewProfileVerifier] verifies the opaque access tokens of WorkOS SSO (returned by
// POST /sso/token) with one call to GET {APIBaseURL}/sso/profile, the token in the
// Authorization header. The AccessToken's Subject is the profile ID ("prof_..."), its
// TenantID the profile's organization_id, and Claims the whole Profile. It caches
// nothing: wrap it with mcpauth.CachedOpaque, which collapses concurrent checks of one
// token into one call, remembers rejected tokens for a few seconds and bounds concurrent
// calls. Tokens that cannot be WorkOS tokens are refused before any call.
// [SSOEndpoint] and [UserManagementEndpoint] give the golang.org/x/oauth2 endpoints
// of WorkOS SSO and User Management, for the OAuth facade in front of them.
//
// # Scopes
//
// An AuthKit token's MCP scopes are its "scope", "scp" and "permissions" values (AuthKit
// is the authorization server of the MCP resource, and "permissions" are the WorkOS RBAC
// permissions of the user's role). SSO tokens carry none. To both, the configuration
// adds Config.Scopes (every accepted identity), Config.OrganizationScopes (by
// organization ID) and Config.RoleScopes (by WorkOS role slug).
//
// # Errors
//
// Every failure is an *mcpauth.Error. invalid_token (401): a bad, expired or foreign JWT,
// or WorkOS answering 401 for an SSO token. temporarily_unavailable (503, with RetryAfter
// from Retry-After or X-RateLimit-Reset, rounded up to whole seconds and capped at one
// hour): the AuthKit key set never fetched, or WorkOS answering 403, 429, 5xx, a
// redirect (never followed), something unexpected or larger than 1 MiB, or not at all
// within Config.HTTPTimeout — never invalid_token. This HTTP policy is the one shared by
// every provider of this module (internal/upstream); WorkOS's own reading, deliberately:
// only 401 is a verdict on an SSO token, and a 403 (or 404) carries RetryAfter too. access_denied (403): a valid token whose
// organization is not in Config.AllowedOrganizations (an identity that is fine, just not
// allowed here). A cache with a negative TTL (mcpauth.CachedOpaque: 10 seconds) remembers
// access_denied too, so a refused SSO user costs one WorkOS call per TTL; the hub's
// AllowedTenants, checked after the cache on TenantID (the organization ID), refuses them
// without any call.
//
// # Configuration
//
// [Config] comes from code or from the environment ([ConfigFromEnv]: MCPAUTH_WORKOS_*
// variables, the audience from MCPAUTH_AUDIENCE like providers/bearer). The API key is
// never printed. APIBaseURL (MCPAUTH_WORKOS_API_URL) exists for tests against a fake on
// loopback and for enterprise hosts; AuthKitDomain accepts http only on loopback.
//
// # Environment
//
// ConfigFromEnv("MCPAUTH") reads these variables:
//
//   - MCPAUTH_WORKOS_AUTHKIT_DOMAIN: AuthKit domain (example.authkit.app or https://…);
//     the token issuer, JWKS at /oauth2/jwks
//   - MCPAUTH_WORKOS_CLIENT_ID: WorkOS client ID (client_…), for a sign-in flow
//   - MCPAUTH_WORKOS_API_KEY / _FILE: WorkOS API key (never printed); enables SSO profile
//     verification
//   - MCPAUTH_WORKOS_ALLOWED_ORGANIZATIONS: only these organization IDs (org_…); others
//     get 403 access_denied
//   - MCPAUTH_WORKOS_SCOPES: MCP scopes granted to every accepted WorkOS identity
//   - MCPAUTH_WORKOS_API_URL: WorkOS API base URL (default https://api.workos.com; tests)
//   - MCPAUTH_AUDIENCE: accepted token audiences, replacing the per-service resource URI
package workos
