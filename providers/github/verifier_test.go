package github

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/upstream"
	"github.com/stretchr/testify/require"
)

func TestValidTokenAccepted(t *testing.T) {
	w := newWorld(t)
	v := w.verifier(t, func(c *Config) {
		c.AllowedOrgs = []string{"ACME"}
		c.Scopes = []string{"notes:read"}
	})
	tok := mustVerify(t, v, w.alice)

	require.Equal(t, "583231", tok.Subject, "the numeric id, not the login")
	require.Equal(t, "github", tok.Provider)
	require.Equal(t, w.gh.URL(), tok.Issuer, "the web origin derived from a non-github.com API URL")
	require.Equal(t, []string{"notes:read"}, tok.Scopes)
	require.Empty(t, tok.ClientID, "a personal access token has no OAuth app")
	require.True(t, tok.ExpiresAt.IsZero(), "no expiration header, no expiry")
	require.Empty(t, tok.TenantID)

	c := tok.Claims
	require.Equal(t, "octocat", c["login"])
	require.Equal(t, int64(583231), c["id"])
	require.Equal(t, "The Octocat", c["name"])
	require.Equal(t, "octocat@github.com", c["email"])
	require.Equal(t, "User", c["type"])
	require.Equal(t, false, c["site_admin"])
	require.Nil(t, c["company"])
	require.Equal(t, map[string]any{"name": "Medium", "space": int64(400), "private_repos": int64(20), "collaborators": int64(0)}, c["plan"])
	require.Equal(t, []string{"read:user", "read:org"}, c["github_scopes"])
	require.Equal(t, "classic", c["github_token_kind"])
	require.Equal(t, TokenTypePersonal, c["github_token_type"])
	require.Equal(t, []string{"acme"}, c["github_orgs"])
	require.Equal(t, map[string]any{"acme": "admin"}, c["github_org_roles"])
	require.NotContains(t, c, "github_teams", "no team is configured")

	require.EqualValues(t, 1, w.gh.userCalls.Load())
	require.EqualValues(t, 1, w.gh.orgCalls.Load())
	require.EqualValues(t, 0, w.gh.teamCalls.Load())
}

func TestLargeIDAndLegacyToken(t *testing.T) {
	w := newWorld(t)
	tok := mustVerify(t, w.verifier(t, nil), w.mona)
	require.Equal(t, "1234567890123", tok.Subject)
	require.Equal(t, int64(1234567890123), tok.Claims["id"])
	require.Equal(t, TokenTypeLegacy, tok.Claims["github_token_type"])
	require.Equal(t, []string{"repo"}, tok.Claims["github_scopes"])
	require.Nil(t, tok.Claims["email"], "a user without a public email has email null")
}

func TestOAuthTokenClientIDAndExpiry(t *testing.T) {
	w := newWorld(t)
	exp := w.clock.Now().Add(8 * time.Hour)
	tokStr := ghToken("ghu_", "expiring")
	w.gh.addToken(tokStr, fakeToken{User: octocat, FineGrained: true, ClientID: "Iv1.app", ExpiresAt: exp})
	v := w.verifier(t, nil)

	tok := mustVerify(t, v, w.aliceOAuth)
	require.Equal(t, "Iv1.0123456789abcdef", tok.ClientID)
	require.Equal(t, TokenTypeOAuth, tok.Claims["github_token_type"])

	tok = mustVerify(t, v, tokStr)
	require.Equal(t, "Iv1.app", tok.ClientID)
	require.True(t, exp.Equal(tok.ExpiresAt), "ExpiresAt %v, want %v", tok.ExpiresAt, exp)
	require.Equal(t, TokenTypeAppUser, tok.Claims["github_token_type"])
}

func TestFineGrainedTokens(t *testing.T) {
	w := newWorld(t)
	t.Run("no scopes header", func(t *testing.T) {
		tok := mustVerify(t, w.verifier(t, nil), w.aliceFine)
		require.Equal(t, "fine-grained", tok.Claims["github_token_kind"])
		require.Equal(t, TokenTypeFineGrainedPersonal, tok.Claims["github_token_type"])
		require.NotContains(t, tok.Claims, "github_scopes")
	})
	t.Run("org rule without the Members permission", func(t *testing.T) {
		_, err := verify(t, w.verifier(t, func(c *Config) { c.AllowedOrgs = []string{"acme"} }), w.aliceFine)
		requireErr(t, err, mcpauth.ErrAccessDenied,
			`GitHub user "octocat" is not an active member of an organization allowed here (GitHub refused to show memberships: a fine-grained token needs the organization's "Members" read permission)`, 0)
	})
	t.Run("org rule with the Members permission", func(t *testing.T) {
		tok := mustVerify(t, w.verifier(t, func(c *Config) { c.AllowedOrgs = []string{"acme"} }), w.aliceFineMembers)
		require.Equal(t, []string{"acme"}, tok.Claims["github_orgs"])
	})
	t.Run("GitHub App user token", func(t *testing.T) {
		tok := mustVerify(t, w.verifier(t, func(c *Config) { c.AllowedTeams = []string{"acme/security"} }), w.hubot)
		require.Equal(t, "7", tok.Subject)
		require.Equal(t, []string{"acme/security"}, tok.Claims["github_teams"])
		require.Equal(t, map[string]any{"acme/security": "member"}, tok.Claims["github_team_roles"])
	})
}

func TestAllowedUsers(t *testing.T) {
	w := newWorld(t)
	v := w.verifier(t, func(c *Config) { c.AllowedUsers = []string{"OctoCat", "someone-else"} })
	tok := mustVerify(t, v, w.alice)
	require.Equal(t, "583231", tok.Subject)

	_, err := verify(t, v, w.hubot)
	requireErr(t, err, mcpauth.ErrAccessDenied, `GitHub user "Hubot" is not allowed to use this server`, 0)
	require.EqualValues(t, 0, w.gh.orgCalls.Load()+w.gh.teamCalls.Load(), "no membership call for a refused login")
}

func TestAllowedOrgs(t *testing.T) {
	w := newWorld(t)
	v := w.verifier(t, func(c *Config) { c.AllowedOrgs = []string{"globex", "acme"} })
	cases := []struct {
		name, token string
		err         string
		orgs        []string
	}{
		{"active in one of them", w.alice, "", []string{"acme"}},
		{"active in both", w.hubot, "", []string{"acme", "globex"}},
		{"legacy token, member of none", w.mona, `GitHub user "mona" is not an active member of an organization allowed here (the token was not granted the read:org scope, which GitHub needs to show memberships)`, nil},
		{"classic token without read:org", w.aliceNoOrg, `GitHub user "octocat" is not an active member of an organization allowed here (the token was not granted the read:org scope, which GitHub needs to show memberships)`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := verify(t, v, tc.token)
			if tc.err != "" {
				requireErr(t, err, mcpauth.ErrAccessDenied, tc.err, 0)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.orgs, tok.Claims["github_orgs"])
		})
	}
	t.Run("pending invitation is not membership", func(t *testing.T) {
		v := w.verifier(t, func(c *Config) { c.AllowedOrgs = []string{"globex"} })
		_, err := verify(t, v, w.alice)
		requireErr(t, err, mcpauth.ErrAccessDenied, `GitHub user "octocat" is not an active member of an organization allowed here`, 0)
	})
	t.Run("unknown org", func(t *testing.T) {
		v := w.verifier(t, func(c *Config) { c.AllowedOrgs = []string{"initech"} })
		_, err := verify(t, v, w.alice)
		requireErr(t, err, mcpauth.ErrAccessDenied, `GitHub user "octocat" is not an active member of an organization allowed here`, 0)
	})
}

func TestAllowedTeams(t *testing.T) {
	w := newWorld(t)
	v := w.verifier(t, func(c *Config) { c.AllowedTeams = []string{"acme/platform", "globex/ops"} })
	tok := mustVerify(t, v, w.alice)
	require.Equal(t, []string{"acme/platform"}, tok.Claims["github_teams"])
	require.Equal(t, map[string]any{"acme/platform": "maintainer"}, tok.Claims["github_team_roles"])
	tok = mustVerify(t, v, w.hubot)
	require.Equal(t, []string{"globex/ops"}, tok.Claims["github_teams"])

	_, err := verify(t, w.verifier(t, func(c *Config) { c.AllowedTeams = []string{"acme/security"} }), w.alice)
	requireErr(t, err, mcpauth.ErrAccessDenied, `GitHub user "octocat" is not an active member of a team allowed here`, 0)
	_, err = verify(t, w.verifier(t, func(c *Config) { c.AllowedTeams = []string{"acme/incoming"} }), w.alice)
	requireErr(t, err, mcpauth.ErrAccessDenied, `GitHub user "octocat" is not an active member of a team allowed here`, 0)
	_, err = verify(t, w.verifier(t, func(c *Config) { c.AllowedTeams = []string{"globex/ops"} }), w.mona)
	requireErr(t, err, mcpauth.ErrAccessDenied, `GitHub user "mona" is not an active member of a team allowed here (the token was not granted the read:org scope, which GitHub needs to show memberships)`, 0)
}

func TestRulesAllApply(t *testing.T) {
	w := newWorld(t)
	v := w.verifier(t, func(c *Config) {
		c.AllowedUsers = []string{"octocat", "hubot"}
		c.AllowedOrgs = []string{"acme"}
		c.AllowedTeams = []string{"acme/platform"}
	})
	mustVerify(t, v, w.alice)
	_, err := verify(t, v, w.hubot) // allowed login, acme member, not in acme/platform
	requireErr(t, err, mcpauth.ErrAccessDenied, `GitHub user "Hubot" is not an active member of a team allowed here`, 0)
	_, err = verify(t, v, w.mona) // not an allowed login
	requireErr(t, err, mcpauth.ErrAccessDenied, `GitHub user "mona" is not allowed to use this server`, 0)

	v = w.verifier(t, func(c *Config) {
		c.AllowedOrgs = []string{"globex"}
		c.AllowedTeams = []string{"acme/platform"}
	})
	_, err = verify(t, v, w.alice) // in the team, but only pending in globex
	requireErr(t, err, mcpauth.ErrAccessDenied, `GitHub user "octocat" is not an active member of an organization allowed here`, 0)
}

func TestScopeGrants(t *testing.T) {
	w := newWorld(t)
	v := w.verifier(t, func(c *Config) {
		c.Scopes = []string{"notes:read"}
		c.OrgScopes = map[string][]string{"Acme": {"notes:write", "notes:read"}, "globex": {"globex:read"}}
		c.TeamScopes = map[string][]string{"acme/platform": {"admin"}, "acme/security": {"audit"}}
	})
	tok := mustVerify(t, v, w.alice)
	require.Equal(t, []string{"notes:read", "notes:write", "admin"}, tok.Scopes)
	require.Equal(t, []string{"acme"}, tok.Claims["github_orgs"], "globex is pending")
	require.Equal(t, []string{"acme/platform"}, tok.Claims["github_teams"])

	tok = mustVerify(t, v, w.hubot)
	require.Equal(t, []string{"notes:read", "notes:write", "globex:read", "audit"}, tok.Scopes)

	tok = mustVerify(t, v, w.mona)
	require.Equal(t, []string{"notes:read"}, tok.Scopes, "no membership: the base scopes only")
	require.Equal(t, []string{}, tok.Claims["github_orgs"])
	require.Equal(t, []string{}, tok.Claims["github_teams"])
}

func TestAllowedClientIDs(t *testing.T) {
	w := newWorld(t)
	v := w.verifier(t, func(c *Config) { c.AllowedClientIDs = []string{"Iv1.0123456789abcdef"} })
	mustVerify(t, v, w.aliceOAuth)
	_, err := verify(t, v, w.alice)
	requireErr(t, err, mcpauth.ErrInvalidToken, "the GitHub token was not issued to an OAuth app this server accepts", 0)
}

func TestUpstreamFailuresOnUser(t *testing.T) {
	unavailable := mcpauth.ErrUpstreamUnavailable
	const rateDesc = "GitHub's API rate limit was reached; try again later"
	cases := []struct {
		name       string
		mode       fakeMode
		retryAfter string
		resetIn    time.Duration
		class      error
		desc       string
		wait       time.Duration
	}{
		{"primary rate limit 403", modePrimaryLimit, "", 90 * time.Second, unavailable, rateDesc, 90 * time.Second},
		{"primary rate limit 403, reset rounded up", modePrimaryLimit, "", 1500 * time.Millisecond, unavailable, rateDesc, time.Second},
		{"primary rate limit 403, reset already passed", modePrimaryLimit, "", -time.Minute, unavailable, rateDesc, time.Second},
		{"primary rate limit 429", modePrimaryLimit429, "", 10 * time.Minute, unavailable, rateDesc, 10 * time.Minute},
		{"secondary rate limit 403 with Retry-After", modeSecondaryLimit, "30", 0, unavailable, rateDesc, 30 * time.Second},
		{"secondary rate limit 403 without hints", modeSecondaryNoHint, "", 0, unavailable, rateDesc, time.Minute},
		{"429 with Retry-After", modeTooMany, "120", 0, unavailable, rateDesc, 2 * time.Minute},
		{"429 with an HTTP-date Retry-After", modeTooMany, "Thu, 26 Nov 2026 12:00:45 GMT", 0, unavailable, rateDesc, 45 * time.Second},
		{"500", modeServerError, "", 0, unavailable, "GitHub is unavailable; try again later", 0},
		{"502 HTML", modeBadGateway, "", 0, unavailable, "GitHub is unavailable; try again later", 0},
		{"503 with Retry-After", modeUnavailable, "17", 0, unavailable, "GitHub is unavailable; try again later", 17 * time.Second},
		{"malformed JSON", modeMalformed, "", 0, unavailable, "GitHub answered with an unexpected user document", 0},
		{"JSON of the wrong shape", modeWrongShape, "", 0, unavailable, "GitHub answered with an unexpected user document", 0},
		{"HTML 404 (API URL wrong)", modeHTMLNotFound, "", 0, unavailable, "GitHub answered with an unexpected status", 0},
		{"403 without rate-limit signals", modeForbidden, "", 0, unavailable, descUserForbidden, 0},
		{"403 HTML from an edge", modeForbiddenHTML, "", 0, unavailable, descUserForbidden, 0},
		{"403 abuse detection without headers", modeAbuseNoHint, "", 0, unavailable, rateDesc, time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			v := w.verifier(t, nil)
			w.gh.setFailure(tc.mode, "", 1)
			w.gh.setRateLimitHints(tc.retryAfter, tc.resetIn)
			_, err := verify(t, v, w.alice)
			requireErr(t, err, tc.class, tc.desc, tc.wait)
			// The failure was GitHub's, not the token's: once GitHub recovers, the same
			// token is accepted.
			mustVerify(t, v, w.alice)
		})
	}
}

func TestRevokedToken(t *testing.T) {
	w := newWorld(t)
	v := w.verifier(t, nil)
	mustVerify(t, v, w.alice)
	w.gh.revoke(w.alice)
	_, err := verify(t, v, w.alice)
	e := requireErr(t, err, mcpauth.ErrInvalidToken, "the GitHub token is invalid, expired or revoked", 0)
	require.ErrorContains(t, e.Err, "GET /user: GitHub answered 401: Bad credentials")

	// A well-formed token GitHub has never seen.
	_, err = verify(t, v, ghToken("ghp_", "neverIssued"))
	requireErr(t, err, mcpauth.ErrInvalidToken, "the GitHub token is invalid, expired or revoked", 0)
}

func TestExpiredTokenRefusedByGitHub(t *testing.T) {
	w := newWorld(t)
	tokStr := ghToken("ghp_", "shortLived")
	w.gh.addToken(tokStr, fakeToken{User: octocat, Scopes: []string{"read:user"}, ExpiresAt: w.clock.Now().Add(time.Hour)})
	v := w.verifier(t, nil)
	mustVerify(t, v, tokStr)
	w.clock.Advance(time.Hour)
	_, err := verify(t, v, tokStr)
	requireErr(t, err, mcpauth.ErrInvalidToken, "the GitHub token is invalid, expired or revoked", 0)
}

func TestTimeout(t *testing.T) {
	w := newWorld(t)
	v := w.verifier(t, func(c *Config) { c.HTTPTimeout = 50 * time.Millisecond })
	w.gh.setFailure(modeHang, "", 0)
	_, err := verify(t, v, w.alice)
	requireErr(t, err, mcpauth.ErrUpstreamUnavailable, "GitHub did not answer in time", 0)
}

func TestTimeoutOnMembership(t *testing.T) {
	w := newWorld(t)
	v := w.verifier(t, func(c *Config) { c.HTTPTimeout = 50 * time.Millisecond; c.AllowedOrgs = []string{"acme"} })
	w.gh.setFailure(modeHang, "/user/memberships/", 0)
	_, err := verify(t, v, w.alice)
	requireErr(t, err, mcpauth.ErrUpstreamUnavailable, "GitHub did not answer in time", 0)
}

func TestConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	v, err := New(Config{APIBaseURL: "http://" + addr, Enabled: true})
	require.NoError(t, err)
	_, err = verify(t, v, ghToken("ghp_", "anything"))
	requireErr(t, err, mcpauth.ErrUpstreamUnavailable, "GitHub could not be reached", 0)
}

func TestCallerCancellation(t *testing.T) {
	w := newWorld(t)
	v := w.verifier(t, nil)
	w.gh.setFailure(modeHang, "", 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := v.VerifyToken(ctx, w.alice)
	requireErr(t, err, mcpauth.ErrUpstreamUnavailable, "the request was cancelled while GitHub was being asked", 0)
}

func TestUpstreamFailuresOnMemberships(t *testing.T) {
	const rateDesc = "GitHub's API rate limit was reached; try again later"
	t.Run("org check rate limited", func(t *testing.T) {
		w := newWorld(t)
		v := w.verifier(t, func(c *Config) { c.AllowedOrgs = []string{"acme"} })
		w.gh.setFailure(modeSecondaryLimit, "/user/memberships/", 1)
		_, err := verify(t, v, w.alice)
		requireErr(t, err, mcpauth.ErrUpstreamUnavailable, rateDesc, 30*time.Second)
	})
	t.Run("team check fails with 500", func(t *testing.T) {
		w := newWorld(t)
		v := w.verifier(t, func(c *Config) { c.AllowedTeams = []string{"acme/platform"} })
		w.gh.setFailure(modeServerError, "/orgs/", 1)
		_, err := verify(t, v, w.alice)
		requireErr(t, err, mcpauth.ErrUpstreamUnavailable, "GitHub is unavailable; try again later", 0)
	})
	t.Run("malformed membership", func(t *testing.T) {
		w := newWorld(t)
		v := w.verifier(t, func(c *Config) { c.AllowedOrgs = []string{"acme"} })
		w.gh.setFailure(modeWrongShape, "/user/memberships/", 1)
		_, err := verify(t, v, w.alice)
		requireErr(t, err, mcpauth.ErrUpstreamUnavailable, "GitHub answered with an unexpected membership document", 0)
	})
	t.Run("a failed check that cannot change the outcome is ignored", func(t *testing.T) {
		w := newWorld(t)
		v := w.verifier(t, func(c *Config) { c.AllowedOrgs = []string{"acme", "globex"} })
		w.gh.setFailure(modeServerError, "/user/memberships/orgs/globex", 0)
		tok := mustVerify(t, v, w.alice)
		require.Equal(t, []string{"acme"}, tok.Claims["github_orgs"])
	})
	t.Run("a failed check that grants scopes fails the request", func(t *testing.T) {
		w := newWorld(t)
		v := w.verifier(t, func(c *Config) {
			c.AllowedOrgs = []string{"acme"}
			c.OrgScopes = map[string][]string{"globex": {"globex:read"}}
		})
		w.gh.setFailure(modeServerError, "/user/memberships/orgs/globex", 0)
		_, err := verify(t, v, w.alice)
		requireErr(t, err, mcpauth.ErrUpstreamUnavailable, "GitHub is unavailable; try again later", 0)
	})
	t.Run("no allowed org confirmed and one check failed", func(t *testing.T) {
		w := newWorld(t)
		v := w.verifier(t, func(c *Config) { c.AllowedOrgs = []string{"initech", "acme"} })
		w.gh.setFailure(modePrimaryLimit, "/user/memberships/orgs/acme", 0)
		_, err := verify(t, v, w.alice)
		requireErr(t, err, mcpauth.ErrUpstreamUnavailable, rateDesc, 90*time.Second)
	})
}

func TestTokenOnlyInAuthorizationHeader(t *testing.T) {
	w := newWorld(t)
	var seen atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		seen.Store(fmt.Sprintf("%s|%s|%s|%s|%s", r.URL.String(), r.Header.Get("Authorization"), r.UserAgent(), r.Header.Get("Accept"), r.Header.Get("X-GitHub-Api-Version")))
		w.gh.srv.Config.Handler.ServeHTTP(rw, r)
	}))
	defer srv.Close()
	v, err := New(Config{APIBaseURL: srv.URL + "/", Enabled: true, UserAgent: "notes-mcp (ops@example.com)"})
	require.NoError(t, err)
	mustVerify(t, v, w.alice)
	require.Equal(t, "/user|Bearer "+w.alice+"|notes-mcp (ops@example.com)|application/vnd.github+json|2022-11-28", seen.Load())
}

// Redirects are never followed, not even within the API host (internal/upstream's
// policy; this package followed same-host redirects before).
func TestRedirectsAreNotFollowed(t *testing.T) {
	w := newWorld(t)
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		rw.WriteHeader(http.StatusOK)
	}))
	defer other.Close()
	for _, target := range []string{other.URL + "/user", "/moved/user"} {
		srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/user" {
				elsewhere.Add(1)
			}
			http.Redirect(rw, r, target, http.StatusMovedPermanently)
		}))
		v, err := New(Config{APIBaseURL: srv.URL, Enabled: true})
		require.NoError(t, err)
		_, err = verify(t, v, w.alice)
		e := requireErr(t, err, mcpauth.ErrUpstreamUnavailable, "GitHub answered with an unexpected status", 0)
		require.ErrorContains(t, e.Err, "GET /user: GitHub answered 301")
		srv.Close()
	}
	require.EqualValues(t, 0, elsewhere.Load(), "the token never left the first request")
}

func TestOversizedResponse(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		_, _ = rw.Write([]byte(`{"login":"x","id":1,"bio":"` + strings.Repeat("a", upstream.MaxBody) + `"}`))
	}))
	defer srv.Close()
	v, err := New(Config{APIBaseURL: srv.URL, Enabled: true})
	require.NoError(t, err)
	_, err = verify(t, v, ghToken("ghp_", "big"))
	requireErr(t, err, mcpauth.ErrUpstreamUnavailable, "GitHub answered with an unexpected response", 0)
}

func TestUserDocumentChecks(t *testing.T) {
	for _, body := range []string{`{"login":"x"}`, `{"login":"x","id":0}`, `{"login":"x","id":"1"}`, `{"login":"x","id":1.5}`, `{"id":1}`, `{"id":1,"login":""}`, `null`, `[]`, ``} {
		t.Run(body, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				rw.Header().Set("Content-Type", "application/json")
				_, _ = rw.Write([]byte(body))
			}))
			defer srv.Close()
			v, err := New(Config{APIBaseURL: srv.URL, Enabled: true})
			require.NoError(t, err)
			_, err = verify(t, v, ghToken("ghp_", "doc"))
			requireErr(t, err, mcpauth.ErrUpstreamUnavailable, "GitHub answered with an unexpected user document", 0)
		})
	}
}

func TestParseExpiration(t *testing.T) {
	for in, want := range map[string]string{
		"2026-12-01 10:00:00 UTC":   "2026-12-01T10:00:00Z",
		"2026-12-01 10:00:00 -0700": "2026-12-01T17:00:00Z",
		"2026-12-01T10:00:00Z":      "2026-12-01T10:00:00Z",
	} {
		got, ok := parseExpiration(in)
		require.True(t, ok, in)
		require.Equal(t, want, got.UTC().Format(time.RFC3339), in)
	}
	_, ok := parseExpiration("next tuesday")
	require.False(t, ok)
}

func TestOrgRestrictsOAuthApp(t *testing.T) {
	w := newWorld(t)
	v := w.verifier(t, func(c *Config) { c.AllowedOrgs = []string{"acme"} })
	// An organization with OAuth app access restrictions answers 403 to apps it has
	// not approved.
	w.gh.setFailure(modeForbidden, "/user/memberships/orgs/acme", 0)
	_, err := verify(t, v, w.alice)
	requireErr(t, err, mcpauth.ErrAccessDenied,
		`GitHub user "octocat" is not an active member of an organization allowed here (GitHub refused to show memberships: the organization may restrict this OAuth app's access)`, 0)
}

// A 403 that is neither a rate limit nor a GitHub verdict on the token (GitHub answers
// 401 for tokens it does not accept) is an upstream failure: exactly 503
// temporarily_unavailable, and never remembered by the negative cache.
func TestForbiddenWithoutRateLimitIsUnavailable(t *testing.T) {
	for _, mode := range []struct {
		name string
		mode fakeMode
		desc string
		wait time.Duration
	}{
		{"JSON error", modeForbidden, descUserForbidden, 0},
		{"HTML edge page", modeForbiddenHTML, descUserForbidden, 0},
		{"empty body", modeForbiddenEmpty, descUserForbidden, 0},
		{"abuse detection without headers", modeAbuseNoHint, "GitHub's API rate limit was reached; try again later", time.Minute},
	} {
		t.Run("GET /user: "+mode.name, func(t *testing.T) {
			w := newWorld(t)
			c := w.cached(t, nil)
			w.gh.setFailure(mode.mode, "/user", 3)
			for range 3 {
				_, err := verify(t, c, w.alice)
				e := requireErr(t, err, mcpauth.ErrUpstreamUnavailable, mode.desc, mode.wait)
				require.Equal(t, http.StatusServiceUnavailable, e.Status)
				require.Equal(t, "temporarily_unavailable", e.Code)
				require.NotErrorIs(t, err, mcpauth.ErrInvalidToken)
				require.NotErrorIs(t, err, mcpauth.ErrAccessDenied)
			}
			require.EqualValues(t, 3, w.gh.userCalls.Load(), "every failure asked GitHub again: none was cached")
			require.EqualValues(t, 0, c.Stats().Hits)
			// Once GitHub answers normally, the same token is accepted.
			mustVerify(t, c, w.alice)
		})
	}
	for _, mode := range []struct {
		name string
		mode fakeMode
		desc string
		wait time.Duration
	}{
		{"HTML edge page", modeForbiddenHTML, "GitHub answered with an unexpected status", 0},
		{"empty body", modeForbiddenEmpty, "GitHub answered with an unexpected status", 0},
		{"abuse detection without headers", modeAbuseNoHint, "GitHub's API rate limit was reached; try again later", time.Minute},
	} {
		t.Run("membership check: "+mode.name, func(t *testing.T) {
			w := newWorld(t)
			c := w.cached(t, func(c *Config) { c.AllowedOrgs = []string{"acme"} })
			w.gh.setFailure(mode.mode, "/user/memberships/orgs/acme", 2)
			for range 2 {
				_, err := verify(t, c, w.alice)
				e := requireErr(t, err, mcpauth.ErrUpstreamUnavailable, mode.desc, mode.wait)
				require.Equal(t, http.StatusServiceUnavailable, e.Status)
				require.Equal(t, "temporarily_unavailable", e.Code)
			}
			require.EqualValues(t, 2, w.gh.orgCalls.Load(), "never remembered as a refusal")
			tok := mustVerify(t, c, w.alice)
			require.Equal(t, []string{"acme"}, tok.Claims["github_orgs"])
		})
	}
}

// The verifier declares its cache policy: wrapped by mcpauth.Cached (as the hub does), a
// refused token costs one GitHub call per negative TTL, without the caller asking.
func TestCachedByPolicy(t *testing.T) {
	w := newWorld(t)
	c := mcpauth.Cached(w.verifier(t, nil))
	bad := ghToken("ghp_", "nobodyKnowsThisOne")
	for range 5 {
		_, err := c.VerifyToken(context.Background(), bad)
		require.ErrorIs(t, err, mcpauth.ErrInvalidToken)
	}
	require.EqualValues(t, 1, w.gh.userCalls.Load(), "the refusal is remembered")
}
