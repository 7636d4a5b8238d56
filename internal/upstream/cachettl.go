package upstream

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// CacheTTL is how long a fetched document may be kept, per its HTTP cache headers (RFC
// 9111): Cache-Control max-age (the first one) minus Age; else Expires minus Date (now
// when Date is absent or invalid; an invalid Expires means already expired); def when
// neither is present. no-store and no-cache mean min, so that a client cannot force a
// fetch on every request. The result is clamped into [min, max].
func CacheTTL(h http.Header, now time.Time, def, minTTL, maxTTL time.Duration) time.Duration {
	ttl, maxAge := time.Duration(0), false
	for _, line := range h.Values("Cache-Control") {
		for d := range strings.SplitSeq(line, ",") {
			name, value, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-store", "no-cache":
				return minTTL
			case "max-age":
				n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(value), `"`), 10, 64)
				if err == nil && !maxAge {
					ttl, maxAge = time.Duration(min(max(n, 0), int64(maxTTL/time.Second)))*time.Second, true
				}
			}
		}
	}
	switch {
	case maxAge:
	case h.Get("Expires") != "":
		exp, err := http.ParseTime(h.Get("Expires"))
		if err != nil {
			return minTTL
		}
		date, err := http.ParseTime(h.Get("Date"))
		if err != nil {
			date = now
		}
		ttl = min(max(exp.Sub(date), 0), maxTTL)
	default:
		return min(max(def, minTTL), maxTTL)
	}
	if age, err := strconv.ParseInt(strings.TrimSpace(h.Get("Age")), 10, 64); err == nil && age > 0 {
		ttl -= time.Duration(min(age, int64(maxTTL/time.Second))) * time.Second
	}
	return min(max(ttl, minTTL), maxTTL)
}
