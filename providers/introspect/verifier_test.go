package introspect

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/stretchr/testify/require"
)

func TestAcceptsActiveToken(t *testing.T) {
	for _, method := range []string{AuthMethodClientSecretBasic, AuthMethodClientSecretPost} {
		t.Run(method, func(t *testing.T) {
			clock := newTestClock()
			as := newFakeAS(t, clock)
			cfg := as.config()
			if method == AuthMethodClientSecretPost {
				cfg.ClientID, cfg.ClientSecret, cfg.AuthMethod = postID, mcpauth.NewSecret(postSecret), AuthMethodClientSecretPost
			}
			cfg.Issuers = []string{"https://as.example.com"}
			cfg.Scopes = []string{"profile", "notes:read"}
			cfg.ProviderName = "corp-as"
			v := newVerifierT(t, cfg)

			as.issue("tok-alice", map[string]any{
				"aud":       []any{"https://other.example", testResource},
				"tenant_id": "acme",
				"jti":       "jti-1",
				"username":  "Alice Liddell",
				"nbf":       clock.Now().Add(-time.Minute).Unix(),
				"ext":       map[string]any{"dept": "eng"},
			})
			tok, err := v.VerifyToken(context.Background(), "tok-alice")
			require.NoError(t, err)
			require.Equal(t, "alice", tok.Subject)
			require.Equal(t, "mcp-client", tok.ClientID)
			require.Equal(t, "https://as.example.com", tok.Issuer)
			require.Equal(t, "acme", tok.TenantID)
			require.Equal(t, "jti-1", tok.ID)
			require.Equal(t, []string{"https://other.example", testResource}, tok.Audience)
			require.Equal(t, []string{"notes:read", "notes:write", "profile"}, tok.Scopes)
			require.Equal(t, clock.Now().Add(10*time.Minute), tok.ExpiresAt)
			require.Equal(t, clock.Now(), tok.IssuedAt)
			require.Equal(t, "corp-as", tok.Provider)
			require.Equal(t, true, tok.Claims["active"])
			require.Equal(t, "Alice Liddell", tok.Claims["username"])
			require.Equal(t, map[string]any{"dept": "eng"}, tok.Claims["ext"])
			require.Equal(t, "Bearer", tok.Claims["token_type"])
			require.False(t, tok.Expired(clock.Now()))

			seen := as.lastRequest()
			require.Equal(t, method, seen.authMethod, "the fake saw the configured client authentication")
			require.Equal(t, cfg.ClientID, seen.clientID)
			require.Equal(t, int64(1), as.calls.Load())
		})
	}
}

func TestRequestShape(t *testing.T) {
	clock := newTestClock()
	as := newFakeAS(t, clock)
	as.issue("tok", nil)

	t.Run("basic", func(t *testing.T) {
		v := newVerifierT(t, as.config())
		_, err := v.VerifyToken(context.Background(), "tok")
		require.NoError(t, err)
		seen := as.lastRequest()
		require.Equal(t, http.MethodPost, seen.method)
		require.Equal(t, "application/x-www-form-urlencoded", seen.contentType)
		require.Equal(t, "application/json", seen.accept)
		require.Empty(t, seen.query, "nothing in the URL, least of all the token")
		require.Equal(t, "tok", seen.token)
		require.Equal(t, "access_token", seen.hint)
		require.Equal(t, basicID, seen.clientID, "the special characters of the secret survived RFC 6749 encoding")
		require.NotContains(t, seen.form, "client_id")
		require.NotContains(t, seen.form, "client_secret")
		require.Len(t, seen.form, 2, "token and token_type_hint only")
	})
	t.Run("post", func(t *testing.T) {
		cfg := as.config()
		cfg.ClientID, cfg.ClientSecret, cfg.AuthMethod = postID, mcpauth.NewSecret(postSecret), AuthMethodClientSecretPost
		cfg.TokenTypeHint = "-"
		v := newVerifierT(t, cfg)
		_, err := v.VerifyToken(context.Background(), "tok")
		require.NoError(t, err)
		seen := as.lastRequest()
		require.Equal(t, AuthMethodClientSecretPost, seen.authMethod)
		require.Equal(t, postSecret, seen.form.Get("client_secret"))
		require.NotContains(t, seen.form, "token_type_hint", `"-" sends no hint`)
	})
	t.Run("custom hint", func(t *testing.T) {
		cfg := as.config()
		cfg.TokenTypeHint = "urn:example:opaque"
		v := newVerifierT(t, cfg)
		_, err := v.VerifyToken(context.Background(), "tok")
		require.NoError(t, err)
		require.Equal(t, "urn:example:opaque", as.lastRequest().hint)
	})
	t.Run("the wrong method is rejected by the fake", func(t *testing.T) {
		cfg := as.config()
		cfg.AuthMethod = AuthMethodClientSecretPost // rs-basic is registered for basic
		v := newVerifierT(t, cfg)
		_, err := v.VerifyToken(context.Background(), "tok")
		requireUnavailable(t, err, "rejected this resource server's credentials", 0)
	})
}

func TestRefusals(t *testing.T) {
	clock := newTestClock()
	as := newFakeAS(t, clock)
	as.lagging.Store(true) // our own checks are under test, not the server's
	now := clock.Now()
	cases := []struct {
		name    string
		members map[string]any
		cfg     func(*Config)
		want    string
	}{
		{"expired by our clock (server still says active)", map[string]any{"exp": now.Unix()}, nil, descExpired},
		{"expired one second ago", map[string]any{"exp": now.Add(-time.Second).Unix()}, nil, descExpired},
		{"not yet valid", map[string]any{"nbf": now.Add(time.Minute).Unix()}, nil, descNotYetValid},
		{"audience of another resource", map[string]any{"aud": otherRes}, nil, descAudience},
		{"audience array without this resource", map[string]any{"aud": []any{otherRes, "https://x.example"}}, nil, descAudience},
		{"audience prefix is not a match", map[string]any{"aud": testResource + "/extra"}, nil, descAudience},
		// testResource is https://mcp.example.com/notes/mcp: only its scheme and host are
		// case-insensitive (RFC 3986); the path and the rest are compared exactly.
		{"audience path in another case", map[string]any{"aud": "https://mcp.example.com/Notes/mcp"}, nil, descAudience},
		{"audience with a trailing slash", map[string]any{"aud": "https://mcp.example.com/notes/mcp/"}, nil, descAudience},
		{"audience of another host", map[string]any{"aud": "https://evil.example.com/notes/mcp"}, nil, descAudience},
		{"audience of another host in upper case", map[string]any{"aud": "HTTPS://EVIL.EXAMPLE.COM/notes/mcp"}, nil, descAudience},
		{"audience with another port", map[string]any{"aud": "https://mcp.example.com:8443/notes/mcp"}, nil, descAudience},
		{"no audience", map[string]any{"aud": nil}, nil, descNoAudience},
		{"empty audience array", map[string]any{"aud": []any{}}, nil, descNoAudience},
		{"issuer not accepted", nil, func(c *Config) { c.Issuers = []string{"https://other-as.example"} }, descIssuer},
		{"issuer missing when required", map[string]any{"iss": nil}, func(c *Config) { c.Issuers = []string{"https://as.example.com"} }, descNoIssuer},
		{"refresh token", map[string]any{"token_type": "refresh_token"}, nil, descRefreshToken},
		{"refresh token, any case", map[string]any{"token_type": "Refresh_Token"}, nil, descRefreshToken},
		{"DPoP-bound token", map[string]any{"token_type": "DPoP", "cnf": map[string]any{"jkt": "abc"}}, nil, descBound},
		{"mTLS-bound token", map[string]any{"cnf": map[string]any{"x5t#S256": "abc"}}, nil, descBound},
		{"no subject", map[string]any{"sub": nil}, nil, descNoSubject},
		{"empty subject", map[string]any{"sub": ""}, nil, descNoSubject},
		{"no subject and no client", map[string]any{"sub": nil, "client_id": nil}, nil, descNoSubject},
		{"no subject and no client, missing subject allowed", map[string]any{"sub": nil, "client_id": nil}, allowNoSub, descNoPrincipal},
		{"empty subject and no client, missing subject allowed", map[string]any{"sub": "", "client_id": nil}, allowNoSub, descNoPrincipal},
		{"leeway does not reach", map[string]any{"exp": now.Add(-31 * time.Second).Unix()}, func(c *Config) { c.Leeway = 30 * time.Second }, descExpired},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			token := "tok-" + string(rune('a'+i))
			as.issue(token, tc.members)
			cfg := as.config()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			_, err := newVerifierT(t, cfg).VerifyToken(context.Background(), token)
			requireInvalid(t, err, tc.want)
		})
	}

	t.Run("inactive: unknown token", func(t *testing.T) {
		_, err := newVerifierT(t, as.config()).VerifyToken(context.Background(), "never-issued")
		requireInvalid(t, err, descInactive)
	})
	t.Run("inactive: revoked token", func(t *testing.T) {
		v := newVerifierT(t, as.config())
		as.issue("to-revoke", nil)
		_, err := v.VerifyToken(context.Background(), "to-revoke")
		require.NoError(t, err)
		as.revoke("to-revoke")
		_, err = v.VerifyToken(context.Background(), "to-revoke")
		requireInvalid(t, err, descInactive)
	})
	t.Run("inactive: expired at the server", func(t *testing.T) {
		c2 := newTestClock()
		as2 := newFakeAS(t, c2)
		as2.issue("short", map[string]any{"exp": c2.Now().Add(time.Minute).Unix()})
		v := newVerifierT(t, as2.config())
		_, err := v.VerifyToken(context.Background(), "short")
		require.NoError(t, err)
		c2.Advance(time.Minute)
		_, err = v.VerifyToken(context.Background(), "short")
		requireInvalid(t, err, descInactive)
	})
}

func TestAcceptedVariants(t *testing.T) {
	clock := newTestClock()
	as := newFakeAS(t, clock)
	as.lagging.Store(true)
	now := clock.Now()
	cases := []struct {
		name    string
		members map[string]any
		cfg     func(*Config)
		check   func(*testing.T, *mcpauth.AccessToken)
	}{
		{"client credentials: subject is the client id", map[string]any{"sub": nil, "username": "svc"}, allowNoSub, func(t *testing.T, tok *mcpauth.AccessToken) {
			require.Equal(t, "mcp-client", tok.Subject)
			require.Equal(t, "mcp-client", tok.ClientID)
		}},
		{"username is never the subject", map[string]any{"sub": "u-42", "username": "alice"}, nil, func(t *testing.T, tok *mcpauth.AccessToken) {
			require.Equal(t, "u-42", tok.Subject)
		}},
		{"null members count as absent", map[string]any{"cnf": nil, "nbf": nil}, nil, func(t *testing.T, tok *mcpauth.AccessToken) {
			require.Equal(t, "alice", tok.Subject)
		}},
		{"no exp: no expiry", map[string]any{"exp": nil}, nil, func(t *testing.T, tok *mcpauth.AccessToken) {
			require.True(t, tok.ExpiresAt.IsZero())
		}},
		{"fractional exp", map[string]any{"exp": float64(now.Add(time.Minute).Unix()) + 0.5}, nil, func(t *testing.T, tok *mcpauth.AccessToken) {
			require.Equal(t, now.Add(time.Minute+500*time.Millisecond), tok.ExpiresAt)
		}},
		{"leeway extends exp", map[string]any{"exp": now.Add(-10 * time.Second).Unix()}, func(c *Config) { c.Leeway = 30 * time.Second }, func(t *testing.T, tok *mcpauth.AccessToken) {
			require.Equal(t, now.Add(20*time.Second), tok.ExpiresAt)
		}},
		{"nbf within leeway", map[string]any{"nbf": now.Add(30 * time.Second).Unix()}, func(c *Config) { c.Leeway = 30 * time.Second }, nil},
		{"nbf now", map[string]any{"nbf": now.Unix()}, nil, nil},
		{"no scope", map[string]any{"scope": nil}, nil, func(t *testing.T, tok *mcpauth.AccessToken) {
			require.Empty(t, tok.Scopes)
		}},
		{"scope with extra spaces and duplicates", map[string]any{"scope": "  a  b a\tc "}, nil, func(t *testing.T, tok *mcpauth.AccessToken) {
			require.Equal(t, []string{"a", "b", "c"}, tok.Scopes)
		}},
		{"configured scopes only", map[string]any{"scope": nil}, func(c *Config) { c.Scopes = []string{"x y", "z"} }, func(t *testing.T, tok *mcpauth.AccessToken) {
			require.Equal(t, []string{"x", "y", "z"}, tok.Scopes)
		}},
		{"custom tenant claim", map[string]any{"org": "globex", "tenant_id": "ignored"}, func(c *Config) { c.TenantClaim = "org" }, func(t *testing.T, tok *mcpauth.AccessToken) {
			require.Equal(t, "globex", tok.TenantID)
		}},
		{"skip audience check", map[string]any{"aud": nil}, func(c *Config) { c.Audience, c.SkipAudienceCheck = nil, true }, func(t *testing.T, tok *mcpauth.AccessToken) {
			require.Empty(t, tok.Audience)
		}},
		{"one of several audiences", map[string]any{"aud": otherRes}, func(c *Config) { c.Audience = []string{testResource, otherRes} }, nil},
		// MCP authorization (2026-07-28), RFC 3986: scheme and host are case-insensitive,
		// a default port is the same as none. The token's audience is reported as sent.
		{"audience scheme and host in upper case", map[string]any{"aud": "HTTPS://MCP.Example.COM/notes/mcp"}, nil, func(t *testing.T, tok *mcpauth.AccessToken) {
			require.Equal(t, []string{"HTTPS://MCP.Example.COM/notes/mcp"}, tok.Audience)
		}},
		{"audience with the default port", map[string]any{"aud": "https://mcp.example.com:443/notes/mcp"}, nil, nil},
		{"configured audience in upper case", nil, func(c *Config) { c.Audience = []string{"HTTPS://MCP.EXAMPLE.COM:443/notes/mcp"} }, nil},
		{"issuer not checked when Issuers is empty", map[string]any{"iss": "https://whatever.example"}, nil, func(t *testing.T, tok *mcpauth.AccessToken) {
			require.Equal(t, "https://whatever.example", tok.Issuer)
		}},
		{"token_type absent", map[string]any{"token_type": nil}, nil, nil},
		{"token_type access_token", map[string]any{"token_type": "access_token"}, nil, nil},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			token := "ok-" + string(rune('a'+i))
			as.issue(token, tc.members)
			cfg := as.config()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			tok, err := newVerifierT(t, cfg).VerifyToken(context.Background(), token)
			require.NoError(t, err)
			if tc.check != nil {
				tc.check(t, tok)
			}
		})
	}
}

// Members of the wrong type make the response malformed: the authorization server is
// broken, so the answer is 503, never an invalid token.
func TestMalformedMembers(t *testing.T) {
	clock := newTestClock()
	as := newFakeAS(t, clock)
	cases := map[string]map[string]any{
		"exp string":      {"exp": "1700000000"},
		"nbf bool":        {"nbf": true},
		"iat object":      {"iat": map[string]any{}},
		"aud number":      {"aud": 5},
		"aud mixed array": {"aud": []any{testResource, 1}},
		"iss number":      {"iss": 1},
		"scope array":     {"scope": []any{"a", "b"}},
		"sub number":      {"sub": 7},
		"client_id bool":  {"client_id": false},
		"token_type num":  {"token_type": 1},
		"jti number":      {"jti": 1},
		"tenant number":   {"tenant_id": 3},
		"username number": {"username": 3},
	}
	i := 0
	for name, members := range cases {
		i++
		t.Run(name, func(t *testing.T) {
			token := "bad-" + strings.Repeat("x", i)
			as.issue(token, members)
			_, err := newVerifierT(t, as.config()).VerifyToken(context.Background(), token)
			requireUnavailable(t, err, "introspection response is malformed", 0)
		})
	}
}

// Garbage that cannot be a bearer token never reaches the authorization server.
func TestPrefilter(t *testing.T) {
	clock := newTestClock()
	as := newFakeAS(t, clock)
	cfg := as.config()
	cfg.MaxTokenSize = 64
	v := newVerifierT(t, cfg)
	cases := []struct {
		token, want string
	}{
		{"", descEmpty},
		{strings.Repeat("a", 65), descTooLarge},
		{"has space", descCharset},
		{"tab\there", descCharset},
		{"new\nline", descCharset},
		{"quote\"d", descCharset},
		{"comma,sep", descCharset},
		{"ünïcode", descCharset},
		{"nul\x00byte", descCharset},
		{"=", descCharset},
		{"===", descCharset},
		{"a=b", descCharset},
		{"Bearer%20x", descCharset},
	}
	for _, tc := range cases {
		_, err := v.VerifyToken(context.Background(), tc.token)
		requireInvalid(t, err, tc.want)
	}
	require.Equal(t, int64(0), as.calls.Load(), "the prefilter made no upstream call")

	// Every b64token character, with trailing padding, passes the prefilter.
	for _, tok := range []string{"AZaz09-._~+/", "abc=", "abc==", strings.Repeat("a", 64)} {
		_, err := v.VerifyToken(context.Background(), tok)
		requireInvalid(t, err, descInactive)
	}
	require.Equal(t, int64(4), as.calls.Load())
}

func TestFactory(t *testing.T) {
	clock := newTestClock()
	as := newFakeAS(t, clock)
	cfg := as.config()
	cfg.Audience = nil
	factory, err := NewFactory(cfg)
	require.NoError(t, err)

	notes, err := factory(testResource)
	require.NoError(t, err)
	admin, err := factory(otherRes)
	require.NoError(t, err)
	require.Same(t, notes.(*Verifier).up, admin.(*Verifier).up, "one upstream client shared")

	as.issue("notes-token", nil)
	_, err = notes.VerifyToken(context.Background(), "notes-token")
	require.NoError(t, err)
	_, err = admin.VerifyToken(context.Background(), "notes-token")
	requireInvalid(t, err, descAudience)

	_, err = factory(" ")
	require.ErrorContains(t, err, "the resource URI is empty")

	t.Run("resource scheme and host are case-insensitive", func(t *testing.T) {
		upper, err := factory("HTTPS://MCP.Example.COM:443/notes/mcp")
		require.NoError(t, err)
		_, err = upper.VerifyToken(context.Background(), "notes-token")
		require.NoError(t, err)
		as.issue("notes-upper", map[string]any{"aud": "HTTPS://MCP.Example.COM/notes/mcp"})
		_, err = notes.VerifyToken(context.Background(), "notes-upper")
		require.NoError(t, err)
		as.issue("notes-path-case", map[string]any{"aud": "https://mcp.example.com/Notes/mcp"})
		_, err = notes.VerifyToken(context.Background(), "notes-path-case")
		requireInvalid(t, err, descAudience)
	})

	t.Run("fixed audience wins", func(t *testing.T) {
		cfg := as.config()
		f, err := NewFactory(cfg)
		require.NoError(t, err)
		v, err := f(otherRes)
		require.NoError(t, err)
		_, err = v.VerifyToken(context.Background(), "notes-token")
		require.NoError(t, err)
	})
	t.Run("skip audience", func(t *testing.T) {
		cfg := as.config()
		cfg.Audience, cfg.SkipAudienceCheck = nil, true
		f, err := NewFactory(cfg)
		require.NoError(t, err)
		v, err := f("")
		require.NoError(t, err)
		as.issue("no-aud", map[string]any{"aud": nil})
		_, err = v.VerifyToken(context.Background(), "no-aud")
		require.NoError(t, err)
	})
	t.Run("invalid config", func(t *testing.T) {
		_, err := NewFactory(Config{})
		require.ErrorContains(t, err, "Config.IntrospectionURL is empty")
		require.NotContains(t, err.Error(), "Config.Audience", "the factory fills the audience")
	})
}

// allowNoSub sets Config.AllowMissingSubject.
func allowNoSub(c *Config) { c.AllowMissingSubject = true }

// Two clients whose introspection responses carry no subject are refused by default, so
// they are never one caller (nor a user whose subject equals a client id).
func TestMissingSubjectIsRefusedByDefault(t *testing.T) {
	clock := newTestClock()
	as := newFakeAS(t, clock)
	as.issue("client-a-token", map[string]any{"sub": nil, "client_id": "client-a"})
	as.issue("client-b-token", map[string]any{"sub": nil, "client_id": "client-b"})
	as.issue("empty-sub-token", map[string]any{"sub": "", "client_id": "client-c"})
	ctx := context.Background()

	v := newVerifierT(t, as.config())
	for _, token := range []string{"client-a-token", "client-b-token", "empty-sub-token"} {
		tok, err := v.VerifyToken(ctx, token)
		require.Nil(t, tok)
		var e *mcpauth.Error
		require.True(t, errors.As(err, &e), "%v", err)
		require.Equal(t, mcpauth.Error{Code: "invalid_token", Status: 401, Description: "the token has no subject (sub)"}, *e)
		require.ErrorIs(t, err, mcpauth.ErrInvalidToken)
	}

	cfg := as.config()
	cfg.AllowMissingSubject = true
	v = newVerifierT(t, cfg)
	for token, want := range map[string]string{"client-a-token": "client-a", "client-b-token": "client-b", "empty-sub-token": "client-c"} {
		tok, err := v.VerifyToken(ctx, token)
		require.NoError(t, err, token)
		require.Equal(t, want, tok.Subject, "the subject is the client id")
		require.Equal(t, want, tok.ClientID)
	}
}
