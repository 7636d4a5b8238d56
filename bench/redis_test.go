package bench_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	goredis "github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/audit"
	"github.com/mcpauth/mcpauth/hub"
	"github.com/mcpauth/mcpauth/internal/testutil"
	"github.com/mcpauth/mcpauth/oauthproxy"
	"github.com/mcpauth/mcpauth/store/redisstore"
)

// countingHook counts the commands a go-redis client sends: its round trips (no
// pipelines are used).
type countingHook struct{ n atomic.Int64 }

func (h *countingHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (h *countingHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}
func (h *countingHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// replica is one hub with its proxy, over a shared Redis (or memory when rc is nil).
type replica struct {
	base string
	srv  *httptest.Server
}

// newReplica serves a hub at base (its listener ln) whose proxy keeps its state in
// store and its session owners in sessions.
func newReplica(tb testing.TB, ln net.Listener, base string, keys [2]mcpauth.Secret, store oauthproxy.Store, sessions *redisstore.SessionStore) *replica {
	tb.Helper()
	hcfg := hub.Config{BaseURL: base, Audit: audit.Discard}
	if sessions != nil {
		hcfg.SessionStore = sessions
	}
	h, err := hub.New(hcfg)
	if err != nil {
		tb.Fatal(err)
	}
	proxy, err := oauthproxy.New(oauthproxy.Config{
		Issuer: base, Upstream: oauthproxy.NewDevUpstream(base, nil, oauthproxy.DevUser{Name: "alice", Scopes: []string{"notes:read", "notes:write"}}),
		Resources: h, DevMode: true, SigningKey: keys[0], EncryptionKeys: []mcpauth.Secret{keys[1]}, Store: store,
		Logger: discardLogger(),
	})
	if err != nil {
		tb.Fatal(err)
	}
	if err := h.UseAuthorizationServer(proxy); err != nil {
		tb.Fatal(err)
	}
	if err := h.Mount("notes", signInNotesServer()); err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	tb.Cleanup(srv.Close)
	return &replica{base: base, srv: srv}
}

// flow drives a sign-in step by step with plain HTTP, as a browser and a public client.
type flow struct {
	tb       testing.TB
	base     string
	browser  *http.Client
	clientID string
	verifier string
	page     string
	loc      string
	code     string
	refresh  string
	access   string
	session  string
}

var hiddenInput = regexp.MustCompile(`name="(tx|csrf|scope|state|code_challenge|redirect_uri)" value="([^"]*)"`)

func (f *flow) do(method, target string, form url.Values, want int) *http.Response {
	f.tb.Helper()
	var resp *http.Response
	var err error
	if method == http.MethodPost {
		resp, err = f.browser.PostForm(target, form)
	} else {
		resp, err = f.browser.Get(target)
	}
	if err != nil {
		f.tb.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	f.page = string(b)
	f.loc = resp.Header.Get("Location")
	if resp.StatusCode != want {
		f.tb.Fatalf("%s %s: %d, want %d: %s", method, target, resp.StatusCode, want, b)
	}
	return resp
}

func (f *flow) form() url.Values {
	v := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(f.page, -1) {
		v.Add(m[1], m[2])
	}
	return v
}

func (f *flow) tokenRequest(base string, v url.Values) map[string]any {
	f.tb.Helper()
	resp, err := http.PostForm(base+"/oauth/token", v)
	if err != nil {
		f.tb.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusOK {
		f.tb.Fatalf("token: %d %v", resp.StatusCode, out)
	}
	return out
}

func (f *flow) mcp(base, body string) *http.Response {
	req, _ := http.NewRequest(http.MethodPost, base+"/notes/mcp", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+f.access)
	if f.session != "" {
		req.Header.Set("Mcp-Session-Id", f.session)
		req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.tb.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		f.tb.Fatalf("MCP request: %d", resp.StatusCode)
	}
	return resp
}

// commandStats returns the calls of each command Redis counted since the last reset.
func commandStats(tb testing.TB, rc *goredis.Client) map[string]int {
	info := rc.Info(context.Background(), "commandstats").Val()
	out := map[string]int{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":calls=")
		if !ok {
			continue
		}
		n, _ := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
		out[strings.TrimPrefix(name, "cmdstat_")] = n
	}
	delete(out, "config|resetstat")
	delete(out, "info")
	return out
}

// TestRedisRoundTrips counts the Redis round trips of each step of a sign-in and of MCP
// requests, on two replicas sharing one Redis: with a hook on the client (the round
// trips) and from Redis's own command statistics (commands a script runs included).
// Targets: taking a code 1, rotating a refresh token 1, a request on a known session 0.
func TestRedisRoundTrips(t *testing.T) {
	redis := testutil.StartRedis(t)
	hook := &countingHook{}
	rc := goredis.NewClient(&goredis.Options{Addr: redis.Addr})
	rc.AddHook(hook)
	t.Cleanup(func() { rc.Close() })
	admin := goredis.NewClient(&goredis.Options{Addr: redis.Addr})
	t.Cleanup(func() { admin.Close() })
	rs, err := redisstore.New(redisstore.Config{Client: rc})
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.Ping(context.Background()); err != nil { // the connection's handshake, before counting
		t.Fatal(err)
	}
	key, _ := oauthproxy.GenerateSigningKey()
	keys := [2]mcpauth.Secret{key, oauthproxy.GenerateEncryptionKey()}
	// Two replicas behind one public URL: the test picks which one answers.
	lnA, _ := net.Listen("tcp", "127.0.0.1:0")
	lnB, _ := net.Listen("tcp", "127.0.0.1:0")
	base := "http://" + lnA.Addr().String()
	newReplica(t, lnA, base, keys, rs, rs.Sessions(0))
	newReplica(t, lnB, base, keys, rs, rs.Sessions(0))
	bURL := "http://" + lnB.Addr().String()

	jar, _ := cookiejar.New(nil)
	f := &flow{tb: t, base: base, browser: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	type row struct {
		op    string
		trips int64
		stats map[string]int
	}
	var rows []row
	measure := func(op string, fn func()) int64 {
		admin.ConfigResetStat(context.Background())
		before := hook.n.Load()
		fn()
		n := hook.n.Load() - before
		rows = append(rows, row{op, n, commandStats(t, admin)})
		return n
	}

	measure("register (DCR)", func() {
		resp, err := http.Post(base+"/oauth/register", "application/json", strings.NewReader(`{"redirect_uris":["http://127.0.0.1:1/cb"],"grant_types":["authorization_code","refresh_token"],"token_endpoint_auth_method":"none"}`))
		if err != nil {
			t.Fatal(err)
		}
		var reg map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&reg)
		resp.Body.Close()
		f.clientID = reg["client_id"].(string)
	})
	f.verifier = strings.Repeat("v", 43)
	sum := oauth2.S256ChallengeFromVerifier(f.verifier)
	authURL := base + "/oauth/authorize?" + url.Values{"response_type": {"code"}, "client_id": {f.clientID}, "redirect_uri": {"http://127.0.0.1:1/cb"},
		"code_challenge": {sum}, "code_challenge_method": {"S256"}, "resource": {base + "/notes/mcp"}, "scope": {"notes:read notes:write"}, "state": {"s"}}.Encode()
	measure("authorize (consent page)", func() { f.do(http.MethodGet, authURL, nil, http.StatusOK) })
	measure("consent (approve)", func() {
		v := f.form()
		v.Set("action", "approve")
		f.do(http.MethodPost, base+"/oauth/consent", v, http.StatusFound)
	})
	f.do(http.MethodGet, f.loc, nil, http.StatusOK) // the development provider's page: no Redis
	measure("development sign-in (upstream)", func() {
		v := f.form()
		v.Set("user", "alice")
		f.do(http.MethodPost, base+"/oauth/dev/login", v, http.StatusFound)
	})
	// The callback on the other replica.
	callback := strings.Replace(f.loc, base, bURL, 1)
	measure("callback (on the other replica)", func() { f.do(http.MethodGet, callback, nil, http.StatusFound) })
	u, _ := url.Parse(f.loc)
	f.code = u.Query().Get("code")
	codeTrips := measure("token: authorization_code", func() {
		out := f.tokenRequest(base, url.Values{"grant_type": {"authorization_code"}, "code": {f.code}, "redirect_uri": {"http://127.0.0.1:1/cb"}, "client_id": {f.clientID}, "code_verifier": {f.verifier}})
		f.refresh, f.access = out["refresh_token"].(string), out["access_token"].(string)
	})
	// The first refresh loads the rotation script (EVAL); then EVALSHA.
	out := f.tokenRequest(bURL, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {f.refresh}, "client_id": {f.clientID}})
	f.refresh, f.access = out["refresh_token"].(string), out["access_token"].(string)
	refreshTrips := measure("token: refresh_token", func() {
		out := f.tokenRequest(base, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {f.refresh}, "client_id": {f.clientID}})
		f.refresh, f.access = out["refresh_token"].(string), out["access_token"].(string)
	})
	measure("MCP initialize (a new session)", func() { f.session = f.mcp(base, initializeBody).Header.Get("Mcp-Session-Id") })
	known := measure("MCP tools/call on a known session", func() { f.mcp(base, whoamiBody) })
	measure("MCP tools/call, session new to this replica", func() { f.mcp(bURL, whoamiBody) })
	knownB := measure("MCP tools/call, the same again", func() { f.mcp(bURL, whoamiBody) })

	var sb strings.Builder
	sb.WriteString("\n| operation | round trips | commands Redis counted |\n|---|---:|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&sb, "| %s | %d | %v |\n", r.op, r.trips, r.stats)
	}
	t.Log(sb.String())

	// The targets: the code's take (GETDEL) is one round trip of the code grant, the
	// rotation (the compare-and-set script) one of the refresh grant.
	if got := rows[len(rows)-1].stats; len(got) != 0 {
		t.Errorf("a known session: Redis counted %v, want nothing", got)
	}
	for _, r := range rows {
		switch r.op {
		case "token: authorization_code":
			if r.stats["getdel"] != 1 {
				t.Errorf("code grant: %d GETDEL, want 1 (the take)", r.stats["getdel"])
			}
		case "token: refresh_token":
			if r.stats["evalsha"] != 1 {
				t.Errorf("refresh grant: %d EVALSHA, want 1 (the rotation)", r.stats["evalsha"])
			}
		}
	}
	if known != 0 || knownB != 0 {
		t.Errorf("a request on a known session: %d and %d round trips, want 0", known, knownB)
	}
	if codeTrips != 4 || refreshTrips != 3 {
		t.Errorf("code grant %d round trips (want 4: client, take, tombstone, family), refresh %d (want 3: client, family, rotation)", codeTrips, refreshTrips)
	}
}

const (
	initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`
	whoamiBody     = `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// BenchmarkRefreshGrantStores: the refresh_token grant over HTTP on loopback, with the
// proxy's state in memory and in Redis, in the same run.
//
// "redis-fsync-always" syncs the append-only file on every write (no acknowledged write
// is lost in a crash); "redis-fsync-everysec" is Redis's default (up to a second lost).
func BenchmarkRefreshGrantStores(b *testing.B) {
	store := func(args ...string) oauthproxy.Store {
		redis := testutil.StartRedis(b, args...)
		rc := goredis.NewClient(&goredis.Options{Addr: redis.Addr})
		b.Cleanup(func() { rc.Close() })
		rs, err := redisstore.New(redisstore.Config{Client: rc})
		if err != nil {
			b.Fatal(err)
		}
		return rs
	}
	for _, tc := range []struct {
		name  string
		store oauthproxy.Store
	}{{"memory", nil}, {"redis-fsync-always", store()}, {"redis-fsync-everysec", store("--appendfsync", "everysec")}} {
		b.Run(tc.name, func(b *testing.B) {
			key, _ := oauthproxy.GenerateSigningKey()
			ln, _ := net.Listen("tcp", "127.0.0.1:0")
			base := "http://" + ln.Addr().String()
			newReplica(b, ln, base, [2]mcpauth.Secret{key, oauthproxy.GenerateEncryptionKey()}, tc.store, nil)
			f := signInFlow(b, base)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				out := f.tokenRequest(base, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {f.refresh}, "client_id": {f.clientID}})
				f.refresh = out["refresh_token"].(string)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "refreshes/s")
		})
	}
}

// signInFlow signs alice in at base as a public client and returns the flow holding
// its tokens.
func signInFlow(tb testing.TB, base string) *flow {
	tb.Helper()
	jar, _ := cookiejar.New(nil)
	f := &flow{tb: tb, base: base, browser: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	resp, err := http.Post(base+"/oauth/register", "application/json", strings.NewReader(`{"redirect_uris":["http://127.0.0.1:1/cb"],"grant_types":["authorization_code","refresh_token"],"token_endpoint_auth_method":"none"}`))
	if err != nil {
		tb.Fatal(err)
	}
	var reg map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&reg)
	resp.Body.Close()
	f.clientID = reg["client_id"].(string)
	f.verifier = strings.Repeat("v", 43)
	f.do(http.MethodGet, base+"/oauth/authorize?"+url.Values{"response_type": {"code"}, "client_id": {f.clientID}, "redirect_uri": {"http://127.0.0.1:1/cb"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(f.verifier)}, "code_challenge_method": {"S256"}, "resource": {base + "/notes/mcp"}, "scope": {"notes:read"}}.Encode(), nil, http.StatusOK)
	v := f.form()
	v.Set("action", "approve")
	f.do(http.MethodPost, base+"/oauth/consent", v, http.StatusFound)
	f.do(http.MethodGet, f.loc, nil, http.StatusOK)
	v = f.form()
	v.Set("user", "alice")
	f.do(http.MethodPost, base+"/oauth/dev/login", v, http.StatusFound)
	f.do(http.MethodGet, f.loc, nil, http.StatusFound)
	u, _ := url.Parse(f.loc)
	out := f.tokenRequest(base, url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")}, "redirect_uri": {"http://127.0.0.1:1/cb"}, "client_id": {f.clientID}, "code_verifier": {f.verifier}})
	f.refresh, f.access = out["refresh_token"].(string), out["access_token"].(string)
	return f
}
