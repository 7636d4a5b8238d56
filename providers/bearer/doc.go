// Package bearer verifies JWT access tokens (RFC 9068 and the common IdP dialects) for
// mcpauth: a [Verifier] checks the signature with keys from one source, Config.Keys —
// a JWKS URI ([JWKS]), PEM or JWK files ([KeyFiles]), public keys given directly
// ([StaticKeys]) or an HMAC secret ([HMAC]) — then the token's algorithm, header,
// issuer, audience and validity period, and returns an [mcpauth.AccessToken].
//
// # Keys
//
// With a [JWKS] the key set is fetched with github.com/MicahParks/jwkset's HTTP
// storage: once when the Verifier is created (a failure there is not fatal), every
// JWKS.RefreshInterval in the background, and when a token names an unknown "kid", at
// most once per JWKS.UnknownKIDRefreshInterval (an unknown kid with no fetch allowed
// fails at once; concurrent requests share one fetch). Parsed keys are indexed by kid
// inside the Verifier, and the index is rebuilt whenever jwkset replaces the set, so
// rotation works and a lookup costs a map access. The JWKS URI must be https, except on
// loopback hosts. Until a first fetch succeeds (an issuer that starts after the server),
// every token retries the fetch, at most once per second, and is answered with
// temporarily_unavailable (503) rather than invalid_token while none succeeded, since it
// cannot be judged.
//
// Keys are selected only by the "kid" header among the configured keys. A token whose
// header carries a key or a key location (jku, x5u, jwk, x5c) is refused, so a token
// cannot bring its own key. JWKS fetch failures are logged to Config.Logger (default
// slog.Default()) at level Warn (without any token or secret).
//
// # Checks
//
// Tokens are parsed and checked with github.com/golang-jwt/jwt/v5 (jwt.NewParser):
// exactly three strict base64url segments, the algorithm pinned to Config.Algorithms,
// the signature, and exp, nbf and iat with Config.Leeway on Config.Now. Its Keyfunc is
// this package's key lookup, which also checks the header. Issuers, audiences and the
// other claims are checked by the Verifier. Duplicate header parameters or claims are
// not refused: the last one wins, as with encoding/json (RFC 7515 §4, RFC 7519 §4).
// See BenchmarkColdVsRaw for the cost of a cold RS256 verification over the RSA
// operation itself.
//
// The algorithm must be in Config.Algorithms (by default all asymmetric algorithms for
// public keys and HS256/384/512 for an HMAC secret; "none" never, and HMAC never with
// public keys) and must fit the key's type, curve and JWK "alg". A "crit" header is
// refused, and "typ", when present, must be JWT, at+jwt or application/at+jwt. "iss" must
// be one of Config.Issuers and "aud" must contain one of Config.Audience (the scheme and
// host of an http(s) URI compared case-insensitively, see Config.Audience). "exp" is
// required (unless Config.ExpirationOptional) and, with "nbf" and "iat", checked against
// Config.Now with Config.Leeway. "sub" is required and must not be empty (unless
// Config.AllowMissingSubject), so that two clients without a subject are never the same
// caller. Tokens larger than Config.MaxTokenSize are refused before any decoding. Claims the Verifier reads must have the right type: a scope claim
// that is a number, say, fails the token rather than being ignored.
//
// Every failure is an *mcpauth.Error of class invalid_token (errors.Is(err,
// mcpauth.ErrInvalidToken)) whose description names the reason and is safe to return
// to the client ("token is expired", "token audience does not match this resource",
// "unknown signing key", ...).
//
// # Scopes and identity
//
// Scopes come from "scope" (space-delimited), "scp" (string or array) and any
// Config.ScopeClaims, plus the scopes that Config.RoleScopes grants to the roles in
// Config.RolesClaim. The subject, client (client_id or azp), tenant (Config.TenantClaim),
// audience, times, jti and every claim are copied to the AccessToken.
//
// # One verifier per resource
//
// [NewFactory] returns an mcpauth.VerifierFactory whose verifiers share one key source
// and accept, unless Config.Audience is set, the resource URI they were made for.
//
// # Development
//
// [Claims] builds the claims of test tokens. The development issuer that signs them and
// serves its JWKS and metadata, so that tests and demos exercise the same code path as a
// real identity provider, is DevIssuer in the test-support package
// github.com/mcpauth/mcpauth/mcpauthtest.
//
// Configuration comes from code or the environment ([ConfigFromEnv]); a Config never
// prints its HMAC secret.
//
// # Environment
//
// ConfigFromEnv("MCPAUTH") reads these variables (at most one of the first three sets
// Config.Keys):
//
//   - MCPAUTH_JWKS_URI: JWKS endpoint of the issuer (https, or http on loopback only)
//   - MCPAUTH_ISSUER: accepted iss values, comma or space separated
//   - MCPAUTH_AUDIENCE: accepted audiences; required unless a hub derives it per service
//   - MCPAUTH_ALGORITHMS: allowed signing algorithms (default: RS*, PS*, ES*, EdDSA for
//     public keys; HS* for a secret)
//   - MCPAUTH_PUBLIC_KEY_FILE: PEM or JWK/JWKS files with the issuer's public keys
//   - MCPAUTH_HMAC_SECRET / MCPAUTH_HMAC_SECRET_FILE: HMAC secret (development; at least
//     32 bytes)
//   - MCPAUTH_LEEWAY: clock skew allowed on exp/nbf/iat (Go duration, at most 5m)
//   - MCPAUTH_TENANT_CLAIM: claim holding the tenant (default tenant_id)
//   - MCPAUTH_ROLES_CLAIM: claim holding roles (default roles)
package bearer
