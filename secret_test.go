package mcpauth_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth"
)

// secretValue is the value the tests hide; no output may contain it, or any encoding of
// it, or its length.
const secretValue = "hunter2-Very-Secret-Value"

// noLeak fails when out contains the secret value, a common encoding of it or its
// length (as a number of its own, addresses aside).
func noLeak(t *testing.T, name, out string) {
	t.Helper()
	stripped := regexp.MustCompile(`0x[0-9a-f]+`).ReplaceAllString(out, "0x")
	require.NotRegexp(t, `\b`+strconv.Itoa(len(secretValue))+`\b`, stripped, "%s: %s", name, out)
	for _, bad := range []string{
		secretValue,
		"hunter2",
		hex.EncodeToString([]byte(secretValue)),
		strings.ToUpper(hex.EncodeToString([]byte(secretValue))),
		base64.StdEncoding.EncodeToString([]byte(secretValue)),
		base64.RawURLEncoding.EncodeToString([]byte(secretValue)),
	} {
		require.NotContains(t, out, bad, "%s: %s", name, out)
	}
}

func TestSecretReveal(t *testing.T) {
	s := mcpauth.NewSecret(secretValue)
	require.Equal(t, secretValue, s.Reveal())
	require.False(t, s.IsZero())
	require.Equal(t, "", mcpauth.Secret{}.Reveal())
	require.True(t, mcpauth.Secret{}.IsZero())
	require.True(t, mcpauth.NewSecret("").IsZero())
	require.Equal(t, mcpauth.Secret{}, mcpauth.NewSecret(""), "an empty value is the zero Secret")
	require.Equal(t, mcpauth.NewSecret(secretValue), s, "reflect.DeepEqual compares the values")
	require.NotEqual(t, mcpauth.NewSecret("other"), s)
	require.False(t, reflect.TypeFor[mcpauth.Secret]().Comparable(), "== would compare pointers, so it does not compile")

	// A copy holds the same value; the value cannot be changed through it.
	c := s
	require.Equal(t, secretValue, c.Reveal())
}

func TestSecretFmt(t *testing.T) {
	s := mcpauth.NewSecret(secretValue)
	var empty mcpauth.Secret
	for _, tc := range []struct {
		name, got, want string
	}{
		{"String", s.String(), "[redacted]"},
		{"GoString", s.GoString(), `"[redacted]"`},
		{"Sprint", fmt.Sprint(s), "[redacted]"},
		{"Sprintln", fmt.Sprintln(s), "[redacted]\n"},
		{"%v", fmt.Sprintf("%v", s), "[redacted]"},
		{"%+v", fmt.Sprintf("%+v", s), "[redacted]"},
		{"%#v", fmt.Sprintf("%#v", s), `"[redacted]"`},
		{"%s", fmt.Sprintf("%s", s), "[redacted]"},
		{"%q", fmt.Sprintf("%q", s), `"[redacted]"`},
		{"%#q", fmt.Sprintf("%#q", s), `"[redacted]"`},
		{"%x", fmt.Sprintf("%x", s), "[redacted]"},
		{"%X", fmt.Sprintf("%X", s), "[redacted]"},
		{"% x", fmt.Sprintf("% x", s), "[redacted]"},
		{"%d", fmt.Sprintf("%d", s), "[redacted]"},
		{"%c", fmt.Sprintf("%c", s), "[redacted]"},
		{"%U", fmt.Sprintf("%U", s), "[redacted]"},
		{"%t", fmt.Sprintf("%t", s), "[redacted]"},
		{"%T", fmt.Sprintf("%T", s), "mcpauth.Secret"},
		{"%.3s", fmt.Sprintf("%.3s", s), "[redacted]"},
		{"%14v", fmt.Sprintf("%14v", s), "    [redacted]"},
		{"%-14s|", fmt.Sprintf("%-14s|", s), "[redacted]    |"},
		{"%14q", fmt.Sprintf("%14q", s), `  "[redacted]"`},
		{"pointer %v", fmt.Sprintf("%v", &s), "[redacted]"},
		{"pointer %#v", fmt.Sprintf("%#v", &s), `"[redacted]"`},
		{"nil pointer", fmt.Sprintf("%v", (*mcpauth.Secret)(nil)), "<nil>"},
		{"stringer", fmt.Sprint(fmt.Stringer(s)), "[redacted]"},
		{"any", fmt.Sprintf("%v", any(s)), "[redacted]"},
		{"empty String", empty.String(), ""},
		{"empty %v", fmt.Sprintf("[%v]", empty), "[]"},
		{"empty %q", fmt.Sprintf("%q", empty), `""`},
		{"empty %#v", fmt.Sprintf("%#v", empty), `""`},
		{"empty %x", fmt.Sprintf("[%x]", empty), "[]"},
	} {
		require.Equal(t, tc.want, tc.got, tc.name)
		noLeak(t, tc.name, tc.got)
	}
}

// holder is a configuration holding secrets in every exported position.
type holder struct {
	Name   string
	Key    mcpauth.Secret
	Keys   []mcpauth.Secret
	ByName map[string]mcpauth.Secret
	Ptr    *mcpauth.Secret
	Inner  struct{ Token mcpauth.Secret }
	Any    any
}

func newHolder() holder {
	s := mcpauth.NewSecret(secretValue)
	h := holder{Name: "app", Key: s, Keys: []mcpauth.Secret{s, {}}, ByName: map[string]mcpauth.Secret{"a": s}, Any: s}
	h.Inner.Token = s
	return h
}

func TestSecretInStruct(t *testing.T) {
	h := newHolder()
	for _, tc := range []struct {
		name, got, want string
	}{
		{"%v", fmt.Sprintf("%v", h), "{app [redacted] [[redacted] ] map[a:[redacted]] <nil> {[redacted]} [redacted]}"},
		{"%+v", fmt.Sprintf("%+v", h), "{Name:app Key:[redacted] Keys:[[redacted] ] ByName:map[a:[redacted]] Ptr:<nil> Inner:{Token:[redacted]} Any:[redacted]}"},
		{"%#v", fmt.Sprintf("%#v", h), `mcpauth_test.holder{Name:"app", Key:"[redacted]", Keys:[]mcpauth.Secret{"[redacted]", ""}, ByName:map[string]mcpauth.Secret{"a":"[redacted]"}, Ptr:<nil>, Inner:struct { Token mcpauth.Secret }{Token:"[redacted]"}, Any:"[redacted]"}`},
		{"%s", fmt.Sprintf("%s", h), "{app [redacted] [[redacted] ] map[a:[redacted]] <nil> {[redacted]} [redacted]}"},
		{"%x", fmt.Sprintf("%x", h), "{617070 [redacted] [[redacted] ] map[61:[redacted]] <nil> {[redacted]} [redacted]}"},
		{"%q", fmt.Sprintf("%q", h), `{"app" "[redacted]" ["[redacted]" ""] map["a":"[redacted]"] <nil> {"[redacted]"} "[redacted]"}`},
		{"pointer %+v", fmt.Sprintf("%+v", &h), "&{Name:app Key:[redacted] Keys:[[redacted] ] ByName:map[a:[redacted]] Ptr:<nil> Inner:{Token:[redacted]} Any:[redacted]}"},
		{"slice", fmt.Sprintf("%v", []holder{h}), "[{app [redacted] [[redacted] ] map[a:[redacted]] <nil> {[redacted]} [redacted]}]"},
		{"map", fmt.Sprintf("%v", map[string]holder{"k": h}), "map[k:{app [redacted] [[redacted] ] map[a:[redacted]] <nil> {[redacted]} [redacted]}]"},
	} {
		require.Equal(t, tc.want, tc.got, tc.name)
		noLeak(t, tc.name, tc.got)
	}

	// A *Secret field has the same methods.
	s := mcpauth.NewSecret(secretValue)
	h.Ptr = &s
	out := fmt.Sprintf("%+v|%#v", h, h)
	require.Equal(t, `{Name:app Key:[redacted] Keys:[[redacted] ] ByName:map[a:[redacted]] Ptr:[redacted] Inner:{Token:[redacted]} Any:[redacted]}|`+
		`mcpauth_test.holder{Name:"app", Key:"[redacted]", Keys:[]mcpauth.Secret{"[redacted]", ""}, ByName:map[string]mcpauth.Secret{"a":"[redacted]"}, Ptr:"[redacted]", Inner:struct { Token mcpauth.Secret }{Token:"[redacted]"}, Any:"[redacted]"}`, out)
	noLeak(t, "with pointer", out)
}

// TestSecretWithoutMethods covers the paths on which fmt calls no method of the Secret:
// an unexported field and the %p verb. They show an address at most.
func TestSecretWithoutMethods(t *testing.T) {
	s := mcpauth.NewSecret(secretValue)
	type private struct {
		name string
		key  mcpauth.Secret
		keys []mcpauth.Secret
	}
	p := private{name: "app", key: s, keys: []mcpauth.Secret{s}}
	h := newHolder()
	addr := regexp.MustCompile(`0x[0-9a-f]+`)
	for _, tc := range []struct {
		name, got, want string
	}{
		{"unexported %v", fmt.Sprintf("%v", p), "{app {[] 0x} [{[] 0x}]}"},
		{"unexported %+v", fmt.Sprintf("%+v", p), "{name:app key:{_:[] v:0x} keys:[{_:[] v:0x}]}"},
		{"unexported %#v", fmt.Sprintf("%#v", p), `mcpauth_test.private{name:"app", key:mcpauth.Secret{_:[0]func(){}, v:(*string)(0x)}, keys:[]mcpauth.Secret{mcpauth.Secret{_:[0]func(){}, v:(*string)(0x)}}}`},
		{"%p", fmt.Sprintf("%p", s), "%!p(mcpauth.Secret={[] 0x})"},
		//lint:ignore SA5009 a wrong verb is what this case checks
		{"%p of a struct", fmt.Sprintf("%p", h.Inner), "%!p(struct { Token mcpauth.Secret }={{[] 0x}})"},
		{"slog text", func() string {
			var b bytes.Buffer
			slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{ReplaceAttr: dropTime})).Info("x", "p", p)
			return b.String()
		}(), "level=INFO msg=x p=\"{name:app key:{_:[] v:0x} keys:[{_:[] v:0x}]}\"\n"},
	} {
		got := addr.ReplaceAllString(tc.got, "0x")
		require.Equal(t, tc.want, got, tc.name)
		noLeak(t, tc.name, tc.got)
	}
}

// dropTime removes the time from slog records, so that tests compare whole lines.
func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

func TestSecretSlog(t *testing.T) {
	s := mcpauth.NewSecret(secretValue)
	h := newHolder()
	logAll := func(l *slog.Logger) {
		l.Info("secret", "key", s, "empty", mcpauth.Secret{}, "ptr", &s)
		l.Info("attrs", slog.Any("key", s), slog.Group("g", slog.Any("key", s)))
		l.With("key", s).Info("with")
		l.Info("struct", "cfg", h)
		l.Info("error", "err", fmt.Errorf("login with %v", s))
	}

	var text bytes.Buffer
	logAll(slog.New(slog.NewTextHandler(&text, &slog.HandlerOptions{ReplaceAttr: dropTime})))
	require.Equal(t, `level=INFO msg=secret key=[redacted] empty="" ptr=[redacted]
level=INFO msg=attrs key=[redacted] g.key=[redacted]
level=INFO msg=with key=[redacted]
level=INFO msg=struct cfg="{Name:app Key:[redacted] Keys:[[redacted] ] ByName:map[a:[redacted]] Ptr:<nil> Inner:{Token:[redacted]} Any:[redacted]}"
level=INFO msg=error err="login with [redacted]"
`, text.String())
	noLeak(t, "text handler", text.String())

	var js bytes.Buffer
	logAll(slog.New(slog.NewJSONHandler(&js, &slog.HandlerOptions{ReplaceAttr: dropTime})))
	require.Equal(t, `{"level":"INFO","msg":"secret","key":"[redacted]","empty":"","ptr":"[redacted]"}
{"level":"INFO","msg":"attrs","key":"[redacted]","g":{"key":"[redacted]"}}
{"level":"INFO","msg":"with","key":"[redacted]"}
{"level":"INFO","msg":"struct","cfg":{"Name":"app","Key":"[redacted]","Keys":["[redacted]",""],"ByName":{"a":"[redacted]"},"Ptr":null,"Inner":{"Token":"[redacted]"},"Any":"[redacted]"}}
{"level":"INFO","msg":"error","err":"login with [redacted]"}
`, js.String())
	noLeak(t, "JSON handler", js.String())

	require.Equal(t, slog.StringValue("[redacted]"), s.LogValue())
	require.Equal(t, slog.StringValue(""), mcpauth.Secret{}.LogValue())
}

func TestSecretJSON(t *testing.T) {
	s := mcpauth.NewSecret(secretValue)
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"value", s, `"[redacted]"`},
		{"empty", mcpauth.Secret{}, `""`},
		{"pointer", &s, `"[redacted]"`},
		{"struct", newHolder(), `{"Name":"app","Key":"[redacted]","Keys":["[redacted]",""],"ByName":{"a":"[redacted]"},"Ptr":null,"Inner":{"Token":"[redacted]"},"Any":"[redacted]"}`},
		{"omitzero", struct {
			A mcpauth.Secret `json:"a,omitzero"`
			B mcpauth.Secret `json:"b,omitzero"`
		}{A: s}, `{"a":"[redacted]"}`},
	} {
		b, err := json.Marshal(tc.v)
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, string(b), tc.name)
		noLeak(t, tc.name, string(b))
	}

	b, err := json.MarshalIndent(map[string]any{"k": s}, "", " ")
	require.NoError(t, err)
	require.Equal(t, "{\n \"k\": \"[redacted]\"\n}", string(b))

	// Decoding reads the value (UnmarshalText); encoding never gives it back.
	var in struct{ Key, Empty mcpauth.Secret }
	require.NoError(t, json.Unmarshal([]byte(`{"Key":"`+secretValue+`","Empty":""}`), &in))
	require.Equal(t, secretValue, in.Key.Reveal())
	require.True(t, in.Empty.IsZero())
	out, err := json.Marshal(in)
	require.NoError(t, err)
	require.Equal(t, `{"Key":"[redacted]","Empty":""}`, string(out))
	require.Error(t, json.Unmarshal([]byte(`{"Key":42}`), &in), "a secret is a JSON string")
}

func TestSecretFlag(t *testing.T) {
	var s mcpauth.Secret
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.TextVar(&s, "secret", mcpauth.NewSecret("default-"+secretValue), "the client secret")
	var usage bytes.Buffer
	fs.SetOutput(&usage)
	fs.PrintDefaults()
	require.Equal(t, "  -secret value\n    \tthe client secret (default [redacted])\n", usage.String())
	require.NoError(t, fs.Parse([]string{"-secret", secretValue}))
	require.Equal(t, secretValue, s.Reveal())
	require.Equal(t, "[redacted]", fs.Lookup("secret").Value.String())
}

func TestSecretText(t *testing.T) {
	b, err := mcpauth.NewSecret(secretValue).MarshalText()
	require.NoError(t, err)
	require.Equal(t, "[redacted]", string(b))
	b, err = mcpauth.Secret{}.MarshalText()
	require.NoError(t, err)
	require.Equal(t, "", string(b))

	type doc struct {
		XMLName xml.Name       `xml:"cfg"`
		Key     mcpauth.Secret `xml:"key"`
		Attr    mcpauth.Secret `xml:"attr,attr"`
	}
	b, err = xml.Marshal(doc{Key: mcpauth.NewSecret(secretValue), Attr: mcpauth.NewSecret(secretValue)})
	require.NoError(t, err)
	require.Equal(t, `<cfg attr="[redacted]"><key>[redacted]</key></cfg>`, string(b))
}

func TestSecretErrors(t *testing.T) {
	s := mcpauth.NewSecret(secretValue)
	inner := fmt.Errorf("dial upstream with client secret %v (%q)", s, s)
	wrapped := fmt.Errorf("provider: %w", inner)
	joined := errors.Join(wrapped, fmt.Errorf("config %+v", newHolder()))

	require.Equal(t, `dial upstream with client secret [redacted] ("[redacted]")`, inner.Error())
	require.Equal(t, `provider: dial upstream with client secret [redacted] ("[redacted]")`, wrapped.Error())
	require.ErrorIs(t, joined, inner)
	require.Equal(t, "provider: dial upstream with client secret [redacted] (\"[redacted]\")\n"+
		"config {Name:app Key:[redacted] Keys:[[redacted] ] ByName:map[a:[redacted]] Ptr:<nil> Inner:{Token:[redacted]} Any:[redacted]}", joined.Error())
	for _, err := range []error{inner, wrapped, joined} {
		noLeak(t, "error", err.Error())
		noLeak(t, "error %+v", fmt.Sprintf("%+v", err))
	}
}

// TestSecretLength checks that nothing printed depends on the secret's length.
func TestSecretLength(t *testing.T) {
	render := func(s mcpauth.Secret) string {
		var logs bytes.Buffer
		slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "k", s)
		b, _ := json.Marshal(s)
		return fmt.Sprintf("%v|%+v|%#v|%s|%q|%x|%X|%d|%10v|%v", s, s, s, s, s, s, s, s, s, holder{Key: s}) +
			string(b) + strings.SplitN(logs.String(), `"msg"`, 2)[1]
	}
	short, long := render(mcpauth.NewSecret("x")), render(mcpauth.NewSecret(strings.Repeat("y", 4096)))
	require.Equal(t, short, long)
	require.Equal(t, `[redacted]|[redacted]|"[redacted]"|[redacted]|"[redacted]"|[redacted]|[redacted]|[redacted]|[redacted]|{ [redacted] [] map[] <nil> {} <nil>}"[redacted]":"x","k":"[redacted]"}`+"\n", short)
}
