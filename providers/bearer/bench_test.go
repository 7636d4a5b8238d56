package bearer

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/mcpauth/mcpauth"
)

// benchSetup returns a JWKS-backed verifier of a testIssuer served on loopback and a
// typical access token.
func benchSetup(b *testing.B) (*Verifier, string, *testIssuer) {
	b.Helper()
	is := newIssuerServer(b)
	clock := newTestClock()
	v := newVerifierT(b, is.config(clock))
	tok := mustSign(b, is.iss, claimsAt(clock).
		AddScopes("notes:read", "notes:write", "profile").
		AddClaim("client_id", "mcp-client-123").
		AddClaim("tenant_id", "acme"))
	if _, err := v.VerifyToken(context.Background(), tok); err != nil {
		b.Fatal(err)
	}
	return v, tok, is.iss
}

// BenchmarkRawRSAVerify is the floor: SHA-256 of the signing input and
// rsa.VerifyPKCS1v15 of the same token's signature.
func BenchmarkRawRSAVerify(b *testing.B) {
	_, tok, iss := benchSetup(b)
	i := strings.LastIndexByte(tok, '.')
	input := []byte(tok[:i])
	sig, err := segmentEncoding.DecodeString(tok[i+1:])
	if err != nil {
		b.Fatal(err)
	}
	pub := iss.PublicKey().(*rsa.PublicKey)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h := sha256.Sum256(input)
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyRS256Cold is a full verification of the same token each time, no cache.
func BenchmarkVerifyRS256Cold(b *testing.B) {
	v, tok, _ := benchSetup(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.VerifyToken(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyRS256Cached is the hit path of mcpauth.Cached in front of the verifier.
func BenchmarkVerifyRS256Cached(b *testing.B) {
	v, tok, _ := benchSetup(b)
	c := mcpauth.Cached(v)
	ctx := context.Background()
	if _, err := c.VerifyToken(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.VerifyToken(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyRS256ColdParallel is the cold path under concurrency.
func BenchmarkVerifyRS256ColdParallel(b *testing.B) {
	v, tok, _ := benchSetup(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.VerifyToken(ctx, tok); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkColdVsRaw interleaves a raw RSA verification and a full cold verification of
// the same token in each iteration, so that both see the same machine load, and reports
// the cold path's overhead over the raw one.
func BenchmarkColdVsRaw(b *testing.B) {
	v, tok, iss := benchSetup(b)
	i := strings.LastIndexByte(tok, '.')
	input := []byte(tok[:i])
	sig, err := segmentEncoding.DecodeString(tok[i+1:])
	if err != nil {
		b.Fatal(err)
	}
	pub := iss.PublicKey().(*rsa.PublicKey)
	ctx := context.Background()
	var raw, cold time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		h := sha256.Sum256(input)
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := v.VerifyToken(ctx, tok); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		raw += t1.Sub(t0)
		cold += t2.Sub(t1)
	}
	b.ReportMetric(float64(raw.Nanoseconds())/float64(b.N), "raw-ns/op")
	b.ReportMetric(float64(cold.Nanoseconds())/float64(b.N), "cold-ns/op")
	b.ReportMetric(100*(float64(cold)/float64(raw)-1), "overhead-%")
}
