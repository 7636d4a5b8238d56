// Command report turns the JSON lines printed by cmd/load into a Markdown table compared
// with the "bare" baseline. With several lines per stack (several rounds), each row is the
// round with the median req/s and errors are summed over all rounds:
//
//	go run ./cmd/report < results.jsonl > results.md
package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/mcpauth/mcpauth/bench/load"
)

func main() {
	pinning := flag.String("pinning", "", "how server and driver were pinned, for the header")
	flag.Parse()
	results, err := read(os.Stdin)
	if err == nil && len(results) == 0 {
		err = fmt.Errorf("no results on stdin")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	write(os.Stdout, results, *pinning)
}

// result is a driver line, plus the server's CPU time that run.sh adds to it.
type result struct {
	load.Result
	// ServerCPUs is the server's user+system CPU time while the driver ran, warmup
	// included (0 when unknown).
	ServerCPUs float64 `json:"server_cpu_s"`
}

// cpuPerRequest returns the server's CPU microseconds per request over the whole driver run.
func (r result) cpuPerRequest() (float64, bool) {
	n := r.Requests + r.WarmupRequests
	if r.ServerCPUs <= 0 || n == 0 {
		return 0, false
	}
	return r.ServerCPUs * 1e6 / float64(n), true
}

func read(r io.Reader) ([]result, error) {
	var out []result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var res result
		if err := json.Unmarshal([]byte(line), &res); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, res)
	}
	return out, sc.Err()
}

// stackRuns are the results of one stack, in the order the rounds ran.
type stackRuns struct {
	name string
	runs []result
}

// median returns the run with the median req/s (the lower middle one for an even count).
func (s stackRuns) median() result {
	runs := slices.Clone(s.runs)
	slices.SortFunc(runs, func(a, b result) int { return cmp.Compare(a.RPS, b.RPS) })
	return runs[(len(runs)-1)/2]
}

func group(results []result) []stackRuns {
	var out []stackRuns
	index := map[string]int{}
	for _, r := range results {
		i, ok := index[r.Stack]
		if !ok {
			i = len(out)
			index[r.Stack] = i
			out = append(out, stackRuns{name: r.Stack})
		}
		out[i].runs = append(out[i].runs, r)
	}
	return out
}

func write(w io.Writer, results []result, pinning string) {
	stacks := group(results)
	rounds := 0
	maxLoad := 0.0
	for _, s := range stacks {
		rounds = max(rounds, len(s.runs))
		for _, r := range s.runs {
			maxLoad = max(maxLoad, r.LoadAvg1m)
		}
	}
	var base *result
	var bare stackRuns
	for _, s := range stacks {
		if s.name == "bare" {
			m := s.median()
			base, bare = &m, s
		}
	}
	first := results[0]
	fmt.Fprintf(w, "# Bench results\n\n")
	fmt.Fprintf(w, "%s, %s, %s, %d CPUs (%s). Driver: %d workers, %gs measured per stack after warmup, every answer checked.",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH,
		runtime.NumCPU(), load.CPUModel(), first.Concurrency, math.Round(first.DurationS))
	if pinning != "" {
		fmt.Fprintf(w, " %s", pinning)
	}
	if rounds > 1 {
		fmt.Fprintf(w, " %d rounds; each row is the round with the median req/s.", rounds)
	}
	if maxLoad > 0 {
		fmt.Fprintf(w, " Highest 1-minute load average seen at the start of a run: %.2f.", maxLoad)
	}
	fmt.Fprintf(w, "\n\n")
	fmt.Fprintln(w, "| stack | req/s | ratio to bare | p50 µs | p99 µs | p99 overhead vs bare µs | errors | server CPU µs/req |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range stacks {
		r := s.median()
		ratio, over := "–", "–"
		if base != nil && base.RPS > 0 {
			ratio = fmt.Sprintf("%.2f", r.RPS/base.RPS)
			over = fmt.Sprintf("%+.0f", r.P99us-base.P99us)
		}
		var errs, warm int64
		for _, run := range s.runs {
			errs += run.Errors
			warm += run.WarmupErrors
		}
		e := fmt.Sprint(errs)
		if warm > 0 {
			e += fmt.Sprintf(" (+%d in warmup)", warm)
		}
		cpu := "–"
		if c, ok := r.cpuPerRequest(); ok {
			cpu = fmt.Sprintf("%.0f", c)
		}
		fmt.Fprintf(w, "| %s | %.0f | %s | %.0f | %.0f | %s | %s | %s |\n", s.name, r.RPS, ratio, r.P50us, r.P99us, over, e, cpu)
	}
	if rounds > 1 && base != nil {
		fmt.Fprintf(w, "\nPaired by round (each stack against the bare run of the same round, which ran just before it, so that slow drifts of the machine cancel), median over the rounds; and the quiet-machine estimate: each stack's lower quartile of server CPU µs/req over its rounds (slow spells of a shared machine only ever add time), against bare's:\n\n")
		fmt.Fprintln(w, "| stack | req/s ratio to bare | range | server CPU µs/req over bare | CPU ratio (bare µs / stack µs) | lower-quartile CPU µs/req | its ratio to bare's |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
		bareQuiet, bareOK := bare.lowerQuartileCPU()
		for _, s := range stacks {
			if s.name == "bare" {
				continue
			}
			p := pair(bare, s)
			if len(p.ratio) == 0 {
				continue
			}
			cpuOver, cpuRatio := "–", "–"
			if len(p.cpuOver) > 0 {
				cpuOver, cpuRatio = fmt.Sprintf("%+.1f", load.QuartilesOf(p.cpuOver).Median), fmt.Sprintf("%.3f", load.QuartilesOf(p.cpuRatio).Median)
			}
			quiet, quietRatio := "–", "–"
			if q, ok := s.lowerQuartileCPU(); ok && bareOK {
				quiet, quietRatio = fmt.Sprintf("%.1f", q), fmt.Sprintf("%.3f", bareQuiet/q)
			}
			fmt.Fprintf(w, "| %s | %.3f | %.2f–%.2f | %s | %s | %s | %s |\n", s.name, load.QuartilesOf(p.ratio).Median, slices.Min(p.ratio), slices.Max(p.ratio), cpuOver, cpuRatio, quiet, quietRatio)
		}
	}
	if rounds > 1 {
		fmt.Fprintf(w, "\nreq/s of every round:\n\n")
		for _, s := range stacks {
			var rps []string
			for _, r := range s.runs {
				v := fmt.Sprintf("%.0f", r.RPS)
				if c, ok := r.cpuPerRequest(); ok {
					v += fmt.Sprintf(" (%.0f µs CPU/req)", c)
				}
				rps = append(rps, v)
			}
			fmt.Fprintf(w, "- %s: %s\n", s.name, strings.Join(rps, ", "))
		}
	}
}

// paired holds, per round, a stack's numbers against the bare run of the same round.
type paired struct {
	ratio    []float64 // req/s over bare's req/s
	cpuOver  []float64 // server CPU µs/req minus bare's
	cpuRatio []float64 // bare's server CPU µs/req over the stack's
}

// pair matches the runs of s with those of bare round by round (the i-th run of each).
func pair(bare, s stackRuns) paired {
	var p paired
	for i := range min(len(bare.runs), len(s.runs)) {
		b, r := bare.runs[i], s.runs[i]
		if b.RPS <= 0 {
			continue
		}
		p.ratio = append(p.ratio, r.RPS/b.RPS)
		bc, okb := b.cpuPerRequest()
		rc, okr := r.cpuPerRequest()
		if okb && okr && rc > 0 {
			p.cpuOver = append(p.cpuOver, rc-bc)
			p.cpuRatio = append(p.cpuRatio, bc/rc)
		}
	}
	return p
}

// lowerQuartileCPU returns the lower quartile of the stack's server CPU µs/req over its
// rounds (the value a quarter of the way up, rounding down), false when no round has it.
func (s stackRuns) lowerQuartileCPU() (float64, bool) {
	var v []float64
	for _, r := range s.runs {
		if c, ok := r.cpuPerRequest(); ok {
			v = append(v, c)
		}
	}
	if len(v) == 0 {
		return 0, false
	}
	slices.Sort(v)
	return v[(len(v)-1)/4], true
}
