// Package github verifies GitHub access tokens for mcpauth ("Sign in with GitHub").
//
// GitHub's tokens are opaque: a [Verifier] asks GitHub who a token belongs to, applies
// the access rules of its [Config], and returns an [mcpauth.AccessToken] whose Subject
// is the user's numeric id (stable across login renames) and whose Provider is "github".
// Every call sends "Accept: application/vnd.github+json", "X-GitHub-Api-Version:
// 2022-11-28" and a User-Agent, and never puts the token in a URL.
//
// # Two ways to ask GitHub
//
// OAuth app tokens (gho_) and GitHub App user-to-server tokens (ghu_), when
// Config.ClientID and Config.ClientSecret are both set, are checked with GitHub's
// "Check a token" API: POST {APIBaseURL}/applications/{client_id}/token, with the app's
// client id and secret in HTTP basic authentication and {"access_token": "<token>"} as
// the JSON body. GitHub answers it only for tokens issued to that app, so this proves
// the token was given to this server's app and not replayed from another application
// (GitHub tokens have no audience). The answer's "user" (GitHub's simple user:
// login, id, node_id, type, site_admin, ..., without name or email) becomes the claims,
// its "scopes" github_scopes, its "expires_at" AccessToken.ExpiresAt and its
// "app.client_id" (which must be Config.ClientID) AccessToken.ClientID. GitHub answers
// 404 (invalid, revoked, expired, or another app's token) or 422 (validation failed):
// invalid_token "the GitHub token is invalid, revoked, or was not issued to this app";
// 401 means GitHub refused this server's own credentials, which says nothing about the
// caller's token: temporarily_unavailable (503), never remembered by a negative cache.
// With credentials set, gho_ and ghu_ tokens of any other app are therefore refused.
//
// Every other token, personal access tokens (ghp_, github_pat_, legacy 40-hex) always
// and gho_ / ghu_ tokens when the app's credentials are not both set, is checked with
// GET {APIBaseURL}/user, the token in an "Authorization: Bearer" header; the full user
// document becomes the claims, and X-OAuth-Scopes, X-OAuth-Client-Id and
// GitHub-Authentication-Token-Expiration give the scopes, client id and expiry.
//
// The organization and team checks that follow use the user's token in both cases.
//
// # No cache inside
//
// Every VerifyToken call asks GitHub. Wrap the Verifier with mcpauth.CachedOpaque, which
// collapses concurrent requests for one token into one verification, keeps accepted
// tokens for at most 5 minutes (never past the token's expiry) and remembers invalid
// tokens for 10 seconds:
//
//	v, err := github.New(cfg)
//	verifier := mcpauth.CachedOpaque(v)
//
// A token revoked on GitHub is therefore still accepted until its cache entry ends.
//
// # Token formats
//
// Before any call, a token must look like a GitHub user token: ghp_ (classic personal
// access token), gho_ (OAuth app), ghu_ (GitHub App user-to-server) followed by at least
// 36 characters of [A-Za-z0-9_], github_pat_ (fine-grained personal access token)
// followed by at least 50, or 40 lower-case hex digits (tokens from before 2021); at
// most 255 characters in all, the bound GitHub asked integrators to allow. Anything else
// is refused with invalid_token "not a GitHub token" at no cost. Installation tokens
// (ghs_) and refresh tokens (ghr_) are refused too, with their own description: they
// never identify a user (GET /user refuses installation tokens). Config.SkipFormatCheck
// lifts the format check, should GitHub introduce a new format.
//
// # Access rules
//
// A user is accepted when it passes every rule that is set:
//
//   - AllowedUsers: its login is listed (case-insensitive).
//   - AllowedOrgs: it is an active member of at least one listed organization, as
//     answered by GET /user/memberships/orgs/{org} with the user's own token (state
//     "active"; a pending invitation does not count; 404, or a 403 without rate-limit
//     signals that carries GitHub's JSON error document, means "not a member"; any
//     other 403, such as an HTML page from an edge, is an upstream failure).
//   - AllowedTeams ("org/team-slug"): it is an active member of at least one listed
//     team, per GET /orgs/{org}/teams/{team_slug}/memberships/{username}.
//
// A valid user refused by a rule gets access_denied (HTTP 403) naming its login; the
// description adds a hint when GitHub may have hidden the membership from the token.
// A Config with no rule accepts every GitHub account and must say so with Enabled.
//
// Membership calls use the user's token, so they need it to be allowed to read
// memberships: a classic or OAuth token needs the read:org scope (request
// [DefaultScopes]); a fine-grained personal access token or a GitHub App user token needs
// the organization's "Members" permission (read), which a fine-grained token has only
// when its resource owner is that organization; an organization with OAuth app access
// restrictions answers 403 to apps it has not approved. Without that, members are
// refused. Only the organizations and teams the configuration names are asked about,
// concurrently; a failed check that cannot change the outcome is ignored.
//
// Config.AllowedClientIDs, when set, accepts only OAuth tokens GitHub reports
// (X-OAuth-Client-Id, or app.client_id of the token check) as issued to one of those
// OAuth apps: GitHub tokens have no audience, and this stops a token given to another
// application from being replayed here. Personal access tokens carry no client id and
// are then refused. Setting Config.ClientID and ClientSecret binds gho_ and ghu_ tokens
// to that one app more strongly (see above): GitHub itself confirms the app.
//
// # Scopes
//
// GitHub's OAuth scopes (repo, read:org, ...) are not the MCP server's scopes. An
// accepted user gets Config.Scopes, plus Config.OrgScopes[org] for each organization it
// is an active member of, plus Config.TeamScopes["org/team"] for each team; an org or
// team named there is checked even when it is not an access rule.
//
// # Claims
//
// Claims holds every attribute of GitHub's user document (login, id as int64, node_id,
// name, email — the public email, or nil —, type, site_admin, ...) and:
//
//   - github_token_kind: read from the token's documented prefix, not from GitHub's
//     headers: "classic" for ghp_ (classic personal access token), gho_ (OAuth app
//     token) and legacy 40-hex tokens, which carry OAuth scopes; "fine-grained" for
//     github_pat_ (fine-grained personal access token) and ghu_ (GitHub App user
//     token), which carry permissions instead (org/team rules then work only as
//     described above). Only a token of no known format (SkipFormatCheck) falls back to
//     whether GitHub sent X-OAuth-Scopes.
//   - github_scopes: a classic token's OAuth scopes, from the token check's "scopes" or
//     from the X-OAuth-Scopes header; absent for fine-grained tokens, and when GitHub
//     reported none.
//   - github_token_type: from the prefix: personal_access_token, oauth, app_user,
//     fine_grained_personal_access_token, legacy (or unknown with SkipFormatCheck).
//   - github_orgs, github_org_roles, github_teams, github_team_roles: the active
//     memberships found among the organizations and teams the configuration names, and
//     the role in each ("admin"/"member", "maintainer"/"member"), present when the
//     configuration names any.
//
// AccessToken.ClientID is the OAuth app's client id (app.client_id of the token check,
// or X-OAuth-Client-Id) when GitHub gives it, ExpiresAt comes from the token check's
// expires_at or the GitHub-Authentication-Token-Expiration header for tokens that
// expire, and Issuer is the web origin (https://github.com or the
// Enterprise Server host). TenantID is empty.
//
// # Errors
//
// Every failure is an *mcpauth.Error:
//
//   - invalid_token (401): the token is not in a GitHub format; GET /user answers 401
//     (bad credentials, revoked, expired); the token check answers 404 or 422, or names
//     another app; the OAuth app is not in AllowedClientIDs.
//   - access_denied (403): a valid user refused by AllowedUsers, AllowedOrgs or
//     AllowedTeams.
//   - temporarily_unavailable (503): GitHub rate-limits (403 or 429 with
//     X-RateLimit-Remaining: 0, a Retry-After header, or a secondary-rate-limit or
//     abuse-detection message), answers GET /user with any other 403 (GitHub answers 401
//     for tokens it refuses, so a 403 there — an edge's error page, a policy block — is
//     not a verdict on the token), answers the token check with 401 (this server's app
//     credentials are wrong) or a 404 without GitHub's JSON error document, fails (5xx, any unexpected status such as a 404 from a
//     wrong APIBaseURL or a membership 403 without GitHub's JSON error), times out
//     (Config.HTTPTimeout, 5s by default), cannot be reached, redirects (never
//     followed, not even on the API host), or answers a document that cannot be read or
//     is larger than 1 MiB. RetryAfter follows GitHub's rules: Retry-After when present,
//     else the time until X-RateLimit-Reset (read with Config.Now) when no request
//     remains, else one minute for a rate limit.
//
// The HTTP policy (no redirects, the 1 MiB bound, timeouts, the 503 for 429 and 5xx, and
// Retry-After / X-RateLimit-Reset rounded up to whole seconds and capped at one hour) is
// the one shared by every provider of this module (internal/upstream). What stays
// GitHub's own, deliberately: a 403 is read for GitHub's rate-limit signals, and a rate
// limit without any hint (a 403 or 429 with neither Retry-After nor an exhausted
// X-RateLimit-Remaining) waits one minute, as GitHub documents for secondary limits; a
// 404 on GET /user means a wrong APIBaseURL, and on a membership "not a member".
//
// A valid token is never reported invalid because GitHub was unavailable, and such
// failures are not cached.
//
// # GitHub Enterprise Server and OAuth
//
// Config.APIBaseURL (default https://api.github.com; https://HOST/api/v3 on Enterprise
// Server) and Config.WebBaseURL (default https://github.com) point at another GitHub;
// setting either one derives the other. [Endpoint] gives the OAuth endpoints on a web
// origin for golang.org/x/oauth2, and Config.ClientID / ClientSecret carry the OAuth
// app's credentials (the secret redacted when printed), for the OAuth facade and for the
// token check described above.
//
// Configuration comes from code or from the environment ([ConfigFromEnv], variables
// MCPAUTH_GITHUB_*).
//
// # Environment
//
// ConfigFromEnv("MCPAUTH") reads these variables:
//
//   - MCPAUTH_GITHUB_ALLOWED_USERS: logins allowed (case-insensitive), comma/space
//     separated
//   - MCPAUTH_GITHUB_ALLOWED_ORGS: user must be an active member of one of these orgs
//     (token needs read:org)
//   - MCPAUTH_GITHUB_ALLOWED_TEAMS: org/team-slug entries; user must be an active member
//     of one
//   - MCPAUTH_GITHUB_ALLOWED_CLIENT_IDS: accept only OAuth tokens issued to these OAuth
//     apps (refuses PATs)
//   - MCPAUTH_GITHUB_SCOPES: MCP scopes granted to every accepted user
//   - MCPAUTH_GITHUB_ORG_SCOPES: extra MCP scopes per org: acme=notes:write admin;
//     globex=notes:read
//   - MCPAUTH_GITHUB_TEAM_SCOPES: extra MCP scopes per team: acme/platform=admin;
//     acme/sec=audit
//   - MCPAUTH_GITHUB_ENABLED: true: turn GitHub on without rules (any GitHub account);
//     false: switch it off (Config.Disabled)
//   - MCPAUTH_GITHUB_API_URL: API root (default https://api.github.com; Enterprise Server
//     https://HOST/api/v3; tests)
//   - MCPAUTH_GITHUB_WEB_URL: web origin for OAuth (default https://github.com)
//   - MCPAUTH_GITHUB_CLIENT_ID, MCPAUTH_GITHUB_CLIENT_SECRET / _FILE: OAuth app
//     credentials for a sign-in flow and for checking gho_ / ghu_ tokens with GitHub's
//     "Check a token" API (the secret is never printed)
//   - MCPAUTH_GITHUB_HTTP_TIMEOUT: per-call timeout (default 5s)
package github
