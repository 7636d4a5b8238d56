package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mcpauth/mcpauth"
)

// DefaultPrefix is the prefix of the environment variables when none is given.
const DefaultPrefix = "MCPAUTH"

// DefaultSeps are the runes separating the items of a list variable: comma, space, tab,
// new line and carriage return.
const DefaultSeps = ", \t\n\r"

// Prefix normalises the prefix given to a provider's ConfigFromEnv: one trailing "_" is
// dropped, and "" becomes DefaultPrefix.
func Prefix(p string) string {
	p = strings.TrimSuffix(p, "_")
	if p == "" {
		return DefaultPrefix
	}
	return p
}

// VarName names a provider's environment variable: PREFIX_NAME, or PREFIX_GROUP_NAME
// when group is set. An empty prefix means DefaultPrefix.
func VarName(prefix, group, name string) string {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if group != "" {
		return prefix + "_" + group + "_" + name
	}
	return prefix + "_" + name
}

// Env reads the environment variables of one provider. Its readers take the NAME part of
// a variable; they return the zero value for an unset or empty variable, and for a
// malformed one, whose error they record (see Err). Values are trimmed of surrounding
// white space, except where Secret says otherwise.
type Env struct {
	// Pkg begins every error message: "bearer" gives "bearer: ...".
	Pkg string
	// Prefix begins every variable name, without a trailing "_" (see Prefix); ""
	// means DefaultPrefix.
	Prefix string
	// Group, when set, follows the prefix: the variables are PREFIX_GROUP_NAME.
	Group string
	// Seps are the runes separating list items and the scopes of a grant; "" means
	// DefaultSeps.
	Seps string

	seen bool
	errs []error
}

// Name returns the full name of the variable name, such as MCPAUTH_GITHUB_SCOPES.
func (e *Env) Name(name string) string { return VarName(e.Prefix, e.Group, name) }

// raw returns the value of the variable as it is, noting whether it was set.
func (e *Env) raw(name string) string {
	v := os.Getenv(e.Name(name))
	if v != "" {
		e.seen = true
	}
	return v
}

// Get returns the value of the variable, trimmed of white space.
func (e *Env) Get(name string) string { return strings.TrimSpace(e.raw(name)) }

// List returns the items of a list variable, separated by any of Seps. Empty items are
// dropped.
func (e *Env) List(name string) []string { return split(e.Get(name), e.seps()) }

// Bool returns the value of a boolean variable (as strconv.ParseBool reads it) and
// whether it was set to a valid boolean.
func (e *Env) Bool(name string) (value, ok bool) {
	v := e.Get(name)
	if v == "" {
		return false, false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.errorf("%s=%q is not a boolean: use true or false", e.Name(name), v)
		return false, false
	}
	return b, true
}

// Duration returns the value of a duration variable, a Go duration such as 30s.
// example completes the error about a malformed value: "use a Go duration such as
// <example>".
func (e *Env) Duration(name, example string) time.Duration {
	v := e.Get(name)
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		e.errorf("%s=%q is not a duration: use a Go duration such as %s", e.Name(name), v, example)
		return 0
	}
	return d
}

// Grants describes the syntax of a variable read by Env.Grants.
type Grants struct {
	// Seps are the runes separating entries, such as ";" or ";\n".
	Seps string
	// NoKey completes the error about an entry without a key: `entry "..." <NoKey>`.
	NoKey string
	// Fix ends every error about the variable, saying how to write it.
	Fix string
}

// Grants reads scopes granted by key, written "key=scope scope; key2=scope": entries
// are separated by any of g.Seps, the scopes of an entry by any of Env.Seps, and the
// scopes of a repeated key add up. An entry without a key or without a scope makes the
// whole variable an error.
func (e *Env) Grants(name string, g Grants) map[string][]string {
	v := e.Get(name)
	if v == "" {
		return nil
	}
	m, err := parseGrants(v, g.Seps, e.seps(), g.NoKey)
	if err != nil {
		e.errorf("%s: %v: %s", e.Name(name), err, g.Fix)
		return nil
	}
	return m
}

func parseGrants(v, entrySeps, scopeSeps, noKey string) (map[string][]string, error) {
	m := map[string][]string{}
	for _, entry := range split(v, entrySeps) {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		key, val, ok := strings.Cut(entry, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return nil, fmt.Errorf("entry %q %s", entry, noKey)
		}
		scopes := split(val, scopeSeps)
		if len(scopes) == 0 {
			return nil, fmt.Errorf("entry %q grants no scope", entry)
		}
		m[key] = append(m[key], scopes...)
	}
	return m, nil
}

// Secret describes a secret read by Env.Secret.
type Secret struct {
	// Name is the variable holding the secret itself; Name+"_FILE" names a file
	// holding it.
	Name string
	// Noun names the secret in the error about an empty file, "write the <Noun> into
	// it" ("" means "secret").
	Noun string
	// FileNoun names the file in the error about an unreadable one, "cannot read the
	// <FileNoun> file" ("" means "secret").
	FileNoun string
	// TrimSpace drops the white space around the value of Name (never around the
	// content of the file), so that a value of only white space is unset.
	TrimSpace bool
	// BlankIsSet, with TrimSpace, keeps a value of only white space set: it then
	// conflicts with Name_FILE and yields an empty secret.
	BlankIsSet bool
}

// Secret reads a secret from the variable s.Name, or from the file named by
// s.Name+"_FILE", whose trailing new lines ("\n", "\r\n") are dropped. Setting both
// variables, an unreadable file and an empty one are errors (the empty Secret is
// returned then). The value of s.Name is taken as it is unless s.TrimSpace is set.
func (e *Env) Secret(s Secret) mcpauth.Secret {
	value := e.raw(s.Name)
	file := e.Get(s.Name + "_FILE")
	set := value != ""
	if s.TrimSpace {
		value = strings.TrimSpace(value)
		set = value != "" || set && s.BlankIsSet
	}
	switch {
	case set && file != "":
		e.errorf("%s and %s are both set: set only one of them", e.Name(s.Name), e.Name(s.Name+"_FILE"))
	case set:
		return mcpauth.NewSecret(value)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			e.errorf("%s: cannot read the %s file: %w: check the path and its permissions", e.Name(s.Name+"_FILE"), cmp.Or(s.FileNoun, "secret"), err)
			return mcpauth.Secret{}
		}
		b = bytes.TrimRight(b, "\r\n")
		if len(b) == 0 {
			e.errorf("%s: the file %q is empty: write the %s into it", e.Name(s.Name+"_FILE"), file, cmp.Or(s.Noun, "secret"))
			return mcpauth.Secret{}
		}
		return mcpauth.NewSecret(string(b))
	}
	return mcpauth.Secret{}
}

// Seen reports whether any variable read so far was set (to anything but "").
func (e *Env) Seen() bool { return e.seen }

// Errors returns the errors recorded so far, in the order the variables were read.
func (e *Env) Errors() []error { return e.errs }

// Err returns the errors recorded so far joined with errors.Join, or nil.
func (e *Env) Err() error { return errors.Join(e.errs...) }

// Errorf records an error, prefixed with Pkg, for a rule across variables that its
// caller checks.
func (e *Env) Errorf(format string, args ...any) { e.errorf(format, args...) }

// errorf records an error, prefixed with Pkg.
func (e *Env) errorf(format string, args ...any) {
	e.errs = append(e.errs, fmt.Errorf(e.Pkg+": "+format, args...))
}

func (e *Env) seps() string { return cmp.Or(e.Seps, DefaultSeps) }

// split splits v on any of seps, dropping empty items.
func split(v, seps string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(seps, r) })
}
