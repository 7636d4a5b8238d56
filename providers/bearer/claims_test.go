package bearer

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestClaimsMap(t *testing.T) {
	iat := time.Unix(1_700_000_000, 0)
	c := NewClaims("alice").IssuedAt(iat)
	m := c.Map()
	require.Equal(t, "alice", m["sub"])
	require.Equal(t, iat.Unix(), m["iat"])
	require.Equal(t, iat.Add(time.Hour).Unix(), m["exp"], "exp defaults to iat + 1h")
	require.Len(t, m["jti"], 32)
	require.NotContains(t, m, "scope")
	require.NotContains(t, m, "aud")
	require.NotContains(t, m, "iss")
	require.NotContains(t, m, "nbf")
	require.NotEqual(t, m["jti"], NewClaims("alice").Map()["jti"], "jti is random")

	c.AddScopes("a b", "c").AddScopes("d").WithIssuer("https://iss").WithAudience("https://aud").
		NotBefore(iat.Add(time.Minute)).ExpiresIn(5 * time.Minute)
	m = c.Map()
	require.Equal(t, "a b c d", m["scope"])
	require.Equal(t, "https://iss", m["iss"])
	require.Equal(t, "https://aud", m["aud"])
	require.Equal(t, iat.Add(time.Minute).Unix(), m["nbf"])
	require.Equal(t, iat.Add(5*time.Minute).Unix(), m["exp"])

	// IssuedAt after ExpiresIn still moves the base of the relative expiry.
	c.IssuedAt(iat.Add(time.Hour))
	require.Equal(t, iat.Add(time.Hour+5*time.Minute).Unix(), c.Map()["exp"])

	c.WithAudience("x", "y")
	require.Equal(t, []string{"x", "y"}, c.Map()["aud"])
	c.WithAudience()
	require.NotContains(t, c.Map(), "aud")

	abs := iat.Add(48 * time.Hour)
	c.ExpiresAt(abs)
	require.Equal(t, abs.Unix(), c.Map()["exp"])
	c.WithoutExpiry()
	require.NotContains(t, c.Map(), "exp")
	c.ExpiresIn(time.Minute)
	require.Equal(t, iat.Add(time.Hour+time.Minute).Unix(), c.Map()["exp"])

	when := iat.Add(3 * time.Second)
	c.AddClaim("tenant_id", "acme").AddClaim("auth_time", when).AddClaim("scope", 42)
	m = c.Map()
	require.Equal(t, "acme", m["tenant_id"])
	require.Equal(t, when.Unix(), m["auth_time"], "time.Time renders as seconds")
	require.Equal(t, 42, m["scope"], "AddClaim overrides")

	// Each Map is a fresh map.
	m["sub"] = "mallory"
	require.Equal(t, "alice", c.Map()["sub"])
}
