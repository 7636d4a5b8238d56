package oauthproxy

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/config"
	"github.com/mcpauth/mcpauth/internal/upstream"
	"github.com/mcpauth/mcpauth/providers/bearer"
	"github.com/mcpauth/mcpauth/providers/github"
	"github.com/mcpauth/mcpauth/providers/google"
	"github.com/mcpauth/mcpauth/providers/workos"
)

// This file holds the upstreams built on golang.org/x/oauth2: GitHub, Google, WorkOS SSO
// and any OpenID Connect provider. They share one implementation (oauthUpstream): the
// authorization URL carries the proxy's state and the S256 challenge of its verifier,
// the code is redeemed with the verifier and the client's credentials, and the provider
// package's verifier then says who signed in and applies its rules, so that a rule is
// applied the same way whether a token reaches the resource server directly or through
// the proxy.
//
// Errors of Exchange (and Refresh) are *mcpauth.Error values, and their text never holds
// the authorization code, the verifier, a token or the client secret:
//
//   - access_denied: the person is refused by the provider's rules (organization, team,
//     domain, e-mail, WorkOS organization); the token endpoint refused the code with an
//     OAuth error such as invalid_grant or GitHub's bad_verification_code (answered with
//     HTTP 200): the sign-in cannot be completed and must start again; or the upstream's
//     answer about the person did not verify (an ID token of another audience or
//     issuer, a nonce that does not match, a WorkOS profile of another organization
//     than the one the sign-in named).
//   - temporarily_unavailable: the upstream could not be reached, timed out, answered
//     5xx or 429 (RetryAfter from its headers), answered something that is not an OAuth
//     answer, or refused this server's own client (invalid_client, unauthorized_client,
//     redirect_uri_mismatch, ...): a configuration problem of the server, not a verdict
//     on the person.
//   - invalid_token (Refresh only): the upstream refused the refresh token, or the token
//     expired without one; the person must sign in again.

// defaultUpstreamTimeout bounds each call to an upstream's token endpoint (and the OpenID
// discovery) when no other timeout is configured.
const defaultUpstreamTimeout = 5 * time.Second

// UpstreamOption changes how GitHub, Google and WorkOS build their upstream.
type UpstreamOption func(*upstreamOptions)

type upstreamOptions struct {
	endpoint *oauth2.Endpoint
	client   *http.Client
	scopes   []string // nil: the upstream's default
}

// WithScopes replaces the OAuth scopes requested from GitHub or Google (see GitHub and
// Google for the defaults). WorkOS SSO takes no scopes: WorkOS refuses the option.
func WithScopes(scopes ...string) UpstreamOption {
	return func(o *upstreamOptions) { o.scopes = slices.Clone(scopes) }
}

// WithEndpoint replaces the upstream's OAuth endpoints (its authorization and token
// URLs), for a fake upstream in tests or an egress proxy. When e.AuthStyle is
// oauth2.AuthStyleAutoDetect (zero), the upstream's own style is kept. Each URL must be
// https, or http on a loopback host.
func WithEndpoint(e oauth2.Endpoint) UpstreamOption {
	return func(o *upstreamOptions) { o.endpoint = &e }
}

// WithHTTPClient sets the HTTP client that calls the token endpoint; it also makes the
// provider's own calls (GitHub's API, Google's keys, WorkOS's profile) when the
// provider's Config sets no HTTPClient. The client is copied and never follows
// redirects; its Timeout, when zero, becomes the provider's HTTPTimeout.
func WithHTTPClient(c *http.Client) UpstreamOption {
	return func(o *upstreamOptions) { o.client = c }
}

func applyOptions(opts []UpstreamOption) upstreamOptions {
	var o upstreamOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}

// endpointOr returns def, or the endpoint of WithEndpoint (with def's AuthStyle when it
// sets none), checked.
func (o upstreamOptions) endpointOr(def oauth2.Endpoint) (oauth2.Endpoint, error) {
	e := def
	if o.endpoint != nil {
		e = *o.endpoint
		if e.AuthStyle == oauth2.AuthStyleAutoDetect {
			e.AuthStyle = def.AuthStyle
		}
	}
	for _, u := range []struct{ name, url string }{{"authorization", e.AuthURL}, {"token", e.TokenURL}} {
		if _, err := config.CheckURL(u.url, config.URL{NoFragment: true}); err != nil {
			return e, fmt.Errorf("the %s endpoint: %w", u.name, err)
		}
	}
	return e, nil
}

// ---- the shared implementation ----

// oauthUpstream is an Upstream reached with golang.org/x/oauth2.
type oauthUpstream struct {
	name    string // Name()
	display string // in descriptions: "GitHub"
	conf    oauth2.Config
	client  *http.Client
	now     func() time.Time
	// params are extra authorization request parameters (access_type, organization...).
	params []oauth2.AuthCodeOption
	// nonce sends an OpenID nonce derived from the verifier, which identify checks.
	nonce bool
	// identify says who the token belongs to, applying the provider's rules. nonce is
	// the expected ID token nonce ("" when none was sent).
	identify func(ctx context.Context, t *oauth2.Token, nonce string) (*Identity, error)
	closer   func() error
}

// refreshingUpstream is an oauthUpstream whose tokens can be refreshed.
type refreshingUpstream struct{ *oauthUpstream }

var (
	_ Upstream  = (*oauthUpstream)(nil)
	_ Refresher = refreshingUpstream{}
)

// Name returns the provider's short name.
func (u *oauthUpstream) Name() string { return u.name }

// Close stops the background work of the provider's verifier (the refresh of a key
// set), if any. It is idempotent.
func (u *oauthUpstream) Close() error {
	if u.closer == nil {
		return nil
	}
	return u.closer()
}

func (u *oauthUpstream) config(redirectURI string) *oauth2.Config {
	c := u.conf
	c.Scopes = slices.Clone(u.conf.Scopes)
	c.RedirectURL = redirectURI
	return &c
}

// AuthCodeURL returns the authorization URL with the proxy's state, redirect URI and the
// S256 challenge of codeVerifier.
func (u *oauthUpstream) AuthCodeURL(state, codeVerifier, redirectURI string) string {
	opts := append(slices.Clone(u.params), oauth2.S256ChallengeOption(codeVerifier))
	if u.nonce {
		opts = append(opts, oauth2.SetAuthURLParam("nonce", nonceFor(codeVerifier)))
	}
	return u.config(redirectURI).AuthCodeURL(state, opts...)
}

// nonceFor derives the OpenID nonce of a sign-in from its PKCE verifier, which both
// AuthCodeURL and Exchange know: the ID token is then bound to the sign-in without any
// state of the upstream's own. It is not the challenge (a different hash input), and
// reveals nothing of the verifier.
func nonceFor(codeVerifier string) string {
	sum := sha256.Sum256([]byte("mcpauth oauthproxy nonce\x00" + codeVerifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (u *oauthUpstream) context(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, u.client)
}

// Exchange redeems code with codeVerifier and identifies the person.
func (u *oauthUpstream) Exchange(ctx context.Context, code, codeVerifier, redirectURI string) (*Identity, error) {
	if code == "" {
		return nil, mcpauth.AccessDenied(u.display + " sent no authorization code")
	}
	secrets := []string{code, codeVerifier, u.conf.ClientSecret}
	t, err := u.config(redirectURI).Exchange(u.context(ctx), code, oauth2.VerifierOption(codeVerifier))
	if err != nil {
		return nil, u.tokenError(err, false, secrets)
	}
	nonce := ""
	if u.nonce {
		nonce = nonceFor(codeVerifier)
	}
	id, err := u.identify(ctx, t, nonce)
	if err != nil {
		return nil, u.identifyError(err, append(secrets, t.AccessToken, t.RefreshToken))
	}
	id.Token = t
	return id, nil
}

// Refresh returns t while it is valid, else a token refreshed with t.RefreshToken.
func (r refreshingUpstream) Refresh(ctx context.Context, t *oauth2.Token) (*oauth2.Token, error) {
	u := r.oauthUpstream
	if t == nil {
		return nil, mcpauth.InvalidToken("there is no "+u.display+" token to refresh", nil)
	}
	if t.Valid() {
		return t, nil
	}
	if t.RefreshToken == "" {
		return nil, mcpauth.InvalidToken("the "+u.display+" token expired and cannot be refreshed; sign in again", nil)
	}
	nt, err := u.conf.TokenSource(u.context(ctx), t).Token()
	if err != nil {
		return nil, u.tokenError(err, true, []string{t.AccessToken, t.RefreshToken, u.conf.ClientSecret})
	}
	return nt, nil
}

// clientRefusals are the token endpoint's OAuth errors about this server's client, not
// about the code: the server is misconfigured.
var clientRefusals = []string{
	"invalid_client", "unauthorized_client", "unsupported_grant_type", "invalid_request",
	"incorrect_client_credentials", "redirect_uri_mismatch", // GitHub's
	"application_suspended",
}

// tokenError maps a failure of the token endpoint (see the file comment). secrets are
// removed from every text kept in the cause.
func (u *oauthUpstream) tokenError(err error, refresh bool, secrets []string) error {
	what := "the authorization code"
	if refresh {
		what = "the refresh token"
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		// A transport failure, a cancellation, or an answer without an access token.
		cause := errors.New("token endpoint: " + redact(err.Error(), secrets))
		if ctxErr := contextFailure(err); ctxErr != "" {
			return mcpauth.UpstreamUnavailable(u.display+ctxErr, 0, cause)
		}
		if !isTransport(err) {
			return mcpauth.UpstreamUnavailable(u.display+" answered the token request with an unexpected response", 0, cause)
		}
		return mcpauth.UpstreamUnavailable(u.display+" could not be reached", 0, cause)
	}
	status := 0
	var header http.Header
	if re.Response != nil {
		status, header = re.Response.StatusCode, re.Response.Header
	}
	code := re.ErrorCode
	cause := fmt.Sprintf("token endpoint: HTTP %d", status)
	if code != "" {
		cause += fmt.Sprintf(": error %q", redact(truncate(code, 100), secrets))
		if d := re.ErrorDescription; d != "" {
			cause += fmt.Sprintf(" (%s)", redact(truncate(d, 200), secrets))
		}
	}
	switch {
	case code == "temporarily_unavailable" || code == "server_error" ||
		status == http.StatusTooManyRequests || status >= 500:
		return mcpauth.UpstreamUnavailable(u.display+" is unavailable; try again later",
			upstream.RetryAfter(header, u.now()), errors.New(cause))
	case code == "":
		return mcpauth.UpstreamUnavailable(u.display+" answered the token request with an unexpected response", 0, errors.New(cause))
	case slices.Contains(clientRefusals, code):
		return mcpauth.UpstreamUnavailable(u.display+" refused this server's OAuth client (check its client ID, secret and callback URL)", 0, errors.New(cause))
	case refresh:
		return mcpauth.InvalidToken(u.display+" refused "+what+"; sign in again", errors.New(cause))
	default:
		e := mcpauth.AccessDenied(u.display + " refused " + what + "; sign in again")
		e.Err = errors.New(cause)
		return e
	}
}

// identifyError keeps the access_denied and temporarily_unavailable errors of the
// provider's verifier, and turns its other verdicts (invalid_token: an ID token or
// profile that does not verify) into access_denied: the sign-in is refused. The cause
// keeps the verifier's text only, so that the error belongs to one class.
func (u *oauthUpstream) identifyError(err error, secrets []string) error {
	var e *mcpauth.Error
	if !errors.As(err, &e) {
		return mcpauth.UpstreamUnavailable(u.display+" answered with an unexpected response", 0, errors.New(redact(err.Error(), secrets)))
	}
	switch e.Code {
	case mcpauth.CodeAccessDenied, mcpauth.CodeTemporarilyUnavailable:
		return e
	}
	d := mcpauth.AccessDenied("the sign-in at " + u.display + " could not be verified: " + e.Description)
	d.Err = errors.New(redact(e.Error(), secrets))
	return d
}

func contextFailure(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return ": the request was cancelled"
	case errors.Is(err, context.DeadlineExceeded):
		return " did not answer in time"
	}
	var te interface{ Timeout() bool }
	if errors.As(err, &te) && te.Timeout() {
		return " did not answer in time"
	}
	return ""
}

func isTransport(err error) bool {
	var ue *url.Error
	return errors.As(err, &ue)
}

// redact removes every secret (of at least 4 bytes) from s.
func redact(s string, secrets []string) string {
	for _, x := range secrets {
		if len(x) >= 4 {
			s = strings.ReplaceAll(s, x, "[redacted]")
		}
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// entitlement is Identity.Scopes from a provider's granted scopes: nil (unlimited) when
// the provider's configuration has no scope rule at all, else the grant, never nil, so
// that a person the rules grant nothing is granted nothing rather than everything.
func entitlement(limited bool, granted []string) []string {
	if !limited {
		return nil
	}
	if granted == nil {
		return []string{}
	}
	return slices.Clone(granted)
}

func claimString(claims map[string]any, name string) string {
	s, _ := claims[name].(string)
	return strings.TrimSpace(s)
}

// verifiedEmail returns the "email" claim unless "email_verified" says it is not
// verified (true or "true" verifies; absent leaves it as it is).
func verifiedEmail(claims map[string]any) string {
	switch v := claims["email_verified"].(type) {
	case nil:
	case bool:
		if !v {
			return ""
		}
	case string:
		if !strings.EqualFold(v, "true") {
			return ""
		}
	default:
		return ""
	}
	return claimString(claims, "email")
}

// checkNonce refuses an ID token whose "nonce" is not the one sent. An ID token without
// a nonce is accepted: PKCE already binds the code to this sign-in.
func checkNonce(claims map[string]any, want string) error {
	raw, ok := claims["nonce"]
	if !ok || want == "" {
		return nil
	}
	if got, _ := raw.(string); got != want {
		return mcpauth.InvalidToken("the ID token's nonce is not the one of this sign-in", nil)
	}
	return nil
}

// idToken returns the id_token of a token response, which must look like a JWT.
func idToken(t *oauth2.Token, display string) (string, error) {
	s, _ := t.Extra("id_token").(string)
	if s == "" {
		return "", mcpauth.UpstreamUnavailable(display+" answered the token request without an ID token", 0, errors.New(`token endpoint: no "id_token"`))
	}
	if !strings.HasPrefix(s, "eyJ") || strings.Count(s, ".") != 2 {
		return "", mcpauth.InvalidToken("the ID token is not a signed JWT", nil)
	}
	return s, nil
}

func timeoutOr(d time.Duration) time.Duration { return cmp.Or(d, defaultUpstreamTimeout) }

func clockOr(now func() time.Time) func() time.Time {
	if now == nil {
		return time.Now
	}
	return now
}

// ---- GitHub ----

// GitHub returns the upstream for GitHub (or GitHub Enterprise Server) sign-in with the
// OAuth app (or GitHub App) of cfg.ClientID and cfg.ClientSecret, both required.
//
// The endpoints are github.Endpoint of the web origin cfg names (WebBaseURL, or the one
// derived from APIBaseURL, as providers/github derives it; default https://github.com).
// WithScopes sets the GitHub OAuth scopes requested; the default is "read:user", plus
// "read:org" when cfg has an organization or team rule (AllowedOrgs, AllowedTeams,
// OrgScopes, TeamScopes), which GitHub needs to show memberships.
//
// After the exchange, the GitHub token is checked with github.Verifier.VerifyToken,
// which proves it was issued to this app and applies cfg's rules. The Identity:
// Subject "github:<numeric user id>" (stable across renames), Name the login (the
// display name is free text), Email the public e-mail address if any, Scopes cfg's grant
// (nil, unlimited, when cfg sets none of Scopes, OrgScopes and TeamScopes).
//
// The upstream implements Refresher (GitHub App user tokens expire and come with a
// refresh token; OAuth app tokens do not expire).
func GitHub(cfg github.Config, opts ...UpstreamOption) (Upstream, error) {
	o := applyOptions(opts)
	oauthScopes := o.scopes
	var problems []error
	if strings.TrimSpace(cfg.ClientID) == "" || cfg.ClientSecret.IsZero() {
		problems = append(problems, errors.New("oauthproxy: GitHub needs the OAuth app's github.Config.ClientID and ClientSecret"))
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = o.client
	}
	v, err := github.New(cfg)
	if err != nil {
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	ep, err := o.endpointOr(v.Endpoint())
	if err != nil {
		return nil, fmt.Errorf("oauthproxy: GitHub: %w", err)
	}
	if len(oauthScopes) == 0 {
		oauthScopes = []string{"read:user"}
		if len(cfg.AllowedOrgs) > 0 || len(cfg.AllowedTeams) > 0 || len(cfg.OrgScopes) > 0 || len(cfg.TeamScopes) > 0 {
			oauthScopes = append(oauthScopes, "read:org")
		}
	}
	limited := len(cfg.Scopes) > 0 || len(cfg.OrgScopes) > 0 || len(cfg.TeamScopes) > 0
	u := &oauthUpstream{
		name:    "github",
		display: "GitHub",
		conf: oauth2.Config{
			ClientID:     strings.TrimSpace(cfg.ClientID),
			ClientSecret: cfg.ClientSecret.Reveal(),
			Endpoint:     ep,
			Scopes:       slices.Clone(oauthScopes),
		},
		client: upstream.NewHTTPClient(cmp.Or(o.client, cfg.HTTPClient), timeoutOr(cfg.HTTPTimeout)),
		now:    clockOr(cfg.Now),
		identify: func(ctx context.Context, t *oauth2.Token, _ string) (*Identity, error) {
			at, err := v.VerifyToken(ctx, t.AccessToken)
			if err != nil {
				return nil, err
			}
			if at.Subject == "" {
				return nil, mcpauth.InvalidToken("the GitHub token does not identify a user", nil)
			}
			login := claimString(at.Claims, "login")
			return &Identity{
				Subject: "github:" + strings.TrimPrefix(at.Subject, "github:"),
				Name:    login,
				Email:   claimString(at.Claims, "email"),
				Scopes:  entitlement(limited, at.Scopes),
			}, nil
		},
	}
	return refreshingUpstream{u}, nil
}

// ---- Google ----

// Google returns the upstream for Google sign-in with the OAuth client cfg.ClientIDs[0]
// and cfg.ClientSecret (required). The scopes requested (WithScopes) default to "openid
// email profile" and must include openid. The authorization request asks for offline access
// (access_type=offline, prompt=consent), so that Google returns a refresh token, and
// carries a nonce.
//
// The ID token of the token response is verified with google.Verifier (signature against
// cfg.JWKSURI, issuer, audience, expiry), must be addressed to ClientIDs[0], must carry
// the nonce when it carries one, and cfg's rules (HostedDomains, AllowedEmails...) apply.
// The Identity: Subject "google:<sub>", TenantID the hosted domain ("hd") when there is
// one, Email the address when verified, Name the "name" claim, Scopes cfg's grant (nil,
// unlimited, when cfg sets neither Scopes nor DomainScopes).
//
// The upstream implements Refresher, and io.Closer, which stops the background refresh
// of Google's key set.
func Google(cfg google.Config, opts ...UpstreamOption) (Upstream, error) {
	o := applyOptions(opts)
	oauthScopes := o.scopes
	var problems []error
	if len(cfg.ClientIDs) == 0 || strings.TrimSpace(cfg.ClientIDs[0]) == "" || cfg.ClientSecret.IsZero() {
		problems = append(problems, errors.New("oauthproxy: Google needs the OAuth client's google.Config.ClientIDs (the first one signs people in) and ClientSecret"))
	}
	if len(oauthScopes) == 0 {
		oauthScopes = google.DefaultScopes()
	}
	if !slices.Contains(oauthScopes, "openid") {
		problems = append(problems, errors.New(`oauthproxy: the Google scopes must include "openid": people are identified by their ID token`))
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = o.client
	}
	v, err := google.New(cfg)
	if err != nil {
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		if v != nil {
			_ = v.Close()
		}
		return nil, errors.Join(problems...)
	}
	ep, err := o.endpointOr(google.Endpoint())
	if err != nil {
		_ = v.Close()
		return nil, fmt.Errorf("oauthproxy: Google: %w", err)
	}
	clientID := strings.TrimSpace(cfg.ClientIDs[0])
	limited := len(cfg.Scopes) > 0 || len(cfg.DomainScopes) > 0
	u := &oauthUpstream{
		name:    "google",
		display: "Google",
		conf: oauth2.Config{
			ClientID:     clientID,
			ClientSecret: cfg.ClientSecret.Reveal(),
			Endpoint:     ep,
			Scopes:       slices.Clone(oauthScopes),
		},
		client: upstream.NewHTTPClient(cmp.Or(o.client, cfg.HTTPClient), timeoutOr(cfg.HTTPTimeout)),
		now:    clockOr(cfg.Now),
		params: []oauth2.AuthCodeOption{oauth2.AccessTypeOffline, oauth2.ApprovalForce},
		nonce:  true,
		identify: func(ctx context.Context, t *oauth2.Token, nonce string) (*Identity, error) {
			raw, err := idToken(t, "Google")
			if err != nil {
				return nil, err
			}
			at, err := v.VerifyToken(ctx, raw)
			if err != nil {
				return nil, err
			}
			if at.Claims["google_token_type"] != "id_token" || !slices.Contains(at.Audience, clientID) {
				return nil, mcpauth.InvalidToken("the ID token was not issued to this server's Google client", nil)
			}
			if err := checkNonce(at.Claims, nonce); err != nil {
				return nil, err
			}
			return &Identity{
				Subject:  "google:" + at.Subject,
				TenantID: at.TenantID,
				Name:     claimString(at.Claims, "name"),
				Email:    verifiedEmail(at.Claims),
				Scopes:   entitlement(limited, at.Scopes),
			}, nil
		},
		closer: v.Close,
	}
	return refreshingUpstream{u}, nil
}

// ---- WorkOS ----

// WorkOSSelection names the WorkOS SSO connection a sign-in goes to, the parameter
// WorkOS's GET /sso/authorize requires: exactly one field is set.
//
// Exchange also checks that the person's profile comes from the selection (its
// organization_id, connection_id or connection_type), since the browser could change
// the parameter of the authorization URL.
type WorkOSSelection struct {
	// Organization is a WorkOS organization ID ("org_..."): WorkOS picks the
	// organization's SSO connection.
	Organization string
	// Connection is a WorkOS connection ID ("conn_...").
	Connection string
	// Provider is a WorkOS OAuth provider: "GoogleOAuth", "MicrosoftOAuth",
	// "GitHubOAuth" or "AppleOAuth". Anyone with such an account may then sign in
	// unless cfg.AllowedOrganizations is set.
	Provider string
}

// WorkOS returns the upstream for WorkOS SSO with the client cfg.ClientID and the API key
// cfg.APIKey (its client secret), both required. The authorization request goes to
// {APIBaseURL}/sso/authorize with sel's organization, connection or provider parameter;
// a zero sel means the organization of cfg.AllowedOrganizations when it names exactly
// one. The code is exchanged at {APIBaseURL}/sso/token (client_id and client_secret in
// the form).
//
// The access token is then checked with workos.ProfileVerifier (GET /sso/profile), which
// applies cfg.AllowedOrganizations. The Identity: Subject "workos:<profile id>",
// TenantID the organization ID, Email, Name "first_name last_name", Scopes cfg's grant
// (nil, unlimited, when cfg sets none of Scopes, OrganizationScopes and RoleScopes).
// WorkOS SSO tokens cannot be refreshed.
func WorkOS(cfg workos.Config, sel WorkOSSelection, opts ...UpstreamOption) (Upstream, error) {
	o := applyOptions(opts)
	var problems []error
	if strings.TrimSpace(cfg.ClientID) == "" || cfg.APIKey.IsZero() {
		problems = append(problems, errors.New("oauthproxy: WorkOS needs workos.Config.ClientID and APIKey (the client secret of the code exchange)"))
	}
	if o.scopes != nil {
		problems = append(problems, errors.New("oauthproxy: WorkOS SSO takes no OAuth scopes: remove WithScopes"))
	}
	if sel == (WorkOSSelection{}) && len(cfg.AllowedOrganizations) == 1 {
		sel.Organization = cfg.AllowedOrganizations[0]
	}
	var param, value string
	n := 0
	for _, f := range []struct{ param, value string }{{"organization", sel.Organization}, {"connection", sel.Connection}, {"provider", sel.Provider}} {
		if f.value != "" {
			param, value = f.param, f.value
			n++
		}
	}
	switch {
	case n != 1:
		problems = append(problems, errors.New("oauthproxy: WorkOSSelection must set exactly one of Organization, Connection and Provider"))
	case sel.Organization != "" && !strings.HasPrefix(sel.Organization, "org_"):
		problems = append(problems, fmt.Errorf("oauthproxy: WorkOSSelection.Organization %q is not a WorkOS organization ID (org_...)", sel.Organization))
	case sel.Connection != "" && !strings.HasPrefix(sel.Connection, "conn_"):
		problems = append(problems, fmt.Errorf("oauthproxy: WorkOSSelection.Connection %q is not a WorkOS connection ID (conn_...)", sel.Connection))
	case sel.Organization != "" && len(cfg.AllowedOrganizations) > 0 && !slices.Contains(cfg.AllowedOrganizations, sel.Organization):
		problems = append(problems, fmt.Errorf("oauthproxy: WorkOSSelection.Organization %q is not in workos.Config.AllowedOrganizations: every sign-in would be refused", sel.Organization))
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = o.client
	}
	v, err := workos.NewProfileVerifier(cfg)
	if err != nil {
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	ep, err := o.endpointOr(workos.SSOEndpoint(cfg.APIBaseURL))
	if err != nil {
		return nil, fmt.Errorf("oauthproxy: WorkOS: %w", err)
	}
	limited := len(cfg.Scopes) > 0 || len(cfg.OrganizationScopes) > 0 || len(cfg.RoleScopes) > 0
	u := &oauthUpstream{
		name:    "workos",
		display: "WorkOS",
		conf: oauth2.Config{
			ClientID:     strings.TrimSpace(cfg.ClientID),
			ClientSecret: cfg.APIKey.Reveal(),
			Endpoint:     ep,
		},
		client: upstream.NewHTTPClient(cmp.Or(o.client, cfg.HTTPClient), timeoutOr(cfg.HTTPTimeout)),
		now:    clockOr(cfg.Now),
		params: []oauth2.AuthCodeOption{oauth2.SetAuthURLParam(param, value)},
		identify: func(ctx context.Context, t *oauth2.Token, _ string) (*Identity, error) {
			at, err := v.VerifyToken(ctx, t.AccessToken)
			if err != nil {
				return nil, err
			}
			if p, ok := t.Extra("profile").(map[string]any); ok {
				if id, _ := p["id"].(string); id != "" && id != at.Subject {
					return nil, mcpauth.InvalidToken("WorkOS's token answer and profile name different people", nil)
				}
			}
			var from string
			switch param {
			case "organization":
				from = at.TenantID
			case "connection":
				from = claimString(at.Claims, "connection_id")
			case "provider":
				from = claimString(at.Claims, "connection_type")
			}
			if from != value {
				return nil, mcpauth.AccessDenied("the WorkOS sign-in did not come from the " + param + " this server names")
			}
			name := strings.TrimSpace(claimString(at.Claims, "first_name") + " " + claimString(at.Claims, "last_name"))
			return &Identity{
				Subject:  "workos:" + strings.TrimPrefix(at.Subject, "workos:"),
				TenantID: at.TenantID,
				Name:     name,
				Email:    claimString(at.Claims, "email"),
				Scopes:   entitlement(limited, at.Scopes),
			}, nil
		},
	}
	return u, nil
}

// ---- any OpenID Connect provider ----

// OIDCConfig configures an OpenID Connect upstream (see OIDC). ClientSecret is an
// mcpauth.Secret: it is never printed.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL, compared exactly with the discovery
	// document's "issuer" and the ID tokens' "iss". It must be https (http only on
	// loopback hosts), without query or fragment. Required.
	Issuer string `env:"ISSUER"`
	// ClientID is this server's client at the provider; ID tokens must be addressed to
	// it. Required.
	ClientID string `env:"CLIENT_ID"`
	// ClientSecret is the client's secret; empty for a public client (PKCE alone).
	ClientSecret mcpauth.Secret `env:"CLIENT_SECRET" noun:"client secret"`
	// Scopes are the scopes requested (default "openid email profile"); they must
	// include openid.
	Scopes []string `env:"SCOPES"`
	// Entitlements is Identity.Scopes of everyone who signs in: the most anyone may be
	// granted. Nil means unlimited; an empty, non-nil slice grants nothing.
	Entitlements []string `env:"ENTITLEMENTS"`
	// TenantClaim names the ID token's string claim that becomes Identity.TenantID
	// ("" for none).
	TenantClaim string `env:"TENANT_CLAIM"`
	// HTTPClient makes the calls to the provider (discovery, keys, token endpoint). It
	// is copied and never follows redirects; its Timeout, when zero, is 5s.
	HTTPClient *http.Client
	// Now is the clock of the ID token checks (default time.Now).
	Now func() time.Time
}

// Validate reports the problems of c without any network call; OIDC calls it.
func (c OIDCConfig) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf("oauthproxy: OIDCConfig."+format, a...)) }
	if c.Issuer == "" {
		add("Issuer is empty: give the provider's issuer URL")
	} else if _, err := config.CheckURL(c.Issuer, config.URL{NoQuery: true}); err != nil {
		add("Issuer: %v", err)
	}
	if strings.TrimSpace(c.ClientID) == "" {
		add("ClientID is empty: give this server's client ID at the provider")
	}
	if c.Scopes != nil && !slices.Contains(c.Scopes, "openid") {
		add(`Scopes must include "openid": people are identified by their ID token`)
	}
	for i, s := range c.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			add("Scopes[%d] = %q is not a scope", i, s)
		}
	}
	for i, s := range c.Entitlements {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			add("Entitlements[%d] = %q is not a scope", i, s)
		}
	}
	return errors.Join(errs...)
}

// oidcAlgorithms are the ID token algorithms accepted, when the provider offers them.
var oidcAlgorithms = []string{"RS256", "ES256", "EdDSA", "PS256"}

// oidcDiscovery is the part of an OpenID provider's metadata the upstream uses.
type oidcDiscovery struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	JWKSURI               string   `json:"jwks_uri"`
	ResponseTypes         []string `json:"response_types_supported"`
	IDTokenAlgorithms     []string `json:"id_token_signing_alg_values_supported"`
	TokenAuthMethods      []string `json:"token_endpoint_auth_methods_supported"`
	CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
}

// OIDC returns the upstream for an OpenID Connect provider. It validates cfg and reads
// the provider's discovery document, Issuer + "/.well-known/openid-configuration"
// (bounded by the client's timeout), whose "issuer" must equal cfg.Issuer exactly; it
// then fetches the provider's keys (jwks_uri) once, in the background of the bearer
// verifier. A provider that cannot be reached is an *mcpauth.Error of code
// temporarily_unavailable: call OIDC again later.
//
// The client authenticates at the token endpoint with client_secret_basic, or
// client_secret_post when the provider offers only that. The ID token of the token
// response is verified with providers/bearer: signature against jwks_uri with the
// algorithms the provider announces among RS256, ES256, EdDSA and PS256; issuer
// cfg.Issuer; audience cfg.ClientID (and "azp" when there are several); expiry; nonce
// (the authorization request sends one; an ID token without a nonce is accepted).
//
// The Identity: Subject "oidc:" + the issuer without its scheme + "#" + sub (such as
// "oidc:idp.example.com/realms/acme#248289761001"): an issuer holds no "#", so two
// issuers never give the same subject; Name "name" (else "preferred_username"); Email
// "email" unless "email_verified" is false; TenantID the TenantClaim; Scopes
// cfg.Entitlements. The upstream implements Refresher, and io.Closer, which stops the
// background refresh of the key set.
func OIDC(cfg OIDCConfig) (Upstream, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	client := upstream.NewHTTPClient(cfg.HTTPClient, defaultUpstreamTimeout)
	now := clockOr(cfg.Now)
	doc, err := discoverOIDC(cfg.Issuer, client, now)
	if err != nil {
		return nil, err
	}
	var algs []string
	offered := doc.IDTokenAlgorithms
	if len(offered) == 0 {
		offered = []string{"RS256"} // the OpenID default
	}
	for _, a := range oidcAlgorithms {
		if slices.Contains(offered, a) {
			algs = append(algs, a)
		}
	}
	if len(algs) == 0 {
		return nil, fmt.Errorf("oauthproxy: the OpenID provider %s signs ID tokens with %s only; supported: %s",
			cfg.Issuer, strings.Join(offered, " "), strings.Join(oidcAlgorithms, " "))
	}
	style := oauth2.AuthStyleInHeader
	methods := doc.TokenAuthMethods
	if len(methods) == 0 {
		methods = []string{"client_secret_basic"} // the OpenID default
	}
	switch {
	case cfg.ClientSecret.IsZero():
		style = oauth2.AuthStyleInParams // client_id alone in the form
	case slices.Contains(methods, "client_secret_basic"):
	case slices.Contains(methods, "client_secret_post"):
		style = oauth2.AuthStyleInParams
	default:
		return nil, fmt.Errorf("oauthproxy: the OpenID provider %s offers neither client_secret_basic nor client_secret_post at its token endpoint (%s)",
			cfg.Issuer, strings.Join(methods, " "))
	}
	clientID := strings.TrimSpace(cfg.ClientID)
	idv, err := bearer.New(bearer.Config{
		Keys:       bearer.JWKS{URI: doc.JWKSURI, HTTPClient: cfg.HTTPClient, HTTPTimeout: defaultUpstreamTimeout},
		Issuers:    []string{cfg.Issuer},
		Audience:   []string{clientID},
		Algorithms: algs,
		// bearer copies this claim to TenantID; "sub" (always a string) when no tenant
		// claim is configured, and TenantID is then not used.
		TenantClaim:  cmp.Or(cfg.TenantClaim, "sub"),
		Now:          now,
		ProviderName: "oidc",
	})
	if err != nil {
		return nil, fmt.Errorf("oauthproxy: the OpenID provider %s: %w", cfg.Issuer, err)
	}
	issuerKey := strings.TrimPrefix(strings.TrimPrefix(cfg.Issuer, "https://"), "http://")
	scopes := slices.Clone(cfg.Scopes)
	if len(scopes) == 0 {
		scopes = []string{"openid", "email", "profile"}
	}
	entitlements := slices.Clone(cfg.Entitlements)
	u := &oauthUpstream{
		name:    "oidc",
		display: "the OpenID provider",
		conf: oauth2.Config{
			ClientID:     clientID,
			ClientSecret: cfg.ClientSecret.Reveal(),
			Endpoint:     oauth2.Endpoint{AuthURL: doc.AuthorizationEndpoint, TokenURL: doc.TokenEndpoint, AuthStyle: style},
			Scopes:       scopes,
		},
		client: client,
		now:    now,
		nonce:  true,
		identify: func(ctx context.Context, t *oauth2.Token, nonce string) (*Identity, error) {
			raw, err := idToken(t, "the OpenID provider")
			if err != nil {
				return nil, err
			}
			at, err := idv.VerifyToken(ctx, raw)
			if err != nil {
				return nil, err
			}
			// OpenID Connect Core §3.1.3.7: with several audiences, azp names the client.
			if len(at.Audience) > 1 && claimString(at.Claims, "azp") != clientID {
				return nil, mcpauth.InvalidToken("the ID token has several audiences and its azp is not this server's client", nil)
			}
			if err := checkNonce(at.Claims, nonce); err != nil {
				return nil, err
			}
			id := &Identity{
				Subject: "oidc:" + issuerKey + "#" + at.Subject,
				Name:    cmp.Or(claimString(at.Claims, "name"), claimString(at.Claims, "preferred_username")),
				Email:   verifiedEmail(at.Claims),
				Scopes:  slices.Clone(entitlements),
			}
			if cfg.TenantClaim != "" {
				id.TenantID = at.TenantID
			}
			return id, nil
		},
		closer: idv.Close,
	}
	return refreshingUpstream{u}, nil
}

// discoverOIDC reads and checks the discovery document of issuer.
func discoverOIDC(issuer string, client *http.Client, now func() time.Time) (*oidcDiscovery, error) {
	ctx, cancel := context.WithTimeout(context.Background(), defaultUpstreamTimeout)
	defer cancel()
	where := strings.TrimRight(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, where, nil)
	if err != nil {
		return nil, fmt.Errorf("oauthproxy: the OpenID discovery URL %q: %w", where, err)
	}
	req.Header.Set("Accept", "application/json")
	c := &upstream.Client{HTTP: client, Name: "the OpenID provider", Timeout: defaultUpstreamTimeout, Now: now}
	resp, err := c.Do(req, "")
	if err != nil {
		return nil, err
	}
	if err := c.Check(resp, nil); err != nil {
		return nil, err
	}
	if resp.Status != http.StatusOK {
		return nil, mcpauth.UpstreamUnavailable("the OpenID provider's discovery document could not be read", 0,
			fmt.Errorf("GET %s: HTTP %d", where, resp.Status))
	}
	var doc oidcDiscovery
	if err := json.Unmarshal(resp.Body, &doc); err != nil {
		return nil, mcpauth.UpstreamUnavailable("the OpenID provider's discovery document is not valid JSON", 0, fmt.Errorf("GET %s: %w", where, err))
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("oauthproxy: the OpenID discovery document of %s "+format, append([]any{issuer}, a...)...)
	}
	if doc.Issuer != issuer {
		return nil, bad("names the issuer %q: it must be the configured Issuer exactly", doc.Issuer)
	}
	for _, e := range []struct{ name, url string }{
		{"authorization_endpoint", doc.AuthorizationEndpoint},
		{"token_endpoint", doc.TokenEndpoint},
		{"jwks_uri", doc.JWKSURI},
	} {
		if e.url == "" {
			return nil, bad("has no %s", e.name)
		}
		if _, err := config.CheckURL(e.url, config.URL{NoFragment: true}); err != nil {
			return nil, bad("has an unusable %s: %v", e.name, err)
		}
	}
	if len(doc.ResponseTypes) > 0 && !slices.Contains(doc.ResponseTypes, "code") {
		return nil, bad("does not offer the authorization code flow (response_types_supported)")
	}
	if len(doc.CodeChallengeMethods) > 0 && !slices.Contains(doc.CodeChallengeMethods, "S256") {
		return nil, bad("does not offer PKCE with S256 (code_challenge_methods_supported)")
	}
	return &doc, nil
}
