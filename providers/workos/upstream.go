package workos

import (
	"cmp"
	"log/slog"
	"slices"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/upstream"
	"github.com/mcpauth/mcpauth/scopes"
)

// userAgent identifies this library to WorkOS.
const userAgent = "mcpauth-workos"

// settings are the validated parts of a Config shared by the verifiers.
type settings struct {
	issuer   string // normalised AuthKit domain, "" when not configured
	apiBase  string
	client   *upstream.Client
	now      func() time.Time
	logger   *slog.Logger
	audience []string
	grants   grants
}

func (c Config) settings() *settings {
	s := &settings{
		issuer:   c.Issuer(),
		apiBase:  c.apiBase(),
		now:      c.Now,
		logger:   c.Logger,
		audience: slices.Clone(c.Audience),
		grants: grants{
			scopes:      slices.Clone(c.Scopes),
			orgScopes:   c.OrganizationScopes,
			roleScopes:  c.RoleScopes,
			allowedOrgs: slices.Clone(c.AllowedOrganizations),
		},
	}
	timeout := cmp.Or(c.HTTPTimeout, DefaultHTTPTimeout)
	if s.now == nil {
		s.now = time.Now
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	// A copy of the caller's client (or a fresh one) that never follows redirects: a
	// redirect is never part of the documented answers, and following one could send
	// an access token to another host.
	s.client = &upstream.Client{HTTP: upstream.NewHTTPClient(c.HTTPClient, timeout), Name: "WorkOS", Timeout: timeout, Now: s.now}
	return s
}

// grants computes MCP scopes and applies the organization restriction.
type grants struct {
	scopes      []string
	orgScopes   map[string][]string
	roleScopes  scopes.RoleMap
	allowedOrgs []string
}

// checkOrganization refuses an identity outside AllowedOrganizations with access_denied.
func (g *grants) checkOrganization(org string) error {
	if len(g.allowedOrgs) == 0 || slices.Contains(g.allowedOrgs, org) {
		return nil
	}
	if org == "" {
		return mcpauth.AccessDenied("the token is not bound to a WorkOS organization, and this server accepts only members of its allowed organizations")
	}
	return mcpauth.AccessDenied("the token's WorkOS organization is not allowed on this server")
}

// scopesFor returns base plus the configured grants for org and roles, without
// duplicates, in a stable order: base, Scopes, OrganizationScopes[org], RoleScopes.
func (g *grants) scopesFor(base []string, org string, roles []string) []string {
	out := slices.Clone(base)
	add := func(list []string) {
		for _, s := range list {
			if s != "" && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	add(g.scopes)
	if org != "" {
		add(g.orgScopes[org])
	}
	for _, r := range roles {
		add(g.roleScopes[r])
	}
	return out
}
