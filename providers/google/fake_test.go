package google

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mcpauth/mcpauth/internal/testutil"
	"github.com/stretchr/testify/require"
)

// This file is a faithful fake of the two Google endpoints a Verifier calls, served on
// loopback by httptest:
//
//   - the token information endpoint (https://oauth2.googleapis.com/tokeninfo), which
//     takes access_token in a POST form body (or, as Google also allows, in the query
//     string), answers 200 with string-valued JSON fields (azp, aud, sub, scope, exp,
//     expires_in, email, email_verified, access_type) for a live token, and 400
//     {"error":"invalid_token","error_description":"Invalid Value"} for an unknown,
//     expired or revoked one;
//   - the ID-token key set (https://www.googleapis.com/oauth2/v3/certs), a JWKS of RSA
//     keys with kid, alg RS256 and use sig.
//
// Tests issue access tokens and sign ID tokens with the fake, switch failure modes on
// (rate limits, 5xx, malformed answers, hangs), and read request counters.

const (
	testClientID  = "1234567890-abcdefghijklmnop.apps.googleusercontent.com"
	otherClientID = "999999999-zzzzzzzzzzzzzzzz.apps.googleusercontent.com"
)

// testClock is an injectable clock.
type testClock = testutil.Clock

func newTestClock() *testClock { return testutil.NewClock(time.Unix(1_750_000_000, 0)) }

// fakeKey is an RSA signing key with its key ID.
type fakeKey struct {
	kid  string
	priv *rsa.PrivateKey
}

// RSA key generation is slow; the tests share a few keys.
var (
	keysOnce   sync.Once
	sharedKeys [3]*fakeKey
)

func testKeys(t testing.TB) [3]*fakeKey {
	t.Helper()
	keysOnce.Do(func() {
		for i := range sharedKeys {
			priv, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			var id [20]byte
			_, _ = rand.Read(id[:])
			sharedKeys[i] = &fakeKey{kid: hex.EncodeToString(id[:]), priv: priv}
		}
	})
	return sharedKeys
}

// grant describes an access token the fake knows.
type grant struct {
	Sub           string
	Email         string
	EmailVerified bool
	Aud, Azp      string // default testClientID
	Scope         string // default "openid https://www.googleapis.com/auth/userinfo.email"
	ExpiresIn     time.Duration
	AccessType    string // default "online"
}

type tokenEntry struct {
	g       grant
	exp     time.Time
	revoked bool
}

// failure replaces the tokeninfo answer while set.
type failure struct {
	status int
	header http.Header
	body   string
	hang   bool // block until the client gives up
}

// Canned failures, as Google (or the frontends in front of it) answers them.
var (
	failure500 = failure{status: 500, header: http.Header{"Content-Type": {"text/html; charset=UTF-8"}},
		body: "<!DOCTYPE html><html lang=en><title>Error 500 (Server Error)!!1</title><p><b>500.</b> <ins>That’s an error.</ins></html>"}
	failure503 = failure{status: 503, header: http.Header{"Content-Type": {"application/json; charset=UTF-8"}, "Retry-After": {"120"}},
		body: `{"error":{"code":503,"message":"The service is currently unavailable.","status":"UNAVAILABLE"}}`}
	failure429 = failure{status: 429, header: http.Header{"Content-Type": {"application/json; charset=UTF-8"}, "Retry-After": {"30"}},
		body: `{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}`}
	failure403 = failure{status: 403, header: http.Header{"Content-Type": {"application/json; charset=UTF-8"}},
		body: `{"error":{"code":403,"message":"Rate Limit Exceeded","errors":[{"message":"Rate Limit Exceeded","domain":"usageLimits","reason":"rateLimitExceeded"}],"status":"PERMISSION_DENIED"}}`}
	failure401 = failure{status: 401, header: http.Header{"Content-Type": {"application/json; charset=UTF-8"}},
		body: `{"error":"invalid_token","error_description":"Invalid Credentials"}`}
	failureMalformed = failure{status: 200, header: http.Header{"Content-Type": {"application/json; charset=UTF-8"}},
		body: `{"azp":"` + testClientID + `","aud":"` + testClientID + `","sub":"1`}
	failureHang = failure{hang: true}
)

// fakeGoogle serves tokeninfo at /tokeninfo and the JWKS at /oauth2/v3/certs.
type fakeGoogle struct {
	srv  *httptest.Server
	now  func() time.Time
	stop chan struct{} // closed when the test ends

	mu        sync.Mutex
	tokens    map[string]*tokenEntry
	published []*fakeKey
	fail      *failure
	legacy    bool // answer invalid tokens in the older form {"error_description":"Invalid Value"}
	certsDown bool

	tokeninfoCalls atomic.Int64
	certsCalls     atomic.Int64
	tokenInQuery   atomic.Int64 // tokeninfo requests carrying the token in the URL
	notForm        atomic.Int64 // POSTs without a form content type
}

// newFakeGoogle starts the fake; now is its clock (token expiry and expires_in).
func newFakeGoogle(t testing.TB, now func() time.Time) *fakeGoogle {
	t.Helper()
	keys := testKeys(t)
	f := &fakeGoogle{now: now, tokens: map[string]*tokenEntry{}, published: []*fakeKey{keys[0]}}
	mux := http.NewServeMux()
	mux.HandleFunc("/tokeninfo", f.tokeninfo)
	mux.HandleFunc("/oauth2/v3/certs", f.certs)
	f.srv = httptest.NewServer(mux)
	f.stop = make(chan struct{})
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { close(f.stop) }) // runs first: releases hanging handlers
	return f
}

// config is a Config pointing at the fake, for testClientID, with the clock.
func (f *fakeGoogle) config(clock *testClock) Config {
	return Config{
		ClientIDs:    []string{testClientID},
		TokenInfoURL: f.srv.URL + "/tokeninfo",
		JWKSURI:      f.srv.URL + "/oauth2/v3/certs",
		Now:          clock.Now,
	}
}

// issue registers an access token for g and returns it.
func (f *fakeGoogle) issue(g grant) string {
	var b [96]byte
	_, _ = rand.Read(b[:])
	token := "ya29.a0" + base64.RawURLEncoding.EncodeToString(b[:])
	if g.ExpiresIn == 0 {
		g.ExpiresIn = time.Hour
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens[token] = &tokenEntry{g: g, exp: f.now().Add(g.ExpiresIn).Truncate(time.Second)}
	return token
}

// revoke makes Google refuse the token from now on.
func (f *fakeGoogle) revoke(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := f.tokens[token]; e != nil {
		e.revoked = true
	}
}

// setFailure makes every tokeninfo request fail as described (nil restores service).
func (f *fakeGoogle) setFailure(fl *failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fl
}

func (f *fakeGoogle) setLegacyErrors(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.legacy = on
}

func (f *fakeGoogle) setCertsDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.certsDown = down
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (f *fakeGoogle) tokeninfo(w http.ResponseWriter, r *http.Request) {
	f.tokeninfoCalls.Add(1)
	if r.URL.Query().Has("access_token") || r.URL.Query().Has("id_token") {
		f.tokenInQuery.Add(1)
	}
	f.mu.Lock()
	fl := f.fail
	f.mu.Unlock()
	if fl != nil {
		if fl.hang {
			// Read the body first: the server notices a client that went away (and
			// cancels r.Context) only once the request body is consumed.
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-f.stop:
			}
			return
		}
		for k, v := range fl.header {
			w.Header()[k] = v
		}
		w.WriteHeader(fl.status)
		_, _ = w.Write([]byte(fl.body))
		return
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "invalid_request", "error_description": "Unsupported HTTP method"})
		return
	}
	if r.Method == http.MethodPost && r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		f.notForm.Add(1)
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "Malformed request"})
		return
	}
	token := r.Form.Get("access_token")
	if token == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "either access_token, id_token, or token_handle required"})
		return
	}

	f.mu.Lock()
	e := f.tokens[token]
	var g grant
	var exp time.Time
	live := e != nil && !e.revoked && f.now().Before(e.exp)
	if e != nil {
		g, exp = e.g, e.exp
	}
	legacy := f.legacy
	f.mu.Unlock()
	if !live {
		if legacy {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error_description": "Invalid Value"})
		} else {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_token", "error_description": "Invalid Value"})
		}
		return
	}

	type answer struct {
		Azp           string `json:"azp,omitempty"`
		Aud           string `json:"aud"`
		Sub           string `json:"sub,omitempty"`
		Scope         string `json:"scope"`
		Exp           string `json:"exp"`
		ExpiresIn     string `json:"expires_in"`
		Email         string `json:"email,omitempty"`
		EmailVerified string `json:"email_verified,omitempty"`
		AccessType    string `json:"access_type"`
	}
	a := answer{Azp: g.Azp, Aud: g.Aud, Sub: g.Sub, Scope: g.Scope, AccessType: g.AccessType, Email: g.Email,
		Exp:       strconv.FormatInt(exp.Unix(), 10),
		ExpiresIn: strconv.FormatInt(int64(exp.Sub(f.now())/time.Second), 10),
	}
	if a.Aud == "" {
		a.Aud = testClientID
	}
	if a.Azp == "" {
		a.Azp = a.Aud
	}
	if a.Scope == "" {
		a.Scope = "openid https://www.googleapis.com/auth/userinfo.email"
	}
	if a.AccessType == "" {
		a.AccessType = "online"
	}
	if g.Email != "" {
		a.EmailVerified = strconv.FormatBool(g.EmailVerified)
	}
	writeJSON(w, http.StatusOK, a)
}

func (f *fakeGoogle) certs(w http.ResponseWriter, r *http.Request) {
	f.certsCalls.Add(1)
	f.mu.Lock()
	down := f.certsDown
	keys := append([]*fakeKey(nil), f.published...)
	f.mu.Unlock()
	if down {
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(failure500.body))
		return
	}
	type jwk struct {
		Kty string `json:"kty"`
		Alg string `json:"alg"`
		Use string `json:"use"`
		Kid string `json:"kid"`
		N   string `json:"n"`
		E   string `json:"e"`
	}
	set := struct {
		Keys []jwk `json:"keys"`
	}{}
	for _, k := range keys {
		set.Keys = append(set.Keys, jwk{Kty: "RSA", Alg: "RS256", Use: "sig", Kid: k.kid,
			N: base64.RawURLEncoding.EncodeToString(k.priv.N.Bytes()),
			E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.priv.E)).Bytes())})
	}
	w.Header().Set("Cache-Control", "public, max-age=20105, must-revalidate, no-transform")
	writeJSON(w, http.StatusOK, set)
}

// idClaims returns the claims of a Google ID token for sub, issued now by the fake's
// clock for testClientID, valid one hour.
func (f *fakeGoogle) idClaims(sub, email string, verified bool, hd string) jwt.MapClaims {
	now := f.now()
	c := jwt.MapClaims{
		"iss":            "https://accounts.google.com",
		"azp":            testClientID,
		"aud":            testClientID,
		"sub":            sub,
		"at_hash":        "HK6E_P6Dh8Y93mRNtsDB1Q",
		"name":           "Alice Example",
		"picture":        "https://lh3.googleusercontent.com/a/ACg8ocK",
		"given_name":     "Alice",
		"family_name":    "Example",
		"iat":            now.Unix(),
		"exp":            now.Add(time.Hour).Unix(),
		"email_verified": verified,
	}
	if email != "" {
		c["email"] = email
	}
	if hd != "" {
		c["hd"] = hd
	}
	return c
}

// sign signs an ID token with key (RS256, typ JWT, the key's kid), as Google does.
func sign(t testing.TB, key *fakeKey, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = key.kid
	s, err := tok.SignedString(key.priv)
	require.NoError(t, err)
	return s
}

// signID signs with the fake's published key.
func (f *fakeGoogle) signID(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	f.mu.Lock()
	k := f.published[0]
	f.mu.Unlock()
	return sign(t, k, claims)
}
