package github

import (
	"strings"

	"golang.org/x/oauth2"
)

// DefaultAPIBaseURL and DefaultWebBaseURL are github.com's REST API and web origins.
const (
	DefaultAPIBaseURL = "https://api.github.com"
	DefaultWebBaseURL = "https://github.com"
)

// DefaultScopes returns the GitHub OAuth scopes to request when signing users in for
// this verifier, in a new slice on every call: "read:user" to read the profile, and
// "read:org", which GitHub needs to show organization and team memberships. read:org is
// needed only when AllowedOrgs, AllowedTeams, OrgScopes or TeamScopes are set; without
// org or team rules, request "read:user" alone. These are GitHub's scopes, not the MCP
// server's (see Config.Scopes).
//
// GitHub Apps ignore OAuth scopes: their user tokens carry the app's fine-grained
// permissions, and membership checks need the "Members" organization permission (read).
func DefaultScopes() []string { return []string{"read:user", "read:org"} }

// Endpoint returns GitHub's OAuth 2.0 endpoints on webBaseURL: the github.com origin
// when it is empty, or a GitHub Enterprise Server origin such as
// "https://github.example.com".
func Endpoint(webBaseURL string) oauth2.Endpoint {
	web := strings.TrimRight(strings.TrimSpace(webBaseURL), "/")
	if web == "" {
		web = DefaultWebBaseURL
	}
	return oauth2.Endpoint{
		AuthURL:       web + "/login/oauth/authorize",
		TokenURL:      web + "/login/oauth/access_token",
		DeviceAuthURL: web + "/login/device/code",
	}
}
