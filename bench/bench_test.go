package bench_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mcpauth/mcpauth/bench/load"
	"github.com/mcpauth/mcpauth/bench/soak"
	"github.com/mcpauth/mcpauth/bench/stacks"
)

// TestStacksServeEcho starts every stack on a loopback listener and drives it briefly with
// the load driver: every answer must pass its check. No timing is asserted.
func TestStacksServeEcho(t *testing.T) {
	iss, err := stacks.NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range stacks.Names {
		t.Run(name, func(t *testing.T) {
			s, err := stacks.Start(name, "127.0.0.1:0", iss)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
			res, err := load.Run(t.Context(), load.Config{
				URL: s.URL, Token: s.Tokens.Valid, Stack: name,
				Concurrency: 4, Duration: 300 * time.Millisecond, Warmup: 50 * time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v", res)
			if res.Errors != 0 || res.WarmupErrors != 0 {
				t.Errorf("%d errors (+%d in warmup), first: %s", res.Errors, res.WarmupErrors, res.FirstError)
			}
			if res.Requests == 0 {
				t.Error("no request was measured")
			}
		})
	}
}

// TestSoakHub attacks the hub briefly with every token class: no decision may be wrong.
func TestSoakHub(t *testing.T) {
	s, err := stacks.Start(stacks.Hub, "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rep, err := soak.Run(t.Context(), soak.Config{Stack: s, Duration: 500 * time.Millisecond, Concurrency: 4, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d requests, peak RSS %d KiB", rep.Requests, rep.PeakRSSKiB)
	if rep.WrongDecisions != 0 || rep.Unexpected != 0 || rep.TransportErrors != 0 {
		t.Errorf("wrong %d, unexpected %d, transport errors %d; samples: %q", rep.WrongDecisions, rep.Unexpected, rep.TransportErrors, rep.Samples)
	}
	for _, c := range rep.Classes {
		if c.Requests == 0 {
			t.Errorf("class %s was never sent", c.Name)
		}
	}
}

// TestCheckEcho covers the answer check on both framings and its failures.
func TestCheckEcho(t *testing.T) {
	ok := `{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"hi"}]}}`
	cases := []struct {
		name, ctype, body string
		status            int
		wantErr           bool
	}{
		{"json", "application/json", ok, 200, false},
		{"sse", "text/event-stream", "event: message\ndata: " + ok + "\n\n", 200, false},
		{"sse crlf after notification", "text/event-stream", "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\"}\r\n\r\ndata: " + ok + "\r\n\r\n", 200, false},
		{"status", "application/json", ok, 401, true},
		{"other id", "application/json", `{"jsonrpc":"2.0","id":8,"result":{"content":[{"type":"text","text":"hi"}]}}`, 200, true},
		{"other text", "application/json", `{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"ho"}]}}`, 200, true},
		{"tool error", "application/json", `{"jsonrpc":"2.0","id":7,"result":{"isError":true,"content":[{"type":"text","text":"hi"}]}}`, 200, true},
		{"rpc error", "application/json", `{"jsonrpc":"2.0","id":7,"error":{"code":-32603,"message":"x"}}`, 200, true},
		{"empty sse", "text/event-stream", "\n\n", 200, true},
		{"not json", "application/json", "hi", 200, true},
	}
	for _, c := range cases {
		err := load.CheckEcho(c.status, c.ctype, []byte(c.body), 7, "hi")
		if (err != nil) != c.wantErr {
			t.Errorf("%s: err = %v, want error %v", c.name, err, c.wantErr)
		}
	}
	if _, err := load.Run(context.Background(), load.Config{URL: "http://192.0.2.1/mcp"}); err == nil {
		t.Error("a non-loopback URL was accepted without AllowRemote")
	}
}

// BenchmarkStackInProcess calls each stack's handler in process (no network, no HTTP
// parsing) with the driver's tools/call, one stack after the other: for a stack's
// allocations (-benchmem) and for a CPU profile of one stack alone. Its ns/op drift too
// much between sub-benchmarks to compare stacks: BenchmarkStacksPaired does that.
func BenchmarkStackInProcess(b *testing.B) {
	iss, err := stacks.NewIssuer()
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{stacks.Bare, stacks.MCPAuthCached, stacks.Hub} {
		b.Run(name, func(b *testing.B) {
			s, err := stacks.Start(name, "127.0.0.1:0", iss)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			b.ReportAllocs()
			for b.Loop() {
				callInProcess(b, s)
			}
		})
	}
}

// BenchmarkStacksPaired calls bare, mcpauth-cached and hub in turn, in process, on every
// iteration (rotating which goes first), timing each call. A shared machine's slow spells
// last milliseconds to seconds, so calls microseconds apart see the same machine: the
// ratios it reports (bare time over the stack's time, the share of bare throughput left)
// hold steadier from run to run than separate benchmarks of each stack, which drift by
// ±20%. Each iteration is one call of each stack; ns/op is their sum.
func BenchmarkStacksPaired(b *testing.B) {
	paired(b, func(s *stacks.Stack, _ int64) { callInProcess(b, s) })
}

// paired starts bare, mcpauth-cached and hub, calls each in turn with call on every
// iteration (rotating which goes first), and reports each stack's ns per call and its
// ratio to bare's.
func paired(b *testing.B, call func(s *stacks.Stack, id int64)) {
	iss, err := stacks.NewIssuer()
	if err != nil {
		b.Fatal(err)
	}
	names := []string{stacks.Bare, stacks.MCPAuthCached, stacks.Hub}
	running := make([]*stacks.Stack, len(names))
	for i, name := range names {
		s, err := stacks.Start(name, "127.0.0.1:0", iss)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		running[i] = s
	}
	spent := make([]time.Duration, len(names))
	n := 0
	for b.Loop() {
		for k := range running {
			i := (n + k) % len(running)
			start := time.Now()
			call(running[i], int64(n))
			spent[i] += time.Since(start)
		}
		n++
	}
	for i, name := range names {
		b.ReportMetric(float64(spent[i].Nanoseconds())/float64(n), name+"-ns/call")
		if i > 0 {
			b.ReportMetric(float64(spent[0])/float64(spent[i]), name+"-ratio")
		}
	}
}

// callInProcess sends the driver's tools/call to s's handler and checks the answer. Bare
// gets the token too (it ignores it), as in the load harness, so every stack pays alike
// for the benchmark's own request building.
func callInProcess(b *testing.B, s *stacks.Stack) {
	r := httptest.NewRequest(http.MethodPost, s.URL, bytes.NewReader(load.CallBody(1, "hi")))
	load.SetHeaders(r.Header, s.Tokens.Valid)
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	if err := load.CheckEcho(w.Code, w.Header().Get("Content-Type"), w.Body.Bytes(), 1, "hi"); err != nil {
		b.Fatalf("%s: %v", s.Name, err)
	}
}

// BenchmarkStacksPairedHTTP is BenchmarkStacksPaired over real HTTP on loopback: the
// three stacks listen in this process and one keep-alive client calls them in turn. A
// call's time is client and server together (on one core with -cpu 1), so the ratios
// understate the server's; the differences between the ns/call figures are what each
// stack adds to a call over HTTP. Every request carries the token, bare's too (it ignores
// it), as in the load harness: receiving 700 bytes more costs net/http itself about 2 µs
// a request, which no authentication avoids.
func BenchmarkStacksPairedHTTP(b *testing.B) {
	client := load.NewClient(1, 10*time.Second)
	defer client.CloseIdleConnections()
	paired(b, func(s *stacks.Stack, id int64) {
		req, err := http.NewRequest(http.MethodPost, s.URL, bytes.NewReader(load.CallBody(id, "hi")))
		if err != nil {
			b.Fatal(err)
		}
		load.SetHeaders(req.Header, s.Tokens.Valid) // to bare too, as the load driver does
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			err = load.CheckEcho(resp.StatusCode, resp.Header.Get("Content-Type"), body, id, "hi")
		}
		if err != nil {
			b.Fatalf("%s: %v", s.Name, err)
		}
	})
}
