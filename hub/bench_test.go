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
	"github.com/mcpauth/mcpauth/mcpauthtest"
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

// callOnce sends one tools/call to h, in process, and checks it succeeded. It reports
// with Errorf, which RunParallel's goroutines may call (Fatal may not).
func callOnce(b *testing.B, h http.Handler, auth []string) {
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/mcp", strings.NewReader(benchCall))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json, text/event-stream")
	r.Header.Set("Mcp-Protocol-Version", mcp.LATEST_LEGACY_PROTOCOL_VERSION)
	if auth != nil {
		// Built once by the caller: building "Bearer "+token here would charge the
		// authenticated benchmarks for an allocation of the benchmark's own.
		r.Header["Authorization"] = auth
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		b.Errorf("status %d: %s", w.Code, w.Body.String())
	}
}

// benchServe calls h sequentially; parallel drives it from every P at once, like a
// server under load, where GC and allocation costs that a sequential loop hides show.
func benchServe(b *testing.B, h http.Handler, auth []string, parallel bool) {
	b.ReportAllocs()
	b.ResetTimer()
	if parallel {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				callOnce(b, h, auth)
			}
		})
		return
	}
	for b.Loop() {
		callOnce(b, h, auth)
	}
}

// devSetup returns a development issuer whose key is trusted directly (no JWKS fetch).
func devSetup(b *testing.B) (*mcpauthtest.DevIssuer, bearer.Config) {
	dev, err := mcpauthtest.NewDevIssuer("http://127.0.0.1/dev")
	if err != nil {
		b.Fatal(err)
	}
	cfg := dev.VerifierConfig()
	cfg.Keys = bearer.StaticKeys(dev.PublicKey())
	return dev, cfg
}

// benchHub serves the echo server at /mcp through the hub with bearer verification.
func benchHub(b *testing.B, disableCache, parallel bool) {
	dev, cfg := devSetup(b)
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
	benchServe(b, h, []string{"Bearer " + tok}, parallel)
}

func bare() http.Handler {
	return server.NewStreamableHTTPServer(echoServer(), server.WithStateLess(true))
}

// BenchmarkToolCallBare is the baseline: mcp-go's Streamable HTTP server, no auth.
func BenchmarkToolCallBare(b *testing.B) { benchServe(b, bare(), nil, false) }

// BenchmarkToolCallHubCached: the hub with bearer JWT verification answered from the
// verified-token cache, HTTP-level and in-server per-tool checks, session binding, audit.
func BenchmarkToolCallHubCached(b *testing.B) { benchHub(b, false, false) }

// BenchmarkToolCallHubCold: the same with every request's RS256 signature verified.
func BenchmarkToolCallHubCold(b *testing.B) { benchHub(b, true, false) }

// BenchmarkToolCallBareParallel is the parallel baseline.
func BenchmarkToolCallBareParallel(b *testing.B) { benchServe(b, bare(), nil, true) }

// BenchmarkToolCallHubCachedParallel is the cached hub under parallel load.
func BenchmarkToolCallHubCachedParallel(b *testing.B) { benchHub(b, false, true) }

// BenchmarkBearerMiddlewareOnly isolates the HTTP middleware (cached verification, session check, audit) in front of a handler that does nothing.
func BenchmarkBearerMiddlewareOnly(b *testing.B) {
	dev, cfg := devSetup(b)
	cfg.Audience = []string{"http://127.0.0.1/mcp"}
	v, err := bearer.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	mw := middleware.Bearer(middleware.Config{
		Verifier:            mcpauth.Cached(v),
		ResourceMetadataURL: "http://127.0.0.1/.well-known/oauth-protected-resource/mcp",
		Sessions:            middleware.NewSessionBinder(0),
		Audit:               audit.Discard,
	})
	noop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	tok, err := dev.Mint("bench-user", "http://127.0.0.1/mcp", "echo")
	if err != nil {
		b.Fatal(err)
	}
	benchServe(b, mw(noop), []string{"Bearer " + tok}, false)
}
