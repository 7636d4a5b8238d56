package middleware

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mcpauth/mcpauth/audit"
)

// OriginConfig configures Origin validation.
type OriginConfig struct {
	// Allowed lists the origins (scheme://host[:port]) allowed to call, typically the
	// service's own origin plus the browser clients' origins; "*" allows any origin.
	Allowed []string
	// Service names the service in audit events.
	Service string
	// Audit receives the event of a refused request (default audit.NewSlogSink(nil)).
	Audit audit.Sink
}

// Origin returns middleware that validates the Origin header of every request, as the
// MCP Streamable HTTP transport requires against DNS rebinding: a request without an
// Origin header (a non-browser client) passes, one whose Origin is allowed passes, and
// any other gets 403 access_denied, whether CORS is configured or not. Install it
// outside Bearer: a refused request never reaches it, and this middleware records the
// request's one audit event.
func Origin(cfg OriginConfig) func(http.Handler) http.Handler {
	if cfg.Audit == nil {
		cfg.Audit = audit.NewSlogSink(nil)
	}
	anyOrigin := slices.Contains(cfg.Allowed, "*")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			origin := headerValue(r.Header, originHeader)
			if origin == "" || anyOrigin || slices.ContainsFunc(cfg.Allowed, func(o string) bool { return strings.EqualFold(o, origin) }) {
				next.ServeHTTP(w, r)
				return
			}
			desc := "origin " + origin + " is not allowed to call this MCP server"
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusForbidden)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "access_denied", "error_description": desc})
			if audit.Enabled(r.Context(), cfg.Audit, audit.Deny) {
				cfg.Audit.Record(r.Context(), audit.Event{
					Time: time.Now(), Decision: audit.Deny, Reason: audit.ReasonOriginNotAllowed, Description: desc,
					Service: cfg.Service, HTTPMethod: r.Method, RemoteAddr: r.RemoteAddr,
					RequestID: r.Header.Get("X-Request-Id"), Status: http.StatusForbidden,
				})
			}
		})
	}
}
