package testutil

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// Redacted is what an mcpauth.Secret shows instead of its value.
const Redacted = "[redacted]"

// PrintForms renders v in every way a program may print, log or encode it, keyed by a
// name of the form: fmt with each verb, on v and on a pointer to it, alone and inside a
// slice, a map and a struct; errors wrapping it with %v and %w; log/slog with the text
// and JSON handlers; encoding/json. It fails t when v cannot be encoded as JSON.
func PrintForms[T any](t testing.TB, v T) map[string]string {
	t.Helper()
	forms := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10v", "%-v", "%p"} {
		forms[verb] = fmt.Sprintf(verb, v)
		forms[verb+" pointer"] = fmt.Sprintf(verb, &v)
		forms[verb+" in a struct"] = fmt.Sprintf(verb, struct{ C T }{v})
	}
	forms["Sprint"] = fmt.Sprint(v)
	forms["Sprintln slice"] = fmt.Sprintln([]T{v})
	forms["map value"] = fmt.Sprintf("%+v", map[string]T{"k": v})
	forms["error chain"] = fmt.Errorf("outer: %w", fmt.Errorf("configuration %+v", v)).Error()

	var text, js bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&text, nil), slog.NewJSONHandler(&js, nil)} {
		l := slog.New(h)
		l.Info("config", "config", v)
		l.Info("config", slog.Group("g", slog.Any("config", &v)))
		l.With("config", v).Info("with")
	}
	forms["slog text"] = text.String()
	forms["slog JSON"] = js.String()
	for _, line := range strings.Split(strings.TrimSpace(js.String()), "\n") {
		if !json.Valid([]byte(line)) {
			t.Fatalf("the slog JSON handler wrote invalid JSON: %s", line)
		}
	}

	for name, x := range map[string]any{"json": v, "json pointer": &v, "json in a struct": struct{ C T }{v}} {
		b, err := json.Marshal(x)
		if err != nil {
			t.Fatalf("json.Marshal(%s): %v", name, err)
		}
		forms[name] = string(b)
	}
	return forms
}

// NoSecret fails t when a print form of v (see PrintForms) contains secret, its
// hexadecimal or base64 encoding, or lacks the placeholder Redacted (except %p, on
// which fmt calls no method: it shows addresses).
func NoSecret[T any](t testing.TB, v T, secret string) {
	t.Helper()
	bad := []string{
		secret,
		hex.EncodeToString([]byte(secret)),
		strings.ToUpper(hex.EncodeToString([]byte(secret))),
		base64.StdEncoding.EncodeToString([]byte(secret)),
		base64.RawURLEncoding.EncodeToString([]byte(secret)),
	}
	for name, out := range PrintForms(t, v) {
		for _, b := range bad {
			if strings.Contains(out, b) {
				t.Errorf("%s shows the secret: %s", name, out)
			}
		}
		if !strings.HasPrefix(name, "%p") && !strings.Contains(out, Redacted) {
			t.Errorf("%s does not show %s: %s", name, Redacted, out)
		}
	}
}
