package oauthproxy

import (
	"context"
	"crypto/subtle"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/config"
)

// authorization is a sign-in in progress: the client's request, the browser that made
// it, and, once approved, the proxy's own upstream PKCE verifier.
type authorization struct {
	ClientID       string    `json:"client_id"`
	RedirectURI    string    `json:"redirect_uri"`
	RedirectGiven  bool      `json:"redirect_given"`
	State          string    `json:"state,omitempty"`
	Challenge      string    `json:"challenge"`
	Resource       string    `json:"resource"`
	Scopes         []string  `json:"scopes"`
	Browser        string    `json:"browser"` // hash of the browser cookie
	CSRF           string    `json:"csrf"`
	Approved       bool      `json:"approved"`
	ConsentSubject string    `json:"consent_subject,omitempty"` // skipped consent: who had approved
	Verifier       string    `json:"verifier,omitempty"`
	Created        time.Time `json:"created"`
}

// grant is what an authorization code stands for.
type grant struct {
	ClientID      string    `json:"client_id"`
	RedirectURI   string    `json:"redirect_uri"`
	RedirectGiven bool      `json:"redirect_given"`
	Challenge     string    `json:"challenge"`
	Resource      string    `json:"resource"`
	Scopes        []string  `json:"scopes"`
	Subject       string    `json:"sub"`
	TenantID      string    `json:"tenant_id,omitempty"`
	GrantID       string    `json:"gid"`
	Expires       time.Time `json:"expires"`
}

// consentRecord is what a person approved for one client.
type consentRecord struct {
	Scopes    []string `json:"scopes"`
	Resources []string `json:"resources"`
}

func (c *consentRecord) covers(resource string, scopes []string) bool {
	if !slices.Contains(c.Resources, resource) {
		return false
	}
	for _, s := range scopes {
		if !slices.Contains(c.Scopes, s) {
			return false
		}
	}
	return true
}

func consentKey(subject, clientID string) string {
	return "consent:" + hashKey(subject+"\x00"+clientID)
}

// pkceChallenge is a base64url SHA-256 digest (RFC 7636 §4.2).
var pkceChallenge = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// authorize is the authorization endpoint.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		s.errorPage(w, http.StatusMethodNotAllowed, "The authorization endpoint accepts GET and POST.")
		return
	}
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, http.StatusBadRequest, "The authorization request is malformed.")
		return
	}
	q := r.Form
	// The client and its redirect URI come first: until both are known, no error may
	// be sent anywhere but to this page.
	if len(q["client_id"]) != 1 || len(q["redirect_uri"]) > 1 {
		s.errorPage(w, http.StatusBadRequest, "The request must carry exactly one client_id and at most one redirect_uri.")
		return
	}
	client, oe := s.lookupClient(r.Context(), q.Get("client_id"))
	if oe != nil {
		s.errorPage(w, pageStatus(oe), "The client cannot be used: "+oe.Description+".")
		return
	}
	redirect, given := q.Get("redirect_uri"), q.Has("redirect_uri")
	if !given {
		if len(client.RedirectURIs) != 1 {
			s.errorPage(w, http.StatusBadRequest, "redirect_uri is required: the client registered several.")
			return
		}
		redirect = client.RedirectURIs[0]
	}
	if !client.matchRedirect(redirect) {
		s.errorPage(w, http.StatusBadRequest, "redirect_uri does not match any redirect URI the client registered.")
		return
	}
	state := q.Get("state")
	fail := func(code, desc string) { s.redirectError(w, r, redirect, state, code, desc) }
	for name, v := range q {
		if len(v) > 1 {
			fail("invalid_request", "parameter "+name+" is repeated")
			return
		}
	}
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "only response_type=code is supported")
		return
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		fail("invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256")
		return
	case !pkceChallenge.MatchString(q.Get("code_challenge")):
		fail("invalid_request", "code_challenge is not a base64url SHA-256 digest")
		return
	}
	resource := q.Get("resource")
	if resource == "" {
		fail("invalid_target", "the resource parameter (RFC 8707) is required: name the MCP server's URL")
		return
	}
	offered, ok := s.cfg.Resources.ResourceScopes(resource)
	if !ok {
		fail("invalid_target", "the resource is not a protected service of this authorization server")
		return
	}
	// RFC 6749 §3.3: the scope granted may be narrower than asked; what the service
	// does not offer is dropped.
	var scopes []string
	for _, sc := range strings.Fields(q.Get("scope")) {
		if slices.Contains(offered, sc) && !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}

	browser := s.browserCookie(w, r)
	a := &authorization{
		ClientID: client.ID, RedirectURI: redirect, RedirectGiven: given,
		State: state, Challenge: q.Get("code_challenge"), Resource: resource, Scopes: scopes,
		Browser: hashKey(browser), CSRF: randomToken(24), Created: s.cfg.Now(),
	}
	if s.cfg.AutoApprove {
		a.Approved = true
		s.toUpstream(w, r, a)
		return
	}
	// A person who already approved this client for these scopes, in this browser, is
	// not asked again; the callback checks that the same person signed in.
	if subject, err := s.browserSubject(r.Context(), browser); err == nil && subject != "" {
		var c consentRecord
		if _, err := s.getJSON(r.Context(), consentKey(subject, client.ID), &c); err == nil && c.covers(resource, scopes) {
			a.Approved, a.ConsentSubject = true, subject
			s.toUpstream(w, r, a)
			return
		}
	}
	tx := randomToken(24)
	if err := s.putJSON(r.Context(), "tx:"+hashKey(tx), a, s.cfg.AuthorizationTTL); err != nil {
		s.errorPage(w, http.StatusServiceUnavailable, "The authorization server's storage is unavailable; try again shortly.")
		return
	}
	s.consentPage(w, client, a, tx)
}

// consent receives the consent form.
func (s *Server) consent(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, http.StatusBadRequest, "The consent form is malformed.")
		return
	}
	a, ok := s.takeAuthorization(w, r, "tx:"+hashKey(r.PostForm.Get("tx")), "This sign-in has expired or was already answered.")
	if !ok {
		return
	}
	cookie, _ := r.Cookie(s.cookieName())
	csrf := r.PostForm.Get("csrf")
	if cookie == nil || hashKey(cookie.Value) != a.Browser || subtle.ConstantTimeCompare([]byte(csrf), []byte(a.CSRF)) != 1 {
		s.errorPage(w, http.StatusForbidden, "The consent form did not come from the page this browser was shown (CSRF check failed). Start again from your application.")
		return
	}
	switch r.PostForm.Get("action") {
	case "approve":
		// The person may grant less than the client asked for: only the ticked scopes.
		a.Scopes = slices.DeleteFunc(a.Scopes, func(sc string) bool { return !slices.Contains(r.PostForm["scope"], sc) })
		a.Approved = true
		s.toUpstream(w, r, a)
	case "deny":
		s.redirectError(w, r, a.RedirectURI, a.State, "access_denied", "the person declined to authorize the client")
	default:
		s.errorPage(w, http.StatusBadRequest, "The consent form must say approve or deny.")
	}
}

// toUpstream sends the browser to the upstream identity provider with the proxy's own
// single-use state and PKCE.
func (s *Server) toUpstream(w http.ResponseWriter, r *http.Request, a *authorization) {
	state := randomToken(32)
	a.Verifier = randomToken(32)
	if err := s.putJSON(r.Context(), "state:"+hashKey(state), a, s.cfg.AuthorizationTTL); err != nil {
		s.errorPage(w, http.StatusServiceUnavailable, "The authorization server's storage is unavailable; try again shortly.")
		return
	}
	noStore(w)
	http.Redirect(w, r, s.cfg.Upstream.AuthCodeURL(state, a.Verifier, s.CallbackURL()), http.StatusFound)
}

// callback receives the upstream's answer.
func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a, ok := s.takeAuthorization(w, r, "state:"+hashKey(q.Get("state")), "This sign-in is unknown, has expired or was already completed.")
	if !ok {
		return
	}
	cookie, _ := r.Cookie(s.cookieName())
	if cookie == nil || hashKey(cookie.Value) != a.Browser || !a.Approved {
		s.errorPage(w, http.StatusForbidden, "This browser did not approve this sign-in. Start again from your application.")
		return
	}
	fail := func(code, desc string) { s.redirectError(w, r, a.RedirectURI, a.State, code, desc) }
	if e := q.Get("error"); e != "" {
		switch e {
		case "access_denied":
			fail("access_denied", "the identity provider refused the sign-in")
		case "temporarily_unavailable":
			fail("temporarily_unavailable", "the identity provider is unavailable")
		default:
			fail("server_error", "the identity provider answered with an error")
		}
		return
	}
	if q.Get("code") == "" {
		fail("server_error", "the identity provider sent no code")
		return
	}
	id, err := s.cfg.Upstream.Exchange(r.Context(), q.Get("code"), a.Verifier, s.CallbackURL())
	if err != nil {
		s.cfg.Logger.Warn("oauthproxy: the upstream sign-in failed", "upstream", s.cfg.Upstream.Name(), "client_id", a.ClientID, "error", err)
		switch {
		case errors.Is(err, mcpauth.ErrAccessDenied) || errors.Is(err, mcpauth.ErrInvalidToken):
			desc := "the identity provider's account is not allowed here"
			if e := mcpauth.AsError(err); e != nil && e.Description != "" {
				desc = e.Description
			}
			fail("access_denied", desc)
		case errors.Is(err, mcpauth.ErrUpstreamUnavailable):
			fail("temporarily_unavailable", "the identity provider is unavailable; try again shortly")
		default:
			fail("server_error", "the sign-in with the identity provider failed")
		}
		return
	}
	ctx := r.Context()
	// A skipped consent page was for the person this browser signed in as last time;
	// anyone else must have approved this client themselves.
	if a.ConsentSubject != "" && a.ConsentSubject != id.Subject {
		var c consentRecord
		if _, err := s.getJSON(ctx, consentKey(id.Subject, a.ClientID), &c); err != nil || !c.covers(a.Resource, a.Scopes) {
			fail("access_denied", "consent_required: the person who signed in has not approved this client")
			return
		}
	}
	granted := a.Scopes
	if id.Scopes != nil {
		granted = slices.DeleteFunc(slices.Clone(granted), func(sc string) bool { return !slices.Contains(id.Scopes, sc) })
	}
	if err := s.remember(ctx, id.Subject, cookie.Value, a); err != nil {
		s.storeError(err)
		fail("temporarily_unavailable", "the authorization server's storage is unavailable")
		return
	}
	g := grant{
		ClientID: a.ClientID, RedirectURI: a.RedirectURI, RedirectGiven: a.RedirectGiven, Challenge: a.Challenge,
		Resource: a.Resource, Scopes: granted, Subject: id.Subject, TenantID: id.TenantID,
		GrantID: randomToken(16), Expires: s.cfg.Now().Add(s.cfg.CodeTTL),
	}
	if id.Token != nil {
		if err := s.putUpstreamToken(ctx, g.GrantID, id.Token); err != nil {
			s.storeError(err)
			fail("temporarily_unavailable", "the authorization server's storage is unavailable")
			return
		}
	}
	code := randomToken(32)
	if err := s.putJSON(ctx, "code:"+hashKey(code), g, s.cfg.CodeTTL); err != nil {
		s.storeError(err)
		fail("temporarily_unavailable", "the authorization server's storage is unavailable")
		return
	}
	u, _ := url.Parse(a.RedirectURI)
	v := u.Query()
	v.Set("code", code)
	if a.State != "" {
		v.Set("state", a.State)
	}
	v.Set("iss", s.cfg.Issuer)
	u.RawQuery = v.Encode()
	noStore(w)
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// takeAuthorization takes the sign-in stored under key, once. When it is absent, or
// older than AuthorizationTTL whatever the store's own expiry did, it shows gone on an
// error page and returns false.
func (s *Server) takeAuthorization(w http.ResponseWriter, r *http.Request, key, gone string) (*authorization, bool) {
	var a authorization
	err := s.takeJSON(r.Context(), key, &a)
	switch {
	case err != nil && !isNotFound(err):
		s.errorPage(w, http.StatusServiceUnavailable, "The authorization server's storage is unavailable; try again shortly.")
		return nil, false
	case err != nil || !s.cfg.Now().Before(a.Created.Add(s.cfg.AuthorizationTTL)):
		s.errorPage(w, http.StatusBadRequest, gone+" Start again from your application.")
		return nil, false
	}
	return &a, true
}

// remember records the person's approval of the client and who this browser signed in
// as, so the consent page is not shown again for what was approved.
func (s *Server) remember(ctx context.Context, subject, browser string, a *authorization) error {
	key := consentKey(subject, a.ClientID)
	var c consentRecord
	if _, err := s.getJSON(ctx, key, &c); err != nil && !isNotFound(err) {
		return err
	}
	for _, sc := range a.Scopes {
		if !slices.Contains(c.Scopes, sc) {
			c.Scopes = append(c.Scopes, sc)
		}
	}
	if !slices.Contains(c.Resources, a.Resource) {
		c.Resources = append(c.Resources, a.Resource)
	}
	if err := s.putJSON(ctx, key, c, s.cfg.ConsentTTL); err != nil {
		return err
	}
	return s.putJSON(ctx, "browser:"+hashKey(browser), subject, s.cfg.ConsentTTL)
}

// RevokeConsent forgets that subject approved clientID: the consent page is shown again.
// Grants already issued are not affected (revoke their refresh tokens for that).
func (s *Server) RevokeConsent(ctx context.Context, subject, clientID string) error {
	return s.cfg.Store.Delete(ctx, consentKey(subject, clientID))
}

// browserSubject returns who this browser last signed in as, or "".
func (s *Server) browserSubject(ctx context.Context, browser string) (string, error) {
	var subject string
	_, err := s.getJSON(ctx, "browser:"+hashKey(browser), &subject)
	return subject, err
}

// cookieName is the browser-binding cookie: __Host- prefixed (and Secure) on https; on a
// loopback http issuer, where browsers refuse __Host- cookies without Secure, a plain
// name without Secure.
func (s *Server) cookieName() string {
	if s.loopback && s.issuer.Scheme == "http" {
		return "mcpauth-browser"
	}
	return "__Host-mcpauth-browser"
}

// browserCookie returns this browser's binding value, setting a new one when absent.
func (s *Server) browserCookie(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(s.cookieName()); err == nil && len(c.Value) >= 32 && len(c.Value) <= 64 {
		return c.Value
	}
	v := randomToken(32)
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName(), Value: v, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: s.cookieName() != "mcpauth-browser", MaxAge: int(s.cfg.ConsentTTL / time.Second),
	})
	return v
}

// redirectError sends the browser back to the client with an OAuth error (RFC 6749
// §4.1.2.1) and the issuer (RFC 9207).
func (s *Server) redirectError(w http.ResponseWriter, r *http.Request, redirect, state, code, desc string) {
	u, _ := url.Parse(redirect)
	v := u.Query()
	v.Set("error", code)
	v.Set("error_description", desc)
	if state != "" {
		v.Set("state", state)
	}
	v.Set("iss", s.cfg.Issuer)
	u.RawQuery = v.Encode()
	noStore(w)
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func pageStatus(oe *oauthError) int {
	if oe.Status == http.StatusServiceUnavailable {
		return oe.Status
	}
	return http.StatusBadRequest
}

func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

// pageHeaders protect the proxy's HTML pages: no framing (clickjacking of the consent
// button), no scripts, no caching, no referrer.
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	noStore(w)
}

var pages = template.Must(template.New("consent").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Authorize {{.ClientName}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:34em;margin:3em auto;padding:0 1em}code{background:#eee;padding:0 .2em}button{font-size:1em;padding:.4em 1.2em;margin-right:1em}</style></head>
<body><h1>Authorize {{.ClientName}}?</h1>
<p><strong>{{.ClientName}}</strong> wants to use <code>{{.Resource}}</code> on your behalf.</p>
<p>After you sign in, you will be sent back to <strong>{{.RedirectHost}}</strong>. Only continue if you trust that site or application.</p>
{{if .LoopbackOnly}}<p><strong>Warning:</strong> this application receives the answer on this computer ({{.RedirectHost}}). Any program running on this computer could claim to be it: continue only if you just started the sign-in from an application you trust.</p>
{{end}}<p>Client ID: <code>{{.ClientID}}</code>{{if .Document}} (its metadata document){{end}}</p>
<form method="post" action="{{.Action}}">
{{if .Scopes}}<p>It asks for these permissions; untick any you do not want to grant:</p>
{{range .Scopes}}<label><input type="checkbox" name="scope" value="{{.}}" checked> <code>{{.}}</code></label><br>
{{end}}{{else}}<p>It asks for no scope.</p>{{end}}
<input type="hidden" name="tx" value="{{.TX}}"><input type="hidden" name="csrf" value="{{.CSRF}}">
<button type="submit" name="action" value="approve">Approve and sign in</button>
<button type="submit" name="action" value="deny">Deny</button>
</form></body></html>
{{define "error"}}<!doctype html>
<html><head><meta charset="utf-8"><title>Sign-in error</title></head>
<body><h1>Sign-in error</h1><p>{{.}}</p></body></html>
{{end}}`))

// consentPage shows who asks for what and where the browser will be sent.
func (s *Server) consentPage(w http.ResponseWriter, c *Client, a *authorization, tx string) {
	name := c.Name
	if name == "" {
		name = "An unnamed application"
	}
	host := a.RedirectURI
	if u, err := url.Parse(a.RedirectURI); err == nil {
		host = u.Host
	}
	// MCP: warn when the client can only be reached on this computer, where any
	// program could impersonate it.
	loopbackOnly := true
	for _, r := range c.RedirectURIs {
		if u, err := url.Parse(r); err != nil || !config.IsLoopbackHost(u.Hostname()) {
			loopbackOnly = false
		}
	}
	pageHeaders(w)
	_ = pages.Execute(w, map[string]any{
		"ClientName": name, "ClientID": c.ID, "Document": c.MetadataDocument, "RedirectHost": host,
		"Resource": a.Resource, "Scopes": a.Scopes, "Action": s.endpoint("consent"), "TX": tx, "CSRF": a.CSRF,
		"LoopbackOnly": loopbackOnly,
	})
}

// errorPage shows an error that cannot be sent to the client.
func (s *Server) errorPage(w http.ResponseWriter, status int, msg string) {
	pageHeaders(w)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	w.WriteHeader(status)
	_ = pages.ExecuteTemplate(w, "error", msg)
}
