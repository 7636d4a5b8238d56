package main

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"

	"github.com/mcpauth/mcpauth/audit"
)

// The upstream gauge follows the gateway's OnConnect and OnDisconnect.
func TestUpstreamGauge(t *testing.T) {
	m := newMetrics()
	connected, disconnected := m.upstream("svc")
	g := m.up.WithLabelValues("svc")
	assert.Equal(t, 0.0, testutil.ToFloat64(g), "down until the first connection")
	connected()
	assert.Equal(t, 1.0, testutil.ToFloat64(g))
	disconnected(errors.New("exit"))
	assert.Equal(t, 0.0, testutil.ToFloat64(g))
	connected()
	assert.Equal(t, 1.0, testutil.ToFloat64(g))
}

func TestDecisionsSink(t *testing.T) {
	m := newMetrics()
	var rec audit.Recorder
	s := m.sink(&rec)
	s.Record(context.Background(), audit.Event{Service: "", Decision: audit.Allow})
	s.Record(context.Background(), audit.Event{Service: "a", Decision: audit.Deny, Reason: audit.ReasonTenantNotAllowed})
	assert.Len(t, rec.Events(), 2, "passed on")
	assert.Equal(t, 1.0, testutil.ToFloat64(m.decisions.WithLabelValues("_aggregate", "allow", "")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.decisions.WithLabelValues("a", "deny", "tenant_not_allowed")))
	assert.Equal(t, "a", serviceOf("https://h.example.com/base", "https://h.example.com/base/a/mcp"))
	assert.Equal(t, "", serviceOf("https://h.example.com/base", "https://h.example.com/base/mcp"))
}
