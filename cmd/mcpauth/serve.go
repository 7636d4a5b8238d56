package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/audit"
	"github.com/mcpauth/mcpauth/gateway"
	"github.com/mcpauth/mcpauth/hub"
	"github.com/mcpauth/mcpauth/internal/config"
	"github.com/mcpauth/mcpauth/oauthproxy"
	"github.com/mcpauth/mcpauth/providers/bearer"
	"github.com/mcpauth/mcpauth/store/redisstore"
)

// app is a running hub: its services, sign-in proxy, store and metrics.
type app struct {
	baseURL string
	hub     *hub.Hub
	proxy   *oauthproxy.Server
	metrics *metrics
	log     *slog.Logger
	out     io.Writer
	cfg     *Config
	signer  *gateway.TokenSigner // for callerTokens, when a server uses them
	closers []func()
	once    sync.Once

	mu       sync.Mutex
	services map[string]*mounted
}

// mounted is a service the hub serves, with the configuration it was built from.
type mounted struct {
	svc *gateway.Service
	cfg Server
}

// newApp builds the hub of c at baseURL and starts its services (they connect in the
// background; each (re)connection prints "mcpauth: upstream <name> connected" on out).
func newApp(c *Config, baseURL string, log *slog.Logger, out io.Writer) (_ *app, err error) {
	a := &app{baseURL: baseURL, metrics: newMetrics(), log: log, out: out, cfg: c, services: map[string]*mounted{}}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	auth, err := readAuth(c, baseURL, false)
	if err != nil {
		return nil, problemsAt(c, "auth.upstream", err)
	}
	a.closers = append(a.closers, auth.close)
	if auth.dev {
		if u, _ := url.Parse(baseURL); !config.IsLoopbackHost(u.Hostname()) {
			log.Warn("mcpauth: the dev upstream lets anyone sign in as anyone, and the hub is not on a loopback address: use it for development only", "base_url", baseURL)
		}
	}

	hcfg := hub.Config{
		BaseURL:     baseURL,
		Audit:       a.metrics.sink(audit.NewSlogSink(log)),
		CORSOrigins: c.CORSOrigins,
	}
	var store oauthproxy.Store
	if c.Redis != nil {
		rcfg, err := redisConfig(c.Redis)
		if err != nil {
			return nil, problemsAt(c, "redis", err)
		}
		a.closers = append(a.closers, func() { _ = rcfg.Client.Close() })
		shared, err := redisstore.New(rcfg)
		if err != nil {
			return nil, problemsAt(c, "redis", err)
		}
		store = shared
		hcfg.SessionStore = shared.Sessions(0)
	}

	// Each service's verifier is cached here rather than by the hub (which does not
	// cache a *CachedVerifier again), so that the cache's counters can be exported.
	var factory mcpauth.VerifierFactory
	if auth.upstream == nil { // none: a JWT issuer's tokens
		f, err := bearer.NewFactory(auth.bearer)
		if err != nil {
			return nil, problemsAt(c, "auth.upstream", err)
		}
		factory = f
		hcfg.AuthorizationServers = auth.bearer.Issuers
	} else {
		factory = func(resource string) (mcpauth.TokenVerifier, error) { return a.proxy.VerifierFor(resource) }
	}
	hcfg.VerifierFor = func(resource string) (mcpauth.TokenVerifier, error) {
		v, err := factory(resource)
		if err != nil {
			return nil, err
		}
		if cl, ok := v.(io.Closer); ok {
			a.closers = append(a.closers, func() { _ = cl.Close() })
		}
		cached := mcpauth.Cached(v)
		a.metrics.addCache(serviceOf(baseURL, resource), cached)
		return cached, nil
	}
	if a.hub, err = hub.New(hcfg); err != nil {
		return nil, err
	}
	if auth.upstream != nil {
		if a.proxy, err = auth.newProxy(a.hub, baseURL, store, log); err != nil {
			return nil, problemsAt(c, "auth.upstream", err)
		}
		if err := a.hub.UseAuthorizationServer(a.proxy); err != nil {
			return nil, err
		}
	}

	if slices.ContainsFunc(c.Servers, func(s Server) bool { return s.CallerTokens }) {
		// Before any service starts, so that a missing key starts nothing.
		if _, err := a.callerSigner(); err != nil {
			return nil, problemsAt(c, "mcpServers", err)
		}
	}
	for _, s := range c.Servers {
		if err := a.mount(s); err != nil {
			return nil, problemsAt(c, "mcpServers."+s.Name, err)
		}
	}
	if err := a.mountAggregate(); err != nil {
		return nil, err
	}
	a.hub.Handle("GET /metrics", a.metrics.handler())
	return a, nil
}

// callerSigner returns the signer of caller tokens, made (and its keys served at
// /gateway/jwks.json) the first time a server needs it: at start, or when a reload adds
// the first server with callerTokens.
func (a *app) callerSigner() (*gateway.TokenSigner, error) {
	if a.signer == nil {
		signer, err := callerTokenSigner(a.baseURL)
		if err != nil {
			return nil, err
		}
		a.signer = signer
		a.hub.Handle("GET /gateway/jwks.json", signer.JWKSHandler())
	}
	return a.signer, nil
}

// mount starts the gateway service of s and mounts it on the hub.
func (a *app) mount(s Server) error {
	var signer *gateway.TokenSigner
	if s.CallerTokens {
		var err error
		if signer, err = a.callerSigner(); err != nil {
			return err
		}
	}
	gcfg := gatewayConfig(s, signer)
	connected, disconnected := a.metrics.upstream(s.Name)
	name := s.Name
	gcfg.Logger = a.log
	gcfg.OnDisconnect = disconnected
	gcfg.OnRequest = a.metrics.requests(s.Name)
	gcfg.OnConnect = func() {
		connected()
		fmt.Fprintf(a.out, "mcpauth: upstream %s connected\n", name)
	}
	svc, err := gateway.New(gcfg)
	if err != nil {
		return err
	}
	if err := a.hub.Mount(s.Name, svc.Server(), append(mountOptions(s), hub.WithAvailability(svc.Available))...); err != nil {
		_ = svc.Close()
		return err
	}
	a.mu.Lock()
	a.services[s.Name] = &mounted{svc: svc, cfg: s}
	a.mu.Unlock()
	return nil
}

// unmount stops serving the named service and closes it.
func (a *app) unmount(name string) {
	a.mu.Lock()
	m := a.services[name]
	delete(a.services, name)
	a.mu.Unlock()
	_ = a.hub.Unmount(name)
	if m != nil {
		_ = m.svc.Close()
	}
	a.metrics.remove(name)
}

// mountAggregate (re)mounts at /mcp the aggregate of the services that are in it, when
// the configuration asks for one.
func (a *app) mountAggregate() error {
	_ = a.hub.Unmount("") // a reload rebuilds it
	if !a.cfg.Aggregate.Enabled {
		return nil
	}
	in := map[string]*gateway.Service{}
	a.mu.Lock()
	for name, m := range a.services {
		if m.cfg.InAggregate {
			in[name] = m.svc
		}
	}
	a.mu.Unlock()
	if len(in) == 0 {
		return nil
	}
	agg, err := gateway.Aggregate(a.cfg.Aggregate.Separator, in)
	if err != nil {
		return err
	}
	return a.hub.Mount("", agg)
}

// reload applies c's mcpServers: services removed are unmounted and closed, new ones
// mounted, changed ones replaced (their sessions end); unchanged ones go on with their
// sessions. The aggregate is rebuilt. Other settings need a restart: they are reported.
func (a *app) reload(c *Config) error {
	var restart []string
	for name, same := range map[string]bool{
		"baseURL": c.BaseURL == a.cfg.BaseURL, "listen": c.Listen == a.cfg.Listen,
		"auth": reflect.DeepEqual(c.Auth, a.cfg.Auth), "redis": reflect.DeepEqual(c.Redis, a.cfg.Redis),
		"corsOrigins": slices.Equal(c.CORSOrigins, a.cfg.CORSOrigins), "log": c.Log == a.cfg.Log,
	} {
		if !same {
			restart = append(restart, name)
		}
	}
	if len(restart) > 0 {
		sort.Strings(restart)
		a.log.Warn("mcpauth: reload: these settings changed and need a restart to apply", "settings", restart)
	}
	next := map[string]Server{}
	for _, s := range c.Servers {
		next[s.Name] = s
	}
	a.mu.Lock()
	current := maps.Clone(a.services)
	a.mu.Unlock()
	var errs []error
	for name, m := range current {
		if s, ok := next[name]; !ok || !sameServer(s, m.cfg) {
			a.unmount(name)
			a.log.Info("mcpauth: reload: service removed", "service", name)
		}
	}
	for _, s := range c.Servers {
		if m, ok := current[s.Name]; ok && sameServer(s, m.cfg) {
			continue
		}
		if err := a.mount(s); err != nil {
			errs = append(errs, fmt.Errorf("mcpServers.%s: %w", s.Name, err))
			continue
		}
		a.log.Info("mcpauth: reload: service mounted", "service", s.Name)
	}
	a.cfg.Servers, a.cfg.Aggregate = c.Servers, c.Aggregate
	if err := a.mountAggregate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// sameServer reports whether two configurations of a service are the same (their lines
// in the file aside).
func sameServer(x, y Server) bool {
	x.Line, y.Line = 0, 0
	return reflect.DeepEqual(x, y)
}

// serviceOf is the name of the service whose resource URI is resource ("" for /mcp).
func serviceOf(baseURL, resource string) string {
	return strings.TrimPrefix(strings.TrimSuffix(strings.TrimPrefix(resource, baseURL), "/mcp"), "/")
}

// Close stops the services (killing their child process groups) and releases the rest.
func (a *app) Close() {
	a.once.Do(func() {
		var wg sync.WaitGroup
		a.mu.Lock()
		for _, m := range a.services {
			wg.Go(func() { _ = m.svc.Close() })
		}
		a.mu.Unlock()
		wg.Wait()
		for i := len(a.closers) - 1; i >= 0; i-- {
			a.closers[i]()
		}
	})
}

// problemsAt reports err at the line of key of c.
func problemsAt(c *Config, key string, err error) error {
	p := &Problems{}
	envProblems(p, c, key, func() error { return err })
	return p
}

// newLogger is the process's logger, on w.
func newLogger(l Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(l.Level))
	opts := &slog.HandlerOptions{Level: level}
	if l.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// lockedWriter serializes writes from the services' goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// shutdownTimeout bounds the wait for requests in flight at shutdown.
const shutdownTimeout = 5 * time.Second

// serve runs the hub of c until ctx ends. It prints "mcpauth: listening on <addr>" once
// it accepts connections.
func serve(ctx context.Context, c *Config, file string, stdout, stderr io.Writer) int {
	log := newLogger(c.Log, stderr)
	out := &lockedWriter{w: stdout}
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "%s:%d: listen: %v: choose another address\n", file, c.lines["listen"], err)
		return 1
	}
	baseURL := c.BaseURL
	if baseURL == "" {
		baseURL, _ = c.defaultBaseURL(ln.Addr().String())
	}
	a, err := newApp(c, baseURL, log, out)
	if err != nil {
		ln.Close()
		fmt.Fprintln(stderr, withFile(err, file))
		return 1
	}
	defer a.Close()

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	srv := &http.Server{Handler: a.hub, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(out, "mcpauth: listening on %s (base URL %s)\n", ln.Addr(), baseURL)
	for _, s := range c.Servers {
		fmt.Fprintf(out, "  %s: %s\n", s.Name, a.hub.ResourceURL(s.Name))
	}
	if u := a.hub.ResourceURL(""); u != "" {
		fmt.Fprintf(out, "  aggregate: %s\n", u)
	}

	for {
		select {
		case <-hup:
			next, err := LoadConfig(file)
			if err != nil {
				log.Error("mcpauth: SIGHUP: the configuration does not load; still serving the previous one", "error", err.Error())
				continue
			}
			if err := a.reload(next); err != nil {
				log.Error("mcpauth: SIGHUP: reload", "error", withFile(err, file).Error())
			}
			fmt.Fprintln(out, "mcpauth: reloaded")
			continue
		case err := <-errc:
			log.Error("mcpauth: serving failed", "error", err)
			return 1
		case <-ctx.Done():
		}
		break
	}
	log.Info("mcpauth: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// Event streams stay open until their clients leave: end them.
		_ = srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("mcpauth: serving failed", "error", err)
		return 1
	}
	a.Close()
	fmt.Fprintln(out, "mcpauth: stopped")
	return 0
}

// callerTokenSigner is the signer of the caller tokens, with the key of
// MCPAUTH_GATEWAY_SIGNING_KEY (or its _FILE); upstreams fetch its keys at
// <baseURL>/gateway/jwks.json.
func callerTokenSigner(baseURL string) (*gateway.TokenSigner, error) {
	e := &config.Env{Pkg: "mcpauth", Prefix: "MCPAUTH", Group: "GATEWAY"}
	key := e.Secret(config.Secret{Name: "SIGNING_KEY", Noun: "PEM private key", FileNoun: "signing key"})
	if err := e.Err(); err != nil {
		return nil, err
	}
	if key.IsZero() {
		return nil, errors.New("callerTokens needs MCPAUTH_GATEWAY_SIGNING_KEY (or _FILE): a PEM Ed25519 or EC P-256 private key the upstreams trust through <baseURL>/gateway/jwks.json")
	}
	return gateway.NewTokenSigner(baseURL, key)
}
