package oauthproxy

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
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

	"github.com/golang-jwt/jwt/v5"

	"github.com/mcpauth/mcpauth"
)

// signingKey is one key the proxy signs (or, once rotated out, only publishes) with.
type signingKey struct {
	kid    string
	method jwt.SigningMethod // ES256 or EdDSA
	priv   crypto.Signer
}

// parseSigningKey reads a PEM private key: PKCS #8 (EC P-256 or Ed25519) or SEC 1 ("EC
// PRIVATE KEY", P-256).
func parseSigningKey(s mcpauth.Secret) (signingKey, error) {
	block, _ := pem.Decode([]byte(s.Reveal()))
	if block == nil {
		return signingKey{}, errors.New("it is not PEM: give a PKCS #8 EC P-256 or Ed25519 private key (openssl genpkey -algorithm ed25519, or oauthproxy.GenerateSigningKey)")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return signingKey{}, fmt.Errorf("PEM block %q is not a private key: give a PKCS #8 EC P-256 or Ed25519 private key", block.Type)
	}
	if err != nil {
		return signingKey{}, errors.New("the private key cannot be parsed: give a PKCS #8 EC P-256 or Ed25519 private key")
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return signingKey{}, fmt.Errorf("the EC key is on %s: only P-256 (ES256) is supported", k.Curve.Params().Name)
		}
		return newSigningKey(k, jwt.SigningMethodES256)
	case ed25519.PrivateKey:
		return newSigningKey(k, jwt.SigningMethodEdDSA)
	}
	return signingKey{}, fmt.Errorf("a %T cannot sign: give an EC P-256 or Ed25519 private key", key)
}

func newSigningKey(priv crypto.Signer, m jwt.SigningMethod) (signingKey, error) {
	der, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return signingKey{}, err
	}
	sum := sha256.Sum256(der)
	return signingKey{kid: base64.RawURLEncoding.EncodeToString(sum[:12]), method: m, priv: priv}, nil
}

// GenerateSigningKey returns a new Ed25519 private key in PKCS #8 PEM, for
// Config.SigningKey.
func GenerateSigningKey() (mcpauth.Secret, error) {
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
func (k signingKey) jwk() map[string]string {
	m := map[string]string{"kid": k.kid, "use": "sig", "alg": k.method.Alg()}
	switch pub := k.priv.Public().(type) {
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

// jwksDocument returns the JWK Set of keys.
func jwksDocument(keys []signingKey) []byte {
	set := struct {
		Keys []map[string]string `json:"keys"`
	}{}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.jwk())
	}
	b, _ := json.Marshal(set)
	return b
}

// vault encrypts values at rest with AES-256-GCM. The first key encrypts; every key
// decrypts, so a key can be rotated in front of the old one and the old one removed once
// what it encrypted has expired.
type vault struct {
	ids   [][4]byte
	aeads []cipher.AEAD
}

// vaultVersion is the first byte of every sealed value.
const vaultVersion = 1

// newVault parses keys: each 32 random bytes in base64 (standard or URL alphabet, padded
// or not).
func newVault(keys []mcpauth.Secret) (*vault, error) {
	v := &vault{}
	for i, s := range keys {
		raw, err := decodeKey(s.Reveal())
		if err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("encryption key %d is not 32 bytes in base64: generate one with openssl rand -base64 32", i+1)
		}
		block, _ := aes.NewCipher(raw)
		aead, _ := cipher.NewGCM(block)
		sum := sha256.Sum256(raw)
		v.ids = append(v.ids, [4]byte(sum[:4]))
		v.aeads = append(v.aeads, aead)
	}
	return v, nil
}

func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// seal encrypts plaintext bound to aad (the key it is stored under).
func (v *vault) seal(plaintext, aad []byte) []byte {
	aead := v.aeads[0]
	out := make([]byte, 5, 5+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out[0] = vaultVersion
	copy(out[1:5], v.ids[0][:])
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plaintext, aad)
}

// errSealed is returned for a value no configured key opens.
var errSealed = errors.New("oauthproxy: the stored value cannot be decrypted with any configured encryption key")

// open decrypts a value sealed with any configured key and the same aad.
func (v *vault) open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 5 || sealed[0] != vaultVersion {
		return nil, errSealed
	}
	for i, id := range v.ids {
		if [4]byte(sealed[1:5]) != id {
			continue
		}
		aead := v.aeads[i]
		rest := sealed[5:]
		if len(rest) < aead.NonceSize() {
			return nil, errSealed
		}
		pt, err := aead.Open(nil, rest[:aead.NonceSize()], rest[aead.NonceSize():], aad)
		if err != nil {
			return nil, errSealed
		}
		return pt, nil
	}
	return nil, errSealed
}

// GenerateEncryptionKey returns 32 random bytes in base64, for Config.EncryptionKeys.
func GenerateEncryptionKey() mcpauth.Secret {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return mcpauth.NewSecret(base64.StdEncoding.EncodeToString(b[:]))
}
