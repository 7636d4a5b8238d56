package audience

import (
	"testing"
)

func TestNormalize(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"https://mcp.example.com/notes/mcp", "https://mcp.example.com/notes/mcp", true},
		{"HTTPS://MCP.Example.COM/notes/mcp", "https://mcp.example.com/notes/mcp", true},
		{"https://mcp.example.com:443/notes/mcp", "https://mcp.example.com/notes/mcp", true},
		{"HTTP://MCP.EXAMPLE.COM:80/Notes?Q=A#F", "http://mcp.example.com/Notes?Q=A#F", true},
		{"http://mcp.example.com:443/x", "http://mcp.example.com:443/x", true},
		{"https://mcp.example.com:80/x", "https://mcp.example.com:80/x", true},
		{"https://mcp.example.com:8443/x", "https://mcp.example.com:8443/x", true},
		{"https://mcp.example.com", "https://mcp.example.com", true},
		{"https://mcp.example.com/", "https://mcp.example.com/", true},
		{"https://mcp.example.com/Notes/mcp/", "https://mcp.example.com/Notes/mcp/", true},
		{"https://mcp.example.com/a%2Fb", "https://mcp.example.com/a%2Fb", true},
		{"https://mcp.example.com/a%2fb", "https://mcp.example.com/a%2fb", true},
		{"https://[2001:DB8::1]:443/x", "https://[2001:db8::1]/x", true},
		{"https://MCP.example.com?x", "https://mcp.example.com?x", true},

		// Not normalised: compared exactly.
		{"api://mcp.example.com", "", false},
		{"urn:example:mcp", "", false},
		{"notes", "", false},
		{"", "", false},
		{"https:opaque", "", false},
		{"https:///path", "", false},
		{"https://:443/path", "", false},
		{"https://user@mcp.example.com/x", "", false},
		{"https://mcp.example.com/a b", "", false}, // net/url would re-encode the space
		{"https://mcp.example.com/x#", "", false},  // net/url would drop the empty fragment
		{"https://mcp.example.com/%zz", "", false}, // invalid escape
		{"https://\u212Aey.example/x", "", false},  // Kelvin sign: no Unicode folding
		{"https://m%C3%A9.example/x", "", false},   // non-ASCII host
		{"//mcp.example.com/notes", "", false},     // relative reference
		{"ftp://mcp.example.com/notes", "", false}, // other scheme
	}
	for _, tc := range cases {
		got, ok := Normalize(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Normalize(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestMatch(t *testing.T) {
	m := NewMatcher([]string{"https://mcp.example.com/notes/mcp", "api://notes", "HTTPS://Other.Example/x"})
	cases := []struct {
		aud  []string
		want bool
	}{
		{[]string{"https://mcp.example.com/notes/mcp"}, true},
		{[]string{"HTTPS://MCP.Example.COM/notes/mcp"}, true},
		{[]string{"https://mcp.example.com:443/notes/mcp"}, true},
		{[]string{"https://evil.example", "https://MCP.EXAMPLE.COM/notes/mcp"}, true},
		{[]string{"https://other.example/x"}, true}, // configured audiences are normalised too
		{[]string{"HTTPS://Other.Example/x"}, true},
		{[]string{"api://notes"}, true},

		{[]string{"https://mcp.example.com/Notes/mcp"}, false},  // path is case-sensitive
		{[]string{"https://mcp.example.com/notes/mcp/"}, false}, // trailing slash
		{[]string{"https://evil.example.com/notes/mcp"}, false},
		{[]string{"https://mcp.example.com:8443/notes/mcp"}, false},
		{[]string{"http://mcp.example.com/notes/mcp"}, false},
		{[]string{"https://mcp.example.com/notes/mcp?"}, false},
		{[]string{"https://mcp.example.com/notes/mcp#x"}, false},
		{[]string{"https://mcp.example.com/notes/mc%70"}, false}, // no percent-decoding
		{[]string{"API://notes"}, false},                         // not an http(s) URI: exact
		{[]string{"api://Notes"}, false},
		{nil, false},
		{[]string{""}, false},
	}
	for _, tc := range cases {
		if got := m.Match(tc.aud); got != tc.want {
			t.Errorf("Match(%q) = %v, want %v", tc.aud, got, tc.want)
		}
	}
	if (Matcher{}).Match([]string{"https://mcp.example.com/notes/mcp"}) {
		t.Error("the zero Matcher accepted an audience")
	}
	if NewMatcher([]string{"api://x"}).Match([]string{"API://X"}) {
		t.Error("a non-http(s) audience was compared case-insensitively")
	}
}

func TestMatchExactDoesNotAllocate(t *testing.T) {
	m := NewMatcher([]string{"https://a.example/mcp", "https://mcp.example.com/notes/mcp"})
	aud := []string{"https://other.example", "https://mcp.example.com/notes/mcp"}
	if n := testing.AllocsPerRun(100, func() {
		if !m.Match(aud) {
			t.Fatal("no match")
		}
	}); n != 0 {
		t.Errorf("an exact match allocated %v times", n)
	}
	// A non-URI audience with no exact match is not parsed either when no accepted
	// audience is a URI.
	plain := NewMatcher([]string{"notes"})
	if n := testing.AllocsPerRun(100, func() { plain.Match([]string{"HTTPS://X.example"}) }); n != 0 {
		t.Errorf("a matcher without URIs allocated %v times", n)
	}
}

func TestNewMatcherCopies(t *testing.T) {
	in := []string{"https://a.example"}
	m := NewMatcher(in)
	in[0] = "https://b.example"
	if !m.Match([]string{"https://a.example"}) || m.Match([]string{"https://b.example"}) {
		t.Error("NewMatcher kept a reference to its argument")
	}
	got := m.Audiences()
	got[0] = "x"
	if m.Audiences()[0] != "https://a.example" {
		t.Error("Audiences returned the internal slice")
	}
}

func BenchmarkMatch(b *testing.B) {
	m := NewMatcher([]string{"https://mcp.example.com/notes/mcp"})
	exact := []string{"https://mcp.example.com/notes/mcp"}
	folded := []string{"HTTPS://MCP.Example.COM/notes/mcp"}
	b.Run("exact", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m.Match(exact)
		}
	})
	b.Run("normalised", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m.Match(folded)
		}
	})
}
