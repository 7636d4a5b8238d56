package oauthproxy_test

import (
	"log"
	"net/http"
	"os"

	"github.com/mark3labs/mcp-go/server"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/hub"
	"github.com/mcpauth/mcpauth/oauthproxy"
	"github.com/mcpauth/mcpauth/providers/github"
)

// A hub behind GitHub sign-in: MCP clients register, send the person through consent and
// GitHub, and get tokens for the hub's services.
func ExampleNew() {
	h, err := hub.New(hub.Config{BaseURL: "https://mcp.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	gh, err := oauthproxy.GitHub(github.Config{
		ClientID:     "Iv1.0123456789abcdef", // the GitHub OAuth app; callback https://mcp.example.com/oauth/callback
		ClientSecret: mcpauth.NewSecret(os.Getenv("GITHUB_CLIENT_SECRET")),
		AllowedOrgs:  []string{"acme"},
		Scopes:       []string{"notes:read", "notes:write"},
	})
	if err != nil {
		log.Fatal(err)
	}
	proxy, err := oauthproxy.New(oauthproxy.Config{
		Issuer:         "https://mcp.example.com",
		Upstream:       gh,
		Resources:      h,
		SigningKey:     mcpauth.NewSecret(os.Getenv("SIGNING_KEY")),
		EncryptionKeys: []mcpauth.Secret{mcpauth.NewSecret(os.Getenv("ENCRYPTION_KEY"))},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := h.UseAuthorizationServer(proxy); err != nil {
		log.Fatal(err)
	}
	if err := h.Mount("notes", server.NewMCPServer("notes", "1.0.0")); err != nil {
		log.Fatal(err)
	}
	log.Fatal(http.ListenAndServe(":8080", h))
}
