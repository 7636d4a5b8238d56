package oauthproxy

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/mcpauth/mcpauth"
)

// DevUser is a person of the development upstream.
type DevUser struct {
	// Name is the login; the subject is "dev:" + Name.
	Name string
	// TenantID is the user's tenant ("" for none).
	TenantID string
	// Scopes are the most the user may be granted (nil: no limit).
	Scopes []string
}

// DevUpstream is a built-in identity provider for development and tests: a sign-in page
// listing its users, where anyone may sign in as anyone. It follows the authorization
// code flow with PKCE like a real provider, and issues refreshable upstream tokens so
// that UpstreamTokenSource can be tried. Its one-time codes live in the Store of the
// proxy it is given to (New hands it over), so a sign-in may finish on another replica.
// Never use it in production: New refuses it without Config.DevMode.
type DevUpstream struct {
	issuer string
	users  []DevUser
	now    func() time.Time
	store  atomic.Pointer[Store]
}

type devCode struct {
	User        string    `json:"user"`
	Challenge   string    `json:"challenge"`
	RedirectURI string    `json:"redirect_uri"`
	Expires     time.Time `json:"expires"`
}

// NewDevUpstream returns a development upstream for the proxy whose Config.Issuer is
// issuer, with the given users; now is its clock (time.Now when nil).
func NewDevUpstream(issuer string, now func() time.Time, users ...DevUser) *DevUpstream {
	if now == nil {
		now = time.Now
	}
	d := &DevUpstream{issuer: issuer, users: slices.Clone(users), now: now}
	d.useStore(NewMemoryStore(now))
	return d
}

// useStore makes the upstream keep its codes in st (the proxy's store).
func (d *DevUpstream) useStore(st Store) { d.store.Store(&st) }

// devCodeTTL is how long a development sign-in code may wait for the callback.
const devCodeTTL = time.Minute

// Name implements Upstream.
func (d *DevUpstream) Name() string { return "dev" }

func (d *DevUpstream) loginURL() string { return d.issuer + "/oauth/dev/login" }

// AuthCodeURL implements Upstream: the development sign-in page.
func (d *DevUpstream) AuthCodeURL(state, codeVerifier, redirectURI string) string {
	v := url.Values{"state": {state}, "code_challenge": {hashKey(codeVerifier)}, "code_challenge_method": {"S256"}, "redirect_uri": {redirectURI}}
	return d.loginURL() + "?" + v.Encode()
}

// Routes implements RouteProvider: the sign-in page under the proxy.
func (d *DevUpstream) Routes() map[string]http.Handler {
	u, _ := url.Parse(d.loginURL())
	return map[string]http.Handler{u.EscapedPath(): http.HandlerFunc(d.login)}
}

var devPage = template.Must(template.New("dev").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Development sign-in</title>
<style>body{font-family:system-ui,sans-serif;max-width:34em;margin:3em auto;padding:0 1em}button{font-size:1em;padding:.4em 1.2em;margin:.3em 0;display:block}</style></head>
<body><h1>Development sign-in</h1>
<p>This is mcpauth's built-in development identity provider: choose who you are. Never use it in production.</p>
<form method="post">
<input type="hidden" name="state" value="{{.State}}"><input type="hidden" name="code_challenge" value="{{.Challenge}}"><input type="hidden" name="redirect_uri" value="{{.Redirect}}">
{{range .Users}}<button type="submit" name="user" value="{{.Name}}">{{.Name}}{{if .TenantID}} ({{.TenantID}}){{end}}</button>{{end}}
<button type="submit" name="user" value="">Cancel (deny)</button>
</form></body></html>`))

func (d *DevUpstream) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "malformed request", http.StatusBadRequest)
		return
	}
	redirect := r.Form.Get("redirect_uri")
	if redirect != d.issuer+"/oauth/callback" {
		http.Error(w, "redirect_uri is not the proxy's callback", http.StatusBadRequest)
		return
	}
	switch r.Method {
	case http.MethodGet:
		pageHeaders(w)
		_ = devPage.Execute(w, map[string]any{"State": r.Form.Get("state"), "Challenge": r.Form.Get("code_challenge"), "Redirect": redirect, "Users": d.users})
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	v := url.Values{"state": {r.PostForm.Get("state")}}
	i := slices.IndexFunc(d.users, func(u DevUser) bool { return u.Name == r.PostForm.Get("user") })
	if i < 0 {
		v.Set("error", "access_denied")
	} else {
		code := randomToken(24)
		b, _ := json.Marshal(devCode{User: d.users[i].Name, Challenge: r.PostForm.Get("code_challenge"), RedirectURI: redirect, Expires: d.now().Add(devCodeTTL)})
		if err := (*d.store.Load()).Put(r.Context(), "devcode:"+hashKey(code), b, devCodeTTL); err != nil {
			http.Error(w, "the development provider's storage is unavailable", http.StatusServiceUnavailable)
			return
		}
		v.Set("code", code)
	}
	noStore(w)
	http.Redirect(w, r, redirect+"?"+v.Encode(), http.StatusFound)
}

// Exchange implements Upstream.
func (d *DevUpstream) Exchange(ctx context.Context, code, codeVerifier, redirectURI string) (*Identity, error) {
	b, err := (*d.store.Load()).Take(ctx, "devcode:"+hashKey(code))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, mcpauth.UpstreamUnavailable("the development provider's storage is unavailable", 5*time.Second, err)
	}
	var c devCode
	if err != nil || json.Unmarshal(b, &c) != nil || !d.now().Before(c.Expires) || c.RedirectURI != redirectURI || subtle.ConstantTimeCompare([]byte(hashKey(codeVerifier)), []byte(c.Challenge)) != 1 {
		return nil, mcpauth.InvalidToken("the development sign-in code is invalid", nil)
	}
	i := slices.IndexFunc(d.users, func(u DevUser) bool { return u.Name == c.User })
	if i < 0 {
		return nil, mcpauth.InvalidToken("the development sign-in code is invalid", nil)
	}
	u := d.users[i]
	return &Identity{Subject: "dev:" + u.Name, TenantID: u.TenantID, Name: u.Name, Scopes: slices.Clone(u.Scopes), Token: d.token()}, nil
}

// token is an upstream token of the development provider: opaque, one hour.
func (d *DevUpstream) token() *oauth2.Token {
	return &oauth2.Token{AccessToken: "dev-" + randomToken(24), RefreshToken: "devr-" + randomToken(24), TokenType: "Bearer", Expiry: d.now().Add(time.Hour)}
}

// Refresh implements Refresher.
func (d *DevUpstream) Refresh(_ context.Context, t *oauth2.Token) (*oauth2.Token, error) {
	if t == nil || t.RefreshToken == "" {
		return nil, mcpauth.InvalidToken("no refresh token", nil)
	}
	return d.token(), nil
}
