package redisstore

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/mcpauth/mcpauth/internal/config"
)

// ConfigFromEnv builds a Config from the environment, with prefix (such as "MCPAUTH"),
// and reports whether Redis is configured at all:
//
//	PREFIX_REDIS_URL              redis://host:6379/0 or rediss:// (TLS), standalone
//	PREFIX_REDIS_SENTINEL_MASTER  with PREFIX_REDIS_SENTINEL_ADDRS (host:port, ...): Sentinel
//	PREFIX_REDIS_CLUSTER_ADDRS    host:port, ...: Cluster
//	PREFIX_REDIS_USERNAME         ACL user
//	PREFIX_REDIS_PASSWORD         password (or PREFIX_REDIS_PASSWORD_FILE)
//	PREFIX_REDIS_TLS              true: TLS for Sentinel or Cluster (rediss:// says it for a URL)
//	PREFIX_REDIS_CA_FILE          PEM roots to verify the server's certificate
//	PREFIX_REDIS_KEY_PREFIX       the key prefix (default DefaultPrefix)
//
// Exactly one of URL, Sentinel and Cluster may be set. Every malformed variable is
// reported at once, naming it.
func ConfigFromEnv(prefix string) (Config, bool, error) {
	e := &config.Env{Pkg: "redisstore", Prefix: config.Prefix(prefix), Group: "REDIS"}
	rawURL, master, sentinels, cluster := e.Get("URL"), e.Get("SENTINEL_MASTER"), e.List("SENTINEL_ADDRS"), e.List("CLUSTER_ADDRS")
	user := e.Get("USERNAME")
	password := e.Secret(config.Secret{Name: "PASSWORD", Noun: "Redis password", FileNoun: "Redis password"})
	useTLS, _ := e.Bool("TLS")
	caFile := e.Get("CA_FILE")
	cfg := Config{Prefix: e.Get("KEY_PREFIX")}

	modes := 0
	for _, set := range []bool{rawURL != "", master != "" || len(sentinels) > 0, len(cluster) > 0} {
		if set {
			modes++
		}
	}
	switch {
	case modes == 0:
		return Config{}, false, e.Err()
	case modes > 1:
		e.Errorf("%s, %s and %s are exclusive: set one", e.Name("URL"), e.Name("SENTINEL_MASTER"), e.Name("CLUSTER_ADDRS"))
	case (master == "") != (len(sentinels) == 0):
		e.Errorf("%s and %s go together: the master's name and the sentinels' addresses", e.Name("SENTINEL_MASTER"), e.Name("SENTINEL_ADDRS"))
	}
	var tlsConf *tls.Config
	if useTLS || strings.HasPrefix(rawURL, "rediss://") || caFile != "" {
		tlsConf = &tls.Config{MinVersion: tls.VersionTLS12}
		if caFile != "" {
			pem, err := os.ReadFile(caFile)
			pool := x509.NewCertPool()
			if err != nil || !pool.AppendCertsFromPEM(pem) {
				e.Errorf("%s: %q holds no readable PEM certificate: give the CA that signed the Redis server's certificate", e.Name("CA_FILE"), caFile)
			}
			tlsConf.RootCAs = pool
		}
	}
	if err := e.Err(); err != nil {
		return Config{}, true, err
	}
	switch {
	case rawURL != "":
		opts, err := goredis.ParseURL(rawURL)
		if err != nil { // its text may quote the URL, password included: not shown
			e.Errorf("%s is not a Redis URL: use redis://[user:password@]host:6379/0, or rediss:// for TLS", e.Name("URL"))
			return Config{}, true, e.Err()
		}
		if user != "" {
			opts.Username = user
		}
		if !password.IsZero() {
			opts.Password = password.Reveal()
		}
		if tlsConf != nil {
			if opts.TLSConfig != nil {
				tlsConf.ServerName = opts.TLSConfig.ServerName
			}
			opts.TLSConfig = tlsConf
		}
		cfg.Client = goredis.NewClient(opts)
	case master != "":
		cfg.Client = goredis.NewFailoverClient(&goredis.FailoverOptions{MasterName: master, SentinelAddrs: sentinels, Username: user, Password: password.Reveal(), TLSConfig: tlsConf})
	default:
		cfg.Client = goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: cluster, Username: user, Password: password.Reveal(), TLSConfig: tlsConf})
	}
	return cfg, true, nil
}
