package oauthproxy

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/mcpauth/mcpauth/internal/config"
)

// Client is an OAuth client the proxy knows: registered dynamically (RFC 7591) or
// described by its Client ID Metadata Document (its client_id is then an https URL).
type Client struct {
	ID string `json:"client_id"`
	// SecretHash is the SHA-256 of the client secret of a confidential client registered
	// dynamically; nil for public clients.
	SecretHash []byte `json:"secret_hash,omitempty"`
	// RedirectURIs are compared with the redirect_uri of every authorization request
	// exactly, except that an http loopback URI may come with any port (RFC 8252 §7.3).
	RedirectURIs            []string  `json:"redirect_uris"`
	Name                    string    `json:"client_name,omitempty"`
	URI                     string    `json:"client_uri,omitempty"`
	GrantTypes              []string  `json:"grant_types"`
	TokenEndpointAuthMethod string    `json:"token_endpoint_auth_method"`
	ApplicationType         string    `json:"application_type"`
	Scope                   string    `json:"scope,omitempty"`
	IssuedAt                time.Time `json:"issued_at"`
	// MetadataDocument is true for a client described by a Client ID Metadata Document.
	MetadataDocument bool `json:"metadata_document,omitempty"`
}

// allowsRefresh reports whether the client registered the refresh_token grant.
func (c *Client) allowsRefresh() bool { return slices.Contains(c.GrantTypes, "refresh_token") }

// matchRedirect returns the registered redirect URI that uri matches, or false.
func (c *Client) matchRedirect(uri string) bool {
	for _, r := range c.RedirectURIs {
		if r == uri {
			return true
		}
	}
	// RFC 8252 §7.3: for loopback redirects the port is chosen at run time.
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || !config.IsLoopbackHost(u.Hostname()) || strings.Contains(uri, "#") {
		return false
	}
	for _, r := range c.RedirectURIs {
		ru, err := url.Parse(r)
		if err != nil || ru.Scheme != "http" || ru.Hostname() != u.Hostname() {
			continue
		}
		if ru.EscapedPath() == u.EscapedPath() && ru.RawQuery == u.RawQuery && ru.User == nil && u.User == nil {
			return true
		}
	}
	return false
}

// clientMetadata is the client metadata of a registration request (RFC 7591 §2) or of a
// Client ID Metadata Document; validate turns it into a Client.
type clientMetadata struct {
	ClientID                string   `json:"client_id"`
	RedirectURIs            []string `json:"redirect_uris"`
	ClientName              string   `json:"client_name"`
	ClientURI               string   `json:"client_uri"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	ApplicationType         string   `json:"application_type"`
	Scope                   string   `json:"scope"`
}

// Limits on client metadata.
const (
	maxRedirectURIs = 10
	maxMetadataText = 200 // client_name, and each URI's length is bounded by maxURILength
	maxURILength    = 2000
)

// validate checks m and returns the client it describes. Errors are safe to show to the
// client (the error_description of invalid_client_metadata or invalid_redirect_uri).
// A metadata document's client may not be confidential with a shared secret.
func (m *clientMetadata) validate(document bool) (*Client, *oauthError) {
	bad := func(format string, a ...any) *oauthError {
		return &oauthError{Code: "invalid_client_metadata", Description: fmt.Sprintf(format, a...)}
	}
	if len(m.RedirectURIs) == 0 {
		return nil, &oauthError{Code: "invalid_redirect_uri", Description: "redirect_uris is required"}
	}
	if len(m.RedirectURIs) > maxRedirectURIs {
		return nil, &oauthError{Code: "invalid_redirect_uri", Description: fmt.Sprintf("at most %d redirect_uris", maxRedirectURIs)}
	}
	for _, r := range m.RedirectURIs {
		if err := checkRedirectURI(r); err != "" {
			return nil, &oauthError{Code: "invalid_redirect_uri", Description: err}
		}
	}
	if len(m.ClientName) > maxMetadataText {
		return nil, bad("client_name is longer than %d bytes", maxMetadataText)
	}
	if m.ClientURI != "" {
		if u, err := url.Parse(m.ClientURI); err != nil || u.Scheme != "https" || u.Host == "" || len(m.ClientURI) > maxURILength {
			return nil, bad("client_uri must be an https URL")
		}
	}
	grants := m.GrantTypes
	if len(grants) == 0 {
		grants = []string{"authorization_code"}
	}
	for _, g := range grants {
		if g != "authorization_code" && g != "refresh_token" {
			return nil, bad("grant_types may hold only authorization_code and refresh_token, not %q", g)
		}
	}
	if !slices.Contains(grants, "authorization_code") {
		return nil, bad("grant_types must include authorization_code")
	}
	for _, rt := range m.ResponseTypes {
		if rt != "code" {
			return nil, bad("response_types may hold only code, not %q", rt)
		}
	}
	method := m.TokenEndpointAuthMethod
	switch method {
	case "":
		method = "client_secret_basic" // RFC 7591 §2 default
		if document {
			method = "none"
		}
	case "none", "client_secret_basic", "client_secret_post":
	default:
		return nil, bad("token_endpoint_auth_method %q is not supported: use none, client_secret_basic or client_secret_post", method)
	}
	if document && method != "none" {
		return nil, bad("a client described by a metadata document has no shared secret: token_endpoint_auth_method must be none")
	}
	app := m.ApplicationType
	switch app {
	case "":
		app = "web"
	case "web", "native":
	default:
		return nil, bad("application_type must be web or native, not %q", app)
	}
	if app == "web" {
		// OIDC Registration §2: web clients use https redirects, never loopback ones.
		for _, r := range m.RedirectURIs {
			if u, _ := url.Parse(r); u.Scheme != "https" || config.IsLoopbackHost(u.Hostname()) {
				if !document && m.ApplicationType == "" {
					// Most MCP clients register loopback redirects without saying they
					// are native applications: treat them as what they are.
					app = "native"
					break
				}
				return nil, &oauthError{Code: "invalid_redirect_uri", Description: fmt.Sprintf("redirect URI %q: a web application must use https on a public host; set application_type native for a loopback redirect", r)}
			}
		}
	}
	if len(m.Scope) > maxURILength {
		return nil, bad("scope is too long")
	}
	return &Client{
		ID:                      m.ClientID,
		RedirectURIs:            slices.Clone(m.RedirectURIs),
		Name:                    m.ClientName,
		URI:                     m.ClientURI,
		GrantTypes:              grants,
		TokenEndpointAuthMethod: method,
		ApplicationType:         app,
		Scope:                   m.Scope,
		MetadataDocument:        document,
	}, nil
}

// checkRedirectURI returns why r may not be a redirect URI, or "": an absolute https URI,
// or http on a loopback host (RFC 8252 §7.3), with no fragment and no user info.
func checkRedirectURI(r string) string {
	if len(r) > maxURILength {
		return "a redirect URI is too long"
	}
	u, err := url.Parse(r)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return fmt.Sprintf("redirect URI %q is not an absolute URL", r)
	}
	if u.Fragment != "" || strings.Contains(r, "#") {
		return fmt.Sprintf("redirect URI %q has a fragment", r)
	}
	if u.User != nil {
		return fmt.Sprintf("redirect URI %q has user info", r)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && config.IsLoopbackHost(u.Hostname()):
	default:
		return fmt.Sprintf("redirect URI %q must use https, or http on a loopback address (127.0.0.1, [::1] or localhost)", r)
	}
	return ""
}
