package workos_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/mcpauthtest"
	"github.com/mcpauth/mcpauth/providers/bearer"
	"github.com/mcpauth/mcpauth/providers/workos"
)

// AuthKit is the MCP server's authorization server. Here a development issuer on
// loopback stands in for https://<subdomain>.authkit.app: it serves the key set at
// /oauth2/jwks and the metadata at /.well-known/oauth-authorization-server, and signs
// tokens shaped like AuthKit's.
func Example() {
	authkit := httptest.NewUnstartedServer(nil)
	dev, _ := mcpauthtest.NewDevIssuer("http://" + authkit.Listener.Addr().String())
	authkit.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/oauth2/jwks":
			r.URL.Path = "/jwks.json"
			dev.Handler().ServeHTTP(w, r)
		case "/.well-known/oauth-authorization-server":
			w.Header().Set("Cache-Control", "max-age=300")
			_ = json.NewEncoder(w).Encode(map[string]any{
				"issuer":                           dev.Issuer(),
				"authorization_endpoint":           dev.Issuer() + "/oauth2/authorize",
				"token_endpoint":                   dev.Issuer() + "/oauth2/token",
				"registration_endpoint":            dev.Issuer() + "/oauth2/register",
				"code_challenge_methods_supported": []string{"S256"},
			})
		default:
			http.NotFound(w, r)
		}
	})
	authkit.Start()
	defer authkit.Close()

	cfg := workos.Config{
		AuthKitDomain:        dev.Issuer(), // in production: "example.authkit.app"
		AllowedOrganizations: []string{"org_acme"},
	}
	// One verifier per MCP service; each accepts only tokens minted for its resource.
	factory, err := workos.NewFactory(cfg)
	if err != nil {
		panic(err)
	}
	notes, _ := factory("https://mcp.example.com/notes/mcp")
	defer notes.(*workos.Verifier).Close()
	verifier := mcpauth.Cached(notes) // JWTs are checked locally: the plain cache fits

	token, _ := dev.Sign(bearer.NewClaims("user_01HBEQKA6K4QJAS93VPE39W1JT").
		WithAudience("https://mcp.example.com/notes/mcp").
		AddClaim("org_id", "org_acme").
		AddClaim("permissions", []string{"notes:read"}))
	tok, err := verifier.VerifyToken(context.Background(), token)
	if err != nil {
		panic(err)
	}
	fmt.Println(tok.Subject, tok.TenantID, tok.Scopes)

	other, _ := dev.Sign(bearer.NewClaims("user_2").
		WithAudience("https://mcp.example.com/notes/mcp").
		AddClaim("org_id", "org_globex"))
	_, err = verifier.VerifyToken(context.Background(), other)
	fmt.Println(errors.Is(err, mcpauth.ErrAccessDenied), mcpauth.AsError(err).Status)

	// The hub mounts the metadata proxy as hub.Config.AuthorizationServerMetadata and
	// advertises cfg.Issuer() in hub.Config.AuthorizationServers.
	md, _ := cfg.MetadataHandler()
	rec := httptest.NewRecorder()
	md.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.well-known/oauth-authorization-server", nil))
	var doc map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &doc)
	fmt.Println(rec.Code, doc["issuer"] == cfg.Issuer(), doc["code_challenge_methods_supported"])
	// Output:
	// user_01HBEQKA6K4QJAS93VPE39W1JT org_acme [notes:read]
	// true 403
	// 200 true [S256]
}

// WorkOS SSO access tokens are opaque: the ProfileVerifier asks GET /sso/profile, so wrap
// it with mcpauth.CachedOpaque. A fake WorkOS API on loopback stands in for
// https://api.workos.com.
func ExampleNewProfileVerifier() {
	var calls atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path != "/sso/profile" || r.Header.Get("Authorization") != "Bearer 01DY34ACQTM3B1CSX1YSZ8Z00D" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"message":"Unauthorized"}`))
			return
		}
		_, _ = w.Write([]byte(`{"object":"profile","id":"prof_01DMC79VCBZ0NY2099737PSVF1",
			"organization_id":"org_acme","email":"todd@example.com","role":{"slug":"admin"}}`))
	}))
	defer api.Close()

	v, err := workos.NewProfileVerifier(workos.Config{
		APIBaseURL: api.URL, // only for this fake; the default is https://api.workos.com
		Scopes:     []string{"notes:read"},
		RoleScopes: map[string][]string{"admin": {"notes:write"}},
	})
	if err != nil {
		panic(err)
	}
	verifier := mcpauth.CachedOpaque(v)

	for range 3 {
		tok, err := verifier.VerifyToken(context.Background(), "01DY34ACQTM3B1CSX1YSZ8Z00D")
		if err != nil {
			panic(err)
		}
		fmt.Println(tok.Subject, tok.TenantID, tok.Claims["email"], tok.Scopes)
	}
	_, err = verifier.VerifyToken(context.Background(), "01DY34ACQTM3B1CSX1YSREVOKED")
	fmt.Println(errors.Is(err, mcpauth.ErrInvalidToken))
	_, err = verifier.VerifyToken(context.Background(), "not a token")
	fmt.Println(errors.Is(err, mcpauth.ErrInvalidToken), "upstream calls:", calls.Load())
	// Output:
	// prof_01DMC79VCBZ0NY2099737PSVF1 org_acme todd@example.com [notes:read notes:write]
	// prof_01DMC79VCBZ0NY2099737PSVF1 org_acme todd@example.com [notes:read notes:write]
	// prof_01DMC79VCBZ0NY2099737PSVF1 org_acme todd@example.com [notes:read notes:write]
	// true
	// true upstream calls: 2
}

// APIKey is an mcpauth.Secret: a Config printed, logged or encoded shows it as
// [redacted].
func ExampleConfig_secret() {
	cfg := workos.Config{AuthKitDomain: "example.authkit.app", ClientID: "client_123", APIKey: mcpauth.NewSecret("sk_live_secret")}
	fmt.Println(cfg.APIKey)
	fmt.Println(strings.Contains(fmt.Sprintf("%+v", cfg), "ClientID:client_123 APIKey:[redacted]"))
	fmt.Println(cfg.Issuer(), cfg.JWKSURI())
	// Output:
	// [redacted]
	// true
	// https://example.authkit.app https://example.authkit.app/oauth2/jwks
}
