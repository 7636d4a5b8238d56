package oauthproxy

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/config"
	"github.com/mcpauth/mcpauth/internal/signing"
	"github.com/mcpauth/mcpauth/providers/bearer"
)

// Server is the authorization server. It is an http.Handler for the paths of Paths; a
// hub mounts it with hub.Hub.UseAuthorizationServer. It is safe for concurrent use.
type Server struct {
	cfg      Config
	issuer   *url.URL
	prefix   string // the issuer URL's path + "/oauth"
	mux      *http.ServeMux
	signer   signing.Key
	keys     []signing.Key // signer first, then the previous keys
	jwks     []byte
	vault    *vault
	cimd     *cimdFetcher
	loopback bool // the issuer is on a loopback host: cookies without Secure

	regMu    sync.Mutex
	regLimit map[string]*rate.Limiter
}

// New validates cfg, reads the keys and returns the Server.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.defaults()
	iss, _ := url.Parse(cfg.Issuer)
	s := &Server{cfg: cfg, issuer: iss, prefix: strings.TrimSuffix(iss.EscapedPath(), "/") + "/oauth", loopback: config.IsLoopbackHost(iss.Hostname()), regLimit: map[string]*rate.Limiter{}}

	if cfg.SigningKey.IsZero() {
		k, err := GenerateSigningKey()
		if err != nil {
			return nil, err
		}
		cfg.SigningKey = k
		cfg.Logger.Warn("oauthproxy: DevMode: generated a throwaway signing key; tokens will not survive a restart (set Config.SigningKey for anything but development)")
	}
	k, err := signing.Parse(cfg.SigningKey)
	if err != nil {
		return nil, fmt.Errorf("oauthproxy: Config.SigningKey: %w", err)
	}
	s.signer = k
	s.keys = []signing.Key{k}
	for i, p := range cfg.PreviousSigningKeys {
		pk, err := signing.Parse(p)
		if err != nil {
			return nil, fmt.Errorf("oauthproxy: Config.PreviousSigningKeys[%d]: %w", i, err)
		}
		s.keys = append(s.keys, pk)
	}
	s.jwks = signing.JWKS(s.keys)

	if len(cfg.EncryptionKeys) == 0 {
		cfg.EncryptionKeys = []mcpauth.Secret{GenerateEncryptionKey()}
		cfg.Logger.Warn("oauthproxy: DevMode: generated a throwaway encryption key; stored upstream tokens will not survive a restart (set Config.EncryptionKeys for anything but development)")
	}
	if s.vault, err = newVault(cfg.EncryptionKeys); err != nil {
		return nil, fmt.Errorf("oauthproxy: Config.EncryptionKeys: %w", err)
	}
	s.cfg = cfg
	s.cimd = newCIMDFetcher(cimdConfig{AllowedHosts: cfg.MetadataDocumentHosts, RootCAs: cfg.MetadataDocumentRoots, Now: cfg.Now})

	s.mux = http.NewServeMux()
	for _, p := range s.metadataPaths() {
		s.mux.HandleFunc("GET "+p, s.serveMetadata)
	}
	s.mux.HandleFunc("GET "+s.prefix+"/jwks.json", s.serveJWKS)
	s.mux.HandleFunc(s.prefix+"/authorize", s.authorize)
	s.mux.HandleFunc("POST "+s.prefix+"/consent", s.consent)
	s.mux.HandleFunc("GET "+s.prefix+"/callback", s.callback)
	// Browser-based clients (MCP Inspector) call these with fetch: they answer any
	// origin, which is safe since they read no cookie (credentials are in the request).
	api := map[string]http.HandlerFunc{"/token": s.token, "/revoke": s.revoke}
	if cfg.RegistrationRate > 0 {
		api["/register"] = s.register
	}
	for p, h := range api {
		s.mux.Handle("POST "+s.prefix+p, anyOrigin(h))
		s.mux.Handle("OPTIONS "+s.prefix+p, anyOrigin(nil))
	}
	if d, ok := cfg.Upstream.(*DevUpstream); ok {
		d.useStore(cfg.Store) // a sign-in may end on another replica
	}
	if rp, ok := cfg.Upstream.(RouteProvider); ok {
		for p, h := range rp.Routes() {
			s.mux.Handle(p, h)
		}
	}
	s.mux.HandleFunc(s.prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		(&oauthError{Code: "invalid_request", Description: "no such endpoint or method", Status: http.StatusNotFound}).write(w)
	})
	return s, nil
}

// Issuer returns the issuer URL.
func (s *Server) Issuer() string { return s.cfg.Issuer }

// endpoint returns the absolute URL of an endpoint under Issuer + "/oauth".
func (s *Server) endpoint(name string) string { return s.cfg.Issuer + "/oauth/" + name }

// CallbackURL is the redirect URI to register with the upstream identity provider.
func (s *Server) CallbackURL() string { return s.endpoint("callback") }

// metadataPaths are where the RFC 8414 document is served: the RFC 8414 path, and the two
// OpenID Connect discovery paths MCP clients also try.
func (s *Server) metadataPaths() []string {
	p := strings.TrimSuffix(s.issuer.EscapedPath(), "/")
	out := []string{"/.well-known/oauth-authorization-server" + p, "/.well-known/openid-configuration" + p}
	if alt := p + "/.well-known/openid-configuration"; !slices.Contains(out, alt) {
		out = append(out, alt)
	}
	return out
}

// Paths returns the URL path patterns the Server answers, for a mux in front of it.
func (s *Server) Paths() []string { return append(s.metadataPaths(), s.prefix+"/") }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Metadata is the RFC 8414 authorization server metadata document.
type Metadata struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	RegistrationEndpoint              string   `json:"registration_endpoint,omitempty"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethods     []string `json:"revocation_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	ClientIDMetadataDocumentSupported bool     `json:"client_id_metadata_document_supported"`
	IssParameterSupported             bool     `json:"authorization_response_iss_parameter_supported"`
	ResourceIndicatorsSupported       bool     `json:"resource_indicators_supported"`
}

// Metadata returns the server's RFC 8414 metadata.
func (s *Server) Metadata() Metadata {
	authMethods := []string{"none", "client_secret_basic", "client_secret_post"}
	scopes := slices.DeleteFunc(slices.Clone(s.cfg.Resources.ScopesSupported()), func(sc string) bool { return sc == "offline_access" })
	sort.Strings(scopes)
	if scopes == nil {
		scopes = []string{}
	}
	m := Metadata{
		Issuer:                            s.cfg.Issuer,
		AuthorizationEndpoint:             s.endpoint("authorize"),
		TokenEndpoint:                     s.endpoint("token"),
		RevocationEndpoint:                s.endpoint("revoke"),
		JWKSURI:                           s.endpoint("jwks.json"),
		ScopesSupported:                   scopes,
		ResponseTypesSupported:            []string{"code"},
		ResponseModesSupported:            []string{"query"},
		GrantTypesSupported:               []string{"authorization_code", "refresh_token"},
		TokenEndpointAuthMethodsSupported: authMethods,
		RevocationEndpointAuthMethods:     authMethods,
		CodeChallengeMethodsSupported:     []string{"S256"},
		ClientIDMetadataDocumentSupported: true,
		IssParameterSupported:             true,
		ResourceIndicatorsSupported:       true,
	}
	if s.cfg.RegistrationRate > 0 {
		m.RegistrationEndpoint = s.endpoint("register")
	}
	return m
}

func (s *Server) serveMetadata(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=300")
	_ = json.NewEncoder(w).Encode(s.Metadata())
}

func (s *Server) serveJWKS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(s.jwks)
}

// anyOrigin lets scripts of any origin call h (CORS without credentials); with h nil it
// answers the preflight only.
func anyOrigin(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		if h == nil {
			w.Header().Set("Access-Control-Allow-Methods", "POST")
			w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			w.Header().Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h(w, r)
	})
}

// VerifierFor returns a verifier of the access tokens this server issues for resource:
// signature by one of its keys (no network call), issuer, audience = resource, expiry.
// It is an mcpauth.VerifierFactory.
func (s *Server) VerifierFor(resource string) (mcpauth.TokenVerifier, error) {
	pubs := make([]crypto.PublicKey, len(s.keys))
	algs := []string{}
	for i, k := range s.keys {
		pubs[i] = k.Priv.Public()
		if !slices.Contains(algs, k.Method.Alg()) {
			algs = append(algs, k.Method.Alg())
		}
	}
	return bearer.New(bearer.Config{
		Keys:         bearer.StaticKeys(pubs...),
		Issuers:      []string{s.cfg.Issuer},
		Audience:     []string{resource},
		Algorithms:   algs,
		TenantClaim:  "tenant_id",
		Now:          s.cfg.Now,
		ProviderName: "oauthproxy:" + s.cfg.Upstream.Name(),
	})
}

// randomToken returns n random bytes in base64url.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashKey is base64url(SHA-256(v)): the store key part for a secret value, and the
// PKCE S256 challenge of a verifier (RFC 7636 §4.2).
func hashKey(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Every value reaches the store as JSON sealed by the vault for its key (AES-GCM with the
// key as associated data): a shared store holds no token, code, verifier or upstream
// credential in clear, and a value cannot be moved to another key.

// seal encodes v for key.
func (s *Server) seal(key string, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("oauthproxy: a stored record does not encode: " + err.Error()) // only our own types are stored
	}
	return s.vault.seal(b, []byte(key))
}

// open decodes the stored value b of key into v.
func (s *Server) open(key string, b []byte, v any) error {
	pt, err := s.vault.open(b, []byte(key))
	if err != nil {
		return err
	}
	return json.Unmarshal(pt, v)
}

// getJSON reads key into v and returns the stored value (for a compare-and-swap);
// ErrNotFound when absent.
func (s *Server) getJSON(ctx context.Context, key string, v any) ([]byte, error) {
	b, err := s.cfg.Store.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	return b, s.open(key, b, v)
}

func (s *Server) putJSON(ctx context.Context, key string, v any, ttl time.Duration) error {
	return s.cfg.Store.Put(ctx, key, s.seal(key, v), ttl)
}

// takeJSON takes key, once, into v.
func (s *Server) takeJSON(ctx context.Context, key string, v any) error {
	b, err := s.cfg.Store.Take(ctx, key)
	if err != nil {
		return err
	}
	return s.open(key, b, v)
}

// swapJSON sets key to v if it still holds old (nil: if absent).
func (s *Server) swapJSON(ctx context.Context, key string, old []byte, v any, ttl time.Duration) (bool, error) {
	return s.cfg.Store.CompareAndSwap(ctx, key, old, s.seal(key, v), ttl)
}

// storeError is the answer when the store cannot answer: fail closed.
func (s *Server) storeError(err error) *oauthError {
	s.cfg.Logger.Error("oauthproxy: the store failed", "error", err)
	return &oauthError{Code: "temporarily_unavailable", Description: "the authorization server's storage is unavailable; try again shortly", Status: http.StatusServiceUnavailable, RetryAfter: 5 * time.Second}
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
