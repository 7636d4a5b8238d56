package github

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeGitHub is a GitHub REST API on loopback that answers the endpoints this package
// uses the way GitHub documents them: GET /user, GET /user/memberships/orgs/{org},
// GET /orgs/{org}/teams/{team_slug}/memberships/{username} and POST
// /applications/{client_id}/token ("Check a token"), with GitHub's status codes,
// headers (X-OAuth-Scopes, X-Accepted-OAuth-Scopes, X-OAuth-Client-Id,
// GitHub-Authentication-Token-Expiration, X-RateLimit-*, Retry-After, X-GitHub-Media-Type,
// X-GitHub-Request-Id) and error bodies ({"message", "documentation_url", "status"}).
//
// Tokens map to users; organizations and teams have members (active or pending); a
// failure mode can be switched on for every endpoint or one path prefix; every request
// is counted and logged ("METHOD /path"). The fake also checks what a well-behaved client must do: a User-Agent
// (GitHub refuses requests without one), the API version and media type headers, and
// the token only ever in the Authorization header.
type fakeGitHub struct {
	t   testing.TB
	srv *httptest.Server
	now func() time.Time

	mu     sync.Mutex
	tokens map[string]*fakeToken
	orgs   map[string]map[string]fakeMember // lower-case org → lower-case login → membership
	teams  map[string]map[string]fakeMember // lower-case "org/slug" → lower-case login → membership
	fail   fakeFailure
	apps   map[string]string // OAuth app client id → client secret
	log    []string          // "METHOD /path" of every request, in order

	// hold, when set, makes GET /user wait (after signalling arrived) until hold is
	// closed or the request ends.
	hold    chan struct{}
	arrived chan struct{}
	closed  chan struct{}

	calls, userCalls, orgCalls, teamCalls, appCalls atomic.Int64
}

// fakeUser is the account a token belongs to.
type fakeUser struct {
	ID    int64
	Login string
	Name  string
	Email string // public email; "" is sent as null
}

// fakeToken describes one access token.
type fakeToken struct {
	User *fakeUser // nil: an installation token (acts as an app, not a user)
	// Scopes are a classic token's OAuth scopes, sent in X-OAuth-Scopes.
	Scopes []string
	// FineGrained tokens (github_pat_, ghu_) have permissions instead of scopes: no
	// X-OAuth-Scopes header. MembersRead lists the orgs whose "Members" permission
	// (read) the token holds.
	FineGrained bool
	MembersRead []string
	// ClientID is the OAuth app the token was issued to (X-OAuth-Client-Id); only
	// that app's credentials can check it with POST /applications/{client_id}/token.
	ClientID string
	// ExpiresAt, when set, is sent as GitHub-Authentication-Token-Expiration.
	ExpiresAt time.Time
}

type fakeMember struct {
	State string // "active" or "pending"
	Role  string // org: "admin" or "member"; team: "maintainer" or "member"
}

// Failure modes.
type fakeMode int

const (
	modeNone            fakeMode = iota
	modePrimaryLimit             // 403, X-RateLimit-Remaining: 0, X-RateLimit-Reset in ResetIn
	modePrimaryLimit429          // 429, X-RateLimit-Remaining: 0, X-RateLimit-Reset in ResetIn
	modeSecondaryLimit           // 403, Retry-After: RetryAfter, secondary-limit message
	modeSecondaryNoHint          // 403, secondary-limit message and no header at all
	modeTooMany                  // 429, Retry-After: RetryAfter
	modeServerError              // 500 {"message":"Server Error"}
	modeBadGateway               // 502 with an HTML page (GitHub's unicorn)
	modeUnavailable              // 503, Retry-After: RetryAfter
	modeMalformed                // 200 with a truncated JSON body
	modeWrongShape               // 200 with JSON that is not a user / membership
	modeHang                     // never answer: wait until the client gives up
	modeForbidden                // 403 without rate-limit signals
	modeHTMLNotFound             // 404 HTML, as a non-API host would answer
	modeForbiddenHTML            // 403 HTML page from an edge or proxy, no rate-limit headers
	modeForbiddenEmpty           // 403 with an empty body and no headers at all
	modeAbuseNoHint              // 403 JSON of GitHub's older abuse detection, no headers
)

type fakeFailure struct {
	mode       fakeMode
	pathPrefix string // "" for every path
	remaining  int    // failures left; < 0 for unlimited
	retryAfter string
	resetIn    time.Duration
}

const fakeDocs = "https://docs.github.com/rest"

func newFakeGitHub(t testing.TB, now func() time.Time) *fakeGitHub {
	t.Helper()
	if now == nil {
		now = time.Now
	}
	f := &fakeGitHub{
		t:       t,
		now:     now,
		tokens:  map[string]*fakeToken{},
		orgs:    map[string]map[string]fakeMember{},
		teams:   map[string]map[string]fakeMember{},
		apps:    map[string]string{},
		arrived: make(chan struct{}, 1),
		closed:  make(chan struct{}),
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		close(f.closed)
		f.srv.Close()
	})
	return f
}

// URL is the API root (what Config.APIBaseURL points at).
func (f *fakeGitHub) URL() string { return f.srv.URL }

// addToken registers token for tok.
func (f *fakeGitHub) addToken(token string, tok fakeToken) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens[token] = &tok
}

// addApp registers (or changes the secret of) an OAuth app whose credentials may call
// POST /applications/{client_id}/token.
func (f *fakeGitHub) addApp(clientID, secret string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.apps[clientID] = secret
}

// callLog returns "METHOD /path" for every request so far, in order.
func (f *fakeGitHub) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.log)
}

// revoke makes token unknown, as after revocation or expiry.
func (f *fakeGitHub) revoke(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.tokens, token)
}

// addOrgMember sets login's membership of org.
func (f *fakeGitHub) addOrgMember(org, login, state, role string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := strings.ToLower(org)
	if f.orgs[o] == nil {
		f.orgs[o] = map[string]fakeMember{}
	}
	f.orgs[o][strings.ToLower(login)] = fakeMember{State: state, Role: role}
}

// addTeamMember sets login's membership of org/slug. Team members are org members.
func (f *fakeGitHub) addTeamMember(org, slug, login, state, role string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := strings.ToLower(org + "/" + slug)
	if f.teams[k] == nil {
		f.teams[k] = map[string]fakeMember{}
	}
	f.teams[k][strings.ToLower(login)] = fakeMember{State: state, Role: role}
	o := strings.ToLower(org)
	if f.orgs[o] == nil {
		f.orgs[o] = map[string]fakeMember{}
	}
	if _, ok := f.orgs[o][strings.ToLower(login)]; !ok {
		f.orgs[o][strings.ToLower(login)] = fakeMember{State: "active", Role: "member"}
	}
}

// setFailure switches a failure mode on for paths starting with pathPrefix ("" for
// all), for the next times requests (times <= 0: until cleared).
func (f *fakeGitHub) setFailure(mode fakeMode, pathPrefix string, times int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fakeFailure{mode: mode, pathPrefix: pathPrefix, remaining: times, retryAfter: "30", resetIn: 90 * time.Second}
}

// setRateLimitHints changes the Retry-After value and the X-RateLimit-Reset distance
// of the current failure.
func (f *fakeGitHub) setRateLimitHints(retryAfter string, resetIn time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail.retryAfter, f.fail.resetIn = retryAfter, resetIn
}

func (f *fakeGitHub) clearFailure() { f.setFailure(modeNone, "", 0) }

// holdUser makes GET /user block until the returned release function is called.
func (f *fakeGitHub) holdUser() (release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan struct{})
	f.hold = ch
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	h := w.Header()
	h.Set("X-GitHub-Request-Id", fmt.Sprintf("FAKE:%04X:%06X", r.ContentLength&0xffff, f.calls.Load()))
	h.Set("Server", "github.com")

	f.mu.Lock()
	f.log = append(f.log, r.Method+" "+r.URL.Path)
	f.mu.Unlock()

	// What GitHub needs from every client.
	isApp := strings.HasPrefix(r.URL.Path, "/applications/")
	if want := map[bool]string{false: http.MethodGet, true: http.MethodPost}[isApp]; r.Method != want {
		f.t.Errorf("fake GitHub: unexpected method %s %s", r.Method, r.URL.Path)
	}
	if r.UserAgent() == "" {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = fmt.Fprint(w, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.\n")
		return
	}
	if got := r.Header.Get("Accept"); got != "application/vnd.github+json" {
		f.t.Errorf("fake GitHub: Accept is %q, want application/vnd.github+json", got)
	}
	if got := r.Header.Get("X-GitHub-Api-Version"); got != "2022-11-28" {
		f.t.Errorf("fake GitHub: X-GitHub-Api-Version is %q, want 2022-11-28", got)
	}
	if r.URL.RawQuery != "" {
		f.t.Errorf("fake GitHub: unexpected query string on %s (tokens never go in URLs)", r.URL.Path)
	}

	switch {
	case r.URL.Path == "/user":
		f.userCalls.Add(1)
	case strings.HasPrefix(r.URL.Path, "/user/memberships/orgs/"):
		f.orgCalls.Add(1)
	case strings.HasPrefix(r.URL.Path, "/orgs/"):
		f.teamCalls.Add(1)
	case isApp:
		f.appCalls.Add(1)
	}

	f.mu.Lock()
	fail := f.fail
	if fail.mode != modeNone && strings.HasPrefix(r.URL.Path, fail.pathPrefix) {
		if f.fail.remaining > 0 {
			f.fail.remaining--
			if f.fail.remaining == 0 {
				f.fail.mode = modeNone
			}
		}
	} else {
		fail.mode = modeNone
	}
	hold := f.hold
	f.mu.Unlock()

	if hold != nil && r.URL.Path == "/user" {
		select {
		case f.arrived <- struct{}{}:
		default:
		}
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		case <-f.closed:
			return
		}
	}
	if fail.mode != modeNone && f.failWith(w, r, fail) {
		return
	}
	if isApp {
		f.checkToken(w, r)
		return
	}

	tok, user := f.authenticate(r)
	f.rateHeaders(h, user, 4999)
	if tok == nil {
		f.writeError(w, http.StatusUnauthorized, "Bad credentials", fakeDocs)
		return
	}
	if tok.ClientID != "" {
		h.Set("X-OAuth-Client-Id", tok.ClientID)
	}
	if !tok.FineGrained {
		h.Set("X-OAuth-Scopes", strings.Join(tok.Scopes, ", "))
	}
	if !tok.ExpiresAt.IsZero() {
		h.Set("GitHub-Authentication-Token-Expiration", tok.ExpiresAt.UTC().Format("2006-01-02 15:04:05 UTC"))
	}

	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.URL.Path == "/user":
		h.Set("X-Accepted-OAuth-Scopes", "")
		if user == nil {
			f.writeError(w, http.StatusForbidden, "Resource not accessible by integration", "https://docs.github.com/rest/users/users#get-the-authenticated-user")
			return
		}
		f.writeJSON(w, http.StatusOK, f.userDoc(user))
	case len(parts) == 4 && parts[0] == "user" && parts[1] == "memberships" && parts[2] == "orgs":
		h.Set("X-Accepted-OAuth-Scopes", "admin:org, read:org, repo, user, write:org")
		f.orgMembership(w, tok, user, parts[3])
	case len(parts) == 6 && parts[0] == "orgs" && parts[2] == "teams" && parts[4] == "memberships":
		h.Set("X-Accepted-OAuth-Scopes", "admin:org, read:org, repo, user, write:org")
		f.teamMembership(w, tok, user, parts[1], parts[3], parts[5])
	default:
		f.writeError(w, http.StatusNotFound, "Not Found", fakeDocs)
	}
}

// checkToken answers POST /applications/{client_id}/token as GitHub documents "Check a
// token": the OAuth app's client id and secret in basic authentication (401 when they
// are not a registered app's), {"access_token": "..."} as the body (422 when it is
// missing), 404 when the token is unknown, revoked, expired or another app's, and 200
// with the token's document otherwise.
func (f *fakeGitHub) checkToken(w http.ResponseWriter, r *http.Request) {
	docs := "https://docs.github.com/rest/apps/oauth-applications#check-a-token"
	f.rateHeaders(w.Header(), &fakeUser{}, 4999)
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) != 3 || parts[2] != "token" {
		f.writeError(w, http.StatusNotFound, "Not Found", fakeDocs)
		return
	}
	pathID := parts[1]
	id, secret, ok := r.BasicAuth()
	f.mu.Lock()
	want, known := f.apps[id]
	f.mu.Unlock()
	if !ok || !known || secret != want {
		f.writeError(w, http.StatusUnauthorized, "Requires authentication", docs)
		return
	}
	if id != pathID {
		f.writeError(w, http.StatusNotFound, "Not Found", docs)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		f.t.Errorf("fake GitHub: Content-Type is %q, want application/json", ct)
	}
	var in struct {
		AccessToken *string `json:"access_token"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.AccessToken == nil || *in.AccessToken == "" {
		f.writeError(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"access_token\" wasn't supplied.", docs)
		return
	}
	token := *in.AccessToken
	f.mu.Lock()
	tok := f.tokens[token]
	var c fakeToken
	if tok != nil {
		c = *tok
	}
	f.mu.Unlock()
	if tok == nil || c.ClientID != pathID || (!c.ExpiresAt.IsZero() && !f.now().Before(c.ExpiresAt)) {
		f.writeError(w, http.StatusNotFound, "Not Found", docs)
		return
	}
	api := f.srv.URL
	scopes := []string{}
	if !c.FineGrained {
		scopes = append(scopes, c.Scopes...)
	}
	var expires, user any
	if !c.ExpiresAt.IsZero() {
		expires = c.ExpiresAt.UTC().Format(time.RFC3339)
	}
	if c.User != nil {
		user = f.simpleUser(c.User)
	}
	f.writeJSON(w, http.StatusOK, map[string]any{
		"id":               1,
		"url":              api + "/authorizations/1",
		"scopes":           scopes,
		"token":            token,
		"token_last_eight": token[len(token)-8:],
		"hashed_token":     "25f94a2a5c7fbaf499c665bc73d67c1c87e496da8985131633ee0a95819db2e8",
		"app": map[string]any{
			"client_id": pathID,
			"name":      "Fake App " + pathID,
			"url":       "https://example.com/app",
		},
		"note":         nil,
		"note_url":     nil,
		"updated_at":   "2011-09-06T20:39:23Z",
		"created_at":   "2011-09-06T17:26:27Z",
		"fingerprint":  "jklmnop12345678",
		"expires_at":   expires,
		"user":         user,
		"installation": nil,
	})
}

// authenticate reads "Authorization: Bearer <token>" or "Authorization: token <token>".
func (f *fakeGitHub) authenticate(r *http.Request) (*fakeToken, *fakeUser) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !(strings.EqualFold(scheme, "bearer") || strings.EqualFold(scheme, "token")) {
		return nil, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	tok := f.tokens[token]
	if tok == nil {
		return nil, nil
	}
	if !tok.ExpiresAt.IsZero() && !f.now().Before(tok.ExpiresAt) {
		return nil, nil // expired tokens answer like bad ones
	}
	c := *tok
	return &c, tok.User
}

// canReadMemberships says whether tok may read membership data of org, and GitHub's
// refusal message when not.
func (f *fakeGitHub) canReadMemberships(tok *fakeToken, user *fakeUser, org string) (bool, string) {
	if user == nil {
		return false, "Resource not accessible by integration"
	}
	if tok.FineGrained {
		if slices.ContainsFunc(tok.MembersRead, func(o string) bool { return strings.EqualFold(o, org) }) {
			return true, ""
		}
		return false, "Resource not accessible by personal access token"
	}
	for _, s := range tok.Scopes {
		switch s {
		case "read:org", "write:org", "admin:org", "user", "repo":
			return true, ""
		}
	}
	// GitHub does not document this exact text; it matches its wording elsewhere.
	return false, "You need at least read:org scope or user scope to read organization memberships."
}

func (f *fakeGitHub) orgMembership(w http.ResponseWriter, tok *fakeToken, user *fakeUser, org string) {
	docs := "https://docs.github.com/rest/orgs/members#get-an-organization-membership-for-the-authenticated-user"
	if ok, msg := f.canReadMemberships(tok, user, org); !ok {
		f.writeError(w, http.StatusForbidden, msg, docs)
		return
	}
	f.mu.Lock()
	m, ok := f.orgs[strings.ToLower(org)][strings.ToLower(user.Login)]
	f.mu.Unlock()
	if !ok {
		f.writeError(w, http.StatusNotFound, "Not Found", docs)
		return
	}
	api := f.srv.URL
	f.writeJSON(w, http.StatusOK, map[string]any{
		"url":              api + "/orgs/" + org + "/memberships/" + user.Login,
		"state":            m.State,
		"role":             m.Role,
		"organization_url": api + "/orgs/" + org,
		"organization": map[string]any{
			"login": org, "id": 1000 + len(org), "node_id": "O_fake", "url": api + "/orgs/" + org,
			"repos_url": api + "/orgs/" + org + "/repos", "description": "",
		},
		"user": f.simpleUser(user),
	})
}

func (f *fakeGitHub) teamMembership(w http.ResponseWriter, tok *fakeToken, user *fakeUser, org, slug, username string) {
	docs := "https://docs.github.com/rest/teams/members#get-team-membership-for-a-user"
	if ok, msg := f.canReadMemberships(tok, user, org); !ok {
		f.writeError(w, http.StatusForbidden, msg, docs)
		return
	}
	f.mu.Lock()
	// The team must be visible to the caller: outsiders of the org get 404.
	_, callerInOrg := f.orgs[strings.ToLower(org)][strings.ToLower(user.Login)]
	m, ok := f.teams[strings.ToLower(org+"/"+slug)][strings.ToLower(username)]
	f.mu.Unlock()
	if !callerInOrg || !ok {
		f.writeError(w, http.StatusNotFound, "Not Found", docs)
		return
	}
	f.writeJSON(w, http.StatusOK, map[string]any{
		"url":   f.srv.URL + "/organizations/1/team/2/memberships/" + username,
		"role":  m.Role,
		"state": m.State,
	})
}

// failWith answers with the failure mode; false means "answer normally".
func (f *fakeGitHub) failWith(w http.ResponseWriter, r *http.Request, fail fakeFailure) bool {
	h := w.Header()
	reset := f.now().Add(fail.resetIn).Unix()
	switch fail.mode {
	case modePrimaryLimit, modePrimaryLimit429:
		h.Set("X-RateLimit-Limit", "5000")
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Used", "5000")
		h.Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
		h.Set("X-RateLimit-Resource", "core")
		status := http.StatusForbidden
		if fail.mode == modePrimaryLimit429 {
			status = http.StatusTooManyRequests
		}
		f.writeError(w, status, "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID "+h.Get("X-GitHub-Request-Id")+" and timestamp "+f.now().UTC().Format("2006-01-02 15:04:05 UTC")+".",
			"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api")
	case modeSecondaryLimit, modeSecondaryNoHint:
		if fail.mode == modeSecondaryLimit {
			h.Set("Retry-After", fail.retryAfter)
		}
		f.rateHeaders(h, nil, 4000)
		f.writeError(w, http.StatusForbidden, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID "+h.Get("X-GitHub-Request-Id")+".",
			"https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits")
	case modeTooMany:
		h.Set("Retry-After", fail.retryAfter)
		f.writeError(w, http.StatusTooManyRequests, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
			"https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits")
	case modeServerError:
		f.writeJSON(w, http.StatusInternalServerError, map[string]any{"message": "Server Error"})
	case modeBadGateway:
		h.Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = fmt.Fprint(w, "<!DOCTYPE html>\n<html><head><title>Unicorn! &middot; GitHub</title></head><body><p>This page is taking too long to load.</p></body></html>\n")
	case modeUnavailable:
		h.Set("Retry-After", fail.retryAfter)
		f.writeJSON(w, http.StatusServiceUnavailable, map[string]any{"message": "Service Unavailable"})
	case modeMalformed:
		h.Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = fmt.Fprint(w, `{"login":"octocat","id":1,"node_id":"MDQ6VXNlcjE=","name":"The Oc`)
	case modeWrongShape:
		f.writeJSON(w, http.StatusOK, []any{map[string]any{"message": "not what you asked for"}})
	case modeHang:
		select {
		case <-r.Context().Done():
		case <-f.closed:
		}
	case modeForbidden:
		f.writeError(w, http.StatusForbidden, "Resource not accessible by integration", fakeDocs)
	case modeHTMLNotFound:
		h.Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = fmt.Fprint(w, "<!DOCTYPE html><html><body>Page not found</body></html>\n")
	case modeForbiddenHTML:
		h.Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = fmt.Fprint(w, "<!DOCTYPE html><html><head><title>403 Forbidden</title></head><body><h1>Access denied</h1><p>Request blocked by the edge.</p></body></html>\n")
	case modeForbiddenEmpty:
		w.WriteHeader(http.StatusForbidden)
	case modeAbuseNoHint:
		f.writeError(w, http.StatusForbidden, "You have triggered an abuse detection mechanism. Please wait a few minutes before you try again.",
			"https://docs.github.com/rest/overview/resources-in-the-rest-api#abuse-rate-limits")
	default:
		return false
	}
	return true
}

func (f *fakeGitHub) rateHeaders(h http.Header, user *fakeUser, remaining int) {
	limit := 60 // unauthenticated
	if user != nil {
		limit = 5000
	}
	if remaining >= limit {
		remaining = limit - 1
	}
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(f.now().Add(time.Hour).Unix(), 10))
	h.Set("X-RateLimit-Used", strconv.Itoa(limit-remaining))
	h.Set("X-RateLimit-Resource", "core")
}

func (f *fakeGitHub) simpleUser(u *fakeUser) map[string]any {
	api := f.srv.URL
	return map[string]any{
		"login":       u.Login,
		"id":          u.ID,
		"node_id":     "MDQ6VXNlcj" + strconv.FormatInt(u.ID, 10),
		"avatar_url":  "https://avatars.githubusercontent.com/u/" + strconv.FormatInt(u.ID, 10) + "?v=4",
		"gravatar_id": "",
		"url":         api + "/users/" + u.Login,
		"html_url":    "https://github.com/" + u.Login,
		"type":        "User",
		"site_admin":  false,
	}
}

// userDoc is GET /user for u, with the fields GitHub documents for the authenticated
// user ("public-user" plus the private counters).
func (f *fakeGitHub) userDoc(u *fakeUser) map[string]any {
	d := f.simpleUser(u)
	var email, name any
	if u.Email != "" {
		email = u.Email
	}
	if u.Name != "" {
		name = u.Name
	}
	d["name"] = name
	d["email"] = email
	d["company"] = nil
	d["blog"] = ""
	d["location"] = nil
	d["hireable"] = nil
	d["bio"] = nil
	d["twitter_username"] = nil
	d["notification_email"] = email
	d["user_view_type"] = "private"
	d["public_repos"] = 8
	d["public_gists"] = 8
	d["followers"] = 20
	d["following"] = 0
	d["created_at"] = "2008-01-14T04:33:35Z"
	d["updated_at"] = "2008-01-14T04:33:35Z"
	d["private_gists"] = 81
	d["total_private_repos"] = 100
	d["owned_private_repos"] = 100
	d["disk_usage"] = 10000
	d["collaborators"] = 8
	d["two_factor_authentication"] = true
	d["plan"] = map[string]any{"name": "Medium", "space": 400, "private_repos": 20, "collaborators": 0}
	return d
}

func (f *fakeGitHub) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-GitHub-Media-Type", "github.v3; format=json")
	w.Header().Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		f.t.Errorf("fake GitHub: %v", err)
	}
}

func (f *fakeGitHub) writeError(w http.ResponseWriter, status int, message, docs string) {
	f.writeJSON(w, status, map[string]any{"message": message, "documentation_url": docs, "status": strconv.Itoa(status)})
}
