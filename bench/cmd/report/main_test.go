package main

import (
	"math"
	"strings"
	"testing"

	"github.com/mcpauth/mcpauth/bench/load"
)

func run(stack string, rps float64, requests int64, cpu float64) result {
	return result{Result: load.Result{Stack: stack, RPS: rps, Requests: requests}, ServerCPUs: cpu}
}

// TestPairedRatios: each round's stack run is compared with the same round's bare run, and
// the median is taken over those per-round ratios, not over separately sorted columns.
func TestPairedRatios(t *testing.T) {
	results := []result{
		run("bare", 1000, 1000, 1.0), run("hub", 950, 950, 1.0), // round 1: 0.95, +52.6 µs
		run("bare", 500, 500, 1.0), run("hub", 490, 490, 1.0), // round 2 (a slow machine): 0.98
		run("bare", 2000, 2000, 1.0), run("hub", 1800, 1800, 1.0), // round 3: 0.90
	}
	stacks := group(results)
	p := pair(stacks[0], stacks[1])
	if got := load.QuartilesOf(p.ratio).Median; got != 0.95 {
		t.Errorf("median paired ratio = %v, want 0.95", got)
	}
	if got := load.QuartilesOf(p.cpuRatio).Median; math.Abs(got-0.95) > 1e-9 {
		t.Errorf("median CPU ratio = %v, want 0.95", got)
	}
	var b strings.Builder
	write(&b, results, "")
	if !strings.Contains(b.String(), "| hub | 0.950 | 0.90–0.98 |") {
		t.Errorf("report lacks the paired row:\n%s", b.String())
	}
	// Lower quartiles of server CPU µs/req: bare's rounds cost 1000, 2000 and 500 µs
	// (sorted 500, 1000, 2000: the first is the lower quartile of three), hub's 1052.6,
	// 2040.8 and 555.6.
	if !strings.Contains(b.String(), "| 555.6 | 0.900 |") {
		t.Errorf("report lacks the paired row:\n%s", b.String())
	}
	if got := load.QuartilesOf([]float64{4, 1, 3, 2}).Median; got != 2.5 {
		t.Errorf("medianOf of an even count = %v, want 2.5", got)
	}
}
