package bench_test

import (
	"context"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcpauth/mcpauth/gateway"
)

// gatewayPair serves the same upstream (an mcp-go server with an echo tool) directly
// and through the gateway's mirror, both over Streamable HTTP on loopback.
func gatewayPair(tb testing.TB) (direct, viaGateway string) {
	tb.Helper()
	up := server.NewMCPServer("upstream", "1.0.0", server.WithToolCapabilities(true))
	up.AddTool(mcpgo.NewTool("echo", mcpgo.WithString("text")), func(ctx context.Context, r mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		return mcpgo.NewToolResultText(r.GetString("text", "")), nil
	})
	ups := httptest.NewServer(server.NewStreamableHTTPServer(up))
	tb.Cleanup(ups.Close)
	svc, err := gateway.New(gateway.Config{Name: "bench", URL: ups.URL + "/mcp", Logger: discardLogger()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { svc.Close() })
	if err := svc.WaitReady(context.Background()); err != nil {
		tb.Fatal(err)
	}
	gws := httptest.NewServer(server.NewStreamableHTTPServer(svc.Server()))
	tb.Cleanup(gws.Close)
	return ups.URL + "/mcp", gws.URL + "/mcp"
}

func echoClient(tb testing.TB, endpoint string) func() {
	tb.Helper()
	c, err := client.NewStreamableHttpClient(endpoint)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	if _, err := c.Initialize(ctx, mcpgo.InitializeRequest{Params: mcpgo.InitializeParams{ProtocolVersion: mcpgo.LATEST_LEGACY_PROTOCOL_VERSION, ClientInfo: mcpgo.Implementation{Name: "bench", Version: "1"}}}); err != nil {
		tb.Fatal(err)
	}
	req := mcpgo.CallToolRequest{}
	req.Params.Name = "echo"
	req.Params.Arguments = map[string]any{"text": "hello"}
	return func() {
		if _, err := c.CallTool(ctx, req); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkGatewayCall: one tools/call over loopback, directly to the upstream and
// through the gateway, in the same run.
func BenchmarkGatewayCall(b *testing.B) {
	direct, via := gatewayPair(b)
	for _, tc := range []struct{ name, url string }{{"direct", direct}, {"gateway", via}} {
		b.Run(tc.name, func(b *testing.B) {
			call := echoClient(b, tc.url)
			b.ReportAllocs()
			for b.Loop() {
				call()
			}
		})
	}
}

// TestGatewayAddedLatency measures p50 and p99 of sequential calls directly and through
// the gateway, interleaved in rounds, and logs the difference (no timing assertion).
func TestGatewayAddedLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("a measurement")
	}
	direct, via := gatewayPair(t)
	d, g := echoClient(t, direct), echoClient(t, via)
	var ds, gs []time.Duration
	for range 10 {
		for range 100 {
			start := time.Now()
			d()
			ds = append(ds, time.Since(start))
			start = time.Now()
			g()
			gs = append(gs, time.Since(start))
		}
	}
	pct := func(v []time.Duration, p float64) time.Duration {
		sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
		return v[int(p*float64(len(v)-1))]
	}
	t.Logf("direct p50 %s p99 %s; via the gateway p50 %s p99 %s; added p50 %s",
		pct(ds, .5), pct(ds, .99), pct(gs, .5), pct(gs, .99), pct(gs, .5)-pct(ds, .5))
}
