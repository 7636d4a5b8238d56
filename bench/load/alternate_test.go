package load

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// echoServer answers the driver's tools/call like an MCP server would, and charges its
// fake CPU clock cost for every request it answers. The clock is advanced before the
// answer is written, so a driver that reads it after the answers of its phase have
// arrived sees exactly requests × cost.
func echoServer(t *testing.T, cost time.Duration, token string) (*httptest.Server, func() (time.Duration, error)) {
	t.Helper()
	var spent atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		var msg struct {
			ID int64 `json:"id"`
		}
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &msg); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		spent.Add(int64(cost))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%d,"result":{"content":[{"type":"text","text":"hi"}]}}`, msg.ID)
	}))
	t.Cleanup(srv.Close)
	return srv, func() (time.Duration, error) { return time.Duration(spent.Load()), nil }
}

// TestAlternatePhasesAreExact: every phase's CPU is exactly its own requests' (requests
// in flight at a switch finish before the clock is read and the next target gets any),
// the phases rotate their order from cycle to cycle, and the summary pairs each stack
// with the baseline's phase of the same cycle.
func TestAlternatePhasesAreExact(t *testing.T) {
	const costA, costB = 10 * time.Microsecond, 40 * time.Microsecond
	a, cpuA := echoServer(t, costA, "ta")
	b, cpuB := echoServer(t, costB, "tb")
	phases, err := Alternate(t.Context(), AlternateConfig{
		Targets: []Target{
			{Stack: "a", URL: a.URL, Token: "ta", CPU: cpuA},
			{Stack: "b", URL: b.URL, Token: "tb", CPU: cpuB},
		},
		Concurrency: 8, Phase: 20 * time.Millisecond, Cycles: 6, Warmup: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(phases) != 12 {
		t.Fatalf("got %d phases, want 12 (6 cycles of 2 targets)", len(phases))
	}
	for i, p := range phases {
		wantCycle := i / 2
		wantStack := []string{"a", "b"}[(wantCycle+i%2)%2] // the order rotates each cycle
		if p.Cycle != wantCycle || p.Stack != wantStack {
			t.Errorf("phase %d is %s of cycle %d, want %s of cycle %d", i, p.Stack, p.Cycle, wantStack, wantCycle)
		}
		if p.Requests == 0 || p.Errors != 0 {
			t.Fatalf("phase %d: %d requests, %d errors (%s)", i, p.Requests, p.Errors, p.FirstError)
		}
		cost := costA
		if p.Stack == "b" {
			cost = costB
		}
		if want := time.Duration(p.Requests) * cost; p.ServerCPU != want {
			t.Errorf("phase %d (%s): server CPU %v for %d requests, want exactly %v", i, p.Stack, p.ServerCPU, p.Requests, want)
		}
		if p.Wall < 20*time.Millisecond {
			t.Errorf("phase %d lasted %v, shorter than the phase", i, p.Wall)
		}
	}
	sums := Summarize(phases, "a")
	if len(sums) != 2 || sums[0].Stack != "a" || sums[1].Stack != "b" {
		t.Fatalf("summaries: %+v", sums)
	}
	if sums[0].CPUPerRequest != costA || sums[1].CPUPerRequest != costB {
		t.Errorf("CPU per request: a %v, b %v; want %v and %v", sums[0].CPUPerRequest, sums[1].CPUPerRequest, costA, costB)
	}
	if got := sums[1].CPURatio; got != (Quartiles{0.25, 0.25, 0.25}) {
		t.Errorf("CPU ratio of b: %+v, want 0.25 in every cycle", got)
	}
	if got := sums[1].CPUOverUs; got != (Quartiles{30, 30, 30}) {
		t.Errorf("CPU over a: %+v µs, want 30 in every cycle", got)
	}
}

// TestAlternateCountsFailures: a target that refuses the driver's requests has its
// errors counted and described in its phases.
func TestAlternateCountsFailures(t *testing.T) {
	a, cpuA := echoServer(t, time.Microsecond, "right")
	phases, err := Alternate(t.Context(), AlternateConfig{
		Targets:     []Target{{Stack: "a", URL: a.URL, Token: "wrong", CPU: cpuA}},
		Concurrency: 2, Phase: 10 * time.Millisecond, Cycles: 2, Warmup: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range phases {
		if p.Errors == 0 || p.Errors != p.Requests || !strings.Contains(p.FirstError, "HTTP 401") {
			t.Errorf("phase %+v: want every request failed with HTTP 401", p)
		}
	}
}

// TestAlternateWarmupFailureIsAnError: answers are checked during the warmup too, and a
// target failing then is not measured.
func TestAlternateWarmupFailureIsAnError(t *testing.T) {
	a, cpuA := echoServer(t, time.Microsecond, "right")
	_, err := Alternate(t.Context(), AlternateConfig{
		Targets:     []Target{{Stack: "a", URL: a.URL, Token: "wrong", CPU: cpuA}},
		Concurrency: 2, Phase: 10 * time.Millisecond, Cycles: 2, Warmup: 10 * time.Millisecond,
	})
	if err == nil || !strings.Contains(err.Error(), "warming a up") || !strings.Contains(err.Error(), "HTTP 401") {
		t.Errorf("a warmup whose answers all fail: %v, want an error naming the stack and the failure", err)
	}
}

func TestAlternateRefusesBadConfig(t *testing.T) {
	cpu := func() (time.Duration, error) { return 0, nil }
	for name, cfg := range map[string]AlternateConfig{
		"no targets": {},
		"no clock":   {Targets: []Target{{Stack: "a", URL: "http://127.0.0.1:1/mcp"}}},
		"remote":     {Targets: []Target{{Stack: "a", URL: "http://192.0.2.1/mcp", CPU: cpu}}},
		"not a URL":  {Targets: []Target{{Stack: "a", URL: "127.0.0.1:1", CPU: cpu}}},
	} {
		if _, err := Alternate(context.Background(), cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestQuartiles(t *testing.T) {
	if got := QuartilesOf([]float64{5, 1, 4, 2, 3}); got != (Quartiles{2, 3, 4}) {
		t.Errorf("quartiles of 1..5: %+v", got)
	}
	if got := QuartilesOf([]float64{1, 2, 3, 4}); got != (Quartiles{1.75, 2.5, 3.25}) {
		t.Errorf("quartiles of 1..4: %+v", got)
	}
	if got := QuartilesOf([]float64{7}); got != (Quartiles{7, 7, 7}) {
		t.Errorf("quartiles of one value: %+v", got)
	}
}

// TestProcessCPU reads this process's CPU clock as another process would: it advances
// while the process computes, and a process that does not exist has no clock.
func TestProcessCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("process CPU clocks are read on Linux only")
	}
	clock := ProcessCPU(os.Getpid())
	before, err := clock()
	if err != nil {
		t.Fatal(err)
	}
	x := uint64(1)
	for i := range 20_000_000 {
		x = x*6364136223846793005 + uint64(i)
	}
	after, err := clock()
	if err != nil {
		t.Fatal(err)
	}
	if after <= before {
		t.Errorf("the CPU clock did not advance while computing (%v → %v, %d)", before, after, x)
	}
	// Linux's pid_max is at most 2^22.
	for _, pid := range []int{1<<22 + 1, 0, -1, 1 << 30} {
		if _, err := ProcessCPU(pid)(); err == nil {
			t.Errorf("process %d, which cannot exist, has a CPU clock", pid)
		}
	}
}
