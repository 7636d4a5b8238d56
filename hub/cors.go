package hub

import (
	"net/http"
	"slices"

	"github.com/mcpauth/mcpauth/middleware"
)

// Headers a browser-based MCP client (MCP Inspector in direct mode, web apps) sends and
// must be allowed to read. Authorization is never covered by a "*" allow-list, so it is
// named.
const (
	corsAllowHeaders  = "Authorization, Content-Type, Accept, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID"
	corsExposeHeaders = "WWW-Authenticate, Mcp-Session-Id, Mcp-Protocol-Version, Retry-After"
	corsAllowMethods  = "GET, POST, DELETE, OPTIONS"
)

// guard wraps a service handler with Origin validation (middleware.Origin: the hub's own
// origin and CORSOrigins pass, any other Origin gets 403, CORS configured or not) and,
// when CORSOrigins is set, CORS: preflight requests are answered here (they carry no
// credentials, so they never reach the bearer middleware), and the CORS headers go on
// every answer, 401 challenges included, so a browser client can read WWW-Authenticate
// and start its sign-in. Requests without an Origin header (non-browser clients) pass.
func (h *Hub) guard(service string, next http.Handler) http.Handler {
	allowed := append([]string{h.base.Scheme + "://" + h.base.Host}, h.cfg.CORSOrigins...)
	check := middleware.Origin(middleware.OriginConfig{Allowed: allowed, Service: service, Audit: h.cfg.Audit})
	if len(h.cfg.CORSOrigins) == 0 {
		return check(next)
	}
	anyOrigin := slices.Contains(h.cfg.CORSOrigins, "*")
	return check(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
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
	}))
}
