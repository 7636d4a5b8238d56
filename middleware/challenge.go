package middleware

import (
	"strings"
)

// Challenge is the content of a WWW-Authenticate: Bearer header (RFC 6750 §3, with the
// resource_metadata parameter of RFC 9728 §5.1).
type Challenge struct {
	// ResourceMetadata is the URL of the protected resource metadata document.
	ResourceMetadata string
	// Scope lists the scopes the client should request; rendered space-delimited.
	Scope []string
	// Error is the OAuth error code; empty when the request carried no credentials
	// (RFC 6750 §3.1: no error attribute then).
	Error string
	// Description is a human-readable error description.
	Description string
}

// String renders the challenge as a header value. Attribute values are quoted strings.
// In error and error_description, which RFC 6750 §3 restricts to printable ASCII without
// '"' and '\', a double quote becomes a single quote and a backslash a slash; in the
// other attributes they are escaped. Characters outside printable ASCII (CR and LF
// included) become '?' everywhere, so that no value can break the header.
func (c Challenge) String() string {
	var b strings.Builder
	b.Grow(64 + len(c.ResourceMetadata) + len(c.Description))
	b.WriteString("Bearer")
	first := true
	attr := func(name, value string, restricted bool) {
		if value == "" {
			return
		}
		if first {
			b.WriteByte(' ')
			first = false
		} else {
			b.WriteString(", ")
		}
		b.WriteString(name)
		b.WriteString(`="`)
		writeQuoted(&b, value, restricted)
		b.WriteByte('"')
	}
	attr("resource_metadata", c.ResourceMetadata, false)
	if len(c.Scope) > 0 {
		attr("scope", strings.Join(c.Scope, " "), false)
	}
	attr("error", c.Error, true)
	attr("error_description", c.Description, true)
	return b.String()
}

func writeQuoted(b *strings.Builder, s string, restricted bool) {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case restricted && ch == '"':
			b.WriteByte('\'')
		case restricted && ch == '\\':
			b.WriteByte('/')
		case ch == '"' || ch == '\\':
			b.WriteByte('\\')
			b.WriteByte(ch)
		case ch < 0x20 || ch >= 0x7f:
			b.WriteByte('?')
		default:
			b.WriteByte(ch)
		}
	}
}
