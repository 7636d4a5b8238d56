// Package soak hammers a running bench stack with a fixed mix of valid and hostile tokens
// for a while and counts every answer by token class and HTTP status. A wrong decision is
// a valid token not answered 200 with the echoed text, or any bad token answered 200.
package soak

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mcpauth/mcpauth/bench/load"
	"github.com/mcpauth/mcpauth/bench/stacks"
)

// Class is a kind of token the soak sends.
type Class struct {
	// Name identifies the class in the report.
	Name string
	// Weight is the class's share of the requests, relative to the other weights.
	Weight int
	// Want is the status a correct server answers (200 only for "valid").
	Want int
	// Describe says what the token is.
	Describe string

	pool []string                  // pre-made tokens, or
	gen  func(r *rand.Rand) string // a token made per request
}

// Valid reports whether the class is the valid one, which must be answered 200 with the
// echoed text.
func (c *Class) Valid() bool { return c.Want == http.StatusOK }

func (c *Class) token(r *rand.Rand) string {
	if c.gen != nil {
		return c.gen(r)
	}
	return c.pool[r.IntN(len(c.pool))]
}

// Config configures Run.
type Config struct {
	// Stack is the running stack to attack. Required; it must authenticate.
	Stack *stacks.Stack
	// Duration is how long to send requests (default 30s).
	Duration time.Duration
	// Concurrency is the number of workers (default 32).
	Concurrency int
	// PoolSize is the number of distinct pre-made tokens per class (default 32).
	PoolSize int
	// Seed seeds the choice of classes and the random tokens (default: the clock).
	Seed uint64
	// Progress, when set, receives a line every ProgressEvery.
	Progress io.Writer
	// ProgressEvery is the interval of progress lines (default 10s).
	ProgressEvery time.Duration
}

// Report is what Run saw.
type Report struct {
	Stack       string  `json:"stack"`
	Requests    int64   `json:"requests"`
	RPS         float64 `json:"rps"`
	DurationS   float64 `json:"duration_s"`
	Concurrency int     `json:"concurrency"`
	// Classes holds, per class, the count of answers per HTTP status ("0" counts transport
	// errors, which are neither decisions nor wrong).
	Classes []ClassReport `json:"classes"`
	// WrongDecisions counts valid tokens not answered 200 with the echoed text and bad
	// tokens answered 200. It must be 0.
	WrongDecisions int64 `json:"wrong_decisions"`
	// Unexpected counts bad tokens refused with a status other than the expected one.
	Unexpected int64 `json:"unexpected"`
	// TransportErrors counts requests that got no HTTP answer.
	TransportErrors int64 `json:"transport_errors"`
	// Samples describes the first wrong or unexpected answers.
	Samples []string `json:"samples,omitempty"`
	// PeakRSSKiB is the process's peak resident set size (VmHWM), server included when it
	// runs in-process.
	PeakRSSKiB int64 `json:"peak_rss_kib"`
	// RSSKiB is the resident set size at the end (VmRSS).
	RSSKiB int64 `json:"rss_kib"`
	// HeapInUseKiB is the Go heap in use at the end, after a GC.
	HeapInUseKiB int64 `json:"heap_inuse_kib"`
	// Goroutines is the number of goroutines at the end.
	Goroutines int `json:"goroutines"`
}

// ClassReport counts the answers to one class.
type ClassReport struct {
	Name     string           `json:"name"`
	Want     int              `json:"want"`
	Requests int64            `json:"requests"`
	Statuses map[string]int64 `json:"statuses"`
	Wrong    int64            `json:"wrong"`
}

// Classes builds the token classes for s: valid tokens and every kind of bad one, each bad
// token otherwise as close to a valid one as it can be.
func Classes(s *stacks.Stack, poolSize int) ([]*Class, error) {
	if poolSize <= 0 {
		poolSize = 32
	}
	iss := s.Issuer
	foreign, err := stacks.NewIssuer() // same issuer name, another key
	if err != nil {
		return nil, err
	}
	pemKey, err := publicPEM(iss)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	var errs []error
	pool := func(mk func() (string, error)) []string {
		out := make([]string, poolSize)
		for i := range out {
			t, err := mk()
			errs = append(errs, err)
			out[i] = t
		}
		return out
	}
	valid := pool(func() (string, error) { return iss.Sign(stacks.Claims(s.URL, time.Hour)) })
	unsigned := func(alg string, sign func(signingInput string) string) func() (string, error) {
		return func() (string, error) {
			claims := stacks.Claims(s.URL, time.Hour).Map()
			return craft(map[string]any{"alg": alg, "typ": "JWT"}, claims, sign)
		}
	}
	classes := []*Class{
		{Name: "valid", Weight: 40, Want: http.StatusOK, Describe: "valid token (pool of distinct tokens)", pool: valid},
		{Name: "expired", Weight: 6, Want: http.StatusUnauthorized, Describe: "expired an hour ago",
			pool: pool(func() (string, error) {
				return iss.Sign(stacks.Claims(s.URL, time.Hour).IssuedAt(now.Add(-2 * time.Hour)))
			})},
		{Name: "not_yet_valid", Weight: 3, Want: http.StatusUnauthorized, Describe: "nbf an hour ahead",
			pool: pool(func() (string, error) {
				return iss.Sign(stacks.Claims(s.URL, 2*time.Hour).NotBefore(now.Add(time.Hour)))
			})},
		{Name: "wrong_audience", Weight: 6, Want: http.StatusUnauthorized, Describe: "minted for another resource",
			pool: pool(func() (string, error) { return iss.Sign(stacks.Claims(s.URL+"-other", time.Hour)) })},
		{Name: "wrong_issuer", Weight: 3, Want: http.StatusUnauthorized, Describe: "trusted key, untrusted iss",
			pool: pool(func() (string, error) {
				return iss.Sign(stacks.Claims(s.URL, time.Hour).WithIssuer("http://evil.local"))
			})},
		{Name: "no_expiry", Weight: 3, Want: http.StatusUnauthorized, Describe: "no exp claim",
			pool: pool(func() (string, error) { return iss.Sign(stacks.Claims(s.URL, time.Hour).WithoutExpiry()) })},
		{Name: "insufficient_scope", Weight: 6, Want: http.StatusForbidden, Describe: `scope "other" calling echo`,
			pool: pool(func() (string, error) {
				return iss.Sign(stacks.Claims(s.URL, time.Hour).AddClaim("scope", "other"))
			})},
		{Name: "foreign_key", Weight: 4, Want: http.StatusUnauthorized, Describe: "right claims, signed by another RSA key",
			pool: pool(func() (string, error) { return foreign.Sign(stacks.Claims(s.URL, time.Hour)) })},
		{Name: "alg_none", Weight: 4, Want: http.StatusUnauthorized, Describe: `alg "none", empty signature`,
			pool: pool(unsigned("none", func(string) string { return "" }))},
		{Name: "hs256_confusion", Weight: 4, Want: http.StatusUnauthorized, Describe: "HS256 keyed with the RSA public key PEM",
			pool: pool(unsigned("HS256", func(in string) string {
				sig, _ := jwt.SigningMethodHS256.Sign(in, pemKey)
				return base64.RawURLEncoding.EncodeToString(sig)
			}))},
		{Name: "tampered", Weight: 4, Want: http.StatusUnauthorized, Describe: "valid token with scope rewritten, signature kept",
			pool: pool(func() (string, error) {
				t, err := iss.Sign(stacks.Claims(s.URL, time.Hour).AddClaim("scope", "other"))
				if err != nil {
					return "", err
				}
				parts := strings.Split(t, ".")
				claims := stacks.Claims(s.URL, time.Hour).Map()
				payload, err := json.Marshal(claims)
				parts[1] = base64.RawURLEncoding.EncodeToString(payload)
				return strings.Join(parts, "."), err
			})},
		{Name: "truncated", Weight: 4, Want: http.StatusUnauthorized, Describe: "valid token cut short (fresh per request)",
			gen: func(r *rand.Rand) string {
				t := valid[r.IntN(len(valid))]
				return t[:1+r.IntN(len(t)-1)]
			}},
		{Name: "garbage", Weight: 5, Want: http.StatusUnauthorized, Describe: "random bytes, base64url (fresh per request)",
			gen: func(r *rand.Rand) string {
				b := make([]byte, 8+r.IntN(700))
				for i := range b {
					b[i] = byte(r.Uint32())
				}
				return base64.RawURLEncoding.EncodeToString(b)
			}},
		{Name: "garbage_jwt", Weight: 4, Want: http.StatusUnauthorized, Describe: "three random base64url segments (fresh per request)",
			gen: func(r *rand.Rand) string {
				seg := func() string {
					b := make([]byte, 1+r.IntN(200))
					for i := range b {
						b[i] = byte(r.Uint32())
					}
					return base64.RawURLEncoding.EncodeToString(b)
				}
				return seg() + "." + seg() + "." + seg()
			}},
		{Name: "no_token", Weight: 4, Want: http.StatusUnauthorized, Describe: "no Authorization header",
			gen: func(*rand.Rand) string { return "" }},
	}
	return classes, errors.Join(errs...)
}

func publicPEM(iss *stacks.Issuer) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(iss.PublicKey())
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// craft encodes header and claims as a JWT whose signature is sign(signingInput).
func craft(header, claims map[string]any, sign func(string) string) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	return in + "." + sign(in), nil
}

type tally struct {
	statuses []map[int]int64 // per class
	wrong    []int64
	unexp    int64
	transp   int64
	samples  []string
}

const maxSamples = 8

func (t *tally) sample(format string, args ...any) {
	if len(t.samples) < maxSamples {
		t.samples = append(t.samples, fmt.Sprintf(format, args...))
	}
}

// Run attacks cfg.Stack for cfg.Duration and reports what it saw. It stops early when ctx
// is done; requests interrupted then are not counted.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if cfg.Stack == nil {
		return Report{}, errors.New("soak: Stack is required")
	}
	if !stacks.Authenticated(cfg.Stack.Name) {
		return Report{}, fmt.Errorf("soak: stack %q does not authenticate; every bad token would be a wrong decision", cfg.Stack.Name)
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 30 * time.Second
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 32
	}
	if cfg.ProgressEvery <= 0 {
		cfg.ProgressEvery = 10 * time.Second
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	classes, err := Classes(cfg.Stack, cfg.PoolSize)
	if err != nil {
		return Report{}, err
	}
	var cum []int
	total := 0
	for _, c := range classes {
		total += c.Weight
		cum = append(cum, total)
	}

	client := load.NewClient(cfg.Concurrency, 10*time.Second)
	defer client.CloseIdleConnections()
	start := time.Now()
	end := start.Add(cfg.Duration)
	tallies := make([]tally, cfg.Concurrency)

	stopProgress := make(chan struct{})
	var progressWG sync.WaitGroup
	if cfg.Progress != nil {
		progressWG.Go(func() { progress(cfg.Progress, cfg.ProgressEvery, start, stopProgress) })
	}

	var wg sync.WaitGroup
	for w := range tallies {
		t := &tallies[w]
		t.statuses = make([]map[int]int64, len(classes))
		for i := range t.statuses {
			t.statuses[i] = map[int]int64{}
		}
		t.wrong = make([]int64, len(classes))
		r := rand.New(rand.NewPCG(cfg.Seed, uint64(w)))
		wg.Go(func() {
			var seq int64
			for ctx.Err() == nil && time.Now().Before(end) {
				ci, _ := slices.BinarySearch(cum, 1+r.IntN(total))
				c := classes[ci]
				seq++
				id := int64(w)<<32 | seq
				status, ctype, body, err := send(ctx, client, cfg.Stack.URL, c.token(r), id)
				if ctx.Err() != nil {
					return
				}
				judge(t, ci, c, id, status, ctype, body, err)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stopProgress)
	progressWG.Wait()

	rep := Report{Stack: cfg.Stack.Name, Concurrency: cfg.Concurrency, DurationS: round3(elapsed.Seconds())}
	for i, c := range classes {
		cr := ClassReport{Name: c.Name, Want: c.Want, Statuses: map[string]int64{}}
		for w := range tallies {
			for st, n := range tallies[w].statuses[i] {
				cr.Statuses[strconv.Itoa(st)] += n
				cr.Requests += n
			}
			cr.Wrong += tallies[w].wrong[i]
		}
		rep.Requests += cr.Requests
		rep.WrongDecisions += cr.Wrong
		rep.Classes = append(rep.Classes, cr)
	}
	for w := range tallies {
		rep.Unexpected += tallies[w].unexp
		rep.TransportErrors += tallies[w].transp
		for _, s := range tallies[w].samples {
			if len(rep.Samples) < maxSamples {
				rep.Samples = append(rep.Samples, s)
			}
		}
	}
	if elapsed > 0 {
		rep.RPS = float64(int64(float64(rep.Requests)/elapsed.Seconds()*10)) / 10
	}
	client.CloseIdleConnections()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rep.HeapInUseKiB = int64(ms.HeapInuse / 1024)
	rep.Goroutines = runtime.NumGoroutine()
	rep.PeakRSSKiB, rep.RSSKiB = ProcMemory()
	return rep, nil
}

func judge(t *tally, ci int, c *Class, id int64, status int, ctype string, body []byte, err error) {
	if err != nil {
		t.statuses[ci][0]++
		t.transp++
		t.sample("%s: transport error: %v", c.Name, err)
		return
	}
	t.statuses[ci][status]++
	switch {
	case c.Valid():
		if cerr := load.CheckEcho(status, ctype, body, id, "hi"); cerr != nil {
			t.wrong[ci]++
			t.sample("WRONG %s: %v", c.Name, cerr)
		}
	case status >= 200 && status < 300:
		t.wrong[ci]++
		t.sample("WRONG %s: answered %d: %.200s", c.Name, status, body)
	case status != c.Want:
		t.unexp++
		t.sample("unexpected %s: answered %d, want %d: %.200s", c.Name, status, c.Want, body)
	}
}

func send(ctx context.Context, client *http.Client, url, token string, id int64) (int, string, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(load.CallBody(id, "hi")))
	if err != nil {
		return 0, "", nil, err
	}
	load.SetHeaders(req.Header, token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, resp.Header.Get("Content-Type"), body, err
}

func progress(w io.Writer, every time.Duration, start time.Time, stop <-chan struct{}) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			peak, rss := ProcMemory()
			fmt.Fprintf(w, "soak: %6.1fs  rss %d KiB  peak %d KiB  goroutines %d\n",
				time.Since(start).Seconds(), rss, peak, runtime.NumGoroutine())
		}
	}
}

// ProcMemory returns the process's peak resident set size (VmHWM) and current one (VmRSS)
// in KiB, read from /proc/self/status; zeros where that file does not exist.
func ProcMemory() (peakKiB, rssKiB int64) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	for line := range strings.Lines(string(b)) {
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		switch name {
		case "VmHWM":
			peakKiB = n
		case "VmRSS":
			rssKiB = n
		}
	}
	return peakKiB, rssKiB
}

func round3(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }
