package middleware

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mcpauth/mcpauth/internal/tokenformat"
)

// FuzzBearerToken: header parsing never panics, and a token it returns is exactly what
// followed "Bearer " and is a valid RFC 6750 b64token within the size bound.
func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"Bearer abc.def.ghi", "bearer x", "Basic dXNlcg==", "Bearer ", "Bearer  a==", "Bearer a=b", "Bearer \x00", "BearerX y", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header["Authorization"] = []string{header}
		tok, present, err := bearerToken(r, 64)
		if err != nil {
			if !present {
				t.Fatalf("error without a bearer credential: %v", err)
			}
			return
		}
		if !present {
			if tok != "" {
				t.Fatalf("token %q returned for an absent credential", tok)
			}
			return
		}
		if len(tok) == 0 || len(tok) > 64 || !tokenformat.IsB64Token(tok) {
			t.Fatalf("accepted an invalid token %q", tok)
		}
		if !strings.HasSuffix(header, tok) || strings.ContainsAny(tok, " \t\r\n\"") {
			t.Fatalf("token %q is not the credential of %q", tok, header)
		}
	})
}

// FuzzChallenge: whatever the values, the header is one line of visible ASCII whose
// quoted strings are well formed.
func FuzzChallenge(f *testing.F) {
	f.Add("https://x/.well-known/oauth-protected-resource", "a b", "invalid_token", `bad "quoted" \ value`)
	f.Add("", "", "", "\r\nSet-Cookie: x=1")
	f.Fuzz(func(t *testing.T, md, scope, code, desc string) {
		h := Challenge{ResourceMetadata: md, Scope: strings.Fields(scope), Error: code, Description: desc}.String()
		if !strings.HasPrefix(h, "Bearer") {
			t.Fatalf("no scheme: %q", h)
		}
		for i := 0; i < len(h); i++ {
			if h[i] < 0x20 || h[i] >= 0x7f {
				t.Fatalf("byte %#x at %d in %q", h[i], i, h)
			}
		}
		// Walk the quoted strings: every value closes, escapes are complete.
		in, esc := false, false
		for i := len("Bearer"); i < len(h); i++ {
			c := h[i]
			switch {
			case esc:
				esc = false
			case in && c == '\\':
				esc = true
			case c == '"':
				in = !in
			}
		}
		if in || esc {
			t.Fatalf("unterminated quoted string in %q", h)
		}
	})
}

// TestHeaderNamesAreCanonical: the request path reads these names straight from the
// header map, which holds canonical keys only; a name that is not canonical would never
// be found (an Authorization header read as absent, a session never checked).
func TestHeaderNamesAreCanonical(t *testing.T) {
	for _, name := range []string{authorizationHeader, protocolVersionHeader, contentTypeHeader, originHeader, sessionHeader} {
		if c := http.CanonicalHeaderKey(name); c != name {
			t.Errorf("header name %q is not canonical: use %q", name, c)
		}
	}
}
