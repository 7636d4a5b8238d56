// Command alternate drives several bench servers in turn, a few hundred milliseconds
// each, reading each server's CPU time with nanosecond precision around its phases, and
// prints, for every stack, its throughput and server CPU per request paired with the
// baseline's phase of the same cycle (see load.Alternate). run.sh runs it when
// ALTERNATE=1.
//
//	alternate -target "bare $URL $TOKEN $PID" -target "hub $URL2 $TOKEN2 $PID2"
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mcpauth/mcpauth/bench/load"
)

type targets []load.Target

func (t *targets) String() string { return fmt.Sprint(len(*t), " targets") }

// Set parses "stack url token pid" (token may be "-" for none).
func (t *targets) Set(v string) error {
	f := strings.Fields(v)
	if len(f) != 4 {
		return fmt.Errorf("want \"stack url token pid\", got %d fields", len(f))
	}
	pid, err := strconv.Atoi(f[3])
	if err != nil || pid <= 0 {
		return fmt.Errorf("pid %q is not a process id", f[3])
	}
	token := f[2]
	if token == "-" {
		token = ""
	}
	*t = append(*t, load.Target{Stack: f[0], URL: f[1], Token: token, CPU: load.ProcessCPU(pid)})
	return nil
}

func main() {
	var ts targets
	flag.Var(&ts, "target", `a server to drive: "stack url token pid" (repeat; the first is the baseline)`)
	phase := flag.Duration("phase", 200*time.Millisecond, "how long each target is driven before the next")
	cycles := flag.Int("cycles", 100, "how many phases each target gets")
	concurrency := flag.Int("concurrency", 32, "concurrent workers, one request in flight each")
	warmup := flag.Duration("warmup", time.Second, "each target alone before the first cycle (negative for none)")
	phasesOut := flag.String("phases", "", "also write every phase as a JSON line to this file")
	pinning := flag.String("pinning", "", "how the server and the driver were pinned to CPUs, for the header")
	flag.Parse()
	if len(ts) == 0 {
		fmt.Fprintln(os.Stderr, "alternate: give at least one -target")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	phases, err := load.Alternate(ctx, load.AlternateConfig{
		Targets: ts, Concurrency: *concurrency, Phase: *phase, Cycles: *cycles, Warmup: *warmup,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "alternate:", err)
		os.Exit(1)
	}
	if *phasesOut != "" {
		if err := writePhases(*phasesOut, phases); err != nil {
			fmt.Fprintln(os.Stderr, "alternate:", err)
			os.Exit(1)
		}
	}
	fmt.Printf("# Bench results (alternating)\n\n%s, %s, %s/%s, %s. %s\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.Version(), runtime.GOOS, runtime.GOARCH, load.CPUModel(), *pinning)
	failed := report(os.Stdout, load.Summarize(phases, ts[0].Stack), ts[0].Stack, *phase, *concurrency)
	if failed {
		os.Exit(1)
	}
}

func writePhases(path string, phases []load.Phase) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for _, p := range phases {
		if err := enc.Encode(p); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// report prints the summaries, paired with baseline's, as Markdown and reports whether
// any answer failed.
func report(w io.Writer, sums []load.Summary, baseline string, phase time.Duration, concurrency int) (failed bool) {
	i := slices.IndexFunc(sums, func(s load.Summary) bool { return s.Stack == baseline })
	if i < 0 {
		return false
	}
	base := sums[i]
	fmt.Fprintf(w, "Alternating phases of %v, %d workers, %d phases per stack; each stack's phase paired with %s's of the same cycle. Medians over the cycles, interquartile range in brackets.\n\n", phase, concurrency, base.Phases, base.Stack)
	fmt.Fprintf(w, "| stack | requests | errors | server CPU µs/req | req/s ratio to %s | CPU ratio (%s µs / stack µs) | server CPU µs/req over %s |\n", base.Stack, base.Stack, base.Stack)
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
	for _, s := range sums {
		failed = failed || s.Errors > 0
		cpu := float64(s.CPUPerRequest) / float64(time.Microsecond)
		if s.Stack == base.Stack {
			fmt.Fprintf(w, "| %s | %d | %d | %.1f | 1 | 1 | 0 |\n", s.Stack, s.Requests, s.Errors, cpu)
			continue
		}
		fmt.Fprintf(w, "| %s | %d | %d | %.1f | %s | %s | %s |\n", s.Stack, s.Requests, s.Errors, cpu,
			q(s.RPSRatio, "%.3f"), q(s.CPURatio, "%.3f"), q(s.CPUOverUs, "%+.1f"))
	}
	return failed
}

func q(x load.Quartiles, format string) string {
	return fmt.Sprintf(format+" ["+format+", "+format+"]", x.Median, x.Q1, x.Q3)
}
