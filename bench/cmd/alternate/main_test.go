package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/mcpauth/mcpauth/bench/load"
)

func TestTargetFlag(t *testing.T) {
	var ts targets
	if err := ts.Set("hub http://127.0.0.1:9/mcp tok 42"); err != nil {
		t.Fatal(err)
	}
	if err := ts.Set("bare http://127.0.0.1:8/mcp - 43"); err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts[0].Stack != "hub" || ts[0].URL != "http://127.0.0.1:9/mcp" || ts[0].Token != "tok" || ts[1].Token != "" || ts[0].CPU == nil {
		t.Errorf("parsed %+v", ts)
	}
	for _, bad := range []string{"hub http://x tok", "hub http://x tok 0", "hub http://x tok pid", "a b c d e"} {
		if err := ts.Set(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestReport(t *testing.T) {
	phases := []load.Phase{
		{Stack: "bare", Cycle: 0, Requests: 100, Wall: time.Second, ServerCPU: 5 * time.Millisecond},
		{Stack: "hub", Cycle: 0, Requests: 80, Errors: 1, Wall: time.Second, ServerCPU: 5 * time.Millisecond},
	}
	var out bytes.Buffer
	failed := report(&out, load.Summarize(phases, "bare"), "bare", 200*time.Millisecond, 32)
	if !failed {
		t.Error("a stack with errors did not fail the run")
	}
	for _, want := range []string{
		"| bare | 100 | 0 | 50.0 | 1 | 1 | 0 |",
		"| hub | 80 | 1 | 62.5 | 0.800 [0.800, 0.800] | 0.800 [0.800, 0.800] | +12.5 [+12.5, +12.5] |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
