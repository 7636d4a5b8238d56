package e2e_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/mcpauth/mcpauth/mcpauthtest"
	"github.com/mcpauth/mcpauth/providers/bearer"
)

// authServer is the smallest OAuth 2.1 authorization server a real MCP client can sign in
// with: the authorization code flow with PKCE (S256) and resource indicators (RFC 8707),
// public clients only, tokens signed by the development issuer. It stands in for an
// identity provider: the person who signs in through a client is fixed per client ID and
// consents at once, and is granted the requested scopes they are entitled to (RFC 6749
// §3.3: the scope granted may be narrower than the scope requested).
type authServer struct {
	dev      *mcpauthtest.DevIssuer
	accounts map[string]account // by client_id

	mu    sync.Mutex
	codes map[string]codeGrant
}

// account is who signs in through a client, and the scopes they may be granted.
type account struct {
	subject, tenant string
	entitled        []string
}

type codeGrant struct {
	clientID, redirectURI, challenge, resource string
	scopes                                     []string
	acc                                        account
}

func (a *authServer) register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+authorizePath, a.authorize)
	mux.HandleFunc("POST "+tokenPath, a.token)
}

// authorize answers with a redirect carrying a code, or an error the client can show.
func (a *authServer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	acc, known := a.accounts[q.Get("client_id")]
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if !known || err != nil || !redirect.IsAbs() {
		oauthError(w, http.StatusBadRequest, "invalid_request", "unknown client_id or invalid redirect_uri")
		return
	}
	fail := func(code, desc string) {
		v := redirect.Query()
		v.Set("error", code)
		v.Set("error_description", desc)
		v.Set("state", q.Get("state"))
		redirect.RawQuery = v.Encode()
		http.Redirect(w, r, redirect.String(), http.StatusFound)
	}
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "only response_type=code")
		return
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		fail("invalid_request", "PKCE with S256 is required")
		return
	case q.Get("resource") == "":
		fail("invalid_target", "the resource parameter (RFC 8707) is required")
		return
	}
	var granted []string
	for _, s := range strings.Fields(q.Get("scope")) {
		if slices.Contains(acc.entitled, s) && !slices.Contains(granted, s) {
			granted = append(granted, s)
		}
	}
	code := randomString()
	a.mu.Lock()
	a.codes[code] = codeGrant{
		clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"), challenge: q.Get("code_challenge"),
		resource: q.Get("resource"), scopes: granted, acc: acc,
	}
	a.mu.Unlock()
	v := redirect.Query()
	v.Set("code", code)
	if st := q.Get("state"); st != "" {
		v.Set("state", st)
	}
	v.Set("iss", a.dev.Issuer())
	redirect.RawQuery = v.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// token exchanges a code for an access token whose audience is the resource the code was
// issued for.
func (a *authServer) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only authorization_code")
		return
	}
	a.mu.Lock()
	g, ok := a.codes[r.PostForm.Get("code")]
	delete(a.codes, r.PostForm.Get("code"))
	a.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case !ok:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "unknown or used code")
		return
	case r.PostForm.Get("client_id") != g.clientID || r.PostForm.Get("redirect_uri") != g.redirectURI:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "client_id or redirect_uri differ from the authorization request")
		return
	case base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "code_verifier does not match code_challenge")
		return
	case r.PostForm.Has("resource") && r.PostForm.Get("resource") != g.resource:
		oauthError(w, http.StatusBadRequest, "invalid_target", "resource differs from the authorization request")
		return
	}
	c := bearer.NewClaims(g.acc.subject).AddScopes(g.scopes...).WithAudience(g.resource).
		AddClaim("client_id", g.clientID)
	if g.acc.tenant != "" {
		c.AddClaim("tenant_id", g.acc.tenant)
	}
	tok, err := a.dev.Sign(c)
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": tok, "token_type": "Bearer", "expires_in": 3600, "scope": strings.Join(g.scopes, " "),
	})
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func randomString() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
