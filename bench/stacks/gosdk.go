package stacks

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/golang-jwt/jwt/v5"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type echoArgs struct {
	Text string `json:"text" jsonschema:"the text to echo"`
}

// gosdk: the official go-sdk server with the same echo tool, its Streamable HTTP handler in
// stateless mode (default SSE framing), behind auth.RequireBearerToken with a verifier
// that checks the same RS256 token with golang-jwt; the scope is required through
// RequireBearerTokenOptions.Scopes.
func (s *Stack) gosdk() http.Handler {
	srv := mcp.NewServer(&mcp.Implementation{Name: "bench", Version: "1.0.0"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "echo", Description: "Echoes its text argument."},
		func(_ context.Context, _ *mcp.CallToolRequest, in echoArgs) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: in.Text}}}, nil, nil
		})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{Stateless: true})
	mw := auth.RequireBearerToken(gosdkVerifier(s.Issuer.PublicKey(), s.URL), &auth.RequireBearerTokenOptions{
		ResourceMetadataURL: "http://" + s.Addr + "/.well-known/oauth-protected-resource/mcp",
		Scopes:              []string{Scope},
	})
	return mux(mw(h))
}

func gosdkVerifier(key any, audience string) auth.TokenVerifier {
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithIssuer(IssuerURL),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
	)
	keyFunc := func(*jwt.Token) (any, error) { return key, nil }
	return func(_ context.Context, raw string, _ *http.Request) (*auth.TokenInfo, error) {
		claims := jwt.MapClaims{}
		if _, err := parser.ParseWithClaims(raw, claims, keyFunc); err != nil {
			return nil, fmt.Errorf("%w: %v", auth.ErrInvalidToken, err)
		}
		exp, err := claims.GetExpirationTime()
		if err != nil || exp == nil {
			return nil, fmt.Errorf("%w: no expiry", auth.ErrInvalidToken)
		}
		sub, _ := claims.GetSubject()
		scope, _ := claims["scope"].(string)
		return &auth.TokenInfo{Scopes: strings.Fields(scope), Expiration: exp.Time, UserID: sub}, nil
	}
}
