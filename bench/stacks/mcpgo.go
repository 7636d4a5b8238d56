package stacks

import (
	"context"
	"crypto"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"unsafe"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/audit"
	"github.com/mcpauth/mcpauth/hub"
	"github.com/mcpauth/mcpauth/middleware"
	"github.com/mcpauth/mcpauth/providers/bearer"
	"github.com/mcpauth/mcpauth/scopes"
)

// echoServer is the mcp-go server of every mcp-go stack: one tool, echo, returning its
// "text" argument. annotate adds the scopes.Required("echo") annotation mcpauth reads.
func echoServer(annotate bool, opts ...server.ServerOption) *server.MCPServer {
	s := server.NewMCPServer("bench", "1.0.0", opts...)
	toolOpts := []mcp.ToolOption{
		mcp.WithDescription("Echoes its text argument."),
		mcp.WithString("text", mcp.Required()),
	}
	if annotate {
		toolOpts = append(toolOpts, scopes.Required(Scope))
	}
	s.AddTool(mcp.NewTool("echo", toolOpts...), func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText(req.GetString("text", "")), nil
	})
	return s
}

func statelessHTTP(s *server.MCPServer) http.Handler {
	return server.NewStreamableHTTPServer(s, server.WithStateLess(true))
}

// bare: mcp-go, no authentication. The baseline.
func (s *Stack) bare() http.Handler {
	return mux(statelessHTTP(echoServer(false)))
}

// handwritten: mcp-go behind the middleware a user writes with golang-jwt when no auth
// library is at hand.
func (s *Stack) handwritten() http.Handler {
	return mux(handwrittenJWT(s.Issuer.PublicKey(), s.URL, false)(statelessHTTP(echoServer(false))))
}

// cacheFloor: the hand-written middleware with a cache of verified tokens keyed by their
// SHA-256 (cacheSubjects). A hit costs the hash, one map lookup under a read lock and
// the subject put in the request context. Nothing else: no expiry check on a hit, no
// bound on the cache, no per-tool decision, no audit. It is the floor under any cached
// authentication that keeps no raw token.
func (s *Stack) cacheFloor() http.Handler {
	return mux(handwrittenJWT(s.Issuer.PublicKey(), s.URL, true)(statelessHTTP(echoServer(false))))
}

// mcpauth: mcp-go behind middleware.Bearer with a bearer verifier on the same key, and
// middleware.ServerOptions inside the server, which decides the per-tool scope check
// that the middleware renders. cached puts mcpauth.Cached in front.
func (s *Stack) mcpauth(cached bool) (http.Handler, error) {
	v, err := bearer.New(bearer.Config{
		Keys:       bearer.StaticKeys(s.Issuer.PublicKey()),
		Issuers:    []string{IssuerURL},
		Audience:   []string{s.URL},
		Algorithms: []string{"RS256"},
	})
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() { v.Close() })
	var verifier mcpauth.TokenVerifier = v
	if cached {
		verifier = mcpauth.Cached(v)
	}
	srv := echoServer(true, middleware.ServerOptions(middleware.ServerConfig{Audit: audit.Discard})...)
	mw, err := middleware.NewBearer(middleware.Config{
		Verifier:            verifier,
		ResourceMetadataURL: "http://" + s.Addr + "/.well-known/oauth-protected-resource/mcp",
		Audit:               audit.Discard,
	})
	if err != nil {
		return nil, err
	}
	return mux(mw(statelessHTTP(srv))), nil
}

// hub: the mcpauth hub with the echo service mounted at "" (so /mcp) and a verifier per
// service from bearer.NewFactory, cached by the hub.
func (s *Stack) hub() (http.Handler, error) {
	factory, err := bearer.NewFactory(bearer.Config{
		Keys:       bearer.StaticKeys(s.Issuer.PublicKey()),
		Issuers:    []string{IssuerURL},
		Algorithms: []string{"RS256"},
	})
	if err != nil {
		return nil, err
	}
	h, err := hub.New(hub.Config{
		BaseURL:              "http://" + s.Addr,
		VerifierFor:          factory,
		AuthorizationServers: []string{IssuerURL},
		Audit:                audit.Discard,
	})
	if err != nil {
		return nil, err
	}
	if err := h.Mount("", echoServer(true), hub.WithStreamableHTTPOptions(server.WithStateLess(true))); err != nil {
		return nil, err
	}
	if got := h.ResourceURL(""); got != s.URL {
		return nil, fmt.Errorf("hub resource URL is %q, want %q", got, s.URL)
	}
	return h, nil
}

type principalKey struct{}

// handwrittenJWT is what a user writes without mcpauth: take the Bearer header, parse the
// JWT with golang-jwt pinned to RS256 and one key, check iss, aud and exp, and require
// scope "echo" on every request. cached puts cacheSubjects in front of the parse.
func handwrittenJWT(key crypto.PublicKey, audience string, cached bool) func(http.Handler) http.Handler {
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithIssuer(IssuerURL),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
	)
	keyFunc := func(*jwt.Token) (any, error) { return key, nil }
	subject := func(raw string) (string, error) {
		claims, err := parseScoped(parser, keyFunc, raw)
		if err != nil {
			return "", err
		}
		sub, _ := claims.GetSubject()
		return sub, nil
	}
	if cached {
		subject = cacheSubjects(subject)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || raw == "" {
				w.Header().Set("WWW-Authenticate", `Bearer`)
				http.Error(w, "missing bearer token", http.StatusUnauthorized)
				return
			}
			sub, err := subject(raw)
			if err != nil {
				if errors.Is(err, errNoScope) {
					w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="echo"`)
					http.Error(w, "insufficient scope", http.StatusForbidden)
					return
				}
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
				http.Error(w, "invalid token", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, sub)))
		})
	}
}

// cacheSubjects remembers the subject of every token verify accepts, keyed by the
// token's SHA-256 (of its bytes in place, as mcpauth.Cached hashes them): the least a
// cache that keeps no raw token can do.
func cacheSubjects(verify func(raw string) (string, error)) func(raw string) (string, error) {
	var mu sync.RWMutex
	subjects := map[[sha256.Size]byte]string{}
	return func(raw string) (string, error) {
		k := sha256.Sum256(unsafe.Slice(unsafe.StringData(raw), len(raw)))
		mu.RLock()
		sub, hit := subjects[k]
		mu.RUnlock()
		if hit {
			return sub, nil
		}
		sub, err := verify(raw)
		if err != nil {
			return "", err
		}
		mu.Lock()
		subjects[k] = sub
		mu.Unlock()
		return sub, nil
	}
}

var errNoScope = errors.New("token lacks scope " + Scope)

// parseScoped verifies raw and checks its "scope" claim holds Scope. It is shared by the
// hand-written middleware and the go-sdk verifier.
func parseScoped(parser *jwt.Parser, keyFunc jwt.Keyfunc, raw string) (jwt.MapClaims, error) {
	claims := jwt.MapClaims{}
	if _, err := parser.ParseWithClaims(raw, claims, keyFunc); err != nil {
		return nil, err
	}
	scope, _ := claims["scope"].(string)
	for f := range strings.FieldsSeq(scope) {
		if f == Scope {
			return claims, nil
		}
	}
	return claims, errNoScope
}
