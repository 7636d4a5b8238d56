package hub_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcpauth/mcpauth/audit"
	"github.com/mcpauth/mcpauth/hub"
	"github.com/mcpauth/mcpauth/providers/bearer"
)

// parServe drives h from every P at once, like a server under load: the GC and
// allocation costs that a sequential benchmark hides show up here.
func parServe(b *testing.B, h http.Handler, token string) {
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/mcp", strings.NewReader(benchCall))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Accept", "application/json, text/event-stream")
			r.Header.Set("Mcp-Protocol-Version", mcp.LATEST_LEGACY_PROTOCOL_VERSION)
			if token != "" {
				r.Header.Set("Authorization", "Bearer "+token)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatal(w.Code)
			}
		}
	})
}

// BenchmarkParBare is the parallel baseline: bare mcp-go.
func BenchmarkParBare(b *testing.B) {
	parServe(b, server.NewStreamableHTTPServer(echoServer(), server.WithStateLess(true)), "")
}

// BenchmarkParHub is the hub with a cached bearer verifier, in parallel.
func BenchmarkParHub(b *testing.B) {
	dev, _ := bearer.NewDevIssuer("http://127.0.0.1/dev")
	cfg := dev.VerifierConfig()
	cfg.JWKSURI = ""
	cfg.PublicKeys = append(cfg.PublicKeys, dev.PublicKey())
	factory, _ := bearer.NewFactory(cfg)
	h, _ := hub.New(hub.Config{BaseURL: "http://127.0.0.1", VerifierFor: factory, Audit: audit.Discard})
	_ = h.Mount("", echoServer(), hub.WithStreamableHTTPOptions(server.WithStateLess(true)))
	tok, _ := dev.Mint("bench-user", h.ResourceURL(""), "echo")
	parServe(b, h, tok)
}
