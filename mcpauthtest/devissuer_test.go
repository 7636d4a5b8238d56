package mcpauthtest

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mcpauth/mcpauth/providers/bearer"
	"github.com/stretchr/testify/require"
)

func TestDevIssuerHandler(t *testing.T) {
	for _, base := range []string{"", "/tenants/a"} {
		t.Run("path="+base, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(nil)
			issuer := "http://" + srv.Listener.Addr().String() + base
			d, err := NewDevIssuer(issuer)
			require.NoError(t, err)
			d.SetScopesSupported("notes:read", "admin")
			srv.Config.Handler = d.Handler()
			srv.Start()
			defer srv.Close()

			require.Equal(t, issuer, d.Issuer())
			require.Equal(t, issuer+"/jwks.json", d.JWKSURI())
			want := []string{base + "/jwks.json", "/.well-known/oauth-authorization-server" + base, "/.well-known/openid-configuration" + base}
			if base != "" {
				want = append(want, base+"/.well-known/openid-configuration")
			}
			require.Equal(t, want, d.Paths())

			get := func(method, path string) (*http.Response, []byte) {
				req, err := http.NewRequest(method, srv.URL+path, nil)
				require.NoError(t, err)
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				return resp, body
			}

			resp, body := get(http.MethodGet, base+"/jwks.json")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			require.Contains(t, resp.Header.Get("Cache-Control"), "max-age=300")
			var jwks struct {
				Keys []map[string]string `json:"keys"`
			}
			require.NoError(t, json.Unmarshal(body, &jwks))
			require.Len(t, jwks.Keys, 1)
			require.Equal(t, "RSA", jwks.Keys[0]["kty"])
			require.Equal(t, "RS256", jwks.Keys[0]["alg"])
			require.Equal(t, "sig", jwks.Keys[0]["use"])
			require.Equal(t, "AQAB", jwks.Keys[0]["e"])
			require.Equal(t, currentKID(d), jwks.Keys[0]["kid"])
			require.NotContains(t, string(body), `"d"`, "no private material")

			for _, p := range d.Paths()[1:] {
				resp, body := get(http.MethodGet, p)
				require.Equal(t, http.StatusOK, resp.StatusCode, p)
				require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
				var meta map[string]any
				require.NoError(t, json.Unmarshal(body, &meta))
				require.Equal(t, issuer, meta["issuer"])
				require.Equal(t, issuer+"/jwks.json", meta["jwks_uri"])
				require.Equal(t, []any{"RS256"}, meta["id_token_signing_alg_values_supported"])
				require.Equal(t, []any{"notes:read", "admin"}, meta["scopes_supported"])
				require.NotEmpty(t, meta["response_types_supported"])
				require.NotEmpty(t, meta["subject_types_supported"])
			}

			resp, body = get(http.MethodHead, base+"/jwks.json")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Empty(t, body)
			resp, _ = get(http.MethodPost, base+"/jwks.json")
			require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
			require.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))
			resp, _ = get(http.MethodGet, base+"/other")
			require.Equal(t, http.StatusNotFound, resp.StatusCode)
			resp, _ = get(http.MethodGet, "/jwks.json.bak")
			require.Equal(t, http.StatusNotFound, resp.StatusCode)
		})
	}
}

func TestDevIssuerRotateAndRetire(t *testing.T) {
	d, err := NewDevIssuer("https://dev.example/")
	require.NoError(t, err)
	require.Equal(t, "https://dev.example/jwks.json", d.JWKSURI())
	count := func() int {
		var set struct{ Keys []any }
		require.NoError(t, json.Unmarshal(d.keys.JWKS(), &set))
		return len(set.Keys)
	}
	first := currentKID(d)
	pub := d.PublicKey()
	require.NoError(t, d.Rotate())
	require.NotEqual(t, first, currentKID(d))
	require.NotEqual(t, pub, d.PublicKey())
	require.Equal(t, 2, count())
	require.NoError(t, d.Rotate())
	require.Equal(t, 3, count())
	d.RetirePrevious()
	require.Equal(t, 1, count())
}

func TestDevIssuerSignAndMint(t *testing.T) {
	d, err := NewDevIssuer("https://dev.example")
	require.NoError(t, err)
	tok, err := d.Mint("bob", "https://aud", "a", "b")
	require.NoError(t, err)
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3)
	var header, payload map[string]any
	require.NoError(t, json.Unmarshal(mustDecode(t, parts[0]), &header))
	require.NoError(t, json.Unmarshal(mustDecode(t, parts[1]), &payload))
	require.Equal(t, map[string]any{"alg": "RS256", "typ": "at+jwt", "kid": currentKID(d)}, header)
	require.Equal(t, "https://dev.example", payload["iss"])
	require.Equal(t, "https://aud", payload["aud"])
	require.Equal(t, "a b", payload["scope"])
	require.Equal(t, "bob", payload["sub"])

	tok, err = d.Sign(bearer.NewClaims("bob").WithIssuer("https://other"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(mustDecode(t, strings.Split(tok, ".")[1]), &payload))
	require.Equal(t, "https://other", payload["iss"], "an explicit issuer is kept")

	tok, err = d.Mint("bob", "")
	require.NoError(t, err)
	payload = nil
	require.NoError(t, json.Unmarshal(mustDecode(t, strings.Split(tok, ".")[1]), &payload))
	require.NotContains(t, payload, "aud")
	require.NotContains(t, payload, "scope")

	_, err = d.Sign(nil)
	require.Error(t, err)

	cfg := d.VerifierConfig("https://aud")
	require.Equal(t, bearer.JWKS{URI: "https://dev.example/jwks.json"}, cfg.Keys)
	require.Equal(t, []string{"https://dev.example"}, cfg.Issuers)
	require.Equal(t, []string{"https://aud"}, cfg.Audience)
	require.Equal(t, []string{"RS256"}, cfg.Algorithms)
	require.NoError(t, cfg.Validate())
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	require.NoError(t, err)
	return b
}

func TestNewDevIssuerErrors(t *testing.T) {
	for _, u := range []string{"", "dev.example", "/dev", "ftp://dev.example", "https://dev.example?x=1", "https://dev.example#f", "http://"} {
		_, err := NewDevIssuer(u)
		require.Error(t, err, u)
		require.ErrorContains(t, err, "NewDevIssuer", u)
	}
}

func TestDevIssuerAlwaysSetsSubject(t *testing.T) {
	d, err := NewDevIssuer("https://dev.example")
	require.NoError(t, err)
	_, err = d.Mint("", "https://aud", "a")
	require.ErrorContains(t, err, "mcpauthtest: DevIssuer.Mint: the subject is empty")
	_, err = d.Sign(bearer.NewClaims("").WithAudience("https://aud"))
	require.ErrorContains(t, err, "mcpauthtest: DevIssuer.Sign: the claims have no subject")

	// An explicit "sub" claim, even an empty one, is signed as given (for tests).
	tok, err := d.Sign(bearer.NewClaims("").AddClaim("sub", ""))
	require.NoError(t, err)
	var payload map[string]any
	require.NoError(t, json.Unmarshal(mustDecode(t, strings.Split(tok, ".")[1]), &payload))
	require.Equal(t, "", payload["sub"])

	tok, err = d.Mint("carol", "")
	require.NoError(t, err)
	payload = nil
	require.NoError(t, json.Unmarshal(mustDecode(t, strings.Split(tok, ".")[1]), &payload))
	require.Equal(t, "carol", payload["sub"])
}

func currentKID(d *DevIssuer) string { return d.keys.Current().KID }
