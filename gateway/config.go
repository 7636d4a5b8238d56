package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"path"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/config"
)

// Config describes one upstream MCP server: a remote one (URL) or a local program
// (Command), and the policy for what it offers.
type Config struct {
	// Name names the service in logs and errors.
	Name string
	// URL is a remote MCP server's endpoint (Streamable HTTP, or legacy SSE with SSE).
	URL string
	// SSE selects the legacy HTTP+SSE transport for URL.
	SSE bool
	// Headers are sent with every request to URL: the service's own credentials, such
	// as an API key, never the caller's token.
	Headers map[string]mcpauth.Secret
	// ClientCredentials, when set, gets the service's own token for URL with the OAuth 2
	// client credentials grant (golang.org/x/oauth2/clientcredentials), refreshed as it
	// expires.
	ClientCredentials *clientcredentials.Config
	// CallerTokens, when set, sends each request to URL with a short-lived JWT the hub
	// signs for the caller (TokenSigner), for an upstream that trusts the hub's keys.
	CallerTokens *TokenSigner
	// Command is a local MCP server started as a child process speaking stdio, with
	// Args. It is restarted with backoff when it exits.
	Command string
	Args    []string
	// Env is the child's whole environment besides PATH and HOME (KEY=value): it
	// comes from the configuration only, never from requests.
	Env []string
	// Policy says which scopes each tool, prompt and resource needs, and what is hidden.
	Policy Policy
	// CallTimeout bounds each forwarded request (default DefaultCallTimeout).
	CallTimeout time.Duration
	// OnConnect, when set, is called after each successful (re)connection, once the
	// mirror is up to date: for health metrics, or a test waiting for a restart.
	OnConnect func()
	// OnDisconnect, when set, is called with the cause each time the upstream is lost
	// or a connection attempt fails.
	OnDisconnect func(error)
	// OnRequest, when set, is called after each request forwarded to the upstream with
	// its method (tools/call, prompts/get, resources/read), how long it took and its
	// error (nil on success): for latency metrics.
	OnRequest func(method string, took time.Duration, err error)
	// Logger receives the upstream's lifecycle and the child's stderr (default
	// slog.Default()).
	Logger *slog.Logger
}

// DefaultCallTimeout bounds a forwarded request when Config.CallTimeout is zero.
const DefaultCallTimeout = 2 * time.Minute

// Policy is what a service's callers need for what the upstream offers. Rules are tried
// in order; the first whose kind and pattern match decides. Unmatched items need
// Default.
type Policy struct {
	Rules   []Rule
	Default []string
}

// Rule matches tools, prompts or resources by name (resources by URI) with a glob:
// path.Match's *, ? and [...] (which stop at "/"), and ** for any run of characters, "/"
// included (demo://docs/** matches every document under demo://docs/).
type Rule struct {
	// Kind is "tool" (the default), "prompt" or "resource".
	Kind string
	// Match is the glob of names (or resource URIs) the rule covers.
	Match string
	// Scopes must all be granted to use what the rule covers.
	Scopes []string
	// Hidden removes what the rule covers from the service altogether.
	Hidden bool
}

// decide returns the scopes that kind name needs and whether it is hidden.
func (p Policy) decide(kind, name string) ([]string, bool) {
	for _, r := range p.Rules {
		k := r.Kind
		if k == "" {
			k = "tool"
		}
		if k == kind && globMatch(r.Match, name) {
			return r.Scopes, r.Hidden
		}
	}
	return p.Default, false
}

// Validate reports every problem of c at once, naming the field and the fix.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("gateway: service %q: "+format, append([]any{c.Name}, a...)...))
	}
	switch {
	case c.URL == "" && c.Command == "":
		add("set URL (a remote MCP server) or Command (a local one started with stdio)")
	case c.URL != "" && c.Command != "":
		add("URL and Command are both set: a service has one upstream")
	case c.URL != "":
		if _, err := config.CheckURL(c.URL, config.URL{}); err != nil {
			add("URL %v", err)
		}
		if c.ClientCredentials != nil {
			if _, err := config.CheckURL(c.ClientCredentials.TokenURL, config.URL{}); err != nil {
				add("ClientCredentials.TokenURL %v", err)
			}
		}
		if len(c.Args) > 0 || len(c.Env) > 0 {
			add("Args and Env are for a Command, not a URL")
		}
		if c.ClientCredentials != nil && c.CallerTokens != nil {
			add("ClientCredentials and CallerTokens are both set: the upstream gets one kind of credentials")
		}
	default:
		if len(c.Headers) > 0 || c.SSE || c.ClientCredentials != nil || c.CallerTokens != nil {
			add("Headers, SSE, ClientCredentials and CallerTokens are for a URL, not a Command")
		}
	}
	for i, r := range c.Policy.Rules {
		if r.Kind != "" && r.Kind != "tool" && r.Kind != "prompt" && r.Kind != "resource" {
			add("Policy.Rules[%d].Kind %q: use tool, prompt or resource", i, r.Kind)
		}
		if _, err := globRegexp(r.Match); err != nil || r.Match == "" {
			add("Policy.Rules[%d].Match %q is not a glob: use names with *, ? or [...]", i, r.Match)
		}
	}
	if c.CallTimeout < 0 {
		add("CallTimeout is negative: leave it 0 for the default")
	}
	return errors.Join(errs...)
}

// globs holds the compiled patterns: they come from the configuration, a few of them,
// and every mirror matches every item against them.
var globs sync.Map // pattern -> *regexp.Regexp

// globMatch reports whether name matches pattern (see Rule.Match); a malformed pattern
// matches nothing (Validate refuses it).
func globMatch(pattern, name string) bool {
	if re, ok := globs.Load(pattern); ok {
		return re.(*regexp.Regexp).MatchString(name)
	}
	re, err := globRegexp(pattern)
	if err != nil {
		return false
	}
	globs.Store(pattern, re)
	return re.MatchString(name)
}

// globRegexp compiles pattern: ** is any run of characters; otherwise the syntax and
// meaning of path.Match (*, ? and classes stop at "/", \ escapes, in classes too).
func globRegexp(pattern string) (*regexp.Regexp, error) {
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, err
	}
	// literal writes the byte c for the regexp: ASCII punctuation escaped, the bytes of
	// a multi-byte character as they are.
	literal := func(b *strings.Builder, c byte) {
		if c < utf8.RuneSelf && !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '*':
			if i+1 < len(pattern) && pattern[i+1] == '*' {
				b.WriteString("(?s:.*)")
				i++
			} else {
				b.WriteString("[^/]*")
			}
		case '?':
			b.WriteString("[^/]")
		case '[':
			// path.Match accepted the pattern: the class ends at its first unescaped ].
			i++
			b.WriteByte('[')
			if pattern[i] == '^' {
				b.WriteByte('^')
				i++
			}
			for ; pattern[i] != ']'; i++ {
				switch pattern[i] {
				case '\\':
					i++
					literal(&b, pattern[i])
				case '-':
					b.WriteByte('-')
				default:
					literal(&b, pattern[i])
				}
			}
			b.WriteByte(']')
		case '\\':
			i++
			literal(&b, pattern[i])
		default:
			literal(&b, c)
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}
