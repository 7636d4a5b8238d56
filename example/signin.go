package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/mcpauth/mcpauth/hub"
	"github.com/mcpauth/mcpauth/oauthproxy"
	"github.com/mcpauth/mcpauth/store/redisstore"
)

// upstreamFromEnv returns the identity provider people sign in with, chosen by
// MCPAUTH_UPSTREAM (dev, github, google, workos or oidc; dev when unset), and whether it
// is the development one.
func upstreamFromEnv(issuer string) (oauthproxy.Upstream, bool, error) {
	switch name := strings.ToLower(strings.TrimSpace(os.Getenv("MCPAUTH_UPSTREAM"))); name {
	case "", "dev":
		users := make([]oauthproxy.DevUser, len(demoUsers))
		for i, u := range demoUsers {
			users[i] = oauthproxy.DevUser{Name: u.name, TenantID: u.tenant, Scopes: u.scopes}
		}
		return oauthproxy.NewDevUpstream(issuer, nil, users...), true, nil
	case "github", "google", "workos", "oidc":
		up, err := oauthproxy.UpstreamFromEnv(name, "MCPAUTH")
		return up, false, err
	default:
		return nil, false, fmt.Errorf("MCPAUTH_UPSTREAM=%q is not an identity provider: use dev, github, google, workos or oidc", name)
	}
}

// newProxy builds the authorization server in front of the upstream for the hub h,
// whose base URL is its issuer. Keys come from the environment
// (MCPAUTH_PROXY_SIGNING_KEY, MCPAUTH_PROXY_ENCRYPTION_KEYS and their _FILE variants);
// with the development upstream, missing keys are generated (and then replicas sharing
// a store cannot read each other's state: give every replica the same keys). shared,
// when not nil, holds the state instead of this process's memory.
func newProxy(h *hub.Hub, baseURL string, up oauthproxy.Upstream, dev bool, shared *redisstore.Store) (*oauthproxy.Server, error) {
	cfg, err := oauthproxy.ConfigFromEnv("MCPAUTH")
	if err != nil {
		return nil, err
	}
	if shared != nil {
		cfg.Store = shared
	}
	cfg.Issuer = baseURL
	cfg.Upstream = up
	cfg.Resources = h
	cfg.DevMode = dev
	return oauthproxy.New(cfg)
}
