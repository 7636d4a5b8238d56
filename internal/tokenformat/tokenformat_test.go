package tokenformat

import (
	"strings"
	"testing"
)

func TestIsB64Token(t *testing.T) {
	for s, want := range map[string]bool{
		"abc": true, "a.b-c_d~e+f/g": true, "abc==": true, "A1": true,
		"": false, "=": false, "a=b": false, "a b": false, "a\x00": false, "ä": false, "a,b": false, `"a"`: false,
		// Longer than one eight-byte step, with the bad byte in each position of it and in the tail.
		"abcdefgh=": true, "abcdefghi==": true, "abcdefgh=i": false, "abcd efghij": false, "abcdefg\"hij": false,
		"=abcdefgh": false, "abcdefghijklmnop\x7f": false, "abcdefghijklmnopq": true,
	} {
		if got := IsB64Token(s); got != want {
			t.Errorf("IsB64Token(%q) = %v, want %v", s, got, want)
		}
	}
}

// reference is RFC 6750's b64token grammar read byte by byte: the plain form the fast
// IsB64Token must agree with.
func reference(s string) bool {
	i := 0
	for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || s[i] >= '0' && s[i] <= '9' || strings.IndexByte("-._~+/", s[i]) >= 0) {
		i++
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

func FuzzIsB64Token(f *testing.F) {
	for _, s := range []string{"", "=", "abc==", "a=b", "abcdefgh=i", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "a b", "ä", "==a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := IsB64Token(s), reference(s); got != want {
			t.Fatalf("IsB64Token(%q) = %v, the grammar says %v", s, got, want)
		}
	})
}

var benchToken = strings.Repeat("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9_-.", 17)

// BenchmarkIsB64Token checks a token of the size of a typical RS256 JWT (663 bytes).
func BenchmarkIsB64Token(b *testing.B) {
	b.SetBytes(int64(len(benchToken)))
	for b.Loop() {
		if !IsB64Token(benchToken) {
			b.Fatal("a valid token was refused")
		}
	}
}

// BenchmarkReference is the byte loop of reference on the same token, for the ratio the
// doc of IsB64Token gives (compare the two in one run).
func BenchmarkReference(b *testing.B) {
	b.SetBytes(int64(len(benchToken)))
	for b.Loop() {
		if !reference(benchToken) {
			b.Fatal("a valid token was refused")
		}
	}
}
