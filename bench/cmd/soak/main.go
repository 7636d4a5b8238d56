// Command soak starts a bench stack in-process (the hub by default) on a loopback
// listener and attacks it at full speed with a fixed mix of valid and bad tokens: expired,
// not yet valid, wrong audience, wrong issuer, no expiry, insufficient scope, signed by a
// foreign key, alg "none", HS256 keyed with the public key, tampered, truncated, random
// garbage and no token. It counts every answer by class and status and prints the wrong
// decisions (a valid token not answered 200 with the echoed text, or a bad token answered
// 200) and the process's peak RSS. The exit status is 1 when any decision was wrong.
//
//	go run ./cmd/soak -duration 60s
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/mcpauth/mcpauth/bench/soak"
	"github.com/mcpauth/mcpauth/bench/stacks"
)

func main() {
	stack := flag.String("stack", stacks.Hub, "stack to attack, in-process: "+strings.Join(slices.DeleteFunc(slices.Clone(stacks.Names), func(n string) bool { return !stacks.Authenticated(n) }), ", "))
	duration := flag.Duration("duration", 30*time.Second, "how long to attack")
	concurrency := flag.Int("concurrency", 32, "concurrent workers")
	seed := flag.Uint64("seed", 0, "random seed (0: from the clock)")
	asJSON := flag.Bool("json", false, "print the report as one JSON line instead of text")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, *stack, *duration, *concurrency, *seed, !*asJSON)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	if *asJSON {
		line, _ := json.Marshal(rep)
		fmt.Printf("%s\n", line)
	} else {
		printReport(os.Stdout, rep)
	}
	if rep.WrongDecisions > 0 {
		os.Exit(1)
	}
}

func run(ctx context.Context, name string, d time.Duration, conc int, seed uint64, progress bool) (soak.Report, error) {
	s, err := stacks.Start(name, "127.0.0.1:0", nil)
	if err != nil {
		return soak.Report{}, err
	}
	defer s.Close()
	cfg := soak.Config{Stack: s, Duration: d, Concurrency: conc, Seed: seed}
	if progress {
		cfg.Progress = os.Stderr
		fmt.Fprintf(os.Stderr, "soak: attacking %s at %s for %s with %d workers\n", s.Name, s.URL, d, conc)
	}
	return soak.Run(ctx, cfg)
}

func printReport(w io.Writer, rep soak.Report) {
	fmt.Fprintf(w, "stack %s, %d workers, %.1fs\n", rep.Stack, rep.Concurrency, rep.DurationS)
	fmt.Fprintf(w, "total requests  %d\n", rep.Requests)
	fmt.Fprintf(w, "req/s           %.1f\n\n", rep.RPS)
	fmt.Fprintf(w, "%-20s %5s %10s  %-30s %s\n", "class", "want", "requests", "statuses", "wrong")
	for _, c := range rep.Classes {
		keys := make([]string, 0, len(c.Statuses))
		for k := range c.Statuses {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var st []string
		for _, k := range keys {
			st = append(st, fmt.Sprintf("%s:%d", k, c.Statuses[k]))
		}
		fmt.Fprintf(w, "%-20s %5d %10d  %-30s %d\n", c.Name, c.Want, c.Requests, strings.Join(st, " "), c.Wrong)
	}
	fmt.Fprintf(w, "\nWRONG DECISIONS   %d\n", rep.WrongDecisions)
	fmt.Fprintf(w, "unexpected status %d (bad token refused with another status than expected)\n", rep.Unexpected)
	fmt.Fprintf(w, "transport errors  %d\n", rep.TransportErrors)
	fmt.Fprintf(w, "peak RSS          %.1f MiB (VmHWM, server in-process)\n", float64(rep.PeakRSSKiB)/1024)
	fmt.Fprintf(w, "RSS at end        %.1f MiB, Go heap in use %.1f MiB, %d goroutines\n",
		float64(rep.RSSKiB)/1024, float64(rep.HeapInUseKiB)/1024, rep.Goroutines)
	for _, s := range rep.Samples {
		fmt.Fprintf(w, "  sample: %s\n", s)
	}
}
