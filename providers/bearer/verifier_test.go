package bearer

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/scopes"
	"github.com/stretchr/testify/require"
)

func TestVerifyTokenFields(t *testing.T) {
	clock := newTestClock()
	is := newIssuerServer(t)
	cfg := is.config(clock)
	cfg.ProviderName = "corp-idp"
	v := newVerifierT(t, cfg)

	c := claimsAt(clock).
		AddScopes("notes:read", "notes:write").
		AddClaim("client_id", "cli-1").
		AddClaim("tenant_id", "acme").
		AddClaim("custom", "x").
		ExpiresIn(10 * time.Minute)
	tok, err := v.VerifyToken(context.Background(), mustSign(t, is.iss, c))
	require.NoError(t, err)
	m := c.Map()
	require.Equal(t, "alice", tok.Subject)
	require.Equal(t, "cli-1", tok.ClientID)
	require.Equal(t, is.iss.Issuer(), tok.Issuer)
	require.Equal(t, "acme", tok.TenantID)
	require.Equal(t, []string{testAudience}, tok.Audience)
	require.Equal(t, []string{"notes:read", "notes:write"}, tok.Scopes)
	require.Equal(t, clock.Now().Add(10*time.Minute), tok.ExpiresAt)
	require.Equal(t, clock.Now(), tok.IssuedAt)
	require.Equal(t, m["jti"], tok.ID)
	require.Len(t, tok.ID, 32)
	require.Equal(t, "x", tok.Claims["custom"])
	require.Equal(t, "corp-idp", tok.Provider)
	require.False(t, tok.Expired(clock.Now()))
}

func TestScopeSources(t *testing.T) {
	clock := newTestClock()
	is := newIssuerServer(t)
	cfg := is.config(clock)
	cfg.ScopeClaims = []string{"permissions"}
	cfg.RoleScopes = scopes.RoleMap{"editor": {"notes:read", "notes:write"}, "admin": {"admin"}}
	v := newVerifierT(t, cfg)

	cases := []struct {
		name   string
		claims *Claims
		want   []string
	}{
		{"scope string", claimsAt(clock).AddScopes("a b", "c"), []string{"a", "b", "c"}},
		{"scp array", claimsAt(clock).AddClaim("scp", []string{"a", "b"}), []string{"a", "b"}},
		{"scp string", claimsAt(clock).AddClaim("scp", "a b"), []string{"a", "b"}},
		{"scope and scp merged without duplicates", claimsAt(clock).AddScopes("a b").AddClaim("scp", []string{"b", "c"}), []string{"a", "b", "c"}},
		{"extra scope claim", claimsAt(clock).AddScopes("a").AddClaim("permissions", []string{"p:1", "p:2"}), []string{"a", "p:1", "p:2"}},
		{"extra scope claim as string", claimsAt(clock).AddClaim("permissions", "p:1 p:2"), []string{"p:1", "p:2"}},
		{"roles array expand to scopes", claimsAt(clock).AddScopes("a").AddClaim("roles", []string{"editor", "unknown"}), []string{"a", "notes:read", "notes:write"}},
		{"role string", claimsAt(clock).AddClaim("roles", "admin"), []string{"admin"}},
		{"no scopes", claimsAt(clock), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := v.VerifyToken(context.Background(), mustSign(t, is.iss, tc.claims))
			require.NoError(t, err)
			require.Equal(t, tc.want, tok.Scopes)
		})
	}

	t.Run("bad extra scope claim", func(t *testing.T) {
		_, err := v.VerifyToken(context.Background(), mustSign(t, is.iss, claimsAt(clock).AddClaim("permissions", 3)))
		requireInvalid(t, err, "permissions claim must be a string or an array of strings")
	})
}

func TestCustomRolesAndTenantClaims(t *testing.T) {
	clock := newTestClock()
	is := newIssuerServer(t)
	cfg := is.config(clock)
	cfg.RolesClaim = "groups"
	cfg.TenantClaim = "org"
	cfg.RoleScopes = scopes.RoleMap{"ops": {"deploy"}}
	v := newVerifierT(t, cfg)

	tok, err := v.VerifyToken(context.Background(), mustSign(t, is.iss, claimsAt(clock).
		AddClaim("groups", []string{"ops"}).AddClaim("roles", []string{"ignored"}).
		AddClaim("org", "o-1").AddClaim("tenant_id", "ignored")))
	require.NoError(t, err)
	require.Equal(t, []string{"deploy"}, tok.Scopes)
	require.Equal(t, "o-1", tok.TenantID)

	_, err = v.VerifyToken(context.Background(), mustSign(t, is.iss, claimsAt(clock).AddClaim("org", 12)))
	requireInvalid(t, err, "org claim must be a string")
}

func TestClientIDAndAZP(t *testing.T) {
	clock := newTestClock()
	is := newIssuerServer(t)
	v := newVerifierT(t, is.config(clock))
	ctx := context.Background()

	tok, err := v.VerifyToken(ctx, mustSign(t, is.iss, claimsAt(clock).AddClaim("client_id", "cid").AddClaim("azp", "azp")))
	require.NoError(t, err)
	require.Equal(t, "cid", tok.ClientID, "client_id wins over azp")

	tok, err = v.VerifyToken(ctx, mustSign(t, is.iss, claimsAt(clock).AddClaim("azp", "azp")))
	require.NoError(t, err)
	require.Equal(t, "azp", tok.ClientID)

	tok, err = v.VerifyToken(ctx, mustSign(t, is.iss, claimsAt(clock)))
	require.NoError(t, err)
	require.Empty(t, tok.ClientID)
}

func TestAudiences(t *testing.T) {
	clock := newTestClock()
	is := newIssuerServer(t)
	cfg := is.config(clock)
	cfg.Audience = []string{"https://a.example", "https://b.example"}
	v := newVerifierT(t, cfg)
	ctx := context.Background()

	tok, err := v.VerifyToken(ctx, mustSign(t, is.iss, claimsAt(clock).WithAudience("https://other.example", "https://b.example")))
	require.NoError(t, err)
	require.Equal(t, []string{"https://other.example", "https://b.example"}, tok.Audience)

	_, err = v.VerifyToken(ctx, mustSign(t, is.iss, claimsAt(clock).WithAudience("https://a.example")))
	require.NoError(t, err)

	_, err = v.VerifyToken(ctx, mustSign(t, is.iss, claimsAt(clock).WithAudience("https://other.example", "https://c.example")))
	requireInvalid(t, err, "token audience does not match this resource")

	_, err = v.VerifyToken(ctx, mustSign(t, is.iss, claimsAt(clock).AddClaim("aud", []any{"https://a.example", 1})))
	requireInvalid(t, err, "aud claim must be a string or an array of strings")

	// MCP authorization (2026-07-28), RFC 3986 §6.2.2.1 and §6.2.3: the scheme and host of
	// the resource URI are case-insensitive and a default port is the same as none; the
	// path and the rest are compared exactly.
	t.Run("scheme and host are case-insensitive", func(t *testing.T) {
		const resource = "https://mcp.example.com/notes/mcp"
		accepted := []string{
			"HTTPS://MCP.Example.COM/notes/mcp",
			"https://mcp.example.com:443/notes/mcp",
		}
		refused := []string{
			"https://mcp.example.com/Notes/mcp",  // the path is case-sensitive
			"https://mcp.example.com/notes/mcp/", // a trailing slash is another path
			"https://evil.example.com/notes/mcp",
			"HTTPS://EVIL.EXAMPLE.COM/notes/mcp",
			"https://mcp.example.com:8443/notes/mcp",
			"http://mcp.example.com/notes/mcp",
			"https://mcp.example.com/notes/mcp?x",
			"https://mcp.example.com/notes/mc%70", // no percent-decoding
		}
		cfg := is.config(clock)
		cfg.Audience = []string{resource}
		v := newVerifierT(t, cfg)
		cfg.Audience = nil
		factory, err := NewFactory(cfg)
		require.NoError(t, err)
		fv, err := factory(resource)
		require.NoError(t, err)
		defer fv.(io.Closer).Close()
		cfg.Audience = []string{"HTTPS://MCP.EXAMPLE.COM:443/notes/mcp"} // configured in upper case
		upper := newVerifierT(t, cfg)

		for name, v := range map[string]mcpauth.TokenVerifier{"New": v, "NewFactory": fv, "upper-case Config.Audience": upper} {
			for _, aud := range append([]string{resource}, accepted...) {
				tok, err := v.VerifyToken(ctx, mustSign(t, is.iss, claimsAt(clock).WithAudience(aud)))
				require.NoErrorf(t, err, "%s: aud %q", name, aud)
				require.Equalf(t, []string{aud}, tok.Audience, "%s: the token's audience is reported as sent", name)
			}
			for _, aud := range refused {
				_, err := v.VerifyToken(ctx, mustSign(t, is.iss, claimsAt(clock).WithAudience(aud)))
				requireInvalid(t, err, "token audience does not match this resource")
			}
		}
		// A non-URI audience stays an exact match.
		cfg.Audience = []string{"api://Notes"}
		api := newVerifierT(t, cfg)
		_, err = api.VerifyToken(ctx, mustSign(t, is.iss, claimsAt(clock).WithAudience("api://Notes")))
		require.NoError(t, err)
		_, err = api.VerifyToken(ctx, mustSign(t, is.iss, claimsAt(clock).WithAudience("API://notes")))
		requireInvalid(t, err, "token audience does not match this resource")
	})

	t.Run("SkipAudienceCheck", func(t *testing.T) {
		cfg := is.config(clock)
		cfg.Audience, cfg.SkipAudienceCheck = nil, true
		v := newVerifierT(t, cfg)
		tok, err := v.VerifyToken(ctx, mustSign(t, is.iss, claimsAt(clock).WithAudience()))
		require.NoError(t, err)
		require.Empty(t, tok.Audience)
	})
}

func TestIssuers(t *testing.T) {
	clock := newTestClock()
	is := newIssuerServer(t)
	cfg := is.config(clock)
	cfg.Issuers = []string{"https://one.example", is.iss.Issuer()}
	v := newVerifierT(t, cfg)
	ctx := context.Background()

	for _, iss := range cfg.Issuers {
		tok, err := v.VerifyToken(ctx, mustSign(t, is.iss, claimsAt(clock).WithIssuer(iss)))
		require.NoError(t, err, iss)
		require.Equal(t, iss, tok.Issuer)
	}
	_, err := v.VerifyToken(ctx, mustSign(t, is.iss, claimsAt(clock).WithIssuer("https://one.example/")))
	requireInvalid(t, err, "token issuer is not accepted")

	t.Run("SkipIssuerCheck", func(t *testing.T) {
		cfg := is.config(clock)
		cfg.Issuers, cfg.SkipIssuerCheck = nil, true
		v := newVerifierT(t, cfg)
		_, err := v.VerifyToken(ctx, mustSign(t, is.iss, claimsAt(clock).WithIssuer("https://any.example")))
		require.NoError(t, err)
		_, err = v.VerifyToken(ctx, devSign(t, is.iss, jwt.SigningMethodRS256, nil, map[string]any{
			"sub": "x", "aud": testAudience, "exp": clock.Now().Add(time.Minute).Unix(),
		}))
		require.NoError(t, err)
	})
}

func TestLeeway(t *testing.T) {
	clock := newTestClock()
	is := newIssuerServer(t)
	cfg := is.config(clock)
	cfg.Leeway = 30 * time.Second
	v := newVerifierT(t, cfg)
	ctx := context.Background()
	now := clock.Now()

	ok := map[string]*Claims{
		"expired within leeway":  claimsAt(clock).IssuedAt(now.Add(-time.Hour)).ExpiresAt(now.Add(-29 * time.Second)),
		"nbf within leeway":      claimsAt(clock).NotBefore(now.Add(29 * time.Second)),
		"iat within leeway":      claimsAt(clock).IssuedAt(now.Add(29 * time.Second)),
		"nbf exactly at leeway":  claimsAt(clock).NotBefore(now.Add(30 * time.Second)),
		"no leeway needed (nbf)": claimsAt(clock).NotBefore(now),
	}
	for name, c := range ok {
		tok, err := v.VerifyToken(ctx, mustSign(t, is.iss, c))
		require.NoError(t, err, name)
		// Consumers that re-check expiry (middleware, cache) see the leeway too.
		require.False(t, tok.Expired(now), name)
	}
	// The boundary: exp + leeway == now is expired.
	_, err := v.VerifyToken(ctx, mustSign(t, is.iss, claimsAt(clock).IssuedAt(now.Add(-time.Hour)).ExpiresAt(now.Add(-30*time.Second))))
	requireInvalid(t, err, "token is expired")

	t.Run("no leeway", func(t *testing.T) {
		v := newVerifierT(t, is.config(clock))
		_, err := v.VerifyToken(ctx, mustSign(t, is.iss, claimsAt(clock).NotBefore(now.Add(time.Second))))
		requireInvalid(t, err, "token is not valid yet")
		_, err = v.VerifyToken(ctx, mustSign(t, is.iss, claimsAt(clock).ExpiresAt(now)))
		requireInvalid(t, err, "token is expired")
	})
}

func TestExpirationOptional(t *testing.T) {
	clock := newTestClock()
	is := newIssuerServer(t)
	cfg := is.config(clock)
	cfg.ExpirationOptional = true
	v := newVerifierT(t, cfg)
	tok, err := v.VerifyToken(context.Background(), mustSign(t, is.iss, claimsAt(clock).WithoutExpiry()))
	require.NoError(t, err)
	require.True(t, tok.ExpiresAt.IsZero())
	// An exp that is present is still enforced.
	_, err = v.VerifyToken(context.Background(), mustSign(t, is.iss, claimsAt(clock).ExpiresAt(clock.Now().Add(-time.Minute))))
	requireInvalid(t, err, "token is expired")
}

func TestTypHeaderVariants(t *testing.T) {
	clock := newTestClock()
	is := newIssuerServer(t)
	v := newVerifierT(t, is.config(clock))
	payload := claimsAt(clock).WithIssuer(is.iss.Issuer()).Map()
	for _, typ := range []any{"JWT", "jwt", "at+jwt", "AT+JWT", "application/at+jwt", nil} {
		_, err := v.VerifyToken(context.Background(), devSign(t, is.iss, jwt.SigningMethodRS256, map[string]any{"typ": typ}, payload))
		require.NoError(t, err, "typ %v", typ)
	}
	_, err := v.VerifyToken(context.Background(), devSign(t, is.iss, jwt.SigningMethodRS256, map[string]any{"typ": 1}, payload))
	requireInvalid(t, err, "token type (typ header) is not accepted")
}

func TestMaxTokenSize(t *testing.T) {
	clock := newTestClock()
	is := newIssuerServer(t)
	cfg := is.config(clock)
	cfg.MaxTokenSize = 20000
	v := newVerifierT(t, cfg)
	big := mustSign(t, is.iss, claimsAt(clock).AddClaim("pad", strings.Repeat("x", 10000)))
	_, err := v.VerifyToken(context.Background(), big)
	require.NoError(t, err)

	cfg.MaxTokenSize = 100
	v = newVerifierT(t, cfg)
	_, err = v.VerifyToken(context.Background(), mustSign(t, is.iss, claimsAt(clock)))
	requireInvalid(t, err, "token is too large")
}

func TestFactory(t *testing.T) {
	clock := newTestClock()
	is := newIssuerServer(t)
	cfg := is.config(clock)
	cfg.Audience = nil
	factory, err := NewFactory(cfg)
	require.NoError(t, err)
	ctx := context.Background()

	notes, err := factory("https://mcp.example.com/notes")
	require.NoError(t, err)
	admin, err := factory("https://mcp.example.com/admin")
	require.NoError(t, err)
	require.Equal(t, int64(1), is.jwksHits.Load(), "verifiers of one factory share one JWKS")

	tok := mustSign(t, is.iss, claimsAt(clock).WithAudience("https://mcp.example.com/notes"))
	_, err = notes.VerifyToken(ctx, tok)
	require.NoError(t, err)
	_, err = admin.VerifyToken(ctx, tok)
	requireInvalid(t, err, "token audience does not match this resource")

	_, err = factory("")
	require.ErrorContains(t, err, "resource URI is empty")

	// Close on one closes the shared source.
	require.NoError(t, admin.(io.Closer).Close())
	require.Error(t, notes.(*Verifier).src.(*jwksSource).ctx.Err())
	require.NoError(t, notes.(*Verifier).Close(), "Close is idempotent")

	t.Run("fixed audience", func(t *testing.T) {
		cfg := is.config(clock)
		factory, err := NewFactory(cfg)
		require.NoError(t, err)
		v, err := factory("https://ignored.example")
		require.NoError(t, err)
		defer v.(io.Closer).Close()
		_, err = v.VerifyToken(ctx, mustSign(t, is.iss, claimsAt(clock)))
		require.NoError(t, err)
	})
	t.Run("invalid config", func(t *testing.T) {
		_, err := NewFactory(Config{Keys: JWKS{URI: is.iss.JWKSURI()}})
		require.ErrorContains(t, err, "Config.Issuers is empty")
	})
}

func TestCachedVerifier(t *testing.T) {
	clock := newTestClock()
	is := newIssuerServer(t)
	v := newVerifierT(t, is.config(clock))
	c := mcpauth.Cached(v, mcpauth.WithCacheClock(clock.Now))
	tok := mustSign(t, is.iss, claimsAt(clock).AddScopes("a"))
	a, err := c.VerifyToken(context.Background(), tok)
	require.NoError(t, err)
	b, err := c.VerifyToken(context.Background(), tok)
	require.NoError(t, err)
	require.Same(t, a, b)
	require.Equal(t, uint64(1), c.Stats().Verifications)
}

func TestErrorsAreTyped(t *testing.T) {
	clock := newTestClock()
	is := newIssuerServer(t)
	v := newVerifierT(t, is.config(clock))
	_, err := v.VerifyToken(context.Background(), "a.b.c")
	var me *mcpauth.Error
	require.True(t, errors.As(err, &me))
	require.Equal(t, mcpauth.CodeInvalidToken, me.Code)
	require.False(t, errors.Is(err, mcpauth.ErrUpstreamUnavailable))
}

func TestEdDSAPublicKey(t *testing.T) {
	clock := newTestClock()
	pub, priv := mustEd25519(t)
	v := newVerifierT(t, Config{
		Keys:     StaticKeys(pub),
		Issuers:  []string{"https://iss.example"},
		Audience: []string{testAudience},
		Now:      clock.Now,
	})
	payload := claimsAt(clock).WithIssuer("https://iss.example").Map()
	_, err := v.VerifyToken(context.Background(), signRaw(t, jwt.SigningMethodEdDSA, priv, map[string]any{"kid": "whatever"}, payload))
	require.NoError(t, err)
	_, err = v.VerifyToken(context.Background(), signRaw(t, jwt.SigningMethodEdDSA, priv, nil, payload))
	require.NoError(t, err)
}

func TestMissingSubjectIsRefusedByDefault(t *testing.T) {
	clock := newTestClock()
	is := newIssuerServer(t)
	ctx := context.Background()
	exp := clock.Now().Add(time.Minute).Unix()
	// Two clients whose tokens carry no subject: refused, so they are never one caller.
	noSub := []string{
		devSign(t, is.iss, jwt.SigningMethodRS256, nil, map[string]any{"iss": is.iss.Issuer(), "aud": testAudience, "exp": exp, "client_id": "client-a"}),
		devSign(t, is.iss, jwt.SigningMethodRS256, nil, map[string]any{"iss": is.iss.Issuer(), "aud": testAudience, "exp": exp, "client_id": "client-b"}),
		mustSign(t, is.iss, NewClaims("").AddClaim("sub", "").IssuedAt(clock.Now()).WithAudience(testAudience)),
	}

	v := newVerifierT(t, is.config(clock))
	for _, token := range noSub {
		tok, err := v.VerifyToken(ctx, token)
		require.Nil(t, tok)
		var e *mcpauth.Error
		require.True(t, errors.As(err, &e), "%v", err)
		require.Equal(t, mcpauth.Error{Code: "invalid_token", Status: 401, Description: "the token has no subject (sub)"}, *e)
		require.ErrorIs(t, err, mcpauth.ErrInvalidToken)
	}

	t.Run("AllowMissingSubject", func(t *testing.T) {
		cfg := is.config(clock)
		cfg.AllowMissingSubject = true
		v := newVerifierT(t, cfg)
		for i, token := range noSub {
			tok, err := v.VerifyToken(ctx, token)
			require.NoError(t, err, i)
			require.Empty(t, tok.Subject)
		}
		tok, err := v.VerifyToken(ctx, noSub[1])
		require.NoError(t, err)
		require.Equal(t, "client-b", tok.ClientID)
		// A subject of the wrong type is still refused.
		_, err = v.VerifyToken(ctx, mustSign(t, is.iss, claimsAt(clock).AddClaim("sub", 7)))
		requireInvalid(t, err, "sub claim must be a string")
	})
}
