package main

import (
	"context"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/audit"
)

// aggregateLabel is the service label of the aggregate at /mcp (a service name cannot
// begin with "_").
const aggregateLabel = "_aggregate"

func serviceLabel(name string) string {
	if name == "" {
		return aggregateLabel
	}
	return name
}

// metrics are the gateway's Prometheus metrics, on a registry of their own.
type metrics struct {
	reg       *prometheus.Registry
	decisions *prometheus.CounterVec
	up        *prometheus.GaugeVec
	latency   *prometheus.HistogramVec

	mu     sync.Mutex
	caches map[string]*mcpauth.CachedVerifier // by service label

	hitsDesc, missesDesc *prometheus.Desc
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcpauth_decisions_total",
			Help: "Authorization decisions (one per request), by service, decision and reason (empty for allow).",
		}, []string{"service", "decision", "reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mcpauth_upstream_request_seconds",
			Help:    "Time the upstream MCP server took to answer a forwarded request, by method and outcome (ok or error).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"service", "method", "outcome"}),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mcpauth_upstream_up",
			Help: "1 while the upstream MCP server is connected, 0 before its first connection and after it is lost.",
		}, []string{"service"}),
		caches:     map[string]*mcpauth.CachedVerifier{},
		hitsDesc:   prometheus.NewDesc("mcpauth_verification_cache_hits_total", "Token verifications answered from the service's cache.", []string{"service"}, nil),
		missesDesc: prometheus.NewDesc("mcpauth_verification_cache_misses_total", "Token verifications not in the service's cache.", []string{"service"}, nil),
	}
	m.reg.MustRegister(m.decisions, m.up, m.latency, cacheCollector{m},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// handler serves the metrics in the Prometheus text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// sink counts every event, then gives it to next. It does not implement
// audit.Enabler, so events are built even when next would not log them.
func (m *metrics) sink(next audit.Sink) audit.Sink {
	return audit.SinkFunc(func(ctx context.Context, e audit.Event) {
		m.decisions.WithLabelValues(serviceLabel(e.Service), string(e.Decision), string(e.Reason)).Inc()
		next.Record(ctx, e)
	})
}

// addCache reports the counters of the verified-token cache of a service.
func (m *metrics) addCache(service string, c *mcpauth.CachedVerifier) {
	m.mu.Lock()
	m.caches[serviceLabel(service)] = c
	m.mu.Unlock()
}

// remove drops the series of a service that is no longer mounted.
func (m *metrics) remove(service string) {
	m.up.DeleteLabelValues(service)
	m.mu.Lock()
	delete(m.caches, serviceLabel(service))
	m.mu.Unlock()
}

// cacheCollector reads the caches' counters at each scrape.
type cacheCollector struct{ m *metrics }

func (c cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.m.hitsDesc
	ch <- c.m.missesDesc
}

func (c cacheCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	names := make([]string, 0, len(c.m.caches))
	for n := range c.m.caches {
		names = append(names, n)
	}
	sort.Strings(names)
	stats := make([]mcpauth.CacheStats, len(names))
	for i, n := range names {
		stats[i] = c.m.caches[n].Stats()
	}
	c.m.mu.Unlock()
	for i, n := range names {
		ch <- prometheus.MustNewConstMetric(c.m.hitsDesc, prometheus.CounterValue, float64(stats[i].Hits), n)
		ch <- prometheus.MustNewConstMetric(c.m.missesDesc, prometheus.CounterValue, float64(stats[i].Misses), n)
	}
}

// upstream registers the service's gauge at 0 and returns the callbacks that track it
// (gateway.Config.OnConnect and OnDisconnect).
func (m *metrics) upstream(service string) (connected func(), disconnected func(error)) {
	g := m.up.WithLabelValues(service)
	g.Set(0)
	return func() { g.Set(1) }, func(error) { g.Set(0) }
}

// requests returns the gateway.Config.OnRequest of the service: the latency histogram.
func (m *metrics) requests(service string) func(method string, took time.Duration, err error) {
	return func(method string, took time.Duration, err error) {
		outcome := "ok"
		if err != nil {
			outcome = "error"
		}
		m.latency.WithLabelValues(service, method, outcome).Observe(took.Seconds())
	}
}
