package workos

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/testutil"
	"github.com/mcpauth/mcpauth/scopes"
)

func TestNormaliseDomain(t *testing.T) {
	ok := []struct{ in, want string }{
		{"example.authkit.app", "https://example.authkit.app"},
		{"  example.authkit.app  ", "https://example.authkit.app"},
		{"https://example.authkit.app", "https://example.authkit.app"},
		{"https://example.authkit.app/", "https://example.authkit.app"},
		{"HTTPS://Example.AuthKit.App", "https://example.authkit.app"},
		{"auth.example.com", "https://auth.example.com"},
		{"https://auth.example.com:8443", "https://auth.example.com:8443"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"http://localhost:3000/", "http://localhost:3000"},
		{"http://[::1]:9000", "http://[::1]:9000"},
	}
	for _, tc := range ok {
		got, err := normaliseDomain(tc.in)
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
		require.Equal(t, tc.want, Config{AuthKitDomain: tc.in}.Issuer())
	}
	bad := []struct{ in, want string }{
		{"", "empty"},
		{"http://example.authkit.app", "must use https"},
		{"ftp://example.authkit.app", `scheme "ftp"`},
		{"https://example.authkit.app/oauth2", "has a path"},
		{"https://example.authkit.app?x=1", "query or fragment"},
		{"https://example.authkit.app#top", "query or fragment"},
		{"https://user:pw@example.authkit.app", "credentials"},
		{"https://", "not a host name or URL"},
	}
	for _, tc := range bad {
		_, err := normaliseDomain(tc.in)
		require.ErrorContains(t, err, tc.want, tc.in)
		require.Empty(t, Config{AuthKitDomain: tc.in}.Issuer())
	}
	require.Equal(t, "https://example.authkit.app/oauth2/jwks", Config{AuthKitDomain: "example.authkit.app"}.JWKSURI())
	require.Empty(t, Config{}.JWKSURI())
}

func TestValidate(t *testing.T) {
	require.NoError(t, Config{AuthKitDomain: "example.authkit.app"}.Validate())
	require.NoError(t, Config{APIKey: mcpauth.NewSecret("sk_test_123")}.Validate())

	err := Config{}.Validate()
	require.ErrorContains(t, err, "nothing is configured")
	require.ErrorContains(t, err, "MCPAUTH_WORKOS_AUTHKIT_DOMAIN")

	err = Config{
		AuthKitDomain:        "http://example.authkit.app",
		APIBaseURL:           "api.workos.com",
		APIKey:               mcpauth.NewSecret(" sk_test_123\n"),
		Audience:             []string{""},
		AllowedOrganizations: []string{"Acme Inc"},
		Scopes:               []string{"notes read"},
		OrganizationScopes:   map[string][]string{"acme": {"x"}},
		RoleScopes:           scopes.RoleMap{"admin": {""}},
		Leeway:               time.Hour,
		HTTPTimeout:          -1,
	}.Validate()
	for _, want := range []string{
		"Config.AuthKitDomain", "MCPAUTH_WORKOS_AUTHKIT_DOMAIN", "must use https",
		"Config.APIBaseURL", "MCPAUTH_WORKOS_API_URL",
		"Config.APIKey has leading or trailing white space",
		"Config.Audience[0] is empty", "MCPAUTH_AUDIENCE",
		`Config.AllowedOrganizations[0] = "Acme Inc" is not a WorkOS organization ID`, "MCPAUTH_WORKOS_ALLOWED_ORGANIZATIONS",
		`Config.Scopes[0] = "notes read" is not a scope`,
		`Config.OrganizationScopes key "acme"`,
		`Config.RoleScopes["admin"][0]`,
		"Config.Leeway", "Config.HTTPTimeout is negative",
	} {
		require.ErrorContains(t, err, want)
	}
	require.NotContains(t, err.Error(), "sk_test_123", "errors never show the API key")

	// Errors name the variables with the default prefix, whatever prefix was read.
	t.Setenv("MYAPP_WORKOS_AUTHKIT_DOMAIN", "http://example.authkit.app")
	cfg, err := ConfigFromEnv("MYAPP")
	require.NoError(t, err)
	require.ErrorContains(t, cfg.Validate(), "MCPAUTH_WORKOS_AUTHKIT_DOMAIN")

	// The profile verifier needs nothing, but checks what is set.
	_, err = NewProfileVerifier(Config{})
	require.NoError(t, err)
	_, err = NewProfileVerifier(Config{APIBaseURL: "http://api.workos.com"})
	require.ErrorContains(t, err, "must use https")
}

func TestConfigFromEnv(t *testing.T) {
	t.Setenv("MCPAUTH_WORKOS_AUTHKIT_DOMAIN", "example.authkit.app")
	t.Setenv("MCPAUTH_WORKOS_CLIENT_ID", "client_01JP8BD0CZ401TDF9X54NT5ZEK")
	t.Setenv("MCPAUTH_WORKOS_API_KEY", "sk_test_from_env")
	t.Setenv("MCPAUTH_WORKOS_ALLOWED_ORGANIZATIONS", orgAcme+", "+orgGlobex)
	t.Setenv("MCPAUTH_WORKOS_SCOPES", "notes:read notes:write")
	t.Setenv("MCPAUTH_WORKOS_API_URL", "http://127.0.0.1:9999")
	t.Setenv("MCPAUTH_AUDIENCE", notesResource)
	cfg, err := ConfigFromEnv("")
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	require.True(t, cfg.Configured())
	require.Equal(t, "example.authkit.app", cfg.AuthKitDomain)
	require.Equal(t, "https://example.authkit.app", cfg.Issuer())
	require.Equal(t, "client_01JP8BD0CZ401TDF9X54NT5ZEK", cfg.ClientID)
	require.Equal(t, "sk_test_from_env", cfg.APIKey.Reveal())
	require.Equal(t, []string{orgAcme, orgGlobex}, cfg.AllowedOrganizations)
	require.Equal(t, []string{"notes:read", "notes:write"}, cfg.Scopes)
	require.Equal(t, "http://127.0.0.1:9999", cfg.APIBaseURL)
	require.Equal(t, []string{notesResource}, cfg.Audience)

	t.Run("API key from a file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "key")
		require.NoError(t, os.WriteFile(path, []byte("sk_test_from_file\n"), 0o600))
		t.Setenv("MCPAUTH_WORKOS_API_KEY", "")
		t.Setenv("MCPAUTH_WORKOS_API_KEY_FILE", path)
		cfg, err := ConfigFromEnv("MCPAUTH_")
		require.NoError(t, err)
		require.Equal(t, "sk_test_from_file", cfg.APIKey.Reveal())

		t.Setenv("MCPAUTH_WORKOS_API_KEY", "sk_test_both")
		_, err = ConfigFromEnv("")
		require.ErrorContains(t, err, "MCPAUTH_WORKOS_API_KEY and MCPAUTH_WORKOS_API_KEY_FILE are both set")

		t.Setenv("MCPAUTH_WORKOS_API_KEY", "")
		t.Setenv("MCPAUTH_WORKOS_API_KEY_FILE", filepath.Join(t.TempDir(), "missing"))
		_, err = ConfigFromEnv("")
		require.ErrorContains(t, err, "MCPAUTH_WORKOS_API_KEY_FILE: cannot read")

		empty := filepath.Join(t.TempDir(), "empty")
		require.NoError(t, os.WriteFile(empty, []byte("\n"), 0o600))
		t.Setenv("MCPAUTH_WORKOS_API_KEY_FILE", empty)
		_, err = ConfigFromEnv("")
		require.ErrorContains(t, err, "is empty")
	})

	t.Run("Configured", func(t *testing.T) {
		for _, name := range []string{"MCPAUTH_WORKOS_AUTHKIT_DOMAIN", "MCPAUTH_WORKOS_CLIENT_ID", "MCPAUTH_WORKOS_API_KEY",
			"MCPAUTH_WORKOS_API_KEY_FILE", "MCPAUTH_WORKOS_ALLOWED_ORGANIZATIONS", "MCPAUTH_WORKOS_SCOPES", "MCPAUTH_WORKOS_API_URL"} {
			t.Setenv(name, "")
		}
		cfg, err := ConfigFromEnv("")
		require.NoError(t, err)
		require.False(t, cfg.Configured())
		t.Setenv("MCPAUTH_WORKOS_API_KEY", "sk_test_x")
		cfg, _ = ConfigFromEnv("")
		require.True(t, cfg.Configured())
		t.Setenv("MCPAUTH_WORKOS_API_KEY", "")
		t.Setenv("MCPAUTH_WORKOS_AUTHKIT_DOMAIN", "example.authkit.app")
		cfg, _ = ConfigFromEnv("")
		require.True(t, cfg.Configured())
	})
}

func TestConfigPrintsNoSecret(t *testing.T) {
	const secret = "sk_live_SUPERSECRET"
	cfg := Config{
		AuthKitDomain:      "example.authkit.app",
		ClientID:           "client_123",
		APIKey:             mcpauth.NewSecret(secret),
		Scopes:             []string{"notes:read"},
		OrganizationScopes: map[string][]string{orgAcme: {"x"}},
	}
	// Default printing shows every field, the secret as [redacted].
	require.Equal(t, "{AuthKitDomain:example.authkit.app ClientID:client_123 APIKey:[redacted] APIBaseURL: Audience:[] AllowedOrganizations:[] "+
		"Scopes:[notes:read] OrganizationScopes:map["+orgAcme+":[x]] RoleScopes:map[] Leeway:0s HTTPClient:<nil> HTTPTimeout:0s "+
		"Now:<nil> Logger:<nil>}", fmt.Sprintf("%+v", cfg))
	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	require.Equal(t, `{"AuthKitDomain":"example.authkit.app","ClientID":"client_123","APIKey":"[redacted]","APIBaseURL":"","Audience":null,`+
		`"AllowedOrganizations":null,"Scopes":["notes:read"],"OrganizationScopes":{"`+orgAcme+`":["x"]},"RoleScopes":null,"Leeway":0,"HTTPTimeout":0}`, string(b))
	testutil.NoSecret(t, cfg, secret)

	// With every kind of field set, and from the environment.
	cfg.HTTPClient, cfg.Now, cfg.Logger = http.DefaultClient, time.Now, slog.Default()
	cfg.RoleScopes = scopes.RoleMap{"admin": {"admin"}}
	testutil.NoSecret(t, cfg, secret)
	t.Setenv("MCPAUTH_WORKOS_API_KEY", secret)
	fromEnv, err := ConfigFromEnv("")
	require.NoError(t, err)
	require.Equal(t, secret, fromEnv.APIKey.Reveal())
	testutil.NoSecret(t, fromEnv, secret)

	// Validation errors name the field, not the value.
	cfg.APIKey = mcpauth.NewSecret(" " + secret)
	require.EqualError(t, cfg.Validate(), "workos: Config.APIKey has leading or trailing white space: remove it (MCPAUTH_WORKOS_API_KEY or MCPAUTH_WORKOS_API_KEY_FILE)")
}

func TestEndpoints(t *testing.T) {
	require.Equal(t, oauth2.Endpoint{
		AuthURL:   "https://api.workos.com/user_management/authorize",
		TokenURL:  "https://api.workos.com/user_management/authenticate",
		AuthStyle: oauth2.AuthStyleInParams,
	}, UserManagementEndpoint(""))
	require.Equal(t, oauth2.Endpoint{
		AuthURL:   "https://api.workos.com/sso/authorize",
		TokenURL:  "https://api.workos.com/sso/token",
		AuthStyle: oauth2.AuthStyleInParams,
	}, SSOEndpoint(""))
	require.Equal(t, "http://127.0.0.1:9999/sso/token", SSOEndpoint("http://127.0.0.1:9999/").TokenURL)
	require.Equal(t, "http://127.0.0.1:9999/user_management/authorize", UserManagementEndpoint(" http://127.0.0.1:9999 ").AuthURL)
}

// TestSSOEndpointExchange exchanges a code with golang.org/x/oauth2 against a fake of
// POST /sso/token: the client ID and API key travel in the form body, and the Profile
// comes back as an extra field of the token response.
func TestSSOEndpointExchange(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /sso/token", func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, r.ParseForm())
		if r.PostForm.Get("client_id") != "client_123" || r.PostForm.Get("client_secret") != "sk_test_123" ||
			r.PostForm.Get("grant_type") != "authorization_code" || r.PostForm.Get("code") != "code_1" || r.Header.Get("Authorization") != "" {
			writeAPIError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"token_type":"Bearer","access_token":"` + ssoToken + `","expires_in":600,"profile":{"object":"profile","id":"prof_1","organization_id":"` + orgAcme + `"}}`))
	})
	srv := httptestServer(t, mux)
	conf := oauth2.Config{ClientID: "client_123", ClientSecret: "sk_test_123", Endpoint: SSOEndpoint(srv)}
	tok, err := conf.Exchange(t.Context(), "code_1")
	require.NoError(t, err)
	require.Equal(t, ssoToken, tok.AccessToken)
	profile, _ := tok.Extra("profile").(map[string]any)
	require.Equal(t, "prof_1", profile["id"])
}
