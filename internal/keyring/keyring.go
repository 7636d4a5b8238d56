// Package keyring is the signing core the test issuers share: an RSA-2048 key with a
// random key ID, rotation that keeps previous keys published, RS256 signing, and the
// JWKS of the published keys. mcpauthtest.DevIssuer builds on it, and so does
// providers/bearer's own test issuer (its internal tests cannot import mcpauthtest,
// which imports providers/bearer).
package keyring

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"sync"

	"github.com/golang-jwt/jwt/v5"
)

// Key is one signing key.
type Key struct {
	KID     string
	Private *rsa.PrivateKey
}

// Keyring holds the current key and the previous ones still published. It is safe for
// concurrent use.
type Keyring struct {
	mu       sync.RWMutex
	current  Key
	previous []Key
	jwks     []byte
}

// New returns a keyring with a fresh key.
func New() (*Keyring, error) {
	k, err := newKey()
	if err != nil {
		return nil, err
	}
	r := &Keyring{current: k}
	r.publishLocked()
	return r, nil
}

func newKey() (Key, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return Key{}, fmt.Errorf("generating an RSA key: %w", err)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	return Key{KID: hex.EncodeToString(id[:]), Private: priv}, nil
}

// Current returns the signing key.
func (r *Keyring) Current() Key {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.current
}

// Sign signs claims with RS256 and the current key; the header carries its kid and typ
// "at+jwt".
func (r *Keyring) Sign(claims map[string]any) (string, error) {
	k := r.Current()
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims(claims))
	t.Header["kid"] = k.KID
	t.Header["typ"] = "at+jwt"
	return t.SignedString(k.Private)
}

// Rotate replaces the signing key with a new one; the previous keys stay published
// until RetirePrevious.
func (r *Keyring) Rotate() error {
	k, err := newKey()
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.previous = append(r.previous, r.current)
	r.current = k
	r.publishLocked()
	return nil
}

// RetirePrevious stops publishing every key but the current one.
func (r *Keyring) RetirePrevious() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.previous = nil
	r.publishLocked()
}

// JWKS returns the JSON Web Key Set of the published keys (shared: do not modify).
func (r *Keyring) JWKS() []byte {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.jwks
}

func (r *Keyring) publishLocked() {
	type jwk struct {
		Kty string `json:"kty"`
		Use string `json:"use"`
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		N   string `json:"n"`
		E   string `json:"e"`
	}
	keys := make([]jwk, 0, 1+len(r.previous))
	for _, k := range append([]Key{r.current}, r.previous...) {
		pub := k.Private.PublicKey
		keys = append(keys, jwk{
			Kty: "RSA", Use: "sig", Alg: "RS256", Kid: k.KID,
			N: base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
			E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		})
	}
	r.jwks, _ = json.Marshal(struct {
		Keys []jwk `json:"keys"`
	}{keys})
}
