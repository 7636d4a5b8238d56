package config

import (
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Redacted is what a printed configuration shows instead of a secret.
const Redacted = "[redacted]"

// Field is one field of a printed configuration: its name and its value as String shows
// it (strings quoted with strconv.Quote, lists and maps in brackets, secrets Redacted).
type Field struct {
	Name  string // the Config field's name, such as ClientSecret
	Value string // the value as String shows it, such as [redacted]
}

// Fields is the printable view of a configuration: the fields that are set, in
// declaration order, secrets already redacted. Its typed adders skip zero values, so a
// provider lists every field of its Config once, in order, without conditions.
type Fields []Field

// Add appends a field whose value is already formatted, whatever it is.
func (fs *Fields) Add(name, value string) { *fs = append(*fs, Field{Name: name, Value: value}) }

// Quote adds a string field, quoted with strconv.Quote, unless it is empty.
func (fs *Fields) Quote(name, v string) {
	if v != "" {
		fs.Add(name, strconv.Quote(v))
	}
}

// URL adds a URL field, quoted, unless it is empty. Its password, if any, is shown as
// "xxxxx" (url.URL.Redacted); a value that does not parse is shown as it is.
func (fs *Fields) URL(name, raw string) {
	if raw == "" {
		return
	}
	shown := raw
	if u, err := url.Parse(raw); err == nil {
		shown = u.Redacted()
	}
	fs.Add(name, strconv.Quote(shown))
}

// List adds a list of strings as ["a" "b"], unless it is empty.
func (fs *Fields) List(name string, v []string) {
	if len(v) > 0 {
		fs.Add(name, list(v))
	}
}

// Map adds scopes keyed by name as map["k":["a" "b"] "k2":[...]], keys sorted, unless
// the map is empty.
func (fs *Fields) Map(name string, m map[string][]string) {
	if len(m) == 0 {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = strconv.Quote(k) + ":" + list(m[k])
	}
	fs.Add(name, "map["+strings.Join(parts, " ")+"]")
}

// Bool adds a field shown as true when b is set.
func (fs *Fields) Bool(name string, b bool) {
	if b {
		fs.Add(name, "true")
	}
}

// Int adds an integer field unless it is 0.
func (fs *Fields) Int(name string, n int) {
	if n != 0 {
		fs.Add(name, strconv.Itoa(n))
	}
}

// Duration adds a duration field, such as 1m30s, unless it is 0.
func (fs *Fields) Duration(name string, d time.Duration) {
	if d != 0 {
		fs.Add(name, d.String())
	}
}

// Set adds a field shown as (set) when set is true: for values that are not printed,
// such as HTTP clients, loggers and clocks.
func (fs *Fields) Set(name string, set bool) {
	if set {
		fs.Add(name, "(set)")
	}
}

// Secret adds a field shown as Redacted when set is true.
func (fs *Fields) Secret(name string, set bool) {
	if set {
		fs.Add(name, Redacted)
	}
}

// list renders a list of strings as ["a" "b"].
func list(v []string) string {
	q := make([]string, len(v))
	for i, s := range v {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, " ") + "]"
}

// Render renders fs as typeName{Name:value, Name:value}, the String of a provider's
// Config: Render("bearer.Config") gives bearer.Config{Issuers:["https://dev.local"]}.
func (fs Fields) Render(typeName string) string {
	var b strings.Builder
	b.WriteString(typeName)
	b.WriteString("{")
	for i, f := range fs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.Name)
		b.WriteString(":")
		b.WriteString(f.Value)
	}
	b.WriteString("}")
	return b.String()
}

// LogValue implements slog.LogValuer: a group with one string attribute per field,
// quoted values unquoted.
func (fs Fields) LogValue() slog.Value {
	attrs := make([]slog.Attr, len(fs))
	for i, f := range fs {
		attrs[i] = slog.String(f.Name, f.plain())
	}
	return slog.GroupValue(attrs...)
}

// MarshalJSON implements json.Marshaler: an object with one string member per field,
// quoted values unquoted, as LogValue shows them.
func (fs Fields) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteString("{")
	for i, f := range fs {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(strconv.Quote(f.Name))
		b.WriteString(":")
		b.WriteString(strconv.Quote(f.plain()))
	}
	b.WriteString("}")
	return []byte(b.String()), nil
}

// plain is the value without its quotes, when it is a quoted string.
func (f Field) plain() string {
	if uq, err := strconv.Unquote(f.Value); err == nil {
		return uq
	}
	return f.Value
}

// Format implements fmt.Formatter for a type whose redacted description is s (its
// String): %#v writes s as it is, and every other verb formats s as a string, so that
// no verb (%v, %+v, %q, %x, ...) reaches the fields themselves.
func Format(f fmt.State, verb rune, s string) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, s)
		return
	}
	_, _ = fmt.Fprintf(f, fmt.FormatString(f, verb), s)
}
