package github

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/upstream"
	"github.com/mcpauth/mcpauth/scopes"
	"golang.org/x/sync/errgroup"
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

// Error descriptions.
const (
	descRevoked = "the GitHub token is invalid, expired or revoked"
	// descUserForbidden: GitHub answers 401 for tokens it does not accept, so a 403 to
	// GET /user or the token check that is no rate limit (an edge's error page, abuse
	// detection without its headers, a policy block) is no verdict on the token.
	descUserForbidden = "GitHub refused to check the token (HTTP 403 without a rate-limit signal); try again later"
	// descNotThisApp: the token check does not know the token for this app.
	descNotThisApp = "the GitHub token is invalid, revoked, or was not issued to this app"
	// descAppCredentials: a 401 to the token check refuses this server's own app
	// credentials, which says nothing about the caller's token.
	descAppCredentials = "GitHub rejected this server's OAuth app credentials (Config.ClientID / ClientSecret), so the token could not be checked; try again later"
)

// Verifier verifies GitHub access tokens by asking the GitHub API who they belong to,
// then applies the Config's access rules. It keeps no cache: wrap it with
// mcpauth.CachedOpaque. It is safe for concurrent use.
type Verifier struct {
	users       []string // lower-case logins
	clientIDs   []string
	scopes      []string
	orgs, teams group
	apiRoot     string // without trailing slash
	webBase     string
	userAgent   string
	skipFormat  bool
	client      *upstream.Client
	// appClientID and appSecret are set when ClientID and ClientSecret both are: gho_ and
	// ghu_ tokens are then checked with POST /applications/{client_id}/token.
	appClientID string
	appSecret   mcpauth.Secret
}

// group is the organizations, or the teams ("org/team-slug"), the Config names, all
// lower-case.
type group struct {
	allowed []string            // the access rule: an active membership in one is required
	scopes  map[string][]string // MCP scopes granted to active members
	check   []string            // allowed and the keys of scopes, sorted: those GitHub is asked about
	noun    string              // "an organization" or "a team", in access_denied
	claim   string              // the claims claim+"s" and claim+"_roles" list the memberships found
}

// New validates cfg and returns a Verifier. It makes no network call.
func New(cfg Config) (*Verifier, error) { return cfg.prepare() }

// CacheOptions implements mcpauth.CachePolicy: the options for opaque tokens
// (mcpauth.OpaqueCachePolicy), since each verification is an API call. mcpauth.Cached
// (and so the hub) applies them without being asked.
func (v *Verifier) CacheOptions() []mcpauth.CacheOption { return mcpauth.OpaqueCachePolicy() }

var _ mcpauth.CachePolicy = (*Verifier)(nil)

// VerifyToken checks token with GitHub (the token check or GET /user, then the
// membership calls the rules need) and returns the user as an AccessToken. Failures are
// *mcpauth.Error values: invalid_token when GitHub does not accept the token,
// access_denied when the rules refuse a valid user, and temporarily_unavailable (with
// RetryAfter when GitHub said how long to wait) when GitHub cannot give an answer.
func (v *Verifier) VerifyToken(ctx context.Context, token string) (*mcpauth.AccessToken, error) {
	typ, refusal := tokenFormat(token, v.skipFormat)
	if refusal != "" {
		return nil, mcpauth.InvalidToken(refusal, nil)
	}
	check := v.authenticatedUser
	if v.appClientID != "" && (typ == TokenTypeOAuth || typ == TokenTypeAppUser) {
		check = v.checkAppToken
	}
	u, err := check(ctx, token)
	if err != nil {
		return nil, err
	}

	claims := u.claims
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

	if len(v.clientIDs) > 0 && !slices.Contains(v.clientIDs, u.clientID) {
		return nil, mcpauth.InvalidToken("the GitHub token was not issued to an OAuth app this server accepts", nil)
	}
	if len(v.users) > 0 && !slices.Contains(v.users, strings.ToLower(u.login)) {
		return nil, mcpauth.AccessDenied(fmt.Sprintf("GitHub user %q is not allowed to use this server", u.login))
	}
	found, err := v.memberships(ctx, token, u.login)
	if err != nil {
		return nil, err
	}
	// A failed check matters only if its answer could change the outcome: an allowed org
	// or team when no other one admitted the user, or any org or team that grants scopes.
	for _, g := range []group{v.orgs, v.teams} {
		if err := admitted(g, found, u.login, claims); err != nil {
			return nil, err
		}
	}
	granted := slices.Clone(v.scopes)
	for _, g := range []group{v.orgs, v.teams} {
		if len(g.check) == 0 {
			continue
		}
		names, roles := []string{}, map[string]any{}
		for _, name := range g.check {
			r := found[name]
			if _, grants := g.scopes[name]; grants && r.err != nil {
				return nil, r.err // it could have granted scopes
			}
			if r.member {
				names = append(names, name)
				roles[name] = r.role
			}
		}
		granted = scopes.RoleMap(g.scopes).Expand(granted, names)
		claims[g.claim+"s"], claims[g.claim+"_roles"] = names, roles
	}
	return &mcpauth.AccessToken{
		Subject:   strconv.FormatInt(u.id, 10),
		Issuer:    v.webBase,
		Provider:  ProviderName,
		Scopes:    granted,
		Claims:    claims,
		ClientID:  u.clientID,
		ExpiresAt: u.expiresAt,
	}, nil
}

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
	resp, err := v.send(ctx, token, "/user", nil)
	if err != nil {
		return nil, err
	}
	switch resp.Status {
	case http.StatusOK:
	case http.StatusUnauthorized:
		return nil, mcpauth.InvalidToken(descRevoked, resp.failure())
	case http.StatusForbidden, http.StatusTooManyRequests:
		return nil, v.forbidden(resp)
	default:
		return nil, v.unexpected(resp)
	}

	u, err := decodeUser(resp.Body, resp.Call)
	if err != nil {
		return nil, mcpauth.UpstreamUnavailable("GitHub answered with an unexpected user document", 0, err)
	}
	if h, ok := resp.Header["X-Oauth-Scopes"]; ok {
		u.scopes = splitScopes(h)
	}
	u.clientID = strings.TrimSpace(resp.Header.Get("X-Oauth-Client-Id"))
	u.expiresAt, _ = parseExpiration(resp.Header.Get("Github-Authentication-Token-Expiration"))
	return u, nil
}

// checkAppToken asks GitHub's "Check a token" API, which answers 200 only for a valid
// token of this app, 404 for any other (invalid, revoked, expired, another app's), 422
// for a request it cannot validate and 401 when the app's credentials are wrong.
func (v *Verifier) checkAppToken(ctx context.Context, token string) (*identity, error) {
	body, _ := json.Marshal(map[string]string{"access_token": token})
	resp, err := v.send(ctx, token, "/applications/"+url.PathEscape(v.appClientID)+"/token", body)
	if err != nil {
		return nil, err
	}
	switch resp.Status {
	case http.StatusOK:
	case http.StatusNotFound:
		if msg, _ := resp.githubError(); msg == "" {
			// Not GitHub's JSON answer (an HTML page): APIBaseURL does not point at a
			// GitHub API, which is no verdict on the token.
			return nil, v.unexpected(resp)
		}
		fallthrough
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
		ExpiresAt string   `json:"expires_at"`
		App       struct {
			ClientID string `json:"client_id"`
		} `json:"app"`
		User json.RawMessage `json:"user"`
	}
	bad := func(err error) error {
		return mcpauth.UpstreamUnavailable("GitHub answered with an unexpected token document", 0, fmt.Errorf("%s: %w", resp.Call, err))
	}
	if err := json.Unmarshal(resp.Body, &doc); err != nil {
		return nil, bad(err)
	}
	if doc.App.ClientID == "" {
		return nil, bad(errors.New(`no "app.client_id"`))
	}
	if doc.App.ClientID != v.appClientID {
		return nil, mcpauth.InvalidToken(descNotThisApp, fmt.Errorf("%s: the token was issued to the app %q", resp.Call, doc.App.ClientID))
	}
	if len(doc.User) == 0 || string(doc.User) == "null" {
		return nil, mcpauth.InvalidToken("the GitHub token does not identify a user", fmt.Errorf("%s: no user", resp.Call))
	}
	u, err := decodeUser(doc.User, resp.Call+" user")
	if err != nil {
		return nil, bad(err)
	}
	u.clientID, u.scopes = doc.App.ClientID, splitScopes(doc.Scopes)
	if doc.ExpiresAt != "" {
		if u.expiresAt, err = time.Parse(time.RFC3339, doc.ExpiresAt); err != nil {
			return nil, bad(fmt.Errorf(`"expires_at": %w`, err))
		}
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

// memberships asks GitHub, with the user's own token, about every organization and team
// the configuration names, a few calls at a time. The answers are keyed by name: "org",
// or "org/slug" for a team.
func (v *Verifier) memberships(ctx context.Context, token, login string) (map[string]membership, error) {
	names := slices.Concat(v.orgs.check, v.teams.check)
	results := make([]membership, len(names))
	var calls errgroup.Group
	calls.SetLimit(maxParallelChecks)
	for i, name := range names {
		path := "/user/memberships/orgs/" + url.PathEscape(name)
		if org, slug, ok := strings.Cut(name, "/"); ok {
			path = "/orgs/" + url.PathEscape(org) + "/teams/" + url.PathEscape(slug) + "/memberships/" + url.PathEscape(login)
		}
		calls.Go(func() error {
			results[i] = v.membership(ctx, token, path)
			return nil // failures are in results
		})
	}
	_ = calls.Wait()
	found := make(map[string]membership, len(names))
	for i, r := range results {
		// A token GitHub now calls invalid is invalid, whatever the other answers were.
		if errors.Is(r.err, mcpauth.ErrInvalidToken) {
			return nil, r.err
		}
		found[names[i]] = r
	}
	return found, nil
}

// membership reads one organization or team membership. 404 (not a member, or the org
// or team is not visible to the token) and a 403 without rate-limit signals that carries
// GitHub's JSON error document (the token may not read memberships, or the org restricts
// this OAuth app) both mean "not a member": GitHub did not confirm the membership. Any
// other 403 (an HTML or empty body from an edge or proxy) is an upstream failure.
func (v *Verifier) membership(ctx context.Context, token, path string) membership {
	resp, err := v.send(ctx, token, path, nil)
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
			return membership{err: mcpauth.UpstreamUnavailable("GitHub answered with an unexpected membership document", 0,
				fmt.Errorf("%s: %w", resp.Call, cmp.Or(err, errors.New(`no "state" in the membership document`))))}
		}
		return membership{member: body.State == "active", role: body.Role}
	case http.StatusNotFound:
		return membership{}
	case http.StatusUnauthorized:
		return membership{err: mcpauth.InvalidToken(descRevoked, resp.failure())}
	case http.StatusForbidden, http.StatusTooManyRequests:
		if e := v.rateLimited(resp); e != nil {
			return membership{err: e}
		}
		if msg, _ := resp.githubError(); msg != "" {
			return membership{forbidden: true}
		}
	}
	return membership{err: v.unexpected(resp)}
}

// admitted applies the rule of g: nil when g has none or the user is an active member of
// one of g.allowed; else a failed check's error when there was one (its answer could have
// admitted the user); else access_denied.
func admitted(g group, found map[string]membership, login string, claims map[string]any) error {
	var failed error
	forbidden := false
	for _, name := range g.allowed {
		r := found[name]
		if r.member {
			return nil
		}
		failed, forbidden = cmp.Or(r.err, failed), forbidden || r.forbidden
	}
	switch {
	case len(g.allowed) == 0:
		return nil
	case failed != nil:
		return failed
	}
	return denied(fmt.Sprintf("GitHub user %q is not an active member of %s allowed here", login, g.noun), claims, forbidden)
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

// response is GitHub's answer to a call.
type response struct{ *upstream.Response }

// send calls {APIBaseURL}{path}: a GET with the token in an "Authorization: Bearer"
// header (never in the URL), or, when body is not nil, a POST of the JSON body with the
// app's credentials in basic authentication. It adds the headers GitHub asks of every
// client (media type, API version, User-Agent). Transport failures, whose text never
// holds the token, are temporarily_unavailable errors (internal/upstream).
func (v *Verifier) send(ctx context.Context, token, path string, body []byte) (*response, error) {
	method := http.MethodGet
	if body != nil {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, v.apiRoot+path, bytes.NewReader(body))
	if err != nil {
		return nil, mcpauth.UpstreamUnavailable("GitHub could not be reached", 0, err)
	}
	if body == nil {
		req.Header.Set("Authorization", "Bearer "+token)
	} else {
		req.SetBasicAuth(v.appClientID, v.appSecret.Reveal())
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", APIVersion)
	req.Header.Set("User-Agent", v.userAgent)
	res, err := v.client.Do(req, token)
	if err != nil {
		return nil, err
	}
	return &response{res}, nil
}

// githubError returns the message and documentation_url of GitHub's error document
// ({"message": ..., "documentation_url": ...}), "" when the body is not one (an HTML page
// from an edge, say).
func (r *response) githubError() (message, documentation string) {
	var e struct {
		Message string `json:"message"`
		URL     string `json:"documentation_url"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return strings.TrimSpace(e.Message), e.URL
}

// failure describes the answer for the error's cause (never shown to clients).
func (r *response) failure() error {
	if msg, _ := r.githubError(); msg != "" {
		return fmt.Errorf("%s: GitHub answered %d: %s", r.Call, r.Status, msg)
	}
	return fmt.Errorf("%s: GitHub answered %d", r.Call, r.Status)
}

// forbidden is the error of a 403 or 429 to GET /user or the token check: a rate limit
// when GitHub signals one, else descUserForbidden.
func (v *Verifier) forbidden(r *response) error {
	if e := v.rateLimited(r); e != nil {
		return e
	}
	return mcpauth.UpstreamUnavailable(descUserForbidden, 0, r.failure())
}

// unexpected maps any other status to temporarily_unavailable: 5xx (the shared table),
// but also a redirect, or a 404 on /user, which means APIBaseURL does not point at a
// GitHub API.
func (v *Verifier) unexpected(r *response) error {
	if err := v.client.Check(r.Response, r.failure()); err != nil {
		return err
	}
	cause := r.failure()
	if r.Status == http.StatusNotFound {
		cause = fmt.Errorf("%w (is APIBaseURL the API root, such as https://HOST/api/v3 for Enterprise Server?)", cause)
	}
	return mcpauth.UpstreamUnavailable("GitHub answered with an unexpected status", 0, cause)
}

// rateLimited returns a temporarily_unavailable error when a 403 or 429 answer is one of
// GitHub's rate limits, nil otherwise. It waits as upstream.RetryAfter reads Retry-After
// or X-RateLimit-Reset, else, for a secondary rate limit (its message or documentation
// link says "rate limit", or "abuse" as older answers did), one minute.
func (v *Verifier) rateLimited(r *response) error {
	msg, docs := r.githubError()
	msg, docs = strings.ToLower(msg), strings.ToLower(docs)
	secondary := strings.Contains(msg, "rate limit") || strings.Contains(msg, "abuse") ||
		strings.Contains(docs, "rate-limit") || strings.Contains(docs, "abuse")
	remaining := strings.TrimSpace(r.Header.Get("X-Ratelimit-Remaining"))
	if r.Status != http.StatusTooManyRequests && r.Header.Get("Retry-After") == "" && remaining != "0" && !secondary {
		return nil
	}
	wait := cmp.Or(v.client.RetryAfter(r.Header), defaultRateLimitWait)
	return mcpauth.UpstreamUnavailable("GitHub's API rate limit was reached; try again later", wait, fmt.Errorf("GitHub rate limit: %w", r.failure()))
}

// ---- documents ----

// decodeUser decodes a user document (GET /user, or the "user" of a token check; call
// names it in errors): every attribute goes to the claims (integers as int64), and "id"
// (a positive integer) and "login" are required.
func decodeUser(body []byte, call string) (*identity, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil {
		return nil, fmt.Errorf("%s: %w", call, err)
	}
	if claims == nil {
		return nil, fmt.Errorf("%s: not a JSON object", call)
	}
	numbers(claims)
	id, _ := claims["id"].(int64)
	login, _ := claims["login"].(string)
	switch {
	case id <= 0:
		return nil, fmt.Errorf(`%s: no positive integer "id"`, call)
	case login == "":
		return nil, fmt.Errorf(`%s: no "login"`, call)
	}
	return &identity{claims: claims, id: id, login: login}, nil
}

// numbers replaces json.Number values by int64 (when integral) or float64.
func numbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

// splitScopes reads OAuth scopes, as X-OAuth-Scopes values ("repo, read:org") or as the
// token check's list: split on commas and white space, without duplicates. None gives an
// empty, non-nil list (a classic token granted no scope).
func splitScopes(values []string) []string {
	return append([]string{}, cleanScopes(strings.Split(strings.Join(values, ","), ","))...)
}

// parseExpiration reads GitHub-Authentication-Token-Expiration, sent for tokens that
// expire ("2026-01-02 15:04:05 UTC").
func parseExpiration(v string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02 15:04:05 MST", "2006-01-02 15:04:05 -0700", time.RFC3339} {
		if t, err := time.Parse(layout, strings.TrimSpace(v)); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
