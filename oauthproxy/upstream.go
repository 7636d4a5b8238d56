package oauthproxy

import (
	"context"
	"net/http"

	"golang.org/x/oauth2"
)

// Upstream is the identity provider people sign in with. The proxy sends the browser to
// it with the proxy's own upstream client, its own PKCE and its own single-use state, and
// asks it, at the callback, who signed in.
type Upstream interface {
	// Name is the provider's short name ("github", "google", "workos", "oidc", "dev"),
	// recorded in audit events and in the tokens' "idp" claim.
	Name() string
	// AuthCodeURL returns the URL of the upstream's authorization endpoint for one
	// sign-in: state and the S256 challenge of codeVerifier are the proxy's own;
	// redirectURI is the proxy's callback.
	AuthCodeURL(state, codeVerifier, redirectURI string) string
	// Exchange redeems the code the upstream sent to the callback, checks who signed in
	// with the matching provider and applies its rules (organization, team, domain).
	// A person the rules refuse is an *mcpauth.Error of code access_denied; an upstream
	// that cannot be reached is one of code temporarily_unavailable.
	Exchange(ctx context.Context, code, codeVerifier, redirectURI string) (*Identity, error)
}

// Refresher is implemented by upstreams whose tokens can be refreshed; tools then get an
// oauth2.TokenSource that refreshes the person's upstream token when it expires
// (TokenSourceFromContext).
type Refresher interface {
	Refresh(ctx context.Context, t *oauth2.Token) (*oauth2.Token, error)
}

// RouteProvider is implemented by upstreams that serve pages of their own under the
// proxy (the development upstream's sign-in page). Routes are registered under the
// proxy's handler as given.
type RouteProvider interface {
	Routes() map[string]http.Handler
}

// Identity is who signed in upstream, as the provider verified it.
type Identity struct {
	// Subject is stable and names the provider, such as "github:12345"; it becomes the
	// "sub" of the tokens the proxy issues.
	Subject string
	// TenantID is the person's tenant where the upstream has one (a WorkOS organization,
	// a Google hosted domain), else "".
	TenantID string
	// Name and Email describe the person on the consent page; either may be "".
	Name, Email string
	// Scopes, when not nil, is the most the person may be granted (the provider's
	// org/team/domain scope rules); requested scopes outside it are not granted. Nil
	// means the upstream does not limit scopes.
	Scopes []string
	// Token is the upstream token, kept encrypted by the proxy and handed to tools only
	// as an oauth2.TokenSource; nil when there is none to keep.
	Token *oauth2.Token
}
