package oauthproxy

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth/internal/testutil"
)

// docServer is a TLS test server on 127.0.0.1 counting connections and requests.
type docServer struct {
	*httptest.Server
	requests atomic.Int64
	conns    atomic.Int64
}

// newDocServer serves handler; id is the URL the request was made for ("https://" +
// Host + path), the client_id a correct document carries.
func newDocServer(t *testing.T, handler func(w http.ResponseWriter, r *http.Request, id string)) *docServer {
	t.Helper()
	s := &docServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		handler(w, r, "https://"+r.Host+r.URL.Path)
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// host is the server's host:port, as in its URL.
func (s *docServer) host() string { return strings.TrimPrefix(s.URL, "https://") }

func (s *docServer) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.Certificate())
	return p
}

// fetcher returns a fetcher trusting s, allowed to reach it, on clock.
func (s *docServer) fetcher(clock *testutil.Clock, cfg cimdConfig) *cimdFetcher {
	cfg.AllowedHosts = append(cfg.AllowedHosts, s.host())
	cfg.RootCAs = s.pool()
	cfg.Now = clock.Now
	return newCIMDFetcher(cfg)
}

// goodDoc is a valid document for id.
func goodDoc(id string) map[string]any {
	return map[string]any{
		"client_id":                  id,
		"client_name":                "Example MCP Client",
		"client_uri":                 "https://client.example/",
		"redirect_uris":              []string{"http://127.0.0.1/callback", "https://client.example/cb"},
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"response_types":             []string{"code"},
		"token_endpoint_auth_method": "none",
		"application_type":           "native",
		"scope":                      "read write",
	}
}

func writeDoc(w http.ResponseWriter, doc map[string]any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(doc)
}

// serveGood serves goodDoc with the given Cache-Control (none when "").
func serveGood(cacheControl string) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, _ *http.Request, id string) {
		if cacheControl != "" {
			w.Header().Set("Cache-Control", cacheControl)
		}
		writeDoc(w, goodDoc(id))
	}
}

// requireOAuthError asserts err's code and status and that its description names want.
func requireOAuthError(t *testing.T, err *oauthError, code string, status int, want string) {
	t.Helper()
	require.NotNil(t, err, "want %s error", code)
	assert.Equal(t, code, err.Code, "description: %s", err.Description)
	assert.Equal(t, status, err.Status)
	assert.Contains(t, err.Description, want)
}

func TestCIMDGoodDocument(t *testing.T) {
	var method, accept atomic.Value
	s := newDocServer(t, func(w http.ResponseWriter, r *http.Request, id string) {
		method.Store(r.Method)
		accept.Store(r.Header.Get("Accept"))
		writeDoc(w, goodDoc(id))
	})
	clock := testutil.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	f := s.fetcher(clock, cimdConfig{})
	id := s.URL + "/oauth/client.json"
	c, err := f.client(t.Context(), id)
	require.Nil(t, err)
	assert.Equal(t, &Client{
		ID:                      id,
		RedirectURIs:            []string{"http://127.0.0.1/callback", "https://client.example/cb"},
		Name:                    "Example MCP Client",
		URI:                     "https://client.example/",
		GrantTypes:              []string{"authorization_code", "refresh_token"},
		TokenEndpointAuthMethod: "none",
		ApplicationType:         "native",
		Scope:                   "read write",
		IssuedAt:                clock.Now(),
		MetadataDocument:        true,
	}, c)
	assert.Equal(t, http.MethodGet, method.Load())
	assert.Equal(t, "application/json", accept.Load())

	// The caller gets a copy: changing it does not change the cache.
	c.RedirectURIs[0] = "https://evil.example/"
	c.Name = "changed"
	again, err := f.client(t.Context(), id)
	require.Nil(t, err)
	assert.Equal(t, "http://127.0.0.1/callback", again.RedirectURIs[0])
	assert.Equal(t, "Example MCP Client", again.Name)
	assert.EqualValues(t, 1, s.requests.Load())
}

func TestCIMDDefaultsForDocument(t *testing.T) {
	// A document without token_endpoint_auth_method is a public client (none), not
	// client_secret_basic as for registration.
	s := newDocServer(t, func(w http.ResponseWriter, _ *http.Request, id string) {
		writeDoc(w, map[string]any{"client_id": id, "redirect_uris": []string{"https://client.example/cb"}})
	})
	c, err := s.fetcher(testutil.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), cimdConfig{}).client(t.Context(), s.URL+"/c")
	require.Nil(t, err)
	assert.Equal(t, "none", c.TokenEndpointAuthMethod)
	assert.Equal(t, "web", c.ApplicationType)
	assert.Equal(t, []string{"authorization_code"}, c.GrantTypes)
}

func TestCIMDRefusedDocuments(t *testing.T) {
	tests := []struct {
		name    string
		handler func(w http.ResponseWriter, r *http.Request, id string)
		code    string
		status  int
		want    string
	}{
		{"client_id mismatch", func(w http.ResponseWriter, _ *http.Request, id string) {
			writeDoc(w, goodDoc(id+"/other"))
		}, "invalid_client", 400, "client_id in the client metadata document is not the URL"},
		{"client_id differs only in case", func(w http.ResponseWriter, _ *http.Request, id string) {
			writeDoc(w, goodDoc(strings.ToUpper(id[:5])+id[5:]))
		}, "invalid_client", 400, "not the URL"},
		{"client_id missing", func(w http.ResponseWriter, _ *http.Request, id string) {
			d := goodDoc(id)
			delete(d, "client_id")
			writeDoc(w, d)
		}, "invalid_client", 400, "not the URL"},
		{"not found", func(w http.ResponseWriter, _ *http.Request, _ string) {
			http.NotFound(w, nil)
		}, "invalid_client", 400, "HTTP 404"},
		{"204", func(w http.ResponseWriter, _ *http.Request, _ string) {
			w.WriteHeader(http.StatusNoContent)
		}, "invalid_client", 400, "HTTP 204"},
		{"server error", func(w http.ResponseWriter, _ *http.Request, _ string) {
			http.Error(w, "boom", http.StatusInternalServerError)
		}, "temporarily_unavailable", 503, "HTTP 500"},
		{"too many requests", func(w http.ResponseWriter, _ *http.Request, _ string) {
			http.Error(w, "slow down", http.StatusTooManyRequests)
		}, "temporarily_unavailable", 503, "HTTP 429"},
		{"html", func(w http.ResponseWriter, _ *http.Request, id string) {
			w.Header().Set("Content-Type", "text/html")
			_ = json.NewEncoder(w).Encode(goodDoc(id))
		}, "invalid_client", 400, "not served as application/json"},
		{"no content type", func(w http.ResponseWriter, _ *http.Request, id string) {
			w.Header()["Content-Type"] = nil // no sniffing
			_ = json.NewEncoder(w).Encode(goodDoc(id))
		}, "invalid_client", 400, "not served as application/json"},
		{"json suffix type", func(w http.ResponseWriter, _ *http.Request, id string) {
			w.Header().Set("Content-Type", "application/jwk-set+json")
			_ = json.NewEncoder(w).Encode(goodDoc(id))
		}, "invalid_client", 400, "not served as application/json"},
		{"not json", func(w http.ResponseWriter, _ *http.Request, _ string) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte("<html>secret-page-content</html>"))
		}, "invalid_client", 400, "not a JSON object"},
		{"json array", func(w http.ResponseWriter, _ *http.Request, _ string) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`[1,2]`))
		}, "invalid_client", 400, "not a JSON object"},
		{"wrong field type", func(w http.ResponseWriter, _ *http.Request, id string) {
			d := goodDoc(id)
			d["redirect_uris"] = "https://client.example/cb"
			writeDoc(w, d)
		}, "invalid_client", 400, "wrong type"},
		{"client_secret", func(w http.ResponseWriter, _ *http.Request, id string) {
			d := goodDoc(id)
			d["client_secret"] = "s3cret-value"
			writeDoc(w, d)
		}, "invalid_client_metadata", 0, "must not contain client_secret"},
		{"client_secret_expires_at", func(w http.ResponseWriter, _ *http.Request, id string) {
			d := goodDoc(id)
			d["client_secret_expires_at"] = 0
			writeDoc(w, d)
		}, "invalid_client_metadata", 0, "must not contain client_secret_expires_at"},
		{"secret auth method", func(w http.ResponseWriter, _ *http.Request, id string) {
			d := goodDoc(id)
			d["token_endpoint_auth_method"] = "client_secret_basic"
			writeDoc(w, d)
		}, "invalid_client_metadata", 0, "token_endpoint_auth_method must be none"},
		{"http non-loopback redirect", func(w http.ResponseWriter, _ *http.Request, id string) {
			d := goodDoc(id)
			d["redirect_uris"] = []string{"http://client.example/cb"}
			writeDoc(w, d)
		}, "invalid_redirect_uri", 0, "must use https"},
		{"web client with loopback redirect", func(w http.ResponseWriter, _ *http.Request, id string) {
			d := goodDoc(id)
			delete(d, "application_type")
			writeDoc(w, d)
		}, "invalid_redirect_uri", 0, "web application"},
		{"no redirect_uris", func(w http.ResponseWriter, _ *http.Request, id string) {
			d := goodDoc(id)
			delete(d, "redirect_uris")
			writeDoc(w, d)
		}, "invalid_redirect_uri", 0, "redirect_uris is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newDocServer(t, tt.handler)
			_, err := s.fetcher(testutil.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), cimdConfig{}).client(t.Context(), s.URL+"/client")
			requireOAuthError(t, err, tt.code, tt.status, tt.want)
			assert.NotContains(t, err.Description, "secret-page-content")
			assert.NotContains(t, err.Description, "s3cret-value")
			assert.EqualValues(t, 1, s.requests.Load())
			if tt.code == "temporarily_unavailable" {
				assert.Positive(t, err.RetryAfter)
			}
		})
	}
}

func TestCIMDRedirectNotFollowed(t *testing.T) {
	s := newDocServer(t, func(w http.ResponseWriter, r *http.Request, id string) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/client", http.StatusFound)
			return
		}
		writeDoc(w, goodDoc(id))
	})
	_, err := s.fetcher(testutil.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), cimdConfig{}).client(t.Context(), s.URL+"/moved")
	requireOAuthError(t, err, "invalid_client", 400, "redirect (HTTP 302)")
	assert.EqualValues(t, 1, s.requests.Load(), "the redirect was followed")
}

func TestCIMDBodyLimit(t *testing.T) {
	const limit = 1024
	// paddedDoc is a valid document of exactly size bytes (whitespace padding).
	paddedDoc := func(id string, size int) []byte {
		b, err := json.Marshal(goodDoc(id))
		require.NoError(t, err)
		require.Less(t, len(b), size)
		return append(b, []byte(strings.Repeat(" ", size-len(b)))...)
	}
	tests := []struct {
		name     string
		size     int
		chunked  bool
		tooLarge bool
	}{
		{"fits exactly", limit, false, false},
		{"fits exactly chunked", limit, true, false},
		{"too large with Content-Length", limit + 1, false, true},
		{"too large without Content-Length", limit + 1, true, true},
		{"far too large without Content-Length", 50 * limit, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newDocServer(t, func(w http.ResponseWriter, _ *http.Request, id string) {
				body := paddedDoc(id, tt.size)
				w.Header().Set("Content-Type", "application/json")
				if !tt.chunked {
					w.Header().Set("Content-Length", strconv.Itoa(len(body)))
					_, _ = w.Write(body)
					return
				}
				// Flushing before the end makes the response chunked: no Content-Length.
				for len(body) > 0 {
					n := min(len(body), 100)
					_, _ = w.Write(body[:n])
					w.(http.Flusher).Flush()
					body = body[n:]
				}
			})
			c, err := s.fetcher(testutil.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), cimdConfig{MaxBytes: limit}).client(t.Context(), s.URL+"/client")
			if !tt.tooLarge {
				require.Nil(t, err)
				assert.Equal(t, s.URL+"/client", c.ID)
				return
			}
			requireOAuthError(t, err, "invalid_client", 400, "larger than 1024 bytes")
		})
	}
}

func TestCIMDLargeContentLengthRefusedBeforeReading(t *testing.T) {
	release := make(chan struct{})
	s := newDocServer(t, func(w http.ResponseWriter, r *http.Request, _ string) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(1<<20))
		_, _ = w.Write([]byte(`{"client_id":`))
		w.(http.Flusher).Flush()
		select { // the rest never comes: reading the body would time out
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // runs before s.Close
	_, err := s.fetcher(testutil.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), cimdConfig{MaxBytes: 1024}).client(t.Context(), s.URL+"/client")
	requireOAuthError(t, err, "invalid_client", 400, "larger than 1024 bytes")
}

func TestCIMDTimeout(t *testing.T) {
	release := make(chan struct{})
	// The handler answers nothing until the test ends, even once the client has gone
	// (answering then would race the client's timeout with an empty 200).
	s := newDocServer(t, func(w http.ResponseWriter, r *http.Request, id string) { <-release })
	t.Cleanup(func() { close(release) }) // runs before s.Close
	f := s.fetcher(testutil.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), cimdConfig{Timeout: 200 * time.Millisecond})
	// A fetcher without a timeout would wait for this deadline instead, and answer a
	// different description.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err := f.client(ctx, s.URL+"/client")
	requireOAuthError(t, err, "temporarily_unavailable", 503, "timed out")
	assert.Positive(t, err.RetryAfter)
}

func TestCIMDTLSVerified(t *testing.T) {
	s := newDocServer(t, serveGood(""))
	clock := testutil.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	// Allowed to reach the server, but not trusting its certificate.
	f := newCIMDFetcher(cimdConfig{AllowedHosts: []string{s.host()}, Now: clock.Now})
	_, err := f.client(t.Context(), s.URL+"/client")
	requireOAuthError(t, err, "invalid_client", 400, "certificate")
	assert.Zero(t, s.requests.Load())
}

func TestCIMDNonPublicAddressRefused(t *testing.T) {
	s := newDocServer(t, serveGood(""))
	port := s.Listener.Addr().(*net.TCPAddr).Port
	tests := []struct {
		name    string
		id      string
		allowed []string
	}{
		// A name resolving to loopback: the allowance is for the exact host:port
		// 127.0.0.1:port only, not for localhost:port.
		{"name resolving to loopback", fmt.Sprintf("https://localhost:%d/client", port), []string{s.host()}},
		{"loopback by default", s.URL + "/client", nil},
		{"loopback, other port allowed", s.URL + "/client", []string{fmt.Sprintf("127.0.0.1:%d", port+1)}},
		{"IPv4-mapped loopback", fmt.Sprintf("https://[::ffff:127.0.0.1]:%d/client", port), []string{s.host()}},
		{"private address", "https://10.255.255.1/client", nil},
		{"cloud metadata", "https://169.254.169.254/latest/meta-data", nil},
		{"unspecified", fmt.Sprintf("https://0.0.0.0:%d/client", port), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCIMDFetcher(cimdConfig{AllowedHosts: tt.allowed, RootCAs: s.pool(), Now: testutil.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)).Now})
			_, err := f.client(t.Context(), tt.id)
			requireOAuthError(t, err, "invalid_client", 400, "non-public address")
			assert.Zero(t, s.requests.Load(), "a request reached the server")
			assert.Zero(t, s.conns.Load(), "a connection reached the server")
		})
	}
	// The same server is reachable with the allowance: the refusals above were the guard.
	_, err := s.fetcher(testutil.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), cimdConfig{}).client(t.Context(), s.URL+"/client")
	require.Nil(t, err)
	assert.EqualValues(t, 1, s.requests.Load())
}

func TestForbiddenIP(t *testing.T) {
	refused := []string{
		"10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.254", "192.168.1.1",
		"127.0.0.1", "127.1.2.3", "::1", "169.254.169.254", "169.254.0.1", "fe80::1", "fe80::1%eth0",
		"fd00::1", "fc00::1", "100.64.0.1", "100.127.255.254", "0.0.0.0", "0.1.2.3", "::",
		"::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:0.0.0.0",
		"224.0.0.1", "239.255.255.250", "ff02::1", "ff05::2", "255.255.255.255", "240.0.0.1",
		"192.0.2.1", "198.51.100.7", "203.0.113.9", "198.18.0.1", "192.0.0.8",
		"2001:db8::1", "fec0::1", "::127.0.0.1", "2001:0:4136:e378:8000:63bf:3fff:fdd2",
		"64:ff9b::a9fe:a9fe", "64:ff9b::127.0.0.1", "64:ff9b:1::1", "2002:a9fe:a9fe::1", "2002:7f00:1::1", "100::1",
	}
	allowed := []string{
		"8.8.8.8", "1.1.1.1", "93.184.216.34", "172.32.0.1", "100.128.0.1", "169.255.0.1",
		"2606:4700::1111", "2001:4860:4860::8888", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
	}
	for _, s := range refused {
		assert.True(t, forbiddenIP(netip.MustParseAddr(s)), "%s should be refused", s)
	}
	for _, s := range allowed {
		assert.False(t, forbiddenIP(netip.MustParseAddr(s)), "%s should be allowed", s)
	}
	assert.True(t, forbiddenIP(netip.Addr{}), "the zero address should be refused")
}

func TestIsMetadataDocumentID(t *testing.T) {
	valid := []string{
		"https://client.example/client.json",
		"https://client.example:8443/oauth/metadata",
		"https://client.example/a/b/c",
		"https://client.example/a/",
		"https://127.0.0.1/client",
		"https://[::1]:443/client",
		"https://client.example/.well-known/oauth-client",
		"https://client.example/a..b/c.",
		"https://client.example/%7Euser/client",
	}
	invalid := []string{
		"",
		"client-123",
		"http://client.example/client.json",
		"HTTPS://client.example/client.json",
		"ftp://client.example/client.json",
		"https://client.example",
		"https://client.example/",
		"https:///client.json",
		"https://client.example/client.json#frag",
		"https://client.example/client.json#",
		"https://user@client.example/client.json",
		"https://user:pass@client.example/client.json",
		"https://client.example/./client.json",
		"https://client.example/a/../client.json",
		"https://client.example/a/..",
		"https://client.example/a/.",
		"https://client.example/%2e%2E/client.json",
		"https://client.example/a/%2e/b",
		"https://client.example/client.json?x=1",
		"https://client.example/client.json?",
		"https://client.example/client json",
		"https://client.example/client\tjson",
		"https://client.example/clïent",
		"https://client.example:/client.json",
		"https://client.example/" + strings.Repeat("a", maxURILength),
		"https:client.example/client.json",
	}
	for _, id := range valid {
		assert.True(t, isMetadataDocumentID(id), "%q should be a metadata document ID", id)
	}
	for _, id := range invalid {
		assert.False(t, isMetadataDocumentID(id), "%q should not be a metadata document ID", id)
	}
}

func TestCIMDInvalidIDMakesNoRequest(t *testing.T) {
	s := newDocServer(t, serveGood(""))
	f := s.fetcher(testutil.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), cimdConfig{})
	for _, id := range []string{
		"http://" + s.host() + "/client",
		s.URL + "/client#x",
		s.URL + "/client?x=1",
		s.URL + "/a/../client",
		s.URL,
	} {
		_, err := f.client(t.Context(), id)
		requireOAuthError(t, err, "invalid_client", 400, "not a valid client metadata document URL")
	}
	assert.Zero(t, s.requests.Load())
	assert.Zero(t, s.conns.Load())
}

func TestCIMDCache(t *testing.T) {
	s := newDocServer(t, serveGood("public, max-age=3600"))
	clock := testutil.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	f := s.fetcher(clock, cimdConfig{})
	id := s.URL + "/client"
	first, err := f.client(t.Context(), id)
	require.Nil(t, err)
	issued := clock.Now()
	assert.Equal(t, issued, first.IssuedAt)

	clock.Advance(time.Hour - time.Second)
	c, err := f.client(t.Context(), id)
	require.Nil(t, err)
	assert.EqualValues(t, 1, s.requests.Load(), "a fresh copy was fetched again")
	assert.Equal(t, issued, c.IssuedAt)

	clock.Advance(time.Second)
	c, err = f.client(t.Context(), id)
	require.Nil(t, err)
	assert.EqualValues(t, 2, s.requests.Load(), "a stale copy was not fetched again")
	assert.Equal(t, clock.Now(), c.IssuedAt)
}

func TestCIMDCacheLifetime(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		ttl    time.Duration // kept until just before ttl, fetched again at ttl
	}{
		{"no cache headers: MinTTL", nil, time.Minute},
		{"max-age", http.Header{"Cache-Control": {"max-age=600"}}, 10 * time.Minute},
		{"max-age clamped up to MinTTL", http.Header{"Cache-Control": {"max-age=5"}}, time.Minute},
		{"max-age=0 clamped up to MinTTL", http.Header{"Cache-Control": {"max-age=0"}}, time.Minute},
		{"max-age clamped down to MaxTTL", http.Header{"Cache-Control": {"public, max-age=864000"}}, 24 * time.Hour},
		{"max-age minus Age", http.Header{"Cache-Control": {"max-age=600"}, "Age": {"100"}}, 500 * time.Second},
		{"no-store: MinTTL", http.Header{"Cache-Control": {"no-store, max-age=3600"}}, time.Minute},
		{"no-cache: MinTTL", http.Header{"Cache-Control": {"no-cache"}}, time.Minute},
		{"Expires minus Date", http.Header{
			"Date":    {"Fri, 02 Jan 2026 03:04:05 GMT"},
			"Expires": {"Fri, 02 Jan 2026 05:04:05 GMT"},
		}, 2 * time.Hour},
		{"max-age wins over Expires", http.Header{
			"Cache-Control": {"max-age=300"},
			"Date":          {"Fri, 02 Jan 2026 03:04:05 GMT"},
			"Expires":       {"Fri, 02 Jan 2026 05:04:05 GMT"},
		}, 5 * time.Minute},
		{"Expires clamped down to MaxTTL", http.Header{
			"Date":    {"Fri, 02 Jan 2026 03:04:05 GMT"},
			"Expires": {"Fri, 09 Jan 2026 03:04:05 GMT"},
		}, 24 * time.Hour},
		{"invalid Expires: MinTTL", http.Header{"Expires": {"0"}}, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newDocServer(t, func(w http.ResponseWriter, _ *http.Request, id string) {
				for k, v := range tt.header {
					w.Header()[k] = v
				}
				writeDoc(w, goodDoc(id))
			})
			clock := testutil.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
			f := s.fetcher(clock, cimdConfig{})
			id := s.URL + "/client"
			for i, advance := range []time.Duration{0, tt.ttl - time.Second, time.Second} {
				clock.Advance(advance)
				_, err := f.client(t.Context(), id)
				require.Nil(t, err)
				want := int64(1)
				if i == 2 {
					want = 2
				}
				require.Equal(t, want, s.requests.Load(), "after %d calls", i+1)
			}
		})
	}
}

func TestCIMDFailureCachedBriefly(t *testing.T) {
	var broken atomic.Bool
	broken.Store(true)
	s := newDocServer(t, func(w http.ResponseWriter, _ *http.Request, id string) {
		if broken.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		writeDoc(w, goodDoc(id))
	})
	clock := testutil.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	f := s.fetcher(clock, cimdConfig{})
	id := s.URL + "/client"
	_, err := f.client(t.Context(), id)
	requireOAuthError(t, err, "temporarily_unavailable", 503, "HTTP 502")
	assert.Equal(t, cimdFailureTTL, err.RetryAfter)

	broken.Store(false)
	clock.Advance(cimdFailureTTL - 4*time.Second)
	_, err = f.client(t.Context(), id)
	requireOAuthError(t, err, "temporarily_unavailable", 503, "HTTP 502")
	assert.Equal(t, 4*time.Second, err.RetryAfter)
	assert.EqualValues(t, 1, s.requests.Load(), "a failure was fetched again at once")

	clock.Advance(4 * time.Second)
	c, err := f.client(t.Context(), id)
	require.Nil(t, err)
	assert.Equal(t, id, c.ID)
	assert.EqualValues(t, 2, s.requests.Load())
}

func TestCIMDConcurrentCallsShareOneFetch(t *testing.T) {
	const callers = 8
	release := make(chan struct{})
	s := newDocServer(t, func(w http.ResponseWriter, r *http.Request, id string) {
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		writeDoc(w, goodDoc(id))
	})
	f := s.fetcher(testutil.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), cimdConfig{})
	id := s.URL + "/client"
	var joined sync.WaitGroup
	joined.Add(callers)
	f.joined = func(string) { joined.Done() }

	var done sync.WaitGroup
	errs := make(chan *oauthError, callers)
	for range callers {
		done.Go(func() {
			c, err := f.client(context.Background(), id)
			if err == nil && c.ID != id {
				err = &oauthError{Code: "wrong client " + c.ID}
			}
			errs <- err
		})
	}
	joined.Wait() // every caller waits on the fetch, which is blocked in the handler
	close(release)
	done.Wait()
	close(errs)
	for err := range errs {
		assert.Nil(t, err)
	}
	assert.EqualValues(t, 1, s.requests.Load(), "callers did not share one fetch")
}

func TestCIMDCallerCancelled(t *testing.T) {
	release := make(chan struct{})
	s := newDocServer(t, func(w http.ResponseWriter, r *http.Request, id string) {
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		writeDoc(w, goodDoc(id))
	})
	f := s.fetcher(testutil.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), cimdConfig{})
	id := s.URL + "/client"
	ctx, cancel := context.WithCancel(t.Context())
	f.joined = func(string) { cancel() }
	_, err := f.client(ctx, id)
	requireOAuthError(t, err, "temporarily_unavailable", 503, "request ended")

	// The fetch goes on without the caller, and its result is cached.
	f.joined = nil
	close(release)
	c, err := f.client(t.Context(), id)
	require.Nil(t, err)
	assert.Equal(t, id, c.ID)
	assert.EqualValues(t, 1, s.requests.Load())
}

func TestCIMDCacheBounded(t *testing.T) {
	s := newDocServer(t, func(w http.ResponseWriter, r *http.Request, id string) {
		maxAge := "3600"
		if r.URL.Path == "/a" {
			maxAge = "120" // expires soonest: evicted first
		}
		w.Header().Set("Cache-Control", "max-age="+maxAge)
		writeDoc(w, goodDoc(id))
	})
	clock := testutil.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	f := s.fetcher(clock, cimdConfig{MaxEntries: 2})
	get := func(path string) {
		t.Helper()
		_, err := f.client(t.Context(), s.URL+path)
		require.Nil(t, err)
	}
	get("/a")
	get("/b")
	get("/c") // evicts /a
	assert.EqualValues(t, 3, s.requests.Load())
	f.mu.Lock()
	assert.Len(t, f.cache, 2)
	f.mu.Unlock()
	get("/b")
	get("/c")
	assert.EqualValues(t, 3, s.requests.Load(), "a kept entry was fetched again")
	get("/a")
	assert.EqualValues(t, 4, s.requests.Load(), "the evicted entry was not fetched again")

	// Expired entries make room before fresh ones are evicted.
	clock.Advance(2 * time.Hour) // all stale
	get("/d")
	f.mu.Lock()
	_, hasD := f.cache[s.URL+"/d"]
	assert.Len(t, f.cache, 1)
	f.mu.Unlock()
	assert.True(t, hasD)
}

func TestCIMDFetcherDefaults(t *testing.T) {
	f := newCIMDFetcher(cimdConfig{})
	assert.Equal(t, 5*time.Second, f.cfg.Timeout)
	assert.EqualValues(t, 10<<10, f.cfg.MaxBytes)
	assert.Equal(t, time.Minute, f.cfg.MinTTL)
	assert.Equal(t, 24*time.Hour, f.cfg.MaxTTL)
	assert.Equal(t, 1000, f.cfg.MaxEntries)
	tr := f.http.Transport.(*http.Transport)
	assert.Nil(t, tr.Proxy, "a proxy from the environment would bypass the address guard")
	req := &http.Request{URL: &url.URL{Scheme: "https", Host: "client.example"}}
	assert.ErrorIs(t, f.http.CheckRedirect(req, nil), http.ErrUseLastResponse)
}
