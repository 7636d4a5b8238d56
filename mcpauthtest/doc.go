// Package mcpauthtest helps test code that uses mcpauth, as go-oidc's oidctest does for
// go-oidc: it is meant for users' own tests, the runnable demo and local development, and
// has no place in a production server.
//
// A [DevIssuer] is a development token issuer: an RSA key, its JWKS and RFC 8414
// authorization server metadata served by [DevIssuer.Handler], and [DevIssuer.Mint] and
// [DevIssuer.Sign] to sign RS256 access tokens. [DevIssuer.VerifierConfig] returns the
// bearer.Config that trusts it, so a test exercises the same verification path as with a
// real identity provider:
//
//	dev, _ := mcpauthtest.NewDevIssuer(issuerURL)              // serve dev.Handler() at issuerURL
//	token, _ := dev.Mint("alice", resourceURL, "notes:read")   // sub, aud, scope; expires in 1h
//	factory, _ := bearer.NewFactory(dev.VerifierConfig())
//
// It is not an interactive sign-in server: it has no login, consent, authorization or
// token endpoint, and whoever holds it can mint any token. Tokens of any shape are built
// with the claims builder of providers/bearer ([bearer.NewClaims]) and signed with
// [DevIssuer.Sign].
package mcpauthtest
