package google_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/providers/google"
)

// A Verifier checks Google access tokens with Google's tokeninfo endpoint (played here
// by a stand-in on loopback, since the override exists for tests) and grants this
// server's own scopes by rule. It caches nothing: CachedOpaque in front of it makes one
// upstream call per token instead of one per request.
func Example() {
	var calls atomic.Int64
	tokeninfo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		if r.PostFormValue("access_token") != "ya29.a0-alice" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"invalid_token","error_description":"Invalid Value"}`)
			return
		}
		exp := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
		fmt.Fprint(w, `{"azp":"123.apps.googleusercontent.com","aud":"123.apps.googleusercontent.com",`+
			`"sub":"110169484474386276334","scope":"openid https://www.googleapis.com/auth/userinfo.email",`+
			`"exp":"`+exp+`","expires_in":"3599","email":"alice@example.com","email_verified":"true","access_type":"online"}`)
	}))
	defer tokeninfo.Close()

	v, err := google.New(google.Config{
		ClientIDs:     []string{"123.apps.googleusercontent.com"},
		HostedDomains: []string{"example.com"}, // for access tokens: the verified e-mail's domain
		Scopes:        []string{"notes:read"},
		DomainScopes:  map[string][]string{"example.com": {"notes:write"}},
		TokenInfoURL:  tokeninfo.URL, // tests only; the default is Google's
	})
	if err != nil {
		panic(err)
	}
	defer v.Close()
	verifier := mcpauth.CachedOpaque(v)

	for range 3 {
		tok, err := verifier.VerifyToken(context.Background(), "ya29.a0-alice")
		if err != nil {
			panic(err)
		}
		fmt.Println(tok.Provider, tok.Subject, tok.TenantID, tok.Scopes, tok.Claims["email"])
	}
	fmt.Println("upstream calls:", calls.Load())

	// Google says no: invalid_token (401).
	_, err = verifier.VerifyToken(context.Background(), "ya29.a0-revoked")
	var e *mcpauth.Error
	fmt.Println(errors.As(err, &e), e.Status, e.Description)

	// Not a Google token at all: refused without asking Google.
	_, err = verifier.VerifyToken(context.Background(), "ghp_not-a-google-token")
	fmt.Println(errors.Is(err, mcpauth.ErrInvalidToken), "upstream calls:", calls.Load())
	// Output:
	// google 110169484474386276334 example.com [notes:read notes:write] alice@example.com
	// google 110169484474386276334 example.com [notes:read notes:write] alice@example.com
	// google 110169484474386276334 example.com [notes:read notes:write] alice@example.com
	// upstream calls: 1
	// true 401 the Google access token is invalid or expired
	// true upstream calls: 2
}

// ConfigFromEnv reads MCPAUTH_GOOGLE_* variables; Configured says whether Google
// sign-in was asked for at all.
func ExampleConfigFromEnv() {
	cfg, err := google.ConfigFromEnv("") // MCPAUTH_GOOGLE_CLIENT_ID, ...
	if err != nil {
		panic(err)
	}
	if !cfg.Configured() {
		fmt.Println("Google sign-in is off")
		return
	}
	v, err := google.New(cfg)
	if err != nil {
		panic(err) // the message names the variable to fix
	}
	defer v.Close()
	_ = mcpauth.CachedOpaque(v)
}

// Endpoint and DefaultScopes configure the OAuth flow that obtains Google tokens.
func ExampleEndpoint() {
	fmt.Println(google.Endpoint().AuthURL)
	fmt.Println(google.Endpoint().TokenURL)
	fmt.Println(google.DefaultScopes())
	// Output:
	// https://accounts.google.com/o/oauth2/v2/auth
	// https://oauth2.googleapis.com/token
	// [openid email profile]
}
