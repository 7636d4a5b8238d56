// Command example runs two protected MCP services behind an mcpauth hub.
//
//	go run ./example
//
// With no identity provider configured it starts an embedded development issuer and
// prints ready-made tokens for five demo users. With MCPAUTH_JWKS_URI and MCPAUTH_ISSUER
// set it trusts that issuer instead and prints no tokens. See the README for the contract.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/hub"
	"github.com/mcpauth/mcpauth/mcpauthtest"
	"github.com/mcpauth/mcpauth/oauthproxy"
	"github.com/mcpauth/mcpauth/providers/bearer"
	"github.com/mcpauth/mcpauth/scopes"
	"github.com/mcpauth/mcpauth/store/redisstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(1)
	}
}

// demoUser is a user the development issuer mints tokens for.
type demoUser struct {
	name, tenant string
	scopes       []string
}

var demoUsers = []demoUser{
	{"alice", "acme", []string{"notes:read", "notes:write"}},
	{"bob", "acme", []string{"notes:read"}},
	{"carol", "globex", []string{"notes:read", "notes:write"}},
	{"root", "", []string{"admin"}},
	{"dave", "", []string{"notes:read", "notes:write"}}, // no tenant: a personal notes space
}

// run starts the example and serves until ctx ends. ready, when not nil, receives the
// listening address and base URL once the server accepts connections.
func run(ctx context.Context, args []string, out io.Writer, ready func(addr, baseURL string)) error {
	fs := flag.NewFlagSet("example", flag.ContinueOnError)
	fs.SetOutput(out)
	defAddr := os.Getenv("MCPAUTH_ADDR")
	if defAddr == "" {
		defAddr = "127.0.0.1:8080"
	}
	addr := fs.String("addr", defAddr, "listen address (env MCPAUTH_ADDR)")
	if err := fs.Parse(args); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (choose another with -addr or MCPAUTH_ADDR)", *addr, err)
	}
	baseURL := strings.TrimRight(os.Getenv("MCPAUTH_BASE_URL"), "/")
	if baseURL == "" {
		baseURL = "http://" + ln.Addr().String()
	}

	a, err := newApp(baseURL)
	if err != nil {
		ln.Close()
		return err
	}

	srv := &http.Server{Handler: a.hub, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	fmt.Fprintf(out, "mcpauth example listening on %s\n", ln.Addr())
	fmt.Fprintf(out, "  notes: %s\n  admin: %s\n", a.hub.ResourceURL("notes"), a.hub.ResourceURL("admin"))
	if a.proxy != nil {
		fmt.Fprintf(out, "\nSign in from any MCP client (Claude, VS Code, MCP Inspector, the SDKs): add %s as a remote server.\n", a.hub.ResourceURL("notes"))
		fmt.Fprintf(out, "  It discovers the authorization server %s and opens a browser sign-in through the %s identity provider.\n", a.proxy.Issuer(), a.upstream)
		fmt.Fprintf(out, "  Sign-in state and session owners are kept in %s.\n", a.stores)
	}
	if a.dev != nil {
		if err := a.printTokens(out); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(out, "  trusting the providers configured by the environment: %s\n", strings.Join(a.providers, ", "))
	}
	if ready != nil {
		ready(ln.Addr().String(), baseURL)
	}

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Fprintln(out, "mcpauth example stopped")
	return nil
}

// app is the example's hub, its services and, in development mode, its issuer.
type app struct {
	hub   *hub.Hub
	dev   *mcpauthtest.DevIssuer
	proxy *oauthproxy.Server
	// upstream names the identity provider of the sign-in ("" without a proxy).
	upstream string
	// stores is where shared state lives: "memory" or "redis".
	stores string
	store  *noteStore
	// providers names the identity providers configured by the environment.
	providers []string
}

// newApp builds the hub for baseURL. With providers configured by the environment
// (MCPAUTH_JWKS_URI, MCPAUTH_ISSUER, ...) and no MCPAUTH_UPSTREAM, the hub only checks
// their tokens. Otherwise the hub is its own authorization server (oauthproxy) in front
// of the identity provider MCPAUTH_UPSTREAM names; with none named, the development
// provider, and an embedded development issuer at baseURL + "/dev" also signs the
// printed demo tokens.
func newApp(baseURL string) (*app, error) {
	a := &app{store: newNoteStore(), stores: "memory"}
	ps, err := providersFromEnv()
	if err != nil {
		return nil, err
	}
	hcfg := hub.Config{BaseURL: baseURL} // audit events go to slog.Default()
	// Browser-based clients (MCP Inspector in direct mode) need CORS.
	hcfg.CORSOrigins = strings.FieldsFunc(os.Getenv("MCPAUTH_CORS_ORIGINS"), func(r rune) bool { return r == ',' || r == ' ' })
	var up oauthproxy.Upstream
	if ps != nil && os.Getenv("MCPAUTH_UPSTREAM") == "" {
		// Resource server only: trust the tokens of the configured providers.
		a.providers = ps.names
		hcfg.VerifierFor = ps.factory()
		hcfg.AuthorizationServers = ps.authServers
		hcfg.AuthorizationServerMetadata = ps.metadata
		if ps.opaque {
			// Opaque tokens cost an upstream call: remember refusals briefly and bound
			// concurrent upstream calls (see mcpauth.CachedOpaque).
			hcfg.CacheOptions = []mcpauth.CacheOption{mcpauth.WithNegativeTTL(10 * time.Second), mcpauth.WithMaxConcurrent(32)}
		}
	} else {
		// Sign-in: the hub is its own authorization server in front of the upstream.
		var dev bool
		if up, dev, err = upstreamFromEnv(baseURL); err != nil {
			return nil, err
		}
		var devTokens mcpauth.VerifierFactory
		if dev {
			if a.dev, err = mcpauthtest.NewDevIssuer(baseURL + "/dev"); err != nil {
				return nil, err
			}
			// The printed demo tokens are signed by the embedded issuer, whose key is
			// trusted directly: no JWKS round trip to ourselves.
			cfg := bearer.Config{
				Keys:       bearer.StaticKeys(a.dev.PublicKey()),
				Issuers:    []string{a.dev.Issuer()},
				Algorithms: []string{"RS256"},
			}
			if aud := os.Getenv("MCPAUTH_AUDIENCE"); aud != "" {
				cfg.Audience = strings.FieldsFunc(aud, func(r rune) bool { return r == ',' || r == ' ' })
			}
			if devTokens, err = bearer.NewFactory(cfg); err != nil {
				return nil, err
			}
		}
		hcfg.VerifierFor = func(resource string) (mcpauth.TokenVerifier, error) {
			signedIn, err := a.proxy.VerifierFor(resource)
			if err != nil || devTokens == nil {
				return signedIn, err
			}
			demo, err := devTokens(resource)
			if err != nil {
				return nil, err
			}
			return mcpauth.Any(signedIn, demo), nil
		}
	}

	// Several replicas share their state in Redis (MCPAUTH_REDIS_URL); the default is
	// this process's memory.
	var shared *redisstore.Store
	if rcfg, ok, err := redisstore.ConfigFromEnv("MCPAUTH"); err != nil {
		return nil, err
	} else if ok {
		if shared, err = redisstore.New(rcfg); err != nil {
			return nil, err
		}
		hcfg.SessionStore = shared.Sessions(0)
		a.stores = "redis"
	}

	h, err := hub.New(hcfg)
	if err != nil {
		return nil, err
	}
	if up != nil {
		a.upstream = up.Name()
		if a.proxy, err = newProxy(h, baseURL, up, a.dev != nil, shared); err != nil {
			return nil, err
		}
		if err := h.UseAuthorizationServer(a.proxy); err != nil {
			return nil, err
		}
	}
	if a.dev != nil {
		for _, p := range a.dev.Paths() {
			h.Handle(p, a.dev.Handler())
		}
	}
	if err := h.Mount("notes", newNotesServer(a.store)); err != nil {
		return nil, err
	}
	if err := h.Mount("admin", newAdminServer(a.store), hub.WithRequiredScopes(scopes.All("admin"))); err != nil {
		return nil, err
	}
	a.hub = h
	return a, nil
}

// externalProviderConfigured reports whether the environment names an issuer's keys.
func externalProviderConfigured() bool {
	for _, k := range []string{"MCPAUTH_JWKS_URI", "MCPAUTH_PUBLIC_KEY_FILE", "MCPAUTH_HMAC_SECRET", "MCPAUTH_HMAC_SECRET_FILE"} {
		if os.Getenv(k) != "" {
			return true
		}
	}
	return false
}

// mint returns a development token for user u and the given service.
func (a *app) mint(u demoUser, service string) (string, error) {
	c := bearer.NewClaims(u.name).
		AddScopes(u.scopes...).
		WithAudience(a.hub.ResourceURL(service)).
		ExpiresIn(8 * time.Hour)
	if u.tenant != "" {
		c.AddClaim("tenant_id", u.tenant)
	}
	return a.dev.Sign(c)
}

func (a *app) printTokens(out io.Writer) error {
	fmt.Fprintf(out, "\nDevelopment issuer: %s (tokens valid 8h, for local testing only)\n", a.dev.Issuer())
	var aliceNotes string
	for _, u := range demoUsers {
		tenant := u.tenant
		if tenant == "" {
			tenant = "none"
			if slices.Contains(u.scopes, "notes:read") {
				tenant += " (a personal notes space)"
			}
		}
		fmt.Fprintf(out, "\n%s (scopes: %s, tenant: %s)\n", u.name, strings.Join(u.scopes, " "), tenant)
		for _, svc := range []string{"notes", "admin"} {
			tok, err := a.mint(u, svc)
			if err != nil {
				return err
			}
			if u.name == "alice" && svc == "notes" {
				aliceNotes = tok
			}
			fmt.Fprintf(out, "  %s token: %s\n", svc, tok)
			if expect := refusedWith(u, svc); expect != "" {
				fmt.Fprintf(out, "    (expected refusal: %s)\n", expect)
			}
		}
	}
	notes := a.hub.ResourceURL("notes")
	headers := `-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream'`
	fmt.Fprintf(out, "\nTry it (alice opens a session, then calls a tool in it):\n")
	fmt.Fprintf(out, "  TOKEN=%s\n", aliceNotes)
	fmt.Fprintf(out, "  SID=$(curl -s -D - -o /dev/null -X POST %s -H \"Authorization: Bearer $TOKEN\" %s -d '%s' | tr -d '\\r' | sed -n 's/^[Mm]cp-[Ss]ession-[Ii]d: //p')\n",
		notes, headers, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}`)
	fmt.Fprintf(out, "  curl -s -X POST %s -H \"Authorization: Bearer $TOKEN\" -H \"Mcp-Session-Id: $SID\" -H 'Mcp-Protocol-Version: 2025-06-18' %s -d '%s'\n",
		notes, headers, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add_note","arguments":{"text":"hello from curl"}}}`)
	return nil
}

// refusedWith says how a demo user's token for a service is refused, or "" when it is
// accepted.
func refusedWith(u demoUser, service string) string {
	has := func(s string) bool { return slices.Contains(u.scopes, s) }
	switch {
	case service == "admin" && !has("admin"):
		return "403 on every request: the admin service requires scope admin"
	case service == "notes" && !has("notes:write") && has("notes:read"):
		return "add_note gets a 403 step-up to notes:write"
	case service == "notes" && !has("notes:read"):
		return "list_notes and add_note get a 403 step-up"
	}
	return ""
}
