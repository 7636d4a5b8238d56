package keyring

import (
	"encoding/json"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func kids(t *testing.T, r *Keyring) []string {
	t.Helper()
	var set struct {
		Keys []struct{ Kid, Kty, Alg, N, E string } `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(r.JWKS(), &set))
	var out []string
	for _, k := range set.Keys {
		assert.Equal(t, "RSA", k.Kty)
		assert.Equal(t, "RS256", k.Alg)
		out = append(out, k.Kid)
	}
	return out
}

func TestSignRotateRetire(t *testing.T) {
	r, err := New()
	require.NoError(t, err)
	first := r.Current()
	tok, err := r.Sign(map[string]any{"sub": "alice"})
	require.NoError(t, err)
	parsed, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return &first.Private.PublicKey, nil }, jwt.WithValidMethods([]string{"RS256"}))
	require.NoError(t, err)
	assert.Equal(t, first.KID, parsed.Header["kid"])
	assert.Equal(t, "at+jwt", parsed.Header["typ"])
	assert.Equal(t, []string{first.KID}, kids(t, r))

	require.NoError(t, r.Rotate())
	second := r.Current()
	assert.NotEqual(t, first.KID, second.KID)
	assert.Equal(t, []string{second.KID, first.KID}, kids(t, r), "the previous key stays published")
	r.RetirePrevious()
	assert.Equal(t, []string{second.KID}, kids(t, r))
}
