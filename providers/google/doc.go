// Package google verifies Google sign-in tokens for mcpauth: Google OAuth access tokens
// ("ya29.…") and Google ID tokens (JWTs), applies Workspace-domain and e-mail rules, and
// grants this server's own scopes by configuration. Its [Verifier] implements
// mcpauth.TokenVerifier; [Endpoint] and [DefaultScopes] configure the OAuth flow that
// obtains the tokens.
//
// # Two kinds of token
//
// A token shaped like a JWT (it starts with "eyJ" and has three dot-separated segments)
// is verified locally as an ID token with the providers/bearer engine: RS256 signature
// against Google's JWKS (https://www.googleapis.com/oauth2/v3/certs, fetched when the
// first JWT-shaped token arrives, valid or not, then refreshed hourly and when an
// unknown "kid" shows up, at most once a minute), issuer https://accounts.google.com or
// accounts.google.com, "aud" one of Config.ClientIDs, "exp" required, "iat" and "nbf"
// not in the future (with Config.Leeway), and "sub" present.
//
// Any other token is sent to Google's tokeninfo endpoint
// (https://oauth2.googleapis.com/tokeninfo) as a POST form body (access_token=…), so the
// token never appears in a URL, and never in a log line. The answer must name one of
// Config.ClientIDs as "aud" or "azp" (a token issued to another application is refused,
// which stops a token obtained by someone else's app from being replayed here), carry an
// "exp" still in the future by the injected clock, and a "sub".
//
// A prefilter refuses as invalid_token, without any upstream call, tokens that are
// empty, larger than MaxTokenSize or contain spaces or control characters, and, unless
// Config.AnyTokenFormat is set, tokens that are neither JWT-shaped nor "ya29." followed
// by RFC 6750 b64token characters: garbage and other providers' tokens cost nothing.
//
// # Rules, tenant and claims
//
// [Config] describes the rules and the scopes granted. AccessToken.TenantID is the
// hosted domain: the "hd" claim of an ID token, or for an access token the verified
// e-mail domain when it matched a configured HostedDomains entry (empty otherwise, so
// that unrelated gmail.com users never share a tenant). Claims holds every field Google
// returned (for access tokens the tokeninfo fields as strings, except "email_verified",
// normalised to a boolean for both kinds), plus "google_token_type" ("access_token" or
// "id_token") and, for access tokens, Google's OAuth scopes in "google_scopes".
//
// # Errors
//
// Every failure is an *mcpauth.Error:
//
//   - invalid_token (401): Google answered 400 (or 401) for the token — invalid,
//     expired or revoked — or it was issued to another client, is expired by the local
//     clock, has no subject, fails the prefilter, or (ID tokens) fails a signature,
//     issuer, audience or time check;
//   - access_denied (403): a rule refused a valid account;
//   - temporarily_unavailable (503): Google could not give an answer — rate limited (403
//     or 429), 5xx, a timeout (Config.HTTPTimeout, default 5s), an unreachable host, a
//     redirect (never followed, also with a Config.HTTPClient of the caller), an answer
//     larger than 1 MiB or one that is not the documented JSON. RetryAfter comes from
//     Retry-After (or an exhausted X-RateLimit-Reset), rounded up to whole seconds and
//     capped at one hour. A valid token is never called invalid because Google was down.
//
// The HTTP policy is the one shared by every provider of this module
// (internal/upstream). What stays Google's own, deliberately: tokeninfo's 400 (and 401)
// with a JSON error is a verdict on the token, and a 403 is Google's quota answer
// (rateLimitExceeded), so it is a rate limit like 429, not a refusal.
//
// # Caching
//
// A Verifier caches nothing: it makes one tokeninfo call per access token. Wrap it with
// mcpauth.CachedOpaque (mcpauth.Cached does the same, see Verifier.CacheOptions), which
// collapses concurrent checks of one token into one call, bounds concurrent upstream
// calls, trusts an accepted token for at most 5 minutes (never past its expiry) and
// remembers refusals for 10 seconds: a token revoked at Google is refused at the latest
// when its cache entry ends.
//
// # Configuration and environment
//
// Configuration comes from code or from these variables, read by [ConfigFromEnv]
// ("MCPAUTH" prefix; lists comma or space separated). MCPAUTH_GOOGLE_CLIENT_ID switches
// Google on ([Config.Configured]).
//
//   - MCPAUTH_GOOGLE_CLIENT_ID: your OAuth client ID(s); tokens must be issued to one
//     of them
//   - MCPAUTH_GOOGLE_CLIENT_SECRET, or _FILE naming a file (trailing newline trimmed):
//     client secret for a sign-in flow (never printed)
//   - MCPAUTH_GOOGLE_HOSTED_DOMAINS: accepted Workspace domains (hd; for access tokens,
//     the verified e-mail's domain)
//   - MCPAUTH_GOOGLE_STRICT_HOSTED_DOMAIN: true: only an ID token's hd claim satisfies the
//     hosted-domain rule
//   - MCPAUTH_GOOGLE_ALLOWED_EMAIL_DOMAINS: accepted domains of verified e-mail addresses
//   - MCPAUTH_GOOGLE_ALLOWED_EMAILS: accepted verified e-mail addresses (one allowlist
//     with the domains)
//   - MCPAUTH_GOOGLE_SCOPES: MCP scopes granted to every accepted account
//   - MCPAUTH_GOOGLE_DOMAIN_SCOPES: scopes by domain, entries separated by ";" or new
//     lines: example.com=notes:read notes:write;corp.example=admin
//   - MCPAUTH_GOOGLE_ANY_TOKEN_FORMAT: true: send tokens that are neither ya29.… nor JWTs
//     to tokeninfo too
//   - MCPAUTH_GOOGLE_TOKENINFO_URL, MCPAUTH_GOOGLE_JWKS_URI: endpoint overrides (tests,
//     egress proxies)
//   - MCPAUTH_GOOGLE_HTTP_TIMEOUT, MCPAUTH_GOOGLE_LEEWAY: upstream timeout (default 5s);
//     clock skew (0–5m), as Go durations such as 30s
package google
