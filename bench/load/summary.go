package load

import (
	"slices"
	"time"
)

// Quartiles are the lower quartile, the median and the upper quartile of a sample.
type Quartiles struct {
	Q1, Median, Q3 float64
}

// QuartilesOf returns the quartiles of x, interpolating between the closest ranks (zero
// when x is empty).
func QuartilesOf(x []float64) Quartiles {
	if len(x) == 0 {
		return Quartiles{}
	}
	s := slices.Sorted(slices.Values(x))
	at := func(q float64) float64 {
		// Linear interpolation between the closest ranks.
		pos := q * float64(len(s)-1)
		i := int(pos)
		if i+1 >= len(s) {
			return s[len(s)-1]
		}
		return s[i] + (pos-float64(i))*(s[i+1]-s[i])
	}
	return Quartiles{Q1: at(0.25), Median: at(0.5), Q3: at(0.75)}
}

// Summary is one stack's phases of an Alternate run, against the baseline's.
type Summary struct {
	Stack            string
	Phases           int
	Requests, Errors int64
	// CPUPerRequest is all the stack's server CPU time over all its requests.
	CPUPerRequest time.Duration
	// Paired with the baseline's phase of the same cycle, over the cycles: the stack's
	// req/s over the baseline's (RPSRatio), the baseline's server CPU per request over
	// the stack's (CPURatio: the share of the baseline's throughput a CPU-bound server
	// keeps), and the stack's server CPU per request minus the baseline's in
	// microseconds (CPUOverUs). Zero for the baseline itself.
	RPSRatio, CPURatio, CPUOverUs Quartiles
}

// Summarize summarizes the phases of each stack, in the order the stacks first appear,
// pairing each stack's phase of a cycle with the baseline's phase of that cycle. Phases
// without requests are left out of the pairs.
func Summarize(phases []Phase, baseline string) []Summary {
	var order []string
	by := map[string]*Summary{}
	type cycleKey struct {
		stack string
		cycle int
	}
	at := map[cycleKey]Phase{}
	cpu := map[string]time.Duration{}
	for _, p := range phases {
		s, ok := by[p.Stack]
		if !ok {
			s = &Summary{Stack: p.Stack}
			by[p.Stack] = s
			order = append(order, p.Stack)
		}
		s.Phases++
		s.Requests += p.Requests
		s.Errors += p.Errors
		cpu[p.Stack] += p.ServerCPU
		at[cycleKey{p.Stack, p.Cycle}] = p
	}
	out := make([]Summary, 0, len(order))
	for _, name := range order {
		s := by[name]
		if s.Requests > 0 {
			s.CPUPerRequest = cpu[name] / time.Duration(s.Requests)
		}
		if name != baseline {
			var rps, ratio, over []float64
			for _, p := range phases {
				if p.Stack != name {
					continue
				}
				b, ok := at[cycleKey{baseline, p.Cycle}]
				if !ok || b.Requests == 0 || p.Requests == 0 || b.ServerCPU <= 0 || p.ServerCPU <= 0 {
					continue
				}
				bCPU := float64(b.ServerCPU) / float64(b.Requests)
				sCPU := float64(p.ServerCPU) / float64(p.Requests)
				rps = append(rps, (float64(p.Requests)/p.Wall.Seconds())/(float64(b.Requests)/b.Wall.Seconds()))
				ratio = append(ratio, bCPU/sCPU)
				over = append(over, (sCPU-bCPU)/float64(time.Microsecond))
			}
			s.RPSRatio, s.CPURatio, s.CPUOverUs = QuartilesOf(rps), QuartilesOf(ratio), QuartilesOf(over)
		}
		out = append(out, *s)
	}
	return out
}
