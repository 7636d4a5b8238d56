package main

import (
	"slices"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/gateway"
	"github.com/mcpauth/mcpauth/hub"
	"github.com/mcpauth/mcpauth/scopes"
)

// gatewayConfig is the gateway configuration of s, without its Logger and callbacks;
// signer signs the caller tokens of a server with callerTokens.
func gatewayConfig(s Server, signer *gateway.TokenSigner) gateway.Config {
	g := gateway.Config{
		Name:        s.Name,
		URL:         s.URL,
		SSE:         s.Transport == "sse",
		Command:     s.Command,
		Args:        s.Args,
		Env:         s.Env,
		Policy:      policy(s),
		CallTimeout: s.CallTimeout,
	}
	if cc := s.ClientCredentials; cc != nil {
		g.ClientCredentials = &clientcredentials.Config{ClientID: cc.ClientID, ClientSecret: cc.ClientSecret, TokenURL: cc.TokenURL, Scopes: cc.Scopes}
	}
	if s.CallerTokens {
		g.CallerTokens = signer
	}
	if len(s.Headers) > 0 {
		g.Headers = map[string]mcpauth.Secret{}
		for k, v := range s.Headers {
			g.Headers[k] = mcpauth.NewSecret(v)
		}
	}
	return g
}

// policy is the gateway policy of s: its rules in the file's order (tools, then
// prompts, then resources: a rule only matches its own kind), then defaultToolScopes as
// a last rule for every tool. The service's own scopes are added to every rule and to
// the default, so that its tools keep requiring them in the aggregate at /mcp, where
// the service-level requirement (hub.WithRequiredScopes) does not apply.
func policy(s Server) gateway.Policy {
	var p gateway.Policy
	// with is the service's scopes and sc, nil when both are empty.
	with := func(sc []string) []string {
		out := slices.Clone(s.Scopes)
		for _, v := range sc {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	for _, kr := range []struct {
		kind  string
		rules []Rule
	}{{"tool", s.Tools}, {"prompt", s.Prompts}, {"resource", s.Resources}} {
		for _, r := range kr.rules {
			rule := gateway.Rule{Kind: kr.kind, Match: r.Match, Hidden: r.Hidden}
			if !r.Hidden {
				rule.Scopes = with(r.Scopes)
			}
			p.Rules = append(p.Rules, rule)
		}
	}
	if s.DefaultToolScopes != nil {
		// Tool names have no "/" (MCP: letters, digits, _ - .), so "*" matches every one.
		p.Rules = append(p.Rules, gateway.Rule{Kind: "tool", Match: "*", Scopes: with(s.DefaultToolScopes)})
	}
	p.Default = with(nil)
	return p
}

// mountOptions are the hub options of s: its required scopes and allowed tenants.
func mountOptions(s Server) []hub.Option {
	var opts []hub.Option
	if len(s.Scopes) > 0 {
		opts = append(opts, hub.WithRequiredScopes(scopes.All(s.Scopes...)))
	}
	if len(s.Tenants) > 0 {
		opts = append(opts, hub.WithAllowedTenants(s.Tenants...))
	}
	return opts
}
