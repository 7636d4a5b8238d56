// Package stacks builds the MCP servers the bench harness compares: the same server with
// one tool, echo, served at /mcp over Streamable HTTP in stateless mode, behind different
// authentication layers (none, a hand-written golang-jwt middleware, mcpauth's middleware
// with and without its verified-token cache, the mcpauth hub, and the official go-sdk
// with its RequireBearerToken middleware).
//
// Every stack of a process trusts the same RS256 key, held by an Issuer, and accepts
// tokens whose "iss" is IssuerURL, whose "aud" is the stack's resource URL and whose
// "scope" contains Scope.
package stacks

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mcpauth/mcpauth/mcpauthtest"
	"github.com/mcpauth/mcpauth/providers/bearer"
)

// IssuerURL is the "iss" of every token the harness mints and every stack accepts.
const IssuerURL = "http://bench.local"

// Scope is the scope the echo tool requires.
const Scope = "echo"

// Subject is the "sub" of the tokens the harness mints.
const Subject = "bench-user"

// Stack names, in the order the harness runs them.
const (
	Bare           = "bare"
	JWTHandwritten = "jwt-handwritten"
	MCPAuthCold    = "mcpauth-cold"
	MCPAuthCached  = "mcpauth-cached"
	Hub            = "hub"
	GoSDK          = "gosdk"
	// BareControl is Bare again, in a process of its own. Measured beside Bare it is an
	// A/A comparison: whatever ratio it shows is the harness's own error on this
	// machine, the margin any other stack's ratio must be read with.
	BareControl = "bare-control"
	// CacheFloor is the least a verified-token cache keyed by SHA-256 costs in front of
	// mcp-go: a floor to read MCPAuthCached and Hub against, not an auth layer to use.
	CacheFloor = "cache-floor"
)

// Names lists every stack, baseline first.
var Names = []string{Bare, JWTHandwritten, MCPAuthCold, MCPAuthCached, Hub, GoSDK, BareControl, CacheFloor}

// Authenticated reports whether the named stack checks tokens (every stack but Bare and
// BareControl).
func Authenticated(name string) bool { return name != Bare && name != BareControl }

// Issuer signs the tokens of the harness with one RSA key that every stack of the process
// trusts.
type Issuer struct {
	dev *mcpauthtest.DevIssuer
	pub *rsa.PublicKey
}

// NewIssuer returns an issuer named IssuerURL with a fresh RSA-2048 key.
func NewIssuer() (*Issuer, error) {
	dev, err := mcpauthtest.NewDevIssuer(IssuerURL)
	if err != nil {
		return nil, err
	}
	pub, ok := dev.PublicKey().(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("stacks: dev issuer key is %T, want *rsa.PublicKey", dev.PublicKey())
	}
	return &Issuer{dev: dev, pub: pub}, nil
}

// PublicKey returns the RSA public key every stack trusts.
func (i *Issuer) PublicKey() *rsa.PublicKey { return i.pub }

// Sign signs arbitrary claims with the trusted key (RS256).
func (i *Issuer) Sign(c *bearer.Claims) (string, error) { return i.dev.Sign(c) }

// Claims returns the claims of a valid token for resource: issuer IssuerURL, subject
// Subject, audience resource, scope Scope, expiring in ttl.
func Claims(resource string, ttl time.Duration) *bearer.Claims {
	return bearer.NewClaims(Subject).WithIssuer(IssuerURL).WithAudience(resource).AddScopes(Scope).ExpiresIn(ttl)
}

// Tokens are the tokens a stack prints, one per class. Every one carries a valid signature
// by the trusted key; only Valid is accepted.
type Tokens struct {
	// Valid is accepted for one hour.
	Valid string `json:"valid"`
	// Expired expired one hour ago.
	Expired string `json:"expired"`
	// WrongAudience was minted for another resource.
	WrongAudience string `json:"wrong_audience"`
	// InsufficientScope carries scope "other" instead of "echo" (403 on tools/call echo).
	InsufficientScope string `json:"insufficient_scope"`
}

// Mint returns a fresh token of every class for resource.
func (i *Issuer) Mint(resource string) (Tokens, error) {
	var t Tokens
	var errs []error
	sign := func(c *bearer.Claims) string {
		s, err := i.Sign(c)
		errs = append(errs, err)
		return s
	}
	now := time.Now()
	t.Valid = sign(Claims(resource, time.Hour))
	t.Expired = sign(Claims(resource, time.Hour).IssuedAt(now.Add(-2 * time.Hour)))
	t.WrongAudience = sign(Claims(resource+"-other", time.Hour))
	t.InsufficientScope = sign(bearer.NewClaims(Subject).WithIssuer(IssuerURL).WithAudience(resource).AddScopes("other").ExpiresIn(time.Hour))
	return t, errors.Join(errs...)
}

// Stack is one running stack: an HTTP server on a loopback listener.
type Stack struct {
	// Name is the stack's name (one of Names).
	Name string
	// Addr is the bound host:port.
	Addr string
	// URL is the MCP endpoint, also the resource URL tokens must be minted for.
	URL string
	// Tokens are ready tokens for URL.
	Tokens Tokens
	// Issuer signs tokens the stack trusts.
	Issuer *Issuer

	srv     *http.Server
	done    chan error
	closers []func()
}

// Start listens on addr (for example "127.0.0.1:0"), builds the named stack for the bound
// address and serves it in the background until Close. iss may be nil; a fresh Issuer is
// made then.
func Start(name, addr string, iss *Issuer) (*Stack, error) {
	if !slices.Contains(Names, name) {
		return nil, fmt.Errorf("stacks: unknown stack %q (want one of %s)", name, strings.Join(Names, ", "))
	}
	if iss == nil {
		var err error
		if iss, err = NewIssuer(); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Stack{Name: name, Addr: ln.Addr().String(), Issuer: iss, done: make(chan error, 1)}
	s.URL = "http://" + s.Addr + "/mcp"
	h, err := s.build()
	if err == nil {
		s.Tokens, err = iss.Mint(s.URL)
	}
	if err != nil {
		ln.Close()
		s.runClosers()
		return nil, fmt.Errorf("stacks: building %s: %w", name, err)
	}
	s.srv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

func (s *Stack) build() (http.Handler, error) {
	switch s.Name {
	case Bare, BareControl:
		return s.bare(), nil
	case JWTHandwritten:
		return s.handwritten(), nil
	case CacheFloor:
		return s.cacheFloor(), nil
	case MCPAuthCold:
		return s.mcpauth(false)
	case MCPAuthCached:
		return s.mcpauth(true)
	case Hub:
		return s.hub()
	case GoSDK:
		return s.gosdk(), nil
	}
	return nil, fmt.Errorf("unknown stack %q", s.Name)
}

// Handler returns the stack's HTTP handler, for driving it in process without the
// network (the in-process benchmarks).
func (s *Stack) Handler() http.Handler { return s.srv.Handler }

// Close stops the server, waiting up to five seconds for requests in flight.
func (s *Stack) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; err == nil && !errors.Is(serr, http.ErrServerClosed) {
		err = serr
	}
	s.runClosers()
	return err
}

func (s *Stack) runClosers() {
	for _, c := range s.closers {
		c()
	}
	s.closers = nil
}

// mux serves h at /mcp only, like every stack, so the comparison routes the same way.
func mux(h http.Handler) http.Handler {
	m := http.NewServeMux()
	m.Handle("/mcp", h)
	return m
}
