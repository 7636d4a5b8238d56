package workos

import (
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/scopes"
)

// maxResponseSize bounds every response body read from AuthKit or the WorkOS API.
const maxResponseSize = 1 << 20

// maxRetryAfter bounds the RetryAfter reported from upstream headers.
const maxRetryAfter = time.Hour

// userAgent identifies this library to WorkOS.
const userAgent = "mcpauth-workos"

// settings are the validated parts of a Config shared by the verifiers.
type settings struct {
	issuer   string // normalised AuthKit domain, "" when not configured
	apiBase  string
	client   *http.Client
	timeout  time.Duration
	now      func() time.Time
	logger   *slog.Logger
	audience []string
	grants   grants
}

func (c Config) settings() *settings {
	s := &settings{
		issuer:   c.Issuer(),
		apiBase:  c.apiBase(),
		timeout:  c.HTTPTimeout,
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
	if s.timeout == 0 {
		s.timeout = DefaultHTTPTimeout
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	// A copy of the caller's client (or a fresh one) that never follows redirects: a
	// redirect is never part of the documented answers, and following one could send
	// an access token to another host.
	var cl http.Client
	if c.HTTPClient != nil {
		cl = *c.HTTPClient
	} else {
		cl.Timeout = s.timeout
	}
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	s.client = &cl
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

// retryAfter reads how long to wait before asking the upstream again: Retry-After
// (delay-seconds or an HTTP date), else X-RateLimit-Reset (a Unix time, or a number of
// seconds when it is too small to be a time). The result is between 0 and maxRetryAfter.
func retryAfter(h http.Header, now time.Time) time.Duration {
	var d time.Duration
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			d = time.Duration(min(max(n, 0), int64(maxRetryAfter/time.Second))) * time.Second
		} else if t, err := http.ParseTime(v); err == nil {
			d = t.Sub(now)
		}
	} else if v := strings.TrimSpace(h.Get("X-RateLimit-Reset")); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			if n > 1_000_000_000 {
				d = time.Unix(n, 0).Sub(now)
			} else {
				d = time.Duration(min(max(n, 0), int64(maxRetryAfter/time.Second))) * time.Second
			}
		}
	}
	return min(max(d, 0), maxRetryAfter)
}
