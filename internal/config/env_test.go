package config

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPrefixAndVarName(t *testing.T) {
	require.Equal(t, "MCPAUTH", Prefix(""))
	require.Equal(t, "MCPAUTH", Prefix("_"))
	require.Equal(t, "APP", Prefix("APP_"))
	require.Equal(t, "APP_", Prefix("APP__"))
	require.Equal(t, "MCPAUTH_LEEWAY", VarName("", "", "LEEWAY"))
	require.Equal(t, "APP_GITHUB_SCOPES", VarName("APP", "GITHUB", "SCOPES"))
	require.Equal(t, "APP_GITHUB_SCOPES", (&Env{Prefix: "APP", Group: "GITHUB"}).Name("SCOPES"))
}

func TestEnvReaders(t *testing.T) {
	t.Setenv("T_X_NAME", "  value \n")
	t.Setenv("T_X_LIST", " a, b\tc\nd\re ,,")
	t.Setenv("T_X_ON", "true")
	t.Setenv("T_X_OFF", "0")
	t.Setenv("T_X_BADBOOL", "yes please")
	t.Setenv("T_X_WAIT", "1m30s")
	t.Setenv("T_X_BADWAIT", "30")
	t.Setenv("T_X_BLANK", "   ")

	env := &Env{Pkg: "pkg", Prefix: "T", Group: "X"}
	require.False(t, env.Seen())
	require.Empty(t, env.Get("UNSET"))
	require.False(t, env.Seen(), "unset variables are not seen")
	require.Equal(t, "value", env.Get("NAME"))
	require.True(t, env.Seen())
	require.Equal(t, []string{"a", "b", "c", "d", "e"}, env.List("LIST"))
	require.Equal(t, []string{"a", "b", "c", "d", "e"}, (&Env{Prefix: "T", Group: "X", Seps: DefaultSeps + "\r"}).List("LIST"))
	require.Empty(t, env.List("UNSET"))

	on, ok := env.Bool("ON")
	require.True(t, on && ok)
	off, ok := env.Bool("OFF")
	require.True(t, !off && ok)
	_, ok = env.Bool("UNSET")
	require.False(t, ok)
	_, ok = env.Bool("BADBOOL")
	require.False(t, ok)

	require.Equal(t, 90*time.Second, env.Duration("WAIT", "5s"))
	require.Zero(t, env.Duration("UNSET", "5s"))
	require.Zero(t, env.Duration("BADWAIT", "30s or 1m"))

	blank := &Env{Prefix: "T", Group: "X"}
	require.Empty(t, blank.Get("BLANK"))
	require.True(t, blank.Seen(), "a variable of white space is seen")

	require.Len(t, env.Errors(), 2)
	require.EqualError(t, env.Err(), `pkg: T_X_BADBOOL="yes please" is not a boolean: use true or false`+"\n"+
		`pkg: T_X_BADWAIT="30" is not a duration: use a Go duration such as 30s or 1m`)
	require.NoError(t, (&Env{}).Err())
}

func TestEnvGrants(t *testing.T) {
	lines := Grants{Seps: ";\n", NoKey: "has no key=", Fix: `write it as "k=a b"`}
	semi := Grants{Seps: ";", NoKey: "is not key=scopes", Fix: "use k=a b"}
	for _, tc := range []struct {
		value string
		g     Grants
		want  map[string][]string
		err   string
	}{
		{"", lines, nil, ""},
		{" k=a b,c ; k2 = d ;; k=e ", lines, map[string][]string{"k": {"a", "b", "c", "e"}, "k2": {"d"}}, ""},
		{"k=a\nk2=b", lines, map[string][]string{"k": {"a"}, "k2": {"b"}}, ""},
		{"k=a\nk2=b", semi, map[string][]string{"k": {"a", "k2=b"}}, ""},
		{";", lines, map[string][]string{}, ""},
		{"a b", lines, nil, `pkg: P_G: entry "a b" has no key=: write it as "k=a b"`},
		{"=a", semi, nil, `pkg: P_G: entry "=a" is not key=scopes: use k=a b`},
		{"k=a; k2= ,", semi, nil, `pkg: P_G: entry "k2= ," grants no scope: use k=a b`},
	} {
		t.Setenv("P_G", tc.value)
		env := &Env{Pkg: "pkg", Prefix: "P"}
		require.Equal(t, tc.want, env.Grants("G", tc.g), "%q", tc.value)
		if tc.err == "" {
			require.NoError(t, env.Err(), "%q", tc.value)
		} else {
			require.EqualError(t, env.Err(), tc.err)
		}
	}
}

func TestEnvSecret(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	secretFile := file("secret", " s3cret \r\n\n")
	emptyFile := file("empty", "\r\n")
	missing := filepath.Join(dir, "missing")

	for _, tc := range []struct {
		name        string
		value, path string
		s           Secret
		want        string
		err         string
	}{
		{name: "unset", s: Secret{Name: "S"}},
		{name: "value as is", value: " v ", s: Secret{Name: "S"}, want: " v "},
		{name: "value trimmed", value: " v ", s: Secret{Name: "S", TrimSpace: true}, want: "v"},
		{name: "file, trailing new lines dropped", path: " " + secretFile + " ", s: Secret{Name: "S", TrimSpace: true}, want: " s3cret "},
		{name: "both", value: "v", path: secretFile, s: Secret{Name: "S"},
			err: "pkg: P_S and P_S_FILE are both set: set only one of them"},
		{name: "blank value and file", value: "  ", path: secretFile, s: Secret{Name: "S"},
			err: "pkg: P_S and P_S_FILE are both set: set only one of them"},
		{name: "blank value unset when trimmed", value: "  ", path: secretFile, s: Secret{Name: "S", TrimSpace: true}, want: " s3cret "},
		{name: "blank value kept set", value: "  ", path: secretFile, s: Secret{Name: "S", TrimSpace: true, BlankIsSet: true},
			err: "pkg: P_S and P_S_FILE are both set: set only one of them"},
		{name: "blank value alone", value: "  ", s: Secret{Name: "S", TrimSpace: true, BlankIsSet: true}},
		{name: "missing file", path: missing, s: Secret{Name: "S"},
			err: "pkg: P_S_FILE: cannot read the secret file: open " + missing + ": no such file or directory: check the path and its permissions"},
		{name: "missing file, nouns", path: missing, s: Secret{Name: "S", FileNoun: "API key"},
			err: "pkg: P_S_FILE: cannot read the API key file: open " + missing + ": no such file or directory: check the path and its permissions"},
		{name: "empty file", path: emptyFile, s: Secret{Name: "S"},
			err: `pkg: P_S_FILE: the file "` + emptyFile + `" is empty: write the secret into it`},
		{name: "empty file, nouns", path: emptyFile, s: Secret{Name: "S", Noun: "client secret"},
			err: `pkg: P_S_FILE: the file "` + emptyFile + `" is empty: write the client secret into it`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("P_S", tc.value)
			t.Setenv("P_S_FILE", tc.path)
			env := &Env{Pkg: "pkg", Prefix: "P"}
			got := env.Secret(tc.s)
			if tc.err != "" {
				require.EqualError(t, env.Err(), tc.err)
				require.True(t, got.IsZero())
				return
			}
			require.NoError(t, env.Err())
			require.Equal(t, tc.want, got.Reveal())
			require.Equal(t, tc.want == "", got.IsZero())
		})
	}

	t.Setenv("P_S", "")
	t.Setenv("P_S_FILE", missing)
	env := &Env{Pkg: "pkg", Prefix: "P"}
	env.Secret(Secret{Name: "S"})
	require.ErrorIs(t, env.Err(), fs.ErrNotExist, "the read error is wrapped")
}

func TestIsLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LocalHost": true, "127.0.0.1": true, "127.9.9.9": true, "::1": true,
		"::ffff:127.0.0.1": true, "example.com": false, "10.0.0.1": false, "::": false, "": false,
		"localhost.example.com": false,
	} {
		require.Equal(t, want, IsLoopbackHost(host), host)
	}
}
