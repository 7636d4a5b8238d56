package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/mcpauth/mcpauth/hub"
	"github.com/mcpauth/mcpauth/oauthproxy"
	"github.com/mcpauth/mcpauth/providers/bearer"
	"github.com/mcpauth/mcpauth/store/redisstore"
)

// envPrefix is the prefix of every variable the providers read.
const envPrefix = "MCPAUTH"

// upstreamVars names the main variables of each upstream, for error messages.
var upstreamVars = map[string]string{
	"github": "MCPAUTH_GITHUB_CLIENT_ID, MCPAUTH_GITHUB_CLIENT_SECRET (or _FILE), MCPAUTH_GITHUB_ALLOWED_ORGS, ...",
	"google": "MCPAUTH_GOOGLE_CLIENT_IDS, MCPAUTH_GOOGLE_CLIENT_SECRET (or _FILE), ...",
	"workos": "MCPAUTH_WORKOS_CLIENT_ID, MCPAUTH_WORKOS_API_KEY (or _FILE), MCPAUTH_WORKOS_ORGANIZATION or _CONNECTION or _PROVIDER, ...",
	"oidc":   "MCPAUTH_OIDC_ISSUER, MCPAUTH_OIDC_CLIENT_ID, MCPAUTH_OIDC_CLIENT_SECRET (or _FILE), ...",
	"none":   "MCPAUTH_JWKS_URI (or MCPAUTH_PUBLIC_KEY_FILE, MCPAUTH_HMAC_SECRET), MCPAUTH_ISSUER, ...",
}

// authSetup is how the hub verifies tokens, read from the environment: the sign-in
// proxy in front of an upstream, or (upstream none) a JWT issuer's tokens only.
type authSetup struct {
	upstream oauthproxy.Upstream // nil for none
	dev      bool
	proxy    oauthproxy.Config // keys and lifetimes (not for none)
	bearer   bearer.Config     // for none
}

// readAuth reads the providers' configurations from the environment. With check, it
// makes no network call (an OpenID provider's configuration is validated, not
// discovered).
func readAuth(c *Config, issuer string, check bool) (*authSetup, error) {
	a := &authSetup{}
	var err error
	switch c.Auth.Upstream {
	case "none":
		if a.bearer, err = bearer.ConfigFromEnv(envPrefix); err != nil {
			return nil, err
		}
		v := a.bearer
		if len(v.Audience) == 0 {
			v.Audience = []string{issuer + "/mcp"} // set per service by the hub
		}
		return a, v.Validate()
	case "dev":
		users := make([]oauthproxy.DevUser, len(c.Auth.DevUsers))
		for i, u := range c.Auth.DevUsers {
			users[i] = oauthproxy.DevUser{Name: u.Name, TenantID: u.Tenant, Scopes: u.Scopes}
		}
		a.upstream, a.dev = oauthproxy.NewDevUpstream(issuer, nil, users...), true
	case "oidc":
		if check { // --check makes no network call: the configuration is validated, not discovered
			var cfg oauthproxy.OIDCConfig
			if cfg, err = oauthproxy.OIDCConfigFromEnv(envPrefix); err == nil {
				err = cfg.Validate()
			}
			break
		}
		fallthrough
	default:
		a.upstream, err = oauthproxy.UpstreamFromEnv(c.Auth.Upstream, envPrefix)
	}
	pcfg, perr := oauthproxy.ConfigFromEnv(envPrefix)
	a.proxy = pcfg
	return a, errors.Join(err, perr)
}

// newProxy builds the sign-in proxy for the hub h.
func (a *authSetup) newProxy(h oauthproxy.Resources, issuer string, store oauthproxy.Store, log *slog.Logger) (*oauthproxy.Server, error) {
	cfg := a.proxy
	cfg.Issuer = issuer
	cfg.Upstream = a.upstream
	cfg.Resources = h
	cfg.DevMode = a.dev // missing keys are generated (and logged), for the dev upstream only
	cfg.Logger = log
	if store != nil {
		cfg.Store = store
	}
	return oauthproxy.New(cfg)
}

// close releases what the upstream holds.
func (a *authSetup) close() {
	if c, ok := a.upstream.(io.Closer); ok {
		_ = c.Close()
	}
}

// redisConfig is the store configuration of r: from its URL, else from the
// MCPAUTH_REDIS_* variables. It makes no network call.
func redisConfig(r *Redis) (redisstore.Config, error) {
	var cfg redisstore.Config
	if r.URL != "" {
		opts, err := goredis.ParseURL(r.URL)
		if err != nil { // its text may quote the URL, password included: not shown
			return cfg, errors.New("redis.url is not a Redis URL: use redis://[user:password@]host:6379/0, or rediss:// for TLS")
		}
		cfg.Client = goredis.NewClient(opts)
	} else {
		var ok bool
		var err error
		if cfg, ok, err = redisstore.ConfigFromEnv(envPrefix); err != nil {
			return cfg, err
		} else if !ok {
			return cfg, errors.New("redis has no url and MCPAUTH_REDIS_URL, MCPAUTH_REDIS_SENTINEL_MASTER and MCPAUTH_REDIS_CLUSTER_ADDRS are unset: set url, one of them, or remove redis to keep the state in memory")
		}
	}
	if r.KeyPrefix != "" {
		cfg.Prefix = r.KeyPrefix
	}
	return cfg, nil
}

// check validates what the file names in the environment, without starting anything:
// the providers' configurations and keys, the store's, each service's.
func check(c *Config) error {
	p := &Problems{}
	issuer := c.BaseURL
	if issuer == "" {
		issuer, _ = c.defaultBaseURL("127.0.0.1:0")
	}
	envProblems(p, c, "auth.upstream", func() error {
		a, err := readAuth(c, issuer, true)
		if err != nil {
			return err
		}
		defer a.close()
		h, err := hub.New(hub.Config{BaseURL: issuer})
		if err != nil {
			return err
		}
		if a.upstream == nil { // none, or an OpenID provider not discovered here
			return nil
		}
		// New parses the keys and makes no network call.
		_, err = a.newProxy(h, issuer, nil, slog.New(slog.DiscardHandler))
		return err
	})
	if c.Redis != nil {
		envProblems(p, c, "redis", func() error {
			cfg, err := redisConfig(c.Redis)
			if cfg.Client != nil {
				_ = cfg.Client.Close()
			}
			return err
		})
	}
	if slices.ContainsFunc(c.Servers, func(s Server) bool { return s.CallerTokens }) {
		envProblems(p, c, "mcpServers", func() error {
			_, err := callerTokenSigner(issuer)
			return err
		})
	}
	for _, s := range c.Servers {
		if err := gatewayConfig(s, nil).Validate(); err != nil {
			for _, l := range strings.Split(err.Error(), "\n") {
				p.add(s.Line, "mcpServers."+s.Name, "%s", strings.TrimPrefix(l, fmt.Sprintf("gateway: service %q: ", s.Name)))
			}
		}
	}
	return p.err()
}

// envProblems adds each line of fn's error at the line of key, with the variables of
// the upstream as a hint.
func envProblems(p *Problems, c *Config, key string, fn func() error) {
	err := fn()
	if err == nil {
		return
	}
	for _, l := range strings.Split(err.Error(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			p.add(c.lines[key], key, "%s", l)
		}
	}
	if vars, ok := upstreamVars[c.Auth.Upstream]; ok && key == "auth.upstream" {
		p.add(c.lines[key], key, "the %s upstream reads %s", c.Auth.Upstream, vars)
	}
}

// withFile names the file in the problems of err.
func withFile(err error, file string) error {
	var p *Problems
	if errors.As(err, &p) {
		p.File = file
		return p
	}
	return fmt.Errorf("%s: %w", file, err)
}
