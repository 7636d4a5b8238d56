package oauthproxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/mcpauth/mcpauth/internal/upstream"
)

// Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document, MCP
// authorization 2025-11-25): a client_id that is an https URL names a JSON document of
// client metadata, which the server fetches (guarded against SSRF) and caches.
//
// Decisions:
//   - A document that cannot be used (fetch refused or failed, redirect, status other
//     than 200 and below 500, wrong Content-Type, too large, not JSON, client_id
//     mismatch, non-public address) is invalid_client, status 400. A failure that may
//     pass by itself (timeout, DNS timeout, HTTP 5xx or 429) is temporarily_unavailable,
//     status 503, with Retry-After. Errors found by clientMetadata.validate keep their
//     codes (invalid_redirect_uri, invalid_client_metadata), as does a document holding
//     client_secret or client_secret_expires_at (invalid_client_metadata). Descriptions
//     written here never quote the document.
//   - A failure is cached for cimdFailureTTL (clamped to at most MinTTL), so a broken or
//     slow host is not fetched again by every request meanwhile.
//   - A document is cached for its Cache-Control max-age minus Age; without max-age, for
//     Expires minus Date (minus Age); without either, for MinTTL. no-store and no-cache
//     are read as "as short as allowed": MinTTL. Every lifetime is clamped into
//     [MinTTL, MaxTTL], so a client cannot make the server fetch its document on every
//     request.
//   - Concurrent lookups of one URL share one fetch; the fetch is not cancelled when the
//     caller that started it goes away (it is bounded by Timeout).

// cimdFailureTTL is how long a failed fetch is remembered (at most MinTTL).
const cimdFailureTTL = 10 * time.Second

// cimdConfig configures a cimdFetcher; zero fields take the defaults.
type cimdConfig struct {
	// Timeout bounds the whole fetch: connection, TLS handshake, headers and body
	// (default 5s).
	Timeout time.Duration
	// MaxBytes is the largest document accepted (default 10 KiB).
	MaxBytes int64
	// MinTTL and MaxTTL bound how long a document is cached (defaults 1m and 24h);
	// MinTTL is also the lifetime of a document served without cache headers.
	MinTTL, MaxTTL time.Duration
	// AllowedHosts are host:port values (as in the client_id URL, exactly) that may
	// resolve to loopback, private or other non-public addresses. Tests only.
	AllowedHosts []string
	// RootCAs verifies the document servers' certificates; nil means the system roots.
	RootCAs *x509.CertPool
	// Now is the clock for cache lifetimes (default time.Now).
	Now func() time.Time
	// MaxEntries bounds the cache (default 1000): when full, expired entries go first,
	// then those expiring soonest.
	MaxEntries int
}

// cimdFetcher fetches and caches Client ID Metadata Documents. It is safe for concurrent
// use.
type cimdFetcher struct {
	cfg     cimdConfig
	allowed map[string]bool
	http    *http.Client
	group   singleflight.Group

	mu    sync.Mutex
	cache map[string]*cimdEntry

	// joined, when set (tests), is called once a caller shares in the fetch of clientID.
	joined func(clientID string)
}

// cimdEntry is a cached outcome: a client or an error, until expires.
type cimdEntry struct {
	client  *Client
	err     *oauthError
	expires time.Time
}

// newCIMDFetcher returns a fetcher for cfg, with defaults filled in.
func newCIMDFetcher(cfg cimdConfig) *cimdFetcher {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 10 << 10
	}
	if cfg.MinTTL <= 0 {
		cfg.MinTTL = time.Minute
	}
	if cfg.MaxTTL <= 0 {
		cfg.MaxTTL = 24 * time.Hour
	}
	cfg.MaxTTL = max(cfg.MaxTTL, cfg.MinTTL)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = 1000
	}
	f := &cimdFetcher{
		cfg:     cfg,
		allowed: make(map[string]bool, len(cfg.AllowedHosts)),
		cache:   make(map[string]*cimdEntry),
	}
	for _, h := range cfg.AllowedHosts {
		f.allowed[h] = true
	}
	transport := &http.Transport{
		Proxy:                  nil, // never a proxy from the environment: the guard must see the real peer
		DialContext:            f.dial,
		TLSClientConfig:        &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    cfg.Timeout,
		ResponseHeaderTimeout:  cfg.Timeout,
		MaxResponseHeaderBytes: 16 << 10,
		MaxIdleConns:           16,
		MaxIdleConnsPerHost:    1,
		IdleConnTimeout:        30 * time.Second,
	}
	f.http = &http.Client{
		Transport: transport,
		Timeout:   cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a 3xx is answered to fetch, which refuses it
		},
	}
	return f
}

// errForbiddenAddress is why the dialer refused to connect.
var errForbiddenAddress = errors.New("oauthproxy: refusing to connect to a non-public address")

// dial connects to addr (the URL's host:port) with a dialer that checks every IP address
// it is about to connect to, after DNS resolution, so DNS rebinding cannot slip past.
func (f *cimdFetcher) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: f.cfg.Timeout, KeepAlive: -1}
	if !f.allowed[addr] {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || forbiddenIP(ap.Addr()) {
				return errForbiddenAddress
			}
			return nil
		}
	}
	return d.DialContext(ctx, network, addr)
}

// Address ranges a metadata document may not be fetched from, besides those the netip
// predicates name (loopback, private, link-local, multicast, unspecified). NAT64
// (64:ff9b::/96) and 6to4 (2002::/16) addresses are judged by the IPv4 address they embed.
var forbiddenPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("::/96"),           // IPv4-compatible (deprecated), ::, ::1
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2001::/32"),       // Teredo (hides an IPv4 address)
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated)
}

var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour   = netip.MustParsePrefix("2002::/16")
)

// forbiddenIP reports whether ip is not a public unicast address: loopback, private
// (RFC 1918, fc00::/7), link-local (169.254/16 with cloud metadata services, fe80::/10),
// unspecified, multicast, CGNAT (100.64/10), reserved or documentation ranges, and the
// IPv4-mapped, NAT64 and 6to4 forms of forbidden IPv4 addresses.
func forbiddenIP(ip netip.Addr) bool {
	if !ip.IsValid() {
		return true
	}
	ip = ip.WithZone("").Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	if ip.Is6() {
		b := ip.As16()
		switch {
		case nat64Prefix.Contains(ip):
			return forbiddenIP(netip.AddrFrom4([4]byte(b[12:16])))
		case sixToFour.Contains(ip):
			return forbiddenIP(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	for _, p := range forbiddenPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// isMetadataDocumentID reports whether clientID is a Client ID Metadata Document URL: an
// https URL with a host, a path other than "/", no fragment, no user info, no query, no
// "." or ".." path segment, and only printable ASCII.
func isMetadataDocumentID(clientID string) bool {
	if len(clientID) > maxURILength || !strings.HasPrefix(clientID, "https://") {
		return false
	}
	for i := 0; i < len(clientID); i++ {
		if c := clientID[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	if strings.ContainsAny(clientID, "#?") {
		return false
	}
	u, err := url.Parse(clientID)
	if err != nil || u.Scheme != "https" || u.Opaque != "" || u.User != nil || u.Hostname() == "" ||
		strings.HasSuffix(u.Host, ":") {
		return false
	}
	if u.Path == "" || u.Path == "/" {
		return false
	}
	for _, p := range []string{u.Path, u.EscapedPath()} {
		for seg := range strings.SplitSeq(p, "/") {
			if seg == "." || seg == ".." {
				return false
			}
		}
	}
	// Percent-encoded dots ("%2e%2E") are dot segments too (RFC 3986 §6.2.2.2).
	for seg := range strings.SplitSeq(strings.ToLower(u.EscapedPath()), "/") {
		if s := strings.ReplaceAll(seg, "%2e", "."); s == "." || s == ".." {
			return false
		}
	}
	return true
}

// client returns the Client the document at clientID describes, from the cache while
// fresh. Concurrent calls for one URL share one fetch.
func (f *cimdFetcher) client(ctx context.Context, clientID string) (*Client, *oauthError) {
	if !isMetadataDocumentID(clientID) {
		return nil, invalidClient("the client_id is not a valid client metadata document URL")
	}
	if e := f.lookup(clientID); e != nil {
		return f.result(e)
	}
	ch := f.group.DoChan(clientID, func() (any, error) {
		// Another fetch may have finished between the look above and joining the group.
		if e := f.lookup(clientID); e != nil {
			return e, nil
		}
		e := f.fetch(context.WithoutCancel(ctx), clientID)
		f.store(clientID, e)
		return e, nil
	})
	if f.joined != nil {
		f.joined(clientID)
	}
	select {
	case r := <-ch:
		return f.result(r.Val.(*cimdEntry))
	case <-ctx.Done():
		return nil, &oauthError{Code: "temporarily_unavailable", Description: "the request ended before the client metadata document was fetched",
			Status: http.StatusServiceUnavailable, RetryAfter: time.Second}
	}
}

// result returns copies of e's client or error, so callers cannot change the cache.
func (f *cimdFetcher) result(e *cimdEntry) (*Client, *oauthError) {
	if e.err != nil {
		err := *e.err
		if err.Code == "temporarily_unavailable" {
			err.RetryAfter = max(e.expires.Sub(f.cfg.Now()), time.Second)
		}
		return nil, &err
	}
	c := *e.client
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.GrantTypes = slices.Clone(c.GrantTypes)
	return &c, nil
}

// lookup returns the cached entry of clientID while it is fresh, else nil.
func (f *cimdFetcher) lookup(clientID string) *cimdEntry {
	now := f.cfg.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := f.cache[clientID]; e != nil && now.Before(e.expires) {
		return e
	}
	return nil
}

// store caches e, making room when the cache is full: expired entries first, then the
// one expiring soonest.
func (f *cimdFetcher) store(clientID string, e *cimdEntry) {
	now := f.cfg.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.cache[clientID]; !ok && len(f.cache) >= f.cfg.MaxEntries {
		for k, v := range f.cache {
			if !now.Before(v.expires) {
				delete(f.cache, k)
			}
		}
		for len(f.cache) >= f.cfg.MaxEntries {
			var oldest string
			var at time.Time
			for k, v := range f.cache {
				if oldest == "" || v.expires.Before(at) {
					oldest, at = k, v.expires
				}
			}
			delete(f.cache, oldest)
		}
	}
	f.cache[clientID] = e
}

func invalidClient(desc string) *oauthError {
	return &oauthError{Code: "invalid_client", Description: desc, Status: http.StatusBadRequest}
}

// fetch gets and checks the document at clientID; the entry holds the client and how long
// to keep it, or the error and how long to remember it.
func (f *cimdFetcher) fetch(ctx context.Context, clientID string) *cimdEntry {
	c, ttl, err := f.get(ctx, clientID)
	now := f.cfg.Now()
	if err != nil {
		return &cimdEntry{err: err, expires: now.Add(min(cimdFailureTTL, f.cfg.MinTTL))}
	}
	c.IssuedAt = now
	return &cimdEntry{client: c, expires: now.Add(ttl)}
}

func (f *cimdFetcher) get(ctx context.Context, clientID string) (*Client, time.Duration, *oauthError) {
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, clientID, nil)
	if err != nil {
		return nil, 0, invalidClient("the client_id is not a valid client metadata document URL")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "mcpauth-oauthproxy (client metadata document fetcher)")
	resp, err := f.http.Do(req)
	if err != nil {
		return nil, 0, fetchError(err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return nil, 0, invalidClient(fmt.Sprintf("the client metadata document URL answered with a redirect (HTTP %d); redirects are not followed", resp.StatusCode))
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return nil, 0, unavailable(fmt.Sprintf("the client metadata document server answered HTTP %d", resp.StatusCode))
	default:
		return nil, 0, invalidClient(fmt.Sprintf("the client metadata document URL answered HTTP %d, not 200", resp.StatusCode))
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, 0, invalidClient("the client metadata document is not served as application/json")
	}
	tooLarge := invalidClient(fmt.Sprintf("the client metadata document is larger than %d bytes", f.cfg.MaxBytes))
	if resp.ContentLength > f.cfg.MaxBytes {
		return nil, 0, tooLarge
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.cfg.MaxBytes+1))
	if err != nil {
		return nil, 0, fetchError(err)
	}
	if int64(len(body)) > f.cfg.MaxBytes {
		return nil, 0, tooLarge
	}
	c, oerr := parseMetadataDocument(body, clientID)
	if oerr != nil {
		return nil, 0, oerr
	}
	return c, f.ttl(resp.Header), nil
}

func unavailable(desc string) *oauthError {
	return &oauthError{Code: "temporarily_unavailable", Description: desc, Status: http.StatusServiceUnavailable}
}

// fetchError describes a failed request without quoting internal details.
func fetchError(err error) *oauthError {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var netErr net.Error
	switch {
	case errors.Is(err, errForbiddenAddress):
		return invalidClient("the client metadata document URL resolves to a loopback, private or otherwise non-public address")
	case errors.As(err, &dnsErr) && !dnsErr.IsTimeout && !dnsErr.IsTemporary:
		return invalidClient("the client metadata document host does not resolve")
	case errors.As(err, &certErr):
		return invalidClient("the client metadata document server's TLS certificate could not be verified")
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		return unavailable("fetching the client metadata document timed out")
	default:
		return invalidClient("the client metadata document could not be fetched")
	}
}

// parseMetadataDocument decodes and checks a document fetched from clientID.
func parseMetadataDocument(body []byte, clientID string) (*Client, *oauthError) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return nil, invalidClient("the client metadata document is not a JSON object")
	}
	var m clientMetadata
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, invalidClient("the client metadata document holds a field of the wrong type")
	}
	if m.ClientID != clientID {
		return nil, invalidClient("the client_id in the client metadata document is not the URL it was fetched from")
	}
	for _, k := range []string{"client_secret", "client_secret_expires_at"} {
		if _, ok := fields[k]; ok {
			return nil, &oauthError{Code: "invalid_client_metadata", Description: "a client metadata document must not contain " + k}
		}
	}
	c, err := m.validate(true)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ttl is how long to cache a document served with h: max-age minus Age, else Expires
// minus Date (or now) minus Age, else MinTTL; no-store and no-cache mean MinTTL; clamped
// into [MinTTL, MaxTTL].
func (f *cimdFetcher) ttl(h http.Header) time.Duration {
	return upstream.CacheTTL(h, f.cfg.Now(), f.cfg.MinTTL, f.cfg.MinTTL, f.cfg.MaxTTL)
}
