package bearer

import (
	"crypto"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/mcpauth/mcpauth/internal/keyring"
)

// testIssuer is this package's token issuer for its internal tests: the shared signing
// core (internal/keyring, as mcpauthtest.DevIssuer uses) with its JWKS at
// issuer+"/jwks.json". Internal tests cannot use mcpauthtest itself, which imports this
// package.
type testIssuer struct {
	issuer string
	*keyring.Keyring
}

func newTestIssuer(issuerURL string) (*testIssuer, error) {
	r, err := keyring.New()
	if err != nil {
		return nil, err
	}
	return &testIssuer{issuer: issuerURL, Keyring: r}, nil
}

func (ti *testIssuer) Issuer() string  { return ti.issuer }
func (ti *testIssuer) JWKSURI() string { return strings.TrimSuffix(ti.issuer, "/") + "/jwks.json" }

func (ti *testIssuer) PublicKey() crypto.PublicKey { return &ti.Current().Private.PublicKey }

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
	return ti.Keyring.Sign(m)
}

// Handler serves the JWKS at the JWKS URI's path, 404 elsewhere.
func (ti *testIssuer) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := url.Parse(ti.JWKSURI())
		if err != nil || r.URL.Path != u.Path {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(ti.JWKS())
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
