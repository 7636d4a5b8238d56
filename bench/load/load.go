// Package load drives an MCP server with tools/call requests of the echo tool over
// Streamable HTTP with keep-alive connections, checks every answer, and measures
// throughput and latency.
package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config configures Run.
type Config struct {
	// URL is the MCP endpoint, such as "http://127.0.0.1:12345/mcp". Required.
	URL string
	// Token is sent as "Authorization: Bearer <Token>" when not empty.
	Token string
	// Stack labels the result.
	Stack string
	// Concurrency is the number of workers, each with one request in flight (default 32).
	Concurrency int
	// Duration is how long requests are measured (default 10s).
	Duration time.Duration
	// Warmup is how long requests are sent, checked and not measured first (default 1s;
	// negative for none).
	Warmup time.Duration
	// Text is the echo argument (default "hi").
	Text string
	// Timeout bounds each request (default 10s).
	Timeout time.Duration
	// AllowRemote allows a URL whose host is not a loopback address.
	AllowRemote bool
}

// Result is what Run measured. Requests, Errors, RPS and the latencies cover the measured
// window only (after the warmup).
type Result struct {
	Stack          string  `json:"stack"`
	Requests       int64   `json:"requests"`
	Errors         int64   `json:"errors"`
	RPS            float64 `json:"rps"`
	P50us          float64 `json:"p50_us"`
	P90us          float64 `json:"p90_us"`
	P99us          float64 `json:"p99_us"`
	MaxUs          float64 `json:"max_us"`
	DurationS      float64 `json:"duration_s"`
	Concurrency    int     `json:"concurrency"`
	WarmupRequests int64   `json:"warmup_requests"`
	WarmupErrors   int64   `json:"warmup_errors"`
	GOMAXPROCS     int     `json:"driver_gomaxprocs"`
	// LoadAvg1m is the host's 1-minute load average when the run started (0 when unknown):
	// a high value means other work competed for the CPUs.
	LoadAvg1m float64 `json:"loadavg_1m"`
	// FirstError describes the first failed check, to diagnose a non-zero Errors.
	FirstError string `json:"first_error,omitempty"`
}

func (c *Config) defaults() error {
	if c.URL == "" {
		return errors.New("load: URL is required")
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("load: URL %q is not an absolute http(s) URL", c.URL)
	}
	if !c.AllowRemote && !isLoopback(u.Hostname()) {
		return fmt.Errorf("load: URL host %q is not a loopback address (set AllowRemote to load another host)", u.Hostname())
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 32
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Warmup == 0 {
		c.Warmup = time.Second
	}
	if c.Warmup < 0 {
		c.Warmup = 0
	}
	if c.Text == "" {
		c.Text = "hi"
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// NewClient returns an HTTP client for concurrency workers: one transport keeping enough
// idle connections per host that every worker reuses its own.
func NewClient(concurrency int, timeout time.Duration) *http.Client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2 * concurrency,
		MaxIdleConnsPerHost: 2 * concurrency,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}

type worker struct {
	lat          []time.Duration
	errs         int64
	warm, warmEr int64
	firstErr     error
}

// Run sends requests from cfg.Concurrency workers for cfg.Warmup + cfg.Duration, then
// returns what it measured. It stops early, without counting the interrupted requests,
// when ctx is done. An error is returned only for a bad configuration.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.defaults(); err != nil {
		return Result{}, err
	}
	client := NewClient(cfg.Concurrency, cfg.Timeout)
	defer client.CloseIdleConnections()

	loadAvg := loadAverage()
	start := time.Now()
	measureFrom := start.Add(cfg.Warmup)
	end := measureFrom.Add(cfg.Duration)
	workers := make([]worker, cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range workers {
		w := &workers[i]
		w.lat = make([]time.Duration, 0, 1<<14)
		wg.Go(func() { w.run(ctx, client, &cfg, int64(i), measureFrom, end) })
	}
	wg.Wait()
	elapsed := time.Since(measureFrom)

	res := Result{Stack: cfg.Stack, Concurrency: cfg.Concurrency, GOMAXPROCS: runtime.GOMAXPROCS(0), LoadAvg1m: loadAvg}
	var all []time.Duration
	for i := range workers {
		w := &workers[i]
		all = append(all, w.lat...)
		res.Errors += w.errs
		res.WarmupRequests += w.warm
		res.WarmupErrors += w.warmEr
		if res.FirstError == "" && w.firstErr != nil {
			res.FirstError = w.firstErr.Error()
		}
	}
	res.Requests = int64(len(all)) + res.Errors
	if elapsed > 0 {
		res.DurationS = round(elapsed.Seconds(), 3)
		res.RPS = round(float64(len(all))/elapsed.Seconds(), 1)
	}
	if len(all) > 0 {
		slices.Sort(all)
		res.P50us = micros(percentile(all, 0.50))
		res.P90us = micros(percentile(all, 0.90))
		res.P99us = micros(percentile(all, 0.99))
		res.MaxUs = micros(all[len(all)-1])
	}
	return res, nil
}

func (w *worker) run(ctx context.Context, client *http.Client, cfg *Config, n int64, measureFrom, end time.Time) {
	var seq int64
	for ctx.Err() == nil {
		t0 := time.Now()
		if !t0.Before(end) {
			return
		}
		seq++
		id := n<<32 | seq
		lat, err := do(ctx, client, cfg, id)
		if ctx.Err() != nil {
			return // interrupted: neither a sample nor an error
		}
		measured := !t0.Before(measureFrom)
		switch {
		case !measured:
			w.warm++
			if err != nil {
				w.warmEr++
			}
		case err != nil:
			w.errs++
		default:
			w.lat = append(w.lat, lat)
		}
		if err != nil && w.firstErr == nil {
			w.firstErr = err
		}
	}
}

// do sends one tools/call with the given id and checks the answer. The latency covers
// sending the request and reading the whole answer, not the check.
func do(ctx context.Context, client *http.Client, cfg *Config, id int64) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.URL, bytes.NewReader(CallBody(id, cfg.Text)))
	if err != nil {
		return 0, err
	}
	SetHeaders(req.Header, cfg.Token)
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	lat := time.Since(t0)
	if err != nil {
		return 0, err
	}
	return lat, CheckEcho(resp.StatusCode, resp.Header.Get("Content-Type"), body, id, cfg.Text)
}

// loadAverage returns the 1-minute load average from /proc/loadavg, 0 when unknown.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func micros(d time.Duration) float64 { return round(float64(d)/float64(time.Microsecond), 1) }

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// CPUModel returns the model name of the machine's CPU from /proc/cpuinfo ("unknown CPU"
// when it cannot tell), for the reports' headers.
func CPUModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
