// Package bearer verifies JWT access tokens (RFC 9068 and the common IdP dialects) for
// mcpauth: a [Verifier] checks the signature with keys from one source, Config.Keys —
// a JWKS URI ([JWKS]), PEM or JWK files ([KeyFiles]), public keys given directly
// ([StaticKeys]) or an HMAC secret ([HMAC]) — then the token's algorithm, header,
// issuer, audience and validity period, and returns an [mcpauth.AccessToken].
//
// # Keys
//
// A [JWKS] is fetched with github.com/MicahParks/jwkset's HTTP storage: once when the
// Verifier is created (a failure there is not fatal), every JWKS.RefreshInterval in the
// background, and when a token names an unknown "kid", at most once per
// JWKS.UnknownKIDRefreshInterval (concurrent requests share one fetch). Each fetch
// replaces the Verifier's index of parsed keys by kid, so rotation works and a lookup is
// a map access. The JWKS URI must be https, except on loopback hosts. Until a first
// fetch succeeds, every token retries it, at most once per second, and is answered with
// temporarily_unavailable (503) rather than invalid_token, since it cannot be judged.
// Failed fetches are logged to Config.Logger at level Warn (without any token or key).
//
// Keys are selected only by the "kid" header among the configured keys. A token whose
// header carries a key or a key location (jku, x5u, jwk, x5c) is refused, so a token
// cannot bring its own key.
//
// # Checks
//
// Tokens larger than Config.MaxTokenSize are refused before any decoding. The token is
// then parsed and checked with github.com/golang-jwt/jwt/v5: exactly three strict
// base64url segments, the algorithm pinned to Config.Algorithms (never "none", never
// HMAC with public keys) and fitting the key's type, curve and JWK "alg", the signature,
// and exp (required unless Config.ExpirationOptional), nbf and iat with Config.Leeway on
// Config.Now. A "crit" header is refused, and "typ", when present, must be JWT, at+jwt
// or application/at+jwt. "iss" must be one of Config.Issuers, "aud" must contain one of
// Config.Audience (see there how URIs compare), and "sub" must not be empty (unless
// Config.AllowMissingSubject), so that two clients without a subject are never the same
// caller. Claims the Verifier reads must have the right type: a scope claim that is a
// number fails the token rather than being ignored. Duplicate header parameters or
// claims are not refused: the last one wins, as with encoding/json (RFC 7515 §4, RFC
// 7519 §4). See BenchmarkColdVsRaw for the cost of a cold RS256 verification over the
// RSA operation itself.
//
// Every failure is an *mcpauth.Error of class invalid_token whose description names the
// reason and is safe to return to the client ("token is expired", "unknown signing key").
//
// # Scopes and identity
//
// Scopes come from "scope" (space-delimited), "scp" (string or array) and any
// Config.ScopeClaims, plus the scopes that Config.RoleScopes grants to the roles in
// Config.RolesClaim. The subject, client (client_id or azp), tenant (Config.TenantClaim),
// audience, times, jti and every claim are copied to the AccessToken.
//
// [NewFactory] returns an mcpauth.VerifierFactory whose verifiers share one key source
// and accept, unless Config.Audience is set, the resource URI they were made for.
//
// [Claims] builds the claims of test tokens; DevIssuer of the test-support package
// github.com/mcpauth/mcpauth/mcpauthtest signs them and serves its JWKS and metadata, so
// that tests and demos exercise the same code path as a real identity provider.
//
// # Environment
//
// [ConfigFromEnv]("MCPAUTH") reads these variables; at most one of the first three sets
// Config.Keys, and a Config never prints its HMAC secret:
//
//   - MCPAUTH_JWKS_URI: JWKS{URI: value}, the issuer's JWKS (https, or http on loopback)
//   - MCPAUTH_PUBLIC_KEY_FILE: KeyFiles(list...), PEM or JWK/JWKS files of public keys
//   - MCPAUTH_HMAC_SECRET / MCPAUTH_HMAC_SECRET_FILE: HMAC(the value's raw bytes, or the
//     file's content without its trailing newline), at least 32 bytes (development)
//   - MCPAUTH_ISSUER: Config.Issuers, comma or space separated
//   - MCPAUTH_AUDIENCE: Config.Audience (a list); required unless a hub derives it
//   - MCPAUTH_ALGORITHMS: Config.Algorithms (a list; default: RS*, PS*, ES*, EdDSA for
//     public keys, HS* for a secret)
//   - MCPAUTH_LEEWAY: Config.Leeway, the clock skew on exp/nbf/iat (Go duration, at most
//     5m)
//   - MCPAUTH_TENANT_CLAIM: Config.TenantClaim (default tenant_id)
//   - MCPAUTH_ROLES_CLAIM: Config.RolesClaim (default roles)
package bearer
