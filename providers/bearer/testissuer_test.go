package bearer

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/golang-jwt/jwt/v5"
)

// testIssuer is this package's own small token issuer for its internal tests: an RSA key
// (rotatable), the JWKS at issuer+"/jwks.json" and RS256 signing, as
// mcpauthtest.DevIssuer does. Internal tests cannot use mcpauthtest itself, which imports
// this package.
type testIssuer struct {
	issuer string

	mu       sync.RWMutex
	current  testKey
	previous []testKey
	jwks     []byte
}

type testKey struct {
	kid  string
	priv *rsa.PrivateKey
}

func newTestIssuer(issuerURL string) (*testIssuer, error) {
	k, err := newTestKey()
	if err != nil {
		return nil, err
	}
	ti := &testIssuer{issuer: issuerURL, current: k}
	ti.publishLocked()
	return ti, nil
}

func newTestKey() (testKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return testKey{}, err
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	return testKey{kid: hex.EncodeToString(id[:]), priv: priv}, nil
}

func (ti *testIssuer) Issuer() string  { return ti.issuer }
func (ti *testIssuer) JWKSURI() string { return strings.TrimSuffix(ti.issuer, "/") + "/jwks.json" }

func (ti *testIssuer) PublicKey() crypto.PublicKey {
	ti.mu.RLock()
	defer ti.mu.RUnlock()
	return &ti.current.priv.PublicKey
}

// Sign signs c with RS256 and the current key (kid, typ at+jwt); "iss" defaults to the
// issuer.
func (ti *testIssuer) Sign(c *Claims) (string, error) {
	if c == nil {
		return "", errors.New("claims are nil")
	}
	m := c.Map()
	if _, ok := m["iss"]; !ok {
		m["iss"] = ti.issuer
	}
	ti.mu.RLock()
	k := ti.current
	ti.mu.RUnlock()
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims(m))
	t.Header["kid"] = k.kid
	t.Header["typ"] = "at+jwt"
	return t.SignedString(k.priv)
}

// Rotate replaces the signing key; previous keys stay published until RetirePrevious.
func (ti *testIssuer) Rotate() error {
	k, err := newTestKey()
	if err != nil {
		return err
	}
	ti.mu.Lock()
	defer ti.mu.Unlock()
	ti.previous = append(ti.previous, ti.current)
	ti.current = k
	ti.publishLocked()
	return nil
}

func (ti *testIssuer) RetirePrevious() {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	ti.previous = nil
	ti.publishLocked()
}

// Handler serves the JWKS at the JWKS URI's path, 404 elsewhere.
func (ti *testIssuer) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := url.Parse(ti.JWKSURI())
		if err != nil || r.URL.Path != u.Path {
			http.NotFound(w, r)
			return
		}
		ti.mu.RLock()
		body := ti.jwks
		ti.mu.RUnlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(body)
	})
}

// VerifierConfig trusts the issuer through its JWKS URI, RS256 only.
func (ti *testIssuer) VerifierConfig(audience ...string) Config {
	return Config{
		Keys:       JWKS{URI: ti.JWKSURI()},
		Issuers:    []string{ti.issuer},
		Audience:   slices.Clone(audience),
		Algorithms: []string{"RS256"},
	}
}

func (ti *testIssuer) publishLocked() {
	keys := make([]map[string]string, 0, 1+len(ti.previous))
	for _, k := range append([]testKey{ti.current}, ti.previous...) {
		keys = append(keys, map[string]string{
			"kty": "RSA", "use": "sig", "alg": "RS256", "kid": k.kid,
			"n": base64.RawURLEncoding.EncodeToString(k.priv.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.priv.E)).Bytes()),
		})
	}
	ti.jwks, _ = json.Marshal(map[string]any{"keys": keys})
}
