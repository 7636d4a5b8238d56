package hub

import (
	"net/http"
	"slices"
	"strings"
)

// Headers a browser-based MCP client (MCP Inspector in direct mode, web apps) sends and
// must be allowed to read. Authorization is never covered by a "*" allow-list, so it is
// named.
const (
	corsAllowHeaders  = "Authorization, Content-Type, Accept, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID"
	corsExposeHeaders = "WWW-Authenticate, Mcp-Session-Id, Mcp-Protocol-Version, Retry-After"
	corsAllowMethods  = "GET, POST, DELETE, OPTIONS"
)

// cors wraps a service handler with CORS for the configured origins. It answers
// preflight requests itself (they carry no credentials, so they never reach the bearer
// middleware), adds the CORS headers to every answer, 401 challenges included, so a
// browser client can read WWW-Authenticate and start its sign-in, and refuses with 403 a
// request whose Origin is not allowed (MCP's Origin validation against DNS rebinding).
// Requests without an Origin header (non-browser clients) pass unchanged.
func (h *Hub) cors(next http.Handler) http.Handler {
	if len(h.cfg.CORSOrigins) == 0 {
		return next
	}
	anyOrigin := slices.Contains(h.cfg.CORSOrigins, "*")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		if !anyOrigin && !slices.ContainsFunc(h.cfg.CORSOrigins, func(o string) bool { return strings.EqualFold(o, origin) }) {
			writeJSON(w, http.StatusForbidden, map[string]string{
				"error":             "access_denied",
				"error_description": "origin " + origin + " is not allowed",
			})
			return
		}
		hd := w.Header()
		if anyOrigin {
			hd.Set("Access-Control-Allow-Origin", "*")
		} else {
			hd.Set("Access-Control-Allow-Origin", origin)
			hd.Add("Vary", "Origin")
		}
		hd.Set("Access-Control-Expose-Headers", corsExposeHeaders)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			hd.Set("Access-Control-Allow-Methods", corsAllowMethods)
			hd.Set("Access-Control-Allow-Headers", corsAllowHeaders)
			hd.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
