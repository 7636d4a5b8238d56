package workos

import (
	"strings"

	"golang.org/x/oauth2"
)

// UserManagementEndpoint is the OAuth 2.0 endpoint of WorkOS User Management (AuthKit
// as an identity provider behind an application of its own):
//
//	authorize  GET  {apiBase}/user_management/authorize
//	token      POST {apiBase}/user_management/authenticate
//
// apiBase "" means https://api.workos.com. The token endpoint takes the client ID and
// the API key (as client_secret) in the request body (oauth2.AuthStyleInParams) and
// answers with the access and refresh tokens plus the "user" object (reach it with
// oauth2.Token.Extra("user")). The access token it returns is a JWT signed with the keys
// of {apiBase}/sso/jwks/{clientID}.
func UserManagementEndpoint(apiBase string) oauth2.Endpoint {
	b := endpointBase(apiBase)
	return oauth2.Endpoint{
		AuthURL:   b + "/user_management/authorize",
		TokenURL:  b + "/user_management/authenticate",
		AuthStyle: oauth2.AuthStyleInParams,
	}
}

// SSOEndpoint is the OAuth 2.0 endpoint of WorkOS SSO (enterprise SAML/OIDC connections):
//
//	authorize  GET  {apiBase}/sso/authorize
//	token      POST {apiBase}/sso/token
//
// apiBase "" means https://api.workos.com. The token endpoint takes the client ID and
// the API key (as client_secret) in the request body (oauth2.AuthStyleInParams) and
// answers with an access token and the user's Profile (oauth2.Token.Extra("profile")).
// Verify that access token later with NewProfileVerifier.
func SSOEndpoint(apiBase string) oauth2.Endpoint {
	b := endpointBase(apiBase)
	return oauth2.Endpoint{
		AuthURL:   b + "/sso/authorize",
		TokenURL:  b + "/sso/token",
		AuthStyle: oauth2.AuthStyleInParams,
	}
}

func endpointBase(apiBase string) string {
	b := strings.TrimRight(strings.TrimSpace(apiBase), "/")
	if b == "" {
		return DefaultAPIBaseURL
	}
	return b
}
