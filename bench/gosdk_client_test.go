package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/audit"
	"github.com/mcpauth/mcpauth/hub"
	"github.com/mcpauth/mcpauth/mcpauthtest"
	"github.com/mcpauth/mcpauth/middleware"
	"github.com/mcpauth/mcpauth/providers/bearer"
	"github.com/mcpauth/mcpauth/scopes"
)

// TestGoSDKClient connects the official Go SDK client (go-sdk v1.8.0, Streamable HTTP) to
// a hub with a token granting notes:read only: it negotiates a protocol version the hub
// serves, lists the tools, calls whoami and list_notes, is refused add_note with the 403
// step-up challenge (surfaced by go-sdk as the JSON-RPC error of the reply body), keeps
// its session after the refusal, and is refused with 401 without a token or with a token
// minted for another service.
//
// go-sdk v1.8.0 by default offers protocol 2026-07-28 through server/discover (SEP-2575)
// and mcp-go v1.2.1 accepts it: the client then speaks the stateless protocol (no
// initialize, no Mcp-Session-Id). Pinned to 2025-11-25 or 2025-06-18
// (ClientSessionOptions.ProtocolVersion) it initializes with that version.
func TestGoSDKClient(t *testing.T) {
	f := newGoSDKFixture(t)
	metadata := f.base + "/.well-known/oauth-protected-resource/notes/mcp"
	challenge401 := `Bearer resource_metadata="` + metadata + `", scope="notes:read notes:write"`
	challenge403 := middleware.Challenge{
		ResourceMetadata: metadata,
		Scope:            []string{"notes:read", "notes:write"},
		Error:            "insufficient_scope",
		Description:      `tool "add_note" requires notes:write`,
	}.String()
	readToken := f.token("notes", "notes:read")

	for _, tc := range []struct {
		name string
		pin  string // ClientSessionOptions.ProtocolVersion
		want string // negotiated
	}{
		{name: "default", want: "2026-07-28"},
		{name: "2025-11-25", pin: "2025-11-25", want: "2025-11-25"},
		{name: "2025-06-18", pin: "2025-06-18", want: "2025-06-18"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{token: readToken}
			cs := f.connect(t, rec, tc.pin)
			defer cs.Close()

			if got := cs.InitializeResult().ProtocolVersion; got != tc.want {
				t.Errorf("negotiated protocol version %q, want %q", got, tc.want)
			}
			// 2026-07-28 is negotiated by server/discover and is stateless (no
			// initialize, no session); earlier versions by initialize, with a session.
			first := rec.all()[0]
			var asked string
			if tc.want >= "2026-07-28" {
				var d struct {
					Params struct {
						Meta map[string]any `json:"_meta"`
					} `json:"params"`
				}
				_ = json.Unmarshal(first.reqBody, &d)
				asked, _ = d.Params.Meta["io.modelcontextprotocol/protocolVersion"].(string)
				if first.rpc != "server/discover" || first.status != http.StatusOK {
					t.Errorf("first exchange %s %d, want server/discover 200", first.rpc, first.status)
				}
				if cs.ID() != "" {
					t.Errorf("stateless protocol with session %q", cs.ID())
				}
			} else {
				var init struct {
					Params struct {
						ProtocolVersion string `json:"protocolVersion"`
					} `json:"params"`
				}
				_ = json.Unmarshal(first.reqBody, &init)
				asked = init.Params.ProtocolVersion
				if first.rpc != "initialize" || first.status != http.StatusOK {
					t.Errorf("first exchange %s %d, want initialize 200", first.rpc, first.status)
				}
				if cs.ID() == "" {
					t.Error("no Mcp-Session-Id")
				}
			}
			if asked != tc.want {
				t.Errorf("%s asked for protocol %q, want %q", first.rpc, asked, tc.want)
			}
			for _, x := range rec.all()[1:] {
				if !x.authorization || x.protocolVersion != tc.want {
					t.Errorf("%s: Authorization %t, MCP-Protocol-Version %q (want %q)", x.rpc, x.authorization, x.protocolVersion, tc.want)
				}
			}
			if tc.pin == "" {
				t.Logf("go-sdk v1.8.0 by default: %s asking for %s, negotiated %s", first.rpc, asked, cs.InitializeResult().ProtocolVersion)
			}

			tools, err := cs.ListTools(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, tool := range tools.Tools {
				names = append(names, tool.Name)
			}
			if want := []string{"add_note", "list_notes", "whoami"}; !reflect.DeepEqual(names, want) {
				t.Errorf("tools %q, want %q", names, want)
			}

			for tool, want := range map[string]string{"whoami": "alice@acme", "list_notes": "buy milk|call bob"} {
				if got := callText(t, cs, tool, nil); got != want {
					t.Errorf("%s: %q, want %q", tool, got, want)
				}
			}

			_, err = cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "add_note", Arguments: map[string]any{"text": "x"}})
			var rpcErr *jsonrpc.Error
			if !errors.As(err, &rpcErr) {
				t.Fatalf("add_note with notes:read: error %v, want a JSON-RPC error", err)
			}
			t.Logf("go-sdk surfaces the refused call as: %v", err)
			if rpcErr.Code != middleware.CodeForbidden || rpcErr.Message != `insufficient_scope: tool "add_note" requires notes:write` {
				t.Errorf("JSON-RPC error %d %q", rpcErr.Code, rpcErr.Message)
			}
			var data map[string]string
			if err := json.Unmarshal(rpcErr.Data, &data); err != nil {
				t.Fatalf("error data %s: %v", rpcErr.Data, err)
			}
			if want := map[string]string{"error": "insufficient_scope", "error_description": `tool "add_note" requires notes:write`, "www_authenticate": challenge403}; !reflect.DeepEqual(data, want) {
				t.Errorf("error data %q, want %q", data, want)
			}
			x := rec.last("tools/call")
			if x.status != http.StatusForbidden || x.wwwAuthenticate != challenge403 {
				t.Errorf("add_note answered %d with WWW-Authenticate %q, want 403 with %q", x.status, x.wwwAuthenticate, challenge403)
			}
			var body struct {
				ID json.RawMessage `json:"id"`
			}
			var req struct {
				ID json.RawMessage `json:"id"`
			}
			_ = json.Unmarshal(x.respBody, &body)
			_ = json.Unmarshal(x.reqBody, &req)
			if len(req.ID) == 0 || string(body.ID) != string(req.ID) {
				t.Errorf("403 body id %s, request id %s", body.ID, req.ID)
			}

			// The session survives the refusal.
			if got := callText(t, cs, "whoami", nil); got != "alice@acme" {
				t.Errorf("whoami after the refusal: %q", got)
			}
		})
	}

	for _, tc := range []struct {
		name, token string
		challenge   string // exact, or "" to check the error attribute only
		errorAttr   string
		rpcPrefix   string // of the JSON-RPC error message go-sdk surfaces
	}{
		{name: "no token", challenge: challenge401, rpcPrefix: "unauthorized: "},
		{name: "wrong audience", token: f.token("admin", "notes:read", "admin"), errorAttr: `error="invalid_token"`, rpcPrefix: "invalid_token: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{token: tc.token}
			_, err := mcp.NewClient(&mcp.Implementation{Name: "mcpauth-e2e", Version: "1.0.0"}, nil).
				Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: f.base + "/notes/mcp", HTTPClient: &http.Client{Transport: rec}}, nil)
			if err == nil {
				t.Fatal("connected")
			}
			exs := rec.all()
			var rpcs []string
			for _, x := range exs {
				rpcs = append(rpcs, x.rpc)
			}
			t.Logf("go-sdk sent %q and surfaces the refused connect as: %v", rpcs, err)
			var rpcErr *jsonrpc.Error
			if !errors.As(err, &rpcErr) || rpcErr.Code != middleware.CodeForbidden || !strings.HasPrefix(rpcErr.Message, tc.rpcPrefix) {
				t.Errorf("connect error %v, want the JSON-RPC error %d %q... of the 401 body", err, middleware.CodeForbidden, tc.rpcPrefix)
			}
			if len(exs) == 0 {
				t.Fatal("no exchange")
			}
			for _, x := range exs {
				if x.status != http.StatusUnauthorized {
					t.Errorf("%s answered %d, want 401", x.rpc, x.status)
				}
				switch {
				case tc.challenge != "" && x.wwwAuthenticate != tc.challenge:
					t.Errorf("%s: WWW-Authenticate %q, want %q", x.rpc, x.wwwAuthenticate, tc.challenge)
				case tc.errorAttr != "" && (!strings.HasPrefix(x.wwwAuthenticate, challenge401+", ") || !strings.Contains(x.wwwAuthenticate, tc.errorAttr)):
					t.Errorf("%s: WWW-Authenticate %q, want %q with %s", x.rpc, x.wwwAuthenticate, challenge401, tc.errorAttr)
				}
			}
			if last := exs[len(exs)-1]; last.rpc != "initialize" {
				t.Errorf("last refused request %s, want initialize", last.rpc)
			}
		})
	}
}

// callText calls tool, which must answer one text within 30 seconds, and returns the text.
func callText(t *testing.T, cs *mcp.ClientSession, tool string, args map[string]any) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	if res.IsError || len(res.Content) != 1 {
		t.Fatalf("%s: %+v", tool, res)
	}
	text, ok := res.Content[0].(*mcp.TextContent)
	if !ok {
		t.Fatalf("%s: content %T", tool, res.Content[0])
	}
	return text.Text
}

// goSDKFixture is a hub on loopback serving the notes service (and an admin service),
// trusting a development issuer on its own loopback server.
type goSDKFixture struct {
	base string
	hub  *hub.Hub
	dev  *mcpauthtest.DevIssuer
	t    *testing.T
}

func newGoSDKFixture(t *testing.T) *goSDKFixture {
	t.Helper()
	issuerMux := http.NewServeMux()
	issuer := httptest.NewServer(issuerMux)
	t.Cleanup(issuer.Close)
	dev, err := mcpauthtest.NewDevIssuer(issuer.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range dev.Paths() {
		issuerMux.Handle(p, dev.Handler())
	}
	factory, err := bearer.NewFactory(dev.VerifierConfig())
	if err != nil {
		t.Fatal(err)
	}
	hubMux := http.NewServeMux()
	srv := httptest.NewServer(hubMux)
	t.Cleanup(srv.Close)
	h, err := hub.New(hub.Config{BaseURL: srv.URL, VerifierFor: factory, AuthorizationServers: []string{dev.Issuer()}, Audit: audit.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Mount("notes", goSDKNotesServer()); err != nil {
		t.Fatal(err)
	}
	admin := server.NewMCPServer("admin", "1.0.0")
	admin.AddTool(mcpgo.NewTool("stats"), func(context.Context, mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		return mcpgo.NewToolResultText("42"), nil
	})
	if err := h.Mount("admin", admin, hub.WithRequiredScopes(scopes.All("admin"))); err != nil {
		t.Fatal(err)
	}
	hubMux.Handle("/", h)
	return &goSDKFixture{base: srv.URL, hub: h, dev: dev, t: t}
}

// token signs a token for alice of tenant acme, for the named service.
func (f *goSDKFixture) token(service string, granted ...string) string {
	f.t.Helper()
	tok, err := f.dev.Sign(bearer.NewClaims("alice").AddScopes(granted...).WithAudience(f.hub.ResourceURL(service)).AddClaim("tenant_id", "acme"))
	if err != nil {
		f.t.Fatal(err)
	}
	return tok
}

// connect opens a go-sdk client session to the notes service through rec.
func (f *goSDKFixture) connect(t *testing.T, rec *recorder, protocolVersion string) *mcp.ClientSession {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "mcpauth-e2e", Version: "1.0.0"}, nil)
	var opts *mcp.ClientSessionOptions
	if protocolVersion != "" {
		opts = &mcp.ClientSessionOptions{ProtocolVersion: protocolVersion}
	}
	cs, err := client.Connect(t.Context(), &mcp.StreamableClientTransport{
		Endpoint:   f.base + "/notes/mcp",
		HTTPClient: &http.Client{Transport: rec},
		MaxRetries: -1,
	}, opts)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	return cs
}

// goSDKNotesServer is the README's notes service: whoami (no scope), list_notes
// (notes:read), add_note (notes:write).
func goSDKNotesServer() *server.MCPServer {
	var mu sync.Mutex
	notes := map[string][]string{"acme": {"buy milk", "call bob"}}
	s := server.NewMCPServer("notes", "1.0.0")
	s.AddTool(mcpgo.NewTool("whoami"), func(ctx context.Context, _ mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		tok := mcpauth.AccessTokenFromContext(ctx)
		return mcpgo.NewToolResultText(tok.Subject + "@" + tok.TenantID), nil
	})
	s.AddTool(mcpgo.NewTool("list_notes", scopes.Required("notes:read")), func(ctx context.Context, _ mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		tok := mcpauth.AccessTokenFromContext(ctx)
		mu.Lock()
		defer mu.Unlock()
		return mcpgo.NewToolResultText(strings.Join(notes[tok.TenantID], "|")), nil
	})
	s.AddTool(mcpgo.NewTool("add_note", mcpgo.WithString("text", mcpgo.Required()), scopes.Required("notes:write")), func(ctx context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		tok := mcpauth.AccessTokenFromContext(ctx)
		mu.Lock()
		defer mu.Unlock()
		notes[tok.TenantID] = append(notes[tok.TenantID], req.GetString("text", ""))
		return mcpgo.NewToolResultText("ok"), nil
	})
	return s
}

// recorder is the client's http.RoundTripper: it adds Authorization: Bearer token (when
// set) and records every POST exchange: the JSON-RPC method, the status, the challenge and
// the bodies (a reply body only when it is not an event stream).
type recorder struct {
	token string

	mu  sync.Mutex
	exs []exchange
}

type exchange struct {
	rpc, protocolVersion string
	status               int
	wwwAuthenticate      string
	reqBody, respBody    []byte
	authorization        bool // the request carried an Authorization header
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	var x exchange
	if req.Body != nil && req.Method == http.MethodPost {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
		x.reqBody = b
		var m struct {
			Method string `json:"method"`
		}
		_ = json.Unmarshal(b, &m)
		x.rpc = m.Method
	}
	x.protocolVersion = req.Header.Get("Mcp-Protocol-Version")
	x.authorization = req.Header.Get("Authorization") != ""
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || req.Method != http.MethodPost {
		return resp, err
	}
	x.status = resp.StatusCode
	x.wwwAuthenticate = resp.Header.Get("WWW-Authenticate")
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		x.respBody = b
	}
	r.mu.Lock()
	r.exs = append(r.exs, x)
	r.mu.Unlock()
	return resp, nil
}

func (r *recorder) all() []exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]exchange(nil), r.exs...)
}

// last returns the last exchange of the JSON-RPC method rpc.
func (r *recorder) last(rpc string) exchange {
	exs := r.all()
	for i := len(exs) - 1; i >= 0; i-- {
		if exs[i].rpc == rpc {
			return exs[i]
		}
	}
	return exchange{}
}
