package mcpauthtest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/mcpauthtest"
	"github.com/mcpauth/mcpauth/providers/bearer"
)

// A development issuer served on loopback mints a token; a bearer verifier trusts the
// issuer through its JWKS, exactly as it would trust a real identity provider.
func Example() {
	srv := httptest.NewUnstartedServer(nil)
	dev, err := mcpauthtest.NewDevIssuer("http://" + srv.Listener.Addr().String())
	if err != nil {
		panic(err)
	}
	srv.Config.Handler = dev.Handler() // the JWKS and the authorization server metadata
	srv.Start()
	defer srv.Close()

	const resource = "https://mcp.example.com/notes"
	v, err := bearer.New(dev.VerifierConfig(resource))
	if err != nil {
		panic(err)
	}
	defer v.Close()

	token, err := dev.Mint("alice", resource, "notes:read")
	if err != nil {
		panic(err)
	}
	tok, err := v.VerifyToken(context.Background(), token)
	if err != nil {
		panic(err)
	}
	fmt.Println(tok.Subject, tok.Scopes)

	// A token for another resource is refused.
	other, _ := dev.Mint("alice", "https://mcp.example.com/admin", "admin")
	_, err = v.VerifyToken(context.Background(), other)
	fmt.Println(errors.Is(err, mcpauth.ErrInvalidToken))
	// Output:
	// alice [notes:read]
	// true
}

// Sign signs claims of any shape built with bearer.NewClaims.
func ExampleDevIssuer_Sign() {
	srv := httptest.NewUnstartedServer(nil)
	dev, _ := mcpauthtest.NewDevIssuer("http://" + srv.Listener.Addr().String())
	srv.Config.Handler = dev.Handler()
	srv.Start()
	defer srv.Close()

	factory, _ := bearer.NewFactory(dev.VerifierConfig()) // audience: each resource URI
	v, _ := factory("https://mcp.example.com/notes")
	defer v.(*bearer.Verifier).Close()

	token, _ := dev.Sign(bearer.NewClaims("bob").
		WithAudience("https://mcp.example.com/notes").
		AddScopes("notes:read").
		AddClaim("tenant_id", "acme"))
	tok, err := v.VerifyToken(context.Background(), token)
	fmt.Println(err == nil, tok.Subject, tok.TenantID)
	// Output: true bob acme
}
