package introspect_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/providers/introspect"
)

// An authorization server's introspection endpoint (here a minimal stand-in on loopback)
// vouches for an opaque token; the verifier, wrapped with mcpauth.CachedOpaque, turns it
// into an AccessToken for this resource and refuses what the server does not know.
func Example() {
	const resource = "https://mcp.example.com/notes/mcp"
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, _ := r.BasicAuth()
		if id != "notes-rs" || secret != "rs-secret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.PostFormValue("token") != "opaque-token-for-alice" {
			_ = json.NewEncoder(w).Encode(map[string]any{"active": false})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"active":    true,
			"sub":       "alice",
			"client_id": "claude-desktop",
			"scope":     "notes:read notes:write",
			"aud":       resource,
			"exp":       time.Now().Add(time.Hour).Unix(),
			"tenant_id": "acme",
		})
	}))
	defer as.Close()

	v, err := introspect.New(introspect.Config{
		IntrospectionURL: as.URL + "/introspect", // https in production; http only on loopback
		ClientID:         "notes-rs",
		ClientSecret:     mcpauth.NewSecret("rs-secret"),
		Audience:         []string{resource},
	})
	if err != nil {
		panic(err)
	}
	verifier := mcpauth.CachedOpaque(v) // the verifier has no cache of its own

	tok, err := verifier.VerifyToken(context.Background(), "opaque-token-for-alice")
	if err != nil {
		panic(err)
	}
	fmt.Println(tok.Subject, tok.ClientID, tok.TenantID, tok.Scopes, tok.Provider)

	_, err = verifier.VerifyToken(context.Background(), "revoked-or-unknown")
	var e *mcpauth.Error
	fmt.Println(errors.Is(err, mcpauth.ErrInvalidToken), errors.As(err, &e) && e.Status == 401, e.Description)
	// Output:
	// alice claude-desktop acme [notes:read notes:write] introspect
	// true true token is not active
}

// Configuration from the environment: PREFIX_INTROSPECTION_URL selects the provider
// (MCPAUTH_INTROSPECTION_URL with the usual prefix "MCPAUTH").
func ExampleConfigFromEnv() {
	cfg, err := introspect.ConfigFromEnv("EXAMPLE_UNSET_PREFIX")
	if err != nil {
		panic(err)
	}
	if !cfg.Configured() {
		fmt.Println("introspection not configured")
		return
	}
	factory, err := introspect.NewFactory(cfg) // audience = each service's resource URI
	if err != nil {
		panic(err)
	}
	_ = factory
	// Output: introspection not configured
}

// ClientSecret is an mcpauth.Secret: a Config printed, logged or encoded shows it as
// [redacted].
func ExampleConfig_secret() {
	cfg := introspect.Config{
		IntrospectionURL: "https://auth.example.com/oauth2/introspect",
		ClientID:         "notes-rs",
		ClientSecret:     mcpauth.NewSecret("rs-secret"),
		Audience:         []string{"https://mcp.example.com/notes/mcp"},
	}
	fmt.Println(cfg.ClientSecret)
	fmt.Println(strings.Contains(fmt.Sprintf("%+v", cfg), "ClientID:notes-rs ClientSecret:[redacted]"))
	// Output:
	// [redacted]
	// true
}
