package github

import "strings"

// Token kinds, as reported in Claims["github_token_type"]. They are read from the token's
// prefix (GitHub's token formats since 2021; legacy tokens are 40 lowercase hex digits).
const (
	TokenTypePersonal            = "personal_access_token"              // ghp_
	TokenTypeOAuth               = "oauth"                              // gho_
	TokenTypeAppUser             = "app_user"                           // ghu_
	TokenTypeFineGrainedPersonal = "fine_grained_personal_access_token" // github_pat_
	TokenTypeLegacy              = "legacy"                             // 40 hex digits
	TokenTypeUnknown             = "unknown"                            // only with Config.SkipFormatCheck
)

const (
	// maxTokenLen bounds every token: GitHub's are 40 (ghp_ + 36) to 93 (github_pat_ +
	// 82) characters today, but GitHub asked integrators to accept up to 255.
	maxTokenLen = 255
	// maxAnyToken bounds tokens when the format check is skipped.
	maxAnyToken = 4096
	// wordChars is GitHub's token alphabet, [A-Za-z0-9_].
	wordChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
)

// tokenFormats are GitHub's user token formats: prefix, then at least min wordChars.
var tokenFormats = []struct {
	prefix, typ string
	min         int
}{
	{"ghp_", TokenTypePersonal, 36},
	{"gho_", TokenTypeOAuth, 36},
	{"ghu_", TokenTypeAppUser, 36},
	{"github_pat_", TokenTypeFineGrainedPersonal, 50},
}

// tokenFormat classifies token by GitHub's documented formats without any network call.
// It returns the token type, or a client-safe reason for refusing it.
func tokenFormat(token string, skipCheck bool) (typ, refusal string) {
	switch {
	case token == "":
		return "", "the access token is empty"
	case len(token) > maxAnyToken || !visibleASCII(token):
		return "", "not a GitHub token"
	case strings.HasPrefix(token, "ghs_"):
		// Installation (server-to-server) tokens act as an app, never as a user, so GET
		// /user always refuses them; their format also changed in 2026 (ghs_APPID_JWT).
		return "", "a GitHub App installation token does not identify a user"
	case strings.HasPrefix(token, "ghr_"):
		return "", "a GitHub refresh token cannot be used as an access token"
	case len(token) == 40 && strings.Trim(token, "0123456789abcdef") == "":
		return TokenTypeLegacy, ""
	}
	typ = TokenTypeUnknown
	for _, f := range tokenFormats {
		if body, ok := strings.CutPrefix(token, f.prefix); ok {
			if len(body) >= f.min && len(token) <= maxTokenLen && strings.Trim(body, wordChars) == "" {
				return f.typ, ""
			}
			typ = f.typ
			break
		}
	}
	if !skipCheck {
		return "", "not a GitHub token"
	}
	return typ, ""
}

// visibleASCII reports whether s has only printable, non-space ASCII, so that it can be
// put in an Authorization header as is.
func visibleASCII(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r > '~' })
}

// Token kinds, as reported in Claims["github_token_kind"].
const (
	kindClassic     = "classic"      // OAuth scopes: ghp_, gho_, legacy 40-hex
	kindFineGrained = "fine-grained" // fine-grained permissions: github_pat_, ghu_
)

// tokenKind tells classic tokens (which carry OAuth scopes) from fine-grained ones
// (which carry permissions) by the token type read from the prefix, as GitHub documents
// its formats. It returns "" for TokenTypeUnknown (only with Config.SkipFormatCheck),
// whose kind no prefix tells.
func tokenKind(tokenType string) string {
	switch tokenType {
	case TokenTypePersonal, TokenTypeOAuth, TokenTypeLegacy:
		return kindClassic
	case TokenTypeFineGrainedPersonal, TokenTypeAppUser:
		return kindFineGrained
	}
	return ""
}
