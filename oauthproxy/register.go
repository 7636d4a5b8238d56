package oauthproxy

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/time/rate"
)

// clientTTL is how long a dynamic registration is kept.
const clientTTL = 365 * 24 * time.Hour

// maxRegistrationBody bounds a registration request.
const maxRegistrationBody = 64 << 10

// register is the dynamic client registration endpoint (RFC 7591).
func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	if !s.allowRegistration(r) {
		(&oauthError{Code: "temporarily_unavailable", Description: "too many registrations from this address; try again in a minute", Status: http.StatusTooManyRequests, RetryAfter: time.Minute}).write(w)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRegistrationBody+1))
	if err != nil || len(body) > maxRegistrationBody {
		(&oauthError{Code: "invalid_client_metadata", Description: "the registration request is unreadable or larger than 64 KiB"}).write(w)
		return
	}
	var m clientMetadata
	if err := json.Unmarshal(body, &m); err != nil {
		(&oauthError{Code: "invalid_client_metadata", Description: "the registration request is not a JSON object of client metadata"}).write(w)
		return
	}
	c, oe := m.validate(false)
	if oe != nil {
		oe.write(w)
		return
	}
	c.ID = randomToken(16)
	c.IssuedAt = s.cfg.Now().UTC().Truncate(time.Second)
	var secret string
	if c.TokenEndpointAuthMethod != "none" {
		secret = randomToken(32)
		sum := sha256.Sum256([]byte(secret))
		c.SecretHash = sum[:]
	}
	if ok, err := s.swapJSON(r.Context(), "client:"+c.ID, nil, c, clientTTL); err != nil || !ok {
		if err == nil {
			err = errClientIDCollision
		}
		s.storeError(err).write(w)
		return
	}
	resp := map[string]any{
		"client_id":                  c.ID,
		"client_id_issued_at":        c.IssuedAt.Unix(),
		"redirect_uris":              c.RedirectURIs,
		"grant_types":                c.GrantTypes,
		"response_types":             []string{"code"},
		"token_endpoint_auth_method": c.TokenEndpointAuthMethod,
		"application_type":           c.ApplicationType,
	}
	if secret != "" {
		resp["client_secret"] = secret
		resp["client_secret_expires_at"] = 0
	}
	for k, v := range map[string]string{"client_name": c.Name, "client_uri": c.URI, "scope": c.Scope} {
		if v != "" {
			resp[k] = v
		}
	}
	writeJSON(w, http.StatusCreated, resp)
}

var errClientIDCollision = &oauthError{Code: "server_error", Description: "client id collision"}

// allowRegistration applies the per-address registration rate.
func (s *Server) allowRegistration(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	s.regMu.Lock()
	defer s.regMu.Unlock()
	l, ok := s.regLimit[host]
	if !ok {
		if len(s.regLimit) >= 10000 {
			clear(s.regLimit) // bounded memory; a flood of addresses only resets the limits
		}
		per := rate.Every(time.Minute / time.Duration(s.cfg.RegistrationRate))
		l = rate.NewLimiter(per, s.cfg.RegistrationRate)
		s.regLimit[host] = l
	}
	return l.AllowN(s.cfg.Now(), 1)
}

// lookupClient returns the client named id: a Client ID Metadata Document when id is an
// https URL, else a dynamic registration.
func (s *Server) lookupClient(ctx context.Context, id string) (*Client, *oauthError) {
	if id == "" {
		return nil, &oauthError{Code: "invalid_client", Description: "client_id is missing", Status: http.StatusUnauthorized}
	}
	if isMetadataDocumentID(id) {
		return s.cimd.client(ctx, id)
	}
	var c Client
	if _, err := s.getJSON(ctx, "client:"+id, &c); err != nil {
		if isNotFound(err) {
			return nil, &oauthError{Code: "invalid_client", Description: "the client is not registered with this authorization server", Status: http.StatusUnauthorized}
		}
		return nil, s.storeError(err)
	}
	return &c, nil
}

// authenticateClient identifies the client of a token or revocation request: HTTP Basic
// (client_secret_basic), client_secret in the form (client_secret_post), or client_id
// alone for a public client (none). The method must be the one the client registered.
func (s *Server) authenticateClient(r *http.Request) (*Client, *oauthError) {
	id, secret, basic := r.BasicAuth()
	if basic {
		var err1, err2 error
		id, err1 = url.QueryUnescape(id) // RFC 6749 §2.3.1: form-encoded before Basic
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return nil, &oauthError{Code: "invalid_client", Description: "malformed Basic credentials", Status: http.StatusUnauthorized}
		}
		if fid := r.PostForm.Get("client_id"); fid != "" && fid != id {
			return nil, errInvalidRequest("client_id in the form differs from the Basic credentials")
		}
	} else {
		id = r.PostForm.Get("client_id")
		secret = r.PostForm.Get("client_secret")
	}
	c, oe := s.lookupClient(r.Context(), id)
	if oe != nil {
		return nil, oe
	}
	method := "none"
	switch {
	case basic && secret == "" && c.TokenEndpointAuthMethod == "none":
		// A public client's id in Basic with an empty password (go-sdk sends this)
		// carries no secret: it is the none method.
	case basic:
		method = "client_secret_basic"
	case r.PostForm.Has("client_secret"):
		method = "client_secret_post"
	}
	if method != c.TokenEndpointAuthMethod {
		return nil, &oauthError{Code: "invalid_client", Description: "the client registered token_endpoint_auth_method " + c.TokenEndpointAuthMethod + ", not " + method, Status: http.StatusUnauthorized}
	}
	if method != "none" {
		sum := sha256.Sum256([]byte(secret))
		if len(c.SecretHash) != len(sum) || subtle.ConstantTimeCompare(sum[:], c.SecretHash) != 1 {
			return nil, &oauthError{Code: "invalid_client", Description: "client authentication failed", Status: http.StatusUnauthorized}
		}
	}
	return c, nil
}
