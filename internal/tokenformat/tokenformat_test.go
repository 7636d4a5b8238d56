package tokenformat

import "testing"

func TestIsB64Token(t *testing.T) {
	for s, want := range map[string]bool{
		"abc": true, "a.b-c_d~e+f/g": true, "abc==": true, "A1": true,
		"": false, "=": false, "a=b": false, "a b": false, "a\x00": false, "ä": false, "a,b": false, `"a"`: false,
	} {
		if got := IsB64Token(s); got != want {
			t.Errorf("IsB64Token(%q) = %v, want %v", s, got, want)
		}
	}
}
