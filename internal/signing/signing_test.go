package signing

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mcpauth/mcpauth"
)

func pemOf(t *testing.T, key any) mcpauth.Secret {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return mcpauth.NewSecret(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
}

func TestSignAndPublish(t *testing.T) {
	ed, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for name, secret := range map[string]mcpauth.Secret{"EdDSA": ed, "ES256": pemOf(t, ec)} {
		k, err := Parse(secret)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if k.Method.Alg() != name {
			t.Errorf("%s: method %s", name, k.Method.Alg())
		}
		tok, err := k.Sign(jwt.MapClaims{"sub": "a"}, "at+jwt")
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return k.Priv.Public(), nil }, jwt.WithValidMethods([]string{name}))
		if err != nil || parsed.Header["kid"] != k.KID || parsed.Header["typ"] != "at+jwt" {
			t.Errorf("%s: %v %v", name, err, parsed.Header)
		}
		var set struct{ Keys []map[string]string }
		if err := json.Unmarshal(JWKS([]Key{k}), &set); err != nil || len(set.Keys) != 1 || set.Keys[0]["kid"] != k.KID || set.Keys[0]["alg"] != name {
			t.Errorf("%s: JWKS %v %v", name, err, set)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	for _, tc := range []struct {
		secret mcpauth.Secret
		want   string
	}{
		{mcpauth.NewSecret("not pem"), "it is not PEM"},
		{pemOf(t, rk), "cannot sign: give an EC P-256 or Ed25519 private key"},
		{pemOf(t, p384), "only P-256 (ES256) is supported"},
		{mcpauth.NewSecret("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"), `PEM block "CERTIFICATE" is not a private key`},
	} {
		_, err := Parse(tc.secret)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse: %v, want %q", err, tc.want)
		}
	}
}
