package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/upstream"
)

// ProviderName is AccessToken.Provider for tokens this package accepts.
const ProviderName = "github"

// APIVersion is the REST API version requested with X-GitHub-Api-Version.
const APIVersion = "2022-11-28"

const (
	// defaultRateLimitWait is the wait GitHub asks for when a rate-limit answer carries
	// neither Retry-After nor X-RateLimit-Reset ("wait for at least one minute").
	defaultRateLimitWait = time.Minute
	// maxParallelChecks bounds the membership calls made at once for one token.
	maxParallelChecks = 8
)

// Verifier verifies GitHub access tokens by asking the GitHub API who they belong to,
// then applies the Config's access rules. It keeps no cache: wrap it with
// mcpauth.CachedOpaque. It is safe for concurrent use.
type Verifier struct {
	s *settings
}

// New validates cfg and returns a Verifier. It makes no network call.
func New(cfg Config) (*Verifier, error) {
	s, err := cfg.prepare()
	if err != nil {
		return nil, err
	}
	return &Verifier{s: s}, nil
}

// CacheOptions implements mcpauth.CachePolicy: the options for opaque tokens
// (mcpauth.OpaqueCachePolicy), since GitHub tokens are opaque: each verification is an API call. mcpauth.Cached (and so
// the hub) applies them without being asked.
func (v *Verifier) CacheOptions() []mcpauth.CacheOption { return mcpauth.OpaqueCachePolicy() }

var _ mcpauth.CachePolicy = (*Verifier)(nil)

// VerifyToken checks token with GitHub and returns the user as an AccessToken. OAuth app
// tokens (gho_) and GitHub App user tokens (ghu_) are checked with POST
// /applications/{client_id}/token when Config.ClientID and Config.ClientSecret are set,
// which proves the token was issued to that app; every other token (and those two
// without the app's credentials) with GET /user. The membership calls the rules need
// follow, with the user's token. Failures are *mcpauth.Error values: invalid_token when
// the token is not a GitHub user token or GitHub rejects it, access_denied when the user
// is valid but the rules refuse it, and temporarily_unavailable (with RetryAfter when
// GitHub said how long to wait) when GitHub is rate-limiting, failing, slow or
// unreachable, or refuses this server's app credentials.
func (v *Verifier) VerifyToken(ctx context.Context, token string) (*mcpauth.AccessToken, error) {
	s := v.s
	typ, refusal := tokenFormat(token, s.skipFormat)
	if refusal != "" {
		return nil, mcpauth.InvalidToken(refusal, nil)
	}

	var (
		u   *identity
		err error
	)
	if s.appClientID != "" && (typ == TokenTypeOAuth || typ == TokenTypeAppUser) {
		u, err = v.checkAppToken(ctx, token)
	} else {
		u, err = v.authenticatedUser(ctx, token)
	}
	if err != nil {
		return nil, err
	}
	login, claims := u.login, u.claims

	tok := &mcpauth.AccessToken{
		Subject:   strconv.FormatInt(u.id, 10),
		Issuer:    s.webBase,
		Provider:  ProviderName,
		Claims:    claims,
		ClientID:  u.clientID,
		ExpiresAt: u.expiresAt,
	}
	claims["github_token_type"] = typ
	kind := tokenKind(typ)
	if kind == "" {
		// A token of no known format (Config.SkipFormatCheck): its prefix tells nothing,
		// so the only signal left is whether GitHub sent OAuth scopes.
		kind = kindFineGrained
		if u.scopes != nil {
			kind = kindClassic
		}
	}
	claims["github_token_kind"] = kind
	// OAuth scopes belong to classic tokens; fine-grained personal access tokens and
	// GitHub App user tokens have permissions instead.
	if kind == kindClassic && u.scopes != nil {
		claims["github_scopes"] = u.scopes
	}

	if len(s.clientIDs) > 0 && !slices.Contains(s.clientIDs, tok.ClientID) {
		return nil, mcpauth.InvalidToken("the GitHub token was not issued to an OAuth app this server accepts", nil)
	}
	if len(s.users) > 0 && !slices.Contains(s.users, strings.ToLower(login)) {
		return nil, mcpauth.AccessDenied(fmt.Sprintf("GitHub user %q is not allowed to use this server", login))
	}

	m, err := v.memberships(ctx, token, login)
	if err != nil {
		return nil, err
	}
	if err := s.decide(m, login, claims); err != nil {
		return nil, err
	}

	granted := slices.Clone(s.scopes)
	var orgs, teams []string
	orgRoles, teamRoles := map[string]any{}, map[string]any{}
	for _, o := range s.checkOrgs {
		if r := m.orgs[o]; r.member {
			orgs = append(orgs, o)
			orgRoles[o] = r.role
			for _, sc := range s.orgScopes[o] {
				granted = appendUnique(granted, sc)
			}
		}
	}
	for _, t := range s.checkTeams {
		if r := m.teams[t.key()]; r.member {
			teams = append(teams, t.key())
			teamRoles[t.key()] = r.role
			for _, sc := range s.teamScopes[t.key()] {
				granted = appendUnique(granted, sc)
			}
		}
	}
	if len(s.checkOrgs) > 0 {
		claims["github_orgs"] = orNonNil(orgs)
		claims["github_org_roles"] = orgRoles
	}
	if len(s.checkTeams) > 0 {
		claims["github_teams"] = orNonNil(teams)
		claims["github_team_roles"] = teamRoles
	}
	tok.Scopes = granted
	return tok, nil
}

func orNonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// descUserForbidden describes a 403 on GET /user (or on the token check) that is not a
// rate limit.
const descUserForbidden = "GitHub refused to check the token (HTTP 403 without a rate-limit signal); try again later"

// descNotThisApp is the refusal of a token the "Check a token" API does not know for
// this app: invalid, revoked, expired, or issued to another app.
const descNotThisApp = "the GitHub token is invalid, revoked, or was not issued to this app"

// descAppCredentials describes a 401 from the "Check a token" API: GitHub refused this
// server's own app credentials, which says nothing about the caller's token.
const descAppCredentials = "GitHub rejected this server's OAuth app credentials (Config.ClientID / ClientSecret), so the token could not be checked; try again later"

// identity is what GitHub answered about a token's user.
type identity struct {
	claims    map[string]any // the user document's attributes
	id        int64
	login     string
	scopes    []string // the OAuth scopes GitHub reported; nil when it reported none
	clientID  string   // the OAuth app the token was issued to, "" when none
	expiresAt time.Time
}

// authenticatedUser asks GET /user who token belongs to.
func (v *Verifier) authenticatedUser(ctx context.Context, token string) (*identity, error) {
	resp, err := v.get(ctx, token, "/user")
	if err != nil {
		return nil, err
	}
	switch resp.Status {
	case http.StatusOK:
	case http.StatusUnauthorized:
		return nil, mcpauth.InvalidToken("the GitHub token is invalid, expired or revoked", resp.failure())
	case http.StatusForbidden, http.StatusTooManyRequests:
		return nil, v.forbidden(resp)
	default:
		return nil, v.unexpected(resp)
	}

	claims, id, login, err := decodeUser(resp.Body, resp.call)
	if err != nil {
		return nil, mcpauth.UpstreamUnavailable("GitHub answered with an unexpected user document", 0, err)
	}
	u := &identity{claims: claims, id: id, login: login}
	if h, ok := resp.Header["X-Oauth-Scopes"]; ok {
		u.scopes = splitScopes(strings.Join(h, ","))
	}
	u.clientID = strings.TrimSpace(resp.Header.Get("X-Oauth-Client-Id"))
	if exp, ok := parseExpiration(resp.Header.Get("Github-Authentication-Token-Expiration")); ok {
		u.expiresAt = exp
	}
	return u, nil
}

// forbidden is the error of a 403 or 429 to a token check: a rate limit when GitHub
// signals one, else an upstream failure. GitHub answers 401 for tokens it does not
// accept, so a bare 403 (an edge or proxy error page, abuse detection without its
// headers, a policy block) is no verdict on the token, never a refusal a negative cache
// would remember.
func (v *Verifier) forbidden(resp *apiResponse) error {
	if e := v.rateLimited(resp); e != nil {
		return e
	}
	return mcpauth.UpstreamUnavailable(descUserForbidden, 0, resp.failure())
}

// checkAppToken asks GitHub's "Check a token" API, POST
// {APIBaseURL}/applications/{client_id}/token with the app's credentials in HTTP basic
// authentication and {"access_token": token} as the body, about an OAuth app or GitHub
// App user token. GitHub answers 200 with the token's scopes, expiry, app and user only
// for a valid token of this app; 404 for any other (invalid, revoked, expired, another
// app's), 422 for a request it cannot validate, 401 when the app's credentials are
// wrong.
func (v *Verifier) checkAppToken(ctx context.Context, token string) (*identity, error) {
	s := v.s
	body, err := json.Marshal(struct {
		AccessToken string `json:"access_token"`
	}{token})
	if err != nil {
		return nil, mcpauth.UpstreamUnavailable("GitHub could not be reached", 0, err)
	}
	path := "/applications/" + url.PathEscape(s.appClientID) + "/token"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.apiRoot+path, bytes.NewReader(body))
	if err != nil {
		return nil, mcpauth.UpstreamUnavailable("GitHub could not be reached", 0, err)
	}
	req.SetBasicAuth(s.appClientID, s.appSecret.Reveal())
	req.Header.Set("Content-Type", "application/json")
	resp, err := v.send(req, token, "POST "+path)
	if err != nil {
		return nil, err
	}
	switch resp.Status {
	case http.StatusOK:
	case http.StatusNotFound:
		if resp.message() == "" {
			// Not GitHub's JSON answer (an HTML page): APIBaseURL does not point at a
			// GitHub API, which is no verdict on the token.
			return nil, v.unexpected(resp)
		}
		return nil, mcpauth.InvalidToken(descNotThisApp, resp.failure())
	case http.StatusUnprocessableEntity:
		return nil, mcpauth.InvalidToken(descNotThisApp, resp.failure())
	case http.StatusUnauthorized:
		return nil, mcpauth.UpstreamUnavailable(descAppCredentials, 0, resp.failure())
	case http.StatusForbidden, http.StatusTooManyRequests:
		return nil, v.forbidden(resp)
	default:
		return nil, v.unexpected(resp)
	}

	var doc struct {
		Scopes    []string `json:"scopes"`
		ExpiresAt *string  `json:"expires_at"`
		App       *struct {
			ClientID string `json:"client_id"`
		} `json:"app"`
		User json.RawMessage `json:"user"`
	}
	bad := func(err error) error {
		return mcpauth.UpstreamUnavailable("GitHub answered with an unexpected token document", 0, fmt.Errorf("%s: %w", resp.call, err))
	}
	if err := json.Unmarshal(resp.Body, &doc); err != nil {
		return nil, bad(err)
	}
	if doc.App == nil || doc.App.ClientID == "" {
		return nil, bad(errors.New(`no "app.client_id"`))
	}
	if doc.App.ClientID != s.appClientID {
		return nil, mcpauth.InvalidToken(descNotThisApp, fmt.Errorf("%s: the token was issued to the app %q", resp.call, doc.App.ClientID))
	}
	if len(doc.User) == 0 || string(doc.User) == "null" {
		return nil, mcpauth.InvalidToken("the GitHub token does not identify a user", fmt.Errorf("%s: no user", resp.call))
	}
	claims, id, login, err := decodeUser(doc.User, resp.call+" user")
	if err != nil {
		return nil, bad(err)
	}
	u := &identity{claims: claims, id: id, login: login, clientID: doc.App.ClientID, scopes: []string{}}
	for _, sc := range doc.Scopes {
		if sc = strings.TrimSpace(sc); sc != "" {
			u.scopes = appendUnique(u.scopes, sc)
		}
	}
	if doc.ExpiresAt != nil && *doc.ExpiresAt != "" {
		exp, err := time.Parse(time.RFC3339, *doc.ExpiresAt)
		if err != nil {
			return nil, bad(fmt.Errorf(`"expires_at": %w`, err))
		}
		u.expiresAt = exp
	}
	return u, nil
}

// ---- memberships ----

type membership struct {
	member    bool
	role      string
	forbidden bool  // GitHub answered 403: it would not show the membership
	err       error // an *mcpauth.Error: invalid_token or temporarily_unavailable
}

type membershipSet struct {
	orgs  map[string]membership // by lower-case org
	teams map[string]membership // by lower-case "org/slug"
}

// memberships asks GitHub, with the user's own token, about every organization and team
// the configuration names, a few calls at a time.
func (v *Verifier) memberships(ctx context.Context, token, login string) (membershipSet, error) {
	s := v.s
	m := membershipSet{orgs: map[string]membership{}, teams: map[string]membership{}}
	n := len(s.checkOrgs) + len(s.checkTeams)
	if n == 0 {
		return m, nil
	}
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, maxParallelChecks)
	)
	run := func(store func(membership), path string) {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			r := v.membership(ctx, token, path)
			mu.Lock()
			store(r)
			mu.Unlock()
		}()
	}
	for _, o := range s.checkOrgs {
		run(func(r membership) { m.orgs[o] = r }, "/user/memberships/orgs/"+url.PathEscape(o))
	}
	for _, t := range s.checkTeams {
		run(func(r membership) { m.teams[t.key()] = r },
			"/orgs/"+url.PathEscape(t.org)+"/teams/"+url.PathEscape(t.slug)+"/memberships/"+url.PathEscape(login))
	}
	wg.Wait()
	// A token GitHub now calls invalid is invalid, whatever the other answers were.
	for _, r := range m.orgs {
		if errors.Is(r.err, mcpauth.ErrInvalidToken) {
			return m, r.err
		}
	}
	for _, r := range m.teams {
		if errors.Is(r.err, mcpauth.ErrInvalidToken) {
			return m, r.err
		}
	}
	return m, nil
}

// membership reads one organization or team membership. 404 (not a member, or the org
// or team is not visible to the token) and a 403 without rate-limit signals that carries
// GitHub's JSON error document (the token may not read memberships, or the org restricts
// this OAuth app) both mean "not a member": GitHub did not confirm the membership. Any
// other 403 (an HTML or empty body from an edge or proxy) is an upstream failure.
func (v *Verifier) membership(ctx context.Context, token, path string) membership {
	resp, err := v.get(ctx, token, path)
	if err != nil {
		return membership{err: err}
	}
	switch resp.Status {
	case http.StatusOK:
		var body struct {
			State string `json:"state"`
			Role  string `json:"role"`
		}
		if err := json.Unmarshal(resp.Body, &body); err != nil || body.State == "" {
			if err == nil {
				err = errors.New(`no "state" in the membership document`)
			}
			return membership{err: mcpauth.UpstreamUnavailable("GitHub answered with an unexpected membership document", 0, fmt.Errorf("GET %s: %w", path, err))}
		}
		return membership{member: body.State == "active", role: body.Role}
	case http.StatusNotFound:
		return membership{}
	case http.StatusUnauthorized:
		return membership{err: mcpauth.InvalidToken("the GitHub token is invalid, expired or revoked", resp.failure())}
	case http.StatusForbidden, http.StatusTooManyRequests:
		if e := v.rateLimited(resp); e != nil {
			return membership{err: e}
		}
		if resp.Status == http.StatusForbidden && resp.message() != "" {
			return membership{forbidden: true}
		}
	}
	return membership{err: v.unexpected(resp)}
}

// decide applies the organization and team rules to the memberships found.
func (s *settings) decide(m membershipSet, login string, claims map[string]any) error {
	// A check that failed matters only if its answer could change the outcome: an
	// allowed org or team when no other one admitted the user, or any org or team
	// that grants scopes.
	if len(s.orgs) > 0 {
		if err := admitted(m.orgs, s.orgs, fmt.Sprintf("GitHub user %q is not an active member of an organization allowed here", login), claims); err != nil {
			return err
		}
	}
	if len(s.teams) > 0 {
		keys := make([]string, len(s.teams))
		for i, t := range s.teams {
			keys[i] = t.key()
		}
		if err := admitted(m.teams, keys, fmt.Sprintf("GitHub user %q is not an active member of a team allowed here", login), claims); err != nil {
			return err
		}
	}
	for _, o := range slices.Sorted(maps.Keys(s.orgScopes)) {
		if r := m.orgs[o]; r.err != nil {
			return r.err
		}
	}
	for _, t := range slices.Sorted(maps.Keys(s.teamScopes)) {
		if r := m.teams[t]; r.err != nil {
			return r.err
		}
	}
	return nil
}

// admitted applies one allow-list rule (organizations or teams): nil when the user is an
// active member of one of allowed; else a failed check's error when there was one (its
// answer could have admitted the user); else access_denied with notMember.
func admitted(found map[string]membership, allowed []string, notMember string, claims map[string]any) error {
	var failed error
	forbidden := false
	for _, k := range allowed {
		r := found[k]
		if r.err == nil && r.member {
			return nil
		}
		if r.err != nil {
			failed = r.err
		}
		forbidden = forbidden || r.forbidden
	}
	if failed != nil {
		return failed
	}
	return denied(notMember, claims, forbidden)
}

// denied builds the access_denied error, with a hint when GitHub may have hidden the
// membership from this token: it answered 403, or the token is a classic one whose
// reported OAuth scopes lack read:org (GitHub may answer 404 rather than 403 then).
func denied(desc string, claims map[string]any, forbidden bool) error {
	kind := claims["github_token_kind"]
	sc, scopesKnown := claims["github_scopes"].([]string)
	readOrg := slices.ContainsFunc(sc, func(s string) bool { return s == "read:org" || s == "write:org" || s == "admin:org" })
	switch {
	case kind == kindClassic && scopesKnown && !readOrg:
		desc += " (the token was not granted the read:org scope, which GitHub needs to show memberships)"
	case forbidden && kind == kindFineGrained:
		desc += ` (GitHub refused to show memberships: a fine-grained token needs the organization's "Members" read permission)`
	case forbidden:
		desc += " (GitHub refused to show memberships: the organization may restrict this OAuth app's access)"
	}
	return mcpauth.AccessDenied(desc)
}

// ---- HTTP ----

type apiResponse struct {
	*upstream.Response
	call string // "GET /user", relative to APIBaseURL
}

// get calls GET {APIBaseURL}{path} with the token in the Authorization header (never in
// the URL). Transport failures become temporarily_unavailable errors (internal/upstream).
func (v *Verifier) get(ctx context.Context, token, path string) (*apiResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.s.apiRoot+path, nil)
	if err != nil {
		return nil, mcpauth.UpstreamUnavailable("GitHub could not be reached", 0, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return v.send(req, token, "GET "+path)
}

// send adds the headers GitHub asks of every client (media type, API version,
// User-Agent) and sends req through the package's one upstream client; token is removed
// from transport errors' text. call names the request in causes.
func (v *Verifier) send(req *http.Request, token, call string) (*apiResponse, error) {
	s := v.s
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", APIVersion)
	req.Header.Set("User-Agent", s.userAgent)
	res, err := s.client.Do(req, token)
	if err != nil {
		return nil, err
	}
	return &apiResponse{Response: res, call: call}, nil
}

// message returns GitHub's error message ({"message": ..., "documentation_url": ...}),
// "" when the body is not such a JSON document (an HTML page from an edge, say).
func (r *apiResponse) message() string {
	var e struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return strings.TrimSpace(e.Message)
}

// documentation returns the documentation_url of GitHub's error document, if any.
func (r *apiResponse) documentation() string {
	var e struct {
		URL string `json:"documentation_url"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.URL
}

// failure describes the answer for the error's cause (never shown to clients).
func (r *apiResponse) failure() error {
	msg := r.message()
	if msg == "" {
		return fmt.Errorf("%s: GitHub answered %d", r.call, r.Status)
	}
	return fmt.Errorf("%s: GitHub answered %d: %s", r.call, r.Status, msg)
}

// unexpected maps any other status to temporarily_unavailable: 5xx (the shared table),
// but also a redirect, or a 404 on /user, which means APIBaseURL does not point at a
// GitHub API.
func (v *Verifier) unexpected(r *apiResponse) error {
	if err := v.s.client.Check(r.Response, r.failure()); err != nil {
		return err
	}
	cause := r.failure()
	if r.Status == http.StatusNotFound {
		cause = fmt.Errorf("%w (is APIBaseURL the API root, such as https://HOST/api/v3 for Enterprise Server?)", cause)
	}
	return mcpauth.UpstreamUnavailable("GitHub answered with an unexpected status", 0, cause)
}

// rateLimited returns a temporarily_unavailable error when a 403 or 429 answer is one of
// GitHub's rate limits, nil otherwise. GitHub's rules: wait Retry-After seconds when the
// header is present; else, when X-RateLimit-Remaining is 0, wait until X-RateLimit-Reset
// (epoch seconds), both read by upstream.RetryAfter; else, for a secondary rate limit
// (its message or documentation link says "rate limit", or "abuse" as GitHub's older
// abuse-detection answers did), wait at least one minute.
func (v *Verifier) rateLimited(r *apiResponse) error {
	msg, docs := strings.ToLower(r.message()), strings.ToLower(r.documentation())
	secondary := strings.Contains(msg, "rate limit") || strings.Contains(msg, "abuse") ||
		strings.Contains(docs, "rate-limit") || strings.Contains(docs, "abuse")
	remaining := strings.TrimSpace(r.Header.Get("X-Ratelimit-Remaining"))
	hasRetry := r.Header.Get("Retry-After") != ""
	if r.Status != http.StatusTooManyRequests && !hasRetry && remaining != "0" && !secondary {
		return nil
	}
	wait := v.s.client.RetryAfter(r.Header)
	if wait == 0 {
		wait = defaultRateLimitWait
	}
	return mcpauth.UpstreamUnavailable("GitHub's API rate limit was reached; try again later", wait, fmt.Errorf("GitHub rate limit: %w", r.failure()))
}

// ---- documents ----

// decodeUser decodes a user document (GET /user, or the "user" of a token check; call
// names it in errors): every attribute goes to the claims (integers as int64),
// and "id" (a positive integer) and "login" are required.
func decodeUser(body []byte, call string) (claims map[string]any, id int64, login string, err error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, 0, "", fmt.Errorf("%s: %w", call, err)
	}
	if raw == nil {
		return nil, 0, "", fmt.Errorf("%s: not a JSON object", call)
	}
	claims, _ = numbers(raw).(map[string]any)
	id, ok := claims["id"].(int64)
	if !ok || id <= 0 {
		return nil, 0, "", fmt.Errorf(`%s: no positive integer "id"`, call)
	}
	login, _ = claims["login"].(string)
	if login == "" {
		return nil, 0, "", fmt.Errorf(`%s: no "login"`, call)
	}
	return claims, id, login, nil
}

// numbers replaces json.Number values by int64 (when integral) or float64.
func numbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
		return x
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

// splitScopes parses X-OAuth-Scopes ("repo, read:org"); an empty header gives an empty,
// non-nil list (a classic token granted no scope).
func splitScopes(h string) []string {
	out := []string{}
	for _, f := range strings.FieldsFunc(h, func(r rune) bool { return r == ',' || r == ' ' }) {
		out = appendUnique(out, f)
	}
	return out
}

// parseExpiration reads GitHub-Authentication-Token-Expiration, sent for tokens that
// expire ("2026-01-02 15:04:05 UTC").
func parseExpiration(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false
	}
	for _, layout := range []string{"2006-01-02 15:04:05 MST", "2006-01-02 15:04:05 -0700", time.RFC3339} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
