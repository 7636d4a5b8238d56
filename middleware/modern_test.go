package middleware_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth/audit"
	"github.com/mcpauth/mcpauth/middleware"
)

// modern builds a request of the stateless protocol (2026-07-28): no initialize, the
// version, client and capabilities in every request's _meta.
func modern(id int, method, params string) string {
	meta := `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}`
	if params == "" {
		params = "{" + meta + "}"
	} else {
		params = params[:len(params)-1] + "," + meta + "}"
	}
	return `{"jsonrpc":"2.0","id":` + strconv.Itoa(id) + `,"method":"` + method + `","params":` + params + `}`
}

func modernHeaders(method, name string) []string {
	h := []string{"Mcp-Protocol-Version", "2026-07-28", "Mcp-Method", method}
	if name != "" {
		h = append(h, "Mcp-Name", name)
	}
	return h
}

// Stateless requests get the same decisions and challenges as those of a session.
func TestStatelessProtocolSameDecisions(t *testing.T) {
	h, sink := newHandler(t, func(c *middleware.Config) {
		c.ChallengeScopes = func() []string { return []string{"notes:read", "notes:write"} }
	})

	w := do(h, "POST", "/notes/mcp", "", modern(1, "server/discover", ""), modernHeaders("server/discover", "")...)
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Equal(t, `Bearer resource_metadata="`+prm+`", scope="notes:read notes:write"`, w.Header().Get("WWW-Authenticate"))

	w = do(h, "POST", "/notes/mcp", "bob-token", modern(1, "server/discover", ""), modernHeaders("server/discover", "")...)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Empty(t, w.Header().Get("Mcp-Session-Id"), "the stateless protocol has no sessions")

	w = do(h, "POST", "/notes/mcp", "bob-token", modern(2, "tools/call", `{"name":"add_note","arguments":{"text":"x"}}`), modernHeaders("tools/call", "add_note")...)
	assertRefusal(t, w, http.StatusForbidden, float64(2), "insufficient_scope",
		`Bearer resource_metadata="`+prm+`", scope="notes:read notes:write", error="insufficient_scope", error_description="tool 'add_note' requires notes:write"`)
	ev := sink.Events()
	assert.Equal(t, "tools/call", ev[len(ev)-1].RPCMethod)
	assert.Equal(t, "add_note", ev[len(ev)-1].Target)

	w = do(h, "POST", "/notes/mcp", "bob-token", modern(3, "tools/call", `{"name":"list_notes"}`), modernHeaders("tools/call", "list_notes")...)
	assert.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Contains(t, w.Body.String(), `"text":"notes"`)

	w = do(h, "POST", "/notes/mcp", "bob-token", modern(4, "prompts/get", `{"name":"summary"}`), modernHeaders("prompts/get", "summary")...)
	assert.Equal(t, http.StatusForbidden, w.Code, w.Body.String())
	w = do(h, "POST", "/notes/mcp", "bob-token", modern(5, "resources/read", `{"uri":"notes://secret"}`), modernHeaders("resources/read", "notes://secret")...)
	assert.Equal(t, http.StatusForbidden, w.Code, w.Body.String())
}

// The per-request headers are never trusted to decide: a header naming an allowed tool
// while the body calls a forbidden one changes nothing (mcp-go refuses the mismatch, and
// the decision is on the body's tool).
func TestStatelessHeadersCannotSmuggleACall(t *testing.T) {
	h, sink := newHandler(t, nil)
	w := do(h, "POST", "/notes/mcp", "bob-token", modern(6, "tools/call", `{"name":"add_note","arguments":{"text":"x"}}`), modernHeaders("tools/call", "list_notes")...)
	assert.Equal(t, http.StatusBadRequest, w.Code, w.Body.String())
	assert.Contains(t, w.Body.String(), `"code":-32020`, "mcp-go's HeaderMismatch")
	assert.NotContains(t, w.Body.String(), "added")
	for _, e := range sink.Events() {
		assert.False(t, e.Decision == audit.Allow && e.Target == "add_note", "an allow was recorded for add_note")
	}
	w = do(h, "POST", "/notes/mcp", "bob-token", modern(7, "tools/call", `{"name":"add_note","arguments":{"text":"x"}}`), modernHeaders("tools/list", "")...)
	assert.NotEqual(t, http.StatusOK, w.Code, w.Body.String())
	assert.NotContains(t, w.Body.String(), "added")
}

// subscriptions/listen (2026-07-28) subscribes to resources like resources/subscribe,
// and is decided the same way.
func TestStatelessListenSubscriptionsAreDecided(t *testing.T) {
	h, sink := newHandler(t, nil)
	w := do(h, "POST", "/notes/mcp", "bob-token", modern(8, "subscriptions/listen", `{"notifications":{"resourceSubscriptions":["notes://secret"]}}`), modernHeaders("subscriptions/listen", "")...)
	assertRefusal(t, w, http.StatusForbidden, float64(8), "insufficient_scope",
		`Bearer resource_metadata="`+prm+`", scope="notes:read notes:write", error="insufficient_scope", error_description="resource 'notes://secret' requires notes:write"`)
	ev := sink.Events()
	assert.Equal(t, "subscriptions/listen", ev[len(ev)-1].RPCMethod)
	assert.Equal(t, "notes://secret", ev[len(ev)-1].Target)
}
