package github

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/testutil"
	"github.com/stretchr/testify/require"
)

// testClock is an injectable clock.
type testClock = testutil.Clock

func newTestClock() *testClock {
	return testutil.NewClock(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
}

// ghToken builds a well-formed token: prefix + seed, padded to GitHub's length with a
// base62 filler.
func ghToken(prefix, seed string) string {
	body := seed
	want := 36
	if prefix == "github_pat_" {
		want = 82
	}
	for len(body) < want {
		body += "x"
	}
	return prefix + body
}

var (
	octocat = &fakeUser{ID: 583231, Login: "octocat", Name: "The Octocat", Email: "octocat@github.com"}
	hubot   = &fakeUser{ID: 7, Login: "Hubot"}
	mona    = &fakeUser{ID: 1234567890123, Login: "mona"}
)

// The OAuth app whose credentials the world's fake GitHub knows; w.aliceOAuth was issued
// to it.
const (
	appClientID = "Iv1.0123456789abcdef"
	appSecret   = "fake-app-client-secret-0123456789abcdef"
)

// withApp configures the app's credentials, so that gho_ and ghu_ tokens are checked
// with POST /applications/{client_id}/token.
func withApp(c *Config) {
	c.ClientID = appClientID
	c.ClientSecret = mcpauth.NewSecret(appSecret)
}

// world is a fake GitHub with a few users, tokens, orgs and teams, and a clock.
type world struct {
	gh    *fakeGitHub
	clock *testClock
	// tokens
	alice, aliceNoOrg, aliceFine, aliceFineMembers, aliceOAuth, hubot, mona string
}

func newWorld(t testing.TB) *world {
	t.Helper()
	w := &world{clock: newTestClock()}
	w.gh = newFakeGitHub(t, w.clock.Now)
	w.alice = ghToken("ghp_", "octocat")
	w.aliceNoOrg = ghToken("ghp_", "octocatNoReadOrg")
	w.aliceFine = ghToken("github_pat_", "11AAAAAAA0octocat_fine")
	w.aliceFineMembers = ghToken("github_pat_", "11AAAAAAA0octocat_members")
	w.aliceOAuth = ghToken("gho_", "octocatOAuth")
	w.hubot = ghToken("ghu_", "hubot")
	w.mona = "0123456789abcdef0123456789abcdef01234567" // legacy 40-hex
	w.gh.addToken(w.alice, fakeToken{User: octocat, Scopes: []string{"read:user", "read:org"}})
	w.gh.addToken(w.aliceNoOrg, fakeToken{User: octocat, Scopes: []string{"read:user"}})
	w.gh.addToken(w.aliceFine, fakeToken{User: octocat, FineGrained: true})
	w.gh.addToken(w.aliceFineMembers, fakeToken{User: octocat, FineGrained: true, MembersRead: []string{"acme"}})
	w.gh.addToken(w.aliceOAuth, fakeToken{User: octocat, Scopes: []string{"read:user", "read:org"}, ClientID: appClientID})
	w.gh.addToken(w.hubot, fakeToken{User: hubot, FineGrained: true, MembersRead: []string{"acme", "globex"}})
	w.gh.addToken(w.mona, fakeToken{User: mona, Scopes: []string{"repo"}})

	w.gh.addApp(appClientID, appSecret)

	w.gh.addOrgMember("acme", "octocat", "active", "admin")
	w.gh.addOrgMember("acme", "hubot", "active", "member")
	w.gh.addOrgMember("globex", "octocat", "pending", "member")
	w.gh.addOrgMember("globex", "hubot", "active", "member")
	w.gh.addTeamMember("acme", "platform", "octocat", "active", "maintainer")
	w.gh.addTeamMember("acme", "security", "hubot", "active", "member")
	w.gh.addTeamMember("acme", "incoming", "octocat", "pending", "member")
	w.gh.addTeamMember("globex", "ops", "hubot", "active", "member")
	return w
}

// config returns a Config pointing at the fake, with the world's clock.
func (w *world) config(edit func(c *Config)) Config {
	c := Config{APIBaseURL: w.gh.URL(), Enabled: true, Now: w.clock.Now, HTTPTimeout: 15 * time.Second} // generous: a loaded CI machine is slow
	if edit != nil {
		edit(&c)
	}
	return c
}

func (w *world) verifier(t testing.TB, edit func(c *Config)) *Verifier {
	t.Helper()
	v, err := New(w.config(edit))
	require.NoError(t, err)
	return v
}

// requireErr asserts the error's class, HTTP status, description and Retry-After.
func requireErr(t testing.TB, err error, class error, desc string, retryAfter time.Duration) *mcpauth.Error {
	t.Helper()
	require.Error(t, err)
	want := mcpauth.AsError(class)
	require.True(t, errors.Is(err, class), "error %v is not %s", err, want.Code)
	var e *mcpauth.Error
	require.True(t, errors.As(err, &e))
	require.Equal(t, want.Code, e.Code)
	require.Equal(t, want.Status, e.Status)
	require.Equal(t, desc, e.Description)
	require.Equal(t, retryAfter, e.RetryAfter, "RetryAfter")
	return e
}

func verify(t testing.TB, v mcpauth.TokenVerifier, token string) (*mcpauth.AccessToken, error) {
	t.Helper()
	return v.VerifyToken(context.Background(), token)
}

func mustVerify(t testing.TB, v mcpauth.TokenVerifier, token string) *mcpauth.AccessToken {
	t.Helper()
	tok, err := verify(t, v, token)
	require.NoError(t, err)
	require.NotNil(t, tok)
	return tok
}
