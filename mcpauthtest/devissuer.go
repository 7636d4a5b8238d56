package mcpauthtest

import (
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/mcpauth/mcpauth/internal/keyring"
	"github.com/mcpauth/mcpauth/providers/bearer"
)

// DevIssuer is a development token issuer for tests and demos: it signs RS256 access
// tokens and serves its JWKS and authorization server metadata, so that a verifier can
// trust it exactly as it would trust a real identity provider. It is not an interactive
// sign-in server: it has no login, consent, authorization or token endpoint, and anyone
// holding it can mint any token, so never trust it in production.
//
// A DevIssuer is safe for concurrent use.
type DevIssuer struct {
	issuer string // as given
	base   string // issuer without a trailing slash
	path   string // the issuer URL's path, without a trailing slash

	keys *keyring.Keyring

	mu     sync.RWMutex
	scopes []string
}

// NewDevIssuer returns an issuer named issuerURL (an absolute http or https URL, the
// "iss" of its tokens) with a fresh RSA-2048 key and a random key ID.
func NewDevIssuer(issuerURL string) (*DevIssuer, error) {
	u, err := url.Parse(issuerURL)
	if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("mcpauthtest: NewDevIssuer: %q is not an absolute http(s) URL: pass the issuer's base URL, for example http://127.0.0.1:8080/dev", issuerURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("mcpauthtest: NewDevIssuer: %q has a query or fragment: an issuer URL has neither", issuerURL)
	}
	d := &DevIssuer{
		issuer: issuerURL,
		base:   strings.TrimSuffix(issuerURL, "/"),
		path:   strings.TrimSuffix(u.EscapedPath(), "/"),
	}
	if d.keys, err = keyring.New(); err != nil {
		return nil, fmt.Errorf("mcpauthtest: NewDevIssuer: %w", err)
	}
	return d, nil
}

// Issuer returns the issuer URL, the "iss" of the tokens it signs.
func (d *DevIssuer) Issuer() string { return d.issuer }

// JWKSURI returns the URL of the issuer's JWKS: the issuer URL + "/jwks.json".
func (d *DevIssuer) JWKSURI() string { return d.base + "/jwks.json" }

// SetScopesSupported sets the scopes_supported of the issuer's metadata (absent by
// default).
func (d *DevIssuer) SetScopesSupported(scopes ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.scopes = slices.Clone(scopes)
}

// Sign signs c (built with bearer.NewClaims) with RS256 and the current key; the header
// carries the key's kid and typ "at+jwt". When c has no issuer, "iss" is set to Issuer().
// Claims without a subject (bearer.NewClaims("") with no "sub" set by AddClaim) are
// refused: a bearer.Verifier refuses tokens without "sub" unless
// bearer.Config.AllowMissingSubject is set. A test that needs such a token on purpose sets
// the claim explicitly, for example AddClaim("sub", "").
func (d *DevIssuer) Sign(c *bearer.Claims) (string, error) {
	if c == nil {
		return "", errors.New("mcpauthtest: DevIssuer.Sign: claims are nil")
	}
	m := c.Map()
	if _, ok := m["sub"]; !ok {
		return "", errors.New(`mcpauthtest: DevIssuer.Sign: the claims have no subject: pass the user or client the token is for to bearer.NewClaims (tokens without "sub" are refused by default)`)
	}
	if _, ok := m["iss"]; !ok {
		m["iss"] = d.issuer
	}
	s, err := d.keys.Sign(m)
	if err != nil {
		return "", fmt.Errorf("mcpauthtest: DevIssuer.Sign: %w", err)
	}
	return s, nil
}

// Mint signs a token for subject with the given audience (none when empty) and scopes,
// expiring in one hour. The subject must not be empty.
func (d *DevIssuer) Mint(subject string, audience string, scopes ...string) (string, error) {
	if subject == "" {
		return "", errors.New(`mcpauthtest: DevIssuer.Mint: the subject is empty: pass the user or client the token is for (tokens without "sub" are refused by default)`)
	}
	c := bearer.NewClaims(subject).AddScopes(scopes...)
	if audience != "" {
		c.WithAudience(audience)
	}
	return d.Sign(c)
}

// Rotate replaces the signing key with a new one (and a new kid). The previous keys stay
// published in the JWKS, so tokens they signed keep verifying, until RetirePrevious.
func (d *DevIssuer) Rotate() error { return d.keys.Rotate() }

// RetirePrevious stops publishing every key but the current one.
func (d *DevIssuer) RetirePrevious() { d.keys.RetirePrevious() }

// PublicKey returns the current signing key's public key (an *rsa.PublicKey).
func (d *DevIssuer) PublicKey() crypto.PublicKey { return &d.keys.Current().Private.PublicKey }

// Paths returns the absolute URL paths Handler answers, where P is the issuer URL's
// path (possibly empty): P+"/jwks.json", "/.well-known/oauth-authorization-server"+P,
// "/.well-known/openid-configuration"+P and P+"/.well-known/openid-configuration"
// (without duplicates).
func (d *DevIssuer) Paths() []string {
	p := d.path
	out := []string{p + "/jwks.json", "/.well-known/oauth-authorization-server" + p, "/.well-known/openid-configuration" + p}
	if alt := p + "/.well-known/openid-configuration"; !slices.Contains(out, alt) {
		out = append(out, alt)
	}
	return out
}

// Handler serves the JWKS (application/json, Cache-Control max-age=300) and the RFC 8414
// metadata at the paths of Paths, 404 elsewhere. Only GET and HEAD are allowed.
func (d *DevIssuer) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.EscapedPath()
		var body []byte
		switch {
		case path == d.path+"/jwks.json":
			body = d.keys.JWKS()
			w.Header().Set("Cache-Control", "public, max-age=300")
		case slices.Contains(d.Paths()[1:], path):
			body = d.metadata()
		default:
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(body)
	})
}

func (d *DevIssuer) metadata() []byte {
	d.mu.RLock()
	scopes := d.scopes
	d.mu.RUnlock()
	m := struct {
		Issuer            string   `json:"issuer"`
		JWKSURI           string   `json:"jwks_uri"`
		ResponseTypes     []string `json:"response_types_supported"`
		SubjectTypes      []string `json:"subject_types_supported"`
		IDTokenSigningAlg []string `json:"id_token_signing_alg_values_supported"`
		ScopesSupported   []string `json:"scopes_supported,omitempty"`
	}{d.issuer, d.JWKSURI(), []string{"code"}, []string{"public"}, []string{"RS256"}, scopes}
	b, _ := json.Marshal(m)
	return b
}

// VerifierConfig returns a bearer.Config that trusts this issuer through its JWKS URI, for
// RS256 tokens with the given audience (leave it empty with bearer.NewFactory).
func (d *DevIssuer) VerifierConfig(audience ...string) bearer.Config {
	return bearer.Config{
		Keys:       bearer.JWKS{URI: d.JWKSURI()},
		Issuers:    []string{d.issuer},
		Audience:   slices.Clone(audience),
		Algorithms: []string{"RS256"},
	}
}
