package hub_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/audit"
	"github.com/mcpauth/mcpauth/hub"
	"github.com/mcpauth/mcpauth/middleware"
	"github.com/mcpauth/mcpauth/providers/bearer"
	"github.com/mcpauth/mcpauth/scopes"
)

const benchCall = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}`

func echoServer() *server.MCPServer {
	s := server.NewMCPServer("bench", "1.0.0")
	s.AddTool(mcp.NewTool("echo", mcp.WithString("text"), scopes.Required("echo")),
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText(req.GetString("text", "")), nil
		})
	return s
}

func benchServe(b *testing.B, h http.Handler, url, token string) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, url, strings.NewReader(benchCall))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Accept", "application/json, text/event-stream")
		r.Header.Set("Mcp-Protocol-Version", mcp.LATEST_LEGACY_PROTOCOL_VERSION)
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body.String())
		}
	}
}

// BenchmarkToolCallBare is the baseline: mcp-go's Streamable HTTP server, no auth.
func BenchmarkToolCallBare(b *testing.B) {
	h := server.NewStreamableHTTPServer(echoServer(), server.WithStateLess(true))
	benchServe(b, h, "http://127.0.0.1/mcp", "")
}

func benchHub(b *testing.B, disableCache bool) {
	dev, err := bearer.NewDevIssuer("http://127.0.0.1/dev")
	if err != nil {
		b.Fatal(err)
	}
	cfg := dev.VerifierConfig()
	cfg.JWKSURI = ""
	cfg.PublicKeys = append(cfg.PublicKeys, dev.PublicKey())
	factory, err := bearer.NewFactory(cfg)
	if err != nil {
		b.Fatal(err)
	}
	h, err := hub.New(hub.Config{BaseURL: "http://127.0.0.1", VerifierFor: factory, Audit: audit.Discard, DisableCache: disableCache})
	if err != nil {
		b.Fatal(err)
	}
	if err := h.Mount("", echoServer(), hub.WithStreamableHTTPOptions(server.WithStateLess(true))); err != nil {
		b.Fatal(err)
	}
	tok, err := dev.Mint("bench-user", h.ResourceURL(""), "echo")
	if err != nil {
		b.Fatal(err)
	}
	benchServe(b, h, "http://127.0.0.1/mcp", tok)
}

// BenchmarkToolCallHubCached: the hub with bearer JWT verification answered from the
// verified-token cache, HTTP-level and in-server per-tool checks, session binding, audit.
func BenchmarkToolCallHubCached(b *testing.B) { benchHub(b, false) }

// BenchmarkToolCallHubCold: the same with every request's RS256 signature verified.
func BenchmarkToolCallHubCold(b *testing.B) { benchHub(b, true) }

// BenchmarkBearerMiddlewareOnly isolates the HTTP middleware (cached verification, body
// inspection, per-tool check, audit) in front of a handler that does nothing.
func BenchmarkBearerMiddlewareOnly(b *testing.B) {
	dev, err := bearer.NewDevIssuer("http://127.0.0.1/dev")
	if err != nil {
		b.Fatal(err)
	}
	cfg := dev.VerifierConfig("http://127.0.0.1/mcp")
	cfg.JWKSURI = ""
	cfg.PublicKeys = append(cfg.PublicKeys, dev.PublicKey())
	v, err := bearer.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	srv := echoServer()
	mw := middleware.Bearer(middleware.Config{
		Verifier:            mcpauth.Cached(v),
		ResourceMetadataURL: "http://127.0.0.1/.well-known/oauth-protected-resource/mcp",
		Tools:               middleware.ToolsOf(srv),
		Sessions:            middleware.NewSessionBinder(0, 0, nil),
		Audit:               audit.Discard,
	})
	noop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	tok, err := dev.Mint("bench-user", "http://127.0.0.1/mcp", "echo")
	if err != nil {
		b.Fatal(err)
	}
	benchServe(b, mw(noop), "http://127.0.0.1/mcp", tok)
}
