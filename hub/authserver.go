package hub

import (
	"errors"
	"net/http"
	"slices"
	"sort"

	"github.com/mcpauth/mcpauth"
)

// AuthorizationServer is an OAuth authorization server the hub fronts, such as
// oauthproxy.Server: the hub routes its paths to it, advertises its issuer in every
// service's protected resource metadata and, unless the hub was given verifiers of its
// own, verifies every service's tokens with it.
type AuthorizationServer interface {
	http.Handler
	// Issuer is the server's issuer URL.
	Issuer() string
	// Paths are the URL path patterns it answers.
	Paths() []string
	// VerifierFor returns the verifier of the tokens it issues for resource.
	VerifierFor(resource string) (mcpauth.TokenVerifier, error)
}

// UseAuthorizationServer makes as the hub's authorization server. Call it before the
// first Mount. The hub serves as.Paths(), advertises as.Issuer() (unless
// Config.AuthorizationServers is set) and uses as.VerifierFor (unless Config.Verifier or
// Config.VerifierFor is set).
func (h *Hub) UseAuthorizationServer(as AuthorizationServer) error {
	if as == nil {
		return errors.New("hub: UseAuthorizationServer: the authorization server is nil")
	}
	if h.cfg.AuthorizationServerMetadata != nil {
		return errors.New("hub: UseAuthorizationServer: Config.AuthorizationServerMetadata is set too: the authorization server serves its own metadata; remove the field")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.services) > 0 {
		return errors.New("hub: UseAuthorizationServer must be called before the first Mount, so every service trusts it")
	}
	if h.as != nil {
		return errors.New("hub: UseAuthorizationServer was already called")
	}
	h.as = as
	if h.cfg.Verifier == nil && h.cfg.VerifierFor == nil {
		h.cfg.VerifierFor = as.VerifierFor
	}
	if len(h.cfg.AuthorizationServers) == 0 {
		h.cfg.AuthorizationServers = []string{as.Issuer()}
	}
	for _, p := range as.Paths() {
		h.mux.Handle(p, as)
	}
	return nil
}

// ResourceScopes reports whether resource is the resource URI of a protected (not
// public) service, and the scopes it offers: its required scopes and those of its tools,
// prompts, resources and templates. With ScopesSupported it lets an authorization
// server (oauthproxy.Config.Resources) issue tokens for the hub's services only.
func (h *Hub) ResourceScopes(resource string) ([]string, bool) {
	h.mu.RLock()
	var found *service
	for _, s := range h.services {
		if s.resource == resource && !s.public {
			found = s
		}
	}
	h.mu.RUnlock()
	if found == nil {
		return nil, false
	}
	return found.supportedScopes(), true
}

// ScopesSupported returns the scopes of every protected service (ResourceScopes).
func (h *Hub) ScopesSupported() []string {
	h.mu.RLock()
	svcs := make([]*service, 0, len(h.services))
	for _, s := range h.services {
		if !s.public {
			svcs = append(svcs, s)
		}
	}
	h.mu.RUnlock()
	var out []string
	for _, s := range svcs {
		for _, sc := range s.supportedScopes() {
			if !slices.Contains(out, sc) {
				out = append(out, sc)
			}
		}
	}
	sort.Strings(out)
	return out
}

// supportedScopes are the service's scopes_supported: its required scopes and its
// operations' scopes, sorted, without offline_access.
func (s *service) supportedScopes() []string {
	supported := s.required.Scopes()
	for _, sc := range s.operationScopes() {
		if !slices.Contains(supported, sc) {
			supported = append(supported, sc)
		}
	}
	supported = slices.DeleteFunc(supported, func(sc string) bool { return sc == "offline_access" })
	sort.Strings(supported)
	return supported
}
