package oauthproxy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/signing"
)

// family is a refresh-token family: one grant, rotated on every use. Only the hash of
// the current refresh token is kept; presenting an older one revokes the family.
type family struct {
	ClientID string    `json:"client_id"`
	Subject  string    `json:"sub"`
	TenantID string    `json:"tenant_id,omitempty"`
	Resource string    `json:"resource"`
	Scopes   []string  `json:"scopes"`
	Current  string    `json:"current"`
	Expires  time.Time `json:"expires"`
	Revoked  bool      `json:"revoked,omitempty"`
}

// tokenResponse is RFC 6749 §5.1.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope"`
}

var pkceVerifier = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// token is the token endpoint.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		errInvalidRequest("the request body is not a form of at most 64 KiB").write(w)
		return
	}
	for name, v := range r.PostForm {
		if len(v) > 1 {
			errInvalidRequest("parameter " + name + " is repeated").write(w)
			return
		}
	}
	client, oe := s.authenticateClient(r)
	if oe != nil {
		oe.write(w)
		return
	}
	var resp *tokenResponse
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		resp, oe = s.redeemCode(r.Context(), client, r.PostForm)
	case "refresh_token":
		if !client.allowsRefresh() {
			oe = &oauthError{Code: "unauthorized_client", Description: "the client did not register the refresh_token grant"}
			break
		}
		resp, oe = s.refresh(r.Context(), client, r.PostForm)
	case "":
		oe = errInvalidRequest("grant_type is missing")
	default:
		oe = &oauthError{Code: "unsupported_grant_type", Description: "only authorization_code and refresh_token are supported"}
	}
	if oe != nil {
		oe.write(w)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// redeemCode is the authorization_code grant: single use, bound to the client, the
// redirect URI, the PKCE verifier and the resource.
func (s *Server) redeemCode(ctx context.Context, c *Client, f map[string][]string) (*tokenResponse, *oauthError) {
	get := func(k string) string {
		if v := f[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	invalid := func(desc string) *oauthError { return &oauthError{Code: "invalid_grant", Description: desc} }
	// The code is taken in one step (whatever follows, it is used), and a tombstone
	// remembers what it issued: RFC 6749 §4.1.2, a code used twice revokes that.
	h := hashKey(get("code"))
	var g grant
	err := s.takeJSON(ctx, "code:"+h, &g)
	if isNotFound(err) {
		var gid string
		if _, err := s.getJSON(ctx, "codeused:"+h, &gid); err == nil {
			s.revokeFamily(ctx, gid)
			return nil, invalid("the authorization code was already used; the tokens issued for it are revoked")
		}
		return nil, invalid("the authorization code is invalid or expired")
	} else if err != nil {
		return nil, s.storeError(err)
	}
	switch {
	case !s.cfg.Now().Before(g.Expires):
		return nil, invalid("the authorization code is invalid or expired")
	case g.ClientID != c.ID:
		return nil, invalid("the authorization code was issued to another client")
	case get("redirect_uri") != g.RedirectURI && (g.RedirectGiven || get("redirect_uri") != ""):
		return nil, invalid("redirect_uri differs from the authorization request's")
	case get("code_verifier") == "":
		return nil, errInvalidRequest("code_verifier is missing (PKCE is required)")
	case !pkceVerifier.MatchString(get("code_verifier")) || hashKey(get("code_verifier")) != g.Challenge:
		return nil, invalid("code_verifier does not match the code challenge")
	case get("resource") != "" && get("resource") != g.Resource:
		return nil, &oauthError{Code: "invalid_target", Description: "resource differs from the authorization request's"}
	}
	if err := s.putJSON(ctx, "codeused:"+h, g.GrantID, s.cfg.CodeTTL); err != nil {
		return nil, s.storeError(err)
	}
	fam := &family{ClientID: c.ID, Subject: g.Subject, TenantID: g.TenantID, Resource: g.Resource, Scopes: g.Scopes, Expires: s.cfg.Now().Add(s.cfg.RefreshTokenTTL)}
	return s.issue(ctx, g.GrantID, fam, g.Scopes, c.allowsRefresh(), nil)
}

// refresh is the refresh_token grant: rotation on every use, reuse revokes the family,
// never a wider scope or another resource.
func (s *Server) refresh(ctx context.Context, c *Client, f map[string][]string) (*tokenResponse, *oauthError) {
	get := func(k string) string {
		if v := f[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	invalid := func(desc string) *oauthError { return &oauthError{Code: "invalid_grant", Description: desc} }
	gid, secret, ok := strings.Cut(get("refresh_token"), ".")
	if !ok || gid == "" || secret == "" {
		return nil, invalid("the refresh token is invalid")
	}
	var fam family
	old, err := s.getJSON(ctx, "family:"+gid, &fam)
	switch {
	case isNotFound(err):
		return nil, invalid("the refresh token is invalid or expired")
	case err != nil:
		return nil, s.storeError(err)
	case fam.Revoked:
		return nil, invalid("the refresh token was revoked")
	case fam.ClientID != c.ID:
		return nil, invalid("the refresh token was issued to another client")
	case !s.cfg.Now().Before(fam.Expires):
		return nil, invalid("the refresh token is invalid or expired")
	case hashKey(secret) != fam.Current:
		s.revokeFamily(ctx, gid)
		return nil, invalid("the refresh token was already used; the grant is revoked")
	case get("resource") != "" && get("resource") != fam.Resource:
		return nil, &oauthError{Code: "invalid_target", Description: "a refresh token is only good for the resource it was issued for"}
	}
	scopes := fam.Scopes
	if sc, ok := f["scope"]; ok {
		scopes = strings.Fields(sc[0])
		for _, x := range scopes {
			if !slices.Contains(fam.Scopes, x) {
				return nil, &oauthError{Code: "invalid_scope", Description: "scope " + x + " was not granted; a refresh never widens the scope"}
			}
		}
	}
	return s.issue(ctx, gid, &fam, scopes, true, old)
}

// issue signs an access token for the family's grant and, when refresh is true, stores
// the family with a new refresh token: created when old is nil, else swapped from old.
func (s *Server) issue(ctx context.Context, gid string, fam *family, scopes []string, refresh bool, old []byte) (*tokenResponse, *oauthError) {
	resp := &tokenResponse{TokenType: "Bearer", ExpiresIn: int64(s.cfg.AccessTokenTTL / time.Second), Scope: strings.Join(scopes, " ")}
	if refresh {
		secret := randomToken(32)
		fam.Current = hashKey(secret)
		ok, err := s.swapJSON(ctx, "family:"+gid, old, fam, fam.Expires.Sub(s.cfg.Now()))
		if err != nil {
			return nil, s.storeError(err)
		}
		if !ok {
			// Another request rotated the same refresh token first: this one is a reuse.
			s.revokeFamily(ctx, gid)
			return nil, &oauthError{Code: "invalid_grant", Description: "the refresh token was already used; the grant is revoked"}
		}
		resp.RefreshToken = gid + "." + secret
	}
	at, err := s.sign(gid, fam, scopes)
	if err != nil {
		s.cfg.Logger.Error("oauthproxy: signing an access token failed", "error", err)
		return nil, &oauthError{Code: "server_error", Description: "the access token could not be signed", Status: http.StatusInternalServerError}
	}
	resp.AccessToken = at
	return resp, nil
}

// sign returns the access token: a JWT (RFC 9068) with aud = the resource.
func (s *Server) sign(gid string, fam *family, scopes []string) (string, error) {
	return signAccessToken(s.signer, TokenClaims{
		Issuer: s.cfg.Issuer, Subject: fam.Subject, Resource: fam.Resource, ClientID: fam.ClientID,
		TenantID: fam.TenantID, Scopes: scopes, TTL: s.cfg.AccessTokenTTL, GrantID: gid, IdP: s.cfg.Upstream.Name(),
	}, s.cfg.Now())
}

// TokenClaims describe an access token of the proxy's shape.
type TokenClaims struct {
	// Issuer is the proxy's issuer URL; Resource the token's only audience.
	Issuer, Subject, Resource, ClientID, TenantID string
	Scopes                                        []string
	// TTL is the token's lifetime.
	TTL time.Duration
	// GrantID (the refresh family) and IdP (the upstream's name) are set by the proxy;
	// tokens minted outside a sign-in leave them empty.
	GrantID, IdP string
}

// SignAccessToken signs, with key (Config.SigningKey), an access token of the shape the
// proxy issues, which the hub's verifier of the proxy accepts: for operators' scripts
// and tests (the mcpauth binary's token command). It cannot be revoked: keep TTL short.
func SignAccessToken(key mcpauth.Secret, c TokenClaims, now time.Time) (string, error) {
	k, err := signing.Parse(key)
	if err != nil {
		return "", fmt.Errorf("oauthproxy: SignAccessToken: %w", err)
	}
	return signAccessToken(k, c, now)
}

func signAccessToken(k signing.Key, c TokenClaims, now time.Time) (string, error) {
	return k.SignAccessToken(signing.AccessToken{
		Issuer: c.Issuer, Subject: c.Subject, Audience: c.Resource, ClientID: c.ClientID, Scopes: c.Scopes, TTL: c.TTL,
		Extra: map[string]string{"tenant_id": c.TenantID, "gid": c.GrantID, "idp": c.IdP},
	}, now)
}

// revokeFamily marks the grant's refresh family revoked and forgets its upstream token.
// Access tokens already issued stay valid until they expire (AccessTokenTTL).
func (s *Server) revokeFamily(ctx context.Context, gid string) {
	key := "family:" + gid
	for range 3 {
		var fam family
		old, err := s.getJSON(ctx, key, &fam)
		if isNotFound(err) {
			// Not issued yet (a reused code before its first redemption stored it):
			// a revoked placeholder keeps it from ever being created.
			fam = family{Revoked: true, Expires: s.cfg.Now().Add(s.cfg.RefreshTokenTTL)}
			if ok, err := s.swapJSON(ctx, key, nil, fam, s.cfg.RefreshTokenTTL); err == nil && ok {
				break
			}
			continue
		}
		if err != nil || fam.Revoked {
			break
		}
		fam.Revoked = true
		if ok, err := s.swapJSON(ctx, key, old, fam, max(fam.Expires.Sub(s.cfg.Now()), time.Second)); err != nil || ok {
			break
		}
	}
	_ = s.cfg.Store.Delete(ctx, "upstream:"+gid)
}

// revoke is the revocation endpoint (RFC 7009): a refresh token, or an access token this
// server issued, revokes its grant's refresh family. Unknown tokens are not an error.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		errInvalidRequest("the request body is not a form of at most 64 KiB").write(w)
		return
	}
	client, oe := s.authenticateClient(r)
	if oe != nil {
		oe.write(w)
		return
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		errInvalidRequest("token is missing").write(w)
		return
	}
	ctx := r.Context()
	if gid, secret, ok := strings.Cut(tok, "."); ok && !strings.Contains(secret, ".") {
		var fam family
		if _, err := s.getJSON(ctx, "family:"+gid, &fam); err == nil && fam.ClientID == client.ID && hashKey(secret) == fam.Current {
			s.revokeFamily(ctx, gid)
		}
	} else if claims, err := s.parseOwn(tok); err == nil && claims["client_id"] == client.ID {
		if gid, _ := claims["gid"].(string); gid != "" {
			s.revokeFamily(ctx, gid)
		}
	}
	noStore(w)
	w.WriteHeader(http.StatusOK)
}

// parseOwn verifies the signature and issuer of an access token this server issued
// (any audience, expired or not).
func (s *Server) parseOwn(tok string) (jwt.MapClaims, error) {
	algs := []string{}
	for _, k := range s.keys {
		algs = append(algs, k.Method.Alg())
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(tok, claims, func(t *jwt.Token) (any, error) {
		for _, k := range s.keys {
			if t.Header["kid"] == k.KID {
				return k.Priv.Public(), nil
			}
		}
		return nil, errors.New("unknown key")
	}, jwt.WithValidMethods(algs), jwt.WithoutClaimsValidation())
	// WithoutClaimsValidation skips every claim check, WithIssuer's included.
	if err == nil && claims["iss"] != s.cfg.Issuer {
		err = errors.New("another issuer")
	}
	return claims, err
}

// putUpstreamToken stores the person's upstream token, encrypted, for the grant.
func (s *Server) putUpstreamToken(ctx context.Context, gid string, t *oauth2.Token) error {
	return s.putJSON(ctx, "upstream:"+gid, t, s.cfg.RefreshTokenTTL)
}

// ErrNoUpstreamToken is returned by UpstreamTokenSource when the request's token was not
// issued by this server or its grant holds no upstream token.
var ErrNoUpstreamToken = errors.New("oauthproxy: no upstream token for this request")

// UpstreamTokenSource returns the upstream identity provider's token of the person
// behind the request (its context holds the access token the hub verified), for a tool
// that must call the upstream API on their behalf. The token refreshes itself when it
// expires and the upstream supports it (Refresher). The client's own token is never
// forwarded anywhere.
func (s *Server) UpstreamTokenSource(ctx context.Context) (oauth2.TokenSource, error) {
	at := mcpauth.AccessTokenFromContext(ctx)
	if at == nil || at.Issuer != s.cfg.Issuer {
		return nil, ErrNoUpstreamToken
	}
	gid, _ := at.Claim("gid").(string)
	if gid == "" {
		return nil, ErrNoUpstreamToken
	}
	var t oauth2.Token
	if _, err := s.getJSON(ctx, "upstream:"+gid, &t); isNotFound(err) {
		return nil, ErrNoUpstreamToken
	} else if err != nil {
		return nil, err
	}
	return &upstreamSource{s: s, gid: gid, t: &t}, nil
}

type upstreamSource struct {
	s   *Server
	gid string
	mu  sync.Mutex
	t   *oauth2.Token
}

// Token implements oauth2.TokenSource.
func (u *upstreamSource) Token() (*oauth2.Token, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.t.Expiry.IsZero() || u.s.cfg.Now().Add(10*time.Second).Before(u.t.Expiry) {
		return u.t, nil
	}
	r, ok := u.s.cfg.Upstream.(Refresher)
	if !ok || u.t.RefreshToken == "" {
		return nil, errors.New("oauthproxy: the upstream token expired and cannot be refreshed; sign in again")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nt, err := r.Refresh(ctx, u.t)
	if err != nil {
		return nil, err
	}
	if nt.RefreshToken == "" {
		nt.RefreshToken = u.t.RefreshToken
	}
	if err := u.s.putUpstreamToken(ctx, u.gid, nt); err != nil {
		return nil, err
	}
	u.t = nt
	return nt, nil
}
