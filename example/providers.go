package main

import (
	"errors"
	"net/http"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/providers/bearer"
	"github.com/mcpauth/mcpauth/providers/github"
	"github.com/mcpauth/mcpauth/providers/google"
	"github.com/mcpauth/mcpauth/providers/introspect"
	"github.com/mcpauth/mcpauth/providers/workos"
)

// providerSet is what the environment configured: per-resource factories for the
// providers whose tokens name their audience (JWT issuers, AuthKit, introspection) and
// shared verifiers for those whose tokens do not (GitHub, Google).
type providerSet struct {
	names       []string
	factories   []mcpauth.VerifierFactory
	shared      []mcpauth.TokenVerifier
	authServers []string
	// metadata serves an authorization server's RFC 8414 document (AuthKit), or is nil.
	metadata http.Handler
	// opaque is true when a provider checks tokens with an upstream call.
	opaque bool
}

// providersFromEnv builds every provider the environment names. It returns no provider
// (and no error) when none is configured.
func providersFromEnv() (*providerSet, error) {
	ps := &providerSet{}
	if externalProviderConfigured() {
		cfg, err := bearer.ConfigFromEnv("MCPAUTH")
		if err != nil {
			return nil, err
		}
		f, err := bearer.NewFactory(cfg)
		if err != nil {
			return nil, err
		}
		ps.factories = append(ps.factories, f)
		ps.authServers = append(ps.authServers, cfg.Issuers...)
		ps.names = append(ps.names, "bearer (MCPAUTH_ISSUER)")
	}
	if cfg, err := workos.ConfigFromEnv("MCPAUTH"); err != nil {
		return nil, err
	} else if cfg.Configured() {
		if cfg.AuthKitDomain != "" {
			f, err := workos.NewFactory(cfg)
			if err != nil {
				return nil, err
			}
			md, err := cfg.MetadataHandler()
			if err != nil {
				return nil, err
			}
			ps.factories = append(ps.factories, f)
			ps.authServers = append(ps.authServers, cfg.Issuer())
			ps.metadata = md
			ps.names = append(ps.names, "workos authkit")
		}
		if !cfg.APIKey.IsZero() {
			v, err := workos.NewProfileVerifier(cfg)
			if err != nil {
				return nil, err
			}
			ps.shared = append(ps.shared, v)
			ps.opaque = true
			ps.names = append(ps.names, "workos sso")
		}
	}
	if cfg, err := introspect.ConfigFromEnv("MCPAUTH"); err != nil {
		return nil, err
	} else if cfg.Configured() {
		f, err := introspect.NewFactory(cfg)
		if err != nil {
			return nil, err
		}
		ps.factories = append(ps.factories, f)
		ps.opaque = true
		ps.names = append(ps.names, "introspection")
	}
	if cfg, err := github.ConfigFromEnv("MCPAUTH"); err != nil {
		return nil, err
	} else if cfg.Configured() {
		v, err := github.New(cfg)
		if err != nil {
			return nil, err
		}
		ps.shared = append(ps.shared, v)
		ps.opaque = true
		ps.names = append(ps.names, "github")
	}
	if cfg, err := google.ConfigFromEnv("MCPAUTH"); err != nil {
		return nil, err
	} else if cfg.Configured() {
		v, err := google.New(cfg)
		if err != nil {
			return nil, err
		}
		ps.shared = append(ps.shared, v)
		ps.opaque = true
		ps.names = append(ps.names, "google")
	}
	if len(ps.factories) == 0 && len(ps.shared) == 0 {
		return nil, nil
	}
	return ps, nil
}

// factory accepts a token when any configured provider does (mcpauth.Any): the audit
// event names the provider that accepted it.
func (ps *providerSet) factory() mcpauth.VerifierFactory {
	return func(resource string) (mcpauth.TokenVerifier, error) {
		var vs []mcpauth.TokenVerifier
		for _, f := range ps.factories {
			v, err := f(resource)
			if err != nil {
				return nil, err
			}
			vs = append(vs, v)
		}
		vs = append(vs, ps.shared...)
		if len(vs) == 0 {
			return nil, errors.New("no provider configured")
		}
		if len(vs) == 1 {
			return vs[0], nil
		}
		return mcpauth.Any(vs...), nil
	}
}
