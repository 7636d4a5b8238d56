package workos

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/server"
	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/hub"
	"github.com/mcpauth/mcpauth/scopes"
)

func newAuthKitVerifier(t *testing.T, cfg Config) *Verifier {
	t.Helper()
	v, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	return v
}

func TestAuthKitValidToken(t *testing.T) {
	clock := newTestClock()
	ak := newFakeAuthKit(t)
	cfg := ak.config(clock)
	cfg.Audience = []string{notesResource}
	cfg.Scopes = []string{"profile:read"}
	cfg.OrganizationScopes = map[string][]string{orgAcme: {"notes:write"}, orgGlobex: {"globex:only"}}
	cfg.RoleScopes = scopes.RoleMap{"member": {"chat"}, "admin": {"admin"}}
	v := newAuthKitVerifier(t, cfg)

	c := ak.claims(clock, notesResource).AddScopes("openid", "notes:read")
	tok, err := v.VerifyToken(context.Background(), ak.sign(t, c))
	require.NoError(t, err)
	require.Equal(t, userAlice, tok.Subject)
	require.Equal(t, orgAcme, tok.TenantID)
	require.Equal(t, "client_01JP8BD0CZ401TDF9X54NT5ZEK", tok.ClientID)
	require.Equal(t, ak.issuer, tok.Issuer)
	require.Equal(t, ak.issuer, v.Issuer())
	require.Equal(t, []string{notesResource}, tok.Audience)
	require.Equal(t, "workos", tok.Provider)
	require.Equal(t, clock.Now().Add(5*time.Minute), tok.ExpiresAt)
	// Token scope and permissions first, then Scopes, OrganizationScopes, RoleScopes.
	require.Equal(t, []string{"openid", "notes:read", "profile:read", "notes:write", "chat"}, tok.Scopes)
	require.Equal(t, "session_01HQSXZGF8FHF7A9ZZFCW4387R", tok.Claims["sid"])
	require.Equal(t, orgAcme, tok.Claims["org_id"])
	require.Equal(t, "member", tok.Claims["role"])
	require.Equal(t, []any{"notes:read"}, tok.Claims["permissions"])

	t.Run("permissions as the only scope source", func(t *testing.T) {
		v := newAuthKitVerifier(t, Config{AuthKitDomain: ak.issuer, Audience: []string{notesResource}, Now: clock.Now})
		tok, err := v.VerifyToken(context.Background(), ak.sign(t, ak.claims(clock, notesResource).AddClaim("permissions", []string{"a:read", "b:write"})))
		require.NoError(t, err)
		require.Equal(t, []string{"a:read", "b:write"}, tok.Scopes)
	})
	t.Run("role claim of the wrong type", func(t *testing.T) {
		_, err := v.VerifyToken(context.Background(), ak.sign(t, ak.claims(clock, notesResource).AddClaim("role", 7)))
		requireClass(t, err, mcpauth.ErrInvalidToken, 401, "role claim must be a string")
	})
	t.Run("org_id of the wrong type", func(t *testing.T) {
		_, err := v.VerifyToken(context.Background(), ak.sign(t, ak.claims(clock, notesResource).AddClaim("org_id", []string{orgAcme})))
		requireClass(t, err, mcpauth.ErrInvalidToken, 401, "org_id claim must be a string")
	})
	t.Run("expired", func(t *testing.T) {
		c := ak.claims(clock, notesResource).IssuedAt(clock.Now().Add(-time.Hour)).ExpiresIn(time.Minute)
		_, err := v.VerifyToken(context.Background(), ak.sign(t, c))
		requireClass(t, err, mcpauth.ErrInvalidToken, 401, "token is expired")
	})
	t.Run("garbage", func(t *testing.T) {
		_, err := v.VerifyToken(context.Background(), "not-a-jwt")
		requireClass(t, err, mcpauth.ErrInvalidToken, 401, "malformed token")
	})
}

func TestAuthKitAudiencePerResource(t *testing.T) {
	clock := newTestClock()
	ak := newFakeAuthKit(t)
	factory, err := NewFactory(ak.config(clock))
	require.NoError(t, err)
	notes, err := factory(notesResource)
	require.NoError(t, err)
	admin, err := factory(adminResource)
	require.NoError(t, err)
	t.Cleanup(func() { _ = notes.(*Verifier).Close() })

	notesToken := ak.sign(t, ak.claims(clock, notesResource))
	tok, err := notes.VerifyToken(context.Background(), notesToken)
	require.NoError(t, err)
	require.Equal(t, userAlice, tok.Subject)
	_, err = admin.VerifyToken(context.Background(), notesToken)
	requireClass(t, err, mcpauth.ErrInvalidToken, 401, "token audience does not match this resource")

	// A token AuthKit minted without a resource indicator has the client ID as audience.
	clientAud := ak.sign(t, ak.claims(clock, "client_01JP8BD0CZ401TDF9X54NT5ZEK"))
	_, err = notes.VerifyToken(context.Background(), clientAud)
	requireClass(t, err, mcpauth.ErrInvalidToken, 401, "token audience does not match this resource")

	// The factory shares one key set: one JWKS fetch for every verifier.
	require.Equal(t, int64(1), ak.jwksHits.Load())

	t.Run("Audience overrides the resource", func(t *testing.T) {
		cfg := ak.config(clock)
		cfg.Audience = []string{"client_01JP8BD0CZ401TDF9X54NT5ZEK"}
		factory, err := NewFactory(cfg)
		require.NoError(t, err)
		v, err := factory(notesResource)
		require.NoError(t, err)
		t.Cleanup(func() { _ = v.(*Verifier).Close() })
		_, err = v.VerifyToken(context.Background(), clientAud)
		require.NoError(t, err)
		_, err = v.VerifyToken(context.Background(), notesToken)
		requireClass(t, err, mcpauth.ErrInvalidToken, 401, "token audience does not match this resource")
	})
	t.Run("empty resource without Audience", func(t *testing.T) {
		_, err := factory("")
		require.ErrorContains(t, err, "resource URI is empty")
	})
}

func TestAuthKitOtherDomainRefused(t *testing.T) {
	clock := newTestClock()
	ak := newFakeAuthKit(t)
	other := newFakeAuthKit(t)
	cfg := ak.config(clock)
	cfg.Audience = []string{notesResource}
	v := newAuthKitVerifier(t, cfg)

	// Signed by the other domain's key, with the other domain's issuer.
	_, err := v.VerifyToken(context.Background(), other.sign(t, other.claims(clock, notesResource)))
	requireClass(t, err, mcpauth.ErrInvalidToken, 401, "unknown signing key")

	// Our key (a leaked-key scenario aside, a token AuthKit issued for another domain
	// sharing keys) but another issuer: refused on iss.
	_, err = v.VerifyToken(context.Background(), ak.sign(t, ak.claims(clock, notesResource).WithIssuer(other.issuer)))
	requireClass(t, err, mcpauth.ErrInvalidToken, 401, "token issuer is not accepted")

	// The issuer is compared exactly: a trailing slash is another issuer.
	_, err = v.VerifyToken(context.Background(), ak.sign(t, ak.claims(clock, notesResource).WithIssuer(ak.issuer+"/")))
	requireClass(t, err, mcpauth.ErrInvalidToken, 401, "token issuer is not accepted")

	// The other domain's verifier refuses ours in turn.
	ocfg := other.config(clock)
	ocfg.Audience = []string{notesResource}
	ov := newAuthKitVerifier(t, ocfg)
	_, err = ov.VerifyToken(context.Background(), ak.sign(t, ak.claims(clock, notesResource)))
	requireClass(t, err, mcpauth.ErrInvalidToken, 401, "unknown signing key")
}

func TestAuthKitOrganizationRestriction(t *testing.T) {
	clock := newTestClock()
	ak := newFakeAuthKit(t)
	cfg := ak.config(clock)
	cfg.Audience = []string{notesResource}
	cfg.AllowedOrganizations = []string{orgAcme}
	v := newAuthKitVerifier(t, cfg)

	tok, err := v.VerifyToken(context.Background(), ak.sign(t, ak.claims(clock, notesResource)))
	require.NoError(t, err)
	require.Equal(t, orgAcme, tok.TenantID)

	_, err = v.VerifyToken(context.Background(), ak.sign(t, ak.claims(clock, notesResource).AddClaim("org_id", orgGlobex)))
	requireClass(t, err, mcpauth.ErrAccessDenied, 403, "organization is not allowed")

	_, err = v.VerifyToken(context.Background(), ak.sign(t, ak.claims(clock, notesResource).AddClaim("org_id", "")))
	requireClass(t, err, mcpauth.ErrAccessDenied, 403, "not bound to a WorkOS organization")

	// Validity is decided first: an invalid token of another organization is invalid.
	expired := ak.claims(clock, notesResource).AddClaim("org_id", orgGlobex).IssuedAt(clock.Now().Add(-time.Hour)).ExpiresIn(time.Minute)
	_, err = v.VerifyToken(context.Background(), ak.sign(t, expired))
	requireClass(t, err, mcpauth.ErrInvalidToken, 401, "token is expired")
}

func TestAuthKitKeySetUnavailable(t *testing.T) {
	clock := newTestClock()
	ak := newFakeAuthKit(t)
	ak.jwksDown.Store(true)
	cfg := ak.config(clock)
	cfg.Audience = []string{notesResource}
	v := newAuthKitVerifier(t, cfg)
	_, err := v.VerifyToken(context.Background(), ak.sign(t, ak.claims(clock, notesResource)))
	requireClass(t, err, mcpauth.ErrUpstreamUnavailable, 503, "")
}

func TestAuthKitConstructorErrors(t *testing.T) {
	_, err := New(Config{Audience: []string{notesResource}})
	require.ErrorContains(t, err, "Config.AuthKitDomain is empty")
	require.ErrorContains(t, err, "MCPAUTH_WORKOS_AUTHKIT_DOMAIN")

	_, err = New(Config{AuthKitDomain: "example.authkit.app"})
	require.ErrorContains(t, err, "Config.Audience is empty")
	require.ErrorContains(t, err, "NewFactory")

	_, err = NewFactory(Config{AuthKitDomain: "http://example.authkit.app"})
	require.ErrorContains(t, err, "must use https")

	_, err = Config{}.MetadataHandler()
	require.ErrorContains(t, err, "Config.AuthKitDomain is empty")
}

// TestAuthKitHub mounts services on a hub that trusts AuthKit: per-service audiences,
// protected resource metadata naming AuthKit, and AuthKit's metadata served by the proxy.
func TestAuthKitHub(t *testing.T) {
	clock := newTestClock()
	ak := newFakeAuthKit(t)
	cfg := ak.config(clock)
	factory, err := NewFactory(cfg)
	require.NoError(t, err)
	md, err := cfg.MetadataHandler()
	require.NoError(t, err)

	front := httptest.NewUnstartedServer(nil)
	base := "http://" + front.Listener.Addr().String()
	h, err := hub.New(hub.Config{
		BaseURL:                     base,
		VerifierFor:                 factory,
		AuthorizationServers:        []string{cfg.Issuer()},
		AuthorizationServerMetadata: md,
	})
	require.NoError(t, err)
	require.NoError(t, h.Mount("notes", server.NewMCPServer("notes", "1.0.0")))
	require.NoError(t, h.Mount("admin", server.NewMCPServer("admin", "1.0.0")))
	front.Config.Handler = h
	front.Start()
	t.Cleanup(front.Close)

	get := func(path string) (int, []byte) {
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, b
	}
	status, body := get("/.well-known/oauth-authorization-server")
	require.Equal(t, http.StatusOK, status)
	require.JSONEq(t, string(ak.document()), string(body))

	status, body = get("/.well-known/oauth-protected-resource/notes/mcp")
	require.Equal(t, http.StatusOK, status)
	var prm struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
	}
	require.NoError(t, json.Unmarshal(body, &prm))
	require.Equal(t, base+"/notes/mcp", prm.Resource)
	require.Equal(t, []string{ak.issuer}, prm.AuthorizationServers)

	initialize := func(service, token string) int {
		req, err := http.NewRequest(http.MethodPost, base+"/"+service+"/mcp",
			stringsReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	token := ak.sign(t, ak.claims(clock, base+"/notes/mcp"))
	require.Equal(t, http.StatusOK, initialize("notes", token))
	require.Equal(t, http.StatusUnauthorized, initialize("admin", token))
}
