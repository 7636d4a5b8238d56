package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mcpauth/mcpauth/internal/config"
)

// Config is a hub configuration file (YAML, or JSON, which is YAML).
type Config struct {
	// BaseURL is the hub's public URL, without a trailing slash. Empty: http://<the
	// address listened on>, allowed only when Listen is a loopback address.
	BaseURL string
	// Listen is the address to listen on (default 127.0.0.1:8080).
	Listen string
	Auth   Auth
	// Redis, when not nil, holds the sign-in state and the session owners.
	Redis       *Redis
	Aggregate   Aggregate
	CORSOrigins []string
	Log         Log
	// Servers are the mcpServers, in the file's order.
	Servers []Server

	// lines are the line numbers of the keys, by path ("auth.upstream").
	lines map[string]int
}

// Auth says how people sign in.
type Auth struct {
	// Upstream is dev, github, google, workos, oidc or none.
	Upstream string
	// DevUsers are the people of the dev upstream.
	DevUsers []DevUser
}

// DevUser is a person of the dev upstream.
type DevUser struct {
	Name   string
	Tenant string
	// Scopes are the most the user may be granted (nil: no limit).
	Scopes []string
}

// Redis configures the shared store. With URL empty, every setting comes from the
// MCPAUTH_REDIS_* variables (redisstore.ConfigFromEnv).
type Redis struct {
	URL       string
	KeyPrefix string
}

// Aggregate serves every service's tools at /mcp as <service><Separator><tool>.
type Aggregate struct {
	Enabled   bool
	Separator string
}

// Log configures the process's log (on stderr).
type Log struct {
	Level  string // debug, info (default), warn or error
	Format string // json (default) or text
}

// Server is one upstream MCP server, mounted at /<Name>/mcp.
type Server struct {
	Name string
	Line int
	// Command, Args and Env start a local server speaking stdio; Env is KEY=value.
	Command string
	Args    []string
	Env     []string
	// URL is a remote server; Transport is streamable (default) or sse.
	URL       string
	Transport string
	Headers   map[string]string
	// Scopes are required for every request to the service; Tenants restrict it.
	Scopes  []string
	Tenants []string
	// DefaultToolScopes are required for tools no rule matches.
	DefaultToolScopes []string
	// Tools, Prompts and Resources are rules in file order: the first match decides.
	Tools, Prompts, Resources []Rule
	CallTimeout               time.Duration
	// InAggregate is false to leave the server's tools out of the aggregate.
	InAggregate bool
	// ClientCredentials gets the service's own token for URL (OAuth 2 client
	// credentials); CallerTokens sends a one-minute JWT the hub signs for each caller.
	ClientCredentials *ClientCredentials
	CallerTokens      bool
}

// ClientCredentials is a client of the upstream's authorization server.
type ClientCredentials struct {
	TokenURL, ClientID, ClientSecret string
	Scopes                           []string
}

// Rule is one entry of tools, prompts or resources.
type Rule struct {
	Match  string
	Scopes []string
	Hidden bool
}

// Upstreams are the values of auth.upstream.
var Upstreams = []string{"dev", "github", "google", "workos", "oidc", "none"}

// Problem is one mistake in a configuration file.
type Problem struct {
	Line int
	Path string // the key, such as mcpServers.everything.command ("" for the file)
	Msg  string
	// masks is set on problems that leave the key's value unknown (a missing variable,
	// a wrong type, an unknown key): the validation of the values says nothing more
	// about the key, its parents or its children.
	masks bool
}

// Problems are every mistake found in a file, reported at once.
type Problems struct {
	File string
	List []Problem
}

func (p *Problems) Error() string {
	var b strings.Builder
	for i, pr := range p.List {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.format(pr))
	}
	return b.String()
}

func (p *Problems) format(pr Problem) string {
	loc := p.File
	if pr.Line > 0 {
		loc += ":" + strconv.Itoa(pr.Line)
	}
	if pr.Path == "" {
		return loc + ": " + pr.Msg
	}
	return loc + ": " + pr.Path + ": " + pr.Msg
}

func (p *Problems) add(line int, path, format string, a ...any) {
	p.List = append(p.List, Problem{Line: line, Path: path, Msg: fmt.Sprintf(format, a...)})
}

// mask adds a problem that leaves the value of path unknown.
func (p *Problems) mask(line int, path, format string, a ...any) {
	p.List = append(p.List, Problem{Line: line, Path: path, Msg: fmt.Sprintf(format, a...), masks: true})
}

// err returns p sorted by line, or nil when it holds nothing.
func (p *Problems) err() error {
	if len(p.List) == 0 {
		return nil
	}
	sort.SliceStable(p.List, func(i, j int) bool { return p.List[i].Line < p.List[j].Line })
	return p
}

// LoadConfig reads and validates the file at path. Errors are a *Problems naming the
// file, the line and the fix of each mistake.
func LoadConfig(path string) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, &Problems{File: path, List: []Problem{{Msg: fmt.Sprintf("cannot read the configuration: %v", errors.Unwrap(err))}}}
	}
	return ParseConfig(path, src)
}

// ParseConfig parses and validates src, the contents of the file named name.
func ParseConfig(name string, src []byte) (*Config, error) {
	d := &decoder{p: &Problems{File: name}}
	text := d.substitute(string(src))
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		msg := yamlLinePrefix.ReplaceAllString(strings.TrimPrefix(err.Error(), "yaml: "), "")
		d.p.add(yamlErrorLine(err), "", "%s: fix the YAML syntax", msg)
		return nil, d.p.err()
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		d.p.add(0, "", "the file is empty: write the hub's configuration (baseURL, auth, mcpServers)")
		return nil, d.p.err()
	}
	c := &Config{Listen: "127.0.0.1:8080", Aggregate: Aggregate{Separator: "_"}, Log: Log{Level: "info", Format: "json"}, lines: map[string]int{}}
	d.decode(c, doc.Content[0])
	// Validation runs even after decoding problems, but says nothing more about a key
	// already reported: a missing variable is not also a missing value.
	decoded := d.p.List
	n := len(decoded)
	d.p = &Problems{File: name}
	d.validate(c)
	for _, v := range d.p.List {
		if !slices.ContainsFunc(decoded[:n], func(pr Problem) bool { return pr.masks && related(pr.Path, v.Path) }) {
			decoded = append(decoded, v)
		}
	}
	d.p.List = decoded
	if err := d.p.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// related reports whether one of the paths a and b is the other or contains it.
func related(a, b string) bool {
	in := func(x, y string) bool {
		return x == y || strings.HasPrefix(y, x+".") || strings.HasPrefix(y, x+"[")
	}
	return a != "" && b != "" && (in(a, b) || in(b, a))
}

var (
	yamlLine       = regexp.MustCompile(`line (\d+)`)
	yamlLinePrefix = regexp.MustCompile(`^line \d+: `)
)

func yamlErrorLine(err error) int {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

// decoder turns the YAML tree into a Config, collecting every problem.
type decoder struct {
	p    *Problems
	vars []variable
}

// variable is one ${NAME} of the file, replaced before parsing by a placeholder that no
// YAML context reads as syntax, and by its value in the scalars that hold it: a value
// never changes the file's structure or its line numbers.
type variable struct {
	name  string
	value string
	set   bool
	line  int
}

const phOpen, phClose = '\ue000', '\ue001'

var placeholder = regexp.MustCompile("\ue000([0-9]+)\ue001")

var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// substitute replaces each ${NAME} of src by a placeholder and each $$ by $.
func (d *decoder) substitute(src string) string {
	var b strings.Builder
	line := 1
	for i := 0; i < len(src); i++ {
		ch := src[i]
		switch {
		case ch == '\n':
			line++
		case ch == '$' && i+1 < len(src) && src[i+1] == '$':
			b.WriteByte('$')
			i++
			continue
		case ch == '$' && i+1 < len(src) && src[i+1] == '{':
			end := strings.IndexAny(src[i+2:], "}\n")
			if end < 0 || src[i+2+end] != '}' {
				d.p.add(line, "", "${ is not closed: write ${NAME}, or $$ for a literal $")
				b.WriteString(src[i:])
				return b.String()
			}
			name := src[i+2 : i+2+end]
			if !varName.MatchString(name) {
				d.p.add(line, "", "${%s} is not a variable reference: write ${NAME} with letters, digits and _ (no defaults), or $$ for a literal $", name)
				b.WriteString(src[i : i+3+end])
				i += 2 + end
				continue
			}
			v, ok := os.LookupEnv(name)
			d.vars = append(d.vars, variable{name: name, value: v, set: ok && v != "", line: line})
			b.WriteRune(phOpen)
			b.WriteString(strconv.Itoa(len(d.vars) - 1))
			b.WriteRune(phClose)
			i += 2 + end
			continue
		}
		b.WriteByte(ch)
	}
	if strings.ContainsRune(src, phOpen) || strings.ContainsRune(src, phClose) {
		d.p.add(0, "", "the file contains the reserved characters U+E000 or U+E001: remove them")
	}
	return b.String()
}

// resolve follows aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// str returns a scalar's value with its variables expanded.
func (d *decoder) str(n *yaml.Node, path string) (string, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode {
		d.p.mask(n.Line, path, "expected a single value, found %s", kindName(n))
		return "", false
	}
	if isNull(n) {
		return "", true
	}
	ok := true
	v := placeholder.ReplaceAllStringFunc(n.Value, func(m string) string {
		i, _ := strconv.Atoi(m[len(string(phOpen)) : len(m)-len(string(phClose))])
		va := d.vars[i]
		if !va.set {
			d.p.mask(va.line, path, "${%s} is not set (or is empty): set the environment variable %s, or write $$ for a literal $", va.name, va.name)
			ok = false
		}
		return va.value
	})
	return v, ok
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return "a value"
	}
}

func (d *decoder) boolean(n *yaml.Node, path string) bool {
	v, ok := d.str(n, path)
	if !ok {
		return false
	}
	switch v {
	case "true":
		return true
	case "false":
		return false
	}
	d.p.add(resolve(n).Line, path, "%q is not a boolean: write true or false", v)
	return false
}

// list returns a sequence of strings (null: nil).
func (d *decoder) list(n *yaml.Node, path string) []string {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.p.mask(n.Line, path, "expected a list, such as [a, b], found %s", kindName(n))
		return nil
	}
	out := []string{}
	for i, e := range n.Content {
		if v, ok := d.str(e, fmt.Sprintf("%s[%d]", path, i)); ok {
			out = append(out, v)
		}
	}
	return out
}

// scopeList is a list of scopes, each one word.
func (d *decoder) scopeList(n *yaml.Node, path string) []string {
	out := d.list(n, path)
	for i, s := range out {
		if s == "" || strings.ContainsAny(s, " \t\n\"\\") {
			d.p.add(resolve(n).Line, fmt.Sprintf("%s[%d]", path, i), "scope %q is not one scope: list each scope as its own item, without spaces or quotes", s)
		}
	}
	return out
}

// field is one known key of a mapping.
type field struct {
	name string
	fn   func(v *yaml.Node, path string)
}

// fields decodes a mapping whose keys must be among fs; null is an empty mapping.
func (d *decoder) fields(n *yaml.Node, path string, fs ...field) {
	d.pairs(n, path, func(key string, k, v *yaml.Node, p string) {
		for _, f := range fs {
			if f.name == key {
				f.fn(v, p)
				return
			}
		}
		names := make([]string, len(fs))
		for i, f := range fs {
			names[i] = f.name
		}
		msg := fmt.Sprintf("unknown key %q", key)
		if s := closest(key, names); s != "" {
			msg += fmt.Sprintf(": did you mean %q?", s)
		}
		d.p.mask(k.Line, path, "%s (the keys here are %s)", msg, strings.Join(names, ", "))
	})
}

// pairs calls fn for each key of a mapping, in order, refusing duplicates.
func (d *decoder) pairs(n *yaml.Node, path string, fn func(key string, k, v *yaml.Node, path string)) {
	n = resolve(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.p.mask(n.Line, path, "expected a mapping (key: value), found %s", kindName(n))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		key, ok := d.str(k, path)
		if !ok {
			continue
		}
		p := key
		if path != "" {
			p = path + "." + key
		}
		if first, dup := seen[key]; dup {
			d.p.add(k.Line, p, "duplicate key (first at line %d): keep one", first)
			continue
		}
		seen[key] = k.Line
		fn(key, k, v, p)
	}
}

// closest returns the name nearest to s by edit distance, when near enough.
func closest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(strings.ToLower(s), strings.ToLower(n)); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func (d *decoder) mark(c *Config, v *yaml.Node, path string) { c.lines[path] = resolve(v).Line }

func (d *decoder) decode(c *Config, root *yaml.Node) {
	str := func(dst *string) func(*yaml.Node, string) {
		return func(v *yaml.Node, p string) {
			d.mark(c, v, p)
			if s, ok := d.str(v, p); ok {
				*dst = s
			}
		}
	}
	d.fields(root, "",
		field{"baseURL", str(&c.BaseURL)},
		field{"listen", str(&c.Listen)},
		field{"auth", func(v *yaml.Node, p string) {
			d.mark(c, v, p)
			d.fields(v, p,
				field{"upstream", str(&c.Auth.Upstream)},
				field{"devUsers", func(v *yaml.Node, p string) {
					d.mark(c, v, p)
					c.Auth.DevUsers = d.devUsers(v, p)
				}},
			)
		}},
		field{"redis", func(v *yaml.Node, p string) {
			d.mark(c, v, p)
			c.Redis = &Redis{}
			d.fields(v, p, field{"url", str(&c.Redis.URL)}, field{"keyPrefix", str(&c.Redis.KeyPrefix)})
		}},
		field{"aggregate", func(v *yaml.Node, p string) {
			d.mark(c, v, p)
			d.fields(v, p,
				field{"enabled", func(v *yaml.Node, p string) { c.Aggregate.Enabled = d.boolean(v, p) }},
				field{"separator", str(&c.Aggregate.Separator)},
			)
		}},
		field{"corsOrigins", func(v *yaml.Node, p string) { d.mark(c, v, p); c.CORSOrigins = d.list(v, p) }},
		field{"log", func(v *yaml.Node, p string) {
			d.mark(c, v, p)
			d.fields(v, p, field{"level", str(&c.Log.Level)}, field{"format", str(&c.Log.Format)})
		}},
		field{"mcpServers", func(v *yaml.Node, p string) {
			d.mark(c, v, p)
			d.pairs(v, p, func(name string, k, v *yaml.Node, p string) {
				c.Servers = append(c.Servers, d.server(name, k.Line, v, p))
			})
		}},
	)
}

func (d *decoder) devUsers(n *yaml.Node, path string) []DevUser {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		d.p.mask(n.Line, path, "expected a list of users, such as [{name: alice, tenant: acme, scopes: [tools:call]}]")
		return nil
	}
	var out []DevUser
	for i, e := range n.Content {
		var u DevUser
		p := fmt.Sprintf("%s[%d]", path, i)
		d.fields(e, p,
			field{"name", func(v *yaml.Node, p string) { u.Name, _ = d.str(v, p) }},
			field{"tenant", func(v *yaml.Node, p string) { u.Tenant, _ = d.str(v, p) }},
			field{"scopes", func(v *yaml.Node, p string) { u.Scopes = d.scopeList(v, p) }},
		)
		if u.Name == "" {
			d.p.add(resolve(e).Line, p, "the user has no name: set name")
		} else if slices.ContainsFunc(out, func(o DevUser) bool { return o.Name == u.Name }) {
			d.p.add(resolve(e).Line, p, "user %q is listed twice: keep one", u.Name)
		}
		out = append(out, u)
	}
	return out
}

func (d *decoder) server(name string, line int, n *yaml.Node, path string) Server {
	s := Server{Name: name, Line: line, InAggregate: true}
	str := func(dst *string) func(*yaml.Node, string) {
		return func(v *yaml.Node, p string) {
			if v, ok := d.str(v, p); ok {
				*dst = v
			}
		}
	}
	d.fields(n, path,
		field{"command", str(&s.Command)},
		field{"args", func(v *yaml.Node, p string) { s.Args = d.list(v, p) }},
		field{"env", func(v *yaml.Node, p string) {
			s.Env = []string{}
			d.pairs(v, p, func(key string, k, v *yaml.Node, p string) {
				if key == "" || strings.ContainsAny(key, "= \t\n") {
					d.p.add(k.Line, p, "%q is not an environment variable name", key)
				}
				if val, ok := d.str(v, p); ok {
					s.Env = append(s.Env, key+"="+val)
				}
			})
		}},
		field{"url", str(&s.URL)},
		field{"transport", str(&s.Transport)},
		field{"headers", func(v *yaml.Node, p string) {
			s.Headers = map[string]string{}
			d.pairs(v, p, func(key string, k, v *yaml.Node, p string) {
				if val, ok := d.str(v, p); ok {
					s.Headers[key] = val
				}
			})
		}},
		field{"scopes", func(v *yaml.Node, p string) { s.Scopes = d.scopeList(v, p) }},
		field{"tenants", func(v *yaml.Node, p string) { s.Tenants = d.list(v, p) }},
		field{"defaultToolScopes", func(v *yaml.Node, p string) { s.DefaultToolScopes = d.scopeList(v, p) }},
		field{"tools", func(v *yaml.Node, p string) { s.Tools = d.rules(v, p) }},
		field{"prompts", func(v *yaml.Node, p string) { s.Prompts = d.rules(v, p) }},
		field{"resources", func(v *yaml.Node, p string) { s.Resources = d.rules(v, p) }},
		field{"callTimeout", func(v *yaml.Node, p string) {
			if t, ok := d.str(v, p); ok && t != "" {
				dur, err := time.ParseDuration(t)
				if err != nil || dur <= 0 {
					d.p.add(resolve(v).Line, p, "%q is not a positive duration: write one such as 30s or 2m", t)
				}
				s.CallTimeout = dur
			}
		}},
		field{"aggregate", func(v *yaml.Node, p string) { s.InAggregate = d.boolean(v, p) }},
		field{"clientCredentials", func(v *yaml.Node, p string) {
			cc := &ClientCredentials{}
			d.fields(v, p,
				field{"tokenURL", str(&cc.TokenURL)},
				field{"clientID", str(&cc.ClientID)},
				field{"clientSecret", str(&cc.ClientSecret)},
				field{"scopes", func(v *yaml.Node, p string) { cc.Scopes = d.scopeList(v, p) }},
			)
			if cc.TokenURL == "" || cc.ClientID == "" {
				d.p.add(resolve(v).Line, p, "set tokenURL and clientID (and clientSecret: ${VARIABLE}) of the upstream's authorization server")
			} else if _, err := config.CheckURL(cc.TokenURL, config.URL{}); err != nil {
				d.p.add(resolve(v).Line, p+".tokenURL", "%v (the client secret travels to it)", err)
			}
			s.ClientCredentials = cc
		}},
		field{"callerTokens", func(v *yaml.Node, p string) { s.CallerTokens = d.boolean(v, p) }},
	)
	return s
}

// rules decodes an ordered mapping of globs to {scopes, hidden}.
func (d *decoder) rules(n *yaml.Node, path string) []Rule {
	out := []Rule{}
	d.pairs(n, path, func(glob string, k, v *yaml.Node, p string) {
		r := Rule{Match: glob}
		if _, err := pathMatch(glob); err != nil || glob == "" {
			d.p.add(k.Line, p, "%q is not a glob: use names with *, ? or [...] (path.Match)", glob)
		}
		d.fields(v, p,
			field{"scopes", func(v *yaml.Node, p string) { r.Scopes = d.scopeList(v, p) }},
			field{"hidden", func(v *yaml.Node, p string) { r.Hidden = d.boolean(v, p) }},
		)
		if r.Hidden && len(r.Scopes) > 0 {
			d.p.add(k.Line, p, "hidden and scopes are both set: a hidden item is never offered, so remove scopes (or hidden)")
		}
		out = append(out, r)
	})
	return out
}

// defaultBaseURL is the base URL of a file without baseURL: http://<listen>, or the
// address listened on when listen's port is 0 (addr; "" when not known yet).
func (c *Config) defaultBaseURL(addr string) (string, bool) {
	if _, port, _ := net.SplitHostPort(c.Listen); port != "0" {
		return "http://" + c.Listen, true
	}
	return "http://" + addr, addr != ""
}

func pathMatch(glob string) (bool, error) { return path.Match(glob, "") }

var serverName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// validate checks what the decoding could not: values and their combinations.
func (d *decoder) validate(c *Config) {
	line := func(p string) int { return c.lines[p] }
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		d.p.add(line("listen"), "listen", "%q is not host:port: write one such as 127.0.0.1:8080 or 0.0.0.0:8080", c.Listen)
	} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		d.p.add(line("listen"), "listen", "%q has no valid port: write one such as 127.0.0.1:8080", c.Listen)
	}
	loopbackListen := err == nil && config.IsLoopbackHost(host)
	if c.BaseURL == "" {
		if !loopbackListen {
			d.p.add(line("baseURL"), "baseURL", "not set: set the hub's public URL, such as https://mcp.example.com (it may be left out only when listen is a loopback address)")
		}
	} else if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		d.p.add(line("baseURL"), "baseURL", "%q is not an http(s) URL without query or fragment: write one such as https://mcp.example.com", c.BaseURL)
	} else if u.Scheme == "http" && !config.IsLoopbackHost(u.Hostname()) && c.Auth.Upstream != "none" {
		d.p.add(line("baseURL"), "baseURL", "%q must use https: the hub signs people in (http only on a loopback address, for development)", c.BaseURL)
	}

	switch up := c.Auth.Upstream; {
	case up == "":
		d.p.add(line("auth"), "auth.upstream", "not set: choose how people sign in: %s", strings.Join(Upstreams, ", "))
	case !slices.Contains(Upstreams, up):
		d.p.add(line("auth.upstream"), "auth.upstream", "%q is not an identity provider: use %s", up, strings.Join(Upstreams, ", "))
	case up == "dev" && len(c.Auth.DevUsers) == 0:
		d.p.add(line("auth.upstream"), "auth.devUsers", "the dev upstream has no users: list them, such as devUsers: [{name: alice, tenant: acme, scopes: [tools:call]}]")
	case up != "dev" && c.Auth.DevUsers != nil:
		d.p.add(line("auth.devUsers"), "auth.devUsers", "devUsers are for the dev upstream, not %s: remove them", up)
	}

	if c.Aggregate.Separator == "" {
		d.p.add(line("aggregate.separator"), "aggregate.separator", "empty: leave it out for the default _")
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		d.p.add(line("log.level"), "log.level", "%q: use debug, info, warn or error", c.Log.Level)
	}
	if c.Log.Format != "json" && c.Log.Format != "text" {
		d.p.add(line("log.format"), "log.format", "%q: use json or text", c.Log.Format)
	}
	for _, o := range c.CORSOrigins {
		if o != "*" && (!strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") || strings.Count(o, "/") != 2) {
			d.p.add(line("corsOrigins"), "corsOrigins", "%q is not an origin: write scheme://host[:port] with no path, such as http://localhost:6274, or \"*\"", o)
		}
	}

	if len(c.Servers) == 0 {
		d.p.add(line("mcpServers"), "mcpServers", "no server: list at least one MCP server, with command (a local one) or url (a remote one)")
	}
	var inAgg []Server
	for _, s := range c.Servers {
		d.validateServer(s)
		if c.Aggregate.Enabled && s.InAggregate {
			inAgg = append(inAgg, s)
		}
	}
	for i, a := range inAgg {
		if len(a.Tenants) > 0 {
			d.p.add(a.Line, "mcpServers."+a.Name+".tenants", "the aggregate at /mcp cannot restrict tenants per service: set aggregate: false on this server to leave it out of /mcp, or disable the aggregate")
		}
		for _, b := range inAgg[i+1:] {
			if sep := c.Aggregate.Separator; sep != "" && (strings.HasPrefix(b.Name, a.Name+sep) || strings.HasPrefix(a.Name, b.Name+sep)) {
				d.p.add(b.Line, "mcpServers."+b.Name, "its name and %q overlap with the aggregate's separator %q, so their tools' names could collide at /mcp: rename one, change aggregate.separator, or set aggregate: false on one", a.Name, sep)
			}
		}
	}
}

func (d *decoder) validateServer(s Server) {
	p := "mcpServers." + s.Name
	if !serverName.MatchString(s.Name) {
		d.p.add(s.Line, p, "the name is not a service name: use lowercase letters, digits, '.', '_' or '-', starting with a letter or digit (it is the path /<name>/mcp)")
	}
	switch {
	case s.Command != "" && s.URL != "":
		d.p.add(s.Line, p, "set command (a local server) or url (a remote one), not both")
	case s.Command == "" && s.URL == "":
		d.p.add(s.Line, p, "set command (a local server started with stdio) or url (a remote one)")
	case s.URL != "":
		if _, err := config.CheckURL(s.URL, config.URL{}); err != nil {
			d.p.add(s.Line, p+".url", "%v", err)
		}
		if s.Transport != "" && s.Transport != "streamable" && s.Transport != "sse" {
			d.p.add(s.Line, p+".transport", "%q: use streamable (the default) or sse", s.Transport)
		}
		if s.Args != nil || s.Env != nil {
			d.p.add(s.Line, p, "args and env are for a command, not a url: remove them")
		}
		if s.ClientCredentials != nil && s.CallerTokens {
			d.p.add(s.Line, p, "clientCredentials and callerTokens are both set: the upstream gets one kind of credentials")
		}
	default:
		if s.Transport != "" || s.Headers != nil || s.ClientCredentials != nil || s.CallerTokens {
			d.p.add(s.Line, p, "transport, headers, clientCredentials and callerTokens are for a url, not a command: remove them")
		}
	}
}
