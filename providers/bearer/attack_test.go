package bearer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

// attackFixture holds the verifiers and keys of the attack table.
type attackFixture struct {
	clock *testClock
	is    *issuerServer
	// rs trusts the dev issuer's JWKS for RS256 only, leeway 30s; its key source counts
	// lookups.
	rs      *Verifier
	rsCount *countingSource
	// multi trusts the same JWKS with the default (all asymmetric) algorithms.
	multi *Verifier
	// ec trusts one ECDSA P-256 public key given directly.
	ec *Verifier

	ecKey       *ecdsa.PrivateKey
	attackerEC  *ecdsa.PrivateKey
	attacker    *rsa.PrivateKey
	attackerSrv *httptest.Server
	attackHits  atomic.Int64
}

func newAttackFixture(t *testing.T) *attackFixture {
	f := &attackFixture{clock: newTestClock(), is: newIssuerServer(t)}
	var err error
	f.attacker, err = rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	f.ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	f.attackerEC, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	// The attacker's server: any request to it proves a header was followed.
	f.attackerSrv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.attackHits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"keys":[]}`))
	}))
	t.Cleanup(f.attackerSrv.Close)

	cfg := f.is.config(f.clock)
	cfg.Leeway = 30 * time.Second
	f.rs = newVerifierT(t, cfg)
	f.rsCount = &countingSource{keySource: f.rs.src}
	f.rs.src = f.rsCount

	multi := f.is.config(f.clock)
	multi.Algorithms = nil
	f.multi = newVerifierT(t, multi)

	f.ec = newVerifierT(t, Config{
		Keys:     StaticKeys(f.ecKey.Public()),
		Issuers:  []string{f.is.iss.Issuer()},
		Audience: []string{testAudience},
		Now:      f.clock.Now,
	})
	return f
}

// payload returns valid claims as a map.
func (f *attackFixture) payload() map[string]any {
	return claimsAt(f.clock).WithIssuer(f.is.iss.Issuer()).Map()
}

func (f *attackFixture) valid(t testing.TB) string {
	return mustSign(t, f.is.iss, claimsAt(f.clock))
}

func (f *attackFixture) attackerCert(t testing.TB) []byte {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: f.is.iss.Issuer()},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &f.attacker.PublicKey, f.attacker)
	require.NoError(t, err)
	return der
}

func (f *attackFixture) attackerJWK() map[string]any {
	return map[string]any{
		"kty": "RSA", "kid": "attacker", "alg": "RS256", "use": "sig",
		"n": seg(f.attacker.N.Bytes()), "e": seg(big.NewInt(int64(f.attacker.E)).Bytes()),
	}
}

func TestAttacks(t *testing.T) {
	f := newAttackFixture(t)
	ctx := context.Background()

	// Positive controls: each verifier accepts a well-formed token, so every rejection
	// below is due to the attack.
	_, err := f.rs.VerifyToken(ctx, f.valid(t))
	require.NoError(t, err)
	_, err = f.multi.VerifyToken(ctx, f.valid(t))
	require.NoError(t, err)
	_, err = f.ec.VerifyToken(ctx, signRaw(t, jwt.SigningMethodES256, f.ecKey, nil, f.payload()))
	require.NoError(t, err)

	kid := currentKID(f.is.iss)
	rs := func(f *attackFixture) *Verifier { return f.rs }
	multi := func(f *attackFixture) *Verifier { return f.multi }
	ec := func(f *attackFixture) *Verifier { return f.ec }
	with := func(f *attackFixture, edit func(m map[string]any)) map[string]any {
		m := f.payload()
		edit(m)
		return m
	}
	unsigned := func(t *testing.T, header map[string]any, payload any) string {
		return jsonSeg(t, header) + "." + jsonSeg(t, payload) + "."
	}

	cases := []struct {
		name     string
		verifier func(*attackFixture) *Verifier
		token    func(t *testing.T, f *attackFixture) string
		want     string
		after    func(t *testing.T, f *attackFixture)
	}{
		{"alg none", rs, func(t *testing.T, f *attackFixture) string {
			return unsigned(t, map[string]any{"alg": "none", "typ": "JWT"}, f.payload())
		}, "unexpected signing algorithm", nil},
		{"alg None", rs, func(t *testing.T, f *attackFixture) string {
			return unsigned(t, map[string]any{"alg": "None", "kid": kid}, f.payload())
		}, "unexpected signing algorithm", nil},
		{"alg none accepted by default allowlist? no", multi, func(t *testing.T, f *attackFixture) string {
			return unsigned(t, map[string]any{"alg": "none"}, f.payload())
		}, "unexpected signing algorithm", nil},
		{"RS256 to HS256 with the public key PEM as HMAC secret", multi, func(t *testing.T, f *attackFixture) string {
			der, err := x509.MarshalPKIXPublicKey(f.is.iss.PublicKey())
			require.NoError(t, err)
			pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
			return signRaw(t, jwt.SigningMethodHS256, pemKey, map[string]any{"kid": kid, "typ": "at+jwt"}, f.payload())
		}, "unexpected signing algorithm", nil},
		{"unknown kid", rs, func(t *testing.T, f *attackFixture) string {
			return signRaw(t, jwt.SigningMethodRS256, f.attacker, map[string]any{"kid": "attacker"}, f.payload())
		}, "unknown signing key", nil},
		{"jku header injection", rs, func(t *testing.T, f *attackFixture) string {
			return signRaw(t, jwt.SigningMethodRS256, f.attacker, map[string]any{
				"kid": "attacker", "jku": f.attackerSrv.URL + "/jwks.json",
			}, f.payload())
		}, "token header parameter jku is not accepted", func(t *testing.T, f *attackFixture) {
			require.Zero(t, f.attackHits.Load(), "jku was fetched")
		}},
		{"x5u header injection", rs, func(t *testing.T, f *attackFixture) string {
			return signRaw(t, jwt.SigningMethodRS256, f.attacker, map[string]any{
				"kid": "attacker", "x5u": f.attackerSrv.URL + "/cert.pem",
			}, f.payload())
		}, "token header parameter x5u is not accepted", func(t *testing.T, f *attackFixture) {
			require.Zero(t, f.attackHits.Load(), "x5u was fetched")
		}},
		{"jwk header injection (attacker key, attacker kid)", rs, func(t *testing.T, f *attackFixture) string {
			return signRaw(t, jwt.SigningMethodRS256, f.attacker, map[string]any{
				"kid": "attacker", "jwk": f.attackerJWK(),
			}, f.payload())
		}, "token header parameter jwk is not accepted", nil},
		{"jwk header injection (attacker key, victim kid)", rs, func(t *testing.T, f *attackFixture) string {
			return signRaw(t, jwt.SigningMethodRS256, f.attacker, map[string]any{
				"kid": kid, "jwk": f.attackerJWK(),
			}, f.payload())
		}, "token header parameter jwk is not accepted", nil},
		{"x5c header injection (no kid)", rs, func(t *testing.T, f *attackFixture) string {
			return signRaw(t, jwt.SigningMethodRS256, f.attacker, map[string]any{
				"x5c": []string{base64.StdEncoding.EncodeToString(f.attackerCert(t))},
			}, f.payload())
		}, "token header parameter x5c is not accepted", nil},
		{"expired beyond leeway", rs, func(t *testing.T, f *attackFixture) string {
			return mustSign(t, f.is.iss, claimsAt(f.clock).IssuedAt(f.clock.Now().Add(-time.Hour)).ExpiresAt(f.clock.Now().Add(-31*time.Second)))
		}, "token is expired", nil},
		{"nbf in the future beyond leeway", rs, func(t *testing.T, f *attackFixture) string {
			return mustSign(t, f.is.iss, claimsAt(f.clock).NotBefore(f.clock.Now().Add(31*time.Second)))
		}, "token is not valid yet", nil},
		{"iat in the future beyond leeway", rs, func(t *testing.T, f *attackFixture) string {
			return mustSign(t, f.is.iss, claimsAt(f.clock).IssuedAt(f.clock.Now().Add(31*time.Second)))
		}, "token was issued in the future", nil},
		{"wrong iss", rs, func(t *testing.T, f *attackFixture) string {
			return mustSign(t, f.is.iss, claimsAt(f.clock).WithIssuer("https://evil.example.com"))
		}, "token issuer is not accepted", nil},
		{"missing iss", rs, func(t *testing.T, f *attackFixture) string {
			return devSign(t, f.is.iss, jwt.SigningMethodRS256, nil, with(f, func(m map[string]any) { delete(m, "iss") }))
		}, "token has no issuer", nil},
		{"wrong aud", rs, func(t *testing.T, f *attackFixture) string {
			return mustSign(t, f.is.iss, claimsAt(f.clock).WithAudience("https://mcp.example.com/admin"))
		}, "token audience does not match this resource", nil},
		// testAudience is https://mcp.example.com/notes: only its scheme and host are
		// case-insensitive.
		{"aud path in another case", rs, func(t *testing.T, f *attackFixture) string {
			return mustSign(t, f.is.iss, claimsAt(f.clock).WithAudience("https://mcp.example.com/Notes"))
		}, "token audience does not match this resource", nil},
		{"aud with a trailing slash", rs, func(t *testing.T, f *attackFixture) string {
			return mustSign(t, f.is.iss, claimsAt(f.clock).WithAudience(testAudience+"/"))
		}, "token audience does not match this resource", nil},
		{"aud of another host", rs, func(t *testing.T, f *attackFixture) string {
			return mustSign(t, f.is.iss, claimsAt(f.clock).WithAudience("https://evil.example.com/notes"))
		}, "token audience does not match this resource", nil},
		{"aud of another host in upper case", rs, func(t *testing.T, f *attackFixture) string {
			return mustSign(t, f.is.iss, claimsAt(f.clock).WithAudience("HTTPS://EVIL.EXAMPLE.COM/notes"))
		}, "token audience does not match this resource", nil},
		{"missing aud", rs, func(t *testing.T, f *attackFixture) string {
			return mustSign(t, f.is.iss, claimsAt(f.clock).WithAudience())
		}, "token has no audience", nil},
		{"missing exp", rs, func(t *testing.T, f *attackFixture) string {
			return mustSign(t, f.is.iss, claimsAt(f.clock).WithoutExpiry())
		}, "token has no expiry", nil},
		{"tampered payload", rs, func(t *testing.T, f *attackFixture) string {
			return replaceSegment(f.valid(t), 1, jsonSeg(t, with(f, func(m map[string]any) { m["sub"] = "admin" })))
		}, "token signature is invalid", nil},
		{"tampered signature", rs, func(t *testing.T, f *attackFixture) string {
			tok := f.valid(t)
			sig, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[2])
			require.NoError(t, err)
			sig[10] ^= 0x01
			return replaceSegment(tok, 2, seg(sig))
		}, "token signature is invalid", nil},
		{"stripped signature", rs, func(t *testing.T, f *attackFixture) string {
			return replaceSegment(f.valid(t), 2, "")
		}, "token signature is invalid", nil},
		{"two segments", rs, func(t *testing.T, f *attackFixture) string {
			tok := f.valid(t)
			return tok[:strings.LastIndexByte(tok, '.')]
		}, "malformed token: a JWT has exactly three segments", nil},
		{"four segments", rs, func(t *testing.T, f *attackFixture) string {
			return f.valid(t) + ".e30"
		}, "malformed token: a JWT has exactly three segments", nil},
		{"five segments (JWE)", rs, func(t *testing.T, f *attackFixture) string {
			return "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d"
		}, "malformed token: encrypted tokens (JWE) are not supported", nil},
		{"bad base64 in header", rs, func(t *testing.T, f *attackFixture) string {
			return replaceSegment(f.valid(t), 0, "eyJhbGciOiJSUzI1NiJ9A")
		}, "malformed token: header is not valid base64url", nil},
		{"bad base64 in payload", rs, func(t *testing.T, f *attackFixture) string {
			return replaceSegment(f.valid(t), 1, "eyJzdWIiOiJ4In0AA")
		}, "malformed token: payload is not valid base64url", nil},
		{"bad base64 in signature", rs, func(t *testing.T, f *attackFixture) string {
			return replaceSegment(f.valid(t), 2, "AAAAA")
		}, "malformed token: signature is not valid base64url", nil},
		{"characters outside base64url", rs, func(t *testing.T, f *attackFixture) string {
			return replaceSegment(f.valid(t), 0, "eyJhbGciOiJSUzI1NiJ9+/")
		}, "malformed token: it contains characters outside the base64url alphabet", nil},
		{"oversized token", rs, func(t *testing.T, f *attackFixture) string {
			return mustSign(t, f.is.iss, claimsAt(f.clock).AddClaim("pad", strings.Repeat("x", DefaultMaxTokenSize)))
		}, "token is too large", nil},
		{"scope claim is a number", rs, func(t *testing.T, f *attackFixture) string {
			return mustSign(t, f.is.iss, claimsAt(f.clock).AddClaim("scope", 42))
		}, "scope claim must be a string", nil},
		{"scp array with a non-string element", rs, func(t *testing.T, f *attackFixture) string {
			return mustSign(t, f.is.iss, claimsAt(f.clock).AddClaim("scp", []any{"notes:read", 7}))
		}, "scp claim must be a string or an array of strings", nil},
		{"scp object", rs, func(t *testing.T, f *attackFixture) string {
			return mustSign(t, f.is.iss, claimsAt(f.clock).AddClaim("scp", map[string]any{"a": true}))
		}, "scp claim must be a string or an array of strings", nil},
		{"crit header", rs, func(t *testing.T, f *attackFixture) string {
			return devSign(t, f.is.iss, jwt.SigningMethodRS256, map[string]any{"crit": []string{"exp"}}, f.payload())
		}, "token header has a crit parameter", nil},
		{"wrong typ (dpop+jwt)", rs, func(t *testing.T, f *attackFixture) string {
			return devSign(t, f.is.iss, jwt.SigningMethodRS256, map[string]any{"typ": "dpop+jwt"}, f.payload())
		}, "token type (typ header) is not accepted", nil},
		{"wrong typ (JOSE+JSON)", rs, func(t *testing.T, f *attackFixture) string {
			return devSign(t, f.is.iss, jwt.SigningMethodRS256, map[string]any{"typ": "JOSE+JSON"}, f.payload())
		}, "token type (typ header) is not accepted", nil},
		{"ES256 signed by another key", ec, func(t *testing.T, f *attackFixture) string {
			return signRaw(t, jwt.SigningMethodES256, f.attackerEC, nil, f.payload())
		}, "token signature is invalid", nil},
		{"PS256 when only RS256 is allowed", rs, func(t *testing.T, f *attackFixture) string {
			return devSign(t, f.is.iss, jwt.SigningMethodPS256, nil, f.payload())
		}, "unexpected signing algorithm", nil},
		{"RS512 with a key whose JWK alg is RS256", multi, func(t *testing.T, f *attackFixture) string {
			return devSign(t, f.is.iss, jwt.SigningMethodRS512, nil, f.payload())
		}, "signing key does not match the token algorithm", nil},
		{"ES256 header with the RSA key's kid", multi, func(t *testing.T, f *attackFixture) string {
			return signRaw(t, jwt.SigningMethodES256, f.attackerEC, map[string]any{"kid": kid}, f.payload())
		}, "signing key does not match the token algorithm", nil},
		{"payload is a JSON array", rs, func(t *testing.T, f *attackFixture) string {
			return devSign(t, f.is.iss, jwt.SigningMethodRS256, nil, []int{1, 2})
		}, "malformed token: payload is not a JSON object", nil},
		{"payload is null", rs, func(t *testing.T, f *attackFixture) string {
			return devSign(t, f.is.iss, jwt.SigningMethodRS256, nil, nil)
		}, "malformed token: payload is not a JSON object", nil},
		{"header is not JSON", rs, func(t *testing.T, f *attackFixture) string {
			return replaceSegment(f.valid(t), 0, seg([]byte("RS256 please")))
		}, "malformed token: header is not a JSON object", nil},
		{"header has no alg", rs, func(t *testing.T, f *attackFixture) string {
			return replaceSegment(f.valid(t), 0, jsonSeg(t, map[string]any{"kid": kid, "typ": "JWT"}))
		}, "malformed token: header has no alg", nil},
		{"kid is not a string", rs, func(t *testing.T, f *attackFixture) string {
			return devSign(t, f.is.iss, jwt.SigningMethodRS256, map[string]any{"kid": 7}, f.payload())
		}, "token header kid must be a string", nil},
		{"exp is a string", rs, func(t *testing.T, f *attackFixture) string {
			return mustSign(t, f.is.iss, claimsAt(f.clock).AddClaim("exp", "tomorrow"))
		}, "exp claim must be a number", nil},
		{"aud is an object", rs, func(t *testing.T, f *attackFixture) string {
			return mustSign(t, f.is.iss, claimsAt(f.clock).AddClaim("aud", map[string]any{"x": testAudience}))
		}, "aud claim must be a string or an array of strings", nil},
		{"sub is a number", rs, func(t *testing.T, f *attackFixture) string {
			return mustSign(t, f.is.iss, claimsAt(f.clock).AddClaim("sub", 1))
		}, "sub claim must be a string", nil},
		{"roles is a number", rs, func(t *testing.T, f *attackFixture) string {
			return mustSign(t, f.is.iss, claimsAt(f.clock).AddClaim("roles", 1))
		}, "roles claim must be a string or an array of strings", nil},
		{"empty token", rs, func(t *testing.T, f *attackFixture) string { return "" }, "token is empty", nil},
		{"whitespace token", rs, func(t *testing.T, f *attackFixture) string { return "  \t " }, "malformed token", nil},
	}
	require.GreaterOrEqual(t, len(cases), 25)

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := tc.token(t, f)
			hits, lookups := f.is.jwksHits.Load(), f.rsCount.calls.Load()
			at, err := tc.verifier(f).VerifyToken(ctx, tok)
			require.Nil(t, at)
			requireInvalid(t, err, tc.want)
			if tc.want == "token is too large" {
				require.Greater(t, len(tok), DefaultMaxTokenSize)
				require.Equal(t, hits, f.is.jwksHits.Load(), "the JWKS was fetched for an oversized token")
				require.Equal(t, lookups, f.rsCount.calls.Load(), "a key was looked up for an oversized token")
			}
			if tc.after != nil {
				tc.after(t, f)
			}
		})
	}
	require.Zero(t, f.attackHits.Load(), "a URL from a token header was fetched")
}
