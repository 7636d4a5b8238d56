package oauthproxy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUpstreamFromEnv(t *testing.T) {
	t.Setenv("T_GITHUB_CLIENT_ID", "Iv1.abc")
	t.Setenv("T_GITHUB_CLIENT_SECRET", "s3cret")
	t.Setenv("T_GITHUB_ALLOWED_ORGS", "acme")
	up, err := UpstreamFromEnv("github", "T")
	require.NoError(t, err)
	assert.Equal(t, "github", up.Name())
	assert.Contains(t, up.AuthCodeURL("st", "v", "https://hub.example.com/oauth/callback"), "client_id=Iv1.abc")

	t.Setenv("T_WORKOS_CLIENT_ID", "client_01")
	t.Setenv("T_WORKOS_API_KEY", "sk_test_key")
	t.Setenv("T_WORKOS_CONNECTION", "conn_123")
	up, err = UpstreamFromEnv("workos", "T")
	require.NoError(t, err)
	assert.Contains(t, up.AuthCodeURL("st", "v", "https://hub.example.com/oauth/callback"), "connection=conn_123", "the selection comes from T_WORKOS_CONNECTION")

	_, err = UpstreamFromEnv("oidc", "T")
	assert.ErrorContains(t, err, "OIDCConfig.Issuer is empty")
	_, err = UpstreamFromEnv("myspace", "T")
	assert.EqualError(t, err, `oauthproxy: "myspace" is not an identity provider: use github, google, workos or oidc`)
}
