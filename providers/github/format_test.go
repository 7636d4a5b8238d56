package github

import (
	"strings"
	"testing"

	"github.com/mcpauth/mcpauth"
	"github.com/stretchr/testify/require"
)

func TestTokenFormats(t *testing.T) {
	good := map[string]string{
		ghToken("ghp_", ""):                         TokenTypePersonal,
		ghToken("gho_", "A1_b"):                     TokenTypeOAuth,
		ghToken("ghu_", "Z9"):                       TokenTypeAppUser,
		"ghp_" + strings.Repeat("a", 251):           TokenTypePersonal, // GitHub: plan for up to 255 characters
		ghToken("github_pat_", "11ABCDEFG0abc_def"): TokenTypeFineGrainedPersonal,
		"github_pat_" + strings.Repeat("B", 50):     TokenTypeFineGrainedPersonal,
		"0123456789abcdef0123456789abcdef01234567":  TokenTypeLegacy,
	}
	for tok, kind := range good {
		got, refusal := tokenFormat(tok, false)
		require.Empty(t, refusal, tok)
		require.Equal(t, kind, got, tok)
	}
}

// Garbage is refused before any call to GitHub: the fake counts zero requests.
func TestFormatPrefilterCostsNoCall(t *testing.T) {
	w := newWorld(t)
	v := w.verifier(t, nil)
	const notGH = "not a GitHub token"
	cases := map[string]string{
		"":                                      "the access token is empty",
		"x":                                     notGH,
		"Bearer " + w.alice:                     notGH,
		w.alice + " ":                           notGH,
		w.alice + "\r\nX-Injected: 1":           notGH,
		"ghp_":                                  notGH,
		"ghp_" + strings.Repeat("a", 35):        notGH, // one short
		"ghp_" + strings.Repeat("a", 252):       notGH, // 256 characters
		"ghp_" + strings.Repeat("a", 35) + "-":  notGH,
		"ghp_" + strings.Repeat("é", 20):        notGH,
		"GHP_" + strings.Repeat("a", 36):        notGH,
		"ghx_" + strings.Repeat("a", 36):        notGH,
		"github_pat_" + strings.Repeat("a", 49): notGH,
		"github_pat_" + strings.Repeat("a", 70) + ".":    notGH,
		"0123456789ABCDEF0123456789ABCDEF01234567":       notGH, // legacy tokens are lower-case
		"0123456789abcdef0123456789abcdef0123456":        notGH, // 39
		"0123456789abcdef0123456789abcdef012345678":      notGH, // 41
		"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln":      notGH, // a JWT
		strings.Repeat("a", 5000):                        notGH,
		ghToken("ghs_", "installation"):                  "a GitHub App installation token does not identify a user",
		"ghs_12345_eyJhbGciOiJSUzI1NiJ9.eyJ4IjoxfQ.c2ln": "a GitHub App installation token does not identify a user",
		ghToken("ghr_", "refresh"):                       "a GitHub refresh token cannot be used as an access token",
	}
	for tok, desc := range cases {
		_, err := verify(t, v, tok)
		requireErr(t, err, mcpauth.ErrInvalidToken, desc, 0)
	}
	require.EqualValues(t, 0, w.gh.calls.Load(), "garbage must not reach GitHub")
}

func TestSkipFormatCheck(t *testing.T) {
	w := newWorld(t)
	odd := "ghz_future-format.token"
	w.gh.addToken(odd, fakeToken{User: octocat, Scopes: []string{"read:user"}})
	v := w.verifier(t, func(c *Config) { c.SkipFormatCheck = true })
	tok := mustVerify(t, v, odd)
	require.Equal(t, TokenTypeUnknown, tok.Claims["github_token_type"])

	// Still never sent: empty tokens and tokens that cannot be a header value.
	for _, bad := range []string{"", "a b", "a\nb", strings.Repeat("a", 5000)} {
		_, err := verify(t, v, bad)
		require.ErrorIs(t, err, mcpauth.ErrInvalidToken)
	}
	require.EqualValues(t, 1, w.gh.calls.Load())
}
