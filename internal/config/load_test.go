package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpauth/mcpauth"
	"github.com/stretchr/testify/require"
)

type roles map[string][]string

type loaded struct {
	Name     string              `env:"NAME"`
	List     []string            `env:"LIST"`
	On       bool                `env:"SWITCH"`
	Off      bool                `env:"SWITCH,false"`
	Wait     time.Duration       `env:"WAIT" example:"30s"`
	Grants   map[string][]string `env:"GRANTS" grants:"k=a b"`
	Roles    roles               `env:"ROLES" grants:"role=a b"`
	Secret   mcpauth.Secret      `env:"SECRET,trim,blank" noun:"key" filenoun:"key"`
	Untagged string
}

func TestLoad(t *testing.T) {
	t.Run("every reader", func(t *testing.T) {
		t.Setenv("P_G_NAME", " value ")
		t.Setenv("P_G_LIST", "a, b\r\nc")
		t.Setenv("P_G_SWITCH", "false")
		t.Setenv("P_G_WAIT", "3s")
		t.Setenv("P_G_GRANTS", "x=a b; y=c\nx=d")
		t.Setenv("P_G_ROLES", "admin=all")
		t.Setenv("P_G_SECRET", " s3cret ")
		t.Setenv("P_G_UNTAGGED", "ignored")
		c, err := Load[loaded]("pkg", "P_", "G")
		require.NoError(t, err)
		require.Equal(t, loaded{Name: "value", List: []string{"a", "b", "c"}, Off: true, Wait: 3 * time.Second,
			Grants: map[string][]string{"x": {"a", "b", "d"}, "y": {"c"}}, Roles: roles{"admin": {"all"}},
			Secret: mcpauth.NewSecret("s3cret")}, c)
	})
	t.Run("nothing set is the zero value", func(t *testing.T) {
		c, err := Load[loaded]("pkg", "NOTHING", "")
		require.NoError(t, err)
		require.Equal(t, loaded{}, c)
	})
	t.Run("every error once, and the zero value", func(t *testing.T) {
		t.Setenv("Q_SWITCH", "maybe")
		t.Setenv("Q_WAIT", "3")
		t.Setenv("Q_GRANTS", "a")
		t.Setenv("Q_NAME", "kept only without errors")
		t.Setenv("Q_SECRET_FILE", filepath.Join(t.TempDir(), "missing"))
		c, err := Load[loaded]("pkg", "Q", "")
		require.Equal(t, loaded{}, c)
		require.Error(t, err)
		msg := err.Error()
		require.Contains(t, msg, `pkg: Q_SWITCH="maybe" is not a boolean: use true or false`)
		require.Equal(t, 1, strings.Count(msg, "Q_SWITCH"), "a variable read by two fields errs once")
		require.Contains(t, msg, `pkg: Q_WAIT="3" is not a duration: use a Go duration such as 30s`)
		require.Contains(t, msg, `pkg: Q_GRANTS: entry "a" has no key=: write it as "k=a b"`)
		require.Contains(t, msg, "pkg: Q_SECRET_FILE: cannot read the key file")
	})
	t.Run("secret file", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "secret")
		require.NoError(t, os.WriteFile(f, []byte("from-file\n"), 0o600))
		t.Setenv("F_SECRET_FILE", f)
		c, err := Load[loaded]("pkg", "F", "")
		require.NoError(t, err)
		require.Equal(t, "from-file", c.Secret.Reveal())
	})
	t.Run("an unreadable field type is a programming error", func(t *testing.T) {
		require.Panics(t, func() {
			_, _ = Load[struct {
				N int `env:"N"`
			}]("pkg", "", "")
		})
	})
}
