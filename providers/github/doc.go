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
// OAuth app tokens (gho_) and GitHub App user tokens (ghu_), when Config.ClientID and
// Config.ClientSecret are both set, are checked with GitHub's "Check a token" API: POST
// {APIBaseURL}/applications/{client_id}/token, the app's credentials in HTTP basic
// authentication and {"access_token": "<token>"} as the body. GitHub answers it only
// for tokens issued to that app, so this proves the token was not replayed from another
// application (GitHub tokens have no audience): gho_ and ghu_ tokens of any other app
// are refused. The answer's "user" (login, id, type, ..., without name or email) becomes
// the claims, its "scopes", "expires_at" and "app.client_id" (which must be
// Config.ClientID) the scopes, expiry and client id.
//
// Every other token (ghp_, github_pat_ and legacy tokens always; gho_ and ghu_ without
// both app credentials) is checked with GET {APIBaseURL}/user, the token in an
// "Authorization: Bearer" header: the user document becomes the claims, and the
// X-OAuth-Scopes, X-OAuth-Client-Id and GitHub-Authentication-Token-Expiration headers
// give the scopes, client id and expiry. The organization and team checks that follow
// use the user's token in both cases.
//
// # No cache inside
//
// Every VerifyToken call asks GitHub. Wrap the Verifier with mcpauth.CachedOpaque (or
// mcpauth.Cached, which applies [Verifier.CacheOptions]): concurrent requests for one
// token make one verification, accepted tokens are kept for at most 5 minutes (never
// past their expiry) and invalid ones for 10 seconds, so a token revoked on GitHub is
// still accepted until its cache entry ends:
//
//	v, err := github.New(cfg)
//	verifier := mcpauth.CachedOpaque(v)
//
// # Token formats
//
// Before any call, a token must look like a GitHub user token: ghp_ (classic personal
// access token), gho_ (OAuth app) or ghu_ (GitHub App user-to-server) followed by at
// least 36 characters of [A-Za-z0-9_], github_pat_ (fine-grained personal access token)
// followed by at least 50, or 40 lower-case hex digits (legacy, before 2021); at most 255
// characters in all, the bound GitHub asked integrators to allow. Anything else is
// refused with invalid_token "not a GitHub token" at no cost; installation (ghs_) and
// refresh (ghr_) tokens get their own description, since they never identify a user.
// Config.SkipFormatCheck lifts the check, should GitHub introduce a new format.
//
// # Access rules and scopes
//
// A user is accepted when it passes every rule that is set:
//
//   - AllowedUsers: its login is listed (case-insensitive).
//   - AllowedOrgs: it is an active member (not a pending invitation) of at least one
//     listed organization, per GET /user/memberships/orgs/{org}.
//   - AllowedTeams ("org/team-slug"): it is an active member of at least one listed
//     team, per GET /orgs/{org}/teams/{team_slug}/memberships/{username}.
//
// A membership call answered 404, or 403 with GitHub's JSON error document and no
// rate-limit signal, means "not a member". A valid user refused by a rule gets
// access_denied (HTTP 403) naming its login, with a hint when GitHub may have hidden the
// membership. A Config with no rule accepts every GitHub account and must say so with
// Enabled. Config.AllowedClientIDs, when set, also refuses tokens GitHub does not report
// (X-OAuth-Client-Id, or the token check's app.client_id) as issued to one of those
// OAuth apps, personal access tokens included.
//
// Membership calls use the user's token, which must be allowed to read memberships: a
// classic or OAuth token needs the read:org scope (request [DefaultScopes]); a
// fine-grained personal access token or a GitHub App user token needs the organization's
// "Members" permission (read), which a fine-grained token has only when its resource
// owner is that organization; an organization with OAuth app access restrictions answers
// 403 to apps it has not approved. Without that, members are refused. Only the
// organizations and teams the configuration names are asked about, concurrently; a
// failed check that cannot change the outcome is ignored.
//
// GitHub's OAuth scopes (repo, read:org, ...) are not the MCP server's scopes: an
// accepted user gets Config.Scopes, plus Config.OrgScopes[org] and
// Config.TeamScopes["org/team"] for the organizations and teams it is an active member
// of; an org or team named there is checked even when it is not an access rule.
//
// # Claims
//
// Claims holds every attribute of GitHub's user document (login, id as int64, node_id,
// name, email — the public email, or nil —, type, site_admin, ...) and:
//
//   - github_token_type, from the prefix: personal_access_token, oauth, app_user,
//     fine_grained_personal_access_token, legacy (or unknown with SkipFormatCheck).
//   - github_token_kind, from the prefix too: "classic" for ghp_, gho_ and legacy
//     tokens, which carry OAuth scopes; "fine-grained" for github_pat_ and ghu_, which
//     carry permissions instead. Only a token of unknown type falls back to whether
//     GitHub sent X-OAuth-Scopes.
//   - github_scopes: a classic token's OAuth scopes, absent for fine-grained tokens and
//     when GitHub reported none.
//   - github_orgs, github_org_roles, github_teams, github_team_roles: the active
//     memberships found among the organizations and teams the configuration names, and
//     the role in each ("admin"/"member", "maintainer"/"member"), present when the
//     configuration names any.
//
// AccessToken.ClientID is the OAuth app's client id when GitHub gives it, ExpiresAt is
// set for tokens that expire, Issuer is the web origin (https://github.com or the
// Enterprise Server host), and TenantID is empty.
//
// # Errors
//
// Every failure is an *mcpauth.Error:
//
//   - invalid_token (401): the token is not in a GitHub format; GitHub answers 401
//     (bad credentials, revoked, expired); the token check answers 404 or 422, or names
//     another app; the OAuth app is not in AllowedClientIDs.
//   - access_denied (403): a valid user refused by AllowedUsers, AllowedOrgs or
//     AllowedTeams.
//   - temporarily_unavailable (503), never remembered by a negative cache: GitHub
//     rate-limits (403 or 429 with X-RateLimit-Remaining: 0, Retry-After, or a
//     secondary-rate-limit or abuse-detection message); answers any other 403 but the
//     membership one above (GitHub answers 401 for tokens it refuses, so such a 403, an
//     edge's page or a policy block, is no verdict on the token); answers the token
//     check with 401 (this server's app credentials are wrong); answers 5xx or any
//     unexpected status (a 404 from a wrong APIBaseURL; a redirect, never followed);
//     times out (Config.HTTPTimeout, 5s by default); cannot be reached; or answers a
//     document that cannot be read or is larger than 1 MiB.
//
// That HTTP policy, with Retry-After and X-RateLimit-Reset (read with Config.Now) rounded
// up to whole seconds and capped at one hour, is shared by every provider of this module
// (internal/upstream). GitHub's own: a 403 is read for rate-limit signals, and a rate
// limit without a hint waits one minute, as GitHub documents for secondary limits.
//
// # GitHub Enterprise Server and OAuth
//
// Config.APIBaseURL (default https://api.github.com; https://HOST/api/v3 on Enterprise
// Server) and Config.WebBaseURL (default https://github.com) point at another GitHub;
// setting either one derives the other. [Endpoint] gives the OAuth endpoints of a web
// origin for golang.org/x/oauth2; Config.ClientID and ClientSecret (redacted when
// printed) are the OAuth app's credentials, for the OAuth facade and the token check.
//
// # Environment
//
// [ConfigFromEnv]("MCPAUTH") reads these variables (lists are comma or space separated):
//
//	MCPAUTH_GITHUB_ALLOWED_USERS       Config.AllowedUsers: logins (case-insensitive)
//	MCPAUTH_GITHUB_ALLOWED_ORGS        Config.AllowedOrgs (the token needs read:org)
//	MCPAUTH_GITHUB_ALLOWED_TEAMS       Config.AllowedTeams: org/team-slug entries
//	MCPAUTH_GITHUB_ALLOWED_CLIENT_IDS  Config.AllowedClientIDs: OAuth apps (refuses PATs)
//	MCPAUTH_GITHUB_SCOPES              Config.Scopes: MCP scopes of every accepted user
//	MCPAUTH_GITHUB_ORG_SCOPES          Config.OrgScopes: acme=notes:write admin; globex=notes:read
//	MCPAUTH_GITHUB_TEAM_SCOPES         Config.TeamScopes: acme/platform=admin; acme/sec=audit
//	MCPAUTH_GITHUB_ENABLED             true: Config.Enabled (any GitHub account, no rule);
//	                                   false: Config.Disabled (GitHub switched off)
//	MCPAUTH_GITHUB_API_URL             Config.APIBaseURL (default https://api.github.com)
//	MCPAUTH_GITHUB_WEB_URL             Config.WebBaseURL (default https://github.com)
//	MCPAUTH_GITHUB_CLIENT_ID           Config.ClientID, for a sign-in flow and the token check
//	MCPAUTH_GITHUB_CLIENT_SECRET       Config.ClientSecret (never printed); or _FILE: its file
//	MCPAUTH_GITHUB_HTTP_TIMEOUT        Config.HTTPTimeout: per-call timeout (default 5s)
package github
