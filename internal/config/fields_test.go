package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// example is a configuration printed through Fields, as the providers do.
type example struct {
	URL     string
	Secret  string
	Names   []string
	Grants  map[string][]string
	On      bool
	Size    int
	Timeout time.Duration
	Now     func() time.Time
}

func (e example) fields() Fields {
	var f Fields
	f.URL("URL", e.URL)
	f.Secret("Secret", e.Secret != "")
	f.List("Names", e.Names)
	f.Map("Grants", e.Grants)
	f.Bool("On", e.On)
	f.Int("Size", e.Size)
	f.Duration("Timeout", e.Timeout)
	f.Set("Now", e.Now != nil)
	f.Quote("Name", "x")
	return f
}

func (e example) String() string                { return e.fields().Render("pkg.Config") }
func (e example) Format(f fmt.State, verb rune) { Format(f, verb, e.String()) }
func (e example) LogValue() slog.Value          { return e.fields().LogValue() }
func (e example) MarshalJSON() ([]byte, error)  { return e.fields().MarshalJSON() }

var full = example{
	URL:     "https://user:pw@host.example/p",
	Secret:  "s3cret",
	Names:   []string{"a b", `q"`},
	Grants:  map[string][]string{"z": {"s1"}, "a": {"s2", "s3"}, "e": nil},
	On:      true,
	Size:    42,
	Timeout: 90 * time.Second,
	Now:     time.Now,
}

func TestFieldsRender(t *testing.T) {
	require.Equal(t, `pkg.Config{Name:"x"}`, example{}.String(), "zero values are skipped")
	want := `pkg.Config{URL:"https://user:xxxxx@host.example/p", Secret:[redacted], Names:["a b" "q\""], ` +
		`Grants:map["a":["s2" "s3"] "e":[] "z":["s1"]], On:true, Size:42, Timeout:1m30s, Now:(set), Name:"x"}`
	require.Equal(t, want, full.String())

	var f Fields
	f.URL("Bad", "http://[::1")
	f.Add("Raw", "[*T]")
	require.Equal(t, `T{Bad:"http://[::1", Raw:[*T]}`, f.Render("T"), "an unparsable URL is shown as is")
}

func TestFormat(t *testing.T) {
	s := full.String()
	for verb, want := range map[string]string{
		"%v": s, "%+v": s, "%#v": s, "%s": s,
		"%q":     fmt.Sprintf("%q", s),
		"%x":     fmt.Sprintf("%x", s),
		"%12.5s": "       pkg.C",
		"%d":     "%!d(string=" + s + ")",
	} {
		require.Equal(t, want, fmt.Sprintf(verb, full), verb)
		require.NotContains(t, fmt.Sprintf(verb, full), "s3cret", verb)
	}
}

func TestFieldsLogValueAndJSON(t *testing.T) {
	b, err := json.Marshal(full)
	require.NoError(t, err)
	var got map[string]string
	require.NoError(t, json.Unmarshal(b, &got))
	require.Equal(t, map[string]string{
		"URL": "https://user:xxxxx@host.example/p", "Secret": Redacted, "Names": `["a b" "q\""]`,
		"Grants": `map["a":["s2" "s3"] "e":[] "z":["s1"]]`, "On": "true", "Size": "42",
		"Timeout": "1m30s", "Now": "(set)", "Name": "x",
	}, got)
	require.Equal(t, `{"Name":"x"}`, string(must(json.Marshal(example{}))))

	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("m", "cfg", full)
	var rec struct{ Cfg map[string]string }
	require.NoError(t, json.Unmarshal(buf.Bytes(), &rec))
	require.Equal(t, got, rec.Cfg, "log/slog shows what encoding/json shows")
	require.NotContains(t, buf.String(), "s3cret")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
