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

// Length bounds of the part after the prefix. GitHub's tokens are 40 characters today
// (ghp_ + 36) and fine-grained tokens 93 (github_pat_ + 82), but GitHub has asked
// integrators to accept tokens of up to 255 characters, so only the lower bound is tight.
const (
	minClassicBody     = 36
	maxTokenLen        = 255
	minFineGrainedBody = 50
	// maxAnyToken bounds tokens when the format check is skipped.
	maxAnyToken = 4096
)

// tokenFormat classifies token by GitHub's documented formats without any network call.
// It returns the token type, or a client-safe reason for refusing it.
func tokenFormat(token string, skipCheck bool) (kind string, refusal string) {
	if token == "" {
		return "", "the access token is empty"
	}
	if len(token) > maxAnyToken || !visibleASCII(token) {
		return "", "not a GitHub token"
	}
	switch {
	case strings.HasPrefix(token, "ghs_"):
		// Installation (server-to-server) tokens act as an app, never as a user, so GET
		// /user always refuses them; their format also changed in 2026 (ghs_APPID_JWT).
		return "", "a GitHub App installation token does not identify a user"
	case strings.HasPrefix(token, "ghr_"):
		return "", "a GitHub refresh token cannot be used as an access token"
	}
	kind = TokenTypeUnknown
	ok := false
	switch {
	case strings.HasPrefix(token, "ghp_"):
		kind, ok = TokenTypePersonal, classicBody(token[4:])
	case strings.HasPrefix(token, "gho_"):
		kind, ok = TokenTypeOAuth, classicBody(token[4:])
	case strings.HasPrefix(token, "ghu_"):
		kind, ok = TokenTypeAppUser, classicBody(token[4:])
	case strings.HasPrefix(token, "github_pat_"):
		body := token[len("github_pat_"):]
		kind, ok = TokenTypeFineGrainedPersonal, len(token) <= maxTokenLen && len(body) >= minFineGrainedBody && wordChars(body)
	case len(token) == 40 && lowerHex(token):
		kind, ok = TokenTypeLegacy, true
	}
	if !ok && !skipCheck {
		return "", "not a GitHub token"
	}
	return kind, ""
}

func classicBody(body string) bool {
	return len(body) >= minClassicBody && len(body)+4 <= maxTokenLen && wordChars(body)
}

// wordChars reports whether s is made of [A-Za-z0-9_], GitHub's token alphabet.
func wordChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// visibleASCII reports whether s has only printable, non-space ASCII, so that it can be
// put in an Authorization header as is.
func visibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// Token kinds, as reported in Claims["github_token_kind"].
const (
	kindClassic     = "classic"      // OAuth scopes: ghp_, gho_, legacy 40-hex
	kindFineGrained = "fine-grained" // fine-grained permissions: github_pat_, ghu_
)

// tokenKind tells classic tokens (which carry OAuth scopes) from fine-grained ones
// (which carry permissions) by the token type read from the prefix, as GitHub documents
// its formats: ghp_ classic personal access token, gho_ OAuth app token, legacy 40 hex
// digits (classic); github_pat_ fine-grained personal access token, ghu_ GitHub App
// user-to-server token (fine-grained). It returns "" for TokenTypeUnknown (only with
// Config.SkipFormatCheck), whose kind no prefix tells.
func tokenKind(tokenType string) string {
	switch tokenType {
	case TokenTypePersonal, TokenTypeOAuth, TokenTypeLegacy:
		return kindClassic
	case TokenTypeFineGrainedPersonal, TokenTypeAppUser:
		return kindFineGrained
	}
	return ""
}
