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

	t.Setenv("T_GOOGLE_CLIENT_ID", "123.apps.googleusercontent.com")
	t.Setenv("T_GOOGLE_CLIENT_SECRET", "g-secret")
	t.Setenv("T_GOOGLE_HOSTED_DOMAINS", "example.com")
	up, err = UpstreamFromEnv("google", "T")
	require.NoError(t, err)
	assert.Equal(t, "google", up.Name())
	assert.Contains(t, up.AuthCodeURL("st", "v", "https://hub.example.com/oauth/callback"), "client_id=123.apps.googleusercontent.com")

	for _, sel := range []struct{ env, value, param string }{
		{"ORGANIZATION", "org_01", "organization=org_01"},
		{"PROVIDER", "GoogleOAuth", "provider=GoogleOAuth"},
	} {
		prefix := "W" + sel.env
		t.Setenv(prefix+"_WORKOS_CLIENT_ID", "client_01")
		t.Setenv(prefix+"_WORKOS_API_KEY", "sk_test_key")
		t.Setenv(prefix+"_WORKOS_"+sel.env, sel.value)
		up, err = UpstreamFromEnv("workos", prefix)
		require.NoError(t, err)
		assert.Contains(t, up.AuthCodeURL("st", "v", "https://hub.example.com/oauth/callback"), sel.param, "the selection comes from %s_WORKOS_%s", prefix, sel.env)
	}

	_, err = UpstreamFromEnv("oidc", "T")
	assert.ErrorContains(t, err, "OIDCConfig.Issuer is empty")
	_, err = UpstreamFromEnv("myspace", "T")
	assert.EqualError(t, err, `oauthproxy: "myspace" is not an identity provider: use github, google, workos or oidc`)
}
