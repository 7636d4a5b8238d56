package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/mcpauth/mcpauth"
)

// Load reads a provider's Config from the environment: every field of T tagged
// `env:"NAME"` is read from the variable PREFIX_NAME (PREFIX_GROUP_NAME when group is
// set; prefix goes through Prefix), by the reader its type calls for:
//
//	string          Env.Get
//	[]string        Env.List
//	bool            Env.Bool; the option `env:"NAME,false"` sets the field when the
//	                variable is false instead (a switch that turns something off)
//	time.Duration   Env.Duration, with the tag `example:"30s"` in its error
//	map[string][]string (or a named type of it)
//	                Env.Grants, entries separated by ";" or new lines, each "key=scopes";
//	                the tag `grants:"key=scope scope; key2=scope"` shows the form in errors
//	mcpauth.Secret  Env.Secret; tags `noun:"..."` and `filenoun:"..."` name the secret
//	                and its file in errors, options ",trim" and ",blank" set
//	                Secret.TrimSpace and Secret.BlankIsSet
//
// Unset or empty variables leave their field zero. Load returns every malformed
// variable's error joined (see Env.Err), and then the zero T. The Config it returns
// holds nothing but its fields: it is the same Config as one written literally.
func Load[T any](pkg, prefix, group string) (T, error) {
	var c T
	env := &Env{Pkg: pkg, Prefix: Prefix(prefix), Group: group}
	v := reflect.ValueOf(&c).Elem()
	read := map[string]bool{} // boolean variables read, so that a malformed one errs once
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		tag, ok := f.Tag.Lookup("env")
		if !ok {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		env.load(v.Field(i), f, name, opts, read)
	}
	if err := env.Err(); err != nil {
		var zero T
		return zero, err
	}
	return c, nil
}

var (
	secretType   = reflect.TypeFor[mcpauth.Secret]()
	durationType = reflect.TypeFor[time.Duration]()
	grantsType   = reflect.TypeFor[map[string][]string]()
)

// load sets field from the variable name, as Load describes.
func (e *Env) load(field reflect.Value, f reflect.StructField, name, opts string, read map[string]bool) {
	has := func(opt string) bool { return strings.Contains(","+opts+",", ","+opt+",") }
	switch t := f.Type; {
	case t == secretType:
		field.Set(reflect.ValueOf(e.Secret(Secret{Name: name, Noun: f.Tag.Get("noun"), FileNoun: f.Tag.Get("filenoun"),
			TrimSpace: has("trim"), BlankIsSet: has("blank")})))
	case t == durationType:
		field.SetInt(int64(e.Duration(name, f.Tag.Get("example"))))
	case t.Kind() == reflect.String:
		field.SetString(e.Get(name))
	case t.Kind() == reflect.Bool:
		n := len(e.errs)
		b, ok := e.Bool(name)
		if read[name] {
			e.errs = e.errs[:n] // reported by the first field reading it
		}
		read[name] = true
		if ok {
			field.SetBool(b != has("false"))
		}
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		if l := e.List(name); len(l) > 0 {
			field.Set(reflect.ValueOf(l).Convert(t))
		}
	case t.ConvertibleTo(grantsType) && t.Kind() == reflect.Map:
		g := e.Grants(name, Grants{Seps: ";\n", NoKey: "has no key=", Fix: fmt.Sprintf("write it as %q", f.Tag.Get("grants"))})
		if g != nil {
			field.Set(reflect.ValueOf(g).Convert(t))
		}
	default:
		panic(fmt.Sprintf("config.Load: field %s has type %s, which no environment reader reads", f.Name, t))
	}
}
