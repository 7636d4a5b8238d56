package redisstore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth/internal/testutil"
	"github.com/mcpauth/mcpauth/store/redisstore"
)

func clearRedisEnv(t *testing.T) {
	for _, k := range []string{"URL", "SENTINEL_MASTER", "SENTINEL_ADDRS", "CLUSTER_ADDRS", "USERNAME", "PASSWORD", "PASSWORD_FILE", "TLS", "CA_FILE", "KEY_PREFIX"} {
		t.Setenv("MCPAUTH_REDIS_"+k, "")
	}
}

func TestConfigFromEnv(t *testing.T) {
	clearRedisEnv(t)
	_, ok, err := redisstore.ConfigFromEnv("MCPAUTH")
	require.NoError(t, err)
	assert.False(t, ok, "nothing set: not configured")

	r := testutil.StartRedis(t)
	t.Setenv("MCPAUTH_REDIS_URL", "redis://"+r.Addr+"/0")
	t.Setenv("MCPAUTH_REDIS_KEY_PREFIX", "hub-a:")
	cfg, ok, err := redisstore.ConfigFromEnv("MCPAUTH")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "hub-a:", cfg.Prefix)
	s, err := redisstore.New(cfg)
	require.NoError(t, err)
	require.NoError(t, s.Ping(context.Background()))
	opts := cfg.Client.(*goredis.Client).Options()
	assert.Equal(t, r.Addr, opts.Addr)
	assert.Nil(t, opts.TLSConfig)

	// The password from a file; rediss:// turns TLS on.
	pw := filepath.Join(t.TempDir(), "pw")
	require.NoError(t, os.WriteFile(pw, []byte("s3cret-redis-password\n"), 0o600))
	t.Setenv("MCPAUTH_REDIS_URL", "rediss://cache.internal:6380/2")
	t.Setenv("MCPAUTH_REDIS_USERNAME", "mcpauth")
	t.Setenv("MCPAUTH_REDIS_PASSWORD_FILE", pw)
	cfg, _, err = redisstore.ConfigFromEnv("MCPAUTH")
	require.NoError(t, err)
	opts = cfg.Client.(*goredis.Client).Options()
	assert.Equal(t, "mcpauth", opts.Username)
	assert.Equal(t, "s3cret-redis-password", opts.Password)
	assert.Equal(t, 2, opts.DB)
	require.NotNil(t, opts.TLSConfig)
	assert.Equal(t, "cache.internal", opts.TLSConfig.ServerName)
}

func TestConfigFromEnvRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"two modes", map[string]string{"URL": "redis://a:1", "CLUSTER_ADDRS": "b:1,c:1"}, "MCPAUTH_REDIS_URL, MCPAUTH_REDIS_SENTINEL_MASTER and MCPAUTH_REDIS_CLUSTER_ADDRS are exclusive: set one"},
		{"sentinel without addresses", map[string]string{"SENTINEL_MASTER": "mymaster"}, "MCPAUTH_REDIS_SENTINEL_MASTER and MCPAUTH_REDIS_SENTINEL_ADDRS go together"},
		{"bad URL with a password", map[string]string{"URL": "http://user:hunter2@host"}, "MCPAUTH_REDIS_URL is not a Redis URL: use redis://[user:password@]host:6379/0, or rediss:// for TLS"},
		{"unreadable CA", map[string]string{"URL": "rediss://a:1", "CA_FILE": "/nonexistent/ca.pem"}, `MCPAUTH_REDIS_CA_FILE: "/nonexistent/ca.pem" holds no readable PEM certificate`},
		{"password twice", map[string]string{"URL": "redis://a:1", "PASSWORD": "x", "PASSWORD_FILE": "/tmp/x"}, "MCPAUTH_REDIS_PASSWORD and MCPAUTH_REDIS_PASSWORD_FILE are both set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearRedisEnv(t)
			for k, v := range tc.env {
				t.Setenv("MCPAUTH_REDIS_"+k, v)
			}
			_, ok, err := redisstore.ConfigFromEnv("MCPAUTH")
			assert.True(t, ok)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "hunter2")
		})
	}

	clearRedisEnv(t)
	t.Setenv("MCPAUTH_REDIS_SENTINEL_MASTER", "mymaster")
	t.Setenv("MCPAUTH_REDIS_SENTINEL_ADDRS", "s1:26379, s2:26379")
	cfg, ok, err := redisstore.ConfigFromEnv("MCPAUTH")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.IsType(t, &goredis.Client{}, cfg.Client, "a failover client is a *Client")

	clearRedisEnv(t)
	t.Setenv("MCPAUTH_REDIS_CLUSTER_ADDRS", "n1:6379,n2:6379")
	t.Setenv("MCPAUTH_REDIS_TLS", "true")
	cfg, _, err = redisstore.ConfigFromEnv("MCPAUTH")
	require.NoError(t, err)
	cc, isCluster := cfg.Client.(*goredis.ClusterClient)
	require.True(t, isCluster)
	assert.Equal(t, []string{"n1:6379", "n2:6379"}, cc.Options().Addrs)
	assert.NotNil(t, cc.Options().TLSConfig)
}
