// Package audience matches the "aud" values of access tokens against the audiences a
// resource server accepts. It is shared by providers/bearer and providers/introspect.
//
// An audience that is an absolute http or https URI with a host is compared after
// RFC 3986 §6.2.2.1 and §6.2.3 normalisation: its scheme and host are lower-cased and a
// default port (:443 for https, :80 for http) is dropped, so
// "HTTPS://MCP.Example.COM:443/notes/mcp" names the same resource as
// "https://mcp.example.com/notes/mcp", as the MCP authorization specification asks.
// Everything else — path, query, fragment, user information, percent-encoding — is
// compared byte for byte: "/Notes" is not "/notes" and "/notes/" is not "/notes". Any
// other audience ("api://x", "urn:x", a plain string, a URI that net/url does not
// re-serialise unchanged, a host with non-ASCII bytes) is compared as an exact string.
package audience

import (
	"net/url"
	"slices"
	"strings"
)

// Matcher holds the audiences a resource server accepts. The zero Matcher accepts
// nothing. It is immutable and safe for concurrent use.
type Matcher struct {
	exact []string // as configured
	norm  []string // Normalize of each configured http(s) URI
}

// NewMatcher returns a Matcher accepting the given audiences. It normalises them once, so
// that Match parses only token audiences that match none of them exactly.
func NewMatcher(accepted []string) Matcher {
	m := Matcher{exact: slices.Clone(accepted)}
	for _, a := range accepted {
		if n, ok := Normalize(a); ok && !slices.Contains(m.norm, n) {
			m.norm = append(m.norm, n)
		}
	}
	return m
}

// Audiences returns a copy of the accepted audiences, as configured.
func (m Matcher) Audiences() []string { return slices.Clone(m.exact) }

// Match reports whether one of aud is an accepted audience. An exact match is found
// without parsing or allocating; only when there is none is each http(s) URI in aud
// normalised and compared with the normalised accepted audiences.
func (m Matcher) Match(aud []string) bool {
	for _, a := range aud {
		if slices.Contains(m.exact, a) {
			return true
		}
	}
	if len(m.norm) == 0 {
		return false
	}
	for _, a := range aud {
		if n, ok := Normalize(a); ok && slices.Contains(m.norm, n) {
			return true
		}
	}
	return false
}

// Normalize returns the normal form of an audience that is an absolute http or https URI
// with a host: scheme and host lower-cased, a default port dropped, the rest unchanged.
// ok is false for any other audience, which must then be compared exactly.
func Normalize(aud string) (norm string, ok bool) {
	u, err := url.Parse(aud)
	if err != nil || u.Opaque != "" || u.User != nil || u.Host == "" {
		return "", false
	}
	var defaultPort string
	switch u.Scheme { // url.Parse lower-cases the scheme
	case "https":
		defaultPort = ":443"
	case "http":
		defaultPort = ":80"
	default:
		return "", false
	}
	// Compare the rest byte for byte: only normalise a URI that net/url writes back
	// unchanged (but for the case of its scheme), so that no re-encoding of the path,
	// query or fragment can make two different audiences equal.
	if u.String() != u.Scheme+aud[len(u.Scheme):] {
		return "", false
	}
	host := u.Host
	for i := 0; i < len(host); i++ {
		if host[i] >= 0x80 {
			// Unicode case folding could turn a different host into an ASCII one
			// (the Kelvin sign folds to "k"): compare such hosts exactly.
			return "", false
		}
	}
	host = strings.TrimSuffix(strings.ToLower(host), defaultPort)
	if host == "" || host[0] == ':' {
		return "", false // no host name, only a port
	}
	if host == u.Host && u.Scheme == aud[:len(u.Scheme)] {
		return aud, true // already normal
	}
	u.Host = host
	return u.String(), true
}
