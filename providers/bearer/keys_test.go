package bearer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mcpauth/mcpauth"
	"github.com/stretchr/testify/require"
)

func mustEd25519(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return pub, priv
}

func writeFile(t testing.TB, name string, data []byte) string {
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}

func pkixPEM(t testing.TB, pub any) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

const fileIssuer = "https://files.example"

// fileVerifier builds a verifier for keys in files.
func fileVerifier(t *testing.T, clock *testClock, files ...string) *Verifier {
	return newVerifierT(t, Config{
		Keys:     KeyFiles(files...),
		Issuers:  []string{fileIssuer},
		Audience: []string{testAudience},
		Now:      clock.Now,
	})
}

func filePayload(clock *testClock) map[string]any {
	return claimsAt(clock).WithIssuer(fileIssuer).Map()
}

func TestPEMKeyFiles(t *testing.T) {
	clock := newTestClock()
	ctx := context.Background()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	edPub, edPriv := mustEd25519(t)

	certDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: "signer"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}, &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "signer"}}, &rsaKey.PublicKey, rsaKey)
	require.NoError(t, err)

	cases := []struct {
		name   string
		file   []byte
		method jwt.SigningMethod
		key    any
	}{
		{"PKIX RSA", pkixPEM(t, &rsaKey.PublicKey), jwt.SigningMethodRS256, rsaKey},
		{"PKCS1 RSA", pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)}), jwt.SigningMethodPS384, rsaKey},
		{"certificate", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER}), jwt.SigningMethodRS512, rsaKey},
		{"PKIX ECDSA P-384", pkixPEM(t, &ecKey.PublicKey), jwt.SigningMethodES384, ecKey},
		{"PKIX Ed25519", pkixPEM(t, edPub), jwt.SigningMethodEdDSA, edPriv},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := fileVerifier(t, clock, writeFile(t, "key.pem", tc.file))
			tok, err := v.VerifyToken(ctx, signRaw(t, tc.method, tc.key, map[string]any{"kid": "any"}, filePayload(clock)))
			require.NoError(t, err)
			require.Equal(t, "alice", tok.Subject)
		})
	}

	t.Run("several blocks in one file", func(t *testing.T) {
		data := append(pkixPEM(t, &ecKey.PublicKey), pkixPEM(t, &rsaKey.PublicKey)...)
		v := fileVerifier(t, clock, writeFile(t, "keys.pem", data))
		_, err := v.VerifyToken(ctx, signRaw(t, jwt.SigningMethodRS256, rsaKey, nil, filePayload(clock)))
		require.NoError(t, err)
		_, err = v.VerifyToken(ctx, signRaw(t, jwt.SigningMethodES384, ecKey, nil, filePayload(clock)))
		require.NoError(t, err)
		// ES256 needs a P-256 key: the P-384 key does not fit.
		other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		_, err = v.VerifyToken(ctx, signRaw(t, jwt.SigningMethodES256, other, nil, filePayload(clock)))
		requireInvalid(t, err, "signing key does not match the token algorithm")
	})

	t.Run("wrong key", func(t *testing.T) {
		v := fileVerifier(t, clock, writeFile(t, "key.pem", pkixPEM(t, &rsaKey.PublicKey)))
		other, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
		_, err = v.VerifyToken(ctx, signRaw(t, jwt.SigningMethodRS256, other, nil, filePayload(clock)))
		requireInvalid(t, err, "token signature is invalid")
	})
}

func TestKeyFileErrors(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	privDER, err := x509.MarshalPKCS8PrivateKey(rsaKey)
	require.NoError(t, err)

	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"private key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), "is a PRIVATE KEY: give the public key instead"},
		{"no PEM", []byte("hello"), "no PEM public key or certificate found"},
		{"unsupported block", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{1}}), `unsupported type "CERTIFICATE REQUEST"`},
		{"broken DER", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1, 2}}), "cannot be parsed"},
		{"small RSA key", pkixPEM(t, &small.PublicKey), "1024 bits: keys shorter than 2048 bits are refused"},
		{"bad JSON", []byte("{not json"), "is not valid JSON"},
		{"oct JWK", []byte(`{"kty":"oct","k":"c2VjcmV0"}`), "symmetric (oct) key: use bearer.HMAC"},
		{"enc only JWKS", mustJSON(t, map[string]any{"keys": []any{rsaJWK(&rsaKey.PublicKey, "k1", "enc")}}), "contains no signature verification key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "key", tc.data)
			_, err := New(Config{Keys: KeyFiles(path), Issuers: []string{"i"}, Audience: []string{"a"}})
			require.ErrorContains(t, err, "Config.Keys: KeyFiles[0]")
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestValidateReadsNoKeyFile: Validate is pure, so a missing key file is not its
// problem; New and NewFactory read the files and report it, with the field, the variable
// and every static problem found with it.
func TestValidateReadsNoKeyFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "key.pem")
	cfg := Config{Keys: KeyFiles(missing), Issuers: []string{"i"}, Audience: []string{"a"}}
	require.NoError(t, cfg.Validate())
	_, err := New(cfg)
	require.EqualError(t, err, `bearer: Config.Keys: KeyFiles[0]: cannot read "`+missing+`": open `+missing+`: no such file or directory: check the path and its permissions (MCPAUTH_PUBLIC_KEY_FILE)`)
	_, err = NewFactory(cfg)
	require.ErrorContains(t, err, "Config.Keys: KeyFiles[0]: cannot read")

	// Static problems are Validate's, and New reports them with the unreadable file.
	cfg.Issuers, cfg.Leeway = nil, time.Hour
	err = cfg.Validate()
	require.ErrorContains(t, err, "Config.Issuers is empty")
	require.ErrorContains(t, err, "Config.Leeway 1h0m0s is out of range")
	require.NotContains(t, err.Error(), "KeyFiles")
	_, err = New(cfg)
	require.ErrorContains(t, err, "Config.Issuers is empty")
	require.ErrorContains(t, err, "Config.Leeway 1h0m0s is out of range")
	require.ErrorContains(t, err, "Config.Keys: KeyFiles[0]: cannot read")

	// An empty entry is a static problem.
	require.ErrorContains(t, Config{Keys: KeyFiles(" "), Issuers: []string{"i"}, Audience: []string{"a"}}.Validate(),
		"Config.Keys: KeyFiles[0] is empty")
}

func rsaJWK(pub *rsa.PublicKey, kid, use string) map[string]any {
	m := map[string]any{"kty": "RSA", "kid": kid, "n": seg(pub.N.Bytes()), "e": seg(big.NewInt(int64(pub.E)).Bytes())}
	if use != "" {
		m["use"] = use
	}
	return m
}

func mustJSON(t testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func TestJWKFiles(t *testing.T) {
	clock := newTestClock()
	ctx := context.Background()
	k1, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	k2, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)

	t.Run("single JWK", func(t *testing.T) {
		jwk := rsaJWK(&k1.PublicKey, "k1", "sig")
		jwk["alg"] = "RS256"
		v := fileVerifier(t, clock, writeFile(t, "key.json", mustJSON(t, jwk)))
		_, err := v.VerifyToken(ctx, signRaw(t, jwt.SigningMethodRS256, k1, map[string]any{"kid": "k1"}, filePayload(clock)))
		require.NoError(t, err)
		// The JWK's kid is matched exactly, and its alg restricts the algorithm.
		_, err = v.VerifyToken(ctx, signRaw(t, jwt.SigningMethodRS256, k1, map[string]any{"kid": "k9"}, filePayload(clock)))
		requireInvalid(t, err, "unknown signing key")
		_, err = v.VerifyToken(ctx, signRaw(t, jwt.SigningMethodRS384, k1, map[string]any{"kid": "k1"}, filePayload(clock)))
		requireInvalid(t, err, "signing key does not match the token algorithm")
	})

	t.Run("JWK Set", func(t *testing.T) {
		set := map[string]any{"keys": []any{rsaJWK(&k1.PublicKey, "k1", "sig"), rsaJWK(&k2.PublicKey, "k2", ""), rsaJWK(&k2.PublicKey, "k3", "enc")}}
		v := fileVerifier(t, clock, writeFile(t, "jwks.json", mustJSON(t, set)))
		_, err := v.VerifyToken(ctx, signRaw(t, jwt.SigningMethodRS256, k1, map[string]any{"kid": "k1"}, filePayload(clock)))
		require.NoError(t, err)
		_, err = v.VerifyToken(ctx, signRaw(t, jwt.SigningMethodRS256, k2, map[string]any{"kid": "k2"}, filePayload(clock)))
		require.NoError(t, err)
		_, err = v.VerifyToken(ctx, signRaw(t, jwt.SigningMethodRS256, k2, map[string]any{"kid": "k1"}, filePayload(clock)))
		requireInvalid(t, err, "token signature is invalid")
		// "use":"enc" keys never verify signatures.
		_, err = v.VerifyToken(ctx, signRaw(t, jwt.SigningMethodRS256, k2, map[string]any{"kid": "k3"}, filePayload(clock)))
		requireInvalid(t, err, "unknown signing key")
		// Without a kid, every key of the right type is tried.
		_, err = v.VerifyToken(ctx, signRaw(t, jwt.SigningMethodRS256, k2, nil, filePayload(clock)))
		require.NoError(t, err)
	})

	t.Run("PEM and JWK files together", func(t *testing.T) {
		v := fileVerifier(t, clock,
			writeFile(t, "a.pem", pkixPEM(t, &k1.PublicKey)),
			writeFile(t, "b.json", mustJSON(t, rsaJWK(&k2.PublicKey, "k2", "sig"))))
		_, err := v.VerifyToken(ctx, signRaw(t, jwt.SigningMethodRS256, k2, map[string]any{"kid": "k2"}, filePayload(clock)))
		require.NoError(t, err)
		// An unknown kid falls back to the keys that have no kid (the PEM key).
		_, err = v.VerifyToken(ctx, signRaw(t, jwt.SigningMethodRS256, k1, map[string]any{"kid": "rotated"}, filePayload(clock)))
		require.NoError(t, err)
	})
}

func TestHMACMode(t *testing.T) {
	clock := newTestClock()
	ctx := context.Background()
	secret := []byte("0123456789abcdef0123456789abcdef-dev")
	v := newVerifierT(t, Config{
		Keys:     HMAC(mcpauth.NewSecret(string(secret))),
		Issuers:  []string{fileIssuer},
		Audience: []string{testAudience},
		Now:      clock.Now,
	})
	for _, m := range []jwt.SigningMethod{jwt.SigningMethodHS256, jwt.SigningMethodHS384, jwt.SigningMethodHS512} {
		tok, err := v.VerifyToken(ctx, signRaw(t, m, secret, map[string]any{"typ": "JWT"}, filePayload(clock)))
		require.NoError(t, err, m.Alg())
		require.Equal(t, "alice", tok.Subject)
	}
	_, err := v.VerifyToken(ctx, signRaw(t, jwt.SigningMethodHS256, []byte("another secret of at least 32 bytes!"), nil, filePayload(clock)))
	requireInvalid(t, err, "token signature is invalid")

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	_, err = v.VerifyToken(ctx, signRaw(t, jwt.SigningMethodRS256, rsaKey, nil, filePayload(clock)))
	requireInvalid(t, err, "unexpected signing algorithm")

	t.Run("algorithm subset", func(t *testing.T) {
		v := newVerifierT(t, Config{Keys: HMAC(mcpauth.NewSecret(string(secret))), Algorithms: []string{"hs512"}, SkipIssuerCheck: true, SkipAudienceCheck: true, Now: clock.Now})
		_, err := v.VerifyToken(ctx, signRaw(t, jwt.SigningMethodHS512, secret, nil, filePayload(clock)))
		require.NoError(t, err)
		_, err = v.VerifyToken(ctx, signRaw(t, jwt.SigningMethodHS256, secret, nil, filePayload(clock)))
		requireInvalid(t, err, "unexpected signing algorithm")
	})
}

func TestPublicKeysValidation(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ec224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	require.NoError(t, err)
	base := Config{Issuers: []string{"i"}, Audience: []string{"a"}}
	cases := []struct {
		key  crypto.PublicKey
		want string
	}{
		{rsaKey, "is a private key (*rsa.PrivateKey): give its public half"},
		{"pem text", "unsupported key type string"},
		{&ec224.PublicKey, "curve P-224 is not supported"},
		{[]byte("0123456789abcdef0123456789abcdef"), "use bearer.HMAC instead"},
		{nil, "the key is nil"},
	}
	for _, tc := range cases {
		cfg := base
		cfg.Keys = StaticKeys(tc.key)
		err := cfg.Validate()
		require.ErrorContains(t, err, "Config.Keys: StaticKeys[0]")
		require.ErrorContains(t, err, tc.want)
	}
	cfg := base
	cfg.Keys = StaticKeys(&rsaKey.PublicKey)
	cfg.Algorithms = []string{"ES256"}
	require.ErrorContains(t, cfg.Validate(), "Config.Algorithms (ES256) contains no algorithm that the configured public keys can verify")
}
