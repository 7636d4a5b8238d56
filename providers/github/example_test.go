package github_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/providers/github"
)

// A GitHub token is checked by asking GitHub who it belongs to, then the organization
// rule; the result is cached with mcpauth.CachedOpaque, so GitHub is asked once per token
// every few minutes rather than on every request. Here a tiny stand-in for
// https://api.github.com answers on loopback (APIBaseURL exists for Enterprise Server
// and for tests like this one).
func Example() {
	const token = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("X-OAuth-Scopes", "read:org, read:user")
		switch r.URL.Path {
		case "/user":
			fmt.Fprint(w, `{"login":"octocat","id":583231,"name":"The Octocat","type":"User"}`)
		case "/user/memberships/orgs/acme":
			fmt.Fprint(w, `{"state":"active","role":"member"}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest","status":"404"}`)
		}
	}))
	defer api.Close()

	v, err := github.New(github.Config{
		APIBaseURL:  api.URL,
		AllowedOrgs: []string{"acme"},
		Scopes:      []string{"notes:read"},
		OrgScopes:   map[string][]string{"acme": {"notes:write"}},
	})
	if err != nil {
		panic(err)
	}
	verifier := mcpauth.CachedOpaque(v)

	tok, err := verifier.VerifyToken(context.Background(), token)
	if err != nil {
		panic(err)
	}
	fmt.Println(tok.Provider, tok.Subject, tok.Claims["login"], tok.Scopes, tok.Claims["github_scopes"])

	// Anything that is not shaped like a GitHub token is refused without a call.
	_, err = verifier.VerifyToken(context.Background(), "not-a-token")
	var e *mcpauth.Error
	fmt.Println(errors.Is(err, mcpauth.ErrInvalidToken), errors.As(err, &e) && e.Status == 401, e.Description)
	// Output:
	// github 583231 octocat [notes:read notes:write] [read:org read:user]
	// true true not a GitHub token
}

// Endpoint gives the OAuth endpoints of github.com or of an Enterprise Server host.
func ExampleEndpoint() {
	fmt.Println(github.Endpoint("").AuthURL)
	fmt.Println(github.Endpoint("https://github.example.com").TokenURL)
	fmt.Println(github.DefaultScopes())
	// Output:
	// https://github.com/login/oauth/authorize
	// https://github.example.com/login/oauth/access_token
	// [read:user read:org]
}

// ClientSecret is an mcpauth.Secret: a Config printed, logged or encoded shows it as
// [redacted].
func ExampleConfig_secret() {
	cfg := github.Config{AllowedTeams: []string{"acme/platform"}, ClientID: "Iv1.8a61f9b3a7aba766", ClientSecret: mcpauth.NewSecret("s3cr3t")}
	fmt.Println(cfg.ClientSecret)
	fmt.Println(strings.Contains(fmt.Sprintf("%+v", cfg), "ClientID:Iv1.8a61f9b3a7aba766 ClientSecret:[redacted]"))
	// Output:
	// [redacted]
	// true
}
