package mcpauth

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// Secret holds a value that must never be shown: a client secret, an HMAC key, an API
// key. Make one with [NewSecret] (or decode one, see UnmarshalText) and read it
// deliberately with [Secret.Reveal] where it is used (an HTTP request, a MAC key).
// Everywhere else it stands for itself as "[redacted]", or as "" when it is empty:
//
//   - fmt: String, GoString and Format, so every verb (%v %+v %#v %s %q %x %X %d ...)
//     prints the placeholder, also when the Secret is a field of a struct, an element of
//     a slice or a value of a map;
//   - log/slog: LogValue, so every handler logs the placeholder, and the text
//     handler's %+v of a struct holding it does too;
//   - encoding/json: MarshalJSON; encoding/xml and the other encoders that use
//     encoding.TextMarshaler: MarshalText.
//
// The placeholder is fixed: no part of the value, and not its length, ever shows.
//
// The value sits behind a pointer in an unexported field, so the paths on which fmt
// does not call the methods above print an address at most, never the value: a Secret
// in an unexported struct field, and the %p verb. Secrets cannot be compared with ==
// (so they cannot be map keys either): compare the values of Reveal where that is
// really needed. The zero Secret is empty, and so is NewSecret("").
type Secret struct {
	_ [0]func() // not comparable: == would compare the pointers
	v *string   // nil when empty
}

// redacted is what a non-empty Secret shows instead of its value.
const redacted = "[redacted]"

// NewSecret returns a Secret holding value. An empty value gives the zero Secret.
func NewSecret(value string) Secret {
	if value == "" {
		return Secret{}
	}
	return Secret{v: &value}
}

// Reveal returns the value of the secret ("" when it is empty), for the one place that
// needs it.
func (s Secret) Reveal() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

// IsZero reports whether s is empty (encoding/json's omitzero uses it too).
func (s Secret) IsZero() bool { return s.v == nil }

// String returns "[redacted]", or "" when s is empty.
func (s Secret) String() string {
	if s.v == nil {
		return ""
	}
	return redacted
}

// GoString is used by %#v: the placeholder quoted, "[redacted]" or "".
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// Format implements fmt.Formatter: %#v writes GoString, %q the quoted placeholder and
// every other verb the placeholder itself (never the hexadecimal or any other encoding
// of the value). A width pads the result (on the left, or on the right with the "-"
// flag); a precision is ignored.
func (s Secret) Format(f fmt.State, verb rune) {
	var out string
	switch {
	case verb == 'v' && f.Flag('#'):
		out = s.GoString()
	case verb == 'q':
		out = strconv.Quote(s.String())
	default:
		out = s.String()
	}
	if w, ok := f.Width(); ok && w > len(out) {
		pad := strings.Repeat(" ", w-len(out))
		if f.Flag('-') {
			out += pad
		} else {
			out = pad + out
		}
	}
	_, _ = f.Write([]byte(out))
}

// LogValue implements slog.LogValuer: the placeholder as a string value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON implements json.Marshaler: the placeholder as a JSON string,
// "[redacted]" or "".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(s.String())), nil }

// MarshalText implements encoding.TextMarshaler, for the encoders that use it (such as
// encoding/xml): the placeholder.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler: the text becomes the value, as
// with NewSecret. encoding/json uses it for a JSON string, and flag.TextVar for a
// flag. Encoding never gives the value back: a configuration written out and read
// again has lost its secrets.
func (s *Secret) UnmarshalText(text []byte) error {
	*s = NewSecret(string(text))
	return nil
}
