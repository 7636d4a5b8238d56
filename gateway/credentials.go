package gateway

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/config"
	"github.com/mcpauth/mcpauth/internal/signing"
)

// CallerTokenTTL is the lifetime of a token a TokenSigner signs for one request.
const CallerTokenTTL = time.Minute

// GatewayClientID is the client_id of the tokens a TokenSigner signs, and the subject of
// those it signs for no caller.
const GatewayClientID = "mcpauth-gateway"

// TokenSigner signs, for each request a service forwards, a short-lived JWT access token
// (RFC 9068, typ at+jwt) for an upstream that trusts the hub: iss = the signer's issuer,
// sub and tenant_id = the caller's, scope = the caller's scopes, aud = the upstream's URL,
// client_id = GatewayClientID (the gateway presents it), a fresh random jti, one minute.
// Requests made for no caller (connecting, listing) carry sub GatewayClientID and an
// empty scope. The upstream verifies them with the keys JWKSHandler publishes. The caller's own token
// is never sent.
type TokenSigner struct {
	issuer string
	key    signing.Key
	jwks   []byte
}

// NewTokenSigner returns a signer named issuer (an absolute URL, usually the hub's base
// URL) signing with key, a PEM Ed25519 or EC P-256 private key.
func NewTokenSigner(issuer string, key mcpauth.Secret) (*TokenSigner, error) {
	if _, err := config.CheckURL(issuer, config.URL{NoQuery: true}); err != nil {
		return nil, fmt.Errorf("gateway: NewTokenSigner: issuer: %w", err)
	}
	k, err := signing.Parse(key)
	if err != nil {
		return nil, fmt.Errorf("gateway: NewTokenSigner: key: %w", err)
	}
	return &TokenSigner{issuer: issuer, key: k, jwks: signing.JWKS([]signing.Key{k})}, nil
}

// JWKSHandler serves the signer's JWK Set, for the upstreams to fetch (mount it on the
// hub, for example at /gateway/jwks.json).
func (t *TokenSigner) JWKSHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(t.jwks)
	})
}

// token signs the JWT of the caller in ctx for aud.
func (t *TokenSigner) token(ctx context.Context, aud string) (string, error) {
	c := signing.AccessToken{Issuer: t.issuer, Subject: GatewayClientID, Audience: aud, ClientID: GatewayClientID, TTL: CallerTokenTTL}
	if at := mcpauth.AccessTokenFromContext(ctx); at != nil {
		c.Subject, c.Scopes, c.Extra = at.Subject, at.Scopes, map[string]string{"tenant_id": at.TenantID}
	}
	return t.key.SignAccessToken(c, time.Now())
}

// outbound adds the service's credentials to every request to the upstream.
type outbound struct {
	base    http.RoundTripper
	headers map[string]mcpauth.Secret
	signer  *TokenSigner // nil: no caller tokens
	aud     string
}

func (o *outbound) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	for k, v := range o.headers {
		req.Header.Set(k, v.Reveal())
	}
	if o.signer != nil {
		tok, err := o.signer.token(req.Context(), o.aud)
		if err != nil {
			return nil, fmt.Errorf("gateway: the upstream's credentials: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return o.base.RoundTrip(req)
}

// httpClient is the client of a remote upstream, with the service's credentials
// (Validate allows at most one of ClientCredentials and CallerTokens).
func (s *Service) httpClient() *http.Client {
	o := &outbound{base: http.DefaultTransport, headers: s.cfg.Headers, aud: s.cfg.URL}
	switch {
	case s.cfg.ClientCredentials != nil:
		// x/oauth2 fetches and refreshes the service's own token.
		o.base = s.cfg.ClientCredentials.Client(context.Background()).Transport
	case s.cfg.CallerTokens != nil:
		o.signer = s.cfg.CallerTokens
	}
	return &http.Client{Transport: o}
}
