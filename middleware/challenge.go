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

// String renders the challenge as a header value. Attribute values are quoted strings;
// backslashes and double quotes are escaped, and characters outside printable ASCII
// (including CR and LF) are replaced by '?', so that no value can break the header.
func (c Challenge) String() string {
	var b strings.Builder
	b.Grow(64 + len(c.ResourceMetadata) + len(c.Description))
	b.WriteString("Bearer")
	first := true
	attr := func(name, value string) {
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
		writeQuoted(&b, value)
		b.WriteByte('"')
	}
	attr("resource_metadata", c.ResourceMetadata)
	if len(c.Scope) > 0 {
		attr("scope", strings.Join(c.Scope, " "))
	}
	attr("error", c.Error)
	attr("error_description", c.Description)
	return b.String()
}

func writeQuoted(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
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
