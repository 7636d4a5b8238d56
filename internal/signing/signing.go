// Package signing holds the keys that sign the library's own JWTs (the sign-in proxy's
// access tokens, the gateway's tokens for upstreams): PEM parsing of Ed25519 and EC P-256
// private keys, key IDs, signing, and the JWK Set that publishes them.
package signing

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mcpauth/mcpauth"
)

// Key is one signing key.
type Key struct {
	KID    string
	Method jwt.SigningMethod // ES256 or EdDSA
	Priv   crypto.Signer
}

// Parse reads a PEM private key: PKCS #8 (EC P-256 or Ed25519) or SEC 1 ("EC
// PRIVATE KEY", P-256).
func Parse(s mcpauth.Secret) (Key, error) {
	block, _ := pem.Decode([]byte(s.Reveal()))
	if block == nil {
		return Key{}, errors.New("it is not PEM: give a PKCS #8 EC P-256 or Ed25519 private key (openssl genpkey -algorithm ed25519, or openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256)")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return Key{}, fmt.Errorf("PEM block %q is not a private key: give a PKCS #8 EC P-256 or Ed25519 private key", block.Type)
	}
	if err != nil {
		return Key{}, errors.New("the private key cannot be parsed: give a PKCS #8 EC P-256 or Ed25519 private key")
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return Key{}, fmt.Errorf("the EC key is on %s: only P-256 (ES256) is supported", k.Curve.Params().Name)
		}
		return newKey(k, jwt.SigningMethodES256)
	case ed25519.PrivateKey:
		return newKey(k, jwt.SigningMethodEdDSA)
	}
	return Key{}, fmt.Errorf("a %T cannot sign: give an EC P-256 or Ed25519 private key", key)
}

func newKey(priv crypto.Signer, m jwt.SigningMethod) (Key, error) {
	der, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return Key{}, err
	}
	sum := sha256.Sum256(der)
	return Key{KID: base64.RawURLEncoding.EncodeToString(sum[:12]), Method: m, Priv: priv}, nil
}

// Generate returns a new Ed25519 private key in PKCS #8 PEM.
func Generate() (mcpauth.Secret, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return mcpauth.Secret{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return mcpauth.Secret{}, err
	}
	return mcpauth.NewSecret(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))), nil
}

// jwk is the public JWK of k.
func (k Key) jwk() map[string]string {
	m := map[string]string{"kid": k.KID, "use": "sig", "alg": k.Method.Alg()}
	switch pub := k.Priv.Public().(type) {
	case *ecdsa.PublicKey:
		ecdh, _ := pub.ECDH()
		raw := ecdh.Bytes() // 0x04 || X || Y
		m["kty"], m["crv"] = "EC", "P-256"
		m["x"] = base64.RawURLEncoding.EncodeToString(raw[1:33])
		m["y"] = base64.RawURLEncoding.EncodeToString(raw[33:])
	case ed25519.PublicKey:
		m["kty"], m["crv"] = "OKP", "Ed25519"
		m["x"] = base64.RawURLEncoding.EncodeToString(pub)
	}
	return m
}

// JWKS returns the JWK Set of keys.
func JWKS(keys []Key) []byte {
	set := struct {
		Keys []map[string]string `json:"keys"`
	}{}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.jwk())
	}
	b, _ := json.Marshal(set)
	return b
}

// Sign signs claims with k; the header carries its kid and typ.
func (k Key) Sign(claims jwt.MapClaims, typ string) (string, error) {
	t := jwt.NewWithClaims(k.Method, claims)
	t.Header["kid"] = k.KID
	t.Header["typ"] = typ
	return t.SignedString(k.Priv)
}

// AccessToken is what a JWT access token (RFC 9068) says.
type AccessToken struct {
	Issuer, Subject, Audience, ClientID string
	Scopes                              []string
	TTL                                 time.Duration
	// Extra claims, each set when not empty (tenant_id, and the proxy's gid and idp).
	Extra map[string]string
}

// SignAccessToken signs c as an RFC 9068 access token (typ at+jwt) issued at now, with
// a fresh random 128-bit jti.
func (k Key) SignAccessToken(c AccessToken, now time.Time) (string, error) {
	var id [16]byte
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails
	claims := jwt.MapClaims{
		"iss":       c.Issuer,
		"sub":       c.Subject,
		"aud":       c.Audience,
		"client_id": c.ClientID,
		"scope":     strings.Join(c.Scopes, " "),
		"iat":       now.Unix(),
		"exp":       now.Add(c.TTL).Unix(),
		"jti":       base64.RawURLEncoding.EncodeToString(id[:]),
	}
	for name, v := range c.Extra {
		if v != "" {
			claims[name] = v
		}
	}
	return k.Sign(claims, "at+jwt")
}
