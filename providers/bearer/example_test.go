package bearer_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/mcpauthtest"
	"github.com/mcpauth/mcpauth/providers/bearer"
)

// A development issuer (mcpauthtest.DevIssuer) served on loopback signs a token; a
// Verifier trusts the issuer through its JWKS, exactly as it would trust a real identity
// provider.
func Example() {
	srv := httptest.NewUnstartedServer(nil)
	issuer, err := mcpauthtest.NewDevIssuer("http://" + srv.Listener.Addr().String())
	if err != nil {
		panic(err)
	}
	srv.Config.Handler = issuer.Handler()
	srv.Start()
	defer srv.Close()

	const resource = "https://mcp.example.com/notes"
	v, err := bearer.New(issuer.VerifierConfig(resource))
	if err != nil {
		panic(err)
	}
	defer v.Close()

	token, err := issuer.Sign(bearer.NewClaims("alice").
		WithAudience(resource).
		AddScopes("notes:read", "notes:write").
		AddClaim("tenant_id", "acme"))
	if err != nil {
		panic(err)
	}
	tok, err := v.VerifyToken(context.Background(), token)
	if err != nil {
		panic(err)
	}
	fmt.Println(tok.Subject, tok.TenantID, tok.Scopes, tok.HasScope("notes:write"))

	// A token for another resource is refused with a typed, client-safe error.
	other, _ := issuer.Mint("alice", "https://mcp.example.com/admin", "admin")
	_, err = v.VerifyToken(context.Background(), other)
	var e *mcpauth.Error
	fmt.Println(errors.Is(err, mcpauth.ErrInvalidToken), errors.As(err, &e) && e.Status == 401, e.Description)
	// Output:
	// alice acme [notes:read notes:write] true
	// true true token audience does not match this resource
}

// NewFactory makes one verifier per protected resource, all sharing one JWKS fetcher.
func ExampleNewFactory() {
	srv := httptest.NewUnstartedServer(nil)
	issuer, _ := mcpauthtest.NewDevIssuer("http://" + srv.Listener.Addr().String())
	srv.Config.Handler = issuer.Handler()
	srv.Start()
	defer srv.Close()

	factory, err := bearer.NewFactory(issuer.VerifierConfig()) // no fixed audience
	if err != nil {
		panic(err)
	}
	notes, _ := factory("https://mcp.example.com/notes")
	admin, _ := factory("https://mcp.example.com/admin")
	defer notes.(*bearer.Verifier).Close() // closes the shared key source

	token, _ := issuer.Mint("alice", "https://mcp.example.com/notes", "notes:read")
	_, errNotes := notes.VerifyToken(context.Background(), token)
	_, errAdmin := admin.VerifyToken(context.Background(), token)
	fmt.Println(errNotes == nil, errors.Is(errAdmin, mcpauth.ErrInvalidToken))
	// Output: true true
}

// An HMAC secret is an mcpauth.Secret: a Config printed, logged or encoded shows it as
// [redacted].
func ExampleConfig_secret() {
	cfg := bearer.Config{
		Keys:     bearer.HMAC(mcpauth.NewSecret("a-development-secret-of-32-bytes-or-more")),
		Issuers:  []string{"https://dev.local"},
		Audience: []string{"https://mcp.example.com"},
	}
	fmt.Println(cfg.Keys)
	fmt.Println(strings.Contains(fmt.Sprintf("%+v", cfg), "Keys:{Secret:[redacted]} Issuers:[https://dev.local]"))
	// Output:
	// {[redacted]}
	// true
}
