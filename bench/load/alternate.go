package load

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Target is one server that Alternate drives in turn with the others.
type Target struct {
	// Stack labels the target's phases.
	Stack string
	// URL is the MCP endpoint and Token the bearer token sent to it (none when empty).
	URL, Token string
	// CPU returns the server's CPU time so far, read at each end of every phase (see
	// ProcessCPU). Required.
	CPU func() (time.Duration, error)
}

// AlternateConfig configures Alternate.
type AlternateConfig struct {
	Targets []Target
	// Concurrency is the number of workers, each with one request in flight (default 32).
	Concurrency int
	// Phase is how long each target is driven before the next one (default 200ms).
	Phase time.Duration
	// Cycles is how many times every target gets a phase (default 100).
	Cycles int
	// Warmup drives each target alone this long before the first cycle (default 1s;
	// negative for none); an answer failing its check then is an error.
	Warmup time.Duration
	// Timeout bounds each request (default 10s).
	Timeout time.Duration
	// AllowRemote allows targets that are not loopback addresses.
	AllowRemote bool
}

// Phase is what one target did during one phase.
type Phase struct {
	Stack string `json:"stack"`
	Cycle int    `json:"cycle"`
	// Requests answered and checked during the phase; Errors among them failed.
	Requests int64 `json:"requests"`
	Errors   int64 `json:"errors"`
	// Wall is the phase's length; ServerCPU the target's CPU time over it.
	Wall      time.Duration `json:"wall_ns"`
	ServerCPU time.Duration `json:"server_cpu_ns"`
	// FirstError describes the phase's first failed check.
	FirstError string `json:"first_error,omitempty"`
}

// Alternate drives the targets one at a time with the same workers, switching every
// cfg.Phase, for cfg.Cycles cycles; each cycle gives every target one phase, in an order
// rotated by one from cycle to cycle. At each switch the workers finish their requests in
// flight before the next target gets any, and the server's CPU time is read before and
// after its phase, so a phase's CPU is its requests' alone. Phases a few hundred
// milliseconds long see the same machine: a shared host's slow spells, which last
// seconds, fall on all the targets of a cycle instead of on one.
//
// It returns every phase, in order. An error is returned for a bad configuration or a
// CPU clock that cannot be read; ctx ending stops it early.
func Alternate(ctx context.Context, cfg AlternateConfig) ([]Phase, error) {
	if len(cfg.Targets) == 0 {
		return nil, errors.New("load: no targets")
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 32
	}
	if cfg.Phase <= 0 {
		cfg.Phase = 200 * time.Millisecond
	}
	if cfg.Cycles <= 0 {
		cfg.Cycles = 100
	}
	if cfg.Warmup == 0 {
		cfg.Warmup = time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	runs := make([]*Config, len(cfg.Targets))
	clients := make([]*http.Client, len(cfg.Targets))
	for i, t := range cfg.Targets {
		c := &Config{URL: t.URL, Token: t.Token, Stack: t.Stack, AllowRemote: cfg.AllowRemote, Concurrency: cfg.Concurrency, Timeout: cfg.Timeout}
		if err := c.defaults(); err != nil {
			return nil, err
		}
		if t.CPU == nil {
			return nil, fmt.Errorf("load: target %q has no CPU clock", t.Stack)
		}
		runs[i] = c
		clients[i] = NewClient(cfg.Concurrency, cfg.Timeout)
		defer clients[i].CloseIdleConnections()
	}

	// gate lets requests through during a phase (read-locked around each request) and
	// stops them at a switch: Lock waits for the requests in flight and holds new ones.
	var gate sync.RWMutex
	var cur struct {
		target int
		stats  *phaseStats
	}
	var stop atomic.Bool
	gate.Lock()
	var wg sync.WaitGroup
	for w := range cfg.Concurrency {
		wg.Go(func() {
			var seq int64
			for {
				gate.RLock()
				if stop.Load() || ctx.Err() != nil {
					gate.RUnlock()
					return
				}
				i, st := cur.target, cur.stats
				seq++
				_, err := do(ctx, clients[i], runs[i], int64(w)<<32|seq)
				if ctx.Err() == nil {
					st.add(err)
				}
				gate.RUnlock()
			}
		})
	}
	defer func() {
		stop.Store(true)
		gate.Unlock()
		wg.Wait()
	}()

	// run drives target i for d with the gate held on entry and on return.
	run := func(i int, d time.Duration) (Phase, error) {
		st := &phaseStats{}
		cur.target, cur.stats = i, st
		cpu0, err := cfg.Targets[i].CPU()
		if err != nil {
			return Phase{}, err
		}
		start := time.Now()
		gate.Unlock()
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
		gate.Lock()
		wall := time.Since(start)
		cpu1, err := cfg.Targets[i].CPU()
		if err != nil {
			return Phase{}, err
		}
		p := Phase{Stack: cfg.Targets[i].Stack, Requests: st.n.Load(), Errors: st.errs.Load(), Wall: wall, ServerCPU: cpu1 - cpu0}
		if e := st.first.Load(); e != nil {
			p.FirstError = (*e).Error()
		}
		return p, nil
	}

	if cfg.Warmup > 0 {
		for i := range cfg.Targets {
			p, err := run(i, cfg.Warmup)
			if err != nil {
				return nil, err
			}
			if p.Errors > 0 {
				// Answers are checked during the warmup too: a stack that fails then is
				// not measured.
				return nil, fmt.Errorf("load: warming %s up: %d of %d answers failed their check, the first: %s", p.Stack, p.Errors, p.Requests, p.FirstError)
			}
		}
	}
	var phases []Phase
	n := len(cfg.Targets)
	for c := range cfg.Cycles {
		for k := range n {
			if ctx.Err() != nil {
				return phases, nil
			}
			p, err := run((c+k)%n, cfg.Phase)
			if err != nil {
				return phases, err
			}
			p.Cycle = c
			phases = append(phases, p)
		}
	}
	return phases, nil
}

type phaseStats struct {
	n, errs atomic.Int64
	first   atomic.Pointer[error]
}

func (s *phaseStats) add(err error) {
	s.n.Add(1)
	if err != nil {
		s.errs.Add(1)
		s.first.CompareAndSwap(nil, &err)
	}
}
