package oauthproxy

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/mcpauth/mcpauth"
)

// benchGrant signs alice in once and returns the fixture, the client and the tokens.
func benchGrant(b *testing.B) (*fixture, string, map[string]any) {
	f := newFixture(b)
	id := f.publicClient()
	a := f.newRequest(id)
	back := f.signIn(f.browser, a, "alice")
	status, tok := f.redeem(a, back.Get("code"))
	if status != http.StatusOK {
		b.Fatalf("redeem: %d %v", status, tok)
	}
	return f, id, tok
}

// BenchmarkRefreshGrant is the refresh_token grant through the token endpoint's handler
// with the memory store: form parsing, client lookup, the family's compare-and-swap, a
// new refresh token and a signed access token. Run with -cpu 1 for one core.
func BenchmarkRefreshGrant(b *testing.B) {
	f, id, tok := benchGrant(b)
	refresh := tok["refresh_token"].(string)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		body := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {id}}.Encode()
		req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		f.srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("refresh: %d %s", rec.Code, rec.Body)
		}
		i := strings.Index(rec.Body.String(), `"refresh_token":"`)
		rest := rec.Body.String()[i+len(`"refresh_token":"`):]
		refresh = rest[:strings.IndexByte(rest, '"')]
	}
}

// BenchmarkVerifyIssuedToken verifies an access token the proxy issued, as the hub does:
// uncached (signature, claims, no network call) and behind mcpauth.Cached.
func BenchmarkVerifyIssuedToken(b *testing.B) {
	f, _, tok := benchGrant(b)
	at := tok["access_token"].(string)
	v, err := f.srv.VerifierFor(f.resource)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Run("uncached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.VerifyToken(ctx, at); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		c := mcpauth.Cached(v, mcpauth.WithCacheClock(f.clock.Now))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.VerifyToken(ctx, at); err != nil {
				b.Fatal(err)
			}
		}
	})
}
