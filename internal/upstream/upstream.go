package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mcpauth/mcpauth"
)

// MaxBody is the largest response body read from an upstream API, in bytes.
const MaxBody = 1 << 20

// MaxRetryAfter caps the RetryAfter derived from an upstream's Retry-After or
// X-RateLimit-Reset header.
const MaxRetryAfter = time.Hour

// ErrTooLarge is the cause (errors.Is) of the error for a response body larger than
// MaxBody.
var ErrTooLarge = fmt.Errorf("the response is larger than %d bytes", MaxBody)

// NewHTTPClient returns the client for upstream calls: a copy of base (which is not
// modified), or a new client, whose Timeout is timeout when base set none, and which
// never follows a redirect: the 3xx answer is returned as it is.
func NewHTTPClient(base *http.Client, timeout time.Duration) *http.Client {
	var c http.Client
	if base != nil {
		c = *base
	}
	if c.Timeout == 0 {
		c.Timeout = timeout
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// Client sends requests to one upstream API and maps their failures.
type Client struct {
	// HTTP sends the requests; build it with NewHTTPClient.
	HTTP *http.Client
	// Name names the upstream in error descriptions: "GitHub", "the authorization
	// server".
	Name string
	// Timeout bounds each call, the body read included (0: only HTTP's own timeout).
	Timeout time.Duration
	// Now is the clock for HTTP-date and X-RateLimit-Reset values (nil: time.Now).
	Now func() time.Time
	// Unexpected, when set, is wrapped into the cause of the error for a body larger
	// than MaxBody, so that a provider's own sentinel matches it too.
	Unexpected error
}

// Response is an upstream answer, its body read in full (at most MaxBody bytes).
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// Call names the request in causes, as "GET /user".
	Call string
}

// Do sends req, bounded by c.Timeout, and reads the body. Its error is an
// *mcpauth.Error, temporarily_unavailable (503): a timeout, a connection failure, a
// cancelled request, or a body larger than MaxBody. secret, when not empty, is removed
// from the cause's text (a transport error may quote a request). Any status is returned
// as a Response; see Check.
func (c *Client) Do(req *http.Request, secret string) (*Response, error) {
	parent := req.Context()
	ctx := parent
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(parent, c.Timeout)
		defer cancel()
		req = req.WithContext(ctx)
	}
	call := req.Method + " " + req.URL.EscapedPath()
	res, err := c.HTTP.Do(req)
	if err != nil {
		return nil, c.transport(parent, ctx, call, err, secret, c.Name+" could not be reached")
	}
	defer func() { _ = res.Body.Close() }()
	body, err := ReadBody(res.Body)
	if errors.Is(err, ErrTooLarge) {
		cause := fmt.Errorf("%s: %w", call, err)
		if c.Unexpected != nil {
			cause = fmt.Errorf("%w: %w", c.Unexpected, cause)
		}
		return nil, mcpauth.UpstreamUnavailable(c.Name+" answered with an unexpected response", 0, cause)
	}
	if err != nil {
		return nil, c.transport(parent, ctx, call, err, secret, c.Name+"'s response could not be read")
	}
	return &Response{Status: res.StatusCode, Header: res.Header, Body: body, Call: call}, nil
}

// transport maps a failed request or body read: a cancellation by the caller, a
// timeout, or else the failure described by other.
func (c *Client) transport(parent, ctx context.Context, call string, err error, secret, other string) error {
	if secret != "" && strings.Contains(err.Error(), secret) {
		err = errors.New(strings.ReplaceAll(err.Error(), secret, "[redacted]"))
	}
	err = fmt.Errorf("%s: %w", call, err)
	var te interface{ Timeout() bool }
	switch {
	case errors.Is(parent.Err(), context.Canceled):
		return mcpauth.UpstreamUnavailable("the request was cancelled while "+c.Name+" was being asked", 0, err)
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &te) && te.Timeout()):
		return mcpauth.UpstreamUnavailable(c.Name+" did not answer in time", 0, err)
	default:
		return mcpauth.UpstreamUnavailable(other, 0, err)
	}
}

// ReadBody reads r up to MaxBody bytes; a longer body is ErrTooLarge.
func ReadBody(r io.Reader) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, MaxBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > MaxBody {
		return nil, ErrTooLarge
	}
	return body, nil
}

// Check is the status table shared by the providers. It returns a temporarily_unavailable
// (503) error for the statuses whose meaning does not depend on the API, nil for the
// others (2xx, 3xx, 4xx but 429), which the provider decides:
//
//	429  "<Name> is rate limiting requests; try again later", RetryAfter from the headers
//	5xx  "<Name> is unavailable; try again later", RetryAfter from the headers
//
// cause is the error's cause; nil means "<Call>: HTTP <status>".
func (c *Client) Check(r *Response, cause error) error {
	var desc string
	switch {
	case r.Status == http.StatusTooManyRequests:
		desc = c.Name + " is rate limiting requests; try again later"
	case r.Status >= 500:
		desc = c.Name + " is unavailable; try again later"
	default:
		return nil
	}
	if cause == nil {
		cause = fmt.Errorf("%s: HTTP %d", r.Call, r.Status)
	}
	return mcpauth.UpstreamUnavailable(desc, c.RetryAfter(r.Header), cause)
}

// RetryAfter is RetryAfter(h, now) with the client's clock.
func (c *Client) RetryAfter(h http.Header) time.Duration {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	return RetryAfter(h, now())
}

// resetEpoch is the smallest X-RateLimit-Reset read as a Unix time (2001-09-09); a
// smaller value is a number of seconds.
const resetEpoch = 1_000_000_000

// RetryAfter reads how long an upstream asked to wait, relative to now:
//
//   - Retry-After (RFC 9110 §10.2.3), delay-seconds or an HTTP-date; else
//   - X-RateLimit-Reset, when X-RateLimit-Remaining is absent or 0 (a reset of a window
//     that is not used up is no reason to wait): a Unix time in seconds, or a number of
//     seconds when smaller than 1e9.
//
// A valid value is rounded up to whole seconds and bounded to [1s, MaxRetryAfter]: a
// moment already passed (or "0") still gives one second, so that the answer keeps its
// hint. An absent or malformed value (a negative number, a date in another format,
// text) gives 0: no hint.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	d, ok := retryAfterValue(strings.TrimSpace(h.Get("Retry-After")), now)
	if !ok && remainingZero(h) {
		d, ok = resetValue(strings.TrimSpace(h.Get("X-RateLimit-Reset")), now)
	}
	if !ok {
		return 0
	}
	d = min(max(d, time.Second), MaxRetryAfter)
	return (d + time.Second - 1).Truncate(time.Second)
}

func remainingZero(h http.Header) bool {
	v, ok := h["X-Ratelimit-Remaining"]
	return !ok || strings.TrimSpace(strings.Join(v, "")) == "0"
}

// seconds parses delay-seconds (1*DIGIT), saturating instead of overflowing.
func seconds(v string) (time.Duration, bool) {
	if v == "" || strings.TrimLeft(v, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n > int64(MaxRetryAfter/time.Second) {
		return MaxRetryAfter, true // too many digits for int64 is still "very long"
	}
	return time.Duration(n) * time.Second, true
}

func retryAfterValue(v string, now time.Time) (time.Duration, bool) {
	if d, ok := seconds(v); ok {
		return d, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.Sub(now), true
	}
	return 0, false
}

func resetValue(v string, now time.Time) (time.Duration, bool) {
	d, ok := seconds(v)
	if !ok {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= resetEpoch {
		return time.Unix(n, 0).Sub(now), true
	}
	return d, true
}
