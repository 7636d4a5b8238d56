package upstream

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/testutil"
	"github.com/stretchr/testify/require"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestRetryAfter(t *testing.T) {
	date := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	epoch := func(d time.Duration) string { return itoa(now.Add(d).Unix()) }
	cases := []struct {
		name string
		h    http.Header
		want time.Duration
	}{
		{"none", header(), 0},
		{"delta-seconds", header("Retry-After", "30"), 30 * time.Second},
		{"delta-seconds with spaces", header("Retry-After", " 7 "), 7 * time.Second},
		{"zero keeps a hint of one second", header("Retry-After", "0"), time.Second},
		{"capped at one hour", header("Retry-After", "86400"), MaxRetryAfter},
		{"too many digits for int64", header("Retry-After", "99999999999999999999999"), MaxRetryAfter},
		{"negative is garbage", header("Retry-After", "-5"), 0},
		{"fraction is garbage", header("Retry-After", "1.5"), 0},
		{"signed is garbage", header("Retry-After", "+5"), 0},
		{"text is garbage", header("Retry-After", "soon"), 0},
		{"HTTP-date", header("Retry-After", date(90*time.Second)), 90 * time.Second},
		{"HTTP-date in RFC 850 form", header("Retry-After", now.Add(45*time.Second).Format(time.RFC850)), 45 * time.Second},
		{"HTTP-date in the past", header("Retry-After", date(-time.Minute)), time.Second},
		{"HTTP-date far away is capped", header("Retry-After", date(48*time.Hour)), MaxRetryAfter},
		{"RFC 3339 is not an HTTP-date", header("Retry-After", now.Add(time.Minute).Format(time.RFC3339)), 0},
		{"reset epoch", header("X-RateLimit-Reset", epoch(61*time.Second)), 61 * time.Second},
		{"reset epoch with remaining 0", header("X-RateLimit-Reset", epoch(42*time.Second), "X-RateLimit-Remaining", "0"), 42 * time.Second},
		{"reset ignored while requests remain", header("X-RateLimit-Reset", epoch(42*time.Second), "X-RateLimit-Remaining", "17"), 0},
		{"reset in the past", header("X-RateLimit-Reset", epoch(-time.Second)), time.Second},
		{"reset far away is capped", header("X-RateLimit-Reset", epoch(24*time.Hour)), MaxRetryAfter},
		{"reset as seconds", header("X-RateLimit-Reset", "15"), 15 * time.Second},
		{"reset garbage", header("X-RateLimit-Reset", "x"), 0},
		{"reset negative", header("X-RateLimit-Reset", "-15"), 0},
		{"Retry-After wins", header("Retry-After", "3", "X-RateLimit-Reset", epoch(61*time.Second)), 3 * time.Second},
		{"garbage Retry-After falls back to the reset", header("Retry-After", "soon", "X-RateLimit-Reset", epoch(61*time.Second)), 61 * time.Second},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, RetryAfter(tc.h, now), tc.name)
	}
}

// Sub-second waits are rounded up, never down, to whole seconds.
func TestRetryAfterRoundsUp(t *testing.T) {
	at := now.Add(-300 * time.Millisecond) // the reset is 1.3s after this clock
	require.Equal(t, 2*time.Second, RetryAfter(header("X-RateLimit-Reset", itoa(now.Add(time.Second).Unix())), at))
	require.Equal(t, 2*time.Second, RetryAfter(header("Retry-After", now.Add(time.Second).Format(http.TimeFormat)), at))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// newClient returns a Client for srv's handler, with a manual clock.
func newClient(t *testing.T, h http.HandlerFunc) (*Client, string, *testutil.Clock) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	clock := testutil.NewClock(now)
	return &Client{HTTP: NewHTTPClient(nil, 0), Name: "Upstream", Timeout: time.Second, Now: clock.Now}, srv.URL, clock
}

func get(t *testing.T, c *Client, url string) (*Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	require.NoError(t, err)
	return c.Do(req, "")
}

func requireUnavailable(t *testing.T, err error, desc string, retry time.Duration) *mcpauth.Error {
	t.Helper()
	require.ErrorIs(t, err, mcpauth.ErrUpstreamUnavailable)
	e := mcpauth.AsError(err)
	require.Equal(t, http.StatusServiceUnavailable, e.Status)
	require.Equal(t, desc, e.Description)
	require.Equal(t, retry, e.RetryAfter)
	return e
}

// The status table: 429 and 5xx are 503 with RetryAfter; every other status is left
// to the provider.
func TestCheck(t *testing.T) {
	var status atomic.Int64
	c, url, clock := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", itoa(now.Add(10*time.Minute).Unix()))
		w.WriteHeader(int(status.Load()))
	})
	clock.Advance(4 * time.Minute) // the clock the reset is read against is the injected one
	cases := []struct {
		status int
		desc   string
	}{
		{200, ""}, {204, ""}, {301, ""}, {304, ""}, {400, ""}, {401, ""}, {403, ""}, {404, ""}, {409, ""},
		{429, "Upstream is rate limiting requests; try again later"},
		{500, "Upstream is unavailable; try again later"},
		{502, "Upstream is unavailable; try again later"},
		{503, "Upstream is unavailable; try again later"},
		{504, "Upstream is unavailable; try again later"},
	}
	for _, tc := range cases {
		status.Store(int64(tc.status))
		resp, err := get(t, c, url+"/path")
		require.NoError(t, err, tc.status)
		require.Equal(t, tc.status, resp.Status)
		require.Equal(t, "GET /path", resp.Call)
		err = c.Check(resp, nil)
		if tc.desc == "" {
			require.NoError(t, err, tc.status)
			continue
		}
		e := requireUnavailable(t, err, tc.desc, 6*time.Minute)
		require.EqualError(t, e.Err, "GET /path: HTTP "+itoa(int64(tc.status)))
		cause := errors.New("my cause")
		require.ErrorIs(t, c.Check(resp, cause), cause)
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	for _, code := range []int{301, 302, 303, 307, 308} {
		c, url, _ := newClient(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/steal", code)
		})
		resp, err := get(t, c, url)
		require.NoError(t, err)
		require.Equal(t, code, resp.Status, "the redirect is the answer")
		require.NoError(t, c.Check(resp, nil), "a redirect's meaning is the provider's")
		// Same-origin redirects are refused too.
		c, url, _ = newClient(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/moved" {
				elsewhere.Add(1)
			}
			http.Redirect(w, r, "/moved", code)
		})
		resp, err = get(t, c, url+"/first")
		require.NoError(t, err)
		require.Equal(t, code, resp.Status)
	}
	require.Zero(t, elsewhere.Load())
}

func TestNewHTTPClientCopiesTheCallersClient(t *testing.T) {
	mine := &http.Client{Timeout: 3 * time.Second}
	c := NewHTTPClient(mine, time.Second)
	require.NotSame(t, mine, c)
	require.Nil(t, mine.CheckRedirect, "the caller's client is not modified")
	require.NotNil(t, c.CheckRedirect)
	require.Equal(t, 3*time.Second, c.Timeout, "the caller's own timeout is kept")
	require.Equal(t, time.Second, NewHTTPClient(&http.Client{}, time.Second).Timeout)
	require.Equal(t, time.Second, NewHTTPClient(nil, time.Second).Timeout)
}

func TestBodyBound(t *testing.T) {
	body, err := ReadBody(strings.NewReader(strings.Repeat("x", MaxBody)))
	require.NoError(t, err)
	require.Len(t, body, MaxBody)
	_, err = ReadBody(strings.NewReader(strings.Repeat("x", MaxBody+1)))
	require.ErrorIs(t, err, ErrTooLarge)

	sentinel := errors.New("provider: unexpected response")
	c, url, _ := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(strings.Repeat("x", MaxBody+1)))
	})
	c.Unexpected = sentinel
	_, err = get(t, c, url+"/big")
	e := requireUnavailable(t, err, "Upstream answered with an unexpected response", 0)
	require.ErrorIs(t, e, ErrTooLarge)
	require.ErrorIs(t, e, sentinel)
	require.ErrorContains(t, e, "GET /big")
}

func TestTransportErrors(t *testing.T) {
	hang := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

	t.Run("timeout", func(t *testing.T) {
		c, url, _ := newClient(t, hang)
		c.Timeout = 50 * time.Millisecond
		_, err := get(t, c, url)
		requireUnavailable(t, err, "Upstream did not answer in time", 0)
	})
	t.Run("the http.Client's own timeout", func(t *testing.T) {
		c, url, _ := newClient(t, hang)
		c.Timeout, c.HTTP.Timeout = 0, 50*time.Millisecond
		_, err := get(t, c, url)
		requireUnavailable(t, err, "Upstream did not answer in time", 0)
	})
	t.Run("cancelled by the caller", func(t *testing.T) {
		c, url, _ := newClient(t, hang)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		require.NoError(t, err)
		_, err = c.Do(req, "")
		requireUnavailable(t, err, "the request was cancelled while Upstream was being asked", 0)
	})
	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())
		c, _, _ := newClient(t, hang)
		const secret = "s3cr3t-token"
		req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/x?q="+secret, nil)
		require.NoError(t, err)
		_, err = c.Do(req, secret)
		requireUnavailable(t, err, "Upstream could not be reached", 0)
		require.NotContains(t, err.Error(), secret, "the secret is scrubbed from the cause")
	})
	t.Run("body cut short", func(t *testing.T) {
		c, url, _ := newClient(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			_, _ = w.Write([]byte("{"))
		})
		_, err := get(t, c, url)
		requireUnavailable(t, err, "Upstream's response could not be read", 0)
	})
}
