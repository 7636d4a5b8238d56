package oauthproxy

import (
	"fmt"
	"strings"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/config"
	"github.com/mcpauth/mcpauth/providers/github"
	"github.com/mcpauth/mcpauth/providers/google"
	"github.com/mcpauth/mcpauth/providers/workos"
)

// ConfigFromEnv reads the proxy's keys and lifetimes from the environment, with prefix
// (such as "MCPAUTH"):
//
//	PREFIX_PROXY_SIGNING_KEY           PEM private key (or PREFIX_PROXY_SIGNING_KEY_FILE)
//	PREFIX_PROXY_PREVIOUS_SIGNING_KEY  a rotated-out key, still published (or _FILE)
//	PREFIX_PROXY_ENCRYPTION_KEYS       base64 keys, comma-separated, newest first (or _FILE)
//	PREFIX_PROXY_ACCESS_TOKEN_TTL      such as 15m
//	PREFIX_PROXY_REFRESH_TOKEN_TTL     such as 720h
//
// The caller sets Issuer, Upstream and Resources. Malformed variables are all reported.
func ConfigFromEnv(prefix string) (Config, error) {
	e := &config.Env{Pkg: "oauthproxy", Prefix: config.Prefix(prefix), Group: "PROXY"}
	var c Config
	c.SigningKey = e.Secret(config.Secret{Name: "SIGNING_KEY", Noun: "PEM private key", FileNoun: "signing key"})
	if prev := e.Secret(config.Secret{Name: "PREVIOUS_SIGNING_KEY", Noun: "PEM private key", FileNoun: "signing key"}); !prev.IsZero() {
		c.PreviousSigningKeys = []mcpauth.Secret{prev}
	}
	if keys := e.Secret(config.Secret{Name: "ENCRYPTION_KEYS", Noun: "encryption keys", FileNoun: "encryption keys", TrimSpace: true}); !keys.IsZero() {
		for _, k := range strings.FieldsFunc(keys.Reveal(), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
			c.EncryptionKeys = append(c.EncryptionKeys, mcpauth.NewSecret(k))
		}
	}
	c.AccessTokenTTL = e.Duration("ACCESS_TOKEN_TTL", "15m")
	c.RefreshTokenTTL = e.Duration("REFRESH_TOKEN_TTL", "720h")
	return c, e.Err()
}

// OIDCConfigFromEnv reads an OIDCConfig from PREFIX_OIDC_ISSUER, PREFIX_OIDC_CLIENT_ID,
// PREFIX_OIDC_CLIENT_SECRET (or _FILE), PREFIX_OIDC_SCOPES, PREFIX_OIDC_ENTITLEMENTS and
// PREFIX_OIDC_TENANT_CLAIM.
func OIDCConfigFromEnv(prefix string) (OIDCConfig, error) {
	return config.Load[OIDCConfig]("oauthproxy", prefix, "OIDC")
}

// UpstreamFromEnv builds the upstream named name (github, google, workos or oidc) from
// its provider's variables with prefix: github.ConfigFromEnv, google.ConfigFromEnv,
// workos.ConfigFromEnv with PREFIX_WORKOS_ORGANIZATION, _CONNECTION or _PROVIDER
// (WorkOSSelection), or OIDCConfigFromEnv. The oidc upstream discovers its provider
// (a network call). The development upstream has no variables: use NewDevUpstream.
func UpstreamFromEnv(name, prefix string) (Upstream, error) {
	switch name {
	case "github":
		cfg, err := github.ConfigFromEnv(prefix)
		if err != nil {
			return nil, err
		}
		return GitHub(cfg)
	case "google":
		cfg, err := google.ConfigFromEnv(prefix)
		if err != nil {
			return nil, err
		}
		return Google(cfg)
	case "workos":
		cfg, err := workos.ConfigFromEnv(prefix)
		if err != nil {
			return nil, err
		}
		e := &config.Env{Prefix: config.Prefix(prefix), Group: "WORKOS"}
		return WorkOS(cfg, WorkOSSelection{Organization: e.Get("ORGANIZATION"), Connection: e.Get("CONNECTION"), Provider: e.Get("PROVIDER")})
	case "oidc":
		cfg, err := OIDCConfigFromEnv(prefix)
		if err != nil {
			return nil, err
		}
		return OIDC(cfg)
	}
	return nil, fmt.Errorf("oauthproxy: %q is not an identity provider: use github, google, workos or oidc", name)
}
