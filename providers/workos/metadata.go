package workos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/mcpauth/mcpauth/internal/upstream"
)

// Lifetimes of the cached authorization server metadata.
const (
	// DefaultMetadataTTL is how long the metadata is kept when AuthKit's answer has no
	// Cache-Control max-age.
	DefaultMetadataTTL = time.Hour
	// MinMetadataTTL is the shortest time the metadata is kept, whatever max-age says.
	MinMetadataTTL = time.Minute
	// MaxMetadataTTL is the longest time the metadata is kept, whatever max-age says.
	MaxMetadataTTL = 24 * time.Hour
	// MetadataRetryInterval is how long the proxy waits after a failed fetch before
	// fetching again; meanwhile it serves the last good copy (or 503 without one).
	MetadataRetryInterval = 10 * time.Second
)

// MetadataProxy is an http.Handler that serves AuthKit's OAuth 2.0 authorization server
// metadata (RFC 8414), fetched from AuthKitDomain + "/.well-known/oauth-authorization-server"
// and cached, so that an MCP server can answer /.well-known/oauth-authorization-server
// itself (mount it as hub.Config.AuthorizationServerMetadata) for clients that look
// for the document at the resource server's origin.
//
// The document is served verbatim (application/json, CORS-enabled, GET and HEAD). It is
// kept for the max-age of AuthKit's Cache-Control (minus Age), clamped to [1m, 24h], 1h
// when absent. A request arriving when the copy is stale fetches it again (concurrent
// requests share one fetch); if that fetch fails, the last good copy is served and no
// fetch is tried for MetadataRetryInterval. Only when no copy was ever fetched does the
// proxy answer 503 temporarily_unavailable with Retry-After. A fetched document is used
// only if it is a JSON object whose "issuer" is exactly the AuthKit issuer.
//
// A MetadataProxy starts no goroutine; call Refresh at startup to warm it. It is safe
// for concurrent use.
type MetadataProxy struct {
	url     string
	issuer  string
	client  *upstream.Client
	now     func() time.Time
	logger  *slog.Logger
	group   singleflight.Group
	fetches atomic.Int64

	mu      sync.Mutex
	doc     []byte
	expires time.Time
	retryAt time.Time // no fetch before this time, after a failure
}

// MetadataHandler returns a MetadataProxy for the AuthKit domain (required). It does not
// fetch anything yet.
func (c Config) MetadataHandler() (*MetadataProxy, error) {
	if err := c.validateAuthKit(); err != nil {
		return nil, err
	}
	s := c.settings()
	return &MetadataProxy{
		url:    s.issuer + "/.well-known/oauth-authorization-server",
		issuer: s.issuer,
		client: s.client,
		now:    s.now,
		logger: s.logger,
	}, nil
}

// Issuer returns the AuthKit issuer whose metadata the proxy serves.
func (p *MetadataProxy) Issuer() string { return p.issuer }

// Fetches returns how many times the proxy has asked AuthKit for the document.
func (p *MetadataProxy) Fetches() int64 { return p.fetches.Load() }

// Refresh fetches the document now, whether or not the cached copy is fresh, and
// reports why it failed (the last good copy is kept then).
func (p *MetadataProxy) Refresh(ctx context.Context) error {
	ch := p.group.DoChan("fetch", func() (any, error) { return nil, p.fetch(context.WithoutCancel(ctx)) })
	select {
	case r := <-ch:
		return r.Err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Document returns the current metadata document and how long it stays fresh (0 when
// a stale copy is served because AuthKit could not be reached). It fetches the
// document when the copy is stale and no recent fetch failed. The error is non-nil only
// when no copy was ever fetched; it then carries the time to wait as a
// *MetadataUnavailableError.
func (p *MetadataProxy) Document(ctx context.Context) ([]byte, time.Duration, error) {
	if doc, fresh, retry, ok := p.current(); ok || retry > 0 {
		if doc == nil {
			return nil, 0, &MetadataUnavailableError{RetryAfter: retry}
		}
		return doc, fresh, nil
	}
	ch := p.group.DoChan("fetch", func() (any, error) {
		// A fetch may have finished between our look and joining the group.
		if _, _, retry, ok := p.current(); ok || retry > 0 {
			return nil, nil
		}
		return nil, p.fetch(context.WithoutCancel(ctx))
	})
	var cause error
	select {
	case r := <-ch:
		cause = r.Err
	case <-ctx.Done():
		cause = ctx.Err()
	}
	p.mu.Lock()
	doc, expires := p.doc, p.expires
	p.mu.Unlock()
	if doc == nil {
		return nil, 0, &MetadataUnavailableError{RetryAfter: MetadataRetryInterval, Err: cause}
	}
	return doc, max(expires.Sub(p.now()), 0), nil
}

// current reports the cached copy: ok when it is fresh; otherwise retry > 0 when a fetch
// failed recently and no new one is due yet (doc is then the stale copy, or nil).
func (p *MetadataProxy) current() (doc []byte, fresh, retry time.Duration, ok bool) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.doc != nil && now.Before(p.expires) {
		return p.doc, p.expires.Sub(now), 0, true
	}
	if now.Before(p.retryAt) {
		return p.doc, 0, p.retryAt.Sub(now), false
	}
	return nil, 0, 0, false
}

// fetch asks AuthKit for the document and stores it, or records the failure.
func (p *MetadataProxy) fetch(ctx context.Context) error {
	p.fetches.Add(1)
	doc, ttl, err := p.get(ctx)
	now := p.now()
	p.mu.Lock()
	if err != nil {
		p.retryAt = now.Add(MetadataRetryInterval)
		stale := p.doc != nil
		p.mu.Unlock()
		p.logger.Warn("workos: fetching the AuthKit authorization server metadata failed",
			"url", p.url, "error", err, "serving_stale_copy", stale)
		return err
	}
	p.doc, p.expires, p.retryAt = doc, now.Add(ttl), time.Time{}
	p.mu.Unlock()
	return nil
}

func (p *MetadataProxy) get(ctx context.Context) ([]byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := p.client.Do(req, "")
	if err != nil {
		return nil, 0, err
	}
	if resp.Status != http.StatusOK {
		return nil, 0, fmt.Errorf("AuthKit answered HTTP %d", resp.Status)
	}
	body := resp.Body
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return nil, 0, errors.New("the document is not a JSON object")
	}
	var iss string
	if err := json.Unmarshal(m["issuer"], &iss); err != nil || iss != p.issuer {
		return nil, 0, fmt.Errorf("the document's issuer is not %q", p.issuer)
	}
	return bytes.TrimSpace(body), metadataTTL(resp.Header), nil
}

// metadataTTL reads max-age (minus Age) from the response, clamped to
// [MinMetadataTTL, MaxMetadataTTL]; DefaultMetadataTTL when there is none. no-store and
// no-cache count as max-age=0.
func metadataTTL(h http.Header) time.Duration {
	ttl, found := DefaultMetadataTTL, false
	for _, line := range h.Values("Cache-Control") {
		for d := range strings.SplitSeq(line, ",") {
			name, value, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "max-age":
				if n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(value), `"`), 10, 64); err == nil && !found {
					ttl, found = time.Duration(min(max(n, 0), int64(MaxMetadataTTL/time.Second)))*time.Second, true
				}
			case "no-store", "no-cache":
				ttl, found = 0, true
			}
		}
	}
	if found {
		if age, err := strconv.ParseInt(strings.TrimSpace(h.Get("Age")), 10, 64); err == nil && age > 0 {
			ttl -= time.Duration(min(age, int64(MaxMetadataTTL/time.Second))) * time.Second
		}
	}
	return min(max(ttl, MinMetadataTTL), MaxMetadataTTL)
}

// MetadataUnavailableError is returned by MetadataProxy.Document when no copy of the
// metadata was ever fetched.
type MetadataUnavailableError struct {
	// RetryAfter is when a new fetch will be tried.
	RetryAfter time.Duration
	// Err is the cause of the last failure, when known.
	Err error
}

func (e *MetadataUnavailableError) Error() string {
	msg := "workos: the AuthKit authorization server metadata is unavailable"
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *MetadataUnavailableError) Unwrap() error { return e.Err }

// ServeHTTP answers GET and HEAD with the metadata document (200, or 503 when no copy
// was ever fetched), OPTIONS with the CORS preflight answer, and other methods with 405.
func (p *MetadataProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "*")
		h.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		h.Set("Allow", "GET, HEAD, OPTIONS")
		writeJSONError(w, http.StatusMethodNotAllowed, "invalid_request", "use GET")
		return
	}
	doc, fresh, err := p.Document(r.Context())
	if err != nil {
		var ue *MetadataUnavailableError
		retry := MetadataRetryInterval
		if errors.As(err, &ue) && ue.RetryAfter > 0 {
			retry = ue.RetryAfter
		}
		h.Set("Retry-After", strconv.Itoa(int((retry+time.Second-1)/time.Second)))
		h.Set("Cache-Control", "no-store")
		writeJSONError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the authorization server metadata could not be fetched from WorkOS AuthKit; try again later")
		return
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(fresh/time.Second)))
	h.Set("Content-Length", strconv.Itoa(len(doc)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(doc)
	}
}

func writeJSONError(w http.ResponseWriter, status int, code, desc string) {
	b, _ := json.Marshal(map[string]string{"error": code, "error_description": desc})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
