package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/mcpauth/mcpauth/oauthproxy"
)

// maxTokenTTL bounds the lifetime of a token the CLI signs: it cannot be revoked.
const maxTokenTTL = 24 * time.Hour

// tokenClientID is the client_id of the tokens the CLI signs.
const tokenClientID = "mcpauth-cli"

func tokenCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mcpauth token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("config", "", "the hub's configuration file")
	sub := fs.String("sub", "", "the subject (who the token is for)")
	scope := fs.String("scope", "", `the scopes, space-separated, such as "tools:call ops:long"`)
	service := fs.String("service", "", "the service (a name under mcpServers) the token is for")
	aggregate := fs.Bool("aggregate", false, "the token is for the aggregate at /mcp instead of a service")
	tenant := fs.String("tenant", "", "the tenant (tenant_id claim)")
	ttl := fs.Duration("ttl", time.Hour, "the token's lifetime (at most 24h)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var problems []string
	if *file == "" {
		problems = append(problems, "give --config FILE")
	}
	if strings.TrimSpace(*sub) == "" {
		problems = append(problems, "give --sub (the subject)")
	}
	if (*service == "") == !*aggregate {
		problems = append(problems, "give --service NAME, or --aggregate for /mcp (one of them)")
	}
	if *ttl <= 0 || *ttl > maxTokenTTL {
		problems = append(problems, fmt.Sprintf("--ttl %s: give a positive duration of at most %s (these tokens cannot be revoked)", *ttl, maxTokenTTL))
	}
	if fs.NArg() > 0 {
		problems = append(problems, fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	if len(problems) > 0 {
		fmt.Fprintf(stderr, "mcpauth token: %s\n%s", strings.Join(problems, "; "), usage)
		return 2
	}
	c, err := LoadConfig(*file)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	tok, warnings, err := mintToken(c, tokenRequest{Subject: *sub, Scopes: strings.Fields(*scope), Service: *service, Aggregate: *aggregate, Tenant: *tenant, TTL: *ttl})
	if err != nil {
		fmt.Fprintf(stderr, "mcpauth token: %v\n", err)
		return 1
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "mcpauth token: warning: %s\n", w)
	}
	fmt.Fprintln(stdout, tok)
	return 0
}

type tokenRequest struct {
	Subject, Service, Tenant string
	Aggregate                bool
	Scopes                   []string
	TTL                      time.Duration
}

// mintToken signs an access token like the sign-in proxy's (RFC 9068: typ at+jwt, iss =
// the base URL, aud = the service's resource URI) with MCPAUTH_PROXY_SIGNING_KEY.
// Warnings say why the hub would refuse it (a required scope or an allowed tenant).
func mintToken(c *Config, r tokenRequest) (string, []string, error) {
	if c.Auth.Upstream == "none" {
		return "", nil, errors.New("auth.upstream is none: the hub accepts only the tokens of MCPAUTH_ISSUER; get one from that issuer")
	}
	base := c.BaseURL
	if base == "" {
		var ok bool
		if base, ok = c.defaultBaseURL(""); !ok {
			return "", nil, errors.New("the configuration has no baseURL and listens on port 0: set baseURL to the hub's URL")
		}
	}
	resource := base + "/mcp"
	var warnings []string
	if !r.Aggregate {
		i := slices.IndexFunc(c.Servers, func(s Server) bool { return s.Name == r.Service })
		if i < 0 {
			names := make([]string, len(c.Servers))
			for i, s := range c.Servers {
				names[i] = s.Name
			}
			return "", nil, fmt.Errorf("--service %q is not in mcpServers: use one of %s", r.Service, strings.Join(names, ", "))
		}
		s := c.Servers[i]
		resource = base + "/" + s.Name + "/mcp"
		for _, sc := range s.Scopes {
			if !slices.Contains(r.Scopes, sc) {
				warnings = append(warnings, fmt.Sprintf("service %s requires scope %s, which the token lacks: every request will get 403", s.Name, sc))
			}
		}
		if len(s.Tenants) > 0 && !slices.Contains(s.Tenants, r.Tenant) {
			warnings = append(warnings, fmt.Sprintf("service %s allows tenants %s only: every request will get 403", s.Name, strings.Join(s.Tenants, ", ")))
		}
	} else if !c.Aggregate.Enabled {
		return "", nil, errors.New("--aggregate: the configuration does not enable the aggregate (aggregate.enabled)")
	}

	pcfg, err := oauthproxy.ConfigFromEnv(envPrefix)
	if err != nil {
		return "", nil, err
	}
	if pcfg.SigningKey.IsZero() {
		return "", nil, errors.New("no signing key: set MCPAUTH_PROXY_SIGNING_KEY (PEM) or MCPAUTH_PROXY_SIGNING_KEY_FILE to the key the hub signs with (without one the hub signs with a throwaway key no other process knows)")
	}
	tok, err := oauthproxy.SignAccessToken(pcfg.SigningKey, oauthproxy.TokenClaims{
		Issuer: base, Subject: r.Subject, Resource: resource, ClientID: tokenClientID,
		TenantID: r.Tenant, Scopes: r.Scopes, TTL: r.TTL,
	}, time.Now())
	if err != nil {
		return "", nil, fmt.Errorf("MCPAUTH_PROXY_SIGNING_KEY: %w", err)
	}
	return tok, warnings, nil
}
