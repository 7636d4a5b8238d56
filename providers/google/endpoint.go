package google

import "golang.org/x/oauth2"

// ProviderName is the AccessToken.Provider of tokens accepted by a Verifier.
const ProviderName = "google"

// Endpoint returns Google's OAuth 2.0 endpoint, for an oauth2.Config that signs users
// in with Google (the OAuth facade in front of MCP clients uses it). Client credentials
// are sent in the token request's body, as Google documents.
func Endpoint() oauth2.Endpoint {
	return oauth2.Endpoint{
		AuthURL:       "https://accounts.google.com/o/oauth2/v2/auth",
		TokenURL:      "https://oauth2.googleapis.com/token",
		DeviceAuthURL: "https://oauth2.googleapis.com/device/code",
		AuthStyle:     oauth2.AuthStyleInParams,
	}
}

// DefaultScopes returns the Google OAuth scopes to request when signing users in, in a
// new slice on every call: an ID token, the account's e-mail address (needed by the
// e-mail and, for access tokens, hosted-domain rules) and basic profile.
func DefaultScopes() []string { return []string{"openid", "email", "profile"} }
