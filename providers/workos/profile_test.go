package workos

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/upstream"
	"github.com/mcpauth/mcpauth/scopes"
)

// An opaque SSO access token, shaped like the ULIDs WorkOS uses.
const ssoToken = "01DY34ACQTM3B1CSX1YSZ8Z00D"

func newProfileVerifier(t testing.TB, api *fakeAPI, clock *testClock, edit func(*Config)) *ProfileVerifier {
	t.Helper()
	cfg := Config{APIBaseURL: api.srv.URL, APIKey: mcpauth.NewSecret("sk_test_not_sent"), Now: clock.Now}
	if edit != nil {
		edit(&cfg)
	}
	v, err := NewProfileVerifier(cfg)
	require.NoError(t, err)
	return v
}

func TestProfileValidToken(t *testing.T) {
	clock := newTestClock()
	api := newFakeAPI(t)
	api.addProfile(ssoToken, "prof_01DMC79VCBZ0NY2099737PSVF1", orgAcme)
	var seen http.Header
	api.setRespond(func(w http.ResponseWriter, r *http.Request) bool { seen = r.Header.Clone(); return false })
	v := newProfileVerifier(t, api, clock, func(c *Config) {
		c.Scopes = []string{"notes:read"}
		c.OrganizationScopes = map[string][]string{orgAcme: {"notes:write"}}
		c.RoleScopes = scopes.RoleMap{"admin": {"admin", "notes:read"}}
	})

	tok, err := v.VerifyToken(context.Background(), ssoToken)
	require.NoError(t, err)
	require.Equal(t, "prof_01DMC79VCBZ0NY2099737PSVF1", tok.Subject)
	require.Equal(t, orgAcme, tok.TenantID)
	require.Equal(t, api.srv.URL, tok.Issuer)
	require.Equal(t, "workos", tok.Provider)
	require.True(t, tok.ExpiresAt.IsZero(), "an opaque token has no known expiry")
	require.Equal(t, []string{"notes:read", "notes:write", "admin"}, tok.Scopes)
	require.Equal(t, "todd@example.com", tok.Claims["email"])
	require.Equal(t, "OktaSAML", tok.Claims["connection_type"])
	require.Equal(t, "00u1a0ufowBJlzPlk357", tok.Claims["idp_id"])
	require.Equal(t, map[string]any{"slug": "admin"}, tok.Claims["role"])
	require.Equal(t, []any{"Engineering", "Admins"}, tok.Claims["groups"])
	require.Equal(t, map[string]any{"id": "00u1a0ufowBJlzPlk357"}, tok.Claims["raw_attributes"])

	require.Equal(t, "Bearer "+ssoToken, seen.Get("Authorization"), "the token goes in the Authorization header")
	require.Equal(t, "application/json", seen.Get("Accept"))
	require.NotContains(t, fmt.Sprint(seen), "sk_test_not_sent", "the API key is not sent")

	t.Run("a profile without organization", func(t *testing.T) {
		api.addProfile("01DY34ACQTM3B1CSX1YSZ8Z00E", "prof_noorg", "")
		tok, err := v.VerifyToken(context.Background(), "01DY34ACQTM3B1CSX1YSZ8Z00E")
		require.NoError(t, err)
		require.Empty(t, tok.TenantID)
		require.Equal(t, []string{"notes:read", "admin"}, tok.Scopes)
	})
	t.Run("a JWT access token gives its expiry", func(t *testing.T) {
		exp := clock.Now().Add(10 * time.Minute).Unix()
		jwt := seg(`{"alg":"RS256","kid":"sso"}`) + "." + seg(`{"sub":"prof_1","exp":`+strconv.FormatInt(exp, 10)+`}`) + "." + seg("signature-bytes")
		api.addProfile(jwt, "prof_01DMC79VCBZ0NY2099737PSVF1", orgAcme)
		tok, err := v.VerifyToken(context.Background(), jwt)
		require.NoError(t, err)
		require.Equal(t, time.Unix(exp, 0), tok.ExpiresAt)
	})
}

func seg(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestProfileOrganizationRestriction(t *testing.T) {
	clock := newTestClock()
	api := newFakeAPI(t)
	api.addProfile("01DY34ACQTM3B1CSX1YSZACME", "prof_acme", orgAcme)
	api.addProfile("01DY34ACQTM3B1CSX1YSZGLOB", "prof_globex", orgGlobex)
	api.addProfile("01DY34ACQTM3B1CSX1YSZNONE", "prof_none", "")
	v := newProfileVerifier(t, api, clock, func(c *Config) { c.AllowedOrganizations = []string{orgAcme} })

	tok, err := v.VerifyToken(context.Background(), "01DY34ACQTM3B1CSX1YSZACME")
	require.NoError(t, err)
	require.Equal(t, "prof_acme", tok.Subject)
	_, err = v.VerifyToken(context.Background(), "01DY34ACQTM3B1CSX1YSZGLOB")
	requireClass(t, err, mcpauth.ErrAccessDenied, 403, "organization is not allowed")
	_, err = v.VerifyToken(context.Background(), "01DY34ACQTM3B1CSX1YSZNONE")
	requireClass(t, err, mcpauth.ErrAccessDenied, 403, "not bound to a WorkOS organization")
	_, err = v.VerifyToken(context.Background(), "01DY34ACQTM3B1CSX1YSZUNKN")
	requireClass(t, err, mcpauth.ErrInvalidToken, 401, "invalid or expired")
}

func TestProfileUpstreamErrors(t *testing.T) {
	clock := newTestClock()
	resetAt := clock.Now().Add(42 * time.Second)
	cases := []struct {
		name    string
		respond func(w http.ResponseWriter, r *http.Request)
		want    error
		status  int
		desc    string
		retry   time.Duration
	}{
		{"401 unknown token", func(w http.ResponseWriter, r *http.Request) {
			writeAPIError(w, http.StatusUnauthorized, "Unauthorized")
		}, mcpauth.ErrInvalidToken, 401, "the WorkOS access token is invalid or expired", 0},
		{"403", func(w http.ResponseWriter, r *http.Request) {
			writeAPIError(w, http.StatusForbidden, "Forbidden")
		}, mcpauth.ErrUpstreamUnavailable, 503, "WorkOS could not check the token", 0},
		{"403 rate limited", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(resetAt.Unix(), 10))
			w.Header().Set("X-RateLimit-Remaining", "0")
			writeAPIError(w, http.StatusForbidden, "Rate limit exceeded")
		}, mcpauth.ErrUpstreamUnavailable, 503, "WorkOS could not check the token", 42 * time.Second},
		{"429 Retry-After seconds", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "30")
			writeAPIError(w, http.StatusTooManyRequests, "Too many requests")
		}, mcpauth.ErrUpstreamUnavailable, 503, "rate limiting", 30 * time.Second},
		{"429 Retry-After date", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", clock.Now().Add(2*time.Minute).UTC().Format(http.TimeFormat))
			writeAPIError(w, http.StatusTooManyRequests, "Too many requests")
		}, mcpauth.ErrUpstreamUnavailable, 503, "rate limiting", 2 * time.Minute},
		{"429 without header", func(w http.ResponseWriter, r *http.Request) {
			writeAPIError(w, http.StatusTooManyRequests, "Too many requests")
		}, mcpauth.ErrUpstreamUnavailable, 503, "rate limiting", 0},
		{"500", func(w http.ResponseWriter, r *http.Request) {
			writeAPIError(w, http.StatusInternalServerError, "Internal Server Error")
		}, mcpauth.ErrUpstreamUnavailable, 503, "WorkOS is unavailable", 0},
		{"503 with Retry-After", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "5")
			writeAPIError(w, http.StatusServiceUnavailable, "Service Unavailable")
		}, mcpauth.ErrUpstreamUnavailable, 503, "WorkOS is unavailable", 5 * time.Second},
		{"404", func(w http.ResponseWriter, r *http.Request) {
			writeAPIError(w, http.StatusNotFound, "Not Found")
		}, mcpauth.ErrUpstreamUnavailable, 503, "WorkOS could not check the token", 0},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://evil.example/steal", http.StatusFound)
		}, mcpauth.ErrUpstreamUnavailable, 503, "WorkOS could not check the token", 0},
		{"malformed JSON", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"object":"profile","id":`))
		}, mcpauth.ErrUpstreamUnavailable, 503, "unexpected answer", 0},
		{"HTML", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte(`<html>maintenance</html>`))
		}, mcpauth.ErrUpstreamUnavailable, 503, "unexpected answer", 0},
		{"JSON array", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`[{"id":"prof_1"}]`))
		}, mcpauth.ErrUpstreamUnavailable, 503, "unexpected answer", 0},
		{"profile without id", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"object":"profile","email":"a@b.c"}`))
		}, mcpauth.ErrUpstreamUnavailable, 503, "unexpected answer", 0},
		{"another object", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"object":"user","id":"user_1"}`))
		}, mcpauth.ErrUpstreamUnavailable, 503, "unexpected answer", 0},
		{"organization_id of the wrong type", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"object":"profile","id":"prof_1","organization_id":7}`))
		}, mcpauth.ErrUpstreamUnavailable, 503, "unexpected answer", 0},
		{"two JSON values", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"object":"profile","id":"prof_1"}{"id":"prof_2"}`))
		}, mcpauth.ErrUpstreamUnavailable, 503, "unexpected answer", 0},
		{"oversized", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"object":"profile","id":"prof_1","pad":"` + strings.Repeat("x", upstream.MaxBody) + `"}`))
		}, mcpauth.ErrUpstreamUnavailable, 503, "unexpected response", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api := newFakeAPI(t)
			api.setRespond(func(w http.ResponseWriter, r *http.Request) bool { tc.respond(w, r); return true })
			v := newProfileVerifier(t, api, clock, nil)
			_, err := v.VerifyToken(context.Background(), ssoToken)
			e := requireClass(t, err, tc.want, tc.status, tc.desc)
			require.Equal(t, tc.retry, e.RetryAfter)
			require.NotContains(t, err.Error(), ssoToken)
			require.Equal(t, int64(1), api.calls.Load())
		})
	}

	t.Run("timeout", func(t *testing.T) {
		api := newFakeAPI(t)
		api.setRespond(func(w http.ResponseWriter, r *http.Request) bool { <-r.Context().Done(); return true })
		v := newProfileVerifier(t, api, clock, func(c *Config) { c.HTTPTimeout = 50 * time.Millisecond })
		_, err := v.VerifyToken(context.Background(), ssoToken)
		requireClass(t, err, mcpauth.ErrUpstreamUnavailable, 503, "WorkOS did not answer in time")
		require.NotContains(t, err.Error(), ssoToken)
	})
	t.Run("connection refused", func(t *testing.T) {
		api := newFakeAPI(t)
		v := newProfileVerifier(t, api, clock, nil)
		api.srv.Close()
		_, err := v.VerifyToken(context.Background(), ssoToken)
		requireClass(t, err, mcpauth.ErrUpstreamUnavailable, 503, "could not be reached")
	})
}

func TestProfilePrefilter(t *testing.T) {
	clock := newTestClock()
	api := newFakeAPI(t)
	v := newProfileVerifier(t, api, clock, nil)
	for _, tok := range []string{
		"", "short", strings.Repeat("a", MaxSSOTokenSize+1), "01DY34ACQTM3B1CSX1YSZ8Z00D\n", "01DY34ACQTM3B1CSX1 YSZ8Z00D",
		"01DY34ACQTM3B1CSX1YSZ8Z00D?x=1", "01DY34ACQTM3B1CSX1YSZ8Z00D\x00", `01DY34ACQTM3B1CSX1YSZ8Z00D"`, "ünïcödé-ünïcödé-ünïcödé",
	} {
		_, err := v.VerifyToken(context.Background(), tok)
		requireClass(t, err, mcpauth.ErrInvalidToken, 401, "malformed token")
	}
	require.Equal(t, int64(0), api.calls.Load(), "garbage costs no upstream call")
}

func TestProfileThroughCachedOpaque(t *testing.T) {
	clock := newTestClock()
	api := newFakeAPI(t)
	api.addProfile(ssoToken, "prof_01DMC79VCBZ0NY2099737PSVF1", orgAcme)
	v := newProfileVerifier(t, api, clock, nil)

	t.Run("1000 concurrent identical requests, one upstream call", func(t *testing.T) {
		api.calls.Store(0)
		// The fake holds the first call until every request is waiting on the cache.
		release := make(chan struct{})
		api.setRespond(func(w http.ResponseWriter, r *http.Request) bool { <-release; return false })
		c := mcpauth.CachedOpaque(v, mcpauth.WithCacheClock(clock.Now))
		const n = 1000
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Go(func() {
				tok, err := c.VerifyToken(context.Background(), ssoToken)
				if err == nil && tok.Subject != "prof_01DMC79VCBZ0NY2099737PSVF1" {
					err = fmt.Errorf("subject %q", tok.Subject)
				}
				errs <- err
			})
		}
		// Every request either waits on the single flight or was answered from the
		// cache; release the upstream once all of them have looked the token up.
		for c.Stats().Hits+c.Stats().Misses < n {
			runtime.Gosched()
		}
		close(release)
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		require.Equal(t, int64(1), api.calls.Load())
		api.setRespond(nil)
	})

	t.Run("expired entries are verified again, revoked tokens refused", func(t *testing.T) {
		api.calls.Store(0)
		c := mcpauth.CachedOpaque(v, mcpauth.WithCacheClock(clock.Now), mcpauth.WithMaxTTL(time.Minute))
		for range 10 {
			_, err := c.VerifyToken(context.Background(), ssoToken)
			require.NoError(t, err)
		}
		require.Equal(t, int64(1), api.calls.Load())

		api.revoke(ssoToken)
		clock.Advance(59 * time.Second)
		_, err := c.VerifyToken(context.Background(), ssoToken)
		require.NoError(t, err, "still trusted until the entry ends")
		require.Equal(t, int64(1), api.calls.Load())

		clock.Advance(time.Second)
		_, err = c.VerifyToken(context.Background(), ssoToken)
		requireClass(t, err, mcpauth.ErrInvalidToken, 401, "invalid or expired")
		require.Equal(t, int64(2), api.calls.Load())
		// The refusal is remembered for the negative TTL (10s by default).
		_, err = c.VerifyToken(context.Background(), ssoToken)
		requireClass(t, err, mcpauth.ErrInvalidToken, 401, "invalid or expired")
		require.Equal(t, int64(2), api.calls.Load())
		api.addProfile(ssoToken, "prof_01DMC79VCBZ0NY2099737PSVF1", orgAcme)
	})

	t.Run("garbage costs zero upstream calls", func(t *testing.T) {
		api.calls.Store(0)
		c := mcpauth.CachedOpaque(v, mcpauth.WithCacheClock(clock.Now))
		for i := range 100 {
			_, err := c.VerifyToken(context.Background(), "garbage"+strconv.Itoa(i))
			requireClass(t, err, mcpauth.ErrInvalidToken, 401, "malformed token")
		}
		require.Equal(t, int64(0), api.calls.Load())
	})

	t.Run("an outage is not remembered", func(t *testing.T) {
		api.calls.Store(0)
		c := mcpauth.CachedOpaque(v, mcpauth.WithCacheClock(clock.Now))
		api.setRespond(func(w http.ResponseWriter, r *http.Request) bool {
			writeAPIError(w, http.StatusBadGateway, "Bad Gateway")
			return true
		})
		_, err := c.VerifyToken(context.Background(), ssoToken)
		requireClass(t, err, mcpauth.ErrUpstreamUnavailable, 503, "")
		api.setRespond(nil)
		_, err = c.VerifyToken(context.Background(), ssoToken)
		require.NoError(t, err, "a valid token is accepted as soon as WorkOS is back")
		require.Equal(t, int64(2), api.calls.Load())
	})
}

// TestProfileLoad measures upstream calls per request: 10,000 requests over 100 distinct
// tokens through CachedOpaque.
func TestProfileLoad(t *testing.T) {
	clock := newTestClock()
	api := newFakeAPI(t)
	const tokens, requests = 100, 10000
	for i := range tokens {
		api.addProfile(fmt.Sprintf("01DY34ACQTM3B1CSX1YS%06d", i), fmt.Sprintf("prof_%d", i), orgAcme)
	}
	c := mcpauth.CachedOpaque(newProfileVerifier(t, api, clock, nil), mcpauth.WithCacheClock(clock.Now))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	var mu sync.Mutex
	var failures []error
	for i := range requests {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			k := i % tokens
			tok, err := c.VerifyToken(context.Background(), fmt.Sprintf("01DY34ACQTM3B1CSX1YS%06d", k))
			if err == nil && tok.Subject != fmt.Sprintf("prof_%d", k) {
				err = fmt.Errorf("token %d: subject %q", k, tok.Subject)
			}
			if err != nil {
				mu.Lock()
				failures = append(failures, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Empty(t, failures)
	calls := api.calls.Load()
	t.Logf("upstream calls per request: %d / %d = %.4f", calls, requests, float64(calls)/requests)
	require.Equal(t, int64(tokens), calls)
}
